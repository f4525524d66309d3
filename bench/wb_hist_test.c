/* Unit test of wb_hist: bucket arithmetic, precision, quantiles, merging. */
#include "check.h"
#include "wb_hist.h"

#include <stdlib.h>

/* Every value lands in a bucket that holds it, buckets are contiguous, and a bucket is
 * at most 1/128 of its values wide. */
static void test_buckets(void)
{
    unsigned prev = 0;

    CHECK(wb_hist_bucket(0) == 0);
    CHECK(wb_hist_bucket(127) == 127);
    CHECK(wb_hist_bucket(128) == 128);
    CHECK(wb_hist_bucket(WB_HIST_MAX_US * 10) == wb_hist_bucket(WB_HIST_MAX_US));
    CHECK(wb_hist_bucket(WB_HIST_MAX_US) < WB_HIST_BUCKETS);
    for (uint64_t v = 1; v <= WB_HIST_MAX_US; v += 1 + v / 300) {
        unsigned b = wb_hist_bucket(v);
        uint64_t lo = wb_hist_bucket_low(b), hi = wb_hist_bucket_high(b);
        CHECK(lo <= v && v <= hi);
        CHECK((double)(hi - lo) <= (double)lo / 128.0 + 1e-9);
        CHECK(b >= prev);
        prev = b;
    }
    for (unsigned b = 1; b <= wb_hist_bucket(WB_HIST_MAX_US); b++)
        CHECK(wb_hist_bucket_low(b) == wb_hist_bucket_high(b - 1) + 1);
}

static void test_quantiles(void)
{
    wb_hist *h = malloc(sizeof(*h));

    wb_hist_reset(h);
    CHECK(wb_hist_quantile(h, 0.5) == 0);
    CHECK(wb_hist_mean(h) == 0.0);
    for (uint64_t v = 1; v <= 10000; v++) /* 1 us .. 10 ms, uniform */
        wb_hist_record(h, v);
    CHECK(h->count == 10000 && h->min == 1 && h->max == 10000);
    uint64_t p50 = wb_hist_quantile(h, 0.5), p99 = wb_hist_quantile(h, 0.99);
    CHECK(p50 >= 5000 && p50 <= 5000 * 1.01);
    CHECK(p99 >= 9900 && p99 <= 9900 * 1.01);
    CHECK(wb_hist_quantile(h, 1.0) == 10000);
    CHECK(wb_hist_quantile(h, 0.0) == 1);
    CHECK(wb_hist_quantile(h, 0.9999) <= 10000);
    CHECK(wb_hist_mean(h) > 5000.4 && wb_hist_mean(h) < 5000.6);

    /* small exact values */
    wb_hist_reset(h);
    wb_hist_record(h, 3);
    wb_hist_record(h, 3);
    wb_hist_record(h, 7);
    CHECK(wb_hist_quantile(h, 0.5) == 3);
    CHECK(wb_hist_quantile(h, 0.67) == 7);

    /* beyond the range: counted, max kept exact */
    wb_hist_reset(h);
    wb_hist_record(h, WB_HIST_MAX_US * 3);
    CHECK(h->max == WB_HIST_MAX_US * 3);
    CHECK(wb_hist_quantile(h, 0.5) == WB_HIST_MAX_US * 3 ||
          wb_hist_quantile(h, 0.5) >= WB_HIST_MAX_US);
    free(h);
}

static void test_merge(void)
{
    wb_hist *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b)), *all = malloc(sizeof(*all));

    wb_hist_reset(a);
    wb_hist_reset(b);
    wb_hist_reset(all);
    for (uint64_t v = 100; v < 200000; v = v * 11 / 10 + 1) {
        wb_hist_record((v & 1) ? a : b, v);
        wb_hist_record(all, v);
    }
    wb_hist_merge(a, b);
    CHECK(a->count == all->count && a->sum == all->sum);
    CHECK(a->min == all->min && a->max == all->max);
    for (double q = 0.1; q < 1.0; q += 0.1)
        CHECK(wb_hist_quantile(a, q) == wb_hist_quantile(all, q));
    wb_hist_reset(b);
    wb_hist_merge(a, b); /* an empty one changes nothing */
    CHECK(a->count == all->count && a->min == all->min);
    free(a);
    free(b);
    free(all);
}

int main(void)
{
    test_buckets();
    test_quantiles();
    test_merge();
    return check_status("wb_hist_test");
}
