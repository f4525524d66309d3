/* svc_check: the handlers' input checks (see svc_check.h). */
#include "svc_check.h"

#include <errno.h>
#include <string.h>

#include "validate.h"

int svc_check_id(rpc_call *call, const char *what, const char *s)
{
    if (!validate_id(s, strlen(s))) {
        rpc_call_fail(call, WDM__STATUS__INVALID_ARGUMENT, "invalid %s", what);
        return -EINVAL;
    }
    return 0;
}

int svc_check_amount(rpc_call *call, const char *what, int64_t v, int64_t min)
{
    if (v < min) {
        rpc_call_fail(call, WDM__STATUS__INVALID_ARGUMENT,
                      min > 0 ? "%s must be positive" : "%s must not be negative", what);
        return -EINVAL;
    }
    if (v > WDM_MAX_AMOUNT) {
        rpc_call_fail(call, WDM__STATUS__INVALID_ARGUMENT, "%s above 2^53", what);
        return -EINVAL;
    }
    return 0;
}
