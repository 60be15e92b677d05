/* test_pacreal: pac with the real worker (src/socks2http __pac-worker, duktape) and the PAC
 * served by a real HTTP server (pacserver.h): answers, the url argument, a PAC that loops
 * forever (killed at the time limit, the next query answered by a new worker), a PAC that
 * throws, the worker killed from outside, cache hits; the server going away (the last good
 * script stays), coming back with a new script (used at once), a script that does not
 * compile (kept the old one); no script at all (PAC_NO_SCRIPT, logged once) and back. */
#include <dirent.h>
#include <ev.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "pac.h"
#include "pacserver.h"
#include "pactest.h"

#ifndef SOCKS2HTTP_BIN
#define SOCKS2HTTP_BIN "src/socks2http"
#endif

static const char pac_v1[] =
	"function FindProxyForURL(url, host) {\n"
	"  if (host == 'loop.example') { while (true) {} }\n"
	"  if (host == 'throw.example') { throw new Error('boom'); }\n"
	"  if (shExpMatch(host, '*.corp.example')) return 'PROXY proxy.corp.example:3128; DIRECT';\n"
	"  if (url.substring(0, 8) == 'https://') return 'PROXY tls.example:8443';\n"
	"  return 'DIRECT';\n"
	"}\n";
static const char pac_v2[] = "function FindProxyForURL(url, host) { return 'PROXY new.example:1'; }\n";
static const char pac_broken[] = "function FindProxyForURL(url, host) { return 'DIRECT'; \n";

static struct ev_loop *loop;
static struct resolver *res;
static char dir[] = "/tmp/test_pacreal.XXXXXX";
static char pacfile[300];

static struct pac *new_pac(const char *url, double limit, double refresh)
{
	struct config cfg;
	char err[256];
	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.pac_url, sizeof(cfg.pac_url), "%s", url);
	cfg.pac_timeout = limit;
	cfg.pac_refresh = refresh;
	cfg.pac_cache = 60;
	snprintf(cfg.user_agent, sizeof(cfg.user_agent), "socks2http-test");
	struct pac *p = pac_new(loop, &cfg, res, NULL, err, sizeof(err));
	if (p == NULL)
		fprintf(stderr, "pac_new: %s\n", err);
	return p;
}

/* Asks and waits: the answer's status; *first the first entry's host ("" if none). */
static int ask(struct pac *p, const char *host, uint16_t port, struct tw *t)
{
	find(p, t, host, port);
	CHECK_EQ_INT(t->calls, 0);
	CHECK(run_until(loop, &t->calls, 1, 10));
	return t->r.status;
}

/* The pid of our child whose command line has __pac-worker, or -1. */
static long worker_pid(void)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	long found = -1;
	while (d != NULL && (e = readdir(d)) != NULL) {
		char path[300], buf[512];
		long pid = atol(e->d_name), ppid = 0;
		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
		FILE *f = fopen(path, "r");
		if (f == NULL)
			continue;
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = '\0';
		char *rp = strrchr(buf, ')');
		char state;
		if (rp == NULL || sscanf(rp + 1, " %c %ld", &state, &ppid) != 2 || ppid != (long)getpid() || state == 'Z')
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
		f = fopen(path, "r");
		if (f == NULL)
			continue;
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = '\0';
		if (strcmp(buf + strlen(buf) + 1, "__pac-worker") == 0)
			found = pid;
	}
	if (d != NULL)
		closedir(d);
	return found;
}

static void test_answers(struct pacserver *srv)
{
	char url[300];
	struct tw a, b;
	struct pac_result r;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/len/proxy.pac", srv->port);
	struct pac *p = new_pac(url, 0.5, 600);

	CHECK_EQ_INT(ask(p, "www.corp.example", 443, &a), PAC_ANSWER);
	CHECK_EQ_INT(a.r.ans.n, 2);
	CHECK_EQ_INT(a.r.ans.e[0].kind, PAC_PROXY);
	CHECK_EQ_STR(a.r.ans.e[0].host, "proxy.corp.example");
	CHECK_EQ_INT(a.r.ans.e[0].port, 3128);
	CHECK_EQ_INT(a.r.ans.e[1].kind, PAC_DIRECT);
	CHECK_EQ_STR(pac_state(p), "ok");
	/* the url argument: https:// for 443 only */
	CHECK_EQ_INT(ask(p, "www.example.org", 443, &a), PAC_ANSWER);
	CHECK_EQ_STR(a.r.ans.e[0].host, "tls.example");
	CHECK_EQ_INT(ask(p, "www.example.org", 8443, &a), PAC_ANSWER);
	CHECK_EQ_INT(a.r.ans.e[0].kind, PAC_DIRECT);
	CHECK_EQ_INT(pac_cached(p, "www.corp.example", 443, &r), 1);
	CHECK_EQ_STR(r.ans.e[0].host, "proxy.corp.example");

	/* a PAC that throws */
	CHECK_EQ_INT(ask(p, "throw.example", 80, &a), PAC_FAILED);
	CHECK(strstr(a.r.msg, "boom") != NULL);

	/* an endless call: killed at the limit, the query behind it answered by a new worker */
	long pid1 = worker_pid();
	CHECK(pid1 > 0);
	find(p, &a, "loop.example", 443);
	find(p, &b, "x.corp.example", 80);
	double t0 = ev_time();
	CHECK(run_until(loop, &b.calls, 1, 10));
	CHECK(ev_time() - t0 >= 0.45 && ev_time() - t0 < 5);
	CHECK_EQ_INT(a.calls, 1);
	CHECK_EQ_INT(a.r.status, PAC_FAILED);
	CHECK_EQ_STR(a.r.msg, "PAC call exceeded 0.5s");
	CHECK_EQ_INT(b.r.status, PAC_ANSWER);
	CHECK_EQ_STR(b.r.ans.e[0].host, "proxy.corp.example");
	long pid2 = worker_pid();
	CHECK(pid2 > 0 && pid2 != pid1);
	run_for(loop, 0.2);
	CHECK(!child_alive(pid1)); /* killed and reaped */

	/* killed from outside: the next query is answered by another worker */
	CHECK(pid2 > 0 && kill((pid_t)pid2, SIGKILL) == 0);
	run_for(loop, 0.5);
	CHECK_EQ_INT(ask(p, "y.corp.example", 80, &a), PAC_ANSWER);
	CHECK_EQ_STR(a.r.ans.e[0].host, "proxy.corp.example");
	long pid3 = worker_pid();
	CHECK(pid3 > 0 && pid3 != pid2);
	CHECK(!child_alive(pid2));

	/* the server goes away: the last good script stays */
	int port = srv->port;
	pacserver_stop(srv);
	pac_refresh(p);
	run_for(loop, 0.5);
	CHECK_EQ_INT(log_count("keeping the last good script"), 1);
	CHECK(strstr(pac_last_error(p), "Connection refused") != NULL);
	CHECK_EQ_INT(ask(p, "z.corp.example", 80, &a), PAC_ANSWER);
	CHECK_EQ_STR(a.r.ans.e[0].host, "proxy.corp.example");

	/* it comes back with another script: used at once, the cache dropped */
	write_file(pacfile, pac_v2);
	CHECK_EQ_INT(pacserver_start(srv, dir, port), 0);
	pac_refresh(p);
	run_for(loop, 1.0);
	CHECK_EQ_STR(pac_last_error(p), "");
	CHECK_EQ_INT(ask(p, "www.corp.example", 443, &a), PAC_ANSWER);
	CHECK_EQ_STR(a.r.ans.e[0].host, "new.example");

	/* a script that does not compile: the old one stays */
	write_file(pacfile, pac_broken);
	pac_refresh(p);
	run_for(loop, 1.0);
	CHECK_EQ_INT(log_count("keeping the last good script"), 2);
	CHECK(strstr(pac_last_error(p), "does not load") != NULL);
	CHECK_EQ_INT(ask(p, "q.example", 80, &a), PAC_ANSWER);
	CHECK_EQ_STR(a.r.ans.e[0].host, "new.example");
	pac_free(p);
	write_file(pacfile, pac_v1);
}

static void test_unavailable(struct pacserver *srv)
{
	char url[300];
	struct tw a;
	int port = srv->port;
	pacserver_stop(srv);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/chunked/proxy.pac", port);
	struct pac *p = new_pac(url, 1, 600);
	int before = log_count("PAC unavailable: going direct");
	CHECK_EQ_INT(ask(p, "www.corp.example", 80, &a), PAC_NO_SCRIPT);
	CHECK_EQ_INT(ask(p, "www.corp.example", 81, &a), PAC_NO_SCRIPT);
	CHECK_EQ_STR(pac_state(p), "unavailable");
	pac_refresh(p);
	run_for(loop, 0.3);
	CHECK_EQ_INT(log_count("PAC unavailable: going direct") - before, 1);

	CHECK_EQ_INT(pacserver_start(srv, dir, port), 0);
	pac_refresh(p);
	run_for(loop, 1.0);
	CHECK_EQ_STR(pac_state(p), "ok");
	CHECK_EQ_INT(log_count("PAC available again"), 1);
	CHECK_EQ_INT(ask(p, "www.corp.example", 80, &a), PAC_ANSWER);
	CHECK_EQ_STR(a.r.ans.e[0].host, "proxy.corp.example");
	pac_free(p);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	if (access(SOCKS2HTTP_BIN, X_OK) != 0) {
		printf("skipped: %s not built\n", SOCKS2HTTP_BIN);
		return 77;
	}
	if (mkdtemp(dir) == NULL)
		return 1;
	pac_set_worker_path(SOCKS2HTTP_BIN);
	snprintf(pacfile, sizeof(pacfile), "%s/proxy.pac", dir);
	write_file(pacfile, pac_v1);
	loop = ev_loop_new(EVFLAG_AUTO);
	res = pacserver_resolver(loop);
	struct pacserver srv;
	if (res == NULL || pacserver_start(&srv, dir, 0) < 0) {
		fprintf(stderr, "cannot start: %s\n", res ? "the Python HTTP server" : "a resolver");
		return 1;
	}
	test_answers(&srv);
	test_unavailable(&srv);
	pacserver_stop(&srv);
	resolver_free(res);
	ev_loop_destroy(loop);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	return check_report();
}
