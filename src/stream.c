/* stream: plain socket streams (see include/stream.h). */
#include "stream.h"

#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 /* SIGPIPE is ignored process-wide */
#endif

static ssize_t plain_read(struct stream *s, void *buf, size_t len)
{
	ssize_t n;
	do
		n = recv(s->fd, buf, len, 0);
	while (n < 0 && errno == EINTR);
	if (n >= 0)
		return n;
	return errno == EWOULDBLOCK ? STREAM_AGAIN : -errno;
}

static ssize_t plain_writev(struct stream *s, const struct iovec *iov, int n)
{
	struct msghdr msg;
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = (struct iovec *)(uintptr_t)iov;
	msg.msg_iovlen = (size_t)n;
	ssize_t w;
	do
		w = sendmsg(s->fd, &msg, MSG_NOSIGNAL);
	while (w < 0 && errno == EINTR);
	if (w >= 0)
		return w;
	return errno == EWOULDBLOCK ? STREAM_AGAIN : -errno;
}

static int plain_shutdown_wr(struct stream *s)
{
	return shutdown(s->fd, SHUT_WR) < 0 ? -errno : 0;
}

static void plain_close(struct stream *s)
{
	close(s->fd);
}

static int plain_raw_fd(const struct stream *s)
{
	return s->fd;
}

static size_t plain_pending(const struct stream *s)
{
	(void)s;
	return 0;
}

static const struct stream_ops plain_ops = {
	plain_read, plain_writev, plain_shutdown_wr, plain_close, plain_raw_fd, plain_pending, NULL, NULL, NULL, NULL,
};

void stream_init_fd(struct stream *s, int fd, void (*cb)(struct ev_loop *, ev_io *, int), void *data)
{
	s->ops = &plain_ops;
	s->fd = fd;
	s->events = 0;
	s->impl = NULL;
	ev_io_init(&s->io, cb, fd, 0);
	s->io.data = data;
}

void stream_init_none(struct stream *s, void (*cb)(struct ev_loop *, ev_io *, int), void *data)
{
	stream_init_fd(s, -1, cb, data);
}

ssize_t stream_write(struct stream *s, const void *buf, size_t len)
{
	struct iovec iov = {(void *)(uintptr_t)buf, len};
	return stream_writev(s, &iov, 1);
}

void stream_watch(struct ev_loop *loop, struct stream *s, int events)
{
	if (s->ops->watch != NULL) {
		s->ops->watch(loop, s, events);
		return;
	}
	if (s->fd < 0)
		events = 0;
	if (s->events == events)
		return;
	ev_io_stop(loop, &s->io);
	s->events = events;
	if (events) {
		ev_io_set(&s->io, s->fd, events);
		ev_io_start(loop, &s->io);
	}
}

void stream_set_cb(struct ev_loop *loop, struct stream *s, void (*cb)(struct ev_loop *, ev_io *, int), void *data)
{
	(void)loop; /* libev lets an active watcher change hands: no stop, no epoll_ctl */
	if (s->ops->set_cb != NULL) {
		s->ops->set_cb(s, cb, data);
		return;
	}
	ev_set_cb(&s->io, cb);
	s->io.data = data;
}

void stream_close(struct ev_loop *loop, struct stream *s)
{
	stream_watch(loop, s, 0);
	if (s->fd >= 0)
		s->ops->close(s);
	s->fd = -1;
	s->ops = &plain_ops; /* the kind's state is gone */
	s->impl = NULL;
}

void stream_abort(struct stream *s)
{
	struct linger l = {1, 0};
	if (s->fd >= 0)
		(void)setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
}

int stream_release_fd(struct ev_loop *loop, struct stream *s)
{
	stream_watch(loop, s, 0);
	if (s->ops->release != NULL)
		s->ops->release(s);
	int fd = s->fd;
	s->fd = -1;
	s->ops = &plain_ops;
	s->impl = NULL;
	return fd;
}

void stream_move(struct ev_loop *loop, struct stream *from, struct stream *to,
		 void (*cb)(struct ev_loop *, ev_io *, int), void *data)
{
	stream_watch(loop, from, 0); /* libev knows the watcher by its address: stopped, it may move */
	*to = *from;
	ev_io_init(&to->io, from->io.cb, to->fd, 0);
	to->io.data = from->io.data;
	to->events = 0;
	stream_set_cb(loop, to, cb, data);
	from->fd = -1;
	from->ops = &plain_ops;
	from->impl = NULL;
}
