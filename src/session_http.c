/* session_http: an HTTP proxy client's turns within a session (see include/session.h and
 * include/front_http.h): its request read by front_http, CONNECT dialed like a SOCKS
 * request, an absolute-form request carried by forward over a connect-only dial, and
 * kept-alive connections going back to reading the next request. */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "forward.h"
#include "front_http.h"
#include "generation.h"
#include "httpc.h"
#include "log.h"
#include "session.h"
#include "session_int.h"
#include "upstream.h"
#include "wipe.h"


/* A forwarded request ended: the next one on a kept-alive connection, or the end. */
static void forward_done(struct forward *f, enum forward_end end, int err)
{
	static const char *const reasons[] = {"done", "closed", "client-error", "bad-http-request", "upstream-error",
					      "upstream-error", "out-of-memory", "retry"};
	struct session *s = f->data;
	if (end == FORWARD_RETRY) { /* the proxy asked for Basic: the request again, with it */
		log_debug("%s: proxy %s asked for Basic: %s %s again", s->client_text, proxy_name(s), f->req.method,
			  s->target);
		stream_close(s->host->loop, &s->up);
		stream_set_cb(s->host->loop, &s->client, session_client_cb, s);
		ev_timer_stop(s->host->loop, &s->timer); /* the dial's timers take over */
		s->state = S_DIALING;
		if (session_route(s, 1) == 0)
			session_watch_client(s);
		return;
	}
	s->http->status = f->status;
	s->http_status = f->status;
	if (err != 0)
		log_debug("%s: forward: %s: %s", s->client_text, reasons[end], strerror(err));
	if (end != FORWARD_KEEP && end != FORWARD_CLOSE && end != FORWARD_ERR_UPSTREAM && end != FORWARD_ERR_BODY) {
		session_close(s, reasons[end]);
		return;
	}
	if (end == FORWARD_KEEP || end == FORWARD_CLOSE) {
		/* one line per forwarded request, with its bytes, while the forward has them */
		if (log_enabled(LOG_LVL_INFO))
			session_log_summary(s, reasons[end]);
		s->logged = 1;
	}
	if (end == FORWARD_ERR_UPSTREAM)
		log_warn("%s: proxy %s failed the request for %s before answering", s->client_text, proxy_name(s),
			 s->target);
	forward_stop(s->fwd);
	free(s->fwd);
	s->fwd = NULL;
	stream_close(s->host->loop, &s->up);
	stream_set_cb(s->host->loop, &s->client, session_client_cb, s);
	if (end != FORWARD_KEEP) {
		/* the answer is out: shut our side, then wait (bounded) for the client to close,
		 * so bytes it still sends do not turn our close into a reset that eats the answer */
		if (end != FORWARD_CLOSE)
			front_http_error(s->http, end == FORWARD_ERR_BODY ? 400 : 502,
					 end == FORWARD_ERR_BODY ? "malformed chunked body"
								 : "the upstream proxy failed the request");
		session_reply_fail(s, reasons[end]);
		return;
	}
	free(s->target);
	s->target = NULL;
	s->http_status = 0;
	s->proxy = NULL;
	s->requests++;
	s->state = S_HANDSHAKE;
	s->started = ev_now(s->host->loop);
	front_http_next(s->http);
	session_arm_timer(s, s->gen->cfg->handshake_timeout); /* bounds the wait for the next request */
	if (session_handshake(s) == 0) /* a pipelined request may be waiting in c2u */
		session_watch_client(s);
}

/* A 407 to a request sent without credentials to a proxy whose scheme was not known:
 * learn it as a CONNECT's 407 does; have the request again with Basic if that is what
 * it takes and the request can go again, else the 407 goes to the client. */
static int forward_407(struct forward *f, const char *hdr, size_t hdr_len, int again)
{
	struct session *s = f->data;
	struct upstream *u = s->fwd_up;
	struct auth_round r;
	char why[256] = "";
	char *value = malloc(AUTH_VALUE_MAX);
	if (value == NULL)
		return 0;
	memset(&r, 0, sizeof(r));
	enum auth_action a = auth_answer(&r, &u->mem, u->spec, s->gen->cfg->proxy_auth, hdr, hdr_len, s->target,
					 value, AUTH_VALUE_MAX, why, sizeof(why));
	wipe(value, AUTH_VALUE_MAX);
	free(value);
	if (a == AUTH_SEND && r.sent == HTTPC_AUTH_BASIC)
		return again; /* else learned for the next request */
	log_info("%s: proxy %s demands authentication for %s %s (407): %s", s->client_text, u->display,
		 s->fwd->req.method, s->target,
		 a == AUTH_GIVE_UP ? why : "it asks for a scheme a forwarded request cannot take (the 407 goes to the client)");
	return 0;
}

void session_http_forward(struct session *s, struct upstream *u)
{
	/* a forwarded request is answered to the client as it comes, so it cannot take
	 * rounds: it carries Basic once the proxy asked for Basic, never before (credentials
	 * leave only for a scheme the proxy asked for).  While the scheme is not known, a
	 * request that can be sent again (no body) goes without, and a 407 teaches it */
	const char *auth = NULL;
	s->fwd_up = u;
	s->fwd->on_407 = NULL;
	if (u != NULL && u->auth != NULL)
		forward_forget_client_auth(s->fwd); /* ours, or none: never the client's */
	if (u != NULL && u->auth != NULL && (s->gen->cfg->proxy_auth & HTTPC_AUTH_BASIC)) {
		if (u->mem.scheme == HTTPC_AUTH_BASIC) {
			auth = u->auth;
			s->auth = HTTPC_AUTH_BASIC; /* for the summary line */
		}
		else if (u->mem.scheme == 0)
			s->fwd->on_407 = forward_407;
	}
	s->state = S_FORWARD;
	if (forward_start(s->fwd, s->host->loop, &s->host->pool, &s->client, &s->up, &s->c2u, auth, u == NULL,
			  s->gen->cfg->max_header, forward_done) < 0) {
		log_error("%s: no memory for the request to %s", s->client_text, s->target);
		stream_set_cb(s->host->loop, &s->client, session_client_cb, s);
		front_http_error(s->http, 503, "out of memory");
		session_reply_fail(s, "out-of-memory");
		return;
	}
	session_arm_timer(s, s->gen->cfg->reply_timeout);
}

/* An HTTP proxy client: front_http instead of front. */
int session_http_begin(struct session *s)
{
	struct sockaddr_storage ss;
	socklen_t l = sizeof(ss);
	uint16_t port = 0; /* the listener's, for the PAC file */
	if (getsockname(s->client.fd, (struct sockaddr *)&ss, &l) == 0)
		port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						      : ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port : 0);
	s->http = malloc(sizeof(*s->http));
	if (s->http == NULL)
		return -1;
	front_http_init(s->http, (enum access_verdict)s->front.verdict, port, s->client_text);
	return 0;
}

int session_http_handshake(struct session *s)
{
	const char *reason = "bad-http-request";
	size_t used = 0;
	char target[HTTPREQ_HOST_MAX + 10];
	const char *p = s->c2u.data + s->c2u.start;
	size_t len = buf_len(&s->c2u);
	int full = len >= s->host->pool.size;
	enum front_http_event ev = len ? front_http_feed(s->http, s->gen->cfg, p, len, full, &used, target,
							 sizeof(target), &reason)
				       : FRONT_HTTP_MORE;
	if (ev != FRONT_HTTP_MORE)
		s->logged = 0; /* a new request: a new summary line */
	switch (ev) {
	case FRONT_HTTP_MORE:
		if (s->client_eof) {
			session_close(s, s->requests ? "closed" : "client-closed-in-handshake");
			return -1;
		}
		return 0;
	case FRONT_HTTP_ANSWER:
	case FRONT_HTTP_FAIL:
		return session_reply_fail(s, reason);
	case FRONT_HTTP_FORWARD:
		s->fwd = malloc(sizeof(*s->fwd));
		if (s->fwd == NULL || forward_prepare(s->fwd, p, &s->http->req, s->http->verdict != ACCESS_AUTH, s) < 0) {
			free(s->fwd);
			s->fwd = NULL;
			front_http_error(s->http, 503, "out of memory");
			return session_reply_fail(s, "out-of-memory");
		}
		break;
	case FRONT_HTTP_CONNECT:
		break;
	}
	s->c2u.start += (uint32_t)used;
	buf_release(&s->host->pool, &s->c2u, 0);
	log_debug("%s: HTTP %s %s", s->client_text, s->http->req.method, target);
	s->target = strdup(target);
	if (s->target == NULL) {
		front_http_error(s->http, 503, "out of memory");
		return session_reply_fail(s, "out-of-memory");
	}
	ev_timer_stop(s->host->loop, &s->timer); /* the dial's timers take over */
	s->state = S_DIALING;
	return session_route(s, s->fwd != NULL);
}

