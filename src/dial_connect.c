/* dial_connect: the steps of a route plan, the names, and the TCP connects with Happy
 * Eyeballs (see include/dial.h; shared parts in include/dial_int.h). */
#include "dial_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "prewarm.h"
#include "sockets.h"
#include "tls.h"

#define HE_DELAY 0.25 /* RFC 8305: the next address is tried when the first has not answered */

const char *dial_label(const struct dial *d, char *buf, size_t cap)
{
	if (d->direct)
		snprintf(buf, cap, "target %s", d->target);
	else
		snprintf(buf, cap, "proxy %s", dial_cur(d)->display);
	return buf;
}

/* The step could not be reached: a proxy is marked down (where another step can take over). */
static void step_down(struct dial *d)
{
	double retry = d->gen->cfg->proxy_retry;
	if (d->direct)
		return;
	if (route_mark_down(&d->gen->health, d->proxy_idx, d->plan.n - 1u, ev_now(d->loop), retry))
		log_warn("proxy %s is unreachable: trying it last for %gs", dial_cur(d)->display, retry);
}

/* A direct step failed with err: remembered for the outcome, when no later step works. */
static void target_failed(struct dial *d, int err)
{
	if (d->direct)
		d->target_err = err ? err : EHOSTUNREACH;
}

int dial_next_step(struct dial *d)
{
	dial_drop_upstream(d);
	dial_forget_auth(d);
	d->addrs.n = 0;
	if (d->plan_pos >= d->plan.n || (d->plan.kind == ROUTE_CHAIN && d->plan_pos > 0)) {
		if (d->target_err != 0)
			return dial_finish_with(d, OUTCOME_TARGET, d->target_err, "target-unreachable");
		log_warn("%s: no upstream proxy reachable for %s", d->who, d->have_target ? d->target : "the tunnel");
		return dial_finish_with(d, OUTCOME_UNREACHABLE, 0, "proxy-unreachable");
	}
	uint16_t step = d->plan.idx[d->plan_pos++];
	d->direct = step == ROUTE_DIRECT;
	d->hop = 0;
	if (!d->direct) {
		d->proxy_idx = step;
		d->tried++;
		dial_tell(d, DIAL_EV_PROXY, dial_cur(d));
	}
	if (!d->spare_tried && !d->direct) {
		d->spare_tried = 1;
		if (prewarm_take(d->gen->prewarm, d->proxy_idx, d->up, dial_up_cb, d) == 0) {
			/* a connection made ahead of time (TLS included): CONNECT goes out at once */
			log_debug("%s: using a spare connection to proxy %s", d->who, dial_cur(d)->display);
			d->from_spare = 1;
			if (dial_cur(d)->tls != NULL)
				d->tls = tls_resumed(d->up) ? 3 : 2;
			return dial_connected(d);
		}
	}
	return dial_resolve(d);
}

/* An IP literal target: its address, without a lookup.  Returns 1, or 0 for a name. */
static int literal(struct dial *d)
{
	struct sockaddr_storage *ss = &d->addrs.addr[0];
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, d->host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(d->port);
	} else if (inet_pton(AF_INET6, d->host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(d->port);
	} else {
		return 0;
	}
	d->addrs.n = 1;
	return 1;
}

static void resolved_cb(struct resolver_waiter *w, int status, const char *errmsg, const struct resolver_result *res)
{
	struct dial *d = (struct dial *)(void *)((char *)w - offsetof(struct dial, rw));
	char what[300];

	if (status != 0) {
		log_warn("%s: cannot resolve %s: %s", dial_label(d, what, sizeof(what)),
			 d->direct ? d->host : dial_cur(d)->spec->host, errmsg);
		dial_tell(d, DIAL_EV_RESOLVE_FAILED, errmsg);
		step_down(d);
		target_failed(d, ENOENT);
		if (dial_next_step(d) == 0)
			dial_watch(d);
		return;
	}
	d->addrs = *res;
	d->addr_idx = 0;
	dial_tell(d, DIAL_EV_RESOLVED, &d->addrs);
	if (dial_connect_step(d) == 0)
		dial_watch(d);
}

int dial_resolve(struct dial *d)
{
	const char *host = d->direct ? d->host : dial_cur(d)->spec->host;
	uint16_t port = d->direct ? d->port : dial_cur(d)->spec->port;

	d->from_spare = 0;
	d->addr_idx = 0;
	if ((d->direct && literal(d)) || resolver_cached(d->gen->resolver, host, port, &d->addrs)) {
		dial_tell(d, DIAL_EV_RESOLVED, &d->addrs);
		return dial_connect_step(d);
	}
	d->state = D_RESOLVING;
	dial_arm_timer(d, d->gen->cfg->connect_timeout);
	resolver_lookup(d->gen->resolver, host, port, &d->rw, resolved_cb);
	return 0;
}

/* A connect to this host completes inside connect() (the kernel runs the whole handshake
 * there), though it says EINPROGRESS: is fd connected already?  Saves a turn of the loop
 * (and its latency) per connection to a local proxy; never asked for other hosts. */
static int connected_at_once(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLOUT, .revents = 0};
	return poll(&p, 1, 0) == 1 && p.revents == POLLOUT;
}

/* Starts a connect to address addr_idx in attempt a.  Returns 0 when under way, 2 when
 * already connected, 1 when that address failed at once (logged), -1 when the dial ended. */
static int start_attempt(struct dial *d, struct stream *a, uint8_t *which, ev_tstamp *deadline)
{
	const struct sockaddr_storage *sa = &d->addrs.addr[d->addr_idx];
	char addr[64], what[300];

	*which = d->addr_idx++;
	int fd = sockets_stream(sa->ss_family);
	if (fd < 0) {
		int e = errno;
		if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM)
			return dial_finish_with(d, OUTCOME_LOCAL, e, "out-of-resources");
		log_error("%s: cannot create a socket for %s: %s", d->who, dial_label(d, what, sizeof(what)), strerror(e));
		target_failed(d, e == EAFNOSUPPORT ? ENETUNREACH : e);
		return 1;
	}
	int local = config_addr_is_local((const struct sockaddr *)sa);
	sockets_tune(fd, !local);
	if (connect(fd, (const struct sockaddr *)sa, sockets_addrlen(sa)) < 0 && errno != EINPROGRESS) {
		int e = errno;
		log_warn("%s (%s): connect: %s", dial_label(d, what, sizeof(what)),
			 log_addr((const struct sockaddr *)sa, addr, sizeof(addr)), strerror(e));
		dial_tell(d, DIAL_EV_CONNECT_FAILED, strerror(e));
		target_failed(d, e);
		close(fd);
		return 1;
	}
	stream_init_fd(a, fd, a->io.cb, d);
	*deadline = ev_now(d->loop) + d->gen->cfg->connect_timeout;
	return local && connected_at_once(fd) ? 2 : 0;
}

/* Drives the connect attempts to the current step's addresses (RFC 8305): one at a time,
 * a second one once the first has had HE_DELAY to answer, the next whenever one fails.
 * When every address has failed, the next step. */
int dial_connect_step(struct dial *d)
{
	ev_tstamp now = ev_now(d->loop);

	for (;;) {
		int active = (d->up->fd >= 0) + (d->alt.fd >= 0);
		int more = d->addr_idx < d->addrs.n;
		if (active == 0 && !more) {
			step_down(d);
			return dial_next_step(d);
		}
		if (!more || active == 2 || (active == 1 && now < d->next_attempt_at))
			break;
		struct stream *a = d->up->fd < 0 ? d->up : &d->alt;
		int rc = a == d->up ? start_attempt(d, d->up, &d->up_addr, &d->up_deadline)
				    : start_attempt(d, &d->alt, &d->alt_addr, &d->alt_deadline);
		if (rc < 0)
			return -1;
		if (rc == 2)
			return dial_attempt_done(d, a, 0, NULL);
		if (rc == 0)
			d->next_attempt_at = now + HE_DELAY;
	}
	d->state = D_CONNECTING;
	ev_tstamp next = 1e300;
	if (d->up->fd >= 0 && d->up_deadline < next)
		next = d->up_deadline;
	if (d->alt.fd >= 0 && d->alt_deadline < next)
		next = d->alt_deadline;
	if (d->addr_idx < d->addrs.n && d->next_attempt_at < next)
		next = d->next_attempt_at;
	dial_arm_timer(d, next - now);
	return 0;
}

int dial_attempt_done(struct dial *d, struct stream *a, int err, const char *what)
{
	char addr[64], label[300];
	uint8_t which = a == d->up ? d->up_addr : d->alt_addr;

	if (err != 0 || what != NULL) {
		log_warn("%s (%s): %s%s%s", dial_label(d, label, sizeof(label)),
			 log_addr((const struct sockaddr *)&d->addrs.addr[which], addr, sizeof(addr)),
			 what ? what : "connect", err ? ": " : "", err ? strerror(err) : "");
		dial_tell(d, DIAL_EV_CONNECT_FAILED, what ? what : strerror(err));
		target_failed(d, err ? err : ETIMEDOUT);
		stream_close(d->loop, a);
		return dial_connect_step(d);
	}
	if (a == &d->alt) { /* the second attempt won: it becomes the connection */
		stream_close(d->loop, d->up);
		int fd = stream_release_fd(d->loop, &d->alt);
		stream_init_fd(d->up, fd, dial_up_cb, d);
		d->up_addr = d->alt_addr;
	} else {
		stream_close(d->loop, &d->alt);
	}
	d->target_err = 0;
	dial_tell(d, DIAL_EV_CONNECTED, &d->addrs.addr[d->up_addr]);
	return dial_connected(d);
}

int dial_next_address(struct dial *d, const char *what, int err)
{
	char addr[64];
	if (d->hop > 0) { /* a later proxy of a chain, through the first: nothing to fail over to */
		log_warn("%s: chain: proxy %s %s%s%s", d->who, dial_cur(d)->display, what, err ? ": " : "",
			 err ? strerror(err) : "");
		return dial_finish_with(d, OUTCOME_UNREACHABLE, err, "proxy-unreachable");
	}
	if (d->from_spare) { /* a spare connection went stale: the normal way, same proxy */
		log_debug("%s: spare connection to proxy %s: %s", d->who, dial_cur(d)->display, what);
		dial_drop_upstream(d);
		return dial_resolve(d);
	}
	log_warn("proxy %s (%s): %s%s%s", dial_cur(d)->display,
		 log_addr((const struct sockaddr *)&d->addrs.addr[d->up_addr], addr, sizeof(addr)), what,
		 err ? ": " : "", err ? strerror(err) : "");
	dial_tell(d, DIAL_EV_CONNECT_FAILED, what);
	dial_drop_upstream(d);
	return dial_connect_step(d);
}

/* The step's timer ran out while connecting or resolving. */
void dial_connect_timeout(struct dial *d)
{
	const struct config *cfg = d->gen->cfg;
	char what[300];
	int rc;

	if (d->state == D_RESOLVING) {
		log_warn("%s: name lookup did not finish within %gs", dial_label(d, what, sizeof(what)),
			 cfg->connect_timeout);
		resolver_cancel(d->gen->resolver, &d->rw);
		step_down(d);
		target_failed(d, ENOENT);
		rc = dial_next_step(d);
	} else {
		ev_tstamp now = ev_now(d->loop);
		if (d->alt.fd >= 0 && d->alt_deadline <= now) {
			stream_close(d->loop, &d->alt);
			target_failed(d, ETIMEDOUT);
			log_warn("%s: connect timed out after %gs", dial_label(d, what, sizeof(what)), cfg->connect_timeout);
		}
		if (d->up->fd >= 0 && d->up_deadline <= now)
			rc = dial_attempt_done(d, d->up, 0, "connect timed out");
		else
			rc = dial_connect_step(d); /* time for the next attempt, or the second one timed out */
	}
	if (rc == 0)
		dial_watch(d);
}
