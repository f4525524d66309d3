/* payment: the payment service (users and their credit).
 *
 * Data in the payment Redis group:
 *     user:<id>                     string: the user's credit, a decimal integer in [0, 2^53]
 *     idem:payment.<method>:<key>   a write's idempotency record (its JSON reply), expires
 *
 * Every write is one idempotent Lua script (payment/<method>.lua); reads are one command. */
#ifndef WDM_PAYMENT_H
#define WDM_PAYMENT_H

#include "rpc_server.h"
#include "store.h"

#define PAYMENT_USER_PREFIX "user:"
/* The prefix, an id of up to WDM_ID_MAX characters (or a batch index), and NUL. */
#define PAYMENT_KEY_LEN 80

/* The service's scripts, indexes into payment_scripts (main.c). */
enum payment_script_index {
    PAYMENT_SCRIPT_CREATE_USER,
    PAYMENT_SCRIPT_ADD_FUNDS,
    PAYMENT_SCRIPT_PAY,
    PAYMENT_N_SCRIPTS
};

extern store_script payment_scripts[PAYMENT_N_SCRIPTS];

/* The rpc methods "payment.<name>"; state is the worker's service_worker. */
void payment_create_user(void *state, rpc_call *call);
void payment_find_user(void *state, rpc_call *call);
void payment_add_funds(void *state, rpc_call *call);
void payment_pay(void *state, rpc_call *call);
void payment_batch_init(void *state, rpc_call *call);

#endif
