/* relay.h: the splice(2) relay shared by upstream.c and barerelay.c.  Each direction moves
 * socket -> pipe -> socket without copying to user space.  A pipe is taken from a small
 * pool only while a direction has bytes in flight, so an idle connection holds two sockets
 * and nothing else (5,000 idle tunnels would otherwise need 20,000 pipe fds).
 *
 * As strong as a splice relay is known to be, since the bare relay is the benchmark's
 * yardstick: pipes enlarged with F_SETPIPE_SZ (1 MiB unless told otherwise; the kernel's
 * default, 64 KiB, when it refuses), and each event splices until EAGAIN, with no round
 * limit that would cost an epoll_wait per N rounds.  Measured with strace -c on 1 GiB
 * through barerelay: about 2,400 splice and 130 epoll_wait calls (64 KiB pipes and a
 * 16-round limit: 33,000 and 1,000). */
#ifndef RELAY_H
#define RELAY_H

#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <unistd.h>

#define RELAY_PIPE_DEFAULT (1 << 20) /* what F_SETPIPE_SZ is asked for unless told otherwise */
#define RELAY_POOL 64

struct relay_dir {
	int p[2];      /* pipe while bytes are in flight, else -1 */
	size_t inpipe; /* bytes in the pipe */
	int eof;       /* the source sent FIN */
	int shut;      /* FIN passed on */
};

struct relay;
struct relay_end {
	struct relay *r;
	int k;
};

struct relay {
	int fd[2];             /* 0: the accepted side, 1: the side we connected */
	struct relay_dir d[2]; /* d[k]: read from fd[k], written to fd[1-k] */
	uint32_t ev[2];        /* events registered for fd[k] */
	struct relay_end end[2];
};

static int relay_pool[RELAY_POOL][2];
static int relay_npool;
static int relay_pipe_size = RELAY_PIPE_DEFAULT; /* asked for; 0: the kernel's default */
static size_t relay_pipe_cap = 65536;           /* what the largest pipe made holds */

static int relay_pipe_get(struct relay_dir *d)
{
	if (relay_npool > 0) {
		relay_npool--;
		d->p[0] = relay_pool[relay_npool][0];
		d->p[1] = relay_pool[relay_npool][1];
		return 0;
	}
	if (pipe2(d->p, O_NONBLOCK | O_CLOEXEC) < 0)
		return -1;
	/* refused (above /proc/sys/fs/pipe-max-size, or the user's pipe pages used up): the
	 * kernel's default size, and no more asking */
	if (relay_pipe_size > 0 && fcntl(d->p[0], F_SETPIPE_SZ, relay_pipe_size) < 0)
		relay_pipe_size = 0;
	int cap = fcntl(d->p[0], F_GETPIPE_SZ);
	if (cap > 0 && (size_t)cap > relay_pipe_cap)
		relay_pipe_cap = (size_t)cap;
	return 0;
}

static void relay_pipe_put(struct relay_dir *d)
{
	if (d->p[0] < 0)
		return;
	if (d->inpipe == 0 && relay_npool < RELAY_POOL) {
		relay_pool[relay_npool][0] = d->p[0];
		relay_pool[relay_npool][1] = d->p[1];
		relay_npool++;
	} else {
		close(d->p[0]);
		close(d->p[1]);
	}
	d->p[0] = d->p[1] = -1;
	d->inpipe = 0;
}

static void relay_init(struct relay *r, int fd0, int fd1)
{
	memset(r, 0, sizeof(*r));
	r->fd[0] = fd0;
	r->fd[1] = fd1;
	for (int k = 0; k < 2; k++) {
		r->d[k].p[0] = r->d[k].p[1] = -1;
		r->end[k].r = r;
		r->end[k].k = k;
	}
}

/* Moves what fd[k] has to fd[1-k] until the source is empty, the destination full (both
 * EAGAIN) or the source at EOF.  No round limit: a busy direction comes back to epoll only
 * when it has to wait.  Returns -1 on an error (close the relay). */
static int relay_pump(struct relay *r, int k)
{
	struct relay_dir *d = &r->d[k];
	int src = r->fd[k], dst = r->fd[1 - k];

	for (;;) {
		while (d->inpipe > 0) {
			ssize_t w = splice(d->p[0], NULL, dst, NULL, d->inpipe, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return errno == EAGAIN ? 0 : -1; /* EAGAIN: the destination is full */
			d->inpipe -= (size_t)w;
		}
		if (d->eof) {
			if (!d->shut) {
				shutdown(dst, SHUT_WR);
				d->shut = 1;
			}
			relay_pipe_put(d);
			return 0;
		}
		if (d->p[0] < 0 && relay_pipe_get(d) < 0)
			return -1;
		/* the pipe is empty here: ask for all it can hold */
		ssize_t n = splice(src, NULL, d->p[1], NULL, relay_pipe_cap, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n > 0) {
			d->inpipe += (size_t)n;
		} else if (n == 0) {
			d->eof = 1;
		} else if (errno == EAGAIN) {
			relay_pipe_put(d); /* empty: back to the pool, so an idle direction holds no pipe */
			return 0;
		} else if (errno != EINTR) {
			return -1;
		}
	}
}

static void relay_set(int ep, struct relay *r, int k, uint32_t ev)
{
	if (r->ev[k] == ev)
		return;
	struct epoll_event e = {.events = ev, .data.ptr = &r->end[k]};
	epoll_ctl(ep, EPOLL_CTL_MOD, r->fd[k], &e);
	r->ev[k] = ev;
}

/* Registers what each side waits for now. */
static void relay_watch(int ep, struct relay *r)
{
	for (int k = 0; k < 2; k++) {
		uint32_t ev = 0;
		if (!r->d[k].eof && r->d[k].inpipe == 0)
			ev |= EPOLLIN;
		if (r->d[1 - k].inpipe > 0)
			ev |= EPOLLOUT;
		relay_set(ep, r, k, ev);
	}
}

/* Handles events on fd[k].  Returns 1 when the relay is finished or failed (close it). */
static int relay_event(struct relay *r, int k, uint32_t events)
{
	if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && relay_pump(r, k) < 0)
		return 1;
	if ((events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) && relay_pump(r, 1 - k) < 0)
		return 1;
	return r->d[0].shut && r->d[1].shut;
}

static void relay_close(struct relay *r)
{
	for (int k = 0; k < 2; k++) {
		relay_pipe_put(&r->d[k]);
		if (r->fd[k] >= 0)
			close(r->fd[k]);
		r->fd[k] = -1;
	}
}

#endif
