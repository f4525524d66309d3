/* svc_step: two-step methods one by one and in batches (see svc_step.h). */
#include "svc_step.h"

#include <errno.h>
#include <stdlib.h>

void svc_query_read(svc_query *q, int argc, const char *const *argv)
{
    q->argc = argc < SVC_QUERY_ARGS ? argc : SVC_QUERY_ARGS;
    for (int i = 0; i < q->argc; i++)
        q->argv[i] = argv[i];
}

int svc_query_script(svc_query *q, rpc_call *call, store_script *script, int nkeys,
                     const char *const *keys, int nargs, const char *const *args)
{
    return svc_script_call_make(call, script, nkeys, keys, nargs, args, &q->script);
}

/* Frees what the steps left in q. */
static void query_free(svc_query *q)
{
    if (q->req != NULL)
        protobuf_c_message_free_unpacked(q->req, NULL);
    q->req = NULL;
}

/* Answers call from its command's reply r (NULL or an error reply when the store or the
 * script failed, rv the store's error then). */
static void query_answer(const svc_step *m, rpc_call *call, const svc_query *q,
                         const redisReply *r, int rv)
{
    if (r == NULL || r->type == REDIS_REPLY_ERROR)
        service_fail_store(call, rv != 0 ? rv : -EPROTO);
    else if (q->script.script == NULL || svc_script_check(call, r) == 0)
        m->answer(call, q, r);
}

void svc_step_call(void *state, rpc_call *call)
{
    service_worker *w = state;
    const svc_step *m = call->def->batch;
    const svc_script_call *sc;
    svc_query q = {0};
    redisReply *r = NULL;
    int rv;

    if (m->prep(call, &q) == 0) {
        sc = &q.script;
        rv = sc->script != NULL
                 ? store_eval(w->store, sc->script, sc->nkeys, sc->keys, sc->nargs, sc->args, &r)
                 : store_read(w->store, &r, q.argc, q.argv, NULL);
        query_answer(m, call, &q, r, rv);
    }
    freeReplyObject(r);
    query_free(&q);
}

/* The step method of a call, or NULL when it runs by its own handler. */
static const svc_step *step_of(const rpc_call *call)
{
    return call->def != NULL && call->def->fn == svc_step_call ? call->def->batch : NULL;
}

/* Appends q's command to b. Returns 0 or a negative error. */
static int query_append(store_batch *b, const svc_query *q)
{
    const svc_script_call *sc = &q->script;

    if (sc->script != NULL)
        return store_batch_eval(b, sc->script, sc->nkeys, sc->keys, sc->nargs, sc->args);
    return store_batch_add_read(b, q->argc, (const char **)q->argv, NULL);
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
        const svc_step *m = step_of(&calls[i]);
        if (m == NULL) {
            if (calls[i].def != NULL)
                calls[i].def->fn(state, &calls[i]);
            continue;
        }
        if (m->prep(&calls[i], &qs[i]) != 0)
            continue;
        if ((rv = query_append(w->batch, &qs[i])) != 0) {
            service_fail_store(&calls[i], rv);
            continue;
        }
        at[i] = ++queued;
    }
    rv = store_batch_exec(w->store, w->batch);
    for (size_t i = 0; i < n; i++)
        if (at[i] != 0)
            query_answer(step_of(&calls[i]), &calls[i], &qs[i],
                         rv == 0 ? store_batch_reply(w->batch, at[i] - 1) : NULL, rv);
    store_batch_reset(w->batch);
out:
    for (size_t i = 0; qs != NULL && i < n; i++)
        query_free(&qs[i]);
    free(at);
    free(qs);
}
