/* wb_hist: log-linear latency histogram (see wb_hist.h). */
#include "wb_hist.h"

#include <string.h>

#define SUB (1u << WB_HIST_SUB_BITS)

void wb_hist_reset(wb_hist *h)
{
    memset(h, 0, sizeof(*h));
    h->min = UINT64_MAX;
}

unsigned wb_hist_bucket(uint64_t us)
{
    unsigned msb, shift;

    if (us > WB_HIST_MAX_US)
        us = WB_HIST_MAX_US;
    if (us < SUB)
        return (unsigned)us;
    msb = 63u - (unsigned)__builtin_clzll(us);
    shift = msb - WB_HIST_SUB_BITS;
    /* (us >> shift) is in [SUB, 2 SUB): its low bits pick one of SUB buckets. */
    return ((shift + 1) << WB_HIST_SUB_BITS) + (unsigned)((us >> shift) - SUB);
}

uint64_t wb_hist_bucket_low(unsigned b)
{
    unsigned shift;

    if (b < SUB)
        return b;
    shift = (b >> WB_HIST_SUB_BITS) - 1;
    return (uint64_t)(SUB + (b & (SUB - 1))) << shift;
}

uint64_t wb_hist_bucket_high(unsigned b)
{
    unsigned shift;

    if (b < SUB)
        return b;
    shift = (b >> WB_HIST_SUB_BITS) - 1;
    return wb_hist_bucket_low(b) + ((uint64_t)1 << shift) - 1;
}

void wb_hist_record(wb_hist *h, uint64_t us)
{
    h->buckets[wb_hist_bucket(us)]++;
    h->count++;
    h->sum += us;
    if (us < h->min)
        h->min = us;
    if (us > h->max)
        h->max = us;
}

void wb_hist_merge(wb_hist *dst, const wb_hist *src)
{
    if (src->count == 0)
        return;
    for (unsigned i = 0; i < WB_HIST_BUCKETS; i++)
        dst->buckets[i] += src->buckets[i];
    dst->count += src->count;
    dst->sum += src->sum;
    if (src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
}

uint64_t wb_hist_quantile(const wb_hist *h, double q)
{
    uint64_t rank, seen = 0, v;

    if (h->count == 0)
        return 0;
    if (q <= 0)
        return h->min;
    if (q >= 1)
        return h->max;
    /* The smallest value with at least ceil(q * count) values at or below it. */
    rank = (uint64_t)(q * (double)h->count);
    if ((double)rank < q * (double)h->count)
        rank++;
    if (rank == 0)
        rank = 1;
    for (unsigned i = 0; i < WB_HIST_BUCKETS; i++) {
        seen += h->buckets[i];
        if (seen >= rank) {
            v = wb_hist_bucket_high(i);
            return v > h->max ? h->max : v < h->min ? h->min : v;
        }
    }
    return h->max;
}

double wb_hist_mean(const wb_hist *h)
{
    return h->count ? (double)h->sum / (double)h->count : 0.0;
}
