/* wb_api: the REST API (DESIGN §3) as the scenarios' setup sees it: entities created
 * through it (ids chosen by the services), and the checks that a setup answer is the
 * success it must be.
 *
 * Each create function runs one batch over the engine's connections, all in parallel;
 * the first answer that is not a 200 with the expected JSON fails it, with a message in
 * `why` that names the request and shows the answer. */
#ifndef WB_API_H
#define WB_API_H

#include <stdbool.h>
#include <stdint.h>

#include "wb_batch.h"
#include "wb_json.h"

#define WB_ID_MAX 65 /* ids are 1..64 characters (DESIGN §3), NUL included */

/* A table of n ids. */
typedef struct wb_ids {
    char (*v)[WB_ID_MAX]; /* malloc'd; wb_ids_free frees it */
    uint64_t n;
} wb_ids;

/* Allocates room for n ids (all ""). Returns 0 or -ENOMEM. */
int wb_ids_alloc(wb_ids *ids, uint64_t n);
void wb_ids_free(wb_ids *ids);

/* Are all ids different? Returns 1 or 0, or -ENOMEM. */
int wb_ids_unique(const wb_ids *ids);

/* Writes a printable excerpt of body (at most cap - 1 bytes, "..." when cut) into out. */
void wb_api_excerpt(const char *body, size_t len, char *out, size_t cap);

/* Copies the id in member key of res's body, which must be one JSON object, into out
 * (see wb_json_id). Returns 0, -EPROTO or -ENOMEM; unlike wb_api_expect_*, it fails no
 * batch. */
int wb_api_read_id(const wb_res *res, const char *key, char out[WB_ID_MAX]);

/* Checks that res is a 200 whose body is one JSON object. Returns 0, with *obj (when obj
 * is not NULL) that object: a reference the caller must json_decref. Otherwise fails b
 * with "METHOD path: status body" and returns -EPROTO (*obj not set, nothing to free). */
int wb_api_expect_ok(wb_batch *b, const wb_req *req, const wb_res *res, json_t **obj);

/* As wb_api_expect_ok, and copies the object's string member key (an id) into out. */
int wb_api_expect_id(wb_batch *b, const wb_req *req, const wb_res *res, const char *key,
                     char out[WB_ID_MAX]);

/* One request that must answer 200 with a JSON object (e.g. a batch_init). Returns 0,
 * or a negative errno with the reason in why. */
int wb_api_call(wb_engine *e, enum wb_method m, const char *path, char *why, size_t cap);

/* Creates users->n users, each with `credit` added (none when 0), into users->v. */
int wb_api_create_users(wb_engine *e, wb_ids *users, int64_t credit, char *why, size_t cap);

/* Creates items->n items at `price`, each with `stock` units added (none when 0). */
int wb_api_create_items(wb_engine *e, wb_ids *items, int64_t price, int64_t stock, char *why,
                        size_t cap);

/* Creates orders->n orders: order i by users->v[user_of[i]], with one line of
 * items->v[item_of[i]] x qty. */
int wb_api_create_orders(wb_engine *e, wb_ids *orders, const wb_ids *users, const uint32_t *user_of,
                         const wb_ids *items, const uint32_t *item_of, int64_t qty, char *why,
                         size_t cap);

#endif
