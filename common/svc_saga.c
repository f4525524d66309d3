/* svc_saga: decoding, checking and dispatching saga commands, and answering them with
 * events (see svc_saga.h). */
#include "svc_saga.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "validate.h"

/* The longest record TTL we accept: ten years. */
#define SVC_SAGA_TTL_MAX_S 315360000

int svc_saga_init(void **shared, const svc_saga_participant *p)
{
    svc_saga *s;
    int64_t ttl;
    int rv;

    if ((rv = config_int("WDM_SAGA_RECORD_TTL_S", SVC_SAGA_TTL_DEFAULT_S, 1, SVC_SAGA_TTL_MAX_S,
                         &ttl)) != 0)
        return rv;
    if ((s = calloc(1, sizeof(*s))) == NULL)
        return -ENOMEM;
    s->p = p;
    snprintf(s->ttl, sizeof(s->ttl), "%lld", (long long)ttl);
    *shared = s;
    return 0;
}

void svc_saga_fini(void *shared)
{
    free(shared);
}

int svc_saga_bus_queue(void *shared, char *buf, size_t size)
{
    const svc_saga *s = shared;
    int n = snprintf(buf, size, "%s", s->p->queue);

    return n < 0 || (size_t)n >= size ? -EINVAL : 0;
}

const char *svc_saga_kind_name(Wdm__CommandKind kind)
{
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&wdm__command_kind__descriptor, (int)kind);

    return v != NULL && kind != WDM__COMMAND_KIND__COMMAND_UNSPECIFIED ? v->name : "unknown";
}

int svc_saga_check(const Wdm__SagaCommand *cmd, const char **why)
{
    const size_t prefix = strlen(SVC_SAGA_REPLY_PREFIX);
    size_t len;

    if (!validate_id(cmd->saga_id, strlen(cmd->saga_id))) {
        *why = "saga_id is not an id";
        return -EINVAL;
    }
    len = strlen(cmd->reply_to);
    if (len <= prefix || len >= BUS_QUEUE_MAX ||
        strncmp(cmd->reply_to, SVC_SAGA_REPLY_PREFIX, prefix) != 0) {
        *why = "reply_to is not an event queue";
        return -EINVAL;
    }
    for (size_t i = prefix; i < len; i++) {
        if (cmd->reply_to[i] <= ' ' || cmd->reply_to[i] > '~') {
            *why = "reply_to is not printable ASCII";
            return -EINVAL;
        }
    }
    return 0;
}

int svc_saga_eval(service_worker *w, store_script *script, int nkeys, const char *const *keys,
                  int nargs, const char *const *args, svc_saga_outcome *out)
{
    redisReply *r = NULL;
    const redisReply *o, *why;
    int rv;

    if ((rv = store_eval(w->store, script, nkeys, keys, nargs, args, &r)) != 0)
        return rv;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2)
        goto malformed;
    o = r->element[0];
    why = r->element[1];
    if (o->type != REDIS_REPLY_INTEGER || why->type != REDIS_REPLY_STRING ||
        (o->integer != WDM__OUTCOME__APPLIED && o->integer != WDM__OUTCOME__REJECTED &&
         o->integer != WDM__OUTCOME__COMPENSATED))
        goto malformed;
    out->outcome = (Wdm__Outcome)o->integer;
    snprintf(out->reason, sizeof(out->reason), "%s", why->str);
    freeReplyObject(r);
    return 0;
malformed:
    log_error("saga: script %s: malformed reply", script->name);
    freeReplyObject(r);
    return -EPROTO;
}

/* Decodes, checks and applies delivery d: on 0 its event is in out. Returns 0; -EINVAL
 * or -EPROTO when the delivery is skipped (logged here, by the handler or by store); or
 * another negative error, which fails the batch. */
static int svc_saga_apply(service_worker *w, const bus_delivery *d, bus_outbox *out)
{
    const svc_saga *s = w->shared;
    const svc_saga_participant *p = s->p;
    Wdm__SagaCommand *cmd;
    Wdm__SagaEvent ev = WDM__SAGA_EVENT__INIT;
    svc_saga_handler_fn fn = NULL;
    svc_saga_outcome outcome = {0};
    svc_saga_record rec = {.ttl = s->ttl};
    char key[SVC_SAGA_KEY_LEN];
    const char *why;
    int rv;

    cmd = wdm__saga_command__unpack(NULL, d->len, d->body);
    if (cmd == NULL) {
        log_warn("saga %s: skipping an undecodable delivery (%zu bytes)", p->name, d->len);
        return -EINVAL;
    }
    if ((rv = svc_saga_check(cmd, &why)) != 0) {
        log_warn("saga %s: skipping a command (kind %s): %s", p->name,
                 svc_saga_kind_name(cmd->kind), why);
        goto out;
    }
    for (size_t i = 0; i < p->n_handlers; i++)
        if (p->handlers[i].kind == cmd->kind)
            fn = p->handlers[i].fn;
    if (fn == NULL) {
        log_warn("saga %s: %s: skipping a command of kind %d (%s): not ours", p->name, cmd->saga_id,
                 (int)cmd->kind, svc_saga_kind_name(cmd->kind));
        rv = -EINVAL;
        goto out;
    }
    snprintf(key, sizeof(key), "saga:%s:%s", cmd->saga_id, p->name);
    rec.key = key;
    if ((rv = fn(w, cmd, &rec, &outcome)) != 0) {
        if (rv == -EPROTO)
            log_error("saga %s: %s: skipping %s: the script failed", p->name, cmd->saga_id,
                      svc_saga_kind_name(cmd->kind));
        goto out;
    }
    ev.saga_id = cmd->saga_id;
    ev.kind = cmd->kind;
    ev.outcome = outcome.outcome;
    ev.reason = outcome.reason;
    log_debug("saga %s: %s %s -> %d %s", p->name, cmd->saga_id, svc_saga_kind_name(cmd->kind),
              (int)outcome.outcome, outcome.reason);
    rv = bus_outbox_add(out, cmd->reply_to, &ev.base);
out:
    wdm__saga_command__free_unpacked(cmd, NULL);
    return rv;
}

int svc_saga_on_bus(service_worker *w, const bus_delivery *d, size_t n, bus_outbox *out)
{
    int rv;

    for (size_t i = 0; i < n; i++) {
        rv = svc_saga_apply(w, &d[i], out);
        /* A delivery we cannot apply is dropped; retrying it would fail the same way. */
        if (rv != 0 && rv != -EINVAL && rv != -EPROTO)
            return rv;
    }
    return 0;
}
