/* route: the REST API's route table and path parsing (DESIGN §3).
 *
 * Pure: no I/O and no h2o. gw_route_parse turns a method and a raw request path into
 * a route and its request message, filled in from the path, or says why it cannot:
 * no such path (404), wrong method (405) or a bad parameter (400).
 *
 * A pattern reads like the API's documentation: "/stock/add/{item_id}/{amount}". Its
 * literal segments come first; each {name} is a field of the route's request message
 * with that very name, so the table alone says how a path becomes a message. String
 * fields take ids (validate_id), int64 fields take numbers in the range the field's
 * name calls for (see route.c). */
#ifndef GW_ROUTE_H
#define GW_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "validate.h"

enum gw_service { GW_STOCK, GW_PAYMENT, GW_ORDER, GW_N_SERVICES };

enum gw_route_kind {
    GW_ROUTE_RPC,      /* one RPC to `service`, its reply rendered back */
    GW_ROUTE_HEALTH,   /* GET /health */
    GW_ROUTE_METRICS,  /* GET /metrics */
};

typedef struct gw_route {
    const char *method;   /* "GET" or "POST" */
    const char *pattern;  /* "/stock/add/{item_id}/{amount}" */
    const char *name;     /* the RPC method ("stock.add"); for local routes a label */
    enum gw_route_kind kind;
    enum gw_service service;
    const ProtobufCMessageDescriptor *request;  /* RPC routes only */
    const ProtobufCMessageDescriptor *reply;    /* RPC routes only */
    int32_t timeout_ms;                         /* RPC routes only */
} gw_route;

#define GW_N_ROUTES 17
extern const gw_route gw_routes[GW_N_ROUTES];

/* The service names, as in "<name>.health" and in log lines. */
extern const char *const gw_service_names[GW_N_SERVICES];

#define GW_PARAMS_MAX 4
#define GW_REQUEST_MAX 64   /* bytes; no request message struct is larger */

/* The outcome of gw_route_parse; lives on the caller's stack. */
typedef struct gw_parsed {
    const gw_route *route;  /* the matched route (also on -ENOTSUP and -EINVAL) */
    /* The request message (a ProtobufCMessage of route->request): see gw_parsed_request.
     * Its string fields point into ids[], so it is valid as long as this struct. */
    _Alignas(16) unsigned char request[GW_REQUEST_MAX];
    char ids[GW_PARAMS_MAX][WDM_ID_MAX + 1];
    char error[192];        /* one line, set on every failure */
} gw_parsed;

/* Matches method and path (raw, as received; a "?query" is ignored) against the table
 * and, for an RPC route, fills in the request message from the path's parameters.
 * Returns 0; -ENOENT when no route has this path (404); -ENOTSUP when a route has the
 * path but another method (405; out->route is that route); -EINVAL when the parameters
 * are wrong (400: too many or too few segments, a bad id, a number out of range). */
int gw_route_parse(const char *method, size_t method_len, const char *path, size_t path_len,
                   gw_parsed *out);

static inline ProtobufCMessage *gw_parsed_request(gw_parsed *p)
{
    return (ProtobufCMessage *)(void *)p->request;
}

/* A route's index in gw_routes (its metrics slot). */
static inline size_t gw_route_index(const gw_route *r)
{
    return (size_t)(r - gw_routes);
}

#endif
