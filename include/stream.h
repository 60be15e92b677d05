/* stream: the byte stream the dialer and the relay read and write.  Today a plain socket;
 * TLS slots in behind the same operations.  A stream embeds the watcher of its fd: whoever
 * drives the stream (dialer, then relay) sets the callback and says which events it wants;
 * the stream turns that into what its fd must be watched for (TLS may need to read in
 * order to write).  raw_fd is the fd when the stream's bytes are the socket's bytes, so
 * the relay may splice; -1 otherwise.
 *
 * Read and write return a byte count, 0 for end of stream (read only), STREAM_AGAIN when
 * nothing can move now, or another negative errno.  A write may take bytes it has not yet
 * handed to the fd (TLS gathers a write's records into one send): they show in
 * stream_unsent, go out first on the next write, and a write of nothing sends them.
 * Nothing here logs. */
#ifndef SOCKS2HTTP_STREAM_H
#define SOCKS2HTTP_STREAM_H

#include <ev.h>
#include <errno.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

#define STREAM_AGAIN (-EAGAIN)

struct stream;

struct stream_ops {
	ssize_t (*read)(struct stream *s, void *buf, size_t len);
	ssize_t (*writev)(struct stream *s, const struct iovec *iov, int n);
	int (*shutdown_wr)(struct stream *s);
	void (*close)(struct stream *s);
	int (*raw_fd)(const struct stream *s);
	/* bytes the stream holds that its fd will not signal (a TLS record already read) */
	size_t (*pending)(const struct stream *s);
	/* Optional, NULL for plain sockets (which then cost one NULL check): a stream whose
	 * fd must be watched for something else than what its driver wants (TLS) takes over
	 * stream_watch and stream_set_cb, and frees its state on stream_release_fd. */
	void (*watch)(struct ev_loop *loop, struct stream *s, int events);
	void (*set_cb)(struct stream *s, void (*cb)(struct ev_loop *, ev_io *, int), void *data);
	void (*release)(struct stream *s);
	/* Optional (NULL: always 0): bytes taken by a write and not yet in the fd. */
	size_t (*unsent)(const struct stream *s);
};

struct stream {
	const struct stream_ops *ops;
	int fd;      /* -1 when closed */
	ev_io io;    /* data is the driver's pointer */
	int events;  /* what io is started for (the fd's events); 0 when stopped */
	void *impl;  /* per-kind state (TLS); NULL for a plain socket */
};

/* Makes s a plain socket stream over fd (owned from now on).  The watcher gets cb. */
void stream_init_fd(struct stream *s, int fd, void (*cb)(struct ev_loop *, ev_io *, int), void *data);
/* An empty stream (fd -1); stream_close on it is a no-op. */
void stream_init_none(struct stream *s, void (*cb)(struct ev_loop *, ev_io *, int), void *data);

static inline ssize_t stream_read(struct stream *s, void *buf, size_t len)
{
	return s->ops->read(s, buf, len);
}
static inline ssize_t stream_writev(struct stream *s, const struct iovec *iov, int n)
{
	return s->ops->writev(s, iov, n);
}
static inline int stream_shutdown_wr(struct stream *s)
{
	return s->ops->shutdown_wr(s);
}
static inline int stream_raw_fd(const struct stream *s)
{
	return s->ops->raw_fd(s);
}
static inline size_t stream_pending(const struct stream *s)
{
	return s->ops->pending(s);
}
static inline size_t stream_unsent(const struct stream *s)
{
	return s->ops->unsent != NULL ? s->ops->unsent(s) : 0;
}
ssize_t stream_write(struct stream *s, const void *buf, size_t len);

/* Watches the fd for events (EV_READ | EV_WRITE, or 0 to stop). */
void stream_watch(struct ev_loop *loop, struct stream *s, int events);
/* Changes who is called for the watcher's events; an active watcher stays active (the
 * events it waits for stay too until the new driver calls stream_watch). */
void stream_set_cb(struct ev_loop *loop, struct stream *s, void (*cb)(struct ev_loop *, ev_io *, int), void *data);

/* Stops the watcher and closes the fd (and frees any TLS state: the stream is a plain,
 * closed one afterwards).  Safe to call twice. */
void stream_close(struct ev_loop *loop, struct stream *s);

/* Makes the next stream_close reset the connection (RST, SO_LINGER 0) instead of ending it
 * cleanly: the peer must not take a relay that failed on the other side for a whole one. */
void stream_abort(struct stream *s);

/* Moves a stream (TLS state and all) to another place, unwatched, with a new driver; from
 * is left empty. */
void stream_move(struct ev_loop *loop, struct stream *from, struct stream *to,
		 void (*cb)(struct ev_loop *, ev_io *, int), void *data);

/* Hands the fd out of the stream without closing it (the watcher is stopped, any TLS
 * state freed); -1 if none. */
int stream_release_fd(struct ev_loop *loop, struct stream *s);

#endif
