/* order: order.add_item, adding a quantity of an item at stock's current price. */
#include "order.h"
#include "service.h"
#include "svc_check.h"
#include "svc_script.h"
#include "validate.h"

/* order.add_item: AddItemRequest {order_id, item_id, quantity} -> AddItemReply
 * {order_id, total_cost}. Asks stock for the item's price (NOT_FOUND for an unknown
 * item), then adds the line in one script: NOT_FOUND for an unknown order, CONFLICT
 * when it is paid or checking out, INVALID_ARGUMENT for a quantity <= 0 or a total
 * beyond 2^53. A retried call answers its first run's total and adds nothing. */
void order_add_item(void *state, rpc_call *call)
{
    service_worker *w = state;
    Wdm__AddItemRequest *req;
    Wdm__AddItemReply reply = WDM__ADD_ITEM_REPLY__INIT;
    char key[ORDER_KEY_LEN], quantity[SVC_INT_LEN], cost[SVC_INT_LEN];
    const char *keys[] = {key}, *args[] = {NULL, quantity, cost};
    redisReply *r = NULL;
    int64_t price;

    req = (Wdm__AddItemRequest *)rpc_call_unpack(call, &wdm__add_item_request__descriptor);
    if (req == NULL)
        return;
    if (svc_check_id(call, "order_id", req->order_id) != 0 ||
        svc_check_id(call, "item_id", req->item_id) != 0 ||
        svc_check_amount(call, "quantity", req->quantity, 1) != 0 ||
        order_item_price(w->shared, call, req->item_id, &price) != 0)
        goto out;
    if (!validate_product_fits(price, req->quantity)) {
        rpc_call_fail(call, WDM__STATUS__INVALID_ARGUMENT, "overflow: cost would exceed 2^53");
        goto out;
    }
    order_key(key, req->order_id);
    args[0] = req->item_id;
    svc_fmt_int(quantity, req->quantity);
    svc_fmt_int(cost, price * req->quantity);
    if (svc_script_run(w, call, &order_scripts[ORDER_SCRIPT_ADD_ITEM], 1, keys, 3, args, &r) != 0 ||
        svc_reply_int(call, r, 1, &reply.total_cost) != 0)
        goto out;
    reply.order_id = req->order_id;
    rpc_call_ok(call, &reply.base);
out:
    freeReplyObject(r);
    wdm__add_item_request__free_unpacked(req, NULL);
}
