/* saga_watch: every tick, ends the parked checkout calls whose saga has ended without
 * this replica applying the final event: sagas owned by another replica (a checkout
 * that joined one in flight), and the race where the event came before the call was
 * parked (see saga.h). */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "order.h"
#include "saga.h"

/* Sagas looked at per tick, and how long a call waits before it is looked at. */
#define WATCH_MAX 256
#define WATCH_MIN_AGE_MS 100

void order_saga_tick(service_worker *w)
{
    order_saga *s = &((order_shared *)w->shared)->saga;
    static _Thread_local char ids[WATCH_MAX][SAGA_ID_LEN];
    static _Thread_local char keys[WATCH_MAX][SAGA_KEY_LEN];
    const char *key_ptrs[WATCH_MAX];
    redisReply *r = NULL;
    size_t n;
    int rv;

    n = order_waiters_pending(s->waiters, ids, WATCH_MAX, WATCH_MIN_AGE_MS);
    if (n == 0)
        return;
    for (size_t i = 0; i < n; i++) {
        order_saga_key(keys[i], ids[i], "");
        key_ptrs[i] = keys[i];
    }
    if ((rv = store_eval(w->store, &order_scripts[ORDER_SCRIPT_SAGA_STATES], (int)n, key_ptrs, 0,
                         NULL, &r)) != 0) {
        log_warn("saga watch: %s", strerror(-rv));
        return;
    }
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 * n) {
        for (size_t i = 0; i < n; i++) {
            const char *state = r->element[2 * i]->str, *reason = r->element[2 * i + 1]->str;
            if (r->element[2 * i]->type != REDIS_REPLY_STRING)
                continue;
            if (strcmp(state, "COMMITTED") == 0 || strcmp(state, "ABORTED") == 0)
                order_waiters_finish(s->waiters, ids[i], strcmp(state, "COMMITTED") == 0,
                                     r->element[2 * i + 1]->type == REDIS_REPLY_STRING ? reason : "");
        }
    }
    freeReplyObject(r);
}
