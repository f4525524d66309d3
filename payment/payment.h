/* payment: the payment service (users and their credit).
 *
 * Data in the payment Redis group:
 *     user:<id>                     string: the user's credit, a decimal integer in [0, 2^53]
 *     idem:payment.<method>:<key>   a write's idempotency record (its JSON reply), expires
 *     saga:<S>:payment              hash: checkout saga S's record {state, user, amount,
 *                                   reason} (saga.c, charge.lua), expires
 *
 * Every write is one idempotent Lua script (payment/<method>.lua); reads are one command.
 * The saga participant (saga.c) takes CHARGE and REFUND commands from the bus, each
 * applied by one script atomic with the saga's record (not wrapped: the record is the
 * idempotency). */
#ifndef WDM_PAYMENT_H
#define WDM_PAYMENT_H

#include "rpc_server.h"
#include "store.h"
#include "svc_step.h"
#include "svc_saga.h"

#define PAYMENT_USER_PREFIX "user:"
/* The prefix, an id of up to WDM_ID_MAX characters (or a batch index), and NUL. */
#define PAYMENT_KEY_LEN 80

/* The service's scripts, indexes into payment_scripts (main.c). */
enum payment_script_index {
    PAYMENT_SCRIPT_CREATE_USER,
    PAYMENT_SCRIPT_ADD_FUNDS,
    PAYMENT_SCRIPT_PAY,
    PAYMENT_SCRIPT_CHARGE,
    PAYMENT_SCRIPT_REFUND,
    PAYMENT_N_SCRIPTS
};

extern store_script payment_scripts[PAYMENT_N_SCRIPTS];

/* The rpc methods "payment.<name>": steps (svc_step.h), and batch_init's handler (state:
 * the worker's service_worker). */
extern const svc_step payment_create_user;
extern const svc_step payment_find_user;
extern const svc_step payment_add_funds;
extern const svc_step payment_pay;
void payment_batch_init(void *state, rpc_call *call);

/* The saga participant: CHARGE and REFUND (saga.c). */
extern const svc_saga_participant payment_saga;

#endif
