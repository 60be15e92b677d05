/* resolver: c-ares 1.18 driven by libev (see include/resolver.h).
 *
 * c-ares tells us which sockets to watch through sock_state_cb; we keep one ev_io per
 * socket and one timer for c-ares' own timeouts.  Answers land in a small cache keyed by
 * host name; waiters are queued and called from a zero-delay timer so that no callback ever
 * runs inside resolver_lookup (c-ares 1.18 may answer inside ares_getaddrinfo).  Not an
 * ev_idle: that one starves while any tunnel keeps the loop busy. */
#include "resolver.h"

#include <ares.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define RESOLVER_MAX_ENTRIES 256 /* names: the proxies', and the targets of direct routes */
#define RESOLVER_NEG_TTL 5.0 /* seconds a failed lookup is remembered */

enum entry_state { ENTRY_FREE = 0, ENTRY_PENDING, ENTRY_READY, ENTRY_FAILED };

struct resolver_entry {
	struct resolver *r;
	enum entry_state state;
	int reissue; /* pending on a channel resolver_network_changed is replacing */
	char host[PROXYURL_HOST_MAX + 1];
	ev_tstamp expires;
	int status;
	char errmsg[96];
	struct resolver_result res;     /* ports unset; filled in per waiter */
	struct resolver_waiter waiters; /* list head of callers waiting on the query */
};

struct sock_watch {
	ev_io io;
	struct resolver *r;
	int active;
};

struct resolver {
	struct ev_loop *loop;
	ares_channel channel;
	ev_timer timer;
	ev_timer deliver;
	struct sock_watch **socks; /* NULL slots are unused */
	size_t nsocks;
	struct resolver_entry busy; /* the answer when every cache slot is in use */
	double cache_ttl;
	unsigned pending;
	struct resolver_waiter queue; /* waiters whose answer is ready */
	int delivering;               /* inside deliver_cb: resolver_free must wait for it */
	int doomed;                   /* resolver_free was called meanwhile */
	int replacing;                /* ares_destroy of a channel being replaced is running */
	int fixed_servers;            /* --dns-servers: resolv.conf is not read */
	int timeout_ms, tries;
	struct resolver_entry entries[RESOLVER_MAX_ENTRIES];
};

static void set_port(struct resolver_result *res, uint16_t port);

static void list_init(struct resolver_waiter *head)
{
	head->next = head->prev = head;
}

static void list_unlink(struct resolver_waiter *w)
{
	w->prev->next = w->next;
	w->next->prev = w->prev;
	w->next = w->prev = w;
}

static void list_push(struct resolver_waiter *head, struct resolver_waiter *w)
{
	w->prev = head->prev;
	w->next = head;
	head->prev->next = w;
	head->prev = w;
}

/* Re-arms the c-ares timer from ares_timeout (at most 1 s, at least 1 ms), or stops it. */
static void rearm_timer(struct resolver *r)
{
	struct timeval max = {1, 0}, tv;
	ev_timer_stop(r->loop, &r->timer);
	if (r->pending == 0)
		return;
	struct timeval *t = ares_timeout(r->channel, &max, &tv);
	double secs = t ? (double)t->tv_sec + (double)t->tv_usec / 1e6 : 1.0;
	if (secs < 0.001)
		secs = 0.001;
	ev_timer_set(&r->timer, secs, 0);
	ev_timer_start(r->loop, &r->timer);
}

static void sock_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct sock_watch *s = (struct sock_watch *)w;
	struct resolver *r = s->r;
	(void)loop;
	ares_process_fd(r->channel, (revents & EV_READ) ? w->fd : ARES_SOCKET_BAD,
			(revents & EV_WRITE) ? w->fd : ARES_SOCKET_BAD);
	rearm_timer(r);
}

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct resolver *r = (struct resolver *)((char *)w - offsetof(struct resolver, timer));
	(void)loop;
	(void)revents;
	ares_process_fd(r->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	rearm_timer(r);
}

/* An fd can close and be reopened under the same number inside one c-ares call, so the
 * watcher is always stopped and set afresh. */
static void sock_state_cb(void *data, ares_socket_t fd, int readable, int writable)
{
	struct resolver *r = data;
	struct sock_watch *s = NULL, *spare = NULL;

	for (size_t i = 0; i < r->nsocks; i++) {
		struct sock_watch *c = r->socks[i];
		if (c == NULL) {
			if (spare == NULL && (c = calloc(1, sizeof(*c))) != NULL)
				spare = r->socks[i] = c;
			continue;
		}
		if (c->active && c->io.fd == fd)
			s = c;
		else if (!c->active && spare == NULL)
			spare = c;
	}
	if (!readable && !writable) {
		if (s != NULL) {
			ev_io_stop(r->loop, &s->io);
			s->active = 0;
		}
		return;
	}
	if (s == NULL) {
		if (spare == NULL) {
			/* libev holds pointers to active watchers: grow the table of pointers only */
			size_t n = r->nsocks ? r->nsocks * 2 : 4;
			struct sock_watch **grown = realloc(r->socks, n * sizeof(*grown));
			if (grown == NULL) {
				log_error("resolver: out of memory watching a DNS socket");
				return; /* c-ares times the query out */
			}
			r->socks = grown;
			for (size_t i = r->nsocks; i < n; i++)
				grown[i] = NULL;
			spare = calloc(1, sizeof(*spare));
			if (spare == NULL) {
				log_error("resolver: out of memory watching a DNS socket");
				return;
			}
			grown[r->nsocks] = spare;
			r->nsocks = n;
		}
		s = spare;
		s->r = r;
		s->active = 1;
		ev_io_init(&s->io, sock_io_cb, fd, 0);
	}
	ev_io_stop(r->loop, &s->io);
	ev_io_set(&s->io, fd, (readable ? EV_READ : 0) | (writable ? EV_WRITE : 0));
	ev_io_start(r->loop, &s->io);
}

static void destroy(struct resolver *r);

/* A callback may close the last tunnel of an old generation, which frees this resolver
 * (server_gen_put -> resolver_free) while this loop still needs it: resolver_free then only
 * marks it doomed, the loop stops at once, and the resolver goes here, after the callback. */
static void deliver_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct resolver *r = (struct resolver *)((char *)w - offsetof(struct resolver, deliver));
	(void)revents;
	ev_timer_stop(loop, w);
	r->delivering = 1;
	/* Each waiter is unlinked before its callback, which may queue new waiters. */
	while (!r->doomed && r->queue.next != &r->queue) {
		struct resolver_waiter *wt = r->queue.next;
		struct resolver_entry *e = wt->entry;
		list_unlink(wt);
		wt->queued = 0;
		wt->entry = NULL;
		if (e->state == ENTRY_READY) {
			struct resolver_result res = e->res;
			set_port(&res, wt->port);
			wt->cb(wt, 0, NULL, &res);
		} else {
			char msg[sizeof(e->errmsg)];
			memcpy(msg, e->errmsg, sizeof(msg));
			wt->cb(wt, e->status ? e->status : -1, msg, NULL);
		}
	}
	r->delivering = 0;
	if (r->doomed)
		destroy(r);
}

static void queue_waiters(struct resolver *r, struct resolver_entry *e)
{
	while (e->waiters.next != &e->waiters) {
		struct resolver_waiter *w = e->waiters.next;
		list_unlink(w);
		list_push(&r->queue, w);
		w->queued = 1;
	}
	ev_timer_start(r->loop, &r->deliver); /* no-op while already armed */
}

/* Orders the answer as RFC 8305 section 4 suggests: alternate families, first family first. */
static void take_addrinfo(struct resolver_entry *e, const struct ares_addrinfo *ai)
{
	struct sockaddr_storage v6[RESOLVER_MAX_ADDRS], v4[RESOLVER_MAX_ADDRS];
	unsigned n6 = 0, n4 = 0;
	int first = 0;
	int ttl = -1;

	for (const struct ares_addrinfo_node *n = ai ? ai->nodes : NULL; n != NULL; n = n->ai_next) {
		if (n->ai_family == AF_INET6 && n6 < RESOLVER_MAX_ADDRS && n->ai_addrlen <= sizeof(v6[0])) {
			memset(&v6[n6], 0, sizeof(v6[n6]));
			memcpy(&v6[n6++], n->ai_addr, n->ai_addrlen);
		} else if (n->ai_family == AF_INET && n4 < RESOLVER_MAX_ADDRS && n->ai_addrlen <= sizeof(v4[0])) {
			memset(&v4[n4], 0, sizeof(v4[n4]));
			memcpy(&v4[n4++], n->ai_addr, n->ai_addrlen);
		} else {
			continue;
		}
		if (first == 0)
			first = n->ai_family;
		if (n->ai_ttl > 0 && (ttl < 0 || n->ai_ttl < ttl))
			ttl = n->ai_ttl;
	}
	e->res.n = 0;
	for (unsigned i = 0; e->res.n < RESOLVER_MAX_ADDRS && (i < n6 || i < n4); i++) {
		const struct sockaddr_storage *a = first == AF_INET ? (i < n4 ? &v4[i] : NULL) : (i < n6 ? &v6[i] : NULL);
		const struct sockaddr_storage *b = first == AF_INET ? (i < n6 ? &v6[i] : NULL) : (i < n4 ? &v4[i] : NULL);
		if (a && e->res.n < RESOLVER_MAX_ADDRS)
			e->res.addr[e->res.n++] = *a;
		if (b && e->res.n < RESOLVER_MAX_ADDRS)
			e->res.addr[e->res.n++] = *b;
	}
	double life = e->r->cache_ttl;
	if (ttl > 0 && ttl < life)
		life = ttl;
	e->expires = ev_now(e->r->loop) + life;
}

static void addrinfo_cb(void *arg, int status, int timeouts, struct ares_addrinfo *ai)
{
	struct resolver_entry *e = arg;
	struct resolver *r = e->r;
	(void)timeouts;

	if (status == ARES_EDESTRUCTION) { /* resolver_free: the entries go with it */
		if (ai)
			ares_freeaddrinfo(ai);
		if (r->replacing) { /* a new channel asks again */
			r->pending--;
			e->reissue = 1;
		}
		return;
	}
	r->pending--;
	if (status == ARES_SUCCESS)
		take_addrinfo(e, ai);
	if (status == ARES_SUCCESS && e->res.n > 0) {
		e->state = ENTRY_READY;
	} else {
		e->state = ENTRY_FAILED;
		e->status = status == ARES_SUCCESS ? ARES_ENODATA : status;
		snprintf(e->errmsg, sizeof(e->errmsg), "%s", status == ARES_SUCCESS ? "no IPv4 or IPv6 address" : ares_strerror(status));
		e->expires = ev_now(r->loop) + (RESOLVER_NEG_TTL < r->cache_ttl ? RESOLVER_NEG_TTL : r->cache_ttl);
	}
	if (ai)
		ares_freeaddrinfo(ai);
	queue_waiters(r, e);
}

/* A channel with our options; without --dns-servers it reads /etc/resolv.conf now. */
static int open_channel(struct resolver *r, ares_channel *ch)
{
	struct ares_options opts;
	memset(&opts, 0, sizeof(opts));
	opts.sock_state_cb = sock_state_cb;
	opts.sock_state_cb_data = r;
	opts.timeout = r->timeout_ms;
	opts.tries = r->tries;
	return ares_init_options(ch, &opts, ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
}

struct resolver *resolver_new(struct ev_loop *loop, const struct config *cfg, char *err, size_t errlen)
{
	int rc;
	struct resolver *r = calloc(1, sizeof(*r));

	if (r == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	rc = ares_library_init(ARES_LIB_INIT_ALL);
	if (rc != ARES_SUCCESS) {
		snprintf(err, errlen, "c-ares: %s", ares_strerror(rc));
		free(r);
		return NULL;
	}
	r->loop = loop;
	r->cache_ttl = cfg->dns_cache_ttl;
	list_init(&r->queue);
	for (size_t i = 0; i < RESOLVER_MAX_ENTRIES; i++) {
		r->entries[i].r = r;
		list_init(&r->entries[i].waiters);
	}
	r->timeout_ms = (int)(cfg->dns_timeout * 1000);
	if (r->timeout_ms < 1)
		r->timeout_ms = 1;
	r->tries = cfg->dns_tries;
	r->fixed_servers = cfg->dns_servers[0] != '\0';
	rc = open_channel(r, &r->channel);
	if (rc != ARES_SUCCESS) {
		snprintf(err, errlen, "c-ares: %s", ares_strerror(rc));
		ares_library_cleanup();
		free(r);
		return NULL;
	}
	r->busy.r = r;
	r->busy.state = ENTRY_FAILED;
	r->busy.status = ARES_ENOMEM;
	snprintf(r->busy.errmsg, sizeof(r->busy.errmsg), "too many host names being resolved");
	list_init(&r->busy.waiters);
	if (cfg->dns_servers[0] != '\0' && (rc = ares_set_servers_ports_csv(r->channel, cfg->dns_servers)) != ARES_SUCCESS) {
		snprintf(err, errlen, "--dns-servers %s: %s", cfg->dns_servers, ares_strerror(rc));
		ares_destroy(r->channel);
		ares_library_cleanup();
		free(r);
		return NULL;
	}
	ev_timer_init(&r->timer, timer_cb, 0, 0);
	ev_timer_init(&r->deliver, deliver_cb, 0, 0);
	return r;
}

void resolver_free(struct resolver *r)
{
	if (r == NULL)
		return;
	if (r->delivering) {
		r->doomed = 1; /* deliver_cb frees it when the running callback returns */
		return;
	}
	destroy(r);
}

static void destroy(struct resolver *r)
{
	ares_destroy(r->channel); /* pending queries end with ARES_EDESTRUCTION */
	for (size_t i = 0; i < r->nsocks; i++) {
		if (r->socks[i] != NULL && r->socks[i]->active)
			ev_io_stop(r->loop, &r->socks[i]->io);
		free(r->socks[i]);
	}
	free(r->socks);
	ev_timer_stop(r->loop, &r->timer);
	ev_timer_stop(r->loop, &r->deliver);
	ares_library_cleanup();
	free(r);
}

/* Is e the answer some queued waiter has yet to be given? */
static int referenced(const struct resolver *r, const struct resolver_entry *e)
{
	for (const struct resolver_waiter *w = r->queue.next; w != &r->queue; w = w->next)
		if (w->entry == e)
			return 1;
	return 0;
}

/* The entry for host: cached, pending, or a fresh slot (state ENTRY_FREE) to query into.
 * NULL when every slot is pending or referenced. */
static struct resolver_entry *find_entry(struct resolver *r, const char *host)
{
	struct resolver_entry *victim = NULL;
	ev_tstamp now = ev_now(r->loop);

	for (size_t i = 0; i < RESOLVER_MAX_ENTRIES; i++) {
		struct resolver_entry *e = &r->entries[i];
		if (e->state != ENTRY_FREE && strcmp(e->host, host) == 0) {
			/* a stale answer still being handed out is good enough for one more */
			if (e->state == ENTRY_PENDING || e->expires > now || referenced(r, e))
				return e;
			e->state = ENTRY_FREE;
			return e;
		}
	}
	for (size_t i = 0; i < RESOLVER_MAX_ENTRIES; i++) {
		struct resolver_entry *e = &r->entries[i];
		if (e->state == ENTRY_FREE) {
			victim = e;
			break;
		}
		if (e->state != ENTRY_PENDING && !referenced(r, e) && (victim == NULL || e->expires < victim->expires))
			victim = e;
	}
	if (victim == NULL)
		return NULL;
	victim->state = ENTRY_FREE;
	snprintf(victim->host, sizeof(victim->host), "%s", host);
	return victim;
}

void resolver_lookup(struct resolver *r, const char *host, uint16_t port, struct resolver_waiter *w,
		     resolver_cb cb)
{
	struct resolver_entry *e = find_entry(r, host);

	w->cb = cb;
	w->port = port;
	list_init(w);
	w->queued = 0;
	if (e == NULL) {
		/* every slot is busy: answer with a failure rather than wait without bound */
		w->entry = &r->busy;
		list_push(&r->queue, w);
		w->queued = 1;
		ev_timer_start(r->loop, &r->deliver); /* no-op while already armed */
		return;
	}
	w->entry = e;
	if (e->state == ENTRY_READY || e->state == ENTRY_FAILED) {
		list_push(&r->queue, w);
		w->queued = 1;
		ev_timer_start(r->loop, &r->deliver); /* no-op while already armed */
		return;
	}
	list_push(&e->waiters, w);
	if (e->state == ENTRY_PENDING)
		return;
	snprintf(e->host, sizeof(e->host), "%s", host);

	/* a new query; literals never go to DNS (c-ares 1.18 would send IPv4 literals) */
	e->state = ENTRY_PENDING;
	struct sockaddr_in6 s6;
	struct sockaddr_in s4;
	memset(&s6, 0, sizeof(s6));
	memset(&s4, 0, sizeof(s4));
	if (inet_pton(AF_INET, host, &s4.sin_addr) == 1 || inet_pton(AF_INET6, host, &s6.sin6_addr) == 1) {
		e->res.n = 1;
		memset(&e->res.addr[0], 0, sizeof(e->res.addr[0]));
		if (inet_pton(AF_INET, host, &s4.sin_addr) == 1) {
			s4.sin_family = AF_INET;
			memcpy(&e->res.addr[0], &s4, sizeof(s4));
		} else {
			s6.sin6_family = AF_INET6;
			memcpy(&e->res.addr[0], &s6, sizeof(s6));
		}
		e->state = ENTRY_READY;
		e->expires = ev_now(r->loop) + 1e9;
		queue_waiters(r, e);
		return;
	}
	struct ares_addrinfo_hints hints;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	r->pending++;
	ares_getaddrinfo(r->channel, host, NULL, &hints, addrinfo_cb, e);
	rearm_timer(r);
}

/* Sets port on every address of res. */
static void set_port(struct resolver_result *res, uint16_t port)
{
	for (unsigned i = 0; i < res->n; i++) {
		struct sockaddr_storage *ss = &res->addr[i];
		if (ss->ss_family == AF_INET)
			((struct sockaddr_in *)ss)->sin_port = htons(port);
		else
			((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
	}
}

int resolver_cached(struct resolver *r, const char *host, uint16_t port, struct resolver_result *res)
{
	ev_tstamp now = ev_now(r->loop);
	for (size_t i = 0; i < RESOLVER_MAX_ENTRIES; i++) {
		const struct resolver_entry *e = &r->entries[i];
		if (e->state == ENTRY_READY && e->expires > now && strcmp(e->host, host) == 0) {
			*res = e->res;
			set_port(res, port);
			return 1;
		}
	}
	return 0;
}

void resolver_cancel(struct resolver *r, struct resolver_waiter *w)
{
	(void)r;
	if (w->entry == NULL)
		return;
	list_unlink(w);
	w->entry = NULL;
	w->queued = 0;
}

unsigned resolver_pending(const struct resolver *r)
{
	return r->pending;
}

/* Every answer goes, failures too; one a queued waiter is yet to get is handed out, then
 * asked again.  With resolv.conf's servers a new channel reads it again (c-ares 1.18 has no
 * ares_reinit); the lookups in flight on the old one are asked again on the new one.  Here
 * no c-ares call is running (we are on a timer of our own), so ares_destroy is safe. */
void resolver_network_changed(struct resolver *r)
{
	for (size_t i = 0; i < RESOLVER_MAX_ENTRIES; i++) {
		struct resolver_entry *e = &r->entries[i];
		if (e->state == ENTRY_READY || e->state == ENTRY_FAILED) {
			if (referenced(r, e))
				e->expires = 0;
			else
				e->state = ENTRY_FREE;
		}
	}
	if (r->fixed_servers)
		return;
	ares_channel fresh;
	int rc = open_channel(r, &fresh);
	if (rc != ARES_SUCCESS) {
		log_warn("resolver: cannot read the DNS configuration again (%s): keeping the old servers",
			 ares_strerror(rc));
		return;
	}
	r->replacing = 1;
	ares_destroy(r->channel); /* pending queries end with ARES_EDESTRUCTION: marked reissue */
	r->replacing = 0;
	for (size_t i = 0; i < r->nsocks; i++) /* its sockets are closed */
		if (r->socks[i] != NULL && r->socks[i]->active) {
			ev_io_stop(r->loop, &r->socks[i]->io);
			r->socks[i]->active = 0;
		}
	r->channel = fresh;
	struct ares_addrinfo_hints hints;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	for (size_t i = 0; i < RESOLVER_MAX_ENTRIES; i++) {
		struct resolver_entry *e = &r->entries[i];
		if (!e->reissue)
			continue;
		e->reissue = 0;
		r->pending++;
		ares_getaddrinfo(r->channel, e->host, NULL, &hints, addrinfo_cb, e);
	}
	rearm_timer(r);
}
