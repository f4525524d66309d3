/* gw_metrics: counters, histograms and their Prometheus text (see gw_metrics.h). */
#include "gw_metrics.h"

#include <errno.h>
#include <inttypes.h>

static const int metric_statuses[GW_STATUS_SLOTS - 1] = {200, 400, 401, 404, 405, 409,
                                                         413, 500, 501, 503};

static size_t status_slot(int status)
{
    size_t i;

    for (i = 0; i < GW_STATUS_SLOTS - 1; i++)
        if (metric_statuses[i] == status)
            break;
    return i;
}

static const char *route_label(size_t route)
{
    return route < GW_N_ROUTES ? gw_routes[route].name : "none";
}

void gw_metrics_record(gw_metrics *m, size_t route, int status, uint64_t micros)
{
    if (route >= GW_ROUTE_SLOTS)
        route = GW_ROUTE_NONE;
    atomic_fetch_add_explicit(&m->answers[route][status_slot(status)], 1,
                              memory_order_relaxed);
    metrics_hist_observe(&m->latency[route], micros * 1000);
}

/* The answers of route r with status slot s, summed over m[0..n). */
static uint64_t answers_sum(const gw_metrics *m, size_t n, size_t r, size_t s)
{
    uint64_t v = 0;

    for (size_t t = 0; t < n; t++)
        v += atomic_load_explicit(&m[t].answers[r][s], memory_order_relaxed);
    return v;
}

int gw_metrics_render(const gw_metrics *m, size_t n, int64_t inflight, long pid, FILE *out)
{
    static const char *const names[] = {"route", "status"};

    metrics_write_header(out, "wdm_gateway_requests_total", "HTTP answers by route and status.",
                         METRICS_COUNTER);
    for (size_t r = 0; r < GW_ROUTE_SLOTS; r++) {
        for (size_t s = 0; s < GW_STATUS_SLOTS; s++) {
            uint64_t v = answers_sum(m, n, r, s);
            char status[16] = "other";
            const char *values[] = {route_label(r), status};
            if (v == 0)
                continue;
            if (s < GW_STATUS_SLOTS - 1)
                snprintf(status, sizeof(status), "%d", metric_statuses[s]);
            metrics_write_u64(out, "wdm_gateway_requests_total", names, values, 2, v);
        }
    }

    metrics_write_header(out, "wdm_gateway_request_seconds",
                         "Time from request to answer, by route.", METRICS_HISTOGRAM);
    for (size_t r = 0; r < GW_ROUTE_SLOTS; r++) {
        metrics_hist_snap snap = {0};
        const char *route = route_label(r);
        for (size_t t = 0; t < n; t++)
            metrics_hist_collect(&snap, &m[t].latency[r]);
        if (metrics_hist_count(&snap) > 0)
            metrics_hist_write(out, "wdm_gateway_request_seconds", names, &route, 1, &snap);
    }

    metrics_write_header(out, "wdm_gateway_accept_pauses_total",
                         "Times accepting paused because the process ran out of descriptors "
                         "or memory.",
                         METRICS_COUNTER);
    {
        uint64_t pauses = 0;
        for (size_t t = 0; t < n; t++)
            pauses += atomic_load(&m[t].accept_pauses);
        fprintf(out, "wdm_gateway_accept_pauses_total %" PRIu64 "\n", pauses);
    }
    metrics_write_header(out, "wdm_gateway_connections", "Open connections.", METRICS_GAUGE);
    {
        int64_t conns = 0;
        for (size_t t = 0; t < n; t++)
            conns += atomic_load_explicit(&m[t].connections, memory_order_relaxed);
        fprintf(out, "wdm_gateway_connections %" PRId64 "\n", conns);
    }
    metrics_write_header(out, "wdm_gateway_inflight_rpcs", "Requests waiting for a service.",
                         METRICS_GAUGE);
    fprintf(out, "wdm_gateway_inflight_rpcs %" PRId64 "\n", inflight);
    metrics_write_header(out, "wdm_gateway_info",
                         "The gateway process that answered (gateways may share a port).",
                         METRICS_GAUGE);
    fprintf(out, "wdm_gateway_info{pid=\"%ld\"} 1\n", pid);
    return ferror(out) ? -EIO : 0;
}
