/* metrics: counters, gauges and latency histograms, rendered as Prometheus text
 * (exposition format 0.0.4: # HELP, # TYPE, name{labels} value, _bucket/_sum/_count).
 *
 * A metric family is a static object of the code that records it, e.g.
 *
 *     static metrics_family rpc_requests = {
 *         .type = METRICS_COUNTER,
 *         .name = "wdm_rpc_requests_total",
 *         .help = "RPC requests answered, by method and status.",
 *         .labels = {"method", "status"},
 *     };
 *
 * and one series of it per set of label values: metrics_series_get finds or creates it
 * (finding is lock-free; creating takes the registry's lock, and registers the family
 * with its registry on first use). A family holds at most METRICS_MAX_SERIES series, so
 * label values must come from a small fixed set (method names, enum names), never from
 * requests. Hot paths look their series up once and keep the pointer.
 *
 * Recording (metrics_counter_add, metrics_gauge_*, metrics_observe_ns) is one or two
 * relaxed atomic adds, from any thread; every recording function accepts NULL (a series
 * that could not be created) and then does nothing.
 *
 * Histograms count durations in nanoseconds into the fixed buckets of metrics_bounds_ns
 * (0.25 ms .. 10 s) and render them in seconds, exactly (no floating point). A
 * metrics_hist can also be used on its own (the gateway keeps one per route and thread)
 * and written with metrics_hist_write.
 *
 * Pure: nothing here reads or writes anything but memory and the FILE it is given
 * (typically open_memstream). */
#ifndef WDM_METRICS_H
#define WDM_METRICS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#define METRICS_MAX_LABELS 3
#define METRICS_MAX_SERIES 128
/* Finite bucket bounds; one more bucket counts what is above the largest (le="+Inf"). */
#define METRICS_BUCKETS 15

typedef enum metrics_type { METRICS_COUNTER, METRICS_GAUGE, METRICS_HISTOGRAM } metrics_type;

/* The upper bounds (inclusive) of the histogram buckets, in nanoseconds, ascending. */
extern const uint64_t metrics_bounds_ns[METRICS_BUCKETS];

/* A histogram's counts. Zero-initialised is empty. */
typedef struct metrics_hist {
    atomic_uint_fast64_t buckets[METRICS_BUCKETS + 1]; /* not cumulative; last: above all */
    atomic_uint_fast64_t sum_ns;
} metrics_hist;

/* A plain copy of one or more histograms' counts, summed (metrics_hist_collect). */
typedef struct metrics_hist_snap {
    uint64_t buckets[METRICS_BUCKETS + 1];
    uint64_t sum_ns;
} metrics_hist_snap;

typedef struct metrics_series metrics_series;
typedef struct metrics_registry metrics_registry;

typedef struct metrics_family {
    /* Set by the definition: */
    metrics_type type;
    const char *name;                      /* [a-zA-Z_:][a-zA-Z0-9_:]*, unique per registry */
    const char *help;
    const char *labels[METRICS_MAX_LABELS]; /* label names; unused ones NULL */
    metrics_registry *registry;            /* NULL: the process's (metrics_default) */
    /* The registry's, zero-initialised: */
    metrics_series *series[METRICS_MAX_SERIES];
    atomic_size_t n_series;                /* series[0..n) are published */
    bool registered;                       /* under the registry's lock */
    struct metrics_family *next;           /* the registry's list, by name */
} metrics_family;

struct metrics_registry {
    pthread_mutex_t lock;      /* registering families, creating series, rendering */
    metrics_family *families;  /* sorted by name */
};

#define METRICS_REGISTRY_INIT {PTHREAD_MUTEX_INITIALIZER, NULL}

/* The process's registry: what a service's /metrics shows. */
metrics_registry *metrics_default(void);

/* Frees every series of every family of r and unregisters them (their counts are lost),
 * so that r and the families can be used again. For tests; no recording may run. */
void metrics_registry_clear(metrics_registry *r);

/* The series of family f with these label values (n of them, one per label name of f;
 * copied on creation). Creates it, registering f, when it does not exist. Returns NULL
 * when n does not match f's labels, a value is NULL, f already holds METRICS_MAX_SERIES
 * series, another family of the registry has f's name, or memory runs out. */
metrics_series *metrics_series_get(metrics_family *f, const char *const *values, size_t n);

/* Counters: only ever grow. */
void metrics_counter_add(metrics_series *s, uint64_t n);
static inline void metrics_counter_inc(metrics_series *s)
{
    metrics_counter_add(s, 1);
}

/* Gauges: any value. */
void metrics_gauge_set(metrics_series *s, int64_t v);
void metrics_gauge_add(metrics_series *s, int64_t delta);

/* Histograms: one observation of a duration of ns nanoseconds. */
void metrics_observe_ns(metrics_series *s, uint64_t ns);

/* The value of a counter or gauge series (0 for NULL or another type): for tests. */
uint64_t metrics_counter_value(const metrics_series *s);
int64_t metrics_gauge_value(const metrics_series *s);

/* Appends the text of every series of r, family by family in name order (families
 * without a series are left out). Returns 0, or -EIO when writing to out failed. */
int metrics_render(metrics_registry *r, FILE *out);

/* ---- histograms of one's own, and the text of one's own samples ---- */

void metrics_hist_observe(metrics_hist *h, uint64_t ns);

/* Adds h's counts to s (relaxed reads: a scrape may see an observation half-counted). */
void metrics_hist_collect(metrics_hist_snap *s, const metrics_hist *h);

/* The number of observations in s. */
uint64_t metrics_hist_count(const metrics_hist_snap *s);

/* Writes "# HELP name help" (escaped) and "# TYPE name type". */
void metrics_write_header(FILE *out, const char *name, const char *help, metrics_type type);

/* Writes one sample line: name{names[0]="values[0]",...} v, label values escaped. */
void metrics_write_u64(FILE *out, const char *name, const char *const *names,
                       const char *const *values, size_t n, uint64_t v);

/* Writes the _bucket (cumulative, one per bound and +Inf), _sum and _count lines of
 * histogram `name` with these labels. */
void metrics_hist_write(FILE *out, const char *name, const char *const *names,
                        const char *const *values, size_t n, const metrics_hist_snap *s);

/* Nanoseconds of CLOCK_MONOTONIC: the clock to measure what metrics_observe_ns takes. */
static inline uint64_t metrics_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Nanoseconds from `start` (metrics_now_ns) until now; 0 if the clock seems to go back. */
static inline uint64_t metrics_since_ns(uint64_t start)
{
    uint64_t now = metrics_now_ns();
    return now > start ? now - start : 0;
}

#endif
