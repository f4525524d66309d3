/* waiters: checkout calls parked until their saga ends, by saga id (see saga.h).
 * A chained hash table under one mutex; answers are sent outside the lock. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.pb-c.h"
#include "saga.h"

#define WAITERS_BUCKETS 4096
/* A parked call is looked at after the first delay, then ever less often, up to this
 * many times the first delay between looks: a saga that takes long (another replica's,
 * or one waiting for a takeover) costs the watcher little. */
#define WAITERS_CHECK_MAX 10

typedef struct waiter {
    char saga_id[SAGA_ID_LEN];
    char order_id[WDM_ID_MAX + 1];
    rpc_deferred *call;
    int64_t check_at_ms;  /* when order_waiters_pending lists it next */
    int64_t interval_ms;  /* and the wait after that: doubles, up to WAITERS_CHECK_MAX */
    struct waiter *next;
} waiter;

struct order_waiters {
    pthread_mutex_t mu;
    size_t n;                        /* parked calls; lets an idle watcher skip the scan */
    waiter *buckets[WAITERS_BUCKETS];
};

static int64_t waiters_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static size_t waiters_bucket(const char *saga_id)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (const char *p = saga_id; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ULL;
    return h % WAITERS_BUCKETS;
}

int order_waiters_new(order_waiters **out)
{
    order_waiters *t = calloc(1, sizeof(*t));

    if (t == NULL)
        return -ENOMEM;
    pthread_mutex_init(&t->mu, NULL);
    *out = t;
    return 0;
}

/* Answers every waiter of the detached list `w` and frees them. */
static void waiters_answer(waiter *w, bool committed, const char *reason)
{
    while (w != NULL) {
        waiter *next = w->next;
        Wdm__CheckoutReply reply = WDM__CHECKOUT_REPLY__INIT;

        if (committed) {
            reply.order_id = w->order_id;
            reply.paid = true;
            rpc_deferred_ok(w->call, &reply.base);
        } else if (reason == NULL) {
            rpc_deferred_fail(w->call, WDM__STATUS__UNAVAILABLE, "checkout interrupted; retry");
        } else {
            rpc_deferred_fail(w->call, WDM__STATUS__CONFLICT, "%s", reason);
        }
        free(w);
        w = next;
    }
}

void order_waiters_free(order_waiters *t)
{
    for (size_t i = 0; i < WAITERS_BUCKETS; i++)
        waiters_answer(t->buckets[i], false, NULL);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

int order_waiters_add(order_waiters *t, const char *saga_id, const char *order_id,
                      rpc_deferred *d)
{
    waiter *w = calloc(1, sizeof(*w));
    size_t b = waiters_bucket(saga_id);

    if (w == NULL)
        return -ENOMEM;
    strncpy(w->saga_id, saga_id, SAGA_ID_LEN - 1);
    strncpy(w->order_id, order_id, WDM_ID_MAX);
    w->call = d;
    w->check_at_ms = -1; /* set by the first order_waiters_pending that sees it */
    pthread_mutex_lock(&t->mu);
    w->next = t->buckets[b];
    t->buckets[b] = w;
    t->n++;
    pthread_mutex_unlock(&t->mu);
    return 0;
}

void order_waiters_finish(order_waiters *t, const char *saga_id, bool committed,
                          const char *reason)
{
    size_t b = waiters_bucket(saga_id);
    waiter *done = NULL, **pp;

    pthread_mutex_lock(&t->mu);
    for (pp = &t->buckets[b]; *pp != NULL;) {
        waiter *w = *pp;
        if (strcmp(w->saga_id, saga_id) == 0) {
            *pp = w->next;
            w->next = done;
            done = w;
            t->n--;
        } else {
            pp = &w->next;
        }
    }
    pthread_mutex_unlock(&t->mu);
    waiters_answer(done, committed, reason ? reason : "");
}

size_t order_waiters_pending(order_waiters *t, char (*ids)[SAGA_ID_LEN], size_t max,
                             int64_t first_ms)
{
    int64_t now = waiters_now_ms();
    size_t n = 0;

    pthread_mutex_lock(&t->mu);
    for (size_t b = 0; b < WAITERS_BUCKETS && n < max && t->n > 0; b++) {
        for (waiter *w = t->buckets[b]; w != NULL && n < max; w = w->next) {
            bool seen = false;

            if (w->check_at_ms < 0) {
                w->interval_ms = first_ms;
                w->check_at_ms = now + first_ms;
            }
            if (w->check_at_ms > now)
                continue;
            if (w->interval_ms < first_ms * WAITERS_CHECK_MAX)
                w->interval_ms *= 2;
            w->check_at_ms = now + w->interval_ms;
            /* Several calls may wait on one saga: list it once. */
            for (size_t i = n; i > 0 && !seen; i--)
                seen = strcmp(ids[i - 1], w->saga_id) == 0;
            if (!seen)
                strcpy(ids[n++], w->saga_id);
        }
    }
    pthread_mutex_unlock(&t->mu);
    return n;
}
