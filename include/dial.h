/* dial: turns (route plan, target) into a connected byte stream, plus any bytes that came
 * after the last proxy's header, or into an outcome.
 *
 * For each step of the plan (route.h) it takes a spare connection or resolves the name
 * (a proxy's, or the target's for a direct step), connects with Happy Eyeballs (RFC 8305:
 * a second address after 250 ms), and for a proxy sends CONNECT and reads the answer; in a
 * chain each proxy is asked to CONNECT to the next one, the last to the target.  When a
 * step cannot be reached it marks the proxy down and goes on to the next step.  It never
 * sees the client.  The connect may start before the target is known
 * (dial_start without one, dial_set_target later): the proxy's TCP handshake then overlaps
 * the client's SOCKS handshake.
 *
 * States: RESOLVING (lookup pending) -> CONNECTING (one or two attempts) -> CONNECTED
 * (waiting for the target) -> REQUEST (CONNECT out, answer in) -> DONE.  RESOLVING,
 * CONNECTING and REQUEST have the dial's timer armed; while it waits for the target
 * (CONNECTED, or idle after the proxy closed an early connection) its owner's timer bounds it.
 *
 * done is called exactly once, as the last thing the dial does in a callback (the owner
 * may free the dial there); never from dial_start or dial_set_target. */
#ifndef SOCKS2HTTP_DIAL_H
#define SOCKS2HTTP_DIAL_H

#include <ev.h>
#include <stdint.h>

#include "auth.h"
#include "bufpool.h"
#include "chunked.h"
#include "generation.h"
#include "outcome.h"
#include "resolver.h"
#include "route.h"
#include "socks.h"
#include "stream.h"

/* What an observer (socks2http check) may hear of a dial's steps; info is, by event:
 * PROXY the struct upstream tried, RESOLVED the struct resolver_result, RESOLVE_FAILED and
 * CONNECT_FAILED a text, CONNECTED the proxy's struct sockaddr_storage, REPLY the proxy's
 * struct httpc_response (every answer, interim ones too). */
enum dial_event {
	DIAL_EV_PROXY,
	DIAL_EV_RESOLVED,
	DIAL_EV_RESOLVE_FAILED,
	DIAL_EV_CONNECTED,
	DIAL_EV_CONNECT_FAILED,
	DIAL_EV_REPLY,
	DIAL_EV_TLS,            /* info: a text, "TLSv1.3 resumed" or the failure */
	DIAL_EV_AUTH,           /* info: a text, the scheme chosen or why none */
};

struct negotiate_job;

struct dial {
	/* the only field dial_start keeps: the owner zeroes the struct (calloc, = {0}) and may
	 * set this before dial_start; NULL for tunnels */
	void (*event)(struct dial *d, enum dial_event ev, const void *info);
	struct ev_loop *loop;
	struct bufpool *pool;
	struct generation *gen; /* borrowed from the owner */
	const char *who;        /* the client, for log lines */
	void (*done)(struct dial *d, const struct outcome *o);
	void *data;             /* the owner's */

	uint8_t state;
	uint8_t have_target;
	uint8_t spare_tried, from_spare;
	uint8_t plan_pos;       /* next entry of plan to try */
	uint8_t hop;            /* chain: the proxy whose answer is awaited (index into plan) */
	uint8_t direct;         /* the current step is the target itself */
	int target_err;         /* a direct step's last failure (ENOENT: name not found) */
	uint8_t up_addr, alt_addr;
	uint8_t addr_idx;       /* next address of addrs to try */
	struct route_plan plan;
	unsigned proxy_idx;     /* the proxy being tried; valid once tried != 0 */
	unsigned tried;         /* proxies tried so far */
	struct stream *up;      /* the connection (or first attempt): the owner's stream */
	struct stream none;     /* what up points to once the connection was handed over */
	struct stream alt;      /* a second attempt in flight */
	ev_tstamp up_deadline, alt_deadline, next_attempt_at;
	ev_timer timer;
	struct resolver_waiter rw;
	struct resolver_result addrs;
	char *req;              /* the CONNECT request while it is being sent (wiped) */
	uint32_t req_len, req_off;
	struct buf rx;          /* the proxy's answer */
	size_t hdr_scan;
	int http_status;
	/* TLS to the proxy and authentication (the current hop) */
	uint8_t tls;            /* 0 plain, 1 handshake under way, 2 done, 3 done resumed */
	uint8_t tls_failed;     /* a proxy failed its TLS handshake (the outcome's reason) */
	uint8_t skipping;       /* a 407's body is being read before the next round */
	uint8_t queued;         /* authv is ready for the next request (on a new connection) */
	uint8_t pending;        /* enum auth_action to take once the 407's body is read */
	int tls_events;         /* what the handshake waits for */
	long long body_left;    /* the 407's body still to read; chunked: -1 less what was read */
	struct chunked body;
	struct auth_round ar;
	char *authv;            /* the next request's Proxy-Authorization (malloc'd, wiped) */
	struct negotiate_job *nj;
	uint8_t connect_only;   /* done once connected: no CONNECT (dial_start_connect) */
	uint8_t in_call;        /* inside dial_start or dial_set_target: done must wait */
	uint8_t deferred;       /* done is to be called from the timer */
	struct outcome result;  /* once done */
	char target[SOCKS_NAME_MAX + 10];
	char host[SOCKS_NAME_MAX + 1]; /* the target's host (no brackets) and port */
	uint16_t port;
};

/* Starts dialing; target may be NULL when the route does not depend on it (see
 * route_needs_target).  plan: the route (copied), or NULL for the default (the -x list).
 * up is the owner's stream (empty): the dial connects it and drives its watcher; on success
 * it stays connected and watched for reading, the callback still the dial's, and the owner
 * must take it over (stream_set_cb) before returning from done; on failure the dial has
 * closed it.  who and up must outlive the dial. */
void dial_start(struct dial *d, struct ev_loop *loop, struct bufpool *pool, struct generation *gen, const char *who,
		const char *target, const struct route_plan *plan, struct stream *up,
		void (*done)(struct dial *, const struct outcome *), void *data);

/* As dial_start with a target (for the route and the logs), but done as soon as the
 * proxy's connection is up, without CONNECT: for requests forwarded to the proxy in its
 * own protocol (absolute-form HTTP). */
void dial_start_connect(struct dial *d, struct ev_loop *loop, struct bufpool *pool, struct generation *gen,
			const char *who, const char *target, const struct route_plan *plan, struct stream *up,
			void (*done)(struct dial *, const struct outcome *), void *data);

/* Names the target of a dial started without one.  Returns 0. */
int dial_set_target(struct dial *d, const char *target);

/* The outcome of a dial that is done, else NULL. */
const struct outcome *dial_result(const struct dial *d);

/* After done with OUTCOME_OK: moves the bytes that followed the proxy's header into
 * leftover (empty on entry). */
void dial_take(struct dial *d, struct buf *leftover);

/* Stops everything and closes what the dial holds.  Safe after done, and twice. */
void dial_stop(struct dial *d);

/* The proxy being tried or used, "host:port", "direct", or "-". */
const char *dial_proxy_name(const struct dial *d);

/* For status reports: "resolving", "connecting", "connected", "proxy-reply", "done". */
const char *dial_state_name(const struct dial *d);

#endif
