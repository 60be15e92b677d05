/* test_front_http: the HTTP client's side of the port: what each request becomes (CONNECT,
 * forward, the PAC file, 400 for origin form naming another host, 404/405), the Basic
 * login of --socks-auth (407 with Proxy-Authenticate), a head split at every byte, and the
 * dial outcome -> HTTP status table next to the SOCKS one. */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "front.h"
#include "front_http.h"
#include "log.h"
#include "socks.h"

static enum front_http_event feed(struct front_http *f, const struct config *cfg, const char *s, size_t *used,
				  char *target)
{
	const char *reason = NULL;
	return front_http_feed(f, cfg, s, strlen(s), 0, used, target, HTTPREQ_HOST_MAX + 10, &reason);
}

static int out_starts(const struct front_http *f, const char *want)
{
	return front_http_out_len(f) >= strlen(want) && memcmp(front_http_out(f), want, strlen(want)) == 0;
}

static int out_has(const struct front_http *f, const char *want)
{
	return memmem(front_http_out(f), front_http_out_len(f), want, strlen(want)) != NULL;
}

static void test_requests(const struct config *cfg)
{
	struct front_http f;
	char target[HTTPREQ_HOST_MAX + 10];
	size_t used;
	const char *c = "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\nEARLY";

	front_http_init(&f, ACCESS_ALLOW, 1080, "test");
	/* split at every byte: nothing until the blank line */
	for (size_t n = 1; n < strlen(c) - 5; n++) {
		const char *reason = NULL;
		CHECK_EQ_INT(front_http_feed(&f, cfg, c, n, 0, &used, target, sizeof(target), &reason), FRONT_HTTP_MORE);
	}
	CHECK_EQ_INT(feed(&f, cfg, c, &used, target), FRONT_HTTP_CONNECT);
	CHECK_EQ_INT(used, strlen(c) - 5);
	CHECK_EQ_STR(target, "example.com:443");

	front_http_init(&f, ACCESS_ALLOW, 1080, "test");
	CHECK_EQ_INT(feed(&f, cfg, "GET http://[::1]:8080/x HTTP/1.1\r\n\r\n", &used, target), FRONT_HTTP_FORWARD);
	CHECK_EQ_STR(target, "[::1]:8080");
	CHECK_EQ_INT(front_http_out_len(&f), 0);

	front_http_init(&f, ACCESS_ALLOW, 1080, "test");
	CHECK_EQ_INT(feed(&f, cfg, "GET /proxy.pac HTTP/1.1\r\nHost: localhost:1080\r\n\r\n", &used, target),
		     FRONT_HTTP_ANSWER);
	CHECK(out_starts(&f, "HTTP/1.1 200 OK\r\n"));
	CHECK(out_has(&f, "Content-Type: application/x-ns-proxy-autoconfig\r\n"));
	CHECK(out_has(&f, "return \"PROXY 127.0.0.1:1080; SOCKS5 127.0.0.1:1080\";"));
	front_http_init(&f, ACCESS_ALLOW, 1080, "test");
	CHECK_EQ_INT(feed(&f, cfg, "HEAD /proxy.pac HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", &used, target),
		     FRONT_HTTP_ANSWER);
	CHECK(!out_has(&f, "FindProxyForURL")); /* HEAD: no body */

	front_http_init(&f, ACCESS_ALLOW, 1080, "test");
	CHECK_EQ_INT(feed(&f, cfg, "GET /proxy.pac HTTP/1.1\r\nHost: evil.example\r\n\r\n", &used, target), FRONT_HTTP_FAIL);
	CHECK(out_starts(&f, "HTTP/1.1 400 Bad Request\r\n"));
	CHECK(out_has(&f, "Connection: close\r\n"));
	CHECK(!out_has(&f, "FindProxyForURL"));
	front_http_init(&f, ACCESS_ALLOW, 1080, "test");
	CHECK_EQ_INT(feed(&f, cfg, "GET /x HTTP/1.1\r\nHost: localhost\r\n\r\n", &used, target), FRONT_HTTP_FAIL);
	CHECK(out_starts(&f, "HTTP/1.1 404 "));
	front_http_init(&f, ACCESS_ALLOW, 1080, "test");
	CHECK_EQ_INT(feed(&f, cfg, "POST /proxy.pac HTTP/1.1\r\nHost: localhost\r\n\r\n", &used, target), FRONT_HTTP_FAIL);
	CHECK(out_starts(&f, "HTTP/1.1 405 "));
	front_http_init(&f, ACCESS_ALLOW, 1080, "test");
	CHECK_EQ_INT(feed(&f, cfg, "POST http://h/ HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", &used, target),
		     FRONT_HTTP_FAIL);
	CHECK(out_starts(&f, "HTTP/1.1 400 "));
	front_http_init(&f, ACCESS_ALLOW, 1080, "test");
	const char *reason = NULL;
	CHECK_EQ_INT(front_http_feed(&f, cfg, "GET http://h/ HTTP/1.1\r\nX: y", 28, 1, &used, target, sizeof(target),
				     &reason),
		     FRONT_HTTP_FAIL); /* the buffer is full and the head has not ended */
	CHECK(out_starts(&f, "HTTP/1.1 431 "));

	front_http_init(&f, ACCESS_DENY, 1080, "test");
	CHECK_EQ_INT(feed(&f, cfg, "CONNECT a:1 HTTP/1.1\r\n\r\n", &used, target), FRONT_HTTP_FAIL);
	CHECK(out_starts(&f, "HTTP/1.1 403 "));
	front_http_init(&f, ACCESS_GONE, 1080, "test"); /* gone before its owner was known: not served */
	CHECK_EQ_INT(feed(&f, cfg, "GET http://h/ HTTP/1.1\r\n\r\n", &used, target), FRONT_HTTP_FAIL);
	CHECK(out_starts(&f, "HTTP/1.1 403 "));
	front_http_init(&f, ACCESS_ERROR, 1080, "test");
	CHECK_EQ_INT(feed(&f, cfg, "CONNECT a:1 HTTP/1.1\r\n\r\n", &used, target), FRONT_HTTP_FAIL);
	CHECK(out_starts(&f, "HTTP/1.1 503 "));
}

static void test_login(void)
{
	struct config cfg;
	static struct auth_user users[1] = {{"alice", "secret"}};
	struct front_http f;
	char target[HTTPREQ_HOST_MAX + 10];
	size_t used;

	config_init(&cfg);
	cfg.auth = users;
	cfg.nauth = 1;
	front_http_init(&f, ACCESS_AUTH, 1080, "test");
	CHECK_EQ_INT(feed(&f, &cfg, "CONNECT a:1 HTTP/1.1\r\n\r\n", &used, target), FRONT_HTTP_FAIL);
	CHECK(out_starts(&f, "HTTP/1.1 407 Proxy Authentication Required\r\n"));
	CHECK(out_has(&f, "Proxy-Authenticate: Basic realm=\"socks2http\"\r\n"));
	front_http_init(&f, ACCESS_AUTH, 1080, "test");
	/* alice:wrong */
	CHECK_EQ_INT(feed(&f, &cfg, "GET http://h/ HTTP/1.1\r\nProxy-Authorization: Basic YWxpY2U6d3Jvbmc=\r\n\r\n", &used,
			  target),
		     FRONT_HTTP_FAIL);
	CHECK(out_starts(&f, "HTTP/1.1 407 "));
	front_http_init(&f, ACCESS_AUTH, 1080, "test");
	/* alice:secret */
	CHECK_EQ_INT(feed(&f, &cfg, "GET http://h/ HTTP/1.1\r\nProxy-Authorization: Basic YWxpY2U6c2VjcmV0\r\n\r\n", &used,
			  target),
		     FRONT_HTTP_FORWARD);
	front_http_init(&f, ACCESS_AUTH, 1080, "test"); /* the PAC file needs no login: it holds no secret */
	CHECK_EQ_INT(feed(&f, &cfg, "GET /proxy.pac HTTP/1.1\r\nHost: localhost\r\n\r\n", &used, target),
		     FRONT_HTTP_ANSWER);
	cfg.auth = NULL;
	cfg.nauth = 0;
	config_free(&cfg);
}

static void test_status(void)
{
	static const struct {
		enum outcome_stage stage;
		int err, http;
		const char *detail;
		int want;
	} cases[] = {
		{OUTCOME_OK, 0, 200, "", 200},
		{OUTCOME_LOCAL, ENOMEM, 0, "", 503},
		{OUTCOME_LOCAL, EMFILE, 0, "", 503},
		{OUTCOME_LOCAL, ENOENT, 0, "", 502},
		{OUTCOME_UNREACHABLE, 0, 0, "", 502},
		{OUTCOME_BAD_REPLY, EPROTO, 0, "", 502},
		{OUTCOME_REPLY_TIMEOUT, ETIMEDOUT, 0, "", 504},
		{OUTCOME_PROXY_REPLY, 0, 403, "", 403},
		{OUTCOME_PROXY_REPLY, 0, 407, "", 403},
		{OUTCOME_PROXY_REPLY, 0, 504, "", 504},
		{OUTCOME_PROXY_REPLY, 0, 503, "ERR_CONNECT_FAIL 110", 504},
		{OUTCOME_PROXY_REPLY, 0, 503, "ERR_CONNECT_FAIL 111", 502},
		{OUTCOME_PROXY_REPLY, 0, 503, "ERR_DNS_FAIL 0", 502},
		{OUTCOME_PROXY_REPLY, 0, 500, "", 502},
		{OUTCOME_PROXY_REPLY, 0, 400, "", 502},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct outcome o = {cases[i].stage, cases[i].err, cases[i].http, "", "x", 0, 0};
		const char *text = NULL;
		snprintf(o.detail, sizeof(o.detail), "%s", cases[i].detail);
		int got = front_http_status(&o, &text);
		if (got != cases[i].want)
			fprintf(stderr, "case %zu: %d, want %d\n", i, got, cases[i].want);
		CHECK_EQ_INT(got, cases[i].want);
		CHECK(text != NULL && text[0] != '\0');
		/* the same meaning as the SOCKS reply: success only for success */
		CHECK_EQ_INT(got == 200, front_socks5_rep(&o) == SOCKS5_REP_SUCCEEDED);
	}
	struct front_http f;
	struct outcome ok = {OUTCOME_OK, 0, 200, "", NULL, 0, 0};
	front_http_init(&f, ACCESS_ALLOW, 1080, "test");
	CHECK_EQ_INT(front_http_reply(&f, &ok, "a:1"), 200);
	CHECK(front_http_out_len(&f) == 39 && out_starts(&f, "HTTP/1.1 200 Connection established\r\n\r\n"));
	struct outcome down = {OUTCOME_UNREACHABLE, 0, 0, "", "proxy-unreachable", 0, 0};
	front_http_init(&f, ACCESS_ALLOW, 1080, "test");
	CHECK_EQ_INT(front_http_reply(&f, &down, "a:1"), 502);
	CHECK(out_starts(&f, "HTTP/1.1 502 Bad Gateway\r\n"));
	CHECK(out_has(&f, "Connection: close\r\n"));
	CHECK(out_has(&f, "a:1: no upstream proxy could be reached"));
	front_http_sent(&f, 13);
	CHECK(out_starts(&f, "Bad Gateway"));
}

int main(void)
{
	struct config cfg;

	log_set_level(LOG_LVL_WARN);
	config_init(&cfg);
	test_requests(&cfg);
	test_login();
	test_status();
	config_free(&cfg);
	return check_report();
}
