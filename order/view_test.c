/* Unit tests of reading an order's hash (order_view_parse in view.c). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "order.h"
#include "check.h"

#define MAX_FIELDS 16

/* A hand-built HGETALL reply. */
typedef struct fake_hash {
    redisReply elems[MAX_FIELDS];
    redisReply *ptrs[MAX_FIELDS];
    redisReply reply;
} fake_hash;

/* Fills h with the NULL-terminated list of strings (field, value, ...). */
static redisReply *fake_hgetall(fake_hash *h, const char *const *strs)
{
    size_t n = 0;

    for (; strs[n] != NULL && n < MAX_FIELDS; n++) {
        h->elems[n] = (redisReply){
            .type = REDIS_REPLY_STRING, .str = (char *)strs[n], .len = strlen(strs[n])};
        h->ptrs[n] = &h->elems[n];
    }
    h->reply = (redisReply){.type = REDIS_REPLY_ARRAY, .elements = n, .element = h->ptrs};
    return &h->reply;
}

/* Parses strs; returns order_view_parse's result and fills out. */
static int parse(const char *const *strs, Wdm__OrderReply *out)
{
    static fake_hash h;
    static Wdm__OrderLine lines[MAX_FIELDS / 2];
    static Wdm__OrderLine *ptrs[MAX_FIELDS / 2];

    wdm__order_reply__init(out);
    return order_view_parse(fake_hgetall(&h, strs), out, lines, ptrs);
}

static void test_order(void)
{
    const char *const strs[] = {"user",   "u1",   "paid",   "0", "total", "9007199254740992",
                                "status", "open", "i:it-1", "3", "i:2",   "1",
                                NULL};
    Wdm__OrderReply o;

    CHECK(parse(strs, &o) == 0);
    CHECK(strcmp(o.user_id, "u1") == 0);
    CHECK(!o.paid);
    CHECK(o.total_cost == 9007199254740992LL);
    CHECK(o.n_items == 2);
    CHECK(o.n_items == 2 && strcmp(o.items[0]->item_id, "it-1") == 0 && o.items[0]->quantity == 3);
    CHECK(o.n_items == 2 && strcmp(o.items[1]->item_id, "2") == 0 && o.items[1]->quantity == 1);
}

static void test_paid_and_empty(void)
{
    const char *const paid[] = {"total", "0", "paid", "1", "user", "x", NULL};
    const char *const none[] = {NULL};
    Wdm__OrderReply o;

    CHECK(parse(paid, &o) == 0 && o.paid && o.n_items == 0 && o.total_cost == 0);
    CHECK(parse(none, &o) == -ENOENT);
}

static void test_malformed(void)
{
    const char *const no_user[] = {"paid", "0", "total", "5", NULL};
    const char *const bad_paid[] = {"user", "u", "paid", "yes", "total", "5", NULL};
    const char *const bad_total[] = {"user", "u", "paid", "0", "total", "-5", NULL};
    const char *const bad_qty[] = {"user", "u", "paid", "0", "total", "5", "i:a", "x", NULL};
    const char *const odd[] = {"user", "u", "paid", NULL};
    Wdm__OrderReply o;

    CHECK(parse(no_user, &o) == -EPROTO);
    CHECK(parse(bad_paid, &o) == -EPROTO);
    CHECK(parse(bad_total, &o) == -EPROTO);
    CHECK(parse(bad_qty, &o) == -EPROTO);
    CHECK(parse(odd, &o) == -EPROTO);
}

int main(void)
{
    test_order();
    test_paid_and_empty();
    test_malformed();
    if (check_failures)
        fprintf(stderr, "order_view_test: %d check_failures\n", check_failures);
    return check_failures ? 1 : 0;
}
