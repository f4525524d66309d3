/* rpc_server: the service side of the internal RPC (DESIGN §4).
 *
 * A rep0 socket listens on one nng URL, with two receiving contexts per worker. A
 * received request is queued (on nng's thread, which never blocks) for `workers`
 * threads, each with one piece of per-worker state (typically a Redis connection); a
 * worker dispatches by method name, and sends the reply without waiting for the send to
 * finish. So `workers` requests are handled at once, and a handler may block (on Redis,
 * or on an RPC to another service).
 *
 * nng may deliver a request twice (a requester re-sends when a replica dies); handlers of
 * writes must therefore be idempotent, keyed by rpc_call.idempotency_key.
 *
 * A message may carry a batch of requests (DESIGN §4; RpcRequest.batch): one worker
 * takes the whole batch, runs it with the config's run_batch (e.g. every call's Redis
 * command in one round trip), and sends one reply with an answer per request, in order.
 * A call of a batch cannot be deferred (rpc_call_defer returns NULL).
 *
 * Metrics (the process registry, metrics.h), for every method of the table and
 * "unknown" (no such method, or a malformed envelope):
 *   wdm_rpc_requests_total{method,status}   counter: answers, by status (OK, NOT_FOUND, ...)
 *   wdm_rpc_request_seconds{method}         histogram: from receipt to the answer, also
 *                                           for deferred answers
 *   wdm_rpc_deferred_calls                  gauge: deferred calls not answered yet
 *   wdm_rpc_messages_total{kind}            counter: messages, "single" or "batch"
 *   wdm_rpc_batched_requests_total          counter: requests that came in batches */
#ifndef WDM_RPC_SERVER_H
#define WDM_RPC_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rpc.pb-c.h"

typedef struct rpc_call {
    /* The request, borrowed: valid only while the handler runs. */
    const char *method;
    const char *idempotency_key;   /* never empty for writes sent by our gateway */
    uint32_t idempotency_ttl_s;
    ProtobufCBinaryData payload;
    /* The reply, set by the handler through rpc_call_ok / rpc_call_fail. */
    Wdm__Status status;
    char error[256];
    uint8_t *reply;                /* owned by the call; freed by the server */
    size_t reply_len;
    struct rpc_slot *slot;         /* the server's: where it came in, for rpc_call_defer;
                                    * NULL in a batch */
    const struct rpc_method *def;  /* the method's table entry, once dispatched */
    bool deferred;
    /* The server's, for its metrics: the method's series, and when the request came. */
    const struct rpc_method_stats *stats;
    uint64_t received_ns;
} rpc_call;

/* A method handler. `state` is the worker's state (from worker_init). It must set the
 * reply with rpc_call_ok or rpc_call_fail; a handler that sets neither answers
 * UNAVAILABLE. */
typedef void (*rpc_handler_fn)(void *state, rpc_call *call);

typedef struct rpc_method {
    const char *name;
    rpc_handler_fn fn;
    /* Optional, for run_batch: how the method runs as part of a batch (the service's). */
    const void *batch;
} rpc_method;

/* Runs the calls of a batch with a worker's state and answers each. A call whose def is
 * NULL is answered already (malformed, unknown method) and must be left alone. */
typedef void (*rpc_batch_fn)(void *state, rpc_call *calls, size_t n);

typedef struct rpc_server_config {
    const char *listen_url;   /* e.g. tcp://0.0.0.0:5101 */
    int workers;
    const rpc_method *methods;
    size_t n_methods;
    /* Creates worker i's state; returns 0 or a negative error (start-up then fails). */
    int (*worker_init)(void *arg, int index, void **state);
    void (*worker_fini)(void *state);
    void *arg;
    /* Optional: runs a batch. NULL: each call by its method's fn, one after another. */
    rpc_batch_fn run_batch;
} rpc_server_config;

typedef struct rpc_server rpc_server;

/* Listens and starts the workers. cfg and the method table must outlive the server.
 * Returns 0, or a negative error (nothing is left running). */
int rpc_server_start(rpc_server **out, const rpc_server_config *cfg);

/* Stops accepting, waits for in-flight handlers, frees every worker state. */
void rpc_server_stop(rpc_server *srv);

/* Answers OK with `msg` packed as the payload (msg stays the caller's). */
void rpc_call_ok(rpc_call *call, const ProtobufCMessage *msg);

/* Answers a failure status with a one-line error text. */
void rpc_call_fail(rpc_call *call, Wdm__Status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Unpacks the request payload as `desc`. On malformed bytes answers INVALID_ARGUMENT and
 * returns NULL. The message is the caller's: free it with protobuf_c_message_free_unpacked. */
ProtobufCMessage *rpc_call_unpack(rpc_call *call, const ProtobufCMessageDescriptor *desc);

/* A reply to be given later, from any thread (see rpc_call_defer). */
typedef struct rpc_deferred rpc_deferred;

/* Takes the answer of `call` out of the handler: when the handler returns, its worker
 * goes on with the next request, and the answer is sent later with rpc_deferred_ok or
 * rpc_deferred_fail, exactly once, from any thread. So a request that waits for an
 * event (a checkout) holds no thread. Returns the handle, or NULL when the call cannot
 * be deferred (out of resources): the handler must then answer the call itself. */
rpc_deferred *rpc_call_defer(rpc_call *call);

/* Answers a deferred call OK with msg packed (msg stays the caller's), and frees d. */
void rpc_deferred_ok(rpc_deferred *d, const ProtobufCMessage *msg);

/* Answers a deferred call with a failure status, and frees d. */
void rpc_deferred_fail(rpc_deferred *d, Wdm__Status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
