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

/* Packs method(req) as one RpcRequest into out->data (malloc'd, the caller's to free).
 * key may be NULL. Returns 0 or -ENOMEM. */
int rpc_request_pack(const char *method, const char *key, uint32_t key_ttl_s,
                     const ProtobufCMessage *req, ProtobufCBinaryData *out);

/* Called once per batch, on an nng thread: rv 0 with replies[0..n), one per request in
 * order, each the callback's (free with wdm__rpc_reply__free_unpacked); or a negative
 * error with replies NULL (-EPROTO: the answer does not match the batch). The array
 * itself is the client's. */
typedef void (*rpc_batch_done_fn)(void *arg, int rv, Wdm__RpcReply **replies, size_t n);

/* Sends n requests (packed RpcRequests, borrowed: copied into the message before
 * return) in one message, a batch when n > 1 (DESIGN §4), and calls done with the n
 * answers. n is 1 to RPC_BATCH_MAX. Returns 0 (done will be called exactly once), or a
 * negative error (done is not called). */
int rpc_client_batch_async(rpc_client *c, const ProtobufCBinaryData *reqs, size_t n,
                           nng_duration timeout_ms, rpc_batch_done_fn done, void *arg);

/* Most requests in one batch message. */
#define RPC_BATCH_MAX 1024

/* The same, blocking the calling thread until the reply. On 0, *reply is the caller's
 * (free with wdm__rpc_reply__free_unpacked). */
int rpc_client_call(rpc_client *c, const char *method, const char *key, uint32_t key_ttl_s,
                    const ProtobufCMessage *req, nng_duration timeout_ms, Wdm__RpcReply **reply);

#endif
