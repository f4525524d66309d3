/* bus_conn: one AMQP connection with one channel in confirm mode, the saga topology
 * declared, and batches of publishes confirmed together. Internal to the bus: used by
 * bus_consumer.c and bus_publisher.c, one thread per connection. */
#ifndef WDM_BUS_CONN_H
#define WDM_BUS_CONN_H

#include <amqp.h>

#include "bus.h"

typedef struct bus_conn {
    amqp_connection_state_t amqp; /* NULL while closed */
    uint64_t next_tag;            /* publisher-confirm tag of the next publish */
    size_t url_turn;              /* the next open starts at URL cfg->url_first + url_turn */
} bus_conn;

typedef struct bus_msg {
    char routing_key[BUS_QUEUE_MAX];
    uint8_t *body;
    size_t len;
} bus_msg;

/* A list of messages to publish: a consumer's outbox, a publisher's queue. */
struct bus_outbox {
    bus_msg *msgs;
    size_t n, cap;
};

/* Connects, logs in (heartbeats on), opens channel 1 in confirm mode and declares the
 * exchange, both command queues and `own_queue` when not NULL. With several URLs in cfg
 * it tries each in turn, starting after the one it last connected to.
 * Returns 0, or a negative error with the connection closed. */
int bus_conn_open(bus_conn *c, const bus_config *cfg, const char *own_queue);

/* Closes the connection (if open). */
void bus_conn_close(bus_conn *c);

/* Publishes every message of `o` (persistent) and waits until the broker confirmed them
 * all. Returns 0, -EIO (connection lost or a message nacked: re-publish all of them on
 * a new connection) or -ETIMEDOUT. The outbox stays the caller's, unchanged. */
int bus_conn_publish(bus_conn *c, const bus_outbox *o);

/* Lets the library answer heartbeats on a connection that is otherwise idle.
 * Returns 0, or -EIO when the connection is gone. */
int bus_conn_poll(bus_conn *c);

/* True when an AMQP reply is a success; logs `what` failed otherwise. */
bool bus_conn_ok(amqp_rpc_reply_t r, const char *what);

void bus_outbox_clear(bus_outbox *o);  /* frees the messages, keeps the array */
void bus_outbox_free(bus_outbox *o);   /* frees everything */

/* Moves all messages of src to the end of dst (src is left empty).
 * Returns 0 or -ENOMEM (nothing moved). */
int bus_outbox_move(bus_outbox *dst, bus_outbox *src);

#endif
