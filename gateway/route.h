/* route: the REST API's route table and path parsing (DESIGN §3).
 *
 * Pure: no I/O and no h2o. gw_route_parse turns a method, a raw request path and (for
 * protobuf clients) a request body into a route and its request message, or says why it
 * cannot: no such path (404), wrong method (405) or a bad parameter (400).
 *
 * A pattern reads like the API's documentation: "/stock/add/{item_id}/{amount}". Its
 * literal segments come first; each {name} is a field of the route's request message
 * with that very name, so the table alone says how a path becomes a message. String
 * fields take ids (validate_id), int64 fields take numbers in the range the field's
 * name calls for (see route.c): gw_parsed_set_id and gw_parsed_set_number apply these
 * rules to a field whichever way it came, path or body.
 *
 * Protobuf request bodies (DESIGN §3: "a protobuf request body where one applies"): a
 * POST whose body is application/x-protobuf and not empty is decoded as the route's
 * request message (body.h). Its path then either
 *   - has no parameters ("POST /stock/add"): every field comes from the body, and a field
 *     the body leaves out has its proto3 default ("" or 0), checked like any value, or
 *   - has them all ("POST /stock/add/i1/5"): every field the body sets must equal the
 *     path's, else 400.
 * Anything in between is a 400, as is a body that is no valid message. */
#ifndef GW_ROUTE_H
#define GW_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "validate.h"

enum gw_service { GW_STOCK, GW_PAYMENT, GW_ORDER, GW_N_SERVICES };

/* The gateway's listeners (a bit each): the public port serves the API and /health; the
 * internal admin listener (WDM_ADMIN_ADDR) serves /metrics, /admin/... and /health. */
enum gw_listener_bit { GW_ON_PUBLIC = 1, GW_ON_ADMIN = 2 };

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
    /* RPC routes: may travel in a batch with the loop pass's other batched requests for
     * the service (proxy.h): the service answers the method in one Redis step
     * (common/svc_step.h), so a batch of them costs it one round trip. */
    bool batch;
    unsigned listeners;   /* the gw_listener_bit bits of the listeners that serve it */
    /* A batch_init route: the course's benchmark seeds data with it, so it is on the
     * public port, but it can be switched off or need a token (WDM_BATCH_INIT,
     * WDM_ADMIN_TOKEN; handler.c). */
    bool batch_init;
} gw_route;

#define GW_N_ROUTES 18
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

/* Matches method and path (raw, as received; a "?query" is ignored) against the routes
 * that `listener` (a gw_listener_bit) serves, as if the others did not exist, and, for an RPC route, fills in the request message from the path's parameters and
 * from body[0..body_len). body: the request's body when it is protobuf (the caller
 * checks its Content-Type with gw_body_is_protobuf), else NULL; it counts only for POST
 * routes and only when not empty. Returns 0; -ENOENT when no route has this path (404);
 * -ENOTSUP when a route has the path but another method (405; out->route is that
 * route); -EINVAL when the parameters are wrong (400: too many or too few segments, a bad
 * id, a number out of range, a malformed body, body and path disagreeing). */
int gw_route_parse(unsigned listener, const char *method, size_t method_len, const char *path, size_t path_len,
                   const void *body, size_t body_len, gw_parsed *out);

/* Sets string field f of p's request message (of p->route) to the id s[0..len), copied
 * into p->ids[slot]. Returns 0; -EINVAL with p->error set when s is no id; -EPROTO when
 * f is no string field or slot is out of range. */
int gw_parsed_set_id(gw_parsed *p, const ProtobufCFieldDescriptor *f, int slot, const char *s,
                     size_t len);

/* Sets int64 field f of p's request message to v, when is_number and v is in the range
 * f's name calls for. Returns 0; -EINVAL with p->error set otherwise; -EPROTO when f is
 * no int64 field or has no rule. */
int gw_parsed_set_number(gw_parsed *p, const ProtobufCFieldDescriptor *f, int64_t v,
                         bool is_number);

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
