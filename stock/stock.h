/* stock: the stock service (items: how many are in stock, and their price).
 *
 * Data in the stock Redis group:
 *     item:<id>                   hash {stock, price}: decimal integers in [0, 2^53]
 *     idem:stock.<method>:<key>   a write's idempotency record (its JSON reply), expires
 *     saga:<S>:stock              hash: checkout saga S's record {state, reason, and
 *                                 "line:item:<id>" = quantity per reserved line}
 *                                 (saga.c, reserve.lua), expires
 *
 * Every write is one idempotent Lua script (stock/<method>.lua); reads are one command.
 * The saga participant (saga.c) takes RESERVE and RELEASE commands from the bus, each
 * applied by one script atomic with the saga's record (not wrapped: the record is the
 * idempotency). */
#ifndef WDM_STOCK_H
#define WDM_STOCK_H

#include <stddef.h>
#include <stdint.h>

#include "api.pb-c.h"
#include "rpc_server.h"
#include "store.h"
#include "svc_step.h"
#include "svc_saga.h"

#define STOCK_ITEM_PREFIX "item:"
/* The prefix, an id of up to WDM_ID_MAX characters (or a batch index), and NUL. */
#define STOCK_KEY_LEN 80

/* The service's scripts, indexes into stock_scripts (main.c). */
enum stock_script_index {
    STOCK_SCRIPT_CREATE_ITEM,
    STOCK_SCRIPT_ADD,
    STOCK_SCRIPT_SUBTRACT,
    STOCK_SCRIPT_RESERVE,
    STOCK_SCRIPT_RELEASE,
    STOCK_N_SCRIPTS
};

extern store_script stock_scripts[STOCK_N_SCRIPTS];

/* The rpc methods "stock.<name>": steps (svc_step.h), and batch_init's handler (state:
 * the worker's service_worker). */
extern const svc_step stock_create_item;
extern const svc_step stock_find;
extern const svc_step stock_add;
extern const svc_step stock_subtract;
void stock_batch_init(void *state, rpc_call *call);

/* The saga participant: RESERVE and RELEASE (saga.c). */
extern const svc_saga_participant stock_saga;

/* One item's line of a saga command; item_id is borrowed from the command. */
typedef struct stock_line {
    const char *item_id;
    int64_t quantity;
} stock_line;

/* Checks a command's n lines (every item_id an id, every quantity in [1, 2^53]) and sums
 * the quantities of each item (lines.c). On 0, *out holds *n_out lines, one per item,
 * the caller's (free; NULL when n is 0). Returns 0; -EINVAL with *why set to a static
 * reason (bad line, or an item's sum above 2^53); -ENOMEM. On failure *out is NULL. */
int stock_lines_merge(Wdm__OrderLine *const *in, size_t n, stock_line **out, size_t *n_out,
                      const char **why);

#endif
