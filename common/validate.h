/* validate: the input rules of the public API (DESIGN §3), shared by the gateway (which
 * answers 400 before any RPC) and the services (which never trust their callers). */
#ifndef WDM_VALIDATE_H
#define WDM_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest amount, price, quantity or balance: 2^53, the largest integer every JSON
 * client (doubles) and Redis's Lua (doubles) represent exactly. */
#define WDM_MAX_AMOUNT 9007199254740992LL
#define WDM_ID_MAX 64
#define WDM_IDEM_KEY_MAX 128
/* Most entities one batch_init call may create. */
#define WDM_BATCH_MAX 1000000LL

/* True when s[0..len) is an id: 1..64 characters of [A-Za-z0-9_-]. */
bool validate_id(const char *s, size_t len);

/* Parses s[0..len) as a decimal integer in [0, 2^53] (digits only: no sign, no spaces).
 * Returns 0 and sets *out, or -EINVAL. */
int validate_uint(const char *s, size_t len, int64_t *out);

/* True when s[0..len) is an acceptable Idempotency-Key: 1..128 printable ASCII
 * characters, no spaces. */
bool validate_idem_key(const char *s, size_t len);

/* True when a + b stays within [0, 2^53]; both must already be in that range. */
bool validate_sum_fits(int64_t a, int64_t b);

/* True when a * b stays within [0, 2^53]; both must already be in that range. */
bool validate_product_fits(int64_t a, int64_t b);

#endif
