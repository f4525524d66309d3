/* svc_check: input checks of the services' handlers. A service never trusts its caller,
 * so it applies the public API's rules (validate.h) again, and answers INVALID_ARGUMENT
 * itself when an input breaks them. */
#ifndef WDM_SVC_CHECK_H
#define WDM_SVC_CHECK_H

#include <stdint.h>

#include "rpc_server.h"

/* Checks that s (a NUL-terminated protobuf string, never NULL) is an id. Returns 0, or
 * answers INVALID_ARGUMENT ("invalid <what>") and returns -EINVAL. */
int svc_check_id(rpc_call *call, const char *what, const char *s);

/* Checks that min <= v <= WDM_MAX_AMOUNT (min is 0 or 1). Returns 0, or answers
 * INVALID_ARGUMENT and returns -EINVAL. */
int svc_check_amount(rpc_call *call, const char *what, int64_t v, int64_t min);

#endif
