/* body_test: protobuf request bodies (body.c, wire.c) through gw_route_parse. */
#include "body.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api.pb-c.h"
#include "check.h"
#include "wire.h"

/* Parses a POST of path with body[0..len). */
static int post(const char *path, const void *body, size_t len, gw_parsed *p)
{
    return gw_route_parse(GW_ON_PUBLIC, "POST", 4, path, strlen(path), body, len, p);
}

/* Packs a StockChangeRequest into buf; returns its length. */
static size_t stock_change(const char *item_id, int64_t amount, uint8_t *buf)
{
    Wdm__StockChangeRequest m = WDM__STOCK_CHANGE_REQUEST__INIT;

    m.item_id = (char *)item_id;
    m.amount = amount;
    return wdm__stock_change_request__pack(&m, buf);
}

static const Wdm__StockChangeRequest *stock_req(gw_parsed *p)
{
    return (const Wdm__StockChangeRequest *)(const void *)gw_parsed_request(p);
}

static void test_content_type(void)
{
    static const char *const yes[] = {
        "application/x-protobuf", "APPLICATION/X-PROTOBUF", "application/x-protobuf; charset=x",
        "application/x-protobuf;proto=wdm.StockChangeRequest", " \tapplication/x-protobuf",
        "application/x-protobuf ",
    };
    static const char *const no[] = {
        "", "application/json", "application/x-protobuf2", "application/x-protobu",
        "application/protobuf", "text/plain; application/x-protobuf", "x application/x-protobuf",
    };

    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
        CHECK(gw_body_is_protobuf(yes[i], strlen(yes[i])));
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        CHECK(!gw_body_is_protobuf(no[i], strlen(no[i])));
    /* Only len bytes count. */
    CHECK(!gw_body_is_protobuf("application/x-protobuf", 21));
    CHECK(gw_body_is_protobuf("application/x-protobufXYZ", 22));
}

/* Reads every field of data[0..len); returns the last gw_wire_next result and the count. */
static int wire_all(const void *data, size_t len, int *count, gw_wire_field *last)
{
    gw_wire_reader r = gw_wire_reader_init(data, len);
    const char *why = NULL;
    int rv;

    *count = 0;
    while ((rv = gw_wire_next(&r, last, &why)) == 1)
        (*count)++;
    if (rv < 0)
        CHECK(why != NULL && why[0] != '\0');
    return rv;
}

static void test_wire(void)
{
    static const struct {
        const char *bytes;
        size_t len;
        int rv, count;
    } cases[] = {
        {"", 0, 0, 0},
        {"\x08\x96\x01", 3, 0, 1},                                     /* 1: 150 */
        {"\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11, 0, 1},    /* 10 bytes: 2^64-1 */
        {"\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", 11, -EINVAL, 0}, /* bit 64 */
        {"\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x81\x00", 12, -EINVAL, 0}, /* 11 bytes */
        {"\x08", 1, -EINVAL, 0},                                       /* no value */
        {"\x08\x80", 2, -EINVAL, 0},                                   /* cut varint */
        {"\x0a\x03" "abc\x10\x01", 7, 0, 2},
        {"\x0a\x04" "abc", 5, -EINVAL, 0},                             /* past the end */
        {"\x0a\xff\xff\xff\xff\x0f", 6, -EINVAL, 0},                   /* huge length */
        {"\x09" "12345678", 9, 0, 1},                                  /* 64-bit */
        {"\x09" "1234567", 8, -EINVAL, 0},
        {"\x0d" "1234", 5, 0, 1},                                      /* 32-bit */
        {"\x0d" "123", 4, -EINVAL, 0},
        {"\x0b\x0c", 2, -EINVAL, 0},                                   /* group start/end */
        {"\x0c", 1, -EINVAL, 0},
        {"\x0e\x00", 2, -EINVAL, 0},                                   /* wire type 6 */
        {"\x0f\x00", 2, -EINVAL, 0},                                   /* wire type 7 */
        {"\x00\x00", 2, -EINVAL, 0},                                   /* field 0 */
        {"\xf8\xff\xff\xff\x0f\x00", 6, 0, 1},                         /* field 2^29-1 */
        {"\x80\x80\x80\x80\x10\x00", 6, -EINVAL, 0},                   /* field 2^29 */
        {"\xff\xff\xff\xff\xff", 5, -EINVAL, 0},
    };
    gw_wire_field f;
    int count;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rv = wire_all(cases[i].bytes, cases[i].len, &count, &f);
        if (rv != cases[i].rv)
            fprintf(stderr, "wire case %zu: rv %d\n", i, rv);
        CHECK(rv == cases[i].rv);
        if (rv == 0)
            CHECK(count == cases[i].count);
    }
    CHECK(wire_all("\x08\x96\x01", 3, &count, &f) == 0 && f.number == 1 &&
          f.type == GW_WIRE_VARINT && f.varint == 150);
    CHECK(wire_all("\x12\x02hi", 4, &count, &f) == 0 && f.number == 2 && f.type == GW_WIRE_LEN &&
          f.len == 2 && memcmp(f.data, "hi", 2) == 0);
    CHECK(wire_all("\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11, &count, &f) == 0 &&
          f.varint == UINT64_MAX);
}

/* POST /stock/add with the parameters in the body, in the path, or both. */
static void test_body_and_path(void)
{
    uint8_t buf[256];
    gw_parsed p;
    size_t n;

    n = stock_change("i1", 5, buf);
    CHECK(post("/stock/add", buf, n, &p) == 0);
    CHECK_STR(p.route->name, "stock.add");
    CHECK_STR(stock_req(&p)->item_id, "i1");
    CHECK(stock_req(&p)->amount == 5);
    CHECK(post("/stock/subtract", buf, n, &p) == 0);
    CHECK_STR(p.route->name, "stock.subtract");
    CHECK(post("/stock/add?x=1", buf, n, &p) == 0);

    /* Both: they must agree, field by field; a field the body leaves out is the path's. */
    CHECK(post("/stock/add/i1/5", buf, n, &p) == 0);
    CHECK_STR(stock_req(&p)->item_id, "i1");
    CHECK(post("/stock/add/i1/6", buf, n, &p) == -EINVAL);
    CHECK_STR(p.error, "amount in the body differs from the path's");
    CHECK(post("/stock/add/i2/5", buf, n, &p) == -EINVAL);
    CHECK_STR(p.error, "item_id in the body differs from the path's");
    CHECK(post("/stock/add/i12/5", buf, n, &p) == -EINVAL);
    CHECK(post("/stock/add/i/5", buf, n, &p) == -EINVAL);
    n = stock_change("i1", 0, buf); /* amount 0 is not on the wire: the path's counts */
    CHECK(post("/stock/add/i1/7", buf, n, &p) == 0);
    CHECK(stock_req(&p)->amount == 7);
    CHECK(post("/stock/add/i1/7", "\x10\x07", 2, &p) == 0);
    CHECK(post("/stock/add/i1/7", "\x10\x00", 2, &p) == -EINVAL); /* 0 sent explicitly */
    /* Path parameters are checked before the body. */
    CHECK(post("/stock/add/i1/0", "\x10\x00", 2, &p) == -EINVAL);
    CHECK(strstr(p.error, "amount must be") != NULL);

    /* Some parameters only, or extra segments: 400, naming both forms. */
    n = stock_change("i1", 5, buf);
    CHECK(post("/stock/add/i1", buf, n, &p) == -EINVAL);
    CHECK(strstr(p.error, "/stock/add/{item_id}/{amount}") != NULL);
    CHECK(strstr(p.error, "POST /stock/add with the parameters in the protobuf body") != NULL);
    CHECK(post("/stock/add/", buf, n, &p) == -EINVAL);
    CHECK(post("/stock/add/i1/5/", buf, n, &p) == -EINVAL);
    CHECK(post("/stock/add/i1/5/6", buf, n, &p) == -EINVAL);

    /* No body (or an empty one): the path needs every parameter, as ever. */
    CHECK(post("/stock/add", NULL, 0, &p) == -EINVAL);
    CHECK_STR(p.error, "expected POST /stock/add/{item_id}/{amount}");
    CHECK(post("/stock/add", buf, 0, &p) == -EINVAL);

    /* Bodies count for POSTs only: a GET ignores one. */
    CHECK(gw_route_parse(GW_ON_PUBLIC, "GET", 3, "/stock/find/x", 13, "\xff", 1, &p) == 0);
    CHECK(gw_route_parse(GW_ON_PUBLIC, "GET", 3, "/stock/find", 11, "\x0a\x01x", 3, &p) == -EINVAL);
    /* A route without parameters takes a body of its (empty) message. */
    CHECK(post("/payment/create_user", "\x08\x01", 2, &p) == 0);
    CHECK(post("/payment/create_user", "\x08", 1, &p) == -EINVAL);
    /* Wrong method and unknown paths stay 405 and 404. */
    CHECK(gw_route_parse(GW_ON_PUBLIC, "GET", 3, "/stock/add", 10, buf, n, &p) == -ENOTSUP);
    CHECK(post("/stock/addx", buf, n, &p) == -ENOENT);
}

/* Values from the body obey the rules of path parameters. */
static void test_values(void)
{
    char id64[65], id65[66];
    uint8_t buf[256];
    gw_parsed p;
    size_t n;

    memset(id64, 'a', 64), id64[64] = '\0';
    memset(id65, 'a', 65), id65[65] = '\0';
    CHECK(post("/stock/add", buf, stock_change(id64, 1, buf), &p) == 0);
    CHECK_STR(stock_req(&p)->item_id, id64);
    CHECK(post("/stock/add", buf, stock_change(id65, 1, buf), &p) == -EINVAL);
    CHECK_STR(p.error, "item_id must be 1 to 64 characters of [A-Za-z0-9_-]");
    CHECK(post("/stock/add", buf, stock_change("a.b", 1, buf), &p) == -EINVAL);
    CHECK(post("/stock/add", buf, stock_change("a/b", 1, buf), &p) == -EINVAL);
    CHECK(post("/stock/add", buf, stock_change("", 1, buf), &p) == -EINVAL); /* no item_id */
    CHECK(post("/stock/add", "\x0a\x03" "a\0b" "\x10\x01", 7, &p) == -EINVAL); /* a NUL */
    CHECK(post("/stock/add", "\x0a\x03" "a\xc3\xa9" "\x10\x01", 7, &p) == -EINVAL);

    CHECK(post("/stock/add", buf, stock_change("i", 0, buf), &p) == -EINVAL); /* no amount */
    CHECK_STR(p.error, "amount must be an integer from 1 to 9007199254740992");
    CHECK(post("/stock/add", buf, stock_change("i", -1, buf), &p) == -EINVAL);
    CHECK(post("/stock/add", buf, stock_change("i", INT64_MIN, buf), &p) == -EINVAL);
    CHECK(post("/stock/add", buf, stock_change("i", INT64_MAX, buf), &p) == -EINVAL);
    CHECK(post("/stock/add", buf, stock_change("i", 9007199254740993LL, buf), &p) == -EINVAL);
    CHECK(post("/stock/add", buf, stock_change("i", 9007199254740992LL, buf), &p) == 0);
    CHECK(stock_req(&p)->amount == 9007199254740992LL);

    /* Ranges by field name, as for the path: a price may be 0, n may not. */
    Wdm__CreateItemRequest ci = WDM__CREATE_ITEM_REQUEST__INIT;
    n = wdm__create_item_request__pack(&ci, buf);
    CHECK(n == 0 && post("/stock/item/create", "\x08\x00", 2, &p) == 0);
    ci.price = 9007199254740992LL;
    n = wdm__create_item_request__pack(&ci, buf);
    CHECK(post("/stock/item/create", buf, n, &p) == 0);
    CHECK(((Wdm__CreateItemRequest *)gw_parsed_request(&p))->price == 9007199254740992LL);
    Wdm__StockBatchInitRequest bi = WDM__STOCK_BATCH_INIT_REQUEST__INIT;
    bi.n = 1000001;
    n = wdm__stock_batch_init_request__pack(&bi, buf);
    CHECK(post("/stock/batch_init", buf, n, &p) == -EINVAL);
    CHECK(strstr(p.error, "n must be an integer from 1 to 1000000") != NULL);

    /* Duplicates: the last one wins, as in protobuf. */
    CHECK(post("/stock/add", "\x0a\x01x\x10\x01\x0a\x01y\x10\x02", 10, &p) == 0);
    CHECK_STR(stock_req(&p)->item_id, "y");
    CHECK(stock_req(&p)->amount == 2);
    /* Unknown fields of every wire type are skipped. */
    CHECK(post("/stock/add", "\x0a\x01x\x10\x01\x18\x05\x22\x02zz\x29" "12345678\x2d" "1234",
               25, &p) == 0);
    CHECK_STR(stock_req(&p)->item_id, "x");
}

/* Malformed bytes and known fields of the wrong type: 400, nothing taken. */
static void test_malformed(void)
{
    static const struct {
        const char *bytes;
        size_t len;
        const char *error;
    } cases[] = {
        {"\xff\xff\xff\xff\xff", 5, "body is not a valid wdm.StockChangeRequest"},
        {"\x08", 1, "body is not a valid"},
        {"\x0a\x05" "ab", 4, "body is not a valid"},
        {"\x0a\x01x\x10", 4, "body is not a valid"},
        {"\x0b\x0a\x01x\x0c", 5, "body is not a valid"},
        {"\x00", 1, "body is not a valid"},
        {"{\"item_id\": \"x\", \"amount\": 1}", 29, "body"},
        {"\x08\x05\x10\x01", 4, "body: item_id must be a string"},           /* id as varint */
        {"\x0d" "abcd\x10\x01", 7, "body: item_id must be a string"},        /* id as fixed32 */
        {"\x0a\x01x\x12\x01\x05", 6, "body: amount must be an integer (varint)"},
        {"\x0a\x01x\x11" "\x01\0\0\0\0\0\0\0", 12, "body: amount must be an integer"},
    };
    gw_parsed p;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rv = post("/stock/add", cases[i].bytes, cases[i].len, &p);
        if (rv != -EINVAL || strstr(p.error, cases[i].error) == NULL)
            fprintf(stderr, "malformed case %zu: rv %d error %s\n", i, rv, p.error);
        CHECK(rv == -EINVAL);
        CHECK(strstr(p.error, cases[i].error) != NULL);
        CHECK(p.route != NULL && strcmp(p.route->name, "stock.add") == 0);
        /* The same bytes with every parameter in the path are just as bad. */
        CHECK(post("/stock/add/x/1", cases[i].bytes, cases[i].len, &p) == -EINVAL);
    }
}

/* Every POST route: a message packed by protobuf-c, sent to the path without
 * parameters, comes out as the very same message. */
static void test_every_route(void)
{
    for (size_t i = 0; i < GW_N_ROUTES; i++) {
        const gw_route *r = &gw_routes[i];
        _Alignas(16) unsigned char msg[GW_REQUEST_MAX];
        char ids[GW_PARAMS_MAX][16], path[128];
        uint8_t in[256], out[256];
        size_t n_in, n_out;
        gw_parsed p;

        if (r->kind != GW_ROUTE_RPC || strcmp(r->method, "POST") != 0)
            continue;
        r->request->message_init((ProtobufCMessage *)(void *)msg);
        for (unsigned j = 0; j < r->request->n_fields; j++) {
            const ProtobufCFieldDescriptor *f = &r->request->fields[j];
            if (f->type == PROTOBUF_C_TYPE_STRING) {
                snprintf(ids[j], sizeof(ids[j]), "id-%u", j);
                *(char **)(void *)(msg + f->offset) = ids[j];
            } else {
                *(int64_t *)(void *)(msg + f->offset) = j + 1;
            }
        }
        n_in = protobuf_c_message_pack((ProtobufCMessage *)(void *)msg, in);
        snprintf(path, sizeof(path), "%.*s", (int)strcspn(r->pattern, "{"), r->pattern);
        if (path[strlen(path) - 1] == '/')
            path[strlen(path) - 1] = '\0';
        if (n_in == 0) { /* no fields: send an unknown one, so the body is not empty */
            memcpy(in, "\x78\x01", 2);
            n_in = 2;
        }
        CHECK(post(path, in, n_in, &p) == 0);
        CHECK(p.route == r);
        if (p.route != r)
            continue;
        n_out = protobuf_c_message_pack(gw_parsed_request(&p), out);
        if (r->request->n_fields > 0)
            CHECK(n_out == n_in && memcmp(in, out, n_in) == 0);
        else
            CHECK(n_out == 0);
    }
}

/* A pseudo-random byte (a fixed sequence). */
static uint8_t next_byte(uint64_t *seed)
{
    *seed = *seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint8_t)(*seed >> 56);
}

/* Random bytes, and a valid body with one byte changed, on POST routes with and without
 * path parameters: always 0 or -EINVAL, never a read outside the body (the ASan build
 * checks). */
static void test_random_bytes(void)
{
    static const char *const paths[] = {"/stock/add", "/stock/add/x/1", "/orders/addItem",
                                        "/orders/batch_init", "/payment/create_user"};
    uint64_t seed = 0x9e3779b97f4a7c15ULL;
    uint8_t buf[48];
    gw_parsed p;

    for (int i = 0; i < 20000; i++) {
        size_t len;
        if (i % 2 == 0) {
            len = 1 + i % sizeof(buf);
            for (size_t j = 0; j < len; j++)
                buf[j] = next_byte(&seed);
        } else {
            size_t at = next_byte(&seed);
            len = stock_change("x", 1000, buf);
            buf[at % len] = next_byte(&seed);
        }
        /* A heap copy of exactly len bytes, so that ASan sees any overread. */
        uint8_t *body = malloc(len);
        if (body == NULL)
            return;
        memcpy(body, buf, len);
        int rv = post(paths[i % 5], body, len, &p);
        CHECK(rv == 0 || rv == -EINVAL);
        free(body);
    }
}

int main(void)
{
    test_content_type();
    test_wire();
    test_body_and_path();
    test_values();
    test_malformed();
    test_every_route();
    test_random_bytes();
    return check_status("body_test");
}
