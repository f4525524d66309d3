/* wb_stats: what a run counts: responses per HTTP status and per operation kind, errors
 * by kind, latency histograms (total and per kind), and a per-second time series.
 *
 * Every response and error goes into the current one-second window (for the live progress
 * line) and, when `counted` (sent after the warm-up), into the totals. wb_stats_window
 * closes a window into a row of the series. A 5xx is both a status and an error. */
#ifndef WB_STATS_H
#define WB_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wb_hist.h"

#define WB_MAX_KINDS  12
#define WB_STATUS_MAX 600 /* statuses 100..599 are counted each; others in [0] */

/* Why a request got no usable answer. */
enum wb_err {
    WB_ERR_CONNECT,  /* the connection could not be made */
    WB_ERR_RESET,    /* the connection closed or failed before the whole answer came */
    WB_ERR_TIMEOUT,  /* no whole answer within --timeout */
    WB_ERR_PROTOCOL, /* the answer is not HTTP/1.x as we know it */
    WB_ERR_HTTP5XX,  /* an answer with a 5xx status */
    WB_ERR_COUNT
};

/* "connect", "reset", ... as used in reports. */
const char *wb_err_name(enum wb_err e);

typedef struct wb_kind_stats {
    uint64_t responses;
    uint64_t errors;
    uint64_t status[WB_STATUS_MAX];
    wb_hist hist;
} wb_kind_stats;

/* One second of the run. */
typedef struct wb_series_row {
    double t;                    /* seconds since the measurement began, at the window's end */
    double rps;                  /* responses per second in the window */
    uint64_t p50, p90, p99, max; /* latency, microseconds */
    uint64_t errors;             /* in the window */
} wb_series_row;

typedef struct wb_stats {
    unsigned nkinds;
    const char *const *kind_names; /* not owned; must outlive the stats */
    wb_kind_stats kind[WB_MAX_KINDS];
    wb_hist total;
    uint64_t status[WB_STATUS_MAX];
    uint64_t errors[WB_ERR_COUNT];
    uint64_t responses;    /* answered requests (= the sum of status[]) */
    uint64_t errors_total; /* the sum of errors[] */
    double seconds;        /* the measured time, set by the engine */
    uint64_t unsent;       /* open loop: requests due but not sent when the time was up */
    /* the current window */
    wb_hist win;
    uint64_t win_responses, win_errors, errors_seen; /* errors_seen: counted or not */
    /* the series: malloc'd, grown by wb_stats_window; freed by wb_stats_free */
    wb_series_row *rows;
    size_t nrows, cap;
} wb_stats;

/* Makes s empty for kinds names[0..n) (n <= WB_MAX_KINDS). s is large (~0.5 MB): allocate
 * it, do not put it on the stack. Returns 0 or -EINVAL. */
int wb_stats_init(wb_stats *s, const char *const *names, unsigned n);

/* Frees the series (s can be initialized again). */
void wb_stats_free(wb_stats *s);

/* A response of kind (< nkinds) with an HTTP status and its latency. */
void wb_stats_response(wb_stats *s, unsigned kind, int status, uint64_t latency_us, bool counted);

/* A request without a usable answer; kind -1 when no request was involved (a failed
 * connect while idle). */
void wb_stats_error(wb_stats *s, int kind, enum wb_err e, bool counted);

/* Closes the current window of `seconds` length ending at t (seconds since the measure
 * began) into *row; appends it to the series when `keep`. Returns 0, or -ENOMEM when the
 * series could not grow (the row is then only in *row). */
int wb_stats_window(wb_stats *s, double t, double seconds, bool keep, wb_series_row *row);

#endif
