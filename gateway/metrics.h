/* metrics: the gateway's request counters, rendered as Prometheus text (GET /metrics).
 *
 * Every loop thread owns one gw_metrics and is its only writer (relaxed atomics, no
 * locks); a scrape sums every thread's counters. Counted: the gateway's answers by route
 * and HTTP status (not those h2o gives by itself: 413, malformed HTTP), and the total
 * time to answer, by route. Pure: no I/O, no h2o. */
#ifndef GW_METRICS_H
#define GW_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "route.h"
#include "strbuf.h"

/* Route slots: gw_routes' indexes, then one for requests that matched no route. */
#define GW_ROUTE_NONE GW_N_ROUTES
#define GW_ROUTE_SLOTS (GW_N_ROUTES + 1)
/* Status slots: the statuses the gateway answers (metrics.c), then "other". */
#define GW_STATUS_SLOTS 10

typedef struct gw_metrics {
    _Alignas(64) atomic_uint_fast64_t answers[GW_ROUTE_SLOTS][GW_STATUS_SLOTS];
    atomic_uint_fast64_t micros[GW_ROUTE_SLOTS];  /* Σ time from request to answer */
} gw_metrics;

/* Counts one answer with this status for route slot `route`, which took `micros`. */
void gw_metrics_record(gw_metrics *m, size_t route, int status, uint64_t micros);

/* Appends the Prometheus text of the sum of m[0..n) and of the gauge `inflight` (RPC
 * calls now pending). Returns 0 or -ENOMEM. */
int gw_metrics_render(const gw_metrics *m, size_t n, int64_t inflight, gw_buf *out);

#endif
