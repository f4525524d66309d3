/* stock: the service's method and script tables, and its entry point. */
#include "service.h"
#include "svc_step.h"
#include "stock.h"

extern const char stock_create_item_lua[], stock_add_lua[], stock_subtract_lua[],
    stock_reserve_lua[], stock_release_lua[];

store_script stock_scripts[STOCK_N_SCRIPTS] = {
    [STOCK_SCRIPT_CREATE_ITEM] = {.name = "stock.create_item",
                                  .source = stock_create_item_lua,
                                  .idempotent = true},
    [STOCK_SCRIPT_ADD] = {.name = "stock.add", .source = stock_add_lua, .idempotent = true},
    [STOCK_SCRIPT_SUBTRACT] = {.name = "stock.subtract",
                               .source = stock_subtract_lua,
                               .idempotent = true},
    /* The saga's scripts: their saga record is their idempotency. */
    [STOCK_SCRIPT_RESERVE] = {.name = "stock.saga_reserve", .source = stock_reserve_lua},
    [STOCK_SCRIPT_RELEASE] = {.name = "stock.saga_release", .source = stock_release_lua},
};

static const rpc_method stock_methods[] = {
    {"stock.create_item", svc_step_call, &stock_create_item},
    {"stock.find", svc_step_call, &stock_find},
    {"stock.add", svc_step_call, &stock_add},
    {"stock.subtract", svc_step_call, &stock_subtract},
    {"stock.batch_init", stock_batch_init, NULL},
};

/* service_def.init: the saga participant's state. */
static int stock_init(void **shared)
{
    return svc_saga_init(shared, &stock_saga);
}

int main(void)
{
    service_def def = {
        .name = "stock",
        .methods = stock_methods,
        .n_methods = sizeof(stock_methods) / sizeof(stock_methods[0]),
        .scripts = stock_scripts,
        .n_scripts = STOCK_N_SCRIPTS,
        .init = stock_init,
        .fini = svc_saga_fini,
        .bus_queue = svc_saga_bus_queue,
        .on_bus = svc_saga_on_bus,
    };
    return service_main(&def);
}
