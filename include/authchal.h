/* authchal: pure parser of Proxy-Authenticate field values (RFC 9110 sections 11.2-11.3,
 * 11.7.1): a comma list of challenges, each `scheme [token68 | #auth-param]`; quoted
 * strings with backslash escapes, empty list elements, any case for scheme and parameter
 * names.  No I/O, no allocation. */
#ifndef SOCKS2HTTP_AUTHCHAL_H
#define SOCKS2HTTP_AUTHCHAL_H

#include <stddef.h>

#include "httpc.h" /* HTTPC_AUTH_* */

#define AUTHCHAL_MAX 8 /* challenges kept per response */

/* Digest algorithms (RFC 7616 section 3.3).  Here rather than in digest.h so the parser
 * does not depend on the hashing module (digest.h includes this header).  SHA-512-256 is
 * FIPS 180-4 SHA-512/256. */
enum {
	DIGEST_MD5,
	DIGEST_MD5_SESS,
	DIGEST_SHA256,
	DIGEST_SHA256_SESS,
	DIGEST_SHA512_256,
	DIGEST_SHA512_256_SESS,
};

struct authchal_digest {
	char realm[256], nonce[256], opaque[256]; /* unquoted, NUL-terminated */
	int algorithm; /* DIGEST_* (DIGEST_MD5 also when absent), or -1 unknown */
	int qop_auth;  /* the qop list includes "auth" */
	int qop_given; /* a qop parameter was present (else RFC 2069 style) */
	int stale, userhash, utf8; /* stale=true, userhash=true, charset=UTF-8 */
};

struct authchal {
	unsigned scheme;   /* HTTPC_AUTH_BASIC/DIGEST/NTLM/NEGOTIATE or HTTPC_AUTH_OTHER */
	const char *token; /* the token68 after the scheme (NTLM/Negotiate data), pointing into
			    * the parsed value (valid while it is); NULL if none */
	size_t token_len;
	char realm[256];   /* the realm parameter of any scheme, for logs ("" if none) */
	struct authchal_digest digest; /* for HTTPC_AUTH_DIGEST */
};

/* Parses one field value (len bytes, not NUL-terminated) and appends its challenges to
 * out[*n .. max); challenges past max are checked but not kept.  Returns 0, or -1 when
 * the value is malformed: the challenges completed before the error stay in out (and
 * count in *n), the one being parsed is dropped.  A realm, nonce or opaque that does not
 * fit its field is an error, never truncated. */
int authchal_parse(const char *value, size_t len, struct authchal *out, size_t max, size_t *n);

#endif
