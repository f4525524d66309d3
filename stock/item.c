/* stock: the item methods create_item, find, add and subtract (see stock.h). */
#include <errno.h>
#include <stdio.h>

#include "api.pb-c.h"
#include "service.h"
#include "stock.h"
#include "svc_check.h"
#include "svc_step.h"
#include "svc_script.h"

/* Writes the key of item `id` into key. */
static void item_key(char key[STOCK_KEY_LEN], const char *id)
{
    snprintf(key, STOCK_KEY_LEN, STOCK_ITEM_PREFIX "%s", id);
}

/* stock.create_item: CreateItemRequest {price} -> ItemIdReply. A new item with a fresh
 * id, stock 0 and the price. A retried call answers the id of its first run. */
static int create_item_prep(rpc_call *call, svc_query *q)
{
    Wdm__CreateItemRequest *req;

    req = (Wdm__CreateItemRequest *)rpc_call_unpack(call, &wdm__create_item_request__descriptor);
    if (req == NULL)
        return -EINVAL;
    q->req = &req->base;
    if (svc_check_amount(call, "price", req->price, 0) != 0)
        return -EINVAL;
    service_new_id(q->id);
    item_key(q->key, q->id);
    svc_fmt_int(q->num, req->price);
    return svc_query_script(q, call, &stock_scripts[STOCK_SCRIPT_CREATE_ITEM], 1,
                            (const char *[]){q->key}, 2, (const char *[]){q->num, q->id});
}

static void create_item_answer(rpc_call *call, const svc_query *q, const redisReply *r)
{
    Wdm__ItemIdReply reply = WDM__ITEM_ID_REPLY__INIT;
    const char *item_id;

    (void)q;
    if (svc_reply_str(call, r, 1, &item_id) != 0)
        return;
    reply.item_id = (char *)item_id;
    rpc_call_ok(call, &reply.base);
}

const svc_step stock_create_item = {create_item_prep, create_item_answer};

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
    svc_query_read(q, 4, (const char *[]){"HMGET", q->key, "stock", "price"});
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

const svc_step stock_find = {find_prep, find_answer};

/* Sets up add or subtract (`script`) for a StockChangeRequest {item_id, amount}; the
 * script answers NOT_FOUND, CONFLICT (not enough stock) or INVALID_ARGUMENT (overflow)
 * itself. */
static int change_prep(rpc_call *call, svc_query *q, store_script *script)
{
    Wdm__StockChangeRequest *req;

    req = (Wdm__StockChangeRequest *)rpc_call_unpack(call, &wdm__stock_change_request__descriptor);
    if (req == NULL)
        return -EINVAL;
    q->req = &req->base;
    if (svc_check_id(call, "item_id", req->item_id) != 0 ||
        svc_check_amount(call, "amount", req->amount, 1) != 0)
        return -EINVAL;
    item_key(q->key, req->item_id);
    svc_fmt_int(q->num, req->amount);
    return svc_query_script(q, call, script, 1, (const char *[]){q->key}, 1,
                            (const char *[]){q->num});
}

/* Answers StockReply {item_id, stock after}. */
static void change_answer(rpc_call *call, const svc_query *q, const redisReply *r)
{
    Wdm__StockReply reply = WDM__STOCK_REPLY__INIT;

    if (svc_reply_int(call, r, 1, &reply.stock) != 0)
        return;
    reply.item_id = ((const Wdm__StockChangeRequest *)q->req)->item_id;
    rpc_call_ok(call, &reply.base);
}

/* stock.add: StockChangeRequest -> StockReply; NOT_FOUND; INVALID_ARGUMENT for an
 * amount <= 0 or a stock that would exceed 2^53. */
static int add_prep(rpc_call *call, svc_query *q)
{
    return change_prep(call, q, &stock_scripts[STOCK_SCRIPT_ADD]);
}

const svc_step stock_add = {add_prep, change_answer};

/* stock.subtract: StockChangeRequest -> StockReply; NOT_FOUND; CONFLICT when there is
 * not enough stock (nothing changes); INVALID_ARGUMENT for an amount <= 0. */
static int subtract_prep(rpc_call *call, svc_query *q)
{
    return change_prep(call, q, &stock_scripts[STOCK_SCRIPT_SUBTRACT]);
}

const svc_step stock_subtract = {subtract_prep, change_answer};
