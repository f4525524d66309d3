/* Unit tests of the API's input rules (validate.h). */
#include "validate.h"

#include <stdio.h>
#include <string.h>

#include "check.h"

static int parse(const char *s, int64_t *out)
{
    return validate_uint(s, strlen(s), out);
}

static void test_ids(void)
{
    char id[66];

    CHECK(validate_id("a", 1));
    CHECK(validate_id("Az09_-", 6));
    CHECK(!validate_id("", 0));
    CHECK(!validate_id("a.b", 3));
    CHECK(!validate_id("a b", 3));
    CHECK(!validate_id("a%20", 4));
    CHECK(!validate_id("a/b", 3));
    CHECK(!validate_id("\xc3\xa9", 2));
    memset(id, 'x', sizeof(id));
    CHECK(validate_id(id, 64));
    CHECK(!validate_id(id, 65));
    /* Only the given length counts, not what follows it. */
    CHECK(validate_id("ab/", 2));
}

static void test_numbers(void)
{
    int64_t v = -1;

    CHECK(parse("0", &v) == 0 && v == 0);
    CHECK(parse("42", &v) == 0 && v == 42);
    CHECK(parse("007", &v) == 0 && v == 7);
    CHECK(parse("9007199254740992", &v) == 0 && v == WDM_MAX_AMOUNT);
    CHECK(parse("9007199254740993", &v) != 0);
    CHECK(parse("99999999999999999999999", &v) != 0);
    CHECK(parse("-1", &v) != 0);
    CHECK(parse("+1", &v) != 0);
    CHECK(parse(" 1", &v) != 0);
    CHECK(parse("1 ", &v) != 0);
    CHECK(parse("1e3", &v) != 0);
    CHECK(parse("1.0", &v) != 0);
    CHECK(parse("0x10", &v) != 0);
    CHECK(parse("", &v) != 0);
}

static void test_idem_keys(void)
{
    char key[130];

    CHECK(validate_idem_key("abc-123:XYZ", 11));
    CHECK(!validate_idem_key("", 0));
    CHECK(!validate_idem_key("a b", 3));
    CHECK(!validate_idem_key("a\nb", 3));
    memset(key, 'k', sizeof(key));
    CHECK(validate_idem_key(key, 128));
    CHECK(!validate_idem_key(key, 129));
}

static void test_arithmetic(void)
{
    CHECK(validate_sum_fits(0, WDM_MAX_AMOUNT));
    CHECK(validate_sum_fits(WDM_MAX_AMOUNT - 1, 1));
    CHECK(!validate_sum_fits(WDM_MAX_AMOUNT, 1));
    CHECK(!validate_sum_fits(WDM_MAX_AMOUNT, WDM_MAX_AMOUNT));
    CHECK(validate_product_fits(0, WDM_MAX_AMOUNT));
    CHECK(validate_product_fits(2, WDM_MAX_AMOUNT / 2));
    CHECK(!validate_product_fits(2, WDM_MAX_AMOUNT / 2 + 1));
    CHECK(!validate_product_fits(WDM_MAX_AMOUNT, WDM_MAX_AMOUNT));
}

int main(void)
{
    test_ids();
    test_numbers();
    test_idem_keys();
    test_arithmetic();
    if (check_failures) {
        fprintf(stderr, "%d check(s) failed\n", check_failures);
        return 1;
    }
    printf("validate_test: all checks passed\n");
    return 0;
}
