/* svc_read: read methods, and the batches of them that cost one Redis round trip.
 *
 * A read method answers from one read-only Redis command. It is written as two steps,
 * so that the calls of a batch (rpc_server.h; DESIGN §4) can share one round trip:
 * prep unpacks and checks the request and names the command, answer reads its reply.
 * svc_read_call runs one call through both steps (its command joins the store's group
 * commit); svc_run_batch runs a batch: every read call's command pipelined in one round
 * trip, no WAIT, and every other call of the batch alone, by its method's handler.
 *
 * A method table entry: {"stock.find", svc_read_call, &stock_find}. */
#ifndef WDM_SVC_READ_H
#define WDM_SVC_READ_H

#include <hiredis/hiredis.h>
#include <protobuf-c/protobuf-c.h>

#include "rpc_server.h"
#include "service.h"

#define SVC_QUERY_KEY_LEN 160
#define SVC_QUERY_ARGS 8

/* One call's command. The steps fill it; svc_read frees req. */
typedef struct svc_query {
    ProtobufCMessage *req;           /* the unpacked request, or NULL */
    char key[SVC_QUERY_KEY_LEN];     /* room for the key the command names */
    const char *argv[SVC_QUERY_ARGS];
    int argc;
} svc_query;

typedef struct svc_read {
    /* Unpacks and checks the call's request (into q->req, even when it then fails) and
     * sets q's command. Returns 0; or answers the call and returns a negative error. */
    int (*prep)(rpc_call *call, svc_query *q);
    /* Answers the call from the command's reply (borrowed). */
    void (*answer)(rpc_call *call, const svc_query *q, const redisReply *r);
} svc_read;

/* Sets q's command to argv[0..argc) (argc <= SVC_QUERY_ARGS; the strings are borrowed
 * and must live as long as q: literals, or q->key). */
void svc_query_set(svc_query *q, int argc, const char *const *argv);

/* rpc_handler_fn of a read method: call->def->batch is its svc_read. */
void svc_read_call(void *state, rpc_call *call);

/* rpc_batch_fn of every service (state: a service_worker). */
void svc_run_batch(void *state, rpc_call *calls, size_t n);

#endif
