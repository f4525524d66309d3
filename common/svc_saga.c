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

/* Reads a participant script's reply {outcome, reason} into *out. Returns 0 or -EPROTO. */
static int svc_saga_outcome_read(const redisReply *r, svc_saga_outcome *out)
{
    const redisReply *o, *why;

    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2)
        return -EPROTO;
    o = r->element[0];
    why = r->element[1];
    if (o->type != REDIS_REPLY_INTEGER || why->type != REDIS_REPLY_STRING ||
        (o->integer != WDM__OUTCOME__APPLIED && o->integer != WDM__OUTCOME__REJECTED &&
         o->integer != WDM__OUTCOME__COMPENSATED))
        return -EPROTO;
    out->outcome = (Wdm__Outcome)o->integer;
    snprintf(out->reason, sizeof(out->reason), "%s", why->str);
    return 0;
}

int svc_saga_answer(const svc_saga *s, const Wdm__SagaCommand *cmd, const redisReply *r,
                    bus_outbox *out)
{
    Wdm__SagaEvent ev = WDM__SAGA_EVENT__INIT;
    svc_saga_outcome outcome = {0};

    if (svc_saga_outcome_read(r, &outcome) != 0) {
        log_error("saga %s: %s: skipping %s: the script failed: %s", s->p->name, cmd->saga_id,
                  svc_saga_kind_name(cmd->kind),
                  r != NULL && r->type == REDIS_REPLY_ERROR ? r->str : "malformed reply");
        return -EPROTO;
    }
    ev.saga_id = cmd->saga_id;
    ev.kind = cmd->kind;
    ev.outcome = outcome.outcome;
    ev.reason = outcome.reason;
    log_debug("saga %s: %s %s -> %d %s", s->p->name, cmd->saga_id, svc_saga_kind_name(cmd->kind),
              (int)outcome.outcome, outcome.reason);
    return bus_outbox_add(out, cmd->reply_to, &ev.base);
}

/* Decodes and checks delivery d and appends its script call to calls. Returns the
 * command (the caller's), or NULL when the delivery is skipped (logged) or on ENOMEM
 * (*rv = -ENOMEM). */
static Wdm__SagaCommand *svc_saga_dispatch(const svc_saga *s, const bus_delivery *d,
                                           store_batch *calls, int *rv)
{
    const svc_saga_participant *p = s->p;
    Wdm__SagaCommand *cmd;
    svc_saga_handler_fn fn = NULL;
    svc_saga_record rec = {.ttl = s->ttl};
    char key[SVC_SAGA_KEY_LEN];
    const char *why;

    *rv = 0;
    cmd = wdm__saga_command__unpack(NULL, d->len, d->body);
    if (cmd == NULL) {
        log_warn("saga %s: skipping an undecodable delivery (%zu bytes)", p->name, d->len);
        return NULL;
    }
    if (svc_saga_check(cmd, &why) != 0) {
        log_warn("saga %s: skipping a command (kind %s): %s", p->name,
                 svc_saga_kind_name(cmd->kind), why);
        goto skip;
    }
    for (size_t i = 0; i < p->n_handlers; i++)
        if (p->handlers[i].kind == cmd->kind)
            fn = p->handlers[i].fn;
    if (fn == NULL) {
        log_warn("saga %s: %s: skipping a command of kind %d (%s): not ours", p->name, cmd->saga_id,
                 (int)cmd->kind, svc_saga_kind_name(cmd->kind));
        goto skip;
    }
    snprintf(key, sizeof(key), "saga:%s:%s", cmd->saga_id, p->name);
    rec.key = key;
    if ((*rv = fn(cmd, &rec, calls)) == 0)
        return cmd;
    if (*rv != -ENOMEM)
        *rv = 0; /* -EINVAL: the handler logged why; retrying would fail the same way */
skip:
    wdm__saga_command__free_unpacked(cmd, NULL);
    return NULL;
}

int svc_saga_plan_make(const svc_saga *s, const bus_delivery *d, size_t n, svc_saga_plan *p)
{
    int rv;

    *p = (svc_saga_plan){.n = n};
    p->cmds = calloc(n ? n : 1, sizeof(*p->cmds));
    p->call = calloc(n ? n : 1, sizeof(*p->call));
    p->calls = store_batch_new();
    if (p->cmds == NULL || p->call == NULL || p->calls == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        p->call[i] = store_batch_count(p->calls);
        p->cmds[i] = svc_saga_dispatch(s, &d[i], p->calls, &rv);
        if (rv != 0)
            return rv;
    }
    return 0;
}

void svc_saga_plan_free(svc_saga_plan *p)
{
    for (size_t i = 0; p->cmds != NULL && i < p->n; i++)
        if (p->cmds[i] != NULL)
            wdm__saga_command__free_unpacked(p->cmds[i], NULL);
    free(p->cmds);
    free(p->call);
    store_batch_free(p->calls);
    *p = (svc_saga_plan){0};
}

int svc_saga_on_bus(service_worker *w, const bus_delivery *d, size_t n, bus_outbox *out)
{
    const svc_saga *s = w->shared;
    svc_saga_plan plan;
    int rv;

    if ((rv = svc_saga_plan_make(s, d, n, &plan)) == 0)
        rv = store_batch_exec(w->store, plan.calls);
    for (size_t i = 0; rv == 0 && i < n; i++) {
        if (plan.cmds[i] == NULL)
            continue;
        rv = svc_saga_answer(s, plan.cmds[i], store_batch_reply(plan.calls, plan.call[i]), out);
        if (rv == -EPROTO)
            rv = 0; /* a failed script fails the same way again: skip the delivery */
    }
    svc_saga_plan_free(&plan);
    return rv;
}
