/* fuzz_httpreq: a request head found in one go and dribbled in must end at the same place
 * with the same result; a parsed head holds sane values; its rewrite holds no bare CR/LF
 * of the client's making and ends in a blank line; the chunked scanner agrees with itself
 * fed whole and byte by byte, and never claims more bytes than it was given; a response
 * head httpc accepts rewrites into a head httpc finds the end of. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "httpc.h"
#include "httpreq.h"

static void check_head(const char *buf, size_t size)
{
	struct httpreq r, r2;
	size_t scan = 0, len = 0, step = size % 7 + 1;
	long whole = httpreq_parse(buf, size, &(size_t){0}, &r);
	long rc;
	for (;;) {
		rc = httpreq_parse(buf, len, &scan, &r2);
		FUZZ_ASSERT(scan <= len);
		if (rc != 0 || len == size)
			break;
		len = size - len < step ? size : len + step;
	}
	FUZZ_ASSERT(rc == whole);
	FUZZ_ASSERT(httpreq_strerror((int)whole) != NULL);
	if (whole <= 0)
		return;
	FUZZ_ASSERT((size_t)whole <= size && (size_t)whole <= HTTPREQ_HEAD_MAX);
	FUZZ_ASSERT(r.head_len == (size_t)whole);
	FUZZ_ASSERT(r.minor >= 0 && r.minor <= 9);
	FUZZ_ASSERT(r.form <= HTTPREQ_ASTERISK);
	FUZZ_ASSERT(r.nheaders <= HTTPREQ_HEADERS_MAX);
	FUZZ_ASSERT(r.content_length >= -1);
	FUZZ_ASSERT(!(r.chunked && r.content_length >= 0));
	FUZZ_ASSERT(r.target_off + r.target_len <= r.head_len);
	FUZZ_ASSERT(r.path_off + r.path_len <= r.head_len);
	FUZZ_ASSERT(r.auth_off + r.auth_len <= r.head_len);
	FUZZ_ASSERT(strnlen(r.host, sizeof(r.host)) < sizeof(r.host));
	if (r.form == HTTPREQ_AUTHORITY || r.form == HTTPREQ_ABSOLUTE) {
		char auth[HTTPREQ_HOST_MAX + 10];
		FUZZ_ASSERT(r.port != 0 && r.host[0] != '\0');
		FUZZ_ASSERT(httpreq_authority(&r, 0, auth, sizeof(auth)) > 0);
	}
	(void)httpreq_host_is_loopback(&r);

	int to_origin = (int)(size & 1);
	size_t cap = httpreq_rewrite_size(&r, "Basic dXA6cHc=");
	char *out = malloc(cap);
	FUZZ_ASSERT(out != NULL);
	long n = httpreq_rewrite(buf, &r, "Basic dXA6cHc=", to_origin, out, cap);
	FUZZ_ASSERT(n > 0 && (size_t)n <= cap);
	FUZZ_ASSERT(memcmp(out + n - 4, "\r\n\r\n", 4) == 0);
	for (long i = 0; i < n; i++) {
		if (out[i] == '\n')
			FUZZ_ASSERT(i > 0 && out[i - 1] == '\r');
		if (out[i] == '\r')
			FUZZ_ASSERT(i + 1 < n && out[i + 1] == '\n');
	}
	/* the rewrite is itself a head that parses, with the same target and framing */
	struct httpreq r3;
	long again = httpreq_parse(out, (size_t)n, &(size_t){0}, &r3);
	FUZZ_ASSERT(again == n || (again == HTTPREQ_ERR_TOOMANY && r.nheaders > HTTPREQ_HEADERS_MAX - 2));
	FUZZ_ASSERT(again < 0 || (r3.content_length == r.content_length && r3.chunked == r.chunked));
	/* for the origin: origin form, and a Host that names the target */
	if (again > 0 && to_origin && r.form == HTTPREQ_ABSOLUTE)
		FUZZ_ASSERT(r3.form == HTTPREQ_ORIGIN && r3.has_host && strcmp(r3.host, r.host) == 0 &&
			    (r3.port == r.port || r3.port == 0));
	free(out);

	if (r.auth_len > 0) {
		char u[128], p[128];
		if (httpreq_basic_credentials(buf + r.auth_off, r.auth_len, u, p, sizeof(u)) == 0)
			FUZZ_ASSERT(strlen(u) < sizeof(u) && strlen(p) < sizeof(p));
	}
}

/* Any input that httpc takes as a response head rewrites into one with CRLF line ends. */
static void check_response(const char *buf, size_t size)
{
	size_t scan = 0;
	long e = httpc_header_end(buf, size, 8192, &scan);
	struct httpc_response r;
	if (e <= 0 || httpc_parse_response(buf, (size_t)e, &r) < 0)
		return;
	size_t cap = (size_t)e * 2 + 96;
	char *out = malloc(cap);
	FUZZ_ASSERT(out != NULL);
	long long length = r.te ? -1 : r.content_length;
	long n = httpreq_rewrite_response(buf, (size_t)e, (unsigned)(size & 1), length, out, cap);
	FUZZ_ASSERT(n > 0 && (size_t)n <= cap);
	FUZZ_ASSERT(n >= 4 && memcmp(out + n - 4, "\r\n\r\n", 4) == 0);
	size_t scan2 = 0;
	long e2 = httpc_header_end(out, (size_t)n, (size_t)n + 1, &scan2);
	FUZZ_ASSERT(e2 == n);
	/* the client reads the framing we framed by: one length (or none), no fold left */
	struct httpc_response r2;
	FUZZ_ASSERT(httpc_parse_response(out, (size_t)n, &r2) == 0);
	FUZZ_ASSERT(!r2.bad_length && r2.content_length == length && r2.chunked == r.chunked && r2.te == r.te);
	for (long i = 1; i < n; i++)
		FUZZ_ASSERT(out[i - 1] != '\n' || (out[i] != ' ' && out[i] != '\t'));
	free(out);
}

static void check_chunks(const char *buf, size_t size)
{
	struct httpreq_chunk c;
	size_t used = 0, total = 0;
	memset(&c, 0, sizeof(c));
	int whole = httpreq_chunk_scan(&c, buf, size, &used);
	FUZZ_ASSERT(used <= size);
	size_t whole_used = used;
	memset(&c, 0, sizeof(c));
	int rc = HTTPREQ_CHUNK_MORE;
	for (size_t i = 0; i < size && rc == HTTPREQ_CHUNK_MORE; i++) {
		rc = httpreq_chunk_scan(&c, buf + i, 1, &used);
		FUZZ_ASSERT(used <= 1);
		total += used;
	}
	FUZZ_ASSERT(rc == whole);
	if (whole == HTTPREQ_CHUNK_DONE || whole == HTTPREQ_CHUNK_MORE)
		FUZZ_ASSERT(total == whole_used);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an exact-size copy, so ASan sees any read past the end */
	char *buf = malloc(size ? size : 1);
	FUZZ_ASSERT(buf != NULL);
	memcpy(buf, data, size);
	check_head(buf, size);
	check_chunks(buf, size);
	check_response(buf, size);
	free(buf);
	return 0;
}
