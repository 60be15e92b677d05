/* generation: a configuration and what is built from it (see include/generation.h). */
#include "generation.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pac.h"
#include "prewarm.h"
#include "wipe.h"

struct generation *generation_new(struct ev_loop *loop, struct config *cfg, const struct generation *prev, char *err,
				  size_t errlen)
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
	g->upstreams = upstream_list_new(cfg, ROUTE_MAX_UPSTREAMS, &g->nupstreams, err, errlen);
	if (g->upstreams != NULL)
		g->resolver = resolver_new(loop, cfg, err, errlen);
	if (g->resolver != NULL && cfg->prewarm > 0 &&
	    (g->prewarm = prewarm_new(loop, cfg, g->upstreams, cfg->nproxies, &g->health, g->resolver)) == NULL)
		snprintf(err, errlen, "out of memory");
	if (g->resolver != NULL && cfg->pac_url[0] != '\0')
		g->pac = pac_new(loop, cfg, g->resolver, prev ? prev->pac : NULL, err, errlen);
	if (g->upstreams == NULL || g->resolver == NULL || (cfg->prewarm > 0 && g->prewarm == NULL) ||
	    (cfg->pac_url[0] != '\0' && g->pac == NULL)) {
		g->refs = 0;
		generation_put(g);
		return NULL;
	}
	return g;
}

int generation_upstream_for(struct generation *g, const char *host, uint16_t port, int tls)
{
	char err[300];

	for (size_t i = 0; i < g->nupstreams; i++)
		if (g->upstreams[i].spec->port == port && g->upstreams[i].spec->tls == !!tls &&
		    strcasecmp(g->upstreams[i].spec->host, host) == 0)
			return (int)i;
	size_t first_pac = g->cfg->nproxies + g->cfg->nroute_proxies;
	size_t k = g->nupstreams - first_pac;
	if (k >= ROUTE_MAX_PAC_UPSTREAMS || g->nupstreams >= ROUTE_MAX_UPSTREAMS || strlen(host) > PROXYURL_HOST_MAX)
		return -1;
	if (g->pac_specs == NULL && (g->pac_specs = calloc(ROUTE_MAX_PAC_UPSTREAMS, sizeof(*g->pac_specs))) == NULL)
		return -1;
	struct proxy_spec *spec = &g->pac_specs[k];
	memset(spec, 0, sizeof(*spec));
	snprintf(spec->host, sizeof(spec->host), "%s", host);
	spec->port = port;
	spec->tls = (uint8_t)!!tls;
	if (upstream_init(&g->upstreams[g->nupstreams], spec, g->cfg, err, sizeof(err)) < 0)
		return -1;
	return (int)g->nupstreams++;
}

void generation_retire(struct generation *g)
{
	prewarm_free(g->prewarm); /* the tunnels that stay on it need no spares */
	g->prewarm = NULL;
	if (g->pac != NULL) /* the new generation fetches it; this one answers from what it has */
		pac_retire(g->pac);
}

void generation_put(struct generation *g)
{
	if (g == NULL || (g->refs > 0 && --g->refs > 0))
		return;
	prewarm_free(g->prewarm);
	pac_free(g->pac); /* before the resolver its fetch uses */
	resolver_free(g->resolver);
	upstream_list_free(g->upstreams, g->nupstreams);
	free(g->pac_specs);
	config_free(g->cfg);
	wipe(g->cfg, sizeof(*g->cfg)); /* credentials */
	free(g->cfg);
	free(g);
}
