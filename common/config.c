#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "validate.h"

const char *config_str(const char *name, const char *def)
{
    const char *v = getenv(name);
    return (v == NULL || *v == '\0') ? def : v;
}

int config_int(const char *name, int64_t def, int64_t min, int64_t max, int64_t *out)
{
    const char *v = getenv(name);
    int64_t n;

    if (v == NULL || *v == '\0') {
        *out = def;
        return 0;
    }
    if (validate_uint(v, strlen(v), &n) != 0 || n < min || n > max) {
        log_error("%s=%s: expected an integer in [%lld, %lld]", name, v, (long long)min,
                  (long long)max);
        return -EINVAL;
    }
    *out = n;
    return 0;
}
