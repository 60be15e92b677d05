/* dial: from route plan and target to a connected stream (see include/dial.h): the
 * sequence and the CONNECT exchange; the steps and connects are in dial_connect.c. */
#include "dial_int.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "httpc.h"
#include "log.h"
#include "negotiate.h"
#include "tls.h"
#include "wipe.h"

#define RX_SLACK 32   /* buffer room left free, so the client's reply fits ahead of the leftover */
#define BODY_MAX (1 << 20) /* a 407's body longer than this: a new connection instead */

void dial_tell(struct dial *d, enum dial_event ev, const void *info)
{
	if (d->event != NULL) /* an observer such as check; tunnels have none */
		d->event(d, ev, info);
}

const char *dial_proxy_name(const struct dial *d)
{
	if (d->direct)
		return "direct";
	return d->tried == 0 ? "-" : dial_cur(d)->display;
}

const char *dial_state_name(const struct dial *d)
{
	static const char *const names[] = {"waiting",   "resolving",      "connecting",  "tls-handshake",
					    "connected", "authenticating", "proxy-reply", "done"};
	return names[d->state];
}

void dial_arm_timer(struct dial *d, double secs)
{
	ev_timer_stop(d->loop, &d->timer);
	ev_timer_set(&d->timer, secs > 0.001 ? secs : 0.001, 0);
	ev_timer_start(d->loop, &d->timer);
}

static void wipe_request(struct dial *d)
{
	if (d->req != NULL)
		wipe(d->req, d->req_len); /* it may hold Proxy-Authorization */
	free(d->req);
	d->req = NULL;
	d->req_len = d->req_off = 0;
}

static void wipe_authv(struct dial *d)
{
	if (d->authv != NULL)
		wipe(d->authv, AUTH_VALUE_MAX);
	free(d->authv);
	d->authv = NULL;
}

void dial_forget_auth(struct dial *d)
{
	negotiate_cancel(d->nj);
	d->nj = NULL;
	wipe_authv(d);
	memset(&d->ar, 0, sizeof(d->ar));
	d->queued = 0;
	d->conn_lost = 0;
}

/* Closes the connection and any second attempt; the dial goes on from its state. */
void dial_drop_upstream(struct dial *d)
{
	stream_close(d->loop, &d->alt);
	stream_close(d->loop, d->up);
	wipe_request(d);
	buf_release(d->pool, &d->rx, 1);
	d->hdr_scan = 0;
	d->tls = 0;
	d->skipping = 0;
}

void dial_stop(struct dial *d)
{
	if (d->loop == NULL)
		return;
	ev_timer_stop(d->loop, &d->timer);
	if (d->gen != NULL)
		resolver_cancel(d->gen->resolver, &d->rw);
	negotiate_cancel(d->nj);
	d->nj = NULL;
	wipe_authv(d);
	dial_drop_upstream(d);
}

/* Ends the dial: the connection stays only for a success, for dial_take. */
static int finish(struct dial *d, struct outcome *o)
{
	ev_timer_stop(d->loop, &d->timer);
	resolver_cancel(d->gen->resolver, &d->rw);
	negotiate_cancel(d->nj);
	d->nj = NULL;
	stream_close(d->loop, &d->alt);
	wipe_request(d);
	wipe_authv(d);
	if (o->stage == OUTCOME_OK) {
		o->auth = d->ar.sent;
		o->tls = d->tls == 3 ? 2 : d->tls == 2 ? 1 : 0;
	}
	if (o->stage != OUTCOME_OK) {
		stream_close(d->loop, d->up);
		buf_release(d->pool, &d->rx, 1);
	} else {
		d->up = &d->none; /* the connection is the owner's now, watcher and all */
	}
	o->http_status = d->http_status;
	d->state = D_DONE;
	d->result = *o;
	if (d->in_call) { /* inside dial_start or dial_set_target: report from the loop */
		d->deferred = 1;
		dial_arm_timer(d, 0);
		return -1;
	}
	d->done(d, &d->result);
	return -1;
}

int dial_finish_with(struct dial *d, enum outcome_stage stage, int err, const char *reason)
{
	struct outcome o;
	memset(&o, 0, sizeof(o));
	o.stage = stage;
	o.err = err;
	o.reason = stage == OUTCOME_UNREACHABLE && d->tls_failed ? "tls-failed" : reason;
	return finish(d, &o);
}

/* What the current hop is asked to CONNECT to: in a chain the next proxy, else the target. */
static const char *authority(const struct dial *d)
{
	if (d->plan.kind == ROUTE_CHAIN && d->hop + 1 < d->plan.n)
		return d->gen->upstreams[d->plan.idx[d->hop + 1]].display;
	return d->target;
}

/* Does the dial end at the current hop's answer?  A connect-only dial through a chain ends
 * at the last proxy, which then gets the forwarded request itself. */
static int last_hop(const struct dial *d)
{
	if (d->plan.kind != ROUTE_CHAIN)
		return 1;
	return d->hop + 1u + (d->connect_only ? 1u : 0u) >= d->plan.n;
}

/* Sends CONNECT with authv (NULL: no credentials), on the connection that is up.  Returns
 * 0, or -1 when the dial ended. */
static int send_now(struct dial *d)
{
	size_t len;
	d->queued = 0;
	d->req = upstream_connect_request(authority(d), d->authv, d->gen->cfg->user_agent, &len);
	wipe_authv(d);
	if (d->req == NULL)
		return dial_finish_with(d, OUTCOME_LOCAL, ENOMEM, "out-of-memory");
	d->req_len = (uint32_t)len;
	d->req_off = 0;
	d->hdr_scan = 0;
	d->state = D_REQUEST;
	dial_arm_timer(d, d->gen->cfg->reply_timeout);
	ssize_t w = stream_write(d->up, d->req, d->req_len);
	if (w > 0)
		d->req_off = (uint32_t)w;
	dial_watch(d); /* a failed write shows on the read side */
	return 0;
}

static void negotiated(void *data, const char *token_b64, const char *err);

/* Goes on with what auth decided: send (now, or on a new connection when the last one is
 * gone), or make a Negotiate token first.  Returns 0, or -1 when the dial ended. */
static int act(struct dial *d, enum auth_action a, const char *why)
{
	const struct upstream *u = dial_cur(d);
	char err[256];

	if (a == AUTH_GIVE_UP) {
		log_warn("%s: proxy %s demands authentication for CONNECT %s (407): %s", d->who, u->display, d->target, why);
		dial_tell(d, DIAL_EV_AUTH, why);
		struct outcome o;
		memset(&o, 0, sizeof(o));
		o.stage = OUTCOME_PROXY_REPLY;
		o.reason = "proxy-auth-failed";
		return finish(d, &o);
	}
	if (a == AUTH_NONE)
		wipe_authv(d);
	if (a == AUTH_NEGOTIATE) {
		d->state = D_AUTH;
		dial_arm_timer(d, d->gen->cfg->reply_timeout);
		d->nj = negotiate_start(d->loop, u->spec->host, negotiated, d, err, sizeof(err));
		if (d->nj == NULL) {
			negotiated(d, NULL, err); /* as if it had failed at once */
			return d->state == D_DONE ? -1 : 0;
		}
		return 0;
	}
	if (d->authv != NULL)
		dial_tell(d, DIAL_EV_AUTH, auth_name(d->ar.sent));
	if (d->up->fd < 0) { /* the proxy closed the connection: the next round on a new one */
		d->queued = 1;
		d->conn_lost = 0;
		return dial_resolve(d);
	}
	return send_now(d);
}

/* The Negotiate token (or why there is none), on the loop. */
static void negotiated(void *data, const char *token_b64, const char *err)
{
	struct dial *d = data;
	const struct upstream *u = dial_cur(d);
	char why[256];
	enum auth_action a;

	d->nj = NULL;
	if (d->state != D_AUTH)
		return;
	if (d->authv == NULL && (d->authv = malloc(AUTH_VALUE_MAX)) == NULL) {
		dial_finish_with(d, OUTCOME_LOCAL, ENOMEM, "out-of-memory");
		return;
	}
	if (token_b64 != NULL && auth_negotiate_value(&d->ar, token_b64, d->authv, AUTH_VALUE_MAX) == 0) {
		a = AUTH_SEND;
	} else {
		log_warn("%s: proxy %s: Negotiate (Kerberos) for HTTP@%s: %s", d->who, u->display, u->spec->host,
			 err ? err : "token too long");
		a = auth_negotiate_failed(&d->ar, &dial_cur(d)->mem, u->spec, d->gen->cfg->proxy_auth, authority(d),
					  d->authv, AUTH_VALUE_MAX, why, sizeof(why));
	}
	if (act(d, a, why) == 0)
		dial_watch(d);
}

/* Sends CONNECT: the round auth prepared, or a first request with what the proxy asked
 * for before.  Returns 0, or -1 when the dial ended. */
static int send_request(struct dial *d)
{
	struct upstream *u = &d->gen->upstreams[d->proxy_idx];
	if (d->queued)
		return send_now(d);
	if (d->authv == NULL && (d->authv = malloc(AUTH_VALUE_MAX)) == NULL)
		return dial_finish_with(d, OUTCOME_LOCAL, ENOMEM, "out-of-memory");
	enum auth_action a = auth_first(&d->ar, &u->mem, u->spec, d->gen->cfg->proxy_auth, authority(d), d->authv,
					AUTH_VALUE_MAX);
	return act(d, a, "");
}

/* The handshake with an https:// proxy: on every event until it is done.  Returns 0, or
 * -1 when the dial ended. */
static int tls_step(struct dial *d)
{
	char err[300];
	int rc = tls_handshake(d->up, &d->tls_events, err, sizeof(err));
	if (rc == 0)
		return 0;
	if (rc < 0) {
		d->tls_failed = 1;
		log_warn("%s: proxy %s: TLS handshake failed: %s", d->who, dial_cur(d)->display, err);
		dial_tell(d, DIAL_EV_TLS, err);
		return dial_next_address(d, "TLS handshake failed", 0);
	}
	d->tls = tls_resumed(d->up) ? 3 : 2;
	dial_tell(d, DIAL_EV_TLS, d->tls == 3 ? "resumed" : "full handshake");
	return dial_connected(d);
}

/* The connection is up: a direct one is done; to a proxy, CONNECT goes out now, or once
 * the target is known; a connect-only dial is done here (through a chain: at its last
 * proxy). */
int dial_connected(struct dial *d)
{
	if (!d->direct && d->tls == 0 && dial_cur(d)->tls != NULL) { /* https://: TLS first */
		char err[300];
		if (tls_start(d->up, dial_cur(d)->tls, dial_cur(d)->spec->host, err, sizeof(err)) < 0) {
			log_warn("%s: proxy %s: %s", d->who, dial_cur(d)->display, err);
			return dial_finish_with(d, OUTCOME_LOCAL, ENOMEM, "out-of-memory");
		}
		d->tls = 1;
		d->state = D_TLS;
		dial_arm_timer(d, d->gen->cfg->connect_timeout);
		return tls_step(d);
	}
	if (d->direct || (d->connect_only && (d->plan.kind != ROUTE_CHAIN || d->plan.n < 2)))
		return dial_finish_with(d, OUTCOME_OK, 0, NULL);
	if (d->have_target)
		return send_request(d);
	d->state = D_CONNECTED;
	ev_timer_stop(d->loop, &d->timer);
	dial_watch(d);
	return 0;
}

static void log_refusal(struct dial *d, const struct httpc_response *r)
{
	const char *colon = strrchr(d->target, ':');
	int port = colon ? atoi(colon + 1) : 0;

	if (r->status == 403 && port != 443)
		log_warn("%s: proxy %s refused CONNECT %s (403 %s); many proxies allow CONNECT only to port 443", d->who,
			 dial_cur(d)->display, d->target, r->reason);
	else
		log_warn("%s: proxy %s answered CONNECT %s with %d %s%s%s", d->who, dial_cur(d)->display, d->target, r->status,
			 r->reason, r->squid_error[0] ? ", X-Squid-Error: " : "", r->squid_error);
}

/* The proxy closed the connection after a 407: the next round goes on a new one, unless
 * it had to be this one (NTLM authenticates the connection, a chain's later hop rides on
 * the first).  Returns 0, or -1 when the dial ended. */
static int lost_connection(struct dial *d)
{
	dial_drop_upstream(d);
	if (d->ar.same_conn || d->hop > 0) {
		log_warn("%s: proxy %s closed the connection in the middle of %s authentication", d->who,
			 dial_cur(d)->display, auth_name(d->ar.sent));
		return dial_finish_with(d, OUTCOME_BAD_REPLY, EPIPE, "proxy-auth-failed");
	}
	d->conn_lost = 1;
	return act(d, (enum auth_action)d->pending, "");
}

/* Reads what is left of a 407's body from rx.  Returns 1 when it is all read (rx then
 * empty), 0 for more, or -1 when it is malformed. */
static int skip_body(struct dial *d)
{
	char *p = d->rx.data ? d->rx.data + d->rx.start : NULL;
	size_t n = buf_len(&d->rx);
	if (d->body_left >= 0) {
		size_t take = (unsigned long long)d->body_left < n ? (size_t)d->body_left : n;
		d->body_left -= (long long)take;
		d->rx.start += (uint32_t)take;
		if (d->body_left > 0)
			return 0;
	} else if (n > 0) {
		size_t used = 0, outlen = 0;
		int rc = chunked_decode(&d->body, p, n, p, &outlen, n, &used);
		d->rx.start += (uint32_t)used;
		if (rc < 0)
			return -1;
		if (rc != CHUNKED_DONE)
			return 0;
	} else {
		return 0;
	}
	d->skipping = 0;
	d->rx.start = d->rx.end = 0;
	return 1;
}

/* A 407: the next round, after its body.  Returns 0, or -1 when the dial ended. */
static int answer_407(struct dial *d, const struct httpc_response *r, const char *hdr, size_t hdr_len)
{
	struct upstream *u = &d->gen->upstreams[d->proxy_idx];
	char why[256];

	if (d->authv == NULL && (d->authv = malloc(AUTH_VALUE_MAX)) == NULL)
		return dial_finish_with(d, OUTCOME_LOCAL, ENOMEM, "out-of-memory");
	enum auth_action a = auth_answer(&d->ar, &u->mem, u->spec, d->gen->cfg->proxy_auth, hdr, hdr_len, authority(d),
					 d->authv, AUTH_VALUE_MAX, why, sizeof(why));
	if (a == AUTH_GIVE_UP)
		return act(d, a, why);
	d->pending = (uint8_t)a;
	wipe_request(d);
	if (r->conn_close || (!r->chunked && r->content_length < 0) || r->content_length > BODY_MAX)
		return lost_connection(d); /* no framed body to read past: a new connection */
	d->skipping = 1;
	d->body_left = r->chunked ? -1 : r->content_length;
	chunked_init(&d->body);
	int rc = skip_body(d);
	if (rc < 0)
		return lost_connection(d);
	if (rc == 0)
		return 0;
	return act(d, a, "");
}

static int reply_parse(struct dial *d)
{
	const struct config *cfg = d->gen->cfg;
	size_t limit = cfg->max_header < d->pool->size - RX_SLACK ? cfg->max_header : d->pool->size - RX_SLACK;

	if (d->skipping) {
		int rc = skip_body(d);
		if (rc < 0)
			return lost_connection(d);
		if (rc == 0)
			return 0;
		return act(d, (enum auth_action)d->pending, "");
	}
	for (;;) {
		const char *p = d->rx.data ? d->rx.data + d->rx.start : "";
		long end = httpc_header_end(p, buf_len(&d->rx), limit, &d->hdr_scan);
		if (end == 0)
			return 0;
		struct httpc_response r;
		int rc = end < 0 ? (int)end : httpc_parse_response(p, (size_t)end, &r);
		if (rc < 0) {
			log_warn("%s: proxy %s: %s", d->who, dial_cur(d)->display, httpc_strerror(rc));
			return dial_finish_with(d, OUTCOME_BAD_REPLY, EPROTO, "bad-proxy-reply");
		}
		d->http_status = r.status;
		dial_tell(d, DIAL_EV_REPLY, &r);
		route_mark_up(&d->gen->health, d->proxy_idx);
		d->rx.start += (uint32_t)end;
		d->hdr_scan = 0;
		if (r.status < 200) { /* interim (100 Continue etc.): the real answer follows */
			/* move what follows to the front: reads stop RX_SLACK short of the end, where
			 * buf_room would compact, so the room the interim answer took is never regained
			 * and a long final header would leave EV_READ on with no room to read into */
			memmove(d->rx.data, d->rx.data + d->rx.start, buf_len(&d->rx));
			d->rx.end -= d->rx.start;
			d->rx.start = 0;
			continue;
		}
		if (r.status <= 299 && last_hop(d))
			return dial_finish_with(d, OUTCOME_OK, 0, NULL);
		if (r.status <= 299) { /* a chain: this proxy reached the next one; ask that one */
			d->hop++;
			d->proxy_idx = d->plan.idx[d->hop];
			d->tried++;
			dial_tell(d, DIAL_EV_PROXY, dial_cur(d));
			wipe_request(d);
			if (dial_cur(d)->tls != NULL) { /* TLS inside the first proxy's tunnel */
				log_warn("%s: chain: proxy %s is https://, which only the first proxy of a chain may be",
					 d->who, dial_cur(d)->display);
				return dial_finish_with(d, OUTCOME_UNREACHABLE, EPROTONOSUPPORT, "proxy-unreachable");
			}
			memset(&d->ar, 0, sizeof(d->ar));
			if (send_request(d) < 0)
				return -1;
			continue;
		}
		if (r.status == 407)
			return answer_407(d, &r, p, (size_t)end);
		log_refusal(d, &r);
		struct outcome o;
		memset(&o, 0, sizeof(o));
		o.stage = OUTCOME_PROXY_REPLY;
		o.reason = "proxy-error";
		snprintf(o.detail, sizeof(o.detail), "%s", r.squid_error);
		return finish(d, &o);
	}
}

static int request_io(struct dial *d, int revents)
{
	if ((revents & EV_WRITE) && d->req_off < d->req_len) {
		ssize_t w = stream_write(d->up, d->req + d->req_off, d->req_len - d->req_off);
		if (w > 0)
			d->req_off += (uint32_t)w; /* a failure shows on the read side */
	}
	if (!(revents & EV_READ))
		return 0;
	if (buf_acquire(d->pool, &d->rx) < 0)
		return dial_finish_with(d, OUTCOME_LOCAL, ENOMEM, "out-of-memory");
	size_t room = buf_room(d->pool, &d->rx);
	room = room > RX_SLACK ? room - RX_SLACK : 0;
	ssize_t n = room ? stream_read(d->up, d->rx.data + d->rx.end, room) : STREAM_AGAIN;
	if (n == STREAM_AGAIN)
		return 0;
	if (n <= 0) {
		if (d->skipping) /* a 407's body cut short: the next round on a new connection */
			return lost_connection(d);
		if (buf_len(&d->rx) == 0 && d->http_status == 0)
			return dial_next_address(d, n == 0 ? "closed the connection without answering"
						      : "connection failed before answering",
					    n == 0 ? 0 : (int)-n);
		log_warn("%s: proxy %s closed the connection in the middle of its reply", d->who, dial_cur(d)->display);
		return dial_finish_with(d, OUTCOME_BAD_REPLY, EPIPE, "bad-proxy-reply");
	}
	d->rx.end += (uint32_t)n;
	return reply_parse(d);
}

void dial_watch(struct dial *d)
{
	int up = 0, alt = 0;
	switch (d->state) {
	case D_CONNECTING:
		up = EV_WRITE;
		alt = EV_WRITE;
		break;
	case D_TLS:
		up = d->tls_events;
		break;
	case D_CONNECTED:
	case D_AUTH:
		up = EV_READ; /* only to notice the proxy closing it */
		break;
	case D_REQUEST:
		up = (d->req_off < d->req_len ? EV_WRITE : 0) | (buf_len(&d->rx) + RX_SLACK < d->pool->size ? EV_READ : 0);
		break;
	default:
		break;
	}
	stream_watch(d->loop, d->up, up);
	stream_watch(d->loop, &d->alt, alt);
}

static int socket_error(int fd)
{
	int err = 0;
	socklen_t len = sizeof(err);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	return err;
}

void dial_up_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct dial *d = w->data;
	int rc = 0;
	(void)loop;

	switch (d->state) {
	case D_CONNECTING:
		rc = dial_attempt_done(d, d->up, socket_error(d->up->fd), NULL);
		break;
	case D_CONNECTED: {
		/* nothing may come before CONNECT: the proxy closed the connection, or broke it */
		char sink[64];
		ssize_t n = stream_read(d->up, sink, sizeof(sink));
		if (n == STREAM_AGAIN)
			return;
		log_debug("%s: proxy %s closed the early connection", d->who, dial_cur(d)->display);
		dial_drop_upstream(d);
		d->state = D_IDLE; /* reconnect once the target is known */
		break;
	}
	case D_TLS:
		rc = tls_step(d);
		break;
	case D_AUTH: { /* a token is being made: the proxy may close the idle connection */
		char sink[64];
		ssize_t n = stream_read(d->up, sink, sizeof(sink));
		if (n == STREAM_AGAIN)
			return;
		log_debug("%s: proxy %s closed the connection while the token was made", d->who, dial_cur(d)->display);
		dial_drop_upstream(d);
		d->conn_lost = 1;
		break;
	}
	case D_REQUEST:
		rc = request_io(d, revents);
		break;
	default:
		break;
	}
	if (rc == 0)
		dial_watch(d);
}

static void alt_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct dial *d = w->data;
	(void)loop;
	(void)revents;
	if (dial_attempt_done(d, &d->alt, socket_error(d->alt.fd), NULL) == 0)
		dial_watch(d);
}

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct dial *d = w->data;
	const struct config *cfg = d->gen->cfg;
	(void)loop;
	(void)revents;

	switch (d->state) {
	case D_DONE:
		if (d->deferred) { /* finished inside dial_start or dial_set_target */
			d->deferred = 0;
			d->done(d, &d->result);
		}
		return;
	case D_RESOLVING:
	case D_CONNECTING:
		dial_connect_timeout(d);
		return;
	case D_TLS:
		d->tls_failed = 1;
		log_warn("%s: proxy %s: TLS handshake did not finish within %gs", d->who, dial_cur(d)->display,
			 cfg->connect_timeout);
		if (dial_next_address(d, "TLS handshake timed out", ETIMEDOUT) == 0)
			dial_watch(d);
		return;
	case D_AUTH: {
		char why[64];
		negotiate_cancel(d->nj);
		d->nj = NULL;
		snprintf(why, sizeof(why), "no token within %gs", cfg->reply_timeout);
		negotiated(d, NULL, why);
		return;
	}
	case D_REQUEST:
		log_warn("%s: proxy %s did not answer CONNECT %s within %gs", d->who, dial_cur(d)->display, d->target,
			 cfg->reply_timeout);
		dial_finish_with(d, OUTCOME_REPLY_TIMEOUT, ETIMEDOUT, "proxy-reply-timeout");
		return;
	default:
		return;
	}
}

static void begin(struct dial *d, struct ev_loop *loop, struct bufpool *pool, struct generation *gen, const char *who,
		  const char *target, const struct route_plan *plan, struct stream *up,
		  void (*done)(struct dial *, const struct outcome *), void *data, int connect_only)
{
	void (*event)(struct dial *, enum dial_event, const void *) = d->event;
	memset(d, 0, sizeof(*d));
	d->event = event;
	d->connect_only = (uint8_t)connect_only;
	d->up = up;
	stream_init_none(&d->none, NULL, NULL);
	d->loop = loop;
	d->pool = pool;
	d->gen = gen;
	d->who = who;
	d->done = done;
	d->data = data;
	stream_init_none(d->up, dial_up_cb, d);
	stream_init_none(&d->alt, alt_cb, d);
	ev_timer_init(&d->timer, timer_cb, 0, 0);
	d->timer.data = d;
	if (target != NULL) {
		snprintf(d->target, sizeof(d->target), "%s", target);
		route_split_target(d->target, d->host, sizeof(d->host), &d->port);
		d->have_target = 1;
	}
	d->in_call = 1; /* an end found now is reported from the loop */
	if (plan != NULL)
		d->plan = *plan;
	else
		route_plan(&gen->health, gen->cfg->nproxies, ev_now(loop), d->target, &d->plan);
	if (d->plan.kind == ROUTE_BLOCK)
		dial_finish_with(d, OUTCOME_BLOCKED, EACCES, "blocked");
	else if (d->plan.n == 0)
		dial_finish_with(d, OUTCOME_LOCAL, ENOENT, "no-route");
	else
		dial_next_step(d); /* the first step of the plan, a spare if one is ready */
	d->in_call = 0;
	if (d->state != D_DONE)
		dial_watch(d);
}

void dial_start(struct dial *d, struct ev_loop *loop, struct bufpool *pool, struct generation *gen, const char *who,
		const char *target, const struct route_plan *plan, struct stream *up,
		void (*done)(struct dial *, const struct outcome *), void *data)
{
	begin(d, loop, pool, gen, who, target, plan, up, done, data, 0);
}

void dial_start_connect(struct dial *d, struct ev_loop *loop, struct bufpool *pool, struct generation *gen,
			const char *who, const char *target, const struct route_plan *plan, struct stream *up,
			void (*done)(struct dial *, const struct outcome *), void *data)
{
	begin(d, loop, pool, gen, who, target, plan, up, done, data, 1);
}

int dial_set_target(struct dial *d, const char *target)
{
	snprintf(d->target, sizeof(d->target), "%s", target);
	route_split_target(d->target, d->host, sizeof(d->host), &d->port);
	d->have_target = 1;
	d->in_call = 1;
	int rc = 0; /* a dial already done (D_DONE) has nothing to do with it */
	if (d->state == D_CONNECTED)
		rc = dial_connected(d);
	else if (d->state == D_IDLE)
		rc = dial_resolve(d); /* the early connection was closed by the proxy */
	d->in_call = 0;
	if (rc == 0)
		dial_watch(d);
	return 0;
}

void dial_take(struct dial *d, struct buf *leftover)
{
	*leftover = d->rx;
	memset(&d->rx, 0, sizeof(d->rx));
}

const struct outcome *dial_result(const struct dial *d)
{
	return d->state == D_DONE ? &d->result : NULL;
}
