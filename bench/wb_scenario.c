/* wb_scenario: what the scenarios share: the measured load phase and failure reporting
 * (see wb_scenario.h). */
#include "wb_scenario.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int wb_scenario_load(wb_bench *b, const wb_source *src, const char *label)
{
    wb_run run = {
        .duration_s = b->opts.duration_s,
        .warmup_s = b->opts.warmup_s,
        .rate = b->opts.rate,
        .stats = &b->stats,
        .progress = !b->opts.quiet,
        .label = label,
    };

    b->report.stats = &b->stats;
    return wb_engine_run(&b->engine, src, &run);
}

void wb_scenario_sizes(wb_bench *b, long long count)
{
    wb_opts *o = &b->opts;

    wb_opts_default(&o->users, count);
    wb_opts_default(&o->items, count);
    wb_opts_default(&o->orders, count);
    wb_opts_default(&o->stock, 1000000);
    wb_opts_default(&o->credit, 1000000);
    wb_opts_default(&o->price, 1);
    wb_report_param(&b->report, "users", o->users);
    wb_report_param(&b->report, "items", o->items);
    wb_report_param(&b->report, "orders", o->orders);
    wb_report_param(&b->report, "stock", o->stock);
    wb_report_param(&b->report, "credit", o->credit);
    wb_report_param(&b->report, "price", o->price);
    wb_report_param(&b->report, "skip_setup", o->skip_setup);
}

int wb_scenario_failed(wb_bench *b, int rv, const char *what, const char *why)
{
    if (rv == -EINTR)
        return rv; /* not a failure of the system: main reports the interruption */
    snprintf(b->report.error, sizeof(b->report.error), "%s: %s", what,
             why && why[0] ? why : strerror(-rv));
    return rv;
}
