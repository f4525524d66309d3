/* proxy: RPC calls tied to HTTP requests, replies handed to the loop (see proxy.h). */
#include "proxy.h"

#include <errno.h>
#include <stdlib.h>

/* The legs of one batch message, from its flush until its answer is filed. */
typedef struct gw_batch {
    size_t n;
    gw_leg *legs[GW_BATCH_MAX];
} gw_batch;

/* Lives in the request's pool (h2o_mem_alloc_shared): h2o frees it with the request,
 * calling link_dispose first. call is NULL once the call has finished. */
struct gw_req_link {
    gw_call *call;
};

/* h2o is disposing of the request (answered, or the connection is gone): the call must
 * no longer touch it. Loop thread. */
static void link_dispose(void *p)
{
    struct gw_req_link *link = p;

    if (link->call != NULL) {
        link->call->req = NULL;
        link->call->link = NULL;
    }
}

/* Answers the request if it still exists, then frees the call and its replies.
 * Loop thread. */
static void call_complete(gw_call *call)
{
    if (call->req != NULL)
        call->finish(call, call->req);
    /* finish may have led h2o to dispose of the request already (link_dispose ran). */
    if (call->link != NULL) {
        call->link->call = NULL;
        call->link = NULL;
    }
    for (size_t i = 0; i < call->n_legs; i++)
        if (call->legs[i].reply != NULL)
            wdm__rpc_reply__free_unpacked(call->legs[i].reply, NULL);
    atomic_fetch_sub(&call->thread->pending, 1);
    free(call);
}

/* rpc_done_fn, on an nng thread: files the outcome in the leg and posts the leg to its
 * loop. The leg (and its call) must not be touched after posting. */
static void leg_done(void *arg, int rv, Wdm__RpcReply *reply)
{
    gw_leg *leg = arg;

    leg->rv = rv;
    leg->reply = reply;
    h2o_multithread_send_message(&leg->call->thread->replies, &leg->message);
}

/* rpc_batch_done_fn, on an nng thread: files each answer in its leg and posts the legs;
 * frees the batch. */
static void batch_done(void *arg, int rv, Wdm__RpcReply **replies, size_t n)
{
    gw_batch *b = arg;

    for (size_t i = 0; i < n; i++)
        leg_done(b->legs[i], rv, rv == 0 ? replies[i] : NULL);
    free(b);
}

/* A leg that could not be sent reports its error at once. Loop thread. */
static void leg_failed(gw_leg *leg, int rv)
{
    gw_call *call = leg->call;

    leg->rv = rv;
    if (++call->n_done == call->n_legs)
        call_complete(call);
}

/* Sends the n legs of b (queued for client) in one message. Loop thread. */
static void batch_send(rpc_client *client, gw_batch *b)
{
    ProtobufCBinaryData reqs[GW_BATCH_MAX] = {{0}};
    int32_t timeout_ms = 0;
    size_t n = b->n;
    int rv;

    for (size_t i = 0; i < n; i++) {
        reqs[i] = b->legs[i]->packed;
        if (b->legs[i]->timeout_ms > timeout_ms)
            timeout_ms = b->legs[i]->timeout_ms;
    }
    /* On success b is the nng thread's (batch_done may run before this returns), but
     * the packed requests are still ours: copied into the message. */
    rv = rpc_client_batch_async(client, reqs, n, timeout_ms, batch_done, b);
    for (size_t i = 0; i < n; i++) {
        free(reqs[i].data);
        if (rv != 0) {
            b->legs[i]->packed = (ProtobufCBinaryData){0};
            leg_failed(b->legs[i], rv);
        }
    }
    if (rv != 0)
        free(b);
}

/* The end of a loop pass (ctx.zero_timeout): sends every outbox, GW_BATCH_MAX legs per
 * message, in the order the legs came. */
static void on_flush(h2o_timeout_entry_t *entry)
{
    gw_thread *t = H2O_STRUCT_FROM_MEMBER(gw_thread, flush, entry);

    for (size_t s = 0; s < GW_N_SERVICES; s++) {
        gw_leg *leg = t->outbox[s];

        t->outbox[s] = NULL;
        t->outbox_end[s] = &t->outbox[s];
        while (leg != NULL) {
            gw_batch *b = malloc(sizeof(*b));
            size_t n = 0;
            for (gw_leg *next; leg != NULL && n < GW_BATCH_MAX; leg = next) {
                next = leg->next; /* leg_failed may free leg with its call */
                if (b != NULL) {
                    b->legs[n++] = leg;
                } else {
                    n++;
                    free(leg->packed.data);
                    leg_failed(leg, -ENOMEM);
                }
            }
            if (b != NULL) {
                b->n = n;
                batch_send(t->gw->clients[s], b);
            }
        }
    }
}

/* Queues leg for the end of this loop pass. Returns 0 or -ENOMEM. Loop thread. */
static int leg_queue(gw_thread *t, gw_leg *leg, const gw_leg_spec *spec, const char *key,
                     uint32_t key_ttl_s)
{
    int rv;

    if ((rv = rpc_request_pack(spec->method, key, key_ttl_s, spec->request, &leg->packed)) != 0)
        return rv;
    leg->timeout_ms = spec->timeout_ms;
    leg->next = NULL;
    *t->outbox_end[spec->service] = leg;
    t->outbox_end[spec->service] = &leg->next;
    if (!h2o_timeout_is_linked(&t->flush))
        h2o_timeout_link(t->loop, &t->ctx.zero_timeout, &t->flush);
    return 0;
}

/* The loop's receiver: counts each posted leg in; the last one completes its call. */
static void on_replies(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    (void)receiver;
    while (!h2o_linklist_is_empty(messages)) {
        gw_leg *leg = H2O_STRUCT_FROM_MEMBER(gw_leg, message.link, messages->next);
        gw_call *call = leg->call;

        h2o_linklist_unlink(&leg->message.link);
        if (++call->n_done == call->n_legs)
            call_complete(call);
    }
}

int gw_call_start(h2o_req_t *req, const gw_leg_spec *legs, size_t n, const char *key,
                  uint32_t key_ttl_s, gw_finish_fn finish, const void *arg)
{
    gw_thread *t = gw_thread_of(req);
    struct gw_req_link *link;
    gw_call *call;
    int rv;

    if (n == 0 || n > GW_LEGS_MAX)
        return -EINVAL;
    if ((call = calloc(1, sizeof(*call))) == NULL)
        return -ENOMEM;
    /* h2o_mem_alloc_shared does not return NULL: h2o aborts when out of memory. */
    link = h2o_mem_alloc_shared(&req->pool, sizeof(*link), link_dispose);
    link->call = call;
    call->thread = t;
    call->req = req;
    call->link = link;
    call->finish = finish;
    call->arg = arg;
    call->n_legs = n;
    atomic_fetch_add(&t->pending, 1);

    /* Replies cannot be counted in before we return: the receiver runs on this thread. */
    for (size_t i = 0; i < n; i++) {
        gw_leg *leg = &call->legs[i];
        leg->call = call;
        if (legs[i].batch)
            rv = leg_queue(t, leg, &legs[i], key, key_ttl_s);
        else
            rv = rpc_client_call_async(legs[i].client, legs[i].method, key, key_ttl_s,
                                       legs[i].request, legs[i].timeout_ms, leg_done, leg);
        if (rv != 0) {
            leg->rv = rv;
            call->n_done++;
        }
    }
    if (call->n_done == call->n_legs)
        call_complete(call);
    return 0;
}

void gw_proxy_init(gw_thread *t)
{
    h2o_multithread_register_receiver(t->ctx.queue, &t->replies, on_replies);
    t->flush = (h2o_timeout_entry_t){.cb = on_flush};
    for (size_t s = 0; s < GW_N_SERVICES; s++)
        t->outbox_end[s] = &t->outbox[s];
}
