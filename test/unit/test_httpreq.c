/* test_httpreq: the request-head parser at every split point, its framing rules (RFC 9112
 * section 6.3), the rewrite for the upstream proxy, Basic credentials and the chunked
 * scanner byte by byte. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "httpreq.h"

/* Parses s fed one more byte at a time (scan kept), and in one go: both must agree.
 * Returns the result. */
static long parse_split(const char *s, struct httpreq *r)
{
	size_t len = strlen(s), scan = 0;
	long whole, rc = 0;
	size_t at = 0;
	for (at = 1; at <= len; at++) {
		rc = httpreq_parse(s, at, &scan, r);
		if (rc != 0)
			break;
	}
	struct httpreq r2;
	size_t scan2 = 0;
	whole = httpreq_parse(s, len, &scan2, &r2);
	CHECK_EQ_INT(rc, whole);
	if (rc > 0)
		CHECK_EQ_INT(at, (size_t)rc); /* found at the very byte that ends it */
	return whole > 0 ? httpreq_parse(s, len, &(size_t){0}, r) : whole;
}

static void test_connect(void)
{
	struct httpreq r;
	char auth[300];
	const char *s = "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\nEARLY";
	long n = parse_split(s, &r);
	CHECK_EQ_INT(n, (long)strlen(s) - 5);
	CHECK(r.is_connect);
	CHECK_EQ_INT(r.form, HTTPREQ_AUTHORITY);
	CHECK_EQ_STR(r.host, "example.com");
	CHECK_EQ_INT(r.port, 443);
	CHECK_EQ_INT(r.minor, 1);
	CHECK_EQ_INT(r.conn_close, 0);
	CHECK_EQ_INT(httpreq_authority(&r, 0, auth, sizeof(auth)), 15);
	CHECK_EQ_STR(auth, "example.com:443");

	n = parse_split("CONNECT [2001:db8::1]:22 HTTP/1.0\n\n", &r);
	CHECK(n > 0);
	CHECK_EQ_STR(r.host, "2001:db8::1");
	CHECK_EQ_INT(r.conn_close, 1);
	httpreq_authority(&r, 0, auth, sizeof(auth));
	CHECK_EQ_STR(auth, "[2001:db8::1]:22");

	CHECK_EQ_INT(parse_split("CONNECT example.com HTTP/1.1\r\n\r\n", &r), HTTPREQ_ERR_TARGET);
	CHECK_EQ_INT(parse_split("CONNECT example.com:0 HTTP/1.1\r\n\r\n", &r), HTTPREQ_ERR_TARGET);
	CHECK_EQ_INT(parse_split("CONNECT example.com:65536 HTTP/1.1\r\n\r\n", &r), HTTPREQ_ERR_TARGET);
	CHECK_EQ_INT(parse_split("CONNECT a@b:1 HTTP/1.1\r\n\r\n", &r), HTTPREQ_ERR_TARGET);
	CHECK_EQ_INT(parse_split("CONNECT [::1:443 HTTP/1.1\r\n\r\n", &r), HTTPREQ_ERR_TARGET);
}

static void test_forms(void)
{
	struct httpreq r;
	const char *s = "GET http://Example.com:8080/a/b?c HTTP/1.1\r\nHost: other\r\nProxy-Authorization:  Basic eDp5 \r\n\r\n";
	CHECK(parse_split(s, &r) > 0);
	CHECK_EQ_INT(r.form, HTTPREQ_ABSOLUTE);
	CHECK_EQ_STR(r.host, "Example.com");
	CHECK_EQ_INT(r.port, 8080);
	CHECK_EQ_INT(r.path_len, 6);
	CHECK(memcmp(s + r.path_off, "/a/b?c", 6) == 0);
	CHECK_EQ_INT(r.auth_len, 10);
	CHECK(memcmp(s + r.auth_off, "Basic eDp5", 10) == 0);

	CHECK(parse_split("HEAD http://h HTTP/1.1\r\n\r\n", &r) > 0);
	CHECK(r.is_head);
	CHECK_EQ_INT(r.port, 80);
	CHECK_EQ_INT(r.path_len, 0);
	CHECK(parse_split("GET https://h/ HTTP/1.1\r\n\r\n", &r) > 0);
	CHECK_EQ_INT(r.port, 443);

	CHECK(parse_split("GET /proxy.pac HTTP/1.1\r\nHost: localhost:1080\r\n\r\n", &r) > 0);
	CHECK_EQ_INT(r.form, HTTPREQ_ORIGIN);
	CHECK(httpreq_host_is_loopback(&r));
	CHECK_EQ_INT(r.port, 1080);
	CHECK(parse_split("GET / HTTP/1.1\r\nHost: 127.1.2.3\r\n\r\n", &r) > 0);
	CHECK(httpreq_host_is_loopback(&r));
	CHECK(parse_split("GET / HTTP/1.1\r\nHost: [::1]:8\r\n\r\n", &r) > 0);
	CHECK(httpreq_host_is_loopback(&r));
	CHECK(parse_split("GET / HTTP/1.1\r\nHost: attacker.example\r\n\r\n", &r) > 0);
	CHECK(!httpreq_host_is_loopback(&r));
	CHECK(parse_split("GET / HTTP/1.1\r\nHost: 127.0.0.1.attacker.example\r\n\r\n", &r) > 0);
	CHECK(!httpreq_host_is_loopback(&r));
	CHECK(parse_split("GET / HTTP/1.1\r\nHost: 127.0.0.256\r\n\r\n", &r) > 0);
	CHECK(!httpreq_host_is_loopback(&r));
	CHECK(parse_split("GET / HTTP/1.1\r\nHost: 127.0.0\r\n\r\n", &r) > 0);
	CHECK(!httpreq_host_is_loopback(&r));
	CHECK(parse_split("GET / HTTP/1.0\r\n\r\n", &r) > 0);
	CHECK(!httpreq_host_is_loopback(&r));
	CHECK(parse_split("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", &r) > 0);
	CHECK_EQ_INT(r.form, HTTPREQ_ASTERISK);

	CHECK_EQ_INT(parse_split("GET * HTTP/1.1\r\n\r\n", &r), HTTPREQ_ERR_TARGET);
	CHECK_EQ_INT(parse_split("GET ftp://h/ HTTP/1.1\r\n\r\n", &r), HTTPREQ_ERR_TARGET);
	CHECK_EQ_INT(parse_split("GET http://u:p@h/ HTTP/1.1\r\n\r\n", &r), HTTPREQ_ERR_TARGET);
	CHECK_EQ_INT(parse_split("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", &r), HTTPREQ_ERR_HEADER);
	CHECK_EQ_INT(parse_split("GET / HTTP/2.0\r\n\r\n", &r), HTTPREQ_ERR_REQUEST_LINE);
	CHECK_EQ_INT(parse_split("GET  / HTTP/1.1\r\n\r\n", &r), HTTPREQ_ERR_REQUEST_LINE);
	CHECK_EQ_INT(parse_split("GET / HTTP/1.1 \r\n\r\n", &r), HTTPREQ_ERR_REQUEST_LINE);
	CHECK_EQ_INT(parse_split("G(T / HTTP/1.1\r\n\r\n", &r), HTTPREQ_ERR_REQUEST_LINE);
	CHECK_EQ_INT(parse_split("GET / HTTP/1.1\r\nX : y\r\n\r\n", &r), HTTPREQ_ERR_HEADER);
	CHECK_EQ_INT(parse_split("GET / HTTP/1.1\r\nX: y\r\n folded\r\n\r\n", &r), HTTPREQ_ERR_HEADER);
	CHECK_EQ_INT(parse_split("GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", &r), HTTPREQ_ERR_HEADER);
	CHECK_EQ_INT(parse_split("GET / HTTP/1.1\r\nX: a\x01\r\n\r\n", &r), HTTPREQ_ERR_HEADER);
}

static void test_framing(void)
{
	struct httpreq r;
	CHECK(parse_split("POST http://h/ HTTP/1.1\r\nContent-Length: 12\r\n\r\n", &r) > 0);
	CHECK_EQ_INT(r.content_length, 12);
	CHECK(!r.chunked);
	CHECK(parse_split("POST http://h/ HTTP/1.1\r\nContent-Length: 12, 12\r\nContent-Length: 12\r\n\r\n", &r) > 0);
	CHECK_EQ_INT(r.content_length, 12);
	CHECK(parse_split("POST http://h/ HTTP/1.1\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n", &r) > 0);
	CHECK(r.chunked);
	CHECK_EQ_INT(r.content_length, -1);
	CHECK(parse_split("GET http://h/ HTTP/1.1\r\n\r\n", &r) > 0);
	CHECK_EQ_INT(r.content_length, -1);
	CHECK(!r.chunked);

	CHECK_EQ_INT(parse_split("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", &r), HTTPREQ_ERR_FRAMING);
	CHECK_EQ_INT(parse_split("POST / HTTP/1.1\r\nContent-Length: 1, 2\r\n\r\n", &r), HTTPREQ_ERR_FRAMING);
	CHECK_EQ_INT(parse_split("POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", &r),
		     HTTPREQ_ERR_FRAMING);
	CHECK_EQ_INT(parse_split("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", &r),
		     HTTPREQ_ERR_FRAMING);
	CHECK_EQ_INT(parse_split("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", &r), HTTPREQ_ERR_FRAMING);
	CHECK_EQ_INT(parse_split("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", &r), HTTPREQ_ERR_FRAMING);
	CHECK_EQ_INT(parse_split("POST / HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n", &r), HTTPREQ_ERR_FRAMING);
	CHECK_EQ_INT(parse_split("POST / HTTP/1.1\r\nContent-Length: 1234567890123456789\r\n\r\n", &r),
		     HTTPREQ_ERR_FRAMING);
	CHECK_EQ_INT(parse_split("POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", &r), HTTPREQ_ERR_FRAMING);

	CHECK(parse_split("GET / HTTP/1.1\r\nConnection: keep-alive, Close\r\n\r\n", &r) > 0);
	CHECK(r.conn_close);
	CHECK(parse_split("GET / HTTP/1.0\r\nProxy-Connection: keep-alive\r\n\r\n", &r) > 0);
	CHECK(!r.conn_close);

	/* RFC 9112 section 6.1: an HTTP/1.0 request knows no chunked framing: faulty, a 400 */
	CHECK_EQ_INT(parse_split("POST http://h/ HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", &r),
		     HTTPREQ_ERR_FRAMING);
	CHECK(parse_split("POST http://h/ HTTP/1.0\r\nContent-Length: 2\r\n\r\n", &r) > 0);
}

static void test_bounds(void)
{
	struct httpreq r;
	size_t cap = HTTPREQ_HEAD_MAX + 64, scan = 0;
	char *big = malloc(cap);
	CHECK(big != NULL);
	if (big == NULL)
		return;
	int n = snprintf(big, cap, "GET / HTTP/1.1\r\n");
	for (int i = 0; i < HTTPREQ_HEADERS_MAX; i++)
		n += snprintf(big + n, cap - (size_t)n, "X-%d: v\r\n", i);
	n += snprintf(big + n, cap - (size_t)n, "\r\n");
	CHECK(httpreq_parse(big, (size_t)n, &scan, &r) > 0);
	CHECK_EQ_INT(r.nheaders, HTTPREQ_HEADERS_MAX);
	n -= 2;
	n += snprintf(big + n, cap - (size_t)n, "X-last: v\r\n\r\n");
	scan = 0;
	CHECK_EQ_INT(httpreq_parse(big, (size_t)n, &scan, &r), HTTPREQ_ERR_TOOMANY);

	memset(big, 'a', cap);
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	scan = 0;
	CHECK_EQ_INT(httpreq_parse(big, HTTPREQ_HEAD_MAX - 1, &scan, &r), 0);
	CHECK_EQ_INT(httpreq_parse(big, HTTPREQ_HEAD_MAX, &scan, &r), HTTPREQ_ERR_TOOLARGE);
	free(big);
}

static void test_rewrite(void)
{
	struct httpreq r;
	char out[1024];
	const char *s = "GET http://h/x HTTP/1.0\nHost: h\nConnection: keep-alive, X-Secret\nX-Secret: 1\n"
			"Keep-Alive: 300\nProxy-Connection: keep-alive\nTE: trailers\nTrailer: x\nUpgrade: h2c\n"
			"Proxy-Authorization: Basic Y2xpZW50OnB3\nAccept: */*\n\n";
	CHECK(parse_split(s, &r) > 0);
	long n = httpreq_rewrite(s, &r, "Basic dXA6cHc=", 0, out, sizeof(out));
	CHECK(n > 0);
	out[n > 0 ? n : 0] = '\0';
	CHECK_EQ_STR(out, "GET http://h/x HTTP/1.0\r\nHost: h\r\nAccept: */*\r\nProxy-Authorization: Basic dXA6cHc=\r\n"
			  "Connection: close\r\n\r\n");
	CHECK_EQ_INT(httpreq_rewrite(s, &r, NULL, 0, out, 40), -1);
	n = httpreq_rewrite(s, &r, NULL, 0, out, sizeof(out));
	CHECK(n > 0 && strstr(out, "Proxy-Authorization") == NULL);
	/* the same with CRLF line ends: the last token of Connection ends before the CR */
	const char *crlf = "GET http://h/x HTTP/1.1\r\nConnection: keep-alive, X-Secret\r\nX-Secret: 1\r\nA: b\r\n\r\n";
	CHECK(parse_split(crlf, &r) > 0);
	n = httpreq_rewrite(crlf, &r, NULL, 0, out, sizeof(out));
	out[n > 0 ? n : 0] = '\0';
	CHECK_EQ_STR(out, "GET http://h/x HTTP/1.1\r\nA: b\r\nConnection: close\r\n\r\n");

	/* Connection may not take the framing (nor Host) away: the body is framed by it, and
	 * without it the next hop would read the body as the next request */
	const char *cl = "POST http://h/ HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, Content-Length, Host, X-A\r\n"
			 "X-A: 1\r\nContent-Length: 5\r\n\r\n";
	CHECK(parse_split(cl, &r) > 0);
	n = httpreq_rewrite(cl, &r, NULL, 0, out, sizeof(out));
	out[n > 0 ? n : 0] = '\0';
	CHECK_EQ_STR(out, "POST http://h/ HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nConnection: close\r\n\r\n");
	const char *te = "POST http://h/ HTTP/1.1\r\nConnection: transfer-encoding\r\nTransfer-Encoding: chunked\r\n\r\n";
	CHECK(parse_split(te, &r) > 0);
	n = httpreq_rewrite(te, &r, NULL, 0, out, sizeof(out));
	out[n > 0 ? n : 0] = '\0';
	CHECK_EQ_STR(out, "POST http://h/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n");

	/* for the origin (a direct route): origin form, and Host names the target whatever the
	 * client sent, or when it sent none (RFC 9112 section 3.2.2); the default port left out */
	static const struct {
		const char *req, *want;
	} origin[] = {
		{"GET http://a.example:8080/p?q HTTP/1.1\r\nHost: other.example\r\nX: 1\r\n\r\n",
		 "GET /p?q HTTP/1.1\r\nHost: a.example:8080\r\nX: 1\r\nConnection: close\r\n\r\n"},
		{"GET http://a.example HTTP/1.1\r\n\r\n", "GET / HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n"},
		{"GET http://[::1]:80?x HTTP/1.0\nHost: [::1]\n\n",
		 "GET /?x HTTP/1.0\r\nHost: [::1]\r\nConnection: close\r\n\r\n"},
		{"GET http://[::1]:81/ HTTP/1.1\r\nProxy-Authorization: Basic eDp5\r\n\r\n",
		 "GET / HTTP/1.1\r\nHost: [::1]:81\r\nConnection: close\r\n\r\n"},
	};
	for (size_t i = 0; i < sizeof(origin) / sizeof(origin[0]); i++) {
		CHECK(parse_split(origin[i].req, &r) > 0);
		n = httpreq_rewrite(origin[i].req, &r, "Basic dXA6cHc=", 1, out, sizeof(out));
		out[n > 0 ? n : 0] = '\0';
		CHECK_EQ_STR(out, origin[i].want);
		CHECK((size_t)n <= httpreq_rewrite_size(&r, "Basic dXA6cHc="));
	}
	/* credentials of any length fit the size it asks for */
	char *longauth = malloc(5001), *big = malloc(8192);
	memset(longauth, 'A', 5000);
	longauth[5000] = '\0';
	CHECK(parse_split(s, &r) > 0);
	CHECK(httpreq_rewrite_size(&r, longauth) <= 8192);
	n = httpreq_rewrite(s, &r, longauth, 0, big, httpreq_rewrite_size(&r, longauth));
	CHECK(n > 5000);
	free(longauth);
	free(big);
}

static void test_rewrite_response(void)
{
	char out[512];
	const char *s = "HTTP/1.1 200 OK\nConnection: keep-alive, X-Hop\nX-Hop: 1\nContent-Length: 3\n"
			"Keep-Alive: timeout=5\nProxy-Connection: close\nVia: 1.1 squid\n\n";
	long n = httpreq_rewrite_response(s, strlen(s), 0, 3, out, sizeof(out));
	CHECK(n > 0);
	out[n > 0 ? n : 0] = '\0';
	CHECK_EQ_STR(out, "HTTP/1.1 200 OK\r\nVia: 1.1 squid\r\nContent-Length: 3\r\n\r\n");
	n = httpreq_rewrite_response(s, strlen(s), HTTPREQ_RESP_CLOSE, 3, out, sizeof(out));
	out[n > 0 ? n : 0] = '\0';
	CHECK_EQ_STR(out, "HTTP/1.1 200 OK\r\nVia: 1.1 squid\r\nContent-Length: 3\r\nConnection: close\r\n\r\n");
	n = httpreq_rewrite_response(s, strlen(s), HTTPREQ_RESP_KEEPALIVE, 3, out, sizeof(out));
	out[n > 0 ? n : 0] = '\0';
	CHECK_EQ_STR(out, "HTTP/1.1 200 OK\r\nVia: 1.1 squid\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\n");
	CHECK_EQ_INT(httpreq_rewrite_response(s, strlen(s), HTTPREQ_RESP_CLOSE, 3, out, 30), -1);
	CHECK_EQ_INT(httpreq_rewrite_response("no line end", 11, 0, -1, out, sizeof(out)), -1);

	/* the framing the client reads is the one we framed by: equal lengths folded to one;
	 * none beside Transfer-Encoding (RFC 9112 section 6.3 (3)); Connection listing
	 * Transfer-Encoding does not take it away (the client would get chunks it cannot
	 * delimit, on a connection kept open) */
	const char *dup = "HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\nX: y\r\nContent-Length: 2\r\n\r\n";
	n = httpreq_rewrite_response(dup, strlen(dup), 0, 2, out, sizeof(out));
	out[n > 0 ? n : 0] = '\0';
	CHECK_EQ_STR(out, "HTTP/1.1 200 OK\r\nX: y\r\nContent-Length: 2\r\n\r\n");
	const char *both = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: Transfer-Encoding\r\n"
			   "Transfer-Encoding: chunked\r\n\r\n";
	n = httpreq_rewrite_response(both, strlen(both), 0, -1, out, sizeof(out));
	out[n > 0 ? n : 0] = '\0';
	CHECK_EQ_STR(out, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");

	/* RFC 9112 section 5.2: a proxy replaces obs-fold with SP; the fold of a dropped
	 * header goes with it */
	const char *fold = "HTTP/1.1 407 x\r\nProxy-Authenticate: Basic realm=\"a\",\r\n\t Digest realm=\"b\"\r\n"
			   "Keep-Alive: a\r\n b\r\nX: 1\r\n\r\n";
	n = httpreq_rewrite_response(fold, strlen(fold), 0, -1, out, sizeof(out));
	out[n > 0 ? n : 0] = '\0';
	CHECK_EQ_STR(out, "HTTP/1.1 407 x\r\nProxy-Authenticate: Basic realm=\"a\", Digest realm=\"b\"\r\nX: 1\r\n\r\n");
}

static void test_basic(void)
{
	char u[64], p[64];
	CHECK_EQ_INT(httpreq_basic_credentials("Basic dXNlcjpwYTpzcw==", 22, u, p, sizeof(u)), 0);
	CHECK_EQ_STR(u, "user");
	CHECK_EQ_STR(p, "pa:ss");
	CHECK_EQ_INT(httpreq_basic_credentials("basic  dTpw", 11, u, p, sizeof(u)), 0);
	CHECK_EQ_STR(u, "u");
	CHECK_EQ_INT(httpreq_basic_credentials("Digest dTpw", 11, u, p, sizeof(u)), -1);
	CHECK_EQ_INT(httpreq_basic_credentials("Basic dXNlcg==", 14, u, p, sizeof(u)), -1); /* no colon */
	CHECK_EQ_INT(httpreq_basic_credentials("Basic d*pw", 10, u, p, sizeof(u)), -1);
	CHECK_EQ_INT(httpreq_basic_credentials("Basic dTpw", 10, u, p, 1), -1);
}

/* s is a chunked body followed by "NEXT": fed whole and byte by byte, it ends before NEXT. */
static void chunk_case(const char *s, int ok)
{
	size_t len = strlen(s), used = 0, total = 0;
	struct httpreq_chunk c;
	memset(&c, 0, sizeof(c));
	int rc = httpreq_chunk_scan(&c, s, len, &used);
	if (!ok) {
		CHECK_EQ_INT(rc, HTTPREQ_CHUNK_ERROR);
		return;
	}
	CHECK_EQ_INT(rc, HTTPREQ_CHUNK_DONE);
	CHECK_EQ_INT(used, len - 4);
	memset(&c, 0, sizeof(c));
	for (size_t i = 0; i < len; i++) {
		rc = httpreq_chunk_scan(&c, s + i, 1, &used);
		total += used;
		if (rc != HTTPREQ_CHUNK_MORE)
			break;
	}
	CHECK_EQ_INT(rc, HTTPREQ_CHUNK_DONE);
	CHECK_EQ_INT(total, len - 4);
}

static void test_chunks(void)
{
	chunk_case("5\r\nhello\r\n0\r\n\r\nNEXT", 1);
	chunk_case("A;ext=1\r\n0123456789\r\n1\r\nx\r\n0\r\nTrailer: v\r\n\r\nNEXT", 1);
	chunk_case("3\nabc\n0\n\nNEXT", 1);
	chunk_case("0\r\n\r\nNEXT", 1);
	chunk_case("x\r\n\r\nNEXT", 0);
	chunk_case("3\r\nabcX\r\n0\r\n\r\nNEXT", 0);
	chunk_case("1000000000000000\r\nNEXT", 0);
	chunk_case("\r\n0\r\n\r\nNEXT", 0);
}

int main(void)
{
	test_connect();
	test_forms();
	test_framing();
	test_bounds();
	test_rewrite();
	test_rewrite_response();
	test_basic();
	test_chunks();
	return check_report();
}
