/* wb_batch: made-on-demand requests plus follow-ups, as an engine source (see wb_batch.h). */
#include "wb_batch.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void wb_batch_init(wb_batch *b, uint64_t n, wb_batch_make_fn make, wb_batch_done_fn done, void *ctx)
{
    memset(b, 0, sizeof(*b));
    b->n = n;
    b->make = make;
    b->done = done;
    b->ctx = ctx;
}

void wb_batch_free(wb_batch *b)
{
    free(b->queue);
    b->queue = NULL;
    b->qhead = b->qlen = b->qcap = 0;
}

void wb_batch_fail(wb_batch *b, int err, const char *fmt, ...)
{
    va_list ap;

    if (b->err != 0)
        return;
    b->err = err ? err : -EPROTO;
    va_start(ap, fmt);
    vsnprintf(b->why, sizeof(b->why), fmt, ap);
    va_end(ap);
}

/* Doubles the ring, keeping its order. */
static int grow(wb_batch *b)
{
    size_t cap = b->qcap ? b->qcap * 2 : 64;
    wb_req *q = malloc(cap * sizeof(*q));

    if (q == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < b->qlen; i++)
        q[i] = b->queue[(b->qhead + i) % b->qcap];
    free(b->queue);
    b->queue = q;
    b->qcap = cap;
    b->qhead = 0;
    return 0;
}

int wb_batch_push(wb_batch *b, const wb_req *req)
{
    int rv;

    if (b->qlen == b->qcap && (rv = grow(b)) != 0) {
        wb_batch_fail(b, rv, "out of memory queueing %s", req->path);
        return rv;
    }
    b->queue[(b->qhead + b->qlen++) % b->qcap] = *req;
    return 0;
}

static bool batch_next(void *ctx, unsigned slot, wb_req *req)
{
    wb_batch *b = ctx;
    int rv;

    (void)slot;
    if (b->err != 0)
        return false;
    if (b->qlen > 0) {
        *req = b->queue[b->qhead];
        b->qhead = (b->qhead + 1) % b->qcap;
        b->qlen--;
        return true;
    }
    if (b->made == b->n)
        return false;
    if ((rv = b->make(b->ctx, b->made, req)) != 0) {
        wb_batch_fail(b, rv, "cannot make request %llu: %s", (unsigned long long)b->made,
                      strerror(-rv));
        return false;
    }
    b->made++;
    return true;
}

static void batch_done(void *ctx, unsigned slot, const wb_req *req, const wb_res *res)
{
    wb_batch *b = ctx;

    (void)slot;
    b->done(b->ctx, b, req, res);
}

static bool batch_finished(void *ctx)
{
    const wb_batch *b = ctx;

    return b->err != 0 || (b->qlen == 0 && b->made == b->n);
}

int wb_batch_run(wb_batch *b, wb_engine *e, wb_stats *stats, bool progress, const char *label)
{
    wb_run run = {.stats = stats, .label = label, .progress = progress && stats != NULL};
    int rv;

    b->src = (wb_source){batch_next, batch_done, batch_finished, b};
    rv = wb_engine_run(e, &b->src, &run);
    if (rv != 0 && b->err == 0)
        wb_batch_fail(b, rv, "%s",
                      rv == -ETIMEDOUT ? "no connection and no answer within the timeout"
                                       : strerror(-rv));
    return rv != 0 ? rv : b->err;
}
