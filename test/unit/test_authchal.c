/* test_authchal: Proxy-Authenticate values: one and many challenges, token68 and
 * parameters, quoting and escapes, case, empty list elements, unknown schemes between known
 * ones, every truncation and every split into two fields, the bounds and malformed values. */
#include <stdlib.h>
#include <string.h>

#include "authchal.h"
#include "check.h"

static struct authchal ch[AUTHCHAL_MAX];
static size_t nch;

/* Parses text whole from an exact-size copy (ASan sees reads past it) into ch[]. */
static int parse_n(const char *text, size_t len, size_t max)
{
	char *copy = malloc(len ? len : 1);
	memcpy(copy, text, len);
	memset(ch, 0x5a, sizeof(ch));
	nch = 0;
	int rc = authchal_parse(copy, len, ch, max, &nch);
	/* token pointers point into the input: rebase them onto text before freeing */
	for (size_t k = 0; k < nch; k++)
		if (ch[k].token != NULL)
			ch[k].token = text + (ch[k].token - copy);
	free(copy);
	return rc;
}

static int parse(const char *text)
{
	return parse_n(text, strlen(text), AUTHCHAL_MAX);
}

static int token_is(const struct authchal *c, const char *want)
{
	return c->token != NULL && c->token_len == strlen(want) && memcmp(c->token, want, c->token_len) == 0;
}

static void test_basic(void)
{
	CHECK_EQ_INT(parse("Basic realm=\"proxy\""), 0);
	CHECK_EQ_INT(nch, 1);
	CHECK_EQ_INT(ch[0].scheme, HTTPC_AUTH_BASIC);
	CHECK_EQ_STR(ch[0].realm, "proxy");
	CHECK(ch[0].token == NULL);

	CHECK_EQ_INT(parse("Basic"), 0);
	CHECK_EQ_INT(nch, 1);
	CHECK_EQ_STR(ch[0].realm, "");

	CHECK_EQ_INT(parse("basic\trealm=\"tab\" , charset=\"UTF-8\""), 0);
	CHECK_EQ_INT(nch, 1);
	CHECK_EQ_INT(ch[0].scheme, HTTPC_AUTH_BASIC);
	CHECK_EQ_STR(ch[0].realm, "tab");

	CHECK_EQ_INT(parse(""), 0);
	CHECK_EQ_INT(nch, 0);
	CHECK_EQ_INT(parse(" ,, \t,"), 0);
	CHECK_EQ_INT(nch, 0);
}

static void test_digest(void)
{
	/* RFC 7616 section 3.9.1 */
	CHECK_EQ_INT(parse("Digest\n"), -1);
	CHECK_EQ_INT(parse("Digest realm=\"http-auth@example.org\", qop=\"auth, auth-int\", algorithm=SHA-256, "
			   "nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", "
			   "opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\""),
		     0);
	CHECK_EQ_INT(nch, 1);
	const struct authchal_digest *d = &ch[0].digest;
	CHECK_EQ_INT(ch[0].scheme, HTTPC_AUTH_DIGEST);
	CHECK_EQ_STR(ch[0].realm, "http-auth@example.org");
	CHECK_EQ_STR(d->realm, "http-auth@example.org");
	CHECK_EQ_STR(d->nonce, "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v");
	CHECK_EQ_STR(d->opaque, "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS");
	CHECK_EQ_INT(d->algorithm, DIGEST_SHA256);
	CHECK(d->qop_given && d->qop_auth);
	CHECK(!d->stale && !d->userhash && !d->utf8);

	/* RFC 7616 section 3.9.2 */
	CHECK_EQ_INT(parse("Digest realm=\"api@example.org\", qop=\"auth\", algorithm=SHA-512-256, "
			   "nonce=\"5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK\", "
			   "opaque=\"HRPCssKJSGjCrkzDg8OhwpzCiGPChXYjwrI2QmXDnsOS\", charset=UTF-8, userhash=true"),
		     0);
	CHECK_EQ_INT(nch, 1);
	CHECK_EQ_INT(d->algorithm, DIGEST_SHA512_256);
	CHECK(d->qop_given && d->qop_auth && d->userhash && d->utf8 && !d->stale);

	/* RFC 2069 style: no qop, no algorithm (MD5) */
	CHECK_EQ_INT(parse("Digest realm=\"testrealm@host.com\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\""), 0);
	CHECK_EQ_INT(nch, 1);
	CHECK_EQ_INT(d->algorithm, DIGEST_MD5);
	CHECK(!d->qop_given && !d->qop_auth);
	CHECK_EQ_STR(d->opaque, "");

	/* any case for scheme, names and the algorithm/qop/stale values; BWS around "=" */
	CHECK_EQ_INT(parse("dIgEsT REALM = \"x\" ,NONCE= y ,ALGORITHM =md5-SESS, QOP=AUTH, Stale=TRUE, "
			   "UserHash=\"TRUE\", CHARSET=\"utf-8\""),
		     0);
	CHECK_EQ_INT(nch, 1);
	CHECK_EQ_INT(ch[0].scheme, HTTPC_AUTH_DIGEST);
	CHECK_EQ_STR(d->realm, "x");
	CHECK_EQ_STR(d->nonce, "y");
	CHECK_EQ_INT(d->algorithm, DIGEST_MD5_SESS);
	CHECK(d->qop_given && d->qop_auth && d->stale && d->userhash && d->utf8);

	/* the algorithms; quoted ones accepted too; unknown -> -1 (still parsed) */
	static const struct {
		const char *v;
		int alg;
	} algs[] = {
		{"MD5", DIGEST_MD5}, {"\"SHA-256\"", DIGEST_SHA256}, {"sha-256-SESS", DIGEST_SHA256_SESS},
		{"SHA-512-256-sess", DIGEST_SHA512_256_SESS}, {"SHA-1024", -1}, {"MD5-", -1}, {"\"\"", -1},
	};
	for (size_t k = 0; k < sizeof(algs) / sizeof(algs[0]); k++) {
		char buf[128];
		snprintf(buf, sizeof(buf), "Digest nonce=\"n\", algorithm=%s, realm=r", algs[k].v);
		CHECK_EQ_INT(parse(buf), 0);
		CHECK_EQ_INT(nch, 1);
		CHECK_EQ_INT(ch[0].digest.algorithm, algs[k].alg);
		CHECK_EQ_STR(ch[0].digest.realm, "r");
	}

	/* qop lists */
	CHECK_EQ_INT(parse("Digest qop=\"auth-int\", nonce=n"), 0);
	CHECK(d->qop_given && !d->qop_auth);
	CHECK_EQ_INT(parse("Digest qop=\"auth-int,auth\", nonce=n"), 0);
	CHECK(d->qop_given && d->qop_auth);
	CHECK_EQ_INT(parse("Digest qop=\" , auth-conf ,\tauth \", nonce=n"), 0);
	CHECK(d->qop_given && d->qop_auth);
	CHECK_EQ_INT(parse("Digest qop=\"authx\", nonce=n"), 0);
	CHECK(d->qop_given && !d->qop_auth);
	CHECK_EQ_INT(parse("Digest qop=\"\", nonce=n"), 0);
	CHECK(d->qop_given && !d->qop_auth);
	CHECK_EQ_INT(parse("Digest stale=false, userhash=false, charset=latin1"), 0);
	CHECK(!d->stale && !d->userhash && !d->utf8);

	/* unquoted base64 values from careless servers; unknown parameters ignored */
	CHECK_EQ_INT(parse("Digest nonce=ab/cd+ef==, domain=\"/a /b\", x-ext=1, opaque=o/p"), 0);
	CHECK_EQ_STR(d->nonce, "ab/cd+ef==");
	CHECK_EQ_STR(d->opaque, "o/p");
}

static void test_escapes(void)
{
	CHECK_EQ_INT(parse("Digest realm=\"a\\\"b\\\\c\\d\", nonce=\"\\,\", opaque=\"\""), 0);
	CHECK_EQ_INT(nch, 1);
	CHECK_EQ_STR(ch[0].digest.realm, "a\"b\\cd");
	CHECK_EQ_STR(ch[0].digest.nonce, ",");
	CHECK_EQ_STR(ch[0].digest.opaque, "");
	/* commas and "=" inside quotes are data */
	CHECK_EQ_INT(parse("Basic realm=\"a, Digest realm=b\", Digest realm=\"x=y\""), 0);
	CHECK_EQ_INT(nch, 2);
	CHECK_EQ_STR(ch[0].realm, "a, Digest realm=b");
	CHECK_EQ_STR(ch[1].digest.realm, "x=y");
	/* obs-text passes, HTAB too */
	CHECK_EQ_INT(parse("Basic realm=\"caf\xc3\xa9\tbar\""), 0);
	CHECK_EQ_STR(ch[0].realm, "caf\xc3\xa9\tbar");
}

static void test_many(void)
{
	/* RFC 9110 section 11.6.1's example: an unknown scheme with parameters before Basic */
	CHECK_EQ_INT(parse("Newauth realm=\"apps\", type=1, title=\"Login to \\\"apps\\\"\", Basic realm=\"simple\""),
		     0);
	CHECK_EQ_INT(nch, 2);
	CHECK_EQ_INT(ch[0].scheme, HTTPC_AUTH_OTHER);
	CHECK_EQ_STR(ch[0].realm, "apps");
	CHECK_EQ_INT(ch[1].scheme, HTTPC_AUTH_BASIC);
	CHECK_EQ_STR(ch[1].realm, "simple");

	const char *all = "Negotiate, Bearer realm=\"x\", error=\"invalid_token\", NTLM, "
			  "Digest realm=\"r\", nonce=\"n\", qop=\"auth\", Foo bar==, Basic realm=\"b\", Kerberos";
	CHECK_EQ_INT(parse(all), 0);
	CHECK_EQ_INT(nch, 7);
	CHECK_EQ_INT(ch[0].scheme, HTTPC_AUTH_NEGOTIATE);
	CHECK(ch[0].token == NULL);
	CHECK_EQ_INT(ch[1].scheme, HTTPC_AUTH_OTHER);
	CHECK_EQ_STR(ch[1].realm, "x");
	CHECK_EQ_INT(ch[2].scheme, HTTPC_AUTH_NTLM);
	CHECK_EQ_INT(ch[3].scheme, HTTPC_AUTH_DIGEST);
	CHECK_EQ_STR(ch[3].digest.nonce, "n");
	CHECK_EQ_INT(ch[4].scheme, HTTPC_AUTH_OTHER);
	CHECK(token_is(&ch[4], "bar=="));
	CHECK_EQ_INT(ch[5].scheme, HTTPC_AUTH_BASIC);
	CHECK_EQ_STR(ch[5].realm, "b");
	CHECK_EQ_INT(ch[6].scheme, HTTPC_AUTH_OTHER);

	/* token68: NTLM/Negotiate data, "=" padding, then OWS before the comma */
	CHECK_EQ_INT(parse("NTLM TlRMTVNTUAACAAAADAAMADAAAAA1goriASNFZ4mrze8AAAAAAAAAAGIAYgA8AAAA"), 0);
	CHECK_EQ_INT(nch, 1);
	CHECK_EQ_INT(ch[0].scheme, HTTPC_AUTH_NTLM);
	CHECK(token_is(&ch[0], "TlRMTVNTUAACAAAADAAMADAAAAA1goriASNFZ4mrze8AAAAAAAAAAGIAYgA8AAAA"));
	CHECK_EQ_INT(parse("negotiate YIIB+/uQ-._~== \t, ntlm abc,Basic realm=x"), 0);
	CHECK_EQ_INT(nch, 3);
	CHECK_EQ_INT(ch[0].scheme, HTTPC_AUTH_NEGOTIATE);
	CHECK(token_is(&ch[0], "YIIB+/uQ-._~=="));
	CHECK_EQ_INT(ch[1].scheme, HTTPC_AUTH_NTLM);
	CHECK(token_is(&ch[1], "abc"));
	CHECK_EQ_INT(ch[2].scheme, HTTPC_AUTH_BASIC);
	/* a lone token after the scheme is a token68 (the grammar says so) */
	CHECK_EQ_INT(parse("Basic realm"), 0);
	CHECK(token_is(&ch[0], "realm"));
	CHECK_EQ_STR(ch[0].realm, "");
	CHECK_EQ_INT(parse("Basic realm= , Digest"), 0);
	CHECK_EQ_INT(nch, 2);
	CHECK(token_is(&ch[0], "realm="));
	CHECK_EQ_STR(ch[0].realm, "");
	/* a bare value may hold "=" (base64 sent unquoted) */
	CHECK_EQ_INT(parse("NTLM abc=def="), 0);
	CHECK(ch[0].token == NULL);

	/* empty list elements anywhere, and a scheme's parameters after an empty one */
	CHECK_EQ_INT(parse(" , ,Basic realm=\"a\" , , Digest ,realm=\"r\",, nonce=\"n\",\t,"), 0);
	CHECK_EQ_INT(nch, 2);
	CHECK_EQ_STR(ch[0].realm, "a");
	CHECK_EQ_INT(ch[1].scheme, HTTPC_AUTH_DIGEST);
	CHECK_EQ_STR(ch[1].digest.realm, "r");
	CHECK_EQ_STR(ch[1].digest.nonce, "n");

	/* the Digest fields belong to Digest only; realm is kept for any scheme */
	CHECK_EQ_INT(parse("Basic realm=b, nonce=\"x\", algorithm=SHA-256"), 0);
	CHECK_EQ_STR(ch[0].realm, "b");
	CHECK_EQ_STR(ch[0].digest.nonce, "");
	CHECK_EQ_STR(ch[0].digest.realm, "");
	CHECK_EQ_INT(ch[0].digest.algorithm, DIGEST_MD5);
}

/* Bounds: the field sizes, max, and *n appended to. */
static void test_bounds(void)
{
	char buf[1200], v[300];
	memset(v, 'x', 255);
	v[255] = '\0';
	snprintf(buf, sizeof(buf), "Digest realm=\"%s\", nonce=\"%s\", opaque=%s", v, v, v);
	CHECK_EQ_INT(parse(buf), 0);
	CHECK_EQ_INT(strlen(ch[0].digest.realm), 255);
	CHECK_EQ_INT(strlen(ch[0].digest.nonce), 255);
	CHECK_EQ_INT(strlen(ch[0].digest.opaque), 255);
	CHECK_EQ_INT(strlen(ch[0].realm), 255);
	memset(v, 'x', 256);
	v[256] = '\0';
	static const char *const fields[][2] = {
		{"realm=\"", "\""}, {"nonce=\"", "\""}, {"opaque=", ""}, {"qop=\"", "\""}, {"algorithm=", ""},
	};
	for (size_t k = 0; k < sizeof(fields) / sizeof(fields[0]); k++) {
		char f[400];
		snprintf(f, sizeof(f), "%s%s%s", fields[k][0], v, fields[k][1]);
		snprintf(buf, sizeof(buf), "Basic realm=ok, Digest %s", f);
		CHECK_EQ_INT(parse(buf), -1); /* too long: an error, not truncated */
		CHECK_EQ_INT(nch, 1);          /* Basic stays, Digest is dropped */
		snprintf(buf, sizeof(buf), "Newauth %s", f);
		CHECK_EQ_INT(parse(buf), k == 0 ? -1 : 0); /* a long realm even for unknown schemes */
	}
	/* an escaped byte counts once: 255 of them fit */
	char *p = buf + sprintf(buf, "Basic realm=\"");
	for (int k = 0; k < 255; k++)
		p += sprintf(p, "\\\"");
	strcpy(p, "\"");
	CHECK_EQ_INT(parse(buf), 0);
	CHECK_EQ_INT(strlen(ch[0].realm), 255);
	/* long values of parameters we do not keep are fine */
	char big[2000] = "Digest domain=\"";
	memset(big + strlen(big), '/', 1500);
	strcpy(big + 15 + 1500, "\", nonce=n");
	CHECK_EQ_INT(parse(big), 0);
	CHECK_EQ_STR(ch[0].digest.nonce, "n");

	/* more challenges than max: the rest is checked, not kept */
	const char *ten = "Basic realm=0, Basic realm=1, Basic realm=2, Basic realm=3, Basic realm=4, "
			  "Basic realm=5, Basic realm=6, Basic realm=7, Basic realm=8, Basic realm=9";
	CHECK_EQ_INT(parse(ten), 0);
	CHECK_EQ_INT(nch, AUTHCHAL_MAX);
	CHECK_EQ_STR(ch[7].realm, "7");
	CHECK_EQ_INT(parse_n(ten, strlen(ten), 3), 0);
	CHECK_EQ_INT(nch, 3);
	CHECK_EQ_INT(parse_n(ten, strlen(ten), 0), 0);
	CHECK_EQ_INT(nch, 0);
	char bad[300];
	snprintf(bad, sizeof(bad), "%s, Basic realm=\"x", ten);
	CHECK_EQ_INT(parse(bad), -1); /* still checked past max */
	CHECK_EQ_INT(nch, AUTHCHAL_MAX);

	/* appending: a second field value continues at *n */
	struct authchal two[2];
	size_t n = 0;
	CHECK_EQ_INT(authchal_parse("NTLM", 4, two, 2, &n), 0);
	CHECK_EQ_INT(authchal_parse("Basic realm=x, Digest nonce=y", 29, two, 2, &n), 0);
	CHECK_EQ_INT(n, 2);
	CHECK_EQ_INT(two[0].scheme, HTTPC_AUTH_NTLM);
	CHECK_EQ_INT(two[1].scheme, HTTPC_AUTH_BASIC);
	CHECK_EQ_INT(authchal_parse("Basic", 5, two, 2, &n), 0);
	CHECK_EQ_INT(n, 2);
	CHECK_EQ_INT(authchal_parse("Basic", 5, NULL, 0, &n), 0); /* nothing to keep */
}

static void test_malformed(void)
{
	static const char *const bad[] = {
		"Basic realm=\"x",             /* unterminated */
		"Basic realm=\"x\\",           /* escape at the end */
		"realm=\"x\"",                 /* a parameter before any scheme */
		"=x",
		"Digest realm=x, nonce=",      /* no value */
		"Digest realm=x, nonce= , Basic",
		"Digest realm=x, nonce=\t",
		"Basic \"x\"",                 /* neither token68 nor parameter */
		"Basic realm=\"x\"x",          /* junk after a value */
		"Digest realm=x nonce=y",      /* a missing comma */
		"Digest realm=\"x\" \"y\"",
		"NTLM abc, realm=x",           /* parameters after a token68 */
		"NTLM abc def",
		"Negotiate =abc",
		"Basic\x01",                   /* control bytes */
		"Basic realm=\"a\nb\"",
		"Basic realm=\"a\rb\"",
		"Basic realm=\"a\x7f\"",
		"Basic realm=\"a\\\x01\"",
		"Basic\r\n realm=x",
		"Basic\"realm\"",              /* no space after the scheme */
		"Basic/x",
		"Ba(sic realm=x",
		"Digest realm=(x)",
		", ,\"\"",
		"Basic realm=x,\x80",
	};
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		int rc = parse(bad[k]);
		CHECK_EQ_INT(rc, -1);
		if (rc != -1)
			fprintf(stderr, "  accepted: %s\n", bad[k]);
	}
	/* a NUL byte is not text */
	CHECK_EQ_INT(parse_n("Basic realm=\"a\0b\"", 17, AUTHCHAL_MAX), -1);
	CHECK_EQ_INT(parse_n("Basic\0", 6, AUTHCHAL_MAX), -1);

	/* what was complete before the error stays, the challenge in progress goes */
	CHECK_EQ_INT(parse("Basic realm=\"a\", NTLM, Digest realm=\"b\", nonce=\"unterminated"), -1);
	CHECK_EQ_INT(nch, 2);
	CHECK_EQ_INT(ch[0].scheme, HTTPC_AUTH_BASIC);
	CHECK_EQ_INT(ch[1].scheme, HTTPC_AUTH_NTLM);
}

/* Every prefix parses without reading past it; at a challenge boundary a prefix holds
 * exactly the challenges before it, and splitting there into two field values changes
 * nothing. */
static void test_splits(const char *text, size_t want_n)
{
	size_t len = strlen(text);
	CHECK_EQ_INT(parse(text), 0);
	CHECK_EQ_INT(nch, want_n);
	struct authchal whole[AUTHCHAL_MAX];
	size_t nwhole = nch;
	memcpy(whole, ch, sizeof(whole));

	int inq = 0, esc = 0;
	for (size_t k = 0; k <= len; k++) {
		int rc = parse_n(text, k, AUTHCHAL_MAX);
		CHECK(rc == 0 || rc == -1);
		CHECK(nch <= nwhole);
		/* a boundary: a comma outside quotes followed by a scheme (a token then no "=") */
		int boundary = 0;
		if (k < len && !inq && text[k] == ',') {
			size_t j = k + 1;
			while (j < len && (text[j] == ' ' || text[j] == ','))
				j++;
			size_t t = j;
			while (j < len && text[j] != ' ' && text[j] != ',' && text[j] != '=')
				j++;
			while (j < len && text[j] == ' ')
				j++;
			boundary = j > t && (j == len || text[j] != '=');
		}
		if (boundary) {
			CHECK_EQ_INT(rc, 0);
			size_t before = nch;
			for (size_t c = 0; c < before; c++) {
				CHECK_EQ_INT(ch[c].scheme, whole[c].scheme);
				CHECK_EQ_STR(ch[c].realm, whole[c].realm);
				CHECK_EQ_STR(ch[c].digest.nonce, whole[c].digest.nonce);
			}
			/* two field values */
			struct authchal two[AUTHCHAL_MAX];
			size_t n = 0;
			CHECK_EQ_INT(authchal_parse(text, k, two, AUTHCHAL_MAX, &n), 0);
			CHECK_EQ_INT(n, before);
			CHECK_EQ_INT(authchal_parse(text + k + 1, len - k - 1, two, AUTHCHAL_MAX, &n), 0);
			CHECK_EQ_INT(n, nwhole);
			for (size_t c = 0; c < n && c < nwhole; c++) {
				CHECK_EQ_INT(two[c].scheme, whole[c].scheme);
				CHECK_EQ_STR(two[c].realm, whole[c].realm);
				CHECK_EQ_STR(two[c].digest.realm, whole[c].digest.realm);
				CHECK_EQ_STR(two[c].digest.nonce, whole[c].digest.nonce);
				CHECK_EQ_STR(two[c].digest.opaque, whole[c].digest.opaque);
				CHECK_EQ_INT(two[c].digest.algorithm, whole[c].digest.algorithm);
				CHECK_EQ_INT(two[c].digest.qop_auth, whole[c].digest.qop_auth);
				CHECK_EQ_INT(two[c].token_len, whole[c].token_len);
			}
		}
		if (k < len) {
			if (esc)
				esc = 0;
			else if (inq && text[k] == '\\')
				esc = 1;
			else if (text[k] == '"')
				inq = !inq;
		}
	}
}

int main(void)
{
	test_basic();
	test_digest();
	test_escapes();
	test_many();
	test_bounds();
	test_malformed();
	test_splits("Digest realm=\"a, b\", nonce=\"n\\\"1\", qop=\"auth,auth-int\", algorithm=SHA-256-sess, "
		    "opaque=\"o\", Basic realm=\"x\", NTLM, Negotiate YIIB+/w==, Newauth a=b, c=\"d,e\", Basic",
		    6);
	test_splits(" , Basic realm=x,,NTLM TlRMTVNTUAACAAAA, Digest nonce=n", 3);
	return check_report();
}
