/* tunnel: one SOCKS client's life, from accept to the single close path.
 *
 * States, and what is live in each:
 *   HANDSHAKE   client fd reading the SOCKS greeting/request; writing method replies
 *   RESOLVING   waiting for the proxy's addresses (resolver waiter); client read (early data)
 *   CONNECTING  non-blocking connect to one proxy address (upstream write); client read
 *   PROXY_REPLY CONNECT being written / response header being read; client read
 *   RELAY       both fds, both directions (pump), SOCKS reply sent ahead of upstream bytes
 *   REPLY_FAIL  upstream gone; sending the failure reply, then draining until the client
 *               closes (so the reply is not lost to a reset), bounded by a timer
 * Every state has the one timer armed (none in RELAY without idle timeout).  Everything
 * ends in tunnel_close(), which stops all watchers, detaches the lookup, closes both fds,
 * logs one line and frees the tunnel. */
#ifndef SOCKS2HTTP_TUNNEL_H
#define SOCKS2HTTP_TUNNEL_H

#include <sys/socket.h>

struct server;
struct tunnel;

/* Takes ownership of the accepted fd (closes it on failure).  Returns 0 or -1. */
int tunnel_accept(struct server *srv, int fd, const struct sockaddr *peer, socklen_t peerlen);

/* The next live tunnel after t (the server's list), for walking it. */
struct tunnel *tunnel_next(struct tunnel *t);

/* Logs one line describing t's state (SIGUSR1). */
void tunnel_report(struct tunnel *t);

/* Closes a tunnel from outside (shutdown).  reason is logged. */
void tunnel_abort(struct tunnel *t, const char *reason);

#endif
