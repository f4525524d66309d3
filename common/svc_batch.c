/* svc_batch: chunked, pipelined batch loads for the batch_init methods (see svc_batch.h). */
#include "svc_batch.h"

#include <errno.h>
#include <stdio.h>

#include "api.pb-c.h"
#include "validate.h"

/* Writes entities [from, to) as one batch: fill each, then one pipelined run and WAIT.
 * Returns 0 or a negative error. */
static int batch_chunk(store *st, int64_t from, int64_t to, svc_batch_fill_fn fill, void *arg)
{
    store_batch *b;
    int rv = 0;

    if ((b = store_batch_new()) == NULL)
        return -ENOMEM;
    for (int64_t i = from; i < to; i++)
        if ((rv = fill(arg, b, i)) != 0)
            goto out;
    rv = store_batch_run(st, b);
out:
    store_batch_free(b);
    return rv;
}

void svc_batch_init(service_worker *w, rpc_call *call, const char *what, int64_t n,
                    svc_batch_fill_fn fill, void *arg)
{
    Wdm__BatchInitReply reply = WDM__BATCH_INIT_REPLY__INIT;
    char msg[96];
    int rv;

    if (n < 1 || n > WDM_BATCH_MAX) {
        rpc_call_fail(call, WDM__STATUS__INVALID_ARGUMENT, "n must be in 1..%lld",
                      (long long)WDM_BATCH_MAX);
        return;
    }
    for (int64_t from = 0; from < n; from += SVC_BATCH_CHUNK) {
        int64_t to = n - from > SVC_BATCH_CHUNK ? from + SVC_BATCH_CHUNK : n;
        if ((rv = batch_chunk(w->store, from, to, fill, arg)) != 0) {
            service_fail_store(call, rv);
            return;
        }
    }
    snprintf(msg, sizeof(msg), "Batch init for %s successful", what);
    reply.msg = msg;
    rpc_call_ok(call, &reply.base);
}
