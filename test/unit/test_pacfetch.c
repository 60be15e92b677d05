/* test_pacfetch: the PAC fetch from files and from a real HTTP server (a Python one, see
 * pacserver.h): each framing of the body (Content-Length, chunked, until close), the
 * request we send, 404, a body over 1 MiB, a refused connection, the whole-fetch timeout,
 * https refused, cancel; and the URL splitter.  The result always comes from the loop. */
#include <ev.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "pacfetch.h"
#include "pacserver.h"
#include "pactest.h"

static struct ev_loop *loop;
static struct resolver *res;
static char dir[] = "/tmp/test_pacfetch.XXXXXX";

struct got {
	int calls, ok;
	char *body;
	size_t len;
	char err[400];
};

static void got_cb(void *arg, int ok, const char *body, size_t len, const char *err)
{
	struct got *g = arg;
	g->calls++;
	g->ok = ok;
	if (ok) {
		g->body = malloc(len + 1);
		memcpy(g->body, body, len + 1);
		g->len = len;
		CHECK_EQ_INT(body[len], '\0');
	} else {
		snprintf(g->err, sizeof(g->err), "%s", err);
	}
}

/* Fetches url; 1 when it came back (g filled), 0 when pacfetch_start refused it (g->err). */
static int fetch(const char *url, double timeout, struct got *g)
{
	char err[400];
	free(g->body);
	memset(g, 0, sizeof(*g));
	struct pacfetch *f = pacfetch_start(loop, res, url, timeout, "test-agent/1", got_cb, g, err, sizeof(err));
	if (f == NULL) {
		snprintf(g->err, sizeof(g->err), "%s", err);
		return 0;
	}
	CHECK_EQ_INT(g->calls, 0); /* never inside pacfetch_start */
	CHECK(run_until(loop, &g->calls, 1, timeout + 5));
	run_for(loop, 0.01);
	CHECK_EQ_INT(g->calls, 1);
	return 1;
}

static void test_split(void)
{
	char host[256], path[256], err[96];
	unsigned port;
	CHECK_EQ_INT(pacfetch_split_http("http://wpad.example/wpad.dat", host, sizeof(host), &port, path, sizeof(path), err, sizeof(err)), 0);
	CHECK_EQ_STR(host, "wpad.example");
	CHECK_EQ_INT(port, 80);
	CHECK_EQ_STR(path, "/wpad.dat");
	CHECK_EQ_INT(pacfetch_split_http("http://[::1]:8080/a/b?x=1#frag", host, sizeof(host), &port, path, sizeof(path), err, sizeof(err)), 0);
	CHECK_EQ_STR(host, "::1");
	CHECK_EQ_INT(port, 8080);
	CHECK_EQ_STR(path, "/a/b?x=1");
	CHECK_EQ_INT(pacfetch_split_http("http://h", host, sizeof(host), &port, path, sizeof(path), err, sizeof(err)), 0);
	CHECK_EQ_STR(path, "/");
	CHECK_EQ_INT(pacfetch_split_http("http://h?q", host, sizeof(host), &port, path, sizeof(path), err, sizeof(err)), 0);
	CHECK_EQ_STR(path, "/?q");
	const char *bad[] = {"http://h:0/", "http://h:65536/", "http://h:/", "http://u@h/", "http:///p", "http://[::1/",
			     "http://h/a b", "http://h:80x/", "ftp://h/", "http://w\x13h/", "http://[::1\t]/"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ_INT(pacfetch_split_http(bad[i], host, sizeof(host), &port, path, sizeof(path), err, sizeof(err)), -1);
}

/* Redirects: where a Location leads from the URL that answered (RFC 3986 5.2); only
 * http:// is followed. */
static void check_locate(const char *base, const char *loc, const char *want)
{
	char out[256];
	const char *why = pacfetch_locate(base, loc, strlen(loc), out, sizeof(out));
	if (want == NULL) {
		CHECK(why != NULL);
		return;
	}
	CHECK(why == NULL);
	if (why == NULL)
		CHECK_EQ_STR(out, want);
}

static void test_locate(void)
{
	const char *b = "http://wpad.example:8080/dir/wpad.dat?x=1";
	check_locate(b, "http://other.example/proxy.pac", "http://other.example/proxy.pac");
	check_locate(b, "HTTP://other.example/p#frag", "http://other.example/p");
	check_locate(b, "//cdn.example/p.pac", "http://cdn.example/p.pac");
	check_locate(b, "/proxy.pac", "http://wpad.example:8080/proxy.pac");
	check_locate(b, "proxy.pac", "http://wpad.example:8080/dir/proxy.pac");
	check_locate(b, "?y=2", "http://wpad.example:8080/dir/wpad.dat?y=2");
	check_locate("http://h", "p.pac", "http://h/p.pac");
	check_locate("http://[::1]:81/a", "/b", "http://[::1]:81/b");
	check_locate(b, "https://secure.example/p.pac", NULL);
	check_locate(b, "file:///etc/passwd", NULL);
	check_locate(b, "", NULL);
	check_locate(b, "/a b", NULL);
}

/* file:// URLs are percent-decoded (RFC 8089); %00 and %2F are refused; a plain path is
 * taken as it is. */
static void test_file_paths(void)
{
	char out[256], err[96];
	CHECK_EQ_INT(pacfetch_file_path("file:///my%20dir/proxy.pac", out, sizeof(out), err, sizeof(err)), 0);
	CHECK_EQ_STR(out, "/my dir/proxy.pac");
	CHECK_EQ_INT(pacfetch_file_path("file://localhost/a%c3%a9%2e.pac?q#f", out, sizeof(out), err, sizeof(err)), 0);
	CHECK_EQ_STR(out, "/a\xc3\xa9..pac");
	CHECK_EQ_INT(pacfetch_file_path("/plain%20path.pac", out, sizeof(out), err, sizeof(err)), 0);
	CHECK_EQ_STR(out, "/plain%20path.pac");
	CHECK_EQ_INT(pacfetch_file_path("file:///a%2Fb.pac", out, sizeof(out), err, sizeof(err)), -1);
	CHECK(strstr(err, "%2F") != NULL);
	CHECK_EQ_INT(pacfetch_file_path("file:///a%2fb.pac", out, sizeof(out), err, sizeof(err)), -1);
	CHECK_EQ_INT(pacfetch_file_path("file:///a%00b.pac", out, sizeof(out), err, sizeof(err)), -1);
	CHECK(strstr(err, "NUL") != NULL);
	CHECK_EQ_INT(pacfetch_file_path("file:///a%zz.pac", out, sizeof(out), err, sizeof(err)), -1);
	CHECK_EQ_INT(pacfetch_file_path("file:///a%2", out, sizeof(out), err, sizeof(err)), -1);
	CHECK_EQ_INT(pacfetch_file_path("file://relative.pac", out, sizeof(out), err, sizeof(err)), -1);
}

static void test_files(void)
{
	struct got g = {0};
	char path[300], url[320];
	snprintf(path, sizeof(path), "%s/f.pac", dir);
	write_file(path, "function FindProxyForURL(u, h) { return \"DIRECT\"; }\n");
	CHECK_EQ_INT(fetch(path, 5, &g), 1);
	CHECK(g.ok && strstr(g.body, "FindProxyForURL") != NULL);
	snprintf(url, sizeof(url), "file://%s", path);
	CHECK_EQ_INT(fetch(url, 5, &g), 1);
	CHECK(g.ok && g.len == 52);
	snprintf(url, sizeof(url), "file://localhost%s", path);
	CHECK_EQ_INT(fetch(url, 5, &g), 1);
	CHECK(g.ok);
	snprintf(url, sizeof(url), "%s/none.pac", dir);
	CHECK_EQ_INT(fetch(url, 5, &g), 1);
	CHECK(!g.ok && strstr(g.err, "No such file") != NULL);
	CHECK_EQ_INT(fetch(dir, 5, &g), 1);
	CHECK(!g.ok && strstr(g.err, "not a regular file") != NULL);
	CHECK_EQ_INT(fetch("file://relative.pac", 5, &g), 0);
	CHECK_EQ_INT(fetch("https://wpad.example/wpad.dat", 5, &g), 0);
	CHECK(strstr(g.err, "https:// PAC URLs are not supported") != NULL);
	CHECK_EQ_INT(fetch("ftp://wpad.example/wpad.dat", 5, &g), 0);
	free(g.body);
}

static void test_http(void)
{
	struct pacserver srv;
	struct got g = {0};
	char url[300], path[300];
	if (pacserver_start(&srv, dir, 0) < 0) {
		fprintf(stderr, "cannot start the Python HTTP server\n");
		CHECK(0);
		return;
	}
	/* a body of 300 KiB, so framing spans many reads and chunks */
	static char big[300 * 1024 + 1];
	for (size_t i = 0; i < sizeof(big) - 1; i++)
		big[i] = (char)('a' + i % 26);
	snprintf(path, sizeof(path), "%s/p.pac", dir);
	write_file(path, big);
	const char *modes[] = {"len", "chunked", "close"};
	for (int m = 0; m < 3; m++) {
		snprintf(url, sizeof(url), "http://127.0.0.1:%d/%s/p.pac", srv.port, modes[m]);
		CHECK_EQ_INT(fetch(url, 5, &g), 1);
		CHECK(g.ok);
		CHECK(g.ok && g.len == sizeof(big) - 1 && memcmp(g.body, big, g.len) == 0);
	}
	/* what we sent */
	char req[2048] = "";
	snprintf(path, sizeof(path), "%s/last_request", dir);
	FILE *f = fopen(path, "r");
	if (f != NULL) {
		req[fread(req, 1, sizeof(req) - 1, f)] = '\0';
		fclose(f);
	}
	CHECK(strncmp(req, "GET /close/p.pac HTTP/1.1\r\n", 27) == 0);
	char host[64];
	snprintf(host, sizeof(host), "Host: 127.0.0.1:%d\n", srv.port);
	CHECK(strstr(req, host) != NULL);
	CHECK(strstr(req, "Connection: close\n") != NULL);
	CHECK(strstr(req, "User-Agent: test-agent/1\n") != NULL);

	/* a name: resolved with the daemon's resolver; where it has ::1 first, that address is
	 * refused (the server is on 127.0.0.1) and the next one is tried */
	snprintf(url, sizeof(url), "http://localhost:%d/len/p.pac", srv.port);
	CHECK_EQ_INT(fetch(url, 5, &g), 1);
	if (!g.ok)
		fprintf(stderr, "localhost: %s\n", g.err);
	CHECK(g.ok && g.len == sizeof(big) - 1);

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/len/missing.pac", srv.port);
	CHECK_EQ_INT(fetch(url, 5, &g), 1);
	CHECK(!g.ok && strstr(g.err, "HTTP status 404") != NULL);

	/* over 1 MiB: by Content-Length, chunked, and until close */
	static char huge[PACFETCH_MAX_BODY + 2];
	memset(huge, 'x', sizeof(huge) - 1);
	snprintf(path, sizeof(path), "%s/huge.pac", dir);
	write_file(path, huge);
	for (int m = 0; m < 3; m++) {
		snprintf(url, sizeof(url), "http://127.0.0.1:%d/%s/huge.pac", srv.port, modes[m]);
		CHECK_EQ_INT(fetch(url, 5, &g), 1);
		CHECK(!g.ok && (strstr(g.err, "larger than 1 MiB") != NULL || strstr(g.err, "body too large") != NULL));
	}
	/* exactly 1 MiB is fine */
	huge[PACFETCH_MAX_BODY] = '\0';
	write_file(path, huge);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/close/huge.pac", srv.port);
	CHECK_EQ_INT(fetch(url, 5, &g), 1);
	CHECK(g.ok && g.len == PACFETCH_MAX_BODY);

	/* the whole fetch is bounded */
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/slow/p.pac", srv.port);
	double t0 = ev_time();
	CHECK_EQ_INT(fetch(url, 0.5, &g), 1);
	CHECK(!g.ok && strstr(g.err, "no answer within 0.5s") != NULL);
	CHECK(ev_time() - t0 < 2);

	/* cancelled: no callback */
	memset(&g, 0, sizeof(g));
	char err[200];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/slow/p.pac", srv.port);
	struct pacfetch *pf = pacfetch_start(loop, res, url, 5, "", got_cb, &g, err, sizeof(err));
	CHECK(pf != NULL);
	run_for(loop, 0.1);
	CHECK_EQ_INT(g.calls, 0);
	pacfetch_cancel(pf);
	run_for(loop, 0.2);
	CHECK_EQ_INT(g.calls, 0);

	int port = srv.port;
	pacserver_stop(&srv);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/len/p.pac", port);
	CHECK_EQ_INT(fetch(url, 5, &g), 1);
	CHECK(!g.ok && strstr(g.err, "cannot connect: Connection refused") != NULL);
	free(g.body);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	if (mkdtemp(dir) == NULL)
		return 1;
	loop = ev_loop_new(EVFLAG_AUTO);
	res = pacserver_resolver(loop);
	if (res == NULL)
		return 1;
	test_split();
	test_locate();
	test_file_paths();
	test_files();
	test_http();
	resolver_free(res);
	ev_loop_destroy(loop);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	return check_report();
}
