/* gateway: the process's state, shared by the gateway's modules.
 *
 * One gw per process (main.c owns it). WDM_GATEWAY_THREADS loop threads each own a
 * gw_thread: an h2o event loop, its h2o context, a listening socket of their own on the
 * public port (SO_REUSEPORT: the kernel spreads connections over the threads, and over
 * gateway processes sharing the port) and a receiver for RPC replies. Thread 0 also owns
 * the admin listener (WDM_ADMIN_ADDR: /metrics, /admin/sagas, /health), which is the
 * process's own (no SO_REUSEPORT: a scrape must reach the process it names). Everything in a gw_thread
 * is touched only by its loop thread, except where a comment says otherwise.
 *
 * The path of a request: server.c accepts -> handler.c routes (route.c) -> proxy.c calls
 * the service and hands the reply back to the loop -> respond.c renders (render.c);
 * linger.c closes the connection in the end. */
#ifndef GW_GATEWAY_H
#define GW_GATEWAY_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <h2o.h> /* built with -DH2O_USE_LIBUV=0 (gateway/CMakeLists.txt) */

#include "guard.h"
#include "gw_metrics.h"
#include "route.h"
#include "rpc_client.h"

typedef struct gw gw;
typedef struct gw_thread gw_thread;

/* The listeners, by index: the public port and the admin listener. */
enum { GW_PUBLIC, GW_ADMIN, GW_N_LISTENERS };

/* One listening socket of a thread. */
typedef struct gw_listener {
    gw_thread *thread;
    h2o_accept_ctx_t accept_ctx;   /* the thread's context, and this listener's hosts */
    int fd;                        /* opened by main (-1: none); the socket's once set up */
    h2o_socket_t *sock;            /* NULL when none, or once closed (shutdown) */
} gw_listener;

struct gw_thread {
    gw *gw;
    size_t index;
    pthread_t tid;
    h2o_evloop_t *loop;
    h2o_context_t ctx;             /* gw_thread_of() finds the thread from a request */
    gw_listener listeners[GW_N_LISTENERS];
    /* RPC replies come in here from nng threads (proxy.c); registered on ctx.queue. */
    h2o_multithread_receiver_t replies;
    /* Calls waiting for a service. Written by the loop thread, read by main (drain). */
    atomic_long pending;
    /* Set by main to stop: the handler then answers 503 instead of starting RPCs. */
    atomic_bool stopping;
    /* Set by the loop thread once it has seen `stopping`: no RPC starts after this. */
    atomic_bool draining;
    /* Set by the loop thread once every call it started has been answered. */
    atomic_bool done;
    gw_metrics *metrics;           /* this thread's counters, in gw.metrics */
    h2o_timeout_t linger_idle;     /* connections lingering after close (linger.c) */
    /* Accepting paused after the process ran out of descriptors (server.c). */
    h2o_timeout_t accept_pause;
    h2o_timeout_entry_t accept_resume;
    /* Batched legs of this loop pass, by service, sent at its end (proxy.c): `flush`
     * is linked to ctx.zero_timeout while any outbox holds a leg. */
    struct gw_leg *outbox[GW_N_SERVICES];        /* oldest first */
    struct gw_leg **outbox_end[GW_N_SERVICES];   /* where the next leg is linked */
    h2o_timeout_entry_t flush;
};

struct gw {
    rpc_client *clients[GW_N_SERVICES];  /* shared by every thread (thread-safe) */
    h2o_globalconf_t config;             /* shared, read-only once threads run */
    /* Each listener's hosts (NULL-terminated): one host each, whose handler serves that
     * listener's routes (handler.c); both hosts are in config. */
    h2o_hostconf_t *hosts[GW_N_LISTENERS][2];
    const char *admin_addr;              /* WDM_ADMIN_ADDR; NULL: no admin listener */
    gw_thread *threads;
    size_t n_threads;
    gw_metrics *metrics;                 /* one per thread, 64-byte aligned */
    pthread_barrier_t started;           /* every loop thread set up, and main */
    uint16_t port;
    /* "timeout=N": the Keep-Alive header of every keep-alive answer. N is
     * WDM_GATEWAY_IDLE_TIMEOUT_S; an idle connection is closed GW_IDLE_GRACE_S later. */
    h2o_iovec_t keep_alive;
    uint32_t idle_timeout_s;
    /* Calls waiting for a service a thread may hold (WDM_GATEWAY_MAX_CALLS over the
     * threads); past it a request is answered 503 with Retry-After, nothing sent. */
    long max_calls_per_thread;
    /* Connections a thread may hold open (WDM_GATEWAY_MAX_CONNECTIONS over the threads):
     * past it, a request on the public port is answered 503 with Retry-After and its
     * connection closed, nothing sent on. */
    long max_connections_per_thread;
    gw_guard guard;                      /* who may call batch_init */
};

/* How long after the advertised idle timeout an idle connection is really closed: a
 * client that honours the advertised value closes first, so none races our close. */
#define GW_IDLE_GRACE_S 5

/* The thread whose loop serves req (its h2o context is embedded in the gw_thread). */
static inline gw_thread *gw_thread_of(h2o_req_t *req)
{
    return H2O_STRUCT_FROM_MEMBER(gw_thread, ctx, req->conn->ctx);
}

#endif
