/* Unit test of wb_json: which bodies are one JSON object, and the id and integer members
 * read from one, as the scenarios read the gateway's answers. */
#include "check.h"
#include "wb_json.h"

#include <errno.h>

static int parse(const char *s, json_t **obj)
{
    return wb_json_object(s, strlen(s), obj);
}

/* An answer is exactly one object; anything else is the gateway's error, not a crash. */
static void test_object(void)
{
    static const char *good[] = {
        "{}",
        " {\"a\": 1}\r\n",
        "{\"a\": [1, {\"b\": [true, false, null]}], \"c\": \"\\u00e9\\n\\\"\"}",
    };
    static const char *bad[] = {
        "",
        "{",
        "{\"a\"}",
        "{\"a\": }",
        "{\"a\": 1,}",
        "{\"a\": [1 2]}",
        "{\"a\": 01}",
        "{\"a\": tru}",
        "{\"a\": \"unterminated}",
        "{\"a\": \"bad \\x escape\"}",
        "{a: 1}",
        "{\"a\": \"ctl \x01\"}",
        "{} {}",                  /* more than one value */
        "{\"a\": 1, \"a\": 2}",   /* a key twice: which one would count? */
        "{\"a\": \"x\\u0000y\"}", /* a NUL would cut an id short */
        "{\"a\": \"\xff\"}",      /* not UTF-8 */
        "{\"a\": 9223372036854775808}",
        "[]", /* JSON, but not an object */
        "\"x\"",
        "1",
        "null",
    };
    json_t *obj;

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        obj = NULL;
        CHECK(parse(good[i], &obj) == 0 && json_is_object(obj));
        json_decref(obj);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        obj = NULL;
        int rv = parse(bad[i], &obj);
        if (rv == 0)
            fprintf(stderr, "accepted: %s\n", bad[i]);
        CHECK(rv == -EPROTO && obj == NULL);
    }
    /* the length bounds the body: it need not be NUL-terminated */
    CHECK(wb_json_object("{}garbage", 2, &obj) == 0);
    json_decref(obj);
}

static void test_id(void)
{
    json_t *obj;
    char id[8] = "keep";

    CHECK(parse("{\"order_id\": \"o-1\", \"user_id\": \"u\\u002d7\", \"empty\": \"\", \"n\": 7,"
                " \"long\": \"12345678\", \"max\": \"1234567\", \"null\": null}",
                &obj) == 0);
    CHECK(wb_json_id(obj, "order_id", id, sizeof(id)) == 0);
    CHECK_STR(id, "o-1");
    CHECK(wb_json_id(obj, "user_id", id, sizeof(id)) == 0); /* escapes are decoded */
    CHECK_STR(id, "u-7");
    CHECK(wb_json_id(obj, "max", id, sizeof(id)) == 0);
    CHECK_STR(id, "1234567");
    strcpy(id, "keep");
    CHECK(wb_json_id(obj, "long", id, sizeof(id)) == -EPROTO);
    CHECK(wb_json_id(obj, "empty", id, sizeof(id)) == -EPROTO);
    CHECK(wb_json_id(obj, "n", id, sizeof(id)) == -EPROTO);
    CHECK(wb_json_id(obj, "null", id, sizeof(id)) == -EPROTO);
    CHECK(wb_json_id(obj, "missing", id, sizeof(id)) == -EPROTO);
    CHECK_STR(id, "keep"); /* untouched by the failures */
    json_decref(obj);
}

static void test_int(void)
{
    json_t *obj;
    int64_t n = 42;

    CHECK(parse("{\"stock\": 30, \"min\": -9223372036854775808, \"max\": 9223372036854775807,"
                " \"zero\": -0, \"real\": 1.0, \"exp\": 1e3, \"str\": \"1\", \"t\": true}",
                &obj) == 0);
    CHECK(wb_json_int(obj, "stock", &n) == 0 && n == 30);
    CHECK(wb_json_int(obj, "min", &n) == 0 && n == INT64_MIN);
    CHECK(wb_json_int(obj, "max", &n) == 0 && n == INT64_MAX);
    CHECK(wb_json_int(obj, "zero", &n) == 0 && n == 0);
    n = 42;
    CHECK(wb_json_int(obj, "real", &n) == -EPROTO);
    CHECK(wb_json_int(obj, "exp", &n) == -EPROTO);
    CHECK(wb_json_int(obj, "str", &n) == -EPROTO);
    CHECK(wb_json_int(obj, "t", &n) == -EPROTO);
    CHECK(wb_json_int(obj, "missing", &n) == -EPROTO);
    CHECK(n == 42);
    json_decref(obj);
}

int main(void)
{
    test_object();
    test_id();
    test_int();
    return check_status("wb_json_test");
}
