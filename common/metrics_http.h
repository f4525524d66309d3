/* metrics_http: serves GET /metrics (Prometheus text) for the services on
 * WDM_METRICS_ADDR (service.c starts it), with libmicrohttpd (MHD).
 *
 * One thread (MHD's, on epoll) serves up to METRICS_HTTP_CONNS connections at once; its
 * sockets never block, so a slow or idle client holds a slot, not the thread. Every
 * answer closes its connection (Connection: close); a request body is never read:
 *   GET or HEAD /metrics (a query is ignored)   200, text/plain; version=0.0.4
 *   another path                                404
 *   another method                              405 (Allow: GET, HEAD)
 *   rendering failed                            500
 * The path is as MHD hands it over: %xx decoded, and a target in absolute form
 * (http://host/metrics) left as it is, hence a 404.
 *
 * MHD answers what it cannot take: 400 for a request line or header line it cannot
 * parse, 505 for an HTTP version other than 1.0 and 1.1, 431 (headers) or 414 (request
 * line) when they outgrow METRICS_HTTP_CONN_MEMORY; bytes it cannot read as a request
 * line (a TLS hello, a line without a space) close the connection without an answer. It
 * is more lenient than RFC 9112 about the rest (a header line without a name, a NUL or a
 * lone CR in a value, a control byte in the path); nothing here reads headers.
 *
 * A connection that sends nothing for idle_timeout_s seconds is closed without an
 * answer; the clock restarts with every byte received. Past METRICS_HTTP_CONNS, new
 * connections wait in the listen backlog until a slot frees. */
#ifndef WDM_METRICS_HTTP_H
#define WDM_METRICS_HTTP_H

#include <stdint.h>
#include <stdio.h>

#define METRICS_HTTP_CONNS 64          /* connections served at once */
#define METRICS_HTTP_CONN_MEMORY 16384 /* bytes per connection: bounds a request's head */

/* Writes the body of GET /metrics to out. Returns 0 or a negative error (answered 500).
 * Runs on the listener's thread. */
typedef int (*metrics_http_render_fn)(void *arg, FILE *out);

typedef struct metrics_http_config {
    const char *addr;              /* "host:port", "[v6]:port" or ":port" (every address);
                                      port 0 picks a free one (metrics_http_port) */
    metrics_http_render_fn render; /* NULL: metrics_process_render */
    void *arg;
    unsigned int idle_timeout_s;   /* a connection silent this long is closed; 0: 5 */
} metrics_http_config;

typedef struct metrics_http metrics_http;

/* Listens on cfg->addr and starts MHD's thread. cfg is copied (addr need not outlive the
 * call). Returns 0, -EINVAL for a malformed address, a negative errno from binding (e.g.
 * -EADDRINUSE), or -EIO when MHD will not start (it does not say why). Nothing is left
 * running on failure; after -EIO the listening socket may be left open (metrics_http.c). */
int metrics_http_start(metrics_http **out, const metrics_http_config *cfg);

/* The port the listener is bound to. */
uint16_t metrics_http_port(const metrics_http *h);

/* Stops the thread, closes every connection and the listener, frees h. */
void metrics_http_stop(metrics_http *h);

#endif
