/* strbuf: a growable byte buffer for building response bodies.
 *
 * Appends never fail loudly: the first allocation failure is remembered in `err` and
 * every later append is a no-op, so a builder appends freely and checks once, at the
 * end, with gw_buf_error. The data is NUL-terminated whenever len > 0. */
#ifndef GW_STRBUF_H
#define GW_STRBUF_H

#include <stddef.h>

typedef struct gw_buf {
    char *data;  /* malloc'd; the buffer's until gw_buf_free */
    size_t len;
    size_t cap;
    int err;     /* 0, or -ENOMEM once an append failed */
} gw_buf;

#define GW_BUF_INIT {NULL, 0, 0, 0}

/* Appends n bytes of p. Returns 0, or -ENOMEM (also kept in b->err). */
int gw_buf_append(gw_buf *b, const void *p, size_t n);

/* Appends a NUL-terminated string. Returns as gw_buf_append. */
int gw_buf_puts(gw_buf *b, const char *s);

/* Appends printf-style formatted text. Returns as gw_buf_append. */
int gw_buf_printf(gw_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Returns 0, or the first error an append met. */
static inline int gw_buf_error(const gw_buf *b)
{
    return b->err;
}

/* Frees the data and resets the buffer to empty (it can be reused). */
void gw_buf_free(gw_buf *b);

#endif
