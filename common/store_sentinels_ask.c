/* store_sentinels_ask: asks every Sentinel at once where a master is (see
 * store_sentinels.h). One non-blocking hiredis context per Sentinel, all polled together,
 * so the answer takes as long as the slowest Sentinel a majority needs, never the sum. */
#include "store_sentinels.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "metrics.h"

/* One Sentinel being asked. */
typedef struct ask {
    redisContext *c; /* NULL once it has answered or failed */
    bool written;    /* the commands are all sent */
    int replies;     /* replies still to read: AUTH's (when sent), then the question's */
} ask;

/* Takes reply r (freed here) from the Sentinel that a asks; named and why are that
 * Sentinel's. Returns true when it is done with: it named an address (*named) or
 * failed (why). */
static bool ask_take(ask *a, redisReply *r, const char *name, store_addr *named, char *why)
{
    bool last = --a->replies == 0;

    if (r->type == REDIS_REPLY_ERROR) {
        /* A refused AUTH, or NOAUTH to the question: the first error is the reason. */
        snprintf(why, STORE_WHY_MAX, "%s", r->str);
        freeReplyObject(r);
        return true;
    }
    if (last) {
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
            r->element[0]->type != REDIS_REPLY_STRING ||
            r->element[1]->type != REDIS_REPLY_STRING) {
            snprintf(why, STORE_WHY_MAX, "does not know master %s", name);
        } else if (r->element[0]->len >= sizeof(named->host) || atoi(r->element[1]->str) <= 0 ||
                   atoi(r->element[1]->str) > 65535) {
            snprintf(why, STORE_WHY_MAX, "names an unusable address for %s", name);
        } else {
            memcpy(named->host, r->element[0]->str, r->element[0]->len + 1);
            named->port = atoi(r->element[1]->str);
            why[0] = '\0';
        }
    }
    freeReplyObject(r);
    return last;
}

/* Moves the asking of a's Sentinel on after poll reported `revents`: sends what is left
 * to send, reads what came. Returns true when it is done with (see ask_take). */
static bool ask_step(ask *a, short revents, const char *name, store_addr *named, char *why)
{
    redisContext *c = a->c;
    void *r;
    int done;

    if (!a->written && (revents & (POLLOUT | POLLERR | POLLHUP))) {
        if (redisBufferWrite(c, &done) != REDIS_OK)
            goto fail;
        a->written = done;
    }
    if (revents & (POLLIN | POLLERR | POLLHUP)) {
        if (redisBufferRead(c) != REDIS_OK)
            goto fail;
        for (;;) {
            if (redisGetReply(c, &r) != REDIS_OK)
                goto fail;
            if (r == NULL)
                return false;
            if (ask_take(a, r, name, named, why))
                return true;
        }
    }
    return false;
fail:
    snprintf(why, STORE_WHY_MAX, "%s", c->errstr[0] ? c->errstr : "connection failed");
    return true;
}

/* Starts asking one Sentinel: a non-blocking connect with both commands queued.
 * Returns 0 (a->c set, or why set when it failed at once) or -ENOMEM. */
static int ask_start(ask *a, const store_addr *s, const char *name, const char *password, char *why)
{
    const char *auth[] = {"AUTH", password};
    const char *question[] = {"SENTINEL", "get-master-addr-by-name", name};

    a->written = false;
    a->replies = 0;
    if ((a->c = redisConnectNonBlock(s->host, s->port)) == NULL)
        return -ENOMEM;
    if (a->c->err)
        goto fail;
    if (password != NULL && password[0] != '\0') {
        if (redisAppendCommandArgv(a->c, 2, auth, NULL) != REDIS_OK)
            goto fail;
        a->replies++;
    }
    if (redisAppendCommandArgv(a->c, 3, question, NULL) != REDIS_OK)
        goto fail;
    a->replies++;
    return 0;
fail:
    snprintf(why, STORE_WHY_MAX, "%s", a->c->errstr[0] ? a->c->errstr : "cannot connect");
    redisFree(a->c);
    a->c = NULL;
    return 0;
}

/* True when no address can win a majority any more: even if every Sentinel still
 * pending named the leading one, it would not be more than half. */
static bool ask_hopeless(size_t best, size_t pending, size_t n)
{
    return (best + pending) * 2 <= n;
}

int store_sentinels_ask(const store_addr *list, size_t n, const char *name, const char *password,
                        int timeout_ms, store_addr *named, char (*why)[STORE_WHY_MAX])
{
    ask asks[STORE_SENTINELS_MAX];
    struct pollfd fds[STORE_SENTINELS_MAX];
    size_t at[STORE_SENTINELS_MAX]; /* fds[k] is Sentinel at[k] */
    uint64_t deadline;
    size_t pending = 0, best = 0;
    bool last = false;
    int rv = 0;

    if (n > STORE_SENTINELS_MAX)
        n = STORE_SENTINELS_MAX;
    for (size_t i = 0; i < n; i++) {
        named[i].host[0] = '\0';
        named[i].port = 0;
        why[i][0] = '\0';
        asks[i].c = NULL;
    }
    for (size_t i = 0; i < n && rv == 0; i++)
        rv = ask_start(&asks[i], &list[i], name, password, why[i]);
    for (size_t i = 0; i < n; i++)
        pending += asks[i].c != NULL;
    /* The budget starts once every connect is under way: hiredis resolves a name with a
     * blocking getaddrinfo, and a slow lookup of one Sentinel must not use up the time
     * the others' answers need. */
    deadline = metrics_now_ns() + (uint64_t)timeout_ms * 1000000u;

    while (rv == 0 && pending > 0 && !last && store_sentinels_majority(named, n, &best) < 0 &&
           !ask_hopeless(best, pending, n)) {
        uint64_t now = metrics_now_ns();
        size_t k = 0;
        int ready;

        /* Past the deadline, one more look (poll with no wait) at what has arrived. */
        last = now >= deadline;
        for (size_t i = 0; i < n; i++) {
            if (asks[i].c == NULL)
                continue;
            fds[k] = (struct pollfd){.fd = asks[i].c->fd,
                                     .events = POLLIN | (asks[i].written ? 0 : POLLOUT)};
            at[k++] = i;
        }
        /* Rounded up, so a wait never ends a little before the deadline. */
        ready = poll(fds, k, last ? 0 : (int)((deadline - now + 999999) / 1000000));
        if (ready < 0 && errno != EINTR) {
            for (size_t j = 0; j < k; j++)
                snprintf(why[at[j]], STORE_WHY_MAX, "poll: %s", strerror(errno));
            break;
        }
        for (size_t j = 0; ready > 0 && j < k; j++) {
            ask *a = &asks[at[j]];

            if (fds[j].revents == 0)
                continue;
            if (ask_step(a, fds[j].revents, name, &named[at[j]], why[at[j]])) {
                redisFree(a->c);
                a->c = NULL;
                pending--;
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (asks[i].c == NULL)
            continue;
        if (metrics_now_ns() >= deadline)
            snprintf(why[i], STORE_WHY_MAX, "no answer within %d ms", timeout_ms);
        else if (why[i][0] == '\0' && store_sentinels_majority(named, n, &best) >= 0)
            snprintf(why[i], STORE_WHY_MAX, "not waited for: a majority agreed");
        else if (why[i][0] == '\0')
            snprintf(why[i], STORE_WHY_MAX, "no answer yet, and no majority possible");
        redisFree(asks[i].c);
    }
    return rv;
}
