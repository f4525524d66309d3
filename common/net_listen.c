/* net_listen: a listening socket from "host:port" (see net_listen.h). */
#include "net_listen.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Splits "host:port" (host may be empty or "[v6]") into host ("": every address) and
 * port (1 to 5 digits, at most 65535). Returns 0 or -EINVAL. */
static int split_addr(const char *addr, char *host, size_t size, const char **port)
{
    const char *colon = strrchr(addr, ':');
    size_t len, digits;

    if (colon == NULL)
        return -EINVAL;
    digits = strspn(colon + 1, "0123456789");
    if (digits == 0 || digits > 5 || colon[1 + digits] != '\0' || atol(colon + 1) > 65535)
        return -EINVAL;
    *port = colon + 1;
    len = (size_t)(colon - addr);
    if (len >= 2 && addr[0] == '[' && addr[len - 1] == ']') {
        addr++;
        len -= 2;
    }
    if (len >= size)
        return -EINVAL;
    memcpy(host, addr, len);
    host[len] = '\0';
    return 0;
}

/* Opens a socket for ai and makes it listen. Returns the descriptor or a negative errno. */
static int listen_one(const struct addrinfo *ai, bool reuseport, int backlog)
{
    int fd, on = 1, rv;

    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == 0 &&
        (!reuseport || setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) == 0) &&
        bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, backlog) == 0)
        return fd;
    rv = -errno;
    close(fd);
    return rv;
}

int net_listen(const char *addr, bool reuseport, int backlog, int *fd, uint16_t *port)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res;
    struct sockaddr_storage sa;
    socklen_t sa_len = sizeof(sa);
    char host[256];
    const char *service;
    int s = -EADDRNOTAVAIL, rv;

    if ((rv = split_addr(addr, host, sizeof(host), &service)) != 0)
        return rv;
    if (getaddrinfo(host[0] != '\0' ? host : NULL, service, &hints, &res) != 0)
        return -EINVAL;
    /* The next address only when this one's family or address is not there: any other
     * failure (EADDRINUSE above all) is the answer, lest ":8000" taken on 0.0.0.0 end
     * up listening on [::] alone. */
    for (const struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next)
        if ((s = listen_one(ai, reuseport, backlog)) >= 0 ||
            (s != -EAFNOSUPPORT && s != -EADDRNOTAVAIL))
            break;
    freeaddrinfo(res);
    if (s < 0)
        return s;
    if (getsockname(s, (struct sockaddr *)&sa, &sa_len) != 0) {
        rv = -errno;
        close(s);
        return rv;
    }
    *fd = s;
    *port = ntohs(sa.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&sa)->sin6_port
                                           : ((struct sockaddr_in *)&sa)->sin_port);
    return 0;
}
