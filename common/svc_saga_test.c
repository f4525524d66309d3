/* Unit tests of the saga participant frame without Redis or RabbitMQ: command checks,
 * the planning of a batch (decoding, dispatch, skipping) with a fake handler, and the
 * events made from script replies. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus_conn.h"
#include "svc_saga.h"
#include "check.h"

/* What the fake handler saw, and what it answers. */
static int fake_calls;
static char fake_record[SVC_SAGA_KEY_LEN];
static int fake_rv;

/* A handler that appends a PING for each command: records its record key. */
static int fake_apply(const Wdm__SagaCommand *cmd, const svc_saga_record *rec, store_batch *b)
{
    const char *argv[] = {"PING", rec->ttl};

    (void)cmd;
    fake_calls++;
    snprintf(fake_record, sizeof(fake_record), "%s", rec->key);
    if (fake_rv != 0)
        return fake_rv;
    return store_batch_add(b, 2, argv, NULL);
}

static const svc_saga_handler fake_handlers[] = {{WDM__COMMAND_KIND__CHARGE, fake_apply}};
static const svc_saga_participant fake_participant = {
    .name = "fake",
    .queue = "fake.commands",
    .handlers = fake_handlers,
    .n_handlers = 1,
};

static Wdm__SagaCommand command(const char *saga, Wdm__CommandKind kind, const char *reply_to)
{
    Wdm__SagaCommand c = WDM__SAGA_COMMAND__INIT;
    c.saga_id = (char *)saga;
    c.kind = kind;
    c.reply_to = (char *)reply_to;
    return c;
}

static void test_check(void)
{
    char long_queue[BUS_QUEUE_MAX + 8];
    const char *why = NULL;
    Wdm__SagaCommand c = command("s-1", WDM__COMMAND_KIND__CHARGE, "order.events.r1");

    CHECK(svc_saga_check(&c, &why) == 0);
    c.saga_id = "";
    CHECK(svc_saga_check(&c, &why) == -EINVAL && why != NULL);
    c.saga_id = "a b";
    CHECK(svc_saga_check(&c, &why) == -EINVAL);
    c.saga_id = "s-1";
    c.reply_to = "";
    CHECK(svc_saga_check(&c, &why) == -EINVAL);
    c.reply_to = "order.events.";
    CHECK(svc_saga_check(&c, &why) == -EINVAL);
    c.reply_to = "stock.commands";
    CHECK(svc_saga_check(&c, &why) == -EINVAL);
    c.reply_to = "order.events.a b";
    CHECK(svc_saga_check(&c, &why) == -EINVAL);
    memset(long_queue, 'x', sizeof(long_queue));
    memcpy(long_queue, "order.events.", 13);
    long_queue[BUS_QUEUE_MAX] = '\0';
    c.reply_to = long_queue;
    CHECK(svc_saga_check(&c, &why) == -EINVAL);
    long_queue[BUS_QUEUE_MAX - 1] = '\0';
    CHECK(svc_saga_check(&c, &why) == 0);

    CHECK(strcmp(svc_saga_kind_name(WDM__COMMAND_KIND__RELEASE), "RELEASE") == 0);
    CHECK(strcmp(svc_saga_kind_name(WDM__COMMAND_KIND__COMMAND_UNSPECIFIED), "unknown") == 0);
    CHECK(strcmp(svc_saga_kind_name((Wdm__CommandKind)77), "unknown") == 0);
}

/* Packs c into a fresh buffer (the caller's). */
static uint8_t *pack(const Wdm__SagaCommand *c, size_t *len)
{
    uint8_t *buf = malloc(wdm__saga_command__get_packed_size(c) + 1);
    *len = wdm__saga_command__pack(c, buf);
    return buf;
}

/* A batch of good, garbage and foreign deliveries: only the good ones get a call. */
static void test_plan(void)
{
    Wdm__SagaCommand good = command("s-1", WDM__COMMAND_KIND__CHARGE, "order.events.r1");
    Wdm__SagaCommand other = command("s-2", WDM__COMMAND_KIND__RESERVE, "order.events.r1");
    Wdm__SagaCommand bad_reply = command("s-3", WDM__COMMAND_KIND__CHARGE, "stock.commands");
    Wdm__SagaCommand good2 = command("s-4", WDM__COMMAND_KIND__CHARGE, "order.events.r2");
    static const uint8_t garbage[] = {0xff, 0xff, 0xff, 0x07, 0x01};
    bus_delivery d[6];
    uint8_t *bufs[4];
    size_t lens[4];
    void *shared = NULL;
    svc_saga_plan plan;

    CHECK(svc_saga_init(&shared, &fake_participant) == 0);
    bufs[0] = pack(&good, &lens[0]);
    bufs[1] = pack(&other, &lens[1]);
    bufs[2] = pack(&bad_reply, &lens[2]);
    bufs[3] = pack(&good2, &lens[3]);
    d[0] = (bus_delivery){garbage, sizeof(garbage), false};
    d[1] = (bus_delivery){bufs[0], lens[0], false};
    d[2] = (bus_delivery){bufs[1], lens[1], false};
    d[3] = (bus_delivery){bufs[2], lens[2], false};
    d[4] = (bus_delivery){(const uint8_t *)"", 0, false}; /* empty: no saga_id */
    d[5] = (bus_delivery){bufs[3], lens[3], true};

    CHECK(svc_saga_plan_make(shared, d, 6, &plan) == 0);
    CHECK(fake_calls == 2);
    CHECK(store_batch_count(plan.calls) == 2);
    CHECK(plan.cmds[0] == NULL && plan.cmds[2] == NULL && plan.cmds[3] == NULL &&
          plan.cmds[4] == NULL);
    CHECK(plan.cmds[1] != NULL && plan.call[1] == 0);
    CHECK(plan.cmds[5] != NULL && plan.call[5] == 1);
    CHECK(strcmp(fake_record, "saga:s-4:fake") == 0);
    svc_saga_plan_free(&plan);

    /* A command the handler rejects is skipped; running out of memory fails the batch. */
    fake_rv = -EINVAL;
    CHECK(svc_saga_plan_make(shared, d, 6, &plan) == 0);
    CHECK(store_batch_count(plan.calls) == 0 && plan.cmds[1] == NULL && plan.cmds[5] == NULL);
    svc_saga_plan_free(&plan);
    fake_rv = -ENOMEM;
    CHECK(svc_saga_plan_make(shared, d, 6, &plan) == -ENOMEM);
    svc_saga_plan_free(&plan);
    fake_rv = 0;

    for (size_t i = 0; i < 4; i++)
        free(bufs[i]);
    svc_saga_fini(shared);
}

/* Events from script replies; a failed script or a reply of another shape is -EPROTO. */
static void test_answer(void)
{
    Wdm__SagaCommand c = command("s-1", WDM__COMMAND_KIND__CHARGE, "order.events.r1");
    redisReply outcome = {.type = REDIS_REPLY_INTEGER, .integer = WDM__OUTCOME__REJECTED};
    redisReply reason = {.type = REDIS_REPLY_STRING, .str = "insufficient credit", .len = 19};
    redisReply *elems[] = {&outcome, &reason};
    redisReply reply = {.type = REDIS_REPLY_ARRAY, .elements = 2, .element = elems};
    redisReply error = {.type = REDIS_REPLY_ERROR, .str = "ERR boom", .len = 8};
    bus_outbox out = {0};
    void *shared = NULL;
    Wdm__SagaEvent *ev;

    CHECK(svc_saga_init(&shared, &fake_participant) == 0);
    CHECK(svc_saga_answer(shared, &c, &reply, &out) == 0);
    CHECK(out.n == 1);
    if (out.n == 1) {
        CHECK(strcmp(out.msgs[0].routing_key, "order.events.r1") == 0);
        ev = wdm__saga_event__unpack(NULL, out.msgs[0].len, out.msgs[0].body);
        CHECK(ev != NULL);
        if (ev != NULL) {
            CHECK(strcmp(ev->saga_id, "s-1") == 0);
            CHECK(ev->kind == WDM__COMMAND_KIND__CHARGE);
            CHECK(ev->outcome == WDM__OUTCOME__REJECTED);
            CHECK(strcmp(ev->reason, "insufficient credit") == 0);
            wdm__saga_event__free_unpacked(ev, NULL);
        }
    }
    CHECK(svc_saga_answer(shared, &c, &error, &out) == -EPROTO);
    CHECK(svc_saga_answer(shared, &c, NULL, &out) == -EPROTO);
    outcome.integer = 9;
    CHECK(svc_saga_answer(shared, &c, &reply, &out) == -EPROTO);
    outcome.integer = WDM__OUTCOME__APPLIED;
    reply.elements = 1;
    CHECK(svc_saga_answer(shared, &c, &reply, &out) == -EPROTO);
    CHECK(out.n == 1);
    bus_outbox_free(&out);
    svc_saga_fini(shared);
}

int main(void)
{
    unsetenv("WDM_SAGA_RECORD_TTL_S");
    test_check();
    test_plan();
    test_answer();
    if (check_failures) {
        fprintf(stderr, "%d check(s) failed\n", check_failures);
        return 1;
    }
    printf("svc_saga_test: all passed\n");
    return 0;
}
