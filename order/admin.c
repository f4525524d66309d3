/* admin: the order.sagas method (GET /admin/sagas): the checkout sagas in flight, for
 * operators and the chaos tests. One read-only script (saga_list.lua), no WAIT. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "log.h"
#include "order.h"
#include "service.h"
#include "svc_script.h"

/* The fields saga_list.lua replies per saga, and those before the first saga. */
#define LIST_HEAD 2
#define LIST_FIELDS 8

static bool is_int(const redisReply *r)
{
    return r->type == REDIS_REPLY_INTEGER;
}

static bool is_str(const redisReply *r)
{
    return r->type == REDIS_REPLY_STRING;
}

int order_sagas_parse(const redisReply *r, Wdm__SagasReply *out, Wdm__SagaInfo *infos,
                      Wdm__SagaInfo **ptrs, size_t room)
{
    size_t n;

    if (r->type != REDIS_REPLY_ARRAY || r->elements < LIST_HEAD ||
        (r->elements - LIST_HEAD) % LIST_FIELDS != 0 ||
        (n = (r->elements - LIST_HEAD) / LIST_FIELDS) > room || !is_int(r->element[0]) ||
        !is_int(r->element[1]))
        return -EPROTO;
    out->inflight = r->element[0]->integer;
    out->stuck = r->element[1]->integer;
    for (size_t i = 0; i < n; i++) {
        redisReply *const *e = &r->element[LIST_HEAD + i * LIST_FIELDS];
        Wdm__SagaInfo *s = &infos[i];

        if (!is_str(e[0]) || !is_str(e[1]) || !is_str(e[2]) || !is_str(e[3]) || !is_int(e[4]) ||
            !is_int(e[5]) || !is_int(e[6]) || !is_int(e[7]))
            return -EPROTO;
        wdm__saga_info__init(s);
        s->saga_id = e[0]->str;
        s->order_id = e[1]->str;
        s->state = e[2]->str;
        s->owner = e[3]->str;
        s->age_ms = e[4]->integer;
        s->lease_left_ms = e[5]->integer;
        s->deadline_left_ms = e[6]->integer;
        s->stuck = e[7]->integer != 0;
        ptrs[i] = s;
    }
    out->n_sagas = n;
    out->sagas = n > 0 ? ptrs : NULL;
    return 0;
}

/* order.sagas: SagasRequest {} -> SagasReply {inflight, stuck, sagas: the oldest
 * ORDER_SAGAS_MAX in flight, oldest first} (see saga_list.lua for what each field means).
 * Reads only: EVALSHA through store_read, so no WAIT, and it answers while the master
 * has no replica to write to. UNAVAILABLE when the order Redis cannot be read. */
void order_sagas(void *state, rpc_call *call)
{
    service_worker *w = state;
    store_script *script = &order_scripts[ORDER_SCRIPT_SAGA_LIST];
    Wdm__SagasRequest *req;
    Wdm__SagasReply reply = WDM__SAGAS_REPLY__INIT;
    Wdm__SagaInfo *infos = NULL, **ptrs = NULL;
    char limit[SVC_INT_LEN];
    const char *argv[] = {"EVALSHA", script->sha, "1", SAGA_INFLIGHT_KEY, limit};
    redisReply *r = NULL;
    int rv;

    req = (Wdm__SagasRequest *)rpc_call_unpack(call, &wdm__sagas_request__descriptor);
    if (req == NULL)
        return;
    svc_fmt_int(limit, ORDER_SAGAS_MAX);
    if ((infos = calloc(ORDER_SAGAS_MAX, sizeof(*infos))) == NULL ||
        (ptrs = calloc(ORDER_SAGAS_MAX, sizeof(*ptrs))) == NULL) {
        rpc_call_fail(call, WDM__STATUS__UNAVAILABLE, "out of memory");
        goto out;
    }
    if ((rv = store_read(w->store, &r, 5, argv, NULL)) != 0) {
        service_fail_store(call, rv);
        goto out;
    }
    if (order_sagas_parse(r, &reply, infos, ptrs, ORDER_SAGAS_MAX) != 0) {
        log_error("%s: malformed %s reply", call->method, script->name);
        rpc_call_fail(call, WDM__STATUS__UNAVAILABLE, "internal error");
        goto out;
    }
    rpc_call_ok(call, &reply.base);
out:
    freeReplyObject(r);
    free(ptrs);
    free(infos);
    wdm__sagas_request__free_unpacked(req, NULL);
}
