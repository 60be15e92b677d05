/* netwatch: tells when the machine's network changed (an address added or removed, a route
 * changed), so that the PAC is fetched again and proxies marked down are retried.
 *
 * Linux: a NETLINK_ROUTE socket subscribed to IPv4/IPv6 address and route changes, read
 * with an ev_io.  NETWATCH_SETTLE seconds after the last message of a burst, the present
 * addresses (ifindex, family, address, prefix length) and default routes (family,
 * interface, gateway, metric) are read with a non-blocking netlink dump (bounded by 2 s)
 * and compared with the last ones read: one callback when they differ.  Lifetimes and
 * flags are not compared (the kernel reports each renewal of an address's lifetimes as a
 * new address).  A dump that fails counts as a change.  Elsewhere (and with
 * --enable-portable): a netwatch that never calls. */
#ifndef SOCKS2HTTP_NETWATCH_H
#define SOCKS2HTTP_NETWATCH_H

#include <ev.h>

#define NETWATCH_SETTLE 1.0

struct netwatch;

/* NULL only when out of memory; a netlink socket that cannot be opened gives a netwatch
 * that does nothing (netwatch_active says so). */
struct netwatch *netwatch_new(struct ev_loop *loop, void (*cb)(void *arg), void *arg);
void netwatch_free(struct netwatch *nw);

/* Is it watching (a netlink socket open)? */
int netwatch_active(const struct netwatch *nw);

#endif
