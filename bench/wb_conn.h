/* wb_conn: one keep-alive HTTP/1.1 client connection on a non-blocking socket.
 *
 * A connection carries at most one request at a time (no pipelining). It owns its socket
 * and its buffers; the buffers are allocated once by wb_conn_init, and the input buffer
 * grows only for an answer larger than any before, so a request costs no allocation.
 * The functions here do the socket work and the parsing; what to send when, and what a
 * failure means, is the engine's business (wb_engine.c). */
#ifndef WB_CONN_H
#define WB_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "wb_http.h"

#define WB_PATH_MAX 256                                   /* a request path, NUL included */
#define WB_REQ_MAX  (WB_PATH_MAX + WB_HTTP_HOST_MAX + 64) /* a whole request always fits */

/* A request as the scenario describes it, plus the engine's timestamps. */
typedef struct wb_req {
    enum wb_method method;
    unsigned kind;   /* the scenario's operation kind (index into its names) */
    uint64_t cookie; /* the scenario's, handed back with the answer */
    char path[WB_PATH_MAX];
    uint64_t intended_ns; /* when it was meant to be sent (open loop), else = sent_ns */
    uint64_t sent_ns;
} wb_req;

/* Sets req's method, kind and cookie, and its path from the format. Returns 0, or
 * -ENAMETOOLONG when the path does not fit (req->path is then unusable). */
int wb_req_set(wb_req *req, enum wb_method m, unsigned kind, uint64_t cookie, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

enum wb_conn_state {
    WB_CONN_DOWN,       /* no socket */
    WB_CONN_CONNECTING, /* connect in progress */
    WB_CONN_IDLE,       /* connected, nothing in flight */
    WB_CONN_BUSY,       /* a request in flight */
    WB_CONN_WAIT,       /* no socket; reconnect at deadline_ns (backoff) */
};

typedef struct wb_conn {
    int fd;
    enum wb_conn_state state;
    unsigned slot; /* its index in the engine */
    uint32_t gen;  /* counts sockets; in the epoll data, so a stale event is known */
    bool want_out; /* EPOLLOUT is armed */
    char *in;      /* malloc'd input buffer, in_cap bytes */
    size_t in_len, in_cap;
    char out[WB_REQ_MAX]; /* the request being written */
    size_t out_len, out_off;
    wb_http_resp resp;
    wb_req req;
    uint64_t deadline_ns; /* WAIT: when to reconnect; CONNECTING: when to give up */
    uint64_t backoff_ns;  /* the next wait after a failure; 0 after a good answer */
    uint64_t answered;    /* answers since the socket connected */
    /* the engine's */
    uint64_t next_k; /* open loop: the index of its oldest unsent scheduled request */
    bool parked;     /* idle on the engine's list: its source had nothing to send */
} wb_conn;

/* Sets c up for slot, allocating its input buffer. Returns 0 or -ENOMEM. */
int wb_conn_init(wb_conn *c, unsigned slot);

/* Closes the socket (if any) and frees the buffers. */
void wb_conn_free(wb_conn *c);

/* Starts a non-blocking connect to sa and registers the socket with epfd (epoll data =
 * wb_conn_tag(c)). State becomes CONNECTING (or IDLE when it connected at once).
 * Returns 0, or a negative errno (the connection stays DOWN). */
int wb_conn_open(wb_conn *c, int epfd, const struct sockaddr *sa, socklen_t salen);

/* The epoll data of c's current socket: its slot and generation. */
static inline uint64_t wb_conn_tag(const wb_conn *c)
{
    return (uint64_t)c->gen << 32 | c->slot;
}

/* Finishes a connect after the socket became writable. Returns 0 (now IDLE) or the
 * negative errno of the failed connect. */
int wb_conn_finish_connect(wb_conn *c, int epfd);

/* Writes c->req as an HTTP request to host and starts sending it; the state becomes BUSY
 * and the answer's parser is reset. Returns 0 (sent, or the rest waits for EPOLLOUT), or
 * a negative errno (-ENOSPC: the request does not fit; otherwise the socket failed). */
int wb_conn_send(wb_conn *c, int epfd, const char *host);

/* Sends more of a partly written request (on EPOLLOUT). Returns as wb_conn_send. */
int wb_conn_flush(wb_conn *c, int epfd);

/* Reads what the socket has. *eof is set when the peer closed. Returns the number of
 * bytes read (maybe 0), or a negative errno (-ECONNRESET etc., or -ENOMEM when the input
 * buffer could not grow). */
long wb_conn_read(wb_conn *c, bool *eof);

/* Parses the answer in the input buffer (see wb_http_parse; interim 1xx answers are
 * dropped here). Returns WB_HTTP_DONE, WB_HTTP_MORE or a negative errno. */
int wb_conn_parse(wb_conn *c, bool eof);

/* After a DONE answer: drops its bytes from the input buffer. Returns 0, or -EPROTO when
 * more bytes follow it (we never asked for them). */
int wb_conn_consume(wb_conn *c);

/* Closes the socket; the state becomes DOWN. */
void wb_conn_close(wb_conn *c);

#endif
