/* rpc_client: the requester side of the internal RPC (DESIGN §4).
 *
 * One req0 socket dials every replica of a service (a comma-separated list of nng URLs,
 * dialed non-blocking so replicas may start later). Every in-flight call has its own
 * req context, so any number of calls share the socket. When the replica holding a
 * request dies, nng re-sends it to another replica; so may the resend timer. */
#ifndef WDM_RPC_CLIENT_H
#define WDM_RPC_CLIENT_H

#include <stdint.h>

#include <nng/nng.h>

#include "rpc.pb-c.h"

typedef struct rpc_client rpc_client;

/* Opens a client that dials every URL of `urls` ("tcp://h:p,tcp://h:p").
 * Returns 0, or a negative error. */
int rpc_client_open(rpc_client **out, const char *urls);

/* Closes the socket; pending calls finish with -ECANCELED. */
void rpc_client_close(rpc_client *c);

/* Called once per call, on an nng thread. rv is 0 with a reply, or a negative error
 * (-ETIMEDOUT, -ECANCELED, -EIO) with reply NULL. The callback owns `reply`: free it
 * with wdm__rpc_reply__free_unpacked(reply, NULL). */
typedef void (*rpc_done_fn)(void *arg, int rv, Wdm__RpcReply *reply);

/* Sends method(req) and calls done with the reply. key may be NULL (reads). `req` is
 * packed before return and stays the caller's. Returns 0 (done will be called exactly
 * once), or a negative error (done is not called). */
int rpc_client_call_async(rpc_client *c, const char *method, const char *key, uint32_t key_ttl_s,
                          const ProtobufCMessage *req, nng_duration timeout_ms, rpc_done_fn done,
                          void *arg);

/* The same, blocking the calling thread until the reply. On 0, *reply is the caller's
 * (free with wdm__rpc_reply__free_unpacked). */
int rpc_client_call(rpc_client *c, const char *method, const char *key, uint32_t key_ttl_s,
                    const ProtobufCMessage *req, nng_duration timeout_ms, Wdm__RpcReply **reply);

#endif
