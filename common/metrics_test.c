/* metrics_test: the registry, recording, and the exact Prometheus text (metrics.c). */
#include "metrics.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "wdm_metrics.h"

static metrics_registry reg = METRICS_REGISTRY_INIT;

static metrics_family requests = {
    .type = METRICS_COUNTER,
    .name = "test_requests_total",
    .help = "Requests, by method and status.",
    .labels = {"method", "status"},
    .registry = &reg,
};
static metrics_family inflight = {
    .type = METRICS_GAUGE,
    .name = "test_inflight",
    .help = "Calls in flight.",
    .registry = &reg,
};
static metrics_family latency = {
    .type = METRICS_HISTOGRAM,
    .name = "test_latency_seconds",
    .help = "Latency.",
    .labels = {"method"},
    .registry = &reg,
};
static metrics_family escapes = {
    .type = METRICS_COUNTER,
    .name = "test_escapes_total",
    .help = "Help with a \\ backslash\nand a newline; \"quotes\" stay.",
    .labels = {"value"},
    .registry = &reg,
};
static metrics_family same_name = {
    .type = METRICS_GAUGE,
    .name = "test_inflight",
    .help = "Another family of the same name.",
    .registry = &reg,
};

static int render_registry(void *arg, FILE *out)
{
    return metrics_render(arg, out);
}

/* The registry's text, the caller's to free. */
static char *render(void)
{
    return check_text(render_registry, &reg);
}

static metrics_series *get2(metrics_family *f, const char *a, const char *b)
{
    const char *v[] = {a, b};
    return metrics_series_get(f, v, 2);
}

static metrics_series *get1(metrics_family *f, const char *a)
{
    return metrics_series_get(f, &a, 1);
}

/* Everything rendered exactly, for a few recorded values. */
static void test_render(void)
{
    metrics_series *ok = get2(&requests, "find", "OK");
    metrics_series *nf = get2(&requests, "find", "NOT_FOUND");
    metrics_series *g = metrics_series_get(&inflight, NULL, 0);
    metrics_series *h = get1(&latency, "find");
    char *text;

    CHECK(ok != NULL && nf != NULL && g != NULL && h != NULL);
    CHECK(get2(&requests, "find", "OK") == ok); /* found, not created again */
    metrics_counter_inc(ok);
    metrics_counter_add(ok, 41);
    metrics_counter_inc(nf);
    metrics_gauge_set(g, 5);
    metrics_gauge_add(g, -7);
    metrics_observe_ns(h, 250000);     /* on the first bound: in it (le is inclusive) */
    metrics_observe_ns(h, 250001);     /* just above: the next bucket */
    metrics_observe_ns(h, 1500000000); /* 1.5 s */
    metrics_observe_ns(h, 20000000000ull); /* above every bound: +Inf only */

    text = render();
    CHECK_STR(text,
              "# HELP test_inflight Calls in flight.\n"
              "# TYPE test_inflight gauge\n"
              "test_inflight -2\n"
              "# HELP test_latency_seconds Latency.\n"
              "# TYPE test_latency_seconds histogram\n"
              "test_latency_seconds_bucket{method=\"find\",le=\"0.00025\"} 1\n"
              "test_latency_seconds_bucket{method=\"find\",le=\"0.0005\"} 2\n"
              "test_latency_seconds_bucket{method=\"find\",le=\"0.001\"} 2\n"
              "test_latency_seconds_bucket{method=\"find\",le=\"0.0025\"} 2\n"
              "test_latency_seconds_bucket{method=\"find\",le=\"0.005\"} 2\n"
              "test_latency_seconds_bucket{method=\"find\",le=\"0.01\"} 2\n"
              "test_latency_seconds_bucket{method=\"find\",le=\"0.025\"} 2\n"
              "test_latency_seconds_bucket{method=\"find\",le=\"0.05\"} 2\n"
              "test_latency_seconds_bucket{method=\"find\",le=\"0.1\"} 2\n"
              "test_latency_seconds_bucket{method=\"find\",le=\"0.25\"} 2\n"
              "test_latency_seconds_bucket{method=\"find\",le=\"0.5\"} 2\n"
              "test_latency_seconds_bucket{method=\"find\",le=\"1\"} 2\n"
              "test_latency_seconds_bucket{method=\"find\",le=\"2.5\"} 3\n"
              "test_latency_seconds_bucket{method=\"find\",le=\"5\"} 3\n"
              "test_latency_seconds_bucket{method=\"find\",le=\"10\"} 3\n"
              "test_latency_seconds_bucket{method=\"find\",le=\"+Inf\"} 4\n"
              "test_latency_seconds_sum{method=\"find\"} 21.500500001\n"
              "test_latency_seconds_count{method=\"find\"} 4\n"
              "# HELP test_requests_total Requests, by method and status.\n"
              "# TYPE test_requests_total counter\n"
              "test_requests_total{method=\"find\",status=\"OK\"} 42\n"
              "test_requests_total{method=\"find\",status=\"NOT_FOUND\"} 1\n");
    free(text);
    CHECK(metrics_counter_value(ok) == 42);
    CHECK(metrics_gauge_value(g) == -2);
    CHECK(metrics_counter_value(g) == 0); /* the wrong type reads 0 */
}

/* Every bound: a value on it counts in its bucket, one nanosecond more in the next. */
static void test_bounds(void)
{
    metrics_hist h = {0};
    metrics_hist_snap s = {0};

    for (size_t i = 0; i < METRICS_BUCKETS; i++) {
        CHECK(i == 0 || metrics_bounds_ns[i] > metrics_bounds_ns[i - 1]);
        metrics_hist_observe(&h, metrics_bounds_ns[i]);
        metrics_hist_observe(&h, metrics_bounds_ns[i] + 1);
    }
    metrics_hist_observe(&h, 0);
    metrics_hist_collect(&s, &h);
    CHECK(s.buckets[0] == 2); /* 0 and the first bound */
    for (size_t i = 1; i < METRICS_BUCKETS; i++)
        CHECK(s.buckets[i] == 2); /* one above the bound before, and its own bound */
    CHECK(s.buckets[METRICS_BUCKETS] == 1); /* above the largest bound */
    CHECK(metrics_hist_count(&s) == 2 * METRICS_BUCKETS + 1);
    metrics_hist_collect(&s, &h); /* collecting adds */
    CHECK(metrics_hist_count(&s) == 2 * (2 * METRICS_BUCKETS + 1));
}

static void test_escaping(void)
{
    metrics_series *s = get1(&escapes, "a \"quoted\" back\\slash\nnewline");
    char *text;

    metrics_counter_inc(s);
    text = render();
    CHECK(strstr(text, "# HELP test_escapes_total Help with a \\\\ backslash\\nand a newline; "
                       "\"quotes\" stay.\n") != NULL);
    CHECK(strstr(text, "\ntest_escapes_total{value=\"a \\\"quoted\\\" back\\\\slash\\nnewline\"} "
                       "1\n") != NULL);
    free(text);
}

static void test_limits(void)
{
    const char *none = NULL;
    char name[16];
    size_t created = 0;

    CHECK(get1(&requests, "find") == NULL);                 /* one value for two labels */
    CHECK(get2(&requests, "find", NULL) == NULL);           /* a NULL value */
    CHECK(metrics_series_get(&inflight, &none, 1) == NULL); /* a value for no label */
    CHECK(metrics_series_get(&same_name, NULL, 0) == NULL); /* a second test_inflight */
    /* Recording into nothing, or into the wrong type, does nothing. */
    metrics_counter_inc(NULL);
    metrics_gauge_set(NULL, 1);
    metrics_observe_ns(NULL, 1);
    metrics_observe_ns(metrics_series_get(&inflight, NULL, 0), 1);
    metrics_counter_inc(metrics_series_get(&inflight, NULL, 0));
    CHECK(metrics_gauge_value(metrics_series_get(&inflight, NULL, 0)) == -2);
    /* At most METRICS_MAX_SERIES series: then NULL, and the others still work. */
    for (int i = 0; i < METRICS_MAX_SERIES + 5; i++) {
        snprintf(name, sizeof(name), "v%d", i);
        if (get1(&escapes, name) != NULL)
            created++;
    }
    CHECK(created == METRICS_MAX_SERIES - 1); /* one was there already */
    CHECK(get1(&escapes, "v0") != NULL);
}

/* ---- concurrency ---- */

#define THREADS 4
#define ROUNDS 200000

static void *hammer(void *arg)
{
    char method[8];

    (void)arg;
    for (int i = 0; i < ROUNDS; i++) {
        /* Series looked up (and created, racing) while the others count into them. */
        snprintf(method, sizeof(method), "m%d", i % 8);
        metrics_counter_inc(get2(&requests, method, "OK"));
        metrics_observe_ns(get1(&latency, method), 1000000);
        metrics_gauge_add(metrics_series_get(&inflight, NULL, 0), i % 2 ? -1 : 1);
    }
    return NULL;
}

static void test_concurrency(void)
{
    pthread_t t[THREADS];
    uint64_t total = 0;
    char *text;

    metrics_registry_clear(&reg);
    CHECK(requests.n_series == 0 && !requests.registered);
    for (int i = 0; i < THREADS; i++)
        CHECK(pthread_create(&t[i], NULL, hammer, NULL) == 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    CHECK(requests.n_series == 8); /* every method once, however the creations raced */
    for (size_t i = 0; i < requests.n_series; i++) {
        CHECK(metrics_counter_value(requests.series[i]) == THREADS * ROUNDS / 8);
        total += metrics_counter_value(requests.series[i]);
    }
    CHECK(total == (uint64_t)THREADS * ROUNDS);
    CHECK(metrics_gauge_value(metrics_series_get(&inflight, NULL, 0)) == 0);
    text = render();
    CHECK(strstr(text, "\ntest_latency_seconds_count{method=\"m0\"} 100000\n") != NULL);
    CHECK(strstr(text, "\ntest_latency_seconds_bucket{method=\"m7\",le=\"0.001\"} 100000\n"));
    CHECK(strstr(text, "\ntest_latency_seconds_bucket{method=\"m7\",le=\"0.0005\"} 0\n"));
    CHECK(strstr(text, "\ntest_latency_seconds_sum{method=\"m3\"} 100\n") != NULL);
    free(text);
}

/* The store, bus and saga metrics (wdm_metrics.c), in the process registry. */
static void test_wdm_metrics(void)
{
    metrics_registry *def = metrics_default();
    char *text;

    wdm_metrics_init();
    text = check_text(render_registry, def);
    CHECK(strstr(text, "\nwdm_saga_outcomes_total{outcome=\"aborted\",reason=\"deadline\"} 0\n"));
    CHECK(strstr(text, "\nwdm_store_retries_total 0\n") != NULL);
    CHECK(strstr(text, "\nwdm_bus_confirm_seconds_count 0\n") != NULL);
    free(text);

    wdm_metrics_redis_error(wdm_metrics_redis_error_kind("READONLY You can't write"));
    wdm_metrics_redis_error(wdm_metrics_redis_error_kind("LOADING Redis is loading"));
    wdm_metrics_redis_error(wdm_metrics_redis_error_kind("ERR something"));
    wdm_metrics_redis_error(wdm_metrics_redis_error_kind(NULL));
    wdm_metrics_redis_error((wdm_redis_error)99); /* out of range: the last kind */
    wdm_metrics_store_retry();
    wdm_metrics_store_retry();
    wdm_metrics_bus_publish(10, 2000000, 0);
    wdm_metrics_bus_publish(3, 5, -5);
    wdm_metrics_bus_delivered(7, 2);
    wdm_metrics_bus_reconnect(WDM_BUS_CONSUMER);
    wdm_metrics_saga_started();
    wdm_metrics_saga_end(WDM_SAGA_COMMITTED);
    wdm_metrics_saga_end(WDM_SAGA_ABORTED_NO_STOCK);
    wdm_metrics_saga_step(WDM_SAGA_STEP_RESERVE, 3000000);
    wdm_metrics_saga_resent(WDM_SAGA_STEP_REFUND);
    text = check_text(render_registry, def);
    CHECK(strstr(text, "\nwdm_store_redis_errors_total{kind=\"readonly\"} 1\n"));
    CHECK(strstr(text, "\nwdm_store_redis_errors_total{kind=\"loading\"} 1\n"));
    CHECK(strstr(text, "\nwdm_store_redis_errors_total{kind=\"connection\"} 1\n"));
    CHECK(strstr(text, "\nwdm_store_redis_errors_total{kind=\"other\"} 2\n"));
    CHECK(strstr(text, "\nwdm_store_retries_total 2\n") != NULL);
    CHECK(strstr(text, "\nwdm_bus_published_total{result=\"confirmed\"} 10\n"));
    CHECK(strstr(text, "\nwdm_bus_published_total{result=\"failed\"} 3\n"));
    CHECK(strstr(text, "\nwdm_bus_confirm_seconds_bucket{le=\"0.0025\"} 1\n"));
    CHECK(strstr(text, "\nwdm_bus_confirm_seconds_count 1\n") != NULL);
    CHECK(strstr(text, "\nwdm_bus_delivered_total{redelivered=\"false\"} 5\n"));
    CHECK(strstr(text, "\nwdm_bus_delivered_total{redelivered=\"true\"} 2\n"));
    CHECK(strstr(text, "\nwdm_bus_reconnects_total{role=\"consumer\"} 1\n"));
    CHECK(strstr(text, "\nwdm_saga_started_total 1\n") != NULL);
    CHECK(strstr(text, "\nwdm_saga_outcomes_total{outcome=\"committed\",reason=\"none\"} 1\n"));
    CHECK(strstr(text, "\nwdm_saga_outcomes_total{outcome=\"aborted\",reason=\"no_stock\"} 1\n"));
    CHECK(strstr(text, "\nwdm_saga_step_seconds_sum{step=\"reserve\"} 0.003\n"));
    CHECK(strstr(text, "\nwdm_saga_commands_resent_total{command=\"refund\"} 1\n"));
    free(text);
    metrics_registry_clear(def);
}

int main(void)
{
    test_render();
    test_bounds();
    test_escaping();
    test_limits();
    test_concurrency();
    test_wdm_metrics();
    metrics_registry_clear(&reg);
    return check_status("metrics_test");
}
