/* Unit tests of the saga participant frame without Redis or RabbitMQ: command checks,
 * and svc_saga_on_bus's decoding, dispatch and skipping, with a fake handler. */
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

/* A handler that applies nothing: records its record key, answers fake_rv / APPLIED. */
static int fake_apply(service_worker *w, const Wdm__SagaCommand *cmd, const svc_saga_record *rec,
                      svc_saga_outcome *out)
{
    (void)w;
    (void)cmd;
    fake_calls++;
    snprintf(fake_record, sizeof(fake_record), "%s", rec->key);
    if (fake_rv != 0)
        return fake_rv;
    out->outcome = WDM__OUTCOME__APPLIED;
    snprintf(out->reason, sizeof(out->reason), "ttl %s", rec->ttl);
    return 0;
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

/* A batch of good, garbage and foreign deliveries: only the good ones get events. */
static void test_on_bus(void)
{
    Wdm__SagaCommand good = command("s-1", WDM__COMMAND_KIND__CHARGE, "order.events.r1");
    Wdm__SagaCommand other = command("s-2", WDM__COMMAND_KIND__RESERVE, "order.events.r1");
    Wdm__SagaCommand bad_reply = command("s-3", WDM__COMMAND_KIND__CHARGE, "stock.commands");
    Wdm__SagaCommand good2 = command("s-4", WDM__COMMAND_KIND__CHARGE, "order.events.r2");
    static const uint8_t garbage[] = {0xff, 0xff, 0xff, 0x07, 0x01};
    bus_delivery d[6];
    uint8_t *bufs[4];
    size_t lens[4];
    bus_outbox out = {0};
    service_worker w = {0};
    void *shared = NULL;
    Wdm__SagaEvent *ev;

    CHECK(svc_saga_init(&shared, &fake_participant) == 0);
    w.shared = shared;
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

    CHECK(svc_saga_on_bus(&w, d, 6, &out) == 0);
    CHECK(fake_calls == 2);
    CHECK(out.n == 2);
    if (out.n == 2) {
        CHECK(strcmp(out.msgs[0].routing_key, "order.events.r1") == 0);
        CHECK(strcmp(out.msgs[1].routing_key, "order.events.r2") == 0);
        ev = wdm__saga_event__unpack(NULL, out.msgs[0].len, out.msgs[0].body);
        CHECK(ev != NULL);
        if (ev != NULL) {
            CHECK(strcmp(ev->saga_id, "s-1") == 0);
            CHECK(ev->kind == WDM__COMMAND_KIND__CHARGE);
            CHECK(ev->outcome == WDM__OUTCOME__APPLIED);
            CHECK(strcmp(ev->reason, "ttl 604800") == 0);
            wdm__saga_event__free_unpacked(ev, NULL);
        }
    }
    CHECK(strcmp(fake_record, "saga:s-4:fake") == 0);
    bus_outbox_clear(&out);

    /* A failed script skips the delivery; a store failure fails the batch. */
    fake_rv = -EPROTO;
    CHECK(svc_saga_on_bus(&w, d, 6, &out) == 0 && out.n == 0);
    fake_rv = -EAGAIN;
    CHECK(svc_saga_on_bus(&w, d, 6, &out) == -EAGAIN);
    fake_rv = 0;

    bus_outbox_free(&out);
    for (size_t i = 0; i < 4; i++)
        free(bufs[i]);
    svc_saga_fini(shared);
}

int main(void)
{
    unsetenv("WDM_SAGA_RECORD_TTL_S");
    test_check();
    test_on_bus();
    if (check_failures) {
        fprintf(stderr, "%d check(s) failed\n", check_failures);
        return 1;
    }
    printf("svc_saga_test: all passed\n");
    return 0;
}
