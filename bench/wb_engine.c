/* wb_engine: the epoll loop that drives the connections (see wb_engine.h). */
#include "wb_engine.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "wb_clock.h"
#include "wb_report.h"

#define SWEEP_NS       (10 * WB_NS_PER_MS) /* how often timeouts and backoffs are checked */
#define BACKOFF_MIN_NS (10 * WB_NS_PER_MS)
#define BACKOFF_MAX_NS (1000 * WB_NS_PER_MS)
#define MAX_EVENTS     256

/* Does addr accept a TCP connection within a second? */
static bool accepts(const struct addrinfo *a)
{
    int fd = socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), err = 0;
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    socklen_t len = sizeof(err);
    bool ok;

    if (fd < 0)
        return false;
    ok = connect(fd, a->ai_addr, a->ai_addrlen) == 0 ||
         (errno == EINPROGRESS && poll(&p, 1, 1000) == 1 &&
          getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0);
    close(fd);
    return ok;
}

/* Takes the first of the resolved addresses that accepts a connection now (a name such
 * as localhost may resolve to ::1 first while the server listens on IPv4 only), or the
 * first one when none does (the run then counts the connect errors). */
static void pick_address(wb_engine *e, const struct addrinfo *list)
{
    const struct addrinfo *pick = list;

    for (const struct addrinfo *a = list; list->ai_next != NULL && a != NULL; a = a->ai_next) {
        if (accepts(a)) {
            pick = a;
            break;
        }
    }
    memcpy(&e->sa, pick->ai_addr, pick->ai_addrlen);
    e->salen = pick->ai_addrlen;
}

int wb_engine_init(wb_engine *e, const char *url, unsigned conns, uint64_t timeout_ms,
                   volatile sig_atomic_t *stop)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
    wb_url u;
    int rv;

    memset(e, 0, sizeof(*e));
    e->epfd = -1;
    if (conns == 0 || timeout_ms == 0 || wb_http_parse_url(url, &u) != 0)
        return -EINVAL;
    if (getaddrinfo(u.host, u.port, &hints, &ai) != 0 || ai == NULL)
        return -EHOSTUNREACH;
    pick_address(e, ai);
    freeaddrinfo(ai);
    memcpy(e->authority, u.authority, sizeof(e->authority));
    e->timeout_ns = timeout_ms * WB_NS_PER_MS;
    e->stop = stop;
    e->n = conns;
    e->conns = calloc(conns, sizeof(*e->conns));
    e->parked = calloc(conns, sizeof(*e->parked));
    if (e->conns == NULL || e->parked == NULL) {
        rv = -ENOMEM;
        goto fail;
    }
    for (unsigned i = 0; i < conns; i++)
        e->conns[i].fd = -1; /* so that wb_engine_free can free a half-initialized set */
    for (unsigned i = 0; i < conns; i++)
        if ((rv = wb_conn_init(&e->conns[i], i)) != 0)
            goto fail;
    if ((e->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
        rv = -errno;
        goto fail;
    }
    return 0;
fail:
    wb_engine_free(e);
    return rv;
}

void wb_engine_free(wb_engine *e)
{
    if (e->conns != NULL)
        for (unsigned i = 0; i < e->n; i++)
            wb_conn_free(&e->conns[i]); /* fd -1, in NULL: fine for one never initialized */
    free(e->conns);
    free(e->parked);
    if (e->epfd >= 0)
        close(e->epfd);
    memset(e, 0, sizeof(*e));
    e->epfd = -1;
}

/* ---- outcomes ---- */

static bool counted(const wb_engine *e, const wb_conn *c)
{
    return c->req.intended_ns >= e->measure_ns;
}

/* Hands the outcome of c's request to the stats and the source; c is no longer busy. */
static void finish(wb_engine *e, wb_conn *c, int status, enum wb_err err, uint64_t now)
{
    wb_res res = {.status = status, .err = err};
    wb_stats *st = e->run->stats;

    res.latency_us = now > c->req.intended_ns ? (now - c->req.intended_ns) / 1000 : 0;
    if (status != 0) {
        res.body = c->in + c->resp.body_off;
        res.body_len = c->resp.body_len;
        e->last_progress_ns = now;
    }
    if (st != NULL) {
        if (status != 0)
            wb_stats_response(st, c->req.kind, status, res.latency_us, counted(e, c));
        else
            wb_stats_error(st, (int)c->req.kind, err, counted(e, c));
    }
    e->busy--;
    c->state = WB_CONN_IDLE; /* for the moment; the caller reopens or reuses it */
    e->src->done(e->src->ctx, c->slot, &c->req, &res);
}

/* A connection-level error outside any request. */
static void conn_error(wb_engine *e, enum wb_err err, uint64_t now)
{
    if (e->run->stats != NULL)
        wb_stats_error(e->run->stats, -1, err, now >= e->measure_ns);
}

/* ---- connection life ---- */

static void dispatch(wb_engine *e, wb_conn *c, uint64_t now);

/* Opens c's socket now; a failure is a connect error and waits a backoff. */
static void reopen(wb_engine *e, wb_conn *c, uint64_t now);

/* Closes c; reopens it at once, or after a backoff when `backoff` (a failure). Nothing
 * is reopened once the run is stopping. */
static void restart(wb_engine *e, wb_conn *c, bool backoff, uint64_t now)
{
    wb_conn_close(c); /* a parked c stays on the list: unpark skips it until it is idle */
    if (e->stopping)
        return;
    if (!backoff) {
        reopen(e, c, now);
        return;
    }
    c->backoff_ns = c->backoff_ns ? c->backoff_ns * 2 : BACKOFF_MIN_NS;
    if (c->backoff_ns > BACKOFF_MAX_NS)
        c->backoff_ns = BACKOFF_MAX_NS;
    c->state = WB_CONN_WAIT;
    c->deadline_ns = now + c->backoff_ns;
}

static void connected(wb_engine *e, wb_conn *c, uint64_t now)
{
    e->last_progress_ns = now;
    dispatch(e, c, now);
}

static void reopen(wb_engine *e, wb_conn *c, uint64_t now)
{
    if (wb_conn_open(c, e->epfd, (const struct sockaddr *)&e->sa, e->salen) != 0) {
        conn_error(e, WB_ERR_CONNECT, now);
        restart(e, c, true, now);
        return;
    }
    c->deadline_ns = now + e->timeout_ns;
    if (c->state == WB_CONN_IDLE)
        connected(e, c, now);
}

/* A request failed on c without an answer: report it, then reopen c. */
static void fail(wb_engine *e, wb_conn *c, enum wb_err err, uint64_t now)
{
    bool backoff = c->answered == 0; /* a server that takes connections but never answers */

    finish(e, c, 0, err, now);
    restart(e, c, backoff, now);
}

/* ---- sending ---- */

static void park(wb_engine *e, wb_conn *c)
{
    if (!c->parked) {
        c->parked = true;
        e->parked[e->nparked++] = c->slot;
    }
}

/* Gives the idle connection c its next request, if one is due and the source has one. */
static void dispatch(wb_engine *e, wb_conn *c, uint64_t now)
{
    uint64_t intended = now;
    int rv;

    if (e->stopping || c->state != WB_CONN_IDLE)
        return;
    if (e->run->rate > 0) {
        if (c->next_k >= e->sched_k)
            return; /* nothing due for it; advance_schedule comes back */
        intended = e->t0_ns + (uint64_t)((double)c->next_k * e->period_ns);
        c->next_k += e->n;
    }
    if (!e->src->next(e->src->ctx, c->slot, &c->req)) {
        if (e->run->rate <= 0)
            park(e, c);
        return;
    }
    c->req.intended_ns = intended;
    c->req.sent_ns = now;
    e->busy++;
    if ((rv = wb_conn_send(c, e->epfd, e->authority)) != 0)
        fail(e, c, rv == -ENOSPC ? WB_ERR_PROTOCOL : WB_ERR_RESET, now);
}

/* Gives parked connections work again, after an answer may have given the source some. */
static void unpark(wb_engine *e, uint64_t now)
{
    while (e->nparked > 0 && !e->stopping) {
        wb_conn *c = &e->conns[e->parked[--e->nparked]];
        c->parked = false;
        dispatch(e, c, now);
        if (c->parked)
            break; /* the source has nothing more */
    }
}

/* Open loop: makes every request whose intended time has come due on its connection. */
static void advance_schedule(wb_engine *e, uint64_t now)
{
    for (;;) {
        uint64_t t = e->t0_ns + (uint64_t)((double)e->sched_k * e->period_ns);
        if (t > now || (e->end_ns && t >= e->end_ns))
            return;
        wb_conn *c = &e->conns[e->sched_k % e->n];
        e->sched_k++;
        dispatch(e, c, now);
    }
}

/* ---- receiving ---- */

/* c has something to read (an answer, a close, or an error). */
static void on_readable(wb_engine *e, wb_conn *c)
{
    bool eof;
    long n = wb_conn_read(c, &eof);
    uint64_t now = wb_now_ns();
    int rv;

    if (c->state == WB_CONN_IDLE) {
        /* Nothing asked: the server closes an idle connection, or talks out of turn. */
        if (n > 0)
            conn_error(e, WB_ERR_PROTOCOL, now);
        if (n != 0 || eof)
            restart(e, c, false, now);
        return;
    }
    if (n < 0) {
        fail(e, c, n == -EMSGSIZE || n == -ENOMEM ? WB_ERR_PROTOCOL : WB_ERR_RESET, now);
        return;
    }
    if ((rv = wb_conn_parse(c, eof)) == WB_HTTP_MORE)
        return;
    if (rv < 0) {
        fail(e, c, rv == -ECONNRESET ? WB_ERR_RESET : WB_ERR_PROTOCOL, now);
        return;
    }
    c->answered++;
    c->backoff_ns = 0;
    finish(e, c, c->resp.status, WB_ERR_COUNT, now);
    if (wb_conn_consume(c) != 0) {
        conn_error(e, WB_ERR_PROTOCOL, now);
        restart(e, c, false, now);
    } else if (c->resp.close || eof) {
        restart(e, c, false, now);
    } else {
        dispatch(e, c, now);
    }
    unpark(e, now);
}

static void on_event(wb_engine *e, const struct epoll_event *ev)
{
    unsigned slot = (unsigned)(ev->data.u64 & 0xffffffffu);
    wb_conn *c;
    uint64_t now;
    int rv;

    if (slot >= e->n)
        return;
    c = &e->conns[slot];
    if (c->fd < 0 || (uint32_t)(ev->data.u64 >> 32) != c->gen)
        return; /* for a socket closed earlier in this batch of events */
    switch (c->state) {
    case WB_CONN_CONNECTING:
        now = wb_now_ns();
        if ((rv = wb_conn_finish_connect(c, e->epfd)) != 0) {
            conn_error(e, WB_ERR_CONNECT, now);
            restart(e, c, true, now);
        } else {
            connected(e, c, now);
        }
        return;
    case WB_CONN_BUSY:
        if ((ev->events & EPOLLOUT) && c->out_off < c->out_len &&
            (rv = wb_conn_flush(c, e->epfd)) != 0) {
            fail(e, c, WB_ERR_RESET, wb_now_ns());
            return;
        }
        if (ev->events & (EPOLLIN | EPOLLERR | EPOLLHUP))
            on_readable(e, c);
        return;
    case WB_CONN_IDLE:
        if (ev->events & (EPOLLIN | EPOLLERR | EPOLLHUP))
            on_readable(e, c);
        return;
    default: return;
    }
}

/* ---- time ---- */

/* Times out requests and connects; reopens connections whose backoff is over. */
static void sweep(wb_engine *e, uint64_t now)
{
    for (unsigned i = 0; i < e->n; i++) {
        wb_conn *c = &e->conns[i];
        switch (c->state) {
        case WB_CONN_BUSY:
            if (now - c->req.sent_ns >= e->timeout_ns)
                fail(e, c, WB_ERR_TIMEOUT, now);
            break;
        case WB_CONN_CONNECTING:
            if (now >= c->deadline_ns) {
                conn_error(e, WB_ERR_CONNECT, now);
                restart(e, c, true, now);
            }
            break;
        case WB_CONN_WAIT:
            if (now >= c->deadline_ns && !e->stopping)
                reopen(e, c, now);
            break;
        default: break;
        }
    }
    e->next_sweep_ns = now + SWEEP_NS;
}

/* Once a second: closes the stats window (into the series once measuring) and prints
 * the progress line. */
static void tick(wb_engine *e)
{
    wb_stats *st = e->run->stats;
    uint64_t at = e->next_tick_ns;
    bool measuring = at > e->measure_ns;
    wb_series_row row;

    e->next_tick_ns += WB_NS_PER_S;
    (void)wb_stats_window(st, measuring ? (double)(at - e->measure_ns) / 1e9 : 0, 1.0, measuring,
                          &row);
    if (e->run->progress)
        wb_report_progress(stderr, e->run->label, (double)(at - e->t0_ns) / 1e9, &row,
                           st->errors_seen, !measuring);
}

/* Waits for events until the next thing due; returns epoll's count or -errno. */
static int wait_events(wb_engine *e, struct epoll_event *evs, uint64_t now)
{
    uint64_t until = e->next_sweep_ns;
    struct timespec ts;
    int n;

    if (e->run->stats != NULL && e->next_tick_ns < until)
        until = e->next_tick_ns;
    if (e->run->rate > 0 && !e->stopping) {
        uint64_t t = e->t0_ns + (uint64_t)((double)e->sched_k * e->period_ns);
        if (t < until)
            until = t;
    }
    if (e->end_ns && !e->stopping && e->end_ns < until)
        until = e->end_ns;
    until = until > now ? until - now : 0;
    ts.tv_sec = (time_t)(until / WB_NS_PER_S);
    ts.tv_nsec = (long)(until % WB_NS_PER_S);
    n = epoll_pwait2(e->epfd, evs, MAX_EVENTS, &ts, NULL);
    if (n < 0 && errno == ENOSYS) /* kernels before 5.11 */
        n = epoll_wait(e->epfd, evs, MAX_EVENTS, (int)((until + WB_NS_PER_MS - 1) / WB_NS_PER_MS));
    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    return n;
}

/* ---- a run ---- */

static void start(wb_engine *e, const wb_source *src, const wb_run *run)
{
    uint64_t now = wb_now_ns();

    e->src = src;
    e->run = run;
    e->busy = 0;
    e->nparked = 0;
    e->stopping = false;
    e->t0_ns = now;
    e->measure_ns = now + (uint64_t)(run->warmup_s * 1e9);
    e->end_ns = run->duration_s > 0 ? e->measure_ns + (uint64_t)(run->duration_s * 1e9) : 0;
    e->period_ns = run->rate > 0 ? 1e9 / run->rate : 0;
    e->sched_k = 0;
    e->next_sweep_ns = now + SWEEP_NS;
    e->next_tick_ns = now + WB_NS_PER_S;
    e->last_progress_ns = now;
    for (unsigned i = 0; i < e->n; i++) {
        wb_conn *c = &e->conns[i];
        c->parked = false;
        c->next_k = i;
        if (c->state == WB_CONN_DOWN || c->state == WB_CONN_WAIT)
            reopen(e, c, now);
        else
            dispatch(e, c, now);
    }
}

/* Ends a run: abandons what is still in flight, fills in the measured time and the
 * backlog. */
static void stop(wb_engine *e, uint64_t now)
{
    wb_stats *st = e->run->stats;
    uint64_t end = e->end_ns && now > e->end_ns ? e->end_ns : now;

    for (unsigned i = 0; i < e->n; i++) {
        wb_conn *c = &e->conns[i];
        if (c->state == WB_CONN_BUSY) {
            wb_conn_close(c);
            e->busy--;
        }
        if (st != NULL && e->run->rate > 0 && c->next_k < e->sched_k)
            st->unsent += (e->sched_k - c->next_k + e->n - 1) / e->n;
    }
    if (st != NULL)
        st->seconds = end > e->measure_ns ? (double)(end - e->measure_ns) / 1e9 : 0;
}

/* Is a batch run over: its source finished (or idle everywhere) and nothing in flight? */
static bool batch_over(const wb_engine *e)
{
    if (e->busy > 0)
        return false;
    return (e->src->finished != NULL && e->src->finished(e->src->ctx)) || e->nparked == e->n;
}

int wb_engine_run(wb_engine *e, const wb_source *src, const wb_run *run)
{
    struct epoll_event evs[MAX_EVENTS];
    bool batch = run->duration_s <= 0;
    uint64_t now;
    int rv = 0, n;

    start(e, src, run);
    for (;;) {
        if (e->stop != NULL && *e->stop) {
            rv = -EINTR;
            break;
        }
        now = wb_now_ns();
        if (run->stats != NULL && now >= e->next_tick_ns &&
            (!e->end_ns || e->next_tick_ns <= e->end_ns))
            tick(e);
        if (e->end_ns && now >= e->end_ns)
            e->stopping = true;
        if (e->stopping ? e->busy == 0 : batch && batch_over(e))
            break;
        /* Nothing in flight and nothing connected or answered for a timeout: give up. */
        if (batch && e->busy == 0 && now - e->last_progress_ns > e->timeout_ns) {
            rv = -ETIMEDOUT;
            break;
        }
        if (run->rate > 0 && !e->stopping)
            advance_schedule(e, now);
        if (now >= e->next_sweep_ns)
            sweep(e, now);
        if ((n = wait_events(e, evs, now)) < 0) {
            rv = n;
            break;
        }
        for (int i = 0; i < n; i++)
            on_event(e, &evs[i]);
    }
    stop(e, wb_now_ns());
    return rv;
}
