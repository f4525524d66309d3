/* bus_consumer: one thread consuming a queue in batches (see bus.h).
 *
 * It owns two connections: `in` consumes, `out` publishes the handler's outbox with
 * confirms. Only after the outbox is confirmed is the batch acked (one multiple-ack), so
 * a crash at any point means redelivery, never a lost reply. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus.h"
#include "bus_conn.h"
#include "bus_frame.h"
#include "log.h"
#include "wdm_metrics.h"

#define BUS_WAIT_MS 500
#define BUS_BACKOFF_MIN_MS 100
#define BUS_BACKOFF_MAX_MS 2000
/* A batch stops growing once it holds this many records. */
#define BUS_BATCH_RECORDS 4096

struct bus_consumer {
    const bus_config *cfg;
    char queue[BUS_QUEUE_MAX];
    bus_batch_fn fn;
    void *arg;
    pthread_t thread;
    atomic_bool stop;
    bus_conn in, out;
    amqp_bytes_t tag;             /* consumer tag, for basic.cancel */
    amqp_envelope_t *envs;        /* the batch being handled: n messages */
    size_t n;
    bus_delivery *deliveries;     /* their records (bus_frame.h): n_records */
    size_t n_records, records_cap;
    bus_outbox outbox;
};

static void consumer_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void consumer_drop(bus_consumer *c)
{
    bus_conn_close(&c->in);
    bus_conn_close(&c->out);
    amqp_bytes_free(c->tag);
    c->tag = amqp_empty_bytes;
}

/* Opens both connections and subscribes. Returns 0 or a negative error (both closed). */
static int consumer_open(bus_consumer *c)
{
    amqp_basic_consume_ok_t *ok;
    int rv;

    if ((rv = bus_conn_open(&c->in, c->cfg, c->queue)) != 0)
        return rv;
    if ((rv = bus_conn_open(&c->out, c->cfg, NULL)) != 0)
        goto fail;
    rv = -EIO;
    amqp_basic_qos(c->in.amqp, 1, 0, (uint16_t)c->cfg->prefetch, 0);
    if (!bus_conn_ok(amqp_get_rpc_reply(c->in.amqp), "basic.qos"))
        goto fail;
    ok = amqp_basic_consume(c->in.amqp, 1, amqp_cstring_bytes(c->queue), amqp_empty_bytes, 0, 0,
                            0, amqp_empty_table);
    if (!bus_conn_ok(amqp_get_rpc_reply(c->in.amqp), "basic.consume"))
        goto fail;
    c->tag = amqp_bytes_malloc_dup(ok->consumer_tag);
    log_info("bus: consuming %s", c->queue);
    return 0;
fail:
    consumer_drop(c);
    return rv;
}

/* Reads the frame that stopped amqp_consume_message; only a close or a cancel by the
 * broker matters. Returns 0, or -EIO when the subscription is gone. */
static int consumer_other_frame(bus_consumer *c)
{
    amqp_frame_t f;

    if (amqp_simple_wait_frame(c->in.amqp, &f) != AMQP_STATUS_OK)
        return -EIO;
    if (f.frame_type == AMQP_FRAME_METHOD &&
        (f.payload.method.id == AMQP_CHANNEL_CLOSE_METHOD ||
         f.payload.method.id == AMQP_CONNECTION_CLOSE_METHOD ||
         f.payload.method.id == AMQP_BASIC_CANCEL_METHOD)) {
        log_warn("bus: %s: subscription closed by the broker", c->queue);
        return -EIO;
    }
    return 0;
}

/* Appends one record of the message being gathered (bus_frame_fn). */
static int consumer_record(void *arg, const uint8_t *rec, size_t len)
{
    bus_consumer *c = arg;
    const amqp_envelope_t *env = &c->envs[c->n];

    if (c->n_records == c->records_cap) {
        size_t cap = c->records_cap ? c->records_cap * 2 : 256;
        bus_delivery *grown = realloc(c->deliveries, cap * sizeof(*grown));
        if (grown == NULL)
            return -ENOMEM;
        c->deliveries = grown;
        c->records_cap = cap;
    }
    c->deliveries[c->n_records++] =
        (bus_delivery){.body = rec, .len = len, .redelivered = env->redelivered};
    return 0;
}

/* Adds the records of message c->envs[c->n] to the batch: those of a BUS_FRAME_TYPE
 * message, else the body as one record. A body that does not split is logged and
 * skipped (it is acked with the batch: retrying cannot mend it). Returns 0 or -ENOMEM. */
static int consumer_take(bus_consumer *c)
{
    const amqp_message_t *m = &c->envs[c->n].message;
    size_t had = c->n_records;
    bool framed = (m->properties._flags & AMQP_BASIC_TYPE_FLAG) &&
                  m->properties.type.len == strlen(BUS_FRAME_TYPE) &&
                  memcmp(m->properties.type.bytes, BUS_FRAME_TYPE, m->properties.type.len) == 0;
    int rv;

    if (!framed)
        return consumer_record(c, m->body.bytes, m->body.len);
    rv = bus_frame_split(m->body.bytes, m->body.len, consumer_record, c);
    if (rv == -EBADMSG) {
        log_warn("bus: %s: skipping a malformed batch message (%zu bytes)", c->queue, m->body.len);
        c->n_records = had;
        rv = 0;
    }
    return rv;
}

/* Collects up to `prefetch` messages (or BUS_BATCH_RECORDS records): waits up to
 * BUS_WAIT_MS for the first, then takes what has already arrived. Returns 0 (c->n set,
 * maybe 0) or a negative error. */
static int consumer_gather(bus_consumer *c)
{
    struct timeval wait = {0, BUS_WAIT_MS * 1000}, none = {0, 0};
    int rv;

    amqp_maybe_release_buffers(c->in.amqp);
    while (c->n < (size_t)c->cfg->prefetch && c->n_records < BUS_BATCH_RECORDS) {
        amqp_envelope_t *env = &c->envs[c->n];
        amqp_rpc_reply_t r = amqp_consume_message(c->in.amqp, env, c->n ? &none : &wait, 0);

        if (r.reply_type == AMQP_RESPONSE_NORMAL) {
            rv = consumer_take(c);
            c->n++; /* destroyed with the batch, whatever its records */
            if (rv != 0)
                return rv;
            continue;
        }
        if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
            r.library_error == AMQP_STATUS_TIMEOUT)
            return 0;
        if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
            r.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
            if (consumer_other_frame(c) != 0)
                return -EIO;
            continue;
        }
        return -EIO;
    }
    return 0;
}

/* Handles the gathered batch: handler, outbox published and confirmed, batch acked.
 * Returns 0, or a negative error (the batch will be redelivered). */
static int consumer_handle(bus_consumer *c)
{
    int rv;

    if ((rv = c->fn(c->arg, c->deliveries, c->n_records, &c->outbox)) != 0)
        return rv;
    if ((rv = bus_conn_publish(&c->out, &c->outbox)) != 0)
        return rv;
    if (amqp_basic_ack(c->in.amqp, 1, c->envs[c->n - 1].delivery_tag, 1) != AMQP_STATUS_OK)
        return -EIO;
    return 0;
}

/* Counts the gathered batch's records: wdm_bus_delivered_total. */
static void consumer_count(const bus_consumer *c)
{
    size_t again = 0;

    for (size_t i = 0; i < c->n_records; i++)
        again += c->deliveries[i].redelivered;
    wdm_metrics_bus_delivered(c->n_records, again);
    wdm_metrics_bus_amqp(true, c->n);
}

static void consumer_release_batch(bus_consumer *c)
{
    for (size_t i = 0; i < c->n; i++)
        amqp_destroy_envelope(&c->envs[i]);
    c->n = 0;
    c->n_records = 0;
    bus_outbox_clear(&c->outbox);
}

static void *consumer_main(void *arg)
{
    bus_consumer *c = arg;
    int backoff = BUS_BACKOFF_MIN_MS, rv;

    while (!atomic_load(&c->stop)) {
        if (c->in.amqp == NULL) {
            if (consumer_open(c) != 0) {
                consumer_sleep_ms(backoff);
                backoff = backoff * 2 > BUS_BACKOFF_MAX_MS ? BUS_BACKOFF_MAX_MS : backoff * 2;
                continue;
            }
            backoff = BUS_BACKOFF_MIN_MS;
        }
        rv = consumer_gather(c);
        if (c->n > 0)
            consumer_count(c);
        if (rv == 0 && c->n > 0)
            rv = consumer_handle(c);
        else if (rv == 0)
            rv = bus_conn_poll(&c->out);
        consumer_release_batch(c);
        if (rv != 0) {
            log_warn("bus: %s: connection lost (%s); reconnecting", c->queue, strerror(-rv));
            wdm_metrics_bus_reconnect(WDM_BUS_CONSUMER);
            consumer_drop(c);
            /* A broker electing new queue leaders nacks for a moment: do not spin. */
            consumer_sleep_ms(BUS_BACKOFF_MIN_MS);
        }
    }
    if (c->in.amqp != NULL) {
        /* Cancel first: closing right after the last ack can lose that ack on a quorum
         * queue (PLATFORM.md). */
        amqp_basic_cancel(c->in.amqp, 1, c->tag);
        consumer_drop(c);
    }
    return NULL;
}

int bus_consumer_start(bus_consumer **out, const bus_config *cfg, const char *queue,
                       bus_batch_fn fn, void *arg)
{
    bus_consumer *c;

    if (strlen(queue) >= BUS_QUEUE_MAX)
        return -EINVAL;
    if ((c = calloc(1, sizeof(*c))) == NULL)
        return -ENOMEM;
    c->envs = calloc((size_t)cfg->prefetch, sizeof(*c->envs));
    if (c->envs == NULL)
        goto fail;
    c->cfg = cfg;
    strcpy(c->queue, queue);
    c->fn = fn;
    c->arg = arg;
    c->tag = amqp_empty_bytes;
    atomic_init(&c->stop, false);
    if (pthread_create(&c->thread, NULL, consumer_main, c) != 0)
        goto fail;
    *out = c;
    return 0;
fail:
    free(c->envs);
    free(c->deliveries);
    free(c);
    return -ENOMEM;
}

void bus_consumer_stop(bus_consumer *c)
{
    atomic_store(&c->stop, true);
    pthread_join(c->thread, NULL);
    bus_outbox_free(&c->outbox);
    free(c->envs);
    free(c->deliveries);
    free(c);
}
