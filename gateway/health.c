/* health: one health RPC to every service, answered together (see health.h). */
#include "health.h"

#include <stdio.h>
#include <string.h>

#include "api.pb-c.h"
#include "proxy.h"
#include "respond.h"

#define HEALTH_TIMEOUT_MS 1000

/* gw_finish_fn: 200 when every leg (one per service, in gw_service order) said OK. */
static void health_finish(gw_call *call, h2o_req_t *req)
{
    static const char ok[] = "{\"status\": \"ok\"}";
    size_t slot = gw_route_index(call->arg);
    char text[128] = "unhealthy:";
    bool healthy = true;

    for (size_t i = 0; i < call->n_legs; i++) {
        const gw_leg *leg = &call->legs[i];
        if (leg->rv == 0 && leg->reply->status == WDM__STATUS__OK)
            continue;
        snprintf(text + strlen(text), sizeof(text) - strlen(text), "%s %s",
                 healthy ? "" : ",", gw_service_names[i]);
        healthy = false;
    }
    if (healthy)
        gw_respond(req, slot, 200, "application/json", ok, sizeof(ok) - 1);
    else
        gw_respond_error(req, slot, 503, text);
}

void gw_health_handle(h2o_req_t *req, const gw_route *route)
{
    /* Health methods take an empty payload; any message with no fields packs to that. */
    static const Wdm__CreateUserRequest empty = WDM__CREATE_USER_REQUEST__INIT;
    gw *g = gw_thread_of(req)->gw;
    char methods[GW_N_SERVICES][32];
    gw_leg_spec legs[GW_N_SERVICES];

    for (size_t i = 0; i < GW_N_SERVICES; i++) {
        snprintf(methods[i], sizeof(methods[i]), "%s.health", gw_service_names[i]);
        legs[i] = (gw_leg_spec){g->clients[i], methods[i], &empty.base, HEALTH_TIMEOUT_MS,
                                false, (enum gw_service)i};
    }
    if (gw_call_start(req, legs, GW_N_SERVICES, NULL, 0, health_finish, route) != 0)
        gw_respond_error(req, gw_route_index(route), 503, "out of memory");
}
