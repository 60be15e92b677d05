/* generation: a configuration and what is built from it (see include/generation.h). */
#include "generation.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prewarm.h"
#include "wipe.h"

struct generation *generation_new(struct ev_loop *loop, struct config *cfg, char *err, size_t errlen)
{
	struct generation *g = calloc(1, sizeof(*g));
	if (g == NULL) {
		snprintf(err, errlen, "out of memory");
		config_free(cfg);
		free(cfg);
		return NULL;
	}
	g->cfg = cfg;
	g->refs = 1;
	g->upstreams = upstream_list_new(cfg, err, errlen);
	g->nupstreams = cfg->nproxies;
	if (g->upstreams != NULL)
		g->resolver = resolver_new(loop, cfg, err, errlen);
	if (g->resolver != NULL && cfg->prewarm > 0 &&
	    (g->prewarm = prewarm_new(loop, cfg, g->upstreams, g->nupstreams, &g->health, g->resolver)) == NULL)
		snprintf(err, errlen, "out of memory");
	if (g->upstreams == NULL || g->resolver == NULL || (cfg->prewarm > 0 && g->prewarm == NULL)) {
		g->refs = 0;
		generation_put(g);
		return NULL;
	}
	return g;
}

void generation_retire(struct generation *g)
{
	prewarm_free(g->prewarm); /* the tunnels that stay on it need no spares */
	g->prewarm = NULL;
}

void generation_put(struct generation *g)
{
	if (g == NULL || (g->refs > 0 && --g->refs > 0))
		return;
	prewarm_free(g->prewarm);
	resolver_free(g->resolver);
	upstream_list_free(g->upstreams, g->nupstreams);
	config_free(g->cfg);
	wipe(g->cfg, sizeof(*g->cfg)); /* credentials */
	free(g->cfg);
	free(g);
}
