/* md4: the MD4 message digest (RFC 1320), only for NTLM's NTOWF (MS-NLMP 3.3.1): OpenSSL 3
 * keeps MD4 in its legacy provider, which may be absent.  Pure; no allocation. */
#ifndef SOCKS2HTTP_MD4_H
#define SOCKS2HTTP_MD4_H

#include <stddef.h>
#include <stdint.h>

#define MD4_DIGEST_LEN 16

struct md4_ctx {
	uint32_t state[4];
	uint64_t len;     /* bytes hashed so far */
	uint8_t buf[64];  /* a partial block */
};

void md4_init(struct md4_ctx *c);
void md4_update(struct md4_ctx *c, const void *data, size_t len);
/* Writes the digest and wipes the context (it may have held a password). */
void md4_final(struct md4_ctx *c, uint8_t out[MD4_DIGEST_LEN]);
/* One call: init, update, final. */
void md4(const void *data, size_t len, uint8_t out[MD4_DIGEST_LEN]);

#endif
