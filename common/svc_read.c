/* svc_read: read methods one by one and in batches (see svc_read.h). */
#include "svc_read.h"

#include <errno.h>
#include <stdlib.h>

/* Frees what the steps left in q. */
static void query_free(svc_query *q)
{
    if (q->req != NULL)
        protobuf_c_message_free_unpacked(q->req, NULL);
    q->req = NULL;
}

void svc_query_set(svc_query *q, int argc, const char *const *argv)
{
    q->argc = argc < SVC_QUERY_ARGS ? argc : SVC_QUERY_ARGS;
    for (int i = 0; i < q->argc; i++)
        q->argv[i] = argv[i];
}

void svc_read_call(void *state, rpc_call *call)
{
    service_worker *w = state;
    const svc_read *m = call->def->batch;
    svc_query q = {0};
    redisReply *r = NULL;
    int rv;

    if (m->prep(call, &q) == 0) {
        if ((rv = store_read(w->store, &r, q.argc, q.argv, NULL)) != 0)
            service_fail_store(call, rv);
        else
            m->answer(call, &q, r);
    }
    freeReplyObject(r);
    query_free(&q);
}

/* The read method of a call, or NULL when it runs by its own handler. */
static const svc_read *read_of(const rpc_call *call)
{
    return call->def != NULL && call->def->fn == svc_read_call ? call->def->batch : NULL;
}

void svc_run_batch(void *state, rpc_call *calls, size_t n)
{
    service_worker *w = state;
    svc_query *qs = calloc(n, sizeof(*qs));
    size_t *at = calloc(n, sizeof(*at)); /* the command index of call i, + 1; 0: none */
    size_t queued = 0;
    int rv = -ENOMEM;

    if (qs == NULL || at == NULL || (w->batch == NULL && (w->batch = store_batch_new()) == NULL)) {
        for (size_t i = 0; i < n; i++)
            if (calls[i].def != NULL)
                rpc_call_fail(&calls[i], WDM__STATUS__UNAVAILABLE, "out of memory");
        goto out;
    }
    store_batch_reset(w->batch);
    for (size_t i = 0; i < n; i++) {
        const svc_read *m = read_of(&calls[i]);
        if (m == NULL) {
            if (calls[i].def != NULL)
                calls[i].def->fn(state, &calls[i]);
            continue;
        }
        if (m->prep(&calls[i], &qs[i]) != 0)
            continue;
        if (store_batch_add_read(w->batch, qs[i].argc, qs[i].argv, NULL) != 0) {
            rpc_call_fail(&calls[i], WDM__STATUS__UNAVAILABLE, "out of memory");
            continue;
        }
        at[i] = ++queued;
    }
    rv = store_batch_exec(w->store, w->batch);
    for (size_t i = 0; i < n; i++) {
        if (at[i] == 0)
            continue;
        const redisReply *r = rv == 0 ? store_batch_reply(w->batch, at[i] - 1) : NULL;
        if (r == NULL || r->type == REDIS_REPLY_ERROR)
            service_fail_store(&calls[i], rv != 0 ? rv : -EPROTO);
        else
            read_of(&calls[i])->answer(&calls[i], &qs[i], r);
    }
    store_batch_reset(w->batch);
out:
    for (size_t i = 0; qs != NULL && i < n; i++)
        query_free(&qs[i]);
    free(at);
    free(qs);
}
