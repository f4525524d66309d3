/* payment: the service's method and script tables, and its entry point. */
#include "payment.h"
#include "service.h"
#include "svc_step.h"

extern const char payment_create_user_lua[], payment_add_funds_lua[], payment_pay_lua[],
    payment_charge_lua[], payment_refund_lua[];

store_script payment_scripts[PAYMENT_N_SCRIPTS] = {
    [PAYMENT_SCRIPT_CREATE_USER] = {.name = "payment.create_user",
                                    .source = payment_create_user_lua,
                                    .idempotent = true},
    [PAYMENT_SCRIPT_ADD_FUNDS] = {.name = "payment.add_funds",
                                  .source = payment_add_funds_lua,
                                  .idempotent = true},
    [PAYMENT_SCRIPT_PAY] = {.name = "payment.pay", .source = payment_pay_lua, .idempotent = true},
    /* The saga's scripts: their saga record is their idempotency. */
    [PAYMENT_SCRIPT_CHARGE] = {.name = "payment.saga_charge", .source = payment_charge_lua},
    [PAYMENT_SCRIPT_REFUND] = {.name = "payment.saga_refund", .source = payment_refund_lua},
};

static const rpc_method payment_methods[] = {
    {"payment.create_user", svc_step_call, &payment_create_user},
    {"payment.find_user", svc_step_call, &payment_find_user},
    {"payment.add_funds", svc_step_call, &payment_add_funds},
    {"payment.pay", svc_step_call, &payment_pay},
    {"payment.batch_init", payment_batch_init, NULL},
};

/* service_def.init: the saga participant's state. */
static int payment_init(void **shared)
{
    return svc_saga_init(shared, &payment_saga);
}

int main(void)
{
    service_def def = {
        .name = "payment",
        .methods = payment_methods,
        .n_methods = sizeof(payment_methods) / sizeof(payment_methods[0]),
        .scripts = payment_scripts,
        .n_scripts = PAYMENT_N_SCRIPTS,
        .init = payment_init,
        .fini = svc_saga_fini,
        .bus_queue = svc_saga_bus_queue,
        .on_bus = svc_saga_on_bus,
    };
    return service_main(&def);
}
