/* stock: the saga participant, RESERVE and RELEASE from queue stock.commands
 * (DESIGN §5; the frame is common/svc_saga). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "stock.h"
#include "svc_saga.h"
#include "svc_script.h"

/* A command's lines as script arguments: KEYS = the saga record, then each item's key;
 * ARGV = the record's TTL, then each item's quantity (summed per item). */
typedef struct stock_saga_args {
    stock_line *lines;
    size_t n;
    const char **keys, **args;        /* n + 1 each */
    char (*item_keys)[STOCK_KEY_LEN]; /* n */
    char (*quantities)[SVC_INT_LEN];  /* n */
} stock_saga_args;

static void stock_saga_args_free(stock_saga_args *a)
{
    free(a->lines);
    free(a->keys);
    free(a->args);
    free(a->item_keys);
    free(a->quantities);
}

/* Fills *a from cmd's lines (checked and summed by stock_lines_merge). Returns 0;
 * -EINVAL (logged) for bad lines; -ENOMEM. *a is the caller's either way
 * (stock_saga_args_free). */
static int stock_saga_args_make(const Wdm__SagaCommand *cmd, const svc_saga_record *rec,
                                stock_saga_args *a)
{
    const char *why;
    int rv;

    *a = (stock_saga_args){0};
    rv = stock_lines_merge(cmd->items, cmd->n_items, &a->lines, &a->n, &why);
    if (rv == -EINVAL)
        log_warn("saga stock: %s: skipping %s: %s", cmd->saga_id, svc_saga_kind_name(cmd->kind),
                 why);
    if (rv != 0)
        return rv;
    a->keys = calloc(a->n + 1, sizeof(*a->keys));
    a->args = calloc(a->n + 1, sizeof(*a->args));
    a->item_keys = calloc(a->n + 1, sizeof(*a->item_keys));
    a->quantities = calloc(a->n + 1, sizeof(*a->quantities));
    if (a->keys == NULL || a->args == NULL || a->item_keys == NULL || a->quantities == NULL)
        return -ENOMEM;
    a->keys[0] = rec->key;
    a->args[0] = rec->ttl;
    for (size_t i = 0; i < a->n; i++) {
        snprintf(a->item_keys[i], STOCK_KEY_LEN, STOCK_ITEM_PREFIX "%s", a->lines[i].item_id);
        a->keys[i + 1] = a->item_keys[i];
        a->args[i + 1] = svc_fmt_int(a->quantities[i], a->lines[i].quantity);
    }
    return 0;
}

/* Appends `script` with the command's lines as arguments to b; RELEASE needs only their
 * keys. Returns 0, -EINVAL (bad lines, logged) or -ENOMEM. */
static int stock_saga_run(const Wdm__SagaCommand *cmd, const svc_saga_record *rec,
                          store_batch *b, enum stock_script_index script, bool with_quantities)
{
    stock_saga_args a;
    int rv;

    if ((rv = stock_saga_args_make(cmd, rec, &a)) == 0) {
        if (a.n >= (size_t)INT_MAX)
            rv = -EINVAL;
        else
            rv = store_batch_eval(b, &stock_scripts[script], (int)a.n + 1, a.keys,
                                  with_quantities ? (int)a.n + 1 : 1, a.args);
    }
    stock_saga_args_free(&a);
    return rv;
}

/* RESERVE(S, items): stock/reserve.lua, all or nothing. */
static int stock_saga_reserve(const Wdm__SagaCommand *cmd, const svc_saga_record *rec,
                              store_batch *b)
{
    return stock_saga_run(cmd, rec, b, STOCK_SCRIPT_RESERVE, true);
}

/* RELEASE(S, items): stock/release.lua, which adds back the lines of the record; the
 * command's items only declare the keys it touches. */
static int stock_saga_release(const Wdm__SagaCommand *cmd, const svc_saga_record *rec,
                              store_batch *b)
{
    return stock_saga_run(cmd, rec, b, STOCK_SCRIPT_RELEASE, false);
}

static const svc_saga_handler stock_saga_handlers[] = {
    {WDM__COMMAND_KIND__RESERVE, stock_saga_reserve},
    {WDM__COMMAND_KIND__RELEASE, stock_saga_release},
};

const svc_saga_participant stock_saga = {
    .name = "stock",
    .queue = BUS_QUEUE_STOCK,
    .handlers = stock_saga_handlers,
    .n_handlers = sizeof(stock_saga_handlers) / sizeof(stock_saga_handlers[0]),
};
