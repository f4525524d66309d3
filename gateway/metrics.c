/* metrics: counters and their Prometheus text (see metrics.h). */
#include "metrics.h"

#include <inttypes.h>

static const int metric_statuses[GW_STATUS_SLOTS - 1] = {200, 400, 404, 405, 409,
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
    atomic_fetch_add_explicit(&m->micros[route], micros, memory_order_relaxed);
}

int gw_metrics_render(const gw_metrics *m, size_t n, int64_t inflight, gw_buf *out)
{
    uint64_t count[GW_ROUTE_SLOTS] = {0}, micros[GW_ROUTE_SLOTS] = {0};

    gw_buf_puts(out, "# HELP wdm_gateway_requests_total HTTP answers by route and status.\n"
                     "# TYPE wdm_gateway_requests_total counter\n");
    for (size_t r = 0; r < GW_ROUTE_SLOTS; r++) {
        for (size_t s = 0; s < GW_STATUS_SLOTS; s++) {
            uint64_t v = 0;
            for (size_t t = 0; t < n; t++)
                v += atomic_load_explicit(&m[t].answers[r][s], memory_order_relaxed);
            count[r] += v;
            if (v == 0)
                continue;
            if (s < GW_STATUS_SLOTS - 1)
                gw_buf_printf(out, "wdm_gateway_requests_total{route=\"%s\",status=\"%d\"} %" PRIu64 "\n",
                              route_label(r), metric_statuses[s], v);
            else
                gw_buf_printf(out, "wdm_gateway_requests_total{route=\"%s\",status=\"other\"} %" PRIu64 "\n",
                              route_label(r), v);
        }
        for (size_t t = 0; t < n; t++)
            micros[r] += atomic_load_explicit(&m[t].micros[r], memory_order_relaxed);
    }

    gw_buf_puts(out, "# HELP wdm_gateway_request_seconds Time from request to answer, by route.\n"
                     "# TYPE wdm_gateway_request_seconds summary\n");
    for (size_t r = 0; r < GW_ROUTE_SLOTS; r++) {
        if (count[r] == 0)
            continue;
        gw_buf_printf(out, "wdm_gateway_request_seconds_sum{route=\"%s\"} %" PRIu64 ".%06" PRIu64 "\n",
                      route_label(r), micros[r] / 1000000, micros[r] % 1000000);
        gw_buf_printf(out, "wdm_gateway_request_seconds_count{route=\"%s\"} %" PRIu64 "\n",
                      route_label(r), count[r]);
    }

    gw_buf_printf(out, "# HELP wdm_gateway_inflight_rpcs Requests waiting for a service.\n"
                       "# TYPE wdm_gateway_inflight_rpcs gauge\n"
                       "wdm_gateway_inflight_rpcs %" PRId64 "\n",
                  inflight);
    return gw_buf_error(out);
}
