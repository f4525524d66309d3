/* wb_http: HTTP/1.1 request writing and incremental response parsing (see wb_http.h). */
#include "wb_http.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#define MAX_CHUNK_LINE 1024 /* a chunk-size line (with extensions) longer is an error */
#define MAX_CHUNK_SIZE (1ULL << 40)

enum { CHUNK_SIZE, CHUNK_TRAILER };

void wb_http_resp_reset(wb_http_resp *r)
{
    memset(r, 0, sizeof(*r));
    r->content_length = -1;
}

const char *wb_http_method_name(enum wb_method m)
{
    return m == WB_POST ? "POST" : "GET";
}

/* Index of the first "\r\n" at or after from in buf[0..len), or -1. */
static long find_crlf(const char *buf, size_t from, size_t len)
{
    const char *p;

    while (from < len && (p = memchr(buf + from, '\n', len - from)) != NULL) {
        size_t i = (size_t)(p - buf);
        if (i > 0 && buf[i - 1] == '\r' && i - 1 >= from)
            return (long)(i - 1);
        from = i + 1;
    }
    return -1;
}

/* Does the comma-separated list v[0..n) contain token tok (case-insensitive)? */
static bool list_has(const char *v, size_t n, const char *tok)
{
    size_t tl = strlen(tok), i = 0;

    while (i < n) {
        size_t s, e;
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        s = i;
        while (i < n && v[i] != ',')
            i++;
        e = i;
        while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
            e--;
        if (e - s == tl && strncasecmp(v + s, tok, tl) == 0)
            return true;
    }
    return false;
}

/* Is the last coding of the Transfer-Encoding list v[0..n) "chunked"? */
static bool last_is_chunked(const char *v, size_t n)
{
    size_t e = n, s;

    while (e > 0 && (v[e - 1] == ' ' || v[e - 1] == '\t'))
        e--;
    s = e;
    while (s > 0 && v[s - 1] != ',' && v[s - 1] != ' ' && v[s - 1] != '\t')
        s--;
    return e - s == 7 && strncasecmp(v + s, "chunked", 7) == 0;
}

/* Parses a decimal Content-Length value; -1 when it is not one. */
static int64_t parse_length(const char *v, size_t n)
{
    int64_t x = 0;

    if (n == 0 || n > 15)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        x = x * 10 + (v[i] - '0');
    }
    return x;
}

/* One header line name: value (line[0..n), no CRLF) into r. Returns 0 or -EPROTO. */
static int parse_header(wb_http_resp *r, const char *line, size_t n, bool *keep_alive)
{
    const char *colon = memchr(line, ':', n);
    size_t nl, vs, ve;

    if (colon == NULL || colon == line || line[0] == ' ' || line[0] == '\t')
        return -EPROTO;
    nl = (size_t)(colon - line);
    vs = nl + 1;
    while (vs < n && (line[vs] == ' ' || line[vs] == '\t'))
        vs++;
    ve = n;
    while (ve > vs && (line[ve - 1] == ' ' || line[ve - 1] == '\t'))
        ve--;
    if (nl == 14 && strncasecmp(line, "content-length", 14) == 0) {
        int64_t cl = parse_length(line + vs, ve - vs);
        if (cl < 0 || (r->content_length >= 0 && r->content_length != cl))
            return -EPROTO;
        r->content_length = cl;
    } else if (nl == 17 && strncasecmp(line, "transfer-encoding", 17) == 0) {
        r->chunked = last_is_chunked(line + vs, ve - vs);
        if (!r->chunked)
            return -EPROTO; /* a body we cannot delimit */
    } else if (nl == 10 && strncasecmp(line, "connection", 10) == 0) {
        if (list_has(line + vs, ve - vs, "close"))
            r->close = true;
        if (list_has(line + vs, ve - vs, "keep-alive"))
            *keep_alive = true;
    }
    return 0;
}

/* The status line and headers in buf[0..r->header_len). Returns 0 or -EPROTO. */
static int parse_head(wb_http_resp *r, const char *buf)
{
    size_t pos, end = r->header_len - 2; /* the last line's CRLF stays; drop the blank one */
    bool keep_alive = false, http10;
    long eol = find_crlf(buf, 0, end);
    int rv;

    /* "HTTP/1.x SSS[ reason]" */
    if (eol < 12 || memcmp(buf, "HTTP/1.", 7) != 0 || (buf[7] != '0' && buf[7] != '1') ||
        buf[8] != ' ' || (eol > 12 && buf[12] != ' '))
        return -EPROTO;
    for (int i = 9; i < 12; i++)
        if (buf[i] < '0' || buf[i] > '9')
            return -EPROTO;
    http10 = buf[7] == '0';
    r->status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
    if (r->status < 100)
        return -EPROTO;
    for (pos = (size_t)eol + 2; pos < end;) {
        long e = find_crlf(buf, pos, end);
        if (e < 0)
            return -EPROTO;
        if ((rv = parse_header(r, buf + pos, (size_t)e - pos, &keep_alive)) != 0)
            return rv;
        pos = (size_t)e + 2;
    }
    if (http10 && !keep_alive)
        r->close = true;
    return 0;
}

/* Decodes chunks from r->chunk_pos on, moving their data down to the end of the body
 * decoded so far. Returns WB_HTTP_DONE, WB_HTTP_MORE or -EPROTO. */
static int parse_chunks(wb_http_resp *r, char *buf, size_t len)
{
    for (;;) {
        long eol = find_crlf(buf, r->chunk_pos, len);
        if (eol < 0)
            return len - r->chunk_pos > MAX_CHUNK_LINE ? -EPROTO : WB_HTTP_MORE;
        if (r->chunk_state == CHUNK_TRAILER) {
            /* Trailer lines until an empty one, which ends the response. */
            bool empty = (size_t)eol == r->chunk_pos;
            r->chunk_pos = (size_t)eol + 2;
            if (empty) {
                r->wire_len = r->chunk_pos;
                return WB_HTTP_DONE;
            }
            continue;
        }
        uint64_t size = 0;
        size_t i = r->chunk_pos, digits = 0;
        for (; i < (size_t)eol; i++, digits++) {
            char c = buf[i];
            int d = c >= '0' && c <= '9'   ? c - '0'
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                           : -1;
            if (d < 0)
                break;
            size = size * 16 + (uint64_t)d;
            if (size > MAX_CHUNK_SIZE)
                return -EPROTO;
        }
        if (digits == 0 || (i < (size_t)eol && buf[i] != ';' && buf[i] != ' ' && buf[i] != '\t'))
            return -EPROTO;
        size_t data = (size_t)eol + 2;
        if (size == 0) {
            r->chunk_state = CHUNK_TRAILER;
            r->chunk_pos = data;
            continue;
        }
        if (len < data + size + 2)
            return WB_HTTP_MORE;
        if (buf[data + size] != '\r' || buf[data + size + 1] != '\n')
            return -EPROTO;
        memmove(buf + r->body_off + r->body_len, buf + data, size);
        r->body_len += size;
        r->chunk_pos = data + size + 2;
    }
}

/* Finds the end of the header block from r->scan on. Returns 1 when found (header_len
 * set), 0 when more bytes are needed, -EPROTO when the block is too large. */
static int find_head_end(wb_http_resp *r, const char *buf, size_t len)
{
    long e;

    while ((e = find_crlf(buf, r->scan, len)) >= 0) {
        if ((size_t)e + 4 <= len && buf[e + 2] == '\r' && buf[e + 3] == '\n') {
            r->header_len = (size_t)e + 4;
            return 1;
        }
        if ((size_t)e + 4 > len) /* the blank line may still come: look here again */
            break;
        r->scan = (size_t)e + 2;
    }
    if (len > WB_HTTP_MAX_HEADER)
        return -EPROTO;
    return 0;
}

int wb_http_parse(wb_http_resp *r, char *buf, size_t len, bool eof)
{
    int rv;

    if (r->header_len == 0) {
        if ((rv = find_head_end(r, buf, len)) <= 0)
            return rv < 0 ? rv : eof ? -ECONNRESET : WB_HTTP_MORE;
        if ((rv = parse_head(r, buf)) != 0)
            return rv;
        r->body_off = r->header_len;
        r->chunk_pos = r->header_len;
        if (r->status == 101)
            return -EPROTO; /* we never ask to switch protocols */
        if (r->status < 200) {
            r->wire_len = r->header_len;
            return WB_HTTP_INTERIM;
        }
    }
    if (r->status == 204 || r->status == 304) {
        r->wire_len = r->header_len;
        return WB_HTTP_DONE;
    }
    if (r->chunked) {
        rv = parse_chunks(r, buf, len);
        return rv == WB_HTTP_MORE && eof ? -ECONNRESET : rv;
    }
    if (r->content_length >= 0) {
        if (len - r->header_len < (uint64_t)r->content_length)
            return eof ? -ECONNRESET : WB_HTTP_MORE;
        r->body_len = (size_t)r->content_length;
        r->wire_len = r->header_len + r->body_len;
        return WB_HTTP_DONE;
    }
    /* No length: the body runs to the close. */
    r->close = true;
    if (!eof)
        return WB_HTTP_MORE;
    r->body_len = len - r->header_len;
    r->wire_len = len;
    return WB_HTTP_DONE;
}

/* Appends n bytes of s at *pos in out[0..cap); false when they do not fit. */
static bool put(char *out, size_t cap, size_t *pos, const char *s, size_t n)
{
    if (cap - *pos < n)
        return false;
    memcpy(out + *pos, s, n);
    *pos += n;
    return true;
}

#define PUT_LIT(s) put(out, cap, &pos, s, sizeof(s) - 1)

int wb_http_write_request(char *out, size_t cap, enum wb_method m, const char *path,
                          size_t path_len, const char *host)
{
    size_t pos = 0;
    bool ok = (m == WB_POST ? PUT_LIT("POST ") : PUT_LIT("GET ")) &&
              put(out, cap, &pos, path, path_len) && PUT_LIT(" HTTP/1.1\r\nHost: ") &&
              put(out, cap, &pos, host, strlen(host)) && PUT_LIT("\r\n") &&
              (m != WB_POST || PUT_LIT("Content-Length: 0\r\n")) && PUT_LIT("\r\n");

    return ok ? (int)pos : -ENOSPC;
}

int wb_http_parse_url(const char *url, wb_url *u)
{
    const char *a, *end, *colon = NULL;
    size_t n;

    if (strncasecmp(url, "http://", 7) != 0)
        return -EINVAL;
    a = url + 7;
    end = a + strcspn(a, "/?#");
    n = (size_t)(end - a);
    if (n == 0 || n >= sizeof(u->authority))
        return -EINVAL;
    memcpy(u->authority, a, n);
    u->authority[n] = '\0';
    if (a[0] == '[') { /* [v6]:port */
        const char *rb = memchr(a, ']', n);
        if (rb == NULL || rb == a + 1 || (rb + 1 < end && rb[1] != ':'))
            return -EINVAL;
        memcpy(u->host, a + 1, (size_t)(rb - a - 1));
        u->host[rb - a - 1] = '\0';
        colon = rb + 1 < end ? rb + 1 : NULL;
    } else {
        colon = memchr(a, ':', n);
        size_t hl = colon ? (size_t)(colon - a) : n;
        if (hl == 0)
            return -EINVAL;
        memcpy(u->host, a, hl);
        u->host[hl] = '\0';
    }
    if (colon == NULL) {
        strcpy(u->port, "80");
        return 0;
    }
    n = (size_t)(end - colon - 1);
    if (n == 0 || n > 5)
        return -EINVAL;
    long port = 0;
    for (const char *p = colon + 1; p < end; p++) {
        if (*p < '0' || *p > '9')
            return -EINVAL;
        port = port * 10 + (*p - '0');
    }
    if (port < 1 || port > 65535)
        return -EINVAL;
    memcpy(u->port, colon + 1, n);
    u->port[n] = '\0';
    return 0;
}
