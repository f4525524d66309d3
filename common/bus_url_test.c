/* Unit tests of WDM_RABBITMQ_URL's parsing into a list of URLs (bus_url_split). */
#include "bus.h"

#include <errno.h>
#include <string.h>

#include "check.h"

/* True when u is exactly the string want. */
static bool url_is(const bus_url *u, const char *want)
{
    return u->len == strlen(want) && memcmp(u->s, want, u->len) == 0;
}

static void test_one(void)
{
    const char *list = "amqp://guest:guest@127.0.0.1:5672/";
    bus_url urls[4];

    CHECK(bus_url_split(list, urls, 4) == 1);
    CHECK(urls[0].s == list && url_is(&urls[0], list));
    CHECK(bus_url_split("amqp://h", urls, 4) == 1 && url_is(&urls[0], "amqp://h"));
}

static void test_list(void)
{
    bus_url urls[4];

    CHECK(bus_url_split("amqp://u:p@a:1/,amqp://u:p@b:2/,amqp://u:p@c:3/vh", urls, 4) == 3);
    CHECK(url_is(&urls[0], "amqp://u:p@a:1/"));
    CHECK(url_is(&urls[1], "amqp://u:p@b:2/"));
    CHECK(url_is(&urls[2], "amqp://u:p@c:3/vh"));
    /* Blanks around a URL are dropped. */
    CHECK(bus_url_split(" amqp://a:1/ ,\tamqp://b:2/\t", urls, 4) == 2);
    CHECK(url_is(&urls[0], "amqp://a:1/"));
    CHECK(url_is(&urls[1], "amqp://b:2/"));
    /* Exactly max fits. */
    CHECK(bus_url_split("amqp://a,amqp://b,amqp://c,amqp://d", urls, 4) == 4);
    CHECK(url_is(&urls[3], "amqp://d"));
}

static void test_malformed(void)
{
    bus_url urls[4];

    CHECK(bus_url_split("", urls, 4) == -EINVAL);
    CHECK(bus_url_split(" ", urls, 4) == -EINVAL);
    CHECK(bus_url_split(",", urls, 4) == -EINVAL);
    CHECK(bus_url_split("amqp://a:1/,", urls, 4) == -EINVAL);
    CHECK(bus_url_split(",amqp://a:1/", urls, 4) == -EINVAL);
    CHECK(bus_url_split("amqp://a:1/,,amqp://b:2/", urls, 4) == -EINVAL);
    CHECK(bus_url_split("http://a:1/", urls, 4) == -EINVAL);
    CHECK(bus_url_split("amqp://a:1/,a:2", urls, 4) == -EINVAL);
    CHECK(bus_url_split("amqp://a:port/", urls, 4) == -EINVAL);
    /* More than max. */
    CHECK(bus_url_split("amqp://a,amqp://b,amqp://c,amqp://d,amqp://e", urls, 4) == -EINVAL);
}

int main(void)
{
    test_one();
    test_list();
    test_malformed();
    return check_status("bus_url_test");
}
