/* guard: batch_init switched off or guarded by a token (see guard.h). */
#include "guard.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "log.h"

#define TOKEN_MIN 16
#define TOKEN_MAX 256
#define BEARER "Bearer "

/* True when a[0..len) equals b[0..len), in time that depends on len only. */
static bool same_bytes(const char *a, const char *b, size_t len)
{
    unsigned char diff = 0;

    for (size_t i = 0; i < len; i++)
        diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}

int gw_guard_batch_init(const gw_guard *g, const char *authorization, size_t auth_len)
{
    const size_t prefix = sizeof(BEARER) - 1;

    if (!g->batch_init_on)
        return 404;
    if (g->token == NULL)
        return 0;
    /* The scheme is case-insensitive (RFC 9110 §11.1); the token is not. */
    if (authorization == NULL || auth_len != prefix + g->token_len ||
        strncasecmp(authorization, BEARER, prefix) != 0)
        return 401;
    return same_bytes(authorization + prefix, g->token, g->token_len) ? 0 : 401;
}

int gw_guard_configure(gw_guard *g)
{
    int64_t on;
    int rv;

    if ((rv = config_int("WDM_BATCH_INIT", 1, 0, 1, &on)) != 0)
        return rv;
    g->batch_init_on = on == 1;
    g->token = config_str("WDM_ADMIN_TOKEN", "");
    g->token_len = strlen(g->token);
    if (g->token_len == 0) {
        g->token = NULL;
        return 0;
    }
    if (g->token_len < TOKEN_MIN || g->token_len > TOKEN_MAX) {
        log_error("WDM_ADMIN_TOKEN: expected %d to %d characters", TOKEN_MIN, TOKEN_MAX);
        return -EINVAL;
    }
    for (size_t i = 0; i < g->token_len; i++)
        if (g->token[i] <= ' ' || g->token[i] > '~') {
            log_error("WDM_ADMIN_TOKEN: only printable characters, no spaces");
            return -EINVAL;
        }
    return 0;
}
