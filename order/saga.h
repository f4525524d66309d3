/* order's checkout saga orchestrator (DESIGN §5): money first, then stock.
 *
 *   checkout.c      order.checkout: starts the order's saga (checkout_begin.lua), or
 *                   joins the one in flight, and parks the call until the saga ends
 *   saga_events.c   the participants' events (this replica's event queue): one
 *                   compare-and-set transition each (saga_step.lua), the next command
 *   saga_watch.c    every tick: ends parked calls whose saga ended where this replica
 *                   did not see it (another replica's saga, or a race with the event);
 *                   and takes over sagas whose lease expired (saga_takeover.lua)
 *   saga_command.c  the commands, built from what the scripts ask for
 *   waiters.c       the parked calls, by saga id
 *
 * Data in the order Redis group, besides the order's hash (order.h):
 *     saga:<id>        hash: state (CHARGING, RESERVING, REFUNDING, COMMITTED, ABORTED),
 *                      order, user, amount, items (msgpack: id, qty, ...), owner,
 *                      reply_to, lease_until, deadline (ms), reason; expires once ended
 *     saga:<id>:keys   set: idempotency records to fill with the outcome when it ends
 *     sagas:inflight   zset: every saga in flight, scored by its lease's end (ms) */
#ifndef WDM_ORDER_SAGA_H
#define WDM_ORDER_SAGA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "bus.h"
#include "rpc_server.h"
#include "service.h"
#include "validate.h"

#define SAGA_ID_LEN 33 /* 32 hex characters and NUL (service_new_id) */
#define SAGA_KEY_LEN 48
#define SAGA_INFLIGHT_KEY "sagas:inflight"

typedef struct order_waiters order_waiters;

/* The orchestrator's process-wide state (part of order_shared). */
typedef struct order_saga {
    char replica_id[WDM_ID_MAX + 1];  /* WDM_REPLICA_ID (default: the host name) */
    char event_queue[BUS_QUEUE_MAX];  /* "order.events.<replica_id>" */
    bus_config bus;
    bus_publisher *pub;               /* commands sent from rpc workers */
    order_waiters *waiters;
    int64_t lease_ms;                 /* WDM_SAGA_LEASE_MS */
    int64_t deadline_ms;              /* WDM_SAGA_DEADLINE_MS */
    int64_t record_ttl_s;             /* WDM_SAGA_RECORD_TTL_S */
    unsigned ticks;                   /* the tick thread's own count */
} order_saga;

/* Reads the settings, starts the command publisher. Returns 0 or a negative error. */
int order_saga_init(order_saga *s);
/* Stops the publisher and answers every parked call UNAVAILABLE. */
void order_saga_fini(order_saga *s);

/* service_def hooks (main.c). */
int order_saga_queue(void *shared, char *buf, size_t size);
int order_saga_events(service_worker *w, const bus_delivery *d, size_t n, bus_outbox *out);
void order_saga_tick(service_worker *w);

/* Takes over saga_id if its lease has expired (saga_takeover.lua: its owner died, or a
 * command or answer was lost) and sends what it needs next; does nothing while the
 * lease holds. Called by the periodic scan and by a checkout that joins the saga. */
void order_saga_take_over(service_worker *w, order_saga *s, const char *saga_id);

/* Hands a command to its queue: bus_outbox_add-like (arg is the outbox or publisher). */
typedef int (*order_saga_send_fn)(void *arg, const char *queue, const ProtobufCMessage *msg);

/* Builds the command `what` (CHARGE, RESERVE, RELEASE, REFUND) of saga_id from a script
 * reply whose elements from `at` on are: user, then amount (CHARGE) or item, qty, ...
 * (RESERVE, RELEASE), and hands it to send(arg, queue, command), replies going to this
 * replica's event queue. Returns send's result, -EINVAL for an unknown `what`, -ENOMEM. */
int order_saga_send(order_saga *s, const char *saga_id, const char *what, const redisReply *r,
                    size_t at, order_saga_send_fn send, void *arg);

/* Element i of a script's array reply as a string (borrowed), or "" when it is none. */
const char *order_saga_elem(const redisReply *r, size_t i);

/* order_saga_send_fn publishing through a bus_publisher (arg). */
int order_saga_publish(void *pub, const char *queue, const ProtobufCMessage *msg);

/* Writes "saga:<id><suffix>" into key[SAGA_KEY_LEN]. */
void order_saga_key(char *key, const char *saga_id, const char *suffix);

/* Answers a call with a saga's outcome: 200 CheckoutReply{order_id, paid} when
 * committed, else 409 with the reason. */
void order_saga_answer_call(rpc_call *call, const char *order_id, bool committed, const char *reason);

/* ---- waiters.c ---- */

int order_waiters_new(order_waiters **out);
/* Answers every remaining waiter UNAVAILABLE, then frees the table. */
void order_waiters_free(order_waiters *t);

/* Parks d until saga_id ends. Takes d on success; on failure (-ENOMEM) d stays the
 * caller's to answer. */
int order_waiters_add(order_waiters *t, const char *saga_id, const char *order_id,
                      rpc_deferred *d);

/* Answers (and forgets) every call parked on saga_id with its outcome. */
void order_waiters_finish(order_waiters *t, const char *saga_id, bool committed,
                          const char *reason);

/* Copies into ids the saga ids (distinct, at most max) that have a call due to be
 * looked at: first_ms after the call was first seen here, then after twice as long each
 * time, up to ten times first_ms. Returns how many. */
size_t order_waiters_pending(order_waiters *t, char (*ids)[SAGA_ID_LEN], size_t max,
                             int64_t first_ms);

#endif
