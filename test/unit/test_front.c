/* test_front: the client's protocol as the session drives it: SOCKS5 greeting, RFC 1929
 * login and request fed whole, coalesced and split at every byte; the reply queue keeping
 * every message in order; SOCKS4/4a; unsupported commands; the outcome -> reply table. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "front.h"
#include "log.h"

/* A byte string under construction. */
struct msg {
	uint8_t b[1200];
	size_t n;
};

static void put(struct msg *m, const void *p, size_t n)
{
	memcpy(m->b + m->n, p, n);
	m->n += n;
}

static void put_str(struct msg *m, const char *s)
{
	put(m, s, strlen(s));
}

#define PUT(m, lit) put((m), (lit), sizeof(lit) - 1)

/* 05 01 00 03 LEN NAME PORT */
static void put_request5(struct msg *m, int cmd, const char *name, uint16_t port)
{
	uint8_t h[5] = {5, (uint8_t)cmd, 0, 3, (uint8_t)strlen(name)};
	uint8_t p[2] = {(uint8_t)(port >> 8), (uint8_t)port};
	put(m, h, sizeof(h));
	put_str(m, name);
	put(m, p, 2);
}

/* 01 ULEN USER PLEN PASS */
static void put_login(struct msg *m, uint8_t ver, const char *user, const char *pass)
{
	uint8_t v = ver, ul = (uint8_t)strlen(user), pl = (uint8_t)strlen(pass);
	put(m, &v, 1);
	put(m, &ul, 1);
	put_str(m, user);
	put(m, &pl, 1);
	put_str(m, pass);
}

/* What one feed returned. */
struct fed {
	enum front_event ev;
	size_t used;
	char target[SOCKS_NAME_MAX + 10];
	const char *reason;
};

/* front_feed on an exact-size heap copy, so ASan reports any read past len. */
static struct fed feed(struct front *f, const struct config *cfg, const uint8_t *buf, size_t len)
{
	struct fed r;
	uint8_t *copy = malloc(len ? len : 1);
	if (copy == NULL)
		abort();
	memcpy(copy, buf, len);
	memset(&r, 0, sizeof(r));
	r.used = 0xdead;
	r.reason = NULL;
	r.ev = front_feed(f, cfg, copy, len, &r.used, r.target, sizeof(r.target), &r.reason);
	free(copy);
	return r;
}

/* The session's way: bytes arrive in chunks ending at the given offsets; what front did not
 * use stays buffered and is fed again with the next chunk.  Returns the first event that is
 * not FRONT_MORE (or the last FRONT_MORE); *fed_to is how many bytes had arrived then and
 * *used_total how many front has consumed in all. */
static struct fed feed_chunks(struct front *f, const struct config *cfg, const struct msg *m, const size_t *ends,
			      size_t nends, size_t *fed_to, size_t *used_total)
{
	struct fed r;
	size_t start = 0;
	memset(&r, 0, sizeof(r));
	for (size_t i = 0; i < nends; i++) {
		r = feed(f, cfg, m->b + start, ends[i] - start);
		if (r.used > ends[i] - start) {
			fprintf(stderr, "feed_chunks: used %zu of %zu\n", r.used, ends[i] - start);
			break;
		}
		start += r.used;
		*fed_to = ends[i];
		if (r.ev != FRONT_MORE)
			break;
	}
	*used_total = start;
	return r;
}

static int out_is(const struct front *f, const void *want, size_t n)
{
	if (front_out_len(f) == n && memcmp(front_out(f), want, n) == 0)
		return 1;
	fprintf(stderr, "front out (%zu bytes):", front_out_len(f));
	for (size_t i = 0; i < front_out_len(f); i++)
		fprintf(stderr, " %02x", front_out(f)[i]);
	fprintf(stderr, "\n");
	return 0;
}
#define OUT_IS(f, lit) out_is((f), (lit), sizeof(lit) - 1)

/* Feeds m split into two reads at every point, and one byte at a time: every way must give
 * the same event, with the request complete exactly when its last byte arrived, the same
 * target and the same bytes queued for the client. */
static void check_splits(const char *what, const struct config *cfg, enum access_verdict verdict, const struct msg *m,
			 enum front_event want_ev, const char *want_target, const void *want_out, size_t want_out_len)
{
	struct front f;
	size_t fed_to, used;
	int bad = 0;

	for (size_t k = 1; k < m->n; k++) {
		size_t ends[2] = {k, m->n};
		front_init(&f, verdict, "test");
		struct fed r = feed_chunks(&f, cfg, m, ends, 2, &fed_to, &used);
		int ok = r.ev == want_ev && fed_to == m->n && out_is(&f, want_out, want_out_len) &&
			 (want_ev != FRONT_REQUEST || (used == m->n && strcmp(r.target, want_target) == 0));
		if (!ok && bad++ == 0)
			fprintf(stderr, "%s: split at %zu: event %d after %zu bytes, used %zu, target '%s'\n", what, k,
				r.ev, fed_to, used, r.target);
	}
	CHECK_EQ_INT(bad, 0);

	size_t ends[1200];
	for (size_t i = 0; i < m->n; i++)
		ends[i] = i + 1;
	front_init(&f, verdict, "test");
	struct fed r = feed_chunks(&f, cfg, m, ends, m->n, &fed_to, &used);
	CHECK_EQ_INT(r.ev, want_ev);
	CHECK_EQ_INT(fed_to, m->n); /* nothing was decided before the last byte */
	CHECK(out_is(&f, want_out, want_out_len));
	if (want_ev == FRONT_REQUEST) {
		CHECK_EQ_INT(used, m->n);
		CHECK_EQ_STR(r.target, want_target);
	}
	(void)what;
}

static void test_socks5_noauth(const struct config *cfg)
{
	struct front f;
	struct msg m = {.n = 0};

	PUT(&m, "\x05\x01\x00");
	put_request5(&m, 1, "example.com", 443);
	size_t req_end = m.n;

	/* greeting and request in one read, tunnel payload right behind them */
	struct msg c = m;
	put_str(&c, "GET / HTTP/1.1\r\n");
	front_init(&f, ACCESS_ALLOW, "test");
	struct fed r = feed(&f, cfg, c.b, c.n);
	CHECK_EQ_INT(r.ev, FRONT_REQUEST);
	CHECK_EQ_INT(r.used, req_end);
	CHECK_EQ_STR(r.target, "example.com:443");
	CHECK_EQ_INT(f.version, 5);
	CHECK(OUT_IS(&f, "\x05\x00"));
	/* after the request the rest is payload: fed again, front takes none of it */
	r = feed(&f, cfg, c.b + req_end, c.n - req_end);
	CHECK_EQ_INT(r.ev, FRONT_MORE);
	CHECK_EQ_INT(r.used, 0);
	CHECK(OUT_IS(&f, "\x05\x00"));

	/* the method choice went out; the success reply carries the bound address */
	front_sent(&f, 2);
	CHECK_EQ_INT(front_out_len(&f), 0);
	struct outcome ok = {OUTCOME_OK, 0, 200, "", NULL, 0, 0};
	struct sockaddr_in sin;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(4321);
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	CHECK_EQ_INT(front_reply(&f, &ok, (const struct sockaddr *)&sin), SOCKS5_REP_SUCCEEDED);
	CHECK(OUT_IS(&f, "\x05\x00\x00\x01\x7f\x00\x00\x01\x10\xe1"));
	CHECK_EQ_INT(f.reply, 0);

	/* split at every byte, and dribbled */
	check_splits("socks5 none", cfg, ACCESS_ALLOW, &m, FRONT_REQUEST, "example.com:443", "\x05\x00", 2);

	/* an IPv6 target and an IPv6 bound address */
	m.n = 0;
	PUT(&m, "\x05\x02\x02\x00"); /* offers login and none: none is taken */
	PUT(&m, "\x05\x01\x00\x04\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x01\xbb");
	check_splits("socks5 v6", cfg, ACCESS_ALLOW, &m, FRONT_REQUEST, "[2001:db8::1]:443", "\x05\x00", 2);
	front_init(&f, ACCESS_ALLOW, "test");
	r = feed(&f, cfg, m.b, m.n);
	CHECK_EQ_INT(r.ev, FRONT_REQUEST);
	struct sockaddr_in6 s6;
	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	s6.sin6_port = htons(443);
	inet_pton(AF_INET6, "::1", &s6.sin6_addr);
	/* not sent yet: the reply is queued behind the method choice, which stays */
	CHECK_EQ_INT(front_reply(&f, &ok, (const struct sockaddr *)&s6), SOCKS5_REP_SUCCEEDED);
	CHECK(OUT_IS(&f, "\x05\x00"
			 "\x05\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x01\xbb"));

	/* a failure reply never carries the bound address */
	front_init(&f, ACCESS_ALLOW, "test");
	r = feed(&f, cfg, m.b, m.n);
	front_sent(&f, 2);
	struct outcome refused = {OUTCOME_PROXY_REPLY, 0, 403, "", "proxy-error", 0, 0};
	CHECK_EQ_INT(front_reply(&f, &refused, (const struct sockaddr *)&sin), SOCKS5_REP_NOT_ALLOWED);
	CHECK(OUT_IS(&f, "\x05\x02\x00\x01\x00\x00\x00\x00\x00\x00"));
	CHECK_EQ_INT(f.reply, 2);
	/* a success without a bound address: 0.0.0.0:0 */
	front_init(&f, ACCESS_ALLOW, "test");
	r = feed(&f, cfg, m.b, m.n);
	front_sent(&f, 2);
	CHECK_EQ_INT(front_reply(&f, &ok, NULL), SOCKS5_REP_SUCCEEDED);
	CHECK(OUT_IS(&f, "\x05\x00\x00\x01\x00\x00\x00\x00\x00\x00"));
}

/* The queue never loses or overwrites a message that was not sent. */
static void test_queue(const struct config *cfg)
{
	struct front f;
	struct msg m = {.n = 0};
	struct fed r;

	/* greeting and a request with an unknown address type in one read */
	PUT(&m, "\x05\x01\x00");
	PUT(&m, "\x05\x01\x00\x09\x01\x02\x03\x04\x00\x50");
	front_init(&f, ACCESS_ALLOW, "test");
	r = feed(&f, cfg, m.b, m.n);
	CHECK_EQ_INT(r.ev, FRONT_FAIL);
	CHECK_EQ_STR(r.reason, "bad-socks-request");
	CHECK(OUT_IS(&f, "\x05\x00"
			 "\x05\x08\x00\x01\x00\x00\x00\x00\x00\x00"));
	CHECK_EQ_INT(f.reply, SOCKS5_REP_ATYP_NOT_SUPPORTED);

	/* greeting and a BIND in one read */
	m.n = 0;
	PUT(&m, "\x05\x01\x00");
	put_request5(&m, SOCKS_CMD_BIND, "example.com", 21);
	front_init(&f, ACCESS_ALLOW, "test");
	r = feed(&f, cfg, m.b, m.n);
	CHECK_EQ_INT(r.ev, FRONT_FAIL);
	CHECK_EQ_STR(r.reason, "command-not-supported");
	CHECK(OUT_IS(&f, "\x05\x00"
			 "\x05\x07\x00\x01\x00\x00\x00\x00\x00\x00"));
	CHECK_EQ_INT(f.reply, SOCKS5_REP_CMD_NOT_SUPPORTED);
	check_splits("socks5 bind", cfg, ACCESS_ALLOW, &m, FRONT_FAIL, NULL,
		     "\x05\x00"
		     "\x05\x07\x00\x01\x00\x00\x00\x00\x00\x00",
		     12);

	/* the method choice half sent when the request arrives: its last byte stays first */
	front_init(&f, ACCESS_ALLOW, "test");
	r = feed(&f, cfg, m.b, 3);
	CHECK_EQ_INT(r.ev, FRONT_MORE);
	CHECK_EQ_INT(r.used, 3);
	front_sent(&f, 1);
	r = feed(&f, cfg, m.b + 3, m.n - 3);
	CHECK_EQ_INT(r.ev, FRONT_FAIL);
	CHECK(OUT_IS(&f, "\x00"
			 "\x05\x07\x00\x01\x00\x00\x00\x00\x00\x00"));
	front_sent(&f, 4);
	CHECK(OUT_IS(&f, "\x01\x00\x00\x00\x00\x00\x00"));
	front_sent(&f, 7);
	CHECK_EQ_INT(front_out_len(&f), 0);

	/* UDP ASSOCIATE, an unknown command: 07 too */
	m.n = 0;
	PUT(&m, "\x05\x01\x00");
	put_request5(&m, SOCKS_CMD_UDP_ASSOCIATE, "example.com", 53);
	front_init(&f, ACCESS_ALLOW, "test");
	CHECK_EQ_INT(feed(&f, cfg, m.b, m.n).ev, FRONT_FAIL);
	CHECK_EQ_INT(f.reply, SOCKS5_REP_CMD_NOT_SUPPORTED);
	m.n = 0;
	PUT(&m, "\x05\x01\x00");
	put_request5(&m, 0x7f, "example.com", 53);
	front_init(&f, ACCESS_ALLOW, "test");
	CHECK_EQ_INT(feed(&f, cfg, m.b, m.n).ev, FRONT_FAIL);
	CHECK_EQ_INT(f.reply, SOCKS5_REP_CMD_NOT_SUPPORTED);

	/* a host name that cannot go into an HTTP authority: 04 */
	m.n = 0;
	PUT(&m, "\x05\x01\x00");
	put_request5(&m, 1, "exa mple.com", 443);
	front_init(&f, ACCESS_ALLOW, "test");
	r = feed(&f, cfg, m.b, m.n);
	CHECK_EQ_INT(r.ev, FRONT_FAIL);
	CHECK(OUT_IS(&f, "\x05\x00"
			 "\x05\x04\x00\x01\x00\x00\x00\x00\x00\x00"));

	/* no acceptable method */
	m.n = 0;
	PUT(&m, "\x05\x01\x02");
	front_init(&f, ACCESS_ALLOW, "test");
	r = feed(&f, cfg, m.b, m.n);
	CHECK_EQ_INT(r.ev, FRONT_FAIL);
	CHECK_EQ_STR(r.reason, "no-acceptable-method");
	CHECK(OUT_IS(&f, "\x05\xff"));
	CHECK_EQ_INT(f.reply, 0xff);

	/* not SOCKS at all: dropped, nothing sent */
	m.n = 0;
	put_str(&m, "GET http://example.com/ HTTP/1.1\r\n\r\n");
	front_init(&f, ACCESS_ALLOW, "test");
	r = feed(&f, cfg, m.b, m.n);
	CHECK_EQ_INT(r.ev, FRONT_DROP);
	CHECK_EQ_STR(r.reason, "bad-socks-request");
	CHECK_EQ_INT(front_out_len(&f), 0);

	/* access decided at accept */
	m.n = 0;
	PUT(&m, "\x05\x01\x00");
	put_request5(&m, 1, "example.com", 443);
	front_init(&f, ACCESS_DENY, "test");
	r = feed(&f, cfg, m.b, m.n);
	CHECK_EQ_INT(r.ev, FRONT_FAIL);
	CHECK_EQ_STR(r.reason, "access-denied");
	CHECK(OUT_IS(&f, "\x05\x00"
			 "\x05\x02\x00\x01\x00\x00\x00\x00\x00\x00"));
	front_init(&f, ACCESS_ERROR, "test");
	r = feed(&f, cfg, m.b, m.n);
	CHECK_EQ_INT(r.ev, FRONT_FAIL);
	CHECK_EQ_STR(r.reason, "out-of-resources");
	CHECK(OUT_IS(&f, "\x05\x00"
			 "\x05\x01\x00\x01\x00\x00\x00\x00\x00\x00"));
}

static void test_login(void)
{
	struct config cfg;
	static struct auth_user users[2] = {{"alice", "secret"}, {"bob", "hunter2"}};
	struct front f;
	struct msg m = {.n = 0};
	struct fed r;

	config_init(&cfg);
	cfg.auth = users;
	cfg.nauth = 2;

	/* greeting offering none and login, login, request: all in one read */
	PUT(&m, "\x05\x02\x00\x02");
	size_t greet_end = m.n;
	put_login(&m, 1, "alice", "secret");
	size_t login_end = m.n;
	put_request5(&m, 1, "example.com", 443);
	front_init(&f, ACCESS_AUTH, "test");
	r = feed(&f, &cfg, m.b, m.n);
	CHECK_EQ_INT(r.ev, FRONT_REQUEST);
	CHECK_EQ_INT(r.used, m.n);
	CHECK_EQ_STR(r.target, "example.com:443");
	CHECK(OUT_IS(&f, "\x05\x02\x01\x00"));
	CHECK_EQ_INT(f.verdict, ACCESS_ALLOW);
	check_splits("login", &cfg, ACCESS_AUTH, &m, FRONT_REQUEST, "example.com:443", "\x05\x02\x01\x00", 4);

	/* one message per read */
	front_init(&f, ACCESS_AUTH, "test");
	r = feed(&f, &cfg, m.b, greet_end);
	CHECK_EQ_INT(r.ev, FRONT_MORE);
	CHECK_EQ_INT(r.used, greet_end);
	CHECK(OUT_IS(&f, "\x05\x02"));
	front_sent(&f, 2);
	r = feed(&f, &cfg, m.b + greet_end, login_end - greet_end);
	CHECK_EQ_INT(r.ev, FRONT_MORE);
	CHECK_EQ_INT(r.used, login_end - greet_end);
	CHECK(OUT_IS(&f, "\x01\x00"));
	front_sent(&f, 2);
	r = feed(&f, &cfg, m.b + login_end, m.n - login_end);
	CHECK_EQ_INT(r.ev, FRONT_REQUEST);
	CHECK_EQ_INT(front_out_len(&f), 0);

	/* the second user of the file */
	m.n = 0;
	PUT(&m, "\x05\x01\x02");
	put_login(&m, 1, "bob", "hunter2");
	put_request5(&m, 1, "example.com", 443);
	front_init(&f, ACCESS_AUTH, "test");
	CHECK_EQ_INT(feed(&f, &cfg, m.b, m.n).ev, FRONT_REQUEST);

	/* a wrong password, a password of another user, a prefix of the password, an unknown user */
	static const char *const bad[][2] = {
		{"alice", "Secret"}, {"alice", "hunter2"}, {"alice", "secre"}, {"alice", "secret2"},
		{"alice", ""},       {"carol", "secret"},  {"", ""},           {"ALICE", "secret"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		m.n = 0;
		PUT(&m, "\x05\x01\x02");
		put_login(&m, 1, bad[i][0], bad[i][1]);
		put_request5(&m, 1, "example.com", 443);
		front_init(&f, ACCESS_AUTH, "test");
		r = feed(&f, &cfg, m.b, m.n);
		CHECK_EQ_INT(r.ev, FRONT_FAIL);
		CHECK_EQ_STR(r.reason, "login-failed");
		CHECK(OUT_IS(&f, "\x05\x02\x01\x01"));
		CHECK_EQ_INT(f.reply, 1);
		CHECK(f.verdict != ACCESS_ALLOW);
	}
	m.n = 0;
	PUT(&m, "\x05\x01\x02");
	put_login(&m, 1, "alice", "wrong");
	check_splits("bad password", &cfg, ACCESS_AUTH, &m, FRONT_FAIL, NULL, "\x05\x02\x01\x01", 4);

	/* a malformed login message (a SOCKS5 version byte where RFC 1929's 01 belongs): the
	 * answer is still the login status "01 01", never a SOCKS5 reply */
	m.n = 0;
	PUT(&m, "\x05\x01\x02");
	put_login(&m, 5, "alice", "secret");
	put_request5(&m, 1, "example.com", 443);
	front_init(&f, ACCESS_AUTH, "test");
	r = feed(&f, &cfg, m.b, m.n);
	CHECK_EQ_INT(r.ev, FRONT_FAIL);
	CHECK_EQ_STR(r.reason, "bad-socks-request");
	CHECK(OUT_IS(&f, "\x05\x02\x01\x01"));
	CHECK(f.verdict != ACCESS_ALLOW);
	/* the same with the method choice already sent */
	front_init(&f, ACCESS_AUTH, "test");
	r = feed(&f, &cfg, m.b, 3);
	CHECK_EQ_INT(r.ev, FRONT_MORE);
	front_sent(&f, 2);
	r = feed(&f, &cfg, m.b + 3, 1);
	CHECK_EQ_INT(r.ev, FRONT_FAIL);
	CHECK(OUT_IS(&f, "\x01\x01"));
	/* a SOCKS5 request where the login belongs */
	m.n = 0;
	PUT(&m, "\x05\x01\x02");
	put_request5(&m, 1, "example.com", 443);
	front_init(&f, ACCESS_AUTH, "test");
	r = feed(&f, &cfg, m.b, m.n);
	CHECK_EQ_INT(r.ev, FRONT_FAIL);
	CHECK(OUT_IS(&f, "\x05\x02\x01\x01"));

	/* --socks-auth and a client that offers no login */
	m.n = 0;
	PUT(&m, "\x05\x01\x00");
	front_init(&f, ACCESS_AUTH, "test");
	r = feed(&f, &cfg, m.b, m.n);
	CHECK_EQ_INT(r.ev, FRONT_FAIL);
	CHECK_EQ_STR(r.reason, "no-acceptable-method");
	CHECK(OUT_IS(&f, "\x05\xff"));

	/* SOCKS4 cannot log in */
	m.n = 0;
	PUT(&m, "\x04\x01\x01\xbb\x01\x02\x03\x04user\x00");
	front_init(&f, ACCESS_AUTH, "test");
	r = feed(&f, &cfg, m.b, m.n);
	CHECK_EQ_INT(r.ev, FRONT_FAIL);
	CHECK_EQ_STR(r.reason, "access-denied");
	CHECK(OUT_IS(&f, "\x00\x5b\x00\x00\x00\x00\x00\x00"));

	cfg.auth = NULL;
	cfg.nauth = 0;
	config_free(&cfg);
}

static void test_socks4(const struct config *cfg)
{
	struct front f;
	struct msg m = {.n = 0};
	struct fed r;

	PUT(&m, "\x04\x01\x00\x50\x01\x02\x03\x04user\x00");
	check_splits("socks4", cfg, ACCESS_ALLOW, &m, FRONT_REQUEST, "1.2.3.4:80", "", 0);
	struct msg c = m;
	put_str(&c, "payload");
	front_init(&f, ACCESS_ALLOW, "test");
	r = feed(&f, cfg, c.b, c.n);
	CHECK_EQ_INT(r.ev, FRONT_REQUEST);
	CHECK_EQ_INT(r.used, m.n);
	CHECK_EQ_STR(r.target, "1.2.3.4:80");
	CHECK_EQ_INT(f.version, 4);
	CHECK_EQ_INT(front_out_len(&f), 0);
	struct outcome ok = {OUTCOME_OK, 0, 200, "", NULL, 0, 0};
	CHECK_EQ_INT(front_reply(&f, &ok, NULL), SOCKS5_REP_SUCCEEDED);
	CHECK(OUT_IS(&f, "\x00\x5a\x00\x00\x00\x00\x00\x00"));
	CHECK_EQ_INT(f.reply, SOCKS4_REP_GRANTED);

	/* every failure is 91 */
	front_init(&f, ACCESS_ALLOW, "test");
	r = feed(&f, cfg, m.b, m.n);
	struct outcome refused = {OUTCOME_PROXY_REPLY, 0, 503, "ERR_CONNECT_FAIL 111", "proxy-error", 0, 0};
	CHECK_EQ_INT(front_reply(&f, &refused, NULL), SOCKS5_REP_CONN_REFUSED);
	CHECK(OUT_IS(&f, "\x00\x5b\x00\x00\x00\x00\x00\x00"));
	CHECK_EQ_INT(f.reply, SOCKS4_REP_REJECTED);

	/* SOCKS4a: a name after the user id, no user id */
	m.n = 0;
	PUT(&m, "\x04\x01\x01\xbb\x00\x00\x00\x01\x00"
		"example.com\x00");
	check_splits("socks4a", cfg, ACCESS_ALLOW, &m, FRONT_REQUEST, "example.com:443", "", 0);
	m.n = 0;
	PUT(&m, "\x04\x01\x01\xbb\x00\x00\x00\xff"
		"someone\x00"
		"www.example.org\x00");
	check_splits("socks4a user", cfg, ACCESS_ALLOW, &m, FRONT_REQUEST, "www.example.org:443", "", 0);

	/* BIND: 91, the connection closes */
	m.n = 0;
	PUT(&m, "\x04\x02\x00\x15\x01\x02\x03\x04\x00");
	front_init(&f, ACCESS_ALLOW, "test");
	r = feed(&f, cfg, m.b, m.n);
	CHECK_EQ_INT(r.ev, FRONT_FAIL);
	CHECK_EQ_STR(r.reason, "command-not-supported");
	CHECK(OUT_IS(&f, "\x00\x5b\x00\x00\x00\x00\x00\x00"));
	CHECK_EQ_INT(f.reply, SOCKS4_REP_REJECTED);
	check_splits("socks4 bind", cfg, ACCESS_ALLOW, &m, FRONT_FAIL, NULL, "\x00\x5b\x00\x00\x00\x00\x00\x00", 8);

	/* refused at accept */
	m.n = 0;
	PUT(&m, "\x04\x01\x00\x50\x01\x02\x03\x04\x00");
	front_init(&f, ACCESS_DENY, "test");
	r = feed(&f, cfg, m.b, m.n);
	CHECK_EQ_INT(r.ev, FRONT_FAIL);
	CHECK(OUT_IS(&f, "\x00\x5b\x00\x00\x00\x00\x00\x00"));
}

/* The outcome -> SOCKS5 reply table (the README's), from the proxy's status and squid's
 * X-Squid-Error. */
static void test_socks5_rep(void)
{
	static const struct {
		int status;
		const char *squid;
		int want;
	} table[] = {
		/* any 2xx opens the tunnel, whatever else it says */
		{200, "", SOCKS5_REP_SUCCEEDED},
		{201, "", SOCKS5_REP_SUCCEEDED},
		{299, "", SOCKS5_REP_SUCCEEDED},
		{200, "ERR_CONNECT_FAIL 111", SOCKS5_REP_SUCCEEDED},
		/* policy and authentication */
		{401, "", SOCKS5_REP_NOT_ALLOWED},
		{403, "", SOCKS5_REP_NOT_ALLOWED},
		{405, "", SOCKS5_REP_NOT_ALLOWED},
		{407, "", SOCKS5_REP_NOT_ALLOWED},
		{403, "ERR_ACCESS_DENIED 0", SOCKS5_REP_NOT_ALLOWED},
		{407, "ERR_CACHE_ACCESS_DENIED 0", SOCKS5_REP_NOT_ALLOWED},
		/* squid's details */
		{503, "ERR_DNS_FAIL 0", SOCKS5_REP_HOST_UNREACHABLE},
		{503, "ERR_DNS_FAIL", SOCKS5_REP_HOST_UNREACHABLE},
		{503, "ERR_CONNECT_FAIL 111", SOCKS5_REP_CONN_REFUSED},
		{504, "ERR_CONNECT_FAIL 111", SOCKS5_REP_CONN_REFUSED},
		{503, "ERR_CONNECT_FAIL 110", SOCKS5_REP_TTL_EXPIRED},
		{504, "ERR_CONNECT_FAIL 110", SOCKS5_REP_TTL_EXPIRED},
		{504, "ERR_READ_TIMEOUT 0", SOCKS5_REP_TTL_EXPIRED},
		{504, "ERR_READ_TIMEOUT", SOCKS5_REP_TTL_EXPIRED},
		{504, "ERR_CONNECT_TIMEOUT 0", SOCKS5_REP_TTL_EXPIRED},
		{503, "ERR_CONNECT_FAIL 101", SOCKS5_REP_NET_UNREACHABLE},
		{503, "ERR_CONNECT_FAIL 113", SOCKS5_REP_HOST_UNREACHABLE},
		/* the detail wins over what the status alone would give */
		{504, "ERR_CONNECT_FAIL 113", SOCKS5_REP_HOST_UNREACHABLE},
		{504, "ERR_CONNECT_FAIL 101", SOCKS5_REP_NET_UNREACHABLE},
		{504, "ERR_DNS_FAIL 0", SOCKS5_REP_HOST_UNREACHABLE},
		{503, "ERR_READ_TIMEOUT 0", SOCKS5_REP_TTL_EXPIRED},
		{500, "ERR_CONNECT_FAIL 110", SOCKS5_REP_TTL_EXPIRED},
		{400, "ERR_CONNECT_FAIL 111", SOCKS5_REP_CONN_REFUSED},
		{502, "err_dns_fail 0", SOCKS5_REP_HOST_UNREACHABLE},
		/* an errno we have no code for falls back on the status */
		{503, "ERR_CONNECT_FAIL 99", SOCKS5_REP_HOST_UNREACHABLE},
		{503, "ERR_CONNECT_FAIL", SOCKS5_REP_HOST_UNREACHABLE},
		{502, "ERR_ZERO_SIZE_OBJECT 0", SOCKS5_REP_HOST_UNREACHABLE},
		{504, "ERR_SOMETHING_NEW 0", SOCKS5_REP_TTL_EXPIRED},
		{403, "ERR_DNS_FAILED 0", SOCKS5_REP_NOT_ALLOWED}, /* a longer name is another name */
		/* status alone */
		{504, "", SOCKS5_REP_TTL_EXPIRED},
		{500, "", SOCKS5_REP_HOST_UNREACHABLE},
		{502, "", SOCKS5_REP_HOST_UNREACHABLE},
		{503, "", SOCKS5_REP_HOST_UNREACHABLE},
		{599, "", SOCKS5_REP_HOST_UNREACHABLE},
		{400, "", SOCKS5_REP_GENERAL_FAILURE},
		{404, "", SOCKS5_REP_GENERAL_FAILURE},
		{408, "", SOCKS5_REP_GENERAL_FAILURE},
		{499, "", SOCKS5_REP_GENERAL_FAILURE},
		{301, "", SOCKS5_REP_GENERAL_FAILURE},
		{302, "", SOCKS5_REP_GENERAL_FAILURE},
		{300, "", SOCKS5_REP_GENERAL_FAILURE},
	};
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		struct outcome o;
		memset(&o, 0, sizeof(o));
		o.stage = OUTCOME_PROXY_REPLY;
		o.http_status = table[i].status;
		o.reason = "proxy-error";
		snprintf(o.detail, sizeof(o.detail), "%s", table[i].squid);
		int got = front_socks5_rep(&o);
		if (got != table[i].want)
			fprintf(stderr, "reply for %d \"%s\"\n", table[i].status, table[i].squid);
		CHECK_EQ_INT(got, table[i].want);
	}

	/* the stages that have no HTTP status */
	static const struct {
		enum outcome_stage stage;
		int want;
	} stages[] = {
		{OUTCOME_OK, SOCKS5_REP_SUCCEEDED},
		{OUTCOME_REPLY_TIMEOUT, SOCKS5_REP_TTL_EXPIRED},
		{OUTCOME_UNREACHABLE, SOCKS5_REP_GENERAL_FAILURE},
		{OUTCOME_BAD_REPLY, SOCKS5_REP_GENERAL_FAILURE},
		{OUTCOME_LOCAL, SOCKS5_REP_GENERAL_FAILURE},
	};
	for (size_t i = 0; i < sizeof(stages) / sizeof(stages[0]); i++) {
		struct outcome o;
		memset(&o, 0, sizeof(o));
		o.stage = stages[i].stage;
		CHECK_EQ_INT(front_socks5_rep(&o), stages[i].want);
		/* a status seen on the way (e.g. an interim 100) does not change it */
		o.http_status = 100;
		snprintf(o.detail, sizeof(o.detail), "ERR_CONNECT_FAIL 111");
		CHECK_EQ_INT(front_socks5_rep(&o), stages[i].want);
	}
}

int main(void)
{
	struct config cfg;

	log_set_level(LOG_LVL_WARN); /* the client faults these tests make are logged at info */
	config_init(&cfg);
	test_socks5_noauth(&cfg);
	test_queue(&cfg);
	test_login();
	test_socks4(&cfg);
	test_socks5_rep();
	config_free(&cfg);
	return check_report();
}
