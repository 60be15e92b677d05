/* digest: the Digest access authentication response (RFC 7616), pure: no I/O, no logging;
 * the hashes come from libcrypto's EVP.  The challenge is authchal's. */
#ifndef SOCKS2HTTP_DIGEST_H
#define SOCKS2HTTP_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include "authchal.h" /* struct authchal_digest, DIGEST_* */

/* Writes the whole Proxy-Authorization value, NUL-terminated:
 *   Digest username="...", realm="...", nonce="...", uri="...", algorithm=...,
 *   response="...", qop=auth, nc=0000000N, cnonce="...", opaque="...", userhash=true
 * for method and uri (CONNECT: uri is the authority "host:port").  qop, nc and cnonce
 * only when the challenge offered qop (cnonce also for the -sess algorithms), opaque only
 * when it had one, userhash only when asked.  cnonce is the caller's (random, e.g. hex).
 * c->userhash: username is H(user ":" realm) in hex; otherwise a user with bytes outside
 * US-ASCII goes as username*=UTF-8''... (RFC 8187).  user and pass are UTF-8.
 * Returns the length, or -1: unknown algorithm, only qop=auth-int offered, no nonce, a
 * control byte in user/method/uri/cnonce, or cap too small (out is then ""). */
int digest_response(char *out, size_t cap, const struct authchal_digest *c, const char *user, const char *pass,
		    const char *method, const char *uri, uint32_t nc, const char *cnonce);

/* The algorithm's name as sent ("MD5", "SHA-256-sess", ...), or NULL if unknown. */
const char *digest_algorithm_name(int algorithm);

#endif
