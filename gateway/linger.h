/* linger: every connection the gateway ends closes gracefully, so that the client reads
 * the last answer before it sees the end.
 *
 * h2o 2.2 closes a connection's socket as soon as its last answer is written, even when
 * the client is still sending (a 413 for a body over the limit, a 400 for a bad request
 * line, both sent before the body is read). Bytes that reach a closed socket make the
 * kernel answer with a reset, and a reset can destroy the answer in the client's
 * receive buffer before the client reads it. So each accepted connection gets a second
 * descriptor of the same socket that h2o does not know of; when h2o closes its own, the
 * socket lives on through ours: its sending side is shut down (the client sees the end
 * after the answer), and what the client still sends is read and thrown away until it
 * closes, or until a bound on time or bytes is reached. nginx calls this a lingering
 * close. */
#ifndef GW_LINGER_H
#define GW_LINGER_H

#include "gateway.h"

/* A connection lingers this long at most, and this long without a byte from the client,
 * and reads at most this many bytes, before it is closed. */
#define GW_LINGER_MS 30000
#define GW_LINGER_IDLE_MS 5000
#define GW_LINGER_BYTES (64u << 20)

/* Per-thread state: the idle timer list. Set up on the loop thread. */
void gw_linger_init(gw_thread *t);

/* Makes sock, just accepted on t's loop, linger when h2o closes it, and counts it in
 * t->metrics->connections until then; `over_cap` marks a connection accepted past the
 * connection cap (gw_linger_over_cap). Takes the socket's on_close callback (h2o leaves
 * it to the owner of a server socket). Returns 0, or a negative errno (EMFILE at the
 * descriptor limit): the socket then closes as h2o closes it, uncounted and unmarked,
 * and serves as usual. */
int gw_linger_watch(gw_thread *t, h2o_socket_t *sock, bool over_cap);

/* True when sock (a connection's socket, or NULL) was accepted past the cap. */
bool gw_linger_over_cap(h2o_socket_t *sock);

#endif
