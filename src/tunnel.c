/* tunnel: one SOCKS client's connection through the upstream proxy (see include/tunnel.h).
 *
 * Functions that can end the tunnel return -1 when they did (the tunnel is freed: return
 * at once) and 0 otherwise.  After every event the watchers are derived from the state and
 * the buffers (update_watchers), so backpressure needs no bookkeeping of its own: a side is
 * read only while the buffer it reads into has room, and written only while there is data. */
#include "tunnel.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "access.h"
#include "httpc.h"
#include "log.h"
#include "prewarm.h"
#include "server.h"
#include "socks.h"

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 /* SIGPIPE is ignored process-wide */
#endif

#define container_of(ptr, type, member) ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

#define REPLY_FAIL_LINGER 2.0 /* seconds to wait for the client to close after a failure reply */

enum { V5_GREETING, V5_AUTH, V5_REQUEST };

/* The relay's two directions. */
enum { DIR_UP = 0 /* client to proxy */, DIR_DOWN = 1 /* proxy to client */ };

/* Zero-copy relay on Linux: a direction whose buffer has drained moves on to splice(2)
 * through a pipe of its own, taken the first time data flows. */
enum { SP_OFF = 0, SP_ON, SP_NEVER };
#define PIPE_BYTES 65536 /* what a pipe holds by default */

struct splice_pipe {
	int rd, wr;
	uint32_t bytes;   /* in the pipe, not yet written out */
	uint8_t state;    /* SP_* */
	uint8_t stalled;  /* the pipe refused more (its slots are full): wait until it drains */
};

enum tunnel_state { ST_HANDSHAKE, ST_RESOLVING, ST_CONNECTING, ST_PROXY_REPLY, ST_RELAY, ST_REPLY_FAIL };

struct side {
	int fd;
	ev_io io;
	int events;           /* what io is started for; 0 when stopped */
	unsigned rd_eof : 1;  /* the peer sent FIN */
	unsigned wr_shut : 1; /* we sent FIN */
};

struct tunnel {
	struct server *srv;
	struct generation *gen; /* configuration, upstreams and resolver this tunnel uses */
	struct tunnel *prev, *next;
	enum tunnel_state state;
	uint8_t socks_version; /* 0 until the first byte arrived */
	uint8_t v5_stage;      /* SOCKS5: V5_GREETING, V5_AUTH (RFC 1929), V5_REQUEST */
	uint8_t access;        /* enum access_verdict */
	int16_t reply;         /* SOCKS reply code sent; -1 none */
	int http_status;       /* 0 until the proxy answered */
	struct side client, up;
	ev_timer timer;
	double relay_limit;    /* idle or linger seconds the RELAY timer enforces */
	ev_tstamp last_io;
	ev_tstamp started;
	struct buf c2u, u2c;
	struct splice_pipe sp[2]; /* by DIR_* */
	uint8_t ctl[SOCKS5_REPLY_MAX]; /* SOCKS messages to the client, sent ahead of u2c */
	uint8_t ctl_len, ctl_off;
	char *req;                     /* the CONNECT request while it is being sent */
	uint32_t req_len, req_off;
	struct resolver_result *addrs; /* the current proxy's addresses while connecting */
	unsigned addr_idx;             /* the next address to try */
	struct side alt;               /* a second connect attempt in flight (Happy Eyeballs) */
	uint8_t up_addr, alt_addr;     /* which address each attempt goes to */
	ev_tstamp up_deadline, alt_deadline, next_attempt_at;
	unsigned proxy_idx;
	uint16_t tried;        /* proxies tried for this tunnel (bit per index) */
	uint8_t last_resort;   /* second pass: the proxies marked down */
	uint8_t spare_tried;   /* asked prewarm for a ready connection */
	struct resolver_waiter rw;
	size_t hdr_scan;
	uint64_t up_bytes, down_bytes;
	const char *fail_reason;
	char client_text[48];
	char target[SOCKS_NAME_MAX + 10];
};

static int handshake(struct tunnel *t);
static int try_proxy(struct tunnel *t);
static void proxy_failed(struct tunnel *t);
static int connected(struct tunnel *t);
static int connect_step(struct tunnel *t);

static struct ev_loop *loop_of(struct tunnel *t)
{
	return t->srv->loop;
}

static const char *proxy_name(const struct tunnel *t)
{
	if (t->tried == 0 || t->proxy_idx >= t->gen->nupstreams)
		return "-";
	return t->gen->upstreams[t->proxy_idx].display;
}

static socklen_t sockaddr_len(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

static void tune_socket(int fd)
{
	int one = 1;
	/* Nagle would only add delay: the endpoints do their own batching */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* tunnels have no idle timeout by default: keepalive finds dead peers instead */
	(void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
#ifdef TCP_KEEPIDLE
	int idle = 60, intvl = 10, cnt = 6;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
#endif
}

static void side_watch(struct tunnel *t, struct side *s, int events)
{
	if (s->fd < 0)
		events = 0;
	if (s->events == events)
		return;
	ev_io_stop(loop_of(t), &s->io);
	s->events = events;
	if (events) {
		ev_io_set(&s->io, s->fd, events);
		ev_io_start(loop_of(t), &s->io);
	}
}

static int ctl_pending(const struct tunnel *t)
{
	return t->ctl_off < t->ctl_len;
}

static struct buf *dir_buf(struct tunnel *t, int dir)
{
	return dir == DIR_UP ? &t->c2u : &t->u2c;
}

/* Bytes read from one side and not yet written to the other. */
static size_t dir_pending(struct tunnel *t, int dir)
{
	return buf_len(dir_buf(t, dir)) + t->sp[dir].bytes;
}

/* May the direction take more bytes in? */
static int dir_room(struct tunnel *t, int dir)
{
	const struct splice_pipe *sp = &t->sp[dir];
	if (sp->state == SP_ON)
		return sp->bytes < PIPE_BYTES && !sp->stalled;
	return buf_len(dir_buf(t, dir)) < t->srv->pool.size;
}

static void update_watchers(struct tunnel *t)
{
	size_t size = t->srv->pool.size;
	int c2u_room = !t->client.rd_eof && buf_len(&t->c2u) < size;
	int c = 0, u = 0;

	switch (t->state) {
	case ST_HANDSHAKE:
		c = (c2u_room ? EV_READ : 0) | (ctl_pending(t) ? EV_WRITE : 0);
		break;
	case ST_RESOLVING:
		c = c2u_room ? EV_READ : 0;
		break;
	case ST_CONNECTING:
		c = c2u_room ? EV_READ : 0;
		u = EV_WRITE;
		break;
	case ST_PROXY_REPLY:
		c = c2u_room ? EV_READ : 0;
		u = (t->req_off < t->req_len ? EV_WRITE : 0) | (buf_len(&t->u2c) < size ? EV_READ : 0);
		break;
	case ST_RELAY:
		c = ((!t->client.rd_eof && dir_room(t, DIR_UP)) ? EV_READ : 0) |
		    ((ctl_pending(t) || dir_pending(t, DIR_DOWN) > 0) ? EV_WRITE : 0);
		u = ((!t->up.rd_eof && dir_room(t, DIR_DOWN)) ? EV_READ : 0) |
		    (dir_pending(t, DIR_UP) > 0 ? EV_WRITE : 0);
		break;
	case ST_REPLY_FAIL:
		c = ctl_pending(t) ? EV_WRITE : EV_READ;
		break;
	}
	side_watch(t, &t->client, c);
	side_watch(t, &t->up, u);
	side_watch(t, &t->alt, t->state == ST_CONNECTING ? EV_WRITE : 0);
}

static void arm_timer(struct tunnel *t, double secs)
{
	ev_timer_stop(loop_of(t), &t->timer);
	ev_timer_set(&t->timer, secs, 0);
	ev_timer_start(loop_of(t), &t->timer);
}

/* The tunnel's one line: who, what, through which proxy, with what outcome. */
static void log_summary(const struct tunnel *t, const char *reason)
{
	char reply[16];

	if (t->reply < 0)
		strcpy(reply, "-");
	else if (t->socks_version == 4)
		snprintf(reply, sizeof(reply), "%d", t->reply);
	else
		snprintf(reply, sizeof(reply), "0x%02x", (unsigned)t->reply);
	char http[16] = "-";
	if (t->http_status > 0)
		snprintf(http, sizeof(http), "%d", t->http_status);
	char socks[16] = "-";
	if (t->socks_version)
		snprintf(socks, sizeof(socks), "%d", t->socks_version);
	log_info("tunnel client=%s socks=%s target=%s proxy=%s http=%s reply=%s up=%llu down=%llu time=%.3fs reason=%s",
		 t->client_text, socks, t->target[0] ? t->target : "-", proxy_name(t), http, reply,
		 (unsigned long long)t->up_bytes, (unsigned long long)t->down_bytes,
		 ev_now(t->srv->loop) - t->started, reason);
}

/* The only teardown: every watcher, the lookup, both fds, the buffers, one log line. */
static void tunnel_close(struct tunnel *t, const char *reason)
{
	struct server *srv = t->srv;

	side_watch(t, &t->client, 0);
	side_watch(t, &t->up, 0);
	side_watch(t, &t->alt, 0);
	ev_timer_stop(srv->loop, &t->timer);
	if (t->alt.fd >= 0)
		close(t->alt.fd);
	resolver_cancel(t->gen->resolver, &t->rw);
	if (t->client.fd >= 0)
		close(t->client.fd);
	if (t->up.fd >= 0)
		close(t->up.fd);
	t->client.fd = t->up.fd = -1;
	for (int d = 0; d < 2; d++)
		if (t->sp[d].state == SP_ON)
			server_pipe_put(srv, t->sp[d].rd, t->sp[d].wr, t->sp[d].bytes == 0);
	buf_release(&srv->pool, &t->c2u, 1);
	buf_release(&srv->pool, &t->u2c, 1);
	free(t->req);
	free(t->addrs);

	if (log_enabled(LOG_LVL_INFO))
		log_summary(t, reason);
	server_gen_put(t->gen);
	if (t->prev)
		t->prev->next = t->next;
	else
		srv->tunnels = t->next;
	if (t->next)
		t->next->prev = t->prev;
	srv->ntunnels--;
	free(t);
	server_tunnel_closed(srv);
}

struct tunnel *tunnel_next(struct tunnel *t)
{
	return t->next;
}

void tunnel_report(struct tunnel *t)
{
	static const char *const names[] = {"handshake", "resolving", "connecting", "proxy-reply", "relay", "reply-fail"};
	log_info("tunnel client=%s socks=%d target=%s proxy=%s state=%s up=%llu down=%llu age=%.1fs%s%s",
		 t->client_text, t->socks_version, t->target[0] ? t->target : "-", proxy_name(t), names[t->state],
		 (unsigned long long)t->up_bytes, (unsigned long long)t->down_bytes, ev_now(loop_of(t)) - t->started,
		 t->client.rd_eof ? " client-eof" : "", t->up.rd_eof ? " upstream-eof" : "");
}

void tunnel_abort(struct tunnel *t, const char *reason)
{
	tunnel_close(t, reason);
}

/* Reads once from s into b.  Returns the byte count, 0 at EOF, -EAGAIN when nothing was
 * there (or no room), or -errno. */
static ssize_t fill(struct tunnel *t, struct side *s, struct buf *b)
{
	struct bufpool *pool = &t->srv->pool;
	size_t room = buf_room(pool, b);

	if (room == 0 || s->rd_eof)
		return -EAGAIN;
	if (buf_acquire(pool, b) < 0)
		return -ENOMEM;
	ssize_t n;
	do
		n = recv(s->fd, b->data + b->end, room, 0);
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		b->end += (uint32_t)n;
		t->last_io = ev_now(loop_of(t));
		return n;
	}
	buf_release(pool, b, 0);
	if (n == 0) {
		s->rd_eof = 1;
		return 0;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return -EAGAIN;
	return -errno;
}

/* Writes iov to fd.  Returns bytes written (maybe 0 on EAGAIN) or -errno. */
static ssize_t send_iov(int fd, struct iovec *iov, int n)
{
	struct msghdr msg;
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = iov;
	msg.msg_iovlen = n;
	ssize_t w;
	do
		w = sendmsg(fd, &msg, MSG_NOSIGNAL);
	while (w < 0 && errno == EINTR);
	if (w >= 0)
		return w;
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return 0;
	return -errno;
}

/* Sends the pending SOCKS message and, in RELAY, the upstream's bytes, in one call so a
 * success reply and the first tunnel bytes leave together. */
static int flush_client(struct tunnel *t)
{
	struct iovec iov[2];
	int n = 0;
	size_t ctl_left = (size_t)(t->ctl_len - t->ctl_off);

	if (ctl_left > 0) {
		iov[n].iov_base = t->ctl + t->ctl_off;
		iov[n++].iov_len = ctl_left;
	}
	if (t->state == ST_RELAY && buf_len(&t->u2c) > 0) {
		iov[n].iov_base = t->u2c.data + t->u2c.start;
		iov[n++].iov_len = buf_len(&t->u2c);
	}
	if (n == 0)
		return 0;
	ssize_t w = send_iov(t->client.fd, iov, n);
	if (w < 0) {
		log_debug("%s: write to client: %s", t->client_text, strerror((int)-w));
		tunnel_close(t, "client-error");
		return -1;
	}
	size_t done = (size_t)w;
	size_t c = done < ctl_left ? done : ctl_left;
	t->ctl_off = (uint8_t)(t->ctl_off + c);
	done -= c;
	if (done > 0) {
		t->u2c.start += (uint32_t)done;
		t->down_bytes += done;
		t->last_io = ev_now(loop_of(t));
		buf_release(&t->srv->pool, &t->u2c, 0);
	}
	return 0;
}

/* Sends the CONNECT request (PROXY_REPLY) or the client's bytes (RELAY) upstream. */
static int flush_up(struct tunnel *t)
{
	struct iovec iov;
	if (t->state == ST_PROXY_REPLY) {
		if (t->req_off >= t->req_len)
			return 0;
		iov.iov_base = t->req + t->req_off;
		iov.iov_len = t->req_len - t->req_off;
	} else {
		if (buf_len(&t->c2u) == 0)
			return 0;
		iov.iov_base = t->c2u.data + t->c2u.start;
		iov.iov_len = buf_len(&t->c2u);
	}
	ssize_t w = send_iov(t->up.fd, &iov, 1);
	if (w < 0) {
		if (t->state == ST_RELAY) {
			log_debug("%s: write to proxy %s: %s", t->client_text, proxy_name(t), strerror((int)-w));
			tunnel_close(t, "upstream-error");
			return -1;
		}
		return 0; /* the read side reports the failure in PROXY_REPLY */
	}
	if (t->state == ST_PROXY_REPLY) {
		t->req_off += (uint32_t)w;
	} else if (w > 0) {
		t->c2u.start += (uint32_t)w;
		t->up_bytes += (uint64_t)w;
		t->last_io = ev_now(loop_of(t));
		buf_release(&t->srv->pool, &t->c2u, 0);
	}
	return 0;
}

static void drop_upstream(struct tunnel *t)
{
	if (t->alt.fd >= 0) {
		side_watch(t, &t->alt, 0);
		close(t->alt.fd);
		t->alt.fd = -1;
	}
	side_watch(t, &t->up, 0);
	if (t->up.fd >= 0)
		close(t->up.fd);
	t->up.fd = -1;
	t->up.rd_eof = t->up.wr_shut = 0;
	t->hdr_scan = 0;
	buf_release(&t->srv->pool, &t->u2c, 1);
	free(t->req);
	t->req = NULL;
	t->req_len = t->req_off = 0;
}

/* Drains and discards client bytes after a failure reply until the client closes. */
static int fail_progress(struct tunnel *t)
{
	if (ctl_pending(t)) {
		if (flush_client(t) < 0)
			return -1;
		if (ctl_pending(t)) {
			update_watchers(t);
			return 0;
		}
	}
	if (!t->client.wr_shut) {
		(void)shutdown(t->client.fd, SHUT_WR);
		t->client.wr_shut = 1;
	}
	char sink[4096];
	for (int i = 0; i < 16; i++) {
		ssize_t n = recv(t->client.fd, sink, sizeof(sink), 0);
		if (n > 0)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			break;
		tunnel_close(t, t->fail_reason);
		return -1;
	}
	update_watchers(t);
	return 0;
}

/* Sends what is in ctl, then closes (lingering so the client can read it). */
static int fail_after_ctl(struct tunnel *t, const char *reason)
{
	drop_upstream(t);
	resolver_cancel(t->gen->resolver, &t->rw);
	free(t->addrs);
	t->addrs = NULL;
	buf_release(&t->srv->pool, &t->c2u, 1);
	t->fail_reason = reason;
	t->state = ST_REPLY_FAIL;
	arm_timer(t, REPLY_FAIL_LINGER);
	return fail_progress(t);
}

static void set_reply(struct tunnel *t, uint8_t rep5, const struct sockaddr *bound)
{
	if (t->socks_version == 4) {
		uint8_t rep4 = socks4_rep_from_socks5(rep5);
		t->ctl_len = (uint8_t)socks4_encode_reply(t->ctl, rep4);
		t->reply = rep4;
	} else {
		t->ctl_len = (uint8_t)socks5_encode_reply(t->ctl, rep5, bound);
		t->reply = rep5;
	}
	t->ctl_off = 0;
}

/* The SOCKS failure reply (translated for SOCKS4), then close. */
static int fail_reply(struct tunnel *t, uint8_t rep5, const char *reason)
{
	set_reply(t, rep5, NULL);
	return fail_after_ctl(t, reason);
}

static void consume(struct tunnel *t, struct buf *b, size_t n)
{
	b->start += (uint32_t)n;
	buf_release(&t->srv->pool, b, 0);
}

static int handshake(struct tunnel *t)
{
	for (;;) {
		size_t len = buf_len(&t->c2u);
		const uint8_t *p = (const uint8_t *)t->c2u.data + t->c2u.start;
		struct socks_request req;
		size_t used = 0;
		int rc;

		if (len == 0) {
			if (t->client.rd_eof) {
				tunnel_close(t, "client-closed-in-handshake");
				return -1;
			}
			return 0;
		}
		if (t->socks_version == 0) {
			if (p[0] != 4 && p[0] != 5) {
				log_info("%s: not a SOCKS request (first byte 0x%02x%s)", t->client_text, p[0],
					 (p[0] >= 'A' && p[0] <= 'Z') ? ": an HTTP client? this port speaks SOCKS" : "");
				tunnel_close(t, "bad-socks-request");
				return -1;
			}
			t->socks_version = p[0];
		}

		if (t->socks_version == 5 && t->v5_stage == V5_GREETING) {
			uint32_t methods = 0;
			/* the method must be one the client offered (RFC 1928 section 3) */
			uint8_t want = t->access == ACCESS_AUTH ? SOCKS5_METHOD_USERPASS : SOCKS5_METHOD_NONE;
			rc = socks5_parse_greeting(p, len, &methods, &used);
			if (rc == SOCKS_DONE && (methods & (UINT32_C(1) << want))) {
				consume(t, &t->c2u, used);
				t->ctl_len = (uint8_t)socks5_encode_method(t->ctl, want);
				t->ctl_off = 0;
				t->v5_stage = want == SOCKS5_METHOD_USERPASS ? V5_AUTH : V5_REQUEST;
				if (flush_client(t) < 0)
					return -1;
				continue;
			}
			if (rc == SOCKS_DONE || rc == SOCKS_ERR_PROTOCOL) {
				log_info("%s: SOCKS5 client does not offer %s", t->client_text,
					 want == SOCKS5_METHOD_NONE ? "'no authentication' (we take no other)"
								    : "username/password login, which --socks-auth requires");
				t->ctl_len = (uint8_t)socks5_encode_method(t->ctl, SOCKS5_METHOD_UNACCEPTABLE);
				t->ctl_off = 0;
				t->reply = SOCKS5_METHOD_UNACCEPTABLE;
				return fail_after_ctl(t, "no-acceptable-method");
			}
		} else if (t->socks_version == 5 && t->v5_stage == V5_AUTH) {
			char user[256], pass[256];
			rc = socks5_parse_userpass(p, len, user, pass, &used);
			if (rc == SOCKS_DONE) {
				int ok = access_password_ok(t->gen->cfg, user, pass);
				memset(pass, 0, sizeof(pass));
				consume(t, &t->c2u, used);
				t->ctl_len = (uint8_t)socks5_encode_userpass_status(t->ctl, ok ? 0 : 1);
				t->ctl_off = 0;
				if (!ok) {
					for (char *c = user; *c; c++) /* the name is the client's: no log injection */
						if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
							*c = '?';
					log_info("%s: SOCKS5 login failed for user '%.64s'", t->client_text, user);
					return fail_after_ctl(t, "login-failed");
				}
				t->access = ACCESS_ALLOW;
				t->v5_stage = V5_REQUEST;
				if (flush_client(t) < 0)
					return -1;
				continue;
			}
		} else if (t->socks_version == 5) {
			rc = socks5_parse_request(p, len, &req, &used);
		} else {
			rc = socks4_parse_request(p, len, &req, &used);
		}

		if (rc == SOCKS_NEED_MORE) {
			if (t->client.rd_eof) {
				tunnel_close(t, "client-closed-in-handshake");
				return -1;
			}
			return 0;
		}
		if (rc < 0) {
			log_info("%s: bad SOCKS%d request: %s", t->client_text, t->socks_version, socks_strerror(rc));
			return fail_reply(t, socks5_rep_for_error(rc), "bad-socks-request");
		}
		consume(t, &t->c2u, used);
		if (socks_target_authority(&req.target, t->target, sizeof(t->target)) < 0)
			return fail_reply(t, SOCKS5_REP_GENERAL_FAILURE, "bad-socks-request");
		if (req.cmd != SOCKS_CMD_CONNECT) {
			log_info("%s: SOCKS%d command %d to %s not supported (only CONNECT)", t->client_text,
				 t->socks_version, req.cmd, t->target);
			return fail_reply(t, SOCKS5_REP_CMD_NOT_SUPPORTED, "command-not-supported");
		}
		if (t->access == ACCESS_ERROR)
			return fail_reply(t, SOCKS5_REP_GENERAL_FAILURE, "out-of-resources");
		if (t->access != ACCESS_ALLOW) {
			/* SOCKS4 cannot log in; others were refused at accept */
			log_info("%s: SOCKS%d CONNECT %s refused: %s", t->client_text, t->socks_version, t->target,
				 t->access == ACCESS_AUTH ? "SOCKS4 has no login, and --socks-auth requires one"
							  : "client not allowed");
			return fail_reply(t, SOCKS5_REP_NOT_ALLOWED, "access-denied");
		}
		log_debug("%s: SOCKS%d CONNECT %s", t->client_text, t->socks_version, t->target);
		t->proxy_idx = 0;
		t->tried = 0;
		t->last_resort = 0;
		return try_proxy(t);
	}
}

static void resolved_cb(struct resolver_waiter *w, int status, const char *errmsg, const struct resolver_result *res)
{
	struct tunnel *t = container_of(w, struct tunnel, rw);
	const struct upstream *up = &t->gen->upstreams[t->proxy_idx];

	if (status != 0) {
		log_warn("proxy %s: cannot resolve %s: %s", up->display, up->spec->host, errmsg);
		proxy_failed(t);
		if (try_proxy(t) == 0)
			update_watchers(t);
		return;
	}
	t->addrs = malloc(sizeof(*t->addrs));
	if (t->addrs == NULL) {
		if (fail_reply(t, SOCKS5_REP_GENERAL_FAILURE, "out-of-memory") == 0)
			update_watchers(t);
		return;
	}
	*t->addrs = *res;
	t->addr_idx = 0;
	if (connect_step(t) == 0)
		update_watchers(t);
}

/* Marks the current proxy as failed: new tunnels try it last for a while. */
static void proxy_failed(struct tunnel *t)
{
	struct upstream *up = &t->gen->upstreams[t->proxy_idx];
	double retry = t->gen->cfg->proxy_retry;
	if (retry > 0 && t->gen->nupstreams > 1) {
		if (up->down_until <= ev_now(loop_of(t)))
			log_warn("proxy %s is unreachable: trying it last for %gs", up->display, retry);
		up->down_until = ev_now(loop_of(t)) + retry;
	}
	t->proxy_idx++;
}

/* Starts on the next proxy to try, from proxy_idx on: healthy ones first, in order; then,
 * as a last resort, those marked down.  Its name lookup comes first. */
static int try_proxy(struct tunnel *t)
{
	ev_tstamp now = ev_now(loop_of(t));
	free(t->addrs);
	t->addrs = NULL;
	for (;;) {
		while (t->proxy_idx < t->gen->nupstreams) {
			const struct upstream *u = &t->gen->upstreams[t->proxy_idx];
			int down = u->down_until > now;
			if (!(t->tried & (1u << t->proxy_idx)) && down == t->last_resort)
				break;
			t->proxy_idx++;
		}
		if (t->proxy_idx < t->gen->nupstreams || t->last_resort)
			break;
		t->last_resort = 1;
		t->proxy_idx = 0;
	}
	if (t->proxy_idx >= t->gen->nupstreams) {
		log_warn("%s: no upstream proxy reachable for %s", t->client_text, t->target);
		return fail_reply(t, SOCKS5_REP_GENERAL_FAILURE, "proxy-unreachable");
	}
	const struct upstream *up = &t->gen->upstreams[t->proxy_idx];
	t->tried |= (uint16_t)(1u << t->proxy_idx);
	if (!t->spare_tried) {
		int fd = prewarm_take(t->gen->prewarm, t->proxy_idx);
		t->spare_tried = 1;
		if (fd >= 0) { /* a connection made ahead of time: CONNECT goes out at once */
			log_debug("%s: using a spare connection to proxy %s", t->client_text, up->display);
			t->up.fd = fd;
			tune_socket(fd);
			return connected(t);
		}
	}
	t->state = ST_RESOLVING;
	arm_timer(t, t->gen->cfg->connect_timeout);
	resolver_lookup(t->gen->resolver, up->spec->host, up->spec->port, &t->rw, resolved_cb);
	return 0;
}

static void close_attempt(struct tunnel *t, struct side *a)
{
	side_watch(t, a, 0);
	if (a->fd >= 0)
		close(a->fd);
	a->fd = -1;
}

/* Starts a non-blocking connect to address addr_idx in slot a.  Returns 0 when under way,
 * -1 when that address failed at once (logged), -2 when the tunnel was closed. */
static int start_attempt(struct tunnel *t, struct side *a, uint8_t *which, ev_tstamp *deadline)
{
	const struct upstream *up = &t->gen->upstreams[t->proxy_idx];
	const struct sockaddr_storage *sa = &t->addrs->addr[t->addr_idx];
	char addr[64];

	*which = (uint8_t)t->addr_idx++;
	int fd = server_socket(sa->ss_family);
	if (fd < 0) {
		int e = errno;
		if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
			server_pause_accept(t->srv, SERVER_PAUSE_FDS); /* logs, rate-limited */
			fail_reply(t, SOCKS5_REP_GENERAL_FAILURE, "out-of-resources");
			return -2;
		}
		log_error("%s: cannot create a socket for proxy %s: %s", t->client_text, up->display, strerror(e));
		return -1;
	}
	tune_socket(fd);
	if (connect(fd, (const struct sockaddr *)sa, sockaddr_len(sa)) < 0 && errno != EINPROGRESS) {
		log_warn("proxy %s (%s): connect: %s", up->display, log_addr((const struct sockaddr *)sa, addr, sizeof(addr)),
			 strerror(errno));
		close(fd);
		return -1;
	}
	a->fd = fd;
	*deadline = ev_now(loop_of(t)) + t->gen->cfg->connect_timeout;
	return 0;
}

/* Drives the connect attempts to the current proxy's addresses (RFC 8305): one at a time,
 * a second one once the first has had HE_DELAY to answer, the next whenever one fails.
 * When every address has failed, the next proxy. */
#define HE_DELAY 0.25
static int connect_step(struct tunnel *t)
{
	ev_tstamp now = ev_now(loop_of(t));

	for (;;) {
		int active = (t->up.fd >= 0) + (t->alt.fd >= 0);
		int more = t->addr_idx < t->addrs->n;
		if (active == 0 && !more) {
			proxy_failed(t);
			return try_proxy(t);
		}
		if (!more || active == 2 || (active == 1 && now < t->next_attempt_at))
			break;
		int rc = t->up.fd < 0 ? start_attempt(t, &t->up, &t->up_addr, &t->up_deadline)
				      : start_attempt(t, &t->alt, &t->alt_addr, &t->alt_deadline);
		if (rc == -2)
			return -1;
		if (rc == 0)
			t->next_attempt_at = now + HE_DELAY;
	}
	t->state = ST_CONNECTING;
	ev_tstamp next = 1e300;
	if (t->up.fd >= 0 && t->up_deadline < next)
		next = t->up_deadline;
	if (t->alt.fd >= 0 && t->alt_deadline < next)
		next = t->alt_deadline;
	if (t->addr_idx < t->addrs->n && t->next_attempt_at < next)
		next = t->next_attempt_at;
	arm_timer(t, next - now > 0.001 ? next - now : 0.001);
	return 0;
}

/* Attempt a has finished connecting (err 0) or failed. */
static int attempt_done(struct tunnel *t, struct side *a, int err, const char *what)
{
	char addr[64];
	const struct upstream *up = &t->gen->upstreams[t->proxy_idx];
	uint8_t which = a == &t->up ? t->up_addr : t->alt_addr;

	if (err != 0 || what != NULL) {
		log_warn("proxy %s (%s): %s%s%s", up->display,
			 log_addr((const struct sockaddr *)&t->addrs->addr[which], addr, sizeof(addr)),
			 what ? what : "connect", err ? ": " : "", err ? strerror(err) : "");
		close_attempt(t, a);
		return connect_step(t);
	}
	if (a == &t->alt) { /* the second attempt won: it becomes the upstream socket */
		close_attempt(t, &t->up);
		side_watch(t, &t->alt, 0);
		t->up.fd = t->alt.fd;
		t->alt.fd = -1;
		t->up_addr = t->alt_addr;
	} else {
		close_attempt(t, &t->alt);
	}
	return connected(t);
}

/* The proxy failed on the current connection before answering: next address, or proxy. */
static int next_address(struct tunnel *t, const char *what, int err)
{
	char addr[64];
	const struct upstream *up = &t->gen->upstreams[t->proxy_idx];
	if (t->addrs == NULL) { /* a spare connection went stale: the normal way, same proxy */
		log_debug("%s: spare connection to proxy %s: %s", t->client_text, up->display, what);
		drop_upstream(t);
		t->tried &= (uint16_t)~(1u << t->proxy_idx);
		return try_proxy(t);
	}
	log_warn("proxy %s (%s): %s%s%s", up->display,
		 log_addr((const struct sockaddr *)&t->addrs->addr[t->up_addr], addr, sizeof(addr)), what,
		 err ? ": " : "", err ? strerror(err) : "");
	drop_upstream(t);
	return connect_step(t);
}

static int connected(struct tunnel *t)
{
	const struct upstream *up = &t->gen->upstreams[t->proxy_idx];
	size_t len;

	t->req = upstream_connect_request(up, t->target, t->gen->cfg->user_agent, &len);
	if (t->req == NULL)
		return fail_reply(t, SOCKS5_REP_GENERAL_FAILURE, "out-of-memory");
	t->req_len = (uint32_t)len;
	t->req_off = 0;
	t->hdr_scan = 0;
	t->state = ST_PROXY_REPLY;
	arm_timer(t, t->gen->cfg->reply_timeout);
	return flush_up(t);
}

static void relay_timer(struct tunnel *t)
{
	double limit = (t->client.rd_eof || t->up.rd_eof) ? t->gen->cfg->linger_timeout : t->gen->cfg->idle_timeout;
	if (limit <= 0) {
		ev_timer_stop(loop_of(t), &t->timer);
		t->relay_limit = 0;
		return;
	}
	if (limit != t->relay_limit || !ev_is_active(&t->timer)) {
		t->relay_limit = limit;
		arm_timer(t, limit);
	}
}

/* Reads from a socket into the direction's pipe.  Returns as fill() does. */
static ssize_t splice_in(struct tunnel *t, struct side *from, struct splice_pipe *sp)
{
#ifdef HAVE_SPLICE
	ssize_t n;
	do
		n = splice(from->fd, NULL, sp->wr, NULL, PIPE_BYTES - sp->bytes, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		sp->bytes += (uint32_t)n;
		t->last_io = ev_now(loop_of(t));
		return n;
	}
	if (n == 0) {
		from->rd_eof = 1;
		return 0;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK) {
		/* the socket is empty, or the pipe full: only the second can be true with bytes */
		if (sp->bytes > 0)
			sp->stalled = 1;
		return -EAGAIN;
	}
	return -errno;
#else
	(void)t;
	(void)from;
	(void)sp;
	return -ENOSYS;
#endif
}

/* Writes the direction's pipe out to a socket.  Returns 0 or -errno. */
static int splice_out(struct tunnel *t, struct splice_pipe *sp, struct side *to, uint64_t *counter)
{
#ifdef HAVE_SPLICE
	while (sp->bytes > 0) {
		ssize_t n = splice(sp->rd, NULL, to->fd, NULL, sp->bytes, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0)
			return n < 0 ? -errno : -EPIPE;
		sp->bytes -= (uint32_t)n;
		sp->stalled = 0;
		*counter += (uint64_t)n;
		t->last_io = ev_now(loop_of(t));
	}
	return 0;
#else
	(void)t;
	(void)sp;
	(void)to;
	(void)counter;
	return 0;
#endif
}

/* Moves one direction on to splice once its buffer (and, towards the client, the SOCKS
 * reply) has gone out; a pipe that cannot be had leaves it on the buffer for good. */
static void maybe_splice(struct tunnel *t, int dir)
{
	struct splice_pipe *sp = &t->sp[dir];
	if (sp->state != SP_OFF || buf_len(dir_buf(t, dir)) > 0 || (dir == DIR_DOWN && ctl_pending(t)))
		return;
#ifdef HAVE_SPLICE
	int fds[2];
	if (!t->gen->cfg->splice) {
		sp->state = SP_NEVER;
	} else if (server_pipe_get(t->srv, fds) == 0) {
		sp->rd = fds[0];
		sp->wr = fds[1];
		sp->state = SP_ON;
		buf_release(&t->srv->pool, dir_buf(t, dir), 1);
	} /* else: buffers for now, a pipe may be had later */
#else
	sp->state = SP_NEVER;
#endif
}

/* One direction of the relay, from one side to the other: read if asked, then write what is
 * pending.  Returns -1 if the tunnel was closed. */
static int pump(struct tunnel *t, int dir, int readable)
{
	struct side *from = dir == DIR_UP ? &t->client : &t->up;
	struct side *to = dir == DIR_UP ? &t->up : &t->client;
	struct splice_pipe *sp = &t->sp[dir];

	if (readable) {
		maybe_splice(t, dir);
		ssize_t n = sp->state == SP_ON ? splice_in(t, from, sp) : fill(t, from, dir_buf(t, dir));
		if ((n == -EINVAL || n == -ENOSYS) && sp->state == SP_ON) { /* a socket that cannot splice */
			if (sp->bytes == 0) {
				server_pipe_put(t->srv, sp->rd, sp->wr, 1);
				sp->state = SP_NEVER;
				n = fill(t, from, dir_buf(t, dir));
			}
		}
		if (n < 0 && n != -EAGAIN) {
			log_debug("%s: read from %s: %s", t->client_text, dir == DIR_UP ? "client" : "proxy",
				  strerror((int)-n));
			tunnel_close(t, dir == DIR_UP ? "client-error" : "upstream-error");
			return -1;
		}
	}
	if (sp->state == SP_ON && sp->bytes > 0) {
		int rc = splice_out(t, sp, to, dir == DIR_UP ? &t->up_bytes : &t->down_bytes);
		if (rc < 0) {
			log_debug("%s: write to %s: %s", t->client_text, dir == DIR_UP ? "proxy" : "client", strerror(-rc));
			tunnel_close(t, dir == DIR_UP ? "upstream-error" : "client-error");
			return -1;
		}
		return 0;
	}
	return dir == DIR_UP ? flush_up(t) : flush_client(t);
}

static int relay(struct tunnel *t, int crev, int urev)
{
	struct bufpool *pool = &t->srv->pool;

	if (pump(t, DIR_UP, crev & EV_READ) < 0 || pump(t, DIR_DOWN, urev & EV_READ) < 0)
		return -1;

	/* half-close: what one side finished sending is delivered, then its FIN passed on */
	if (t->client.rd_eof && dir_pending(t, DIR_UP) == 0 && !t->up.wr_shut) {
		(void)shutdown(t->up.fd, SHUT_WR);
		t->up.wr_shut = 1;
	}
	if (t->up.rd_eof && dir_pending(t, DIR_DOWN) == 0 && !ctl_pending(t) && !t->client.wr_shut) {
		(void)shutdown(t->client.fd, SHUT_WR);
		t->client.wr_shut = 1;
	}
	if (t->client.wr_shut && t->up.wr_shut) {
		tunnel_close(t, "closed");
		return -1;
	}
	buf_release(pool, &t->c2u, 0);
	buf_release(pool, &t->u2c, 0);
	relay_timer(t);
	update_watchers(t);
	return 0;
}

static int established(struct tunnel *t, size_t hdr_len)
{
	struct sockaddr_storage bound;
	socklen_t blen = sizeof(bound);

	consume(t, &t->u2c, hdr_len);
	free(t->req);
	t->req = NULL;
	t->req_len = t->req_off = 0;
	free(t->addrs);
	t->addrs = NULL;
	/* BND.ADDR: the local end of the upstream socket, what peers report for CONNECT */
	if (getsockname(t->up.fd, (struct sockaddr *)&bound, &blen) < 0 ||
	    (bound.ss_family != AF_INET && bound.ss_family != AF_INET6))
		set_reply(t, SOCKS5_REP_SUCCEEDED, NULL);
	else
		set_reply(t, SOCKS5_REP_SUCCEEDED, (const struct sockaddr *)&bound);
	t->state = ST_RELAY;
	t->last_io = ev_now(loop_of(t));
	ev_timer_stop(loop_of(t), &t->timer);
	t->relay_limit = 0;
	return relay(t, 0, 0);
}

static void log_refusal(struct tunnel *t, const struct httpc_response *r)
{
	const struct upstream *up = &t->gen->upstreams[t->proxy_idx];
	const char *colon = strrchr(t->target, ':');
	int port = colon ? atoi(colon + 1) : 0;

	if (r->status == 407)
		log_warn("%s: proxy %s demands authentication for CONNECT %s (407)%s", t->client_text, up->display,
			 t->target,
			 up->auth ? ": it rejected our credentials" : ": give user:password in the -x URL");
	else if (r->status == 403 && port != 443)
		log_warn("%s: proxy %s refused CONNECT %s (403 %s); many proxies allow CONNECT only to port 443",
			 t->client_text, up->display, t->target, r->reason);
	else
		log_warn("%s: proxy %s answered CONNECT %s with %d %s%s%s", t->client_text, up->display, t->target,
			 r->status, r->reason, r->squid_error[0] ? ", X-Squid-Error: " : "", r->squid_error);
}

static int proxy_reply_parse(struct tunnel *t)
{
	const struct config *cfg = t->gen->cfg;
	size_t limit = cfg->max_header < t->srv->pool.size ? cfg->max_header : t->srv->pool.size;

	for (;;) {
		const char *p = t->u2c.data ? t->u2c.data + t->u2c.start : "";
		long end = httpc_header_end(p, buf_len(&t->u2c), limit, &t->hdr_scan);
		if (end == 0)
			return 0;
		if (end < 0) {
			log_warn("%s: proxy %s: %s", t->client_text, proxy_name(t), httpc_strerror((int)end));
			return fail_reply(t, SOCKS5_REP_GENERAL_FAILURE, "bad-proxy-reply");
		}
		struct httpc_response r;
		int rc = httpc_parse_response(p, (size_t)end, &r);
		if (rc < 0) {
			log_warn("%s: proxy %s: %s", t->client_text, proxy_name(t), httpc_strerror(rc));
			return fail_reply(t, SOCKS5_REP_GENERAL_FAILURE, "bad-proxy-reply");
		}
		t->http_status = r.status;
		t->gen->upstreams[t->proxy_idx].down_until = 0;
		if (r.status < 200) { /* interim (100 Continue etc.): the real answer follows */
			consume(t, &t->u2c, (size_t)end);
			t->hdr_scan = 0;
			continue;
		}
		if (r.status <= 299)
			return established(t, (size_t)end);
		log_refusal(t, &r);
		return fail_reply(t, httpc_socks5_reply(&r), "proxy-error");
	}
}

static int proxy_reply_io(struct tunnel *t, int revents)
{
	if ((revents & EV_WRITE) && flush_up(t) < 0)
		return -1;
	if (!(revents & EV_READ))
		return 0;
	ssize_t n = fill(t, &t->up, &t->u2c);
	if (n == -EAGAIN)
		return 0;
	if (n <= 0) {
		if (buf_len(&t->u2c) == 0 && t->http_status == 0)
			return next_address(t, n == 0 ? "closed the connection without answering" : "connection failed before answering",
					    n == 0 ? 0 : (int)-n);
		log_warn("%s: proxy %s closed the connection in the middle of its reply", t->client_text, proxy_name(t));
		return fail_reply(t, SOCKS5_REP_GENERAL_FAILURE, "bad-proxy-reply");
	}
	return proxy_reply_parse(t);
}

static void client_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct tunnel *t = container_of(w, struct tunnel, client.io);
	ssize_t n;
	(void)loop;

	switch (t->state) {
	case ST_HANDSHAKE:
		if ((revents & EV_WRITE) && flush_client(t) < 0)
			return;
		if (revents & EV_READ) {
			n = fill(t, &t->client, &t->c2u);
			if (n < 0 && n != -EAGAIN) {
				tunnel_close(t, "client-error");
				return;
			}
			if (handshake(t) < 0)
				return;
		}
		break;
	case ST_RESOLVING:
	case ST_CONNECTING:
	case ST_PROXY_REPLY:
		/* early bytes are held until the proxy's 2xx */
		n = fill(t, &t->client, &t->c2u);
		if (n < 0 && n != -EAGAIN) {
			tunnel_close(t, "client-error");
			return;
		}
		break;
	case ST_RELAY:
		relay(t, revents, 0);
		return;
	case ST_REPLY_FAIL:
		fail_progress(t);
		return;
	}
	update_watchers(t);
}

static void up_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct tunnel *t = container_of(w, struct tunnel, up.io);
	(void)loop;

	switch (t->state) {
	case ST_CONNECTING: {
		int err = 0;
		socklen_t len = sizeof(err);
		if (getsockopt(t->up.fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (attempt_done(t, &t->up, err, NULL) < 0)
			return;
		break;
	}
	case ST_PROXY_REPLY:
		if (proxy_reply_io(t, revents) < 0)
			return;
		break;
	case ST_RELAY:
		relay(t, 0, revents);
		return;
	default:
		break;
	}
	update_watchers(t);
}

static void alt_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct tunnel *t = container_of(w, struct tunnel, alt.io);
	int err = 0;
	socklen_t len = sizeof(err);
	(void)loop;
	(void)revents;
	if (getsockopt(t->alt.fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (attempt_done(t, &t->alt, err, NULL) == 0)
		update_watchers(t);
}

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct tunnel *t = container_of(w, struct tunnel, timer);
	const struct config *cfg = t->gen->cfg;
	int rc = 0;
	(void)revents;

	switch (t->state) {
	case ST_HANDSHAKE:
		log_info("%s: SOCKS handshake not completed within %gs", t->client_text, cfg->handshake_timeout);
		tunnel_close(t, "handshake-timeout");
		return;
	case ST_RESOLVING:
		log_warn("proxy %s: name lookup did not finish within %gs", proxy_name(t), cfg->connect_timeout);
		resolver_cancel(t->gen->resolver, &t->rw);
		proxy_failed(t);
		rc = try_proxy(t);
		break;
	case ST_CONNECTING: {
		ev_tstamp now = ev_now(loop);
		if (t->alt.fd >= 0 && t->alt_deadline <= now) {
			close_attempt(t, &t->alt); /* logged below with the primary, or alone */
			log_warn("proxy %s: connect timed out after %gs", proxy_name(t), cfg->connect_timeout);
		}
		if (t->up.fd >= 0 && t->up_deadline <= now)
			rc = attempt_done(t, &t->up, 0, "connect timed out");
		else
			rc = connect_step(t); /* time for the next attempt, or the alt one timed out */
		break;
	}
	case ST_PROXY_REPLY:
		log_warn("%s: proxy %s did not answer CONNECT %s within %gs", t->client_text, proxy_name(t), t->target,
			 cfg->reply_timeout);
		rc = fail_reply(t, SOCKS5_REP_TTL_EXPIRED, "proxy-reply-timeout");
		break;
	case ST_RELAY: {
		double left = t->last_io + t->relay_limit - ev_now(loop);
		if (left > 0.001) {
			arm_timer(t, left);
			return;
		}
		tunnel_close(t, (t->client.rd_eof || t->up.rd_eof) ? "linger-timeout" : "idle-timeout");
		return;
	}
	case ST_REPLY_FAIL:
		tunnel_close(t, t->fail_reason);
		return;
	}
	if (rc == 0)
		update_watchers(t);
}

int tunnel_accept(struct server *srv, int fd, const struct sockaddr *peer, socklen_t peerlen)
{
	struct tunnel *t = calloc(1, sizeof(*t));
	(void)peerlen;

	if (t == NULL) {
		close(fd);
		return -1;
	}
	t->srv = srv;
	t->gen = server_gen_get(srv);
	t->client.fd = fd;
	t->up.fd = -1;
	t->alt.fd = -1;
	t->reply = -1;
	t->state = ST_HANDSHAKE;
	t->started = t->last_io = ev_now(srv->loop);
	ev_io_init(&t->client.io, client_cb, fd, 0);
	ev_io_init(&t->up.io, up_cb, -1, 0);
	ev_io_init(&t->alt.io, alt_cb, -1, 0);
	ev_timer_init(&t->timer, timer_cb, 0, 0);
	if (peer->sa_family != AF_UNIX)
		tune_socket(fd);
	char who[96];
	t->access = (uint8_t)access_check(srv->peercred, t->gen->cfg, fd, peer, who, sizeof(who));
	if (peer->sa_family == AF_UNIX)
		snprintf(t->client_text, sizeof(t->client_text), "unix(%.32s)", who[0] ? who : "?");
	else
		log_addr(peer, t->client_text, sizeof(t->client_text));
	if (t->access == ACCESS_DENY)
		log_info("%s: refusing client: %s", t->client_text, who);
	else if (t->access == ACCESS_GONE) /* it left while waiting in the backlog */
		log_debug("%s: client gone before it was served: %s", t->client_text, who);
	else if (t->access == ACCESS_ERROR)
		server_pause_accept(srv, SERVER_PAUSE_FDS); /* logs, rate-limited */

	t->next = srv->tunnels;
	if (srv->tunnels)
		srv->tunnels->prev = t;
	srv->tunnels = t;
	srv->ntunnels++;

	arm_timer(t, t->gen->cfg->handshake_timeout);
	update_watchers(t);
	return 0;
}
