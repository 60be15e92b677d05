/* route: which upstream path a target takes, and the proxies' health.
 *
 * A plan is a list of steps: upstream proxies (indices into the generation's upstream table:
 * the -x list first, then the proxies the --route rules name, then those a PAC named) or
 * ROUTE_DIRECT (the target itself).  A failover plan tries its steps in order until one
 * works; a chain plan goes through all of them, each proxy asked to CONNECT to the next; a
 * block plan opens nothing.  The decision, in order: the --route rules (first match), the
 * --no-proxy list (direct), the PAC (asynchronous, not here), the -x list.  In a failover
 * plan the proxies marked down go last.  Pure: no I/O, no logging; the caller passes the
 * loop time. */
#ifndef SOCKS2HTTP_ROUTE_H
#define SOCKS2HTTP_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define ROUTE_MAX_PAC_UPSTREAMS 32 /* distinct proxies a PAC may name in one generation */
#define ROUTE_MAX_UPSTREAMS (CONFIG_MAX_PROXIES + CONFIG_MAX_ROUTE_PROXIES + ROUTE_MAX_PAC_UPSTREAMS)
#define ROUTE_MAX_STEPS 16
#define ROUTE_DIRECT 0xffff        /* a step that connects to the target itself */

struct route_health {
	double down_until[ROUTE_MAX_UPSTREAMS]; /* loop time; 0 = healthy */
};

enum route_kind { ROUTE_FAILOVER = 0, ROUTE_CHAIN, ROUTE_BLOCK };
/* what decided: the summary line's route= and rule= come from it */
enum route_source { ROUTE_SRC_DEFAULT = 0, ROUTE_SRC_RULE, ROUTE_SRC_NOPROXY, ROUTE_SRC_PAC, ROUTE_SRC_NOPAC };

struct route_plan {
	uint8_t kind;   /* enum route_kind */
	uint8_t source; /* enum route_source */
	uint8_t n;
	int16_t rule;   /* the rule that matched (0-based), -1 if none */
	uint16_t idx[ROUTE_MAX_STEPS];
};

/* The default plan: the -x list, nproxies long.  target is unused (the default does not
 * depend on it).  Returns 0. */
int route_plan(const struct route_health *h, size_t nproxies, double now, const char *target,
	       struct route_plan *out);

/* The configured decision for (host, port): a --route rule, else the --no-proxy list.
 * Returns 1 with out filled, or 0 when neither decides (the PAC or the default does). */
int route_decide(const struct config *cfg, const struct route_health *h, double now, const char *host,
		 uint16_t port, struct route_plan *out);

/* Splits "host:port" or "[v6]:port" into host (without brackets, cut to cap) and port. */
void route_split_target(const char *target, char *host, size_t cap, uint16_t *port);

/* Moves the proxies marked down to the end of a failover plan, keeping the order otherwise. */
void route_order(const struct route_health *h, double now, struct route_plan *p);

/* Does the plan depend on the target?  When it does not, the path can be opened before the
 * client has named its target. */
int route_needs_target(const struct config *cfg);

/* What the summary line says of a route: the few bytes a tunnel keeps of its plan. */
struct route_brief {
	uint8_t kind;   /* enum route_kind */
	uint8_t source; /* enum route_source */
	uint8_t direct; /* the step taken (or, before one was, the first) is direct */
	int16_t rule;   /* the rule that matched, -1 if none */
};

void route_brief(const struct route_plan *p, struct route_brief *out);

/* "proxy", "direct", "chain", "block", "pac-proxy", "pac-direct", "nopac-direct": the
 * summary line's route=. */
const char *route_name(const struct route_brief *b);

/* The first proxy of the -x list not marked down, or 0 when all are. */
size_t route_first_healthy(const struct route_health *h, size_t nproxies, double now);

/* Marks upstream idx down until now + retry, where another step can take over
 * (alternatives: the other steps of the plan).  Returns 1 when it was healthy until now
 * (worth a log line), else 0. */
int route_mark_down(struct route_health *h, size_t idx, size_t alternatives, double now, double retry);

/* The proxy answered: healthy again. */
void route_mark_up(struct route_health *h, size_t idx);

#endif
