/* svc_script: runs the services' Lua scripts, maps their status to the RPC reply, and
 * reads their values (see svc_script.h). */
#include "svc_script.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "validate.h"

/* Element i of r as a string (borrowed), or NULL when missing or not a string. */
static const char *reply_str(const redisReply *r, size_t i)
{
    if (r->type != REDIS_REPLY_ARRAY || i >= r->elements ||
        r->element[i]->type != REDIS_REPLY_STRING)
        return NULL;
    return r->element[i]->str;
}

/* Answers a call whose script replied in a shape we did not write: a bug, logged. */
static int reply_malformed(rpc_call *call)
{
    log_error("%s: malformed script reply", call->method);
    rpc_call_fail(call, WDM__STATUS__UNAVAILABLE, "internal error");
    return -EPROTO;
}

/* Answers call with a script's refusal: r is {status, reason} with status 1..3.
 * Returns the matching negative errno, or -EPROTO (call answered as malformed) for a
 * status we do not know. */
static int script_refusal(rpc_call *call, const redisReply *r)
{
    static const struct {
        long long status;
        Wdm__Status rpc;
        int err;
    } map[] = {
        {SVC_SCRIPT_INVALID, WDM__STATUS__INVALID_ARGUMENT, EINVAL},
        {SVC_SCRIPT_NOT_FOUND, WDM__STATUS__NOT_FOUND, ENOENT},
        {SVC_SCRIPT_CONFLICT, WDM__STATUS__CONFLICT, EEXIST},
    };
    const char *why = reply_str(r, 1);

    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (map[i].status == r->element[0]->integer) {
            rpc_call_fail(call, map[i].rpc, "%s", why ? why : "refused");
            return -map[i].err;
        }
    }
    return reply_malformed(call);
}

int svc_script_call_make(rpc_call *call, store_script *script, int nkeys,
                         const char *const *keys, int nargs, const char *const *args,
                         svc_script_call *out)
{
    int rv;

    if (nkeys < 0 || nkeys > SVC_SCRIPT_MAX_ARGS || nargs < 0 || nargs > SVC_SCRIPT_MAX_ARGS) {
        rpc_call_fail(call, WDM__STATUS__UNAVAILABLE, "internal error");
        return -E2BIG;
    }
    if ((rv = service_idem_key(call, out->idem, sizeof(out->idem))) != 0)
        return rv;
    svc_fmt_int(out->ttl, svc_idem_ttl(call->idempotency_ttl_s));
    out->script = script;
    out->keys[0] = out->idem;
    out->args[0] = out->ttl;
    memcpy(out->keys + 1, keys, (size_t)nkeys * sizeof(*keys));
    memcpy(out->args + 1, args, (size_t)nargs * sizeof(*args));
    out->nkeys = nkeys + 1;
    out->nargs = nargs + 1;
    return 0;
}

uint32_t svc_idem_ttl(uint32_t asked_s)
{
    if (asked_s == 0)
        return SVC_IDEM_TTL_S;
    return asked_s < SVC_IDEM_TTL_MAX_S ? asked_s : SVC_IDEM_TTL_MAX_S;
}

int svc_script_check(rpc_call *call, const redisReply *r)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
        r->element[0]->type != REDIS_REPLY_INTEGER)
        return reply_malformed(call);
    if (r->element[0]->integer != SVC_SCRIPT_OK)
        return script_refusal(call, r);
    return 0;
}

int svc_script_run(service_worker *w, rpc_call *call, store_script *script, int nkeys,
                   const char *const *keys, int nargs, const char *const *args, redisReply **reply)
{
    svc_script_call sc;
    redisReply *r = NULL;
    int rv;

    *reply = NULL;
    if ((rv = svc_script_call_make(call, script, nkeys, keys, nargs, args, &sc)) != 0)
        return rv;
    if ((rv = store_eval(w->store, script, sc.nkeys, sc.keys, sc.nargs, sc.args, &r)) != 0) {
        service_fail_store(call, rv);
        return rv;
    }
    if ((rv = svc_script_check(call, r)) != 0) {
        freeReplyObject(r);
        return rv;
    }
    *reply = r;
    return 0;
}

int svc_reply_int(rpc_call *call, const redisReply *r, size_t i, int64_t *out)
{
    const redisReply *e;

    if (r->type != REDIS_REPLY_ARRAY || i >= r->elements)
        return reply_malformed(call);
    e = r->element[i];
    if (e->type == REDIS_REPLY_STRING && validate_uint(e->str, e->len, out) == 0)
        return 0;
    if (e->type == REDIS_REPLY_INTEGER && e->integer >= 0 && e->integer <= WDM_MAX_AMOUNT) {
        *out = e->integer;
        return 0;
    }
    return reply_malformed(call);
}

int svc_reply_str(rpc_call *call, const redisReply *r, size_t i, const char **out)
{
    if ((*out = reply_str(r, i)) == NULL)
        return reply_malformed(call);
    return 0;
}

const char *svc_fmt_int(char buf[SVC_INT_LEN], int64_t v)
{
    snprintf(buf, SVC_INT_LEN, "%" PRId64, v);
    return buf;
}
