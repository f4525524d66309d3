/* bus: the saga's message bus on RabbitMQ (AMQP 0-9-1; DESIGN §5).
 *
 * Topology, declared by every process on connect (declarations are idempotent): one
 * durable direct exchange BUS_EXCHANGE; durable quorum queues BUS_QUEUE_STOCK and
 * BUS_QUEUE_PAYMENT for commands, and one per order replica for its events, each bound
 * under its own name. Messages are persistent protobuf.
 *
 * Every publish is confirmed by the broker, confirms awaited in batches. A consumer hands
 * its handler a batch of deliveries; what the handler publishes in reply (its outbox) is
 * published and confirmed before the batch is acknowledged. So a crash anywhere leads to
 * redelivery, never to loss: handlers must be idempotent.
 *
 * rabbitmq-c is blocking and a connection is not thread-safe: every consumer and every
 * publisher owns its connections and one thread. */
#ifndef WDM_BUS_H
#define WDM_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#define BUS_EXCHANGE "wdm.saga"
#define BUS_QUEUE_STOCK "stock.commands"
#define BUS_QUEUE_PAYMENT "payment.commands"
#define BUS_QUEUE_MAX 128

#define BUS_URLS_MAX 16

/* One URL of a list, borrowed from the list's string (not NUL-terminated). */
typedef struct bus_url {
    const char *s;
    size_t len;
} bus_url;

typedef struct bus_config {
    /* WDM_RABBITMQ_URL: amqp://user:pass@host:port/vhost, or a comma-separated list of
     * such URLs (the nodes of a cluster). Each (re)connect tries the next URL, starting at
     * a random one per process (url_first) so that processes spread over the nodes. */
    const char *url;
    bus_url urls[BUS_URLS_MAX]; /* url split at its commas */
    size_t n_urls;
    size_t url_first;
    int prefetch;         /* unacked deliveries per consumer (WDM_BUS_PREFETCH) */
    int heartbeat_s;      /* AMQP heartbeat (WDM_BUS_HEARTBEAT_S) */
    bool quorum;          /* quorum queues, else classic (WDM_BUS_QUEUE_TYPE) */
} bus_config;

/* Reads the bus settings from the environment. Returns 0 or -EINVAL. */
int bus_config_read(bus_config *cfg);

/* Splits `list`, one or more amqp:// URLs separated by commas (blanks around each are
 * dropped), into urls[0..max-1], which point into list. Every URL must parse as an AMQP
 * URL. Returns how many there are (1..max), or -EINVAL (an empty or malformed URL, or
 * more than max). Pure: no I/O, nothing logged. */
int bus_url_split(const char *list, bus_url *urls, size_t max);

/* Writes the name of an order replica's event queue ("order.events.<replica>") into buf.
 * Returns 0, or -EINVAL when it does not fit. */
int bus_event_queue(char *buf, size_t size, const char *replica_id);

/* Messages to publish once a consumed batch is handled (see bus_batch_fn). */
typedef struct bus_outbox bus_outbox;

/* Appends msg (packed now; msg stays the caller's) for routing_key. Returns 0 or -ENOMEM. */
int bus_outbox_add(bus_outbox *o, const char *routing_key, const ProtobufCMessage *msg);

typedef struct bus_delivery {
    const uint8_t *body;  /* borrowed: valid while the handler runs */
    size_t len;
    bool redelivered;
} bus_delivery;

/* Handles n deliveries, on the consumer's thread. Returns 0 once every delivery's effect
 * is durable; the outbox is then published and confirmed, and the batch acked. A negative
 * return drops the connection: the whole batch is delivered again later. */
typedef int (*bus_batch_fn)(void *arg, const bus_delivery *d, size_t n, bus_outbox *out);

typedef struct bus_consumer bus_consumer;

/* Starts a thread consuming `queue` (declared with the topology), reconnecting with
 * backoff for as long as it runs. cfg must outlive the consumer.
 * Returns 0 or a negative error. */
int bus_consumer_start(bus_consumer **out, const bus_config *cfg, const char *queue,
                       bus_batch_fn fn, void *arg);

/* Cancels the subscription (basic.cancel, so no ack is lost), closes, joins, frees. */
void bus_consumer_stop(bus_consumer *c);

typedef struct bus_publisher bus_publisher;

/* Starts a thread that publishes queued messages with confirms, re-publishing what was
 * not confirmed after a reconnect. Returns 0 or a negative error. */
int bus_publisher_start(bus_publisher **out, const bus_config *cfg);

/* Queues msg (packed now; msg stays the caller's) for routing_key. Thread-safe.
 * Returns 0 or -ENOMEM. */
int bus_publish(bus_publisher *p, const char *routing_key, const ProtobufCMessage *msg);

/* Publishes what is queued (waiting up to a few seconds), then stops and frees. */
void bus_publisher_stop(bus_publisher *p);

#endif
