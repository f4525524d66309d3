/* linger: a lingering close for every connection (see linger.h). */
#include "linger.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "metrics.h"

/* One connection's spare descriptor, from accept until the lingering ends. */
typedef struct gw_lingering {
    gw_thread *t;
    int fd;                    /* ours; h2o's own descriptor is another */
    h2o_socket_t *sock;        /* over fd, once h2o closed its own; NULL before */
    h2o_timeout_entry_t idle;  /* in t->linger_idle while lingering */
    uint64_t began_ns;         /* metrics_now_ns() when the lingering began */
    size_t bytes;
    bool over_cap;             /* accepted past the connection cap */
} lingering;

void gw_linger_init(gw_thread *t)
{
    h2o_timeout_init(t->loop, &t->linger_idle, GW_LINGER_IDLE_MS);
}

/* Ends the lingering: closes our descriptor (through its socket once it has one). */
static void linger_end(lingering *l)
{
    h2o_timeout_unlink(&l->idle);
    if (l->sock != NULL)
        h2o_socket_close(l->sock); /* closes l->fd */
    else
        close(l->fd);
    free(l);
}

static void linger_on_idle(h2o_timeout_entry_t *entry)
{
    linger_end(H2O_STRUCT_FROM_MEMBER(lingering, idle, entry));
}

/* The client sent more, closed (err set) or reset: discard, or end at a bound. */
static void linger_on_read(h2o_socket_t *sock, const char *err)
{
    lingering *l = sock->data;

    if (err != NULL) {
        linger_end(l);
        return;
    }
    l->bytes += sock->input->size;
    h2o_buffer_consume(&sock->input, sock->input->size);
    if (l->bytes > GW_LINGER_BYTES || metrics_since_ns(l->began_ns) > GW_LINGER_MS * 1000000ull) {
        linger_end(l);
        return;
    }
    h2o_timeout_unlink(&l->idle);
    h2o_timeout_link(l->t->loop, &l->t->linger_idle, &l->idle);
}

/* h2o has closed its descriptor (sock's on_close): ours keeps the socket open. Shuts
 * down the sending side, after whatever h2o wrote, and reads until an end. */
static void linger_begin(void *data)
{
    lingering *l = data;

    atomic_fetch_sub_explicit(&l->t->metrics->connections, 1, memory_order_relaxed);
    if (shutdown(l->fd, SHUT_WR) != 0) { /* the client is gone already */
        linger_end(l);
        return;
    }
    l->began_ns = metrics_now_ns();
    l->sock = h2o_evloop_socket_create(l->t->loop, l->fd, 0);
    l->sock->data = l;
    h2o_timeout_link(l->t->loop, &l->t->linger_idle, &l->idle);
    h2o_socket_read_start(l->sock, linger_on_read);
}

int gw_linger_watch(gw_thread *t, h2o_socket_t *sock, bool over_cap)
{
    lingering *l;
    int fd, rv;

    if ((fd = fcntl(h2o_socket_get_fd(sock), F_DUPFD_CLOEXEC, 0)) < 0)
        return -errno;
    if ((l = calloc(1, sizeof(*l))) == NULL) {
        rv = -ENOMEM;
        close(fd);
        return rv;
    }
    l->t = t;
    l->fd = fd;
    l->over_cap = over_cap;
    l->idle.cb = linger_on_idle;
    sock->on_close.cb = linger_begin;
    sock->on_close.data = l;
    atomic_fetch_add_explicit(&t->metrics->connections, 1, memory_order_relaxed);
    return 0;
}

bool gw_linger_over_cap(h2o_socket_t *sock)
{
    if (sock == NULL || sock->on_close.cb != linger_begin)
        return false;
    return ((const lingering *)sock->on_close.data)->over_cap;
}
