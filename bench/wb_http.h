/* wb_http: HTTP/1.1 on the client side, without I/O: writing a request into a buffer and
 * parsing a response out of one, incrementally as bytes arrive.
 *
 * The parser knows the three ways a body ends (Content-Length, chunked, connection
 * close), statuses without a body (1xx, 204, 304), and whether the server keeps the
 * connection open. A chunked body is decoded in place, so the caller's buffer must be
 * writable. Nothing here allocates. */
#ifndef WB_HTTP_H
#define WB_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WB_HTTP_MAX_HEADER (64 * 1024) /* a larger status line + header block is an error */
#define WB_HTTP_HOST_MAX   256         /* a URL's host[:port], NUL included */

enum wb_method { WB_GET, WB_POST };

/* Outcomes of wb_http_parse. */
#define WB_HTTP_MORE    0 /* not complete yet: call again with more bytes */
#define WB_HTTP_DONE    1 /* a complete response of r->wire_len bytes */
#define WB_HTTP_INTERIM 2 /* a 1xx interim response of r->wire_len bytes: drop it, parse on */

/* One response being parsed; all offsets are from the start of the response's bytes. */
typedef struct wb_http_resp {
    int status; /* 0 until the status line is parsed */
    bool close; /* the server closes the connection after this response */
    bool chunked;
    int64_t content_length; /* -1 when absent */
    size_t header_len;      /* status line + headers + blank line; 0 until complete */
    size_t body_off;        /* the body, once DONE (decoded when chunked) */
    size_t body_len;
    size_t wire_len; /* the response's bytes on the wire, once DONE */
    /* internal progress, so that a call with more bytes does not rescan */
    size_t scan;      /* header: where to look for the blank line next */
    size_t chunk_pos; /* chunked: where the next chunk-size line starts */
    int chunk_state;
} wb_http_resp;

/* Makes r ready for a new response. */
void wb_http_resp_reset(wb_http_resp *r);

/* Parses the response starting at buf[0] from its first len bytes (the same bytes and
 * more on each call; r carries the progress). eof says the peer closed the connection
 * after these bytes, which completes a body delimited by the close.
 * Returns WB_HTTP_MORE, WB_HTTP_DONE, WB_HTTP_INTERIM, or -EPROTO (not a valid HTTP/1.x
 * response, or a header block over WB_HTTP_MAX_HEADER), or -ECONNRESET (eof before the
 * response is complete). May rewrite buf[r->body_off .. len) (chunked decoding). */
int wb_http_parse(wb_http_resp *r, char *buf, size_t len, bool eof);

/* Writes the request "METHOD path HTTP/1.1" with Host: host (and Content-Length: 0 for a
 * POST) into out[0..cap). Returns its length, or -ENOSPC when it does not fit. */
int wb_http_write_request(char *out, size_t cap, enum wb_method m, const char *path,
                          size_t path_len, const char *host);

/* A server's address as given in an http:// URL. */
typedef struct wb_url {
    char host[WB_HTTP_HOST_MAX];      /* for getaddrinfo: an IPv6 literal without brackets */
    char port[8];                     /* "80" when the URL names none */
    char authority[WB_HTTP_HOST_MAX]; /* host[:port] as written: the Host header */
} wb_url;

/* Parses "http://host[:port][/anything]" into *u. Returns 0 or -EINVAL (another scheme,
 * an empty or too long host, a port that is not 1..65535). */
int wb_http_parse_url(const char *url, wb_url *u);

/* "GET" / "POST". */
const char *wb_http_method_name(enum wb_method m);

#endif
