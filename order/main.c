/* order: the service's method and script tables, and its entry point. */
#include "order.h"
#include "saga.h"
#include "service.h"

extern const char order_create_lua[], order_add_item_lua[], order_checkout_begin_lua[],
    order_saga_step_lua[], order_saga_states_lua[], order_saga_takeover_lua[],
    order_saga_list_lua[];

store_script order_scripts[ORDER_N_SCRIPTS] = {
    [ORDER_SCRIPT_CREATE] = {.name = "order.create",
                             .source = order_create_lua,
                             .idempotent = true},
    [ORDER_SCRIPT_ADD_ITEM] = {.name = "order.add_item",
                               .source = order_add_item_lua,
                               .idempotent = true},
    /* The saga's scripts carry their own idempotency: the order's state (saga.h). */
    [ORDER_SCRIPT_CHECKOUT_BEGIN] = {.name = "order.checkout_begin",
                                     .source = order_checkout_begin_lua},
    [ORDER_SCRIPT_SAGA_STEP] = {.name = "order.saga_step", .source = order_saga_step_lua},
    [ORDER_SCRIPT_SAGA_STATES] = {.name = "order.saga_states", .source = order_saga_states_lua},
    [ORDER_SCRIPT_SAGA_TAKEOVER] = {.name = "order.saga_takeover",
                                    .source = order_saga_takeover_lua},
    /* Read-only (run with store_read, no WAIT): the sagas in flight, for order.sagas. */
    [ORDER_SCRIPT_SAGA_LIST] = {.name = "order.saga_list", .source = order_saga_list_lua},
};

static const rpc_method order_methods[] = {
    {"order.create", order_create, NULL},
    {"order.find", svc_step_call, &order_find},
    {"order.add_item", order_add_item, NULL},
    {"order.checkout", order_checkout, NULL},
    {"order.batch_init", order_batch_init, NULL},
    {"order.sagas", order_sagas, NULL},
};

int main(void)
{
    service_def def = {
        .name = "order",
        .methods = order_methods,
        .n_methods = sizeof(order_methods) / sizeof(order_methods[0]),
        .scripts = order_scripts,
        .n_scripts = ORDER_N_SCRIPTS,
        .init = order_shared_init,
        .fini = order_shared_fini,
        .bus_queue = order_saga_queue,
        .on_bus = order_saga_events,
        .tick = order_saga_tick,
        .tick_ms = 20,
    };
    return service_main(&def);
}
