/* handler: the gateway's single h2o handler, mounted at "/". It routes every request
 * (route.c) and answers at once (404, 405, 400, /metrics) or starts its RPC
 * (proxy.c, health.c). */
#ifndef GW_HANDLER_H
#define GW_HANDLER_H

#include "gateway.h"

/* Adds the handler to pathconf (which must be the host's "/" path). */
void gw_handler_install(h2o_pathconf_t *pathconf);

#endif
