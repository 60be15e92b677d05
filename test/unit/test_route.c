/* test_route: the failover plan (healthy proxies first, in order, then those marked down),
 * marking down and up, and the first healthy proxy. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "route.h"
#include "rules.h"

/* The plan as a string of proxy indices, e.g. "021". */
static const char *plan_str(const struct route_health *h, size_t n, double now)
{
	static char s[CONFIG_MAX_PROXIES * 3 + 1];
	struct route_plan p;
	size_t len = 0;

	memset(&p, 0xee, sizeof(p));
	CHECK_EQ_INT(route_plan(h, n, now, "example.com:443", &p), 0);
	for (size_t i = 0; i < p.n && i < CONFIG_MAX_PROXIES; i++)
		len += (size_t)snprintf(s + len, sizeof(s) - len, i ? ",%u" : "%u", (unsigned)p.idx[i]);
	s[len] = '\0';
	return s;
}

static void test_plan(void)
{
	struct route_health h;
	memset(&h, 0, sizeof(h));

	CHECK_EQ_STR(plan_str(&h, 0, 100), "");
	CHECK_EQ_STR(plan_str(&h, 1, 100), "0");
	CHECK_EQ_STR(plan_str(&h, 3, 100), "0,1,2");

	/* one down: it goes last, the others keep their order */
	h.down_until[1] = 130;
	CHECK_EQ_STR(plan_str(&h, 3, 100), "0,2,1");
	h.down_until[0] = 130;
	CHECK_EQ_STR(plan_str(&h, 3, 100), "2,0,1");
	h.down_until[2] = 120;
	/* all down: still all of them, in configured order, as a last resort */
	CHECK_EQ_STR(plan_str(&h, 3, 100), "0,1,2");
	/* the retry time passes for one of them: it is healthy again (down_until == now too) */
	CHECK_EQ_STR(plan_str(&h, 3, 120), "2,0,1");
	CHECK_EQ_STR(plan_str(&h, 3, 125), "2,0,1");
	CHECK_EQ_STR(plan_str(&h, 3, 130), "0,1,2");
	CHECK_EQ_STR(plan_str(&h, 3, 1e9), "0,1,2");

	/* the target does not change the plan today */
	struct route_plan a, b;
	route_plan(&h, 3, 125, "a.example:443", &a);
	route_plan(&h, 3, 125, NULL, &b);
	CHECK_EQ_INT(a.n, b.n);
	CHECK(memcmp(a.idx, b.idx, a.n) == 0);
	static struct config cfg; /* nothing configured but -x: the target does not matter */
	CHECK_EQ_INT(route_needs_target(&cfg), 0);

	/* never more than CONFIG_MAX_PROXIES entries */
	memset(&h, 0, sizeof(h));
	h.down_until[0] = 50;
	struct route_plan p;
	route_plan(&h, CONFIG_MAX_PROXIES + 5, 10, "x:1", &p);
	CHECK_EQ_INT(p.n, CONFIG_MAX_PROXIES);
	CHECK_EQ_INT(p.idx[0], 1);
	CHECK_EQ_INT(p.idx[CONFIG_MAX_PROXIES - 1], 0);
}

static void test_mark(void)
{
	struct route_health h;
	memset(&h, 0, sizeof(h));

	/* the first marking says so; marking again while down does not */
	CHECK_EQ_INT(route_mark_down(&h, 1, 3, 100, 30), 1);
	CHECK(h.down_until[1] == 130);
	CHECK_EQ_INT(route_mark_down(&h, 1, 3, 110, 30), 0);
	CHECK(h.down_until[1] == 140); /* the retry time is pushed out */
	CHECK_EQ_STR(plan_str(&h, 3, 110), "0,2,1");
	/* once the retry time has passed it counts as a new marking */
	CHECK_EQ_INT(route_mark_down(&h, 1, 3, 140, 30), 1);
	CHECK_EQ_INT(route_mark_down(&h, 1, 3, 500, 30), 1);

	/* the proxy answered: healthy at once */
	route_mark_up(&h, 1);
	CHECK(h.down_until[1] == 0);
	CHECK_EQ_STR(plan_str(&h, 3, 501), "0,1,2");
	CHECK_EQ_INT(route_mark_down(&h, 1, 3, 501, 30), 1);

	/* a proxy with no alternative in its plan is never marked: nothing to fail over to */
	memset(&h, 0, sizeof(h));
	CHECK_EQ_INT(route_mark_down(&h, 0, 0, 100, 30), 0);
	CHECK(h.down_until[0] == 0);
	/* --proxy-retry 0: never marked */
	CHECK_EQ_INT(route_mark_down(&h, 0, 3, 100, 0), 0);
	CHECK(h.down_until[0] == 0);
	CHECK_EQ_INT(route_mark_down(&h, 0, 3, 100, -1), 0);
	CHECK(h.down_until[0] == 0);
	CHECK_EQ_STR(plan_str(&h, 3, 100), "0,1,2");
	/* an index out of range is ignored, not written */
	struct {
		struct route_health h;
		double guard;
	} g;
	memset(&g, 0, sizeof(g));
	CHECK_EQ_INT(route_mark_down(&g.h, ROUTE_MAX_UPSTREAMS, 3, 100, 30), 0);
	CHECK(g.guard == 0);
	route_mark_up(&g.h, ROUTE_MAX_UPSTREAMS);
	CHECK(g.guard == 0);
}

static void test_first_healthy(void)
{
	struct route_health h;
	memset(&h, 0, sizeof(h));

	CHECK_EQ_INT(route_first_healthy(&h, 3, 100), 0);
	CHECK_EQ_INT(route_mark_down(&h, 0, 3, 100, 30), 1);
	CHECK_EQ_INT(route_first_healthy(&h, 3, 100), 1);
	CHECK_EQ_INT(route_mark_down(&h, 1, 3, 100, 30), 1);
	CHECK_EQ_INT(route_first_healthy(&h, 3, 100), 2);
	CHECK_EQ_INT(route_mark_down(&h, 2, 3, 100, 30), 1);
	/* all down: the first one */
	CHECK_EQ_INT(route_first_healthy(&h, 3, 100), 0);
	/* the first comes back when its time is up */
	CHECK_EQ_INT(route_first_healthy(&h, 3, 130), 0);
	route_mark_up(&h, 1);
	CHECK_EQ_INT(route_first_healthy(&h, 3, 110), 1);
	CHECK_EQ_INT(route_first_healthy(&h, 0, 110), 0);
}

/* add_proxy for rule_parse: URLs become indices 0, 1, ... in the order first named */
static int add_proxy(void *ctx, const char *url, char *err, size_t errlen)
{
	static char names[8][64];
	int *n = ctx;
	(void)err;
	(void)errlen;
	for (int i = 0; i < *n; i++)
		if (strcmp(names[i], url) == 0)
			return i;
	snprintf(names[*n], sizeof(names[0]), "%s", url);
	return (*n)++;
}

static const char *decide(const struct config *cfg, const struct route_health *h, const char *host, uint16_t port)
{
	static char s[200];
	struct route_plan p;
	memset(&p, 0xee, sizeof(p));
	if (!route_decide(cfg, h, 100, host, port, &p))
		return "undecided";
	struct route_brief b;
	route_brief(&p, &b);
	size_t len = (size_t)snprintf(s, sizeof(s), "%s rule=%d:", route_name(&b), p.rule);
	for (size_t i = 0; i < p.n; i++) /* the steps: D for direct, else the upstream index */
		if (p.idx[i] == ROUTE_DIRECT)
			len += (size_t)snprintf(s + len, sizeof(s) - len, " D");
		else
			len += (size_t)snprintf(s + len, sizeof(s) - len, " %u", (unsigned)p.idx[i]);
	return s;
}

/* The configured decision: rules first (the first match), then no_proxy; proxies of a rule
 * are indices after the -x list, in failover order with those marked down last; a chain
 * keeps its order whatever the health; a proxy rule without URLs is the -x list. */
static void test_decide(void)
{
	static struct config cfg;
	struct route_health h;
	char err[200];
	int nurls = 0;
	const char *rules[] = {
		"ads.example block",                       /* 0 */
		".corp.example direct",                    /* 1 */
		"10.0.0.0/8:443 proxy http://a:1 http://b:2", /* 2 */
		"*.farm.example chain http://a:1 http://c:3",  /* 3 */
		"viax.example proxy",                      /* 4 */
	};
	memset(&cfg, 0, sizeof(cfg));
	memset(&h, 0, sizeof(h));
	cfg.nproxies = 2; /* -x: indices 0 and 1; the rules' proxies a, b, c: 2, 3, 4 */
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		CHECK_EQ_INT(rule_parse(rules[i], &cfg.rules[cfg.nrules++], add_proxy, &nurls, err, sizeof(err)), 0);
	CHECK_EQ_INT(nurls, 3);
	CHECK_EQ_INT(route_needs_target(&cfg), 1);

	CHECK_EQ_STR(decide(&cfg, &h, "ads.example", 443), "block rule=0:");
	CHECK_EQ_STR(decide(&cfg, &h, "www.corp.example", 80), "direct rule=1: D");
	CHECK_EQ_STR(decide(&cfg, &h, "10.1.2.3", 443), "proxy rule=2: 2 3");
	CHECK_EQ_STR(decide(&cfg, &h, "10.1.2.3", 80), "undecided");
	h.down_until[2] = 130; /* a is down: b first */
	CHECK_EQ_STR(decide(&cfg, &h, "10.1.2.3", 443), "proxy rule=2: 3 2");
	CHECK_EQ_STR(decide(&cfg, &h, "x.farm.example", 22), "chain rule=3: 2 4"); /* order kept */
	h.down_until[0] = 130;
	CHECK_EQ_STR(decide(&cfg, &h, "viax.example", 443), "proxy rule=4: 1 0");
	CHECK_EQ_STR(decide(&cfg, &h, "example.com", 443), "undecided");

	/* then no_proxy (after the rules) */
	CHECK_EQ_INT(noproxy_parse("example.com,ads.example", &cfg.noproxy, err, sizeof(err)), 0);
	cfg.noproxy_set = 1;
	CHECK_EQ_STR(decide(&cfg, &h, "www.example.com", 443), "direct rule=-1: D");
	CHECK_EQ_STR(decide(&cfg, &h, "ads.example", 443), "block rule=0:");
	CHECK_EQ_STR(decide(&cfg, &h, "example.org", 443), "undecided");

	/* nothing configured: the target does not matter; a PAC makes it matter */
	static struct config none;
	memset(&none, 0, sizeof(none));
	CHECK_EQ_INT(route_needs_target(&none), 0);
	snprintf(none.pac_url, sizeof(none.pac_url), "http://wpad/wpad.dat");
	CHECK_EQ_INT(route_needs_target(&none), 1);
}

static void test_split_and_names(void)
{
	char host[64];
	uint16_t port = 1;
	route_split_target("example.com:443", host, sizeof(host), &port);
	CHECK_EQ_STR(host, "example.com");
	CHECK_EQ_INT(port, 443);
	route_split_target("[2001:db8::1]:8443", host, sizeof(host), &port);
	CHECK_EQ_STR(host, "2001:db8::1");
	CHECK_EQ_INT(port, 8443);
	route_split_target("noport", host, sizeof(host), &port);
	CHECK_EQ_STR(host, "noport");
	CHECK_EQ_INT(port, 0);
	route_split_target("h:99999", host, sizeof(host), &port);
	CHECK_EQ_INT(port, 0);
	route_split_target("averyveryverylongname.example:1", host, 8, &port);
	CHECK_EQ_STR(host, "averyve");
	CHECK_EQ_INT(port, 1);

	struct route_plan p = {.n = 2, .idx = {ROUTE_DIRECT, 0}, .rule = -1};
	struct route_brief b;
	route_brief(&p, &b);
	CHECK_EQ_STR(route_name(&b), "direct"); /* before a step was taken: the first */
	CHECK_EQ_INT(b.rule, -1);
	b.direct = 0; /* the direct step failed, the proxy took it */
	CHECK_EQ_STR(route_name(&b), "proxy");
	p.source = ROUTE_SRC_PAC;
	route_brief(&p, &b);
	CHECK_EQ_STR(route_name(&b), "pac-direct");
	b.direct = 0;
	CHECK_EQ_STR(route_name(&b), "pac-proxy");
	p.source = ROUTE_SRC_NOPAC;
	route_brief(&p, &b);
	CHECK_EQ_STR(route_name(&b), "nopac-direct");
	p.kind = ROUTE_CHAIN;
	route_brief(&p, &b);
	CHECK_EQ_STR(route_name(&b), "chain");
	p.kind = ROUTE_BLOCK;
	route_brief(&p, &b);
	CHECK_EQ_STR(route_name(&b), "block");

	/* route_order: direct steps are never down; only failover plans move */
	struct route_health h;
	memset(&h, 0, sizeof(h));
	h.down_until[3] = 50;
	struct route_plan q = {.n = 3, .idx = {3, ROUTE_DIRECT, 4}, .rule = -1};
	route_order(&h, 10, &q);
	CHECK(q.idx[0] == ROUTE_DIRECT && q.idx[1] == 4 && q.idx[2] == 3);
	struct route_plan c = {.kind = ROUTE_CHAIN, .n = 2, .idx = {3, 4}, .rule = -1};
	route_order(&h, 10, &c);
	CHECK(c.idx[0] == 3 && c.idx[1] == 4);
}

int main(void)
{
	test_decide();
	test_split_and_names();
	test_plan();
	test_mark();
	test_first_healthy();
	return check_report();
}
