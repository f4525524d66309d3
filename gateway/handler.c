/* handler: request routing and dispatch (see handler.h). */
#include "handler.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "body.h"
#include "health.h"
#include "linger.h"
#include "log.h"
#include "metrics_process.h"
#include "proxy.h"
#include "respond.h"

/* The h2o handler of one listener. */
typedef struct gw_handler {
    h2o_handler_t super;
    unsigned routes;  /* the gw_listener_bit of the routes it serves */
} gw_handler;

#define IDEM_TTL_CLIENT_S 86400 /* a client's Idempotency-Key: its retries within a day */
#define IDEM_TTL_OWN_S 600      /* our own key only covers nng's re-sends */

/* Sets key (WDM_IDEM_KEY_MAX + 1 bytes) to the request's Idempotency-Key header, or to
 * a fresh random key of 32 hex characters when there is none, and *ttl_s to how long the
 * service should keep its answer. Returns 0; -EINVAL when the header is not a valid key;
 * or the negative errno of getrandom. */
static int idem_key(const h2o_req_t *req, char *key, uint32_t *ttl_s)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char rnd[16];
    ssize_t i, n;

    i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("idempotency-key"), -1);
    if (i != -1) {
        const h2o_iovec_t *v = &req->headers.entries[i].value;
        if (!validate_idem_key(v->base, v->len))
            return -EINVAL;
        memcpy(key, v->base, v->len);
        key[v->len] = '\0';
        *ttl_s = IDEM_TTL_CLIENT_S;
        return 0;
    }
    if ((n = getrandom(rnd, sizeof(rnd), 0)) < 0)
        return -errno;
    if (n != (ssize_t)sizeof(rnd))
        return -EIO;
    for (size_t j = 0; j < sizeof(rnd); j++) {
        key[2 * j] = hex[rnd[j] >> 4];
        key[2 * j + 1] = hex[rnd[j] & 15];
    }
    key[2 * sizeof(rnd)] = '\0';
    *ttl_s = IDEM_TTL_OWN_S;
    return 0;
}

/* gw_finish_fn of an API route: its single leg's reply, rendered. */
static void rpc_finish(gw_call *call, h2o_req_t *req)
{
    gw_respond_rpc(req, call->arg, call->legs[0].rv, call->legs[0].reply);
}

/* Starts route r's RPC with the request message parsed from the path and body. Writes
 * (POST) carry an idempotency key, reads none. */
static void handle_rpc(h2o_req_t *req, const gw_route *r, gw_parsed *p)
{
    gw_thread *t = gw_thread_of(req);
    gw *g = t->gw;
    size_t slot = gw_route_index(r);
    char key[WDM_IDEM_KEY_MAX + 1];
    const char *k = NULL;
    uint32_t ttl_s = 0;
    gw_leg_spec leg;
    int rv;

    if (atomic_load(&t->pending) >= g->max_calls_per_thread) {
        gw_respond_busy(req, slot, "too many requests in flight; retry later");
        return;
    }
    if (strcmp(r->method, "POST") == 0) {
        if ((rv = idem_key(req, key, &ttl_s)) == -EINVAL) {
            gw_respond_error(req, slot, 400,
                             "Idempotency-Key must be 1 to 128 printable characters, no spaces");
            return;
        }
        if (rv != 0) {
            log_error("getrandom: %s", strerror(-rv));
            gw_respond_error(req, slot, 503, "service unavailable");
            return;
        }
        k = key;
    }
    leg = (gw_leg_spec){g->clients[r->service], r->name, gw_parsed_request(p), r->timeout_ms,
                        r->batch, r->service};
    if (gw_call_start(req, &leg, 1, k, ttl_s, rpc_finish, r) != 0)
        gw_respond_error(req, slot, 503, "out of memory");
}

/* GET /metrics: every thread's counters, summed, then what the process registry holds and
 * the process's own figures (metrics_process.h). */
static void handle_metrics(h2o_req_t *req, const gw_route *r)
{
    static const char ct[] = "text/plain; version=0.0.4";
    gw *g = gw_thread_of(req)->gw;
    size_t slot = gw_route_index(r), len = 0;
    char *text = NULL;
    FILE *f = open_memstream(&text, &len);
    long inflight = 0;
    int rv = -ENOMEM;

    for (size_t i = 0; i < g->n_threads; i++)
        inflight += atomic_load(&g->threads[i].pending);
    if (f != NULL) {
        if ((rv = gw_metrics_render(g->metrics, g->n_threads, inflight, (long)getpid(), f)) == 0)
            rv = metrics_process_render(NULL, f);
        if (fclose(f) != 0 && rv == 0)
            rv = -ENOMEM;
    }
    if (rv != 0)
        gw_respond_error(req, slot, 503, "out of memory");
    else
        gw_respond(req, slot, 200, ct, text, len);
    free(text);
}

/* True when req came on a connection accepted while its thread held as many
 * connections as it may (WDM_GATEWAY_MAX_CONNECTIONS; server.c marks it): its requests
 * are answered busy and it is closed. Connections from before go on being served, and
 * the admin listener has no cap (scrapes, health checks). */
static bool over_connection_cap(h2o_req_t *req)
{
    const h2o_conn_callbacks_t *cb = req->conn->callbacks;
    return cb->get_socket != NULL && gw_linger_over_cap(cb->get_socket(req->conn));
}

/* The guard's verdict on a batch_init request (guard.h): 0 to serve it, else answered
 * here (404 when off, 401 with WWW-Authenticate without the token). */
static int guard_batch_init(h2o_req_t *req, size_t slot)
{
    const gw_guard *guard = &gw_thread_of(req)->gw->guard;
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1);
    const h2o_iovec_t *v = i != -1 ? &req->headers.entries[i].value : NULL;
    int status = gw_guard_batch_init(guard, v ? v->base : NULL, v ? v->len : 0);

    if (status == 404) {
        gw_respond_error(req, GW_ROUTE_NONE, 404, "not found");
    } else if (status == 401) {
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_WWW_AUTHENTICATE, NULL,
                       H2O_STRLIT("Bearer realm=\"batch_init\""));
        gw_respond_error(req, slot, 401, "batch_init needs Authorization: Bearer <token>");
    }
    return status;
}

/* The request's body when its Content-Type is application/x-protobuf (*len its size),
 * else NULL: only such bodies count (route.h); others are ignored, as they always were. */
static const void *protobuf_body(const h2o_req_t *req, size_t *len)
{
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_CONTENT_TYPE, -1);

    *len = 0;
    if (i == -1 || req->entity.base == NULL)
        return NULL;
    if (!gw_body_is_protobuf(req->headers.entries[i].value.base,
                             req->headers.entries[i].value.len))
        return NULL;
    *len = req->entity.len;
    return req->entity.base;
}

/* The h2o handler: every request of every loop comes here. Always answers (now or
 * later), so always returns 0. */
static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    const gw_handler *h = (const gw_handler *)self;
    const void *body;
    size_t slot, body_len;
    gw_parsed p;
    int rv;

    body = protobuf_body(req, &body_len);
    rv = gw_route_parse(h->routes, req->method.base, req->method.len, req->path.base, req->path.len, body,
                        body_len, &p);
    slot = p.route != NULL ? gw_route_index(p.route) : GW_ROUTE_NONE;
    switch (rv) {
    case 0:
        break;
    case -ENOENT:
        gw_respond_error(req, slot, 404, p.error);
        return 0;
    case -ENOTSUP:
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL, p.route->method,
                       strlen(p.route->method));
        gw_respond_error(req, slot, 405, p.error);
        return 0;
    case -EINVAL:
        gw_respond_error(req, slot, 400, p.error);
        return 0;
    default:
        log_error("route table: %s: %s", p.route ? p.route->pattern : "?", strerror(-rv));
        gw_respond_error(req, slot, 500, NULL);
        return 0;
    }

    if (p.route->batch_init && guard_batch_init(req, slot) != 0)
        return 0;
    if (over_connection_cap(req)) {
        req->http1_is_persistent = 0;
        gw_respond_busy(req, slot, "too many connections; retry later");
        return 0;
    }
    if (atomic_load(&gw_thread_of(req)->stopping)) {
        req->http1_is_persistent = 0;
        gw_respond_error(req, slot, 503, "shutting down");
        return 0;
    }
    switch (p.route->kind) {
    case GW_ROUTE_RPC: handle_rpc(req, p.route, &p); break;
    case GW_ROUTE_HEALTH: gw_health_handle(req, p.route); break;
    case GW_ROUTE_METRICS: handle_metrics(req, p.route); break;
    }
    return 0;
}

void gw_handler_install(h2o_pathconf_t *pathconf, size_t listener)
{
    gw_handler *h = (gw_handler *)h2o_create_handler(pathconf, sizeof(*h));

    h->super.on_req = on_req;
    /* GW_PUBLIC -> GW_ON_PUBLIC, GW_ADMIN -> GW_ON_ADMIN */
    h->routes = 1u << listener;
}
