/* saga_command: the commands the orchestrator sends, built from what its scripts ask
 * for (see saga.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "saga.h"
#include "saga.pb-c.h"

const char *order_saga_elem(const redisReply *r, size_t i)
{
    if (r->type != REDIS_REPLY_ARRAY || i >= r->elements || r->element[i]->type != REDIS_REPLY_STRING)
        return "";
    return r->element[i]->str;
}

int order_saga_send(order_saga *s, const char *saga_id, const char *what, const redisReply *r,
                    size_t at, order_saga_send_fn send, void *arg)
{
    Wdm__SagaCommand cmd = WDM__SAGA_COMMAND__INIT;
    size_t n = r->elements > at + 1 ? (r->elements - at - 1) / 2 : 0;
    Wdm__OrderLine *lines = NULL, **ptrs = NULL;
    const char *queue = BUS_QUEUE_PAYMENT;
    int rv;

    cmd.saga_id = (char *)saga_id;
    cmd.reply_to = s->event_queue;
    cmd.user_id = (char *)order_saga_elem(r, at);
    if (strcmp(what, "CHARGE") == 0) {
        cmd.kind = WDM__COMMAND_KIND__CHARGE;
        cmd.amount = strtoll(order_saga_elem(r, at + 1), NULL, 10);
    } else if (strcmp(what, "REFUND") == 0) {
        cmd.kind = WDM__COMMAND_KIND__REFUND;
    } else if (strcmp(what, "RESERVE") == 0 || strcmp(what, "RELEASE") == 0) {
        cmd.kind = what[2] == 'S' ? WDM__COMMAND_KIND__RESERVE : WDM__COMMAND_KIND__RELEASE;
        queue = BUS_QUEUE_STOCK;
        lines = calloc(n + 1, sizeof(*lines));
        ptrs = calloc(n + 1, sizeof(*ptrs));
        if (lines == NULL || ptrs == NULL) {
            rv = -ENOMEM;
            goto out;
        }
        for (size_t i = 0; i < n; i++) {
            wdm__order_line__init(&lines[i]);
            lines[i].item_id = (char *)order_saga_elem(r, at + 1 + 2 * i);
            lines[i].quantity = strtoll(order_saga_elem(r, at + 2 + 2 * i), NULL, 10);
            ptrs[i] = &lines[i];
        }
        cmd.items = ptrs;
        cmd.n_items = n;
    } else {
        return -EINVAL;
    }
    rv = send(arg, queue, &cmd.base);
out:
    free(ptrs);
    free(lines);
    return rv;
}

int order_saga_publish(void *pub, const char *queue, const ProtobufCMessage *msg)
{
    return bus_publish(pub, queue, msg);
}
