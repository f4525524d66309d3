/* wb_stats: counters, histograms and the per-second series of a run (see wb_stats.h). */
#include "wb_stats.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const err_names[WB_ERR_COUNT] = {
    [WB_ERR_CONNECT] = "connect",   [WB_ERR_RESET] = "reset",      [WB_ERR_TIMEOUT] = "timeout",
    [WB_ERR_PROTOCOL] = "protocol", [WB_ERR_HTTP5XX] = "http_5xx",
};

const char *wb_err_name(enum wb_err e)
{
    return (unsigned)e < WB_ERR_COUNT ? err_names[e] : "?";
}

int wb_stats_init(wb_stats *s, const char *const *names, unsigned n)
{
    if (n > WB_MAX_KINDS)
        return -EINVAL;
    memset(s, 0, sizeof(*s));
    s->nkinds = n;
    s->kind_names = names;
    wb_hist_reset(&s->total);
    wb_hist_reset(&s->win);
    for (unsigned i = 0; i < WB_MAX_KINDS; i++)
        wb_hist_reset(&s->kind[i].hist);
    return 0;
}

void wb_stats_free(wb_stats *s)
{
    free(s->rows);
    s->rows = NULL;
    s->nrows = s->cap = 0;
}

static unsigned status_index(int status)
{
    return status >= 100 && status < WB_STATUS_MAX ? (unsigned)status : 0;
}

void wb_stats_response(wb_stats *s, unsigned kind, int status, uint64_t latency_us, bool counted)
{
    wb_kind_stats *k = &s->kind[kind < s->nkinds ? kind : 0];
    unsigned si = status_index(status);

    wb_hist_record(&s->win, latency_us);
    s->win_responses++;
    if (counted) {
        s->responses++;
        s->status[si]++;
        wb_hist_record(&s->total, latency_us);
        k->responses++;
        k->status[si]++;
        wb_hist_record(&k->hist, latency_us);
    }
    if (status >= 500 && status < 600)
        wb_stats_error(s, (int)kind, WB_ERR_HTTP5XX, counted);
}

void wb_stats_error(wb_stats *s, int kind, enum wb_err e, bool counted)
{
    s->win_errors++;
    s->errors_seen++;
    if (!counted)
        return;
    s->errors[e]++;
    s->errors_total++;
    if (kind >= 0 && (unsigned)kind < s->nkinds)
        s->kind[kind].errors++;
}

int wb_stats_window(wb_stats *s, double t, double seconds, bool keep, wb_series_row *row)
{
    row->t = t;
    row->rps = seconds > 0 ? (double)s->win_responses / seconds : 0;
    row->p50 = wb_hist_quantile(&s->win, 0.50);
    row->p90 = wb_hist_quantile(&s->win, 0.90);
    row->p99 = wb_hist_quantile(&s->win, 0.99);
    row->max = s->win.count ? s->win.max : 0;
    row->errors = s->win_errors;
    wb_hist_reset(&s->win);
    s->win_responses = s->win_errors = 0;
    if (!keep)
        return 0;
    if (s->nrows == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        wb_series_row *rows = realloc(s->rows, cap * sizeof(*rows));
        if (rows == NULL)
            return -ENOMEM;
        s->rows = rows;
        s->cap = cap;
    }
    s->rows[s->nrows++] = *row;
    return 0;
}
