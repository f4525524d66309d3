/* wb_conn: a non-blocking keep-alive HTTP/1.1 client connection (see wb_conn.h). */
#include "wb_conn.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define IN_INITIAL (4 * 1024)
#define IN_MAX     (16 * 1024 * 1024) /* an answer larger than this is refused */

int wb_req_set(wb_req *req, enum wb_method m, unsigned kind, uint64_t cookie, const char *fmt, ...)
{
    va_list ap;
    int n;

    req->method = m;
    req->kind = kind;
    req->cookie = cookie;
    va_start(ap, fmt);
    n = vsnprintf(req->path, sizeof(req->path), fmt, ap);
    va_end(ap);
    return n >= 0 && (size_t)n < sizeof(req->path) ? 0 : -ENAMETOOLONG;
}

int wb_conn_init(wb_conn *c, unsigned slot)
{
    memset(c, 0, sizeof(*c));
    c->fd = -1;
    c->slot = slot;
    c->in = malloc(IN_INITIAL);
    if (c->in == NULL)
        return -ENOMEM;
    c->in_cap = IN_INITIAL;
    return 0;
}

void wb_conn_free(wb_conn *c)
{
    wb_conn_close(c);
    free(c->in);
    c->in = NULL;
    c->in_cap = 0;
}

void wb_conn_close(wb_conn *c)
{
    if (c->fd >= 0)
        close(c->fd); /* also takes it out of the epoll set */
    c->fd = -1;
    c->state = WB_CONN_DOWN;
    c->want_out = false;
    c->in_len = 0;
    c->out_len = c->out_off = 0;
}

/* Arms or disarms EPOLLOUT (EPOLLIN is always on). */
static int watch_out(wb_conn *c, int epfd, bool on)
{
    struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.u64 = wb_conn_tag(c)};

    if (c->want_out == on)
        return 0;
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) != 0)
        return -errno;
    c->want_out = on;
    return 0;
}

int wb_conn_open(wb_conn *c, int epfd, const struct sockaddr *sa, socklen_t salen)
{
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT};
    int one = 1, rv;

    wb_conn_close(c);
    c->gen++;
    ev.data.u64 = wb_conn_tag(c);
    c->fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return -errno;
    (void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->answered = 0;
    if (connect(c->fd, sa, salen) == 0) {
        c->state = WB_CONN_IDLE;
        ev.events = EPOLLIN;
    } else if (errno == EINPROGRESS) {
        c->state = WB_CONN_CONNECTING;
        c->want_out = true;
    } else {
        rv = -errno;
        goto fail;
    }
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
        rv = -errno;
        goto fail;
    }
    return 0;
fail:
    wb_conn_close(c);
    return rv;
}

int wb_conn_finish_connect(wb_conn *c, int epfd)
{
    int err = 0;
    socklen_t len = sizeof(err);

    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        return -errno;
    if (err != 0)
        return -err;
    c->state = WB_CONN_IDLE;
    return watch_out(c, epfd, false);
}

int wb_conn_flush(wb_conn *c, int epfd)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n > 0) {
            c->out_off += (size_t)n;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return watch_out(c, epfd, true);
        } else if (n < 0 && errno != EINTR) {
            return -errno;
        }
    }
    return watch_out(c, epfd, false);
}

int wb_conn_send(wb_conn *c, int epfd, const char *host)
{
    int n = wb_http_write_request(c->out, sizeof(c->out), c->req.method, c->req.path,
                                  strlen(c->req.path), host);

    if (n < 0)
        return n;
    c->out_len = (size_t)n;
    c->out_off = 0;
    c->state = WB_CONN_BUSY;
    wb_http_resp_reset(&c->resp);
    return wb_conn_flush(c, epfd);
}

long wb_conn_read(wb_conn *c, bool *eof)
{
    long total = 0;

    *eof = false;
    for (;;) {
        size_t space;
        ssize_t n;

        if (c->in_len == c->in_cap) {
            size_t cap = c->in_cap * 2;
            char *p;
            if (cap > IN_MAX)
                return -EMSGSIZE;
            if ((p = realloc(c->in, cap)) == NULL)
                return -ENOMEM;
            c->in = p;
            c->in_cap = cap;
        }
        space = c->in_cap - c->in_len;
        n = recv(c->fd, c->in + c->in_len, space, 0);
        if (n > 0) {
            c->in_len += (size_t)n;
            total += n;
            if ((size_t)n < space) /* likely all there is; epoll says if not */
                return total;
        } else if (n == 0) {
            *eof = true;
            return total;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return total;
        } else if (errno != EINTR) {
            return -errno;
        }
    }
}

int wb_conn_parse(wb_conn *c, bool eof)
{
    int rv;

    while ((rv = wb_http_parse(&c->resp, c->in, c->in_len, eof)) == WB_HTTP_INTERIM) {
        size_t n = c->resp.wire_len;
        memmove(c->in, c->in + n, c->in_len - n);
        c->in_len -= n;
        wb_http_resp_reset(&c->resp);
    }
    return rv;
}

int wb_conn_consume(wb_conn *c)
{
    size_t extra = c->in_len - c->resp.wire_len;

    c->in_len = 0;
    return extra ? -EPROTO : 0;
}
