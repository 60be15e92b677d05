/* session: one client's life: front (SOCKS or HTTP request) -> route and dial (the path to the
 * target) -> reply -> pump (the relay), with one timer and one close path.
 *
 * States, and what is live in each:
 *   HANDSHAKE   client read (SOCKS messages), client write while front has bytes queued;
 *               a dial may already be connecting to the proxy when the route does not
 *               depend on the target; the timer bounds the handshake
 *   DIALING     the dial runs (its own timers); client read for early payload, held
 *               until the tunnel is open
 *   RELAY       the pump drives both streams; the SOCKS reply went into the pump ahead of
 *               the proxy's first bytes; the timer enforces idle and linger limits
 *   REPLY_FAIL  sending the failure reply, then draining until the client closes (so the
 *               reply is not lost to a reset), bounded by the timer
 *   FORWARD     an HTTP client's absolute-form request: forward drives both streams (the
 *               request to the proxy, the answer back); the timer bounds each stretch
 *               without progress (--reply-timeout); a kept-alive connection then goes
 *               back to HANDSHAKE for the next request, with the handshake timer
 * An HTTP proxy client (first byte a letter) goes through the same states with
 * front_http instead of front (src/session_http.c).
 * Everything ends in the one close path, which stops every watcher, stops the dial and the
 * pump, closes both streams, logs one line and frees the session. */
#ifndef SOCKS2HTTP_SESSION_H
#define SOCKS2HTTP_SESSION_H

#include <ev.h>
#include <stdint.h>
#include <sys/socket.h>

#include "bufpool.h"
#include "pipepool.h"
#include "pump.h"

struct generation;
struct peercred;
struct session;

/* What the sessions share, owned by whoever accepts them (the server). */
struct session_host {
	struct ev_loop *loop;
	struct bufpool pool;
	struct pipepool pipes;
	struct pump_ctx pump_ctx;      /* loop, pool, pipes (NULL without splice) */
	struct peercred *peercred;     /* owner lookups (one netlink socket on Linux) */
	struct generation *gen;        /* the current configuration */
	struct session *sessions;      /* live sessions, doubly linked */
	unsigned nsessions;
	uint64_t accepted;
	void (*closed)(struct session_host *h);     /* a session ended */
	void (*out_of_fds)(struct session_host *h); /* pause accepting for a while */
};

/* Takes ownership of the accepted fd (closes it on failure).  Returns 0 or -1. */
/* local is the listener's exact address, or NULL. */
int session_accept(struct session_host *h, int fd, const struct sockaddr *peer, socklen_t peerlen,
		   const struct sockaddr_storage *local);

/* The next live session after s, for walking the list. */
struct session *session_next(struct session *s);

/* Logs one line describing s (SIGUSR1). */
void session_report(struct session *s);

/* What status reports of a live session; the strings are the session's (valid until it
 * closes).  Rates are bytes per second since the previous describe of this session (since
 * it began, the first time): the relay does no per-byte work for them. */
struct session_info {
	const char *client, *target, *proxy;
	const char *state;       /* "handshake", "dialing/connecting", "relay", ... (in state_text) */
	char state_text[32];
	double age;              /* seconds */
	uint64_t up, down;       /* bytes client -> target, target -> client */
	double rate_up, rate_down;
};
void session_describe(struct session *s, struct session_info *out);

/* Closes a session from outside (shutdown); reason is logged. */
void session_abort(struct session *s, const char *reason);

#endif
