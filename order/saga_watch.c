/* saga_watch: every tick, ends the parked checkout calls whose saga has ended without
 * this replica applying the final event: sagas owned by another replica (a checkout
 * that joined one in flight), and the race where the event came before the call was
 * parked. Every WATCH_SCAN_TICKS ticks, takes over the sagas whose lease expired, so
 * that every saga ends even when its owner is gone (see saga.h). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "wdm_metrics.h"
#include "order.h"
#include "saga.h"
#include "svc_script.h"

/* Sagas looked at per tick, and how long a call waits before it is looked at. */
#define WATCH_MAX 256
#define WATCH_FIRST_MS 100
/* How often to look for sagas to take over, in ticks, and how many at a time. */
#define WATCH_SCAN_TICKS 25
#define WATCH_SCAN_MAX "64"

/* The step a command name stands for (metrics labels). */
static wdm_saga_step watch_step(const char *what)
{
    if (strcmp(what, "RESERVE") == 0)
        return WDM_SAGA_STEP_RESERVE;
    if (strcmp(what, "REFUND") == 0)
        return WDM_SAGA_STEP_REFUND;
    if (strcmp(what, "RELEASE") == 0)
        return WDM_SAGA_STEP_RELEASE;
    return WDM_SAGA_STEP_CHARGE;
}

/* See saga.h. */
void order_saga_take_over(service_worker *w, order_saga *s, const char *saga_id)
{
    char saga_key[SAGA_KEY_LEN], lease[SVC_INT_LEN];
    const char *keys[] = {saga_key, SAGA_INFLIGHT_KEY};
    const char *args[] = {saga_id, s->replica_id, s->event_queue, lease};
    const char *what;
    redisReply *r = NULL;
    int rv;

    order_saga_key(saga_key, saga_id, "");
    svc_fmt_int(lease, s->lease_ms);
    if ((rv = store_eval(w->store, &order_scripts[ORDER_SCRIPT_SAGA_TAKEOVER], 2, keys, 4, args,
                         &r)) != 0) {
        log_warn("saga %s: takeover failed: %s", saga_id, strerror(-rv));
        return;
    }
    what = order_saga_elem(r, 0);
    if (strcmp(what, "LEASED") != 0 && strcmp(what, "DONE") != 0) {
        log_info("saga %s: taken over by %s: sending %s", saga_id, s->replica_id, what);
        wdm_metrics_saga_takeover();
        wdm_metrics_saga_resent(watch_step(what));
        if ((rv = order_saga_send(s, saga_id, what, r, 1, order_saga_publish, s->pub)) != 0)
            log_error("saga %s: cannot queue %s: %s", saga_id, what, strerror(-rv));
    }
    freeReplyObject(r);
}

/* Takes over every saga (up to WATCH_SCAN_MAX) whose lease has expired. */
static void watch_scan(service_worker *w, order_saga *s)
{
    struct timespec ts;
    char now[24];
    const char *argv[] = {"ZRANGEBYSCORE", SAGA_INFLIGHT_KEY, "-inf", now, "LIMIT", "0",
                          WATCH_SCAN_MAX};
    redisReply *r = NULL;
    int rv;

    /* The scripts decide with Redis's clock; this one only chooses whom to ask about. */
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(now, sizeof(now), "%lld", (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
    if ((rv = store_read(w->store, &r, 7, argv, NULL)) != 0) {
        log_warn("saga scan: %s", strerror(-rv));
        return;
    }
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++)
        if (r->element[i]->type == REDIS_REPLY_STRING)
            order_saga_take_over(w, s, r->element[i]->str);
    freeReplyObject(r);
}

void order_saga_tick(service_worker *w)
{
    order_saga *s = &((order_shared *)w->shared)->saga;
    static _Thread_local char ids[WATCH_MAX][SAGA_ID_LEN];
    static _Thread_local char keys[WATCH_MAX][SAGA_KEY_LEN];
    const char *key_ptrs[WATCH_MAX];
    redisReply *r = NULL;
    size_t n;
    int rv;

    if (++s->ticks % WATCH_SCAN_TICKS == 0)
        watch_scan(w, s);
    n = order_waiters_pending(s->waiters, ids, WATCH_MAX, WATCH_FIRST_MS);
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
