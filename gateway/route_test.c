/* route_test: the route table and path parsing (route.c). */
#include "route.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "api.pb-c.h"
#include "check.h"

/* Parses as the public port does. */
static int parse(const char *method, const char *path, gw_parsed *p)
{
    return gw_route_parse(GW_ON_PUBLIC, method, strlen(method), path, strlen(path), NULL, 0, p);
}

/* Parses as a listener of r does. */
static int parse_on(const gw_route *r, const char *method, const char *path, gw_parsed *p)
{
    unsigned listener = r->listeners & (~r->listeners + 1);  /* the lowest bit */
    return gw_route_parse(listener, method, strlen(method), path, strlen(path), NULL, 0, p);
}

/* Parses as the admin listener does. */
static int parse_admin(const char *method, const char *path, gw_parsed *p)
{
    return gw_route_parse(GW_ON_ADMIN, method, strlen(method), path, strlen(path), NULL, 0, p);
}

/* The request field named by a pattern parameter ("{item_id}" -> item_id), or NULL. */
static const ProtobufCFieldDescriptor *param_field(const gw_route *r, const char *seg,
                                                   size_t len)
{
    char name[64];

    if (len < 3 || len - 2 >= sizeof(name) || seg[0] != '{' || seg[len - 1] != '}')
        return NULL;
    memcpy(name, seg + 1, len - 2);
    name[len - 2] = '\0';
    return protobuf_c_message_descriptor_get_field_by_name(r->request, name);
}

/* Writes r's pattern into buf with every {param} replaced: by `value` for parameter
 * number `which` (when value is not NULL), else by "id-<i>" for strings, "<i+1>" for
 * numbers. Returns the number of parameters. */
static int example_path(const gw_route *r, char *buf, size_t size, int which,
                        const char *value)
{
    const char *p = r->pattern;
    int n = 0;

    buf[0] = '\0';
    while (*p != '\0') {
        const char *seg = p + 1, *end = strchr(seg, '/');
        size_t len = end ? (size_t)(end - seg) : strlen(seg);
        char part[128];

        if (seg[0] == '{') {
            const ProtobufCFieldDescriptor *f = param_field(r, seg, len);
            if (which == n && value != NULL)
                snprintf(part, sizeof(part), "/%s", value);
            else if (f != NULL && f->type == PROTOBUF_C_TYPE_STRING)
                snprintf(part, sizeof(part), "/id-%d", n);
            else
                snprintf(part, sizeof(part), "/%d", n + 1);
            n++;
        } else {
            snprintf(part, sizeof(part), "/%.*s", (int)len, seg);
        }
        strncat(buf, part, size - strlen(buf) - 1);
        p = seg + len;
    }
    return n;
}

/* The table itself: names, services, request fields, sizes, unambiguous prefixes. */
static void test_table(void)
{
    for (size_t i = 0; i < GW_N_ROUTES; i++) {
        const gw_route *r = &gw_routes[i];

        CHECK(strcmp(r->method, "GET") == 0 || strcmp(r->method, "POST") == 0);
        CHECK(r->pattern[0] == '/');
        if (r->kind != GW_ROUTE_RPC)
            continue;
        /* "stock.find" goes to the stock service. */
        size_t sl = strlen(gw_service_names[r->service]);
        CHECK(strncmp(r->name, gw_service_names[r->service], sl) == 0 && r->name[sl] == '.');
        CHECK(r->request != NULL && r->reply != NULL);
        CHECK(r->request->sizeof_message <= GW_REQUEST_MAX);
        CHECK(r->timeout_ms == 10000 || r->timeout_ms == 60000);
        CHECK((r->timeout_ms == 60000) ==
              (strstr(r->name, "checkout") != NULL || strstr(r->name, "batch_init") != NULL));

        /* Every parameter is a field of the request; every field is a parameter. */
        unsigned params = 0;
        for (const char *s = strchr(r->pattern, '{'); s; s = strchr(s + 1, '{')) {
            const ProtobufCFieldDescriptor *f = param_field(r, s, (size_t)(strchr(s, '}') - s) + 1);
            CHECK(f != NULL);
            if (f != NULL)
                CHECK(f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_INT64);
            params++;
        }
        CHECK(params == r->request->n_fields);
        CHECK(params <= GW_PARAMS_MAX);
    }
    /* No route's literal segments are a leading part of another's: a path matches the
     * literals of one route at most. */
    for (size_t i = 0; i < GW_N_ROUTES; i++)
        for (size_t j = 0; j < GW_N_ROUTES; j++) {
            const char *a = gw_routes[i].pattern, *b = gw_routes[j].pattern;
            size_t la = strcspn(a, "{"), lb = strcspn(b, "{");
            la -= la > 1 && a[la - 1] == '/';
            lb -= lb > 1 && b[lb - 1] == '/';
            if (i != j && la <= lb && strncmp(a, b, la) == 0)
                CHECK(b[la] != '/' && la != lb);
        }
}

/* Every route, with good parameters, the wrong method, too few or too many segments,
 * a trailing slash and each parameter empty. */
static void test_every_route(void)
{
    char path[512], bad[600];
    gw_parsed p;

    for (size_t i = 0; i < GW_N_ROUTES; i++) {
        const gw_route *r = &gw_routes[i];
        const char *other = strcmp(r->method, "GET") == 0 ? "POST" : "GET";
        int n = example_path(r, path, sizeof(path), -1, NULL);

        CHECK(parse_on(r, r->method, path, &p) == 0);
        CHECK(p.route == r);
        if (r->kind == GW_ROUTE_RPC && p.route == r) {
            /* The message holds what the path said, and packs. */
            ProtobufCMessage *m = gw_parsed_request(&p);
            CHECK(m->descriptor == r->request);
            for (unsigned f = 0; f < r->request->n_fields; f++) {
                const ProtobufCFieldDescriptor *fd = &r->request->fields[f];
                const char *member = (const char *)m + fd->offset;
                if (fd->type == PROTOBUF_C_TYPE_STRING)
                    CHECK(strncmp(*(char *const *)member, "id-", 3) == 0);
                else
                    CHECK(*(const int64_t *)member >= 1 && *(const int64_t *)member <= n);
            }
            CHECK(protobuf_c_message_get_packed_size(m) > 0 || n == 0);
        }

        CHECK(parse_on(r, other, path, &p) == -ENOTSUP);
        CHECK(p.route == r);
        CHECK(strstr(p.error, r->method) != NULL);
        CHECK(parse_on(r, "HEAD", path, &p) == -ENOTSUP);

        snprintf(bad, sizeof(bad), "%s/", path);
        CHECK(parse_on(r, r->method, bad, &p) == -EINVAL);
        CHECK(p.route == r);
        CHECK(strstr(p.error, r->pattern) != NULL);
        snprintf(bad, sizeof(bad), "%s/1", path);
        CHECK(parse_on(r, r->method, bad, &p) == -EINVAL);
        snprintf(bad, sizeof(bad), "%s//", path);
        CHECK(parse_on(r, r->method, bad, &p) == -EINVAL);
        snprintf(bad, sizeof(bad), "%s?a=1&b=/x/y", path);
        CHECK(parse_on(r, r->method, bad, &p) == 0);

        if (n > 0) {
            /* One segment fewer. */
            snprintf(bad, sizeof(bad), "%s", path);
            *strrchr(bad, '/') = '\0';
            CHECK(parse_on(r, r->method, bad, &p) == -EINVAL);
        }
        for (int k = 0; k < n; k++) {
            example_path(r, bad, sizeof(bad), k, "");
            CHECK(parse_on(r, r->method, bad, &p) == -EINVAL);
            example_path(r, bad, sizeof(bad), k, "a.b");
            CHECK(parse_on(r, r->method, bad, &p) == -EINVAL);
            example_path(r, bad, sizeof(bad), k, "%41");
            CHECK(parse_on(r, r->method, bad, &p) == -EINVAL);
        }
    }
}

static void test_not_found(void)
{
    static const char *const paths[] = {
        "", "/", "//", "stock/find/x", "/stock", "/stock/", "/stock/x", "/nothing/x",
        "//stock/find/x", "/stock//find/x", "/STOCK/find/x", "/stock/Find/x", "/stock/findx/1",
        "/stock/item", "/stock/item/x/1", "/orders/additem/o/i/1", "/payment/create_users",
        "/healthz", "/health_", "/%73tock/find/x", "/./stock/find/x", "/../stock/find/x",
        "?/stock/find/x", "/stock/find%2Fx",
    };
    gw_parsed p;

    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        CHECK(parse("GET", paths[i], &p) == -ENOENT);
        CHECK(parse("POST", paths[i], &p) == -ENOENT);
        CHECK(p.route == NULL);
        CHECK(p.error[0] != '\0');
    }
    /* Not NUL-terminated input: only path_len bytes count. */
    CHECK(gw_route_parse(GW_ON_PUBLIC, "GET", 3, "/stock/find/abcdef", 14, NULL, 0, &p) == 0);
    CHECK_STR(((Wdm__FindItemRequest *)gw_parsed_request(&p))->item_id, "ab");
    CHECK(gw_route_parse(GW_ON_PUBLIC, "GETX", 3, "/health", 7, NULL, 0, &p) == 0);
    /* Methods are case-sensitive. */
    CHECK(parse("get", "/health", &p) == -ENOTSUP);
}

static void test_ids(void)
{
    char id64[65], id65[66], path[128];
    gw_parsed p;
    Wdm__FindItemRequest *find = (Wdm__FindItemRequest *)gw_parsed_request(&p);

    memset(id64, 'a', 64);
    id64[0] = 'Z', id64[1] = '9', id64[2] = '_', id64[63] = '-';
    id64[64] = '\0';
    snprintf(path, sizeof(path), "/stock/find/%s", id64);
    CHECK(parse("GET", path, &p) == 0);
    CHECK_STR(find->item_id, id64);

    memset(id65, 'a', 65);
    id65[65] = '\0';
    snprintf(path, sizeof(path), "/stock/find/%s", id65);
    CHECK(parse("GET", path, &p) == -EINVAL);
    CHECK(strstr(p.error, "item_id") != NULL);

    static const char *const bad[] = {
        "/stock/find/a%41", "/stock/find/%", "/stock/find/a.b", "/stock/find/.",
        "/stock/find/..", "/stock/find/%2e%2e", "/stock/find/a b", "/stock/find/a+b",
        "/stock/find/\xc3\xa9", "/stock/find/a~", "/stock/find/a:b", "/stock/find/a;b",
        "/stock/find/a\tb", "/stock/find/#",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK(parse("GET", bad[i], &p) == -EINVAL);
    /* A NUL inside the id is not the end of it. */
    CHECK(gw_route_parse(GW_ON_PUBLIC, "GET", 3, "/stock/find/a\0b", 15, NULL, 0, &p) == -EINVAL);

    CHECK(parse("GET", "/stock/find/x?y", &p) == 0);
    CHECK_STR(find->item_id, "x");
    CHECK(parse("GET", "/stock/find/x?", &p) == 0);
    CHECK(parse("GET", "/stock/find/?x", &p) == -EINVAL);
}

/* price: 0 .. 2^53 (CreateItemRequest), through every kind of bad number. */
static void test_numbers(void)
{
    static const struct {
        const char *text;
        int rv;
        int64_t value;
    } cases[] = {
        {"0", 0, 0},
        {"1", 0, 1},
        {"007", 0, 7},
        {"00000000000000000000000000000001", 0, 1}, /* 32 digits */
        {"000000000000000000000000000000001", -EINVAL, 0}, /* 33 */
        {"9007199254740992", 0, 9007199254740992LL}, /* 2^53 */
        {"09007199254740992", 0, 9007199254740992LL},
        {"9007199254740993", -EINVAL, 0}, /* 2^53 + 1 */
        {"9223372036854775807", -EINVAL, 0},
        {"9223372036854775808", -EINVAL, 0},
        {"18446744073709551617", -EINVAL, 0},
        {"99999999999999999999999999999999", -EINVAL, 0},
        {"-1", -EINVAL, 0},
        {"-0", -EINVAL, 0},
        {"+1", -EINVAL, 0},
        {" 1", -EINVAL, 0},
        {"1 ", -EINVAL, 0},
        {"%201", -EINVAL, 0},
        {"1e3", -EINVAL, 0},
        {"1.0", -EINVAL, 0},
        {"1.", -EINVAL, 0},
        {"0x10", -EINVAL, 0},
        {"１", -EINVAL, 0}, /* a fullwidth digit */
        {"abc", -EINVAL, 0},
        {"", -EINVAL, 0},
    };
    char path[128];
    gw_parsed p;
    Wdm__CreateItemRequest *m = (Wdm__CreateItemRequest *)gw_parsed_request(&p);

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(path, sizeof(path), "/stock/item/create/%s", cases[i].text);
        int rv = parse("POST", path, &p);
        if (rv != cases[i].rv)
            fprintf(stderr, "price %s: rv %d\n", cases[i].text, rv);
        CHECK(rv == cases[i].rv);
        if (rv == 0)
            CHECK(m->price == cases[i].value);
        else
            CHECK(strstr(p.error, "price") != NULL);
    }
}

/* Ranges by parameter name: amounts and quantities >= 1, batch sizes 1..WDM_BATCH_MAX,
 * prices and starting values >= 0. */
static void test_ranges(void)
{
    static const struct {
        const char *method, *path;
        int rv;
    } cases[] = {
        {"POST", "/stock/add/i/0", -EINVAL},
        {"POST", "/stock/add/i/1", 0},
        {"POST", "/stock/add/i/9007199254740992", 0},
        {"POST", "/stock/add/i/9007199254740993", -EINVAL},
        {"POST", "/stock/subtract/i/0", -EINVAL},
        {"POST", "/payment/add_funds/u/0", -EINVAL},
        {"POST", "/payment/pay/u/0", -EINVAL},
        {"POST", "/payment/pay/u/5", 0},
        {"POST", "/orders/addItem/o/i/0", -EINVAL},
        {"POST", "/orders/addItem/o/i/1", 0},
        {"POST", "/stock/batch_init/0/1/1", -EINVAL},
        {"POST", "/stock/batch_init/1/0/0", 0},
        {"POST", "/stock/batch_init/1000000/0/0", 0},
        {"POST", "/stock/batch_init/1000001/0/0", -EINVAL},
        {"POST", "/payment/batch_init/1/0", 0},
        {"POST", "/payment/batch_init/0/0", -EINVAL},
        {"POST", "/orders/batch_init/1/0/1/0", -EINVAL},
        {"POST", "/orders/batch_init/1/1/0/0", -EINVAL},
        {"POST", "/orders/batch_init/1/1/1/0", 0},
        {"POST", "/orders/batch_init/1/1/1/9007199254740993", -EINVAL},
        {"POST", "/stock/add/i/1/2/3/4/5/6/7/8/9/10", -EINVAL},
    };
    gw_parsed p;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rv = parse(cases[i].method, cases[i].path, &p);
        if (rv != cases[i].rv)
            fprintf(stderr, "%s: rv %d\n", cases[i].path, rv);
        CHECK(rv == cases[i].rv);
    }
    CHECK(parse("POST", "/stock/add/i/0", &p) == -EINVAL);
    CHECK_STR(p.error, "amount must be an integer from 1 to 9007199254740992");
}

/* Messages with several parameters get each in its own field, and pack. */
static void test_messages(void)
{
    uint8_t buf[256];
    gw_parsed p;
    size_t len;

    CHECK(parse("POST", "/orders/addItem/o-1/i_2/3", &p) == 0);
    CHECK_STR(p.route->name, "order.add_item");
    len = protobuf_c_message_pack(gw_parsed_request(&p), buf);
    Wdm__AddItemRequest *a = wdm__add_item_request__unpack(NULL, len, buf);
    CHECK(a != NULL);
    if (a != NULL) {
        CHECK_STR(a->order_id, "o-1");
        CHECK_STR(a->item_id, "i_2");
        CHECK(a->quantity == 3);
        wdm__add_item_request__free_unpacked(a, NULL);
    }

    CHECK(parse("POST", "/orders/batch_init/3/4/5/6", &p) == 0);
    Wdm__OrderBatchInitRequest *b = (Wdm__OrderBatchInitRequest *)gw_parsed_request(&p);
    CHECK(b->n == 3 && b->n_items == 4 && b->n_users == 5 && b->item_price == 6);

    CHECK(parse("POST", "/stock/subtract/item/12", &p) == 0);
    Wdm__StockChangeRequest *s = (Wdm__StockChangeRequest *)gw_parsed_request(&p);
    CHECK_STR(p.route->name, "stock.subtract");
    CHECK_STR(s->item_id, "item");
    CHECK(s->amount == 12);

    CHECK(parse("POST", "/payment/create_user", &p) == 0);
    CHECK(p.route->kind == GW_ROUTE_RPC && p.route->service == GW_PAYMENT);
    CHECK(protobuf_c_message_get_packed_size(gw_parsed_request(&p)) == 0);

    CHECK(parse("GET", "/health", &p) == 0 && p.route->kind == GW_ROUTE_HEALTH);
    CHECK(parse_admin("GET", "/metrics", &p) == 0 && p.route->kind == GW_ROUTE_METRICS);
    CHECK(parse_admin("GET", "/metrics?x=1", &p) == 0);
    CHECK(parse("POST", "/health", &p) == -ENOTSUP);
    CHECK(parse("GET", "/health/", &p) == -EINVAL);
    CHECK(parse("GET", "/orders/find/o1", &p) == 0 && p.route->service == GW_ORDER);
    CHECK(parse("POST", "/orders/checkout/o1", &p) == 0 && p.route->timeout_ms == 60000);
}

/* GET /admin/sagas (admin listener): one RPC to order, no parameters, its reply the
 * SagasReply. */
static void test_admin(void)
{
    gw_parsed p;

    CHECK(parse_admin("GET", "/admin/sagas", &p) == 0);
    CHECK(p.route != NULL && p.route->kind == GW_ROUTE_RPC && p.route->service == GW_ORDER);
    if (p.route == NULL)
        return;
    CHECK_STR(p.route->name, "order.sagas");
    CHECK(p.route->request == &wdm__sagas_request__descriptor);
    CHECK(p.route->reply == &wdm__sagas_reply__descriptor);
    CHECK(p.route->timeout_ms == 10000);
    CHECK(gw_parsed_request(&p)->descriptor == &wdm__sagas_request__descriptor);
    CHECK(protobuf_c_message_get_packed_size(gw_parsed_request(&p)) == 0);
    CHECK(parse_admin("GET", "/admin/sagas?limit=5", &p) == 0);

    CHECK(parse_admin("POST", "/admin/sagas", &p) == -ENOTSUP);
    CHECK(strstr(p.error, "GET /admin/sagas") != NULL);
    CHECK(parse_admin("GET", "/admin/sagas/", &p) == -EINVAL);
    CHECK(parse_admin("GET", "/admin/sagas/10", &p) == -EINVAL);
    CHECK_STR(p.error, "expected GET /admin/sagas");
    CHECK(parse_admin("GET", "/admin", &p) == -ENOENT);
    CHECK(parse_admin("GET", "/admin/", &p) == -ENOENT);
    CHECK(parse_admin("GET", "/admin/saga", &p) == -ENOENT);
    CHECK(parse_admin("GET", "/admin/Sagas", &p) == -ENOENT);
    CHECK(parse_admin("GET", "/sagas", &p) == -ENOENT);
}

/* Each listener serves its own routes, and the others are as if they did not exist: 404,
 * never 405. /health is on both. */
static void test_listeners(void)
{
    gw_parsed p;

    CHECK(parse("GET", "/metrics", &p) == -ENOENT && p.route == NULL);
    CHECK(parse("GET", "/admin/sagas", &p) == -ENOENT && p.route == NULL);
    CHECK(parse("POST", "/admin/sagas", &p) == -ENOENT);
    CHECK(parse("POST", "/metrics", &p) == -ENOENT);
    CHECK(parse_admin("GET", "/health", &p) == 0 && p.route->kind == GW_ROUTE_HEALTH);
    CHECK(parse_admin("GET", "/stock/find/x", &p) == -ENOENT);
    CHECK(parse_admin("POST", "/orders/checkout/o1", &p) == -ENOENT);
    CHECK(parse_admin("POST", "/stock/batch_init/1/2/3", &p) == -ENOENT);
    /* Every route is served somewhere, and only batch_init routes are batch_init. */
    for (size_t i = 0; i < GW_N_ROUTES; i++) {
        const gw_route *r = &gw_routes[i];
        CHECK(r->listeners != 0);
        CHECK(r->batch_init == (strstr(r->pattern, "/batch_init/") != NULL));
        CHECK(!r->batch_init || r->listeners == GW_ON_PUBLIC);
    }
}

int main(void)
{
    test_table();
    test_every_route();
    test_not_found();
    test_ids();
    test_numbers();
    test_ranges();
    test_messages();
    test_admin();
    test_listeners();
    return check_status("route_test");
}
