/* pump: the protocol-free relay (see include/pump.h). */
#include "pump.h"

#include <fcntl.h>
#include <stddef.h>
#include <unistd.h>

#define PUMP_SPLICE_LEN (1u << 20) /* asked of splice; the pipe takes what it can hold */
#define PUMP_ROUNDS 16             /* read/write rounds per event and direction, for fairness */

enum { MOVE_OK = 0, MOVE_ERR_SRC = -1, MOVE_ERR_DST = -2, MOVE_ERR_MEM = -3 };

#ifdef HAVE_SPLICE
static int can_splice(const struct pump *p, int k)
{
	return p->ctx->pipes != NULL && !p->dir[k].copy && stream_raw_fd(p->st[k]) >= 0 &&
	       stream_raw_fd(p->st[1 - k]) >= 0;
}
#endif

static void pipe_release(struct pump *p, struct pump_dir *d)
{
	if (d->pipe[0] < 0)
		return;
	if (p->ctx->pipes != NULL)
		pipepool_put(p->ctx->pipes, d->pipe[0], d->pipe[1], d->inpipe == 0);
	d->pipe[0] = d->pipe[1] = -1;
	d->inpipe = 0;
	d->stalled = 0;
}

uint64_t pump_pending(const struct pump *p, int k)
{
	return buf_len(&p->dir[k].buf) + p->dir[k].inpipe + stream_unsent(p->st[1 - k]);
}

/* May direction k take more bytes in? */
static int has_room(const struct pump *p, int k)
{
	const struct pump_dir *d = &p->dir[k];
	if (d->pipe[0] >= 0)
		return !d->stalled;
	return buf_len(&d->buf) < p->ctx->pool->size;
}

/* Writes what direction k holds to its destination.  Returns 1 when bytes remain (the
 * destination is full), 0 when all went out, or a MOVE_ERR_*. */
static int flush(struct pump *p, int k, int *err)
{
	struct pump_dir *d = &p->dir[k];
	struct stream *dst = p->st[1 - k];

	while (buf_len(&d->buf) > 0) {
		ssize_t w = stream_write(dst, d->buf.data + d->buf.start, buf_len(&d->buf));
		if (w == STREAM_AGAIN)
			return 1;
		if (w < 0) {
			*err = (int)-w;
			return MOVE_ERR_DST;
		}
		d->buf.start += (uint32_t)w;
		d->bytes += (uint64_t)w;
		p->last_io = ev_now(p->ctx->loop);
		buf_release(p->ctx->pool, &d->buf, 0);
	}
#ifdef HAVE_SPLICE
	while (d->inpipe > 0) {
		ssize_t n = splice(d->pipe[0], NULL, stream_raw_fd(dst), NULL, d->inpipe, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			d->stalled = 1; /* as a splice relay does: read on once the pipe drains */
			return 1;
		}
		if (n <= 0) {
			*err = n < 0 ? errno : EPIPE;
			return MOVE_ERR_DST;
		}
		d->inpipe -= (uint32_t)n;
		d->stalled = 0;
		d->bytes += (uint64_t)n;
		p->last_io = ev_now(p->ctx->loop);
	}
#endif
	/* bytes the destination took and still holds (TLS records gathered for one send) */
	if (stream_unsent(dst) > 0) {
		ssize_t w = stream_writev(dst, NULL, 0);
		if (w == STREAM_AGAIN)
			return 1;
		if (w < 0) {
			*err = (int)-w;
			return MOVE_ERR_DST;
		}
	}
	return 0;
}

/* Reads once from side k into its direction.  Returns a byte count, 0 at end of stream,
 * STREAM_AGAIN when nothing came or there is no room, or a MOVE_ERR_*. */
static ssize_t fill(struct pump *p, int k, int *err)
{
	struct pump_dir *d = &p->dir[k];
	struct stream *src = p->st[k];

	if (!has_room(p, k))
		return STREAM_AGAIN;
#ifdef HAVE_SPLICE
	if (d->pipe[0] < 0 && buf_len(&d->buf) == 0 && can_splice(p, k))
		(void)pipepool_get(p->ctx->pipes, d->pipe, ev_now(p->ctx->loop)); /* else copy for now */
	if (d->pipe[0] >= 0) {
		ssize_t n;
		do
			n = splice(stream_raw_fd(src), NULL, d->pipe[1], NULL, PUMP_SPLICE_LEN,
				   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		while (n < 0 && errno == EINTR);
		if (n > 0) {
			d->inpipe += (uint32_t)n;
			p->last_io = ev_now(p->ctx->loop);
			return n;
		}
		if (n == 0)
			return 0;
		if (errno == EAGAIN) {
			/* the socket is empty, or the pipe full: only the second with bytes held */
			if (d->inpipe > 0)
				d->stalled = 1;
			else
				pipe_release(p, d); /* an idle direction holds no pipe */
			return STREAM_AGAIN;
		}
		if (errno == EINVAL && d->inpipe == 0) { /* these sockets cannot splice */
			d->copy = 1;
			pipe_release(p, d);
		} else {
			*err = errno;
			return MOVE_ERR_SRC;
		}
	}
#endif
	if (buf_acquire(p->ctx->pool, &d->buf) < 0) {
		*err = ENOMEM;
		return MOVE_ERR_MEM;
	}
	size_t room = buf_room(p->ctx->pool, &d->buf);
	ssize_t n = stream_read(src, d->buf.data + d->buf.end, room);
	if (n > 0) {
		d->buf.end += (uint32_t)n;
		p->last_io = ev_now(p->ctx->loop);
		return n;
	}
	buf_release(p->ctx->pool, &d->buf, 0);
	if (n == 0 || n == STREAM_AGAIN)
		return n;
	*err = (int)-n;
	return MOVE_ERR_SRC;
}

/* Moves direction k as far as the streams allow: write what is held, read, write, ...
 * until the source is empty or the destination full.  Returns MOVE_OK or MOVE_ERR_*. */
static int move(struct pump *p, int k, int *err)
{
	for (int round = 0; round < PUMP_ROUNDS; round++) {
		int rc = flush(p, k, err);
		if (rc < 0)
			return rc;
		if (p->eof[k])
			return MOVE_OK;
		ssize_t n = fill(p, k, err);
		if (n < 0 && n != STREAM_AGAIN)
			return (int)n;
		if (n == 0)
			p->eof[k] = 1; /* the next round flushes what is left */
		else if (n == STREAM_AGAIN || rc == 1)
			return MOVE_OK; /* the source is empty, or the destination full */
	}
	return MOVE_OK;
}

static void watch(struct pump *p)
{
	for (int k = 0; k < 2; k++) {
		int ev = 0;
		if (!p->eof[k] && has_room(p, k))
			ev |= EV_READ;
		/* writable: bytes for it, or the end of what comes to it to pass on (settle);
		 * asked of the stream, so a TLS stream reports it like a socket */
		if (pump_pending(p, 1 - k) > 0 || (p->eof[1 - k] && !p->shut[k]))
			ev |= EV_WRITE;
		stream_watch(p->ctx->loop, p->st[k], ev);
		/* bytes the stream holds that its fd will not announce */
		if ((ev & EV_READ) && stream_pending(p->st[k]) > 0)
			ev_feed_event(p->ctx->loop, &p->st[k]->io, EV_READ);
	}
}

/* After moving: pass on finished directions as write shutdowns, release what is idle,
 * and either report the end or derive the watchers.  Returns 1 when done was called. */
static int settle(struct pump *p)
{
	for (int k = 0; k < 2; k++) {
		struct pump_dir *d = &p->dir[k];
		if (p->eof[k] && pump_pending(p, k) == 0 && !p->shut[1 - k]) {
			(void)stream_shutdown_wr(p->st[1 - k]);
			p->shut[1 - k] = 1;
		}
		if (d->inpipe == 0 && p->eof[k])
			pipe_release(p, d); /* an ended direction needs no pipe */
		buf_release(p->ctx->pool, &d->buf, 0);
	}
	uint8_t eofs = (uint8_t)(p->eof[0] | p->eof[1] << 1);
	if (eofs != p->eof_told && p->on_eof != NULL && !(p->shut[0] && p->shut[1])) {
		p->eof_told = eofs;
		p->on_eof(p);
	}
	if (p->shut[0] && p->shut[1]) {
		p->running = 0;
		watch(p); /* everything ended: nothing to wait for */
		p->done(p, PUMP_CLOSED, 0);
		return 1;
	}
	watch(p);
	return 0;
}

static void fail(struct pump *p, int k, int rc, int err)
{
	enum pump_end end;
	if (rc == MOVE_ERR_MEM)
		end = PUMP_ERR_MEM;
	else
		end = (rc == MOVE_ERR_SRC) == (k == 0) ? PUMP_ERR_A : PUMP_ERR_B;
	p->running = 0;
	p->done(p, end, err);
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct pump *p = w->data;
	int side = w == &p->st[0]->io ? 0 : 1;
	int err = 0, rc;
	(void)loop;

	/* readable: its own direction; writable: the direction towards it */
	if ((revents & EV_READ) && (rc = move(p, side, &err)) < 0) {
		fail(p, side, rc, err);
		return;
	}
	if ((revents & EV_WRITE) && (rc = move(p, 1 - side, &err)) < 0) {
		fail(p, 1 - side, rc, err);
		return;
	}
	settle(p);
}

void pump_start(struct pump *p, const struct pump_ctx *ctx, struct stream *a, struct stream *b,
		struct buf *a2b, struct buf *b2a, int a_eof, void (*done)(struct pump *, enum pump_end, int))
{
	p->ctx = ctx;
	p->st[0] = a;
	p->st[1] = b;
	p->done = done;
	p->running = 1;
	p->last_io = ev_now(ctx->loop);
	for (int k = 0; k < 2; k++) {
		struct pump_dir *d = &p->dir[k];
		struct buf *from = k == 0 ? a2b : b2a;
		d->pipe[0] = d->pipe[1] = -1;
		d->inpipe = 0;
		d->stalled = d->copy = 0;
		d->bytes = 0;
		d->buf = *from; /* taken over */
		from->data = NULL;
		from->start = from->end = 0;
		p->eof[k] = p->shut[k] = 0;
		stream_set_cb(ctx->loop, p->st[k], io_cb, p);
	}
	p->eof[0] = a_eof != 0;
	p->eof_told = p->eof[0];
	/* a direction that already ended is passed on once b is writable (watch asks) */
	watch(p);
}

void pump_stop(struct pump *p)
{
	if (p->ctx == NULL)
		return;
	for (int k = 0; k < 2; k++) {
		struct pump_dir *d = &p->dir[k];
		stream_watch(p->ctx->loop, p->st[k], 0);
		if (d->pipe[0] >= 0 && p->ctx->pipes != NULL) {
			pipepool_put(p->ctx->pipes, d->pipe[0], d->pipe[1], d->inpipe == 0);
			d->pipe[0] = d->pipe[1] = -1;
		}
		d->inpipe = 0; /* what was in flight is dropped */
		buf_release(p->ctx->pool, &d->buf, 1);
	}
	p->running = 0;
}
