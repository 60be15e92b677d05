/* session_route: the route a session's target takes (--route rules, --no-proxy, the PAC,
 * the -x list) and the start of its dial (see include/session_int.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "generation.h"
#include "log.h"
#include "pac.h"
#include "pacplan.h"
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

/* A SOCKS client that may use us and a path that does not depend on the target: open it
 * while the client finishes its handshake.  Not at accept: a client that closes at once
 * or speaks another protocol makes us open nothing. */
void session_dial_early(struct session *s)
{
	if (s->dial == NULL && s->front.version != 0 && s->front.verdict == ACCESS_ALLOW &&
	    !route_needs_target(s->gen->cfg))
		(void)session_start_dial(s, NULL, NULL, 0); /* without memory now, the request tries again */
}

/* The PAC's question for one session, while it is open. */
struct session_pac {
	struct pac_waiter w;
	struct session *s;
	uint8_t connect_only;
};

/* Starts the dial for plan; without memory, the client hears it.  Returns -1 when the
 * session was closed. */
static int dial_plan(struct session *s, const struct route_plan *plan, int connect_only)
{
	route_brief(plan, &s->route);
	if (session_start_dial(s, s->target, plan, connect_only) == 0)
		return 0;
	struct outcome o = {OUTCOME_LOCAL, ENOMEM, 0, "", "out-of-memory", 0, 0};
	session_reply_outcome(s, &o);
	return session_reply_fail(s, o.reason);
}

static void pac_answered(struct pac_waiter *w, const struct pac_result *r)
{
	struct session_pac *sp = (struct session_pac *)(void *)((char *)w - offsetof(struct session_pac, w));
	struct session *s = sp->s;
	struct route_plan plan;
	int connect_only = sp->connect_only;
	free(sp);
	s->pac = NULL;
	pacplan(s->gen, r, ev_now(s->host->loop), s->client_text, s->target, &plan);
	dial_plan(s, &plan, connect_only);
}

void session_route_stop(struct session *s)
{
	if (s->pac == NULL)
		return;
	pac_cancel(s->gen->pac, &s->pac->w);
	free(s->pac);
	s->pac = NULL;
}

/* A numeric host in a spelling other than dotted quad ("127.1", "0x7f.1", "2130706433")
 * is an IPv4 address to the resolver: it is matched as one, so that an address rule
 * cannot be passed by another spelling. */
static void canonical_ipv4(char *host, size_t cap)
{
	struct in_addr a;
	if (inet_pton(AF_INET, host, &a) != 1 && inet_aton(host, &a) != 0)
		inet_ntop(AF_INET, &a, host, (socklen_t)cap);
}

int session_route(struct session *s, int connect_only)
{
	const struct config *cfg = s->gen->cfg;
	char host[SOCKS_NAME_MAX + 1];
	uint16_t port;
	ev_tstamp now = ev_now(s->host->loop);
	struct route_plan plan;

	route_split_target(s->target, host, sizeof(host), &port);
	canonical_ipv4(host, sizeof(host));
	if (route_decide(cfg, &s->gen->health, now, host, port, &plan)) {
		if (plan.kind == ROUTE_BLOCK)
			log_warn("%s: %s blocked by rule %d (%s)", s->client_text, s->target, plan.rule + 1,
				 cfg->rules[plan.rule].text);
		return dial_plan(s, &plan, connect_only);
	}
	if (s->gen->pac != NULL) {
		struct pac_result r;
		if (pac_cached(s->gen->pac, host, port, &r)) {
			pacplan(s->gen, &r, now, s->client_text, s->target, &plan);
			return dial_plan(s, &plan, connect_only);
		}
		/* the PAC runs in its worker: the session waits (its timer stays off: the PAC's
		 * own time limits bound the wait) */
		s->pac = malloc(sizeof(*s->pac));
		if (s->pac == NULL) {
			struct outcome o = {OUTCOME_LOCAL, ENOMEM, 0, "", "out-of-memory", 0, 0};
			session_reply_outcome(s, &o);
			return session_reply_fail(s, o.reason);
		}
		s->pac->s = s;
		s->pac->connect_only = (uint8_t)connect_only;
		pac_find(s->gen->pac, host, port, &s->pac->w, pac_answered);
		return 0;
	}
	route_plan(&s->gen->health, cfg->nproxies, now, s->target, &plan);
	return dial_plan(s, &plan, connect_only);
}
