/* test_chunked: chunked bodies whole, split at every point, dribbled a byte at a time and
 * decoded in place (as pacfetch does); CRLF and bare LF, extensions, trailers, the errors
 * and the bounds. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "chunked.h"

static char out[4096];
static size_t outlen, used;

/* Decodes text whole: rc, with out/outlen/used set. */
static int whole(const char *text, size_t outmax)
{
	struct chunked c;
	size_t n = strlen(text);
	char *copy = malloc(n ? n : 1); /* exact size: ASan sees reads past it */
	memcpy(copy, text, n);
	chunked_init(&c);
	outlen = 0;
	int rc = chunked_decode(&c, copy, n, out, &outlen, outmax, &used);
	free(copy);
	return rc;
}

/* In two parts split at k; and a byte at a time into one buffer decoded in place. */
static void check_splits(const char *text, int want_rc, const char *want_body)
{
	size_t n = strlen(text);
	int rc0 = whole(text, sizeof(out));
	CHECK_EQ_INT(rc0, want_rc);
	size_t used0 = used;
	for (size_t k = 0; k <= n; k++) {
		struct chunked c;
		char o[4096];
		size_t ol = 0, u1 = 0, u2 = 0;
		chunked_init(&c);
		int rc = chunked_decode(&c, text, k, o, &ol, sizeof(o), &u1);
		if (rc == CHUNKED_NEED_MORE) {
			CHECK_EQ_INT(u1, k);
			rc = chunked_decode(&c, text + k, n - k, o, &ol, sizeof(o), &u2);
			u1 += u2;
		}
		CHECK_EQ_INT(rc, want_rc);
		if (rc == CHUNKED_DONE) {
			CHECK_EQ_INT(u1, used0);
			CHECK(ol == strlen(want_body) && memcmp(o, want_body, ol) == 0);
		}
	}
	/* in place, a byte at a time */
	char *buf = malloc(n + 1);
	struct chunked c;
	size_t have = 0, done = 0, ol = 0;
	int rc = CHUNKED_NEED_MORE;
	chunked_init(&c);
	while (rc == CHUNKED_NEED_MORE && have < n) {
		buf[have] = text[have];
		have++;
		size_t u = 0;
		rc = chunked_decode(&c, buf + done, have - done, buf, &ol, 4096, &u);
		done += u;
	}
	CHECK_EQ_INT(rc, want_rc == CHUNKED_DONE ? CHUNKED_DONE : rc);
	if (want_rc == CHUNKED_DONE)
		CHECK(ol == strlen(want_body) && memcmp(buf, want_body, ol) == 0);
	free(buf);
}

int main(void)
{
	check_splits("4\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\n", CHUNKED_DONE, "Wikipedia");
	check_splits("4\nWiki\n0\n\n", CHUNKED_DONE, "Wiki");
	check_splits("4;name=\"v\"\r\nWiki\r\n0;last\r\nExpires: never\r\nX: y\r\n\r\n", CHUNKED_DONE, "Wiki");
	check_splits("a\r\n0123456789\r\nB \r\nabcdefghijk\r\n0\r\n\r\n", CHUNKED_DONE, "0123456789abcdefghijk");
	check_splits("000\r\n\r\n", CHUNKED_DONE, "");
	check_splits("G\r\n", CHUNKED_ERR_SYNTAX, "");
	check_splits("\r\n", CHUNKED_ERR_SYNTAX, "");
	check_splits("4\r\nWikiX\r\n", CHUNKED_ERR_SYNTAX, "");
	check_splits("4\r\nWiki\rX", CHUNKED_ERR_SYNTAX, "");
	check_splits("4x\r\n", CHUNKED_ERR_SYNTAX, "");

	/* bytes after the body are not consumed */
	CHECK_EQ_INT(whole("1\r\na\r\n0\r\n\r\nHTTP/1.1 200", sizeof(out)), CHUNKED_DONE);
	CHECK_EQ_INT(used, 11);
	CHECK_EQ_INT(outlen, 1);
	/* not done yet: everything consumed */
	CHECK_EQ_INT(whole("5\r\nab", sizeof(out)), CHUNKED_NEED_MORE);
	CHECK_EQ_INT(used, 5);
	CHECK_EQ_INT(outlen, 2);

	/* bounds: a chunk past outmax, a size of 16 hex digits, endless extension and trailer */
	CHECK_EQ_INT(whole("5\r\nabcde\r\n0\r\n\r\n", 4), CHUNKED_ERR_TOOLARGE);
	CHECK_EQ_INT(whole("3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", 4), CHUNKED_ERR_TOOLARGE);
	CHECK_EQ_INT(whole("4\r\nabcd\r\n0\r\n\r\n", 4), CHUNKED_DONE);
	CHECK_EQ_INT(whole("ffffffffffffffff\r\n", sizeof(out)), CHUNKED_ERR_TOOLARGE);
	char longline[CHUNKED_MAX_LINE + 64];
	memset(longline, 'x', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = '\0';
	memcpy(longline, "1;", 2);
	CHECK_EQ_INT(whole(longline, sizeof(out)), CHUNKED_ERR_LINE);
	memcpy(longline, "0\r\n", 3);
	CHECK_EQ_INT(whole(longline, sizeof(out)), CHUNKED_ERR_LINE);
	CHECK_EQ_STR(chunked_strerror(CHUNKED_ERR_SYNTAX), "malformed chunk");
	return check_report();
}
