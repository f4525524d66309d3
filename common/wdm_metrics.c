/* wdm_metrics: the store, bus and saga metrics (see wdm_metrics.h). */
#include "wdm_metrics.h"

#include <string.h>

#include "metrics.h"

/* A family and the label values of each of its series, row by row (a row has one value
 * per label; the row's index is the enum value of the recording call). */
typedef struct wdm_family {
    metrics_family family;
    const char *const *rows;
    size_t n_rows;
} wdm_family;

#define ROWS(a) (a), sizeof(a) / sizeof((a)[0])
#define FAMILY(type_, name_, help_, ...)                                                        \
    {.type = (type_), .name = (name_), .help = (help_), .labels = {__VA_ARGS__}}

static const char *const redis_kinds[WDM_REDIS_ERR_KINDS] = {
    "connection", "readonly", "loading", "masterdown", "noscript", "script", "other"};
static const char *const publish_results[] = {"confirmed", "failed"};
static const char *const bus_roles[WDM_BUS_ROLES] = {"publisher", "consumer"};
static const char *const redelivered_flags[] = {"false", "true"};
static const char *const amqp_directions[] = {"published", "consumed"};
static const char *const saga_ends[WDM_SAGA_ENDS * 2] = {
    "committed", "none",     "aborted", "no_credit", "aborted", "no_stock",
    "aborted",   "deadline", "aborted", "other"};
static const char *const saga_steps[WDM_SAGA_STEPS] = {"charge", "reserve", "refund", "release"};

/* The families, by id. */
enum {
    F_REDIS_ERRORS,
    F_STORE_RETRIES,
    F_STORE_RESOLUTIONS,
    F_STORE_FAILOVERS,
    F_STORE_WAIT_TIMEOUTS,
    F_BUS_PUBLISHED,
    F_BUS_CONFIRM,
    F_BUS_RECONNECTS,
    F_BUS_DELIVERED,
    F_BUS_AMQP_MESSAGES,
    F_SAGA_STARTED,
    F_SAGA_OUTCOMES,
    F_SAGA_STEP_SECONDS,
    F_SAGA_TAKEOVERS,
    F_SAGA_DEADLINE_ABORTS,
    F_SAGA_RESENT,
    F_COUNT
};

/* A family without labels has one series: one row of no values. */
#define NO_LABELS NULL, 1

static wdm_family families[F_COUNT] = {
    [F_REDIS_ERRORS] = {FAMILY(METRICS_COUNTER, "wdm_store_redis_errors_total",
                               "Failed Redis calls, by kind.", "kind"),
                        ROWS(redis_kinds)},
    [F_STORE_RETRIES] = {FAMILY(METRICS_COUNTER, "wdm_store_retries_total",
                                "Store calls attempted again after a failure."),
                         NO_LABELS},
    [F_STORE_RESOLUTIONS] = {FAMILY(METRICS_COUNTER, "wdm_store_master_resolutions_total",
                                    "Times the Sentinels were asked for the Redis master."),
                             NO_LABELS},
    [F_STORE_FAILOVERS] = {FAMILY(METRICS_COUNTER, "wdm_store_failovers_total",
                                  "Times the Redis master turned out to be at a new address."),
                           NO_LABELS},
    [F_STORE_WAIT_TIMEOUTS] = {FAMILY(METRICS_COUNTER, "wdm_store_wait_timeouts_total",
                                      "WAITs that no replica acknowledged in time."),
                               NO_LABELS},
    [F_BUS_PUBLISHED] = {FAMILY(METRICS_COUNTER, "wdm_bus_published_total",
                                "Messages published to the broker, by whether the broker "
                                "confirmed them.",
                                "result"),
                         ROWS(publish_results)},
    [F_BUS_CONFIRM] = {FAMILY(METRICS_HISTOGRAM, "wdm_bus_confirm_seconds",
                              "Time from publishing a batch of messages until the broker "
                              "confirmed all of it."),
                       NO_LABELS},
    [F_BUS_RECONNECTS] = {FAMILY(METRICS_COUNTER, "wdm_bus_reconnects_total",
                                 "Broker connections lost and opened again, by role.", "role"),
                          ROWS(bus_roles)},
    [F_BUS_DELIVERED] = {FAMILY(METRICS_COUNTER, "wdm_bus_delivered_total",
                                "Messages delivered to this process's consumer, by the "
                                "redelivered flag.",
                                "redelivered"),
                         ROWS(redelivered_flags)},
    [F_BUS_AMQP_MESSAGES] = {FAMILY(METRICS_COUNTER, "wdm_bus_amqp_messages_total",
                                    "AMQP messages, each carrying one or more of the records "
                                    "counted above, by direction.",
                                    "direction"),
                             ROWS(amqp_directions)},
    [F_SAGA_STARTED] = {FAMILY(METRICS_COUNTER, "wdm_saga_started_total",
                               "Checkout sagas started."),
                        NO_LABELS},
    [F_SAGA_OUTCOMES] = {FAMILY(METRICS_COUNTER, "wdm_saga_outcomes_total",
                                "Checkout sagas ended, by outcome and the reason of an abort.",
                                "outcome", "reason"),
                         saga_ends, WDM_SAGA_ENDS},
    [F_SAGA_STEP_SECONDS] = {FAMILY(METRICS_HISTOGRAM, "wdm_saga_step_seconds",
                                    "Time from sending a saga command until its outcome event "
                                    "was handled, by step.",
                                    "step"),
                             ROWS(saga_steps)},
    [F_SAGA_TAKEOVERS] = {FAMILY(METRICS_COUNTER, "wdm_saga_takeovers_total",
                                 "Sagas taken over from an owner whose lease expired."),
                          NO_LABELS},
    [F_SAGA_DEADLINE_ABORTS] = {FAMILY(METRICS_COUNTER, "wdm_saga_deadline_aborts_total",
                                       "Sagas aborted because they passed their deadline."),
                                NO_LABELS},
    [F_SAGA_RESENT] = {FAMILY(METRICS_COUNTER, "wdm_saga_commands_resent_total",
                              "Saga commands sent again (takeover, repeated event), by command.",
                              "command"),
                       ROWS(saga_steps)},
};

/* The series of row i of family `id` (0 for a family without labels); an index out of
 * range (a bad enum value) is the last row. NULL only when it cannot be created. */
static metrics_series *row(size_t id, size_t i)
{
    wdm_family *f = &families[id];
    size_t arity = 0;

    while (arity < METRICS_MAX_LABELS && f->family.labels[arity] != NULL)
        arity++;
    if (i >= f->n_rows)
        i = f->n_rows - 1;
    return metrics_series_get(&f->family, arity ? &f->rows[i * arity] : NULL, arity);
}

void wdm_metrics_init(void)
{
    for (size_t id = 0; id < F_COUNT; id++)
        for (size_t r = 0; r < families[id].n_rows; r++)
            row(id, r);
}

/* ---- store ---- */

void wdm_metrics_redis_error(wdm_redis_error kind)
{
    metrics_counter_inc(row(F_REDIS_ERRORS, kind));
}

wdm_redis_error wdm_metrics_redis_error_kind(const char *reply_text)
{
    static const struct {
        const char *prefix;
        wdm_redis_error kind;
    } prefixes[] = {
        {"READONLY", WDM_REDIS_ERR_READONLY},
        {"LOADING", WDM_REDIS_ERR_LOADING},
        {"MASTERDOWN", WDM_REDIS_ERR_MASTERDOWN},
        {"NOSCRIPT", WDM_REDIS_ERR_NOSCRIPT},
    };

    if (reply_text == NULL)
        return WDM_REDIS_ERR_CONNECTION;
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
        if (strncmp(reply_text, prefixes[i].prefix, strlen(prefixes[i].prefix)) == 0)
            return prefixes[i].kind;
    return WDM_REDIS_ERR_OTHER;
}

void wdm_metrics_store_retry(void)
{
    metrics_counter_inc(row(F_STORE_RETRIES, 0));
}

void wdm_metrics_store_resolve(void)
{
    metrics_counter_inc(row(F_STORE_RESOLUTIONS, 0));
}

void wdm_metrics_store_failover(void)
{
    metrics_counter_inc(row(F_STORE_FAILOVERS, 0));
}

void wdm_metrics_store_wait_timeout(void)
{
    metrics_counter_inc(row(F_STORE_WAIT_TIMEOUTS, 0));
}

/* ---- bus ---- */

void wdm_metrics_bus_publish(size_t n, uint64_t ns, int rv)
{
    metrics_counter_add(row(F_BUS_PUBLISHED, rv == 0 ? 0 : 1), n);
    if (rv == 0)
        metrics_observe_ns(row(F_BUS_CONFIRM, 0), ns);
}

void wdm_metrics_bus_reconnect(wdm_bus_role role)
{
    metrics_counter_inc(row(F_BUS_RECONNECTS, role));
}

void wdm_metrics_bus_amqp(bool consumed, size_t n)
{
    metrics_counter_add(row(F_BUS_AMQP_MESSAGES, consumed ? 1 : 0), n);
}

void wdm_metrics_bus_delivered(size_t n, size_t redelivered)
{
    if (redelivered > n)
        redelivered = n;
    metrics_counter_add(row(F_BUS_DELIVERED, 0), n - redelivered);
    metrics_counter_add(row(F_BUS_DELIVERED, 1), redelivered);
}

/* ---- saga ---- */

void wdm_metrics_saga_started(void)
{
    metrics_counter_inc(row(F_SAGA_STARTED, 0));
}

void wdm_metrics_saga_end(wdm_saga_end end)
{
    metrics_counter_inc(row(F_SAGA_OUTCOMES, end));
}

void wdm_metrics_saga_step(wdm_saga_step step, uint64_t ns)
{
    metrics_observe_ns(row(F_SAGA_STEP_SECONDS, step), ns);
}

void wdm_metrics_saga_takeover(void)
{
    metrics_counter_inc(row(F_SAGA_TAKEOVERS, 0));
}

void wdm_metrics_saga_deadline_abort(void)
{
    metrics_counter_inc(row(F_SAGA_DEADLINE_ABORTS, 0));
}

void wdm_metrics_saga_resent(wdm_saga_step command)
{
    metrics_counter_inc(row(F_SAGA_RESENT, command));
}
