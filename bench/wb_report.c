/* wb_report: progress line, text report and JSON report (see wb_report.h). */
#include "wb_report.h"

#include <errno.h>
#include <string.h>

#include "wb_json.h"

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

/* The non-zero status counts, "200: 5, 409: 2" (text) or "\"200\": 5, \"409\": 2" (json,
 * without the braces). Returns how many were written. */
static unsigned put_statuses(FILE *f, const uint64_t *status, bool json)
{
    const char *q = json ? "\"" : "";
    unsigned n = 0;

    for (unsigned i = 0; i < WB_STATUS_MAX; i++) {
        if (status[i] == 0)
            continue;
        fputs(n++ ? ", " : "", f);
        if (i == 0)
            fprintf(f, "%sother%s: %llu", q, q, (unsigned long long)status[i]);
        else
            fprintf(f, "%s%u%s: %llu", q, i, q, (unsigned long long)status[i]);
    }
    return n;
}

static void text_statuses(FILE *f, const uint64_t *status)
{
    if (put_statuses(f, status, false) == 0)
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

/* ---- JSON ---- */

static void json_key(FILE *f, const char *key)
{
    wb_json_fput_str(f, key);
    fputs(": ", f);
}

static void json_statuses(FILE *f, const uint64_t *status)
{
    fputc('{', f);
    put_statuses(f, status, true);
    fputc('}', f);
}

static void json_latency(FILE *f, const wb_hist *h)
{
    fputc('{', f);
    for (unsigned i = 0; i < NQ; i++)
        fprintf(f, "\"%s\": %llu, ", quantiles[i].name,
                (unsigned long long)wb_hist_quantile(h, quantiles[i].q));
    fprintf(f, "\"min\": %llu, \"max\": %llu, \"mean\": %.1f}",
            (unsigned long long)(h->count ? h->min : 0), (unsigned long long)h->max,
            wb_hist_mean(h));
}

static void json_stats(FILE *f, const wb_stats *s)
{
    fprintf(f, "  \"seconds\": %.3f,\n  \"requests\": %llu,\n  \"throughput\": %.1f,\n", s->seconds,
            (unsigned long long)s->responses, per_second(s->responses, s->seconds));
    fputs("  \"latency_us\": ", f);
    json_latency(f, &s->total);
    fputs(",\n  \"status\": ", f);
    json_statuses(f, s->status);
    fprintf(f, ",\n  \"errors_total\": %llu,\n  \"errors\": {",
            (unsigned long long)s->errors_total);
    for (unsigned e = 0; e < WB_ERR_COUNT; e++)
        fprintf(f, "%s\"%s\": %llu", e ? ", " : "", wb_err_name(e),
                (unsigned long long)s->errors[e]);
    fprintf(f, "},\n  \"unsent\": %llu,\n  \"operations\": {", (unsigned long long)s->unsent);
    for (unsigned k = 0; k < s->nkinds; k++) {
        const wb_kind_stats *ks = &s->kind[k];
        fprintf(f, "%s\n    ", k ? "," : "");
        json_key(f, s->kind_names[k]);
        fprintf(f, "{\"requests\": %llu, \"throughput\": %.1f, \"errors\": %llu, \"status\": ",
                (unsigned long long)ks->responses, per_second(ks->responses, s->seconds),
                (unsigned long long)ks->errors);
        json_statuses(f, ks->status);
        fputs(", \"latency_us\": ", f);
        json_latency(f, &ks->hist);
        fputc('}', f);
    }
    fputs("},\n", f);
}

static void json_checks(FILE *f, const wb_checks *cs)
{
    fputs("  \"checks\": [", f);
    for (unsigned i = 0; i < cs->n; i++) {
        const wb_check *c = &cs->v[i];
        fprintf(f, "%s\n    {\"name\": ", i ? "," : "");
        wb_json_fput_str(f, c->name);
        fprintf(f, ", \"ok\": %s, \"evidence_total\": %llu, \"evidence\": [",
                c->ok ? "true" : "false", (unsigned long long)c->total);
        for (unsigned j = 0; j < c->kept; j++) {
            fputs(j ? ", " : "", f);
            wb_json_fput_str(f, c->evidence[j]);
        }
        fputs("]}", f);
    }
    fputs("],\n", f);
}

int wb_report_json(const char *path, const wb_report *r)
{
    FILE *f = fopen(path, "w");

    if (f == NULL)
        return -errno;
    fputs("{\n  \"scenario\": ", f);
    wb_json_fput_str(f, r->scenario);
    fputs(",\n  \"url\": ", f);
    wb_json_fput_str(f, r->url);
    fprintf(f, ",\n  \"mode\": \"%s\",\n  \"connections\": %u,\n  \"rate\": %.1f,\n",
            r->rate > 0 ? "open" : "closed", r->connections, r->rate);
    fprintf(f, "  \"duration_s\": %.3f,\n  \"warmup_s\": %.3f,\n  \"timeout_ms\": %llu,\n",
            r->duration_s, r->warmup_s, (unsigned long long)r->timeout_ms);
    fputs("  \"params\": {", f);
    for (unsigned i = 0; i < r->nparams; i++) {
        fputs(i ? ", " : "", f);
        json_key(f, r->params[i].name);
        fprintf(f, "%lld", (long long)r->params[i].value);
    }
    fputs("},\n", f);
    if (r->stats != NULL)
        json_stats(f, r->stats);
    if (r->checks != NULL)
        json_checks(f, r->checks);
    fprintf(f, "  \"interrupted\": %s,\n  \"error\": ", r->interrupted ? "true" : "false");
    if (r->error[0])
        wb_json_fput_str(f, r->error);
    else
        fputs("null", f);
    fprintf(f, ",\n  \"result\": \"%s\"\n}\n", wb_report_ok(r) ? "PASS" : "FAIL");
    if (ferror(f)) {
        fclose(f);
        return -EIO;
    }
    return fclose(f) == 0 ? 0 : -errno;
}
