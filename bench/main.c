/* wdm-bench: a load generator for the WDM checkout system (one thread, epoll, HTTP/1.1
 * keep-alive). main picks the scenario, sets up the engine and the signals, runs the
 * scenario, and writes the report (text, JSON, series, plot). Usage: wb_opts.c. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wb_clock.h"
#include "wb_plot.h"
#include "wb_scenario.h"

#define EXIT_FAILED      1 /* errors, or a check failed */
#define EXIT_NOT_RUN     2 /* bad usage, or setup / read-back failed */
#define EXIT_INTERRUPTED 130

static const struct {
    const char *name;
    wb_scenario_fn run;
    long connections;     /* default -c */
    long long timeout_ms; /* default --timeout */
} scenarios[] = {
    {"stress", wb_stress, 64, 30000},
    {"consistency", wb_consistency, 200, 120000}, /* as bench/consistency.py */
    {"mixed", wb_mixed, 64, 30000},
};

/* Set by SIGINT/SIGTERM; the engine polls it and ends the run (the report follows). */
static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void setup_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESETHAND; /* a second ^C ends the process at once */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN); /* gnuplot's pipe; sockets use MSG_NOSIGNAL */
}

/* The CSV, JSON and PNG files asked for. Returns 0, or -1 when one could not be written
 * (said on stderr). */
static int write_outputs(wb_bench *b)
{
    const wb_opts *o = &b->opts;
    char csv[4096], title[512];
    const char *series = o->series_path;
    int rv, bad = 0;

    if (o->json_path && (rv = wb_report_json(o->json_path, &b->report)) != 0) {
        fprintf(stderr, "wdm-bench: %s: %s\n", o->json_path, strerror(-rv));
        bad = -1;
    }
    if (series == NULL && o->plot_path != NULL) {
        snprintf(csv, sizeof(csv), "%s.csv", o->plot_path);
        series = csv;
    }
    if (series == NULL)
        return bad;
    if ((rv = wb_series_csv(series, &b->stats)) != 0) {
        fprintf(stderr, "wdm-bench: %s: %s\n", series, strerror(-rv));
        return -1;
    }
    snprintf(title, sizeof(title), "wdm-bench %s: %s, %s, %u connections", o->scenario, o->url,
             o->rate > 0 ? "open loop" : "closed loop", b->report.connections);
    rv = o->plot_path ? wb_plot_png(&b->stats, series, o->plot_path, title) : 0;
    if (rv == -ENODATA) {
        fprintf(stderr, "wdm-bench: plot %s: not drawn, the run lasted less than a second\n",
                o->plot_path);
    } else if (rv != 0) {
        fprintf(stderr, "wdm-bench: plot %s: %s\n", o->plot_path,
                rv == -ENOENT ? "gnuplot is not installed (apt-get install -y gnuplot-nox)"
                              : "gnuplot failed");
        return -1;
    }
    return bad;
}

/* Fills the report's common fields from the options. */
static void report_init(wb_bench *b, uint64_t seed)
{
    wb_report *r = &b->report;
    const wb_opts *o = &b->opts;

    r->scenario = o->scenario;
    r->url = o->url;
    r->connections = (unsigned)o->connections;
    r->rate = o->rate;
    r->duration_s = o->duration_s;
    r->warmup_s = o->warmup_s;
    r->timeout_ms = (uint64_t)o->timeout_ms;
    wb_report_param(r, "seed", (int64_t)seed);
}

static int run(wb_bench *b)
{
    wb_opts *o = &b->opts;
    unsigned i;
    uint64_t seed;
    int rv;

    for (i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
        if (strcmp(o->scenario, scenarios[i].name) == 0)
            break;
    if (i == sizeof(scenarios) / sizeof(scenarios[0])) {
        fprintf(stderr, "wdm-bench: no scenario %s (stress, consistency, mixed)\n", o->scenario);
        return EXIT_NOT_RUN;
    }
    if (o->connections < 0)
        o->connections = scenarios[i].connections;
    if (o->timeout_ms < 0)
        o->timeout_ms = scenarios[i].timeout_ms;
    seed = o->seeded ? o->seed : (wb_now_ns() ^ ((uint64_t)getpid() << 32)) & ((1ULL << 53) - 1);
    b->rng.s = seed;
    report_init(b, seed);
    if ((rv = wb_engine_init(&b->engine, o->url, (unsigned)o->connections, (uint64_t)o->timeout_ms,
                             &stop_requested)) != 0) {
        fprintf(stderr, "wdm-bench: %s: %s\n", o->url,
                rv == -EINVAL ? "not an http://host[:port] URL" : strerror(-rv));
        return EXIT_NOT_RUN;
    }
    rv = scenarios[i].run(b);
    b->report.interrupted = rv == -EINTR;
    wb_report_text(stdout, &b->report);
    fflush(stdout);
    if (write_outputs(b) != 0 && rv == 0)
        rv = -EIO;
    wb_engine_free(&b->engine);
    wb_stats_free(&b->stats);
    if (rv == -EINTR)
        return EXIT_INTERRUPTED;
    if (rv != 0)
        return b->report.error[0] ? EXIT_NOT_RUN : EXIT_FAILED;
    return wb_report_ok(&b->report) ? 0 : EXIT_FAILED;
}

int main(int argc, char **argv)
{
    wb_bench *b = calloc(1, sizeof(*b));
    int rv;

    if (b == NULL) {
        perror("wdm-bench");
        return EXIT_NOT_RUN;
    }
    rv = wb_opts_parse(&b->opts, argc, argv);
    if (rv == 0) {
        setup_signals();
        rv = run(b);
    } else {
        rv = rv > 0 ? 0 : EXIT_NOT_RUN;
    }
    free(b);
    return rv;
}
