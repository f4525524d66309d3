/* gw_metrics: the gateway's request counters and latency histograms, rendered as Prometheus
 * text (GET /metrics).
 *
 * Every loop thread owns one gw_metrics and is its only writer (relaxed atomics, no
 * locks); a scrape sums every thread's. Counted: the gateway's answers by route and HTTP
 * status (not those h2o gives by itself: 413, malformed HTTP), and the time from request
 * to answer by route, as a histogram (the common buckets of metrics.h):
 *   wdm_gateway_requests_total{route,status}   counter
 *   wdm_gateway_request_seconds{route}         histogram
 *   wdm_gateway_inflight_rpcs                  gauge
 *   wdm_gateway_connections                    gauge: open connections (both listeners)
 *   wdm_gateway_accept_pauses_total            counter
 *   wdm_gateway_info{pid}                      gauge, 1: which process answered (gateways
 *                                              may share a port: SO_REUSEPORT)
 * Pure: no I/O but the FILE written to, no h2o. */
#ifndef GW_METRICS_H
#define GW_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "metrics.h"
#include "route.h"

/* Route slots: gw_routes' indexes, then one for requests that matched no route. */
#define GW_ROUTE_NONE GW_N_ROUTES
#define GW_ROUTE_SLOTS (GW_N_ROUTES + 1)
/* Status slots: the statuses the gateway answers (metrics.c), then "other". */
#define GW_STATUS_SLOTS 11

typedef struct gw_metrics {
    _Alignas(64) atomic_uint_fast64_t answers[GW_ROUTE_SLOTS][GW_STATUS_SLOTS];
    metrics_hist latency[GW_ROUTE_SLOTS]; /* time from request to answer */
    atomic_uint_fast64_t accept_pauses;   /* accepting paused: out of descriptors */
    /* Connections accepted and not yet closed by h2o (linger.c counts them). */
    atomic_int_fast64_t connections;
} gw_metrics;

/* Counts one answer with this status for route slot `route`, which took `micros`. */
void gw_metrics_record(gw_metrics *m, size_t route, int status, uint64_t micros);

/* Appends the Prometheus text of the sum of m[0..n), of the gauge `inflight` (RPC calls
 * now pending) and of the process id `pid`. Routes with no answer yet are left out.
 * Returns 0 or -EIO. */
int gw_metrics_render(const gw_metrics *m, size_t n, int64_t inflight, long pid, FILE *out);

#endif
