/* server: the loop threads. Each has its own h2o event loop and context and its own
 * listening socket on the gateway port (SO_REUSEPORT), and serves its connections from
 * accept to close. Thread 0 also listens on the admin address (gateway.h).
 *
 * Everything of h2o's that a thread uses is created on that thread: h2o keeps
 * per-thread state (recycled memory, buffer prototypes) that a socket remembers from
 * the thread that created it, so a socket made on one thread and served on another
 * would race with its creator's state. */
#ifndef GW_SERVER_H
#define GW_SERVER_H

#include "gateway.h"

/* Prepares thread `index` of g and opens its listening sockets, on the main thread, so
 * that a port in use is a start-up error. Returns 0, or a negative errno (socket, bind,
 * listen; logged). */
int gw_thread_init(gw *g, size_t index);

/* Starts the thread, which builds its loop and context and then waits on g->started
 * before serving. Returns 0 or a negative errno. */
int gw_thread_start(gw_thread *t);

/* Asks the thread to stop (any thread may call, once g->started is passed): it closes
 * its listener, answers new requests on open connections with 503, and once its
 * in-flight calls are done (see gw_thread_draining and main.c), stops serving. */
void gw_thread_stop(gw_thread *t);

/* True once the thread has seen the stop: from then on it starts no new RPC. */
bool gw_thread_draining(gw_thread *t);

/* True once the thread has answered every call it started and stopped serving. The
 * thread itself never ends (see server.c); exit() ends it. */
bool gw_thread_done(gw_thread *t);

#endif
