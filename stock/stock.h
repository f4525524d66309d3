/* stock: the stock service (items: how many are in stock, and their price).
 *
 * Data in the stock Redis group:
 *     item:<id>                   hash {stock, price}: decimal integers in [0, 2^53]
 *     idem:stock.<method>:<key>   a write's idempotency record (its JSON reply), expires
 *
 * Every write is one idempotent Lua script (stock/<method>.lua); reads are one command. */
#ifndef WDM_STOCK_H
#define WDM_STOCK_H

#include "rpc_server.h"
#include "store.h"

#define STOCK_ITEM_PREFIX "item:"
/* The prefix, an id of up to WDM_ID_MAX characters (or a batch index), and NUL. */
#define STOCK_KEY_LEN 80

/* The service's scripts, indexes into stock_scripts (main.c). */
enum stock_script_index {
    STOCK_SCRIPT_CREATE_ITEM,
    STOCK_SCRIPT_ADD,
    STOCK_SCRIPT_SUBTRACT,
    STOCK_N_SCRIPTS
};

extern store_script stock_scripts[STOCK_N_SCRIPTS];

/* The rpc methods "stock.<name>"; state is the worker's service_worker. */
void stock_create_item(void *state, rpc_call *call);
void stock_find(void *state, rpc_call *call);
void stock_add(void *state, rpc_call *call);
void stock_subtract(void *state, rpc_call *call);
void stock_batch_init(void *state, rpc_call *call);

#endif
