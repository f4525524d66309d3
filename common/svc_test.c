/* Unit tests of the services' shared helpers that need no Redis: input checks and the
 * reading of script replies (svc_check.h, svc_script.h). */
#include <stdio.h>
#include <string.h>

#include "svc_check.h"
#include "svc_script.h"
#include "validate.h"
#include "check.h"

/* A fresh call, as the server hands it to a handler. */
static rpc_call new_call(void)
{
    return (rpc_call){.method = "test.method", .status = WDM__STATUS__UNAVAILABLE};
}

static void test_check(void)
{
    rpc_call c = new_call();
    char long_id[70];

    CHECK(svc_check_id(&c, "item_id", "abc-_09") == 0);
    CHECK(c.status == WDM__STATUS__UNAVAILABLE); /* untouched on success */
    CHECK(svc_check_id(&c, "item_id", "") != 0);
    CHECK(c.status == WDM__STATUS__INVALID_ARGUMENT);
    CHECK(strcmp(c.error, "invalid item_id") == 0);
    memset(long_id, 'a', 65);
    long_id[65] = '\0';
    c = new_call();
    CHECK(svc_check_id(&c, "item_id", long_id) != 0);
    long_id[64] = '\0';
    CHECK(svc_check_id(&c, "item_id", long_id) == 0);
    CHECK(svc_check_id(&c, "item_id", "a/b") != 0);

    c = new_call();
    CHECK(svc_check_amount(&c, "amount", 1, 1) == 0);
    CHECK(svc_check_amount(&c, "amount", WDM_MAX_AMOUNT, 1) == 0);
    CHECK(c.status == WDM__STATUS__UNAVAILABLE);
    CHECK(svc_check_amount(&c, "amount", 0, 1) != 0);
    CHECK(c.status == WDM__STATUS__INVALID_ARGUMENT);
    CHECK(strcmp(c.error, "amount must be positive") == 0);
    c = new_call();
    CHECK(svc_check_amount(&c, "price", 0, 0) == 0);
    CHECK(svc_check_amount(&c, "price", -1, 0) != 0);
    CHECK(svc_check_amount(&c, "price", WDM_MAX_AMOUNT + 1, 0) != 0);
}

/* Builds a string element of a reply. */
static redisReply str_elem(const char *s)
{
    return (redisReply){.type = REDIS_REPLY_STRING, .str = (char *)s, .len = strlen(s)};
}

static void test_reply(void)
{
    redisReply e[5] = {
        {.type = REDIS_REPLY_INTEGER, .integer = 0},
        str_elem("9007199254740992"),
        str_elem("9007199254740993"),
        str_elem("-1"),
        {.type = REDIS_REPLY_INTEGER, .integer = 42},
    };
    redisReply *elems[5] = {&e[0], &e[1], &e[2], &e[3], &e[4]};
    redisReply r = {.type = REDIS_REPLY_ARRAY, .elements = 5, .element = elems};
    rpc_call c = new_call();
    const char *s;
    int64_t v;

    CHECK(svc_reply_int(&c, &r, 1, &v) == 0 && v == WDM_MAX_AMOUNT);
    CHECK(svc_reply_int(&c, &r, 4, &v) == 0 && v == 42);
    CHECK(svc_reply_int(&c, &r, 0, &v) == 0 && v == 0);
    CHECK(c.status == WDM__STATUS__UNAVAILABLE && c.error[0] == '\0');
    CHECK(svc_reply_int(&c, &r, 2, &v) != 0); /* above 2^53 */
    CHECK(svc_reply_int(&c, &r, 3, &v) != 0); /* negative */
    CHECK(svc_reply_int(&c, &r, 5, &v) != 0); /* missing */
    CHECK(strcmp(c.error, "internal error") == 0);
    CHECK(svc_reply_str(&c, &r, 1, &s) == 0 && strcmp(s, "9007199254740992") == 0);
    CHECK(svc_reply_str(&c, &r, 0, &s) != 0 && s == NULL);
}

static void test_fmt(void)
{
    char buf[SVC_INT_LEN];

    CHECK(strcmp(svc_fmt_int(buf, 0), "0") == 0);
    CHECK(strcmp(svc_fmt_int(buf, WDM_MAX_AMOUNT), "9007199254740992") == 0);
    CHECK(strcmp(svc_fmt_int(buf, INT64_MIN), "-9223372036854775808") == 0);
}

/* The idempotency TTL a caller asks for is clamped; none asked is the default. */
static void test_idem_ttl(void)
{
    CHECK(svc_idem_ttl(0) == SVC_IDEM_TTL_S);
    CHECK(svc_idem_ttl(600) == 600);
    CHECK(svc_idem_ttl(SVC_IDEM_TTL_MAX_S) == SVC_IDEM_TTL_MAX_S);
    CHECK(svc_idem_ttl(SVC_IDEM_TTL_MAX_S + 1) == SVC_IDEM_TTL_MAX_S);
    CHECK(svc_idem_ttl(UINT32_MAX) == SVC_IDEM_TTL_MAX_S);
}

int main(void)
{
    test_idem_ttl();
    test_check();
    test_reply();
    test_fmt();
    if (check_failures)
        fprintf(stderr, "svc_test: %d check_failures\n", check_failures);
    return check_failures ? 1 : 0;
}
