/* store_calls: a run of calls of one script, gathered so that a store_batch sends them
 * as ONE call of the script's batch form (common/batch_prologue.lua; DESIGN §5,
 * "Batches"): the fixed cost of a script call (on the master, and as a transaction on
 * every replica) is then paid once per run. Pure: no Redis, no locks. */
#ifndef WDM_STORE_CALLS_H
#define WDM_STORE_CALLS_H

#include <stddef.h>

typedef struct store_calls {
    char *buf;            /* every call's keys then args, NUL-terminated, end to end */
    size_t len, cap;
    size_t *counts;       /* call i's number of keys at 2i, of args at 2i + 1 */
    size_t counts_cap;
    size_t n;             /* calls */
} store_calls;

#define STORE_CALLS_INIT {0}

/* Makes room for `need` elements of `size` bytes in *p (capacity *cap, in elements),
 * doubling. Returns 0 or -ENOMEM (then *p is unchanged). For store's growing arrays. */
int store_grow(void **p, size_t *cap, size_t need, size_t size);

/* Appends one call (its strings are copied). Returns 0, -EINVAL or -ENOMEM. */
int store_calls_add(store_calls *c, int nkeys, const char *const *keys, int nargs,
                    const char *const *args);

/* One command, ready for redisFormatCommandArgv. */
typedef struct store_calls_cmd {
    int argc;
    const char **argv;    /* into the store_calls' buffer and nums: valid while both are */
    size_t *argvlen;
    char *nums;           /* the counts in decimal */
} store_calls_cmd;

/* The command that runs every call of c: EVALSHA of sha (the script) for one call,
 * else EVALSHA of batch_sha (its batch form). On 0, *cmd is the caller's
 * (store_calls_cmd_free). Returns 0, -EINVAL (no calls) or -ENOMEM. */
int store_calls_cmd_make(const store_calls *c, const char *sha, const char *batch_sha,
                         store_calls_cmd *cmd);
void store_calls_cmd_free(store_calls_cmd *cmd);

/* Empties c for the next run, keeping its buffers. */
void store_calls_reset(store_calls *c);
void store_calls_free(store_calls *c);

#endif
