/* fuzz_authchal: any bytes as a Proxy-Authenticate value.  The result stays in bounds
 * (tokens inside the input, strings terminated, known schemes and algorithms), a smaller
 * max keeps a prefix of the same challenges with the same return code, and every Digest
 * challenge found is answered: the answer is a well-formed header value (no control bytes,
 * its length returned, refused one byte short) that parses back to the same realm, nonce,
 * opaque, algorithm and userhash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "authchal.h"
#include "digest.h"

static int terminated(const char *s, size_t cap)
{
	return memchr(s, '\0', cap) != NULL;
}

static void answer(const struct authchal_digest *d, const char *user)
{
	static char out[4096];
	int n = digest_response(out, sizeof(out), d, user, "pass", "CONNECT", "example.com:443", 1, "0123abcd");
	int answerable = d->algorithm >= DIGEST_MD5 && d->algorithm <= DIGEST_SHA512_256_SESS &&
			 !(d->qop_given && !d->qop_auth) && d->nonce[0] != '\0';
	FUZZ_ASSERT((n > 0) == answerable);
	if (n <= 0)
		return;
	FUZZ_ASSERT((size_t)n == strlen(out));
	for (int k = 0; k < n; k++) {
		unsigned char ch = (unsigned char)out[k];
		FUZZ_ASSERT(ch >= 0x20 || ch == '\t');
		FUZZ_ASSERT(ch != 0x7f);
	}
	struct authchal back[2];
	size_t nb = 0;
	FUZZ_ASSERT(authchal_parse(out, (size_t)n, back, 2, &nb) == 0);
	FUZZ_ASSERT(nb == 1 && back[0].scheme == HTTPC_AUTH_DIGEST);
	const struct authchal_digest *b = &back[0].digest;
	FUZZ_ASSERT(strcmp(b->realm, d->realm) == 0 && strcmp(b->nonce, d->nonce) == 0 &&
		    strcmp(b->opaque, d->opaque) == 0);
	FUZZ_ASSERT(b->algorithm == d->algorithm && b->userhash == d->userhash);
	FUZZ_ASSERT(b->qop_given == d->qop_given && b->qop_auth == d->qop_auth);

	/* one byte short: refused, and nothing left behind */
	char *small = malloc((size_t)n);
	FUZZ_ASSERT(small != NULL);
	FUZZ_ASSERT(digest_response(small, (size_t)n, d, user, "pass", "CONNECT", "example.com:443", 1, "0123abcd") ==
		    -1);
	FUZZ_ASSERT(small[0] == '\0');
	free(small);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	static struct authchal out[AUTHCHAL_MAX], few[AUTHCHAL_MAX];
	size_t n = 0;
	int rc = authchal_parse(in, size, out, AUTHCHAL_MAX, &n);
	FUZZ_ASSERT(rc == 0 || rc == -1);
	FUZZ_ASSERT(n <= AUTHCHAL_MAX);

	size_t nf = 0;
	int rcf = authchal_parse(in, size, few, 2, &nf);
	FUZZ_ASSERT(rcf == rc && nf == (n < 2 ? n : 2));

	for (size_t k = 0; k < n; k++) {
		const struct authchal *c = &out[k];
		FUZZ_ASSERT(c->scheme == HTTPC_AUTH_BASIC || c->scheme == HTTPC_AUTH_DIGEST || c->scheme == HTTPC_AUTH_NTLM ||
			    c->scheme == HTTPC_AUTH_NEGOTIATE || c->scheme == HTTPC_AUTH_OTHER);
		if (c->token != NULL)
			FUZZ_ASSERT(c->token >= in && c->token_len > 0 && c->token_len <= size &&
				    (size_t)(c->token - in) <= size - c->token_len);
		else
			FUZZ_ASSERT(c->token_len == 0);
		FUZZ_ASSERT(terminated(c->realm, sizeof(c->realm)));
		FUZZ_ASSERT(terminated(c->digest.realm, sizeof(c->digest.realm)));
		FUZZ_ASSERT(terminated(c->digest.nonce, sizeof(c->digest.nonce)));
		FUZZ_ASSERT(terminated(c->digest.opaque, sizeof(c->digest.opaque)));
		FUZZ_ASSERT(c->digest.algorithm >= -1 && c->digest.algorithm <= DIGEST_SHA512_256_SESS);
		if (k < nf)
			FUZZ_ASSERT(few[k].scheme == c->scheme && strcmp(few[k].realm, c->realm) == 0 &&
				    few[k].token == c->token && few[k].token_len == c->token_len);
		if (c->scheme != HTTPC_AUTH_DIGEST)
			continue;
		answer(&c->digest, "user");
		answer(&c->digest, "J\xc3\xa4s\xc3\xb8n \"Doe\"\\");
		struct authchal_digest h = c->digest;
		h.userhash = !h.userhash;
		answer(&h, "user");
	}
	return 0;
}
