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

static const char *elem(const redisReply *r, size_t i)
{
    if (i >= r->elements || r->element[i]->type != REDIS_REPLY_STRING)
        return "";
    return r->element[i]->str;
}

/* Queues the command that saga_step.lua asked for (reply {'RESERVE', user, id, qty, ...}
 * or {'REFUND'}) in the batch's outbox. Returns 0 or a negative error. */
static int event_next_command(order_saga *s, const char *saga_id, const redisReply *r,
                              bus_outbox *out)
{
    Wdm__SagaCommand cmd = WDM__SAGA_COMMAND__INIT;
    size_t n = r->elements > 2 ? (r->elements - 2) / 2 : 0;
    Wdm__OrderLine *lines = NULL, **ptrs = NULL;
    const char *queue;
    int rv;

    cmd.saga_id = (char *)saga_id;
    cmd.reply_to = s->event_queue;
    if (strcmp(elem(r, 0), "REFUND") == 0) {
        cmd.kind = WDM__COMMAND_KIND__REFUND;
        queue = BUS_QUEUE_PAYMENT;
    } else {
        cmd.kind = WDM__COMMAND_KIND__RESERVE;
        queue = BUS_QUEUE_STOCK;
        lines = calloc(n + 1, sizeof(*lines));
        ptrs = calloc(n + 1, sizeof(*ptrs));
        if (lines == NULL || ptrs == NULL) {
            rv = -ENOMEM;
            goto out;
        }
        for (size_t i = 0; i < n; i++) {
            wdm__order_line__init(&lines[i]);
            lines[i].item_id = (char *)elem(r, 2 + 2 * i);
            lines[i].quantity = strtoll(elem(r, 3 + 2 * i), NULL, 10);
            ptrs[i] = &lines[i];
        }
        cmd.items = ptrs;
        cmd.n_items = n;
    }
    rv = bus_outbox_add(out, queue, &cmd.base);
out:
    free(ptrs);
    free(lines);
    return rv;
}

/* Applies one event. Returns 0 (done, or a malformed event skipped) or a negative
 * error when the store failed (the batch is then delivered again). */
static int event_apply(service_worker *w, const bus_delivery *d, bus_outbox *out)
{
    order_saga *s = &((order_shared *)w->shared)->saga;
    Wdm__SagaEvent *ev;
    char saga_key[SAGA_KEY_LEN], keys_key[SAGA_KEY_LEN], ttl[SVC_INT_LEN];
    const char *keys[] = {saga_key, keys_key}, *args[4], *what;
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
    args[0] = event_kind(ev->kind);
    args[1] = event_outcome(ev->outcome);
    args[2] = ev->reason;
    args[3] = ttl;
    if ((rv = store_eval(w->store, &order_scripts[ORDER_SCRIPT_SAGA_STEP], 2, keys, 4, args, &r)) != 0) {
        log_warn("saga %s: storing the event failed: %s", ev->saga_id, strerror(-rv));
        if (rv == -EPROTO)
            rv = 0; /* a script error will not go away by retrying */
        goto out;
    }
    what = r->type == REDIS_REPLY_ARRAY ? elem(r, 0) : "";
    if (strcmp(what, "FINAL") == 0)
        order_waiters_finish(s->waiters, ev->saga_id, strcmp(elem(r, 1), "COMMITTED") == 0,
                             elem(r, 2));
    else if (strcmp(what, "RESERVE") == 0 || strcmp(what, "REFUND") == 0)
        rv = event_next_command(s, ev->saga_id, r, out);
    else
        log_debug("saga %s: stale %s %s ignored (state %s)", ev->saga_id, args[0], args[1],
                  elem(r, 1));
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
