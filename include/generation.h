/* generation: one loaded configuration and what is built from it: the upstream proxies,
 * their health, the resolver and the spare connections.  SIGHUP makes a new one for new
 * tunnels; the old one lives on until the last tunnel using it has closed. */
#ifndef SOCKS2HTTP_GENERATION_H
#define SOCKS2HTTP_GENERATION_H

#include <ev.h>
#include <stddef.h>

#include "config.h"
#include "resolver.h"
#include "route.h"
#include "upstream.h"

struct prewarm;

struct generation {
	struct config *cfg;
	struct upstream *upstreams;
	size_t nupstreams;
	struct route_health health;
	struct resolver *resolver; /* rebuilt per generation: resolv.conf is read anew */
	struct prewarm *prewarm;   /* spare upstream connections (current generation only) */
	unsigned refs;             /* tunnels using it, +1 while it is the current one */
};

/* Builds a generation from cfg (taken, also on failure).  NULL with err filled. */
struct generation *generation_new(struct ev_loop *loop, struct config *cfg, char *err, size_t errlen);

static inline struct generation *generation_get(struct generation *g)
{
	g->refs++;
	return g;
}
/* Drops a reference; the last one frees the generation. */
void generation_put(struct generation *g);

/* Stops its spare connections (it is no longer the current generation). */
void generation_retire(struct generation *g);

#endif
