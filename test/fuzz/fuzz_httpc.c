/* fuzz_httpc: a proxy's reply found in one go and dribbled in must end at the same place; a
 * found header parses into sane values; the CONNECT builder never
 * lets CR/LF through. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "httpc.h"

/* Feeds buf in reads of step bytes (the last one shorter), keeping *scan; returns the first
 * non-zero result and the length it came at. */
static long feed(const char *buf, size_t size, size_t max, size_t step, size_t *at)
{
	size_t scan = 0, len = 0;
	for (;;) {
		long rc = httpc_header_end(buf, len, max, &scan);
		FUZZ_ASSERT(scan <= len);
		if (rc != 0 || len == size) {
			*at = len;
			return rc;
		}
		len = size - len < step ? size : len + step;
	}
}

static void check_response(const char *hdr, size_t hdr_len)
{
	struct httpc_response r;

	/* an exact-size copy, so ASan sees any read past hdr_len */
	char *copy = malloc(hdr_len);
	FUZZ_ASSERT(copy != NULL);
	memcpy(copy, hdr, hdr_len);
	int rc = httpc_parse_response(copy, hdr_len, &r);
	free(copy);
	FUZZ_ASSERT(rc == 0 || rc == HTTPC_ERR_STATUS_LINE || rc == HTTPC_ERR_HEADER);
	FUZZ_ASSERT(httpc_strerror(rc) != NULL);
	if (rc != 0)
		return;
	FUZZ_ASSERT(r.status >= 100 && r.status <= 599);
	FUZZ_ASSERT(r.minor >= 0 && r.minor <= 9);
	FUZZ_ASSERT(memcmp(hdr, "HTTP/1.", 7) == 0);
	FUZZ_ASSERT(r.content_length >= -1);
	FUZZ_ASSERT(r.chunked == 0 || r.chunked == 1);
	FUZZ_ASSERT(r.conn_close == 0 || r.conn_close == 1);
	FUZZ_ASSERT(r.auth_schemes < (HTTPC_AUTH_OTHER << 1));
	FUZZ_ASSERT(strnlen(r.reason, sizeof(r.reason)) < sizeof(r.reason));
	FUZZ_ASSERT(strnlen(r.squid_error, sizeof(r.squid_error)) < sizeof(r.squid_error));
}

/* The input as authority and User-Agent (split at the first NUL): the request holds exactly
 * its own line breaks, or is refused when an argument carries CR or LF. */
static void check_build(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 2);
	FUZZ_ASSERT(s != NULL);
	memcpy(s, data, size);
	s[size] = '\0';
	s[size + 1] = '\0';
	const char *authority = s;
	const char *ua = s + strlen(s) + 1;
	int bad = strpbrk(authority, "\r\n") != NULL || strpbrk(ua, "\r\n") != NULL;

	size_t cap = 2 * size + 128;
	char *out = malloc(cap);
	FUZZ_ASSERT(out != NULL);
	int n = httpc_build_connect(out, cap, authority, "Basic dXNlcjpwYXNz", ua);
	FUZZ_ASSERT(bad ? n == -1 : n > 0);
	if (n > 0) {
		size_t lines = 0;
		for (int i = 0; i < n; i++) {
			if (out[i] == '\n') {
				FUZZ_ASSERT(i > 0 && out[i - 1] == '\r');
				lines++;
			} else if (out[i] == '\r') {
				FUZZ_ASSERT(i + 1 < n && out[i + 1] == '\n');
			}
		}
		FUZZ_ASSERT(lines == (ua[0] != '\0' ? 5u : 4u));
		/* one byte short of room is refused */
		FUZZ_ASSERT(httpc_build_connect(out, (size_t)n, authority, "Basic dXNlcjpwYXNz", ua) == -1);
	}
	free(out);
	free(s);
}

static void check_base64(const uint8_t *data, size_t size)
{
	size_t want = (size + 2) / 3 * 4;
	char *out = malloc(want + 1);
	FUZZ_ASSERT(out != NULL);
	FUZZ_ASSERT(httpc_base64(out, want + 1, data, size) == (int)want);
	FUZZ_ASSERT(strlen(out) == want);
	for (size_t i = 0; i < want; i++) {
		char c = out[i];
		FUZZ_ASSERT((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
			    c == '/' || (c == '=' && i + 2 >= want));
	}
	FUZZ_ASSERT(httpc_base64(out, want, data, size) == -1);
	/* and back: decoding gives the input again */
	uint8_t *back = malloc(size + 1);
	FUZZ_ASSERT(back != NULL);
	FUZZ_ASSERT(httpc_base64_decode(back, size, out, want) == (int)size);
	FUZZ_ASSERT(memcmp(back, data, size) == 0);
	free(back);
	free(out);
}

/* Any bytes as base64: a count within the room, or -1. */
static void check_base64_decode(const uint8_t *data, size_t size)
{
	char *in = malloc(size + 1); /* exact size: ASan sees a read past it */
	uint8_t out[64];
	FUZZ_ASSERT(in != NULL);
	memcpy(in, data, size);
	int n = httpc_base64_decode(out, sizeof(out), in, size);
	FUZZ_ASSERT(n >= -1 && n <= (int)sizeof(out));
	free(in);
}

/* Every Proxy-Authenticate value of a header lies inside it, trimmed, in order. */
static void check_values(const char *hdr, size_t len)
{
	const char *v, *prev = hdr;
	size_t vlen;
	for (unsigned i = 0; httpc_header_value(hdr, len, "Proxy-Authenticate", i, &v, &vlen); i++) {
		FUZZ_ASSERT(v >= prev && v + vlen <= hdr + len);
		FUZZ_ASSERT(vlen == 0 || (v[0] != ' ' && v[0] != '\t' && v[vlen - 1] != ' ' && v[vlen - 1] != '\t'));
		prev = v + vlen;
		FUZZ_ASSERT(i < len);
		/* unfolded: the first line's value and more, no longer than what is left */
		char *out = malloc(len + 1);
		FUZZ_ASSERT(out != NULL);
		long n = httpc_header_copy(hdr, len, "Proxy-Authenticate", i, out, len + 1);
		FUZZ_ASSERT(n >= (long)vlen && (size_t)n <= len - (size_t)(v - hdr));
		FUZZ_ASSERT(memcmp(out, v, vlen) == 0 && out[n] == '\0');
		free(out);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	size_t scan = 0, at;

	check_base64_decode(data, size);
	check_values(buf, size);

	/* in one go, then in reads of 1, 2, 3, 7 and 64 bytes */
	long whole = httpc_header_end(buf, size, 65536, &scan);
	FUZZ_ASSERT(whole == 0 || whole == HTTPC_ERR_TOOLARGE || (whole >= 2 && (size_t)whole <= size));
	static const size_t steps[] = {1, 2, 3, 7, 64};
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		long rc = feed(buf, size, 65536, steps[i], &at);
		FUZZ_ASSERT(rc == whole);
		FUZZ_ASSERT(rc <= 0 || at >= (size_t)rc);
	}
	if (whole > 0) {
		FUZZ_ASSERT(buf[whole - 1] == '\n');
		check_response(buf, (size_t)whole);
	}

	/* a small limit: too large exactly when it is reached without an end */
	size_t max = 1 + (size > 0 ? data[0] : 0);
	scan = 0;
	long small = httpc_header_end(buf, size, max, &scan);
	FUZZ_ASSERT(small == (whole > 0 && (size_t)whole <= max ? whole : size >= max ? HTTPC_ERR_TOOLARGE : 0));
	long rc = feed(buf, size, max, 1, &at);
	FUZZ_ASSERT(rc == small);
	FUZZ_ASSERT(rc != HTTPC_ERR_TOOLARGE || at == max);

	check_build(data, size);
	check_base64(data, size);
	return 0;
}
