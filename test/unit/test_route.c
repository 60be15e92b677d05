/* test_route: the failover plan (healthy proxies first, in order, then those marked down),
 * marking down and up, and the first healthy proxy. */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "route.h"

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

int main(void)
{
	test_plan();
	test_mark();
	test_first_healthy();
	return check_report();
}
