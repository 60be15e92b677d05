/* route: target to upstream path; proxy health (see include/route.h). */
#include "route.h"

#include <string.h>

#include "rules.h"

static int is_down(const struct route_health *h, uint16_t idx, double now)
{
	return idx != ROUTE_DIRECT && idx < ROUTE_MAX_UPSTREAMS && h->down_until[idx] > now;
}

void route_split_target(const char *target, char *host, size_t cap, uint16_t *port)
{
	const char *t = target, *colon = strrchr(t, ':');
	size_t n = colon ? (size_t)(colon - t) : strlen(t);
	unsigned long v = 0;

	if (n >= 2 && t[0] == '[' && t[n - 1] == ']') {
		t++;
		n -= 2;
	}
	if (n >= cap)
		n = cap - 1;
	memcpy(host, t, n);
	host[n] = '\0';
	for (const char *p = colon ? colon + 1 : ""; *p >= '0' && *p <= '9' && v <= 65535; p++)
		v = v * 10 + (unsigned long)(*p - '0');
	*port = v <= 65535 ? (uint16_t)v : 0;
}

void route_order(const struct route_health *h, double now, struct route_plan *p)
{
	uint16_t out[ROUTE_MAX_STEPS];
	uint8_t n = 0;

	if (p->kind != ROUTE_FAILOVER)
		return;
	for (int pass = 0; pass < 2; pass++)
		for (uint8_t i = 0; i < p->n; i++)
			if (is_down(h, p->idx[i], now) == pass)
				out[n++] = p->idx[i];
	memcpy(p->idx, out, n * sizeof(out[0]));
}

int route_plan(const struct route_health *h, size_t nproxies, double now, const char *target,
	       struct route_plan *out)
{
	(void)target; /* the default does not depend on the target */
	memset(out, 0, sizeof(*out));
	out->rule = -1;
	for (size_t i = 0; i < nproxies && i < CONFIG_MAX_PROXIES; i++)
		out->idx[out->n++] = (uint16_t)i;
	route_order(h, now, out);
	return 0;
}

int route_decide(const struct config *cfg, const struct route_health *h, double now, const char *host,
		 uint16_t port, struct route_plan *out)
{
	memset(out, 0, sizeof(*out));
	out->rule = -1;
	int r = rules_match(cfg->rules, cfg->nrules, host, port);
	if (r >= 0) {
		const struct rule *ru = &cfg->rules[r];
		out->source = ROUTE_SRC_RULE;
		out->rule = (int16_t)r;
		switch (ru->action) {
		case RULE_DIRECT:
			out->idx[out->n++] = ROUTE_DIRECT;
			break;
		case RULE_BLOCK:
			out->kind = ROUTE_BLOCK;
			break;
		case RULE_CHAIN:
			out->kind = ROUTE_CHAIN;
			/* fall through */
		default:
			if (ru->nhops == 0) { /* "proxy" without URLs: the -x list */
				route_plan(h, cfg->nproxies, now, NULL, out);
				out->source = ROUTE_SRC_RULE;
				out->rule = (int16_t)r;
				break;
			}
			for (uint8_t i = 0; i < ru->nhops && out->n < ROUTE_MAX_STEPS; i++)
				out->idx[out->n++] = (uint16_t)(cfg->nproxies + ru->hop[i]);
			route_order(h, now, out);
			break;
		}
		return 1;
	}
	if (cfg->noproxy_set && noproxy_match(&cfg->noproxy, host, port)) {
		out->source = ROUTE_SRC_NOPROXY;
		out->idx[out->n++] = ROUTE_DIRECT;
		return 1;
	}
	return 0;
}

int route_needs_target(const struct config *cfg)
{
	return cfg->nrules > 0 || cfg->noproxy_set || cfg->pac_url[0] != '\0';
}

void route_brief(const struct route_plan *p, struct route_brief *out)
{
	out->kind = p->kind;
	out->source = p->source;
	out->direct = p->n > 0 && p->idx[0] == ROUTE_DIRECT;
	out->rule = p->rule;
}

const char *route_name(const struct route_brief *b)
{
	if (b->kind == ROUTE_BLOCK)
		return "block";
	if (b->kind == ROUTE_CHAIN)
		return "chain";
	if (b->source == ROUTE_SRC_PAC)
		return b->direct ? "pac-direct" : "pac-proxy";
	if (b->source == ROUTE_SRC_NOPAC)
		return "nopac-direct";
	return b->direct ? "direct" : "proxy";
}

size_t route_first_healthy(const struct route_health *h, size_t nproxies, double now)
{
	for (size_t i = 0; i < nproxies && i < CONFIG_MAX_PROXIES; i++)
		if (h->down_until[i] <= now)
			return i;
	return 0;
}

int route_mark_down(struct route_health *h, size_t idx, size_t alternatives, double now, double retry)
{
	if (idx >= ROUTE_MAX_UPSTREAMS || retry <= 0 || alternatives < 1)
		return 0;
	int was_up = h->down_until[idx] <= now;
	h->down_until[idx] = now + retry;
	return was_up;
}

void route_mark_up(struct route_health *h, size_t idx)
{
	if (idx < ROUTE_MAX_UPSTREAMS)
		h->down_until[idx] = 0;
}
