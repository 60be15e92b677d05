/* session: one client's life (see include/session.h).
 *
 * Functions that can end the session return -1 when they did (it is freed: return at once)
 * and 0 otherwise. */
#include "session.h"

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "access.h"
#include "dial.h"
#include "forward.h"
#include "front.h"
#include "front_http.h"
#include "generation.h"
#include "log.h"
#include "route.h"
#include "session_int.h"
#include "auth.h"
#include "sockets.h"
#include "stream.h"

#define REPLY_FAIL_LINGER 2.0 /* seconds to wait for the client to close after a failure reply */

static struct ev_loop *loop_of(const struct session *s)
{
	return s->host->loop;
}

void session_arm_timer(struct session *s, double secs)
{
	ev_timer_stop(loop_of(s), &s->timer);
	ev_timer_set(&s->timer, secs, 0);
	ev_timer_start(loop_of(s), &s->timer);
}

/* What the client's protocol has queued for it. */
static size_t out_len(const struct session *s)
{
	return s->http ? front_http_out_len(s->http) : front_out_len(&s->front);
}
static const void *out_ptr(const struct session *s)
{
	return s->http ? (const void *)front_http_out(s->http) : (const void *)front_out(&s->front);
}
static void out_sent(struct session *s, size_t n)
{
	if (s->http)
		front_http_sent(s->http, n);
	else
		front_sent(&s->front, n);
}

void session_log_summary(const struct session *s, const char *reason)
{
	char reply[16] = "-", http[16] = "-", socks[16] = "-";
	const struct front *f = &s->front;
	uint64_t up = s->state == S_RELAY ? s->pump.dir[0].bytes : s->state == S_FORWARD ? s->fwd->up_bytes : 0;
	uint64_t down = s->state == S_RELAY ? s->pump.dir[1].bytes : s->state == S_FORWARD ? s->fwd->down_bytes : 0;

	down = down > s->reply_len ? down - s->reply_len : 0;
	if (f->reply >= 0)
		snprintf(reply, sizeof(reply), f->version == 4 ? "%d" : "0x%02x", (unsigned)f->reply);
	if (s->http_status > 0)
		snprintf(http, sizeof(http), "%d", s->http_status);
	if (f->version)
		snprintf(socks, sizeof(socks), "%d", f->version);
	if (s->http != NULL) { /* socks=http; reply is the status the client got */
		snprintf(socks, sizeof(socks), "http");
		if (s->http->status > 0)
			snprintf(reply, sizeof(reply), "%d", s->http->status);
	}
	char rule[16] = "";
	if (s->route.source == ROUTE_SRC_RULE)
		snprintf(rule, sizeof(rule), " rule=%d", s->route.rule + 1);
	static const char *const tls[] = {"no", "full", "resumed"};
	log_info("tunnel client=%s socks=%s target=%s proxy=%s route=%s%s http=%s reply=%s auth=%s tls=%s%s up=%llu "
		 "down=%llu time=%.3fs reason=%s",
		 s->client_text, socks, s->target ? s->target : "-", proxy_name(s), route_name(&s->route), rule, http, reply,
		 auth_name(s->auth), tls[s->tls], s->tls && s->gen->cfg->proxy_insecure ? " tls_verify=off" : "",
		 (unsigned long long)up, (unsigned long long)down, ev_now(loop_of(s)) - s->started, reason);
}

/* The only teardown: every watcher, the dial, the pump, both streams, one log line. */
void session_close(struct session *s, const char *reason)
{
	struct session_host *h = s->host;

	ev_timer_stop(h->loop, &s->timer);
	if (s->state == S_RELAY)
		pump_stop(&s->pump);
	if (log_enabled(LOG_LVL_INFO) && !s->logged)
		session_log_summary(s, reason);
	if (s->dial != NULL) {
		dial_stop(s->dial);
		free(s->dial);
	}
	session_route_stop(s);
	if (s->fwd != NULL) {
		forward_stop(s->fwd);
		free(s->fwd);
	}
	free(s->http);
	stream_close(h->loop, &s->client);
	stream_close(h->loop, &s->up);
	buf_release(&h->pool, &s->c2u, 1);
	free(s->target);
	generation_put(s->gen);
	if (s->prev)
		s->prev->next = s->next;
	else
		h->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	h->nsessions--;
	free(s);
	h->closed(h);
}

struct session *session_next(struct session *s)
{
	return s->next;
}

void session_abort(struct session *s, const char *reason)
{
	session_close(s, reason);
}

void session_report(struct session *s)
{
	static const char *const names[] = {"handshake", "dialing", "relay", "reply-fail", "forward"};
	uint64_t up = s->state == S_RELAY ? s->pump.dir[0].bytes : 0;
	uint64_t down = s->state == S_RELAY ? s->pump.dir[1].bytes : 0;
	char socks[8];
	snprintf(socks, sizeof(socks), s->http ? "http" : "%d", s->front.version);
	log_info("tunnel client=%s socks=%s target=%s proxy=%s state=%s%s%s up=%llu down=%llu age=%.1fs%s%s",
		 s->client_text, socks, s->target ? s->target : "-", proxy_name(s), names[s->state],
		 s->dial ? "/" : "", s->dial ? dial_state_name(s->dial) : "", (unsigned long long)up,
		 (unsigned long long)(down > s->reply_len ? down - s->reply_len : 0), ev_now(loop_of(s)) - s->started,
		 s->state == S_RELAY && pump_eof(&s->pump, 0) ? " client-eof" : "",
		 s->state == S_RELAY && pump_eof(&s->pump, 1) ? " upstream-eof" : "");
}

void session_describe(struct session *s, struct session_info *out)
{
	static const char *const names[] = {"handshake", "dialing", "relay", "reply-fail"};
	ev_tstamp now = ev_now(loop_of(s));
	uint64_t up = s->state == S_RELAY ? s->pump.dir[0].bytes : 0;
	uint64_t down = s->state == S_RELAY ? s->pump.dir[1].bytes : 0;

	down = down > s->reply_len ? down - s->reply_len : 0;
	snprintf(out->state_text, sizeof(out->state_text), "%s%s%s", names[s->state], s->dial || s->pac ? "/" : "",
		 s->dial ? dial_state_name(s->dial) : s->pac ? "pac" : "");
	out->client = s->client_text;
	out->target = s->target ? s->target : "-";
	out->proxy = proxy_name(s);
	out->state = out->state_text;
	out->age = now - s->started;
	out->up = up;
	out->down = down;
	ev_tstamp since = s->sample_at > 0 ? s->sample_at : s->started;
	double dt = now - since;
	out->rate_up = dt > 0.001 && up >= s->sample_up ? (double)(up - s->sample_up) / dt : 0;
	out->rate_down = dt > 0.001 && down >= s->sample_down ? (double)(down - s->sample_down) / dt : 0;
	if (dt > 0.001) {
		s->sample_up = up;
		s->sample_down = down;
		s->sample_at = now;
	}
}

/* Before RELAY: read client, write what front has queued. */
void session_watch_client(struct session *s)
{
	int ev = 0;
	switch (s->state) {
	case S_HANDSHAKE:
	case S_DIALING:
		if (!s->client_eof && buf_len(&s->c2u) < s->host->pool.size)
			ev |= EV_READ;
		if (out_len(s) > 0)
			ev |= EV_WRITE;
		break;
	case S_REPLY_FAIL:
		ev = out_len(s) > 0 ? EV_WRITE : EV_READ;
		break;
	default:
		return; /* the pump's */
	}
	stream_watch(loop_of(s), &s->client, ev);
}

/* Sends what front has queued.  Returns -1 if the session was closed. */
static int flush_front(struct session *s)
{
	while (out_len(s) > 0) {
		ssize_t w = stream_write(&s->client, out_ptr(s), out_len(s));
		if (w == STREAM_AGAIN)
			return 0;
		if (w < 0) {
			log_debug("%s: write to client: %s", s->client_text, strerror((int)-w));
			session_close(s, "client-error");
			return -1;
		}
		out_sent(s, (size_t)w);
	}
	return 0;
}

/* Reads what the client sent into c2u.  Returns -1 if the session was closed. */
static int read_client(struct session *s)
{
	struct bufpool *pool = &s->host->pool;
	size_t room = buf_room(pool, &s->c2u);
	if (room == 0 || s->client_eof)
		return 0;
	if (buf_acquire(pool, &s->c2u) < 0) {
		session_close(s, "out-of-memory");
		return -1;
	}
	ssize_t n = stream_read(&s->client, s->c2u.data + s->c2u.end, room);
	if (n > 0) {
		s->c2u.end += (uint32_t)n;
		return 0;
	}
	buf_release(pool, &s->c2u, 0);
	if (n == 0)
		s->client_eof = 1;
	else if (n != STREAM_AGAIN) {
		log_debug("%s: read from client: %s", s->client_text, strerror((int)-n));
		session_close(s, "client-error");
		return -1;
	}
	return 0;
}

/* Drains and discards client bytes after a failure reply until the client closes. */
static int fail_progress(struct session *s)
{
	if (flush_front(s) < 0)
		return -1;
	if (out_len(s) > 0) {
		session_watch_client(s);
		return 0;
	}
	if (!s->client_eof) {
		(void)stream_shutdown_wr(&s->client);
		s->client_eof = 1; /* from now on: our side is shut; wait for theirs */
	}
	char sink[4096];
	for (int i = 0; i < 16; i++) {
		ssize_t n = stream_read(&s->client, sink, sizeof(sink));
		if (n > 0)
			continue;
		if (n == STREAM_AGAIN)
			break;
		session_close(s, s->fail_reason);
		return -1;
	}
	session_watch_client(s);
	return 0;
}

/* The failure message front queued goes out, then the session lingers until the client
 * closes or the timer runs out. */
int session_reply_fail(struct session *s, const char *reason)
{
	if (s->dial != NULL) {
		dial_stop(s->dial);
		free(s->dial);
		s->dial = NULL;
	}
	stream_close(loop_of(s), &s->up);
	buf_release(&s->host->pool, &s->c2u, 1);
	s->fail_reason = reason;
	s->state = S_REPLY_FAIL;
	s->client_eof = 0;
	session_arm_timer(s, REPLY_FAIL_LINGER);
	return fail_progress(s);
}

static void relay_timer(struct session *s)
{
	const struct config *cfg = s->gen->cfg;
	double limit = (pump_eof(&s->pump, 0) || pump_eof(&s->pump, 1)) ? cfg->linger_timeout : cfg->idle_timeout;
	if (limit <= 0) {
		ev_timer_stop(loop_of(s), &s->timer);
		s->relay_limit = 0;
		return;
	}
	if (limit != s->relay_limit || !ev_is_active(&s->timer)) {
		s->relay_limit = limit;
		ev_tstamp left = s->pump.last_io + limit - ev_now(loop_of(s));
		session_arm_timer(s, left > 0.001 ? left : 0.001);
	}
}

static void pump_eof_cb(struct pump *p)
{
	relay_timer((struct session *)(void *)((char *)p - offsetof(struct session, pump)));
}

static void pump_done(struct pump *p, enum pump_end end, int err)
{
	struct session *s = (struct session *)(void *)((char *)p - offsetof(struct session, pump));
	static const char *const reasons[] = {"closed", "client-error", "upstream-error", "out-of-memory"};
	if (end != PUMP_CLOSED)
		log_debug("%s: relay: %s: %s", s->client_text, reasons[end], strerror(err));
	/* a failed side resets the other: a clean end would pass a cut-off transfer for whole */
	if (end == PUMP_ERR_A)
		stream_abort(&s->up);
	else if (end == PUMP_ERR_B)
		stream_abort(&s->client);
	session_close(s, reasons[end]);
}

/* Queues the failure answer for an outcome in the client's protocol. */
void session_reply_outcome(struct session *s, const struct outcome *o)
{
	if (s->http != NULL)
		front_http_reply(s->http, o, s->target);
	else
		front_reply(&s->front, o, NULL);
}

void session_dial_done(struct dial *d, const struct outcome *result)
{
	struct session *s = d->data;
	struct outcome oc = *result; /* it lives in the dial, freed below */
	const struct outcome *o = &oc;
	struct bufpool *pool = &s->host->pool;

	s->http_status = o->http_status;
	s->auth = (uint8_t)o->auth;
	s->tls = o->tls;
	s->proxy = dial_proxy_name(d);
	s->route.direct = d->direct;
	if (o->stage != OUTCOME_OK) {
		if (o->stage == OUTCOME_LOCAL && (o->err == EMFILE || o->err == ENFILE || o->err == ENOBUFS))
			s->host->out_of_fds(s->host); /* logs, rate-limited */
		if (s->state == S_HANDSHAKE)
			return; /* an early dial failed: the client hears it once it has asked */
		session_reply_outcome(s, o);
		session_reply_fail(s, o->reason);
		return;
	}
	int direct = d->direct;
	struct upstream *u = direct ? NULL : &s->gen->upstreams[d->proxy_idx];
	struct buf b2a = {NULL, 0, 0};
	dial_take(d, &b2a);
	dial_stop(d);
	free(d);
	s->dial = NULL;
	if (s->fwd != NULL) { /* a connect-only dial: nothing came from the proxy yet */
		buf_release(pool, &b2a, 1);
		session_http_forward(s, u);
		return;
	}
	/* BND.ADDR: the local end of the upstream socket, what peers report for CONNECT */
	struct sockaddr_storage bound;
	socklen_t blen = sizeof(bound);
	int have_bound = getsockname(s->up.fd, (struct sockaddr *)&bound, &blen) == 0 &&
			 (bound.ss_family == AF_INET || bound.ss_family == AF_INET6);
	if (s->http != NULL)
		front_http_reply(s->http, o, s->target);
	else
		front_reply(&s->front, o, have_bound ? (const struct sockaddr *)&bound : NULL);
	/* the reply goes ahead of the proxy's first bytes, in the same write */
	size_t n = out_len(s);
	if (buf_prepend(pool, &b2a, out_ptr(s), n) < 0) {
		buf_release(pool, &b2a, 1);
		session_close(s, "out-of-memory");
		return;
	}
	out_sent(s, n);
	s->reply_len = (uint8_t)n;
	/* the reply (and what came with the 200) goes out now, not one loop turn later */
	ssize_t w = stream_write(&s->client, b2a.data + b2a.start, buf_len(&b2a));
	if (w < 0 && w != STREAM_AGAIN) {
		buf_release(pool, &b2a, 1);
		log_debug("%s: write to client: %s", s->client_text, strerror((int)-w));
		session_close(s, "client-error");
		return;
	}
	uint64_t sent = w > 0 ? (uint64_t)w : 0;
	b2a.start += (uint32_t)sent;
	buf_release(pool, &b2a, 0);
	s->state = S_RELAY;
	ev_timer_stop(loop_of(s), &s->timer);
	s->relay_limit = 0;
	pump_on_eof(&s->pump, pump_eof_cb);
	pump_start(&s->pump, &s->host->pump_ctx, &s->client, &s->up, &s->c2u, &b2a, s->client_eof, pump_done);
	s->pump.dir[1].bytes += sent; /* counted as the pump counts what it writes */
	relay_timer(s);
}

/* Feeds the client's bytes to front and acts on what it says. */
int session_handshake(struct session *s)
{
	const char *reason = "bad-socks-request";
	size_t used = 0;
	char target[SOCKS_NAME_MAX + 10];
	const uint8_t *p = (const uint8_t *)s->c2u.data + s->c2u.start;
	size_t len = buf_len(&s->c2u);

	if (s->http == NULL && s->front.version == 0 && len > 0 && isalpha(p[0]) && !s->gen->cfg->no_http &&
	    session_http_begin(s) < 0) {
		session_close(s, "out-of-memory");
		return -1;
	}
	if (s->http != NULL)
		return session_http_handshake(s);
	enum front_event ev = len ? front_feed(&s->front, s->gen->cfg, p, len, &used, target, sizeof(target), &reason)
				  : FRONT_MORE;
	s->c2u.start += (uint32_t)used;
	buf_release(&s->host->pool, &s->c2u, 0);
	switch (ev) {
	case FRONT_MORE:
		/* the method choice first: the client's next message is on its way while the
		 * proxy's connect (socket, options, SYN) runs below */
		if (flush_front(s) < 0)
			return -1;
		if (s->client_eof) {
			session_close(s, "client-closed-in-handshake");
			return -1;
		}
		session_dial_early(s);
		return 0;
	case FRONT_DROP:
		session_close(s, reason);
		return -1;
	case FRONT_FAIL:
		return session_reply_fail(s, reason);
	case FRONT_REQUEST:
		break;
	}
	log_debug("%s: SOCKS%d CONNECT %s", s->client_text, s->front.version, target);
	s->target = strdup(target);
	if (s->target == NULL) {
		struct outcome o = {OUTCOME_LOCAL, ENOMEM, 0, "", "out-of-memory", 0, 0};
		session_reply_outcome(s, &o);
		return session_reply_fail(s, o.reason);
	}
	ev_timer_stop(loop_of(s), &s->timer); /* the dial's timers take over */
	s->state = S_DIALING;
	const struct outcome *early = s->dial ? dial_result(s->dial) : NULL;
	if (early != NULL) { /* the early dial failed already */
		session_reply_outcome(s, early);
		return session_reply_fail(s, early->reason);
	}
	if (s->dial != NULL)
		return dial_set_target(s->dial, target);
	return session_route(s, 0);
}

void session_client_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct session *s = w->data;
	(void)loop;

	switch (s->state) {
	case S_HANDSHAKE:
		if ((revents & EV_WRITE) && flush_front(s) < 0)
			return;
		if ((revents & EV_READ) && (read_client(s) < 0 || session_handshake(s) < 0))
			return;
		break;
	case S_DIALING:
		/* early bytes are held until the proxy's 2xx */
		if ((revents & EV_WRITE) && flush_front(s) < 0)
			return;
		if ((revents & EV_READ) && read_client(s) < 0)
			return;
		break;
	case S_REPLY_FAIL:
		fail_progress(s);
		return;
	default:
		return;
	}
	session_watch_client(s);
}

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct session *s = w->data;
	(void)revents;

	switch (s->state) {
	case S_HANDSHAKE:
		if (s->requests > 0 && buf_len(&s->c2u) == 0) { /* an idle kept-alive connection */
			session_close(s, "keep-alive-timeout");
			return;
		}
		log_info("%s: %s handshake not completed within %gs", s->client_text, s->http ? "HTTP" : "SOCKS",
			 s->gen->cfg->handshake_timeout);
		session_close(s, "handshake-timeout");
		return;
	case S_FORWARD: {
		double left = s->fwd->last_io + s->gen->cfg->reply_timeout - ev_now(loop);
		if (left > 0.001) {
			session_arm_timer(s, left);
			return;
		}
		log_info("%s: forwarded request to %s made no progress within %gs", s->client_text, s->target,
			 s->gen->cfg->reply_timeout);
		session_close(s, "forward-timeout");
		return;
	}
	case S_RELAY: {
		double left = s->pump.last_io + s->relay_limit - ev_now(loop);
		if (left > 0.001) {
			session_arm_timer(s, left);
			return;
		}
		session_close(s, (pump_eof(&s->pump, 0) || pump_eof(&s->pump, 1)) ? "linger-timeout" : "idle-timeout");
		return;
	}
	case S_REPLY_FAIL:
		session_close(s, s->fail_reason);
		return;
	default:
		return;
	}
}

int session_accept(struct session_host *h, int fd, const struct sockaddr *peer, socklen_t peerlen,
		   const struct sockaddr_storage *local)
{
	struct session *s = calloc(1, sizeof(*s));
	(void)peerlen;

	if (s == NULL) {
		close(fd);
		return -1;
	}
	s->host = h;
	s->gen = generation_get(h->gen);
	s->state = S_HANDSHAKE;
	s->route.rule = -1;
	s->started = ev_now(h->loop);
	stream_init_fd(&s->client, fd, session_client_cb, s);
	stream_init_none(&s->up, NULL, NULL);
	ev_timer_init(&s->timer, timer_cb, 0, 0);
	s->timer.data = s;
	if (peer->sa_family != AF_UNIX)
		sockets_tune_accepted(fd, !config_addr_is_local(peer)); /* keepalive toward other hosts */
	if (peer->sa_family != AF_UNIX)
		log_addr(peer, s->client_text, sizeof(s->client_text));
	else
		snprintf(s->client_text, sizeof(s->client_text), "unix(?)");
	front_init(&s->front, ACCESS_PENDING, s->client_text);

	s->next = h->sessions;
	if (h->sessions)
		h->sessions->prev = s;
	h->sessions = s;
	h->nsessions++;

	session_arm_timer(s, s->gen->cfg->handshake_timeout);
	/* SOCKS clients speak first, usually in the same breath as connecting: read now
	 * rather than one loop turn later */
	if (read_client(s) < 0)
		return 0;
	/* A SOCKS5 greeting needs no verdict unless --socks-auth is on (then none is looked
	 * up): answered first, the client's request is on its way while the owner is looked
	 * up.  Front takes nothing past the greeting while the verdict is pending. */
	if (buf_len(&s->c2u) > 0 && (uint8_t)s->c2u.data[s->c2u.start] == 5 && s->gen->cfg->nauth == 0 &&
	    session_handshake(s) < 0)
		return 0;
	char who[96];
	enum access_verdict verdict = access_check(h->peercred, s->gen->cfg, fd, local, peer, who, sizeof(who));
	if (peer->sa_family == AF_UNIX)
		snprintf(s->client_text, sizeof(s->client_text), "unix(%.32s)", who[0] ? who : "?");
	if (verdict == ACCESS_DENY)
		log_info("%s: refusing client: %s", s->client_text, who);
	else if (verdict == ACCESS_GONE) /* it left while waiting in the backlog */
		log_debug("%s: client gone before it was served: %s", s->client_text, who);
	else if (verdict == ACCESS_ERROR)
		h->out_of_fds(h); /* logs, rate-limited */
	s->front.verdict = (uint8_t)verdict;
	if (s->state == S_HANDSHAKE) {
		session_dial_early(s); /* after a greeting */
		if ((buf_len(&s->c2u) > 0 || s->client_eof) && session_handshake(s) < 0)
			return 0;
	}
	session_watch_client(s);
	return 0;
}

