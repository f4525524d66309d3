/* respond: HTTP answers, content negotiation and counting (see respond.h). */
#include "respond.h"

#include <string.h>
#include <sys/time.h>

#include "log.h"
#include "render.h"

#define CT_JSON "application/json"
#define CT_PROTOBUF "application/x-protobuf"

typedef struct status_info {
    int http;
    const char *reason;
    const char *text;  /* default error text */
} status_info;

/* statuses[0] also stands for any status not listed (we never answer one). */
static const status_info statuses[] = {
    {500, "Internal Server Error", "internal error"},
    {200, "OK", ""},
    {400, "Bad Request", "invalid argument"},
    {401, "Unauthorized", "unauthorized"},
    {404, "Not Found", "not found"},
    {405, "Method Not Allowed", "method not allowed"},
    {409, "Conflict", "conflict"},
    {501, "Not Implemented", "not implemented"},
    {503, "Service Unavailable", "service unavailable"},
};

static const status_info *status_find(int http)
{
    for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
        if (statuses[i].http == http)
            return &statuses[i];
    return &statuses[0];
}

bool gw_wants_protobuf(const h2o_req_t *req)
{
    static const char want[] = CT_PROTOBUF;
    const size_t n = sizeof(want) - 1;
    ssize_t i = -1;

    while ((i = h2o_find_header(&req->headers, H2O_TOKEN_ACCEPT, i)) != -1) {
        const h2o_iovec_t *v = &req->headers.entries[i].value;
        for (size_t j = 0; j + n <= v->len; j++)
            if (h2o_lcstris(v->base + j, n, want, n))
                return true;
    }
    return false;
}

int gw_http_status(Wdm__Status status)
{
    switch (status) {
    case WDM__STATUS__OK: return 200;
    case WDM__STATUS__INVALID_ARGUMENT: return 400;
    case WDM__STATUS__NOT_FOUND: return 404;
    case WDM__STATUS__CONFLICT: return 409;
    case WDM__STATUS__UNIMPLEMENTED: return 501;
    case WDM__STATUS__UNAVAILABLE:
    default: return 503;
    }
}

/* Microseconds since req began (0 when h2o did not stamp it). */
static uint64_t request_micros(const h2o_req_t *req)
{
    const struct timeval *b = &req->timestamps.request_begin_at;
    struct timeval now;
    int64_t us;

    if (b->tv_sec == 0)
        return 0;
    gettimeofday(&now, NULL);
    us = (int64_t)(now.tv_sec - b->tv_sec) * 1000000 + (now.tv_usec - b->tv_usec);
    return us > 0 ? (uint64_t)us : 0;
}

void gw_respond(h2o_req_t *req, size_t slot, int status, const char *content_type,
                const void *body, size_t len)
{
    req->res.status = status;
    req->res.reason = status_find(status)->reason;
    req->res.content_length = len;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, content_type,
                   strlen(content_type));
    /* HTTP/1.1 keep-alive: tell the client how long the connection may stay idle. */
    if (req->version < 0x200 && req->http1_is_persistent) {
        const h2o_iovec_t *ka = &gw_thread_of(req)->gw->keep_alive;
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_KEEP_ALIVE, NULL, ka->base,
                       ka->len);
    }
    gw_metrics_record(gw_thread_of(req)->metrics, slot, status, request_micros(req));
    h2o_send_inline(req, len > 0 ? body : "", len);
}

void gw_respond_error(h2o_req_t *req, size_t slot, int status, const char *text)
{
    static const char oom[] = "{\"error\": \"out of memory\"}";
    bool proto = gw_wants_protobuf(req);
    gw_buf b = GW_BUF_INIT;
    int rv;

    if (text == NULL || *text == '\0')
        text = status_find(status)->text;
    rv = proto ? gw_render_error_proto(text, &b) : gw_render_error_json(text, &b);
    if (rv != 0)
        gw_respond(req, slot, 503, CT_JSON, oom, sizeof(oom) - 1);
    else
        gw_respond(req, slot, status, proto ? CT_PROTOBUF : CT_JSON, b.data, b.len);
    gw_buf_free(&b);
}

void gw_respond_busy(h2o_req_t *req, size_t slot, const char *why)
{
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL, H2O_STRLIT("1"));
    gw_respond_error(req, slot, 503, why);
}

/* Answers 200 with a successful reply's payload: passed through to protobuf clients,
 * unpacked and rendered as JSON for the others. */
static void respond_payload(h2o_req_t *req, const gw_route *route, ProtobufCBinaryData payload)
{
    size_t slot = gw_route_index(route);
    ProtobufCMessage *msg;
    gw_buf b = GW_BUF_INIT;
    int rv;

    if (gw_wants_protobuf(req)) {
        gw_respond(req, slot, 200, CT_PROTOBUF, payload.data, payload.len);
        return;
    }
    if ((msg = protobuf_c_message_unpack(route->reply, NULL, payload.len, payload.data)) ==
        NULL) {
        log_error("%s: reply is not a %s", route->name, route->reply->name);
        gw_respond_error(req, slot, 503, "bad reply from service");
        return;
    }
    if ((rv = gw_render_json(msg, &b)) != 0) {
        log_error("%s: cannot render %s: %s", route->name, route->reply->name, strerror(-rv));
        gw_respond_error(req, slot, 500, NULL);
    } else {
        gw_respond(req, slot, 200, CT_JSON, b.data, b.len);
    }
    gw_buf_free(&b);
    protobuf_c_message_free_unpacked(msg, NULL);
}

void gw_respond_rpc(h2o_req_t *req, const gw_route *route, int rv, const Wdm__RpcReply *reply)
{
    size_t slot = gw_route_index(route);

    if (rv != 0) {
        log_debug("%s: no reply: %s", route->name, strerror(-rv));
        gw_respond_error(req, slot, 503, "service unavailable");
        return;
    }
    if (reply->status == WDM__STATUS__OK)
        respond_payload(req, route, reply->payload);
    else
        gw_respond_error(req, slot, gw_http_status(reply->status), reply->error);
}
