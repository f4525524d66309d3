/* service: the process scaffold shared by stock, payment and order.
 *
 * service_main reads the common settings (WDM_LISTEN_URL, WDM_WORKERS, WDM_SENTINELS,
 * WDM_SENTINEL_PASSWORD, WDM_REDIS_MASTER, WDM_REDIS_PASSWORD, WDM_WAIT_TIMEOUT_MS,
 * WDM_RETRY_DEADLINE_MS, WDM_METRICS_ADDR), gives the rpc workers one shared store
 * connection (group commit: store.h) and the bus consumer and ticker one each, serves
 * the service's methods plus "<name>.health", optionally consumes a queue of the saga
 * bus (WDM_RABBITMQ_URL and the other bus settings, see bus.h), serves GET /metrics on
 * WDM_METRICS_ADDR ("host:port", unset or empty: not at all; metrics_http.h), and runs
 * until SIGTERM or SIGINT. */
#ifndef WDM_SERVICE_H
#define WDM_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bus.h"
#include "rpc_server.h"
#include "store.h"

/* The state every handler receives as its `state` argument. */
typedef struct service_worker {
    store *store;       /* the Redis connection: the rpc workers share one (group commit,
                         * store.h); the bus consumer and the ticker own theirs */
    bool owns_store;
    void *shared;       /* the service's process-wide state (from service_def.init) */
    uint64_t rng;       /* this worker's random state (service_random) */
    store_batch *batch; /* for the RPC batches it runs (svc_step.h), made on first use */
} service_worker;

typedef struct service_def {
    const char *name;                 /* "stock": default WDM_REDIS_MASTER, health method */
    const rpc_method *methods;
    size_t n_methods;
    store_script *scripts;
    size_t n_scripts;
    /* Optional process-wide state (e.g. rpc clients to other services), created before
     * the workers start and destroyed after they stop. Returns 0 or a negative error. */
    int (*init)(void **shared);
    void (*fini)(void *shared);
    /* Optional saga bus consumer. When on_bus is set, one thread with a service_worker
     * of its own (its own store) consumes the queue that bus_queue names (writing the
     * name into buf; 0 or a negative error) and hands each batch to on_bus, with the
     * contract of bus_batch_fn: return 0 once every delivery's effect is durable. */
    int (*bus_queue)(void *shared, char *buf, size_t size);
    int (*on_bus)(service_worker *w, const bus_delivery *d, size_t n, bus_outbox *out);
    /* Optional periodic work: tick runs every tick_ms on a thread with a service_worker
     * of its own, from start-up until the service stops. */
    void (*tick)(service_worker *w);
    int tick_ms;
} service_def;

/* Runs the service; returns the process exit status. */
int service_main(const service_def *def);

/* Writes a fresh random id (32 hex characters + NUL) into buf[33]. */
void service_new_id(char buf[33]);

/* A uniform random number in [0, n), from the worker's own generator. */
uint64_t service_random(service_worker *w, uint64_t n);

/* Writes the idempotency record key of this call ("idem:<method>:<key>") into buf.
 * Returns 0, or answers INVALID_ARGUMENT and returns -EINVAL when the call has no
 * usable key. */
int service_idem_key(rpc_call *call, char *buf, size_t size);

/* Answers a call whose store operation failed with rv: UNAVAILABLE, logged. */
void service_fail_store(rpc_call *call, int rv);

#endif
