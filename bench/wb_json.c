/* wb_json: a validating JSON walker over spans of the input (see wb_json.h). */
#include "wb_json.h"

#include <errno.h>
#include <string.h>

#define MAX_DEPTH 64

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

static int hex(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* The next character of a string's contents at *pp (advanced past it): a byte value,
 * -2 at the closing quote (*pp after it), or -1 when malformed. A \u escape yields its
 * code point (up to 0xFFFF; surrogates are not combined). */
static long string_char(const char **pp, const char *end)
{
    const char *p = *pp;
    long c;

    if (p >= end)
        return -1;
    if (*p == '"') {
        *pp = p + 1;
        return -2;
    }
    if ((unsigned char)*p < 0x20)
        return -1;
    if (*p != '\\') {
        *pp = p + 1;
        return (unsigned char)*p;
    }
    if (p + 1 >= end)
        return -1;
    switch (p[1]) {
    case '"': c = '"'; break;
    case '\\': c = '\\'; break;
    case '/': c = '/'; break;
    case 'b': c = '\b'; break;
    case 'f': c = '\f'; break;
    case 'n': c = '\n'; break;
    case 'r': c = '\r'; break;
    case 't': c = '\t'; break;
    case 'u':
        if (end - p < 6)
            return -1;
        c = 0;
        for (int i = 2; i < 6; i++) {
            int d = hex(p[i]);
            if (d < 0)
                return -1;
            c = c * 16 + d;
        }
        *pp = p + 6;
        return c;
    default: return -1;
    }
    *pp = p + 2;
    return c;
}

static const char *skip_string(const char *p, const char *end)
{
    long c;

    p++; /* the opening quote */
    while ((c = string_char(&p, end)) >= 0)
        ;
    return c == -2 ? p : NULL;
}

static const char *skip_digits(const char *p, const char *end)
{
    const char *s = p;

    while (p < end && *p >= '0' && *p <= '9')
        p++;
    return p > s ? p : NULL;
}

static const char *skip_number(const char *p, const char *end)
{
    if (p < end && *p == '-')
        p++;
    if (p < end && *p == '0')
        p++;
    else if ((p = skip_digits(p, end)) == NULL)
        return NULL;
    if (p < end && *p == '.' && (p = skip_digits(p + 1, end)) == NULL)
        return NULL;
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if ((p = skip_digits(p, end)) == NULL)
            return NULL;
    }
    return p;
}

static const char *skip_literal(const char *p, const char *end, const char *lit)
{
    size_t n = strlen(lit);
    return (size_t)(end - p) >= n && memcmp(p, lit, n) == 0 ? p + n : NULL;
}

static const char *skip_value(const char *p, const char *end, wb_json_val *v, int depth);

/* An object or array at p ('{' or '['): its members or elements, then the closing
 * bracket. Returns the position after it, or NULL. */
static const char *skip_container(const char *p, const char *end, int depth)
{
    const bool obj = *p == '{';
    const char close = obj ? '}' : ']';
    wb_json_val v;

    if (depth >= MAX_DEPTH)
        return NULL;
    p = skip_ws(p + 1, end);
    if (p < end && *p == close)
        return p + 1;
    for (;;) {
        if (obj) {
            if (p >= end || *p != '"' || (p = skip_string(p, end)) == NULL)
                return NULL;
            p = skip_ws(p, end);
            if (p >= end || *p != ':')
                return NULL;
            p = skip_ws(p + 1, end);
        }
        if ((p = skip_value(p, end, &v, depth + 1)) == NULL)
            return NULL;
        p = skip_ws(p, end);
        if (p < end && *p == close)
            return p + 1;
        if (p >= end || *p != ',')
            return NULL;
        p = skip_ws(p + 1, end);
    }
}

/* The value at p (no leading white space) into *v. Returns the position after it, or
 * NULL when it is not a valid value. */
static const char *skip_value(const char *p, const char *end, wb_json_val *v, int depth)
{
    const char *q;

    if (p >= end)
        return NULL;
    switch (*p) {
    case '"':
        v->type = WB_JSON_STRING;
        q = skip_string(p, end);
        break;
    case '{':
        v->type = WB_JSON_OBJECT;
        q = skip_container(p, end, depth);
        break;
    case '[':
        v->type = WB_JSON_ARRAY;
        q = skip_container(p, end, depth);
        break;
    case 't':
        v->type = WB_JSON_TRUE;
        q = skip_literal(p, end, "true");
        break;
    case 'f':
        v->type = WB_JSON_FALSE;
        q = skip_literal(p, end, "false");
        break;
    case 'n':
        v->type = WB_JSON_NULL;
        q = skip_literal(p, end, "null");
        break;
    default:
        v->type = WB_JSON_NUMBER;
        q = skip_number(p, end);
        break;
    }
    if (q != NULL) {
        v->p = p;
        v->n = (size_t)(q - p);
    }
    return q;
}

int wb_json_check(const char *json, size_t len, wb_json_val *v)
{
    const char *end = json + len, *p = skip_ws(json, end);
    wb_json_val tmp;

    if (v == NULL)
        v = &tmp;
    if ((p = skip_value(p, end, v, 0)) == NULL)
        return -EINVAL;
    return skip_ws(p, end) == end ? 0 : -EINVAL;
}

int wb_json_iter_init(wb_json_iter *it, const wb_json_val *v)
{
    if ((v->type != WB_JSON_OBJECT && v->type != WB_JSON_ARRAY) || v->n < 2)
        return -EINVAL;
    it->p = v->p + 1;
    it->end = v->p + v->n - 1; /* the closing bracket */
    it->first = true;
    return 0;
}

/* Steps past the separator before the next item. Returns 1 when there is one, 0 at the
 * end, -EINVAL when malformed. */
static int iter_step(wb_json_iter *it)
{
    it->p = skip_ws(it->p, it->end);
    if (it->p >= it->end)
        return 0;
    if (!it->first) {
        if (*it->p != ',')
            return -EINVAL;
        it->p = skip_ws(it->p + 1, it->end);
    }
    it->first = false;
    return 1;
}

int wb_json_next_member(wb_json_iter *it, wb_json_val *key, wb_json_val *val)
{
    int rv = iter_step(it);

    if (rv <= 0)
        return rv;
    if (*it->p != '"' || (it->p = skip_value(it->p, it->end, key, 0)) == NULL)
        return -EINVAL;
    it->p = skip_ws(it->p, it->end);
    if (it->p >= it->end || *it->p != ':')
        return -EINVAL;
    it->p = skip_ws(it->p + 1, it->end);
    if ((it->p = skip_value(it->p, it->end, val, 0)) == NULL)
        return -EINVAL;
    return 1;
}

int wb_json_next_elem(wb_json_iter *it, wb_json_val *val)
{
    int rv = iter_step(it);

    if (rv <= 0)
        return rv;
    if ((it->p = skip_value(it->p, it->end, val, 0)) == NULL)
        return -EINVAL;
    return 1;
}

int wb_json_find(const wb_json_val *obj, const char *key, wb_json_val *val)
{
    wb_json_iter it;
    wb_json_val k, v;
    int rv;

    if (obj->type != WB_JSON_OBJECT || wb_json_iter_init(&it, obj) != 0)
        return -EINVAL;
    while ((rv = wb_json_next_member(&it, &k, &v)) == 1) {
        if (wb_json_str_eq(&k, key)) {
            *val = v;
            return 1;
        }
    }
    return rv;
}

bool wb_json_str_eq(const wb_json_val *v, const char *s)
{
    const char *p, *end;
    long c;

    if (v->type != WB_JSON_STRING)
        return false;
    p = v->p + 1;
    end = v->p + v->n;
    while ((c = string_char(&p, end)) >= 0) {
        if (*s == '\0' || c != (unsigned char)*s)
            return false;
        s++;
    }
    return c == -2 && *s == '\0';
}

int wb_json_str(const wb_json_val *v, char *out, size_t cap)
{
    const char *p, *end;
    size_t n = 0;
    long c;

    if (v->type != WB_JSON_STRING || cap == 0)
        return -EINVAL;
    p = v->p + 1;
    end = v->p + v->n;
    while ((c = string_char(&p, end)) >= 0) {
        if (c > 0xff || (c > 0x7f && p[-1] != (char)c)) /* \u escapes: ASCII only */
            return -EINVAL;
        if (n + 1 >= cap)
            return -ENOSPC;
        out[n++] = (char)c;
    }
    out[n] = '\0';
    return c == -2 ? (int)n : -EINVAL;
}

int wb_json_int(const wb_json_val *v, int64_t *out)
{
    const char *p = v->p, *end = v->p + v->n;
    bool neg = false;
    uint64_t x = 0, lim;

    if (v->type != WB_JSON_NUMBER || p == end)
        return -EINVAL;
    if (*p == '-') {
        neg = true;
        p++;
    }
    lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    if (p == end)
        return -EINVAL;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9')
            return -EINVAL;
        if (x > (lim - (uint64_t)(*p - '0')) / 10)
            return -EINVAL;
        x = x * 10 + (uint64_t)(*p - '0');
    }
    *out = neg ? (int64_t)(0 - x) : (int64_t)x;
    return 0;
}

void wb_json_fput_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", f);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}
