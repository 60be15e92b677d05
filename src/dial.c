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

void dial_wipe_request(struct dial *d)
{
	if (d->req != NULL)
		wipe(d->req, d->req_len); /* it may hold Proxy-Authorization */
	free(d->req);
	d->req = NULL;
	d->req_len = d->req_off = 0;
}

/* Closes the connection and any second attempt; the dial goes on from its state. */
void dial_drop_upstream(struct dial *d)
{
	stream_close(d->loop, &d->alt);
	stream_close(d->loop, d->up);
	dial_wipe_request(d);
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
	dial_wipe_authv(d);
	dial_drop_upstream(d);
}

/* Ends the dial: the connection stays only for a success, for dial_take. */
int dial_finish(struct dial *d, struct outcome *o)
{
	ev_timer_stop(d->loop, &d->timer);
	resolver_cancel(d->gen->resolver, &d->rw);
	negotiate_cancel(d->nj);
	d->nj = NULL;
	stream_close(d->loop, &d->alt);
	dial_wipe_request(d);
	dial_wipe_authv(d);
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
	return dial_finish(d, &o);
}

/* What the current hop is asked to CONNECT to: in a chain the next proxy, else the target. */
const char *dial_authority(const struct dial *d)
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
		return dial_tls_step(d);
	}
	if (d->direct || (d->connect_only && (d->plan.kind != ROUTE_CHAIN || d->plan.n < 2)))
		return dial_finish_with(d, OUTCOME_OK, 0, NULL);
	if (d->have_target)
		return dial_send_request(d);
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

static int reply_parse(struct dial *d)
{
	const struct config *cfg = d->gen->cfg;
	size_t limit = cfg->max_header < d->pool->size - RX_SLACK ? cfg->max_header : d->pool->size - RX_SLACK;

	if (d->skipping) {
		int rc = dial_skip_body(d);
		if (rc < 0)
			return dial_lost_connection(d);
		if (rc == 0)
			return 0;
		return dial_act(d, (enum auth_action)d->pending, "");
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
			dial_wipe_request(d);
			if (dial_cur(d)->tls != NULL) { /* TLS inside the first proxy's tunnel */
				log_warn("%s: chain: proxy %s is https://, which only the first proxy of a chain may be",
					 d->who, dial_cur(d)->display);
				return dial_finish_with(d, OUTCOME_UNREACHABLE, EPROTONOSUPPORT, "proxy-unreachable");
			}
			memset(&d->ar, 0, sizeof(d->ar));
			if (dial_send_request(d) < 0)
				return -1;
			continue;
		}
		if (r.status == 407)
			return dial_answer_407(d, &r, p, (size_t)end);
		log_refusal(d, &r);
		struct outcome o;
		memset(&o, 0, sizeof(o));
		o.stage = OUTCOME_PROXY_REPLY;
		o.reason = "proxy-error";
		snprintf(o.detail, sizeof(o.detail), "%s", r.squid_error);
		return dial_finish(d, &o);
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
			return dial_lost_connection(d);
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
		rc = dial_tls_step(d);
		break;
	case D_AUTH: { /* a token is being made: the proxy may close the idle connection */
		char sink[64];
		ssize_t n = stream_read(d->up, sink, sizeof(sink));
		if (n == STREAM_AGAIN)
			return;
		log_debug("%s: proxy %s closed the connection while the token was made", d->who, dial_cur(d)->display);
		dial_drop_upstream(d);
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
		dial_negotiated(d, NULL, why);
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
