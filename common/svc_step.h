/* svc_step: methods written in two steps, so that the calls of a batch share one Redis
 * round trip (rpc_server.h; DESIGN §4).
 *
 * A step method answers from ONE Redis command: a read, or a call of an idempotent
 * script (svc_script.h). prep unpacks and checks the request and names the command;
 * answer reads its reply (for a script, only a reply whose status is 0: svc_step answers
 * the script's refusals itself). svc_step_call runs one call through both steps (its
 * command joins the store's group commit); svc_run_batch runs a batch: every step call's
 * command pipelined in one round trip (one WAIT when any writes; calls of one script in
 * a row go as one call of its batch form, store.h), and every other call of the batch
 * alone, by its method's handler.
 *
 * A method table entry: {"stock.find", svc_step_call, &stock_find}. */
#ifndef WDM_SVC_STEP_H
#define WDM_SVC_STEP_H

#include <hiredis/hiredis.h>
#include <protobuf-c/protobuf-c.h>

#include "rpc_server.h"
#include "service.h"
#include "svc_script.h"

#define SVC_QUERY_KEY_LEN 160
#define SVC_QUERY_ARGS 8

/* One call's command, and room for the strings it names. The steps fill it; svc_step
 * frees req. */
typedef struct svc_query {
    ProtobufCMessage *req;           /* the unpacked request, or NULL */
    char key[SVC_QUERY_KEY_LEN];     /* the key the command names */
    char num[SVC_INT_LEN];           /* a number it passes */
    char id[33];                     /* a fresh id it passes */
    /* The command: a read (argv), or a script call (script.script set). */
    const char *argv[SVC_QUERY_ARGS];
    int argc;
    svc_script_call script;
} svc_query;

typedef struct svc_step {
    /* Unpacks and checks the call's request (into q->req, even when it then fails) and
     * sets q's command (svc_query_read, svc_query_script). Returns 0; or answers the
     * call and returns a negative error. */
    int (*prep)(rpc_call *call, svc_query *q);
    /* Answers the call from the command's reply (borrowed; a script's with status 0). */
    void (*answer)(rpc_call *call, const svc_query *q, const redisReply *r);
} svc_step;

/* Sets q's command to the read argv[0..argc) (argc <= SVC_QUERY_ARGS; the strings are
 * borrowed and must live as long as q: literals, or q's own buffers). */
void svc_query_read(svc_query *q, int argc, const char *const *argv);

/* Sets q's command to a call of the idempotent script for `call` (svc_script_call_make;
 * keys and args borrowed like argv above). Returns 0, or answers the call and returns a
 * negative error. */
int svc_query_script(svc_query *q, rpc_call *call, store_script *script, int nkeys,
                     const char *const *keys, int nargs, const char *const *args);

/* rpc_handler_fn of a step method: call->def->batch is its svc_step. */
void svc_step_call(void *state, rpc_call *call);

/* rpc_batch_fn of every service (state: a service_worker). */
void svc_run_batch(void *state, rpc_call *calls, size_t n);

#endif
