#include "validate.h"

#include <errno.h>

bool validate_id(const char *s, size_t len)
{
    if (len == 0 || len > WDM_ID_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return false;
    }
    return true;
}

int validate_uint(const char *s, size_t len, int64_t *out)
{
    int64_t n = 0;

    /* 2^53 has 16 digits; allow leading zeros up to a sane length. */
    if (len == 0 || len > 32)
        return -EINVAL;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -EINVAL;
        n = n * 10 + (s[i] - '0');
        if (n > WDM_MAX_AMOUNT)
            return -EINVAL;
    }
    *out = n;
    return 0;
}

bool validate_idem_key(const char *s, size_t len)
{
    if (len == 0 || len > WDM_IDEM_KEY_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (s[i] <= ' ' || s[i] > '~')
            return false;
    return true;
}

bool validate_sum_fits(int64_t a, int64_t b)
{
    return b <= WDM_MAX_AMOUNT - a;
}

bool validate_product_fits(int64_t a, int64_t b)
{
    return a == 0 || b <= WDM_MAX_AMOUNT / a;
}
