/* wb_engine: the event loop. One thread, one epoll set, N keep-alive connections to one
 * server; requests come from a source (a scenario), answers go back to it.
 *
 * Closed loop (rate 0): a connection sends its next request as soon as the previous one
 * is answered. Open loop (rate R): request k is meant to go out at start + k/R, on
 * connection k mod N; a connection still busy sends it late, and its latency is counted
 * from the intended time, so a stall shows in the numbers instead of slowing the load
 * (no coordinated omission).
 *
 * A run either lasts a duration (a load) or until its source is finished and nothing is in
 * flight (a batch: setup, read-back, the consistency checkouts). Connections outlive runs:
 * one engine serves every phase of a scenario. Failed connects are retried with a backoff;
 * a connection the server closes is reopened. */
#ifndef WB_ENGINE_H
#define WB_ENGINE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "wb_conn.h"
#include "wb_stats.h"

/* What came back for a request. */
typedef struct wb_res {
    int status;       /* the HTTP status; 0 when no answer came (see err) */
    enum wb_err err;  /* why no answer, when status is 0 */
    const char *body; /* the body, when status != 0; valid only during the callback */
    size_t body_len;
    uint64_t latency_us;
} wb_res;

/* Where requests come from. */
typedef struct wb_source {
    /* Fills req's method, kind, path and cookie for the connection `slot`. Returns true
     * when it did, false when it has nothing to send now (the connection waits until some
     * request is answered; in an open loop that scheduled request is skipped). */
    bool (*next)(void *ctx, unsigned slot, wb_req *req);
    /* The outcome of a request next gave out. req is the engine's: copy what you keep. */
    void (*done)(void *ctx, unsigned slot, const wb_req *req, const wb_res *res);
    /* A batch source: true once it will never give out another request. NULL for a
     * load, which runs for its duration. */
    bool (*finished)(void *ctx);
    void *ctx;
} wb_source;

/* How to run a source. */
typedef struct wb_run {
    double duration_s; /* > 0: a load of that length (after the warm-up); 0: a batch */
    double warmup_s;   /* answers to requests sent in the warm-up are not counted */
    double rate;       /* requests per second in all (open loop); 0: closed loop */
    wb_stats *stats;   /* where answers are counted; NULL: nowhere (and no progress) */
    bool progress;     /* a progress line on stderr once a second */
    const char *label; /* names the run in the progress line */
} wb_run;

typedef struct wb_engine {
    int epfd;
    struct sockaddr_storage sa;
    socklen_t salen;
    char authority[WB_HTTP_HOST_MAX]; /* the Host header */
    wb_conn *conns;                   /* n of them, malloc'd */
    unsigned n;
    uint64_t timeout_ns;
    volatile sig_atomic_t *stop; /* the run ends (-EINTR) once *stop is non-zero */
    /* the run in progress */
    const wb_source *src;
    const wb_run *run;
    unsigned busy;    /* connections with a request in flight */
    unsigned *parked; /* slots of idle connections whose source had nothing */
    unsigned nparked;
    bool stopping; /* the duration is over: send nothing more */
    uint64_t t0_ns, measure_ns, end_ns;
    double period_ns; /* open loop: between two intended sends */
    uint64_t sched_k; /* open loop: requests due so far */
    uint64_t next_sweep_ns, next_tick_ns, last_progress_ns;
} wb_engine;

/* Sets up an engine for `conns` connections to url (resolved here, connected by the
 * first run), with a per-request timeout. *stop (may be NULL) is polled: a signal
 * handler sets it to end the run in progress. Returns 0, -EINVAL (bad URL),
 * -EHOSTUNREACH (the name does not resolve) or -ENOMEM; on failure nothing is left to
 * free. */
int wb_engine_init(wb_engine *e, const char *url, unsigned conns, uint64_t timeout_ms,
                   volatile sig_atomic_t *stop);

/* Closes every connection and frees the engine's memory. */
void wb_engine_free(wb_engine *e);

/* Runs src as run says. Requests still in flight when a run ends early are abandoned
 * (their connections closed). Sets run->stats->seconds to the measured time and counts
 * the open loop's unsent backlog there. Returns 0; -EINTR when *stop ended it;
 * -ETIMEDOUT when a batch made no progress (no connection, no answer) for the timeout;
 * or another negative errno from epoll. */
int wb_engine_run(wb_engine *e, const wb_source *src, const wb_run *run);

#endif
