/* net_listen: a listening TCP socket on an address given as text, as the settings give
 * it (WDM_METRICS_ADDR, WDM_ADMIN_ADDR). */
#ifndef WDM_NET_LISTEN_H
#define WDM_NET_LISTEN_H

#include <stdbool.h>
#include <stdint.h>

/* Listens on addr: "host:port", "[v6]:port" or ":port" (every address); host is a name
 * or a numeric address; port 0 picks a free one. The socket is non-blocking and
 * close-on-exec, with SO_REUSEADDR, and SO_REUSEPORT when reuseport (processes or
 * threads sharing the port). Binds the first of addr's addresses, or the next when the
 * system lacks that family or address.
 * Returns 0 and sets *fd (the caller's to close) and *port (the bound port), -EINVAL for
 * a malformed or unknown address, or the negative errno of socket, bind or listen. */
int net_listen(const char *addr, bool reuseport, int backlog, int *fd, uint16_t *port);

#endif
