/* gw_metrics_test: counting and the Prometheus text (gw_metrics.c). */
#include "gw_metrics.h"

#include <stdlib.h>
#include <string.h>

#include "check.h"

/* The index of the route named `name` in gw_routes. */
static size_t route(const char *name)
{
    for (size_t i = 0; i < GW_N_ROUTES; i++)
        if (strcmp(gw_routes[i].name, name) == 0)
            return i;
    CHECK(!"no such route");
    return GW_ROUTE_NONE;
}

typedef struct rendering {
    const gw_metrics *m;
    size_t n;
    int64_t inflight;
} rendering;

static int render_fn(void *arg, FILE *out)
{
    const rendering *r = arg;
    return gw_metrics_render(r->m, r->n, r->inflight, 42, out);
}

/* The text of m[0..n) (the caller's to free). */
static char *render(const gw_metrics *m, size_t n, int64_t inflight)
{
    rendering r = {m, n, inflight};
    char *text = check_text(render_fn, &r);

    CHECK(text[0] != '\0' && text[strlen(text) - 1] == '\n');
    return text;
}

int main(void)
{
    gw_metrics *m = aligned_alloc(_Alignof(gw_metrics), 2 * sizeof(gw_metrics));
    char *t;

    CHECK(m != NULL);
    if (m == NULL)
        return check_status("gw_metrics_test");
    memset(m, 0, 2 * sizeof(*m));
    CHECK((uintptr_t)&m[1] % 64 == 0);

    /* Nothing counted: only the headers, the counter of pauses and the gauge. */
    t = render(m, 2, 0);
    CHECK_STR(t, "# HELP wdm_gateway_requests_total HTTP answers by route and status.\n"
                 "# TYPE wdm_gateway_requests_total counter\n"
                 "# HELP wdm_gateway_request_seconds Time from request to answer, by route.\n"
                 "# TYPE wdm_gateway_request_seconds histogram\n"
                 "# HELP wdm_gateway_accept_pauses_total Times accepting paused because the "
                 "process ran out of descriptors or memory.\n"
                 "# TYPE wdm_gateway_accept_pauses_total counter\n"
                 "wdm_gateway_accept_pauses_total 0\n"
                 "# HELP wdm_gateway_connections Open connections.\n"
                 "# TYPE wdm_gateway_connections gauge\n"
                 "wdm_gateway_connections 0\n"
                 "# HELP wdm_gateway_inflight_rpcs Requests waiting for a service.\n"
                 "# TYPE wdm_gateway_inflight_rpcs gauge\n"
                 "wdm_gateway_inflight_rpcs 0\n"
                 "# HELP wdm_gateway_info The gateway process that answered (gateways may "
                 "share a port).\n"
                 "# TYPE wdm_gateway_info gauge\n"
                 "wdm_gateway_info{pid=\"42\"} 1\n");
    free(t);

    gw_metrics_record(&m[0], route("stock.find"), 200, 1000);
    gw_metrics_record(&m[1], route("stock.find"), 200, 500);
    gw_metrics_record(&m[1], route("stock.find"), 200, 1000000);
    gw_metrics_record(&m[0], route("stock.find"), 404, 10);
    gw_metrics_record(&m[0], route("order.checkout"), 409, 2);
    gw_metrics_record(&m[1], route("health"), 503, 3);
    gw_metrics_record(&m[1], GW_ROUTE_NONE, 404, 4);
    gw_metrics_record(&m[0], route("payment.pay"), 418, 5);
    gw_metrics_record(&m[0], GW_ROUTE_SLOTS + 7, 400, 6); /* out of range: "none" */
    gw_metrics_record(&m[1], route("stock.batch_init"), 401, 7);
    atomic_fetch_add(&m[0].connections, 5);
    atomic_fetch_add(&m[1].connections, 2);

    atomic_fetch_add(&m[0].accept_pauses, 2);
    atomic_fetch_add(&m[1].accept_pauses, 1);
    t = render(m, 2, 3);
    CHECK(strstr(t, "\nwdm_gateway_accept_pauses_total 3\n"));
    CHECK(strstr(t, "\nwdm_gateway_requests_total{route=\"stock.find\",status=\"200\"} 3\n"));
    CHECK(strstr(t, "\nwdm_gateway_requests_total{route=\"stock.find\",status=\"404\"} 1\n"));
    CHECK(strstr(t, "\nwdm_gateway_requests_total{route=\"order.checkout\",status=\"409\"} 1\n"));
    CHECK(strstr(t, "\nwdm_gateway_requests_total{route=\"health\",status=\"503\"} 1\n"));
    CHECK(strstr(t, "\nwdm_gateway_requests_total{route=\"none\",status=\"404\"} 1\n"));
    CHECK(strstr(t, "\nwdm_gateway_requests_total{route=\"none\",status=\"400\"} 1\n"));
    CHECK(strstr(t, "\nwdm_gateway_requests_total{route=\"payment.pay\",status=\"other\"} 1\n"));
    CHECK(strstr(t, "\nwdm_gateway_requests_total{route=\"stock.batch_init\",status=\"401\"} 1\n"));
    CHECK(strstr(t, "status=\"500\"") == NULL);
    CHECK(strstr(t, "\nwdm_gateway_connections 7\n"));
    /* stock.find, over both threads: 10 us, 500 us, 1 ms and 1 s. */
    CHECK(strstr(t, "\nwdm_gateway_request_seconds_bucket{route=\"stock.find\",le=\"0.00025\"} 1\n"
                    "wdm_gateway_request_seconds_bucket{route=\"stock.find\",le=\"0.0005\"} 2\n"
                    "wdm_gateway_request_seconds_bucket{route=\"stock.find\",le=\"0.001\"} 3\n"));
    CHECK(strstr(t, "\nwdm_gateway_request_seconds_bucket{route=\"stock.find\",le=\"0.5\"} 3\n"
                    "wdm_gateway_request_seconds_bucket{route=\"stock.find\",le=\"1\"} 4\n"));
    CHECK(strstr(t, "\nwdm_gateway_request_seconds_bucket{route=\"stock.find\",le=\"+Inf\"} 4\n"
                    "wdm_gateway_request_seconds_sum{route=\"stock.find\"} 1.00151\n"
                    "wdm_gateway_request_seconds_count{route=\"stock.find\"} 4\n"));
    CHECK(strstr(t, "\nwdm_gateway_request_seconds_count{route=\"none\"} 2\n"));
    CHECK(strstr(t, "route=\"stock.add\"") == NULL);
    CHECK(strstr(t, "\nwdm_gateway_inflight_rpcs 3\n") != NULL);
    free(t);
    /* Only the first thread's counters. */
    t = render(m, 1, 0);
    CHECK(strstr(t, "\nwdm_gateway_requests_total{route=\"stock.find\",status=\"200\"} 1\n"));
    CHECK(strstr(t, "\nwdm_gateway_request_seconds_count{route=\"stock.find\"} 2\n"));
    free(t);

    free(m);
    return check_status("gw_metrics_test");
}
