/* wb_stress: the course's stress test. batch_init users, items and orders (ids 0..n-1),
 * then check out random orders for the duration. Many checkouts answer 409 (stock or
 * credit ran out) or 200 again (already paid): both are fine; a 5xx, a timeout or a
 * connection error is an error. */
#include <errno.h>
#include <stdio.h>

#include "wb_api.h"
#include "wb_scenario.h"

enum { KIND_CHECKOUT };
static const char *const kind_names[] = {"checkout"};

typedef struct stress {
    wb_rand *rng;
    uint64_t orders;
} stress;

static bool stress_next(void *ctx, unsigned slot, wb_req *req)
{
    stress *s = ctx;

    (void)slot;
    return wb_req_set(req, WB_POST, KIND_CHECKOUT, 0, "/orders/checkout/%llu",
                      (unsigned long long)wb_rand_below(s->rng, s->orders)) == 0;
}

static void stress_done(void *ctx, unsigned slot, const wb_req *req, const wb_res *res)
{
    (void)ctx, (void)slot, (void)req, (void)res; /* the engine counts everything */
}

/* The three batch_inits, in the course's order (users, items, orders). */
static int stress_setup(wb_bench *b)
{
    const wb_opts *o = &b->opts;
    char path[3][128], why[512];
    int rv;

    snprintf(path[0], sizeof(path[0]), "/payment/batch_init/%lld/%lld", o->users, o->credit);
    snprintf(path[1], sizeof(path[1]), "/stock/batch_init/%lld/%lld/%lld", o->items, o->stock,
             o->price);
    snprintf(path[2], sizeof(path[2]), "/orders/batch_init/%lld/%lld/%lld/%lld", o->orders,
             o->items, o->users, o->price);
    for (int i = 0; i < 3; i++) {
        if (!o->quiet)
            fprintf(stderr, "[stress] POST %s\n", path[i]);
        if ((rv = wb_api_call(&b->engine, WB_POST, path[i], why, sizeof(why))) != 0)
            return wb_scenario_failed(b, rv, "setup", why);
    }
    return 0;
}

int wb_stress(wb_bench *b)
{
    wb_opts *o = &b->opts;
    stress s = {.rng = &b->rng};
    wb_source src = {stress_next, stress_done, NULL, &s};
    int rv;

    wb_scenario_sizes(b, o->n > 0 ? o->n : 100000);
    s.orders = (uint64_t)o->orders;
    if ((rv = wb_stats_init(&b->stats, kind_names, 1)) != 0)
        return wb_scenario_failed(b, rv, "stats", NULL);
    if (!o->skip_setup && (rv = stress_setup(b)) != 0)
        return rv;
    return wb_scenario_load(b, &src, "stress");
}
