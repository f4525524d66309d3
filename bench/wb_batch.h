/* wb_batch: a batch of requests as an engine source: requests 0..n-1 made on demand by a
 * callback, plus follow-ups that answers queue (create a user, then add funds to it).
 * Setup, read-back and the consistency checkouts are batches.
 *
 * The first failure a callback reports (wb_batch_fail) stops the batch: nothing new goes
 * out, what is in flight is waited for, and wb_batch_run returns -EPROTO with the reason
 * in b->why. */
#ifndef WB_BATCH_H
#define WB_BATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "wb_engine.h"

typedef struct wb_batch wb_batch;

/* Fills req for item i (0..n-1). Returns 0, or a negative errno (which fails the batch). */
typedef int (*wb_batch_make_fn)(void *ctx, uint64_t i, wb_req *req);

/* Takes the answer to req (an item's or a follow-up's); may wb_batch_push follow-ups or
 * wb_batch_fail. */
typedef void (*wb_batch_done_fn)(void *ctx, wb_batch *b, const wb_req *req, const wb_res *res);

struct wb_batch {
    uint64_t n, made;
    wb_batch_make_fn make;
    wb_batch_done_fn done;
    void *ctx;
    wb_req *queue; /* follow-ups: a ring of qcap, malloc'd, grown on demand */
    size_t qhead, qlen, qcap;
    int err; /* 0, or the first failure */
    char why[512];
    wb_source src;
};

/* Sets b up for n items. Allocates nothing yet. */
void wb_batch_init(wb_batch *b, uint64_t n, wb_batch_make_fn make, wb_batch_done_fn done,
                   void *ctx);

/* Frees the follow-up queue. */
void wb_batch_free(wb_batch *b);

/* Queues a follow-up request (sent before further items). Returns 0, or a negative errno
 * (then the batch has failed too). */
int wb_batch_push(wb_batch *b, const wb_req *req);

/* Fails the batch (the first reason is kept). */
void wb_batch_fail(wb_batch *b, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Runs the batch on e to its end; answers are counted in stats (may be NULL; with
 * progress, a progress line a second). Returns 0, the engine's error (-EINTR,
 * -ETIMEDOUT, ...), or the error a callback failed the batch with (-EPROTO by default);
 * b->why says why in words. */
int wb_batch_run(wb_batch *b, wb_engine *e, wb_stats *stats, bool progress, const char *label);

#endif
