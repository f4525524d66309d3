/* checkout: the order.checkout method (see saga.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "order.h"
#include "saga.h"
#include "svc_check.h"
#include "svc_script.h"
#include "wdm_metrics.h"

/* Parks the call on saga_id. Without resources to park it, answers UNAVAILABLE: the
 * saga runs on, and a retried checkout joins it or sees its outcome. */
static void checkout_park(order_saga *s, rpc_call *call, const char *saga_id, const char *order_id)
{
    rpc_deferred *d = rpc_call_defer(call);

    if (d == NULL) {
        rpc_call_fail(call, WDM__STATUS__UNAVAILABLE, "out of resources; retry");
        return;
    }
    if (order_waiters_add(s->waiters, saga_id, order_id, d) != 0)
        rpc_deferred_fail(d, WDM__STATUS__UNAVAILABLE, "out of resources; retry");
}

/* order.checkout: CheckoutRequest {order_id} -> CheckoutReply {order_id, paid: true}
 * once the order's saga committed; CONFLICT once it aborted (nothing taken); NOT_FOUND.
 * The call is answered by the saga's end, not by this handler (see checkout_park). */
void order_checkout(void *state, rpc_call *call)
{
    service_worker *w = state;
    order_saga *s = &((order_shared *)w->shared)->saga;
    Wdm__CheckoutRequest *req;
    char saga_id[SAGA_ID_LEN], key[ORDER_KEY_LEN], idem[256], saga_key[SAGA_KEY_LEN],
        keys_key[SAGA_KEY_LEN], lease[SVC_INT_LEN], deadline[SVC_INT_LEN];
    const char *keys[] = {key, idem, saga_key, keys_key, SAGA_INFLIGHT_KEY};
    const char *args[] = {saga_id, s->replica_id, s->event_queue, lease, deadline};
    const char *what;
    redisReply *r = NULL;
    int rv;

    req = (Wdm__CheckoutRequest *)rpc_call_unpack(call, &wdm__checkout_request__descriptor);
    if (req == NULL)
        return;
    if (svc_check_id(call, "order_id", req->order_id) != 0 ||
        service_idem_key(call, idem, sizeof(idem)) != 0)
        goto out;
    service_new_id(saga_id);
    order_key(key, req->order_id);
    order_saga_key(saga_key, saga_id, "");
    order_saga_key(keys_key, saga_id, ":keys");
    svc_fmt_int(lease, s->lease_ms);
    svc_fmt_int(deadline, s->deadline_ms);
    if ((rv = store_eval(w->store, &order_scripts[ORDER_SCRIPT_CHECKOUT_BEGIN], 5, keys, 5, args,
                         &r)) != 0) {
        service_fail_store(call, rv);
        goto out;
    }
    what = order_saga_elem(r, 0);
    if (strcmp(what, "NOT_FOUND") == 0) {
        rpc_call_fail(call, WDM__STATUS__NOT_FOUND, "order not found");
    } else if (strcmp(what, "PAID") == 0) {
        order_saga_answer_call(call, req->order_id, true, NULL);
    } else if (strcmp(what, "FINAL") == 0) {
        order_saga_answer_call(call, req->order_id, strcmp(order_saga_elem(r, 1), "COMMITTED") == 0,
                               order_saga_elem(r, 2));
    } else if (strcmp(what, "JOIN") == 0) {
        checkout_park(s, call, order_saga_elem(r, 1), req->order_id);
        /* A saga whose owner died is taken over now, not at the next scan. */
        order_saga_take_over(w, s, order_saga_elem(r, 1));
    } else if (strcmp(what, "STARTED") == 0) {
        /* The saga is this call's new one, or (for a repeated call) the one it started. */
        if (strcmp(order_saga_elem(r, 1), saga_id) == 0)
            wdm_metrics_saga_started();
        checkout_park(s, call, order_saga_elem(r, 1), req->order_id);
        /* If this fails the saga stays CHARGING until its deadline aborts it. */
        if ((rv = order_saga_send(s, order_saga_elem(r, 1), "CHARGE", r, 2, order_saga_publish, s->pub)) != 0)
            log_error("saga %s: cannot queue Charge: %s", order_saga_elem(r, 1), strerror(-rv));
    } else {
        log_error("%s: malformed checkout_begin reply", call->method);
        rpc_call_fail(call, WDM__STATUS__UNAVAILABLE, "internal error");
    }
out:
    freeReplyObject(r);
    wdm__checkout_request__free_unpacked(req, NULL);
}
