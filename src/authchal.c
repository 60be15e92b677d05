/* authchal: Proxy-Authenticate parser (see include/authchal.h).
 *
 * RFC 9110 section 11.3:  challenge = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
 *                         auth-param = token BWS "=" BWS ( token / quoted-string )
 *                         token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
 * The field is itself a comma list (section 5.6.1), so a comma separates both challenges
 * and the parameters of one challenge: an element that starts with `name =` is a
 * parameter of the challenge before it, any other element starts a new challenge. */
#include "authchal.h"

#include <string.h>

#define VALUE_MAX 256 /* the longest parameter value we keep, with its NUL */

static int is_alnum(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

/* tchar, RFC 9110 section 5.6.2 */
static int is_tchar(int ch)
{
	return is_alnum(ch) || (ch != 0 && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

static int is_t68(int ch)
{
	return is_alnum(ch) || ch == '-' || ch == '.' || ch == '_' || ch == '~' || ch == '+' || ch == '/';
}

static int is_ows(int ch)
{
	return ch == ' ' || ch == '\t';
}

static int lower(int ch)
{
	return ch >= 'A' && ch <= 'Z' ? ch + ('a' - 'A') : ch;
}

/* s[0..n) equals lit, ignoring ASCII case */
static int ieq(const char *s, size_t n, const char *lit)
{
	size_t i;
	for (i = 0; i < n && lit[i] != '\0'; i++)
		if (lower((unsigned char)s[i]) != lower((unsigned char)lit[i]))
			return 0;
	return i == n && lit[i] == '\0';
}

/* A parameter value at v[*i]: a quoted-string (RFC 9110 section 5.6.4, unescaped) or a
 * bare token.  Bare values may also hold "/" and "=": base64 nonces and opaques sent
 * unquoted by careless servers, unambiguous here.  The value goes to dst (cap bytes with
 * its NUL) or, with dst NULL, is only checked.  Returns its length, or -1 when malformed
 * or too long for dst. */
static long read_value(const char *v, size_t len, size_t *i, char *dst, size_t cap)
{
	size_t k = *i, n = 0;
	if (k < len && v[k] == '"') {
		for (k++;; k++) {
			if (k == len)
				return -1; /* no closing quote */
			int ch = (unsigned char)v[k];
			if (ch == '"')
				break;
			if (ch == '\\') {
				if (++k == len)
					return -1;
				ch = (unsigned char)v[k];
			}
			/* qdtext and quoted-pair: HTAB, SP, VCHAR, obs-text; never CTLs */
			if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
				return -1;
			if (dst != NULL) {
				if (n + 1 >= cap)
					return -1;
				dst[n] = (char)ch;
			}
			n++;
		}
		k++;
	} else {
		while (k < len && (is_tchar((unsigned char)v[k]) || v[k] == '/' || v[k] == '=')) {
			if (dst != NULL) {
				if (n + 1 >= cap)
					return -1;
				dst[n] = v[k];
			}
			n++;
			k++;
		}
		if (n == 0)
			return -1; /* a bare value is 1*tchar */
	}
	if (dst != NULL)
		dst[n] = '\0';
	*i = k;
	return (long)n;
}

/* The algorithm parameter (RFC 7616 section 3.3); unknown ones are -1, so the challenge is
 * kept (for logs) but cannot be answered. */
static int algorithm_of(const char *s, size_t n)
{
	static const struct {
		const char *name;
		int alg;
	} algs[] = {
		{"MD5", DIGEST_MD5},
		{"MD5-sess", DIGEST_MD5_SESS},
		{"SHA-256", DIGEST_SHA256},
		{"SHA-256-sess", DIGEST_SHA256_SESS},
		{"SHA-512-256", DIGEST_SHA512_256},
		{"SHA-512-256-sess", DIGEST_SHA512_256_SESS},
	};
	for (size_t k = 0; k < sizeof(algs) / sizeof(algs[0]); k++)
		if (ieq(s, n, algs[k].name))
			return algs[k].alg;
	return -1;
}

/* qop-options: a quoted comma list of "auth" / "auth-int" / tokens (RFC 7616 section 3.3) */
static int qop_has_auth(const char *s, size_t n)
{
	size_t k = 0;
	while (k < n) {
		while (k < n && (is_ows((unsigned char)s[k]) || s[k] == ','))
			k++;
		size_t t = k;
		while (k < n && s[k] != ',' && !is_ows((unsigned char)s[k]))
			k++;
		if (k > t && ieq(s + t, k - t, "auth"))
			return 1;
	}
	return 0;
}

/* One auth-param at v[*i] for challenge c.  Returns 0 or -1. */
static int read_param(const char *v, size_t len, size_t *i, struct authchal *c)
{
	size_t k = *i, n0 = k;
	while (k < len && is_tchar((unsigned char)v[k]))
		k++;
	const char *name = v + n0;
	size_t nlen = k - n0;
	while (k < len && is_ows((unsigned char)v[k]))
		k++;
	if (nlen == 0 || k == len || v[k] != '=')
		return -1;
	k++;
	while (k < len && is_ows((unsigned char)v[k]))
		k++;

	struct authchal_digest *d = &c->digest;
	int digest = c->scheme == HTTPC_AUTH_DIGEST;
	char small[VALUE_MAX];
	long vlen;
	if (ieq(name, nlen, "realm")) {
		vlen = read_value(v, len, &k, c->realm, sizeof(c->realm));
		if (vlen >= 0 && digest)
			memcpy(d->realm, c->realm, (size_t)vlen + 1);
	} else if (digest && ieq(name, nlen, "nonce")) {
		vlen = read_value(v, len, &k, d->nonce, sizeof(d->nonce));
	} else if (digest && ieq(name, nlen, "opaque")) {
		vlen = read_value(v, len, &k, d->opaque, sizeof(d->opaque));
	} else if (digest && (ieq(name, nlen, "algorithm") || ieq(name, nlen, "qop") || ieq(name, nlen, "stale") ||
			      ieq(name, nlen, "userhash") || ieq(name, nlen, "charset"))) {
		vlen = read_value(v, len, &k, small, sizeof(small));
		if (vlen >= 0) {
			size_t sl = (size_t)vlen;
			switch (lower((unsigned char)name[0])) {
			case 'a':
				d->algorithm = algorithm_of(small, sl);
				break;
			case 'q':
				d->qop_given = 1;
				d->qop_auth = qop_has_auth(small, sl);
				break;
			case 's':
				d->stale = ieq(small, sl, "true");
				break;
			case 'u':
				d->userhash = ieq(small, sl, "true");
				break;
			default: /* charset: the only value allowed is UTF-8 (RFC 7616 section 3.3) */
				d->utf8 = ieq(small, sl, "UTF-8");
				break;
			}
		}
	} else {
		vlen = read_value(v, len, &k, NULL, 0); /* domain, charset of Basic, extensions */
	}
	if (vlen < 0)
		return -1;
	*i = k;
	return 0;
}

/* After a parameter or a token68: OWS, then the end or a comma. */
static int element_end(const char *v, size_t len, size_t *i)
{
	while (*i < len && is_ows((unsigned char)v[*i]))
		(*i)++;
	return *i == len || v[*i] == ',' ? 0 : -1;
}

static void challenge_init(struct authchal *c, const char *scheme, size_t n)
{
	memset(c, 0, sizeof(*c));
	if (ieq(scheme, n, "Basic"))
		c->scheme = HTTPC_AUTH_BASIC;
	else if (ieq(scheme, n, "Digest"))
		c->scheme = HTTPC_AUTH_DIGEST;
	else if (ieq(scheme, n, "NTLM"))
		c->scheme = HTTPC_AUTH_NTLM;
	else if (ieq(scheme, n, "Negotiate"))
		c->scheme = HTTPC_AUTH_NEGOTIATE;
	else
		c->scheme = HTTPC_AUTH_OTHER;
	c->digest.algorithm = DIGEST_MD5; /* RFC 7616 section 3.3: MD5 when absent */
}

int authchal_parse(const char *v, size_t len, struct authchal *out, size_t max, size_t *n)
{
	struct authchal scratch; /* a challenge past max: checked, not kept */
	struct authchal *c = NULL; /* the challenge in progress */
	int kept = 0;              /* c is out[*n] */
	int closed = 0;            /* it had a token68: no parameters may follow */
	size_t i = 0;

	for (;;) {
		/* empty list elements and the separators */
		while (i < len && (is_ows((unsigned char)v[i]) || v[i] == ','))
			i++;
		if (i == len)
			break;
		size_t t0 = i;
		while (i < len && is_tchar((unsigned char)v[i]))
			i++;
		if (i == t0)
			return -1;
		size_t t1 = i, j = i;
		while (j < len && is_ows((unsigned char)v[j]))
			j++;
		if (j < len && v[j] == '=') {
			/* `name =`: a parameter of the challenge in progress */
			if (c == NULL || closed)
				return -1;
			i = t0;
			if (read_param(v, len, &i, c) < 0 || element_end(v, len, &i) < 0)
				return -1;
			continue;
		}

		/* a new scheme: the challenge before it is complete */
		if (kept)
			(*n)++;
		kept = *n < max;
		c = kept ? &out[*n] : &scratch;
		challenge_init(c, v + t0, t1 - t0);
		closed = 0;
		i = j;
		if (i == len || v[i] == ',')
			continue; /* no parameters */
		if (j == t1)
			return -1; /* the scheme runs into a byte that is neither a space nor a comma */

		/* a token68 is a whole list element; anything else is the first parameter */
		size_t k = i;
		while (k < len && is_t68((unsigned char)v[k]))
			k++;
		size_t body = k - i;
		while (k < len && v[k] == '=')
			k++;
		size_t e = k;
		while (e < len && is_ows((unsigned char)v[e]))
			e++;
		if (body > 0 && (e == len || v[e] == ',')) {
			c->token = v + i;
			c->token_len = k - i;
			closed = 1;
			i = e;
			continue;
		}
		if (read_param(v, len, &i, c) < 0 || element_end(v, len, &i) < 0)
			return -1;
	}
	if (kept)
		(*n)++;
	return 0;
}
