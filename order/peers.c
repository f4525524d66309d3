/* order: the clients of stock and payment, and the reads order makes through them. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "order.h"
#include "validate.h"

int order_shared_init(void **shared)
{
    const char *stock_urls = config_str("WDM_STOCK_URLS", NULL);
    const char *payment_urls = config_str("WDM_PAYMENT_URLS", NULL);
    order_shared *sh;
    int64_t timeout_ms;
    int rv;

    if (stock_urls == NULL || payment_urls == NULL) {
        log_error("WDM_STOCK_URLS and WDM_PAYMENT_URLS must be set "
                  "(e.g. tcp://127.0.0.1:7101,tcp://127.0.0.1:7102)");
        return -EINVAL;
    }
    if ((rv = config_int("WDM_RPC_TIMEOUT_MS", 5000, 10, 600000, &timeout_ms)) != 0)
        return rv;
    if ((sh = calloc(1, sizeof(*sh))) == NULL)
        return -ENOMEM;
    sh->timeout_ms = (nng_duration)timeout_ms;
    if ((rv = rpc_client_open(&sh->stock, stock_urls)) != 0)
        goto fail;
    if ((rv = rpc_client_open(&sh->payment, payment_urls)) != 0)
        goto fail_stock;
    if ((rv = order_saga_init(&sh->saga)) != 0)
        goto fail_payment;
    *shared = sh;
    return 0;
fail_payment:
    rpc_client_close(sh->payment);
fail_stock:
    rpc_client_close(sh->stock);
fail:
    free(sh);
    return rv;
}

void order_shared_fini(void *shared)
{
    order_shared *sh = shared;

    if (sh == NULL)
        return;
    order_saga_fini(&sh->saga);
    rpc_client_close(sh->payment);
    rpc_client_close(sh->stock);
    free(sh);
}

/* Calls `method`(req) through c (a read: no idempotency key) and unpacks the reply's
 * payload as desc. Returns 0 with *out, the caller's (protobuf_c_message_free_unpacked).
 * Otherwise answers the call and returns a negative error: the peer's NOT_FOUND and
 * INVALID_ARGUMENT pass through with its text; anything else (no answer, UNAVAILABLE, a
 * malformed reply) is UNAVAILABLE. */
static int peer_read(order_shared *sh, rpc_client *c, rpc_call *call, const char *method,
                     const ProtobufCMessage *req, const ProtobufCMessageDescriptor *desc,
                     ProtobufCMessage **out)
{
    Wdm__RpcReply *reply = NULL;
    int rv;

    *out = NULL;
    if ((rv = rpc_client_call(c, method, NULL, 0, req, sh->timeout_ms, &reply)) != 0) {
        log_warn("%s: %s: %s", call->method, method, strerror(-rv));
        rpc_call_fail(call, WDM__STATUS__UNAVAILABLE, "%s unavailable", method);
        return rv;
    }
    switch (reply->status) {
    case WDM__STATUS__OK:
        *out = protobuf_c_message_unpack(desc, NULL, reply->payload.len, reply->payload.data);
        if (*out == NULL) {
            log_error("%s: malformed %s reply from %s", call->method, desc->short_name, method);
            rpc_call_fail(call, WDM__STATUS__UNAVAILABLE, "%s unavailable", method);
            rv = -EPROTO;
        }
        break;
    case WDM__STATUS__NOT_FOUND:
        rpc_call_fail(call, WDM__STATUS__NOT_FOUND, "%s", reply->error);
        rv = -ENOENT;
        break;
    case WDM__STATUS__INVALID_ARGUMENT:
        rpc_call_fail(call, WDM__STATUS__INVALID_ARGUMENT, "%s", reply->error);
        rv = -EINVAL;
        break;
    default:
        log_warn("%s: %s answered %d: %s", call->method, method, (int)reply->status, reply->error);
        rpc_call_fail(call, WDM__STATUS__UNAVAILABLE, "%s unavailable", method);
        rv = -EAGAIN;
        break;
    }
    wdm__rpc_reply__free_unpacked(reply, NULL);
    return rv;
}

int order_item_price(order_shared *sh, rpc_call *call, const char *item_id, int64_t *price)
{
    Wdm__FindItemRequest req = WDM__FIND_ITEM_REQUEST__INIT;
    ProtobufCMessage *msg;
    int rv;

    req.item_id = (char *)item_id;
    if ((rv = peer_read(sh, sh->stock, call, "stock.find", &req.base, &wdm__item_reply__descriptor,
                        &msg)) != 0)
        return rv;
    *price = ((Wdm__ItemReply *)msg)->price;
    protobuf_c_message_free_unpacked(msg, NULL);
    if (*price < 0 || *price > WDM_MAX_AMOUNT) {
        log_error("%s: stock.find answered a price out of range", call->method);
        rpc_call_fail(call, WDM__STATUS__UNAVAILABLE, "stock.find unavailable");
        return -EPROTO;
    }
    return 0;
}

int order_user_exists(order_shared *sh, rpc_call *call, const char *user_id)
{
    Wdm__FindUserRequest req = WDM__FIND_USER_REQUEST__INIT;
    ProtobufCMessage *msg;
    int rv;

    req.user_id = (char *)user_id;
    if ((rv = peer_read(sh, sh->payment, call, "payment.find_user", &req.base,
                        &wdm__user_reply__descriptor, &msg)) != 0)
        return rv;
    protobuf_c_message_free_unpacked(msg, NULL);
    return 0;
}
