/* test_pac: the loop side of PAC against a scripted worker: this very binary, started as
 * `test_pac __pac-worker`, speaks the worker protocol with a "script" of lines
 * "HOST ANSWER..." (a host of "*" answers the rest; the default is DIRECT).  Hosts with
 * special meaning: "loop" never answers, "throw" answers E, "pid" answers with the worker's
 * pid, "count*" with the number of queries this worker had, "env" whether secrets reached
 * it; a script line "LOADERR why" makes S ERR, "LOADLOOP" hangs the load.  The real
 * worker's tests are in test_pacreal.c.
 *
 * Checked: one callback per find, never inside pac_find; the cache and shared calls; cancel;
 * the worker's environment without passwords and proxy variables;
 * the time limit (kill, fail that query, restart, resend the others); a worker killed from
 * outside; the bound on outstanding calls; no script -> PAC_NO_SCRIPT logged once, and back;
 * a script that does not load keeps the last good one; pac_new taking over the script;
 * pac_free from inside a callback (the sanitizer build sees use after free). */
#include <ev.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "log.h"
#include "pac.h"
#include "pactest.h"

/* ---------------------------------------------------------------- the scripted worker */

static char script[(1 << 20) + 1];
static int loaded, loadloop;

static void answer(unsigned long id, const char *host, unsigned nq)
{
	if (strcmp(host, "loop") == 0)
		for (;;)
			pause();
	if (strcmp(host, "throw") == 0) {
		printf("E %lu ReferenceError: x is not defined\n", id);
		return;
	}
	if (strcmp(host, "pid") == 0) {
		printf("A %lu PROXY pid%ld:1\n", id, (long)getpid());
		return;
	}
	if (strcmp(host, "crash") == 0)
		exit(3);
	if (strcmp(host, "garbage") == 0) {
		printf("X what?\n");
		return;
	}
	if (strcmp(host, "env") == 0) { /* secrets stay behind; the rest comes along */
		int secret = getenv("SOCKS2HTTP_PROXY_PASSWORD") || getenv("https_proxy") || getenv("HTTP_PROXY");
		printf("A %lu PROXY %s:1\n", id, secret ? "leaked" : getenv("PACTEST_KEPT") ? "kept" : "lost");
		return;
	}
	if (strncmp(host, "count", 5) == 0) {
		printf("A %lu PROXY n%u:1\n", id, nq);
		return;
	}
	if (strncmp(host, "slow", 4) == 0)
		usleep(20000);
	size_t hl = strlen(host);
	for (char *l = script; *l;) {
		char *nl = strchr(l, '\n');
		size_t ll = nl ? (size_t)(nl - l) : strlen(l);
		if ((ll > hl && strncmp(l, host, hl) == 0 && l[hl] == ' ') || (ll > 2 && l[0] == '*' && l[1] == ' ')) {
			size_t skip = l[0] == '*' ? 2 : hl + 1;
			printf("A %lu %.*s\n", id, (int)(ll - skip), l + skip);
			return;
		}
		l = nl ? nl + 1 : l + ll;
	}
	printf("A %lu DIRECT\n", id);
}

static int fake_worker(void)
{
	char line[9000];
	unsigned nq = 0;
	signal(SIGINT, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (fgets(line, sizeof(line), stdin) != NULL) {
		unsigned long id, n;
		char host[300], url[600];
		if (sscanf(line, "S %lu", &n) == 1) {
			static char buf[1 << 20];
			if (n >= sizeof(buf) || fread(buf, 1, n, stdin) != n)
				return 1;
			buf[n] = '\0';
			char *e = strstr(buf, "LOADERR ");
			if (strstr(buf, "LOADLOOP") != NULL)
				for (;;)
					pause();
			if (e != NULL) {
				printf("S ERR %.*s\n", (int)strcspn(e + 8, "\n"), e + 8);
				continue;
			}
			memcpy(script, buf, n + 1);
			loaded = 1;
			printf("S OK\n");
		} else if (sscanf(line, "Q %lu %299s %599s", &id, host, url) == 3) {
			nq++;
			if (!loaded)
				printf("E %lu no script loaded\n", id);
			else
				answer(id, host, nq);
		} else {
			printf("E 0 bad request\n");
		}
	}
	(void)loadloop;
	return 0;
}

/* ---------------------------------------------------------------- the tests */

static struct ev_loop *loop;
static char dir[] = "/tmp/test_pac.XXXXXX";
static char path[256];

static void set_script(const char *text)
{
	write_file(path, text);
}

static double refresh = 600;

static struct pac *new_pac(const char *url, double limit, const struct pac *prev)
{
	struct config cfg;
	char err[256];
	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.pac_url, sizeof(cfg.pac_url), "%s", url);
	cfg.pac_timeout = limit;
	cfg.pac_refresh = refresh;
	cfg.pac_cache = 60;
	struct pac *p = pac_new(loop, &cfg, NULL, prev, err, sizeof(err));
	if (p == NULL)
		fprintf(stderr, "pac_new: %s\n", err);
	return p;
}

static void test_basic(void)
{
	set_script("a.example PROXY px.example:3128; DIRECT\nempty.example \nsemi.example ;\n"
		   "junk.example PROXY; FOO bar\n");
	struct pac *p = new_pac(path, 1, NULL);
	struct tw a, b, c, d;
	CHECK_EQ_STR(pac_state(p), "fetching");
	find(p, &a, "a.example", 443);
	find(p, &b, "other.example", 80);
	CHECK_EQ_INT(a.calls + b.calls, 0); /* never inside pac_find */
	CHECK(run_until(loop, &b.calls, 1, 5));
	CHECK_EQ_INT(a.calls, 1);
	CHECK_EQ_INT(a.r.status, PAC_ANSWER);
	CHECK_EQ_INT(a.r.ans.n, 2);
	CHECK_EQ_INT(a.r.ans.e[0].kind, PAC_PROXY);
	CHECK_EQ_STR(a.r.ans.e[0].host, "px.example");
	CHECK_EQ_INT(a.r.ans.e[0].port, 3128);
	CHECK_EQ_INT(a.r.ans.e[1].kind, PAC_DIRECT);
	CHECK_EQ_INT(b.r.status, PAC_ANSWER);
	CHECK_EQ_INT(b.r.ans.e[0].kind, PAC_DIRECT);
	CHECK_EQ_STR(pac_state(p), "ok");

	/* cached: at once, and through pac_find without a worker call */
	struct pac_result r;
	CHECK_EQ_INT(pac_cached(p, "a.example", 443, &r), 1);
	CHECK_EQ_STR(r.ans.e[0].host, "px.example");
	CHECK_EQ_INT(pac_cached(p, "a.example", 80, &r), 0);
	find(p, &c, "count1", 1);
	find(p, &d, "count1", 1); /* shares c's call */
	CHECK(run_until(loop, &d.calls, 1, 5));
	CHECK_EQ_INT(c.calls, 1);
	CHECK_EQ_STR(c.r.ans.e[0].host, d.r.ans.e[0].host);
	find(p, &c, "count1", 1);
	CHECK_EQ_INT(c.calls, 0);
	CHECK(run_until(loop, &c.calls, 1, 5));
	CHECK_EQ_STR(c.r.ans.e[0].host, d.r.ans.e[0].host); /* from the cache: no new query */
	find(p, &c, "count2", 1);
	CHECK(run_until(loop, &c.calls, 1, 5));
	CHECK(strcmp(c.r.ans.e[0].host, d.r.ans.e[0].host) != 0);

	/* cancel: before the answer, and while the answer waits for delivery */
	find(p, &a, "cancelled.example", 1);
	pac_cancel(p, &a.w);
	find(p, &b, "a.example", 443);
	pac_cancel(p, &b.w);
	pac_cancel(p, &b.w); /* twice is harmless */
	find(p, &c, "count3", 1);
	CHECK(run_until(loop, &c.calls, 1, 5));
	run_for(loop, 0.05);
	CHECK_EQ_INT(a.calls + b.calls, 0);
	CHECK_EQ_INT(pac_cached(p, "cancelled.example", 1, &r), 1); /* the call still ran */

	/* the worker's environment */
	find(p, &a, "env", 1);
	CHECK(run_until(loop, &a.calls, 1, 5));
	CHECK_EQ_STR(a.r.ans.e[0].host, "kept");

	/* a thrown error */
	find(p, &a, "throw", 80);
	CHECK(run_until(loop, &a.calls, 1, 5));
	CHECK_EQ_INT(a.r.status, PAC_FAILED);
	CHECK(strstr(a.r.msg, "ReferenceError") != NULL);

	/* An answer with no usable entry ("", ";", only malformed ones) is DIRECT, as in
	 * Chromium (ProxyList::SetFromPacString) and Firefox, not a failure that would send the
	 * target through the -x list; cached as such. */
	const char *nothing[] = {"empty.example", "semi.example", "junk.example"};
	for (int i = 0; i < 3; i++) {
		find(p, &a, nothing[i], 443);
		CHECK(run_until(loop, &a.calls, 1, 5));
		CHECK_EQ_INT(a.r.status, PAC_ANSWER);
		CHECK_EQ_INT(a.r.ans.n, 1);
		CHECK_EQ_INT(a.r.ans.e[0].kind, PAC_DIRECT);
		CHECK_EQ_INT(pac_cached(p, nothing[i], 443, &r), 1);
		CHECK_EQ_INT(r.status, PAC_ANSWER);
		CHECK_EQ_INT(r.ans.e[0].kind, PAC_DIRECT);
	}

	/* FindProxyForURL gets the host as browsers pass it: lower case, no trailing dot (the
	 * fake worker answers "count..." hosts only in lower case), and the cache keys it so */
	find(p, &a, "COUNT7.Example.", 443);
	CHECK(run_until(loop, &a.calls, 1, 5));
	CHECK_EQ_INT(a.r.status, PAC_ANSWER);
	CHECK_EQ_INT(a.r.ans.e[0].kind, PAC_PROXY);
	CHECK_EQ_INT(pac_cached(p, "count7.example", 443, &r), 1);
	CHECK_EQ_STR(r.ans.e[0].host, a.r.ans.e[0].host);
	CHECK_EQ_INT(pac_cached(p, "Count7.EXAMPLE", 443, &r), 1);
	pac_free(p);
}

/* a script near the 1 MiB bound goes through the socketpair whole */
static void test_big_script(void)
{
	static char big[1000 * 1000];
	size_t n = (size_t)snprintf(big, sizeof(big), "big.example PROXY big.example:1\n");
	while (n + 80 < sizeof(big))
		n += (size_t)snprintf(big + n, sizeof(big) - n, "# %075zu\n", n);
	set_script(big);
	struct pac *p = new_pac(path, 1, NULL);
	struct tw a;
	find(p, &a, "big.example", 1);
	CHECK(run_until(loop, &a.calls, 1, 10));
	CHECK_EQ_INT(a.r.status, PAC_ANSWER);
	CHECK_EQ_STR(a.r.ans.e[0].host, "big.example");
	pac_free(p);
}

static void test_time_limit(void)
{
	set_script("* PROXY p.example:8080\n");
	struct pac *p = new_pac(path, 0.3, NULL);
	struct tw a, b, c, d, e;
	find(p, &a, "pid", 1);
	CHECK(run_until(loop, &a.calls, 1, 5));
	find(p, &b, "loop", 443);
	find(p, &c, "behind.example", 443); /* queued behind the endless call */
	find(p, &d, "pid", 2);
	double t0 = ev_time();
	CHECK(run_until(loop, &d.calls, 1, 5));
	double took = ev_time() - t0;
	CHECK(took >= 0.25 && took < 2.0);
	CHECK_EQ_INT(b.calls, 1);
	CHECK_EQ_INT(b.r.status, PAC_FAILED);
	CHECK_EQ_STR(b.r.msg, "PAC call exceeded 0.3s");
	CHECK_EQ_INT(c.r.status, PAC_ANSWER);
	CHECK_EQ_STR(c.r.ans.e[0].host, "p.example");
	CHECK_EQ_INT(d.r.status, PAC_ANSWER);
	CHECK(strcmp(a.r.ans.e[0].host, d.r.ans.e[0].host) != 0); /* another worker answered */
	CHECK(log_count("killed") == 1);

	/* the failure is cached: the endless call is not run again at once */
	find(p, &e, "loop", 443);
	CHECK(run_until(loop, &e.calls, 1, 0.2));
	CHECK_EQ_INT(e.r.status, PAC_FAILED);
	CHECK_EQ_INT(log_count("killed"), 1);
	pac_free(p);

	/* a script whose top level never ends: killed, the good script stays */
	set_script("LOADLOOP\n");
	p = new_pac(path, 0.3, NULL);
	find(p, &a, "x.example", 1);
	CHECK(run_until(loop, &a.calls, 1, 8));
	CHECK_EQ_INT(a.r.status, PAC_NO_SCRIPT);
	CHECK_EQ_STR(pac_state(p), "unavailable");
	pac_free(p);
}

static void test_killed_outside(struct ev_loop *l)
{
	struct ev_loop *saved = loop;
	loop = l;
	set_script("* PROXY p.example:8080\n");
	struct pac *p = new_pac(path, 1, NULL);
	struct tw a, b;
	int died = log_count("PAC worker died");
	find(p, &a, "pid", 1);
	CHECK(run_until(loop, &a.calls, 1, 5));
	long pid = atol(a.r.ans.e[0].host + 3);
	CHECK(pid > 0 && kill((pid_t)pid, SIGKILL) == 0);
	run_for(loop, 0.5);
	CHECK_EQ_INT(log_count("PAC worker died") - died, 1);
	find(p, &b, "pid", 2);
	CHECK(run_until(loop, &b.calls, 1, 5));
	CHECK_EQ_INT(b.r.status, PAC_ANSWER);
	CHECK(atol(b.r.ans.e[0].host + 3) != pid);
	pac_free(p);
	run_for(loop, 0.1);
	CHECK(!child_alive(pid));
	loop = saved;
}

/* a worker that dies on a query, or answers out of protocol: that query fails, the next
 * worker answers the next one */
static void test_crash_and_garbage(void)
{
	set_script("* PROXY p.example:8080\n");
	struct pac *p = new_pac(path, 1, NULL);
	struct tw a, b;
	int died = log_count("PAC worker died (it exited)");
	find(p, &a, "crash", 1);
	CHECK(run_until(loop, &a.calls, 1, 5));
	CHECK_EQ_INT(a.r.status, PAC_FAILED);
	CHECK_EQ_STR(a.r.msg, "PAC worker died (it exited)");
	CHECK_EQ_INT(log_count("PAC worker died (it exited)") - died, 1);
	run_for(loop, 0.3); /* the first restart waits 0.1 s */
	find(p, &b, "after-crash.example", 1);
	CHECK(run_until(loop, &b.calls, 1, 5));
	CHECK_EQ_INT(b.r.status, PAC_ANSWER);

	find(p, &a, "garbage", 1);
	CHECK(run_until(loop, &a.calls, 1, 5));
	CHECK_EQ_INT(a.r.status, PAC_FAILED);
	CHECK(strstr(a.r.msg, "out of step") != NULL);
	find(p, &b, "after-garbage.example", 1);
	CHECK(run_until(loop, &b.calls, 1, 5));
	CHECK_EQ_INT(b.r.status, PAC_ANSWER);
	pac_free(p);
}

static void test_bound(void)
{
	set_script("* DIRECT\n");
	struct pac *p = new_pac(path, 5, NULL);
	static struct tw w[PAC_MAX_CALLS + 20];
	char host[32];
	for (int i = 0; i < PAC_MAX_CALLS + 20; i++) {
		snprintf(host, sizeof(host), "h%d.example", i);
		find(p, &w[i], host, 1);
	}
	CHECK(run_until(loop, &w[PAC_MAX_CALLS - 1].calls, 1, 10));
	int failed = 0, answered = 0;
	for (int i = 0; i < PAC_MAX_CALLS + 20; i++) {
		failed += w[i].calls == 1 && w[i].r.status == PAC_FAILED;
		answered += w[i].calls == 1 && w[i].r.status == PAC_ANSWER;
	}
	CHECK_EQ_INT(failed, 20);
	CHECK_EQ_INT(answered, PAC_MAX_CALLS);
	pac_free(p);
}

static void test_no_script(void)
{
	char missing[300];
	snprintf(missing, sizeof(missing), "%s/missing.pac", dir);
	struct pac *p = new_pac(missing, 1, NULL);
	struct tw a, b;
	struct pac_result r;
	int before = log_count("PAC unavailable: going direct");
	find(p, &a, "a.example", 1); /* waits for the first fetch */
	CHECK(run_until(loop, &a.calls, 1, 5));
	CHECK_EQ_INT(a.r.status, PAC_NO_SCRIPT);
	CHECK_EQ_STR(pac_state(p), "unavailable");
	CHECK(strstr(pac_last_error(p), "missing.pac") != NULL);
	CHECK_EQ_INT(pac_cached(p, "b.example", 1, &r), 1);
	CHECK_EQ_INT(r.status, PAC_NO_SCRIPT);
	find(p, &b, "b.example", 1);
	CHECK(run_until(loop, &b.calls, 1, 5));
	CHECK_EQ_INT(b.r.status, PAC_NO_SCRIPT);
	pac_refresh(p);
	run_for(loop, 0.1);
	CHECK_EQ_INT(log_count("PAC unavailable: going direct") - before, 1); /* once */

	/* it comes back */
	write_file(missing, "* PROXY back.example:1\n");
	pac_refresh(p);
	run_for(loop, 0.3);
	CHECK_EQ_STR(pac_state(p), "ok");
	CHECK_EQ_INT(log_count("PAC available again"), 1);
	find(p, &a, "a.example", 1);
	CHECK(run_until(loop, &a.calls, 1, 5));
	CHECK_EQ_INT(a.r.status, PAC_ANSWER);
	CHECK_EQ_STR(a.r.ans.e[0].host, "back.example");

	/* a script that does not load keeps the last good one; so does a failed fetch */
	write_file(missing, "LOADERR SyntaxError: parse error (line 1)\n");
	pac_refresh(p);
	run_for(loop, 0.3);
	CHECK_EQ_INT(log_count("keeping the last good script"), 1);
	CHECK(strstr(pac_last_error(p), "SyntaxError") != NULL);
	find(p, &a, "c.example", 1);
	CHECK(run_until(loop, &a.calls, 1, 5));
	CHECK_EQ_STR(a.r.ans.e[0].host, "back.example");
	unlink(missing);
	pac_refresh(p);
	run_for(loop, 0.3);
	CHECK_EQ_INT(log_count("keeping the last good script"), 2);
	CHECK_EQ_STR(pac_state(p), "ok");

	/* SIGHUP: the new pac takes the script over at once, though the file is gone */
	struct pac *q = new_pac(missing, 1, p);
	pac_free(p);
	CHECK_EQ_STR(pac_state(q), "ok");
	find(q, &b, "d.example", 1);
	CHECK(run_until(loop, &b.calls, 1, 5));
	CHECK_EQ_INT(b.r.status, PAC_ANSWER);
	CHECK_EQ_STR(b.r.ans.e[0].host, "back.example");
	pac_free(q);
}

/* re-fetched every refresh period; a failed fetch is retried within it */
static void test_refresh_period(void)
{
	char file[300];
	struct tw a;
	snprintf(file, sizeof(file), "%s/periodic.pac", dir);
	write_file(file, "* PROXY one.example:1\n");
	refresh = 0.4;
	struct pac *p = new_pac(file, 1, NULL);
	refresh = 600;
	find(p, &a, "a.example", 1);
	CHECK(run_until(loop, &a.calls, 1, 5));
	CHECK_EQ_STR(a.r.ans.e[0].host, "one.example");
	write_file(file, "* PROXY two.example:1\n");
	run_for(loop, 0.7);
	find(p, &a, "a.example", 1); /* the new script dropped the cached answer */
	CHECK(run_until(loop, &a.calls, 1, 5));
	CHECK_EQ_STR(a.r.ans.e[0].host, "two.example");
	pac_free(p);

	snprintf(file, sizeof(file), "%s/later.pac", dir);
	refresh = 0.4;
	p = new_pac(file, 1, NULL);
	refresh = 600;
	run_for(loop, 0.1);
	CHECK_EQ_STR(pac_state(p), "unavailable");
	write_file(file, "* PROXY later.example:1\n");
	run_for(loop, 0.8); /* the retry, capped at the refresh period */
	CHECK_EQ_STR(pac_state(p), "ok");
	pac_free(p);
	unlink(file);
	snprintf(file, sizeof(file), "%s/periodic.pac", dir);
	unlink(file);
}

/* pac_free from inside a callback: nothing else is called, nothing freed is touched */
static struct pac *doomed;
static void free_cb(struct pac_waiter *w, const struct pac_result *r)
{
	tw_cb(w, r);
	pac_free(doomed);
}

static void test_free_in_callback(void)
{
	set_script("* DIRECT\n");
	doomed = new_pac(path, 1, NULL);
	struct tw a, b, c;
	find(doomed, &a, "a.example", 1);
	CHECK(run_until(loop, &a.calls, 1, 5));
	memset(&b, 0, sizeof(b));
	memset(&c, 0, sizeof(c));
	pac_find(doomed, "a.example", 1, &b.w, free_cb); /* cached: both queued for delivery */
	pac_find(doomed, "a.example", 1, &c.w, tw_cb);
	run_for(loop, 0.1);
	CHECK_EQ_INT(b.calls, 1);
	CHECK_EQ_INT(c.calls, 0);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "__pac-worker") == 0)
		return fake_worker();
	signal(SIGPIPE, SIG_IGN);
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/proxy.pac", dir);
	char self[4200];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return 1;
	self[n] = '\0';
	CHECK_EQ_INT(pac_worker_from_argv0(self), 0);
	CHECK_EQ_INT(pac_worker_from_argv0("sh"), 0);
#if !defined(__linux__) || defined(S2H_PORTABLE)
	CHECK_EQ_INT(pac_worker_from_argv0("no-such-program-here"), -1);
#endif
	pac_set_worker_path(self);
	loop = ev_loop_new(EVFLAG_AUTO);
	setenv("SOCKS2HTTP_PROXY_PASSWORD", "secret", 1);
	setenv("https_proxy", "http://u:secret@proxy.example:3128", 1);
	setenv("HTTP_PROXY", "http://u:secret@proxy.example:3128", 1);
	setenv("PACTEST_KEPT", "1", 1);
	test_basic();
	test_big_script();
	test_time_limit();
	test_killed_outside(loop);
	test_killed_outside(ev_default_loop(0)); /* libev reaps: an ev_child tells us */
	test_crash_and_garbage();
	test_bound();
	test_no_script();
	test_refresh_period();
	test_free_in_callback();
	ev_loop_destroy(loop);
	unlink(path);
	rmdir(dir);
	return check_report();
}
