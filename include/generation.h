/* generation: one loaded configuration and what is built from it: the upstream proxies,
 * their health, the resolver and the spare connections.  SIGHUP makes a new one for new
 * tunnels; the old one lives on until the last tunnel using it has closed. */
#ifndef SOCKS2HTTP_GENERATION_H
#define SOCKS2HTTP_GENERATION_H

#include <ev.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "resolver.h"
#include "route.h"
#include "upstream.h"

struct pac;
struct prewarm;

struct generation {
	struct config *cfg;
	struct upstream *upstreams; /* room for ROUTE_MAX_UPSTREAMS (route.h) */
	size_t nupstreams;          /* the -x list, the rules' proxies, then those a PAC named */
	struct proxy_spec *pac_specs; /* the PAC's proxies' specs (ROUTE_MAX_PAC_UPSTREAMS) */
	struct route_health health;
	struct resolver *resolver; /* rebuilt per generation: resolv.conf is read anew */
	struct prewarm *prewarm;   /* spare upstream connections (current generation only) */
	struct pac *pac;           /* with --pac: the PAC and its worker process */
	uint8_t pac_warned;        /* PAC answers we skip (SOCKS, HTTPS, too many): said once */
	unsigned refs;             /* tunnels using it, +1 while it is the current one */
};

/* Builds a generation from cfg (taken, also on failure).  prev: the generation it replaces
 * (SIGHUP), or NULL: its PAC script is taken over while the new one is fetched.  NULL with
 * err filled. */
struct generation *generation_new(struct ev_loop *loop, struct config *cfg, const struct generation *prev, char *err,
				  size_t errlen);

static inline struct generation *generation_get(struct generation *g)
{
	g->refs++;
	return g;
}
/* Drops a reference; the last one frees the generation. */
void generation_put(struct generation *g);

/* The upstream index for a proxy a PAC named (tls: an HTTPS entry): an existing one with
 * the same host, port and scheme (an -x proxy's credentials apply), else a new entry.  -1
 * when the table is full. */
int generation_upstream_for(struct generation *g, const char *host, uint16_t port, int tls);

/* Stops its spare connections and its PAC fetches (it is no longer the current generation). */
void generation_retire(struct generation *g);

#endif
