/* test_socks: the SOCKS4/4a/5 parsers and encoders, fed whole, split at every byte and
 * coalesced with the bytes that follow a message. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "check.h"
#include "socks.h"

/* A message under construction. */
struct msg {
	uint8_t b[1200];
	size_t n;
};

static void msg_bytes(struct msg *m, const void *p, size_t n)
{
	memcpy(m->b + m->n, p, n);
	m->n += n;
}

static void msg_byte(struct msg *m, uint8_t c)
{
	m->b[m->n++] = c;
}

/* One signature for the four parsers, so the split-point checks are written once. */
struct parsed {
	uint32_t methods;
	struct socks_request req;
	char user[256];
	char pass[256];
};

typedef int (*parse_fn)(const uint8_t *buf, size_t len, struct parsed *out, size_t *consumed);

static int p_greeting(const uint8_t *buf, size_t len, struct parsed *out, size_t *consumed)
{
	return socks5_parse_greeting(buf, len, &out->methods, consumed);
}

static int p_request5(const uint8_t *buf, size_t len, struct parsed *out, size_t *consumed)
{
	return socks5_parse_request(buf, len, &out->req, consumed);
}

static int p_userpass(const uint8_t *buf, size_t len, struct parsed *out, size_t *consumed)
{
	return socks5_parse_userpass(buf, len, out->user, out->pass, consumed);
}

static int p_request4(const uint8_t *buf, size_t len, struct parsed *out, size_t *consumed)
{
	return socks4_parse_request(buf, len, &out->req, consumed);
}

/* Parses an exact-size heap copy, so ASan reports any read past len. */
static int parse_copy(parse_fn fn, const uint8_t *buf, size_t len, struct parsed *out, size_t *consumed)
{
	uint8_t *copy = malloc(len ? len : 1);
	if (copy == NULL)
		abort();
	memcpy(copy, buf, len);
	memset(out, 0, sizeof(*out));
	*consumed = 0xdead;
	int rc = fn(copy, len, out, consumed);
	free(copy);
	return rc;
}

/* Every strict prefix must be NEED_MORE, the whole message DONE with
 * consumed == its length, and the message followed by payload the same result with the
 * payload left over.  Returns the parse of the whole message in *out. */
static void check_splits(const char *what, parse_fn fn, const struct msg *m, struct parsed *out)
{
	struct parsed tmp, coal;
	size_t consumed;
	int bad = 0;

	for (size_t k = 0; k < m->n; k++) {
		int rc = parse_copy(fn, m->b, k, &tmp, &consumed);
		if (rc != SOCKS_NEED_MORE) {
			if (bad++ == 0)
				fprintf(stderr, "%s: prefix of %zu/%zu bytes gave %d\n", what, k, m->n, rc);
		}
	}
	CHECK_EQ_INT(bad, 0);

	CHECK_EQ_INT(parse_copy(fn, m->b, m->n, out, &consumed), SOCKS_DONE);
	CHECK_EQ_INT(consumed, m->n);

	/* coalesced: the next message or tunnel payload arrived in the same read */
	struct msg more = *m;
	msg_bytes(&more, "GET / HTTP/1.1\r\n\r\n", 18);
	CHECK_EQ_INT(parse_copy(fn, more.b, more.n, &coal, &consumed), SOCKS_DONE);
	CHECK_EQ_INT(consumed, m->n);
	CHECK(memcmp(&coal, out, sizeof(coal)) == 0);
}

/* The result for a complete message (no split checks): for error cases. */
static int parse_msg(parse_fn fn, const struct msg *m, struct parsed *out, size_t *consumed)
{
	return parse_copy(fn, m->b, m->n, out, consumed);
}

static void test_greeting(void)
{
	struct msg m;
	struct parsed p;
	size_t consumed;

	m = (struct msg){.n = 0};
	msg_bytes(&m, "\x05\x01\x00", 3);
	check_splits("greeting none", p_greeting, &m, &p);
	CHECK_EQ_INT(p.methods, 1u << SOCKS5_METHOD_NONE);

	m = (struct msg){.n = 0};
	msg_bytes(&m, "\x05\x02\x00\x02", 4);
	check_splits("greeting none+userpass", p_greeting, &m, &p);
	CHECK_EQ_INT(p.methods, (1u << 0) | (1u << 2));

	/* methods >= 32 (e.g. 0x80 private, 0xff) are ignored; 31 is the highest kept */
	m = (struct msg){.n = 0};
	msg_bytes(&m, "\x05\x04\x80\xff\x1f\x20", 6);
	check_splits("greeting high methods", p_greeting, &m, &p);
	CHECK_EQ_INT(p.methods, UINT32_C(1) << 31);

	m = (struct msg){.n = 0};
	msg_bytes(&m, "\x05\x01\x02", 3);
	check_splits("greeting userpass only", p_greeting, &m, &p);
	CHECK_EQ_INT(p.methods, 1u << SOCKS5_METHOD_USERPASS);

	/* the longest greeting: 255 methods */
	m = (struct msg){.n = 0};
	msg_byte(&m, 5);
	msg_byte(&m, 255);
	for (int i = 0; i < 255; i++)
		msg_byte(&m, (uint8_t)i);
	check_splits("greeting 255 methods", p_greeting, &m, &p);
	CHECK_EQ_INT(p.methods, 0xffffffffu);

	/* errors */
	m = (struct msg){.n = 0};
	msg_bytes(&m, "\x05\x00", 2);
	CHECK_EQ_INT(parse_msg(p_greeting, &m, &p, &consumed), SOCKS_ERR_PROTOCOL);
	m = (struct msg){.n = 0};
	msg_bytes(&m, "\x04\x01\x00", 3);
	CHECK_EQ_INT(parse_msg(p_greeting, &m, &p, &consumed), SOCKS_ERR_VERSION);
	/* the version is judged on the first byte alone */
	m = (struct msg){.n = 0};
	msg_byte(&m, 0x16); /* a TLS ClientHello */
	CHECK_EQ_INT(parse_msg(p_greeting, &m, &p, &consumed), SOCKS_ERR_VERSION);
	m = (struct msg){.n = 0};
	msg_bytes(&m, "GET / HTTP/1.1\r\n", 16);
	CHECK_EQ_INT(parse_msg(p_greeting, &m, &p, &consumed), SOCKS_ERR_VERSION);
	m = (struct msg){.n = 0};
	CHECK_EQ_INT(parse_msg(p_greeting, &m, &p, &consumed), SOCKS_NEED_MORE);
}

/* 05 cmd 00 03 len name port */
static void msg_request5_name(struct msg *m, uint8_t cmd, const void *name, size_t n, uint16_t port)
{
	*m = (struct msg){.n = 0};
	msg_byte(m, 5);
	msg_byte(m, cmd);
	msg_byte(m, 0);
	msg_byte(m, SOCKS_ATYP_NAME);
	msg_byte(m, (uint8_t)n);
	msg_bytes(m, name, n);
	msg_byte(m, (uint8_t)(port >> 8));
	msg_byte(m, (uint8_t)port);
}

static void test_request5(void)
{
	struct msg m;
	struct parsed p;
	size_t consumed;
	char name[300];

	/* IPv4 CONNECT 192.0.2.1:443 */
	m = (struct msg){.n = 0};
	msg_bytes(&m, "\x05\x01\x00\x01\xc0\x00\x02\x01\x01\xbb", 10);
	check_splits("request5 ipv4", p_request5, &m, &p);
	CHECK_EQ_INT(p.req.version, 5);
	CHECK_EQ_INT(p.req.cmd, SOCKS_CMD_CONNECT);
	CHECK_EQ_INT(p.req.target.atyp, SOCKS_ATYP_IPV4);
	CHECK(memcmp(p.req.target.ip, "\xc0\x00\x02\x01", 4) == 0);
	CHECK_EQ_INT(p.req.target.port, 443);

	/* IPv6 CONNECT [2001:db8::1]:80 */
	m = (struct msg){.n = 0};
	msg_bytes(&m, "\x05\x01\x00\x04", 4);
	msg_bytes(&m, "\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01", 16);
	msg_bytes(&m, "\x00\x50", 2);
	check_splits("request5 ipv6", p_request5, &m, &p);
	CHECK_EQ_INT(p.req.target.atyp, SOCKS_ATYP_IPV6);
	CHECK(memcmp(p.req.target.ip, "\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01", 16) == 0);
	CHECK_EQ_INT(p.req.target.port, 80);

	/* name CONNECT example.com:443 */
	msg_request5_name(&m, SOCKS_CMD_CONNECT, "example.com", 11, 443);
	check_splits("request5 name", p_request5, &m, &p);
	CHECK_EQ_INT(p.req.target.atyp, SOCKS_ATYP_NAME);
	CHECK_EQ_STR(p.req.target.name, "example.com");
	CHECK_EQ_INT(p.req.target.port, 443);

	/* every allowed character class, and the port extremes */
	msg_request5_name(&m, SOCKS_CMD_CONNECT, "A-z_0.9", 7, 65535);
	check_splits("request5 name chars", p_request5, &m, &p);
	CHECK_EQ_STR(p.req.target.name, "A-z_0.9");
	CHECK_EQ_INT(p.req.target.port, 65535);
	msg_request5_name(&m, SOCKS_CMD_CONNECT, "x", 1, 0);
	check_splits("request5 one-byte name", p_request5, &m, &p);
	CHECK_EQ_STR(p.req.target.name, "x");
	CHECK_EQ_INT(p.req.target.port, 0);

	/* the longest name: 255 bytes */
	memset(name, 'a', 255);
	name[255] = '\0';
	msg_request5_name(&m, SOCKS_CMD_CONNECT, name, 255, 8080);
	check_splits("request5 255-byte name", p_request5, &m, &p);
	CHECK_EQ_INT(p.req.target.atyp, SOCKS_ATYP_NAME);
	CHECK_EQ_INT(strlen(p.req.target.name), 255);
	CHECK_EQ_STR(p.req.target.name, name);

	/* literals given as names become address targets */
	msg_request5_name(&m, SOCKS_CMD_CONNECT, "198.51.100.7", 12, 22);
	check_splits("request5 ipv4 literal name", p_request5, &m, &p);
	CHECK_EQ_INT(p.req.target.atyp, SOCKS_ATYP_IPV4);
	CHECK(memcmp(p.req.target.ip, "\xc6\x33\x64\x07", 4) == 0);
	CHECK_EQ_STR(p.req.target.name, "");
	CHECK_EQ_INT(p.req.target.port, 22);
	msg_request5_name(&m, SOCKS_CMD_CONNECT, "2001:db8::1", 11, 443);
	check_splits("request5 ipv6 literal name", p_request5, &m, &p);
	CHECK_EQ_INT(p.req.target.atyp, SOCKS_ATYP_IPV6);
	CHECK(memcmp(p.req.target.ip, "\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01", 16) == 0);
	msg_request5_name(&m, SOCKS_CMD_CONNECT, "::1", 3, 443);
	CHECK_EQ_INT(parse_msg(p_request5, &m, &p, &consumed), SOCKS_DONE);
	CHECK_EQ_INT(p.req.target.atyp, SOCKS_ATYP_IPV6);
	CHECK_EQ_INT(p.req.target.ip[15], 1);
	/* not a dotted quad: stays a name */
	msg_request5_name(&m, SOCKS_CMD_CONNECT, "1.2.3", 5, 443);
	CHECK_EQ_INT(parse_msg(p_request5, &m, &p, &consumed), SOCKS_DONE);
	CHECK_EQ_INT(p.req.target.atyp, SOCKS_ATYP_NAME);
	CHECK_EQ_STR(p.req.target.name, "1.2.3");

	/* BIND and UDP ASSOCIATE parse; the caller rejects them with their cmd value */
	m = (struct msg){.n = 0};
	msg_bytes(&m, "\x05\x02\x00\x01\x00\x00\x00\x00\x00\x00", 10);
	check_splits("request5 bind", p_request5, &m, &p);
	CHECK_EQ_INT(p.req.cmd, SOCKS_CMD_BIND);
	CHECK_EQ_INT(p.req.target.port, 0);
	msg_request5_name(&m, SOCKS_CMD_UDP_ASSOCIATE, "host", 4, 53);
	check_splits("request5 udp", p_request5, &m, &p);
	CHECK_EQ_INT(p.req.cmd, SOCKS_CMD_UDP_ASSOCIATE);
	CHECK_EQ_STR(p.req.target.name, "host");
	msg_request5_name(&m, 0x09, "host", 4, 53);
	CHECK_EQ_INT(parse_msg(p_request5, &m, &p, &consumed), SOCKS_DONE);
	CHECK_EQ_INT(p.req.cmd, 9);

	/* unsafe names: each would change the meaning of a CONNECT line */
	static const struct {
		const char *name;
		size_t n;
	} bad[] = {
		{"exa\0mple.com", 12}, {"\0", 1},         {"a b", 3},         {"a\rb", 3},
		{"a\nb", 3},           {"a\r\nHost: x", 11}, {"u@host", 6},    {"host/path", 9},
		{"host:80", 7},        {"[::1]", 5},      {"a%20b", 5},       {"a\tb", 3},
		{"h\x80st", 4},        {"fe80::1%eth0", 12}, {"a\x7f", 2},
		/* a literal followed by a NUL must not pass as that literal */
		{"1.2.3.4\0evil", 12}, {"::1\0", 4},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		msg_request5_name(&m, SOCKS_CMD_CONNECT, bad[i].name, bad[i].n, 443);
		CHECK_EQ_INT(parse_msg(p_request5, &m, &p, &consumed), SOCKS_ERR_NAME);
	}
	/* a zero-length name is refused as soon as its length byte is in */
	msg_request5_name(&m, SOCKS_CMD_CONNECT, "", 0, 443);
	CHECK_EQ_INT(parse_msg(p_request5, &m, &p, &consumed), SOCKS_ERR_NAME);
	m.n = 5;
	CHECK_EQ_INT(parse_msg(p_request5, &m, &p, &consumed), SOCKS_ERR_NAME);

	/* other errors */
	m = (struct msg){.n = 0};
	msg_bytes(&m, "\x05\x01\x01\x01\x7f\x00\x00\x01\x00\x50", 10);
	CHECK_EQ_INT(parse_msg(p_request5, &m, &p, &consumed), SOCKS_ERR_PROTOCOL);
	m = (struct msg){.n = 0};
	msg_bytes(&m, "\x04\x01\x00\x01\x7f\x00\x00\x01\x00\x50", 10);
	CHECK_EQ_INT(parse_msg(p_request5, &m, &p, &consumed), SOCKS_ERR_VERSION);
	m.n = 1;
	CHECK_EQ_INT(parse_msg(p_request5, &m, &p, &consumed), SOCKS_ERR_VERSION);
	for (int atyp = 0; atyp < 256; atyp++) {
		if (atyp == SOCKS_ATYP_IPV4 || atyp == SOCKS_ATYP_NAME || atyp == SOCKS_ATYP_IPV6)
			continue;
		m = (struct msg){.n = 0};
		msg_bytes(&m, "\x05\x01\x00", 3);
		msg_byte(&m, (uint8_t)atyp);
		/* the address type alone decides: no more bytes needed */
		CHECK_EQ_INT(parse_msg(p_request5, &m, &p, &consumed), SOCKS_ERR_ATYP);
	}
	m = (struct msg){.n = 0};
	CHECK_EQ_INT(parse_msg(p_request5, &m, &p, &consumed), SOCKS_NEED_MORE);
	msg_bytes(&m, "\x05\x01\x00", 3);
	CHECK_EQ_INT(parse_msg(p_request5, &m, &p, &consumed), SOCKS_NEED_MORE);

	CHECK_EQ_INT(socks5_rep_for_error(SOCKS_ERR_ATYP), SOCKS5_REP_ATYP_NOT_SUPPORTED);
	CHECK_EQ_INT(socks5_rep_for_error(SOCKS_ERR_NAME), SOCKS5_REP_HOST_UNREACHABLE);
	CHECK_EQ_INT(socks5_rep_for_error(SOCKS_ERR_PROTOCOL), SOCKS5_REP_GENERAL_FAILURE);
	CHECK_EQ_INT(socks5_rep_for_error(SOCKS_ERR_VERSION), SOCKS5_REP_GENERAL_FAILURE);
	CHECK_EQ_INT(socks5_rep_for_error(SOCKS_ERR_TOOLONG), SOCKS5_REP_GENERAL_FAILURE);
}

/* 01 ulen user plen pass */
static void msg_userpass(struct msg *m, const void *u, size_t ul, const void *pw, size_t pl)
{
	*m = (struct msg){.n = 0};
	msg_byte(m, 1);
	msg_byte(m, (uint8_t)ul);
	msg_bytes(m, u, ul);
	msg_byte(m, (uint8_t)pl);
	msg_bytes(m, pw, pl);
}

static void test_userpass(void)
{
	struct msg m;
	struct parsed p;
	size_t consumed;
	char big[256];

	msg_userpass(&m, "alice", 5, "s3cret", 6);
	check_splits("userpass", p_userpass, &m, &p);
	CHECK_EQ_STR(p.user, "alice");
	CHECK_EQ_STR(p.pass, "s3cret");

	msg_userpass(&m, "", 0, "", 0);
	check_splits("userpass empty", p_userpass, &m, &p);
	CHECK_EQ_STR(p.user, "");
	CHECK_EQ_STR(p.pass, "");

	/* passwords may hold any byte but NUL-terminated copies are what callers get */
	msg_userpass(&m, "bob", 3, "p@ss:w/rd \r\n", 12);
	check_splits("userpass odd bytes", p_userpass, &m, &p);
	CHECK_EQ_STR(p.pass, "p@ss:w/rd \r\n");

	memset(big, 'u', 255);
	big[255] = '\0';
	msg_userpass(&m, big, 255, big, 255);
	check_splits("userpass 255+255", p_userpass, &m, &p);
	CHECK_EQ_INT(strlen(p.user), 255);
	CHECK_EQ_INT(strlen(p.pass), 255);
	CHECK_EQ_INT(m.n, 3 + 255 + 255);

	/* the sub-negotiation version is 01, not the SOCKS version */
	msg_userpass(&m, "alice", 5, "pw", 2);
	m.b[0] = 5;
	CHECK_EQ_INT(parse_msg(p_userpass, &m, &p, &consumed), SOCKS_ERR_VERSION);
	m.b[0] = 0;
	CHECK_EQ_INT(parse_msg(p_userpass, &m, &p, &consumed), SOCKS_ERR_VERSION);
	m.n = 1;
	CHECK_EQ_INT(parse_msg(p_userpass, &m, &p, &consumed), SOCKS_ERR_VERSION);
	m.n = 0;
	CHECK_EQ_INT(parse_msg(p_userpass, &m, &p, &consumed), SOCKS_NEED_MORE);
}

/* 04 cmd port ip userid 00 [host 00] */
static void msg_request4(struct msg *m, uint8_t cmd, uint16_t port, const char *ip4, const void *userid,
			 size_t ul, const void *host, size_t hl)
{
	*m = (struct msg){.n = 0};
	msg_byte(m, 4);
	msg_byte(m, cmd);
	msg_byte(m, (uint8_t)(port >> 8));
	msg_byte(m, (uint8_t)port);
	msg_bytes(m, ip4, 4);
	msg_bytes(m, userid, ul);
	msg_byte(m, 0);
	if (host != NULL) {
		msg_bytes(m, host, hl);
		msg_byte(m, 0);
	}
}

static void test_request4(void)
{
	struct msg m;
	struct parsed p;
	size_t consumed;
	char big[300];

	/* SOCKS4 CONNECT 127.0.0.1:80, empty user id */
	msg_request4(&m, SOCKS_CMD_CONNECT, 80, "\x7f\x00\x00\x01", "", 0, NULL, 0);
	CHECK_EQ_INT(m.n, 9);
	check_splits("socks4 plain", p_request4, &m, &p);
	CHECK_EQ_INT(p.req.version, 4);
	CHECK_EQ_INT(p.req.cmd, SOCKS_CMD_CONNECT);
	CHECK_EQ_INT(p.req.target.atyp, SOCKS_ATYP_IPV4);
	CHECK(memcmp(p.req.target.ip, "\x7f\x00\x00\x01", 4) == 0);
	CHECK_EQ_INT(p.req.target.port, 80);
	CHECK_EQ_STR(p.req.userid, "");

	msg_request4(&m, SOCKS_CMD_CONNECT, 443, "\x0a\x01\x02\x03", "fred", 4, NULL, 0);
	check_splits("socks4 userid", p_request4, &m, &p);
	CHECK_EQ_STR(p.req.userid, "fred");
	CHECK_EQ_INT(p.req.target.port, 443);

	/* 0.0.0.0 is an address, not the 4a marker */
	msg_request4(&m, SOCKS_CMD_CONNECT, 1, "\x00\x00\x00\x00", "", 0, NULL, 0);
	check_splits("socks4 0.0.0.0", p_request4, &m, &p);
	CHECK_EQ_INT(p.req.target.atyp, SOCKS_ATYP_IPV4);
	CHECK(memcmp(p.req.target.ip, "\x00\x00\x00\x00", 4) == 0);

	/* BIND keeps its cmd value */
	msg_request4(&m, SOCKS_CMD_BIND, 21, "\xc0\x00\x02\x05", "u", 1, NULL, 0);
	check_splits("socks4 bind", p_request4, &m, &p);
	CHECK_EQ_INT(p.req.cmd, SOCKS_CMD_BIND);

	/* SOCKS4a: 0.0.0.x with x != 0, host after the user id */
	msg_request4(&m, SOCKS_CMD_CONNECT, 443, "\x00\x00\x00\x01", "fred", 4, "example.com", 11);
	check_splits("socks4a name", p_request4, &m, &p);
	CHECK_EQ_INT(p.req.target.atyp, SOCKS_ATYP_NAME);
	CHECK_EQ_STR(p.req.target.name, "example.com");
	CHECK_EQ_STR(p.req.userid, "fred");
	CHECK_EQ_INT(p.req.target.port, 443);
	msg_request4(&m, SOCKS_CMD_CONNECT, 443, "\x00\x00\x00\xff", "", 0, "h", 1);
	check_splits("socks4a 0.0.0.255, empty userid", p_request4, &m, &p);
	CHECK_EQ_STR(p.req.target.name, "h");

	/* 4a host that is an IPv4 literal becomes an address target */
	msg_request4(&m, SOCKS_CMD_CONNECT, 8080, "\x00\x00\x00\x01", "", 0, "203.0.113.9", 11);
	check_splits("socks4a ipv4 literal", p_request4, &m, &p);
	CHECK_EQ_INT(p.req.target.atyp, SOCKS_ATYP_IPV4);
	CHECK(memcmp(p.req.target.ip, "\xcb\x00\x71\x09", 4) == 0);
	CHECK_EQ_INT(p.req.target.port, 8080);

	/* no IPv6 in SOCKS4 */
	msg_request4(&m, SOCKS_CMD_CONNECT, 443, "\x00\x00\x00\x01", "", 0, "::1", 3);
	CHECK_EQ_INT(parse_msg(p_request4, &m, &p, &consumed), SOCKS_ERR_NAME);
	msg_request4(&m, SOCKS_CMD_CONNECT, 443, "\x00\x00\x00\x01", "", 0, "2001:db8::1", 11);
	CHECK_EQ_INT(parse_msg(p_request4, &m, &p, &consumed), SOCKS_ERR_NAME);

	/* 4a host checks are the SOCKS5 name checks */
	msg_request4(&m, SOCKS_CMD_CONNECT, 443, "\x00\x00\x00\x01", "", 0, "", 0);
	CHECK_EQ_INT(parse_msg(p_request4, &m, &p, &consumed), SOCKS_ERR_NAME);
	static const char *const bad[] = {"a b", "a\rb", "a\nb", "u@h", "h/p", "h:1", "[::1]", "a\x80"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		msg_request4(&m, SOCKS_CMD_CONNECT, 443, "\x00\x00\x00\x01", "", 0, bad[i], strlen(bad[i]));
		CHECK_EQ_INT(parse_msg(p_request4, &m, &p, &consumed), SOCKS_ERR_NAME);
	}

	/* 255-byte user id and host are the longest accepted */
	memset(big, 'a', 256);
	msg_request4(&m, SOCKS_CMD_CONNECT, 443, "\x00\x00\x00\x01", big, 255, big, 255);
	check_splits("socks4a 255+255", p_request4, &m, &p);
	CHECK_EQ_INT(strlen(p.req.userid), 255);
	CHECK_EQ_INT(strlen(p.req.target.name), 255);
	CHECK_EQ_INT(m.n, 8 + 256 + 256);

	/* 256 bytes: too long, whether or not the terminator has arrived */
	msg_request4(&m, SOCKS_CMD_CONNECT, 443, "\x01\x02\x03\x04", big, 256, NULL, 0);
	CHECK_EQ_INT(parse_msg(p_request4, &m, &p, &consumed), SOCKS_ERR_TOOLONG);
	m.n = 8 + 256;
	CHECK_EQ_INT(parse_msg(p_request4, &m, &p, &consumed), SOCKS_ERR_TOOLONG);
	m.n = 8 + 255;
	CHECK_EQ_INT(parse_msg(p_request4, &m, &p, &consumed), SOCKS_NEED_MORE);
	msg_request4(&m, SOCKS_CMD_CONNECT, 443, "\x00\x00\x00\x01", "", 0, big, 256);
	CHECK_EQ_INT(parse_msg(p_request4, &m, &p, &consumed), SOCKS_ERR_TOOLONG);
	m.n = 9 + 256;
	CHECK_EQ_INT(parse_msg(p_request4, &m, &p, &consumed), SOCKS_ERR_TOOLONG);
	m.n = 9 + 255;
	CHECK_EQ_INT(parse_msg(p_request4, &m, &p, &consumed), SOCKS_NEED_MORE);

	/* version */
	msg_request4(&m, SOCKS_CMD_CONNECT, 80, "\x7f\x00\x00\x01", "", 0, NULL, 0);
	m.b[0] = 5;
	CHECK_EQ_INT(parse_msg(p_request4, &m, &p, &consumed), SOCKS_ERR_VERSION);
	m.n = 1;
	CHECK_EQ_INT(parse_msg(p_request4, &m, &p, &consumed), SOCKS_ERR_VERSION);
}

static void test_encoders(void)
{
	uint8_t out[SOCKS5_REPLY_MAX];

	CHECK_EQ_INT(socks5_encode_method(out, SOCKS5_METHOD_NONE), 2);
	CHECK(memcmp(out, "\x05\x00", 2) == 0);
	CHECK_EQ_INT(socks5_encode_method(out, SOCKS5_METHOD_UNACCEPTABLE), 2);
	CHECK(memcmp(out, "\x05\xff", 2) == 0);
	CHECK_EQ_INT(socks5_encode_userpass_status(out, 0), 2);
	CHECK(memcmp(out, "\x01\x00", 2) == 0);
	CHECK_EQ_INT(socks5_encode_userpass_status(out, 1), 2);
	CHECK(memcmp(out, "\x01\x01", 2) == 0);

	/* no bound address: 0.0.0.0:0, a well-formed IPv4 reply */
	memset(out, 0xaa, sizeof(out));
	CHECK_EQ_INT(socks5_encode_reply(out, SOCKS5_REP_CONN_REFUSED, NULL), 10);
	CHECK(memcmp(out, "\x05\x05\x00\x01\x00\x00\x00\x00\x00\x00", 10) == 0);

	struct sockaddr_in s4;
	memset(&s4, 0, sizeof(s4));
	s4.sin_family = AF_INET;
	s4.sin_port = htons(1234);
	inet_pton(AF_INET, "10.0.0.1", &s4.sin_addr);
	CHECK_EQ_INT(socks5_encode_reply(out, SOCKS5_REP_SUCCEEDED, (struct sockaddr *)&s4), 10);
	CHECK(memcmp(out, "\x05\x00\x00\x01\x0a\x00\x00\x01\x04\xd2", 10) == 0);

	struct sockaddr_in6 s6;
	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	s6.sin6_port = htons(8080);
	inet_pton(AF_INET6, "2001:db8::2", &s6.sin6_addr);
	CHECK_EQ_INT(socks5_encode_reply(out, SOCKS5_REP_SUCCEEDED, (struct sockaddr *)&s6), 22);
	CHECK(memcmp(out, "\x05\x00\x00\x04\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x1f\x90",
		     22) == 0);

	/* any other family: still a well-formed 0.0.0.0:0 */
	struct sockaddr_un su;
	memset(&su, 0, sizeof(su));
	su.sun_family = AF_UNIX;
	CHECK_EQ_INT(socks5_encode_reply(out, SOCKS5_REP_GENERAL_FAILURE, (struct sockaddr *)&su), 10);
	CHECK(memcmp(out, "\x05\x01\x00\x01\x00\x00\x00\x00\x00\x00", 10) == 0);

	uint8_t out4[8];
	memset(out4, 0xaa, sizeof(out4));
	CHECK_EQ_INT(socks4_encode_reply(out4, SOCKS4_REP_GRANTED), 8);
	CHECK(memcmp(out4, "\x00\x5a\x00\x00\x00\x00\x00\x00", 8) == 0);
	CHECK_EQ_INT(socks4_encode_reply(out4, SOCKS4_REP_REJECTED), 8);
	CHECK(memcmp(out4, "\x00\x5b\x00\x00\x00\x00\x00\x00", 8) == 0);

	CHECK_EQ_INT(socks4_rep_from_socks5(SOCKS5_REP_SUCCEEDED), 90);
	for (int rep = 1; rep <= 8; rep++)
		CHECK_EQ_INT(socks4_rep_from_socks5((uint8_t)rep), 91);
}

static void test_authority(void)
{
	struct socks_target t;
	char out[300];

	memset(&t, 0, sizeof(t));
	t.atyp = SOCKS_ATYP_IPV4;
	memcpy(t.ip, "\xc0\x00\x02\x01", 4);
	t.port = 443;
	CHECK_EQ_INT(socks_target_authority(&t, out, sizeof(out)), 13);
	CHECK_EQ_STR(out, "192.0.2.1:443");
	/* exactly enough room, then one byte short */
	CHECK_EQ_INT(socks_target_authority(&t, out, 14), 13);
	CHECK_EQ_STR(out, "192.0.2.1:443");
	CHECK_EQ_INT(socks_target_authority(&t, out, 13), -1);

	memset(&t, 0, sizeof(t));
	t.atyp = SOCKS_ATYP_IPV6;
	inet_pton(AF_INET6, "2001:db8::1", t.ip);
	t.port = 65535;
	CHECK_EQ_INT(socks_target_authority(&t, out, sizeof(out)), 19);
	CHECK_EQ_STR(out, "[2001:db8::1]:65535");
	t.port = 0;
	inet_pton(AF_INET6, "::1", t.ip);
	CHECK_EQ_INT(socks_target_authority(&t, out, sizeof(out)), 7);
	CHECK_EQ_STR(out, "[::1]:0");

	memset(&t, 0, sizeof(t));
	t.atyp = SOCKS_ATYP_NAME;
	strcpy(t.name, "example.com");
	t.port = 80;
	CHECK_EQ_INT(socks_target_authority(&t, out, sizeof(out)), 14);
	CHECK_EQ_STR(out, "example.com:80");
	CHECK_EQ_INT(socks_target_authority(&t, out, 1), -1);

	memset(t.name, 'n', 255);
	t.name[255] = '\0';
	t.port = 65535;
	CHECK_EQ_INT(socks_target_authority(&t, out, sizeof(out)), 261);

	t.atyp = 0;
	CHECK_EQ_INT(socks_target_authority(&t, out, sizeof(out)), -1);
}

static void test_strerror(void)
{
	static const int errs[] = {SOCKS_ERR_VERSION, SOCKS_ERR_PROTOCOL, SOCKS_ERR_ATYP, SOCKS_ERR_NAME,
				   SOCKS_ERR_TOOLONG};
	for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		CHECK(strcmp(socks_strerror(errs[i]), "unknown error") != 0);
		for (size_t j = 0; j < i; j++)
			CHECK(strcmp(socks_strerror(errs[i]), socks_strerror(errs[j])) != 0);
	}
	CHECK_EQ_STR(socks_strerror(0), "unknown error");
	CHECK_EQ_STR(socks_strerror(-99), "unknown error");
}

int main(void)
{
	test_greeting();
	test_request5();
	test_userpass();
	test_request4();
	test_encoders();
	test_authority();
	test_strerror();
	return check_report();
}
