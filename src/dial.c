/* dial: from route plan and target to a connected stream through a proxy (see
 * include/dial.h).
 *
 * Functions that can end the dial return -1 when they did (done has been called and the
 * dial may be freed: return at once) and 0 otherwise. */
#include "dial.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "httpc.h"
#include "log.h"
#include "prewarm.h"
#include "sockets.h"
#include "wipe.h"

#define HE_DELAY 0.25 /* RFC 8305: the next address is tried when the first has not answered */
#define RX_SLACK 32   /* buffer room left free, so the client's reply fits ahead of the leftover */

enum { D_IDLE, D_RESOLVING, D_CONNECTING, D_CONNECTED, D_REQUEST, D_DONE };

static int try_next_proxy(struct dial *d);
static int connect_step(struct dial *d);
static void watch(struct dial *d);
static void up_cb(struct ev_loop *loop, ev_io *w, int revents);

static const struct upstream *cur(const struct dial *d)
{
	return &d->gen->upstreams[d->proxy_idx];
}

static void tell(struct dial *d, enum dial_event ev, const void *info)
{
	if (d->event != NULL) /* an observer such as check; tunnels have none */
		d->event(d, ev, info);
}

const char *dial_proxy_name(const struct dial *d)
{
	return d->tried == 0 ? "-" : cur(d)->display;
}

const char *dial_state_name(const struct dial *d)
{
	static const char *const names[] = {"waiting", "resolving", "connecting", "connected", "proxy-reply", "done"};
	return names[d->state];
}

static void arm_timer(struct dial *d, double secs)
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

/* Closes the connection and any second attempt; the dial goes on from its state. */
static void drop_upstream(struct dial *d)
{
	stream_close(d->loop, &d->alt);
	stream_close(d->loop, d->up);
	wipe_request(d);
	buf_release(d->pool, &d->rx, 1);
	d->hdr_scan = 0;
}

void dial_stop(struct dial *d)
{
	if (d->loop == NULL)
		return;
	ev_timer_stop(d->loop, &d->timer);
	if (d->gen != NULL)
		resolver_cancel(d->gen->resolver, &d->rw);
	drop_upstream(d);
}

/* Ends the dial: the connection stays only for a success, for dial_take. */
static int finish(struct dial *d, struct outcome *o)
{
	ev_timer_stop(d->loop, &d->timer);
	resolver_cancel(d->gen->resolver, &d->rw);
	stream_close(d->loop, &d->alt);
	wipe_request(d);
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
		arm_timer(d, 0);
		return -1;
	}
	d->done(d, &d->result);
	return -1;
}

static int finish_with(struct dial *d, enum outcome_stage stage, int err, const char *reason)
{
	struct outcome o;
	memset(&o, 0, sizeof(o));
	o.stage = stage;
	o.err = err;
	o.reason = reason;
	return finish(d, &o);
}

static void proxy_down(struct dial *d)
{
	double retry = d->gen->cfg->proxy_retry;
	if (route_mark_down(&d->gen->health, d->proxy_idx, d->gen->nupstreams, ev_now(d->loop), retry))
		log_warn("proxy %s is unreachable: trying it last for %gs", cur(d)->display, retry);
}

/* Sends CONNECT.  Returns 0, or 1 when it could not be built (out of memory). */
static int send_request(struct dial *d)
{
	size_t len;
	d->req = upstream_connect_request(cur(d), d->target, d->gen->cfg->user_agent, &len);
	if (d->req == NULL)
		return 1;
	d->req_len = (uint32_t)len;
	d->req_off = 0;
	d->hdr_scan = 0;
	d->state = D_REQUEST;
	arm_timer(d, d->gen->cfg->reply_timeout);
	ssize_t w = stream_write(d->up, d->req, d->req_len);
	if (w > 0)
		d->req_off = (uint32_t)w;
	watch(d); /* a failed write shows on the read side */
	return 0;
}

/* The connection to the proxy is up: send CONNECT now, or once the target is known; a
 * connect-only dial is done here. */
static int connected(struct dial *d)
{
	if (d->connect_only)
		return finish_with(d, OUTCOME_OK, 0, NULL);
	if (d->have_target)
		return send_request(d) == 0 ? 0 : finish_with(d, OUTCOME_LOCAL, ENOMEM, "out-of-memory");
	d->state = D_CONNECTED;
	ev_timer_stop(d->loop, &d->timer);
	watch(d);
	return 0;
}

static void resolved_cb(struct resolver_waiter *w, int status, const char *errmsg, const struct resolver_result *res)
{
	struct dial *d = (struct dial *)(void *)((char *)w - offsetof(struct dial, rw));

	if (status != 0) {
		log_warn("proxy %s: cannot resolve %s: %s", cur(d)->display, cur(d)->spec->host, errmsg);
		tell(d, DIAL_EV_RESOLVE_FAILED, errmsg);
		proxy_down(d);
		if (try_next_proxy(d) == 0)
			watch(d);
		return;
	}
	d->addrs = *res;
	d->addr_idx = 0;
	tell(d, DIAL_EV_RESOLVED, &d->addrs);
	if (connect_step(d) == 0)
		watch(d);
}

/* Looks up the current proxy's name; a fresh cached answer connects at once. */
static int resolve(struct dial *d)
{
	d->from_spare = 0;
	if (resolver_cached(d->gen->resolver, cur(d)->spec->host, cur(d)->spec->port, &d->addrs)) {
		d->addr_idx = 0;
		tell(d, DIAL_EV_RESOLVED, &d->addrs);
		return connect_step(d);
	}
	d->state = D_RESOLVING;
	arm_timer(d, d->gen->cfg->connect_timeout);
	resolver_lookup(d->gen->resolver, cur(d)->spec->host, cur(d)->spec->port, &d->rw, resolved_cb);
	return 0;
}

static int try_next_proxy(struct dial *d)
{
	drop_upstream(d);
	d->addrs.n = 0;
	if (d->plan_pos >= d->plan.n) {
		log_warn("%s: no upstream proxy reachable for %s", d->who, d->have_target ? d->target : "the tunnel");
		return finish_with(d, OUTCOME_UNREACHABLE, 0, "proxy-unreachable");
	}
	d->proxy_idx = d->plan.idx[d->plan_pos++];
	d->tried++;
	tell(d, DIAL_EV_PROXY, cur(d));
	if (!d->spare_tried) {
		d->spare_tried = 1;
		int fd = prewarm_take(d->gen->prewarm, d->proxy_idx);
		if (fd >= 0) { /* a connection made ahead of time: CONNECT goes out at once */
			log_debug("%s: using a spare connection to proxy %s", d->who, cur(d)->display);
			stream_init_fd(d->up, fd, up_cb, d);
			d->from_spare = 1;
			return connected(d);
		}
	}
	return resolve(d);
}

/* Starts a connect to address addr_idx in attempt a.  Returns 0 when under way, 1 when
 * that address failed at once (logged), -1 when the dial ended. */
static int start_attempt(struct dial *d, struct stream *a, uint8_t *which, ev_tstamp *deadline)
{
	const struct sockaddr_storage *sa = &d->addrs.addr[d->addr_idx];
	char addr[64];

	*which = d->addr_idx++;
	int fd = sockets_stream(sa->ss_family);
	if (fd < 0) {
		int e = errno;
		if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM)
			return finish_with(d, OUTCOME_LOCAL, e, "out-of-resources");
		log_error("%s: cannot create a socket for proxy %s: %s", d->who, cur(d)->display, strerror(e));
		return 1;
	}
	sockets_tune(fd);
	if (connect(fd, (const struct sockaddr *)sa, sockets_addrlen(sa)) < 0 && errno != EINPROGRESS) {
		log_warn("proxy %s (%s): connect: %s", cur(d)->display,
			 log_addr((const struct sockaddr *)sa, addr, sizeof(addr)), strerror(errno));
		tell(d, DIAL_EV_CONNECT_FAILED, strerror(errno));
		close(fd);
		return 1;
	}
	stream_init_fd(a, fd, a->io.cb, d);
	*deadline = ev_now(d->loop) + d->gen->cfg->connect_timeout;
	return 0;
}

/* Drives the connect attempts to the current proxy's addresses (RFC 8305): one at a time,
 * a second one once the first has had HE_DELAY to answer, the next whenever one fails.
 * When every address has failed, the next proxy. */
static int connect_step(struct dial *d)
{
	ev_tstamp now = ev_now(d->loop);

	for (;;) {
		int active = (d->up->fd >= 0) + (d->alt.fd >= 0);
		int more = d->addr_idx < d->addrs.n;
		if (active == 0 && !more) {
			proxy_down(d);
			return try_next_proxy(d);
		}
		if (!more || active == 2 || (active == 1 && now < d->next_attempt_at))
			break;
		int rc = d->up->fd < 0 ? start_attempt(d, d->up, &d->up_addr, &d->up_deadline)
				      : start_attempt(d, &d->alt, &d->alt_addr, &d->alt_deadline);
		if (rc < 0)
			return -1;
		if (rc == 0)
			d->next_attempt_at = now + HE_DELAY;
	}
	d->state = D_CONNECTING;
	ev_tstamp next = 1e300;
	if (d->up->fd >= 0 && d->up_deadline < next)
		next = d->up_deadline;
	if (d->alt.fd >= 0 && d->alt_deadline < next)
		next = d->alt_deadline;
	if (d->addr_idx < d->addrs.n && d->next_attempt_at < next)
		next = d->next_attempt_at;
	arm_timer(d, next - now);
	return 0;
}

/* Attempt a has finished connecting (err 0, what NULL) or failed. */
static int attempt_done(struct dial *d, struct stream *a, int err, const char *what)
{
	char addr[64];
	uint8_t which = a == d->up ? d->up_addr : d->alt_addr;

	if (err != 0 || what != NULL) {
		log_warn("proxy %s (%s): %s%s%s", cur(d)->display,
			 log_addr((const struct sockaddr *)&d->addrs.addr[which], addr, sizeof(addr)),
			 what ? what : "connect", err ? ": " : "", err ? strerror(err) : "");
		tell(d, DIAL_EV_CONNECT_FAILED, what ? what : strerror(err));
		stream_close(d->loop, a);
		return connect_step(d);
	}
	if (a == &d->alt) { /* the second attempt won: it becomes the connection */
		stream_close(d->loop, d->up);
		int fd = stream_release_fd(d->loop, &d->alt);
		stream_init_fd(d->up, fd, up_cb, d);
		d->up_addr = d->alt_addr;
	} else {
		stream_close(d->loop, &d->alt);
	}
	tell(d, DIAL_EV_CONNECTED, &d->addrs.addr[d->up_addr]);
	return connected(d);
}

/* The proxy failed on this connection before answering: the next address, or proxy. */
static int next_address(struct dial *d, const char *what, int err)
{
	char addr[64];
	if (d->from_spare) { /* a spare connection went stale: the normal way, same proxy */
		log_debug("%s: spare connection to proxy %s: %s", d->who, cur(d)->display, what);
		drop_upstream(d);
		return resolve(d);
	}
	log_warn("proxy %s (%s): %s%s%s", cur(d)->display,
		 log_addr((const struct sockaddr *)&d->addrs.addr[d->up_addr], addr, sizeof(addr)), what,
		 err ? ": " : "", err ? strerror(err) : "");
	tell(d, DIAL_EV_CONNECT_FAILED, what);
	drop_upstream(d);
	return connect_step(d);
}

static void log_refusal(struct dial *d, const struct httpc_response *r)
{
	const char *colon = strrchr(d->target, ':');
	int port = colon ? atoi(colon + 1) : 0;

	if (r->status == 407)
		log_warn("%s: proxy %s demands authentication for CONNECT %s (407)%s", d->who, cur(d)->display, d->target,
			 cur(d)->auth ? ": it rejected our credentials" : ": give user:password in the -x URL");
	else if (r->status == 403 && port != 443)
		log_warn("%s: proxy %s refused CONNECT %s (403 %s); many proxies allow CONNECT only to port 443", d->who,
			 cur(d)->display, d->target, r->reason);
	else
		log_warn("%s: proxy %s answered CONNECT %s with %d %s%s%s", d->who, cur(d)->display, d->target, r->status,
			 r->reason, r->squid_error[0] ? ", X-Squid-Error: " : "", r->squid_error);
}

static int reply_parse(struct dial *d)
{
	const struct config *cfg = d->gen->cfg;
	size_t limit = cfg->max_header < d->pool->size - RX_SLACK ? cfg->max_header : d->pool->size - RX_SLACK;

	for (;;) {
		const char *p = d->rx.data ? d->rx.data + d->rx.start : "";
		long end = httpc_header_end(p, buf_len(&d->rx), limit, &d->hdr_scan);
		if (end == 0)
			return 0;
		struct httpc_response r;
		int rc = end < 0 ? (int)end : httpc_parse_response(p, (size_t)end, &r);
		if (rc < 0) {
			log_warn("%s: proxy %s: %s", d->who, cur(d)->display, httpc_strerror(rc));
			return finish_with(d, OUTCOME_BAD_REPLY, EPROTO, "bad-proxy-reply");
		}
		d->http_status = r.status;
		tell(d, DIAL_EV_REPLY, &r);
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
		if (r.status <= 299)
			return finish_with(d, OUTCOME_OK, 0, NULL);
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
		return finish_with(d, OUTCOME_LOCAL, ENOMEM, "out-of-memory");
	size_t room = buf_room(d->pool, &d->rx);
	room = room > RX_SLACK ? room - RX_SLACK : 0;
	ssize_t n = room ? stream_read(d->up, d->rx.data + d->rx.end, room) : STREAM_AGAIN;
	if (n == STREAM_AGAIN)
		return 0;
	if (n <= 0) {
		if (buf_len(&d->rx) == 0 && d->http_status == 0)
			return next_address(d, n == 0 ? "closed the connection without answering"
						      : "connection failed before answering",
					    n == 0 ? 0 : (int)-n);
		log_warn("%s: proxy %s closed the connection in the middle of its reply", d->who, cur(d)->display);
		return finish_with(d, OUTCOME_BAD_REPLY, EPIPE, "bad-proxy-reply");
	}
	d->rx.end += (uint32_t)n;
	return reply_parse(d);
}

static void watch(struct dial *d)
{
	int up = 0, alt = 0;
	switch (d->state) {
	case D_CONNECTING:
		up = EV_WRITE;
		alt = EV_WRITE;
		break;
	case D_CONNECTED:
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

static void up_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct dial *d = w->data;
	int rc = 0;
	(void)loop;

	switch (d->state) {
	case D_CONNECTING:
		rc = attempt_done(d, d->up, socket_error(d->up->fd), NULL);
		break;
	case D_CONNECTED: {
		/* nothing may come before CONNECT: the proxy closed the connection, or broke it */
		char sink[64];
		ssize_t n = stream_read(d->up, sink, sizeof(sink));
		if (n == STREAM_AGAIN)
			return;
		log_debug("%s: proxy %s closed the early connection", d->who, cur(d)->display);
		drop_upstream(d);
		d->state = D_IDLE; /* reconnect once the target is known */
		break;
	}
	case D_REQUEST:
		rc = request_io(d, revents);
		break;
	default:
		break;
	}
	if (rc == 0)
		watch(d);
}

static void alt_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct dial *d = w->data;
	(void)loop;
	(void)revents;
	if (attempt_done(d, &d->alt, socket_error(d->alt.fd), NULL) == 0)
		watch(d);
}

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct dial *d = w->data;
	const struct config *cfg = d->gen->cfg;
	int rc = 0;
	(void)revents;

	switch (d->state) {
	case D_DONE:
		if (d->deferred) { /* finished inside dial_start or dial_set_target */
			d->deferred = 0;
			d->done(d, &d->result);
		}
		return;
	case D_RESOLVING:
		log_warn("proxy %s: name lookup did not finish within %gs", cur(d)->display, cfg->connect_timeout);
		resolver_cancel(d->gen->resolver, &d->rw);
		proxy_down(d);
		rc = try_next_proxy(d);
		break;
	case D_CONNECTING: {
		ev_tstamp now = ev_now(loop);
		if (d->alt.fd >= 0 && d->alt_deadline <= now) {
			stream_close(loop, &d->alt);
			log_warn("proxy %s: connect timed out after %gs", cur(d)->display, cfg->connect_timeout);
		}
		if (d->up->fd >= 0 && d->up_deadline <= now)
			rc = attempt_done(d, d->up, 0, "connect timed out");
		else
			rc = connect_step(d); /* time for the next attempt, or the second one timed out */
		break;
	}
	case D_REQUEST:
		log_warn("%s: proxy %s did not answer CONNECT %s within %gs", d->who, cur(d)->display, d->target,
			 cfg->reply_timeout);
		finish_with(d, OUTCOME_REPLY_TIMEOUT, ETIMEDOUT, "proxy-reply-timeout");
		return;
	default:
		return;
	}
	if (rc == 0)
		watch(d);
}

static void begin(struct dial *d, struct ev_loop *loop, struct bufpool *pool, struct generation *gen, const char *who,
		  const char *target, struct stream *up, void (*done)(struct dial *, const struct outcome *), void *data,
		  int connect_only)
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
	stream_init_none(d->up, up_cb, d);
	stream_init_none(&d->alt, alt_cb, d);
	ev_timer_init(&d->timer, timer_cb, 0, 0);
	d->timer.data = d;
	if (target != NULL) {
		snprintf(d->target, sizeof(d->target), "%s", target);
		d->have_target = 1;
	}
	d->in_call = 1; /* an end found now is reported from the loop */
	route_plan(&gen->health, gen->nupstreams, ev_now(loop), d->have_target ? d->target : NULL, &d->plan);
	if (d->plan.n == 0)
		finish_with(d, OUTCOME_LOCAL, ENOENT, "no-route");
	else
		try_next_proxy(d); /* the first proxy of the plan, a spare if one is ready */
	d->in_call = 0;
	if (d->state != D_DONE)
		watch(d);
}

void dial_start(struct dial *d, struct ev_loop *loop, struct bufpool *pool, struct generation *gen, const char *who,
		const char *target, struct stream *up, void (*done)(struct dial *, const struct outcome *), void *data)
{
	begin(d, loop, pool, gen, who, target, up, done, data, 0);
}

void dial_start_connect(struct dial *d, struct ev_loop *loop, struct bufpool *pool, struct generation *gen,
			const char *who, const char *target, struct stream *up,
			void (*done)(struct dial *, const struct outcome *), void *data)
{
	begin(d, loop, pool, gen, who, target, up, done, data, 1);
}

int dial_set_target(struct dial *d, const char *target)
{
	snprintf(d->target, sizeof(d->target), "%s", target);
	d->have_target = 1;
	d->in_call = 1;
	int rc = 0; /* a dial already done (D_DONE) has nothing to do with it */
	if (d->state == D_CONNECTED)
		rc = connected(d);
	else if (d->state == D_IDLE)
		rc = resolve(d); /* the early connection was closed by the proxy */
	d->in_call = 0;
	if (rc == 0)
		watch(d);
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
