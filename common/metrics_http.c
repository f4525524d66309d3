/* metrics_http: the /metrics listener of the services (see metrics_http.h). */
#define _GNU_SOURCE /* accept4 */
#include "metrics_http.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "metrics_process.h"

#define READ_TIMEOUT_MS 5000   /* default of cfg.read_timeout_ms */
#define WRITE_TIMEOUT_MS 10000 /* an answer must be taken by then */
#define LINGER_MS 1000         /* reading what a client still sends after the answer */
#define ACCEPT_PAUSE_MS 100    /* after accept fails for want of descriptors or memory */
#define ACCEPT_BATCH 16

typedef enum conn_state { CONN_FREE, CONN_READING, CONN_WRITING, CONN_LINGERING } conn_state;

typedef struct mh_conn {
    conn_state state;
    int fd;
    int64_t since_ms;    /* accepted (the oldest is evicted first) */
    int64_t deadline_ms; /* of the current state */
    size_t in_len;
    char in[METRICS_HTTP_REQUEST_MAX];
    char *out;           /* the answer (malloc'd), while WRITING */
    size_t out_len, out_off;
} mh_conn;

struct metrics_http {
    metrics_http_config cfg;
    int listen_fd;
    int wake_fd; /* eventfd: readable once metrics_http_stop wants the thread to end */
    uint16_t port;
    pthread_t thread;
    int64_t accept_paused_until;
    mh_conn conns[METRICS_HTTP_CONNS];
};

static int64_t now_ms(void)
{
    return (int64_t)(metrics_now_ns() / 1000000u);
}

/* ---- the request ---- */

/* A token character (RFC 9110 tchar): methods and header names. */
static bool is_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* True when the n bytes of a line (its CRLF or LF not included) may be in a request:
 * the request line is printable ASCII and spaces; a header line may also have tabs and
 * bytes >= 0x80. A line not complete yet (`partial`) may end in the CR of its CRLF. */
static bool line_bytes_ok(const char *p, size_t n, bool request_line, bool partial)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '\r' && partial && i == n - 1)
            continue;
        if (c == 0x7f || (c < 0x20 && !(c == '\t' && !request_line)) ||
            (c >= 0x80 && request_line))
            return false;
    }
    return true;
}

/* The path of a request target: origin form as is, absolute form (http://host/path)
 * from its path on. NULL when it is neither. */
static const char *target_path(const char *t, size_t n, size_t *len)
{
    const char *slash;

    if (n > 0 && t[0] == '/') {
        *len = n;
        return t;
    }
    if (n > 7 && strncasecmp(t, "http://", 7) == 0)
        slash = memchr(t + 7, '/', n - 7);
    else if (n > 8 && strncasecmp(t, "https://", 8) == 0)
        slash = memchr(t + 8, '/', n - 8);
    else
        return NULL;
    if (slash == NULL) {
        *len = 1;
        return "/";
    }
    *len = n - (size_t)(slash - t);
    return slash;
}

/* The status a complete request line (n bytes, no line end) calls for: 200, 404, 405 or
 * 400. *head is set for HEAD. */
static int request_line_status(const char *p, size_t n, bool *head)
{
    const char *sp1 = memchr(p, ' ', n), *sp2, *path, *version;
    size_t method_len, path_len, target_len;

    if (sp1 == NULL || (method_len = (size_t)(sp1 - p)) == 0)
        return 400;
    for (size_t i = 0; i < method_len; i++)
        if (!is_tchar((unsigned char)p[i]))
            return 400;
    if ((sp2 = memchr(sp1 + 1, ' ', n - method_len - 1)) == NULL)
        return 400;
    target_len = (size_t)(sp2 - sp1 - 1);
    version = sp2 + 1;
    if ((size_t)(p + n - version) != 8 ||
        (memcmp(version, "HTTP/1.1", 8) != 0 && memcmp(version, "HTTP/1.0", 8) != 0))
        return 400;
    if ((path = target_path(sp1 + 1, target_len, &path_len)) == NULL)
        return 400;
    for (size_t i = 0; i < path_len; i++) {
        if (path[i] == '?' || path[i] == '#') {
            path_len = i;
            break;
        }
    }
    if (path_len != 8 || memcmp(path, "/metrics", 8) != 0)
        return 404;
    *head = method_len == 4 && memcmp(p, "HEAD", 4) == 0;
    if (!*head && !(method_len == 3 && memcmp(p, "GET", 3) == 0))
        return 405;
    return 200;
}

/* A header line (n bytes, no line end): a token, then a colon. No obsolete folding. */
static bool header_line_ok(const char *p, size_t n)
{
    size_t i = 0;

    while (i < n && is_tchar((unsigned char)p[i]))
        i++;
    return i > 0 && i < n && p[i] == ':';
}

/* What the request received so far calls for: 0 while it may still become a valid
 * request, else the status to answer (see metrics_http.h). Looks at the whole buffer
 * every time: it is small, and a request comes in one or two reads. */
static int request_status(const char *in, size_t len, bool *head)
{
    const char *p = in, *end = in + len;
    int status = 0;
    bool first = true;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((nl != NULL ? nl : end) - p);

        if (nl != NULL && n > 0 && p[n - 1] == '\r')
            n--;
        if (!line_bytes_ok(p, n, first, nl == NULL))
            return 400;
        if (nl == NULL)
            break;
        if (first) {
            if ((status = request_line_status(p, n, head)) == 400)
                return 400;
            first = false;
        } else if (n == 0) {
            return status; /* the empty line: end of the headers */
        } else if (!header_line_ok(p, n)) {
            return 400;
        }
        p = nl + 1;
    }
    return len >= METRICS_HTTP_REQUEST_MAX ? 431 : 0;
}

/* ---- connections ---- */

static void conn_close(mh_conn *c)
{
    close(c->fd);
    free(c->out);
    c->out = NULL;
    c->fd = -1;
    c->state = CONN_FREE;
}

/* Sends what is left of the answer; once all is sent, half-closes and lingers. */
static void conn_write(mh_conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return; /* poll for POLLOUT */
        if (n <= 0) {
            conn_close(c);
            return;
        }
        c->out_off += (size_t)n;
    }
    free(c->out);
    c->out = NULL;
    /* Read on until the client closes (briefly): closing with unread data would reset
     * the connection, and the client could lose the answer. */
    shutdown(c->fd, SHUT_WR);
    c->state = CONN_LINGERING;
    c->deadline_ms = now_ms() + LINGER_MS;
}

static const char *status_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 431: return "Request Header Fields Too Large";
    default: return "Internal Server Error";
    }
}

/* Renders the body of a 200 into *body (malloc'd). Returns 0 or a negative error. */
static int render_body(metrics_http *h, char **body, size_t *len)
{
    FILE *f = open_memstream(body, len);
    int rv;

    if (f == NULL)
        return -ENOMEM;
    rv = h->cfg.render(h->cfg.arg, f);
    if (fclose(f) != 0 && rv == 0)
        rv = -ENOMEM;
    if (rv != 0) {
        free(*body);
        *body = NULL;
    }
    return rv;
}

/* Builds the answer with this status (200: rendered now) and starts sending it. */
static void conn_answer(metrics_http *h, mh_conn *c, int status, bool head)
{
    char *body = NULL;
    size_t body_len = 0;
    FILE *f;

    if (status == 200 && render_body(h, &body, &body_len) != 0)
        status = 500;
    if ((f = open_memstream(&c->out, &c->out_len)) == NULL) {
        free(body);
        conn_close(c);
        return;
    }
    if (status != 200)
        body_len = strlen(status_reason(status)) + 1; /* the reason and a newline */
    fprintf(f, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%sConnection: close\r\n\r\n",
            status, status_reason(status),
            status == 200 ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain",
            body_len, status == 405 ? "Allow: GET, HEAD\r\n" : "");
    if (!head && status == 200)
        fwrite(body, 1, body_len, f);
    else if (!head)
        fprintf(f, "%s\n", status_reason(status));
    free(body);
    if (fclose(f) != 0) {
        conn_close(c);
        return;
    }
    c->out_off = 0;
    c->state = CONN_WRITING;
    c->deadline_ms = now_ms() + WRITE_TIMEOUT_MS;
    conn_write(c);
}

/* The connection is readable: take the bytes, answer once the request calls for it. */
static void conn_read(metrics_http *h, mh_conn *c)
{
    char sink[1024];
    bool head = false;
    ssize_t n;
    int status;

    if (c->state == CONN_LINGERING) { /* one read per wake-up: a flood cannot hold us */
        n = recv(c->fd, sink, sizeof(sink), MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            conn_close(c);
        return;
    }
    n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, MSG_DONTWAIT);
    if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            conn_close(c);
        return;
    }
    if (n == 0) { /* the client is done sending: a request cut short is a bad one */
        if (c->in_len == 0)
            conn_close(c);
        else if ((status = request_status(c->in, c->in_len, &head)) != 0)
            conn_answer(h, c, status, head);
        else
            conn_answer(h, c, 400, false);
        return;
    }
    c->in_len += (size_t)n;
    if ((status = request_status(c->in, c->in_len, &head)) != 0)
        conn_answer(h, c, status, head);
}

/* Ends whatever is past its deadline: a request not complete in time is a 408. */
static void conns_expire(metrics_http *h, int64_t now)
{
    for (size_t i = 0; i < METRICS_HTTP_CONNS; i++) {
        mh_conn *c = &h->conns[i];
        if (c->state == CONN_FREE || now < c->deadline_ms)
            continue;
        if (c->state == CONN_READING && c->in_len > 0)
            conn_answer(h, c, 408, false);
        else
            conn_close(c);
    }
}

/* A free slot; when there is none, the oldest connection is closed to make one. */
static mh_conn *conn_slot(metrics_http *h)
{
    mh_conn *oldest = NULL;

    for (size_t i = 0; i < METRICS_HTTP_CONNS; i++) {
        mh_conn *c = &h->conns[i];
        if (c->state == CONN_FREE)
            return c;
        if (oldest == NULL || c->since_ms < oldest->since_ms)
            oldest = c;
    }
    conn_close(oldest);
    return oldest;
}

static void accept_some(metrics_http *h, int64_t now)
{
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        int fd = accept4(h->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        mh_conn *c;

        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) /* EMFILE, ENOMEM, ...: later */
                h->accept_paused_until = now + ACCEPT_PAUSE_MS;
            return;
        }
        c = conn_slot(h);
        *c = (mh_conn){.state = CONN_READING, .fd = fd, .since_ms = now,
                       .deadline_ms = now + h->cfg.read_timeout_ms};
    }
}

/* The poll timeout: until the nearest deadline (-1: none). */
static int poll_timeout(const metrics_http *h, int64_t now)
{
    int64_t next = h->accept_paused_until > now ? h->accept_paused_until : INT64_MAX;

    for (size_t i = 0; i < METRICS_HTTP_CONNS; i++)
        if (h->conns[i].state != CONN_FREE && h->conns[i].deadline_ms < next)
            next = h->conns[i].deadline_ms;
    if (next == INT64_MAX)
        return -1;
    return next <= now ? 0 : (int)(next - now < 60000 ? next - now : 60000);
}

static void *metrics_http_main(void *arg)
{
    metrics_http *h = arg;
    struct pollfd fds[2 + METRICS_HTTP_CONNS];
    mh_conn *of[2 + METRICS_HTTP_CONNS];

    for (;;) {
        int64_t now = now_ms();
        nfds_t n = 0;
        bool accepting = now >= h->accept_paused_until;

        fds[n++] = (struct pollfd){.fd = h->wake_fd, .events = POLLIN};
        fds[n++] = (struct pollfd){.fd = accepting ? h->listen_fd : -1, .events = POLLIN};
        for (size_t i = 0; i < METRICS_HTTP_CONNS; i++) {
            mh_conn *c = &h->conns[i];
            if (c->state == CONN_FREE)
                continue;
            of[n] = c;
            fds[n++] = (struct pollfd){.fd = c->fd,
                                       .events = c->state == CONN_WRITING ? POLLOUT : POLLIN};
        }
        if (poll(fds, n, poll_timeout(h, now)) < 0 && errno != EINTR) {
            log_error("metrics: poll: %s; no more /metrics", strerror(errno));
            break;
        }
        if (fds[0].revents != 0)
            break; /* metrics_http_stop */
        for (nfds_t i = 2; i < n; i++) {
            if (fds[i].revents == 0)
                continue;
            if (of[i]->state == CONN_WRITING)
                conn_write(of[i]);
            else
                conn_read(h, of[i]);
        }
        now = now_ms();
        conns_expire(h, now);
        if (fds[1].revents != 0)
            accept_some(h, now);
    }
    return NULL;
}

/* ---- start and stop ---- */

/* Splits "host:port" (host may be empty or "[v6]") into host ("": every address) and
 * port (1 to 5 digits, at most 65535). Returns 0 or -EINVAL. */
static int split_addr(const char *addr, char *host, size_t size, const char **port)
{
    const char *colon = strrchr(addr, ':');
    size_t len, digits;

    if (colon == NULL)
        return -EINVAL;
    digits = strspn(colon + 1, "0123456789");
    if (digits == 0 || digits > 5 || colon[1 + digits] != '\0' || atol(colon + 1) > 65535)
        return -EINVAL;
    *port = colon + 1;
    len = (size_t)(colon - addr);
    if (len >= 2 && addr[0] == '[' && addr[len - 1] == ']') {
        addr++;
        len -= 2;
    }
    if (len >= size)
        return -EINVAL;
    memcpy(host, addr, len);
    host[len] = '\0';
    return 0;
}

/* Opens the listening socket on the first address of addr that binds.
 * Returns 0 and sets h->listen_fd and h->port, or a negative error. */
static int listen_on(metrics_http *h, const char *addr)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res, *ai;
    struct sockaddr_storage sa;
    socklen_t sa_len = sizeof(sa);
    char host[256];
    const char *port;
    int fd = -1, on = 1, rv;

    if ((rv = split_addr(addr, host, sizeof(host), &port)) != 0)
        return rv;
    if (getaddrinfo(host[0] != '\0' ? host : NULL, port, &hints, &res) != 0)
        return -EINVAL;
    rv = -EADDRNOTAVAIL;
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            rv = -errno;
            continue;
        }
        if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == 0 &&
            bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 64) == 0)
            break;
        rv = -errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        return rv;
    if (getsockname(fd, (struct sockaddr *)&sa, &sa_len) != 0) {
        rv = -errno;
        close(fd);
        return rv;
    }
    h->listen_fd = fd;
    h->port = ntohs(sa.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&sa)->sin6_port
                                             : ((struct sockaddr_in *)&sa)->sin_port);
    return 0;
}

int metrics_http_start(metrics_http **out, const metrics_http_config *cfg)
{
    metrics_http *h;
    int rv;

    if ((h = calloc(1, sizeof(*h))) == NULL)
        return -ENOMEM;
    h->cfg = *cfg;
    h->cfg.addr = NULL; /* not kept */
    if (h->cfg.render == NULL)
        h->cfg.render = metrics_process_render;
    if (h->cfg.read_timeout_ms <= 0)
        h->cfg.read_timeout_ms = READ_TIMEOUT_MS;
    for (size_t i = 0; i < METRICS_HTTP_CONNS; i++)
        h->conns[i].fd = -1;
    if ((rv = listen_on(h, cfg->addr)) != 0)
        goto fail_listen;
    if ((h->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
        rv = -errno;
        goto fail_wake;
    }
    if ((rv = pthread_create(&h->thread, NULL, metrics_http_main, h)) != 0) {
        rv = -rv;
        goto fail_thread;
    }
    *out = h;
    return 0;
fail_thread:
    close(h->wake_fd);
fail_wake:
    close(h->listen_fd);
fail_listen:
    free(h);
    return rv;
}

uint16_t metrics_http_port(const metrics_http *h)
{
    return h->port;
}

void metrics_http_stop(metrics_http *h)
{
    uint64_t one = 1;

    while (write(h->wake_fd, &one, sizeof(one)) < 0 && errno == EINTR)
        ;
    pthread_join(h->thread, NULL);
    for (size_t i = 0; i < METRICS_HTTP_CONNS; i++)
        if (h->conns[i].state != CONN_FREE)
            conn_close(&h->conns[i]);
    close(h->wake_fd);
    close(h->listen_fd);
    free(h);
}
