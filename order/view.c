/* order: reading an order's hash into the OrderReply message (see order.h). */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "order.h"
#include "validate.h"

/* True when the reply element is the bulk string `s`. */
static bool field_is(const redisReply *e, const char *s)
{
    return e->len == strlen(s) && memcmp(e->str, s, e->len) == 0;
}

/* Parses a non-negative decimal reply element into *out. Returns 0 or -EPROTO. */
static int field_uint(const redisReply *e, int64_t *out)
{
    return validate_uint(e->str, e->len, out) == 0 ? 0 : -EPROTO;
}

int order_view_parse(const redisReply *r, Wdm__OrderReply *out, Wdm__OrderLine *lines,
                     Wdm__OrderLine **ptrs)
{
    const size_t prefix = strlen(ORDER_LINE_PREFIX);
    bool has_user = false, has_paid = false, has_total = false;

    if (r->type != REDIS_REPLY_ARRAY || r->elements % 2 != 0)
        return -EPROTO;
    if (r->elements == 0)
        return -ENOENT;
    out->n_items = 0;
    out->items = ptrs;
    for (size_t i = 0; i < r->elements; i += 2) {
        const redisReply *f = r->element[i], *v = r->element[i + 1];

        if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            return -EPROTO;
        if (field_is(f, "user")) {
            out->user_id = v->str;
            has_user = true;
        } else if (field_is(f, "paid")) {
            if (!field_is(v, "0") && !field_is(v, "1"))
                return -EPROTO;
            out->paid = v->str[0] == '1';
            has_paid = true;
        } else if (field_is(f, "total")) {
            if (field_uint(v, &out->total_cost) != 0)
                return -EPROTO;
            has_total = true;
        } else if (f->len > prefix && memcmp(f->str, ORDER_LINE_PREFIX, prefix) == 0) {
            Wdm__OrderLine *line = &lines[out->n_items];

            wdm__order_line__init(line);
            line->item_id = f->str + prefix;
            if (field_uint(v, &line->quantity) != 0)
                return -EPROTO;
            ptrs[out->n_items++] = line;
        }
        /* Other fields (status, and what the saga keeps) are not part of the view. */
    }
    return has_user && has_paid && has_total ? 0 : -EPROTO;
}
