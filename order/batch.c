/* order: order.batch_init, the benchmark's bulk load of orders "0".."n-1". */
#include <stdio.h>

#include "order.h"
#include "service.h"
#include "svc_batch.h"
#include "svc_check.h"
#include "svc_script.h"
#include "validate.h"

/* What the loaded orders are drawn from. */
typedef struct order_batch {
    service_worker *w;       /* its random generator picks the items and the user */
    int64_t n_items;         /* items "0".."n_items-1" */
    int64_t n_users;         /* users "0".."n_users-1" */
    char total[SVC_INT_LEN]; /* 2 * item_price */
} order_batch;

/* svc_batch_fill_fn: order <i> of a random user, with two random items of quantity 1
 * (one line of quantity 2 when the same item is drawn twice), unpaid and open. DEL
 * first, so the new hash replaces an existing order's lines rather than adding to them. */
static int order_batch_fill(void *arg, store_batch *b, int64_t i)
{
    order_batch *ob = arg;
    uint64_t item_a = service_random(ob->w, (uint64_t)ob->n_items);
    uint64_t item_b = service_random(ob->w, (uint64_t)ob->n_items);
    uint64_t user_id = service_random(ob->w, (uint64_t)ob->n_users);
    char key[ORDER_KEY_LEN], user[SVC_INT_LEN], line_a[SVC_INT_LEN + 8], line_b[SVC_INT_LEN + 8];
    const char *del[] = {"DEL", key};
    const char *hset[] = {"HSET",   key,
                          "user",   user,
                          "paid",   "0",
                          "total",  ob->total,
                          "status", ORDER_STATUS_OPEN,
                          line_a,   item_a == item_b ? "2" : "1",
                          line_b,   "1"};
    int rv;

    snprintf(key, sizeof(key), ORDER_PREFIX "%lld", (long long)i);
    snprintf(user, sizeof(user), "%llu", (unsigned long long)user_id);
    snprintf(line_a, sizeof(line_a), ORDER_LINE_PREFIX "%llu", (unsigned long long)item_a);
    snprintf(line_b, sizeof(line_b), ORDER_LINE_PREFIX "%llu", (unsigned long long)item_b);
    if ((rv = store_batch_add(b, 2, del, NULL)) != 0)
        return rv;
    return store_batch_add(b, item_a == item_b ? 12 : 14, hset, NULL);
}

/* order.batch_init: OrderBatchInitRequest {n, n_items, n_users, item_price} ->
 * BatchInitReply. Overwrites orders "0".."n-1" (see order_batch_fill); INVALID_ARGUMENT
 * for n outside 1..WDM_BATCH_MAX, n_items or n_users < 1, or a total beyond 2^53. */
void order_batch_init(void *state, rpc_call *call)
{
    Wdm__OrderBatchInitRequest *req;
    order_batch ob = {.w = state};

    req = (Wdm__OrderBatchInitRequest *)rpc_call_unpack(call,
                                                        &wdm__order_batch_init_request__descriptor);
    if (req == NULL)
        return;
    if (svc_check_amount(call, "n_items", req->n_items, 1) != 0 ||
        svc_check_amount(call, "n_users", req->n_users, 1) != 0 ||
        svc_check_amount(call, "item_price", req->item_price, 0) != 0)
        goto out;
    if (!validate_product_fits(2, req->item_price)) {
        rpc_call_fail(call, WDM__STATUS__INVALID_ARGUMENT, "overflow: total would exceed 2^53");
        goto out;
    }
    ob.n_items = req->n_items;
    ob.n_users = req->n_users;
    svc_fmt_int(ob.total, 2 * req->item_price);
    svc_batch_init(state, call, "orders", req->n, order_batch_fill, &ob);
out:
    wdm__order_batch_init_request__free_unpacked(req, NULL);
}
