/* store: one connection to a service's Redis master, found through Sentinel (DESIGN §6).
 *
 * The master's address is never configured: store asks every Sentinel at once (AUTH,
 * then SENTINEL get-master-addr-by-name), takes the address only when more than half of
 * the configured Sentinels name it (store_sentinels.h), connects, AUTHs, checks ROLE is
 * master, and loads the registered Lua scripts. On a connection error, READONLY, LOADING, MASTERDOWN or
 * NOSCRIPT it drops the connection, re-resolves through the Sentinels with capped
 * backoff and retries, until the retry deadline passes.
 *
 * Every write is followed by WAIT 1: a write call returns success only once a replica
 * has acknowledged it, so an answer never depends on data a failover could lose.
 * Retrying a write is safe because every write is either idempotent by itself
 * (batch loads) or carries an idempotency record (scripts registered as idempotent).
 *
 * Group commit: a store may be shared by many threads. store_eval and store_read queue
 * the caller's command; the thread that finds the connection free sends every queued
 * command as one pipeline, followed by one WAIT 1 when any of them writes, hands each
 * caller its reply and wakes them. So N concurrent writes cost one round trip and one
 * replica acknowledgement, not N; a lone caller pays nothing extra. Batches
 * (store_batch_run / store_batch_exec) take the connection for themselves. */
#ifndef WDM_STORE_H
#define WDM_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include <hiredis/hiredis.h>

typedef struct store_config {
    const char *sentinels;    /* "host:port,host:port,..." (WDM_SENTINELS) */
    const char *sentinel_password; /* AUTH for Sentinels; NULL or "" for none
                                    * (WDM_SENTINEL_PASSWORD) */
    const char *master_name;  /* Sentinel's name of the group (WDM_REDIS_MASTER) */
    const char *password;     /* AUTH for masters; NULL or "" for none (WDM_REDIS_PASSWORD) */
    int wait_timeout_ms;      /* WAIT 1 <ms> */
    int retry_deadline_ms;    /* give up on a call after this long (then -EAGAIN) */
} store_config;

/* A Lua script. The service declares these statically; store fills in the sha.
 *
 * idempotent scripts are wrapped (common/idem_prologue.lua, common/idem_epilogue.lua):
 * KEYS[1] is the idempotency record key and ARGV[1] its TTL in seconds; the body sees
 * its own keys from KEYS[2] and args from ARGV[2]. The body must `return` a table (its
 * reply); the wrapper stores it under KEYS[1], and a second call with the same KEYS[1]
 * returns the stored reply without running the body. */
typedef struct store_script {
    const char *name;
    const char *source;       /* the .lua file's text (embedded at build time) */
    bool idempotent;
    char sha[41];             /* filled by store on load */
    char *full_source;        /* wrapped text, built by store on first load */
    /* The batch form: many calls of the script in one call (common/batch_prologue.lua),
     * loaded beside it; store_batch sends a run of calls of one script so. None (empty
     * sha) for a script whose first line declares flags ("#!lua flags=..."). */
    char batch_sha[41];
    char *batch_source;
} store_script;

typedef struct store store;

/* Connects (resolving the master through the Sentinels) and loads `scripts`.
 * cfg and scripts must outlive the store. Returns 0 or a negative error (-EINVAL for a
 * bad cfg->sentinels, logged); waits up to cfg->retry_deadline_ms for a master to
 * appear. */
int store_open(store **out, const store_config *cfg, store_script *scripts, size_t n_scripts);
void store_close(store *st);

/* Runs script (EVALSHA) then WAIT 1, in one round trip. argv are NUL-terminated
 * strings. On 0, *reply is the script's reply, the caller's (freeReplyObject).
 * Returns -EAGAIN when no master could be reached or no replica acknowledged within
 * the retry deadline, -EPROTO when the script itself raised an error. */
int store_eval(store *st, store_script *script, int nkeys, const char *const *keys, int nargs,
               const char *const *args, redisReply **reply);

/* Runs one read-only command (no WAIT), retried like store_eval.
 * On 0, *reply is the caller's (freeReplyObject). An error reply is -EPROTO. */
int store_read(store *st, redisReply **reply, int argc, const char **argv, const size_t *argvlen);

/* A batch of idempotent write commands, sent pipelined, followed by one WAIT 1: one
 * round trip (per chunk of commands) and one replica acknowledgement for all of them.
 * Every command must be safe to run again: on a failover the whole batch is re-sent.
 * A batch of read-only commands alone (store_batch_add_read) goes without the WAIT. */
typedef struct store_batch store_batch;

store_batch *store_batch_new(void);
/* Appends one command (copied). Returns 0 or -ENOMEM. */
int store_batch_add(store_batch *b, int argc, const char **argv, const size_t *argvlen);
/* Appends one read-only command (copied): a batch of these alone is sent without a
 * WAIT. Returns 0 or -ENOMEM. */
int store_batch_add_read(store_batch *b, int argc, const char **argv, const size_t *argvlen);
/* Appends a call of script (copied; keys and args may be freed at once). The script
 * must have been loaded by a store of this process (store_open). Returns 0, -ENOMEM, or
 * -EINVAL for a script not loaded yet. The script's own idempotency makes the re-run
 * after a failover safe. Calls of one script appended one after the other go as ONE
 * call of its batch form (up to STORE_RUN_MAX calls): each still runs as it would alone
 * and has its own reply (store_batch_reply), an error reply included. */
int store_batch_eval(store_batch *b, const store_script *script, int nkeys,
                     const char *const *keys, int nargs, const char *const *args);
#define STORE_RUN_MAX 256

/* The number of commands (calls) appended since the last reset. */
size_t store_batch_count(const store_batch *b);
/* Sends every command (pipelined in chunks), checks that none failed, then WAIT 1 (when
 * any command writes).
 * Returns 0, -EAGAIN or -EPROTO. The batch stays the caller's. */
int store_batch_run(store *st, store_batch *b);
/* Like store_batch_run, but keeps every command's reply (store_batch_reply), an error
 * reply included: a command's failure is its own, not the batch's. Returns 0 once every
 * reply is in and a replica acknowledged all of it, or -EAGAIN / -ENOMEM. */
int store_batch_exec(store *st, store_batch *b);
/* Command (call) i's reply after a successful store_batch_exec (owned by the batch,
 * valid until its next exec, reset or free), or NULL. */
const redisReply *store_batch_reply(const store_batch *b, size_t i);
/* Empties b for reuse, keeping its buffers. */
void store_batch_reset(store_batch *b);
void store_batch_free(store_batch *b);

#endif
