/* order: the order service (orders of a user: item lines, total cost, paid).
 *
 * Data in the order Redis group:
 *     order:<id>                  hash, one per order, read whole with one HGETALL:
 *         user       the user's id
 *         paid       "0" or "1"
 *         total      total cost, a decimal integer in [0, 2^53]
 *         status     "open", or "checking_out" while a checkout saga runs (add_item
 *                    then refuses with CONFLICT, as it does for a paid order)
 *         i:<item>   the quantity of that item (one line per item; quantities summed)
 *     idem:order.<method>:<key>   a write's idempotency record (its JSON reply), expires
 *
 * Every write is one Lua script (order/<method>.lua); reads are one command. Checkout
 * runs the saga (saga.h).
 * Item prices and users are asked from stock and payment over rpc (peers.c). */
#ifndef WDM_ORDER_H
#define WDM_ORDER_H

#include <stdint.h>

#include <hiredis/hiredis.h>

#include "api.pb-c.h"
#include "rpc_client.h"
#include "rpc_server.h"
#include "saga.h"
#include "store.h"
#include "svc_step.h"

#define ORDER_PREFIX      "order:"
#define ORDER_LINE_PREFIX "i:"
/* Values of the status field (the Lua scripts spell them out too). */
#define ORDER_STATUS_OPEN         "open"
#define ORDER_STATUS_CHECKING_OUT "checking_out"
/* The prefix, an id of up to WDM_ID_MAX characters (or a batch index), and NUL. */
#define ORDER_KEY_LEN 80

/* The process-wide state (service_worker.shared): clients of the other services,
 * shared by every worker (rpc_client is thread-safe). */
typedef struct order_shared {
    rpc_client *stock;       /* WDM_STOCK_URLS */
    rpc_client *payment;     /* WDM_PAYMENT_URLS */
    nng_duration timeout_ms; /* WDM_RPC_TIMEOUT_MS, per call */
    order_saga saga;         /* the checkout saga orchestrator (saga.h) */
} order_shared;

/* The service's scripts, indexes into order_scripts (main.c). */
enum order_script_index {
    ORDER_SCRIPT_CREATE,
    ORDER_SCRIPT_ADD_ITEM,
    ORDER_SCRIPT_CHECKOUT_BEGIN,
    ORDER_SCRIPT_SAGA_STEP,
    ORDER_SCRIPT_SAGA_STATES,
    ORDER_SCRIPT_SAGA_TAKEOVER,
    ORDER_SCRIPT_SAGA_LIST,
    ORDER_N_SCRIPTS
};

extern store_script order_scripts[ORDER_N_SCRIPTS];

/* The rpc methods "order.<name>"; state is the worker's service_worker. */
void order_create(void *state, rpc_call *call);
extern const svc_step order_find;
void order_add_item(void *state, rpc_call *call);
void order_checkout(void *state, rpc_call *call);
void order_batch_init(void *state, rpc_call *call);
void order_sagas(void *state, rpc_call *call);

/* peers.c: service_def.init / fini, and the reads from the other services. */
int order_shared_init(void **shared);
void order_shared_fini(void *shared);

/* Asks stock for an item's price. Returns 0 and sets *price; or answers the call
 * (NOT_FOUND for an unknown item, UNAVAILABLE when stock does not answer) and returns
 * a negative error. */
int order_item_price(order_shared *sh, rpc_call *call, const char *item_id, int64_t *price);

/* Asks payment whether a user exists. Returns 0 when it does; or answers the call
 * (NOT_FOUND, UNAVAILABLE) and returns a negative error. */
int order_user_exists(order_shared *sh, rpc_call *call, const char *user_id);

/* Writes the key of order `id` into key. */
void order_key(char key[ORDER_KEY_LEN], const char *id);

/* view.c: reads an order's hash (an HGETALL reply: field, value, ...) into out's
 * user_id, paid, total_cost and items. lines and ptrs, the caller's, have room for
 * r->elements / 2 entries each; out->items points into ptrs. Strings are borrowed from
 * r. Returns 0, -ENOENT for an empty reply (no such order), or -EPROTO for a reply that
 * is not an order's hash. Pure: no I/O, nothing answered. */
int order_view_parse(const redisReply *r, Wdm__OrderReply *out, Wdm__OrderLine *lines,
                     Wdm__OrderLine **ptrs);

/* admin.c: order.sagas lists at most this many sagas (the oldest). */
#define ORDER_SAGAS_MAX 100

/* Reads a saga_list.lua reply into out's inflight, stuck and sagas. infos and ptrs, the
 * caller's, have room for `room` sagas each; out->sagas points into ptrs. Strings are
 * borrowed from r. Returns 0, or -EPROTO for a reply not of the script's shape (or with
 * more than room sagas). Pure: no I/O, nothing answered. */
int order_sagas_parse(const redisReply *r, Wdm__SagasReply *out, Wdm__SagaInfo *infos,
                      Wdm__SagaInfo **ptrs, size_t room);

#endif
