/* store_calls: runs of script calls as one command (see store_calls.h). */
#include "store_calls.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int store_grow(void **p, size_t *cap, size_t need, size_t size)
{
    size_t n = *cap ? *cap : 64;
    void *q;

    if (need <= *cap)
        return 0;
    while (n < need)
        n *= 2;
    if ((q = realloc(*p, n * size)) == NULL)
        return -ENOMEM;
    *p = q;
    *cap = n;
    return 0;
}

/* Appends the n strings of s, each with its NUL, to c->buf. Returns 0 or -ENOMEM. */
static int calls_put(store_calls *c, int n, const char *const *s)
{
    for (int i = 0; i < n; i++) {
        size_t len = strlen(s[i]) + 1;
        if (store_grow((void **)&c->buf, &c->cap, c->len + len, 1) != 0)
            return -ENOMEM;
        memcpy(c->buf + c->len, s[i], len);
        c->len += len;
    }
    return 0;
}

int store_calls_add(store_calls *c, int nkeys, const char *const *keys, int nargs,
                    const char *const *args)
{
    size_t len = c->len;

    if (nkeys < 0 || nargs < 0)
        return -EINVAL;
    if (store_grow((void **)&c->counts, &c->counts_cap, 2 * c->n + 2, sizeof(*c->counts)) != 0 ||
        calls_put(c, nkeys, keys) != 0 || calls_put(c, nargs, args) != 0) {
        c->len = len;
        return -ENOMEM;
    }
    c->counts[2 * c->n] = (size_t)nkeys;
    c->counts[2 * c->n + 1] = (size_t)nargs;
    c->n++;
    return 0;
}

/* Adds the decimal v, written at nums + *at, as argument *argc. */
static void cmd_num(store_calls_cmd *cmd, size_t *at, size_t v)
{
    int len = sprintf(cmd->nums + *at, "%zu", v);

    cmd->argv[cmd->argc] = cmd->nums + *at;
    cmd->argvlen[cmd->argc++] = (size_t)len;
    *at += (size_t)len + 1;
}

int store_calls_cmd_make(const store_calls *c, const char *sha, const char *batch_sha,
                         store_calls_cmd *cmd)
{
    size_t strings = 0, nkeys = 0, at = 0, pos = 0, argc;
    bool batch = c->n > 1;
    int key, arg;

    if (c->n == 0)
        return -EINVAL;
    for (size_t i = 0; i < c->n; i++) {
        nkeys += c->counts[2 * i];
        strings += c->counts[2 * i] + c->counts[2 * i + 1];
    }
    /* EVALSHA sha numkeys keys... [n (nkeys nargs)...] args... */
    argc = 3 + strings + (batch ? 1 + 2 * c->n : 0);
    if (argc > INT_MAX)
        return -ENOMEM;
    *cmd = (store_calls_cmd){0};
    cmd->argv = malloc(argc * sizeof(*cmd->argv));
    cmd->argvlen = malloc(argc * sizeof(*cmd->argvlen));
    cmd->nums = malloc((2 + 2 * c->n) * 24);
    if (cmd->argv == NULL || cmd->argvlen == NULL || cmd->nums == NULL) {
        store_calls_cmd_free(cmd);
        return -ENOMEM;
    }
    cmd->argv[0] = "EVALSHA";
    cmd->argvlen[0] = 7;
    cmd->argv[1] = batch ? batch_sha : sha;
    cmd->argvlen[1] = strlen(cmd->argv[1]);
    cmd->argc = 2;
    cmd_num(cmd, &at, nkeys);
    key = 3;
    cmd->argc = 3 + (int)nkeys;
    if (batch) {
        cmd_num(cmd, &at, c->n);
        for (size_t i = 0; i < c->n; i++) {
            cmd_num(cmd, &at, c->counts[2 * i]);
            cmd_num(cmd, &at, c->counts[2 * i + 1]);
        }
    }
    arg = cmd->argc;
    for (size_t i = 0; i < c->n; i++) {
        for (size_t k = 0; k < c->counts[2 * i] + c->counts[2 * i + 1]; k++) {
            int *slot = k < c->counts[2 * i] ? &key : &arg;
            size_t len = strlen(c->buf + pos);
            cmd->argv[*slot] = c->buf + pos;
            cmd->argvlen[(*slot)++] = len;
            pos += len + 1;
        }
    }
    cmd->argc = (int)argc;
    return 0;
}

void store_calls_cmd_free(store_calls_cmd *cmd)
{
    free(cmd->argv);
    free(cmd->argvlen);
    free(cmd->nums);
    *cmd = (store_calls_cmd){0};
}

void store_calls_reset(store_calls *c)
{
    c->len = 0;
    c->n = 0;
}

void store_calls_free(store_calls *c)
{
    free(c->buf);
    free(c->counts);
    *c = (store_calls){0};
}
