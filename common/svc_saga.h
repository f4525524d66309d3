/* svc_saga: the frame of a saga participant (DESIGN §5 "Participant rules"), shared by
 * stock and payment.
 *
 * A participant consumes its command queue (service_def.bus_queue / on_bus). For each
 * delivery svc_saga decodes the wdm.SagaCommand, checks what every command must carry
 * (svc_saga_check), and hands it to the participant's handler for its kind. The handler
 * applies it with ONE Lua script, atomic with the participant's saga record
 * "saga:<S>:<participant>" (the barrier: APPLIED, REJECTED or COMPENSATED, kept
 * WDM_SAGA_RECORD_TTL_S seconds). svc_saga then adds the wdm.SagaEvent
 * {saga_id, kind, outcome, reason} to the outbox under the command's reply_to.
 *
 * A delivery that cannot be applied (undecodable, a missing or bad field, a kind the
 * participant does not handle) is logged and skipped: no event, no error, so a poison
 * message never loops. A store failure fails the whole batch, which is then
 * redelivered; the saga records make that harmless.
 *
 * The participants' scripts are not wrapped by the idempotency wrapper
 * (store_script.idempotent = false): the saga record is their idempotency. Each replies
 *     {outcome, reason}
 * with outcome the wdm.Outcome number (1 APPLIED, 2 REJECTED, 3 COMPENSATED) and reason
 * a string ("" unless REJECTED). */
#ifndef WDM_SVC_SAGA_H
#define WDM_SVC_SAGA_H

#include <stddef.h>

#include "bus.h"
#include "saga.pb-c.h"
#include "service.h"
#include "store.h"

/* Every event queue's name starts with this (see bus_event_queue). */
#define SVC_SAGA_REPLY_PREFIX "order.events."
/* "saga:" + a saga id of up to WDM_ID_MAX characters + ":" + the participant's name. */
#define SVC_SAGA_KEY_LEN 96
/* Room for the reason of a REJECTED outcome (longer ones are cut). */
#define SVC_SAGA_REASON_MAX 96
/* The saga records' lifetime when WDM_SAGA_RECORD_TTL_S is unset: 7 days, far beyond
 * any redelivery. */
#define SVC_SAGA_TTL_DEFAULT_S 604800

/* What applying a command came to: the event's outcome and reason. */
typedef struct svc_saga_outcome {
    Wdm__Outcome outcome;
    char reason[SVC_SAGA_REASON_MAX];
} svc_saga_outcome;

/* What a handler gets besides the command: the saga's record key and the records' TTL
 * in seconds, as a decimal string (a script argument). */
typedef struct svc_saga_record {
    const char *key;
    const char *ttl;
} svc_saga_record;

/* Appends to b the ONE script call that applies cmd (already checked by svc_saga_check;
 * the handler checks its own fields), with store_batch_eval. Returns 0; -EINVAL when the
 * command cannot be applied (the delivery is skipped; the handler logs why); -ENOMEM. */
typedef int (*svc_saga_handler_fn)(const Wdm__SagaCommand *cmd, const svc_saga_record *rec,
                                   store_batch *b);

typedef struct svc_saga_handler {
    Wdm__CommandKind kind;
    svc_saga_handler_fn fn;
} svc_saga_handler;

/* A participant: its name (the record key's suffix, logs), its queue, its handlers. */
typedef struct svc_saga_participant {
    const char *name;
    const char *queue;
    const svc_saga_handler *handlers;
    size_t n_handlers;
} svc_saga_participant;

/* The process-wide state of a participant; what svc_saga_init puts in
 * service_worker.shared. */
typedef struct svc_saga {
    const svc_saga_participant *p;
    char ttl[24];
} svc_saga;

/* service_def.init for a participant: reads WDM_SAGA_RECORD_TTL_S (seconds, default
 * SVC_SAGA_TTL_DEFAULT_S) and allocates the svc_saga for p (which must outlive it).
 * On 0, *shared is the caller's (svc_saga_fini). Returns 0, -EINVAL or -ENOMEM. */
int svc_saga_init(void **shared, const svc_saga_participant *p);

/* service_def.fini: frees what svc_saga_init allocated. */
void svc_saga_fini(void *shared);

/* service_def.bus_queue: the participant's command queue. Returns 0 or -EINVAL. */
int svc_saga_bus_queue(void *shared, char *buf, size_t size);

/* service_def.on_bus: applies the whole batch in one store round trip (every script
 * pipelined, one WAIT) and adds each applied command's event to out (see above).
 * Returns 0 once every applied command is durable, or the store's error. */
int svc_saga_on_bus(service_worker *w, const bus_delivery *d, size_t n, bus_outbox *out);

/* Checks the fields every command must carry: a saga_id that is an id, and a reply_to
 * that names an event queue (SVC_SAGA_REPLY_PREFIX and more, printable ASCII, shorter
 * than BUS_QUEUE_MAX). Returns 0, or -EINVAL with *why set to a static reason. */
int svc_saga_check(const Wdm__SagaCommand *cmd, const char **why);

/* A consumed batch, planned: each delivery decoded and, unless skipped, its script call
 * appended to `calls`. */
typedef struct svc_saga_plan {
    Wdm__SagaCommand **cmds;  /* n; NULL for a skipped delivery */
    size_t *call;             /* n; cmds[i]'s call in `calls` */
    size_t n;
    store_batch *calls;
} svc_saga_plan;

/* Decodes, checks and dispatches d[0..n) into *p (the caller's: svc_saga_plan_free,
 * whatever the result). Returns 0 or -ENOMEM. */
int svc_saga_plan_make(const svc_saga *s, const bus_delivery *d, size_t n, svc_saga_plan *p);
void svc_saga_plan_free(svc_saga_plan *p);

/* Adds the event answering cmd to out, from its script's reply r ({outcome, reason}).
 * Returns 0; -EPROTO when the script failed or replied in another shape (logged: the
 * delivery is skipped); -ENOMEM. */
int svc_saga_answer(const svc_saga *s, const Wdm__SagaCommand *cmd, const redisReply *r,
                    bus_outbox *out);

/* The name of a command kind, for logs: "CHARGE", ..., or "unknown". Static. */
const char *svc_saga_kind_name(Wdm__CommandKind kind);

#endif
