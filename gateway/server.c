/* server: per-thread loop, listener and accept (see server.h). */
#include "server.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "linger.h"
#include "log.h"
#include "net_listen.h"
#include "proxy.h"

/* Connections accepted per wake-up of a listener, at most (others wait for the next). */
#define ACCEPT_BATCH 64
/* How long accepting pauses when the process is out of descriptors (or memory): the
 * listener stays readable then, and accepting at once again would spin. */
#define ACCEPT_PAUSE_MS 100

static void on_accept(h2o_socket_t *listener, const char *err);

/* The pause is over: listen again. */
static void on_accept_resume(h2o_timeout_entry_t *entry)
{
    gw_thread *t = H2O_STRUCT_FROM_MEMBER(gw_thread, accept_resume, entry);

    for (size_t i = 0; i < GW_N_LISTENERS; i++)
        if (t->listeners[i].sock != NULL)
            h2o_socket_read_start(t->listeners[i].sock, on_accept);
}

/* The listener is readable: hands new connections to h2o. When accept fails for want of
 * descriptors or memory, stops listening for ACCEPT_PAUSE_MS (the connection waits in
 * the backlog) instead of spinning on a listener that stays readable. */
static void on_accept(h2o_socket_t *listener, const char *err)
{
    gw_listener *l = listener->data;
    gw_thread *t = l->thread;
    h2o_socket_t *sock;

    if (err != NULL)
        return;
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        errno = 0;
        if ((sock = h2o_evloop_socket_accept(listener)) == NULL) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                atomic_fetch_add(&t->metrics->accept_pauses, 1);
                for (size_t j = 0; j < GW_N_LISTENERS; j++)
                    if (t->listeners[j].sock != NULL)
                        h2o_socket_read_stop(t->listeners[j].sock);
                if (!h2o_timeout_is_linked(&t->accept_resume))
                    h2o_timeout_link(t->loop, &t->accept_pause, &t->accept_resume);
            }
            return;
        }
        /* Without a spare descriptor it still serves; only its close is abrupt. A public
         * connection past the cap is answered busy and closed (handler.c). */
        (void)gw_linger_watch(t, sock,
                              l == &t->listeners[GW_PUBLIC] &&
                                  atomic_load_explicit(&t->metrics->connections,
                                                       memory_order_relaxed) >=
                                      t->gw->max_connections_per_thread);
        h2o_accept(&l->accept_ctx, sock);
    }
}

int gw_thread_init(gw *g, size_t index)
{
    gw_thread *t = &g->threads[index];
    char public_addr[16];
    uint16_t port;
    int rv;

    t->gw = g;
    t->index = index;
    t->metrics = &g->metrics[index];
    for (size_t i = 0; i < GW_N_LISTENERS; i++)
        t->listeners[i] = (gw_listener){.thread = t, .fd = -1};
    snprintf(public_addr, sizeof(public_addr), ":%u", (unsigned)g->port);
    if ((rv = net_listen(public_addr, true, SOMAXCONN, &t->listeners[GW_PUBLIC].fd, &port)) !=
        0) {
        log_error("listen on port %u: %s", (unsigned)g->port, strerror(-rv));
        return rv;
    }
    /* The admin listener is thread 0's alone: little traffic, and the process's own. */
    if (index == 0 && g->admin_addr != NULL &&
        (rv = net_listen(g->admin_addr, false, 64, &t->listeners[GW_ADMIN].fd, &port)) != 0) {
        log_error("WDM_ADMIN_ADDR=%s: %s", g->admin_addr,
                  rv == -EINVAL ? "expected host:port" : strerror(-rv));
        return rv;
    }
    return 0;
}

/* Makes listener l (whose fd main opened) a socket of t's loop, accepting for hosts. */
static void listener_setup(gw_thread *t, gw_listener *l, h2o_hostconf_t **hosts)
{
    if (l->fd < 0)
        return;
    l->accept_ctx.ctx = &t->ctx;
    l->accept_ctx.hosts = hosts;
    l->sock = h2o_evloop_socket_create(t->loop, l->fd, H2O_SOCKET_FLAG_DONT_READ);
    l->fd = -1; /* the socket's now */
    l->sock->data = l;
    h2o_socket_read_start(l->sock, on_accept);
}

/* Builds the thread's loop, context, reply receiver and listener. Loop thread. */
static void thread_setup(gw_thread *t)
{
    t->loop = h2o_evloop_create();
    h2o_context_init(&t->ctx, t->loop, &t->gw->config);
    gw_proxy_init(t);
    gw_linger_init(t);
    h2o_timeout_init(t->loop, &t->accept_pause, ACCEPT_PAUSE_MS);
    t->accept_resume = (h2o_timeout_entry_t){.cb = on_accept_resume};
    for (size_t i = 0; i < GW_N_LISTENERS; i++)
        listener_setup(t, &t->listeners[i], t->gw->hosts[i]);
}

/* The thread's body: serves until asked to stop, then stops accepting, tells main it
 * starts no more RPCs, and serves on until its in-flight calls are answered (main
 * cancels those still pending after its drain period, so this ends). Then it parks
 * until the process exits.
 *
 * Nothing of h2o's is destroyed, and the thread does not return, because h2o 2.2 cannot
 * release all it holds: it cannot close its HTTP/1 connections from outside (they stay
 * reachable from the gw), and it keeps freed memory in thread-local recycle lists that
 * only a live thread can reach (a returned thread's would show up as leaks). exit()
 * closes the sockets and ends the thread. */
static void *thread_main(void *arg)
{
    gw_thread *t = arg;

    thread_setup(t);
    pthread_barrier_wait(&t->gw->started);
    while (!atomic_load(&t->stopping))
        h2o_evloop_run(t->loop, INT32_MAX);

    h2o_timeout_unlink(&t->accept_resume);
    for (size_t i = 0; i < GW_N_LISTENERS; i++) {
        gw_listener *l = &t->listeners[i];
        if (l->sock == NULL)
            continue;
        h2o_socket_read_stop(l->sock);
        h2o_socket_close(l->sock);
        l->sock = NULL;
    }
    h2o_context_request_shutdown(&t->ctx);
    atomic_store(&t->draining, true);

    while (atomic_load(&t->pending) > 0)
        h2o_evloop_run(t->loop, 100);
    /* Once more, to run the write callbacks of the last answers. */
    h2o_evloop_run(t->loop, 0);
    atomic_store(&t->done, true);
    for (;;)
        pause(); /* every signal that could end this is blocked or ignored */
    return NULL;
}

int gw_thread_start(gw_thread *t)
{
    int rv;

    if ((rv = pthread_create(&t->tid, NULL, thread_main, t)) != 0) {
        log_error("pthread_create: %s", strerror(rv));
        return -rv;
    }
    return 0;
}

void gw_thread_stop(gw_thread *t)
{
    atomic_store(&t->stopping, true);
    h2o_multithread_send_message(&t->replies, NULL); /* wakes the loop */
}

bool gw_thread_draining(gw_thread *t)
{
    return atomic_load(&t->draining);
}

bool gw_thread_done(gw_thread *t)
{
    return atomic_load(&t->done);
}
