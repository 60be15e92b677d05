/* digest: RFC 7616 response computation (see include/digest.h). */
#include "digest.h"

#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "wipe.h"

#define HEX_MAX (2 * EVP_MAX_MD_SIZE + 1)

const char *digest_algorithm_name(int algorithm)
{
	switch (algorithm) {
	case DIGEST_MD5:
		return "MD5";
	case DIGEST_MD5_SESS:
		return "MD5-sess";
	case DIGEST_SHA256:
		return "SHA-256";
	case DIGEST_SHA256_SESS:
		return "SHA-256-sess";
	case DIGEST_SHA512_256:
		return "SHA-512-256";
	case DIGEST_SHA512_256_SESS:
		return "SHA-512-256-sess";
	default:
		return NULL;
	}
}

static const EVP_MD *md_of(int algorithm)
{
	switch (algorithm) {
	case DIGEST_MD5:
	case DIGEST_MD5_SESS:
		return EVP_md5();
	case DIGEST_SHA256:
	case DIGEST_SHA256_SESS:
		return EVP_sha256();
	case DIGEST_SHA512_256:
	case DIGEST_SHA512_256_SESS:
		return EVP_sha512_256(); /* FIPS 180-4 SHA-512/256, as RFC 7616 section 3.2 cites */
	default:
		return NULL;
	}
}

static int is_sess(int algorithm)
{
	return algorithm == DIGEST_MD5_SESS || algorithm == DIGEST_SHA256_SESS || algorithm == DIGEST_SHA512_256_SESS;
}

/* Lowercase hex of H(parts[0] ":" parts[1] ":" ...) into hex (HEX_MAX bytes), hashed piece
 * by piece so the password is never copied into a joined buffer.  0 or -1. */
/* hex may be one of the parts: all of them are hashed before it is written. */
static int hash_hex(EVP_MD_CTX *ctx, const EVP_MD *md, const char *const *parts, size_t nparts, char *hex)
{
	unsigned char bin[EVP_MAX_MD_SIZE];
	unsigned int blen = 0;
	int ok = EVP_DigestInit_ex(ctx, md, NULL) == 1;
	for (size_t k = 0; ok && k < nparts; k++) {
		if (k > 0)
			ok = EVP_DigestUpdate(ctx, ":", 1) == 1;
		if (ok)
			ok = EVP_DigestUpdate(ctx, parts[k], strlen(parts[k])) == 1;
	}
	if (ok)
		ok = EVP_DigestFinal_ex(ctx, bin, &blen) == 1;
	if (ok) {
		static const char digits[] = "0123456789abcdef";
		for (unsigned int k = 0; k < blen; k++) {
			hex[2 * k] = digits[bin[k] >> 4];
			hex[2 * k + 1] = digits[bin[k] & 15];
		}
		hex[2 * blen] = '\0';
	}
	wipe(bin, sizeof(bin));
	return ok ? 0 : -1;
}

/* The output, written with a bound: an overflow is remembered, checked once at the end. */
struct out {
	char *p;
	size_t cap, len;
	int overflow;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->overflow || n >= o->cap - o->len) {
		o->overflow = 1;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

static void put_str(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

/* A quoted-string (RFC 9110 section 5.6.4): '"' and '\' escaped. */
static void put_quoted(struct out *o, const char *s)
{
	put(o, "\"", 1);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			put(o, "\\", 1);
		put(o, s, 1);
	}
	put(o, "\"", 1);
}

/* An RFC 8187 ext-value: UTF-8''pct-encoded, attr-char kept as is (section 3.2.1). */
static void put_ext(struct out *o, const char *s)
{
	put_str(o, "UTF-8''");
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		    strchr("!#$&+-.^_`|~", ch) != NULL) {
			put(o, s, 1);
		} else {
			char pct[4];
			snprintf(pct, sizeof(pct), "%%%02X", ch);
			put(o, pct, 3);
		}
	}
}

/* CTLs would end or corrupt the header line; HTAB is allowed inside quoted strings. */
static int has_ctl(const char *s, int allow_tab)
{
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;
		if ((ch < 0x20 && !(allow_tab && ch == '\t')) || ch == 0x7f)
			return 1;
	}
	return 0;
}

static int has_non_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return 1;
	return 0;
}

int digest_response(char *out, size_t cap, const struct authchal_digest *c, const char *user, const char *pass,
		    const char *method, const char *uri, uint32_t nc, const char *cnonce)
{
	const EVP_MD *md = md_of(c->algorithm);
	const char *alg = digest_algorithm_name(c->algorithm);
	/* Only auth-int offered: it hashes the request body, which a CONNECT does not have
	 * in any form the proxy would agree on; RFC 7616 section 3.4.3. */
	if (md == NULL || alg == NULL || (c->qop_given && !c->qop_auth))
		return -1;
	if (memchr(c->realm, 0, sizeof(c->realm)) == NULL || memchr(c->nonce, 0, sizeof(c->nonce)) == NULL ||
	    memchr(c->opaque, 0, sizeof(c->opaque)) == NULL)
		return -1; /* not from authchal_parse */
	if (c->nonce[0] == '\0')
		return -1; /* a challenge without its nonce (RFC 7616 section 3.3 requires one) */
	if (cap == 0 || has_ctl(user, 0) || has_ctl(method, 0) || has_ctl(uri, 0) || has_ctl(cnonce, 0) ||
	    has_ctl(c->realm, 1) || has_ctl(c->nonce, 1) || has_ctl(c->opaque, 1))
		return -1;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		return -1;

	char ha1[HEX_MAX], ha2[HEX_MAX], resp[HEX_MAX], uhash[HEX_MAX], ncs[9];
	int sess = is_sess(c->algorithm);
	int qop = c->qop_given; /* here also qop_auth */
	snprintf(ncs, sizeof(ncs), "%08x", (unsigned)nc);
	/* RFC 7616 section 3.4.2: A1 = user:realm:pass, for -sess H(that):nonce:cnonce;
	 * section 3.4.3: A2 = method:uri; section 3.4.1: the response, with or without qop
	 * (without: the RFC 2069 form).  Section 3.4.4: the username is hashed last, so A1
	 * always holds the plain name. */
	const char *a1[] = {user, c->realm, pass};
	const char *a2[] = {method, uri};
	int rc = hash_hex(ctx, md, a1, 3, ha1);
	if (rc == 0 && sess) {
		const char *s1[] = {ha1, c->nonce, cnonce};
		rc = hash_hex(ctx, md, s1, 3, ha1);
	}
	if (rc == 0)
		rc = hash_hex(ctx, md, a2, 2, ha2);
	if (rc == 0 && qop) {
		const char *r[] = {ha1, c->nonce, ncs, cnonce, "auth", ha2};
		rc = hash_hex(ctx, md, r, 6, resp);
	} else if (rc == 0) {
		const char *r[] = {ha1, c->nonce, ha2};
		rc = hash_hex(ctx, md, r, 3, resp);
	}
	if (rc == 0 && c->userhash) {
		const char *u[] = {user, c->realm};
		rc = hash_hex(ctx, md, u, 2, uhash);
	}
	EVP_MD_CTX_free(ctx);
	wipe(ha1, sizeof(ha1));
	if (rc < 0)
		return -1;

	struct out o = {out, cap, 0, 0};
	out[0] = '\0';
	put_str(&o, "Digest ");
	if (c->userhash) {
		put_str(&o, "username=");
		put_quoted(&o, uhash);
	} else if (has_non_ascii(user)) {
		put_str(&o, "username*=");
		put_ext(&o, user);
	} else {
		put_str(&o, "username=");
		put_quoted(&o, user);
	}
	put_str(&o, ", realm=");
	put_quoted(&o, c->realm);
	put_str(&o, ", nonce=");
	put_quoted(&o, c->nonce);
	put_str(&o, ", uri=");
	put_quoted(&o, uri);
	put_str(&o, ", algorithm=");
	put_str(&o, alg);
	put_str(&o, ", response=");
	put_quoted(&o, resp);
	if (qop) {
		put_str(&o, ", qop=auth, nc=");
		put_str(&o, ncs);
	}
	if (qop || sess) { /* -sess hashes cnonce into A1 even without qop */
		put_str(&o, ", cnonce=");
		put_quoted(&o, cnonce);
	}
	if (c->opaque[0] != '\0') {
		put_str(&o, ", opaque=");
		put_quoted(&o, c->opaque);
	}
	if (c->userhash)
		put_str(&o, ", userhash=true");
	if (o.overflow || o.len > INT_MAX) {
		wipe(out, cap);
		out[0] = '\0';
		return -1;
	}
	return (int)o.len;
}
