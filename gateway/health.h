/* health: GET /health. 200 {"status": "ok"} when every service answers its
 * "<service>.health" RPC with OK within HEALTH_TIMEOUT_MS (health.c); else 503 naming
 * the services that did not. There is no protobuf message for the success: it is JSON
 * whatever the Accept header (the 503 follows it, as every error does). */
#ifndef GW_HEALTH_H
#define GW_HEALTH_H

#include "gateway.h"

/* Starts the health check for req (route: the /health route); answers it later, or at
 * once if the check cannot start. Loop thread. */
void gw_health_handle(h2o_req_t *req, const gw_route *route);

#endif
