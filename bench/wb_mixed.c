/* wb_mixed: a weighted mix of the API's operations over a pool of users, items and
 * orders created through the API (so it runs beside anything else):
 *
 *   stock_find  GET  /stock/find/{item}          user_find  GET  /payment/find_user/{user}
 *   add_funds   POST /payment/add_funds/{user}/1  stock_add  POST /stock/add/{item}/1
 *   add_item    POST /orders/addItem/{order}/{its item}/1   (a pool order, never checked out)
 *   order_find  GET  /orders/find/{order}
 *   checkout    a fresh order: POST /orders/create/{user}, addItem, then checkout
 *
 * A checkout is three requests in a row on one connection; each is counted as its own
 * kind (order_create, add_item, checkout). Weights: --mix. With --skip-setup the pool is
 * the ids "0".."n-1" that batch_init made (e.g. a stress run's), and nothing is created. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "wb_api.h"
#include "wb_scenario.h"

/* The kinds counted: the operations (wb_mixed_op_names), then the first step of a
 * checkout. */
#define KIND_ORDER_CREATE WB_MIXED_OPS
#define NKINDS            (WB_MIXED_OPS + 1)

#define FLOW_COOKIE 1 /* marks the requests of a checkout flow */

/* Where a connection's checkout flow is. */
enum flow_stage { FLOW_NONE, FLOW_CREATING, FLOW_CREATED, FLOW_ADDING, FLOW_ADDED, FLOW_PAYING };

typedef struct flow {
    enum flow_stage stage;
    char order[WB_ID_MAX];
} flow;

typedef struct mixed {
    wb_rand *rng;
    wb_ids users, items, orders;
    uint32_t *user_of, *item_of; /* the pool orders' users and items */
    unsigned cumulative[WB_MIXED_OPS];
    unsigned total_weight;
    flow *flows; /* one per connection */
} mixed;

/* Filled in by wb_mixed; static because the report reads it after the scenario. */
static const char *kind_names[NKINDS];

static const char *pick(wb_rand *rng, const wb_ids *ids)
{
    return ids->v[wb_rand_below(rng, ids->n)];
}

static enum wb_mixed_op pick_op(mixed *m)
{
    unsigned r = (unsigned)wb_rand_below(m->rng, m->total_weight), op = 0;

    while (r >= m->cumulative[op])
        op++;
    return (enum wb_mixed_op)op;
}

/* The next step of a checkout flow, or a new operation. */
static int make_request(mixed *m, flow *f, wb_req *req)
{
    uint64_t o;

    switch (f->stage) {
    case FLOW_CREATED:
        f->stage = FLOW_ADDING;
        return wb_req_set(req, WB_POST, WB_OP_ADD_ITEM, FLOW_COOKIE, "/orders/addItem/%s/%s/1",
                          f->order, pick(m->rng, &m->items));
    case FLOW_ADDED:
        f->stage = FLOW_PAYING;
        return wb_req_set(req, WB_POST, WB_OP_CHECKOUT, FLOW_COOKIE, "/orders/checkout/%s",
                          f->order);
    default: break;
    }
    switch (pick_op(m)) {
    case WB_OP_STOCK_FIND:
        return wb_req_set(req, WB_GET, WB_OP_STOCK_FIND, 0, "/stock/find/%s",
                          pick(m->rng, &m->items));
    case WB_OP_USER_FIND:
        return wb_req_set(req, WB_GET, WB_OP_USER_FIND, 0, "/payment/find_user/%s",
                          pick(m->rng, &m->users));
    case WB_OP_ADD_FUNDS:
        return wb_req_set(req, WB_POST, WB_OP_ADD_FUNDS, 0, "/payment/add_funds/%s/1",
                          pick(m->rng, &m->users));
    case WB_OP_STOCK_ADD:
        return wb_req_set(req, WB_POST, WB_OP_STOCK_ADD, 0, "/stock/add/%s/1",
                          pick(m->rng, &m->items));
    case WB_OP_ADD_ITEM:
        o = wb_rand_below(m->rng, m->orders.n);
        return wb_req_set(req, WB_POST, WB_OP_ADD_ITEM, 0, "/orders/addItem/%s/%s/1",
                          m->orders.v[o], m->items.v[m->item_of[o]]);
    case WB_OP_ORDER_FIND:
        return wb_req_set(req, WB_GET, WB_OP_ORDER_FIND, 0, "/orders/find/%s",
                          pick(m->rng, &m->orders));
    case WB_OP_CHECKOUT:
    default:
        f->stage = FLOW_CREATING;
        return wb_req_set(req, WB_POST, KIND_ORDER_CREATE, FLOW_COOKIE, "/orders/create/%s",
                          pick(m->rng, &m->users));
    }
}

static bool mixed_next(void *ctx, unsigned slot, wb_req *req)
{
    mixed *m = ctx;
    return make_request(m, &m->flows[slot], req) == 0;
}

/* Moves a checkout flow on (or back to the start when a step did not succeed). */
static void mixed_done(void *ctx, unsigned slot, const wb_req *req, const wb_res *res)
{
    mixed *m = ctx;
    flow *f = &m->flows[slot];

    if (req->cookie != FLOW_COOKIE)
        return;
    f->stage = FLOW_NONE;
    if (res->status != 200)
        return;
    if (req->kind == KIND_ORDER_CREATE) {
        if (wb_api_read_id(res, "order_id", f->order) == 0)
            f->stage = FLOW_CREATED;
    } else if (req->kind == WB_OP_ADD_ITEM) {
        f->stage = FLOW_ADDED;
    }
}

/* --skip-setup: the pool is batch_init's ids "0".."n-1". */
static void name_by_number(wb_ids *ids)
{
    for (uint64_t i = 0; i < ids->n; i++)
        snprintf(ids->v[i], WB_ID_MAX, "%llu", (unsigned long long)i);
}

/* The pool: users with credit, items with stock, orders of one item each (or, with
 * --skip-setup, the ids batch_init made). */
static int mixed_setup(wb_bench *b, mixed *m)
{
    const wb_opts *o = &b->opts;
    wb_engine *e = &b->engine;
    char why[512];
    int rv;

    if ((rv = wb_ids_alloc(&m->users, (uint64_t)o->users)) != 0 ||
        (rv = wb_ids_alloc(&m->items, (uint64_t)o->items)) != 0 ||
        (rv = wb_ids_alloc(&m->orders, (uint64_t)o->orders)) != 0)
        return wb_scenario_failed(b, rv, "setup", NULL);
    m->user_of = malloc((size_t)o->orders * sizeof(*m->user_of));
    m->item_of = malloc((size_t)o->orders * sizeof(*m->item_of));
    m->flows = calloc(e->n, sizeof(*m->flows));
    if (m->user_of == NULL || m->item_of == NULL || m->flows == NULL)
        return wb_scenario_failed(b, -ENOMEM, "setup", NULL);
    for (long long i = 0; i < o->orders; i++) {
        m->user_of[i] = (uint32_t)wb_rand_below(m->rng, m->users.n);
        m->item_of[i] = (uint32_t)wb_rand_below(m->rng, m->items.n);
    }
    if (o->skip_setup) {
        name_by_number(&m->users);
        name_by_number(&m->items);
        name_by_number(&m->orders);
        return 0;
    }
    if (!o->quiet)
        fprintf(stderr, "[mixed] creating %lld users, %lld items, %lld orders\n", o->users,
                o->items, o->orders);
    if ((rv = wb_api_create_users(e, &m->users, o->credit, why, sizeof(why))) != 0 ||
        (rv = wb_api_create_items(e, &m->items, o->price, o->stock, why, sizeof(why))) != 0 ||
        (rv = wb_api_create_orders(e, &m->orders, &m->users, m->user_of, &m->items, m->item_of, 1,
                                   why, sizeof(why))) != 0)
        return wb_scenario_failed(b, rv, "setup", why);
    return 0;
}

static void mixed_free(mixed *m)
{
    wb_ids_free(&m->users);
    wb_ids_free(&m->items);
    wb_ids_free(&m->orders);
    free(m->user_of);
    free(m->item_of);
    free(m->flows);
}

int wb_mixed(wb_bench *b)
{
    wb_opts *o = &b->opts;
    mixed m = {.rng = &b->rng};
    wb_source src = {mixed_next, mixed_done, NULL, &m};
    int rv;

    wb_scenario_sizes(b, 1000);
    for (unsigned i = 0; i < WB_MIXED_OPS; i++) {
        m.total_weight += o->weights[i];
        m.cumulative[i] = m.total_weight;
        wb_report_param(&b->report, wb_mixed_op_names[i], o->weights[i]);
    }
    for (unsigned i = 0; i < WB_MIXED_OPS; i++)
        kind_names[i] = wb_mixed_op_names[i];
    kind_names[KIND_ORDER_CREATE] = "order_create";
    if ((rv = wb_stats_init(&b->stats, kind_names, NKINDS)) != 0)
        rv = wb_scenario_failed(b, rv, "stats", NULL);
    else if ((rv = mixed_setup(b, &m)) == 0)
        rv = wb_scenario_load(b, &src, "mixed");
    mixed_free(&m);
    return rv;
}
