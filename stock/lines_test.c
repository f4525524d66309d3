/* Unit tests of stock_lines_merge: checking a saga command's lines and summing them per
 * item (no Redis). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stock.h"
#include "validate.h"
#include "check.h"

/* Up to 8 lines built from parallel arrays, as the decoder would hand them over. */
typedef struct test_lines {
    Wdm__OrderLine line[8];
    Wdm__OrderLine *ptr[8];
    size_t n;
} test_lines;

static void lines_set(test_lines *t, size_t n, const char *const *ids, const int64_t *qty)
{
    t->n = n;
    for (size_t i = 0; i < n; i++) {
        t->line[i] = (Wdm__OrderLine)WDM__ORDER_LINE__INIT;
        t->line[i].item_id = (char *)ids[i];
        t->line[i].quantity = qty[i];
        t->ptr[i] = &t->line[i];
    }
}

/* The merged quantity of `id` in out[n], or -1 when it is not there exactly once. */
static int64_t merged(const stock_line *out, size_t n, const char *id)
{
    int64_t q = -1;
    int seen = 0;

    for (size_t i = 0; i < n; i++) {
        if (strcmp(out[i].item_id, id) == 0) {
            q = out[i].quantity;
            seen++;
        }
    }
    return seen == 1 ? q : -1;
}

static void test_empty(void)
{
    stock_line *out = (stock_line *)1;
    size_t n = 9;
    const char *why = NULL;

    CHECK(stock_lines_merge(NULL, 0, &out, &n, &why) == 0);
    CHECK(out == NULL && n == 0);
}

static void test_sums_duplicates(void)
{
    const char *ids[] = {"b", "a", "b", "c", "a", "b"};
    const int64_t qty[] = {1, 2, 3, 4, 5, 6};
    test_lines t;
    stock_line *out;
    size_t n;
    const char *why = NULL;

    lines_set(&t, 6, ids, qty);
    CHECK(stock_lines_merge(t.ptr, t.n, &out, &n, &why) == 0);
    CHECK(n == 3);
    CHECK(merged(out, n, "a") == 7);
    CHECK(merged(out, n, "b") == 10);
    CHECK(merged(out, n, "c") == 4);
    free(out);
}

static void test_single(void)
{
    const char *ids[] = {"only"};
    const int64_t qty[] = {WDM_MAX_AMOUNT};
    test_lines t;
    stock_line *out;
    size_t n;
    const char *why = NULL;

    lines_set(&t, 1, ids, qty);
    CHECK(stock_lines_merge(t.ptr, t.n, &out, &n, &why) == 0);
    CHECK(n == 1 && merged(out, n, "only") == WDM_MAX_AMOUNT);
    free(out);
}

/* Every bad line makes the whole command bad, and nothing is handed out. */
static void test_rejects(void)
{
    static const struct {
        const char *ids[2];
        int64_t qty[2];
    } bad[] = {
        {{"a", "b"}, {1, 0}},                  /* zero quantity */
        {{"a", "b"}, {-3, 1}},                 /* negative */
        {{"a", "b"}, {1, WDM_MAX_AMOUNT + 1}}, /* above 2^53 */
        {{"a", "a"}, {WDM_MAX_AMOUNT, 1}},     /* the sum is above 2^53 */
        {{"a", ""}, {1, 1}},                   /* empty id */
        {{"a", "b/c"}, {1, 1}},                /* not an id */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        test_lines t;
        stock_line *out = (stock_line *)1;
        size_t n = 9;
        const char *why = NULL;

        lines_set(&t, 2, bad[i].ids, bad[i].qty);
        CHECK(stock_lines_merge(t.ptr, t.n, &out, &n, &why) == -EINVAL);
        CHECK(out == NULL && n == 0 && why != NULL);
    }
}

int main(void)
{
    test_empty();
    test_sums_duplicates();
    test_single();
    test_rejects();
    if (check_failures) {
        fprintf(stderr, "%d check(s) failed\n", check_failures);
        return 1;
    }
    printf("stock_lines_test: all passed\n");
    return 0;
}
