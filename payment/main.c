/* payment: the service's method and script tables, and its entry point. */
#include "payment.h"
#include "service.h"

extern const char payment_create_user_lua[], payment_add_funds_lua[], payment_pay_lua[];

store_script payment_scripts[PAYMENT_N_SCRIPTS] = {
    [PAYMENT_SCRIPT_CREATE_USER] = {.name = "payment.create_user",
                                    .source = payment_create_user_lua,
                                    .idempotent = true},
    [PAYMENT_SCRIPT_ADD_FUNDS] = {.name = "payment.add_funds",
                                  .source = payment_add_funds_lua,
                                  .idempotent = true},
    [PAYMENT_SCRIPT_PAY] = {.name = "payment.pay", .source = payment_pay_lua, .idempotent = true},
};

static const rpc_method payment_methods[] = {
    {"payment.create_user", payment_create_user}, {"payment.find_user", payment_find_user},
    {"payment.add_funds", payment_add_funds},     {"payment.pay", payment_pay},
    {"payment.batch_init", payment_batch_init},
};

int main(void)
{
    service_def def = {
        .name = "payment",
        .methods = payment_methods,
        .n_methods = sizeof(payment_methods) / sizeof(payment_methods[0]),
        .scripts = payment_scripts,
        .n_scripts = PAYMENT_N_SCRIPTS,
    };
    return service_main(&def);
}
