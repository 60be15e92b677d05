/* prewarm: spare upstream connections (see include/prewarm.h). */
#include "prewarm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "sockets.h"
#include "tls.h"

#define PREWARM_BACKOFF_MAX 30.0

enum { SPARE_FREE = 0, SPARE_CONNECTING, SPARE_TLS, SPARE_READY };

struct spare {
	struct prewarm *pw;
	struct stream st;   /* a plain socket, or (https:// proxies) TLS once connected */
	int state;
	int tls_events;     /* what the TLS handshake waits for */
	unsigned addr_i;    /* which of the proxy's addresses it connects to */
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
	unsigned addr_pref;       /* the address to connect to: the next one after a refusal */
	ev_tstamp not_before;     /* backoff after a failure */
	double backoff;
	struct spare spares[];
};

static void schedule(struct prewarm *pw);

static void spare_drop(struct spare *s)
{
	if (s->state == SPARE_FREE)
		return;
	stream_close(s->pw->loop, &s->st);
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

/* An https:// proxy's spare goes through the handshake before it is ready. */
static void spare_tls(struct spare *s)
{
	char err[512];
	int rc = tls_handshake(&s->st, &s->tls_events, err, sizeof(err));
	if (rc == 0) {
		stream_watch(s->pw->loop, &s->st, s->tls_events);
		return;
	}
	if (rc < 0) {
		spare_drop(s);
		log_debug("prewarm: TLS with proxy %s: %s", s->pw->ups[s->proxy_idx].display, err);
		failed(s->pw, "TLS handshake", 0);
		return;
	}
	s->state = SPARE_READY;
	s->pw->backoff = 0;
	stream_watch(s->pw->loop, &s->st, EV_READ);
}

static void spare_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct spare *s = (struct spare *)(void *)((char *)w - offsetof(struct spare, st) - offsetof(struct stream, io));
	const struct upstream *u = &s->pw->ups[s->proxy_idx];
	char err[512];
	(void)loop;
	(void)revents;
	if (s->state == SPARE_CONNECTING) {
		int e = 0;
		socklen_t len = sizeof(e);
		if (getsockopt(s->st.fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
			e = errno;
		if (e != 0) {
			spare_drop(s);
			if (s->pw->addr_pref == s->addr_i) /* that address refuses: the next one next time */
				s->pw->addr_pref = s->addr_i + 1;
			failed(s->pw, "connect to the proxy", e);
		} else if (u->tls != NULL) {
			if (tls_start(&s->st, u->tls, u->spec->host, err, sizeof(err)) < 0) {
				spare_drop(s);
				failed(s->pw, err, 0);
			} else {
				s->state = SPARE_TLS;
				spare_tls(s);
			}
		} else {
			s->state = SPARE_READY;
			s->pw->backoff = 0;
			stream_watch(s->pw->loop, &s->st, EV_READ);
		}
	} else if (s->state == SPARE_TLS) {
		spare_tls(s);
	} else {
		/* a ready spare has nothing to say: what a read finds (but a TLS ticket, which the
		 * read takes in) means the proxy closed it */
		char sink[64];
		if (stream_read(&s->st, sink, sizeof(sink)) != STREAM_AGAIN)
			spare_drop(s);
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
		pw->addr_pref = res->n > 0 ? pw->addr_pref % res->n : 0;
		const struct sockaddr_storage *a = &res->addr[pw->addr_pref];
		s->addr_i = pw->addr_pref;
		int fd = sockets_stream(a->ss_family);
		if (fd < 0) {
			failed(pw, "socket", errno);
			return;
		}
		sockets_tune(fd, !config_addr_is_local((const struct sockaddr *)a));
		if (connect(fd, (const struct sockaddr *)a, sockets_addrlen(a)) < 0 && errno != EINPROGRESS) {
			int e = errno;
			close(fd);
			pw->addr_pref++; /* the next address next time */
			failed(pw, "connect to the proxy", e);
			return;
		}
		stream_init_fd(&s->st, fd, spare_cb, s);
		s->state = SPARE_CONNECTING;
		s->proxy_idx = idx;
		s->born = ev_now(pw->loop);
		stream_watch(pw->loop, &s->st, EV_WRITE);
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
		     (s->state != SPARE_READY && now - s->born >= pw->cfg->connect_timeout)))
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
		else if (s->state != SPARE_FREE)
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
		stream_init_none(&pw->spares[i].st, spare_cb, &pw->spares[i]);
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

int prewarm_take(struct prewarm *pw, unsigned proxy_idx, struct stream *into,
		 void (*cb)(struct ev_loop *, ev_io *, int), void *data)
{
	if (pw == NULL)
		return -1;
	for (unsigned i = 0; i < pw->want; i++) {
		struct spare *s = &pw->spares[i];
		if (s->state == SPARE_READY && s->proxy_idx == proxy_idx) {
			stream_move(pw->loop, &s->st, into, cb, data);
			stream_init_none(&s->st, spare_cb, s);
			s->state = SPARE_FREE;
			schedule(pw); /* refill soon */
			return 0;
		}
	}
	return -1;
}
