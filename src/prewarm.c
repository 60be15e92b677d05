/* prewarm: spare upstream connections (see include/prewarm.h). */
#include "prewarm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "sockets.h"

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
	const struct config *cfg;
	const struct upstream *ups;
	size_t nups;
	const struct route_health *health;
	struct resolver *resolver;
	unsigned want;
	ev_timer timer;           /* armed for the next thing due, else stopped */
	struct resolver_waiter rw;
	int resolving;
	unsigned lookup_idx;      /* the proxy the pending lookup is for */
	ev_tstamp not_before;     /* backoff after a failure */
	double backoff;
	struct spare spares[];
};

static void schedule(struct prewarm *pw);

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
		} else {
			s->state = SPARE_READY;
			s->pw->backoff = 0;
			ev_io_stop(loop, &s->io);
			ev_io_set(&s->io, s->fd, EV_READ);
			ev_io_start(loop, &s->io);
		}
	} else {
		spare_drop(s); /* a ready spare has nothing to say: readable means the proxy closed it */
	}
	schedule(s->pw);
}

/* Opens the missing spares to proxy idx, whose addresses are res. */
static void fill(struct prewarm *pw, unsigned idx, const struct resolver_result *res)
{
	for (unsigned i = 0; i < pw->want && ev_now(pw->loop) >= pw->not_before; i++) {
		struct spare *s = &pw->spares[i];
		if (s->state != SPARE_FREE)
			continue;
		const struct sockaddr_storage *a = &res->addr[0];
		int fd = sockets_stream(a->ss_family);
		if (fd < 0) {
			failed(pw, "socket", errno);
			return;
		}
		sockets_tune(fd);
		if (connect(fd, (const struct sockaddr *)a, sockets_addrlen(a)) < 0 && errno != EINPROGRESS) {
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
	} else {
		fill(pw, pw->lookup_idx, res); /* the proxy the lookup was for, whatever changed since */
	}
	schedule(pw);
}

/* Recycles what is too old, stuck or for a proxy no longer first, and starts refilling. */
static void refresh(struct prewarm *pw)
{
	ev_tstamp now = ev_now(pw->loop);
	unsigned idx = (unsigned)route_first_healthy(pw->health, pw->nups, now), missing = 0;

	for (unsigned i = 0; i < pw->want; i++) {
		struct spare *s = &pw->spares[i];
		if (s->state != SPARE_FREE &&
		    (now - s->born >= PREWARM_MAX_AGE || s->proxy_idx != idx ||
		     (s->state == SPARE_CONNECTING && now - s->born >= pw->cfg->connect_timeout)))
			spare_drop(s);
		missing += s->state == SPARE_FREE;
	}
	if (missing > 0 && !pw->resolving && now >= pw->not_before && pw->nups > 0) {
		pw->resolving = 1;
		pw->lookup_idx = idx;
		resolver_lookup(pw->resolver, pw->ups[idx].spec->host, pw->ups[idx].spec->port, &pw->rw, resolved_cb);
	}
}

/* Arms the timer for the next thing due, or stops it when nothing is. */
static void schedule(struct prewarm *pw)
{
	ev_tstamp now = ev_now(pw->loop), next = 0;
	int due = 0;
	for (unsigned i = 0; i < pw->want; i++) {
		const struct spare *s = &pw->spares[i];
		ev_tstamp t;
		if (s->state == SPARE_READY)
			t = s->born + PREWARM_MAX_AGE;
		else if (s->state == SPARE_CONNECTING)
			t = s->born + pw->cfg->connect_timeout;
		else if (!pw->resolving)
			t = pw->not_before > now ? pw->not_before : now;
		else
			continue;
		if (!due || t < next)
			next = t;
		due = 1;
	}
	ev_timer_stop(pw->loop, &pw->timer);
	if (due) {
		ev_timer_set(&pw->timer, next - now > 0.001 ? next - now : 0.001, 0);
		ev_timer_start(pw->loop, &pw->timer);
	}
}

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct prewarm *pw = (struct prewarm *)((char *)w - offsetof(struct prewarm, timer));
	(void)loop;
	(void)revents;
	refresh(pw);
	schedule(pw);
}

struct prewarm *prewarm_new(struct ev_loop *loop, const struct config *cfg, const struct upstream *ups, size_t n,
			    const struct route_health *h, struct resolver *r)
{
	unsigned want = cfg->prewarm;
	struct prewarm *pw = calloc(1, sizeof(*pw) + want * sizeof(struct spare));
	if (pw == NULL)
		return NULL;
	pw->loop = loop;
	pw->cfg = cfg;
	pw->ups = ups;
	pw->nups = n;
	pw->health = h;
	pw->resolver = r;
	pw->want = want;
	for (unsigned i = 0; i < want; i++) {
		pw->spares[i].pw = pw;
		pw->spares[i].fd = -1;
		ev_io_init(&pw->spares[i].io, spare_cb, -1, 0);
	}
	ev_timer_init(&pw->timer, timer_cb, 0, 0);
	schedule(pw); /* the first fill, at once */
	return pw;
}

void prewarm_free(struct prewarm *pw)
{
	if (pw == NULL)
		return;
	ev_timer_stop(pw->loop, &pw->timer);
	if (pw->resolving)
		resolver_cancel(pw->resolver, &pw->rw);
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
			schedule(pw); /* refill soon */
			return fd;
		}
	}
	return -1;
}
