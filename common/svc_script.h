/* svc_script: running the services' Lua scripts and reading their replies.
 *
 * Every script of ours replies with a table whose first element is a status code,
 * followed by values on success or by a one-line reason on failure:
 *     {0, value, ...} | {1, "why"} | {2, "why"} | {3, "why"}
 * Numeric values are returned as decimal strings (string.format('%d', n)), like the
 * values stored in Redis: one parser (svc_reply_int) reads both, exactly up to 2^53,
 * whatever the idempotency wrapper's encoding of a replayed reply. */
#ifndef WDM_SVC_SCRIPT_H
#define WDM_SVC_SCRIPT_H

#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "rpc_server.h"
#include "service.h"
#include "store.h"

/* The first element of a script's reply; 1..3 answer the RPC status of the same number. */
enum svc_script_status {
    SVC_SCRIPT_OK = 0,
    SVC_SCRIPT_INVALID = 1,   /* INVALID_ARGUMENT */
    SVC_SCRIPT_NOT_FOUND = 2, /* NOT_FOUND */
    SVC_SCRIPT_CONFLICT = 3,  /* CONFLICT */
};

/* Most keys (or args) a script of ours takes, besides the idempotency wrapper's. */
#define SVC_SCRIPT_MAX_ARGS 8
/* How long an idempotency record lives when the caller does not say: one day; and the
 * longest a caller may ask for: a week (DESIGN §9: services clamp what callers ask). */
#define SVC_IDEM_TTL_S 86400
#define SVC_IDEM_TTL_MAX_S 604800

/* The lifetime of an idempotency record for a caller who asked for asked_s seconds (0:
 * no wish): the default, or the wish clamped to SVC_IDEM_TTL_MAX_S. */
uint32_t svc_idem_ttl(uint32_t asked_s);
/* Room for any int64 in decimal, with sign and NUL. */
#define SVC_INT_LEN 24

/* An idempotent script's call for an RPC call: KEYS are the call's idempotency record
 * followed by the script's own keys, ARGV the record's TTL followed by its own args. The
 * strings are borrowed, but for idem and ttl. */
typedef struct svc_script_call {
    store_script *script;
    const char *keys[1 + SVC_SCRIPT_MAX_ARGS];
    int nkeys;
    const char *args[1 + SVC_SCRIPT_MAX_ARGS];
    int nargs;
    char idem[256];
    char ttl[SVC_INT_LEN];
} svc_script_call;

/* Makes *out, the call of script for `call` with keys[0..nkeys) and args[0..nargs)
 * (borrowed: they must outlive *out). Returns 0; or answers the call (no usable
 * idempotency key: INVALID_ARGUMENT) and returns a negative error. */
int svc_script_call_make(rpc_call *call, store_script *script, int nkeys,
                         const char *const *keys, int nargs, const char *const *args,
                         svc_script_call *out);

/* Reads a script's reply r (borrowed): returns 0 when its status is 0; otherwise answers
 * the call (the script's status and reason; UNAVAILABLE for a malformed reply) and
 * returns a negative error (-EINVAL, -ENOENT, -EEXIST for the script's refusals). */
int svc_script_check(rpc_call *call, const redisReply *r);

/* Runs an idempotent script for `call` (one atomic EVALSHA, then WAIT 1): KEYS are the
 * call's idempotency record followed by keys[0..nkeys), ARGV the record's TTL followed
 * by args[0..nargs).
 * Returns 0 when the script answered status 0; *reply is then its reply, the caller's
 * (freeReplyObject). Otherwise the call is answered already (the script's status and
 * reason; UNAVAILABLE when storage failed or the reply is malformed), *reply is NULL,
 * and the return is negative (-EINVAL, -ENOENT, -EEXIST for the script's refusals). */
int svc_script_run(service_worker *w, rpc_call *call, store_script *script, int nkeys,
                   const char *const *keys, int nargs, const char *const *args, redisReply **reply);

/* Reads element i of a successful script's reply as an integer in [0, 2^53] (a
 * decimal string or an integer reply). Returns 0 and sets *out; or answers the call
 * UNAVAILABLE (a malformed reply, logged) and returns -EPROTO. */
int svc_reply_int(rpc_call *call, const redisReply *r, size_t i, int64_t *out);

/* Reads element i of a successful script's reply as a string (NUL-terminated, borrowed
 * from r). Returns 0 and sets *out; or answers the call UNAVAILABLE and returns -EPROTO. */
int svc_reply_str(rpc_call *call, const redisReply *r, size_t i, const char **out);

/* Writes v in decimal into buf and returns buf (for script args and keys). */
const char *svc_fmt_int(char buf[SVC_INT_LEN], int64_t v);

#endif
