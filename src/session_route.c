/* session_route: the route a session's target takes (--route rules, --no-proxy, the PAC,
 * the -x list) and the start of its dial (see include/session_int.h). */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "generation.h"
#include "log.h"
#include "route.h"
#include "session.h"
#include "session_int.h"

int session_start_dial(struct session *s, const char *target, const struct route_plan *plan, int connect_only)
{
	s->dial = calloc(1, sizeof(*s->dial));
	if (s->dial == NULL)
		return -1;
	if (connect_only)
		dial_start_connect(s->dial, s->host->loop, &s->host->pool, s->gen, s->client_text, target, plan, &s->up,
				   session_dial_done, s);
	else
		dial_start(s->dial, s->host->loop, &s->host->pool, s->gen, s->client_text, target, plan, &s->up,
			   session_dial_done, s);
	return 0;
}

/* Starts the dial for s->plan; without memory, the client hears it.  Returns -1 when the
 * session was closed. */
static int dial_plan(struct session *s, int connect_only)
{
	if (session_start_dial(s, s->target, &s->plan, connect_only) == 0)
		return 0;
	struct outcome o = {OUTCOME_LOCAL, ENOMEM, 0, "", "out-of-memory"};
	session_reply_outcome(s, &o);
	return session_reply_fail(s, o.reason);
}

/* What a PAC answered, as a plan: DIRECT and PROXY entries in its order; SOCKS and HTTPS
 * entries are skipped (said once per configuration).  Returns 0, or -1 when nothing usable
 * is left. */
static int plan_from_pac(struct session *s, const struct pacanswer *a)
{
	struct generation *g = s->gen;
	struct route_plan *p = &s->plan;

	memset(p, 0, sizeof(*p));
	p->rule = -1;
	p->source = ROUTE_SRC_PAC;
	for (uint8_t i = 0; i < a->n && p->n < ROUTE_MAX_STEPS; i++) {
		const struct pac_entry *e = &a->e[i];
		int idx = -1;
		const char *skip = NULL;
		if (e->kind == PAC_DIRECT)
			idx = ROUTE_DIRECT;
		else if (e->kind == PAC_PROXY && (idx = generation_upstream_for(g, e->host, e->port)) < 0)
			skip = "more distinct proxies than this configuration can hold";
		else if (e->kind == PAC_HTTPS)
			skip = "HTTPS proxies (TLS to the proxy) are not supported yet";
		else if (e->kind == PAC_SOCKS)
			skip = "SOCKS upstreams are not supported";
		if (skip != NULL) {
			if (!(g->pac_warned & (1u << e->kind)))
				log_warn("PAC: skipping %s:%u for %s: %s (said once)", e->host, (unsigned)e->port, s->target,
					 skip);
			g->pac_warned |= (uint8_t)(1u << e->kind);
			continue;
		}
		p->idx[p->n++] = (uint16_t)idx;
	}
	route_order(&g->health, ev_now(s->host->loop), p);
	return p->n > 0 ? 0 : -1;
}

/* The PAC's word (or its absence) into s->plan.  Without a PAC the target goes direct;
 * when the PAC fails for it, the -x list takes it (direct when there is none). */
static void plan_pac_result(struct session *s, const struct pac_result *r)
{
	const struct config *cfg = s->gen->cfg;
	ev_tstamp now = ev_now(s->host->loop);

	if (r->status == PAC_ANSWER && plan_from_pac(s, &r->ans) == 0)
		return;
	if (r->status == PAC_NO_SCRIPT) {
		memset(&s->plan, 0, sizeof(s->plan));
		s->plan.rule = -1;
		s->plan.source = ROUTE_SRC_NOPAC;
		s->plan.n = 1;
		s->plan.idx[0] = ROUTE_DIRECT;
		return;
	}
	log_warn("%s: PAC gave no usable answer for %s (%s): %s", s->client_text, s->target,
		 r->status == PAC_FAILED ? r->msg : "only entries we skip",
		 cfg->nproxies ? "using the -x list" : "going direct");
	route_plan(&s->gen->health, cfg->nproxies, now, s->target, &s->plan);
	if (s->plan.n == 0) {
		s->plan.n = 1;
		s->plan.idx[0] = ROUTE_DIRECT;
	}
}

static void pac_answered(struct pac_waiter *w, const struct pac_result *r)
{
	struct session *s = (struct session *)(void *)((char *)w - offsetof(struct session, pac_wait));
	s->pac_pending = 0;
	plan_pac_result(s, r);
	dial_plan(s, s->pac_connect_only);
}

int session_route(struct session *s, int connect_only)
{
	const struct config *cfg = s->gen->cfg;
	char host[SOCKS_NAME_MAX + 1];
	uint16_t port;
	ev_tstamp now = ev_now(s->host->loop);

	route_split_target(s->target, host, sizeof(host), &port);
	if (route_decide(cfg, &s->gen->health, now, host, port, &s->plan)) {
		if (s->plan.kind == ROUTE_BLOCK)
			log_warn("%s: %s blocked by rule %d (%s)", s->client_text, s->target, s->plan.rule + 1,
				 cfg->rules[s->plan.rule].text);
		return dial_plan(s, connect_only);
	}
	if (s->gen->pac != NULL) {
		struct pac_result r;
		if (pac_cached(s->gen->pac, host, port, &r)) {
			plan_pac_result(s, &r);
			return dial_plan(s, connect_only);
		}
		/* the PAC runs in its worker: the session waits (its timer stays off: the PAC's
		 * own time limit bounds the wait) */
		s->pac_pending = 1;
		s->pac_connect_only = (uint8_t)connect_only;
		pac_find(s->gen->pac, host, port, &s->pac_wait, pac_answered);
		return 0;
	}
	route_plan(&s->gen->health, cfg->nproxies, now, s->target, &s->plan);
	return dial_plan(s, connect_only);
}
