/* saga_events: the participants' events, on this replica's event queue (see saga.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "wdm_metrics.h"
#include "order.h"
#include "saga.h"
#include "saga.pb-c.h"
#include "svc_script.h"
#include "validate.h"

static const char *event_kind(Wdm__CommandKind k)
{
    switch (k) {
    case WDM__COMMAND_KIND__CHARGE: return "CHARGE";
    case WDM__COMMAND_KIND__RESERVE: return "RESERVE";
    case WDM__COMMAND_KIND__REFUND: return "REFUND";
    case WDM__COMMAND_KIND__RELEASE: return "RELEASE";
    default: return NULL;
    }
}

static const char *event_outcome(Wdm__Outcome o)
{
    switch (o) {
    case WDM__OUTCOME__APPLIED: return "APPLIED";
    case WDM__OUTCOME__REJECTED: return "REJECTED";
    case WDM__OUTCOME__COMPENSATED: return "COMPENSATED";
    default: return NULL;
    }
}

/* order_saga_send_fn adding to a consumed batch's outbox (arg). */
static int event_to_outbox(void *out, const char *queue, const ProtobufCMessage *msg)
{
    return bus_outbox_add(out, queue, msg);
}

/* Decodes event delivery d and appends its saga_step.lua call to calls. Returns the
 * event (the caller's), or NULL when it is malformed (skipped, logged) or on ENOMEM
 * (*rv = -ENOMEM). */
static Wdm__SagaEvent *event_plan(const order_saga *s, const bus_delivery *d, store_batch *calls,
                                  int *rv)
{
    Wdm__SagaEvent *ev;
    char saga_key[SAGA_KEY_LEN], keys_key[SAGA_KEY_LEN], ttl[SVC_INT_LEN], lease[SVC_INT_LEN];
    const char *keys[] = {saga_key, keys_key, SAGA_INFLIGHT_KEY}, *args[6];

    *rv = 0;
    ev = wdm__saga_event__unpack(NULL, d->len, d->body);
    if (ev == NULL || !validate_id(ev->saga_id, strlen(ev->saga_id)) ||
        event_kind(ev->kind) == NULL || event_outcome(ev->outcome) == NULL) {
        log_warn("saga: malformed event skipped");
        if (ev != NULL)
            wdm__saga_event__free_unpacked(ev, NULL);
        return NULL;
    }
    order_saga_key(saga_key, ev->saga_id, "");
    order_saga_key(keys_key, ev->saga_id, ":keys");
    args[0] = event_kind(ev->kind);
    args[1] = event_outcome(ev->outcome);
    args[2] = ev->reason;
    args[3] = svc_fmt_int(ttl, s->record_ttl_s);
    args[4] = ev->saga_id;
    args[5] = svc_fmt_int(lease, s->lease_ms);
    if ((*rv = store_batch_eval(calls, &order_scripts[ORDER_SCRIPT_SAGA_STEP], 3, keys, 6,
                                args)) != 0) {
        wdm__saga_event__free_unpacked(ev, NULL);
        return NULL;
    }
    return ev;
}

/* Counts a saga that just ended, by its reason (the participants' and the takeover's
 * reasons: stock/reserve.lua, payment/charge.lua, saga_takeover.lua). */
static void event_count_end(bool committed, const char *reason)
{
    wdm_saga_end end = WDM_SAGA_ABORTED_OTHER;

    if (committed)
        end = WDM_SAGA_COMMITTED;
    else if (strcmp(reason, "not enough credit") == 0)
        end = WDM_SAGA_ABORTED_NO_CREDIT;
    else if (strcmp(reason, "not enough stock") == 0 || strcmp(reason, "unknown item") == 0)
        end = WDM_SAGA_ABORTED_NO_STOCK;
    else if (strcmp(reason, "checkout timed out") == 0)
        end = WDM_SAGA_ABORTED_DEADLINE;
    wdm_metrics_saga_end(end);
}

/* Acts on what saga_step.lua answered for ev: ends the parked calls of a saga that
 * ended, or adds the next command to out. Returns 0 or a negative error (-ENOMEM). */
static int event_act(order_saga *s, const Wdm__SagaEvent *ev, const redisReply *r,
                     bus_outbox *out)
{
    const char *what;

    if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
        /* A script error will not go away by retrying: skip the event. */
        log_warn("saga %s: storing the event failed: %s", ev->saga_id,
                 r != NULL && r->type == REDIS_REPLY_ERROR ? r->str : "malformed reply");
        return 0;
    }
    what = order_saga_elem(r, 0);
    if (strcmp(what, "FINAL") == 0) {
        bool committed = strcmp(order_saga_elem(r, 1), "COMMITTED") == 0;
        if (strcmp(order_saga_elem(r, 3), "NEW") == 0)
            event_count_end(committed, order_saga_elem(r, 2));
        order_waiters_finish(s->waiters, ev->saga_id, committed, order_saga_elem(r, 2));
        return 0;
    }
    if (strcmp(what, "IGNORED") != 0)
        return order_saga_send(s, ev->saga_id, what, r, 1, event_to_outbox, out);
    log_debug("saga %s: stale %s %s ignored (state %s)", ev->saga_id, event_kind(ev->kind),
              event_outcome(ev->outcome), order_saga_elem(r, 1));
    return 0;
}

/* The whole batch in one store round trip: every saga_step pipelined, one WAIT; then
 * each event's consequence. */
int order_saga_events(service_worker *w, const bus_delivery *d, size_t n, bus_outbox *out)
{
    order_saga *s = &((order_shared *)w->shared)->saga;
    Wdm__SagaEvent **evs = calloc(n ? n : 1, sizeof(*evs));
    size_t *call = calloc(n ? n : 1, sizeof(*call));
    store_batch *calls = store_batch_new();
    int rv = evs == NULL || call == NULL || calls == NULL ? -ENOMEM : 0;

    for (size_t i = 0; rv == 0 && i < n; i++) {
        call[i] = store_batch_count(calls);
        evs[i] = event_plan(s, &d[i], calls, &rv);
    }
    if (rv == 0 && (rv = store_batch_exec(w->store, calls)) != 0)
        log_warn("saga: storing %zu event(s) failed: %s", store_batch_count(calls), strerror(-rv));
    for (size_t i = 0; rv == 0 && i < n; i++)
        if (evs[i] != NULL)
            rv = event_act(s, evs[i], store_batch_reply(calls, call[i]), out);
    for (size_t i = 0; evs != NULL && i < n; i++)
        if (evs[i] != NULL)
            wdm__saga_event__free_unpacked(evs[i], NULL);
    free(evs);
    free(call);
    store_batch_free(calls);
    return rv;
}
