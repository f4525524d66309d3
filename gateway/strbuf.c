#include "strbuf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Makes room for n more bytes plus a NUL. Returns 0 or -ENOMEM (sticky). */
static int buf_reserve(gw_buf *b, size_t n)
{
    size_t cap;
    char *p;

    if (b->err != 0)
        return b->err;
    if (n >= SIZE_MAX / 2 - b->len)
        return b->err = -ENOMEM;
    if (b->len + n + 1 <= b->cap)
        return 0;
    cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1)
        cap *= 2;
    if ((p = realloc(b->data, cap)) == NULL)
        return b->err = -ENOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

int gw_buf_append(gw_buf *b, const void *p, size_t n)
{
    int rv;

    if ((rv = buf_reserve(b, n)) != 0)
        return rv;
    if (n > 0)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int gw_buf_puts(gw_buf *b, const char *s)
{
    return gw_buf_append(b, s, strlen(s));
}

int gw_buf_printf(gw_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n, rv;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return b->err = -EINVAL;
    if ((rv = buf_reserve(b, (size_t)n)) != 0)
        return rv;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void gw_buf_free(gw_buf *b)
{
    free(b->data);
    *b = (gw_buf)GW_BUF_INIT;
}
