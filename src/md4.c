/* md4: RFC 1320 section 3, written from the algorithm's description (see include/md4.h). */
#include "md4.h"

#include <string.h>

#include "wipe.h"

static uint32_t rol(uint32_t x, int s)
{
	return (x << s) | (x >> (32 - s));
}

/* The three auxiliary functions of section 3.4. */
#define F(x, y, z) (((x) & (y)) | (~(x) & (z)))
#define G(x, y, z) (((x) & (y)) | ((x) & (z)) | ((y) & (z)))
#define H(x, y, z) ((x) ^ (y) ^ (z))

/* One 16-word block (section 3.4, step 4); words are little-endian. */
static void md4_block(uint32_t st[4], const uint8_t *p)
{
	/* per round: the word order, then the shift of each of the four steps in a group */
	static const uint8_t k2[16] = {0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15};
	static const uint8_t k3[16] = {0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15};
	static const int s1[4] = {3, 7, 11, 19}, s2[4] = {3, 5, 9, 13}, s3[4] = {3, 9, 11, 15};
	uint32_t x[16];
	for (int i = 0; i < 16; i++)
		x[i] = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 | (uint32_t)p[4 * i + 2] << 16 |
		       (uint32_t)p[4 * i + 3] << 24;
	/* v[0..3] = a, b, c, d; each step updates the register that rotates into "a" */
	uint32_t v[4] = {st[0], st[1], st[2], st[3]};
	for (int i = 0; i < 16; i++) {
		int a = (16 - i) & 3, b = (a + 1) & 3, c = (a + 2) & 3, d = (a + 3) & 3;
		v[a] = rol(v[a] + F(v[b], v[c], v[d]) + x[i], s1[i & 3]);
	}
	for (int i = 0; i < 16; i++) {
		int a = (16 - i) & 3, b = (a + 1) & 3, c = (a + 2) & 3, d = (a + 3) & 3;
		v[a] = rol(v[a] + G(v[b], v[c], v[d]) + x[k2[i]] + 0x5a827999u, s2[i & 3]);
	}
	for (int i = 0; i < 16; i++) {
		int a = (16 - i) & 3, b = (a + 1) & 3, c = (a + 2) & 3, d = (a + 3) & 3;
		v[a] = rol(v[a] + H(v[b], v[c], v[d]) + x[k3[i]] + 0x6ed9eba1u, s3[i & 3]);
	}
	for (int i = 0; i < 4; i++)
		st[i] += v[i];
	wipe(x, sizeof(x));
	wipe(v, sizeof(v));
}

void md4_init(struct md4_ctx *c)
{
	/* section 3.3 */
	c->state[0] = 0x67452301u;
	c->state[1] = 0xefcdab89u;
	c->state[2] = 0x98badcfeu;
	c->state[3] = 0x10325476u;
	c->len = 0;
}

void md4_update(struct md4_ctx *c, const void *data, size_t len)
{
	const uint8_t *p = data;
	size_t have = (size_t)(c->len & 63);
	c->len += len;
	if (have) {
		size_t n = 64 - have < len ? 64 - have : len;
		memcpy(c->buf + have, p, n);
		p += n;
		len -= n;
		if (have + n < 64)
			return;
		md4_block(c->state, c->buf);
	}
	for (; len >= 64; p += 64, len -= 64)
		md4_block(c->state, p);
	if (len)
		memcpy(c->buf, p, len);
}

void md4_final(struct md4_ctx *c, uint8_t out[MD4_DIGEST_LEN])
{
	/* sections 3.1-3.2: a 1 bit, zeros to 56 mod 64, the bit length little-endian */
	uint64_t bits = c->len * 8;
	uint8_t pad[72] = {0x80};
	size_t have = (size_t)(c->len & 63);
	size_t n = (have < 56 ? 56 : 120) - have;
	for (int i = 0; i < 8; i++)
		pad[n + (size_t)i] = (uint8_t)(bits >> (8 * i));
	md4_update(c, pad, n + 8);
	for (int i = 0; i < 4; i++)
		for (int j = 0; j < 4; j++)
			out[4 * i + j] = (uint8_t)(c->state[i] >> (8 * j));
	wipe(c, sizeof(*c));
}

void md4(const void *data, size_t len, uint8_t out[MD4_DIGEST_LEN])
{
	struct md4_ctx c;
	md4_init(&c);
	md4_update(&c, data, len);
	md4_final(&c, out);
}
