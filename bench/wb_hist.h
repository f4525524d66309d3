/* wb_hist: a latency histogram with log-linear buckets (the HdrHistogram idea).
 *
 * Values are microseconds. Below 2^WB_HIST_SUB_BITS every value has its own bucket; above,
 * each power of two is cut into 2^WB_HIST_SUB_BITS equal buckets, so a bucket is at most
 * 1/128 (0.8%) of the values in it wide. The range is 0 .. WB_HIST_MAX_US (60 s); larger
 * values are counted in the last bucket (max still holds the true value). Fixed size, no
 * allocation: a record is an index computation and an increment. Two histograms merge by
 * adding their buckets, so per-second and per-kind histograms roll up into totals. */
#ifndef WB_HIST_H
#define WB_HIST_H

#include <stdint.h>

#define WB_HIST_SUB_BITS 7
#define WB_HIST_MAX_US   60000000ULL /* 60 s */
/* Enough buckets for WB_HIST_MAX_US: its top bit is bit 25, so 25 - 7 + 1 = 19 halvings
 * of 128 buckets above the 128 exact ones. */
#define WB_HIST_BUCKETS (20 << WB_HIST_SUB_BITS)

typedef struct wb_hist {
    uint64_t count;
    uint64_t sum; /* of the recorded (unclamped) values, for the mean */
    uint64_t min; /* UINT64_MAX while empty */
    uint64_t max;
    uint64_t buckets[WB_HIST_BUCKETS];
} wb_hist;

/* Empties h. */
void wb_hist_reset(wb_hist *h);

/* Counts one value (microseconds). */
void wb_hist_record(wb_hist *h, uint64_t us);

/* Adds every value of src to dst. */
void wb_hist_merge(wb_hist *dst, const wb_hist *src);

/* The value below or at which a fraction q (0..1) of the values lie: the upper end of the
 * bucket holding that rank, never above max. 0 when h is empty. */
uint64_t wb_hist_quantile(const wb_hist *h, double q);

/* The mean of the values, 0 when empty. */
double wb_hist_mean(const wb_hist *h);

/* Bucket arithmetic, exposed for the unit test: the bucket of a value, and the lowest and
 * highest value a bucket holds. */
unsigned wb_hist_bucket(uint64_t us);
uint64_t wb_hist_bucket_low(unsigned b);
uint64_t wb_hist_bucket_high(unsigned b);

#endif
