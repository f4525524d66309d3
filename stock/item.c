/* stock: the item methods create_item, find, add and subtract (see stock.h). */
#include <errno.h>
#include <stdio.h>

#include "api.pb-c.h"
#include "service.h"
#include "stock.h"
#include "svc_check.h"
#include "svc_read.h"
#include "svc_script.h"

/* Writes the key of item `id` into key. */
static void item_key(char key[STOCK_KEY_LEN], const char *id)
{
    snprintf(key, STOCK_KEY_LEN, STOCK_ITEM_PREFIX "%s", id);
}

/* stock.create_item: CreateItemRequest {price} -> ItemIdReply. A new item with a fresh
 * id, stock 0 and the price. A retried call answers the id of its first run. */
void stock_create_item(void *state, rpc_call *call)
{
    service_worker *w = state;
    Wdm__CreateItemRequest *req;
    Wdm__ItemIdReply reply = WDM__ITEM_ID_REPLY__INIT;
    char id[33], key[STOCK_KEY_LEN], price[SVC_INT_LEN];
    const char *keys[] = {key}, *args[] = {price, id};
    store_script *script = &stock_scripts[STOCK_SCRIPT_CREATE_ITEM];
    const char *item_id;
    redisReply *r = NULL;

    req = (Wdm__CreateItemRequest *)rpc_call_unpack(call, &wdm__create_item_request__descriptor);
    if (req == NULL)
        return;
    if (svc_check_amount(call, "price", req->price, 0) != 0)
        goto out;
    service_new_id(id);
    item_key(key, id);
    svc_fmt_int(price, req->price);
    if (svc_script_run(w, call, script, 1, keys, 2, args, &r) != 0 ||
        svc_reply_str(call, r, 1, &item_id) != 0)
        goto out;
    reply.item_id = (char *)item_id;
    rpc_call_ok(call, &reply.base);
out:
    freeReplyObject(r);
    wdm__create_item_request__free_unpacked(req, NULL);
}

/* stock.find: FindItemRequest {item_id} -> ItemReply {stock, price}; NOT_FOUND.
 * One HMGET, no write. */
static int find_prep(rpc_call *call, svc_query *q)
{
    Wdm__FindItemRequest *req;

    req = (Wdm__FindItemRequest *)rpc_call_unpack(call, &wdm__find_item_request__descriptor);
    if (req == NULL)
        return -EINVAL;
    q->req = &req->base;
    if (svc_check_id(call, "item_id", req->item_id) != 0)
        return -EINVAL;
    item_key(q->key, req->item_id);
    svc_query_set(q, 4, (const char *[]){"HMGET", q->key, "stock", "price"});
    return 0;
}

static void find_answer(rpc_call *call, const svc_query *q, const redisReply *r)
{
    Wdm__ItemReply reply = WDM__ITEM_REPLY__INIT;

    (void)q;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[0]->type == REDIS_REPLY_NIL) {
        rpc_call_fail(call, WDM__STATUS__NOT_FOUND, "item not found");
        return;
    }
    if (svc_reply_int(call, r, 0, &reply.stock) != 0 ||
        svc_reply_int(call, r, 1, &reply.price) != 0)
        return;
    rpc_call_ok(call, &reply.base);
}

const svc_read stock_find = {find_prep, find_answer};

/* Runs add or subtract (`script`) for a StockChangeRequest {item_id, amount} and
 * answers StockReply {item_id, stock after}; the script answers NOT_FOUND, CONFLICT
 * (not enough stock) or INVALID_ARGUMENT (overflow) itself. */
static void stock_change(service_worker *w, rpc_call *call, store_script *script)
{
    Wdm__StockChangeRequest *req;
    Wdm__StockReply reply = WDM__STOCK_REPLY__INIT;
    char key[STOCK_KEY_LEN], amount[SVC_INT_LEN];
    const char *keys[] = {key}, *args[] = {amount};
    redisReply *r = NULL;

    req = (Wdm__StockChangeRequest *)rpc_call_unpack(call, &wdm__stock_change_request__descriptor);
    if (req == NULL)
        return;
    if (svc_check_id(call, "item_id", req->item_id) != 0 ||
        svc_check_amount(call, "amount", req->amount, 1) != 0)
        goto out;
    item_key(key, req->item_id);
    svc_fmt_int(amount, req->amount);
    if (svc_script_run(w, call, script, 1, keys, 1, args, &r) != 0 ||
        svc_reply_int(call, r, 1, &reply.stock) != 0)
        goto out;
    reply.item_id = req->item_id;
    rpc_call_ok(call, &reply.base);
out:
    freeReplyObject(r);
    wdm__stock_change_request__free_unpacked(req, NULL);
}

/* stock.add: StockChangeRequest -> StockReply; NOT_FOUND; INVALID_ARGUMENT for an
 * amount <= 0 or a stock that would exceed 2^53. */
void stock_add(void *state, rpc_call *call)
{
    stock_change(state, call, &stock_scripts[STOCK_SCRIPT_ADD]);
}

/* stock.subtract: StockChangeRequest -> StockReply; NOT_FOUND; CONFLICT when there is
 * not enough stock (nothing changes); INVALID_ARGUMENT for an amount <= 0. */
void stock_subtract(void *state, rpc_call *call)
{
    stock_change(state, call, &stock_scripts[STOCK_SCRIPT_SUBTRACT]);
}
