/* store_calls_test: the command a run of script calls becomes. */
#include <stdlib.h>
#include <errno.h>

#include "check.h"
#include "store_calls.h"

/* cmd's arguments joined by spaces (the caller's to free). */
static char *joined(const store_calls_cmd *cmd)
{
    size_t n = 1;
    char *s, *p;

    for (int i = 0; i < cmd->argc; i++)
        n += cmd->argvlen[i] + 1;
    if ((s = p = calloc(1, n)) == NULL)
        return NULL;
    for (int i = 0; i < cmd->argc; i++) {
        CHECK(strlen(cmd->argv[i]) == cmd->argvlen[i]);
        p += sprintf(p, "%s%s", i ? " " : "", cmd->argv[i]);
    }
    return s;
}

int main(void)
{
    store_calls c = STORE_CALLS_INIT;
    store_calls_cmd cmd;
    char *s;

    CHECK(store_calls_cmd_make(&c, "one", "many", &cmd) == -EINVAL);

    /* One call: the script itself. */
    CHECK(store_calls_add(&c, 2, (const char *[]){"k1", "k2"}, 1, (const char *[]){"a1"}) == 0);
    CHECK(store_calls_cmd_make(&c, "one", "many", &cmd) == 0);
    CHECK_STR(s = joined(&cmd), "EVALSHA one 2 k1 k2 a1");
    free(s);
    store_calls_cmd_free(&cmd);

    /* Several: every key, the counts, every arg; a call may have no keys or no args. */
    CHECK(store_calls_add(&c, 0, NULL, 2, (const char *[]){"b1", "b2"}) == 0);
    CHECK(store_calls_add(&c, 1, (const char *[]){"k3"}, 0, NULL) == 0);
    CHECK(store_calls_add(&c, -1, NULL, 0, NULL) == -EINVAL);
    CHECK(c.n == 3);
    CHECK(store_calls_cmd_make(&c, "one", "many", &cmd) == 0);
    CHECK_STR(s = joined(&cmd), "EVALSHA many 3 k1 k2 k3 3 2 1 0 2 1 0 a1 b1 b2");
    free(s);
    store_calls_cmd_free(&cmd);

    /* Reset keeps nothing of the run. */
    store_calls_reset(&c);
    CHECK(store_calls_add(&c, 1, (const char *[]){"x"}, 1, (const char *[]){""}) == 0);
    CHECK(store_calls_cmd_make(&c, "one", "many", &cmd) == 0);
    CHECK_STR(s = joined(&cmd), "EVALSHA one 1 x ");
    free(s);
    store_calls_cmd_free(&cmd);
    store_calls_free(&c);
    return check_status("store_calls_test");
}
