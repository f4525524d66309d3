/* stock: stock.batch_init, the benchmark's bulk load of items "0".."n-1". */
#include <stdio.h>

#include "api.pb-c.h"
#include "service.h"
#include "stock.h"
#include "svc_batch.h"
#include "svc_check.h"
#include "svc_script.h"

/* What every loaded item gets, as decimal strings. */
typedef struct stock_batch_item {
    char stock[SVC_INT_LEN];
    char price[SVC_INT_LEN];
} stock_batch_item;

/* svc_batch_fill_fn: HSET item:<i> stock <stock> price <price>. The hash has no other
 * fields, so this overwrites an existing item completely. */
static int stock_batch_fill(void *arg, store_batch *b, int64_t i)
{
    const stock_batch_item *item = arg;
    char key[STOCK_KEY_LEN];
    const char *argv[] = {"HSET", key, "stock", item->stock, "price", item->price};

    snprintf(key, sizeof(key), STOCK_ITEM_PREFIX "%lld", (long long)i);
    return store_batch_add(b, 6, argv, NULL);
}

/* stock.batch_init: StockBatchInitRequest {n, starting_stock, item_price} ->
 * BatchInitReply. Overwrites items "0".."n-1"; INVALID_ARGUMENT for n outside
 * 1..WDM_BATCH_MAX or a negative stock or price. */
void stock_batch_init(void *state, rpc_call *call)
{
    Wdm__StockBatchInitRequest *req;
    stock_batch_item item;

    req = (Wdm__StockBatchInitRequest *)rpc_call_unpack(call,
                                                        &wdm__stock_batch_init_request__descriptor);
    if (req == NULL)
        return;
    if (svc_check_amount(call, "starting_stock", req->starting_stock, 0) == 0 &&
        svc_check_amount(call, "item_price", req->item_price, 0) == 0) {
        svc_fmt_int(item.stock, req->starting_stock);
        svc_fmt_int(item.price, req->item_price);
        svc_batch_init(state, call, "stock", req->n, stock_batch_fill, &item);
    }
    wdm__stock_batch_init_request__free_unpacked(req, NULL);
}
