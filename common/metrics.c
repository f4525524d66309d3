/* metrics: the registry, recording and the Prometheus text (see metrics.h). */
#include "metrics.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

const uint64_t metrics_bounds_ns[METRICS_BUCKETS] = {
    250000,     500000,     1000000,    2500000,    5000000,
    10000000,   25000000,   50000000,   100000000,  250000000,
    500000000,  1000000000, 2500000000, 5000000000, 10000000000,
};

struct metrics_series {
    metrics_type type;
    char *values[METRICS_MAX_LABELS];
    union {
        atomic_uint_fast64_t counter;
        atomic_int_fast64_t gauge;
        metrics_hist hist;
    } v;
};

static metrics_registry default_registry = METRICS_REGISTRY_INIT;

metrics_registry *metrics_default(void)
{
    return &default_registry;
}

static metrics_registry *family_registry(const metrics_family *f)
{
    return f->registry ? f->registry : &default_registry;
}

static size_t family_arity(const metrics_family *f)
{
    size_t n = 0;

    while (n < METRICS_MAX_LABELS && f->labels[n] != NULL)
        n++;
    return n;
}

/* ---- registry ---- */

static void series_free(metrics_series *s)
{
    for (size_t i = 0; i < METRICS_MAX_LABELS; i++)
        free(s->values[i]);
    free(s);
}

void metrics_registry_clear(metrics_registry *r)
{
    metrics_family *f, *next;

    pthread_mutex_lock(&r->lock);
    for (f = r->families; f != NULL; f = next) {
        size_t n = atomic_load_explicit(&f->n_series, memory_order_acquire);
        for (size_t i = 0; i < n; i++) {
            series_free(f->series[i]);
            f->series[i] = NULL;
        }
        atomic_store_explicit(&f->n_series, 0, memory_order_release);
        f->registered = false;
        next = f->next;
        f->next = NULL;
    }
    r->families = NULL;
    pthread_mutex_unlock(&r->lock);
}

/* Links f into r's list, in name order. Returns 0, or -EEXIST when another family has
 * its name. Under r->lock. */
static int registry_add(metrics_registry *r, metrics_family *f)
{
    metrics_family **at = &r->families;
    int cmp = 1;

    while (*at != NULL && (cmp = strcmp((*at)->name, f->name)) < 0)
        at = &(*at)->next;
    if (*at != NULL && cmp == 0)
        return -EEXIST;
    f->next = *at;
    *at = f;
    f->registered = true;
    return 0;
}

static bool series_matches(const metrics_series *s, const char *const *values, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s->values[i], values[i]) != 0)
            return false;
    return true;
}

/* The first of f->series[from..upto) with these values, or NULL. */
static metrics_series *series_find(metrics_family *f, size_t from, size_t upto,
                                   const char *const *values, size_t n)
{
    for (size_t i = from; i < upto; i++)
        if (series_matches(f->series[i], values, n))
            return f->series[i];
    return NULL;
}

/* A new, zeroed series of f's type with copies of the values, or NULL (out of memory).
 * Cache-line aligned, so that two hot series never share a line. */
static metrics_series *series_new(const metrics_family *f, const char *const *values, size_t n)
{
    size_t size = (sizeof(metrics_series) + 63) / 64 * 64;
    metrics_series *s = aligned_alloc(64, size);

    if (s == NULL)
        return NULL;
    memset(s, 0, size);
    s->type = f->type;
    for (size_t i = 0; i < n; i++) {
        if ((s->values[i] = strdup(values[i])) == NULL) {
            series_free(s);
            return NULL;
        }
    }
    return s;
}

metrics_series *metrics_series_get(metrics_family *f, const char *const *values, size_t n)
{
    metrics_registry *r = family_registry(f);
    size_t seen = atomic_load_explicit(&f->n_series, memory_order_acquire);
    metrics_series *s;

    if (n != family_arity(f))
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (values[i] == NULL)
            return NULL;
    if ((s = series_find(f, 0, seen, values, n)) != NULL)
        return s;

    pthread_mutex_lock(&r->lock);
    /* Another thread may have created it meanwhile: look at what it published. */
    size_t now = atomic_load_explicit(&f->n_series, memory_order_relaxed);
    if ((s = series_find(f, seen, now, values, n)) == NULL && now < METRICS_MAX_SERIES &&
        (f->registered || registry_add(r, f) == 0) && (s = series_new(f, values, n)) != NULL) {
        f->series[now] = s;
        atomic_store_explicit(&f->n_series, now + 1, memory_order_release);
    }
    pthread_mutex_unlock(&r->lock);
    return s;
}

/* ---- recording ---- */

void metrics_counter_add(metrics_series *s, uint64_t n)
{
    if (s != NULL && s->type == METRICS_COUNTER)
        atomic_fetch_add_explicit(&s->v.counter, n, memory_order_relaxed);
}

void metrics_gauge_set(metrics_series *s, int64_t v)
{
    if (s != NULL && s->type == METRICS_GAUGE)
        atomic_store_explicit(&s->v.gauge, v, memory_order_relaxed);
}

void metrics_gauge_add(metrics_series *s, int64_t delta)
{
    if (s != NULL && s->type == METRICS_GAUGE)
        atomic_fetch_add_explicit(&s->v.gauge, delta, memory_order_relaxed);
}

void metrics_observe_ns(metrics_series *s, uint64_t ns)
{
    if (s != NULL && s->type == METRICS_HISTOGRAM)
        metrics_hist_observe(&s->v.hist, ns);
}

uint64_t metrics_counter_value(const metrics_series *s)
{
    if (s == NULL || s->type != METRICS_COUNTER)
        return 0;
    return atomic_load_explicit(&s->v.counter, memory_order_relaxed);
}

int64_t metrics_gauge_value(const metrics_series *s)
{
    if (s == NULL || s->type != METRICS_GAUGE)
        return 0;
    return atomic_load_explicit(&s->v.gauge, memory_order_relaxed);
}

void metrics_hist_observe(metrics_hist *h, uint64_t ns)
{
    size_t i = 0;

    while (i < METRICS_BUCKETS && ns > metrics_bounds_ns[i])
        i++;
    atomic_fetch_add_explicit(&h->buckets[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_ns, ns, memory_order_relaxed);
}

void metrics_hist_collect(metrics_hist_snap *s, const metrics_hist *h)
{
    for (size_t i = 0; i <= METRICS_BUCKETS; i++)
        s->buckets[i] += atomic_load_explicit(&h->buckets[i], memory_order_relaxed);
    s->sum_ns += atomic_load_explicit(&h->sum_ns, memory_order_relaxed);
}

uint64_t metrics_hist_count(const metrics_hist_snap *s)
{
    uint64_t n = 0;

    for (size_t i = 0; i <= METRICS_BUCKETS; i++)
        n += s->buckets[i];
    return n;
}

/* ---- text ---- */

/* Writes s, escaping backslash and newline, and `quote` too when it is set. */
static void write_escaped(FILE *out, const char *s, bool quote)
{
    for (; *s != '\0'; s++) {
        if (*s == '\\')
            fputs("\\\\", out);
        else if (*s == '\n')
            fputs("\\n", out);
        else if (quote && *s == '"')
            fputs("\\\"", out);
        else
            fputc(*s, out);
    }
}

/* Formats ns as seconds, exactly ("0.00025", "1", "2.5"), into buf. Returns buf. */
static const char *seconds_text(char buf[32], uint64_t ns)
{
    int len;

    if (ns % 1000000000u == 0) {
        snprintf(buf, 32, "%" PRIu64, ns / 1000000000u);
        return buf;
    }
    len = snprintf(buf, 32, "%" PRIu64 ".%09" PRIu64, ns / 1000000000u, ns % 1000000000u);
    while (len > 0 && buf[len - 1] == '0')
        buf[--len] = '\0';
    return buf;
}

/* Writes {names[0]="values[0]",...,le="<le>"}: le is left out when NULL, and the braces
 * when there is no label at all. */
static void write_labels(FILE *out, const char *const *names, const char *const *values,
                         size_t n, const char *le)
{
    if (n == 0 && le == NULL)
        return;
    fputc('{', out);
    for (size_t i = 0; i < n; i++) {
        fprintf(out, "%s%s=\"", i > 0 ? "," : "", names[i]);
        write_escaped(out, values[i], true);
        fputc('"', out);
    }
    if (le != NULL)
        fprintf(out, "%sle=\"%s\"", n > 0 ? "," : "", le);
    fputc('}', out);
}

void metrics_write_header(FILE *out, const char *name, const char *help, metrics_type type)
{
    static const char *const types[] = {"counter", "gauge", "histogram"};

    fprintf(out, "# HELP %s ", name);
    write_escaped(out, help, false);
    fprintf(out, "\n# TYPE %s %s\n", name, types[type]);
}

void metrics_write_u64(FILE *out, const char *name, const char *const *names,
                       const char *const *values, size_t n, uint64_t v)
{
    fputs(name, out);
    write_labels(out, names, values, n, NULL);
    fprintf(out, " %" PRIu64 "\n", v);
}

void metrics_hist_write(FILE *out, const char *name, const char *const *names,
                        const char *const *values, size_t n, const metrics_hist_snap *s)
{
    uint64_t cumulative = 0;
    char text[32];

    for (size_t i = 0; i <= METRICS_BUCKETS; i++) {
        cumulative += s->buckets[i];
        fprintf(out, "%s_bucket", name);
        write_labels(out, names, values, n,
                     i < METRICS_BUCKETS ? seconds_text(text, metrics_bounds_ns[i]) : "+Inf");
        fprintf(out, " %" PRIu64 "\n", cumulative);
    }
    fprintf(out, "%s_sum", name);
    write_labels(out, names, values, n, NULL);
    fprintf(out, " %s\n%s_count", seconds_text(text, s->sum_ns), name);
    write_labels(out, names, values, n, NULL);
    fprintf(out, " %" PRIu64 "\n", cumulative);
}

static void render_series(FILE *out, const metrics_family *f, const metrics_series *s)
{
    const char *const *values = (const char *const *)s->values;
    size_t n = family_arity(f);
    metrics_hist_snap snap = {0};

    switch (f->type) {
    case METRICS_COUNTER:
        metrics_write_u64(out, f->name, f->labels, values, n, metrics_counter_value(s));
        break;
    case METRICS_GAUGE:
        fputs(f->name, out);
        write_labels(out, f->labels, values, n, NULL);
        fprintf(out, " %" PRId64 "\n", metrics_gauge_value(s));
        break;
    case METRICS_HISTOGRAM:
        metrics_hist_collect(&snap, &s->v.hist);
        metrics_hist_write(out, f->name, f->labels, values, n, &snap);
        break;
    }
}

int metrics_render(metrics_registry *r, FILE *out)
{
    pthread_mutex_lock(&r->lock);
    for (const metrics_family *f = r->families; f != NULL; f = f->next) {
        size_t n = atomic_load_explicit(&f->n_series, memory_order_acquire);
        if (n == 0)
            continue;
        metrics_write_header(out, f->name, f->help, f->type);
        for (size_t i = 0; i < n; i++)
            render_series(out, f, f->series[i]);
    }
    pthread_mutex_unlock(&r->lock);
    return ferror(out) ? -EIO : 0;
}
