/* wb_scenario: what a scenario gets to work with, and the scenarios themselves.
 *
 * main sets up a wb_bench (options, engine, report's common fields) and calls one
 * scenario, which prepares its data, runs its measured phase into b->stats, and fills
 * in the report (parameters, checks, error). */
#ifndef WB_SCENARIO_H
#define WB_SCENARIO_H

#include "wb_check.h"
#include "wb_engine.h"
#include "wb_opts.h"
#include "wb_rand.h"
#include "wb_report.h"
#include "wb_stats.h"

typedef struct wb_bench {
    wb_opts opts;
    wb_engine engine;
    wb_stats stats;   /* the measured phase (the scenario initializes it with its kinds) */
    wb_checks checks; /* the scenario's checks, when it has any */
    wb_report report;
    wb_rand rng; /* seeded by main (--seed) */
} wb_bench;

/* A scenario: returns 0 when it ran (its verdict is in the report), -EINTR when
 * interrupted, or another negative errno when it could not run (setup or read-back
 * failed; b->report.error says why). */
typedef int (*wb_scenario_fn)(wb_bench *b);

int wb_stress(wb_bench *b);
int wb_consistency(wb_bench *b);
int wb_mixed(wb_bench *b);

/* Runs a load source for the options' duration, warm-up and rate into b->stats (which
 * must be initialized) and points the report at it. Returns the engine's result. */
int wb_scenario_load(wb_bench *b, const wb_source *src, const char *label);

/* The data sizes of stress and mixed: users, items and orders default to `count`, stock
 * and credit to 1000000, price to 1; all of them (and --skip-setup) go into the report. */
void wb_scenario_sizes(wb_bench *b, long long count);

/* Records a failed setup or read-back step in the report: "<what>: <why>". Returns rv. */
int wb_scenario_failed(wb_bench *b, int rv, const char *what, const char *why);

#endif
