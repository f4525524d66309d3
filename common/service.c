/* service: settings, store connections (one shared by the rpc workers, one each for the
 * bus consumer and the ticker), health, and the run loop shared by stock, payment and
 * order (see service.h). */
#include "service.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "config.h"
#include "log.h"
#include "metrics_http.h"
#include "svc_step.h"
#include "wdm_metrics.h"

/* How long a starting service waits for its Redis master to appear. */
#define SERVICE_STARTUP_MS 60000

typedef struct service_ctx {
    const service_def *def;
    store_config store_cfg;
    store *rpc_store;            /* shared by every rpc worker */
    void *shared;
    bus_config bus_cfg;
    bus_consumer *consumer;
    service_worker *bus_worker;
    pthread_t ticker;
    service_worker *tick_worker;
    atomic_bool stopping;
    const char *metrics_addr;   /* WDM_METRICS_ADDR; "" for no /metrics listener */
    metrics_http *metrics;
} service_ctx;

static void random_bytes(void *buf, size_t len)
{
    uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = getrandom(p, len, 0);
        if (n <= 0)
            continue; /* EINTR; the kernel pool never runs dry after boot */
        p += n;
        len -= (size_t)n;
    }
}

void service_new_id(char buf[33])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t raw[16];

    random_bytes(raw, sizeof(raw));
    for (int i = 0; i < 16; i++) {
        buf[2 * i] = hex[raw[i] >> 4];
        buf[2 * i + 1] = hex[raw[i] & 15];
    }
    buf[32] = '\0';
}

uint64_t service_random(service_worker *w, uint64_t n)
{
    /* xorshift64*: fast, and plenty for picking random batch_init lines. */
    w->rng ^= w->rng >> 12;
    w->rng ^= w->rng << 25;
    w->rng ^= w->rng >> 27;
    return n ? (w->rng * 2685821657736338717ULL) % n : 0;
}

int service_idem_key(rpc_call *call, char *buf, size_t size)
{
    int n;

    if (call->idempotency_key == NULL || call->idempotency_key[0] == '\0') {
        rpc_call_fail(call, WDM__STATUS__INVALID_ARGUMENT, "missing idempotency key");
        return -EINVAL;
    }
    n = snprintf(buf, size, "idem:%s:%s", call->method, call->idempotency_key);
    if (n < 0 || (size_t)n >= size) {
        rpc_call_fail(call, WDM__STATUS__INVALID_ARGUMENT, "idempotency key too long");
        return -EINVAL;
    }
    return 0;
}

void service_fail_store(rpc_call *call, int rv)
{
    log_warn("%s: storage failed: %s", call->method, strerror(-rv));
    rpc_call_fail(call, WDM__STATUS__UNAVAILABLE, "storage unavailable");
}

/* "<name>.health": OK when this worker's Redis master answers. */
static void service_health(void *state, rpc_call *call)
{
    service_worker *w = state;
    const char *argv[] = {"PING"};
    redisReply *r = NULL;
    int rv;

    if ((rv = store_read(w->store, &r, 1, argv, NULL)) != 0) {
        service_fail_store(call, rv);
        return;
    }
    freeReplyObject(r);
    call->status = WDM__STATUS__OK; /* an empty reply */
}

/* Opens a store connection, waiting for the master up to SERVICE_STARTUP_MS.
 * Returns 0 or a negative error (logged). */
static int service_store_open(service_ctx *ctx, store **st)
{
    struct timespec start, now;
    int rv;

    clock_gettime(CLOCK_MONOTONIC, &start);
    while ((rv = store_open(st, &ctx->store_cfg, ctx->def->scripts, ctx->def->n_scripts)) != 0) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (rv != -EAGAIN || (now.tv_sec - start.tv_sec) * 1000 > SERVICE_STARTUP_MS) {
            log_error("no Redis master for %s: %s", ctx->store_cfg.master_name, strerror(-rv));
            return rv;
        }
    }
    return 0;
}

/* Creates a worker's state: rpc workers (index >= 0) use the shared store, the bus
 * consumer and the ticker (index -1) a store of their own. Returns 0 and sets *state,
 * or a negative error. */
static int service_worker_init(void *arg, int index, void **state)
{
    service_ctx *ctx = arg;
    service_worker *w;
    int rv;

    if ((w = calloc(1, sizeof(*w))) == NULL)
        return -ENOMEM;
    w->shared = ctx->shared;
    random_bytes(&w->rng, sizeof(w->rng));
    w->rng |= 1;
    if (index >= 0) {
        w->store = ctx->rpc_store;
    } else if ((rv = service_store_open(ctx, &w->store)) != 0) {
        free(w);
        return rv;
    } else {
        w->owns_store = true;
    }
    *state = w;
    return 0;
}

static void service_worker_fini(void *state)
{
    service_worker *w = state;
    if (w->owns_store)
        store_close(w->store);
    store_batch_free(w->batch);
    free(w);
}

/* bus_batch_fn for the service's consumer: hands the batch to def->on_bus. */
static int service_bus_batch(void *arg, const bus_delivery *d, size_t n, bus_outbox *out)
{
    service_ctx *ctx = arg;
    return ctx->def->on_bus(ctx->bus_worker, d, n, out);
}

/* Starts the saga bus consumer when the service has one. Returns 0 or a negative error. */
static int service_bus_start(service_ctx *ctx)
{
    char queue[BUS_QUEUE_MAX];
    void *state;
    int rv;

    if (ctx->def->on_bus == NULL)
        return 0;
    if ((rv = bus_config_read(&ctx->bus_cfg)) != 0 ||
        (rv = ctx->def->bus_queue(ctx->shared, queue, sizeof(queue))) != 0)
        return rv;
    if ((rv = service_worker_init(ctx, -1, &state)) != 0)
        return rv;
    ctx->bus_worker = state;
    if ((rv = bus_consumer_start(&ctx->consumer, &ctx->bus_cfg, queue, service_bus_batch, ctx)) != 0) {
        service_worker_fini(ctx->bus_worker);
        ctx->bus_worker = NULL;
    }
    return rv;
}

static void service_bus_stop(service_ctx *ctx)
{
    if (ctx->consumer == NULL)
        return;
    bus_consumer_stop(ctx->consumer);
    service_worker_fini(ctx->bus_worker);
}

static void *service_tick_main(void *arg)
{
    service_ctx *ctx = arg;
    struct timespec period = {ctx->def->tick_ms / 1000, (long)(ctx->def->tick_ms % 1000) * 1000000L};

    while (!atomic_load(&ctx->stopping)) {
        nanosleep(&period, NULL);
        ctx->def->tick(ctx->tick_worker);
    }
    return NULL;
}

/* Starts the tick thread when the service has one. Returns 0 or a negative error. */
static int service_tick_start(service_ctx *ctx)
{
    void *state;
    int rv;

    if (ctx->def->tick == NULL)
        return 0;
    if ((rv = service_worker_init(ctx, -1, &state)) != 0)
        return rv;
    ctx->tick_worker = state;
    if (pthread_create(&ctx->ticker, NULL, service_tick_main, ctx) != 0) {
        service_worker_fini(ctx->tick_worker);
        ctx->tick_worker = NULL;
        return -EAGAIN;
    }
    return 0;
}

/* Starts the /metrics listener when WDM_METRICS_ADDR is set. Returns 0 or a negative
 * error (a set address that cannot be listened on is a start-up error). */
static int service_metrics_start(service_ctx *ctx)
{
    metrics_http_config cfg = {.addr = ctx->metrics_addr};
    int rv;

    wdm_metrics_init();
    if (ctx->metrics_addr[0] == '\0')
        return 0;
    if ((rv = metrics_http_start(&ctx->metrics, &cfg)) != 0) {
        log_error("WDM_METRICS_ADDR=%s: cannot listen: %s", ctx->metrics_addr, strerror(-rv));
        return rv;
    }
    log_info("metrics on http://%s/metrics", ctx->metrics_addr);
    return 0;
}

static void service_metrics_stop(service_ctx *ctx)
{
    if (ctx->metrics != NULL)
        metrics_http_stop(ctx->metrics);
    ctx->metrics = NULL;
}

static void service_tick_stop(service_ctx *ctx)
{
    if (ctx->tick_worker == NULL)
        return;
    atomic_store(&ctx->stopping, true);
    pthread_join(ctx->ticker, NULL);
    service_worker_fini(ctx->tick_worker);
}

/* Reads the store settings; returns 0 or -EINVAL. */
static int service_read_config(service_ctx *ctx, int64_t *workers, const char **listen)
{
    int64_t wait_ms, deadline_ms;
    int rv;

    *listen = config_str("WDM_LISTEN_URL", NULL);
    if (*listen == NULL) {
        log_error("WDM_LISTEN_URL is not set (e.g. tcp://127.0.0.1:7051)");
        return -EINVAL;
    }
    if ((rv = config_int("WDM_WORKERS", 16, 1, 1024, workers)) != 0 ||
        (rv = config_int("WDM_WAIT_TIMEOUT_MS", 1000, 1, 60000, &wait_ms)) != 0 ||
        (rv = config_int("WDM_RETRY_DEADLINE_MS", 10000, 100, 600000, &deadline_ms)) != 0)
        return rv;
    ctx->store_cfg.sentinels = config_str("WDM_SENTINELS", "127.0.0.1:26379");
    ctx->store_cfg.sentinel_password = config_str("WDM_SENTINEL_PASSWORD", "");
    ctx->store_cfg.master_name = config_str("WDM_REDIS_MASTER", ctx->def->name);
    ctx->store_cfg.password = config_str("WDM_REDIS_PASSWORD", "");
    ctx->store_cfg.wait_timeout_ms = (int)wait_ms;
    ctx->store_cfg.retry_deadline_ms = (int)deadline_ms;
    ctx->metrics_addr = config_str("WDM_METRICS_ADDR", "");
    return 0;
}

int service_main(const service_def *def)
{
    service_ctx ctx = {.def = def};
    rpc_server_config cfg = {0};
    rpc_server *srv = NULL;
    rpc_method *methods;
    char health_name[64];
    const char *listen;
    int64_t workers;
    sigset_t sigs;
    int sig, rv;

    log_init(def->name);
    if (service_read_config(&ctx, &workers, &listen) != 0)
        return 2;
    /* The method table: the service's own, then "<name>.health". */
    if ((methods = calloc(def->n_methods + 1, sizeof(*methods))) == NULL)
        return 1;
    memcpy(methods, def->methods, def->n_methods * sizeof(*methods));
    snprintf(health_name, sizeof(health_name), "%s.health", def->name);
    methods[def->n_methods] = (rpc_method){health_name, service_health, NULL};

    /* Block the stop signals before any thread starts, so only sigwait below sees them. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (def->init && (rv = def->init(&ctx.shared)) != 0) {
        log_error("init failed: %s", strerror(-rv));
        free(methods);
        return 1;
    }
    if ((rv = service_store_open(&ctx, &ctx.rpc_store)) != 0)
        goto out;
    cfg = (rpc_server_config){
        .listen_url = listen,
        .workers = (int)workers,
        .methods = methods,
        .n_methods = def->n_methods + 1,
        .worker_init = service_worker_init,
        .worker_fini = service_worker_fini,
        .arg = &ctx,
        .run_batch = svc_run_batch,
    };
    if ((rv = rpc_server_start(&srv, &cfg)) != 0) {
        log_error("cannot start rpc server on %s: %s", listen, strerror(-rv));
        goto out;
    }
    if ((rv = service_metrics_start(&ctx)) != 0) {
        rpc_server_stop(srv);
        goto out;
    }
    if ((rv = service_bus_start(&ctx)) != 0 || (rv = service_tick_start(&ctx)) != 0) {
        log_error("cannot start the bus consumer or the ticker: %s", strerror(-rv));
        service_bus_stop(&ctx);
        service_metrics_stop(&ctx);
        rpc_server_stop(srv);
        goto out;
    }
    log_info("serving %s on %s with %d workers (Redis group %s)", def->name, listen, cfg.workers,
             ctx.store_cfg.master_name);
    sigwait(&sigs, &sig);
    log_info("signal %d: stopping", sig);
    service_tick_stop(&ctx);
    service_bus_stop(&ctx);
    rpc_server_stop(srv);
    service_metrics_stop(&ctx);
out:
    store_close(ctx.rpc_store);
    if (def->fini)
        def->fini(ctx.shared);
    free(methods);
    return rv == 0 ? 0 : 1;
}
