/* wb_report: what a run tells people and programs: the live progress line, the final
 * text report (stdout) and the same as JSON (--json FILE).
 *
 * The report describes the measured phase of a scenario (its stats), the scenario's
 * parameters, and its checks when it has any. Its pointers are borrowed: what they point
 * to (the options' strings, the stats, the checks) must outlive the report. */
#ifndef WB_REPORT_H
#define WB_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "wb_check.h"
#include "wb_stats.h"

#define WB_MAX_PARAMS 16

/* A scenario parameter shown in the report, e.g. {"orders", 1000}. */
typedef struct wb_param {
    const char *name; /* a string literal */
    int64_t value;
} wb_param;

typedef struct wb_report {
    const char *scenario;
    const char *url;
    unsigned connections;
    double rate;       /* 0: closed loop */
    double duration_s; /* 0: a batch (the consistency checkouts) */
    double warmup_s;
    uint64_t timeout_ms;
    wb_param params[WB_MAX_PARAMS];
    unsigned nparams;
    const wb_stats *stats;   /* the measured phase; NULL when it never ran */
    const wb_checks *checks; /* NULL: the scenario checks nothing */
    bool interrupted;        /* SIGINT: the numbers are of the run so far */
    char error[512];         /* why the scenario could not run (setup, read-back), or "" */
} wb_report;

/* Adds a parameter (ignored beyond WB_MAX_PARAMS). */
void wb_report_param(wb_report *r, const char *name, int64_t value);

/* Is the run a success: no error, not interrupted, no errors counted, every check (if
 * any) passed? */
bool wb_report_ok(const wb_report *r);

/* One progress line: "[label] 12s  34512 req/s  p50 1.23 ms  p99 4.56 ms  errors 0". */
void wb_report_progress(FILE *f, const char *label, double elapsed_s, const wb_series_row *row,
                        uint64_t errors, bool warmup);

/* The final report as text. */
void wb_report_text(FILE *f, const wb_report *r);

/* The final report as JSON into path. Returns 0 or a negative errno: -ENOMEM when the
 * report could not be built (memory ran out, or a string in it is not UTF-8), -EIO when
 * it could not be written whole, or the errno of opening or closing path. */
int wb_report_json(const char *path, const wb_report *r);

#endif
