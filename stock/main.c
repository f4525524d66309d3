/* stock: the service's method and script tables, and its entry point. */
#include "service.h"
#include "stock.h"

extern const char stock_create_item_lua[], stock_add_lua[], stock_subtract_lua[];

store_script stock_scripts[STOCK_N_SCRIPTS] = {
    [STOCK_SCRIPT_CREATE_ITEM] = {.name = "stock.create_item",
                                  .source = stock_create_item_lua,
                                  .idempotent = true},
    [STOCK_SCRIPT_ADD] = {.name = "stock.add", .source = stock_add_lua, .idempotent = true},
    [STOCK_SCRIPT_SUBTRACT] = {.name = "stock.subtract",
                               .source = stock_subtract_lua,
                               .idempotent = true},
};

static const rpc_method stock_methods[] = {
    {"stock.create_item", stock_create_item},
    {"stock.find", stock_find},
    {"stock.add", stock_add},
    {"stock.subtract", stock_subtract},
    {"stock.batch_init", stock_batch_init},
};

int main(void)
{
    service_def def = {
        .name = "stock",
        .methods = stock_methods,
        .n_methods = sizeof(stock_methods) / sizeof(stock_methods[0]),
        .scripts = stock_scripts,
        .n_scripts = STOCK_N_SCRIPTS,
    };
    return service_main(&def);
}
