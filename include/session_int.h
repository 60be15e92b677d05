/* session_int: what session.c and session_http.c share: the session object and the steps
 * the HTTP client's sequencing reuses.  Private to session.c and session_http.c: nothing
 * else may include it. */
#ifndef SOCKS2HTTP_SESSION_INT_H
#define SOCKS2HTTP_SESSION_INT_H

#include <ev.h>

#include "dial.h"
#include "front.h"
#include "route.h"
#include "pump.h"
#include "stream.h"

struct upstream;

struct forward;
struct front_http;
struct session_host;
struct session_pac;

enum session_state { S_HANDSHAKE, S_DIALING, S_RELAY, S_REPLY_FAIL, S_FORWARD };

struct session {
	struct session_host *host;
	struct generation *gen;  /* configuration, proxies and resolver this session uses */
	struct session *prev, *next;
	uint8_t state;
	uint8_t client_eof;      /* before RELAY: the client sent FIN */
	uint8_t logged;          /* the summary line of the last forwarded request is out, and
				  * no request came since: closing adds none */
	uint8_t reply_len;       /* bytes of the SOCKS reply the pump sends ahead of the proxy's */
	uint8_t auth;            /* the scheme that opened the tunnel (HTTPC_AUTH_*), 0 none */
	uint8_t tls;             /* TLS to the proxy: 0 none, 1 full handshake, 2 resumed */
	struct route_brief route; /* the route taken, for the summary line (zero: the -x list) */
	int http_status;
	struct stream client;
	struct stream up;
	ev_timer timer;
	double relay_limit;      /* idle or linger seconds the RELAY timer enforces */
	ev_tstamp started;
	struct front front;
	struct front_http *http; /* an HTTP proxy client (first byte a letter) */
	struct forward *fwd;     /* an absolute-form request: prepared, then in S_FORWARD */
	struct upstream *fwd_up; /* the proxy it goes to (NULL: the origin) */
	uint32_t requests;       /* forwarded requests answered on this connection */
	struct dial *dial;       /* while dialing */
	struct session_pac *pac; /* while the PAC decides (S_DIALING without a dial) */
	struct pump pump;        /* in RELAY */
	struct buf c2u;          /* SOCKS messages, then early payload */
	const char *proxy;       /* display name of the proxy that answered */
	const char *fail_reason;
	char *target;            /* "host:port" once requested */
	char client_text[48];
	uint64_t sample_up, sample_down; /* bytes at the previous describe */
	ev_tstamp sample_at;
};

static inline const char *proxy_name(const struct session *s)
{
	if (s->dial != NULL)
		return dial_proxy_name(s->dial);
	return s->proxy ? s->proxy : "-";
}

/* session.c; functions returning int return -1 when the session was closed (freed) */
void session_close(struct session *s, const char *reason);
void session_arm_timer(struct session *s, double secs);
void session_log_summary(const struct session *s, const char *reason);
void session_watch_client(struct session *s);
int session_reply_fail(struct session *s, const char *reason);
int session_handshake(struct session *s);
void session_client_cb(struct ev_loop *loop, ev_io *w, int revents);
void session_dial_done(struct dial *d, const struct outcome *result);
/* Queues the failure answer for an outcome in the client's protocol. */
void session_reply_outcome(struct session *s, const struct outcome *o);
/* session_route.c */
/* Starts a dial (target NULL: before the client has named it; plan NULL: the -x list).
 * Returns -1 without memory (nothing started). */
int session_start_dial(struct session *s, const char *target, const struct route_plan *plan, int connect_only);
/* After a SOCKS greeting: the dial that needs no target, when the client may use us. */
void session_dial_early(struct session *s);
/* Stops a PAC question still open (session_close). */
void session_route_stop(struct session *s);
/* Decides the route for s->target and starts the dial (connect_only: for a forwarded
 * request).  Returns -1 when the session was closed. */
int session_route(struct session *s, int connect_only);

/* session_http.c: an HTTP proxy client (first byte a letter) */
int session_http_begin(struct session *s);
int session_http_handshake(struct session *s);
/* the connect-only dial for a forwarded request is done: the forward starts (origin: the
 * connection is to the origin server itself, a direct route) */
/* Carries the prepared request over s->up: to proxy u, or to the origin when u is NULL. */
void session_http_forward(struct session *s, struct upstream *u);

#endif
