/* metrics_http: the /metrics listener of the services (see metrics_http.h), on
 * libmicrohttpd: MHD parses and times out the requests, this file binds the address
 * and answers them. */
#include "metrics_http.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "metrics_process.h"
#include "net_listen.h"

#define IDLE_TIMEOUT_S 5 /* default of cfg.idle_timeout_s */
#define LISTEN_BACKLOG 64

struct metrics_http {
    struct MHD_Daemon *daemon;
    metrics_http_render_fn render;
    void *arg;
    uint16_t port;
};

/* ---- answers ---- */

/* Queues an answer on conn: status, its text as body (text/plain), extra header
 * (name, value) unless name is NULL. Returns MHD's verdict: MHD_NO closes the
 * connection. */
static enum MHD_Result answer_text(struct MHD_Connection *conn, unsigned int status,
                                   const char *text, const char *name, const char *value)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
    enum MHD_Result rv;

    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    if (name != NULL)
        MHD_add_response_header(r, name, value);
    rv = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return rv;
}

/* Renders the metrics and queues them as a 200 (500 when rendering fails). MHD leaves
 * the body out for HEAD. */
static enum MHD_Result answer_metrics(metrics_http *h, struct MHD_Connection *conn)
{
    struct MHD_Response *r;
    enum MHD_Result rv;
    char *body = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&body, &len);
    int failed = f == NULL ? -ENOMEM : h->render(h->arg, f);

    if (f != NULL && fclose(f) != 0 && failed == 0)
        failed = -ENOMEM;
    if (failed != 0) {
        free(body);
        return answer_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "Internal Server Error\n", NULL,
                           NULL);
    }
    /* MUST_FREE: the response frees body with itself; when it cannot be made, body is
     * still ours. */
    if ((r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE)) == NULL) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                            "text/plain; version=0.0.4; charset=utf-8");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    rv = MHD_queue_response(conn, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return rv;
}

/* MHD's access handler: called once a request's line and headers are in (MHD has
 * answered malformed ones itself), with url the path without its query. Answers at
 * once, so a request body is never read. */
static enum MHD_Result metrics_http_request(void *cls, struct MHD_Connection *conn, const char *url,
                                            const char *method, const char *version,
                                            const char *upload_data, size_t *upload_data_size,
                                            void **req_cls)
{
    (void)version, (void)upload_data, (void)upload_data_size, (void)req_cls;
    if (strcmp(url, "/metrics") != 0)
        return answer_text(conn, MHD_HTTP_NOT_FOUND, "Not Found\n", NULL, NULL);
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return answer_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "Method Not Allowed\n",
                           MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    return answer_metrics(cls, conn);
}

/* MHD's messages (a client that reset its connection, ...) are not ours to act on:
 * debug level. */
static void metrics_http_log(void *cls, const char *fmt, va_list ap)
{
    char buf[256];
    size_t n;

    (void)cls;
    vsnprintf(buf, sizeof(buf), fmt, ap);
    n = strlen(buf);
    if (n > 0 && buf[n - 1] == '\n')
        buf[n - 1] = '\0';
    log_debug("metrics: %s", buf);
}

/* ---- start and stop ---- */

int metrics_http_start(metrics_http **out, const metrics_http_config *cfg)
{
    metrics_http *h;
    uint16_t port;
    int fd, rv;

    if ((h = calloc(1, sizeof(*h))) == NULL)
        return -ENOMEM;
    h->render = cfg->render != NULL ? cfg->render : metrics_process_render;
    h->arg = cfg->arg;
    /* We bind rather than MHD, so that a failure keeps its errno (MHD only logs it). */
    if ((rv = net_listen(cfg->addr, false, LISTEN_BACKLOG, &fd, &port)) != 0) {
        free(h);
        return rv;
    }
    /* From here MHD owns fd: MHD_stop_daemon closes it. When MHD_start_daemon fails,
     * MHD 0.9.75 has closed fd on every path but a few early ones (an allocation that
     * failed) and does not say which: we leave fd alone rather than risk closing a
     * descriptor that another thread has been given since. */
    h->daemon = MHD_start_daemon(
        MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
        metrics_http_request, h,
        MHD_OPTION_EXTERNAL_LOGGER, metrics_http_log, NULL,
        MHD_OPTION_LISTEN_SOCKET, fd,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)METRICS_HTTP_CONNS,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)METRICS_HTTP_CONN_MEMORY,
        MHD_OPTION_CONNECTION_TIMEOUT,
        cfg->idle_timeout_s > 0 ? cfg->idle_timeout_s : IDLE_TIMEOUT_S,
        MHD_OPTION_END);
    if (h->daemon == NULL) {
        free(h);
        return -EIO; /* MHD does not say why */
    }
    h->port = port;
    *out = h;
    return 0;
}

uint16_t metrics_http_port(const metrics_http *h)
{
    return h->port;
}

void metrics_http_stop(metrics_http *h)
{
    MHD_stop_daemon(h->daemon);
    free(h);
}
