/* pac: calls, delivery, answer cache and the fetch schedule (see include/pac.h).
 *
 * Calls: one struct pac_call per host:port being asked, on p->active while QUEUED (waiting
 * for a worker with a script) or SENT (in the worker's pipeline), then DONE: its waiters
 * move to the delivery queue, answered from a zero-delay timer (never inside pac_find; not
 * an ev_idle, which starves while tunnels keep the loop busy).  A DONE call lives while a
 * queued waiter points at it (refs).  The worker's side is in pacpipe.c.
 *
 * Scripts: p->good is the last one that loaded; a fetched script that differs goes to
 * p->trying until the worker says S OK (it becomes good) or S ERR (dropped, logged). */
#include "pac.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <limits.h>

#include "log.h"
#include "pac_int.h"

_Static_assert(PAC_CACHE_MAX == PACCACHE_MAX, "pac.h and paccache.h disagree on the cache size");

#if defined(__linux__) && !defined(S2H_PORTABLE)
static char worker_path_default[4096] = "/proc/self/exe";
#else
static char worker_path_default[4096] = "";
#endif

void pac_set_worker_path(const char *path)
{
	snprintf(worker_path_default, sizeof(worker_path_default), "%s", path);
}

int pac_worker_from_argv0(const char *argv0)
{
#if defined(__linux__) && !defined(S2H_PORTABLE)
	/* the executable's path, read once: under valgrind /proc/self/exe is the tool's, while
	 * readlink gives ours; where it cannot be read, /proc/self/exe stays */
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	(void)argv0;
	if (n > 0 && (size_t)n < sizeof(self) - 1) {
		self[n] = '\0';
		if (access(self, X_OK) == 0)
			pac_set_worker_path(self);
	}
	return 0;
#else
	char found[PATH_MAX], cand[PATH_MAX];
	if (strchr(argv0, '/') != NULL) {
		if (realpath(argv0, found) == NULL)
			return -1;
		pac_set_worker_path(found);
		return 0;
	}
	const char *path = getenv("PATH");
	while (path != NULL && *path != '\0') {
		size_t n = strcspn(path, ":");
		snprintf(cand, sizeof(cand), "%.*s/%s", (int)(n ? n : 1), n ? path : ".", argv0);
		if (access(cand, X_OK) == 0 && realpath(cand, found) != NULL) {
			pac_set_worker_path(found);
			return 0;
		}
		path += n + (path[n] == ':');
	}
	return -1;
#endif
}

/* ------------------------------------------------------------------ lists, calls, delivery */

static void wlist_init(struct pac_waiter *h)
{
	h->next = h->prev = h;
}

static void wlist_unlink(struct pac_waiter *w)
{
	w->prev->next = w->next;
	w->next->prev = w->prev;
	w->next = w->prev = w;
}

static void wlist_push(struct pac_waiter *h, struct pac_waiter *w)
{
	w->prev = h->prev;
	w->next = h;
	h->prev->next = w;
	h->prev = w;
}

static void unref(struct pac_call *c)
{
	if (c->is_static)
		return;
	if (--c->refs == 0 && c->state == CALL_DONE)
		free(c);
}

static void schedule_delivery(struct pac *p, struct pac_waiter *w, struct pac_call *c)
{
	w->call = c;
	c->refs++;
	wlist_push(&p->queue, w);
	ev_timer_start(p->loop, &p->deliver); /* no-op while armed */
}

/* The call is answered: its waiters go to the delivery queue; it leaves p->active. */
void pac_finish_call(struct pac *p, struct pac_call *c, int status, const char *msg)
{
	c->res.status = status;
	if (msg != NULL)
		snprintf(c->res.msg, sizeof(c->res.msg), "%s", msg);
	c->prev->next = c->next;
	c->next->prev = c->prev;
	p->ncalls--;
	c->state = CALL_DONE;
	c->refs++; /* held while moving the waiters */
	while (c->waiters.next != &c->waiters) {
		struct pac_waiter *w = c->waiters.next;
		wlist_unlink(w);
		schedule_delivery(p, w, c);
	}
	unref(c);
}

static void destroy(struct pac *p);

static void deliver_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct pac *p = t->data;
	(void)revents;
	ev_timer_stop(loop, t);
	p->delivering = 1;
	while (!p->doomed && p->queue.next != &p->queue) {
		struct pac_waiter *w = p->queue.next;
		struct pac_call *c = w->call;
		struct pac_result r = c->res;
		wlist_unlink(w);
		w->call = NULL;
		unref(c);
		w->cb(w, &r);
	}
	p->delivering = 0;
	if (p->doomed)
		destroy(p);
}

/* Answers w at once (from the loop) with a call of its own, or a static one. */
static void answer_now(struct pac *p, struct pac_waiter *w, const struct pac_result *r)
{
	struct pac_call *c = malloc(sizeof(*c));
	if (c == NULL) {
		schedule_delivery(p, w, &p->nomem);
		return;
	}
	memset(c, 0, offsetof(struct pac_call, res));
	c->state = CALL_DONE;
	c->res = *r;
	schedule_delivery(p, w, c);
}

void pac_fail_calls(struct pac *p, int all, int status, const char *msg)
{
	struct pac_call *c = p->active.next;
	while (c != &p->active) {
		struct pac_call *next = c->next;
		if (all || c->state == CALL_QUEUED)
			pac_finish_call(p, c, status, msg);
		c = next;
	}
}

/* ------------------------------------------------------------------ the worker */


/* ------------------------------------------------------------------ scripts and fetches */

static void schedule_fetch(struct pac *p, double delay)
{
	ev_timer_stop(p->loop, &p->fetch_timer);
	if (p->retired)
		return;
	ev_timer_set(&p->fetch_timer, delay, 0);
	ev_timer_start(p->loop, &p->fetch_timer);
}

/* A failed fetch or load: sooner than the refresh period, later each time. */
static void retry_later(struct pac *p)
{
	double d = p->retry < p->refresh ? p->retry : p->refresh;
	schedule_fetch(p, d);
	p->retry = d * 2;
}

/* No good script: queries go direct (pump answers them PAC_NO_SCRIPT); logged once. */
static void unavailable(struct pac *p)
{
	p->first_pending = 0;
	if (p->announced)
		return;
	log_warn("PAC unavailable: going direct (%s)", p->last_error);
	p->announced = 1;
}

void pac_script_loaded(struct pac *p)
{
	free(p->good);
	p->good = p->trying;
	p->good_len = p->trying_len;
	p->trying = NULL;
	p->trying_sent = 0;
	paccache_clear(&p->cache); /* answers of the old script */
	p->last_error[0] = '\0';
	p->retry = PAC_RETRY_FIRST;
	p->first_pending = 0;
	if (p->announced)
		log_info("PAC available again: %s loaded (%zu bytes)", p->url, p->good_len);
	else
		log_info("PAC %s loaded (%zu bytes)", p->url, p->good_len);
	p->announced = 0;
}

void pac_script_failed(struct pac *p, const char *why)
{
	free(p->trying);
	p->trying = NULL;
	p->trying_sent = 0;
	snprintf(p->last_error, sizeof(p->last_error), "%.200s does not load: %.100s", p->url, why);
	if (p->good != NULL)
		log_warn("PAC %s does not load (%s): keeping the last good script", p->url, why);
	else
		unavailable(p);
	retry_later(p);
}

static void fetch_cb(void *arg, int ok, const char *body, size_t len, const char *err)
{
	struct pac *p = arg;
	p->fetch = NULL;
	if (!ok) {
		snprintf(p->last_error, sizeof(p->last_error), "%s", err);
		if (p->good != NULL)
			log_warn("PAC fetch failed: %s; keeping the last good script", err);
		else
			unavailable(p);
		retry_later(p);
		pacpipe_pump(p);
		return;
	}
	schedule_fetch(p, p->refresh);
	if (p->good != NULL && len == p->good_len && memcmp(body, p->good, len) == 0) {
		p->last_error[0] = '\0';
		p->retry = PAC_RETRY_FIRST;
		log_debug("PAC %s unchanged", p->url);
		return;
	}
	if (p->trying_sent)
		return; /* one load at a time: the next fetch brings this one */
	free(p->trying);
	p->trying = malloc(len + 1);
	if (p->trying == NULL) {
		pac_script_failed(p, "out of memory");
		pacpipe_pump(p);
		return;
	}
	memcpy(p->trying, body, len);
	p->trying[len] = '\0';
	p->trying_len = len;
	pacpipe_pump(p);
}

static void start_fetch(struct pac *p)
{
	char err[320];
	if (p->fetch != NULL)
		return;
	p->fetch = pacfetch_start(p->loop, p->res, p->url, PAC_FETCH_TIMEOUT, p->user_agent, fetch_cb, p, err,
				  sizeof(err));
	if (p->fetch == NULL)
		fetch_cb(p, 0, NULL, 0, err);
}

static void fetch_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct pac *p = t->data;
	(void)loop;
	(void)revents;
	start_fetch(p);
	pacpipe_pump(p); /* a script taken over at start gets its worker now */
}

/* ------------------------------------------------------------------ the interface */

static void init_static(struct pac_call *c, int status, const char *msg)
{
	memset(c, 0, sizeof(*c));
	c->is_static = 1;
	c->state = CALL_DONE;
	c->res.status = status;
	snprintf(c->res.msg, sizeof(c->res.msg), "%s", msg);
}

struct pac *pac_new(struct ev_loop *loop, const struct config *cfg, struct resolver *res, const struct pac *previous,
		    char *err, size_t errlen)
{
	if (cfg->pac_url[0] == '\0') {
		snprintf(err, errlen, "no PAC URL");
		return NULL;
	}
	struct pac *p = calloc(1, sizeof(*p));
	if (p == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	p->loop = loop;
	p->res = res;
	snprintf(p->url, sizeof(p->url), "%s", cfg->pac_url);
	snprintf(p->user_agent, sizeof(p->user_agent), "%s", cfg->user_agent);
	p->timeout = cfg->pac_timeout > 0 ? cfg->pac_timeout : 2.0;
	p->refresh = cfg->pac_refresh > 0 ? cfg->pac_refresh : 600.0;
	p->cache_ttl = cfg->pac_cache;
	snprintf(p->worker_path, sizeof(p->worker_path), "%s", worker_path_default);
	p->active.next = p->active.prev = &p->active;
	wlist_init(&p->queue);
	p->next_id = 1;
	p->retry = PAC_RETRY_FIRST;
	p->first_pending = 1;
	init_static(&p->busy, PAC_FAILED, "too many PAC queries outstanding");
	init_static(&p->noscript, PAC_NO_SCRIPT, "no PAC script");
	init_static(&p->nomem, PAC_FAILED, "out of memory");
	paccache_init(&p->cache);
	pacpipe_init(p);
	ev_timer_init(&p->deliver, deliver_cb, 0, 0);
	ev_timer_init(&p->fetch_timer, fetch_timer_cb, 0, 0);
	p->deliver.data = p->fetch_timer.data = p;
	if (previous != NULL && strcmp(previous->url, p->url) == 0) {
		p->first_pending = previous->first_pending;
		p->announced = previous->announced;
		snprintf(p->last_error, sizeof(p->last_error), "%s", previous->last_error);
		if (previous->good != NULL && (p->good = malloc(previous->good_len + 1)) != NULL) {
			memcpy(p->good, previous->good, previous->good_len + 1);
			p->good_len = previous->good_len;
		}
	}
	ev_timer_start(loop, &p->fetch_timer); /* the first fetch, from the loop */
	return p;
}

static void destroy(struct pac *p)
{
	if (p->fetch != NULL)
		pacfetch_cancel(p->fetch);
	pacpipe_destroy(p);
	ev_timer_stop(p->loop, &p->deliver);
	ev_timer_stop(p->loop, &p->fetch_timer);
	while (p->queue.next != &p->queue) {
		struct pac_waiter *w = p->queue.next;
		struct pac_call *c = w->call;
		wlist_unlink(w);
		w->call = NULL;
		unref(c);
	}
	while (p->active.next != &p->active) {
		struct pac_call *c = p->active.next;
		for (struct pac_waiter *w = c->waiters.next; w != &c->waiters; w = w->next)
			w->call = NULL;
		c->prev->next = c->next;
		c->next->prev = c->prev;
		free(c);
	}
	paccache_clear(&p->cache);
	free(p->good);
	free(p->trying);
	free(p);
}

void pac_free(struct pac *p)
{
	if (p == NULL)
		return;
	if (p->delivering) {
		p->doomed = 1; /* deliver_cb frees it when the running callback returns */
		return;
	}
	destroy(p);
}

/* The host as browsers hand it to FindProxyForURL and as the cache keys it: lower case
 * (a browser canonicalises the URL), without one trailing dot.  Longer than 255: as it is
 * (pac_find refuses it). */
static const char *canonical_host(const char *host, char buf[256])
{
	size_t n = strlen(host);
	if (n > 255)
		return host;
	for (size_t i = 0; i < n; i++)
		buf[i] = host[i] >= 'A' && host[i] <= 'Z' ? (char)(host[i] - 'A' + 'a') : host[i];
	if (n > 1 && buf[n - 1] == '.')
		n--;
	buf[n] = '\0';
	return buf;
}

int pac_cached(struct pac *p, const char *host, uint16_t port, struct pac_result *out)
{
	char canon[256];
	host = canonical_host(host, canon);
	if (p->good == NULL && !p->first_pending) {
		*out = p->noscript.res;
		return 1;
	}
	const struct paccache_entry *e = paccache_get(&p->cache, host, port, ev_now(p->loop));
	if (e == NULL)
		return 0;
	out->status = e->status;
	out->msg[0] = '\0';
	out->ans.n = out->ans.skipped = 0;
	if (e->status != PAC_ANSWER)
		snprintf(out->msg, sizeof(out->msg), "%s", e->text);
	else if (pacanswer_parse(e->text, strlen(e->text), &out->ans, out->msg, sizeof(out->msg)) < 0)
		out->status = PAC_FAILED; /* it parsed when it was stored: not reached */
	return 1;
}

void pac_find(struct pac *p, const char *host, uint16_t port, struct pac_waiter *w,
	      void (*cb)(struct pac_waiter *, const struct pac_result *))
{
	char canon[256];
	host = canonical_host(host, canon);
	size_t hl = strlen(host);
	w->cb = cb;
	w->call = NULL;
	wlist_init(w);
	int bad = hl == 0 || hl > 255;
	for (size_t i = 0; i < hl && !bad; i++)
		bad = (unsigned char)host[i] <= ' ' || host[i] == 0x7f;
	if (bad) {
		struct pac_result r;
		memset(&r, 0, offsetof(struct pac_result, msg));
		r.status = PAC_FAILED;
		snprintf(r.msg, sizeof(r.msg), "host name unusable in a PAC query");
		answer_now(p, w, &r);
		return;
	}
	if (p->good == NULL && !p->first_pending) {
		schedule_delivery(p, w, &p->noscript);
		return;
	}
	struct pac_result r;
	if (pac_cached(p, host, port, &r)) {
		answer_now(p, w, &r);
		return;
	}
	for (struct pac_call *c = p->active.next; c != &p->active; c = c->next) {
		if (c->port == port && strcmp(c->host, host) == 0) {
			wlist_push(&c->waiters, w);
			w->call = c;
			return;
		}
	}
	struct pac_call *c = p->ncalls < PAC_MAX_CALLS ? malloc(sizeof(*c)) : NULL;
	if (c == NULL) {
		schedule_delivery(p, w, p->ncalls < PAC_MAX_CALLS ? &p->nomem : &p->busy);
		return;
	}
	memset(c, 0, offsetof(struct pac_call, res));
	c->state = CALL_QUEUED;
	c->id = p->next_id++;
	if (p->next_id == 0)
		p->next_id = 1;
	c->port = port;
	memcpy(c->host, host, hl + 1);
	wlist_init(&c->waiters);
	c->prev = p->active.prev;
	c->next = &p->active;
	p->active.prev->next = c;
	p->active.prev = c;
	p->ncalls++;
	wlist_push(&c->waiters, w);
	w->call = c;
	pacpipe_pump(p);
}

void pac_cancel(struct pac *p, struct pac_waiter *w)
{
	(void)p;
	struct pac_call *c = w->call;
	if (c == NULL)
		return;
	wlist_unlink(w);
	w->call = NULL;
	if (c->state == CALL_DONE)
		unref(c);
	/* a call still running keeps going: its answer fills the cache */
}

void pac_retire(struct pac *p)
{
	p->retired = 1;
	ev_timer_stop(p->loop, &p->fetch_timer);
	/* the first fetch may finish: queries wait for it, and its deadline bounds it */
	if (p->fetch != NULL && !p->first_pending) {
		pacfetch_cancel(p->fetch);
		p->fetch = NULL;
	}
}

void pac_refresh(struct pac *p)
{
	if (p->retired)
		return;
	p->retry = PAC_RETRY_FIRST;
	start_fetch(p);
}

const char *pac_state(const struct pac *p)
{
	return p->good != NULL ? "ok" : p->first_pending ? "fetching" : "unavailable";
}

const char *pac_last_error(const struct pac *p)
{
	return p->last_error;
}
