/* store_sentinels: the Sentinel list and the majority count (see store_sentinels.h).
 * Pure: no I/O. */
#include "store_sentinels.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool store_addr_equal(const store_addr *a, const store_addr *b)
{
    return a->port == b->port && strcmp(a->host, b->host) == 0;
}

/* Parses one entry, s[len] ("host:port" or "[v6 address]:port"), into *out.
 * Returns 0 or -EINVAL (reason in why). */
static int parse_one(const char *s, size_t len, store_addr *out, char *why, size_t why_size)
{
    const char *colon = NULL, *host = s;
    size_t host_len;
    long port = 0;

    for (size_t i = 0; i < len; i++)
        if (s[i] == ':')
            colon = s + i;
    if (colon == NULL || colon == s || colon + 1 == s + len) {
        snprintf(why, why_size, "'%.*s' is not host:port", (int)len, s);
        return -EINVAL;
    }
    host_len = (size_t)(colon - s);
    if (host_len > 2 && host[0] == '[' && host[host_len - 1] == ']') {
        host++;
        host_len -= 2;
    }
    for (const char *p = colon + 1; p < s + len; p++) {
        if (*p < '0' || *p > '9' || port > 65535) {
            port = 0;
            break;
        }
        port = port * 10 + (*p - '0');
    }
    if (port < 1 || port > 65535) {
        snprintf(why, why_size, "'%.*s': the port is not 1..65535", (int)len, s);
        return -EINVAL;
    }
    if (host_len >= sizeof(out->host)) {
        snprintf(why, why_size, "'%.40s...': the host name is too long", s);
        return -EINVAL;
    }
    memcpy(out->host, host, host_len);
    out->host[host_len] = '\0';
    out->port = (int)port;
    return 0;
}

int store_sentinels_parse(const char *list, store_addr *out, size_t max, size_t *n, char *why,
                          size_t why_size)
{
    const char *p = list;
    int rv;

    *n = 0;
    if (list == NULL || list[0] == '\0') {
        snprintf(why, why_size, "no Sentinel listed");
        return -EINVAL;
    }
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);

        if (*n == max) {
            snprintf(why, why_size, "more than %zu Sentinels", max);
            return -EINVAL;
        }
        if ((rv = parse_one(p, len, &out[*n], why, why_size)) != 0)
            return rv;
        for (size_t i = 0; i < *n; i++) {
            if (store_addr_equal(&out[i], &out[*n])) {
                snprintf(why, why_size, "%s:%d is listed twice", out[i].host, out[i].port);
                return -EINVAL;
            }
        }
        (*n)++;
        if (end == NULL)
            return 0;
        p = end + 1;
    }
}

int store_sentinels_majority(const store_addr *named, size_t n, size_t *best)
{
    int found = -1;

    *best = 0;
    for (size_t i = 0; i < n; i++) {
        size_t votes = 0;

        if (named[i].port == 0)
            continue;
        for (size_t j = 0; j < n; j++)
            if (store_addr_equal(&named[i], &named[j]))
                votes++;
        if (votes > *best) {
            *best = votes;
            if (votes * 2 > n)
                found = (int)i;
        }
    }
    return found;
}
