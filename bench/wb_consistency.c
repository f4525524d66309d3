/* wb_consistency: bench/consistency.py's scenario in C (DESIGN §3, §5, §7).
 *
 * One item with --stock units at price 1; --users users (default: as many as orders) with
 * credit 1 each; --orders orders of that item (quantity 1), each by a random user. Every
 * order is checked out at once over the connections; then everything is read back
 * through the API and checked:
 *   - every answer is 200 {"order_id", "paid": true} or 409 {"error"} (no 5xx, no hang);
 *   - exactly min(stock, users with an order) answers are 200, the rest 409;
 *   - the stock left is stock - #200;
 *   - the sum of credit is users - #200, and every user's credit is 1 - (its orders
 *     answered 200);
 *   - an order is paid iff its checkout answered 200, and keeps its user, line and total.
 * Ids are created through the API (no batch_init), so it runs beside anything else. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wb_api.h"
#include "wb_clock.h"
#include "wb_scenario.h"

#define EXCERPT 120

static const char *const kind_names[] = {"checkout"};

/* The read-back requests' kinds. */
enum { RB_STOCK, RB_USER, RB_ORDER };

/* What a checkout answered. */
typedef struct answer {
    int status;      /* 0: no answer */
    enum wb_err err; /* why not, when status is 0 */
    bool body_ok;    /* 200 {"order_id": o, "paid": true} or 409 {"error": "..."} */
    char body[EXCERPT];
} answer;

/* What GET /orders/find said of an order. */
typedef struct found {
    int paid;  /* 1 true, 0 false, -1 missing or not a boolean */
    bool same; /* order_id, user_id, items [[item, 1]], total_cost 1 as created */
    char body[EXCERPT];
} found;

typedef struct consistency {
    wb_bench *b;
    int64_t stock;
    wb_ids item, users, orders;
    uint32_t *owner;   /* per order: its user's index */
    uint32_t *item_of; /* per order: 0, the one item */
    answer *answers;   /* per order */
    int64_t final_stock;
    bool have_stock;
    int64_t *credits; /* per user */
    found *found;     /* per order */
    uint64_t n_ok, n_409, users_with_orders, expected_ok;
} consistency;

/* ---- the checkouts ---- */

static int checkout_make(void *ctx, uint64_t i, wb_req *req)
{
    consistency *c = ctx;
    return wb_req_set(req, WB_POST, 0, i, "/orders/checkout/%s", c->orders.v[i]);
}

/* Is obj exactly {"order_id": order, "paid": true}? (JSON_STRICT: no other member) */
static bool paid_body(json_t *obj, const char *order)
{
    const char *id;
    int paid;

    if (json_unpack_ex(obj, NULL, JSON_STRICT, "{s:s, s:b}", "order_id", &id, "paid", &paid) != 0)
        return false;
    return strcmp(id, order) == 0 && paid;
}

/* Is obj exactly {"error": "..."}? */
static bool error_body(json_t *obj)
{
    const char *why;

    return json_unpack_ex(obj, NULL, JSON_STRICT, "{s:s}", "error", &why) == 0;
}

static void checkout_done(void *ctx, wb_batch *bt, const wb_req *req, const wb_res *res)
{
    consistency *c = ctx;
    answer *a = &c->answers[req->cookie];
    json_t *obj;

    (void)bt;
    a->status = res->status;
    a->err = res->err;
    if (res->status == 0)
        return;
    wb_api_excerpt(res->body, res->body_len, a->body, sizeof(a->body));
    if (wb_json_object(res->body, res->body_len, &obj) != 0)
        return; /* body_ok stays false */
    if (res->status == 200)
        a->body_ok = paid_body(obj, c->orders.v[req->cookie]);
    else if (res->status == 409)
        a->body_ok = error_body(obj);
    json_decref(obj);
}

/* ---- the read-back ---- */

static int readback_make(void *ctx, uint64_t i, wb_req *req)
{
    consistency *c = ctx;

    if (i == 0)
        return wb_req_set(req, WB_GET, RB_STOCK, 0, "/stock/find/%s", c->item.v[0]);
    if (--i < c->users.n)
        return wb_req_set(req, WB_GET, RB_USER, i, "/payment/find_user/%s", c->users.v[i]);
    i -= c->users.n;
    return wb_req_set(req, WB_GET, RB_ORDER, i, "/orders/find/%s", c->orders.v[i]);
}

/* Does the order's body say what it was created with: its id, its user, one line
 * [item, 1] and a total of 1? (Other members, such as paid, are not looked at.) */
static bool same_order(const consistency *c, json_t *obj, uint64_t o)
{
    const char *id, *user, *item;
    json_int_t total, qty;

    /* "[[sI!]!]": exactly one line of exactly two fields */
    if (json_unpack(obj, "{s:s, s:s, s:I, s:[[sI!]!]}", "order_id", &id, "user_id", &user,
                    "total_cost", &total, "items", &item, &qty) != 0)
        return false;
    return strcmp(id, c->orders.v[o]) == 0 && strcmp(user, c->users.v[c->owner[o]]) == 0 &&
           total == 1 && strcmp(item, c->item.v[0]) == 0 && qty == 1;
}

static void readback_done(void *ctx, wb_batch *bt, const wb_req *req, const wb_res *res)
{
    consistency *c = ctx;
    json_t *obj, *paid;
    found *f;

    if (wb_api_expect_ok(bt, req, res, &obj) != 0)
        return;
    switch (req->kind) {
    case RB_STOCK: c->have_stock = wb_json_int(obj, "stock", &c->final_stock) == 0; break;
    case RB_USER:
        if (wb_json_int(obj, "credit", &c->credits[req->cookie]) != 0)
            wb_batch_fail(bt, -EPROTO, "GET %s: no integer credit in the answer", req->path);
        break;
    default:
        f = &c->found[req->cookie];
        wb_api_excerpt(res->body, res->body_len, f->body, sizeof(f->body));
        paid = json_object_get(obj, "paid");
        f->paid = json_is_boolean(paid) ? json_is_true(paid) : -1;
        f->same = same_order(c, obj, req->cookie);
        break;
    }
    json_decref(obj);
}

/* ---- the checks ---- */

static const char *status_text(const answer *a, char *buf, size_t cap)
{
    if (a->status == 0)
        snprintf(buf, cap, "no answer (%s)", wb_err_name(a->err));
    else
        snprintf(buf, cap, "%d", a->status);
    return buf;
}

static void check_answers(consistency *c, wb_checks *cs)
{
    wb_check *all = wb_check_add(cs, "every answer is 200 or 409 (no 5xx, none missing)");
    wb_check *bodies = wb_check_add(cs, "answer bodies: 200 {order_id, paid: true}, 409 {error}");
    char st[64];

    for (uint64_t o = 0; o < c->orders.n; o++) {
        const answer *a = &c->answers[o];
        if (a->status != 200 && a->status != 409)
            wb_check_fail(all, "checkout %s: %s %s", c->orders.v[o], status_text(a, st, sizeof(st)),
                          a->body);
        else if (!a->body_ok)
            wb_check_fail(
                bodies, "checkout %s: %d %s (want %s)", c->orders.v[o], a->status, a->body,
                a->status == 200 ? "{\"order_id\": <it>, \"paid\": true}" : "{\"error\": \"...\"}");
    }
    wb_check *ok = wb_check_add(cs, "exactly %llu answers 200 (got %llu)",
                                (unsigned long long)c->expected_ok, (unsigned long long)c->n_ok);
    if (c->n_ok != c->expected_ok)
        wb_check_fail(ok, "200 for %llu of %llu orders; stock %lld, %llu users with orders",
                      (unsigned long long)c->n_ok, (unsigned long long)c->orders.n,
                      (long long)c->stock, (unsigned long long)c->users_with_orders);
    uint64_t want_409 = c->orders.n - c->expected_ok;
    wb_check *no = wb_check_add(cs, "exactly %llu answers 409 (got %llu)",
                                (unsigned long long)want_409, (unsigned long long)c->n_409);
    if (c->n_409 != want_409)
        wb_check_fail(no, "409 for %llu of %llu orders", (unsigned long long)c->n_409,
                      (unsigned long long)c->orders.n);
}

static void check_stock_and_credit(consistency *c, wb_checks *cs)
{
    int64_t want = c->stock - (int64_t)c->n_ok, total = 0;
    wb_check *st;

    if (c->have_stock)
        st = wb_check_add(cs, "stock left = stock - #200 = %lld (read %lld)", (long long)want,
                          (long long)c->final_stock);
    else
        st = wb_check_add(cs, "stock left = stock - #200 = %lld (read none)", (long long)want);
    if (!c->have_stock || c->final_stock != want)
        wb_check_fail(st, "GET /stock/find/%s: stock %lld, want %lld - %llu", c->item.v[0],
                      (long long)c->final_stock, (long long)c->stock, (unsigned long long)c->n_ok);

    for (uint64_t u = 0; u < c->users.n; u++)
        total += c->credits[u];
    want = (int64_t)c->users.n - (int64_t)c->n_ok;
    st = wb_check_add(cs, "sum of credit = users - #200 = %lld (read %lld)", (long long)want,
                      (long long)total);
    if (total != want)
        wb_check_fail(st, "sum of credit over %llu users is %lld, want %lld",
                      (unsigned long long)c->users.n, (long long)total, (long long)want);
}

/* "o1->200, o2->409" for the user's orders (the first few), into buf. */
static void user_orders(const consistency *c, uint64_t u, char *buf, size_t cap)
{
    size_t n = 0;
    char st[64];

    buf[0] = '\0';
    for (uint64_t o = 0; o < c->orders.n && n + 1 < cap; o++) {
        if (c->owner[o] != u)
            continue;
        int w = snprintf(buf + n, cap - n, "%s%s->%s", n ? ", " : "", c->orders.v[o],
                         status_text(&c->answers[o], st, sizeof(st)));
        if (w < 0)
            break;
        n += (size_t)w;
    }
}

static int check_users(consistency *c, wb_checks *cs)
{
    wb_check *ch =
        wb_check_add(cs, "every user's credit = 1 - (its orders answered 200), none negative");
    uint64_t *paid = calloc(c->users.n ? c->users.n : 1, sizeof(*paid));
    char list[160];

    if (paid == NULL)
        return -ENOMEM;
    for (uint64_t o = 0; o < c->orders.n; o++)
        if (c->answers[o].status == 200)
            paid[c->owner[o]]++;
    for (uint64_t u = 0; u < c->users.n; u++) {
        if (c->credits[u] == 1 - (int64_t)paid[u] && c->credits[u] >= 0)
            continue;
        if (ch->kept < WB_CHECK_EVIDENCE)
            user_orders(c, u, list, sizeof(list));
        wb_check_fail(ch, "user %s: credit %lld, want 1 - %llu; its orders: %s", c->users.v[u],
                      (long long)c->credits[u], (unsigned long long)paid[u], list);
    }
    free(paid);
    return 0;
}

static void check_orders(consistency *c, wb_checks *cs)
{
    wb_check *paid = wb_check_add(cs, "every order is paid iff its checkout answered 200");
    wb_check *same = wb_check_add(cs, "every order keeps its user, lines and total");
    char st[64];

    for (uint64_t o = 0; o < c->orders.n; o++) {
        const found *f = &c->found[o];
        const answer *a = &c->answers[o];
        if (f->paid != (a->status == 200))
            wb_check_fail(paid, "order %s: checkout answered %s %s but find says %s",
                          c->orders.v[o], status_text(a, st, sizeof(st)), a->body, f->body);
        if (!f->same)
            wb_check_fail(same, "GET /orders/find/%s: %s, want user %s, items [[%s, 1]], total 1",
                          c->orders.v[o], f->body, c->users.v[c->owner[o]], c->item.v[0]);
    }
}

static int check_all(consistency *c, wb_checks *cs)
{
    int rv;

    check_answers(c, cs);
    check_stock_and_credit(c, cs);
    if ((rv = check_users(c, cs)) != 0)
        return rv;
    check_orders(c, cs);
    return 0;
}

/* ---- the scenario ---- */

/* Item, users (credit 1), each order's user, then the orders. */
static int setup(consistency *c)
{
    wb_bench *b = c->b;
    wb_engine *e = &b->engine;
    uint64_t n = c->orders.n;
    char why[512];
    bool *has;
    int rv;

    if ((rv = wb_api_create_items(e, &c->item, 1, c->stock, why, sizeof(why))) != 0 ||
        (rv = wb_api_create_users(e, &c->users, 1, why, sizeof(why))) != 0)
        return wb_scenario_failed(b, rv, "setup", why);
    if ((rv = wb_ids_unique(&c->users)) != 1)
        return wb_scenario_failed(b, rv < 0 ? rv : -EPROTO, "setup",
                                  rv < 0 ? NULL : "create_user gave the same user id twice");
    if ((has = calloc(c->users.n, sizeof(*has))) == NULL)
        return wb_scenario_failed(b, -ENOMEM, "setup", NULL);
    for (uint64_t o = 0; o < n; o++) {
        c->owner[o] = (uint32_t)wb_rand_below(&b->rng, c->users.n);
        c->users_with_orders += !has[c->owner[o]];
        has[c->owner[o]] = true;
    }
    free(has);
    if ((rv = wb_api_create_orders(e, &c->orders, &c->users, c->owner, &c->item, c->item_of, 1, why,
                                   sizeof(why))) != 0)
        return wb_scenario_failed(b, rv, "setup", why);
    if ((rv = wb_ids_unique(&c->orders)) != 1)
        return wb_scenario_failed(b, rv < 0 ? rv : -EPROTO, "setup",
                                  rv < 0 ? NULL : "orders/create gave the same order id twice");
    return 0;
}

/* Runs one batch; a failure becomes the report's error under `what`. */
static int run_batch(consistency *c, uint64_t n, wb_batch_make_fn make, wb_batch_done_fn done,
                     wb_stats *stats, const char *what)
{
    wb_batch bt;
    int rv;

    wb_batch_init(&bt, n, make, done, c);
    rv = wb_batch_run(&bt, &c->b->engine, stats, !c->b->opts.quiet, what);
    if (rv != 0)
        rv = wb_scenario_failed(c->b, rv, what, bt.why);
    wb_batch_free(&bt);
    return rv;
}

static int alloc_state(consistency *c, uint64_t orders, uint64_t users)
{
    int rv;

    if ((rv = wb_ids_alloc(&c->item, 1)) != 0 || (rv = wb_ids_alloc(&c->users, users)) != 0 ||
        (rv = wb_ids_alloc(&c->orders, orders)) != 0)
        return rv;
    c->owner = calloc(orders, sizeof(*c->owner));
    c->item_of = calloc(orders, sizeof(*c->item_of));
    c->answers = calloc(orders, sizeof(*c->answers));
    c->found = calloc(orders, sizeof(*c->found));
    c->credits = calloc(users, sizeof(*c->credits));
    return c->owner && c->item_of && c->answers && c->found && c->credits ? 0 : -ENOMEM;
}

static void free_state(consistency *c)
{
    wb_ids_free(&c->item);
    wb_ids_free(&c->users);
    wb_ids_free(&c->orders);
    free(c->owner);
    free(c->item_of);
    free(c->answers);
    free(c->found);
    free(c->credits);
}

static int run(consistency *c)
{
    wb_bench *b = c->b;
    uint64_t t0 = wb_now_ns();
    int rv;

    if ((rv = setup(c)) != 0)
        return rv;
    wb_report_param(&b->report, "users_with_orders", (int64_t)c->users_with_orders);
    wb_report_param(&b->report, "setup_ms", (int64_t)((wb_now_ns() - t0) / WB_NS_PER_MS));
    if (!b->opts.quiet)
        fprintf(stderr, "[consistency] item %s; checking out %llu orders at once\n", c->item.v[0],
                (unsigned long long)c->orders.n);
    b->report.stats = &b->stats;
    if ((rv = run_batch(c, c->orders.n, checkout_make, checkout_done, &b->stats, "checkout")) != 0)
        return rv;
    for (uint64_t o = 0; o < c->orders.n; o++) {
        c->n_ok += c->answers[o].status == 200;
        c->n_409 += c->answers[o].status == 409;
    }
    c->expected_ok =
        (uint64_t)c->stock < c->users_with_orders ? (uint64_t)c->stock : c->users_with_orders;
    wb_report_param(&b->report, "expected_200", (int64_t)c->expected_ok);
    if ((rv = run_batch(c, 1 + c->users.n + c->orders.n, readback_make, readback_done, NULL,
                        "read-back")) != 0)
        return rv;
    b->report.checks = &b->checks;
    if ((rv = check_all(c, &b->checks)) != 0)
        return wb_scenario_failed(b, rv, "checks", NULL);
    return 0;
}

int wb_consistency(wb_bench *b)
{
    wb_opts *o = &b->opts;
    consistency c = {.b = b};
    int rv;

    wb_opts_default(&o->orders, 1000);
    wb_opts_default(&o->stock, 100);
    wb_opts_default(&o->users, o->orders);
    c.stock = o->stock;
    b->report.duration_s = b->report.warmup_s = b->report.rate = 0; /* a batch, closed loop */
    wb_report_param(&b->report, "orders", o->orders);
    wb_report_param(&b->report, "stock", o->stock);
    wb_report_param(&b->report, "users", o->users);
    if ((rv = wb_stats_init(&b->stats, kind_names, 1)) != 0 ||
        (rv = alloc_state(&c, (uint64_t)o->orders, (uint64_t)o->users)) != 0)
        rv = wb_scenario_failed(b, rv, "setup", NULL);
    else
        rv = run(&c);
    free_state(&c);
    return rv;
}
