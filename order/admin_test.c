/* Unit tests of reading saga_list.lua's reply (order_sagas_parse in admin.c). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "order.h"

/* admin.c's handler uses main.c's script table; the parser under test does not. */
store_script order_scripts[ORDER_N_SCRIPTS];

#define MAX_ELEMS 64

/* One element of a hand-built reply: a string when s is not NULL, else the integer i. */
typedef struct elem {
    const char *s;
    long long i;
} elem;

#define S(x) {.s = (x)}
#define I(x) {.i = (x)}

typedef struct fake_reply {
    redisReply elems[MAX_ELEMS];
    redisReply *ptrs[MAX_ELEMS];
    redisReply reply;
} fake_reply;

/* Fills f with an array reply of the n elements e. */
static redisReply *fake_array(fake_reply *f, const elem *e, size_t n)
{
    for (size_t k = 0; k < n && k < MAX_ELEMS; k++) {
        if (e[k].s != NULL)
            f->elems[k] = (redisReply){
                .type = REDIS_REPLY_STRING, .str = (char *)e[k].s, .len = strlen(e[k].s)};
        else
            f->elems[k] = (redisReply){.type = REDIS_REPLY_INTEGER, .integer = e[k].i};
        f->ptrs[k] = &f->elems[k];
    }
    f->reply = (redisReply){.type = REDIS_REPLY_ARRAY, .elements = n, .element = f->ptrs};
    return &f->reply;
}

/* Parses the n elements e with room for `room` sagas; returns order_sagas_parse's result. */
static int parse(const elem *e, size_t n, size_t room, Wdm__SagasReply *out)
{
    static fake_reply f;
    static Wdm__SagaInfo infos[4];
    static Wdm__SagaInfo *ptrs[4];

    wdm__sagas_reply__init(out);
    return order_sagas_parse(fake_array(&f, e, n), out, infos, ptrs, room);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void test_empty(void)
{
    const elem e[] = {I(0), I(0)};
    Wdm__SagasReply o;

    CHECK(parse(e, N(e), 4, &o) == 0);
    CHECK(o.inflight == 0 && o.stuck == 0 && o.n_sagas == 0 && o.sagas == NULL);
}

static void test_two_sagas(void)
{
    const elem e[] = {
        I(5),         I(1),
        S("s1"),      S("o1"), S("CHARGING"), S("order-1"), I(1234), I(-20), I(28000), I(1),
        S("s2"),      S("o2"), S("REFUNDING"), S(""),       I(0),    I(9000), I(-5), I(0),
    };
    Wdm__SagasReply o;

    CHECK(parse(e, N(e), 4, &o) == 0);
    CHECK(o.inflight == 5 && o.stuck == 1 && o.n_sagas == 2);
    if (o.n_sagas != 2)
        return;
    CHECK_STR(o.sagas[0]->saga_id, "s1");
    CHECK_STR(o.sagas[0]->order_id, "o1");
    CHECK_STR(o.sagas[0]->state, "CHARGING");
    CHECK_STR(o.sagas[0]->owner, "order-1");
    CHECK(o.sagas[0]->age_ms == 1234 && o.sagas[0]->lease_left_ms == -20);
    CHECK(o.sagas[0]->deadline_left_ms == 28000 && o.sagas[0]->stuck);
    CHECK_STR(o.sagas[1]->state, "REFUNDING");
    CHECK_STR(o.sagas[1]->owner, "");
    CHECK(o.sagas[1]->age_ms == 0 && o.sagas[1]->lease_left_ms == 9000);
    CHECK(o.sagas[1]->deadline_left_ms == -5 && !o.sagas[1]->stuck);
    /* It packs, and the JSON's shape follows the field order (render.h). */
    CHECK(wdm__sagas_reply__get_packed_size(&o) > 0);
    CHECK(wdm__saga_info__descriptor.n_fields == 8);
    CHECK(strcmp(wdm__sagas_reply__descriptor.fields[2].name, "sagas") == 0);
}

/* Anything not of the script's shape is -EPROTO, never a crash. */
static void test_malformed(void)
{
    const elem head_str[] = {S("1"), I(0)};
    const elem short_saga[] = {I(1), I(0), S("s1"), S("o1"), S("CHARGING"), S("r"), I(1),
                               I(2), I(3)};
    const elem int_for_str[] = {I(1), I(0), S("s1"), I(7), S("CHARGING"), S("r"), I(1), I(2),
                                I(3), I(0)};
    const elem str_for_int[] = {I(1), I(0), S("s1"), S("o1"), S("CHARGING"), S("r"), S("1"),
                                I(2), I(3), I(0)};
    const elem one[] = {I(1), I(0), S("s1"), S("o1"), S("CHARGING"), S("r"), I(1), I(2),
                        I(3), I(0)};
    Wdm__SagasReply o;
    redisReply nil = {.type = REDIS_REPLY_NIL}, err = {.type = REDIS_REPLY_ERROR, .str = (char *)"x"};
    static Wdm__SagaInfo infos[1];
    static Wdm__SagaInfo *ptrs[1];

    CHECK(parse(head_str, 0, 4, &o) == -EPROTO);
    CHECK(parse(head_str, 1, 4, &o) == -EPROTO);
    CHECK(parse(head_str, N(head_str), 4, &o) == -EPROTO);
    CHECK(parse(short_saga, N(short_saga), 4, &o) == -EPROTO);
    CHECK(parse(int_for_str, N(int_for_str), 4, &o) == -EPROTO);
    CHECK(parse(str_for_int, N(str_for_int), 4, &o) == -EPROTO);
    CHECK(parse(one, N(one), 1, &o) == 0 && o.n_sagas == 1);
    CHECK(parse(one, N(one), 0, &o) == -EPROTO); /* more sagas than room */
    CHECK(order_sagas_parse(&nil, &o, infos, ptrs, 1) == -EPROTO);
    CHECK(order_sagas_parse(&err, &o, infos, ptrs, 1) == -EPROTO);
}

int main(void)
{
    test_empty();
    test_two_sagas();
    test_malformed();
    return check_status("order_admin_test");
}
