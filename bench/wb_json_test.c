/* Unit test of wb_json: validation, walking objects and arrays, reading values, writing
 * strings. */
#include "check.h"
#include "wb_json.h"

#include <errno.h>
#include <stdlib.h>

static int check_str(const char *s, wb_json_val *v)
{
    return wb_json_check(s, strlen(s), v);
}

static void test_valid(void)
{
    static const char *good[] = {
        "{}",    "[]",   " {\"a\": 1} ",
        "\"x\"", "-0",   "1.5e-3",
        "true",  "null", "{\"a\": [1, {\"b\": [true, false, null]}], \"c\": \"\\u00e9\\n\\\"\"}",
    };
    static const char *bad[] = {
        "",
        "{",
        "{\"a\"}",
        "{\"a\": }",
        "{\"a\": 1,}",
        "[1,]",
        "[1 2]",
        "01",
        "1.",
        "-",
        "tru",
        "\"unterminated",
        "\"bad \\x escape\"",
        "{} {}",
        "{a: 1}",
        "\"ctl \x01\"",
        "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]"
        "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
    };

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        CHECK(check_str(good[i], NULL) == 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rv = check_str(bad[i], NULL);
        if (rv == 0)
            fprintf(stderr, "accepted: %s\n", bad[i]);
        CHECK(rv == -EINVAL);
    }
}

static void test_order(void)
{
    const char *s =
        "{\"order_id\": \"o-1\", \"paid\": true, \"items\": [[\"i-9\", 2], [\"i-8\", 1]],"
        " \"user_id\": \"u\\u002d7\", \"total_cost\": 30}";
    wb_json_val obj, v, line, x;
    wb_json_iter it, li;
    char id[65];
    int64_t n, qty = 0;
    int lines = 0;

    CHECK(check_str(s, &obj) == 0 && obj.type == WB_JSON_OBJECT);
    CHECK(wb_json_find(&obj, "paid", &v) == 1 && v.type == WB_JSON_TRUE);
    CHECK(wb_json_find(&obj, "total_cost", &v) == 1 && wb_json_int(&v, &n) == 0 && n == 30);
    CHECK(wb_json_find(&obj, "user_id", &v) == 1 && wb_json_str_eq(&v, "u-7"));
    CHECK(wb_json_str(&v, id, sizeof(id)) == 3);
    CHECK_STR(id, "u-7");
    CHECK(wb_json_find(&obj, "missing", &v) == 0);
    CHECK(wb_json_find(&obj, "items", &v) == 1 && v.type == WB_JSON_ARRAY);
    CHECK(wb_json_iter_init(&it, &v) == 0);
    while (wb_json_next_elem(&it, &line) == 1) {
        lines++;
        CHECK(wb_json_iter_init(&li, &line) == 0);
        CHECK(wb_json_next_elem(&li, &x) == 1 && x.type == WB_JSON_STRING);
        CHECK(wb_json_next_elem(&li, &x) == 1 && wb_json_int(&x, &n) == 0);
        qty += n;
        CHECK(wb_json_next_elem(&li, &x) == 0);
    }
    CHECK(lines == 2 && qty == 3);

    /* members in order, with their count */
    int members = 0;
    wb_json_val k;
    CHECK(wb_json_iter_init(&it, &obj) == 0);
    while (wb_json_next_member(&it, &k, &v) == 1)
        members++;
    CHECK(members == 5);
    CHECK(wb_json_iter_init(&it, &v) != 0 || v.type == WB_JSON_OBJECT || v.type == WB_JSON_ARRAY);
}

static void test_values(void)
{
    wb_json_val v;
    int64_t n;
    char small[4];

    CHECK(check_str("-9007199254740992", &v) == 0 && wb_json_int(&v, &n) == 0 &&
          n == -9007199254740992LL);
    CHECK(check_str("9223372036854775807", &v) == 0 && wb_json_int(&v, &n) == 0 && n == INT64_MAX);
    CHECK(check_str("9223372036854775808", &v) == 0 && wb_json_int(&v, &n) == -EINVAL);
    CHECK(check_str("1.0", &v) == 0 && wb_json_int(&v, &n) == -EINVAL);
    CHECK(check_str("\"1\"", &v) == 0 && wb_json_int(&v, &n) == -EINVAL);
    CHECK(check_str("\"abcd\"", &v) == 0 && wb_json_str(&v, small, sizeof(small)) == -ENOSPC);
    CHECK(check_str("\"\\u00e9\"", &v) == 0 && wb_json_str(&v, small, sizeof(small)) == -EINVAL);
    CHECK(check_str("\"ab\"", &v) == 0 && !wb_json_str_eq(&v, "abc") && !wb_json_str_eq(&v, "a") &&
          wb_json_str_eq(&v, "ab"));
    CHECK(check_str("{\"a\":1}", &v) == 0 && wb_json_str(&v, small, sizeof(small)) == -EINVAL);
}

static void test_write(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    wb_json_val v;

    wb_json_fput_str(f, "say \"hi\"\\\n\t!");
    fclose(f);
    CHECK_STR(buf, "\"say \\\"hi\\\"\\\\\\n\\u0009!\"");
    CHECK(wb_json_check(buf, len, &v) == 0 && wb_json_str_eq(&v, "say \"hi\"\\\n\t!"));
    free(buf);
}

int main(void)
{
    test_valid();
    test_order();
    test_values();
    test_write();
    return check_status("wb_json_test");
}
