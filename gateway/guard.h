/* guard: who may call the batch_init routes (route.h: gw_route.batch_init).
 *
 * batch_init writes (and overwrites) whole tables, so on a system others can reach it is
 * either off or guarded by a token. The course's benchmark calls it without any header,
 * so it is open unless configured: WDM_BATCH_INIT=0 switches it off (404, as if the
 * route did not exist); WDM_ADMIN_TOKEN=<token> makes it need
 * `Authorization: Bearer <token>` (401 without it).
 *
 * Pure: no h2o; handler.c applies the verdict. */
#ifndef GW_GUARD_H
#define GW_GUARD_H

#include <stdbool.h>
#include <stddef.h>

typedef struct gw_guard {
    bool batch_init_on;  /* WDM_BATCH_INIT (default 1) */
    const char *token;   /* WDM_ADMIN_TOKEN; NULL when unset. Not owned (the environment) */
    size_t token_len;
} gw_guard;

/* The verdict on one batch_init request: 0 to serve it, 404 when batch_init is off, 401
 * when a token is needed and `authorization` (the Authorization header's value,
 * auth_len bytes; NULL when absent) is not "Bearer <token>". The token is compared in
 * time independent of where it differs. */
int gw_guard_batch_init(const gw_guard *g, const char *authorization, size_t auth_len);

/* Reads WDM_BATCH_INIT and WDM_ADMIN_TOKEN into g. Returns 0 or -EINVAL (logged): a
 * token must be 16 to 256 printable characters without spaces. */
int gw_guard_configure(gw_guard *g);

#endif
