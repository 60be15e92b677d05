/* test_netwatch: in a network namespace of its own (the test runs itself again under
 * `unshare -rn`; skipped with a message where that is not allowed), addresses and routes
 * change: an address added gives one callback about NETWATCH_SETTLE s later; a burst gives
 * one callback after its last change; a default route counts, another route does not;
 * nothing happens when nothing changes, nor when an address's lifetimes are renewed (the
 * kernel reports that as a new address: each IPv6 router advertisement does it to a SLAAC
 * address, each DHCP renewal by `ip addr replace`), nor when a burst ends where it began.  In the portable build netwatch never calls. */
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "netwatch.h"

static int calls;
static double last_call;

static void changed_cb(void *arg)
{
	(void)arg;
	calls++;
	last_call = ev_time();
}

static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
}

static void run_for(struct ev_loop *loop, double secs)
{
	ev_timer tick;
	ev_timer_init(&tick, tick_cb, 0.01, 0.01);
	ev_timer_start(loop, &tick);
	double end = ev_time() + secs;
	while (ev_time() < end)
		ev_run(loop, EVRUN_ONCE);
	ev_timer_stop(loop, &tick);
}

static int sh(const char *cmd)
{
	int rc = system(cmd);
	if (rc != 0)
		fprintf(stderr, "%s: exit %d\n", cmd, rc);
	return rc;
}

static int in_namespace(void)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	if (sh("ip link set lo up") != 0)
		return 77;
	struct netwatch *nw = netwatch_new(loop, changed_cb, NULL);
	CHECK(nw != NULL);
#if defined(__linux__) && !defined(S2H_PORTABLE)
	CHECK(netwatch_active(nw));
#else
	CHECK(!netwatch_active(nw));
#endif
	run_for(loop, 0.3);
	CHECK_EQ_INT(calls, 0);

	double t0 = ev_time();
	CHECK_EQ_INT(sh("ip addr add 10.9.9.9/32 dev lo"), 0);
	run_for(loop, NETWATCH_SETTLE + 0.5);
	int linux_build = netwatch_active(nw);
	CHECK_EQ_INT(calls, linux_build ? 1 : 0);
	if (linux_build)
		CHECK(last_call - t0 >= NETWATCH_SETTLE - 0.05 && last_call - t0 < NETWATCH_SETTLE + 0.5);

	/* a burst: one callback, a settle time after the last change */
	calls = 0;
	CHECK_EQ_INT(sh("ip addr add 10.9.9.10/32 dev lo"), 0);
	run_for(loop, 0.4);
	CHECK_EQ_INT(sh("ip -6 addr add fd00::9/128 dev lo"), 0);
	run_for(loop, 0.4);
	double t1 = ev_time();
	CHECK_EQ_INT(sh("ip addr del 10.9.9.10/32 dev lo"), 0);
	run_for(loop, NETWATCH_SETTLE + 0.5);
	CHECK_EQ_INT(calls, linux_build ? 1 : 0);
	if (linux_build)
		CHECK(last_call - t1 >= NETWATCH_SETTLE - 0.05);

	/* lifetimes renewed, the same address replaced: the address set is the same */
	calls = 0;
	CHECK_EQ_INT(sh("ip addr change 10.9.9.9/32 dev lo valid_lft 3000 preferred_lft 3000"), 0);
	run_for(loop, 0.3);
	CHECK_EQ_INT(sh("ip addr replace 10.9.9.9/32 dev lo valid_lft 2000 preferred_lft 2000"), 0);
	run_for(loop, NETWATCH_SETTLE + 0.5);
	CHECK_EQ_INT(calls, 0);
	/* an address added and removed again within the burst: nothing changed either */
	CHECK_EQ_INT(sh("ip addr add 10.9.9.11/32 dev lo"), 0);
	CHECK_EQ_INT(sh("ip addr del 10.9.9.11/32 dev lo"), 0);
	run_for(loop, NETWATCH_SETTLE + 0.5);
	CHECK_EQ_INT(calls, 0);
	/* a prefix length is part of an address */
	CHECK_EQ_INT(sh("ip addr del 10.9.9.9/32 dev lo"), 0);
	CHECK_EQ_INT(sh("ip addr add 10.9.9.9/24 dev lo"), 0);
	run_for(loop, NETWATCH_SETTLE + 0.5);
	CHECK_EQ_INT(calls, linux_build ? 1 : 0);

	/* a default route counts; a route to one network does not */
	calls = 0;
	CHECK_EQ_INT(sh("ip route add 10.1.0.0/16 dev lo"), 0);
	run_for(loop, NETWATCH_SETTLE + 0.3);
	CHECK_EQ_INT(calls, 0);
	CHECK_EQ_INT(sh("ip route add default dev lo"), 0);
	run_for(loop, NETWATCH_SETTLE + 0.3);
	CHECK_EQ_INT(calls, linux_build ? 1 : 0);
	CHECK_EQ_INT(sh("ip -6 route add default dev lo"), 0);
	run_for(loop, NETWATCH_SETTLE + 0.3);
	CHECK_EQ_INT(calls, linux_build ? 2 : 0);

	netwatch_free(nw);
	ev_loop_destroy(loop);
	return check_report();
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--in-namespace") == 0)
		return in_namespace();
	/* a user and network namespace of our own, where we may change addresses */
	if (system("unshare -rn true >/dev/null 2>&1") != 0 || system("command -v ip >/dev/null 2>&1") != 0) {
		printf("skipped: no network namespace here (unshare -rn fails) or no ip(8)\n");
		return 77;
	}
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return 1;
	self[n] = '\0';
	execlp("unshare", "unshare", "-rn", self, "--in-namespace", (char *)NULL);
	perror("unshare");
	return 1;
}
