/* payment: the saga participant, CHARGE and REFUND from queue payment.commands
 * (DESIGN §5; the frame is common/svc_saga). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "payment.h"
#include "svc_saga.h"
#include "svc_script.h"
#include "validate.h"

/* CHARGE(S, user_id, amount): payment/charge.lua with the saga record and the user's
 * credit. -EINVAL (logged) for a bad user id or an amount outside [0, 2^53]. */
static int payment_saga_charge(const Wdm__SagaCommand *cmd, const svc_saga_record *rec,
                               store_batch *b)
{
    char user[PAYMENT_KEY_LEN], amount[SVC_INT_LEN];
    const char *keys[] = {rec->key, user}, *args[] = {rec->ttl, amount};

    if (!validate_id(cmd->user_id, strlen(cmd->user_id)) || cmd->amount < 0 ||
        cmd->amount > WDM_MAX_AMOUNT) {
        log_warn("saga payment: %s: skipping CHARGE: bad user_id or amount", cmd->saga_id);
        return -EINVAL;
    }
    snprintf(user, sizeof(user), PAYMENT_USER_PREFIX "%s", cmd->user_id);
    svc_fmt_int(amount, cmd->amount);
    return store_batch_eval(b, &payment_scripts[PAYMENT_SCRIPT_CHARGE], 2, keys, 2, args);
}

/* REFUND(S): payment/refund.lua with the saga record (which names the user). */
static int payment_saga_refund(const Wdm__SagaCommand *cmd, const svc_saga_record *rec,
                               store_batch *b)
{
    const char *keys[] = {rec->key}, *args[] = {rec->ttl};

    (void)cmd;
    return store_batch_eval(b, &payment_scripts[PAYMENT_SCRIPT_REFUND], 1, keys, 1, args);
}

static const svc_saga_handler payment_saga_handlers[] = {
    {WDM__COMMAND_KIND__CHARGE, payment_saga_charge},
    {WDM__COMMAND_KIND__REFUND, payment_saga_refund},
};

const svc_saga_participant payment_saga = {
    .name = "payment",
    .queue = BUS_QUEUE_PAYMENT,
    .handlers = payment_saga_handlers,
    .n_handlers = sizeof(payment_saga_handlers) / sizeof(payment_saga_handlers[0]),
};
