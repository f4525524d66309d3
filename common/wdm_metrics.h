/* wdm_metrics: the metrics of the store, the bus and the saga, with one function each to
 * record them (one-line calls from store.c, bus_*.c, order/saga*.c), in the process
 * registry (metrics_default), so a service's GET /metrics shows them.
 *
 * Every function is thread-safe, lock-free once its series exists, never fails and
 * costs a few atomic adds: call it right where the event happens. Label values are
 * fixed (the enums below), so series cannot pile up. wdm_metrics_init creates every
 * series up front so that each shows 0 before its first event (Prometheus' increase()
 * misses a series' first increment otherwise); the calls work without it.
 *
 *   name                                  type       labels             recorded by
 *   wdm_store_redis_errors_total          counter    kind               wdm_metrics_redis_error
 *   wdm_store_retries_total               counter                       wdm_metrics_store_retry
 *   wdm_store_master_resolutions_total    counter                       wdm_metrics_store_resolve
 *   wdm_store_failovers_total             counter                       wdm_metrics_store_failover
 *   wdm_store_wait_timeouts_total         counter                       wdm_metrics_store_wait_timeout
 *   wdm_bus_published_total               counter    result             wdm_metrics_bus_publish
 *   wdm_bus_confirm_seconds               histogram                     wdm_metrics_bus_publish
 *   wdm_bus_reconnects_total              counter    role               wdm_metrics_bus_reconnect
 *   wdm_bus_delivered_total               counter    redelivered        wdm_metrics_bus_delivered
 *   wdm_bus_amqp_messages_total           counter    direction          wdm_metrics_bus_amqp
 *   wdm_saga_started_total                counter                       wdm_metrics_saga_started
 *   wdm_saga_outcomes_total               counter    outcome, reason    wdm_metrics_saga_end
 *   wdm_saga_step_seconds                 histogram  step               wdm_metrics_saga_step
 *   wdm_saga_takeovers_total              counter                       wdm_metrics_saga_takeover
 *   wdm_saga_deadline_aborts_total        counter                       wdm_metrics_saga_deadline_abort
 *   wdm_saga_commands_resent_total        counter    command            wdm_metrics_saga_resent
 *
 * Elsewhere: wdm_rpc_* (rpc_server.c: requests by method and status, latency by method,
 * deferred calls in flight), wdm_gateway_* (gateway/metrics.h), process_*
 * (metrics_process.h). Durations are measured with metrics_now_ns / metrics_since_ns. */
#ifndef WDM_WDM_METRICS_H
#define WDM_WDM_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Creates every series of this file (all 0). Idempotent. */
void wdm_metrics_init(void);

/* ---- store (common/store.c) ---- */

/* The kind of a failed Redis call (label "kind"). */
typedef enum wdm_redis_error {
    WDM_REDIS_ERR_CONNECTION, /* connect, I/O or protocol error, timeout, closed */
    WDM_REDIS_ERR_READONLY,   /* -READONLY: the "master" was a replica */
    WDM_REDIS_ERR_LOADING,    /* -LOADING */
    WDM_REDIS_ERR_MASTERDOWN, /* -MASTERDOWN */
    WDM_REDIS_ERR_NOSCRIPT,   /* -NOSCRIPT: a script to load again */
    WDM_REDIS_ERR_SCRIPT,     /* a script raised an error (store: -EPROTO) */
    WDM_REDIS_ERR_OTHER,      /* any other error reply */
    WDM_REDIS_ERR_KINDS
} wdm_redis_error;

/* Counts one failed Redis call: wdm_store_redis_errors_total{kind}. */
void wdm_metrics_redis_error(wdm_redis_error kind);

/* The kind of an error reply's text ("READONLY You can't write...", ...): READONLY,
 * LOADING, MASTERDOWN, NOSCRIPT by their prefix, else OTHER; NULL is CONNECTION. Scripts'
 * own errors are OTHER here: the caller knows when it ran a script. */
wdm_redis_error wdm_metrics_redis_error_kind(const char *reply_text);

/* One more attempt of a store call after a failure (store_run's retry loop). */
void wdm_metrics_store_retry(void);
/* The Sentinels were asked for the master (store_resolve). */
void wdm_metrics_store_resolve(void);
/* The master's address changed from the one before (store_connect's "failed over"). */
void wdm_metrics_store_failover(void);
/* WAIT 1 returned without a replica's acknowledgement within its timeout. */
void wdm_metrics_store_wait_timeout(void);

/* ---- bus (common/bus_*.c) ---- */

/* Publishing n messages (a batch) ended: rv 0 when every one was confirmed (then ns,
 * from the first basic.publish to the last confirm, goes into wdm_bus_confirm_seconds),
 * else they count as failed (to be re-sent). wdm_bus_published_total{result="confirmed"|
 * "failed"} grows by n. */
void wdm_metrics_bus_publish(size_t n, uint64_t ns, int rv);

typedef enum wdm_bus_role { WDM_BUS_PUBLISHER, WDM_BUS_CONSUMER, WDM_BUS_ROLES } wdm_bus_role;

/* A connection to the broker was lost and is being opened again. */
void wdm_metrics_bus_reconnect(wdm_bus_role role);

/* n AMQP messages (each a batch of records) were published, or consumed. */
void wdm_metrics_bus_amqp(bool consumed, size_t n);

/* A consumer received n deliveries, `redelivered` of them flagged redelivered. */
void wdm_metrics_bus_delivered(size_t n, size_t redelivered);

/* ---- saga (order/saga*.c) ---- */

/* A saga was recorded as started (checkout_begin.lua said so). */
void wdm_metrics_saga_started(void);

/* How a saga ended (labels outcome and reason). */
typedef enum wdm_saga_end {
    WDM_SAGA_COMMITTED,          /* committed, reason="none" */
    WDM_SAGA_ABORTED_NO_CREDIT,  /* aborted, reason="no_credit": payment rejected */
    WDM_SAGA_ABORTED_NO_STOCK,   /* aborted, reason="no_stock": stock rejected, refunded */
    WDM_SAGA_ABORTED_DEADLINE,   /* aborted, reason="deadline": no answer in time */
    WDM_SAGA_ABORTED_OTHER,      /* aborted, reason="other" */
    WDM_SAGA_ENDS
} wdm_saga_end;

/* A saga reached COMMITTED or ABORTED: count it once, where the final transition
 * happened (the script that wrote it said it was new, not a repeat). */
void wdm_metrics_saga_end(wdm_saga_end end);

/* The saga's steps: the command sent, until its outcome event came back (label "step"). */
typedef enum wdm_saga_step {
    WDM_SAGA_STEP_CHARGE,
    WDM_SAGA_STEP_RESERVE,
    WDM_SAGA_STEP_REFUND,
    WDM_SAGA_STEP_RELEASE,
    WDM_SAGA_STEPS
} wdm_saga_step;

/* One step took ns (command published .. its event handled): wdm_saga_step_seconds{step}. */
void wdm_metrics_saga_step(wdm_saga_step step, uint64_t ns);

/* This replica took over a saga whose owner's lease expired. */
void wdm_metrics_saga_takeover(void);
/* A saga passed its deadline and is being aborted (compensation starts). */
void wdm_metrics_saga_deadline_abort(void);
/* A command was sent again for a saga (after a takeover or a repeated event). */
void wdm_metrics_saga_resent(wdm_saga_step command);

#endif
