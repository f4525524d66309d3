/* metrics_http: a tiny HTTP/1.1 listener that serves GET /metrics (Prometheus text) for
 * the services, on WDM_METRICS_ADDR (service.c starts it).
 *
 * One thread polls the listening socket and up to METRICS_HTTP_CONNS connections. A
 * request (request line and headers, at most METRICS_HTTP_REQUEST_MAX bytes; a body is
 * never read) is answered once complete, and the connection is then closed
 * (Connection: close):
 *   GET or HEAD /metrics (a query is ignored)   200, text/plain; version=0.0.4
 *   another path                                404
 *   another method                              405 (Allow: GET, HEAD)
 *   not HTTP/1.x, control bytes, bad headers    400 (as soon as it shows)
 *   more than METRICS_HTTP_REQUEST_MAX bytes    431
 *   not complete within read_timeout_ms         408 (or just closed when nothing came)
 * When every connection slot is taken, a new connection evicts the oldest one, so slow
 * or idle clients cannot lock the scraper out. Nothing a client sends can crash the
 * thread or leak: every connection ends by its deadline. */
#ifndef WDM_METRICS_HTTP_H
#define WDM_METRICS_HTTP_H

#include <stdint.h>
#include <stdio.h>

#define METRICS_HTTP_CONNS 16
#define METRICS_HTTP_REQUEST_MAX 8192

/* Writes the body of GET /metrics to out. Returns 0 or a negative error (answered 500).
 * Runs on the listener's thread. */
typedef int (*metrics_http_render_fn)(void *arg, FILE *out);

typedef struct metrics_http_config {
    const char *addr;              /* "host:port", "[v6]:port" or ":port" (every address);
                                      port 0 picks a free one (metrics_http_port) */
    metrics_http_render_fn render; /* NULL: metrics_process_render */
    void *arg;
    int read_timeout_ms;           /* a request must be complete by then; 0: 5000 */
} metrics_http_config;

typedef struct metrics_http metrics_http;

/* Listens on cfg->addr and starts the thread. cfg is copied (addr need not outlive the
 * call). Returns 0, -EINVAL for a malformed address, or a negative errno (e.g.
 * -EADDRINUSE); nothing is left running on failure. */
int metrics_http_start(metrics_http **out, const metrics_http_config *cfg);

/* The port the listener is bound to. */
uint16_t metrics_http_port(const metrics_http *h);

/* Stops the thread, closes every connection and the listener, frees h. */
void metrics_http_stop(metrics_http *h);

#endif
