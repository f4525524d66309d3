/* payment: payment.batch_init, the benchmark's bulk load of users "0".."n-1". */
#include <stdio.h>

#include "api.pb-c.h"
#include "payment.h"
#include "service.h"
#include "svc_batch.h"
#include "svc_check.h"
#include "svc_script.h"

/* svc_batch_fill_fn: SET user:<i> <money>; arg is the money as a decimal string. */
static int payment_batch_fill(void *arg, store_batch *b, int64_t i)
{
    char key[PAYMENT_KEY_LEN];
    const char *argv[] = {"SET", key, arg};

    snprintf(key, sizeof(key), PAYMENT_USER_PREFIX "%lld", (long long)i);
    return store_batch_add(b, 3, argv, NULL);
}

/* payment.batch_init: PaymentBatchInitRequest {n, starting_money} -> BatchInitReply.
 * Overwrites users "0".."n-1"; INVALID_ARGUMENT for n outside 1..WDM_BATCH_MAX or a
 * negative amount of money. */
void payment_batch_init(void *state, rpc_call *call)
{
    Wdm__PaymentBatchInitRequest *req;
    char money[SVC_INT_LEN];

    req = (Wdm__PaymentBatchInitRequest *)rpc_call_unpack(
        call, &wdm__payment_batch_init_request__descriptor);
    if (req == NULL)
        return;
    if (svc_check_amount(call, "starting_money", req->starting_money, 0) == 0) {
        svc_fmt_int(money, req->starting_money);
        svc_batch_init(state, call, "payment", req->n, payment_batch_fill, money);
    }
    wdm__payment_batch_init_request__free_unpacked(req, NULL);
}
