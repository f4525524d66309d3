/* respond: answering a request, on its loop thread.
 *
 * Every answer the gateway itself produces goes through gw_respond, which also counts
 * it (metrics). Bodies are JSON unless the request has `Accept: application/x-protobuf`:
 * then a success is the reply message's protobuf bytes and an error a packed wdm.Error,
 * with the same HTTP status. */
#ifndef GW_RESPOND_H
#define GW_RESPOND_H

#include <stdbool.h>
#include <stddef.h>

#include "gateway.h"
#include "rpc.pb-c.h"

/* True when the request asks for protobuf bodies. */
bool gw_wants_protobuf(const h2o_req_t *req);

/* The HTTP status of an RPC reply status (OK 200, INVALID_ARGUMENT 400, ...). */
int gw_http_status(Wdm__Status status);

/* Answers req: status, Content-Type, body (copied into the request's pool), and counts
 * it under route slot `slot` (gw_route_index, or GW_ROUTE_NONE). Headers already added
 * to req->res.headers (e.g. Allow) are kept. */
void gw_respond(h2o_req_t *req, size_t slot, int status, const char *content_type,
                const void *body, size_t len);

/* Answers an error: {"error": text}, or a wdm.Error for protobuf clients. */
void gw_respond_error(h2o_req_t *req, size_t slot, int status, const char *text);

/* Answers 503 with `Retry-After: 1` and the error text `why`: the gateway holds as many
 * calls (WDM_GATEWAY_MAX_CALLS) or connections (WDM_GATEWAY_MAX_CONNECTIONS) as it may;
 * nothing was sent to a service. */
void gw_respond_busy(h2o_req_t *req, size_t slot, const char *why);

/* Answers the outcome of route's RPC: rv < 0 (no reply: timeout, no replica) is 503;
 * otherwise reply's status mapped to HTTP, with the reply message rendered on OK.
 * reply stays the caller's. */
void gw_respond_rpc(h2o_req_t *req, const gw_route *route, int rv, const Wdm__RpcReply *reply);

#endif
