/* saga_events: the participants' events, on this replica's event queue (see saga.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
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

/* Applies one event. Returns 0 (done, or a malformed event skipped) or a negative
 * error when the store failed (the batch is then delivered again). */
static int event_apply(service_worker *w, const bus_delivery *d, bus_outbox *out)
{
    order_saga *s = &((order_shared *)w->shared)->saga;
    Wdm__SagaEvent *ev;
    char saga_key[SAGA_KEY_LEN], keys_key[SAGA_KEY_LEN], ttl[SVC_INT_LEN], lease[SVC_INT_LEN];
    const char *keys[] = {saga_key, keys_key, SAGA_INFLIGHT_KEY}, *args[6], *what;
    redisReply *r = NULL;
    int rv = 0;

    ev = wdm__saga_event__unpack(NULL, d->len, d->body);
    if (ev == NULL || !validate_id(ev->saga_id, strlen(ev->saga_id)) ||
        event_kind(ev->kind) == NULL || event_outcome(ev->outcome) == NULL) {
        log_warn("saga: malformed event skipped");
        goto out;
    }
    order_saga_key(saga_key, ev->saga_id, "");
    order_saga_key(keys_key, ev->saga_id, ":keys");
    svc_fmt_int(ttl, s->record_ttl_s);
    svc_fmt_int(lease, s->lease_ms);
    args[0] = event_kind(ev->kind);
    args[1] = event_outcome(ev->outcome);
    args[2] = ev->reason;
    args[3] = ttl;
    args[4] = ev->saga_id;
    args[5] = lease;
    if ((rv = store_eval(w->store, &order_scripts[ORDER_SCRIPT_SAGA_STEP], 3, keys, 6, args, &r)) != 0) {
        log_warn("saga %s: storing the event failed: %s", ev->saga_id, strerror(-rv));
        if (rv == -EPROTO)
            rv = 0; /* a script error will not go away by retrying */
        goto out;
    }
    what = order_saga_elem(r, 0);
    if (strcmp(what, "FINAL") == 0)
        order_waiters_finish(s->waiters, ev->saga_id, strcmp(order_saga_elem(r, 1), "COMMITTED") == 0,
                             order_saga_elem(r, 2));
    else if (strcmp(what, "IGNORED") != 0)
        rv = order_saga_send(s, ev->saga_id, what, r, 1, event_to_outbox, out);
    else
        log_debug("saga %s: stale %s %s ignored (state %s)", ev->saga_id, args[0], args[1],
                  order_saga_elem(r, 1));
out:
    freeReplyObject(r);
    if (ev != NULL)
        wdm__saga_event__free_unpacked(ev, NULL);
    return rv;
}

int order_saga_events(service_worker *w, const bus_delivery *d, size_t n, bus_outbox *out)
{
    int rv;

    for (size_t i = 0; i < n; i++)
        if ((rv = event_apply(w, &d[i], out)) != 0)
            return rv;
    return 0;
}
