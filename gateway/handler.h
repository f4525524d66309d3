/* handler: the gateway's h2o handler, mounted at "/" of each listener's host. It routes
 * every request among the routes its listener serves (route.c) and answers at once (404,
 * 405, 400, 401, /metrics) or starts its RPC (proxy.c, health.c). */
#ifndef GW_HANDLER_H
#define GW_HANDLER_H

#include "gateway.h"

/* Adds the handler of listener `listener` (GW_PUBLIC, GW_ADMIN) to pathconf, which must
 * be the "/" path of that listener's host. */
void gw_handler_install(h2o_pathconf_t *pathconf, size_t listener);

#endif
