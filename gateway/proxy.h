/* proxy: asynchronous RPCs on behalf of an HTTP request, answered on its loop thread.
 *
 * A gw_call is one HTTP request waiting for 1..GW_LEGS_MAX RPCs (its legs). A leg is
 * sent at once, or, when its spec says batch, at the end of the loop pass together with
 * every other batched leg the pass has for the same service: one nng message carries
 * them all (DESIGN §4), so the fixed cost of a message is paid once per batch, and a
 * leg alone in its pass goes alone, without waiting. A reply arrives on an nng thread,
 * which only files it in its leg and posts the leg to the owning loop's receiver
 * (h2o_multithread_send_message). When the last leg is in, the loop thread calls the
 * call's finish function, if the HTTP request still exists, then frees everything.
 *
 * Ownership:
 *   - The gw_call is malloc'd and owned by the gateway, never by h2o. It lives until
 *     every leg has reported, however long the client waits or whether it stays.
 *   - The request's pool holds a small shared object (h2o_mem_alloc_shared) pointing at
 *     the call. If h2o disposes of the request first (client gone, connection closed),
 *     its dispose callback clears call->req; the call then finishes silently.
 *     If the call finishes first, it clears the object's pointer back to it.
 *     Both run on the loop thread, so neither needs a lock.
 *   - An nng thread touches only its own leg (rv, reply, message link), and only
 *     before posting it; after that the leg belongs to the loop thread again. A batch
 *     (malloc'd at the flush) is the nng thread's once sent, and freed by it.
 *   - Replies (Wdm__RpcReply) belong to the call and are freed with it; finish reads
 *     them but must not keep them. */
#ifndef GW_PROXY_H
#define GW_PROXY_H

#include <stddef.h>
#include <stdint.h>

#include "gateway.h"

#define GW_LEGS_MAX GW_N_SERVICES

typedef struct gw_call gw_call;

/* Called on the loop thread once every leg has reported, and only if req still exists.
 * It must answer req. */
typedef void (*gw_finish_fn)(gw_call *call, h2o_req_t *req);

typedef struct gw_leg {
    h2o_multithread_message_t message; /* first: posted to the loop's receiver */
    gw_call *call;
    int rv;                            /* 0 with reply, else a negative error */
    Wdm__RpcReply *reply;              /* NULL unless rv == 0 */
    /* While waiting for the flush (batched legs): the packed request, and the next leg
     * in the thread's outbox of its service. */
    ProtobufCBinaryData packed;
    int32_t timeout_ms;
    struct gw_leg *next;
} gw_leg;

/* What one leg sends. */
typedef struct gw_leg_spec {
    rpc_client *client;
    const char *method;
    const ProtobufCMessage *request;  /* packed before gw_call_start returns */
    int32_t timeout_ms;
    bool batch;                       /* goes with the pass's other legs for service */
    enum gw_service service;          /* client's service (used when batch) */
} gw_leg_spec;

struct gw_call {
    gw_thread *thread;
    h2o_req_t *req;             /* NULL once h2o disposed of the request */
    struct gw_req_link *link;   /* the request pool's object pointing here, or NULL */
    gw_finish_fn finish;
    const void *arg;            /* for finish: e.g. the route */
    size_t n_legs, n_done;
    gw_leg legs[GW_LEGS_MAX];
};

/* Starts the n legs of a call for req, on req's loop thread. key/key_ttl_s are the
 * idempotency key sent with every leg (key NULL for reads). A leg that cannot be sent
 * counts as reported with its error; if none can be, finish runs before this returns.
 * Returns 0 (finish will run, or req will have gone), or -ENOMEM (or -EINVAL for a bad
 * n) when nothing was started: the caller answers req. */
int gw_call_start(h2o_req_t *req, const gw_leg_spec *legs, size_t n, const char *key,
                  uint32_t key_ttl_s, gw_finish_fn finish, const void *arg);

/* Registers t's reply receiver on its context's queue and sets up its outboxes. Loop
 * thread (or before it runs). */
void gw_proxy_init(gw_thread *t);

/* Most legs in one batch message; a pass with more sends several. */
#define GW_BATCH_MAX 64

#endif
