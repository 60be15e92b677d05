/* test_httpc: header-end scanning (whole, split, dribbled), response parsing, the CONNECT
 * builder and base64.  (The outcome -> SOCKS reply table is front's: test_front.) */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "httpc.h"

/* httpc_header_end on an exact-size heap copy, so ASan reports reads past len. */
static long header_end_copy(const char *s, size_t len, size_t max, size_t *scan)
{
	char *copy = malloc(len ? len : 1);
	if (copy == NULL)
		abort();
	memcpy(copy, s, len);
	long rc = httpc_header_end(copy, len, max, scan);
	free(copy);
	return rc;
}

/* Feeds s one byte at a time with a kept *scan; returns the first non-zero result and the
 * length at which it came in *at. */
static long dribble(const char *s, size_t n, size_t max, size_t *at)
{
	size_t scan = 0;
	for (size_t k = 0; k <= n; k++) {
		long rc = header_end_copy(s, k, max, &scan);
		if (scan > k) {
			fprintf(stderr, "dribble: scan %zu past len %zu\n", scan, k);
			return -100;
		}
		if (rc != 0) {
			*at = k;
			return rc;
		}
	}
	*at = n;
	return 0;
}

/* s holds a header of hdr bytes, maybe followed by tunnel bytes: every way of feeding it must
 * find the same end. */
static void check_header_end(const char *what, const char *s, long hdr)
{
	size_t n = strlen(s), scan, at;
	int bad = 0;

	scan = 0;
	CHECK_EQ_INT(header_end_copy(s, n, 65536, &scan), hdr);
	/* every prefix short of the end is incomplete */
	for (size_t k = 0; k < (size_t)hdr; k++) {
		scan = 0;
		if (header_end_copy(s, k, 65536, &scan) != 0 && bad++ == 0)
			fprintf(stderr, "%s: prefix %zu gave an end\n", what, k);
	}
	CHECK_EQ_INT(bad, 0);
	/* two reads split at every point, the scan position kept in between */
	bad = 0;
	for (size_t k = 0; k < n; k++) {
		scan = 0;
		long first = header_end_copy(s, k, 65536, &scan);
		long rc = first != 0 ? first : header_end_copy(s, n, 65536, &scan);
		if (rc != hdr && bad++ == 0)
			fprintf(stderr, "%s: split at %zu gave %ld\n", what, k, rc);
	}
	CHECK_EQ_INT(bad, 0);
	/* one byte per read */
	CHECK_EQ_INT(dribble(s, n, 65536, &at), hdr);
	CHECK_EQ_INT(at, hdr);
}

static void test_header_end(void)
{
	size_t scan, at;

	check_header_end("crlf", "HTTP/1.1 200 Connection established\r\n\r\n", 39);
	check_header_end("lf", "HTTP/1.0 200 OK\n\n", 17);
	check_header_end("crlf then lf", "HTTP/1.1 200 OK\r\nVia: 1.1 squid\r\n\n", 34);
	check_header_end("lf then crlf", "HTTP/1.1 200 OK\nVia: x\n\r\n", 25);
	/* tunnel bytes right after the header are not part of it */
	check_header_end("coalesced", "HTTP/1.1 200 OK\r\n\r\nSSH-2.0-OpenSSH_9.2\r\n\r\n", 19);
	check_header_end("body", "HTTP/1.1 403 Forbidden\r\nContent-Length: 4\r\n\r\n\n\n\n\n", 45);

	/* not ends: CR CR LF, LF SP LF, lone CRs */
	scan = 0;
	CHECK_EQ_INT(header_end_copy("HTTP/1.1 200 OK\r\r\n", 18, 65536, &scan), 0);
	scan = 0;
	CHECK_EQ_INT(header_end_copy("HTTP/1.1 200 OK\n \n", 18, 65536, &scan), 0);
	scan = 0;
	CHECK_EQ_INT(header_end_copy("HTTP/1.1 200 OK\r\r\r\r", 19, 65536, &scan), 0);
	scan = 0;
	CHECK_EQ_INT(header_end_copy("", 0, 65536, &scan), 0);
	CHECK_EQ_INT(scan, 0);
	/* the scan position only moves forward over what was seen */
	scan = 0;
	CHECK_EQ_INT(header_end_copy("HTTP/1.1 200", 12, 65536, &scan), 0);
	CHECK_EQ_INT(scan, 12);

	/* the limit: a header of exactly max bytes is found, one more is too large */
	const char *h = "HTTP/1.1 200 OK\r\n\r\n"; /* 19 bytes */
	scan = 0;
	CHECK_EQ_INT(header_end_copy(h, 19, 19, &scan), 19);
	scan = 0;
	CHECK_EQ_INT(header_end_copy(h, 19, 18, &scan), HTTPC_ERR_TOOLARGE);
	scan = 0;
	CHECK_EQ_INT(header_end_copy(h, 17, 18, &scan), 0);
	scan = 0;
	CHECK_EQ_INT(header_end_copy(h, 18, 18, &scan), HTTPC_ERR_TOOLARGE);
	CHECK_EQ_INT(dribble(h, 19, 18, &at), HTTPC_ERR_TOOLARGE);
	CHECK_EQ_INT(at, 18);
	CHECK_EQ_INT(dribble(h, 19, 19, &at), 19);
	CHECK_EQ_INT(at, 19);
	/* a huge header dribbled in: too large exactly when max bytes have come */
	char big[5000];
	memcpy(big, "HTTP/1.1 200 OK\r\n", 17);
	for (size_t i = 17; i < sizeof(big) - 1; i++)
		big[i] = (i % 80 == 79) ? '\n' : 'X';
	big[sizeof(big) - 1] = '\0';
	CHECK_EQ_INT(dribble(big, sizeof(big) - 1, 4096, &at), HTTPC_ERR_TOOLARGE);
	CHECK_EQ_INT(at, 4096);
	/* bytes past max are not looked at: an end beyond the limit is still too large */
	char late[64];
	memset(late, 'X', sizeof(late));
	memcpy(late + 60, "\r\n\r\n", 4);
	scan = 0;
	CHECK_EQ_INT(header_end_copy(late, 64, 32, &scan), HTTPC_ERR_TOOLARGE);
}

/* Parses the header found at the start of s. */
static int parse(const char *s, struct httpc_response *r)
{
	size_t scan = 0;
	long hdr = httpc_header_end(s, strlen(s), 65536, &scan);
	if (hdr <= 0) {
		fprintf(stderr, "parse: no header end in \"%s\"\n", s);
		return -100;
	}
	char *copy = malloc((size_t)hdr);
	if (copy == NULL)
		abort();
	memcpy(copy, s, (size_t)hdr);
	int rc = httpc_parse_response(copy, (size_t)hdr, r);
	free(copy);
	return rc;
}

static void test_status_line(void)
{
	struct httpc_response r;

	CHECK_EQ_INT(parse("HTTP/1.1 200 Connection established\r\n\r\n", &r), 0);
	CHECK_EQ_INT(r.status, 200);
	CHECK_EQ_INT(r.minor, 1);
	CHECK_EQ_STR(r.reason, "Connection established");
	CHECK_EQ_INT(r.content_length, -1);
	CHECK_EQ_INT(r.chunked, 0);
	CHECK_EQ_INT(r.conn_close, 0);
	CHECK_EQ_INT(r.auth_schemes, 0);
	CHECK_EQ_STR(r.squid_error, "");

	/* HTTP/1.0: closes unless it says keep-alive */
	CHECK_EQ_INT(parse("HTTP/1.0 200 OK\r\n\r\n", &r), 0);
	CHECK_EQ_INT(r.minor, 0);
	CHECK_EQ_INT(r.conn_close, 1);
	CHECK_EQ_STR(r.reason, "OK");
	CHECK_EQ_INT(parse("HTTP/1.0 200 OK\r\nProxy-Connection: keep-alive\r\n\r\n", &r), 0);
	CHECK_EQ_INT(r.conn_close, 0);
	CHECK_EQ_INT(parse("HTTP/1.0 407 Auth\r\nConnection: Keep-Alive\r\n\r\n", &r), 0);
	CHECK_EQ_INT(r.conn_close, 0);

	/* no reason phrase, with and without the space */
	CHECK_EQ_INT(parse("HTTP/1.1 200\r\n\r\n", &r), 0);
	CHECK_EQ_INT(r.status, 200);
	CHECK_EQ_STR(r.reason, "");
	CHECK_EQ_INT(parse("HTTP/1.1 204 \r\n\r\n", &r), 0);
	CHECK_EQ_INT(r.status, 204);
	CHECK_EQ_STR(r.reason, "");
	/* bare LF, and the extremes of the status range */
	CHECK_EQ_INT(parse("HTTP/1.1 100 Continue\n\n", &r), 0);
	CHECK_EQ_INT(r.status, 100);
	CHECK_EQ_INT(parse("HTTP/1.1 599 Whatever\n\n", &r), 0);
	CHECK_EQ_INT(r.status, 599);
	CHECK_EQ_INT(parse("HTTP/1.9 299 x\n\n", &r), 0);
	CHECK_EQ_INT(r.minor, 9);

	/* a long reason is truncated for the log: 63 bytes fit, 64 and more are cut */
	char longr[200];
	snprintf(longr, sizeof(longr), "HTTP/1.1 200 %0100d\r\n\r\n", 0);
	CHECK_EQ_INT(parse(longr, &r), 0);
	CHECK_EQ_INT(strlen(r.reason), sizeof(r.reason) - 1);
	snprintf(longr, sizeof(longr), "HTTP/1.1 200 %063d\r\nX-Squid-Error: E\r\n\r\n", 0);
	CHECK_EQ_INT(parse(longr, &r), 0);
	CHECK_EQ_INT(strlen(r.reason), 63);
	CHECK_EQ_STR(r.squid_error, "E");
	snprintf(longr, sizeof(longr), "HTTP/1.1 200 %064d\r\nX-Squid-Error: E\r\n\r\n", 0);
	CHECK_EQ_INT(parse(longr, &r), 0);
	CHECK_EQ_INT(strlen(r.reason), 63);
	CHECK_EQ_STR(r.squid_error, "E");
	/* a reason may hold tabs, and bytes >= 0x80 */
	CHECK_EQ_INT(parse("HTTP/1.1 200 a\tb \xc3\xa9\r\n\r\n", &r), 0);
	CHECK_EQ_STR(r.reason, "a\tb \xc3\xa9");

	static const char *const bad[] = {
		"HTTP/2 200 OK\r\n\r\n",        "HTTP/2.0 200 OK\r\n\r\n",     "HTTP/1.1 20\r\n\r\n",
		"HTTP/1.1 2000 OK\r\n\r\n",     "HTTP/1.1 099 x\r\n\r\n",      "HTTP/1.1 600 x\r\n\r\n",
		"HTTP/1.1 000 x\r\n\r\n",       "HTTP/1.1 abc x\r\n\r\n",      "HTTP/1.1 2x0 x\r\n\r\n",
		"HTTP/1.1 20x x\r\n\r\n",       "HTTP/1.x 200 OK\r\n\r\n",     "HTTP/1.1  200 OK\r\n\r\n",
		"http/1.1 200 OK\r\n\r\n",      "HTTP/1.1 200OK\r\n\r\n",      "HTTP/1.10 200 OK\r\n\r\n",
		"HTTP/0.9 200 OK\r\n\r\n",      "SSH-2.0-OpenSSH_9.2\r\n\r\n", "\r\n\r\n",
		"HTTP/1.1 200 O\x01K\r\n\r\n",  "HTTP/1.1 200 OK\x7f\r\n\r\n", "HTTP/1.1\t200 OK\r\n\r\n",
		" HTTP/1.1 200 OK\r\n\r\n",     "HTTP/1.1 -20 OK\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = parse(bad[i], &r);
		if (rc != HTTPC_ERR_STATUS_LINE)
			fprintf(stderr, "bad status line %zu: %d\n", i, rc);
		CHECK_EQ_INT(rc, HTTPC_ERR_STATUS_LINE);
	}
	/* a NUL in the status line */
	const char nul[] = "HTTP/1.1 200 O\0K\r\n\r\n";
	CHECK_EQ_INT(httpc_parse_response(nul, sizeof(nul) - 1, &r), HTTPC_ERR_STATUS_LINE);
	CHECK_EQ_INT(httpc_parse_response("", 0, &r), HTTPC_ERR_STATUS_LINE);
}

static void test_headers(void)
{
	struct httpc_response r;

	/* squid's error reply, body included */
	const char *squid =
		"HTTP/1.1 503 Service Unavailable\r\n"
		"Server: squid/5.7\r\n"
		"Mime-Version: 1.0\r\n"
		"Date: Tue, 05 Mar 2024 10:00:00 GMT\r\n"
		"Content-Type: text/html;charset=utf-8\r\n"
		"Content-Length: 3612\r\n"
		"X-Squid-Error: ERR_CONNECT_FAIL 111\r\n"
		"Vary: Accept-Language\r\n"
		"Content-Language: en\r\n"
		"\r\n"
		"<!DOCTYPE html>\n<html><head>\n<title>ERROR: The requested URL could not be retrieved</title>\n\n";
	CHECK_EQ_INT(parse(squid, &r), 0);
	CHECK_EQ_INT(r.status, 503);
	CHECK_EQ_STR(r.reason, "Service Unavailable");
	CHECK_EQ_INT(r.content_length, 3612);
	CHECK_EQ_STR(r.squid_error, "ERR_CONNECT_FAIL 111");
	CHECK_EQ_INT(r.conn_close, 0);

	/* squid's 407: one Proxy-Authenticate per scheme */
	CHECK_EQ_INT(parse("HTTP/1.1 407 Proxy Authentication Required\r\n"
			   "Proxy-Authenticate: Negotiate\r\n"
			   "Proxy-Authenticate: NTLM\r\n"
			   "Proxy-Authenticate: Basic realm=\"Squid proxy-caching web server\"\r\n"
			   "X-Squid-Error: ERR_CACHE_ACCESS_DENIED 0\r\n"
			   "Connection: keep-alive\r\n"
			   "Content-Length: 0\r\n\r\n",
			   &r),
		     0);
	CHECK_EQ_INT(r.auth_schemes, HTTPC_AUTH_NEGOTIATE | HTTPC_AUTH_NTLM | HTTPC_AUTH_BASIC);
	CHECK_EQ_INT(r.content_length, 0);
	CHECK_EQ_INT(r.conn_close, 0);
	CHECK_EQ_INT(parse("HTTP/1.1 407 x\nproxy-authenticate: digest realm=x, nonce=y\n"
			   "PROXY-AUTHENTICATE:Bearer\nProxy-Authenticate:  basic\n\n",
			   &r),
		     0);
	CHECK_EQ_INT(r.auth_schemes, HTTPC_AUTH_DIGEST | HTTPC_AUTH_OTHER | HTTPC_AUTH_BASIC);

	/* tinyproxy: HTTP/1.0, HTML body */
	CHECK_EQ_INT(parse("HTTP/1.0 500 Unable to connect\r\n"
			   "Server: tinyproxy/1.11.1\r\n"
			   "Content-Type: text/html\r\n"
			   "Connection: close\r\n\r\n"
			   "<html><body>Unable to connect</body></html>",
			   &r),
		     0);
	CHECK_EQ_INT(r.status, 500);
	CHECK_EQ_INT(r.minor, 0);
	CHECK_EQ_INT(r.conn_close, 1);
	CHECK_EQ_INT(r.content_length, -1);

	/* Content-Length values */
	static const struct {
		const char *v;
		long long want;
	} cl[] = {
		{"0", 0},   {"1234", 1234}, {"  42\t ", 42}, {"007", 7}, {"", -1},      {"abc", -1},
		{"12a", -1}, {"-1", -1},    {"+1", -1},      {"1 2", -1}, {"1,1", 1}, {"1, 2", -1},  {"0x10", -1},
		{"999999999999999999999999", -1}, {"1125899906842623", 1125899906842623LL},
	};
	for (size_t i = 0; i < sizeof(cl) / sizeof(cl[0]); i++) {
		char h[200];
		snprintf(h, sizeof(h), "HTTP/1.1 403 Forbidden\r\nContent-Length: %s\r\n\r\n", cl[i].v);
		CHECK_EQ_INT(parse(h, &r), 0);
		if (r.content_length != cl[i].want)
			fprintf(stderr, "Content-Length: %s\n", cl[i].v);
		CHECK_EQ_INT(r.content_length, cl[i].want);
		CHECK_EQ_INT(r.bad_length, cl[i].want < 0);
	}
	/* RFC 9112 section 6.3 (5): several that differ cannot delimit the answer (framed by
	 * one, read by the client by the other, the rest passes for the next answer); equal
	 * ones are one */
	CHECK_EQ_INT(parse("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 40\r\n\r\n", &r), 0);
	CHECK(r.bad_length && r.content_length == -1);
	CHECK_EQ_INT(parse("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX: y\r\nContent-Length: 2, 2\r\n\r\n", &r), 0);
	CHECK(!r.bad_length && r.content_length == 2);
	CHECK_EQ_INT(parse("HTTP/1.1 200 OK\r\nContent-Length: x\r\nContent-Length: 2\r\n\r\n", &r), 0);
	CHECK(r.bad_length && r.content_length == -1);

	/* Transfer-Encoding: chunked only when it is the last coding */
	static const struct {
		const char *v;
		int want;
	} te[] = {
		{"chunked", 1}, {"Chunked", 1}, {"gzip, chunked", 1}, {"gzip,chunked ", 1}, {"identity", 0},
		{"chunked, gzip", 0}, {"notchunked", 0}, {"", 0},
	};
	for (size_t i = 0; i < sizeof(te) / sizeof(te[0]); i++) {
		char h[200];
		snprintf(h, sizeof(h), "HTTP/1.1 502 Bad Gateway\r\nTransfer-Encoding: %s\r\n\r\n", te[i].v);
		CHECK_EQ_INT(parse(h, &r), 0);
		if (r.chunked != te[i].want)
			fprintf(stderr, "Transfer-Encoding: %s\n", te[i].v);
		CHECK_EQ_INT(r.chunked, te[i].want);
		CHECK_EQ_INT(r.te, 1);
	}
	CHECK_EQ_INT(parse("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n", &r), 0);
	CHECK_EQ_INT(r.te, 0);
	/* a coding folded onto the next line is still the last one (RFC 9112 section 5.2) */
	CHECK_EQ_INT(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip,\r\n chunked\r\n\r\n", &r), 0);
	CHECK(r.te && r.chunked);
	CHECK_EQ_INT(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked,\r\n\tgzip\r\n\r\n", &r), 0);
	CHECK(r.te && !r.chunked);
	CHECK_EQ_INT(parse("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n 3\r\n\r\n", &r), 0);
	CHECK(r.bad_length);
	CHECK_EQ_INT(parse("HTTP/1.1 200 OK\r\nConnection: keep-alive,\r\n close\r\n\r\n", &r), 0);
	CHECK(r.conn_close);
	CHECK_EQ_INT(parse("HTTP/1.1 200 OK\r\nX: a\r\n b\x01\r\n\r\n", &r), HTTPC_ERR_HEADER);

	/* Connection tokens */
	CHECK_EQ_INT(parse("HTTP/1.1 403 F\r\nConnection: close\r\n\r\n", &r), 0);
	CHECK_EQ_INT(r.conn_close, 1);
	CHECK_EQ_INT(parse("HTTP/1.1 403 F\r\nConnection: Upgrade, CLOSE\r\n\r\n", &r), 0);
	CHECK_EQ_INT(r.conn_close, 1);
	CHECK_EQ_INT(parse("HTTP/1.1 403 F\r\nProxy-Connection: close\r\n\r\n", &r), 0);
	CHECK_EQ_INT(r.conn_close, 1);
	CHECK_EQ_INT(parse("HTTP/1.1 403 F\r\nConnection: closed\r\n\r\n", &r), 0);
	CHECK_EQ_INT(r.conn_close, 0);
	CHECK_EQ_INT(parse("HTTP/1.1 403 F\r\nX-Connection: close\r\n\r\n", &r), 0);
	CHECK_EQ_INT(r.conn_close, 0);

	/* X-Squid-Error: case-insensitive name, trimmed and truncated value */
	CHECK_EQ_INT(parse("HTTP/1.1 503 x\nx-squid-error:   ERR_DNS_FAIL 0  \n\n", &r), 0);
	CHECK_EQ_STR(r.squid_error, "ERR_DNS_FAIL 0");
	char longe[200];
	snprintf(longe, sizeof(longe), "HTTP/1.1 503 x\r\nX-Squid-Error: ERR_%0100d\r\n\r\n", 0);
	CHECK_EQ_INT(parse(longe, &r), 0);
	CHECK_EQ_INT(strlen(r.squid_error), sizeof(r.squid_error) - 1);

	/* obsolete line folding is skipped; an empty value is fine */
	CHECK_EQ_INT(parse("HTTP/1.1 200 OK\r\nVia: 1.1 a,\r\n 1.1 b\r\n\t1.1 c\r\nX-Empty:\r\n\r\n", &r), 0);
	CHECK_EQ_INT(r.status, 200);

	/* malformed header lines */
	static const char *const bad[] = {
		"HTTP/1.1 200 OK\r\nNoColonHere\r\n\r\n",
		"HTTP/1.1 200 OK\r\n: no name\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX-A: b\x01\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX-A: b\rc\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX-A: \x7f\r\n\r\n",
		"HTTP/1.1 200 OK\nVia: x\nbroken\n\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ_INT(parse(bad[i], &r), HTTPC_ERR_HEADER);
	const char nul[] = "HTTP/1.1 200 OK\r\nX-A: \0\r\n\r\n";
	CHECK_EQ_INT(httpc_parse_response(nul, sizeof(nul) - 1, &r), HTTPC_ERR_HEADER);
	/* a header that does not end in a line feed */
	const char *noend = "HTTP/1.1 200 OK\r\nX: y";
	CHECK_EQ_INT(httpc_parse_response(noend, strlen(noend), &r), HTTPC_ERR_HEADER);
	/* the body is not parsed: lines without a colon after the blank line are fine */
	CHECK_EQ_INT(parse("HTTP/1.1 403 Forbidden\r\nContent-Length: 9\r\n\r\nno colon\n\n", &r), 0);
	CHECK_EQ_INT(r.content_length, 9);
}

static void test_build_connect(void)
{
	char out[512];
	const char *want;

	want = "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n";
	CHECK_EQ_INT(httpc_build_connect(out, sizeof(out), "example.com:443", NULL, NULL), (int)strlen(want));
	CHECK_EQ_STR(out, want);

	want = "CONNECT [2001:db8::1]:443 HTTP/1.1\r\n"
	       "Host: [2001:db8::1]:443\r\n"
	       "Proxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n"
	       "User-Agent: socks2http/0.1.0\r\n"
	       "\r\n";
	CHECK_EQ_INT(httpc_build_connect(out, sizeof(out), "[2001:db8::1]:443", "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==",
					 "socks2http/0.1.0"),
		     (int)strlen(want));
	CHECK_EQ_STR(out, want);

	want = "CONNECT 192.0.2.1:22 HTTP/1.1\r\nHost: 192.0.2.1:22\r\nUser-Agent: ua\r\n\r\n";
	CHECK_EQ_INT(httpc_build_connect(out, sizeof(out), "192.0.2.1:22", NULL, "ua"), (int)strlen(want));
	CHECK_EQ_STR(out, want);

	/* an empty User-Agent (config: "" sends none) sends no header */
	want = "CONNECT h:1 HTTP/1.1\r\nHost: h:1\r\n\r\n";
	CHECK_EQ_INT(httpc_build_connect(out, sizeof(out), "h:1", NULL, ""), (int)strlen(want));
	CHECK_EQ_STR(out, want);

	/* header injection through any argument */
	CHECK_EQ_INT(httpc_build_connect(out, sizeof(out), "a:1\r\nX-Evil: 1", NULL, NULL), -1);
	CHECK_EQ_INT(httpc_build_connect(out, sizeof(out), "a:1\n", NULL, NULL), -1);
	CHECK_EQ_INT(httpc_build_connect(out, sizeof(out), "a:1", "Basic x\r\nX-Evil: 1", NULL), -1);
	CHECK_EQ_INT(httpc_build_connect(out, sizeof(out), "a:1", NULL, "ua\r"), -1);
	CHECK_EQ_INT(httpc_build_connect(out, sizeof(out), "a:1", NULL, "ua\nX: y"), -1);

	/* the buffer: exactly enough (with the NUL), one byte short, none */
	want = "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nUser-Agent: ua\r\n\r\n";
	int n = (int)strlen(want);
	char *exact = malloc((size_t)n + 1);
	if (exact == NULL)
		abort();
	CHECK_EQ_INT(httpc_build_connect(exact, (size_t)n + 1, "example.com:443", NULL, "ua"), n);
	CHECK_EQ_STR(exact, want);
	CHECK_EQ_INT(httpc_build_connect(exact, (size_t)n, "example.com:443", NULL, "ua"), -1);
	CHECK_EQ_INT(httpc_build_connect(exact, 1, "example.com:443", NULL, "ua"), -1);
	CHECK_EQ_INT(httpc_build_connect(exact, 0, "example.com:443", NULL, "ua"), -1);
	free(exact);
}

static void test_base64(void)
{
	/* RFC 4648 section 10 */
	static const struct {
		const char *in, *out;
	} v[] = {
		{"", ""},          {"f", "Zg=="},         {"fo", "Zm8="},         {"foo", "Zm9v"},
		{"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
	};
	char out[64];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t n = strlen(v[i].in);
		CHECK_EQ_INT(httpc_base64(out, sizeof(out), (const uint8_t *)v[i].in, n), (int)strlen(v[i].out));
		CHECK_EQ_STR(out, v[i].out);
		/* the output and its NUL fit exactly; one byte less does not */
		CHECK_EQ_INT(httpc_base64(out, strlen(v[i].out) + 1, (const uint8_t *)v[i].in, n), (int)strlen(v[i].out));
		CHECK_EQ_INT(httpc_base64(out, strlen(v[i].out), (const uint8_t *)v[i].in, n), -1);
	}
	/* both ends of the alphabet, and NUL bytes */
	CHECK_EQ_INT(httpc_base64(out, sizeof(out), (const uint8_t *)"\xfb\xff\xbf", 3), 4);
	CHECK_EQ_STR(out, "+/+/");
	CHECK_EQ_INT(httpc_base64(out, sizeof(out), (const uint8_t *)"\x00\x00\x00\xff", 4), 8);
	CHECK_EQ_STR(out, "AAAA/w==");

	CHECK_EQ_INT(httpc_basic_auth(out, sizeof(out), "Aladdin", "open sesame"), 34);
	CHECK_EQ_STR(out, "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
	CHECK_EQ_INT(httpc_basic_auth(out, 35, "Aladdin", "open sesame"), 34);
	CHECK_EQ_INT(httpc_basic_auth(out, 34, "Aladdin", "open sesame"), -1);
	CHECK_EQ_INT(httpc_basic_auth(out, 6, "Aladdin", "open sesame"), -1);
	CHECK_EQ_INT(httpc_basic_auth(out, 0, "Aladdin", "open sesame"), -1);
	CHECK_EQ_INT(httpc_basic_auth(out, sizeof(out), "", ""), 10);
	CHECK_EQ_STR(out, "Basic Og==");
	CHECK_EQ_INT(httpc_basic_auth(out, sizeof(out), "user", "p@ss:word"), 26);
	CHECK_EQ_STR(out, "Basic dXNlcjpwQHNzOndvcmQ=");

	/* the longest credentials a proxy URL can carry */
	char user[256], pass[256], big[1024];
	memset(user, 'u', 255);
	user[255] = '\0';
	memset(pass, 'p', 255);
	pass[255] = '\0';
	CHECK_EQ_INT(httpc_basic_auth(big, sizeof(big), user, pass), 6 + 684);
	CHECK_EQ_INT(strncmp(big, "Basic dXV1", 10), 0);
}

static void test_strerror(void)
{
	static const int errs[] = {HTTPC_ERR_TOOLARGE, HTTPC_ERR_STATUS_LINE, HTTPC_ERR_HEADER};
	for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		CHECK(strcmp(httpc_strerror(errs[i]), "unknown error") != 0);
		for (size_t j = 0; j < i; j++)
			CHECK(strcmp(httpc_strerror(errs[i]), httpc_strerror(errs[j])) != 0);
	}
	CHECK_EQ_STR(httpc_strerror(0), "unknown error");
}

static void test_header_value(void)
{
	const char *h = "HTTP/1.1 407 x\r\nProxy-Authenticate: Basic realm=\"a\"  \r\nX: y\r\n"
			"proxy-authenticate:NTLM\r\nProxy-Authenticate-Not: z\r\n\r\n";
	const char *v;
	size_t n;
	CHECK_EQ_INT(httpc_header_value(h, strlen(h), "Proxy-Authenticate", 0, &v, &n), 1);
	CHECK(n == 15 && memcmp(v, "Basic realm=\"a\"", 15) == 0);
	CHECK_EQ_INT(httpc_header_value(h, strlen(h), "Proxy-Authenticate", 1, &v, &n), 1);
	CHECK(n == 4 && memcmp(v, "NTLM", 4) == 0);
	CHECK_EQ_INT(httpc_header_value(h, strlen(h), "Proxy-Authenticate", 2, &v, &n), 0);
	/* the status line is never a field, however it looks */
	const char *odd = "X: y 407\r\nX: z\r\n\r\n";
	CHECK_EQ_INT(httpc_header_value(odd, strlen(odd), "X", 0, &v, &n), 1);
	CHECK(n == 1 && v[0] == 'z');
	/* a value folded over lines reads whole, each fold one SP (RFC 9112 section 5.2) */
	const char *fold = "HTTP/1.1 407 x\r\nProxy-Authenticate: Digest realm=\"a\",\r\n   nonce=\"b\" \r\n\t\r\n"
			   "\tqop=auth\r\nX: y\r\n z\r\nProxy-Authenticate: Basic\r\n\r\n";
	char out[64];
	CHECK_EQ_INT(httpc_header_copy(fold, strlen(fold), "Proxy-Authenticate", 0, out, sizeof(out)), 36);
	CHECK_EQ_STR(out, "Digest realm=\"a\", nonce=\"b\" qop=auth");
	CHECK_EQ_INT(httpc_header_copy(fold, strlen(fold), "Proxy-Authenticate", 1, out, sizeof(out)), 5);
	CHECK_EQ_STR(out, "Basic");
	CHECK_EQ_INT(httpc_header_copy(fold, strlen(fold), "Proxy-Authenticate", 2, out, sizeof(out)), -1);
	CHECK_EQ_INT(httpc_header_copy(fold, strlen(fold), "X", 0, out, sizeof(out)), 3);
	CHECK_EQ_STR(out, "y z");
	CHECK_EQ_INT(httpc_header_copy(fold, strlen(fold), "Proxy-Authenticate", 0, out, 36), -2);
	CHECK_EQ_INT(httpc_header_copy(fold, strlen(fold), "Proxy-Authenticate", 0, out, 37), 36);
	/* every split point: a header cut anywhere finds no more than the whole one */
	for (size_t cut = 0; cut <= strlen(h); cut++) {
		unsigned found = 0;
		while (httpc_header_value(h, cut, "Proxy-Authenticate", found, &v, &n))
			found++;
		CHECK(found <= 2);
	}
}

static void test_base64_decode(void)
{
	uint8_t out[64];
	CHECK_EQ_INT(httpc_base64_decode(out, sizeof(out), "YWxpY2U6czNjcmV0", 16), 12);
	CHECK(memcmp(out, "alice:s3cret", 12) == 0);
	CHECK_EQ_INT(httpc_base64_decode(out, sizeof(out), "YQ==", 4), 1);
	CHECK_EQ_INT(httpc_base64_decode(out, sizeof(out), "YQ", 2), 1);
	CHECK_EQ_INT(httpc_base64_decode(out, sizeof(out), "YWI", 3), 2);
	CHECK_EQ_INT(httpc_base64_decode(out, sizeof(out), "", 0), 0);
	CHECK_EQ_INT(httpc_base64_decode(out, sizeof(out), "Y", 1), -1);
	CHECK_EQ_INT(httpc_base64_decode(out, sizeof(out), "Y!==", 4), -1);
	CHECK_EQ_INT(httpc_base64_decode(out, sizeof(out), "YW Jj", 5), -1);
	CHECK_EQ_INT(httpc_base64_decode(out, 2, "YWJj", 4), -1);
	/* round trip over every length */
	uint8_t raw[40], back[40];
	char enc[80];
	for (size_t i = 0; i < sizeof(raw); i++)
		raw[i] = (uint8_t)(i * 37 + 11);
	for (size_t n = 0; n <= sizeof(raw); n++) {
		int e = httpc_base64(enc, sizeof(enc), raw, n);
		CHECK_EQ_INT(httpc_base64_decode(back, sizeof(back), enc, (size_t)e), (long long)n);
		CHECK(memcmp(back, raw, n) == 0);
	}
}

int main(void)
{
	test_header_value();
	test_base64_decode();
	test_header_end();
	test_status_line();
	test_headers();
	test_build_connect();
	test_base64();
	test_strerror();
	return check_report();
}
