/* gateway: the HTTP front of the checkout system (DESIGN §3).
 *
 * Settings: WDM_GATEWAY_PORT [8000], WDM_GATEWAY_THREADS [2], WDM_GATEWAY_IDLE_TIMEOUT_S
 * [75] (how long a keep-alive connection may stay idle, advertised in every answer's
 * Keep-Alive header; longer than the connection pools of common clients keep one, so
 * that none reuses a connection the gateway is closing), WDM_GATEWAY_MAX_CALLS [4096]
 * (requests waiting for a service at once; past it 503 with Retry-After),
 * WDM_GATEWAY_MAX_CONNECTIONS [10000] (open connections; past it 503 with Retry-After,
 * and the connection is closed),
 * WDM_ADMIN_ADDR [127.0.0.1:9100] (the internal listener for /metrics and /admin/sagas;
 * "none" for no listener), WDM_BATCH_INIT and WDM_ADMIN_TOKEN (guard.h), and the nng URLs
 * of every service's replicas: WDM_STOCK_URLS, WDM_PAYMENT_URLS, WDM_ORDER_URLS
 * (required, comma-separated). Runs until SIGTERM or SIGINT, then drains (see
 * gateway_stop). */
#include <errno.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "config.h"
#include "gateway.h"
#include "handler.h"
#include "log.h"
#include "server.h"

#define MAX_REQUEST_BODY (64 * 1024)
/* After a stop signal, in-flight calls get this long to finish; the rest are cancelled
 * (and answered 503). */
#define DRAIN_MS 5000

/* The process's state. Static so that what h2o keeps until exit stays reachable. */
static gw gateway;

static const char *const url_settings[GW_N_SERVICES] = {"WDM_STOCK_URLS", "WDM_PAYMENT_URLS",
                                                        "WDM_ORDER_URLS"};

/* Descriptors the process needs besides its connections': listeners, nng, logs. */
#define FD_RESERVE 256

/* Raises the soft descriptor limit to the hard one: every connection holds two
 * descriptors (linger.c). Warns when the connection cap still does not fit, since
 * accepting then pauses at the limit before the cap is reached. */
static void fit_descriptors(int64_t max_conns)
{
    struct rlimit rl;
    rlim_t need = (rlim_t)(2 * max_conns + FD_RESERVE);

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            (void)getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need)
        log_warn("WDM_GATEWAY_MAX_CONNECTIONS=%lld needs %llu descriptors, the limit is %llu: "
                 "accepting will pause at ~%llu connections",
                 (long long)max_conns, (unsigned long long)need,
                 (unsigned long long)rl.rlim_cur,
                 (unsigned long long)(rl.rlim_cur > FD_RESERVE ? (rl.rlim_cur - FD_RESERVE) / 2 : 0));
}

/* Reads the settings into g and opens one rpc client per service.
 * Returns 0 or a negative errno (logged). */
static int gateway_configure(gw *g)
{
    static char keep_alive[32];
    int64_t port, threads, idle_s, max_calls, max_conns;
    int rv;

    if ((rv = config_int("WDM_GATEWAY_PORT", 8000, 1, 65535, &port)) != 0 ||
        (rv = config_int("WDM_GATEWAY_THREADS", 2, 1, 256, &threads)) != 0 ||
        (rv = config_int("WDM_GATEWAY_IDLE_TIMEOUT_S", 75, 1, 3600, &idle_s)) != 0 ||
        (rv = config_int("WDM_GATEWAY_MAX_CALLS", 4096, 1, 1 << 20, &max_calls)) != 0 ||
        (rv = config_int("WDM_GATEWAY_MAX_CONNECTIONS", 10000, 1, 1 << 20, &max_conns)) != 0)
        return rv;
    g->port = (uint16_t)port;
    g->n_threads = (size_t)threads;
    g->idle_timeout_s = (uint32_t)idle_s;
    g->max_calls_per_thread = (long)((max_calls + threads - 1) / threads);
    g->max_connections_per_thread = (long)((max_conns + threads - 1) / threads);
    fit_descriptors(max_conns);
    g->keep_alive.len = (size_t)snprintf(keep_alive, sizeof(keep_alive), "timeout=%u",
                                         (unsigned)idle_s);
    g->keep_alive.base = keep_alive;
    g->admin_addr = config_str("WDM_ADMIN_ADDR", "127.0.0.1:9100");
    if (strcmp(g->admin_addr, "none") == 0)
        g->admin_addr = NULL;
    if ((rv = gw_guard_configure(&g->guard)) != 0)
        return rv;
    for (size_t i = 0; i < GW_N_SERVICES; i++) {
        const char *urls = config_str(url_settings[i], NULL);
        if (urls == NULL) {
            log_error("%s is not set", url_settings[i]);
            return -EINVAL;
        }
        if ((rv = rpc_client_open(&g->clients[i], urls)) != 0) {
            log_error("%s=%s: %s", url_settings[i], urls, strerror(-rv));
            return rv;
        }
    }
    return 0;
}

/* Builds the h2o configuration (a host per listener, each with our handler at "/"), the
 * per-thread metrics and the threads, and starts them. Returns 0 or a negative errno
 * (logged). */
static int gateway_start(gw *g)
{
    static const char *const host_names[GW_N_LISTENERS] = {"public", "admin"};
    size_t size = g->n_threads * sizeof(gw_metrics);
    int rv;

    h2o_config_init(&g->config);
    g->config.max_request_entity_size = MAX_REQUEST_BODY;
    /* h2o's request timeout is also its keep-alive idle timeout (and bounds how long the
     * head of a request may take to arrive). */
    g->config.http1.req_timeout = ((uint64_t)g->idle_timeout_s + GW_IDLE_GRACE_S) * 1000;
    g->config.http2.idle_timeout = g->config.http1.req_timeout;
    /* HTTP/1.1 only: no cleartext HTTP/2 (neither by Upgrade nor by prior knowledge).
     * h2o 2.2.5 has no defence against the HTTP/2 rapid-reset flood, and the API gains
     * nothing from HTTP/2 behind a proxy that speaks HTTP/1.1 to us anyway. */
    g->config.http1.upgrade_to_http2 = 0;
    /* A listener's connections see only its own host, whatever their Host header says. */
    for (size_t i = 0; i < GW_N_LISTENERS; i++) {
        h2o_hostconf_t *host = h2o_config_register_host(
            &g->config, h2o_iovec_init(host_names[i], strlen(host_names[i])), 65535);
        gw_handler_install(h2o_config_register_path(host, "/", 0), i);
        g->hosts[i][0] = host;
        g->hosts[i][1] = NULL;
    }

    /* gw_metrics is 64-byte aligned, so that threads never share a cache line. */
    if ((g->metrics = aligned_alloc(_Alignof(gw_metrics), size)) == NULL ||
        (g->threads = calloc(g->n_threads, sizeof(gw_thread))) == NULL)
        return -ENOMEM;
    memset(g->metrics, 0, size);
    for (size_t i = 0; i < g->n_threads; i++)
        if ((rv = gw_thread_init(g, i)) != 0)
            return rv;
    if ((rv = pthread_barrier_init(&g->started, NULL, (unsigned)g->n_threads + 1)) != 0)
        return -rv;
    for (size_t i = 0; i < g->n_threads; i++)
        if ((rv = gw_thread_start(&g->threads[i])) != 0)
            return rv;
    /* Until every thread has registered its receiver, none may be woken (gw_thread_stop). */
    pthread_barrier_wait(&g->started);
    return 0;
}

static long pending_total(gw *g)
{
    long n = 0;

    for (size_t i = 0; i < g->n_threads; i++)
        n += atomic_load(&g->threads[i].pending);
    return n;
}

/* True when every thread passes test (gw_thread_draining, gw_thread_done). */
static bool all_threads(gw *g, bool (*test)(gw_thread *))
{
    for (size_t i = 0; i < g->n_threads; i++)
        if (!test(&g->threads[i]))
            return false;
    return true;
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Stops the gateway: no new connections or RPCs; in-flight calls get DRAIN_MS to be
 * answered; then the rpc clients close, which cancels what is left (answered 503), and
 * the threads stop once every call is answered. The caller then exits. */
static void gateway_stop(gw *g)
{
    static const struct timespec tick = {0, 10 * 1000000};
    int64_t deadline = now_ms() + DRAIN_MS;

    for (size_t i = 0; i < g->n_threads; i++)
        gw_thread_stop(&g->threads[i]);
    /* A thread starts no RPC once draining: only then is pending_total final. */
    while (!all_threads(g, gw_thread_draining) ||
           (pending_total(g) > 0 && now_ms() < deadline))
        nanosleep(&tick, NULL);
    for (size_t i = 0; i < GW_N_SERVICES; i++) {
        rpc_client_close(g->clients[i]);
        g->clients[i] = NULL;
    }
    while (!all_threads(g, gw_thread_done))
        nanosleep(&tick, NULL);
    /* No nng_fini(): nng threads may still be releasing the last calls' contexts (after
     * their done callback ran); nng's state stays reachable until exit. */
}

int main(void)
{
    gw *g = &gateway;
    sigset_t stop;
    int sig, rv;

    log_init("gateway");
    signal(SIGPIPE, SIG_IGN);
    /* Blocked in every thread (nng's too, created from here on); main waits for them. */
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);

    if ((rv = gateway_configure(g)) != 0 || (rv = gateway_start(g)) != 0) {
        log_error("cannot start: %s", strerror(-rv));
        return 1;
    }
    log_info("listening on port %u, %zu threads; admin listener on %s", (unsigned)g->port,
             g->n_threads, g->admin_addr != NULL ? g->admin_addr : "none");

    sigwait(&stop, &sig);
    log_info("%s: draining", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    gateway_stop(g);
    log_info("stopped");
    return 0;
}
