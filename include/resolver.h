/* resolver: c-ares on the libev loop, for the upstream proxies' host names and the targets of
 * direct routes.
 *
 * Lookups of the same name share one query; answers are cached for a bounded time (failures
 * briefly).  A caller owns a struct resolver_waiter (embedded in its own object), passes it to
 * resolver_lookup, and gets exactly one callback, always from the loop and never from inside
 * resolver_lookup, unless it calls resolver_cancel first.  After the callback or cancel the
 * waiter is free to reuse. */
#ifndef SOCKS2HTTP_RESOLVER_H
#define SOCKS2HTTP_RESOLVER_H

#include <ev.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config.h"

#define RESOLVER_MAX_ADDRS 8

struct resolver_result {
	unsigned n;
	struct sockaddr_storage addr[RESOLVER_MAX_ADDRS]; /* port set; families interleaved */
};

struct resolver_entry;
struct resolver_waiter;

/* status 0 and res with n >= 1, or status != 0 with errmsg and res NULL. */
typedef void (*resolver_cb)(struct resolver_waiter *w, int status, const char *errmsg,
			    const struct resolver_result *res);

struct resolver_waiter {
	struct resolver_waiter *next, *prev;
	struct resolver_entry *entry; /* non-NULL while waiting on a query */
	int queued;                   /* on the delivery queue */
	uint16_t port;
	resolver_cb cb;
};

struct resolver;

/* Returns NULL with err filled when c-ares cannot start (e.g. no usable resolv.conf). */
struct resolver *resolver_new(struct ev_loop *loop, const struct config *cfg, char *err, size_t errlen);
/* Cancels every query; waiters still pending get no callback.  May be called from inside a
 * waiter's callback (its tunnel closes and takes the last reference to an old generation):
 * r is then freed as soon as that callback returns, and no further waiter is called. */
void resolver_free(struct resolver *r);

void resolver_lookup(struct resolver *r, const char *host, uint16_t port, struct resolver_waiter *w,
		     resolver_cb cb);
void resolver_cancel(struct resolver *r, struct resolver_waiter *w);

/* A fresh answer for host from the cache, with port set, at once and without a callback:
 * returns 1 and fills res, or 0 when a lookup is needed (nothing cached, expired, failed
 * or pending).  Saves a trip through the loop for the proxy's name on every tunnel. */
int resolver_cached(struct resolver *r, const char *host, uint16_t port, struct resolver_result *res);

/* The network changed (another network, a VPN): the answer cache is emptied (failures
 * too), and unless --dns-servers fixed the servers, /etc/resolv.conf is read again; lookups
 * in flight are asked again of the servers it names now.  Waiters keep waiting: each still
 * gets its one callback. */
void resolver_network_changed(struct resolver *r);

/* Queries in flight (for the pending-lookup bound and status reports). */
unsigned resolver_pending(const struct resolver *r);

#endif
