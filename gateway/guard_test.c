/* guard_test: the batch_init verdicts (guard.c). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "guard.h"

static int verdict(const gw_guard *g, const char *auth)
{
    return gw_guard_batch_init(g, auth, auth != NULL ? strlen(auth) : 0);
}

static void test_open_and_off(void)
{
    gw_guard open = {.batch_init_on = true}, off = {.batch_init_on = false};

    CHECK(verdict(&open, NULL) == 0);
    CHECK(verdict(&open, "Bearer whatever") == 0);
    CHECK(verdict(&off, NULL) == 404);
    off.token = "0123456789abcdef";
    off.token_len = 16;
    CHECK(verdict(&off, "Bearer 0123456789abcdef") == 404);  /* off beats a token */
}

static void test_token(void)
{
    gw_guard g = {.batch_init_on = true, .token = "0123456789abcdef", .token_len = 16};

    CHECK(verdict(&g, "Bearer 0123456789abcdef") == 0);
    CHECK(verdict(&g, "bearer 0123456789abcdef") == 0);
    CHECK(verdict(&g, NULL) == 401);
    CHECK(verdict(&g, "") == 401);
    CHECK(verdict(&g, "Bearer ") == 401);
    CHECK(verdict(&g, "Bearer 0123456789abcdeF") == 401);
    CHECK(verdict(&g, "Bearer 0123456789abcde") == 401);
    CHECK(verdict(&g, "Bearer 0123456789abcdef0") == 401);
    CHECK(verdict(&g, "Basic  0123456789abcdef") == 401);
    CHECK(verdict(&g, "Bearer  123456789abcdef") == 401);
    CHECK(verdict(&g, "0123456789abcdef") == 401);
}

static void test_configure(void)
{
    gw_guard g;

    unsetenv("WDM_BATCH_INIT");
    unsetenv("WDM_ADMIN_TOKEN");
    CHECK(gw_guard_configure(&g) == 0 && g.batch_init_on && g.token == NULL);
    setenv("WDM_BATCH_INIT", "0", 1);
    CHECK(gw_guard_configure(&g) == 0 && !g.batch_init_on);
    setenv("WDM_BATCH_INIT", "2", 1);
    CHECK(gw_guard_configure(&g) != 0);
    setenv("WDM_BATCH_INIT", "1", 1);
    setenv("WDM_ADMIN_TOKEN", "short", 1);
    CHECK(gw_guard_configure(&g) != 0);
    setenv("WDM_ADMIN_TOKEN", "0123456789 abcdef", 1);
    CHECK(gw_guard_configure(&g) != 0);
    setenv("WDM_ADMIN_TOKEN", "0123456789abcdef", 1);
    CHECK(gw_guard_configure(&g) == 0 && g.batch_init_on && g.token_len == 16);
}

int main(void)
{
    test_open_and_off();
    test_token();
    test_configure();
    return check_status("guard_test");
}
