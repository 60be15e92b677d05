/* pacplan: what a PAC said for a target, as a route plan (see include/pacplan.h). */
#include "pacplan.h"

#include <string.h>

#include "log.h"

/* DIRECT, PROXY and HTTPS entries in the PAC's order; SOCKS entries are skipped (said
 * once per configuration).  Returns 0, or -1 when nothing usable is left. */
static int from_answer(struct generation *g, const struct pacanswer *a, double now, const char *target,
		       struct route_plan *p)
{
	memset(p, 0, sizeof(*p));
	p->rule = -1;
	p->source = ROUTE_SRC_PAC;
	for (uint8_t i = 0; i < a->n && p->n < ROUTE_MAX_STEPS; i++) {
		const struct pac_entry *e = &a->e[i];
		int idx = -1;
		const char *skip = NULL;
		if (e->kind == PAC_DIRECT)
			idx = ROUTE_DIRECT;
		else if ((e->kind == PAC_PROXY || e->kind == PAC_HTTPS) &&
			 (idx = generation_upstream_for(g, e->host, e->port, e->kind == PAC_HTTPS)) < 0)
			skip = "more distinct proxies than one configuration holds";
		else if (e->kind == PAC_SOCKS)
			skip = "SOCKS upstreams are not supported";
		if (skip != NULL) {
			if (!(g->pac_warned & (1u << e->kind)))
				log_warn("PAC: skipping %s:%u for %s: %s (said once)", e->host, (unsigned)e->port, target, skip);
			g->pac_warned |= (uint8_t)(1u << e->kind);
			continue;
		}
		p->idx[p->n++] = (uint16_t)idx;
	}
	route_order(&g->health, now, p);
	return p->n > 0 ? 0 : -1;
}

void pacplan(struct generation *g, const struct pac_result *r, double now, const char *who, const char *target,
	     struct route_plan *out)
{
	const struct config *cfg = g->cfg;

	if (r->status == PAC_ANSWER && from_answer(g, &r->ans, now, target, out) == 0)
		return;
	memset(out, 0, sizeof(*out));
	out->rule = -1;
	if (r->status == PAC_NO_SCRIPT) {
		out->source = ROUTE_SRC_NOPAC;
		out->n = 1;
		out->idx[0] = ROUTE_DIRECT;
		return;
	}
	log_warn("%s: PAC gave no usable answer for %s (%s): %s", who, target,
		 r->status == PAC_FAILED ? r->msg : "only entries we skip",
		 cfg->nproxies ? "using the -x list" : "going direct");
	route_plan(&g->health, cfg->nproxies, now, target, out);
	if (out->n == 0) {
		out->n = 1;
		out->idx[0] = ROUTE_DIRECT;
	}
}
