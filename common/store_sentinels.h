/* store_sentinels: where a store's Redis master is, as a majority of its Sentinels says.
 *
 * A Sentinel that answers is not trusted alone: one that was tampered with (a
 * SENTINEL MONITOR pointing at somebody's Redis) or that has not yet heard of a failover
 * would send the service to the wrong server. So store asks every configured Sentinel
 * (store_sentinels_ask: all at once, AUTH first) and uses an address only when more
 * than half of the CONFIGURED Sentinels name it (store_sentinels_majority): one dead or
 * lying Sentinel of three changes nothing; two that disagree with the third, or one
 * still naming the old master during a failover, mean no answer yet (store retries).
 *
 * store_sentinels.c holds the pure part (the list, the count), store_sentinels_ask.c
 * the I/O. */
#ifndef WDM_STORE_SENTINELS_H
#define WDM_STORE_SENTINELS_H

#include <stdbool.h>
#include <stddef.h>

#define STORE_SENTINELS_MAX 16
#define STORE_HOST_MAX      256
#define STORE_WHY_MAX       160

/* A host and port; port 0 means "none" (a Sentinel that named no master). */
typedef struct store_addr {
    char host[STORE_HOST_MAX];
    int port;
} store_addr;

/* True when a and b are the same address: host (byte for byte) and port. */
bool store_addr_equal(const store_addr *a, const store_addr *b);

/* Parses "host:port,host:port,..." (WDM_SENTINELS; an IPv6 host in brackets) into
 * out[max], *n entries.
 * Returns 0, or -EINVAL with the reason in why[why_size] for an empty list or entry, a
 * port that is not 1..65535, a host too long, more than max entries, or a Sentinel
 * listed twice (it would count twice towards a majority). */
int store_sentinels_parse(const char *list, store_addr *out, size_t max, size_t *n, char *why,
                          size_t why_size);

/* Counts the answers: named[i] is the address Sentinel i of the n configured ones named
 * (port 0: none). Sets *best to the largest number of Sentinels that named one same
 * address (store_addr_equal; 0 when none named any). Returns the index of an answer
 * named by more than n / 2 Sentinels, or -1 when no address has such a majority. */
int store_sentinels_majority(const store_addr *named, size_t n, size_t *best);

/* Asks each of the n (<= STORE_SENTINELS_MAX) Sentinels of list where master `name` is,
 * all at once: connects
 * to every one, sends AUTH password (unless password is NULL or "") and
 * SENTINEL get-master-addr-by-name in one write, and collects the answers for at most
 * timeout_ms in all. Stops early once a majority names one address, or once none can.
 * named[i] (n entries) gets Sentinel i's answer; when it has none (port 0), why[i] says
 * why (unreachable, refused AUTH, does not know the master, no answer in time).
 * Returns 0 (whatever the Sentinels said) or -ENOMEM. */
int store_sentinels_ask(const store_addr *list, size_t n, const char *name, const char *password,
                        int timeout_ms, store_addr *named, char (*why)[STORE_WHY_MAX]);

#endif
