/* store_sentinels_test: the Sentinel list, and which address a majority names. */
#include <errno.h>
#include <stdbool.h>

#include "check.h"
#include "store_sentinels.h"

/* An address; port 0 is a Sentinel that named none. */
static store_addr at(const char *host, int port)
{
    store_addr a = {.port = port};

    snprintf(a.host, sizeof(a.host), "%s", host);
    return a;
}

static void test_majority(void)
{
    store_addr a = at("10.0.0.1", 6379), b = at("10.0.0.2", 6379), none = at("", 0);
    size_t best;

    /* All three agree; two of three (one dead, or one lying) still decide. */
    CHECK(store_sentinels_majority((store_addr[]){a, a, a}, 3, &best) == 0 && best == 3);
    CHECK(store_sentinels_majority((store_addr[]){none, a, a}, 3, &best) == 1 && best == 2);
    CHECK(store_sentinels_majority((store_addr[]){b, a, a}, 3, &best) == 1 && best == 2);
    CHECK(store_sentinels_majority((store_addr[]){a, b, a}, 3, &best) == 0 && best == 2);

    /* One answer of three is no majority: counted against those configured, not those
     * that answered. Nor is a split, or one Sentinel still naming the old master while
     * another names the new one and the third is down. */
    CHECK(store_sentinels_majority((store_addr[]){a, none, none}, 3, &best) == -1 && best == 1);
    CHECK(store_sentinels_majority((store_addr[]){a, b, none}, 3, &best) == -1 && best == 1);
    CHECK(store_sentinels_majority((store_addr[]){none, none, none}, 3, &best) == -1 && best == 0);

    /* Half is not more than half. */
    CHECK(store_sentinels_majority((store_addr[]){a, a, b, b}, 4, &best) == -1 && best == 2);
    CHECK(store_sentinels_majority((store_addr[]){a, a, a, b}, 4, &best) == 0 && best == 3);
    CHECK(store_sentinels_majority((store_addr[]){b, a, none, a, a}, 5, &best) == 1 && best == 3);

    /* The same host on another port, or another spelling of a host, is another address. */
    CHECK(store_sentinels_majority((store_addr[]){a, at("10.0.0.1", 6380), a}, 3, &best) == 0 &&
          best == 2);
    CHECK(store_sentinels_majority((store_addr[]){a, at("10.0.0.1", 6380), at("host-1", 6379)}, 3,
                                   &best) == -1);

    /* One Sentinel alone decides only when it is the only one configured. */
    CHECK(store_sentinels_majority((store_addr[]){a}, 1, &best) == 0 && best == 1);
    CHECK(store_sentinels_majority((store_addr[]){none}, 1, &best) == -1 && best == 0);
    CHECK(store_sentinels_majority(NULL, 0, &best) == -1 && best == 0);
}

static void test_parse(void)
{
    store_addr s[4];
    char why[STORE_WHY_MAX];
    size_t n;

    CHECK(store_sentinels_parse("sentinel-1:26379,sentinel-2:26379,10.1.2.3:1", s, 4, &n, why,
                                sizeof(why)) == 0);
    CHECK(n == 3);
    CHECK_STR(s[0].host, "sentinel-1");
    CHECK(s[0].port == 26379);
    CHECK_STR(s[2].host, "10.1.2.3");
    CHECK(s[2].port == 1);
    CHECK(store_sentinels_parse("[::1]:26379", s, 4, &n, why, sizeof(why)) == 0);
    CHECK(n == 1);
    CHECK_STR(s[0].host, "::1");
    CHECK(s[0].port == 26379);

    /* What a service refuses to start with (the reason says which entry). */
    CHECK(store_sentinels_parse("", s, 4, &n, why, sizeof(why)) == -EINVAL);
    CHECK(store_sentinels_parse(NULL, s, 4, &n, why, sizeof(why)) == -EINVAL);
    CHECK(store_sentinels_parse("a:1,,b:2", s, 4, &n, why, sizeof(why)) == -EINVAL);
    CHECK(store_sentinels_parse("a:1,", s, 4, &n, why, sizeof(why)) == -EINVAL);
    CHECK(store_sentinels_parse("sentinel-1", s, 4, &n, why, sizeof(why)) == -EINVAL);
    CHECK_STR(why, "'sentinel-1' is not host:port");
    CHECK(store_sentinels_parse(":26379", s, 4, &n, why, sizeof(why)) == -EINVAL);
    CHECK(store_sentinels_parse("a:", s, 4, &n, why, sizeof(why)) == -EINVAL);
    CHECK(store_sentinels_parse("a:0", s, 4, &n, why, sizeof(why)) == -EINVAL);
    CHECK(store_sentinels_parse("a:65536", s, 4, &n, why, sizeof(why)) == -EINVAL);
    CHECK(store_sentinels_parse("a:99999999999999999999", s, 4, &n, why, sizeof(why)) == -EINVAL);
    CHECK(store_sentinels_parse("a:12x", s, 4, &n, why, sizeof(why)) == -EINVAL);
    CHECK(store_sentinels_parse("a:-1", s, 4, &n, why, sizeof(why)) == -EINVAL);
    CHECK(store_sentinels_parse("a:1,b:2,c:3,d:4,e:5", s, 4, &n, why, sizeof(why)) == -EINVAL);
    CHECK_STR(why, "more than 4 Sentinels");
    /* Listed twice, one Sentinel would be two votes. */
    CHECK(store_sentinels_parse("a:1,b:2,a:1", s, 4, &n, why, sizeof(why)) == -EINVAL);
    CHECK_STR(why, "a:1 is listed twice");
    CHECK(store_sentinels_parse("a:1,a:2", s, 4, &n, why, sizeof(why)) == 0 && n == 2);
    {
        char list[STORE_HOST_MAX + 16];

        memset(list, 'h', STORE_HOST_MAX);
        snprintf(list + STORE_HOST_MAX, 16, ":26379");
        CHECK(store_sentinels_parse(list, s, 4, &n, why, sizeof(why)) == -EINVAL);
        snprintf(list + STORE_HOST_MAX - 1, 16, ":26379");
        CHECK(store_sentinels_parse(list, s, 4, &n, why, sizeof(why)) == 0 && n == 1);
    }
}

int main(void)
{
    test_majority();
    test_parse();
    return check_status("store_sentinels_test");
}
