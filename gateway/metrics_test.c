/* metrics_test: counting and the Prometheus text (metrics.c). */
#include "metrics.h"

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

int main(void)
{
    gw_metrics *m = aligned_alloc(_Alignof(gw_metrics), 2 * sizeof(gw_metrics));
    gw_buf b = GW_BUF_INIT;

    CHECK(m != NULL);
    if (m == NULL)
        return check_status("metrics_test");
    memset(m, 0, 2 * sizeof(*m));
    CHECK((uintptr_t)&m[1] % 64 == 0);

    /* Nothing counted: only the gauge. */
    CHECK(gw_metrics_render(m, 2, 0, &b) == 0);
    CHECK(strstr(b.data, "wdm_gateway_requests_total{") == NULL);
    CHECK(strstr(b.data, "\nwdm_gateway_inflight_rpcs 0\n") != NULL);
    gw_buf_free(&b);

    gw_metrics_record(&m[0], route("stock.find"), 200, 1000);
    gw_metrics_record(&m[1], route("stock.find"), 200, 500);
    gw_metrics_record(&m[1], route("stock.find"), 200, 1000000);
    gw_metrics_record(&m[0], route("stock.find"), 404, 10);
    gw_metrics_record(&m[0], route("order.checkout"), 409, 2);
    gw_metrics_record(&m[1], route("health"), 503, 3);
    gw_metrics_record(&m[1], GW_ROUTE_NONE, 404, 4);
    gw_metrics_record(&m[0], route("payment.pay"), 418, 5);
    gw_metrics_record(&m[0], GW_ROUTE_SLOTS + 7, 400, 6); /* out of range: "none" */

    CHECK(gw_metrics_render(m, 2, 3, &b) == 0);
    CHECK(strstr(b.data, "# TYPE wdm_gateway_requests_total counter\n") != NULL);
    CHECK(strstr(b.data, "\nwdm_gateway_requests_total{route=\"stock.find\",status=\"200\"} 3\n"));
    CHECK(strstr(b.data, "\nwdm_gateway_requests_total{route=\"stock.find\",status=\"404\"} 1\n"));
    CHECK(strstr(b.data, "\nwdm_gateway_requests_total{route=\"order.checkout\",status=\"409\"} 1\n"));
    CHECK(strstr(b.data, "\nwdm_gateway_requests_total{route=\"health\",status=\"503\"} 1\n"));
    CHECK(strstr(b.data, "\nwdm_gateway_requests_total{route=\"none\",status=\"404\"} 1\n"));
    CHECK(strstr(b.data, "\nwdm_gateway_requests_total{route=\"none\",status=\"400\"} 1\n"));
    CHECK(strstr(b.data, "\nwdm_gateway_requests_total{route=\"payment.pay\",status=\"other\"} 1\n"));
    CHECK(strstr(b.data, "status=\"500\"") == NULL);
    CHECK(strstr(b.data, "\nwdm_gateway_request_seconds_sum{route=\"stock.find\"} 1.001510\n"));
    CHECK(strstr(b.data, "\nwdm_gateway_request_seconds_count{route=\"stock.find\"} 4\n"));
    CHECK(strstr(b.data, "\nwdm_gateway_request_seconds_count{route=\"none\"} 2\n"));
    CHECK(strstr(b.data, "route=\"stock.add\"") == NULL);
    CHECK(strstr(b.data, "\nwdm_gateway_inflight_rpcs 3\n") != NULL);
    CHECK(b.data[b.len - 1] == '\n');
    /* Only the first thread's counters. */
    gw_buf_free(&b);
    CHECK(gw_metrics_render(m, 1, 0, &b) == 0);
    CHECK(strstr(b.data, "\nwdm_gateway_requests_total{route=\"stock.find\",status=\"200\"} 1\n"));
    gw_buf_free(&b);

    free(m);
    return check_status("metrics_test");
}
