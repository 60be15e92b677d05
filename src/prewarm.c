/* prewarm: spare upstream connections (see include/prewarm.h). */
#include "prewarm.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "server.h"

#define PREWARM_TICK 0.5        /* seconds between checks */
#define PREWARM_BACKOFF_MAX 30.0

enum { SPARE_FREE = 0, SPARE_CONNECTING, SPARE_READY };

struct spare {
	struct prewarm *pw;
	ev_io io;
	int fd;
	int state;
	unsigned proxy_idx;
	ev_tstamp born;
};

struct prewarm {
	struct ev_loop *loop;
	struct generation *gen;
	unsigned want;
	ev_timer tick;
	struct resolver_waiter rw;
	int resolving;
	ev_tstamp not_before; /* backoff after a failed connect */
	double backoff;
	struct spare spares[];
};

static void spare_drop(struct spare *s)
{
	if (s->state == SPARE_FREE)
		return;
	ev_io_stop(s->pw->loop, &s->io);
	close(s->fd);
	s->fd = -1;
	s->state = SPARE_FREE;
}

static void failed(struct prewarm *pw, const char *what, int err)
{
	pw->backoff = pw->backoff == 0 ? 1 : pw->backoff * 2;
	if (pw->backoff > PREWARM_BACKOFF_MAX)
		pw->backoff = PREWARM_BACKOFF_MAX;
	pw->not_before = ev_now(pw->loop) + pw->backoff;
	log_debug("prewarm: %s%s%s; next try in %gs", what, err ? ": " : "", err ? strerror(err) : "", pw->backoff);
}

static void spare_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct spare *s = (struct spare *)((char *)w - offsetof(struct spare, io));
	(void)revents;
	if (s->state == SPARE_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);
		if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err != 0) {
			spare_drop(s);
			failed(s->pw, "connect to the proxy", err);
			return;
		}
		s->state = SPARE_READY;
		s->pw->backoff = 0;
		ev_io_stop(loop, &s->io);
		ev_io_set(&s->io, s->fd, EV_READ);
		ev_io_start(loop, &s->io);
		return;
	}
	/* a ready spare has nothing to say: readable means the proxy closed it */
	spare_drop(s);
}

/* The proxy spares go to: the first one not marked down. */
static unsigned target(struct prewarm *pw)
{
	ev_tstamp now = ev_now(pw->loop);
	for (unsigned i = 0; i < pw->gen->nupstreams; i++)
		if (pw->gen->upstreams[i].down_until <= now)
			return i;
	return 0;
}

static void fill(struct prewarm *pw, const struct resolver_result *res)
{
	unsigned idx = target(pw);
	int one = 1;
	for (unsigned i = 0; i < pw->want && ev_now(pw->loop) >= pw->not_before; i++) {
		struct spare *s = &pw->spares[i];
		if (s->state != SPARE_FREE)
			continue;
		const struct sockaddr_storage *a = &res->addr[0];
		int fd = server_socket(a->ss_family);
		if (fd < 0) {
			failed(pw, "socket", errno);
			return;
		}
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		(void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
		socklen_t alen = a->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
		if (connect(fd, (const struct sockaddr *)a, alen) < 0 && errno != EINPROGRESS) {
			int e = errno;
			close(fd);
			failed(pw, "connect to the proxy", e);
			return;
		}
		s->fd = fd;
		s->state = SPARE_CONNECTING;
		s->proxy_idx = idx;
		s->born = ev_now(pw->loop);
		ev_io_set(&s->io, fd, EV_WRITE);
		ev_io_start(pw->loop, &s->io);
	}
}

static void resolved_cb(struct resolver_waiter *w, int status, const char *errmsg, const struct resolver_result *res)
{
	struct prewarm *pw = (struct prewarm *)((char *)w - offsetof(struct prewarm, rw));
	pw->resolving = 0;
	if (status != 0) {
		log_debug("prewarm: %s", errmsg);
		failed(pw, "name lookup", 0);
		return;
	}
	fill(pw, res);
}

static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct prewarm *pw = (struct prewarm *)((char *)w - offsetof(struct prewarm, tick));
	ev_tstamp now = ev_now(loop);
	unsigned idx = target(pw), missing = 0;
	(void)revents;

	for (unsigned i = 0; i < pw->want; i++) {
		struct spare *s = &pw->spares[i];
		/* too old, stuck connecting, or for a proxy that is no longer first */
		if (s->state != SPARE_FREE &&
		    (now - s->born > PREWARM_MAX_AGE || s->proxy_idx != idx ||
		     (s->state == SPARE_CONNECTING && now - s->born > pw->gen->cfg->connect_timeout)))
			spare_drop(s);
		missing += s->state == SPARE_FREE;
	}
	if (missing > 0 && !pw->resolving && now >= pw->not_before && pw->gen->nupstreams > 0) {
		const struct upstream *up = &pw->gen->upstreams[idx];
		pw->resolving = 1;
		resolver_lookup(pw->gen->resolver, up->spec->host, up->spec->port, &pw->rw, resolved_cb);
	}
}

struct prewarm *prewarm_new(struct ev_loop *loop, struct generation *g)
{
	unsigned n = g->cfg->prewarm;
	struct prewarm *pw = calloc(1, sizeof(*pw) + n * sizeof(struct spare));
	if (pw == NULL)
		return NULL;
	pw->loop = loop;
	pw->gen = g;
	pw->want = n;
	for (unsigned i = 0; i < n; i++) {
		pw->spares[i].pw = pw;
		pw->spares[i].fd = -1;
		ev_io_init(&pw->spares[i].io, spare_cb, -1, 0);
	}
	ev_timer_init(&pw->tick, tick_cb, 0, PREWARM_TICK);
	ev_timer_start(loop, &pw->tick);
	return pw;
}

void prewarm_free(struct prewarm *pw)
{
	if (pw == NULL)
		return;
	ev_timer_stop(pw->loop, &pw->tick);
	if (pw->resolving)
		resolver_cancel(pw->gen->resolver, &pw->rw);
	for (unsigned i = 0; i < pw->want; i++)
		spare_drop(&pw->spares[i]);
	free(pw);
}

int prewarm_take(struct prewarm *pw, unsigned proxy_idx)
{
	if (pw == NULL)
		return -1;
	for (unsigned i = 0; i < pw->want; i++) {
		struct spare *s = &pw->spares[i];
		if (s->state == SPARE_READY && s->proxy_idx == proxy_idx) {
			int fd = s->fd;
			ev_io_stop(pw->loop, &s->io);
			s->fd = -1;
			s->state = SPARE_FREE;
			ev_feed_event(pw->loop, &pw->tick, EV_TIMER); /* refill soon */
			return fd;
		}
	}
	return -1;
}
