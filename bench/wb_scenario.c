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

int wb_scenario_failed(wb_bench *b, int rv, const char *what, const char *why)
{
    if (rv == -EINTR)
        return rv; /* not a failure of the system: main reports the interruption */
    snprintf(b->report.error, sizeof(b->report.error), "%s: %s", what,
             why && why[0] ? why : strerror(-rv));
    return rv;
}
