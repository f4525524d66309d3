/* route: the route table, path -> request message, and the rules of each field (see
 * route.h). */
#include "route.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "api.pb-c.h"
#include "body.h"

#define TIMEOUT_MS 10000
#define LONG_TIMEOUT_MS 60000 /* checkout waits for its saga; batch_init writes a lot */

/* batch: BATCH when the service answers the method in one Redis step, else ALONE. */
#define BATCH true
#define ALONE false
#define RPC_ROUTE_ON(listeners, method, pattern, rpc, service, req, rep, timeout, batch, init)  \
    {method, pattern, rpc, GW_ROUTE_RPC, service, &req##__descriptor, &rep##__descriptor,     \
     timeout, batch, listeners, init}
/* The API: on the public port. */
#define RPC_ROUTE(method, pattern, rpc, service, req, rep, timeout, batch)                     \
    RPC_ROUTE_ON(GW_ON_PUBLIC, method, pattern, rpc, service, req, rep, timeout, batch, false)
#define BATCH_INIT_ROUTE(pattern, rpc, service, req)                                           \
    RPC_ROUTE_ON(GW_ON_PUBLIC, "POST", pattern, rpc, service, req, wdm__batch_init_reply,      \
                 LONG_TIMEOUT_MS, ALONE, true)

const gw_route gw_routes[GW_N_ROUTES] = {
    RPC_ROUTE("POST", "/stock/item/create/{price}", "stock.create_item", GW_STOCK,
              wdm__create_item_request, wdm__item_id_reply, TIMEOUT_MS, BATCH),
    RPC_ROUTE("GET", "/stock/find/{item_id}", "stock.find", GW_STOCK, wdm__find_item_request,
              wdm__item_reply, TIMEOUT_MS, BATCH),
    RPC_ROUTE("POST", "/stock/add/{item_id}/{amount}", "stock.add", GW_STOCK,
              wdm__stock_change_request, wdm__stock_reply, TIMEOUT_MS, BATCH),
    RPC_ROUTE("POST", "/stock/subtract/{item_id}/{amount}", "stock.subtract", GW_STOCK,
              wdm__stock_change_request, wdm__stock_reply, TIMEOUT_MS, BATCH),
    BATCH_INIT_ROUTE("/stock/batch_init/{n}/{starting_stock}/{item_price}", "stock.batch_init",
                     GW_STOCK, wdm__stock_batch_init_request),
    RPC_ROUTE("POST", "/payment/create_user", "payment.create_user", GW_PAYMENT,
              wdm__create_user_request, wdm__user_id_reply, TIMEOUT_MS, BATCH),
    RPC_ROUTE("GET", "/payment/find_user/{user_id}", "payment.find_user", GW_PAYMENT,
              wdm__find_user_request, wdm__user_reply, TIMEOUT_MS, BATCH),
    RPC_ROUTE("POST", "/payment/add_funds/{user_id}/{amount}", "payment.add_funds", GW_PAYMENT,
              wdm__credit_change_request, wdm__add_funds_reply, TIMEOUT_MS, BATCH),
    RPC_ROUTE("POST", "/payment/pay/{user_id}/{amount}", "payment.pay", GW_PAYMENT,
              wdm__credit_change_request, wdm__user_reply, TIMEOUT_MS, BATCH),
    BATCH_INIT_ROUTE("/payment/batch_init/{n}/{starting_money}", "payment.batch_init",
                     GW_PAYMENT, wdm__payment_batch_init_request),
    RPC_ROUTE("POST", "/orders/create/{user_id}", "order.create", GW_ORDER,
              wdm__create_order_request, wdm__order_id_reply, TIMEOUT_MS, ALONE),
    RPC_ROUTE("GET", "/orders/find/{order_id}", "order.find", GW_ORDER, wdm__find_order_request,
              wdm__order_reply, TIMEOUT_MS, BATCH),
    RPC_ROUTE("POST", "/orders/addItem/{order_id}/{item_id}/{quantity}", "order.add_item",
              GW_ORDER, wdm__add_item_request, wdm__add_item_reply, TIMEOUT_MS, ALONE),
    RPC_ROUTE("POST", "/orders/checkout/{order_id}", "order.checkout", GW_ORDER,
              wdm__checkout_request, wdm__checkout_reply, LONG_TIMEOUT_MS, ALONE),
    BATCH_INIT_ROUTE("/orders/batch_init/{n}/{n_items}/{n_users}/{item_price}",
                     "order.batch_init", GW_ORDER, wdm__order_batch_init_request),
    /* For operators and the chaos tests: the checkout sagas in flight (order Redis),
     * {"inflight": n, "stuck": m, "sagas": [[saga_id, order_id, state, owner, age_ms,
     * lease_left_ms, deadline_left_ms, stuck], ...]}: every saga counted, the oldest
     * 100 listed, oldest first; stuck = lease expired or deadline past. Times in ms by
     * the order Redis's clock; the left ones are negative once passed (api.proto
     * SagasReply, order/saga_list.lua). On the admin listener only. */
    RPC_ROUTE_ON(GW_ON_ADMIN, "GET", "/admin/sagas", "order.sagas", GW_ORDER, wdm__sagas_request,
                 wdm__sagas_reply, TIMEOUT_MS, ALONE, false),
    {"GET", "/health", "health", GW_ROUTE_HEALTH, 0, NULL, NULL, 0, false,
     GW_ON_PUBLIC | GW_ON_ADMIN, false},
    {"GET", "/metrics", "metrics", GW_ROUTE_METRICS, 0, NULL, NULL, 0, false, GW_ON_ADMIN, false},
};

const char *const gw_service_names[GW_N_SERVICES] = {"stock", "payment", "order"};

/* The range of every numeric field of a request, from the path or the body, by field
 * name (DESIGN §3). */
typedef struct number_rule {
    const char *name;
    int64_t min, max;
} number_rule;

static const number_rule number_rules[] = {
    {"amount", 1, WDM_MAX_AMOUNT},         {"quantity", 1, WDM_MAX_AMOUNT},
    {"price", 0, WDM_MAX_AMOUNT},          {"item_price", 0, WDM_MAX_AMOUNT},
    {"starting_stock", 0, WDM_MAX_AMOUNT}, {"starting_money", 0, WDM_MAX_AMOUNT},
    {"n", 1, WDM_BATCH_MAX},               {"n_items", 1, WDM_BATCH_MAX},
    {"n_users", 1, WDM_BATCH_MAX},
};

typedef struct span {
    const char *p;
    size_t len;
} span;

/* Longest pattern: "/orders/batch_init/{n}/{n_items}/{n_users}/{item_price}". */
#define SEGMENTS_MAX 8

static bool span_is(span s, const char *lit, size_t len)
{
    return s.len == len && memcmp(s.p, lit, len) == 0;
}

/* Splits "/a/b/c" (s[0..len)) into its segments "a", "b", "c"; "/a/" has two, the second
 * empty. Stores at most max of them in seg. Returns how many there are (possibly more
 * than max), or -1 when s does not start with '/'. */
static int split_path(const char *s, size_t len, span *seg, int max)
{
    size_t start = 1;
    int n = 0;

    if (len == 0 || s[0] != '/')
        return -1;
    for (size_t i = 1;; i++) {
        if (i == len || s[i] == '/') {
            if (n < max)
                seg[n] = (span){s + start, i - start};
            n++;
            if (i == len)
                return n;
            start = i + 1;
        }
    }
}

/* The number of literal segments a pattern starts with (its {params} follow them). */
static int literal_count(const span *pat, int n)
{
    int k = 0;

    while (k < n && !(pat[k].len > 0 && pat[k].p[0] == '{'))
        k++;
    return k;
}

static const number_rule *number_rule_find(const char *name)
{
    for (size_t i = 0; i < sizeof(number_rules) / sizeof(number_rules[0]); i++)
        if (strcmp(number_rules[i].name, name) == 0)
            return &number_rules[i];
    return NULL;
}

int gw_parsed_set_id(gw_parsed *p, const ProtobufCFieldDescriptor *f, int slot, const char *s,
                     size_t len)
{
    if (f->type != PROTOBUF_C_TYPE_STRING || slot < 0 || slot >= GW_PARAMS_MAX)
        return -EPROTO;
    if (!validate_id(s, len)) {
        snprintf(p->error, sizeof(p->error), "%s must be 1 to %d characters of [A-Za-z0-9_-]",
                 f->name, WDM_ID_MAX);
        return -EINVAL;
    }
    memcpy(p->ids[slot], s, len);
    p->ids[slot][len] = '\0';
    *(char **)(void *)(p->request + f->offset) = p->ids[slot];
    return 0;
}

int gw_parsed_set_number(gw_parsed *p, const ProtobufCFieldDescriptor *f, int64_t v,
                         bool is_number)
{
    const number_rule *rule;

    if (f->type != PROTOBUF_C_TYPE_INT64 || (rule = number_rule_find(f->name)) == NULL)
        return -EPROTO;
    if (!is_number || v < rule->min || v > rule->max) {
        snprintf(p->error, sizeof(p->error), "%s must be an integer from %lld to %lld", f->name,
                 (long long)rule->min, (long long)rule->max);
        return -EINVAL;
    }
    *(int64_t *)(void *)(p->request + f->offset) = v;
    return 0;
}

/* Sets field `param` ("{item_id}") of out's request message from the path segment
 * `value`, after checking it. i is the parameter's position (its slot in out->ids).
 * Returns 0; -EINVAL with out->error set when value is bad; -EPROTO when the route table
 * itself is wrong (a name that is no field, or has no rule: the unit tests rule it out). */
static int fill_param(const gw_route *r, span param, span value, int i, gw_parsed *out)
{
    const ProtobufCFieldDescriptor *f;
    char name[32];
    int64_t v = 0;
    bool is_number;

    if (param.len < 3 || param.len - 2 >= sizeof(name))
        return -EPROTO;
    memcpy(name, param.p + 1, param.len - 2);
    name[param.len - 2] = '\0';
    f = protobuf_c_message_descriptor_get_field_by_name(r->request, name);
    if (f == NULL || f->label == PROTOBUF_C_LABEL_REPEATED)
        return -EPROTO;
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING:
        return gw_parsed_set_id(out, f, i, value.p, value.len);
    case PROTOBUF_C_TYPE_INT64:
        is_number = validate_uint(value.p, value.len, &v) == 0;
        return gw_parsed_set_number(out, f, v, is_number);
    default:
        return -EPROTO;
    }
}

/* Whether route r takes body (a request body the caller found to be protobuf): only
 * POSTs do, and only a non-empty one. */
static bool takes_body(const gw_route *r, const void *body, size_t body_len)
{
    return body != NULL && body_len > 0 && r->kind == GW_ROUTE_RPC &&
           strcmp(r->method, "POST") == 0;
}

/* Sets out->error for a path with the wrong number of segments. With a body, the path
 * may also stop after the route's k literal segments. */
static void count_error(const gw_route *r, const span *pat, int k, bool body, gw_parsed *out)
{
    int lit = k > 0 ? (int)(pat[k - 1].p + pat[k - 1].len - r->pattern) : 0;

    if (body && lit > 0 && r->pattern[lit] != '\0')
        snprintf(out->error, sizeof(out->error),
                 "expected %s %s, or %s %.*s with the parameters in the protobuf body",
                 r->method, r->pattern, r->method, lit, r->pattern);
    else
        snprintf(out->error, sizeof(out->error), "expected %s %s", r->method, r->pattern);
}

/* Checks the parameter segments of a matched route and builds its request message.
 * path: every segment of the request path (n of them); pat: the route's pattern
 * segments (np), of which the first k are literals; body as gw_route_parse. With a
 * body, the path has either every parameter or none. Returns as gw_route_parse. */
static int fill_request(const gw_route *r, const span *path, int n, const span *pat, int np,
                        int k, const void *body, size_t body_len, gw_parsed *out)
{
    bool with_body = takes_body(r, body, body_len);
    int rv;

    if (n != np && !(with_body && n == k)) {
        count_error(r, pat, k, with_body, out);
        return -EINVAL;
    }
    if (r->kind != GW_ROUTE_RPC)
        return 0;
    if (r->request->sizeof_message > sizeof(out->request) || np - k > GW_PARAMS_MAX)
        return -EPROTO;
    r->request->message_init(gw_parsed_request(out));
    if (n == np)
        for (int i = k; i < np; i++)
            if ((rv = fill_param(r, pat[i], path[i], i - k, out)) != 0)
                return rv;
    return with_body ? gw_body_apply(out, body, body_len, n == np) : 0;
}

int gw_route_parse(unsigned listener, const char *method, size_t method_len, const char *path, size_t path_len,
                   const void *body, size_t body_len, gw_parsed *out)
{
    span seg[SEGMENTS_MAX], pat[SEGMENTS_MAX];
    const gw_route *other_method = NULL;
    const char *query;
    int n, np, k;

    out->route = NULL;
    out->error[0] = '\0';
    if ((query = memchr(path, '?', path_len)) != NULL)
        path_len = (size_t)(query - path);
    if ((n = split_path(path, path_len, seg, SEGMENTS_MAX)) < 0)
        goto not_found;

    for (size_t i = 0; i < GW_N_ROUTES; i++) {
        const gw_route *r = &gw_routes[i];
        int j;

        if ((r->listeners & listener) == 0)
            continue;
        np = split_path(r->pattern, strlen(r->pattern), pat, SEGMENTS_MAX);
        k = literal_count(pat, np);
        if (n < k)
            continue;
        for (j = 0; j < k && span_is(seg[j], pat[j].p, pat[j].len); j++)
            ;
        if (j < k)
            continue;
        if (!span_is((span){method, method_len}, r->method, strlen(r->method))) {
            other_method = other_method ? other_method : r;
            continue;
        }
        out->route = r;
        return fill_request(r, seg, n, pat, np, k, body, body_len, out);
    }

    if (other_method != NULL) {
        out->route = other_method;
        snprintf(out->error, sizeof(out->error), "method not allowed: use %s %s",
                 other_method->method, other_method->pattern);
        return -ENOTSUP;
    }
not_found:
    snprintf(out->error, sizeof(out->error), "not found");
    return -ENOENT;
}
