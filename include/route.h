/* route: which upstream path a target takes, and the proxies' health.
 *
 * Today every target goes through the configured proxies (-x, or the one from the
 * environment) in failover order: those not marked down first, in order, then, as a last
 * resort, those marked down.  A proxy that could not be reached is marked down for
 * --proxy-retry seconds.  Pure: no I/O, no logging; the caller passes the loop time. */
#ifndef SOCKS2HTTP_ROUTE_H
#define SOCKS2HTTP_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct route_health {
	double down_until[CONFIG_MAX_PROXIES]; /* loop time; 0 = healthy */
};

/* The proxies to try for one tunnel, in order (indices into the -x list). */
struct route_plan {
	uint8_t n;
	uint8_t idx[CONFIG_MAX_PROXIES];
};

/* The plan for a tunnel to target ("host:port").  Returns 0. */
int route_plan(const struct route_health *h, size_t nproxies, double now, const char *target,
	       struct route_plan *out);

/* Does the plan depend on the target?  When it does not, the path can be opened before the
 * client has named its target. */
int route_needs_target(void);

/* The first proxy not marked down, or 0 when all are. */
size_t route_first_healthy(const struct route_health *h, size_t nproxies, double now);

/* Marks proxy idx down until now + retry (only where another proxy can take over).
 * Returns 1 when it was healthy until now (worth a log line), else 0. */
int route_mark_down(struct route_health *h, size_t idx, size_t nproxies, double now, double retry);

/* The proxy answered: healthy again. */
void route_mark_up(struct route_health *h, size_t idx);

#endif
