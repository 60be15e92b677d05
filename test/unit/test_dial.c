/* test_dial: the dialer against scripted proxies on loopback.
 *
 * Each scripted proxy is a forked child: it listens on one or two loopback addresses (and,
 * for a proxy given by name, answers DNS for it on UDP), takes the connections of its
 * script one after another, reports the request bytes each one brought through a pipe, and
 * answers as told: not at all, by closing, or with reply bytes (then echoes the tunnel
 * until the dialer closes).  The dialer runs on the parent's loop; each case checks the
 * outcome its done callback gets. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "httpc.h"
#include "config.h"
#include "dial.h"
#include "generation.h"
#include "log.h"

enum act {
	ACT_REPLY,     /* read the request, send the reply parts, then echo until the dialer closes */
	ACT_CLOSE,     /* read the request, close without a word */
	ACT_SILENT,    /* read the request, never answer */
	ACT_CLOSE_NOW, /* close as soon as accepted (an idle connection the proxy drops) */
};

struct conn_script {
	enum act act;
	const char *parts[3]; /* written one after another, gap_ms apart */
	size_t part_len[3];   /* 0: strlen */
	int gap_ms;
	int close_after;      /* close after the reply instead of echoing */
};

#define MAX_CONNS 4

struct script {
	int nconn;
	struct conn_script conn[MAX_CONNS];
	int two_addrs; /* listen on 127.0.0.1 and 127.0.0.2, same port */
	int dns;       /* answer A queries with those addresses */
};

struct proxy {
	pid_t pid;
	int report;        /* read end of the child's report */
	uint16_t port;
	uint16_t dns_port;
	char report_text[65536];
	size_t report_len;
	int nconns;        /* connections the child took */
};

static struct ev_loop *loop;
static ev_timer tick;

static void tick_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	(void)l;
	(void)w;
	(void)revents;
}

#define RUN_UNTIL(cond, secs)                                         \
	do {                                                          \
		ev_tstamp run_deadline_ = ev_time() + (secs);         \
		while (!(cond) && ev_time() < run_deadline_)          \
			ev_run(loop, EVRUN_ONCE);                     \
	} while (0)
#define RUN_FOR(secs) RUN_UNTIL(0, secs)

/* ---- the scripted proxy (child side) ---- */

static void write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n > 0) {
		ssize_t w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		c += w;
		n -= (size_t)w;
	}
}

/* Reads up to the blank line that ends the request (or EOF).  Returns the bytes read. */
static size_t read_request(int c, char *buf, size_t cap)
{
	size_t n = 0;
	while (n + 1 < cap) {
		struct pollfd pfd = {c, POLLIN, 0};
		if (poll(&pfd, 1, 10000) <= 0)
			break;
		ssize_t r = read(c, buf + n, cap - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
		buf[n] = '\0';
		if (strstr(buf, "\r\n\r\n") != NULL)
			break;
	}
	return n;
}

/* Until the dialer closes: echo what comes (or swallow it). */
static void hold(int c, int echo)
{
	char buf[16384];
	for (;;) {
		ssize_t r = read(c, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (echo)
			write_all(c, buf, (size_t)r);
	}
}

static void run_conn(int c, const struct conn_script *cs, int report)
{
	char req[8192];
	size_t n = 0;
	char head[32];

	if (cs->act != ACT_CLOSE_NOW)
		n = read_request(c, req, sizeof(req));
	int hl = snprintf(head, sizeof(head), "#conn %zu\n", n);
	write_all(report, head, (size_t)hl);
	write_all(report, req, n);
	switch (cs->act) {
	case ACT_CLOSE_NOW:
	case ACT_CLOSE:
		break;
	case ACT_SILENT:
		hold(c, 0);
		break;
	case ACT_REPLY:
		for (int i = 0; i < 3 && cs->parts[i] != NULL; i++) {
			if (i > 0 && cs->gap_ms > 0)
				usleep((useconds_t)cs->gap_ms * 1000);
			write_all(c, cs->parts[i], cs->part_len[i] ? cs->part_len[i] : strlen(cs->parts[i]));
		}
		if (!cs->close_after)
			hold(c, 1);
		break;
	}
	close(c);
}

/* Answers one DNS query: A with the given addresses, anything else with no records. */
static void dns_answer(int fd, const struct in_addr *addrs, int naddrs)
{
	uint8_t q[512], a[512];
	struct sockaddr_storage from;
	socklen_t fl = sizeof(from);
	ssize_t n = recvfrom(fd, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
	if (n < 12)
		return;
	size_t off = 12;
	while (off < (size_t)n && q[off] != 0)
		off += (size_t)q[off] + 1;
	off += 1 + 4;
	if (off > (size_t)n)
		return;
	int qtype = q[off - 4] << 8 | q[off - 3];
	memcpy(a, q, off);
	a[2] = 0x81; /* a response; recursion desired */
	a[3] = 0x80; /* recursion available; NOERROR */
	memset(a + 4, 0, 8);
	a[5] = 1;
	size_t len = off;
	int an = 0;
	for (int i = 0; qtype == 1 && i < naddrs; i++) {
		static const uint8_t rr[] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4};
		memcpy(a + len, rr, sizeof(rr));
		memcpy(a + len + sizeof(rr), &addrs[i], 4);
		len += sizeof(rr) + 4;
		an++;
	}
	a[7] = (uint8_t)an;
	(void)sendto(fd, a, len, 0, (struct sockaddr *)&from, fl);
}

static void child_main(const struct script *sc, const int *lfd, int nlfd, int dnsfd, int report)
{
	struct in_addr addrs[2];
	inet_pton(AF_INET, "127.0.0.1", &addrs[0]);
	inet_pton(AF_INET, "127.0.0.2", &addrs[1]);
	alarm(30); /* never outlive a test run that went wrong */
	for (int i = 0; i < sc->nconn; i++) {
		int c = -1;
		while (c < 0) {
			struct pollfd pfd[3];
			int n = 0;
			for (int k = 0; k < nlfd; k++)
				pfd[n++] = (struct pollfd){lfd[k], POLLIN, 0};
			if (dnsfd >= 0)
				pfd[n++] = (struct pollfd){dnsfd, POLLIN, 0};
			if (poll(pfd, (nfds_t)n, -1) < 0 && errno != EINTR)
				_exit(2);
			if (dnsfd >= 0 && (pfd[n - 1].revents & POLLIN))
				dns_answer(dnsfd, addrs, sc->two_addrs ? 2 : 1);
			for (int k = 0; k < nlfd && c < 0; k++)
				if (pfd[k].revents & POLLIN)
					c = accept(lfd[k], NULL, NULL);
		}
		run_conn(c, &sc->conn[i], report);
	}
	_exit(0);
}

/* ---- the scripted proxy (parent side) ---- */

static int listen_on(const char *ip, uint16_t port, uint16_t *bound, int type)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, type, 0);
	int one = 1;
	if (fd < 0)
		return -1;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	inet_pton(AF_INET, ip, &sin.sin_addr);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || (type == SOCK_STREAM && listen(fd, 8) < 0) ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) < 0) {
		close(fd);
		return -1;
	}
	*bound = ntohs(sin.sin_port);
	return fd;
}

/* A loopback port nobody listens on: bound for a moment, closed without listen(2). */
static uint16_t closed_port(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	uint16_t port = 0;
	int t = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	if (t >= 0 && bind(t, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    getsockname(t, (struct sockaddr *)&sin, &len) == 0)
		port = ntohs(sin.sin_port);
	if (t >= 0)
		close(t);
	return port;
}

static int proxy_start(struct proxy *px, const struct script *sc)
{
	int lfd[2], nlfd = 0, dnsfd = -1, rep[2];
	uint16_t port2;

	memset(px, 0, sizeof(*px));
	px->pid = -1;
	/* the second address takes the first one's port: try a few in case it is taken there */
	for (int attempt = 0; attempt < 8 && nlfd < 1 + sc->two_addrs; attempt++) {
		nlfd = 0;
		lfd[nlfd] = listen_on("127.0.0.1", 0, &px->port, SOCK_STREAM);
		if (lfd[nlfd++] < 0)
			return -1;
		if (sc->two_addrs) {
			lfd[nlfd] = listen_on("127.0.0.2", px->port, &port2, SOCK_STREAM);
			if (lfd[nlfd++] < 0) {
				close(lfd[0]);
				nlfd = 0;
			}
		}
	}
	if (nlfd < 1 + sc->two_addrs)
		return -1;
	if (sc->dns && (dnsfd = listen_on("127.0.0.1", 0, &px->dns_port, SOCK_DGRAM)) < 0)
		return -1;
	if (pipe(rep) < 0)
		return -1;
	fflush(NULL);
	px->pid = fork();
	if (px->pid == 0) {
		close(rep[0]);
		child_main(sc, lfd, nlfd, dnsfd, rep[1]);
	}
	/* the parent keeps no listener: once the child is gone, connections are refused */
	for (int k = 0; k < nlfd; k++)
		close(lfd[k]);
	if (dnsfd >= 0)
		close(dnsfd);
	close(rep[1]);
	px->report = rep[0];
	return px->pid < 0 ? -1 : 0;
}

/* Waits for the child (it ends when its script is through) and collects its report.
 * Returns 1 when it ended by itself, as it should. */
static int proxy_finish(struct proxy *px)
{
	int status = 0, ended = 0;
	for (int i = 0; i < 300 && !ended; i++) {
		pid_t w = waitpid(px->pid, &status, WNOHANG);
		if (w == px->pid)
			ended = 1;
		else
			usleep(10000);
	}
	if (!ended) {
		fprintf(stderr, "scripted proxy %ld did not finish its script\n", (long)px->pid);
		kill(px->pid, SIGKILL);
		waitpid(px->pid, &status, 0);
	}
	px->report_len = 0;
	for (;;) {
		ssize_t n = read(px->report, px->report_text + px->report_len, sizeof(px->report_text) - 1 - px->report_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		px->report_len += (size_t)n;
	}
	px->report_text[px->report_len] = '\0';
	close(px->report);
	px->nconns = 0;
	for (const char *p = px->report_text; (p = strstr(p, "#conn ")) != NULL; p++)
		px->nconns++;
	return ended && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* ---- the dialer's side ---- */

struct result {
	int calls;
	struct outcome o;
	ev_tstamp at;
};

static struct stream up_stream; /* the connection a dial makes, as a session owns it */

static void done_cb(struct dial *d, const struct outcome *o)
{
	struct result *r = d->data;
	r->calls++;
	r->o = *o;
	r->at = ev_time();
	/* the owner takes the connection over before returning (here: it stops watching) */
	if (o->stage == OUTCOME_OK)
		stream_watch(loop, &up_stream, 0);
}

static const char *getenv_none(const char *name)
{
	(void)name;
	return NULL;
}

/* A generation for the given -x URLs and options ("name", "value", ..., NULL). */
static struct generation *gen_make(const char *const *urls, int nurls, const char *const *opts)
{
	char err[CONFIG_ERR_MAX];
	struct config *cfg = malloc(sizeof(*cfg));
	if (cfg == NULL)
		return NULL;
	config_init(cfg);
	int bad = 0;
	bad |= config_set(cfg, "connect-timeout", "2", err, sizeof(err)) < 0;
	bad |= config_set(cfg, "reply-timeout", "5", err, sizeof(err)) < 0;
	for (int i = 0; i < nurls; i++)
		bad |= config_set(cfg, "proxy", urls[i], err, sizeof(err)) < 0;
	for (int i = 0; opts != NULL && opts[i] != NULL; i += 2)
		bad |= config_set(cfg, opts[i], opts[i + 1], err, sizeof(err)) < 0;
	if (bad || config_finish(cfg, getenv_none, err, sizeof(err)) != 0) {
		fprintf(stderr, "config: %s\n", err);
		config_free(cfg);
		free(cfg);
		return NULL;
	}
	struct generation *g = generation_new(loop, cfg, NULL, err, sizeof(err));
	if (g == NULL)
		fprintf(stderr, "generation: %s\n", err);
	return g;
}

static struct bufpool pool;

/* Dials target through gen and waits for the outcome. */
static void dial_run(struct dial *d, struct result *r, struct generation *g, struct bufpool *bp, const char *target)
{
	memset(r, 0, sizeof(*r));
	dial_start(d, loop, bp, g, "test", target, NULL, &up_stream, done_cb, r);
	CHECK_EQ_INT(r->calls, 0); /* never from dial_start */
	RUN_UNTIL(r->calls > 0, 15);
	CHECK_EQ_INT(r->calls, 1);
}

static int has(const struct proxy *px, const char *s)
{
	if (strstr(px->report_text, s) != NULL)
		return 1;
	fprintf(stderr, "the proxy did not receive \"%s\"; it got:\n%s\n", s, px->report_text);
	return 0;
}

/* One proxy at 127.0.0.1, the script's connections, the outcome of one dial to target. */
static void one(const char *what, const struct script *sc, const char *target, const char *const *opts,
		struct dial *d, struct result *r, struct proxy *px, struct generation **gp)
{
	char url[64];
	fprintf(stderr, "%s\n", what);
	if (proxy_start(px, sc) < 0) {
		CHECK(!"proxy");
		return;
	}
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", px->port);
	const char *urls[1] = {url};
	*gp = gen_make(urls, 1, opts);
	CHECK(*gp != NULL);
	if (*gp == NULL)
		return;
	dial_run(d, r, *gp, &pool, target);
}

static void finish(struct dial *d, struct proxy *px, struct generation *g)
{
	dial_stop(d);
	stream_close(loop, &up_stream); /* the owner's, after a success */
	CHECK(proxy_finish(px));
	generation_put(g);
	CHECK_EQ_INT(pool.in_use, 0);
}

static void check_outcome(const struct result *r, enum outcome_stage stage, int err, int status, const char *detail,
			  const char *reason)
{
	CHECK_EQ_INT(r->o.stage, stage);
	CHECK_EQ_INT(r->o.err, err);
	CHECK_EQ_INT(r->o.http_status, status);
	CHECK_EQ_STR(r->o.detail, detail);
	if (reason == NULL)
		CHECK(r->o.reason == NULL);
	else
		CHECK_EQ_STR(r->o.reason, reason);
}

static void test_refused(void)
{
	struct dial d = {.event = NULL}; /* dial_start keeps the observer: none here */
	struct result r;
	char url[64];
	fprintf(stderr, "refused\n");
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", closed_port());
	const char *urls[1] = {url};
	struct generation *g = gen_make(urls, 1, NULL);
	CHECK(g != NULL);
	if (g == NULL)
		return;
	dial_run(&d, &r, g, &pool, "example.com:443");
	check_outcome(&r, OUTCOME_UNREACHABLE, 0, 0, "", "proxy-unreachable");
	CHECK(dial_result(&d) != NULL && dial_result(&d)->stage == OUTCOME_UNREACHABLE);
	CHECK_EQ_STR(dial_state_name(&d), "done");
	/* a single proxy is not marked down: there is nothing to fail over to */
	CHECK(g->health.down_until[0] == 0);
	dial_stop(&d);
	stream_close(loop, &up_stream); /* the owner's, after a success */
	dial_stop(&d);
	stream_close(loop, &up_stream); /* the owner's, after a success */ /* twice is fine */
	generation_put(g);
	CHECK_EQ_INT(pool.in_use, 0);
}

static void test_silent(void)
{
	struct script sc = {.nconn = 1, .conn = {{.act = ACT_SILENT}}};
	const char *opts[] = {"reply-timeout", "0.3", NULL};
	struct dial d = {.event = NULL}; /* dial_start keeps the observer: none here */
	struct result r;
	struct proxy px;
	struct generation *g = NULL;
	ev_tstamp t0 = ev_time();
	one("silent proxy", &sc, "example.com:443", opts, &d, &r, &px, &g);
	if (g == NULL)
		return;
	check_outcome(&r, OUTCOME_REPLY_TIMEOUT, ETIMEDOUT, 0, "", "proxy-reply-timeout");
	CHECK(r.at - t0 >= 0.25);
	finish(&d, &px, g);
	CHECK_EQ_INT(px.nconns, 1);
	CHECK(has(&px, "CONNECT example.com:443 HTTP/1.1\r\n"));
}

/* The proxy closes before answering: the next address, then no proxy is left. */
static void test_early_close(void)
{
	struct dial d = {.event = NULL}; /* dial_start keeps the observer: none here */
	struct result r;
	struct proxy px;
	struct generation *g = NULL;

	/* one address */
	struct script sc1 = {.nconn = 1, .conn = {{.act = ACT_CLOSE}}};
	one("early close", &sc1, "example.com:443", NULL, &d, &r, &px, &g);
	if (g == NULL)
		return;
	check_outcome(&r, OUTCOME_UNREACHABLE, 0, 0, "", "proxy-unreachable");
	finish(&d, &px, g);
	CHECK_EQ_INT(px.nconns, 1);

	/* a name with two addresses: both close */
	char url[96], dns[64];
	struct script sc2 = {.nconn = 2, .conn = {{.act = ACT_CLOSE}, {.act = ACT_CLOSE}}, .two_addrs = 1, .dns = 1};
	fprintf(stderr, "early close, two addresses\n");
	if (proxy_start(&px, &sc2) < 0) {
		CHECK(!"proxy");
		return;
	}
	snprintf(url, sizeof(url), "http://proxy.socks2http.test:%u", px.port);
	snprintf(dns, sizeof(dns), "127.0.0.1:%u", px.dns_port);
	const char *urls[1] = {url};
	const char *opts[] = {"dns-servers", dns, NULL};
	g = gen_make(urls, 1, opts);
	CHECK(g != NULL);
	if (g == NULL)
		return;
	dial_run(&d, &r, g, &pool, "example.com:443");
	check_outcome(&r, OUTCOME_UNREACHABLE, 0, 0, "", "proxy-unreachable");
	finish(&d, &px, g);
	CHECK_EQ_INT(px.nconns, 2);

	/* the first address closes, the second answers */
	struct script sc3 = {.nconn = 2,
			     .conn = {{.act = ACT_CLOSE}, {.act = ACT_REPLY, .parts = {"HTTP/1.1 200 OK\r\n\r\n"}}},
			     .two_addrs = 1,
			     .dns = 1};
	fprintf(stderr, "early close, the next address answers\n");
	if (proxy_start(&px, &sc3) < 0) {
		CHECK(!"proxy");
		return;
	}
	snprintf(url, sizeof(url), "http://proxy.socks2http.test:%u", px.port);
	snprintf(dns, sizeof(dns), "127.0.0.1:%u", px.dns_port);
	g = gen_make(urls, 1, opts);
	CHECK(g != NULL);
	if (g == NULL)
		return;
	dial_run(&d, &r, g, &pool, "example.com:443");
	check_outcome(&r, OUTCOME_OK, 0, 200, "", NULL);
	finish(&d, &px, g);
	CHECK_EQ_INT(px.nconns, 2);
}

static void test_refusals(void)
{
	struct dial d = {.event = NULL}; /* dial_start keeps the observer: none here */
	struct result r;
	struct proxy px;
	struct generation *g = NULL;

	struct script s407 = {.nconn = 1,
			      .conn = {{.act = ACT_REPLY,
					.parts = {"HTTP/1.1 407 Proxy Authentication Required\r\n"
						  "Proxy-Authenticate: Basic realm=\"proxy\"\r\n"
						  "Content-Type: text/html\r\n"
						  "Content-Length: 31\r\n\r\n"
						  "<html>auth required</html>\r\n\r\n\r\n"}}}};
	one("407 with a body", &s407, "example.com:443", NULL, &d, &r, &px, &g);
	if (g == NULL)
		return;
	check_outcome(&r, OUTCOME_PROXY_REPLY, 0, 407, "", "proxy-auth-failed"); /* no credentials to give */
	finish(&d, &px, g);

	struct script s503 = {.nconn = 1,
			      .conn = {{.act = ACT_REPLY,
					.parts = {"HTTP/1.1 503 Service Unavailable\r\n"
						  "Server: squid/5.7\r\n"
						  "X-Squid-Error: ERR_CONNECT_FAIL 111\r\n"
						  "Content-Length: 5\r\n\r\n"
						  "oops\n"}}}};
	one("503 from squid", &s503, "example.com:443", NULL, &d, &r, &px, &g);
	if (g == NULL)
		return;
	check_outcome(&r, OUTCOME_PROXY_REPLY, 0, 503, "ERR_CONNECT_FAIL 111", "proxy-error");
	finish(&d, &px, g);

	struct script sbad = {.nconn = 1, .conn = {{.act = ACT_REPLY, .parts = {"SSH-2.0-OpenSSH_9.6\r\n\r\n"}}}};
	one("garbage status line", &sbad, "example.com:443", NULL, &d, &r, &px, &g);
	if (g == NULL)
		return;
	check_outcome(&r, OUTCOME_BAD_REPLY, EPROTO, 0, "", "bad-proxy-reply");
	finish(&d, &px, g);

	struct script scut = {.nconn = 1,
			      .conn = {{.act = ACT_REPLY, .parts = {"HTTP/1.1 200 Connection est"}, .close_after = 1}}};
	one("reply cut short", &scut, "example.com:443", NULL, &d, &r, &px, &g);
	if (g == NULL)
		return;
	check_outcome(&r, OUTCOME_BAD_REPLY, EPIPE, 0, "", "bad-proxy-reply");
	finish(&d, &px, g);
}

/* Reads n bytes from fd within a few seconds. */
static size_t read_some(int fd, char *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		struct pollfd pfd = {fd, POLLIN, 0};
		if (poll(&pfd, 1, 5000) <= 0)
			break;
		ssize_t r = read(fd, buf + got, n - got);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	return got;
}

static void test_success(void)
{
	struct dial d = {.event = NULL}; /* dial_start keeps the observer: none here */
	struct result r;
	struct proxy px;
	struct generation *g = NULL;
	struct buf left = {NULL, 0, 0};
	char echo[64];

	/* tunnel bytes in the same segment as the 200 */
	struct script s = {.nconn = 1,
			   .conn = {{.act = ACT_REPLY,
				     .parts = {"HTTP/1.1 200 Connection established\r\nVia: 1.1 test\r\n\r\nSSH-2.0-srv\r\n"}}}};
	one("200 and tunnel bytes in one segment", &s, "[2001:db8::1]:22", NULL, &d, &r, &px, &g);
	if (g == NULL)
		return;
	check_outcome(&r, OUTCOME_OK, 0, 200, "", NULL);
	char name[64];
	snprintf(name, sizeof(name), "127.0.0.1:%u", px.port);
	CHECK_EQ_STR(dial_proxy_name(&d), name);
	dial_take(&d, &left);
	CHECK(up_stream.fd >= 0);
	CHECK_EQ_INT(buf_len(&left), 13);
	CHECK(left.data != NULL && memcmp(left.data + left.start, "SSH-2.0-srv\r\n", 13) == 0);
	/* the client's reply fits ahead of it */
	CHECK_EQ_INT(buf_prepend(&pool, &left, "\x05\x00\x00\x04................\x00\x16", 22), 0);
	CHECK(memcmp(left.data + left.start + 22, "SSH-2.0-srv\r\n", 13) == 0);
	/* the stream is the tunnel: the proxy echoes */
	CHECK_EQ_INT(stream_write(&up_stream, "ping", 4), 4);
	CHECK_EQ_INT(read_some(up_stream.fd, echo, 4), 4);
	CHECK(memcmp(echo, "ping", 4) == 0);
	stream_close(loop, &up_stream);
	buf_release(&pool, &left, 1);
	finish(&d, &px, g);
	CHECK(has(&px, "CONNECT [2001:db8::1]:22 HTTP/1.1\r\nHost: [2001:db8::1]:22\r\n"));
	CHECK(has(&px, "User-Agent: socks2http/"));
	CHECK(strstr(px.report_text, "Proxy-Authorization") == NULL);

	/* 200 without tunnel bytes: an empty leftover */
	struct script s0 = {.nconn = 1, .conn = {{.act = ACT_REPLY, .parts = {"HTTP/1.0 200 OK\n\n"}}}};
	one("200 alone", &s0, "example.com:443", NULL, &d, &r, &px, &g);
	if (g == NULL)
		return;
	check_outcome(&r, OUTCOME_OK, 0, 200, "", NULL);
	dial_take(&d, &left);
	CHECK_EQ_INT(buf_len(&left), 0);
	stream_close(loop, &up_stream);
	buf_release(&pool, &left, 1);
	finish(&d, &px, g);

	/* more tunnel bytes than the buffer holds: the rest stays in the socket, in order */
	static char big[40000 + 64];
	size_t hl = (size_t)snprintf(big, sizeof(big), "HTTP/1.1 200 OK\r\n\r\n");
	for (size_t i = 0; i < 40000; i++)
		big[hl + i] = (char)('a' + i % 23);
	struct script sbig = {.nconn = 1, .conn = {{.act = ACT_REPLY, .parts = {big}, .part_len = {hl + 40000}}}};
	struct bufpool small;
	bufpool_init(&small, 4096, 2);
	fprintf(stderr, "200 and more tunnel bytes than a buffer\n");
	if (proxy_start(&px, &sbig) < 0) {
		CHECK(!"proxy");
		return;
	}
	char url[64];
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", px.port);
	const char *urls[1] = {url};
	g = gen_make(urls, 1, NULL);
	if (g == NULL) {
		CHECK(!"generation");
		return;
	}
	dial_run(&d, &r, g, &small, "example.com:443");
	check_outcome(&r, OUTCOME_OK, 0, 200, "", NULL);
	dial_take(&d, &left);
	size_t nl = buf_len(&left);
	CHECK(nl + 32 <= 4096);
	CHECK_EQ_INT(buf_prepend(&small, &left, "0123456789012345678901", 22), 0);
	static char rest[40000];
	memcpy(rest, left.data + left.start + 22, nl);
	size_t got = nl + read_some(up_stream.fd, rest + nl, 40000 - nl);
	CHECK_EQ_INT(got, 40000);
	CHECK(memcmp(rest, big + hl, 40000) == 0);
	stream_close(loop, &up_stream);
	buf_release(&small, &left, 1);
	dial_stop(&d);
	stream_close(loop, &up_stream); /* the owner's, after a success */
	CHECK(proxy_finish(&px));
	generation_put(g);
	CHECK_EQ_INT(small.in_use, 0);
	bufpool_destroy(&small);
}

static void test_interim(void)
{
	struct dial d = {.event = NULL}; /* dial_start keeps the observer: none here */
	struct result r;
	struct proxy px;
	struct generation *g = NULL;

	struct script s1 = {.nconn = 1,
			    .conn = {{.act = ACT_REPLY,
				      .parts = {"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 Connection established\r\n\r\n"}}}};
	one("100 then 200, one segment", &s1, "example.com:443", NULL, &d, &r, &px, &g);
	if (g == NULL)
		return;
	check_outcome(&r, OUTCOME_OK, 0, 200, "", NULL);
	finish(&d, &px, g);

	struct script s2 = {.nconn = 1,
			    .conn = {{.act = ACT_REPLY,
				      .parts = {"HTTP/1.1 100 Continue\r\n\r\n", "HTTP/1.1 200 Connection established\r\n\r\nxyz"},
				      .gap_ms = 50}}};
	one("100 then 200, two segments", &s2, "example.com:443", NULL, &d, &r, &px, &g);
	if (g == NULL)
		return;
	check_outcome(&r, OUTCOME_OK, 0, 200, "", NULL);
	struct buf left;
	dial_take(&d, &left);
	CHECK_EQ_INT(buf_len(&left), 3);
	stream_close(loop, &up_stream);
	buf_release(&pool, &left, 1);
	finish(&d, &px, g);

	struct script s3 = {.nconn = 1,
			    .conn = {{.act = ACT_REPLY,
				      .parts = {"HTTP/1.1 100 Continue\r\n\r\n", "HTTP/1.1 403 Forbidden\r\n\r\n"},
				      .gap_ms = 20}}};
	one("100 then 403", &s3, "example.com:443", NULL, &d, &r, &px, &g);
	if (g == NULL)
		return;
	check_outcome(&r, OUTCOME_PROXY_REPLY, 0, 403, "", "proxy-error");
	finish(&d, &px, g);

	/* an interim answer, then a final header that needs the room the interim one took:
	 * the dialer must make that room, not spin on a full buffer until the timeout */
	static char hdr[4200];
	size_t n = (size_t)snprintf(hdr, sizeof(hdr), "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nX-Pad: ");
	while (n < 25 + 4040)
		hdr[n++] = 'p';
	memcpy(hdr + n, "\r\n\r\n", 5);
	n += 4;
	struct script s4 = {.nconn = 1, .conn = {{.act = ACT_REPLY, .parts = {hdr}, .part_len = {n}}}};
	struct bufpool small;
	bufpool_init(&small, 4096, 2);
	fprintf(stderr, "100, then a final header as long as the buffer allows\n");
	if (proxy_start(&px, &s4) < 0) {
		CHECK(!"proxy");
		return;
	}
	char url[64];
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", px.port);
	const char *urls[1] = {url};
	const char *opts[] = {"reply-timeout", "1", NULL};
	g = gen_make(urls, 1, opts);
	if (g == NULL) {
		CHECK(!"generation");
		return;
	}
	unsigned iter0 = ev_iteration(loop);
	dial_run(&d, &r, g, &small, "example.com:443");
	unsigned iters = ev_iteration(loop) - iter0;
	check_outcome(&r, OUTCOME_OK, 0, 200, "", NULL);
	if (iters >= 1000)
		fprintf(stderr, "the loop went round %u times\n", iters);
	CHECK(iters < 1000);
	dial_stop(&d);
	stream_close(loop, &up_stream); /* the owner's, after a success */
	CHECK(proxy_finish(&px));
	generation_put(g);

	/* a final header that does not fit at all: a bad reply, at once */
	memcpy(hdr + n - 4, "pppppppppppppppppppppppppppppppppppppppppppppppppp\r\n\r\n", 55);
	n += 50;
	s4.conn[0].part_len[0] = n;
	fprintf(stderr, "100, then a final header longer than the buffer\n");
	if (proxy_start(&px, &s4) < 0) {
		CHECK(!"proxy");
		return;
	}
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", px.port);
	g = gen_make(urls, 1, opts);
	if (g == NULL) {
		CHECK(!"generation");
		return;
	}
	ev_tstamp t0 = ev_time();
	dial_run(&d, &r, g, &small, "example.com:443");
	CHECK_EQ_INT(r.o.stage, OUTCOME_BAD_REPLY);
	CHECK_EQ_INT(r.o.err, EPROTO);
	CHECK_EQ_STR(r.o.reason, "bad-proxy-reply");
	CHECK(r.at - t0 < 0.8); /* not the reply timeout */
	dial_stop(&d);
	stream_close(loop, &up_stream); /* the owner's, after a success */
	CHECK(proxy_finish(&px));
	generation_put(g);
	CHECK_EQ_INT(small.in_use, 0);
	bufpool_destroy(&small);
}

/* Two -x proxies: the first refuses, the second answers and takes over. */
static void test_failover(void)
{
	struct dial d = {.event = NULL}; /* dial_start keeps the observer: none here */
	struct result r;
	struct proxy px;
	char url0[64], url1[64], name1[64];
	struct script s = {.nconn = 2,
			   .conn = {{.act = ACT_REPLY, .parts = {"HTTP/1.1 200 OK\r\n\r\n"}},
				    {.act = ACT_REPLY, .parts = {"HTTP/1.1 200 OK\r\n\r\n"}}}};
	fprintf(stderr, "failover\n");
	if (proxy_start(&px, &s) < 0) {
		CHECK(!"proxy");
		return;
	}
	snprintf(url0, sizeof(url0), "http://127.0.0.1:%u", closed_port());
	snprintf(url1, sizeof(url1), "http://127.0.0.1:%u", px.port);
	snprintf(name1, sizeof(name1), "127.0.0.1:%u", px.port);
	const char *urls[2] = {url0, url1};
	struct generation *g = gen_make(urls, 2, NULL);
	if (g == NULL) {
		CHECK(!"generation");
		return;
	}
	dial_run(&d, &r, g, &pool, "example.com:443");
	check_outcome(&r, OUTCOME_OK, 0, 200, "", NULL);
	CHECK_EQ_STR(dial_proxy_name(&d), name1);
	CHECK_EQ_INT(d.tried, 2);
	ev_tstamp now = ev_now(loop);
	CHECK(g->health.down_until[0] > now);
	CHECK(g->health.down_until[0] <= now + 30.5); /* --proxy-retry's default */
	CHECK(g->health.down_until[1] == 0);
	CHECK_EQ_INT(route_first_healthy(&g->health, g->nupstreams, now), 1);
	dial_stop(&d);
	stream_close(loop, &up_stream); /* the owner's, after a success */

	/* the next tunnel goes to the healthy one first */
	dial_run(&d, &r, g, &pool, "example.com:443");
	check_outcome(&r, OUTCOME_OK, 0, 200, "", NULL);
	CHECK_EQ_INT(d.tried, 1);
	CHECK_EQ_STR(dial_proxy_name(&d), name1);
	dial_stop(&d);
	stream_close(loop, &up_stream); /* the owner's, after a success */
	CHECK(proxy_finish(&px));
	CHECK_EQ_INT(px.nconns, 2);
	generation_put(g);
}

/* The connection to the proxy opens before the client has named its target. */
static void test_early_connect(void)
{
	struct dial d = {.event = NULL}; /* dial_start keeps the observer: none here */
	struct result r;
	struct proxy px;
	char url[64];

	struct script s = {.nconn = 1, .conn = {{.act = ACT_REPLY, .parts = {"HTTP/1.1 200 OK\r\n\r\n"}}}};
	fprintf(stderr, "early connect\n");
	if (proxy_start(&px, &s) < 0) {
		CHECK(!"proxy");
		return;
	}
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", px.port);
	const char *urls[1] = {url};
	struct generation *g = gen_make(urls, 1, NULL);
	if (g == NULL) {
		CHECK(!"generation");
		return;
	}
	CHECK_EQ_INT(route_needs_target(g->cfg), 0);
	memset(&r, 0, sizeof(r));
	dial_start(&d, loop, &pool, g, "test", NULL, NULL, &up_stream, done_cb, &r);
	RUN_UNTIL(strcmp(dial_state_name(&d), "connected") == 0, 5);
	CHECK_EQ_STR(dial_state_name(&d), "connected");
	RUN_FOR(0.1); /* connected and waiting: nothing is sent, nothing ends */
	CHECK_EQ_STR(dial_state_name(&d), "connected");
	CHECK_EQ_INT(r.calls, 0);
	CHECK_EQ_INT(dial_set_target(&d, "late.example:8443"), 0);
	CHECK_EQ_INT(r.calls, 0); /* never from dial_set_target */
	RUN_UNTIL(r.calls > 0, 10);
	CHECK_EQ_INT(r.calls, 1);
	check_outcome(&r, OUTCOME_OK, 0, 200, "", NULL);
	dial_stop(&d);
	stream_close(loop, &up_stream); /* the owner's, after a success */
	CHECK(proxy_finish(&px));
	CHECK_EQ_INT(px.nconns, 1);
	CHECK(has(&px, "CONNECT late.example:8443 HTTP/1.1\r\nHost: late.example:8443\r\n"));
	generation_put(g);

	/* the proxy drops the idle early connection: the dial connects again once it has the target */
	struct script s2 = {.nconn = 2,
			    .conn = {{.act = ACT_CLOSE_NOW}, {.act = ACT_REPLY, .parts = {"HTTP/1.1 200 OK\r\n\r\n"}}}};
	fprintf(stderr, "early connect, dropped by the proxy\n");
	if (proxy_start(&px, &s2) < 0) {
		CHECK(!"proxy");
		return;
	}
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", px.port);
	g = gen_make(urls, 1, NULL);
	if (g == NULL) {
		CHECK(!"generation");
		return;
	}
	memset(&r, 0, sizeof(r));
	dial_start(&d, loop, &pool, g, "test", NULL, NULL, &up_stream, done_cb, &r);
	RUN_UNTIL(strcmp(dial_state_name(&d), "waiting") == 0 && d.up->fd < 0, 5);
	CHECK_EQ_STR(dial_state_name(&d), "waiting");
	CHECK_EQ_INT(r.calls, 0);
	dial_set_target(&d, "example.org:443");
	RUN_UNTIL(r.calls > 0, 10);
	CHECK_EQ_INT(r.calls, 1);
	check_outcome(&r, OUTCOME_OK, 0, 200, "", NULL);
	dial_stop(&d);
	stream_close(loop, &up_stream); /* the owner's, after a success */
	CHECK(proxy_finish(&px));
	CHECK_EQ_INT(px.nconns, 2);
	CHECK(has(&px, "#conn 0\n#conn "));
	CHECK(has(&px, "CONNECT example.org:443 HTTP/1.1\r\n"));
	generation_put(g);
}

static void test_auth(void)
{
	struct dial d = {.event = NULL}; /* dial_start keeps the observer: none here */
	struct result r;
	struct proxy px;
	char url[96];
	struct script s = {.nconn = 1, .conn = {{.act = ACT_REPLY, .parts = {"HTTP/1.1 200 OK\r\n\r\n"}}}};
	fprintf(stderr, "proxy credentials\n");
	if (proxy_start(&px, &s) < 0) {
		CHECK(!"proxy");
		return;
	}
	snprintf(url, sizeof(url), "http://user:pass@127.0.0.1:%u", px.port);
	const char *urls[1] = {url};
	struct generation *g = gen_make(urls, 1, NULL);
	if (g == NULL) {
		CHECK(!"generation");
		return;
	}
	g->upstreams[0].mem.scheme = HTTPC_AUTH_BASIC; /* as a 407 taught an earlier tunnel */
	dial_run(&d, &r, g, &pool, "example.com:443");
	check_outcome(&r, OUTCOME_OK, 0, 200, "", NULL);
	CHECK_EQ_INT(r.o.auth, HTTPC_AUTH_BASIC);
	dial_stop(&d);
	stream_close(loop, &up_stream); /* the owner's, after a success */
	CHECK(proxy_finish(&px));
	CHECK(has(&px, "\r\nProxy-Authorization: Basic dXNlcjpwYXNz\r\n"));
	/* the display name never shows the credentials */
	CHECK(strstr(dial_proxy_name(&d), "pass") == NULL);
	generation_put(g);
}

/* A 407: its body is read past and the next request, with the credentials it asked for,
 * goes on the same connection; a 407 that closes the connection: a new one. */
static void test_auth_rounds(void)
{
	struct dial d = {.event = NULL};
	struct result r;
	struct proxy px;
	char url[96];
	struct script same = {.nconn = 1,
			      .conn = {{.act = ACT_REPLY,
					.parts = {"HTTP/1.1 407 Proxy Authentication Required\r\n"
						  "Proxy-Authenticate: Basic realm=\"p\"\r\nTransfer-Encoding: chunked\r\n\r\n"
						  "5\r\nhello\r\n0\r\n\r\n",
						  "HTTP/1.1 200 Connection established\r\n\r\n"},
					.gap_ms = 150}}};
	struct script reconnect = {.nconn = 2,
				   .conn = {{.act = ACT_REPLY,
					     .parts = {"HTTP/1.1 407 Proxy Authentication Required\r\n"
						       "Proxy-Authenticate: Basic realm=\"p\"\r\nConnection: close\r\n\r\nbody"},
					     .close_after = 1},
					    {.act = ACT_REPLY, .parts = {"HTTP/1.1 200 Connection established\r\n\r\n"}}}};
	/* a chunk larger than what one read brings: the rest comes later */
	static char head[200], tail[600];
	char fill[501];
	memset(fill, 'x', 500);
	fill[500] = '\0';
	snprintf(head, sizeof(head), "HTTP/1.1 407 Proxy Authentication Required\r\n"
				     "Proxy-Authenticate: Basic realm=\"p\"\r\nTransfer-Encoding: chunked\r\n\r\n3e8\r\n");
	snprintf(tail, sizeof(tail), "%s\r\n0\r\n\r\n", fill);
	struct script split = {.nconn = 1,
			       .conn = {{.act = ACT_REPLY,
					 .parts = {head, tail, "HTTP/1.1 200 Connection established\r\n\r\n"},
					 .gap_ms = 150}}};
	static char first[800];
	snprintf(first, sizeof(first), "%s%s", head, fill);
	split.conn[0].parts[0] = first;
	split.conn[0].parts[1] = tail;
	const struct script *scripts[3] = {&same, &reconnect, &split};
	static const char *const names[3] = {"same connection", "new connection", "a chunk over two reads"};
	static const int conns[3] = {1, 2, 1};

	for (int i = 0; i < 3; i++) {
		fprintf(stderr, "407 rounds (%s)\n", names[i]);
		if (proxy_start(&px, scripts[i]) < 0) {
			CHECK(!"proxy");
			return;
		}
		snprintf(url, sizeof(url), "http://user:pass@127.0.0.1:%u", px.port);
		const char *urls[1] = {url};
		struct generation *g = gen_make(urls, 1, NULL);
		if (g == NULL) {
			CHECK(!"generation");
			return;
		}
		dial_run(&d, &r, g, &pool, "example.com:443");
		check_outcome(&r, OUTCOME_OK, 0, 200, "", NULL);
		CHECK_EQ_INT(r.o.auth, HTTPC_AUTH_BASIC);
		CHECK_EQ_INT(g->upstreams[0].mem.scheme, HTTPC_AUTH_BASIC); /* learned for the next tunnel */
		if (i == 0) { /* this proxy records the first request and echoes what follows its answers:
			       * the second request, with the credentials, on the same connection */
			struct buf left = {NULL, 0, 0};
			char got[1024];
			size_t n = 0;
			dial_take(&d, &left);
			n = buf_len(&left) < sizeof(got) - 1 ? buf_len(&left) : sizeof(got) - 1;
			if (n > 0)
				memcpy(got, left.data + left.start, n);
			buf_release(&pool, &left, 1);
			for (int tries = 0; tries < 40 && n < sizeof(got) - 1; tries++) {
				struct pollfd pfd = {up_stream.fd, POLLIN, 0};
				if (strstr((got[n] = '\0', got), "\r\n\r\n") != NULL || poll(&pfd, 1, 50) < 0)
					break;
				ssize_t k = recv(up_stream.fd, got + n, sizeof(got) - 1 - n, MSG_DONTWAIT);
				if (k > 0)
					n += (size_t)k;
			}
			got[n] = '\0';
			CHECK(strstr(got, "CONNECT example.com:443 HTTP/1.1\r\n") != NULL);
			CHECK(strstr(got, "\r\nProxy-Authorization: Basic dXNlcjpwYXNz\r\n") != NULL);
		}
		dial_stop(&d);
		stream_close(loop, &up_stream);
		CHECK(proxy_finish(&px));
		CHECK_EQ_INT(px.nconns, conns[i]);
		if (i == 1)
			CHECK(has(&px, "\r\nProxy-Authorization: Basic dXNlcjpwYXNz\r\n"));
		generation_put(g);
	}
}

/* Our own memory running out is our failure, not the proxy's: the dial reports it as
 * local, marks no proxy down and tries no other address or proxy.  (The relay buffers'
 * size makes malloc fail here.) */
static void test_local_out_of_memory(void)
{
	struct dial d = {.event = NULL}; /* dial_start keeps the observer: none here */
	struct result r;
	struct proxy px;
	struct bufpool huge;
	char url[64];
	bufpool_init(&huge, (size_t)1 << 50, 0);
	struct script s = {.nconn = 1, .conn = {{.act = ACT_REPLY, .parts = {"HTTP/1.1 200 OK\r\n\r\n"}}}};
	fprintf(stderr, "no memory for the proxy's answer\n");
	if (proxy_start(&px, &s) < 0) {
		CHECK(!"proxy");
		return;
	}
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", px.port);
	const char *urls[2] = {url, "http://127.0.0.1:1"};
	struct generation *g = gen_make(urls, 2, NULL);
	if (g == NULL) {
		CHECK(!"generation");
		return;
	}
	dial_run(&d, &r, g, &huge, "example.com:443");
	check_outcome(&r, OUTCOME_LOCAL, ENOMEM, 0, "", "out-of-memory");
	CHECK(g->health.down_until[0] == 0 && g->health.down_until[1] == 0);
	CHECK_EQ_INT(d.tried, 1);
	dial_stop(&d);
	CHECK(proxy_finish(&px));
	generation_put(g);
	bufpool_destroy(&huge);
}

#if defined(__SANITIZE_ADDRESS__)
/* test_local_out_of_memory wants malloc to say no, not AddressSanitizer to stop the test */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "allocator_may_return_null=1";
}
#endif

/* dial_start_connect: done once the proxy's connection is up, nothing sent; what the owner
 * then writes is the first thing the proxy reads. */
static void test_connect_only(void)
{
	struct dial d = {.event = NULL}; /* dial_start keeps the observer: none here */
	struct result r;
	struct proxy px;
	char url[64], echo[8];

	struct script s = {.nconn = 1, .conn = {{.act = ACT_REPLY, .parts = {"HTTP/1.1 200 OK\r\n\r\n"}}}};
	fprintf(stderr, "connect only\n");
	if (proxy_start(&px, &s) < 0) {
		CHECK(!"proxy");
		return;
	}
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", px.port);
	const char *urls[1] = {url};
	struct generation *g = gen_make(urls, 1, NULL);
	if (g == NULL) {
		CHECK(!"generation");
		return;
	}
	memset(&r, 0, sizeof(r));
	dial_start_connect(&d, loop, &pool, g, "test", "origin.example:80", NULL, &up_stream, done_cb, &r);
	CHECK_EQ_INT(r.calls, 0); /* never from dial_start_connect */
	RUN_UNTIL(r.calls > 0, 5);
	CHECK_EQ_INT(r.calls, 1);
	check_outcome(&r, OUTCOME_OK, 0, 0, "", NULL);
	struct buf left = {NULL, 0, 0};
	dial_take(&d, &left);
	CHECK_EQ_INT(buf_len(&left), 0);
	dial_stop(&d);
	static const char req[] = "GET http://origin.example/ HTTP/1.1\r\nHost: origin.example\r\n\r\n";
	CHECK_EQ_INT(stream_write(&up_stream, req, sizeof(req) - 1), (long)sizeof(req) - 1);
	CHECK_EQ_INT(read_some(up_stream.fd, echo, 8), 8);
	CHECK(memcmp(echo, "HTTP/1.1", 8) == 0);
	stream_close(loop, &up_stream);
	CHECK(proxy_finish(&px));
	CHECK(has(&px, "GET http://origin.example/ HTTP/1.1\r\n"));
	CHECK(strstr(px.report_text, "CONNECT") == NULL);
	generation_put(g);
}

/* A listening socket on addr (AF_INET or AF_INET6 loopback), its port in *port. */
static int listener(int family, uint16_t *port)
{
	struct sockaddr_storage ss;
	socklen_t len = family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = (sa_family_t)family;
	if (family == AF_INET)
		inet_pton(AF_INET, "127.0.0.1", &((struct sockaddr_in *)&ss)->sin_addr);
	else
		((struct sockaddr_in6 *)&ss)->sin6_addr = in6addr_loopback;
	int fd = socket(family, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 8) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port : ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
}

static void plan_run(struct dial *d, struct result *r, struct generation *g, const char *target,
		     const struct route_plan *plan)
{
	memset(r, 0, sizeof(*r));
	dial_start(d, loop, &pool, g, "test", target, plan, &up_stream, done_cb, r);
	CHECK_EQ_INT(r->calls, 0); /* never from dial_start, also for a block */
	RUN_UNTIL(r->calls > 0, 15);
	CHECK_EQ_INT(r->calls, 1);
}

/* Direct steps: connected to the target itself, no CONNECT; each failure as the outcome
 * the client's reply is made from; a block opens nothing; mixed failover plans. */
static void test_direct(void)
{
	struct dial d = {.event = NULL}; /* dial_start keeps the observer: none here */
	struct result r;
	char url[64], target[64];
	uint16_t port6 = 0, port = 0;
	fprintf(stderr, "direct\n");
	int lfd = listener(AF_INET, &port);
	CHECK(lfd >= 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", closed_port()); /* a dead proxy */
	const char *urls[1] = {url};
	const char *opts[] = {"dns-servers", "127.0.0.1:9", "dns-timeout", "0.2", NULL};
	struct generation *g = gen_make(urls, 1, opts);
	if (g == NULL || lfd < 0) {
		CHECK(!"setup");
		return;
	}
	struct route_plan direct = {.n = 1, .idx = {ROUTE_DIRECT}, .rule = -1};

	snprintf(target, sizeof(target), "127.0.0.1:%u", port);
	plan_run(&d, &r, g, target, &direct);
	check_outcome(&r, OUTCOME_OK, 0, 0, "", NULL);
	CHECK_EQ_STR(dial_proxy_name(&d), "direct");
	int peer = accept(lfd, NULL, NULL);
	CHECK(peer >= 0);
	CHECK_EQ_INT(write(up_stream.fd, "hi", 2), 2); /* the stream is the target's */
	char buf[4] = "";
	CHECK_EQ_INT(read(peer, buf, sizeof(buf)), 2);
	CHECK(memcmp(buf, "hi", 2) == 0);
	close(peer);
	dial_stop(&d);
	stream_close(loop, &up_stream);

	int l6 = listener(AF_INET6, &port6);
	if (l6 >= 0) { /* an IPv6 literal connects at once, brackets and all */
		snprintf(target, sizeof(target), "[::1]:%u", port6);
		plan_run(&d, &r, g, target, &direct);
		check_outcome(&r, OUTCOME_OK, 0, 0, "", NULL);
		dial_stop(&d);
		stream_close(loop, &up_stream);
		close(l6);
	}

	snprintf(target, sizeof(target), "127.0.0.1:%u", closed_port());
	plan_run(&d, &r, g, target, &direct);
	check_outcome(&r, OUTCOME_TARGET, ECONNREFUSED, 0, "", "target-unreachable");
	dial_stop(&d);

	/* a name that cannot be resolved (the DNS server refuses): the name was not found */
	plan_run(&d, &r, g, "nowhere.invalid:80", &direct);
	check_outcome(&r, OUTCOME_TARGET, ENOENT, 0, "", "target-unreachable");
	dial_stop(&d);

	struct route_plan block = {.kind = ROUTE_BLOCK, .rule = 0};
	plan_run(&d, &r, g, "example.com:443", &block);
	check_outcome(&r, OUTCOME_BLOCKED, EACCES, 0, "", "blocked");
	dial_stop(&d);

	/* a dead proxy, then direct (a PAC's "PROXY dead:1; DIRECT") */
	struct route_plan mixed = {.n = 2, .idx = {0, ROUTE_DIRECT}, .rule = -1};
	snprintf(target, sizeof(target), "127.0.0.1:%u", port);
	plan_run(&d, &r, g, target, &mixed);
	check_outcome(&r, OUTCOME_OK, 0, 0, "", NULL);
	CHECK_EQ_STR(dial_proxy_name(&d), "direct");
	dial_stop(&d);
	stream_close(loop, &up_stream);
	peer = accept(lfd, NULL, NULL);
	CHECK(peer >= 0);
	if (peer >= 0)
		close(peer);

	/* direct refused, then the dead proxy: the proxy's failure is the last word */
	struct route_plan mixed2 = {.n = 2, .idx = {ROUTE_DIRECT, 0}, .rule = -1};
	snprintf(target, sizeof(target), "127.0.0.1:%u", closed_port());
	plan_run(&d, &r, g, target, &mixed2);
	CHECK(r.o.stage == OUTCOME_TARGET || r.o.stage == OUTCOME_UNREACHABLE);
	dial_stop(&d);
	close(lfd);
	generation_put(g);
	CHECK_EQ_INT(pool.in_use, 0);
}

/* A chain of two proxies: the first is asked to CONNECT to the second, the second (through
 * the first) to the target, each with its own credentials. */
static void test_chain(void)
{
	struct dial d = {.event = NULL}; /* dial_start keeps the observer: none here */
	struct result r;
	struct proxy px;
	char url0[64], url1[80], want[96];
	/* the first proxy answers both requests: its own 200, then (as if from the second
	 * proxy through the tunnel) the second 200 */
	struct script s = {.nconn = 1,
			   .conn = {{.act = ACT_REPLY,
				     .parts = {"HTTP/1.1 200 OK\r\n\r\n", "HTTP/1.1 200 Connection established\r\n\r\nbanner"},
				     .gap_ms = 100}}};
	fprintf(stderr, "chain\n");
	if (proxy_start(&px, &s) < 0) {
		CHECK(!"proxy");
		return;
	}
	uint16_t second = closed_port();
	snprintf(url0, sizeof(url0), "http://first:pw1@127.0.0.1:%u", px.port);
	snprintf(url1, sizeof(url1), "http://second:pw2@127.0.0.2:%u", second);
	const char *urls[2] = {url0, url1};
	struct generation *g = gen_make(urls, 2, NULL);
	if (g == NULL) {
		CHECK(!"generation");
		return;
	}
	g->upstreams[0].mem.scheme = g->upstreams[1].mem.scheme = HTTPC_AUTH_BASIC;
	struct route_plan chain = {.kind = ROUTE_CHAIN, .n = 2, .idx = {0, 1}, .rule = -1};
	plan_run(&d, &r, g, "origin.example:443", &chain);
	check_outcome(&r, OUTCOME_OK, 0, 200, "", NULL);
	snprintf(want, sizeof(want), "127.0.0.2:%u", second);
	CHECK_EQ_STR(dial_proxy_name(&d), want);
	struct buf left = {NULL, 0, 0};
	dial_take(&d, &left);
	CHECK(buf_len(&left) == 6 && memcmp(left.data + left.start, "banner", 6) == 0);
	buf_release(&pool, &left, 1);
	dial_stop(&d);
	stream_close(loop, &up_stream);
	CHECK(proxy_finish(&px));
	snprintf(want, sizeof(want), "CONNECT 127.0.0.2:%u HTTP/1.1\r\n", second);
	CHECK(has(&px, want));
	CHECK(has(&px, "Proxy-Authorization: Basic Zmlyc3Q6cHcx\r\n")); /* first:pw1 */
	generation_put(g);
	CHECK_EQ_INT(pool.in_use, 0);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	log_set_level(LOG_LVL_ERROR); /* the failures these tests provoke are logged at warn */
	loop = ev_loop_new(EVFLAG_AUTO); /* not the default loop: that one reaps every child */
	ev_timer_init(&tick, tick_cb, 0.05, 0.05);
	ev_timer_start(loop, &tick);
	bufpool_init(&pool, 16384, 4);

	test_refused();
	test_silent();
	test_early_close();
	test_refusals();
	test_success();
	test_interim();
	test_failover();
	test_early_connect();
	test_auth();
	test_auth_rounds();
	test_local_out_of_memory();
	test_connect_only();
	test_direct();
	test_chain();

	bufpool_destroy(&pool);
	ev_timer_stop(loop, &tick);
	ev_loop_destroy(loop);
	return check_report();
}
