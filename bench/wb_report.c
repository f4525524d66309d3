/* wb_report: progress line, text report and JSON report (see wb_report.h). */
#include "wb_report.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <string.h>

/* The quantiles every latency summary shows, text and JSON alike. */
static const struct {
    const char *name;
    double q;
} quantiles[] = {{"p50", 0.50}, {"p90", 0.90}, {"p99", 0.99}, {"p99_9", 0.999}};
#define NQ (sizeof(quantiles) / sizeof(quantiles[0]))

void wb_report_param(wb_report *r, const char *name, int64_t value)
{
    if (r->nparams < WB_MAX_PARAMS)
        r->params[r->nparams++] = (wb_param){name, value};
}

bool wb_report_ok(const wb_report *r)
{
    if (r->error[0] || r->interrupted || r->stats == NULL)
        return false;
    if (r->stats->errors_total > 0)
        return false;
    return r->checks == NULL || wb_checks_ok(r->checks);
}

static double ms(uint64_t us)
{
    return (double)us / 1000.0;
}

static double per_second(uint64_t n, double seconds)
{
    return seconds > 0 ? (double)n / seconds : 0;
}

void wb_report_progress(FILE *f, const char *label, double elapsed_s, const wb_series_row *row,
                        uint64_t errors, bool warmup)
{
    fprintf(f, "[%s] %5.0fs %s %8.0f req/s  p50 %8.2f ms  p99 %8.2f ms  errors %llu\n",
            label ? label : "run", elapsed_s, warmup ? "warm-up" : "       ", row->rps,
            ms(row->p50), ms(row->p99), (unsigned long long)errors);
    fflush(f);
}

/* ---- text ---- */

/* The non-zero status counts, "200: 5, 409: 2" (0 counts answers out of range, "other"),
 * or "none". */
static void text_statuses(FILE *f, const uint64_t *status)
{
    unsigned n = 0;

    for (unsigned i = 0; i < WB_STATUS_MAX; i++) {
        if (status[i] == 0)
            continue;
        fputs(n++ ? ", " : "", f);
        if (i == 0)
            fprintf(f, "other: %llu", (unsigned long long)status[i]);
        else
            fprintf(f, "%u: %llu", i, (unsigned long long)status[i]);
    }
    if (n == 0)
        fputs("none", f);
}

static void text_latency(FILE *f, const wb_hist *h)
{
    for (unsigned i = 0; i < NQ; i++)
        fprintf(f, "%s %.2f  ", quantiles[i].name, ms(wb_hist_quantile(h, quantiles[i].q)));
    fprintf(f, "max %.2f  mean %.2f ms", ms(h->count ? h->max : 0), wb_hist_mean(h) / 1000.0);
}

static void text_checks(FILE *f, const wb_checks *cs)
{
    for (unsigned i = 0; i < cs->n; i++) {
        const wb_check *c = &cs->v[i];
        fprintf(f, "%s  %s\n", c->ok ? "PASS" : "FAIL", c->name);
        for (unsigned j = 0; j < c->kept; j++)
            fprintf(f, "        %s\n", c->evidence[j]);
        if (c->total > c->kept)
            fprintf(f, "        ... and %llu more\n", (unsigned long long)(c->total - c->kept));
    }
}

static void text_stats(FILE *f, const wb_stats *s)
{
    fprintf(f, "requests   %llu answered in %.2f s = %.1f req/s\n",
            (unsigned long long)s->responses, s->seconds, per_second(s->responses, s->seconds));
    fputs("latency    ", f);
    text_latency(f, &s->total);
    fputs("\nstatus     ", f);
    text_statuses(f, s->status);
    fprintf(f, "\nerrors     %llu", (unsigned long long)s->errors_total);
    for (unsigned e = 0; e < WB_ERR_COUNT; e++)
        fprintf(f, "%s%s %llu", e ? ", " : " (", wb_err_name(e), (unsigned long long)s->errors[e]);
    fputs(")\n", f);
    if (s->unsent)
        fprintf(f, "unsent     %llu requests were due but not sent when the time was up\n",
                (unsigned long long)s->unsent);
    for (unsigned k = 0; k < s->nkinds; k++) {
        const wb_kind_stats *ks = &s->kind[k];
        if (ks->responses == 0 && ks->errors == 0)
            continue; /* an operation the mix left out */
        fprintf(f, "  %-16s %8llu req %9.1f req/s %6llu errors  ", s->kind_names[k],
                (unsigned long long)ks->responses, per_second(ks->responses, s->seconds),
                (unsigned long long)ks->errors);
        fprintf(f, "p50 %.2f  p99 %.2f  max %.2f ms  ", ms(wb_hist_quantile(&ks->hist, 0.5)),
                ms(wb_hist_quantile(&ks->hist, 0.99)), ms(ks->hist.count ? ks->hist.max : 0));
        text_statuses(f, ks->status);
        fputc('\n', f);
    }
}

void wb_report_text(FILE *f, const wb_report *r)
{
    fprintf(f, "%s: %s, ", r->scenario, r->url);
    if (r->rate > 0)
        fprintf(f, "open loop at %.0f req/s, ", r->rate);
    else
        fputs("closed loop, ", f);
    fprintf(f, "%u connections", r->connections);
    if (r->duration_s > 0)
        fprintf(f, ", %.1f s (+%.1f s warm-up)", r->duration_s, r->warmup_s);
    fprintf(f, ", timeout %llu ms\n", (unsigned long long)r->timeout_ms);
    if (r->nparams) {
        fputs("parameters", f);
        for (unsigned i = 0; i < r->nparams; i++)
            fprintf(f, " %s=%lld", r->params[i].name, (long long)r->params[i].value);
        fputc('\n', f);
    }
    if (r->stats != NULL)
        text_stats(f, r->stats);
    if (r->checks != NULL)
        text_checks(f, r->checks);
    if (r->interrupted)
        fputs("INTERRUPTED: the numbers are of the run so far\n", f);
    if (r->error[0])
        fprintf(f, "ERROR: %s\n", r->error);
    fprintf(f, "RESULT: %s\n", wb_report_ok(r) ? "PASS" : "FAIL");
}

/* ---- JSON ----
 *
 * The report is built as a jansson tree, then dumped. A builder takes the references it
 * is given and returns its node, or NULL when memory ran out (or a string is not UTF-8,
 * which jansson refuses); a NULL passed to the next builder makes it fail too, so a
 * failure anywhere reaches the root with nothing leaked. */

/* Sets o[key] = v, taking v. Returns o, or NULL (o released) when o or v is NULL or
 * memory ran out. */
static json_t *with(json_t *o, const char *key, json_t *v)
{
    if (json_object_set_new(o, key, v) == 0) /* takes v, even when it fails */
        return o;
    json_decref(o);
    return NULL;
}

/* Appends v to a, taking v. Returns a, or NULL (a released) when a or v is NULL or
 * memory ran out. */
static json_t *append(json_t *a, json_t *v)
{
    if (json_array_append_new(a, v) == 0) /* takes v, even when it fails */
        return a;
    json_decref(a);
    return NULL;
}

static json_t *count(uint64_t n)
{
    return json_integer((json_int_t)n);
}

/* x rounded to `places` decimals. Dumped with JSON_REAL_PRECISION(15) it reads 0.1, not
 * 0.10000000000000001. */
static json_t *decimal(double x, int places)
{
    double scale = pow(10, places);
    return json_real(round(x * scale) / scale);
}

/* {"200": 5, "409": 2}: the non-zero status counts ("other": answers out of range). */
static json_t *statuses_json(const uint64_t *status)
{
    json_t *o = json_object();
    char key[16];

    for (unsigned i = 0; i < WB_STATUS_MAX; i++) {
        if (status[i] == 0)
            continue;
        if (i == 0)
            snprintf(key, sizeof(key), "other");
        else
            snprintf(key, sizeof(key), "%u", i);
        o = with(o, key, count(status[i]));
    }
    return o;
}

static json_t *latency_json(const wb_hist *h)
{
    json_t *o = json_object();

    for (unsigned i = 0; i < NQ; i++)
        o = with(o, quantiles[i].name, count(wb_hist_quantile(h, quantiles[i].q)));
    o = with(o, "min", count(h->count ? h->min : 0));
    o = with(o, "max", count(h->max));
    return with(o, "mean", decimal(wb_hist_mean(h), 1));
}

static json_t *operation_json(const wb_kind_stats *ks, double seconds)
{
    json_t *o = json_object();

    o = with(o, "requests", count(ks->responses));
    o = with(o, "throughput", decimal(per_second(ks->responses, seconds), 1));
    o = with(o, "errors", count(ks->errors));
    o = with(o, "status", statuses_json(ks->status));
    return with(o, "latency_us", latency_json(&ks->hist));
}

/* Adds the members of the measured phase to the report object o. */
static json_t *with_stats(json_t *o, const wb_stats *s)
{
    json_t *errors = json_object(), *ops = json_object();

    o = with(o, "seconds", decimal(s->seconds, 3));
    o = with(o, "requests", count(s->responses));
    o = with(o, "throughput", decimal(per_second(s->responses, s->seconds), 1));
    o = with(o, "latency_us", latency_json(&s->total));
    o = with(o, "status", statuses_json(s->status));
    o = with(o, "errors_total", count(s->errors_total));
    for (unsigned e = 0; e < WB_ERR_COUNT; e++)
        errors = with(errors, wb_err_name(e), count(s->errors[e]));
    o = with(o, "errors", errors);
    o = with(o, "unsent", count(s->unsent));
    for (unsigned k = 0; k < s->nkinds; k++)
        ops = with(ops, s->kind_names[k], operation_json(&s->kind[k], s->seconds));
    return with(o, "operations", ops);
}

static json_t *checks_json(const wb_checks *cs)
{
    json_t *a = json_array();

    for (unsigned i = 0; i < cs->n; i++) {
        const wb_check *c = &cs->v[i];
        json_t *evidence = json_array(), *o = json_object();

        for (unsigned j = 0; j < c->kept; j++)
            evidence = append(evidence, json_string(c->evidence[j]));
        o = with(o, "name", json_string(c->name));
        o = with(o, "ok", json_boolean(c->ok));
        o = with(o, "evidence_total", count(c->total));
        a = append(a, with(o, "evidence", evidence));
    }
    return a;
}

static json_t *report_json(const wb_report *r)
{
    json_t *o = json_object(), *params = json_object();

    o = with(o, "scenario", json_string(r->scenario));
    o = with(o, "url", json_string(r->url));
    o = with(o, "mode", json_string(r->rate > 0 ? "open" : "closed"));
    o = with(o, "connections", count(r->connections));
    o = with(o, "rate", decimal(r->rate, 1));
    o = with(o, "duration_s", decimal(r->duration_s, 3));
    o = with(o, "warmup_s", decimal(r->warmup_s, 3));
    o = with(o, "timeout_ms", count(r->timeout_ms));
    for (unsigned i = 0; i < r->nparams; i++)
        params = with(params, r->params[i].name, json_integer(r->params[i].value));
    o = with(o, "params", params);
    if (r->stats != NULL)
        o = with_stats(o, r->stats);
    if (r->checks != NULL)
        o = with(o, "checks", checks_json(r->checks));
    o = with(o, "interrupted", json_boolean(r->interrupted));
    o = with(o, "error", r->error[0] ? json_string(r->error) : json_null());
    return with(o, "result", json_string(wb_report_ok(r) ? "PASS" : "FAIL"));
}

int wb_report_json(const char *path, const wb_report *r)
{
    json_t *root = report_json(r);
    FILE *f;
    int rv = 0;

    if (root == NULL)
        return -ENOMEM;
    if ((f = fopen(path, "w")) == NULL) {
        rv = -errno;
        goto out;
    }
    if (json_dumpf(root, f, JSON_INDENT(2) | JSON_REAL_PRECISION(15)) != 0 || fputc('\n', f) == EOF)
        rv = -EIO;
    if (fclose(f) != 0 && rv == 0)
        rv = -errno;
out:
    json_decref(root);
    return rv;
}
