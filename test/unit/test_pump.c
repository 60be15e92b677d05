/* test_pump: the relay between two real sockets, on Unix-domain socketpairs and loopback TCP
 * pairs, through the splice path (a pipe pool) and the buffer path: bulk data both ways at
 * once, backpressure against a reader that stops, half-close either way, initial bytes and
 * the a_eof flag, pipes given back when a direction drains, a pipe budget of zero, resets.
 *
 * Each side of the pump faces an "end" the test drives on the same loop: it writes a
 * pattern that its peer checks byte by byte, and can pause reading or shut down writing. */
#include "pump.h" /* first: the relay must not need the protocols */

#if defined(SOCKS2HTTP_SOCKS_H) || defined(SOCKS2HTTP_HTTPC_H)
#define PUMP_H_KNOWS_PROTOCOL 1
#else
#define PUMP_H_KNOWS_PROTOCOL 0
#endif

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "log.h"

/* The splice path exists only where the system has splice(2) (not in a portable build). */
#ifdef HAVE_SPLICE
static const int have_splice = 1;
#else
static const int have_splice = 0;
#endif

#define MiB (1024u * 1024u)
#define KiB 1024u

enum pair_kind { PAIR_UNIX, PAIR_TCP };

/* The test's end of one side of the pump. */
struct end {
	int fd;
	ev_io io;
	int events;
	uint32_t seed_out, seed_in; /* the pattern sent, the pattern expected */
	uint64_t to_send, sent;
	int shut_when_sent, shut;
	int reading;                /* 0: the reader has stopped */
	const char *prefix;         /* expected ahead of the pattern */
	size_t prefix_len;
	uint64_t recvd, bad;
	int eof, err;
	unsigned long eagain;       /* writes refused because the socket was full */
};

struct rig {
	struct ev_loop *loop;
	struct bufpool pool;
	struct pipepool pipes;
	unsigned ntunnels;
	struct pump_ctx ctx;
	struct stream sa, sb; /* the pump's sides */
	struct end ea, eb;    /* what they face */
	struct pump pump;
	int done_calls, eof_calls;
	enum pump_end end;
	int err;
	int ended_before_done; /* both directions had ended and drained when done came */
	int saw_splice[2];     /* direction k had bytes in flight in a pipe */
	int saw_copy[2];       /* ... in a buffer */
	uint64_t max_pending[2];
	ev_prepare sample;
};

static struct ev_loop *loop;
static ev_timer tick; /* keeps EVRUN_ONCE from sleeping past a deadline */

static void tick_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	(void)l;
	(void)w;
	(void)revents;
}

/* Runs the loop until cond holds or secs have passed. */
#define RUN_UNTIL(cond, secs)                                         \
	do {                                                          \
		ev_tstamp run_deadline_ = ev_time() + (secs);         \
		while (!(cond) && ev_time() < run_deadline_)          \
			ev_run(loop, EVRUN_ONCE);                     \
	} while (0)
#define RUN_FOR(secs) RUN_UNTIL(0, secs)

static uint8_t pat(uint32_t seed, uint64_t i)
{
	uint64_t x = (i + ((uint64_t)seed << 40)) * UINT64_C(0x9E3779B97F4A7C15);
	return (uint8_t)(x >> 56);
}

static void end_watch(struct end *e);

static void end_write(struct end *e)
{
	static uint8_t chunk[64 * KiB];
	while (e->sent < e->to_send) {
		size_t n = e->to_send - e->sent < sizeof(chunk) ? (size_t)(e->to_send - e->sent) : sizeof(chunk);
		for (size_t i = 0; i < n; i++)
			chunk[i] = pat(e->seed_out, e->sent + i);
		ssize_t w = send(e->fd, chunk, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			e->eagain++;
			break;
		}
		if (w < 0) {
			e->err = errno;
			e->to_send = e->sent;
			break;
		}
		e->sent += (uint64_t)w;
	}
	if (e->sent == e->to_send && e->shut_when_sent && !e->shut) {
		if (shutdown(e->fd, SHUT_WR) < 0)
			e->err = errno;
		e->shut = 1;
	}
}

static void end_read(struct end *e)
{
	static uint8_t buf[64 * KiB];
	for (;;) {
		ssize_t n = recv(e->fd, buf, sizeof(buf), 0);
		if (n > 0) {
			for (ssize_t i = 0; i < n; i++) {
				uint64_t at = e->recvd + (uint64_t)i;
				uint8_t want = at < e->prefix_len ? (uint8_t)e->prefix[at] : pat(e->seed_in, at - e->prefix_len);
				e->bad += buf[i] != want;
			}
			e->recvd += (uint64_t)n;
			continue;
		}
		if (n == 0)
			e->eof = 1;
		else if (errno == EINTR)
			continue;
		else if (errno != EAGAIN)
			e->err = errno;
		break;
	}
}

static void end_cb(struct ev_loop *l, ev_io *w, int revents)
{
	struct end *e = w->data;
	(void)l;
	if (revents & EV_WRITE)
		end_write(e);
	if ((revents & EV_READ) && e->reading)
		end_read(e);
	end_watch(e);
}

static void end_watch(struct end *e)
{
	int ev = 0;
	if (e->fd < 0)
		return;
	if (e->reading && !e->eof && !e->err)
		ev |= EV_READ;
	if (!e->err && (e->sent < e->to_send || (e->shut_when_sent && !e->shut)))
		ev |= EV_WRITE;
	if (ev == e->events)
		return;
	ev_io_stop(loop, &e->io);
	e->events = ev;
	if (ev) {
		ev_io_set(&e->io, e->fd, ev);
		ev_io_start(loop, &e->io);
	}
}

static void end_init(struct end *e, int fd, uint32_t seed_out, uint32_t seed_in)
{
	memset(e, 0, sizeof(*e));
	e->fd = fd;
	e->seed_out = seed_out;
	e->seed_in = seed_in;
	e->reading = 1;
	ev_io_init(&e->io, end_cb, fd, 0);
	e->io.data = e;
}

/* Sends n more pattern bytes, then shuts down writing if shut. */
static void end_send(struct end *e, uint64_t n, int shut)
{
	e->to_send += n;
	e->shut_when_sent = shut;
	end_watch(e);
}

/* A reset (RST) instead of an orderly close. */
static void end_reset(struct end *e)
{
	struct linger lg = {1, 0};
	ev_io_stop(loop, &e->io);
	e->events = 0;
	(void)setsockopt(e->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(e->fd);
	e->fd = -1;
}

static void set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	(void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
}

static void set_bufs(int fd, int size)
{
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
}

/* fds[0] and fds[1] connected to each other, non-blocking; bufsize 0 leaves the socket
 * buffers to the system.  Returns 0 or -1. */
static int make_pair(enum pair_kind kind, int fds[2], int bufsize)
{
	if (kind == PAIR_UNIX) {
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) < 0)
			return -1;
	} else {
		struct sockaddr_in sin;
		socklen_t len = sizeof(sin);
		int l = socket(AF_INET, SOCK_STREAM, 0);
		if (l < 0)
			return -1;
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (bufsize)
			set_bufs(l, bufsize); /* accepted sockets inherit them */
		if (bind(l, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(l, 1) < 0 ||
		    getsockname(l, (struct sockaddr *)&sin, &len) < 0) {
			close(l);
			return -1;
		}
		fds[0] = socket(AF_INET, SOCK_STREAM, 0);
		if (bufsize && fds[0] >= 0)
			set_bufs(fds[0], bufsize);
		if (fds[0] < 0 || connect(fds[0], (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
		    (fds[1] = accept(l, NULL, NULL)) < 0) {
			if (fds[0] >= 0)
				close(fds[0]);
			close(l);
			return -1;
		}
		close(l);
	}
	if (bufsize)
		for (int i = 0; i < 2; i++)
			set_bufs(fds[i], bufsize);
	set_nonblock(fds[0]);
	set_nonblock(fds[1]);
	return 0;
}

static void sample_cb(struct ev_loop *l, ev_prepare *w, int revents)
{
	struct rig *r = w->data;
	(void)l;
	(void)revents;
	if (r->pump.ctx == NULL)
		return;
	for (int k = 0; k < 2; k++) {
		uint64_t n = pump_pending(&r->pump, k);
		if (n > 0 && pump_splicing(&r->pump, k))
			r->saw_splice[k] = 1;
		if (r->pump.dir[k].buf.end > r->pump.dir[k].buf.start)
			r->saw_copy[k] = 1;
		if (n > r->max_pending[k])
			r->max_pending[k] = n;
	}
}

static void done_cb(struct pump *p, enum pump_end end, int err)
{
	struct rig *r = (struct rig *)(void *)((char *)p - offsetof(struct rig, pump));
	r->done_calls++;
	r->end = end;
	r->err = err;
	r->ended_before_done = pump_eof(p, 0) && pump_eof(p, 1) && pump_pending(p, 0) == 0 && pump_pending(p, 1) == 0;
	pump_stop(p); /* as the owner does; it may free the pump here */
}

static void eof_cb(struct pump *p)
{
	struct rig *r = (struct rig *)(void *)((char *)p - offsetof(struct rig, pump));
	r->eof_calls++;
}

/* A rig with its sockets; splice says whether the pump gets a pipe pool, fd_limit is the
 * pool's budget (0: none). */
static int rig_init(struct rig *r, enum pair_kind kind, int splice, unsigned long fd_limit, size_t bufsize,
		    int sockbuf)
{
	int a[2], b[2];

	memset(r, 0, sizeof(r[0]));
	r->loop = loop;
	if (bufpool_init(&r->pool, bufsize, 4) < 0)
		return -1;
	r->ntunnels = 1;
	pipepool_init(&r->pipes, fd_limit, fd_limit ? 100 : 0, 16, &r->ntunnels, 0, 0);
	r->ctx.loop = loop;
	r->ctx.pool = &r->pool;
	r->ctx.pipes = splice ? &r->pipes : NULL;
	if (make_pair(kind, a, sockbuf) < 0)
		return -1;
	if (make_pair(kind, b, sockbuf) < 0) {
		close(a[0]);
		close(a[1]);
		return -1;
	}
	/* a[0]: the test's end facing side A; a[1]: side A.  b[0]: side B; b[1]: the test's end */
	stream_init_fd(&r->sa, a[1], NULL, NULL);
	stream_init_fd(&r->sb, b[0], NULL, NULL);
	end_init(&r->ea, a[0], 0xa, 0xb);
	end_init(&r->eb, b[1], 0xb, 0xa);
	ev_prepare_init(&r->sample, sample_cb);
	r->sample.data = r;
	ev_prepare_start(loop, &r->sample);
	return 0;
}

static void rig_start(struct rig *r, struct buf *a2b, struct buf *b2a, int a_eof)
{
	struct buf none_a = {NULL, 0, 0}, none_b = {NULL, 0, 0};
	pump_on_eof(&r->pump, eof_cb);
	pump_start(&r->pump, &r->ctx, &r->sa, &r->sb, a2b ? a2b : &none_a, b2a ? b2a : &none_b, a_eof, done_cb);
	end_watch(&r->ea);
	end_watch(&r->eb);
}

/* No pipe is out of the pool, none is held by the pump, no buffer is in use. */
static int rig_idle(const struct rig *r)
{
	return !pump_splicing(&r->pump, 0) && !pump_splicing(&r->pump, 1) && r->pipes.pipe_fds == 2ul * r->pipes.npool &&
	       r->pool.in_use == 0;
}

static void rig_free(struct rig *r)
{
	pump_stop(&r->pump);
	CHECK(rig_idle(r));
	ev_prepare_stop(loop, &r->sample);
	for (struct end *e = &r->ea; e <= &r->eb; e++) {
		ev_io_stop(loop, &e->io);
		if (e->fd >= 0)
			close(e->fd);
	}
	stream_close(loop, &r->sa);
	stream_close(loop, &r->sb);
	pipepool_drain(&r->pipes);
	CHECK_EQ_INT(r->pipes.pipe_fds, 0);
	bufpool_destroy(&r->pool);
}

static const char *kind_name(enum pair_kind kind, int splice)
{
	if (kind == PAIR_UNIX)
		return splice ? "unix/splice" : "unix/copy";
	return splice ? "tcp/splice" : "tcp/copy";
}

/* Both directions at once, then both ends shut down writing. */
static void test_bulk(enum pair_kind kind, int splice, uint64_t n)
{
	struct rig r;
	fprintf(stderr, "bulk %s, %llu bytes each way\n", kind_name(kind, splice), (unsigned long long)n);
	if (rig_init(&r, kind, splice, 0, 32 * KiB, 0) < 0) {
		CHECK(!"rig");
		return;
	}
	rig_start(&r, NULL, NULL, 0);
	end_send(&r.ea, n, 1);
	end_send(&r.eb, n, 1);
	RUN_UNTIL(r.done_calls > 0 && r.ea.eof && r.eb.eof, 60);
	CHECK_EQ_INT(r.done_calls, 1);
	CHECK_EQ_INT(r.end, PUMP_CLOSED);
	CHECK(r.ended_before_done);
	CHECK_EQ_INT(r.ea.sent, n);
	CHECK_EQ_INT(r.eb.sent, n);
	CHECK_EQ_INT(r.eb.recvd, n);
	CHECK_EQ_INT(r.ea.recvd, n);
	CHECK_EQ_INT(r.ea.bad, 0);
	CHECK_EQ_INT(r.eb.bad, 0);
	CHECK(r.ea.eof && r.eb.eof);
	CHECK_EQ_INT(r.ea.err, 0);
	CHECK_EQ_INT(r.eb.err, 0);
	CHECK_EQ_INT(r.pump.dir[0].bytes, n);
	CHECK_EQ_INT(r.pump.dir[1].bytes, n);
	CHECK(r.eof_calls >= 1);
	if (kind == PAIR_TCP && splice && have_splice) {
		CHECK(r.saw_splice[0] && r.saw_splice[1]);
		CHECK(r.pipes.taken > 0);
	}
	if (!splice) {
		CHECK(!r.saw_splice[0] && !r.saw_splice[1]);
		CHECK_EQ_INT(r.pipes.taken, 0);
		CHECK(r.saw_copy[0] && r.saw_copy[1]);
	}
	/* done once, and nothing more happens */
	RUN_FOR(0.05);
	CHECK_EQ_INT(r.done_calls, 1);
	CHECK(rig_idle(&r));
	rig_free(&r);
}

static int sockopt(int fd, int opt)
{
	int v = 0;
	socklen_t len = sizeof(v);
	(void)getsockopt(fd, SOL_SOCKET, opt, &v, &len);
	return v;
}

/* The reader behind B stops: the pump must stop reading A once its buffer (or pipe) and
 * the sockets are full, and A's writer must be refused. */
static void test_backpressure(enum pair_kind kind, int splice)
{
	struct rig r;
	const size_t bufsize = 16 * KiB;
	fprintf(stderr, "backpressure %s\n", kind_name(kind, splice));
	if (rig_init(&r, kind, splice, 0, bufsize, 32 * KiB) < 0) {
		CHECK(!"rig");
		return;
	}
	rig_start(&r, NULL, NULL, 0);
	r.eb.reading = 0;
	end_watch(&r.eb);
	end_send(&r.ea, 1024 * MiB, 0); /* more than can ever be buffered */

	/* run until the writer has made no progress for a while */
	uint64_t last = (uint64_t)-1;
	int still = 0;
	for (int i = 0; i < 100 && still < 3; i++) {
		RUN_FOR(0.1);
		still = r.ea.sent == last ? still + 1 : 0;
		last = r.ea.sent;
	}
	CHECK(still >= 3);
	CHECK(r.ea.eagain > 0);
	CHECK(r.ea.sent > 0);
	CHECK(r.ea.sent < 1024 * MiB);
	CHECK_EQ_INT(r.eb.recvd, 0);
	CHECK_EQ_INT(r.done_calls, 0);

	/* A pipe holds F_GETPIPE_SZ / page size slots, but a slot spliced from a socket holds
	 * a whole fragment of a socket buffer, not one page: up to 32 KiB (the kernel's
	 * SKB_FRAG_PAGE_ORDER), so a 64 KiB pipe can take 512 KiB. */
	uint64_t pipe_cap = 0;
	if (pump_splicing(&r.pump, 0)) {
		int sz = fcntl(r.pump.dir[0].pipe[0], F_GETPIPE_SZ);
		long page = sysconf(_SC_PAGESIZE);
		pipe_cap = (sz > 0 && page > 0 ? (uint64_t)sz / (uint64_t)page : 256) * 32 * KiB;
	}
	uint64_t sockets = (uint64_t)sockopt(r.ea.fd, SO_SNDBUF) + (uint64_t)sockopt(r.sa.fd, SO_RCVBUF) +
			   (uint64_t)sockopt(r.sb.fd, SO_SNDBUF) + (uint64_t)sockopt(r.eb.fd, SO_RCVBUF);
	uint64_t bound = bufsize + pipe_cap + sockets;
	fprintf(stderr, "  %llu bytes taken in (bound %llu), %llu in the pump (buffer %zu, pipe %u)\n",
		(unsigned long long)r.ea.sent, (unsigned long long)bound, (unsigned long long)pump_pending(&r.pump, 0),
		buf_len(&r.pump.dir[0].buf), r.pump.dir[0].inpipe);
	CHECK(r.ea.sent <= bound);
	CHECK(pump_pending(&r.pump, 0) > 0);
	CHECK(pump_pending(&r.pump, 0) <= bufsize + pipe_cap);
	CHECK(r.max_pending[0] <= bufsize + pipe_cap);
	/* the pump waits to write B and no longer reads A */
	CHECK(r.sb.events & EV_WRITE);
	CHECK(!(r.sa.events & EV_READ));
	/* the other direction is unaffected */
	CHECK(r.sb.events & EV_READ);

	/* the reader comes back: everything arrives, in order */
	r.ea.to_send = r.ea.sent;
	end_send(&r.ea, 0, 1);
	end_send(&r.eb, 64 * KiB, 1);
	r.eb.reading = 1;
	end_watch(&r.eb);
	RUN_UNTIL(r.done_calls > 0 && r.ea.eof && r.eb.eof, 30);
	CHECK_EQ_INT(r.done_calls, 1);
	CHECK_EQ_INT(r.end, PUMP_CLOSED);
	CHECK_EQ_INT(r.eb.recvd, r.ea.sent);
	CHECK_EQ_INT(r.ea.recvd, 64 * KiB);
	CHECK_EQ_INT(r.ea.bad + r.eb.bad, 0);
	rig_free(&r);
}

/* One end shuts down writing: its peer gets all the data, then end of stream; the other
 * direction still flows; done comes only when both have ended. */
static void test_half_close(enum pair_kind kind, int splice, int first)
{
	struct rig r;
	fprintf(stderr, "half-close %s, side %c first\n", kind_name(kind, splice), first ? 'B' : 'A');
	if (rig_init(&r, kind, splice, 0, 32 * KiB, 0) < 0) {
		CHECK(!"rig");
		return;
	}
	struct end *e1 = first ? &r.eb : &r.ea, *e2 = first ? &r.ea : &r.eb;
	rig_start(&r, NULL, NULL, 0);
	end_send(e1, 1 * MiB, 1);
	RUN_UNTIL(e2->eof, 20);
	CHECK(e2->eof);
	CHECK_EQ_INT(e2->recvd, 1 * MiB); /* all the data came before the end */
	CHECK_EQ_INT(e2->bad, 0);
	CHECK(pump_eof(&r.pump, first));
	CHECK(!pump_eof(&r.pump, !first));
	CHECK_EQ_INT(r.eof_calls, 1);
	CHECK_EQ_INT(r.done_calls, 0);
	CHECK(!e1->eof);

	/* the other way still works */
	end_send(e2, 1 * MiB, 0);
	RUN_UNTIL(e1->recvd == 1 * MiB, 20);
	CHECK_EQ_INT(e1->recvd, 1 * MiB);
	CHECK_EQ_INT(e1->bad, 0);
	RUN_FOR(0.05);
	CHECK_EQ_INT(r.done_calls, 0);
	CHECK(!e1->eof);
	CHECK(rig_idle(&r)); /* a half-closed idle pump holds nothing either */

	end_send(e2, 0, 1);
	RUN_UNTIL(r.done_calls > 0 && e1->eof, 20);
	CHECK_EQ_INT(r.done_calls, 1);
	CHECK_EQ_INT(r.end, PUMP_CLOSED);
	CHECK(r.ended_before_done);
	CHECK(e1->eof);
	CHECK_EQ_INT(r.eof_calls, 1); /* the second end is told by done */
	RUN_FOR(0.05);
	CHECK_EQ_INT(r.done_calls, 1);
	rig_free(&r);
}

static void buf_set(struct bufpool *pool, struct buf *b, const char *s)
{
	memset(b, 0, sizeof(*b));
	if (buf_acquire(pool, b) < 0)
		abort();
	memcpy(b->data, s, strlen(s));
	b->end = (uint32_t)strlen(s);
}

/* Bytes handed in with the start go out first, ahead of what the sockets hold already. */
static void test_initial_bytes(enum pair_kind kind, int splice)
{
	struct rig r;
	struct buf a2b, b2a;
	fprintf(stderr, "initial bytes %s\n", kind_name(kind, splice));
	if (rig_init(&r, kind, splice, 0, 32 * KiB, 0) < 0) {
		CHECK(!"rig");
		return;
	}
	buf_set(&r.pool, &a2b, "a2b first:");
	buf_set(&r.pool, &b2a, "b2a first, and a little longer:");
	r.eb.prefix = "a2b first:";
	r.eb.prefix_len = strlen(r.eb.prefix);
	r.ea.prefix = "b2a first, and a little longer:";
	r.ea.prefix_len = strlen(r.ea.prefix);
	/* the sockets already hold data when the pump starts */
	r.ea.to_send = r.eb.to_send = 100 * KiB;
	end_write(&r.ea);
	end_write(&r.eb);
	CHECK(r.ea.sent > 0 && r.eb.sent > 0);
	rig_start(&r, &a2b, &b2a, 0);
	CHECK(a2b.data == NULL && buf_len(&a2b) == 0); /* taken over */
	CHECK(b2a.data == NULL && buf_len(&b2a) == 0);
	end_send(&r.ea, 156 * KiB, 1);
	end_send(&r.eb, 156 * KiB, 1);
	RUN_UNTIL(r.done_calls > 0 && r.ea.eof && r.eb.eof, 20);
	CHECK_EQ_INT(r.done_calls, 1);
	CHECK_EQ_INT(r.end, PUMP_CLOSED);
	CHECK_EQ_INT(r.eb.recvd, r.eb.prefix_len + 256 * KiB);
	CHECK_EQ_INT(r.ea.recvd, r.ea.prefix_len + 256 * KiB);
	CHECK_EQ_INT(r.ea.bad + r.eb.bad, 0);
	rig_free(&r);
}

/* Side A ended before the pump started (its end of stream came with the request). */
static void test_a_eof(enum pair_kind kind, int splice, int with_bytes)
{
	struct rig r;
	struct buf a2b = {NULL, 0, 0};
	fprintf(stderr, "a_eof %s%s\n", kind_name(kind, splice), with_bytes ? ", bytes held" : "");
	if (rig_init(&r, kind, splice, 0, 32 * KiB, 0) < 0) {
		CHECK(!"rig");
		return;
	}
	if (with_bytes) {
		buf_set(&r.pool, &a2b, "the last words");
		r.eb.prefix = "the last words";
		r.eb.prefix_len = strlen(r.eb.prefix);
	}
	r.ea.shut_when_sent = 1; /* the client did shut down writing */
	end_write(&r.ea);
	rig_start(&r, &a2b, NULL, 1);
	CHECK_EQ_INT(r.done_calls, 0); /* never from pump_start */
	RUN_UNTIL(r.eb.eof, 5);
	CHECK(r.eb.eof);
	CHECK_EQ_INT(r.eb.recvd, r.eb.prefix_len);
	CHECK_EQ_INT(r.eb.bad, 0);
	CHECK_EQ_INT(r.done_calls, 0);
	CHECK(pump_eof(&r.pump, 0));
	/* the other direction flows, and ends */
	end_send(&r.eb, 512 * KiB, 1);
	RUN_UNTIL(r.done_calls > 0 && r.ea.eof, 20);
	CHECK_EQ_INT(r.done_calls, 1);
	CHECK_EQ_INT(r.end, PUMP_CLOSED);
	CHECK_EQ_INT(r.ea.recvd, 512 * KiB);
	CHECK_EQ_INT(r.ea.bad, 0);
	rig_free(&r);
}

/* An idle pump holds no pipe: each direction gives its pipe back when it drains, and the
 * next burst reuses the pooled ones. */
static void test_pipes_returned(void)
{
	if (!have_splice)
		return; /* no pipes to give back or to refuse */
	struct rig r;
	fprintf(stderr, "pipes returned\n");
	if (rig_init(&r, PAIR_TCP, 1, 0, 32 * KiB, 0) < 0) {
		CHECK(!"rig");
		return;
	}
	rig_start(&r, NULL, NULL, 0);
	CHECK(rig_idle(&r));
	end_send(&r.ea, 2 * MiB, 0);
	end_send(&r.eb, 2 * MiB, 0);
	RUN_UNTIL(r.ea.recvd == 2 * MiB && r.eb.recvd == 2 * MiB, 20);
	CHECK_EQ_INT(r.ea.recvd + r.eb.recvd, 4 * MiB);
	RUN_FOR(0.05);
	CHECK(r.saw_splice[0] && r.saw_splice[1]);
	CHECK(rig_idle(&r));
	CHECK(r.pipes.npool > 0);
	unsigned long fds = r.pipes.pipe_fds, taken = r.pipes.taken;

	end_send(&r.ea, 1 * MiB, 0);
	end_send(&r.eb, 1 * MiB, 0);
	RUN_UNTIL(r.ea.recvd == 3 * MiB && r.eb.recvd == 3 * MiB, 20);
	RUN_FOR(0.05);
	CHECK(rig_idle(&r));
	CHECK(r.pipes.taken > taken);
	CHECK_EQ_INT(r.pipes.pipe_fds, fds); /* reused, not made anew */
	CHECK_EQ_INT(r.ea.bad + r.eb.bad, 0);

	end_send(&r.ea, 0, 1);
	end_send(&r.eb, 0, 1);
	RUN_UNTIL(r.done_calls > 0, 20);
	CHECK_EQ_INT(r.done_calls, 1);
	CHECK_EQ_INT(r.end, PUMP_CLOSED);
	CHECK(rig_idle(&r));
	rig_free(&r);
}

/* No room for a pipe in the fd budget: the pump copies, and the data is intact. */
static void test_no_pipe_budget(void)
{
	if (!have_splice)
		return; /* no pipes to give back or to refuse */
	struct rig r;
	fprintf(stderr, "pipe budget zero\n");
	if (rig_init(&r, PAIR_TCP, 1, 8, 32 * KiB, 0) < 0) {
		CHECK(!"rig");
		return;
	}
	CHECK(!pipepool_room(&r.pipes));
	rig_start(&r, NULL, NULL, 0);
	end_send(&r.ea, 4 * MiB, 1);
	end_send(&r.eb, 4 * MiB, 1);
	RUN_UNTIL(r.done_calls > 0 && r.ea.eof && r.eb.eof, 30);
	CHECK_EQ_INT(r.done_calls, 1);
	CHECK_EQ_INT(r.end, PUMP_CLOSED);
	CHECK_EQ_INT(r.ea.recvd, 4 * MiB);
	CHECK_EQ_INT(r.eb.recvd, 4 * MiB);
	CHECK_EQ_INT(r.ea.bad + r.eb.bad, 0);
	CHECK(!r.saw_splice[0] && !r.saw_splice[1]);
	CHECK(r.saw_copy[0] && r.saw_copy[1]);
	CHECK_EQ_INT(r.pipes.taken, 0);
	CHECK(r.pipes.refused > 0);
	CHECK_EQ_INT(r.pipes.pipe_fds, 0);
	rig_free(&r);
}

#ifdef HAVE_SPLICE
/* Bytes a pipe holds (the kernel's figure). */
static long pipe_cap(int fd)
{
	return fcntl(fd, F_GETPIPE_SZ);
}
#endif

/* The page budget: enlarged pipes within half of it, the kernel's default size after that,
 * none past it; pages come back when pipes are closed, not when they are pooled. */
static void test_pipe_pages(void)
{
#ifdef HAVE_SPLICE
	struct pipepool pp;
	unsigned n = 1;
	int fds[40][2];
	const unsigned long page = (unsigned long)sysconf(_SC_PAGESIZE), big = (1ul << 20) / page,
			    def = PIPEPOOL_MIN_BYTES / page;
	const unsigned long budget = 2 * big;
	const int fit = 1 + (int)((budget - big) / def); /* one enlarged, then default ones */
	fprintf(stderr, "pipe page budget\n");
	pipepool_init(&pp, 0, 0, 16, &n, 1u << 20, budget);
	CHECK(fit + 1 <= 40);
	for (int i = 0; i < fit; i++) {
		CHECK_EQ_INT(pipepool_get(&pp, fds[i], 0), 0);
		CHECK_EQ_INT(pipe_cap(fds[i][0]), i == 0 ? 1l << 20 : PIPEPOOL_MIN_BYTES);
	}
	CHECK_EQ_INT(pp.pipe_pages, big + (unsigned long)(fit - 1) * def);
	CHECK(pp.pipe_pages + def > budget);
	CHECK_EQ_INT(pipepool_get(&pp, fds[fit], 0), -1); /* full: the tunnel copies */
	CHECK_EQ_INT(pp.refused, 1);
	CHECK_EQ_INT(pp.pipe_fds, 2ul * (unsigned long)fit);
	pipepool_put(&pp, fds[1][0], fds[1][1], 1); /* pooled: its pages still count */
	CHECK_EQ_INT(pp.pipe_pages, big + (unsigned long)(fit - 1) * def);
	CHECK_EQ_INT(pipepool_get(&pp, fds[1], 0), 0); /* handed out again */
	CHECK_EQ_INT(pipepool_get(&pp, fds[fit], 0), -1);
	pipepool_put(&pp, fds[0][0], fds[0][1], 0);    /* closed: its pages are free */
	CHECK_EQ_INT(pp.pipe_pages, (unsigned long)(fit - 1) * def);
	CHECK_EQ_INT(pipepool_get(&pp, fds[0], 0), 0);
	CHECK_EQ_INT(pipe_cap(fds[0][0]), PIPEPOOL_MIN_BYTES); /* the half is still taken */
	for (int i = 0; i < fit; i++)
		pipepool_put(&pp, fds[i][0], fds[i][1], 1);
	pipepool_drain(&pp);
	CHECK_EQ_INT(pp.pipe_fds, 0);
	CHECK_EQ_INT(pp.pipe_pages, 0);
	CHECK_EQ_INT(pp.taken, (unsigned long)fit + 2);
#endif
}

/* A peer resets its connection: the pump reports the side that failed, once. */
static void test_reset(int splice, int side, int busy)
{
	struct rig r;
	fprintf(stderr, "reset %s, side %c%s\n", kind_name(PAIR_TCP, splice), side ? 'B' : 'A',
		busy ? ", data in flight towards it" : "");
	if (rig_init(&r, PAIR_TCP, splice, 0, 32 * KiB, 64 * KiB) < 0) {
		CHECK(!"rig");
		return;
	}
	struct end *gone = side ? &r.eb : &r.ea, *other = side ? &r.ea : &r.eb;
	rig_start(&r, NULL, NULL, 0);
	end_send(&r.ea, 256 * KiB, 0);
	end_send(&r.eb, 256 * KiB, 0);
	RUN_UNTIL(r.ea.recvd == 256 * KiB && r.eb.recvd == 256 * KiB, 20);
	CHECK_EQ_INT(r.ea.recvd + r.eb.recvd, 512 * KiB);
	if (busy) { /* the end stops reading; the other keeps sending until all is stuck */
		gone->reading = 0;
		end_watch(gone);
		end_send(other, 16 * MiB, 0);
		RUN_UNTIL(other->eagain > 0, 10);
		RUN_FOR(0.05);
		CHECK(pump_pending(&r.pump, !side) > 0);
	}
	end_reset(gone);
	RUN_UNTIL(r.done_calls > 0, 10);
	CHECK_EQ_INT(r.done_calls, 1);
	CHECK_EQ_INT(r.end, side ? PUMP_ERR_B : PUMP_ERR_A);
	if (r.err != ECONNRESET && r.err != EPIPE)
		fprintf(stderr, "reset: err %d (%s)\n", r.err, strerror(r.err));
	CHECK(r.err == ECONNRESET || r.err == EPIPE);
	RUN_FOR(0.05);
	CHECK_EQ_INT(r.done_calls, 1);
	rig_free(&r);
}

/* Buffers start mid-page, fresh or reused (see bufpool.c: the copies into and out of
 * them must not trail the other side's page offset by a few bytes). */
static void test_buffer_placement(void)
{
	struct bufpool pool;
	struct buf a = {NULL, 0, 0}, b = {NULL, 0, 0};
	fprintf(stderr, "buffers start mid-page\n");
	CHECK_EQ_INT(bufpool_init(&pool, 32768, 1), 0);
	CHECK_EQ_INT(buf_acquire(&pool, &a), 0);
	CHECK_EQ_INT(buf_acquire(&pool, &b), 0);
	CHECK_EQ_INT((uintptr_t)a.data % 4096, 2048);
	CHECK_EQ_INT((uintptr_t)b.data % 4096, 2048);
	memset(a.data, 1, 32768); /* all of it is ours (ASan, valgrind) */
	buf_release(&pool, &a, 0); /* kept */
	buf_release(&pool, &b, 0); /* freed: the list holds one */
	CHECK_EQ_INT(buf_acquire(&pool, &a), 0);
	CHECK_EQ_INT((uintptr_t)a.data % 4096, 2048);
	buf_release(&pool, &a, 0);
	bufpool_destroy(&pool);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN); /* as the daemon: splice(2) has no MSG_NOSIGNAL */
	log_set_level(LOG_LVL_ERROR);
	loop = ev_default_loop(0);
	ev_timer_init(&tick, tick_cb, 0.02, 0.02);
	ev_timer_start(loop, &tick);

	CHECK_EQ_INT(PUMP_H_KNOWS_PROTOCOL, 0);
	test_buffer_placement();

	test_bulk(PAIR_TCP, 1, 8 * MiB);
	test_bulk(PAIR_TCP, 0, 8 * MiB);
	test_bulk(PAIR_UNIX, 0, 8 * MiB);
	test_bulk(PAIR_UNIX, 1, 2 * MiB);
	for (int kind = PAIR_UNIX; kind <= PAIR_TCP; kind++) {
		for (int splice = 0; splice < 2; splice++) {
			test_backpressure((enum pair_kind)kind, splice);
			test_half_close((enum pair_kind)kind, splice, 0);
			test_half_close((enum pair_kind)kind, splice, 1);
			test_initial_bytes((enum pair_kind)kind, splice);
			test_a_eof((enum pair_kind)kind, splice, 0);
			test_a_eof((enum pair_kind)kind, splice, 1);
		}
	}
	test_pipes_returned();
	test_no_pipe_budget();
	test_pipe_pages();
	for (int splice = 0; splice < 2; splice++) {
		test_reset(splice, 0, 0);
		test_reset(splice, 1, 0);
		test_reset(splice, 0, 1);
		test_reset(splice, 1, 1);
	}

	ev_timer_stop(loop, &tick);
	ev_loop_destroy(loop);
	return check_report();
}
