/* saga: the orchestrator's settings and shared pieces (see saga.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "api.pb-c.h"
#include "config.h"
#include "log.h"
#include "order.h"
#include "saga.h"
#include "validate.h"

int order_saga_init(order_saga *s)
{
    const char *replica = config_str("WDM_REPLICA_ID", NULL);
    char host[256];
    int rv;

    if (replica == NULL) {
        if (gethostname(host, sizeof(host)) != 0)
            return -errno;
        host[sizeof(host) - 1] = '\0';
        replica = host;
    }
    if (!validate_id(replica, strlen(replica))) {
        log_error("WDM_REPLICA_ID=%s: expected 1-64 characters of [A-Za-z0-9_-]", replica);
        return -EINVAL;
    }
    strcpy(s->replica_id, replica);
    if ((rv = bus_event_queue(s->event_queue, sizeof(s->event_queue), replica)) != 0 ||
        (rv = bus_config_read(&s->bus)) != 0 ||
        (rv = config_int("WDM_SAGA_LEASE_MS", 10000, 100, 3600000, &s->lease_ms)) != 0 ||
        (rv = config_int("WDM_SAGA_DEADLINE_MS", 30000, 100, 3600000, &s->deadline_ms)) != 0 ||
        (rv = config_int("WDM_SAGA_RECORD_TTL_S", 604800, 60, 31536000, &s->record_ttl_s)) != 0)
        return rv;
    if ((rv = order_waiters_new(&s->waiters)) != 0)
        return rv;
    if ((rv = bus_publisher_start(&s->pub, &s->bus)) != 0) {
        order_waiters_free(s->waiters);
        return rv;
    }
    log_info("saga orchestrator %s, events on %s", s->replica_id, s->event_queue);
    return 0;
}

void order_saga_fini(order_saga *s)
{
    bus_publisher_stop(s->pub);
    order_waiters_free(s->waiters);
}

int order_saga_queue(void *shared, char *buf, size_t size)
{
    order_shared *sh = shared;

    if (strlen(sh->saga.event_queue) >= size)
        return -EINVAL;
    strcpy(buf, sh->saga.event_queue);
    return 0;
}

void order_saga_key(char *key, const char *saga_id, const char *suffix)
{
    snprintf(key, SAGA_KEY_LEN, "saga:%s%s", saga_id, suffix);
}

void order_saga_answer_call(rpc_call *call, const char *order_id, bool committed, const char *reason)
{
    Wdm__CheckoutReply reply = WDM__CHECKOUT_REPLY__INIT;

    if (!committed) {
        rpc_call_fail(call, WDM__STATUS__CONFLICT, "%s", reason);
        return;
    }
    reply.order_id = (char *)order_id;
    reply.paid = true;
    rpc_call_ok(call, &reply.base);
}
