/* bus_publisher: a thread publishing queued messages with batched confirms (see bus.h).
 *
 * Callers append to `queue` under the mutex. The thread moves everything queued into
 * `inflight`, publishes it and waits for the confirms; on failure it reconnects and
 * publishes all of `inflight` again (consumers are idempotent, so a duplicate is fine,
 * a loss is not). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus.h"
#include "bus_conn.h"
#include "log.h"
#include "wdm_metrics.h"

#define PUB_IDLE_MS 1000
#define PUB_DRAIN_MS 5000
#define PUB_BACKOFF_MAX_MS 2000

struct bus_publisher {
    const bus_config *cfg;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bus_outbox queue;    /* guarded by mu */
    bool stop;           /* guarded by mu */
    bus_conn conn;       /* the thread's */
    bus_outbox inflight; /* the thread's */
};

static int64_t pub_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until something is queued or stop is set (or PUB_IDLE_MS passed), then moves
 * the queue into inflight. Returns true when the thread should go on. */
static bool pub_take(bus_publisher *p, int64_t *stop_at)
{
    struct timespec until;
    bool go_on = true;

    pthread_mutex_lock(&p->mu);
    if (p->queue.n == 0 && p->inflight.n == 0 && !p->stop) {
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += PUB_IDLE_MS / 1000;
        pthread_cond_timedwait(&p->cv, &p->mu, &until);
    }
    if (p->stop && *stop_at == 0)
        *stop_at = pub_now_ms() + PUB_DRAIN_MS;
    if (bus_outbox_move(&p->inflight, &p->queue) != 0)
        log_error("bus: out of memory queueing publishes; retrying");
    if (p->stop && (p->inflight.n == 0 || pub_now_ms() > *stop_at))
        go_on = false;
    pthread_mutex_unlock(&p->mu);
    return go_on;
}

static void *pub_main(void *arg)
{
    bus_publisher *p = arg;
    int backoff = 100, rv;
    int64_t stop_at = 0;

    while (pub_take(p, &stop_at)) {
        if (p->conn.amqp == NULL && (rv = bus_conn_open(&p->conn, p->cfg, NULL)) != 0) {
            struct timespec ts = {backoff / 1000, (long)(backoff % 1000) * 1000000L};
            nanosleep(&ts, NULL);
            backoff = backoff * 2 > PUB_BACKOFF_MAX_MS ? PUB_BACKOFF_MAX_MS : backoff * 2;
            continue;
        }
        backoff = 100;
        rv = p->inflight.n ? bus_conn_publish(&p->conn, &p->inflight) : bus_conn_poll(&p->conn);
        if (rv == 0) {
            bus_outbox_clear(&p->inflight);
        } else {
            log_warn("bus: publishing failed (%s); reconnecting, %zu message(s) to re-send",
                     strerror(-rv), p->inflight.n);
            bus_conn_close(&p->conn);
            wdm_metrics_bus_reconnect(WDM_BUS_PUBLISHER);
        }
    }
    if (p->inflight.n)
        log_warn("bus: stopping with %zu unconfirmed message(s)", p->inflight.n);
    bus_conn_close(&p->conn);
    return NULL;
}

int bus_publisher_start(bus_publisher **out, const bus_config *cfg)
{
    pthread_condattr_t ca;
    bus_publisher *p;

    if ((p = calloc(1, sizeof(*p))) == NULL)
        return -ENOMEM;
    p->cfg = cfg;
    pthread_mutex_init(&p->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&p->thread, NULL, pub_main, p) != 0) {
        pthread_cond_destroy(&p->cv);
        pthread_mutex_destroy(&p->mu);
        free(p);
        return -EAGAIN;
    }
    *out = p;
    return 0;
}

int bus_publish(bus_publisher *p, const char *routing_key, const ProtobufCMessage *msg)
{
    int rv;

    pthread_mutex_lock(&p->mu);
    rv = bus_outbox_add(&p->queue, routing_key, msg);
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return rv;
}

void bus_publisher_stop(bus_publisher *p)
{
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    bus_outbox_free(&p->queue);
    bus_outbox_free(&p->inflight);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
