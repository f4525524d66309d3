/* render_test: JSON rendering of every reply type, escaping, error bodies (render.c). */
#include "render.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api.pb-c.h"
#include "check.h"
#include "route.h"
#include "rpc.pb-c.h"

/* Renders msg and checks the JSON text. */
#define CHECK_JSON(msg, want)                                                                  \
    do {                                                                                       \
        gw_buf b_ = GW_BUF_INIT;                                                               \
        CHECK(gw_render_json((const ProtobufCMessage *)(msg), &b_) == 0);                      \
        CHECK_STR(b_.data, want);                                                              \
        gw_buf_free(&b_);                                                                      \
    } while (0)

static void test_stock(void)
{
    Wdm__ItemIdReply id = WDM__ITEM_ID_REPLY__INIT;
    Wdm__ItemReply item = WDM__ITEM_REPLY__INIT;
    Wdm__StockReply stock = WDM__STOCK_REPLY__INIT;

    id.item_id = "a1b2";
    CHECK_JSON(&id, "{\"item_id\": \"a1b2\"}");
    item.stock = 5;
    item.price = 9007199254740992LL;
    CHECK_JSON(&item, "{\"stock\": 5, \"price\": 9007199254740992}");
    CHECK_JSON(&stock, "{\"item_id\": \"\", \"stock\": 0}");
    stock.item_id = "x";
    stock.stock = -3;
    CHECK_JSON(&stock, "{\"item_id\": \"x\", \"stock\": -3}");
}

static void test_payment(void)
{
    Wdm__UserIdReply id = WDM__USER_ID_REPLY__INIT;
    Wdm__UserReply user = WDM__USER_REPLY__INIT;
    Wdm__AddFundsReply funds = WDM__ADD_FUNDS_REPLY__INIT;
    Wdm__BatchInitReply batch = WDM__BATCH_INIT_REPLY__INIT;

    id.user_id = "u";
    CHECK_JSON(&id, "{\"user_id\": \"u\"}");
    user.user_id = "u-1";
    user.credit = 100;
    CHECK_JSON(&user, "{\"user_id\": \"u-1\", \"credit\": 100}");
    funds.done = 1;
    funds.credit = 7;
    CHECK_JSON(&funds, "{\"done\": true, \"credit\": 7}");
    funds.done = 0;
    CHECK_JSON(&funds, "{\"done\": false, \"credit\": 7}");
    batch.msg = "Batch init for users successful";
    CHECK_JSON(&batch, "{\"msg\": \"Batch init for users successful\"}");
}

static void test_order(void)
{
    Wdm__OrderIdReply id = WDM__ORDER_ID_REPLY__INIT;
    Wdm__OrderReply order = WDM__ORDER_REPLY__INIT;
    Wdm__OrderLine l1 = WDM__ORDER_LINE__INIT, l2 = WDM__ORDER_LINE__INIT;
    Wdm__OrderLine *lines[] = {&l1, &l2};
    Wdm__AddItemReply add = WDM__ADD_ITEM_REPLY__INIT;
    Wdm__CheckoutReply co = WDM__CHECKOUT_REPLY__INIT;

    id.order_id = "o";
    CHECK_JSON(&id, "{\"order_id\": \"o\"}");

    order.order_id = "o1";
    order.user_id = "u1";
    order.total_cost = 30;
    CHECK_JSON(&order, "{\"order_id\": \"o1\", \"paid\": false, \"items\": [], \"user_id\": "
                       "\"u1\", \"total_cost\": 30}");
    l1.item_id = "a";
    l1.quantity = 1;
    l2.item_id = "b\"";
    l2.quantity = 2;
    order.items = lines;
    order.n_items = 2;
    order.paid = 1;
    CHECK_JSON(&order, "{\"order_id\": \"o1\", \"paid\": true, \"items\": [[\"a\", 1], "
                       "[\"b\\\"\", 2]], \"user_id\": \"u1\", \"total_cost\": 30}");

    add.order_id = "o1";
    add.total_cost = 9007199254740992LL;
    CHECK_JSON(&add, "{\"order_id\": \"o1\", \"total_cost\": 9007199254740992}");
    co.order_id = "o1";
    co.paid = 1;
    CHECK_JSON(&co, "{\"order_id\": \"o1\", \"paid\": true}");
}

/* As a service's bytes arrive: packed, then unpacked (proto3 defaults: "" and 0). */
static void test_unpacked(void)
{
    Wdm__OrderReply order = WDM__ORDER_REPLY__INIT;
    Wdm__OrderLine l = WDM__ORDER_LINE__INIT, *lines[] = {&l};
    uint8_t buf[128];
    size_t len;
    ProtobufCMessage *m;

    l.item_id = "i";
    l.quantity = 4;
    order.items = lines;
    order.n_items = 1;
    len = wdm__order_reply__pack(&order, buf);
    m = protobuf_c_message_unpack(&wdm__order_reply__descriptor, NULL, len, buf);
    CHECK(m != NULL);
    if (m != NULL) {
        CHECK_JSON(m, "{\"order_id\": \"\", \"paid\": false, \"items\": [[\"i\", 4]], "
                      "\"user_id\": \"\", \"total_cost\": 0}");
        protobuf_c_message_free_unpacked(m, NULL);
    }
    m = protobuf_c_message_unpack(&wdm__item_id_reply__descriptor, NULL, 0, buf);
    CHECK(m != NULL);
    if (m != NULL) {
        CHECK_JSON(m, "{\"item_id\": \"\"}");
        protobuf_c_message_free_unpacked(m, NULL);
    }
}

/* Every reply type of the route table renders; messages with bytes do not. */
static void test_every_reply(void)
{
    _Alignas(16) unsigned char mem[256];
    Wdm__RpcReply rpc = WDM__RPC_REPLY__INIT;
    gw_buf b = GW_BUF_INIT;

    for (size_t i = 0; i < GW_N_ROUTES; i++) {
        const ProtobufCMessageDescriptor *d = gw_routes[i].reply;
        if (d == NULL)
            continue;
        CHECK(d->sizeof_message <= sizeof(mem));
        d->message_init((ProtobufCMessage *)(void *)mem);
        CHECK(gw_render_json((ProtobufCMessage *)(void *)mem, &b) == 0);
        CHECK(b.len > 2 && b.data[0] == '{' && b.data[b.len - 1] == '}');
        gw_buf_free(&b);
    }
    CHECK(gw_render_json(&rpc.base, &b) == -ENOTSUP);
    gw_buf_free(&b);
}

static void check_escape(const char *in, size_t len, const char *want)
{
    gw_buf b = GW_BUF_INIT;

    CHECK(gw_render_json_string(in, len, &b) == 0);
    CHECK_STR(b.data, want);
    gw_buf_free(&b);
}

static void test_escaping(void)
{
    check_escape("", 0, "\"\"");
    check_escape("plain-id_1", 10, "\"plain-id_1\"");
    check_escape("a\"b\\c/d", 7, "\"a\\\"b\\\\c/d\"");
    check_escape("\n\r\t\b\f", 5, "\"\\n\\r\\t\\u0008\\u000c\"");
    check_escape("\x01\x1f\x7f", 3, "\"\\u0001\\u001f\x7f\"");
    check_escape("a\0b", 3, "\"a\\u0000b\"");
    check_escape("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9, "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"");
    check_escape("\xff", 1, "\"\\ufffd\"");
    check_escape("a\xc3", 2, "\"a\\ufffd\"");               /* truncated */
    check_escape("\xc3(", 2, "\"\\ufffd(\"");               /* bad continuation */
    check_escape("\xc0\xaf", 2, "\"\\ufffd\\ufffd\"");      /* overlong '/' */
    check_escape("\xe0\x80\xaf", 3, "\"\\ufffd\\ufffd\\ufffd\"");
    check_escape("\xed\xa0\x80", 3, "\"\\ufffd\\ufffd\\ufffd\""); /* surrogate */
    check_escape("\xf4\x90\x80\x80", 4, "\"\\ufffd\\ufffd\\ufffd\\ufffd\""); /* > U+10FFFF */
    check_escape("\xf4\x8f\xbf\xbf", 4, "\"\xf4\x8f\xbf\xbf\"");          /* U+10FFFF */
    check_escape("\x80", 1, "\"\\ufffd\"");

    Wdm__BatchInitReply batch = WDM__BATCH_INIT_REPLY__INIT;
    batch.msg = "line1\nline2 \"quoted\"";
    CHECK_JSON(&batch, "{\"msg\": \"line1\\nline2 \\\"quoted\\\"\"}");
}

static void test_errors(void)
{
    gw_buf b = GW_BUF_INIT;
    Wdm__Error *e;

    CHECK(gw_render_error_json("not found", &b) == 0);
    CHECK_STR(b.data, "{\"error\": \"not found\"}");
    gw_buf_free(&b);
    CHECK(gw_render_error_json("bad \"x\"\n", &b) == 0);
    CHECK_STR(b.data, "{\"error\": \"bad \\\"x\\\"\\n\"}");
    gw_buf_free(&b);

    CHECK(gw_render_error_proto("not enough stock", &b) == 0);
    e = wdm__error__unpack(NULL, b.len, (const uint8_t *)b.data);
    CHECK(e != NULL);
    if (e != NULL) {
        CHECK_STR(e->error, "not enough stock");
        wdm__error__free_unpacked(e, NULL);
    }
    gw_buf_free(&b);

    /* Longer than the packing stack buffer. */
    char big[1000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    CHECK(gw_render_error_proto(big, &b) == 0);
    e = wdm__error__unpack(NULL, b.len, (const uint8_t *)b.data);
    CHECK(e != NULL && strcmp(e->error, big) == 0);
    if (e != NULL)
        wdm__error__free_unpacked(e, NULL);
    gw_buf_free(&b);
}

/* A large order grows the buffer many times over. */
static void test_large(void)
{
    enum { N = 5000 };
    Wdm__OrderReply order = WDM__ORDER_REPLY__INIT;
    Wdm__OrderLine *lines = calloc(N, sizeof(*lines));
    Wdm__OrderLine **ptrs = calloc(N, sizeof(*ptrs));
    char ids[N][16];
    gw_buf b = GW_BUF_INIT;
    size_t want = 0;

    CHECK(lines != NULL && ptrs != NULL);
    if (lines == NULL || ptrs == NULL)
        goto out;
    for (int i = 0; i < N; i++) {
        wdm__order_line__init(&lines[i]);
        snprintf(ids[i], sizeof(ids[i]), "item%d", i);
        lines[i].item_id = ids[i];
        lines[i].quantity = i;
        ptrs[i] = &lines[i];
        want += strlen(ids[i]) + 6 + (size_t)snprintf(NULL, 0, "%d", i) + (i > 0 ? 2 : 0);
    }
    order.items = ptrs;
    order.n_items = N;
    CHECK(gw_render_json(&order.base, &b) == 0);
    CHECK(b.len == strlen(b.data));
    CHECK(strstr(b.data, "[\"item4999\", 4999]]") != NULL);
    CHECK(strstr(b.data, "[[\"item0\", 0], [\"item1\", 1], ") != NULL);
    /* {"order_id": "", "paid": false, "items": [<want>], "user_id": "", "total_cost": 0} */
    CHECK(b.len == want + strlen("{\"order_id\": \"\", \"paid\": false, \"items\": [], "
                                 "\"user_id\": \"\", \"total_cost\": 0}"));
out:
    gw_buf_free(&b);
    free(lines);
    free(ptrs);
}

int main(void)
{
    test_stock();
    test_payment();
    test_order();
    test_unpacked();
    test_every_reply();
    test_escaping();
    test_errors();
    test_large();
    return check_status("render_test");
}
