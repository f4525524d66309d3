/* wb_api: entities created through the REST API, and setup answer checks (see wb_api.h). */
#include "wb_api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STEP_CREATE 0 /* the request kinds of a create batch (nothing is counted) */
#define STEP_THEN   1

int wb_ids_alloc(wb_ids *ids, uint64_t n)
{
    ids->v = calloc(n ? n : 1, sizeof(*ids->v));
    ids->n = ids->v ? n : 0;
    return ids->v ? 0 : -ENOMEM;
}

void wb_ids_free(wb_ids *ids)
{
    free(ids->v);
    ids->v = NULL;
    ids->n = 0;
}

static int cmp_id(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int wb_ids_unique(const wb_ids *ids)
{
    const char **p = malloc((ids->n ? ids->n : 1) * sizeof(*p));
    int unique = 1;

    if (p == NULL)
        return -ENOMEM;
    for (uint64_t i = 0; i < ids->n; i++)
        p[i] = ids->v[i];
    qsort(p, ids->n, sizeof(*p), cmp_id);
    for (uint64_t i = 1; i < ids->n && unique; i++)
        unique = strcmp(p[i - 1], p[i]) != 0;
    free(p);
    return unique;
}

void wb_api_excerpt(const char *body, size_t len, char *out, size_t cap)
{
    size_t n = 0;

    for (size_t i = 0; i < len && n + 4 < cap; i++)
        out[n++] = body[i] >= 0x20 && body[i] < 0x7f ? body[i] : '?';
    if (n < len && n + 3 < cap) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
}

/* Fails b with "METHOD path: what". */
static void fail_answer(wb_batch *b, const wb_req *req, const wb_res *res)
{
    char body[200];

    if (res->status == 0) {
        wb_batch_fail(b, -EPROTO, "%s %s: no answer (%s)", wb_http_method_name(req->method),
                      req->path, wb_err_name(res->err));
        return;
    }
    wb_api_excerpt(res->body, res->body_len, body, sizeof(body));
    wb_batch_fail(b, -EPROTO, "%s %s: %d %s", wb_http_method_name(req->method), req->path,
                  res->status, body);
}

int wb_api_read_id(const wb_res *res, const char *key, char out[WB_ID_MAX])
{
    json_t *obj;
    int rv;

    if ((rv = wb_json_object(res->body, res->body_len, &obj)) != 0)
        return rv;
    rv = wb_json_id(obj, key, out, WB_ID_MAX);
    json_decref(obj);
    return rv;
}

int wb_api_expect_ok(wb_batch *b, const wb_req *req, const wb_res *res, json_t **obj)
{
    json_t *v;

    if (res->status != 200 || wb_json_object(res->body, res->body_len, &v) != 0) {
        fail_answer(b, req, res);
        return -EPROTO;
    }
    if (obj != NULL)
        *obj = v;
    else
        json_decref(v);
    return 0;
}

int wb_api_expect_id(wb_batch *b, const wb_req *req, const wb_res *res, const char *key,
                     char out[WB_ID_MAX])
{
    if (res->status != 200 || wb_api_read_id(res, key, out) != 0) {
        fail_answer(b, req, res);
        return -EPROTO;
    }
    return 0;
}

/* Copies a failed batch's reason out. */
static int finish(wb_batch *b, int rv, char *why, size_t cap)
{
    if (rv != 0)
        snprintf(why, cap, "%s", b->why[0] ? b->why : strerror(-rv));
    wb_batch_free(b);
    return rv;
}

/* ---- one request ---- */

typedef struct one_call {
    enum wb_method method;
    const char *path;
} one_call;

static int one_make(void *ctx, uint64_t i, wb_req *req)
{
    const one_call *c = ctx;
    return wb_req_set(req, c->method, 0, i, "%s", c->path);
}

static void one_done(void *ctx, wb_batch *b, const wb_req *req, const wb_res *res)
{
    (void)ctx;
    (void)wb_api_expect_ok(b, req, res, NULL);
}

int wb_api_call(wb_engine *e, enum wb_method m, const char *path, char *why, size_t cap)
{
    one_call c = {m, path};
    wb_batch b;

    wb_batch_init(&b, 1, one_make, one_done, &c);
    return finish(&b, wb_batch_run(&b, e, NULL, false, path), why, cap);
}

/* ---- create, then (optionally) add to what was created ---- */

/* How to create entity i and what to send once its id is known. */
typedef struct creation {
    wb_ids *out;
    const char *key; /* the id's member in the create answer */
    int (*create)(const struct creation *c, uint64_t i, wb_req *req);
    /* the follow-up for entity i with id; NULL: none */
    int (*then)(const struct creation *c, uint64_t i, const char *id, wb_req *req);
    int64_t amount, price;
    const wb_ids *users, *items;
    const uint32_t *user_of, *item_of;
} creation;

static int creation_make(void *ctx, uint64_t i, wb_req *req)
{
    const creation *c = ctx;
    return c->create(c, i, req);
}

static void creation_done(void *ctx, wb_batch *b, const wb_req *req, const wb_res *res)
{
    const creation *c = ctx;
    wb_req next;
    int rv;

    if (req->kind == STEP_THEN) {
        (void)wb_api_expect_ok(b, req, res, NULL);
        return;
    }
    if (wb_api_expect_id(b, req, res, c->key, c->out->v[req->cookie]) != 0 || c->then == NULL)
        return;
    if ((rv = c->then(c, req->cookie, c->out->v[req->cookie], &next)) != 0)
        wb_batch_fail(b, rv, "cannot make the request after %s", req->path);
    else
        (void)wb_batch_push(b, &next);
}

static int run_creation(wb_engine *e, creation *c, char *why, size_t cap)
{
    wb_batch b;

    wb_batch_init(&b, c->out->n, creation_make, creation_done, c);
    return finish(&b, wb_batch_run(&b, e, NULL, false, "setup"), why, cap);
}

static int user_create(const creation *c, uint64_t i, wb_req *req)
{
    (void)c;
    return wb_req_set(req, WB_POST, STEP_CREATE, i, "/payment/create_user");
}

static int user_fund(const creation *c, uint64_t i, const char *id, wb_req *req)
{
    return wb_req_set(req, WB_POST, STEP_THEN, i, "/payment/add_funds/%s/%lld", id,
                      (long long)c->amount);
}

int wb_api_create_users(wb_engine *e, wb_ids *users, int64_t credit, char *why, size_t cap)
{
    creation c = {.out = users,
                  .key = "user_id",
                  .create = user_create,
                  .then = credit > 0 ? user_fund : NULL,
                  .amount = credit};
    return run_creation(e, &c, why, cap);
}

static int item_create(const creation *c, uint64_t i, wb_req *req)
{
    return wb_req_set(req, WB_POST, STEP_CREATE, i, "/stock/item/create/%lld", (long long)c->price);
}

static int item_stock(const creation *c, uint64_t i, const char *id, wb_req *req)
{
    return wb_req_set(req, WB_POST, STEP_THEN, i, "/stock/add/%s/%lld", id, (long long)c->amount);
}

int wb_api_create_items(wb_engine *e, wb_ids *items, int64_t price, int64_t stock, char *why,
                        size_t cap)
{
    creation c = {.out = items,
                  .key = "item_id",
                  .create = item_create,
                  .then = stock > 0 ? item_stock : NULL,
                  .amount = stock,
                  .price = price};
    return run_creation(e, &c, why, cap);
}

static int order_create(const creation *c, uint64_t i, wb_req *req)
{
    return wb_req_set(req, WB_POST, STEP_CREATE, i, "/orders/create/%s",
                      c->users->v[c->user_of[i]]);
}

static int order_line(const creation *c, uint64_t i, const char *id, wb_req *req)
{
    return wb_req_set(req, WB_POST, STEP_THEN, i, "/orders/addItem/%s/%s/%lld", id,
                      c->items->v[c->item_of[i]], (long long)c->amount);
}

int wb_api_create_orders(wb_engine *e, wb_ids *orders, const wb_ids *users, const uint32_t *user_of,
                         const wb_ids *items, const uint32_t *item_of, int64_t qty, char *why,
                         size_t cap)
{
    creation c = {.out = orders,
                  .key = "order_id",
                  .create = order_create,
                  .then = order_line,
                  .amount = qty,
                  .users = users,
                  .items = items,
                  .user_of = user_of,
                  .item_of = item_of};
    return run_creation(e, &c, why, cap);
}
