/* order: the order methods create and find (see order.h; checkout: checkout.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "order.h"
#include "service.h"
#include "svc_check.h"
#include "svc_script.h"

void order_key(char key[ORDER_KEY_LEN], const char *id)
{
    snprintf(key, ORDER_KEY_LEN, ORDER_PREFIX "%s", id);
}

/* order.create: CreateOrderRequest {user_id} -> OrderIdReply. NOT_FOUND when payment
 * does not know the user. A new, empty, unpaid order with a fresh id; a retried call
 * answers the id of its first run. */
void order_create(void *state, rpc_call *call)
{
    service_worker *w = state;
    Wdm__CreateOrderRequest *req;
    Wdm__OrderIdReply reply = WDM__ORDER_ID_REPLY__INIT;
    char id[33], key[ORDER_KEY_LEN];
    const char *keys[] = {key}, *args[] = {NULL, id};
    const char *order_id;
    redisReply *r = NULL;

    req = (Wdm__CreateOrderRequest *)rpc_call_unpack(call, &wdm__create_order_request__descriptor);
    if (req == NULL)
        return;
    if (svc_check_id(call, "user_id", req->user_id) != 0 ||
        order_user_exists(w->shared, call, req->user_id) != 0)
        goto out;
    service_new_id(id);
    order_key(key, id);
    args[0] = req->user_id;
    if (svc_script_run(w, call, &order_scripts[ORDER_SCRIPT_CREATE], 1, keys, 2, args, &r) != 0 ||
        svc_reply_str(call, r, 1, &order_id) != 0)
        goto out;
    reply.order_id = (char *)order_id;
    rpc_call_ok(call, &reply.base);
out:
    freeReplyObject(r);
    wdm__create_order_request__free_unpacked(req, NULL);
}

/* order.find: FindOrderRequest {order_id} -> OrderReply {order_id, paid, items,
 * user_id, total_cost}; NOT_FOUND. One HGETALL, no write. */
static int find_prep(rpc_call *call, svc_query *q)
{
    Wdm__FindOrderRequest *req;

    req = (Wdm__FindOrderRequest *)rpc_call_unpack(call, &wdm__find_order_request__descriptor);
    if (req == NULL)
        return -EINVAL;
    q->req = &req->base;
    if (svc_check_id(call, "order_id", req->order_id) != 0)
        return -EINVAL;
    order_key(q->key, req->order_id);
    svc_query_read(q, 2, (const char *[]){"HGETALL", q->key});
    return 0;
}

static void find_answer(rpc_call *call, const svc_query *q, const redisReply *r)
{
    const Wdm__FindOrderRequest *req = (const Wdm__FindOrderRequest *)q->req;
    Wdm__OrderReply reply = WDM__ORDER_REPLY__INIT;
    Wdm__OrderLine *lines = NULL, **ptrs = NULL;
    size_t room;

    room = r->type == REDIS_REPLY_ARRAY ? r->elements / 2 + 1 : 1;
    if ((lines = calloc(room, sizeof(*lines))) == NULL ||
        (ptrs = calloc(room, sizeof(*ptrs))) == NULL) {
        rpc_call_fail(call, WDM__STATUS__UNAVAILABLE, "out of memory");
        goto out;
    }
    switch (order_view_parse(r, &reply, lines, ptrs)) {
    case 0:
        reply.order_id = req->order_id;
        rpc_call_ok(call, &reply.base);
        break;
    case -ENOENT: rpc_call_fail(call, WDM__STATUS__NOT_FOUND, "order not found"); break;
    default:
        log_error("%s: %s is not an order", call->method, q->key);
        rpc_call_fail(call, WDM__STATUS__UNAVAILABLE, "internal error");
        break;
    }
out:
    free(ptrs);
    free(lines);
}

const svc_step order_find = {find_prep, find_answer};
