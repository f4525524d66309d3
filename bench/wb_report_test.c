/* Unit test of wb_report's JSON: a report written to a file and read back has the
 * members bench/README.md lists, with the values of the run, strings escaped, and
 * decimals as they were rounded. */
#include "check.h"
#include "wb_report.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <unistd.h>

static const char *const kinds[] = {"checkout", "find"};

/* The report written to a temporary file, read back (the caller's reference), or NULL. */
static json_t *round_trip(const wb_report *r, char **text)
{
    char path[] = "/tmp/wb_report_test.XXXXXX";
    int fd = mkstemp(path);
    json_error_t err;
    json_t *root = NULL;
    FILE *f;
    long n;

    CHECK(fd >= 0);
    if (fd < 0)
        return NULL;
    close(fd);
    CHECK(wb_report_json(path, r) == 0);
    if ((f = fopen(path, "r")) != NULL) {
        fseek(f, 0, SEEK_END);
        n = ftell(f);
        rewind(f);
        *text = calloc(1, (size_t)n + 1);
        CHECK(*text != NULL && fread(*text, 1, (size_t)n, f) == (size_t)n);
        fclose(f);
        root = json_loads(*text, 0, &err);
        if (root == NULL)
            fprintf(stderr, "report: %s\n%s\n", err.text, *text);
    }
    unlink(path);
    CHECK(root != NULL);
    return root;
}

static void test_full(void)
{
    wb_stats *s = calloc(1, sizeof(*s));
    wb_checks *cs = calloc(1, sizeof(*cs));
    wb_report r = {.scenario = "consistency",
                   .url = "http://127.0.0.1:8000",
                   .connections = 64,
                   .rate = 0.1,
                   .duration_s = 10.0004,
                   .timeout_ms = 30000};
    const char *scenario, *mode, *error, *result, *name, *ev0, *ev1;
    json_int_t orders, total, p50, st200, st409, reset, n_find;
    double rate, duration, seconds, throughput, mean;
    int interrupted, ok;
    json_t *root;
    char *text = NULL;

    CHECK(s != NULL && cs != NULL && wb_stats_init(s, kinds, 2) == 0);
    wb_stats_response(s, 0, 200, 1000, true);
    wb_stats_response(s, 0, 409, 3000, true);
    wb_stats_response(s, 1, 200, 500, false); /* warm-up: not in the totals */
    wb_stats_error(s, 0, WB_ERR_RESET, true);
    s->seconds = 3.0;
    wb_report_param(&r, "orders", 1000);
    wb_check *c = wb_check_add(cs, "answers are \"200\" or 409");
    wb_check_fail(c, "checkout o-1: 500 {\"error\":\n\"x\\y\"}");
    wb_check_fail(c, "tab\there");
    r.stats = s;
    r.checks = cs;
    snprintf(r.error, sizeof(r.error), "read-back: GET /orders/find/\"1\"");

    root = round_trip(&r, &text);
    CHECK(json_unpack(root, "{s:s, s:s, s:f, s:f, s:{s:I}, s:b, s:s, s:s}", "scenario", &scenario,
                      "mode", &mode, "rate", &rate, "duration_s", &duration, "params", "orders",
                      &orders, "interrupted", &interrupted, "error", &error, "result",
                      &result) == 0);
    CHECK(json_unpack(root, "{s:f, s:I, s:f, s:{s:I, s:f}, s:{s:I, s:I}, s:{s:I}, s:{s:{s:I}}}",
                      "seconds", &seconds, "requests", &total, "throughput", &throughput,
                      "latency_us", "p50", &p50, "mean", &mean, "status", "200", &st200, "409",
                      &st409, "errors", "reset", &reset, "operations", "find", "requests",
                      &n_find) == 0);
    /* one check, with its two pieces of evidence */
    CHECK(json_unpack(root, "{s:[{s:s, s:b, s:[ss!]}!]}", "checks", "name", &name, "ok", &ok,
                      "evidence", &ev0, &ev1) == 0);
    CHECK_STR(scenario, "consistency");
    CHECK_STR(mode, "open"); /* a rate: open loop */
    CHECK(rate == 0.1 && duration == 10.0 && seconds == 3.0 && throughput == 0.7);
    CHECK(orders == 1000 && total == 2 && st200 == 1 && st409 == 1 && reset == 1 && n_find == 0);
    CHECK(p50 >= 990 && p50 <= 1010 && mean >= 1980 && mean <= 2020);
    CHECK_STR(name, "answers are \"200\" or 409");
    CHECK(!ok && !interrupted);
    CHECK_STR(ev0, "checkout o-1: 500 {\"error\":\n\"x\\y\"}");
    CHECK_STR(ev1, "tab\there");
    CHECK_STR(error, "read-back: GET /orders/find/\"1\"");
    CHECK_STR(result, "FAIL");
    /* decimals as rounded, not as the nearest double prints at full precision */
    CHECK(strstr(text, "\"rate\": 0.1,") != NULL);
    CHECK(strstr(text, "\"throughput\": 0.7,") != NULL);
    json_decref(root);
    free(text);
    wb_stats_free(s);
    free(s);
    free(cs);
}

/* A setup that failed before the measurement: no stats, no checks; error and result. */
static void test_setup_failed(void)
{
    wb_report r = {.scenario = "mixed", .url = "http://x", .error = "setup: 503"};
    json_t *root;
    char *text = NULL;

    root = round_trip(&r, &text);
    CHECK(json_object_get(root, "requests") == NULL && json_object_get(root, "checks") == NULL);
    CHECK_STR(json_string_value(json_object_get(root, "mode")), "closed");
    CHECK_STR(json_string_value(json_object_get(root, "error")), "setup: 503");
    CHECK_STR(json_string_value(json_object_get(root, "result")), "FAIL");
    r.error[0] = '\0';
    json_decref(root);
    free(text);
    root = round_trip(&r, &text);
    CHECK(json_is_null(json_object_get(root, "error")));
    json_decref(root);
    free(text);
}

static void test_unwritable(void)
{
    wb_report r = {.scenario = "mixed", .url = "http://x"};

    CHECK(wb_report_json("/nonexistent/dir/report.json", &r) == -ENOENT);
}

int main(void)
{
    test_full();
    test_setup_failed();
    test_unwritable();
    return check_status("wb_report_test");
}
