/* test_ntlm: MD4 against RFC 1320 A.5; NTLMv2 against the MS-NLMP 4.2.4 example (user "User",
 * domain "Domain", password "Password", server challenge 0123456789abcdef, client challenge
 * aa * 8, time 0); challenge messages truncated at every length, fields out of bounds, AV
 * lists without EOL; output bounds; names (UTF-8, Uppercase, limits); Uppercase() across
 * scripts, as Samba does it; ntlm_split_user. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "check.h"
#include "md4.h"
#include "ntlm.h"

static void unhex(const char *h, uint8_t *out)
{
	for (size_t i = 0; h[2 * i]; i++) {
		unsigned v;
		sscanf(h + 2 * i, "%2x", &v);
		out[i] = (uint8_t)v;
	}
}

static int eq_hex(const uint8_t *p, const char *h)
{
	uint8_t want[512];
	size_t n = strlen(h) / 2;
	unhex(h, want);
	if (memcmp(p, want, n) == 0)
		return 1;
	fprintf(stderr, "got  ");
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, "%02x", p[i]);
	fprintf(stderr, "\nwant %s\n", h);
	return 0;
}

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static unsigned get16(const uint8_t *p)
{
	return p[0] | p[1] << 8;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* RFC 1320 A.5, whole and fed in two parts split at every point and a byte at a time */
static void test_md4(void)
{
	static const struct {
		const char *in, *out;
	} v[] = {
		{"", "31d6cfe0d16ae931b73c59d7e0c089c0"},
		{"a", "bde52cb31de33e46245e05fbdbd6fb24"},
		{"abc", "a448017aaf21d8525fc10ae87aa6729d"},
		{"message digest", "d9130a8164549fe818874806e1c7014b"},
		{"abcdefghijklmnopqrstuvwxyz", "d79e1c308aa5bbcdeea8ed63df412da9"},
		{"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
		 "043f8582f241db351ce627e153e7f0e4"},
		{"12345678901234567890123456789012345678901234567890123456789012345678901234567890",
		 "e33b4ddc9c38f2199c3e7b164fcc0536"},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint8_t d[16];
		size_t n = strlen(v[i].in);
		md4(v[i].in, n, d);
		CHECK(eq_hex(d, v[i].out));
		for (size_t k = 0; k <= n; k++) {
			struct md4_ctx c;
			md4_init(&c);
			md4_update(&c, v[i].in, k);
			md4_update(&c, v[i].in + k, n - k);
			md4_final(&c, d);
			CHECK(eq_hex(d, v[i].out));
		}
		struct md4_ctx c;
		md4_init(&c);
		for (size_t k = 0; k < n; k++)
			md4_update(&c, v[i].in + k, 1);
		md4_final(&c, d);
		CHECK(eq_hex(d, v[i].out));
	}
	/* the padding's edges: 55, 56, 63, 64, 119, 120 bytes, whole vs. byte at a time */
	static const size_t lens[] = {55, 56, 57, 63, 64, 65, 119, 120, 128};
	char buf[128];
	memset(buf, 'x', sizeof(buf));
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		uint8_t a[16], b[16];
		md4(buf, lens[i], a);
		struct md4_ctx c;
		md4_init(&c);
		for (size_t k = 0; k < lens[i]; k++)
			md4_update(&c, buf + k, 1);
		md4_final(&c, b);
		CHECK(memcmp(a, b, 16) == 0);
	}
	/* NTOWFv1("Password") = MD4(UTF-16LE), MS-NLMP 4.2.2.1.2 */
	uint8_t d[16];
	md4("P\0a\0s\0s\0w\0o\0r\0d\0", 16, d);
	CHECK(eq_hex(d, "a4f49c406510bdcab6824ee7c30fd852"));
}

/* The CHALLENGE_MESSAGE of MS-NLMP 4.2.4.3, built from its fields: flags e2 8a 82 33, the
 * server challenge, TargetName "Server", Version 06 00 70 17 00 00 00 0f, TargetInfo =
 * MsvAvNbDomainName "Domain", MsvAvNbComputerName "Server", MsvAvEOL.  Extra AV pairs
 * (before the EOL) may be given; returns the length. */
static size_t spec_challenge(uint8_t *m, const uint8_t *extra_av, size_t extra_len)
{
	static const uint8_t server[] = {'S', 0, 'e', 0, 'r', 0, 'v', 0, 'e', 0, 'r', 0};
	static const uint8_t domain[] = {'D', 0, 'o', 0, 'm', 0, 'a', 0, 'i', 0, 'n', 0};
	static const uint8_t version[] = {0x06, 0x00, 0x70, 0x17, 0x00, 0x00, 0x00, 0x0f};
	memset(m, 0, 56);
	memcpy(m, "NTLMSSP", 8);
	put32(m + 8, 2);
	put16(m + 12, 12);
	put16(m + 14, 12);
	put32(m + 16, 56);
	put32(m + 20, 0xe28a8233u);
	unhex("0123456789abcdef", m + 24);
	memcpy(m + 48, version, 8);
	memcpy(m + 56, server, 12);
	size_t p = 68;
	put16(m + p, 2), put16(m + p + 2, 12), memcpy(m + p + 4, domain, 12), p += 16;
	put16(m + p, 1), put16(m + p + 2, 12), memcpy(m + p + 4, server, 12), p += 16;
	if (extra_len)
		memcpy(m + p, extra_av, extra_len), p += extra_len;
	put32(m + p, 0), p += 4;
	put16(m + 40, (unsigned)(p - 68));
	put16(m + 42, (unsigned)(p - 68));
	put32(m + 44, 68);
	return p;
}

static int parse_copy(const uint8_t *m, size_t n, struct ntlm_challenge *c)
{
	/* exact-size copy: ASan sees reads past it (c keeps pointing into it: do not use
	 * target_info after this returns) */
	uint8_t *copy = malloc(n ? n : 1);
	memcpy(copy, m, n);
	int rc = ntlm_parse_challenge(copy, n, c);
	free(copy);
	return rc;
}

static const uint8_t cc[8] = {0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa};

static void test_spec_vectors(void)
{
	uint8_t k[16];
	CHECK_EQ_INT(ntlm_ntowfv2("User", "Domain", "Password", k), 0);
	CHECK(eq_hex(k, "0c868a403bfd7a93a3001ef22ef02e3f")); /* 4.2.4.1.1 */
	/* Uppercase(User), the domain as given */
	uint8_t k2[16];
	CHECK_EQ_INT(ntlm_ntowfv2("USER", "Domain", "Password", k2), 0);
	CHECK(memcmp(k, k2, 16) == 0);
	CHECK_EQ_INT(ntlm_ntowfv2("User", "DOMAIN", "Password", k2), 0);
	CHECK(memcmp(k, k2, 16) != 0);

	uint8_t m[256];
	size_t n = spec_challenge(m, NULL, 0);
	CHECK_EQ_INT(n, 104);
	struct ntlm_challenge c;
	CHECK_EQ_INT(ntlm_parse_challenge(m, n, &c), 0);
	CHECK_EQ_INT(c.flags, 0xe28a8233u);
	CHECK(eq_hex(c.server_challenge, "0123456789abcdef"));
	CHECK(c.target_info == m + 68);
	CHECK_EQ_INT(c.target_info_len, 36);
	CHECK_EQ_INT(c.has_timestamp, 0);

	uint8_t a[512];
	int len = ntlm_authenticate(a, sizeof(a), &c, "User", "Domain", "Password", "COMPUTER", cc, 0);
	CHECK_EQ_INT(len, 64 + 12 + 8 + 16 + 24 + 84);
	CHECK(memcmp(a, "NTLMSSP\0\3\0\0\0", 12) == 0);
	/* LmChallengeResponse: LMv2, 4.2.4.2.1 */
	CHECK_EQ_INT(get16(a + 12), 24);
	CHECK_EQ_INT(get16(a + 14), 24);
	CHECK(eq_hex(a + get32(a + 16), "86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa"));
	/* NtChallengeResponse: NTProofStr (4.2.4.2.2) then temp (4.2.4.1.3) */
	CHECK_EQ_INT(get16(a + 20), 84);
	CHECK(eq_hex(a + get32(a + 24), "68cd0ab851e51c96aabc927bebef6a1c"
					"01010000000000000000000000000000aaaaaaaaaaaaaaaa00000000"
					"02000c0044006f006d00610069006e00"
					"01000c00530065007200760065007200"
					"0000000000000000"));
	CHECK_EQ_INT(get16(a + 28), 12);
	CHECK(memcmp(a + get32(a + 32), "D\0o\0m\0a\0i\0n\0", 12) == 0);
	CHECK_EQ_INT(get16(a + 36), 8);
	CHECK(memcmp(a + get32(a + 40), "U\0s\0e\0r\0", 8) == 0);
	CHECK_EQ_INT(get16(a + 44), 16);
	CHECK(memcmp(a + get32(a + 48), "C\0O\0M\0P\0U\0T\0E\0R\0", 16) == 0);
	CHECK_EQ_INT(get16(a + 52), 0);
	CHECK_EQ_INT(get32(a + 56), (uint32_t)len);
	CHECK_EQ_INT(get32(a + 60), 0xe28a8233u & NTLM_CLIENT_FLAGS);
	/* every field lies inside the message */
	for (int f = 12; f <= 52; f += 8)
		CHECK(get32(a + f + 4) + get16(a + f) <= (uint32_t)len && get32(a + f + 4) >= 64);
}

/* The server's MsvAvTimestamp goes into the blob, the LM response is Z(24); without it the
 * caller's time goes in and LMv2 is sent. */
static void test_timestamp(void)
{
	uint8_t av[12] = {7, 0, 8, 0, 0x00, 0x80, 0x3e, 0xd5, 0xde, 0xb1, 0x9d, 0x01};
	uint8_t m[256], a[512];
	size_t n = spec_challenge(m, av, sizeof(av));
	struct ntlm_challenge c;
	CHECK_EQ_INT(ntlm_parse_challenge(m, n, &c), 0);
	CHECK_EQ_INT(c.has_timestamp, 1);
	CHECK(c.timestamp == 0x019db1ded53e8000ull);
	CHECK_EQ_INT(c.target_info_len, 48);
	int len = ntlm_authenticate(a, sizeof(a), &c, "User", "Domain", "Password", NULL, cc, 12345);
	CHECK_EQ_INT(len, 64 + 12 + 8 + 24 + 16 + 28 + 48 + 4);
	static const uint8_t z24[24];
	CHECK(memcmp(a + get32(a + 16), z24, 24) == 0);
	CHECK_EQ_INT(get16(a + 44), 0); /* no workstation */
	const uint8_t *nt = a + get32(a + 24);
	CHECK(memcmp(nt + 16 + 8, av + 4, 8) == 0);
	CHECK(memcmp(nt + 16 + 28, m + 68, 48) == 0);
	/* NTProofStr recomputed here with HMAC() */
	uint8_t k[16], msg[8 + 80], want[16];
	unsigned wl = 0;
	ntlm_ntowfv2("User", "Domain", "Password", k);
	memcpy(msg, c.server_challenge, 8);
	memcpy(msg + 8, nt + 16, 80);
	HMAC(EVP_md5(), k, 16, msg, sizeof(msg), want, &wl);
	CHECK(memcmp(nt, want, 16) == 0);

	n = spec_challenge(m, NULL, 0);
	CHECK_EQ_INT(ntlm_parse_challenge(m, n, &c), 0);
	len = ntlm_authenticate(a, sizeof(a), &c, "User", "Domain", "Password", NULL, cc, 0x0102030405060708ull);
	CHECK(len > 0);
	CHECK(eq_hex(a + get32(a + 24) + 16 + 8, "0807060504030201"));
	CHECK(eq_hex(a + get32(a + 16), "86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa"));
}

static void test_malformed(void)
{
	uint8_t m[256], x[256];
	struct ntlm_challenge c;
	size_t n = spec_challenge(m, NULL, 0);
	/* truncated at every length */
	for (size_t k = 0; k < n; k++)
		CHECK_EQ_INT(parse_copy(m, k, &c), -1);
	CHECK_EQ_INT(parse_copy(m, n, &c), 0);
	/* bytes after the fields are allowed */
	CHECK_EQ_INT(parse_copy(m, n + 10, &c), 0);
	/* signature, type */
	memcpy(x, m, n), x[6] = 'Q';
	CHECK_EQ_INT(parse_copy(x, n, &c), -1);
	memcpy(x, m, n), x[8] = 3;
	CHECK_EQ_INT(parse_copy(x, n, &c), -1);
	/* TargetName out of bounds, offset + length overflowing 32 bits */
	memcpy(x, m, n), put32(x + 16, 93);
	CHECK_EQ_INT(parse_copy(x, n, &c), -1);
	memcpy(x, m, n), put32(x + 16, 0xfffffff8u);
	CHECK_EQ_INT(parse_copy(x, n, &c), -1);
	memcpy(x, m, n), put32(x + 16, 92); /* last byte exactly: fine */
	CHECK_EQ_INT(parse_copy(x, n, &c), 0);
	/* TargetInfo out of bounds */
	memcpy(x, m, n), put32(x + 44, 69);
	CHECK_EQ_INT(parse_copy(x, n, &c), -1);
	memcpy(x, m, n), put32(x + 44, 0xffffffffu);
	CHECK_EQ_INT(parse_copy(x, n, &c), -1);
	memcpy(x, m, n), put16(x + 40, 37);
	CHECK_EQ_INT(parse_copy(x, n, &c), -1);
	/* AV list without EOL: the list stops before it, or at every shorter length */
	for (unsigned l = 1; l < 36; l++) {
		memcpy(x, m, n), put16(x + 40, l);
		CHECK_EQ_INT(parse_copy(x, n, &c), -1);
	}
	/* an AV pair running past the list; an EOL with a length; a short timestamp */
	memcpy(x, m, n), put16(x + 68 + 2, 13);
	CHECK_EQ_INT(parse_copy(x, n, &c), -1);
	memcpy(x, m, n), put16(x + 68 + 2, 0xffff);
	CHECK_EQ_INT(parse_copy(x, n, &c), -1);
	memcpy(x, m, n), put16(x + 68 + 32 + 2, 4); /* EOL length 4 overruns */
	CHECK_EQ_INT(parse_copy(x, n, &c), -1);
	uint8_t ts4[8] = {7, 0, 4, 0, 1, 2, 3, 4};
	n = spec_challenge(x, ts4, sizeof(ts4));
	CHECK_EQ_INT(parse_copy(x, n, &c), -1);
	uint8_t eol4[8] = {0, 0, 4, 0, 1, 2, 3, 4};
	n = spec_challenge(x, eol4, sizeof(eol4));
	CHECK_EQ_INT(parse_copy(x, n, &c), -1);
	/* bytes after the EOL inside TargetInfo: kept out of target_info */
	n = spec_challenge(x, NULL, 0);
	put16(x + 40, 40), memset(x + n, 0x55, 4);
	CHECK_EQ_INT(ntlm_parse_challenge(x, n + 4, &c), 0);
	CHECK_EQ_INT(c.target_info_len, 36);
	/* an unknown AV pair is skipped; two timestamps: the first counts */
	uint8_t two[32] = {0x42, 0, 4, 0, 1, 2, 3, 4, 7, 0, 8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 7, 0, 8, 0, 2, 0, 0, 0, 0, 0, 0, 0};
	n = spec_challenge(x, two, sizeof(two));
	CHECK_EQ_INT(ntlm_parse_challenge(x, n, &c), 0);
	CHECK_EQ_INT(c.has_timestamp, 1);
	CHECK(c.timestamp == 1);

	/* the 32-byte form without TargetInfo */
	memcpy(x, m, 32);
	put16(x + 12, 0), put16(x + 14, 0), put32(x + 16, 0);
	put32(x + 20, NTLM_NEGOTIATE_UNICODE | NTLM_NEGOTIATE_NTLM);
	CHECK_EQ_INT(parse_copy(x, 32, &c), 0);
	CHECK(c.target_info == NULL && c.target_info_len == 0 && c.has_timestamp == 0);
	uint8_t a[512];
	int len = ntlm_authenticate(a, sizeof(a), &c, "u", "", "p", "", cc, 1);
	CHECK_EQ_INT(len, 64 + 2 + 24 + 48);
	CHECK_EQ_INT(get16(a + 20), 48);
	/* ... but TARGET_INFO set needs the 48-byte header */
	put32(x + 20, NTLM_NEGOTIATE_UNICODE | NTLM_NEGOTIATE_TARGET_INFO);
	CHECK_EQ_INT(parse_copy(x, 32, &c), -1);
	CHECK_EQ_INT(parse_copy(x, 47, &c), -1);
	memset(x + 32, 0, 16);
	CHECK_EQ_INT(parse_copy(x, 48, &c), 0); /* empty TargetInfo */
	CHECK(c.target_info == NULL);
	/* a server without UNICODE: refused */
	put32(x + 20, NTLM_NEGOTIATE_NTLM | 2 /* OEM */);
	CHECK_EQ_INT(parse_copy(x, 48, &c), 0);
	CHECK_EQ_INT(ntlm_authenticate(a, sizeof(a), &c, "u", "", "p", "", cc, 1), -1);
}

/* Every cap short of the length fails without writing past it. */
static void test_bounds(void)
{
	uint8_t m[256];
	struct ntlm_challenge c;
	size_t n = spec_challenge(m, NULL, 0);
	ntlm_parse_challenge(m, n, &c);
	uint8_t ref[512];
	int len = ntlm_authenticate(ref, sizeof(ref), &c, "User", "Domain", "Password", "COMPUTER", cc, 0);
	CHECK(len > 0);
	for (int cap = 0; cap <= len; cap++) {
		uint8_t *b = malloc((size_t)cap + 1);
		int r = ntlm_authenticate(b, (size_t)cap, &c, "User", "Domain", "Password", "COMPUTER", cc, 0);
		CHECK_EQ_INT(r, cap == len ? len : -1);
		if (r == len)
			CHECK(memcmp(b, ref, (size_t)len) == 0);
		free(b);
	}
	uint8_t neg[32];
	CHECK_EQ_INT(ntlm_negotiate(neg, 31), -1);
	CHECK_EQ_INT(ntlm_negotiate(neg, 32), 32);
	CHECK(eq_hex(neg, "4e544c4d5353500001000000058288a0"
			  "00000000200000000000000020000000"));
}

static void test_names(void)
{
	uint8_t k1[16], k2[16], a[4096], m[256];
	struct ntlm_challenge c;
	ntlm_parse_challenge(m, spec_challenge(m, NULL, 0), &c);
	/* Uppercase beyond ASCII: Latin-1, Latin Extended-A, Greek (final sigma), Cyrillic */
	static const char *pairs[][2] = {
		{"jos\xc3\xa9", "JOS\xc3\x89"},
		{"\xc3\xbf", "\xc5\xb8"},
		{"\xc5\x82\xc3\xb3" "d\xc5\xba", "\xc5\x81\xc3\x93" "D\xc5\xb9"},
		{"\xcf\x83\xcf\x82", "\xce\xa3\xce\xa3"},
		{"\xd0\xb8\xd0\xb2\xd0\xb0\xd0\xbd", "\xd0\x98\xd0\x92\xd0\x90\xd0\x9d"},
		{"\xd1\x91", "\xd0\x81"},
	};
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		CHECK_EQ_INT(ntlm_ntowfv2(pairs[i][0], "d", "p", k1), 0);
		CHECK_EQ_INT(ntlm_ntowfv2(pairs[i][1], "d", "p", k2), 0);
		CHECK(memcmp(k1, k2, 16) == 0);
	}
	/* invalid UTF-8 anywhere: refused */
	static const char *bad[] = {"\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xff", "a\xc3", "\xe2\x82"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_EQ_INT(ntlm_ntowfv2(bad[i], "d", "p", k1), -1);
		CHECK_EQ_INT(ntlm_ntowfv2("u", bad[i], "p", k1), -1);
		CHECK_EQ_INT(ntlm_ntowfv2("u", "d", bad[i], k1), -1);
		CHECK_EQ_INT(ntlm_authenticate(a, sizeof(a), &c, bad[i], "d", "p", NULL, cc, 0), -1);
		CHECK_EQ_INT(ntlm_authenticate(a, sizeof(a), &c, "u", "d", "p", bad[i], cc, 0), -1);
	}
	/* outside the BMP: a surrogate pair in the message */
	int len = ntlm_authenticate(a, sizeof(a), &c, "\xf0\x9f\x98\x80", "", "p", NULL, cc, 0);
	CHECK(len > 0);
	CHECK_EQ_INT(get16(a + 36), 4);
	CHECK(eq_hex(a + get32(a + 40), "3dd800de"));
	/* NTLM_MAX_NAME units */
	char name[NTLM_MAX_NAME + 2];
	memset(name, 'a', NTLM_MAX_NAME), name[NTLM_MAX_NAME] = 0;
	CHECK_EQ_INT(ntlm_ntowfv2(name, name, "p", k1), 0);
	CHECK(ntlm_authenticate(a, sizeof(a), &c, name, name, "p", name, cc, 0) > 0);
	name[NTLM_MAX_NAME] = 'a', name[NTLM_MAX_NAME + 1] = 0;
	CHECK_EQ_INT(ntlm_ntowfv2(name, "d", "p", k1), -1);
	CHECK_EQ_INT(ntlm_ntowfv2("u", name, "p", k1), -1);
	CHECK_EQ_INT(ntlm_authenticate(a, sizeof(a), &c, "u", "d", "p", name, cc, 0), -1);
	/* a long password is not bounded; computed here the long way (MD4 of UTF-16LE, then
	 * HMAC-MD5 over UTF-16LE("U" "d")) with a 4-byte character across the chunks */
	char pw[3001];
	uint8_t u16[6000];
	size_t pl = 0, ul = 0;
	while (pl < 2990) {
		if (pl % 97 == 0) {
			memcpy(pw + pl, "\xf0\x9f\x98\x80", 4), pl += 4;
			memcpy(u16 + ul, "\x3d\xd8\x00\xde", 4), ul += 4;
		} else {
			pw[pl++] = 'q';
			u16[ul++] = 'q', u16[ul++] = 0;
		}
	}
	pw[pl] = 0;
	uint8_t nt[16];
	unsigned wl;
	md4(u16, ul, nt);
	HMAC(EVP_md5(), nt, 16, (const uint8_t *)"U\0d\0", 4, k2, &wl);
	CHECK_EQ_INT(ntlm_ntowfv2("u", "d", pw, k1), 0);
	CHECK(memcmp(k1, k2, 16) == 0);
	/* NULL domain and password are empty */
	CHECK_EQ_INT(ntlm_ntowfv2("u", NULL, NULL, k1), 0);
	CHECK_EQ_INT(ntlm_ntowfv2("u", "", "", k2), 0);
	CHECK(memcmp(k1, k2, 16) == 0);
}

/* Uppercase() of NTOWFv2 against Samba's ntlm_auth (contrib/ntlm_upcase.py checks every code
 * point): the key is HMAC-MD5 over the UTF-16 code units given here and the domain as it is
 * given (MS-NLMP 3.3.2 uppercases the user only). */
static void test_upcase(void)
{
	static const struct {
		const char *name;
		uint16_t up[8]; /* ends at the first 0 */
	} v[] = {
		/* uppercased */
		/* Vietnamese: U+1EC5 */
		{"nguy\xe1\xbb\x85n", {0x004e, 0x0047, 0x0055, 0x0059, 0x1ec4, 0x004e}},
		/* Latin Extended-B: U+01C6 */
		{"\xc7\x86" "emal", {0x01c4, 0x0045, 0x004d, 0x0041, 0x004c}},
		{"\xc7\x89ubica", {0x01c7, 0x0055, 0x0042, 0x0049, 0x0043, 0x0041}}, /* U+01C9 */
		{"\xc8\x81\xc9\x93", {0x0200, 0x0181}}, /* U+0201, U+0253 */
		{"\xe2\x93\x90" "bc", {0x24b6, 0x0042, 0x0043}}, /* circled letter U+24D0 */
		/* Greek, polytonic and tonos, final sigma */
		{"\xe1\xbc\x80\xce\xbb\xce\xad\xce\xbe\xce\xb7\xcf\x82", {0x1f08, 0x039b, 0x0388, 0x039e, 0x0397, 0x03a3}},
		/* Armenian */
		{"\xd5\xa1\xd6\x80\xd5\xa1\xd5\xb4", {0x0531, 0x0550, 0x0531, 0x0544}},
		{"\xef\xbd\x8a\xef\xbd\x8f\xef\xbd\x85", {0xff2a, 0xff2f, 0xff25}}, /* fullwidth */
		{"\xe2\x85\xb0", {0x2160}}, /* small roman numeral U+2170 */
		/* Turkish: s cedilla, g breve; dotless i kept */
		{"\xc5\x9f\xc4\xb1\xc4\x9f", {0x015e, 0x0131, 0x011e}},
		{"\xd3\x82", {0x04c1}}, /* Cyrillic U+04C2 */
		/* fullwidth z and the next one, ASCII around a-z */
		{"\xef\xbd\x9a\xef\xbd\x9b`{", {0xff3a, 0xff5b, 0x0060, 0x007b}},
		/* kept as they are: Samba's table has no uppercase for them */
		{"\xc4\xb1", {0x0131}}, /* dotless i U+0131 */
		{"\xc5\xbf", {0x017f}}, /* long s U+017F */
		{"\xc3\x9f", {0x00df}}, /* sharp s: its uppercase SS is two */
		{"\xc2\xb5", {0x00b5}}, /* micro sign U+00B5 */
		{"\xc7\x85\xc7\x88", {0x01c5, 0x01c8}}, /* titlecase digraphs U+01C5, U+01C8 */
		{"\xe1\xbe\xb3", {0x1fb3}}, /* U+1FB3 (Unicode's simple uppercase: U+1FBC) */
		{"\xd1\x90\xd1\x9d", {0x0450, 0x045d}}, /* Cyrillic U+0450, U+045D */
		/* Georgian */
		{"\xe1\x83\x9c\xe1\x83\x98\xe1\x83\x9c\xe1\x83\x9d", {0x10dc, 0x10d8, 0x10dc, 0x10dd}},
		{"\xea\xad\xb0\xe1\x8f\xb8", {0xab70, 0x13f8}}, /* Cherokee small letters */
		{"\xe2\xb0\xb0", {0x2c30}}, /* Glagolitic */
		{"\xc9\x90\xe2\xb1\xa5", {0x0250, 0x2c65}}, /* U+0250, U+2C65 */
		{"\xf0\x90\x90\xa8", {0xd801, 0xdc28}}, /* Deseret U+10428, outside the BMP */
		{"i\xcc\x87", {0x0049, 0x0307}}, /* i + combining dot above */
	};
	uint8_t nt[16], want[16], got[16], buf[2 * 8 + 8];
	md4("p\0", 2, nt);
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t n = 0;
		unsigned wl;
		for (size_t j = 0; j < 8 && v[i].up[j] != 0; j++)
			put16(buf + n, v[i].up[j]), n += 2;
		memcpy(buf + n, "d\0\xe3\0", 4), n += 4; /* the domain, lowercase a tilde kept */
		HMAC(EVP_md5(), nt, 16, buf, n, want, &wl);
		CHECK_EQ_INT(ntlm_ntowfv2(v[i].name, "d\xc3\xa3", "p", got), 0);
		if (memcmp(got, want, 16) != 0)
			fprintf(stderr, "upcase of \"%s\" (case %zu) is not the one expected\n", v[i].name, i);
		CHECK(memcmp(got, want, 16) == 0);
	}
}

/* The NtChallengeResponse's 16-bit length bounds the TargetInfo that can be echoed: 16 +
 * 28 + TargetInfo + 4 <= 65535. */
static void test_big_target_info(void)
{
	size_t cap = 64 + 2 + 24 + 65536;
	uint8_t *m = calloc(1, 48 + 65536), *a = malloc(cap);
	struct ntlm_challenge c;
	for (size_t ti = 65486; ti <= 65488; ti++) {
		memcpy(m, "NTLMSSP", 8);
		put32(m + 8, 2);
		put32(m + 20, NTLM_NEGOTIATE_UNICODE | NTLM_NEGOTIATE_TARGET_INFO);
		put16(m + 40, (unsigned)ti), put16(m + 42, (unsigned)ti), put32(m + 44, 48);
		put16(m + 48, 0x42), put16(m + 50, (unsigned)(ti - 8)); /* one pair, then the EOL */
		memset(m + 48 + ti - 4, 0, 4);
		CHECK_EQ_INT(ntlm_parse_challenge(m, 48 + ti, &c), 0);
		CHECK_EQ_INT(c.target_info_len, ti);
		int len = ntlm_authenticate(a, cap, &c, "u", NULL, "p", NULL, cc, 0);
		CHECK_EQ_INT(len, ti <= 65487 ? (int)(64 + 2 + 24 + 48 + ti) : -1);
		if (len > 0)
			CHECK_EQ_INT(get16(a + 20), 48 + ti);
	}
	free(m);
	free(a);
}

static void split(const char *in, int want_rc, const char *want_user, const char *want_domain)
{
	char u[16], d[16];
	int rc = ntlm_split_user(in, u, sizeof(u), d, sizeof(d));
	CHECK_EQ_INT(rc, want_rc);
	if (rc == 0) {
		CHECK_EQ_STR(u, want_user);
		CHECK_EQ_STR(d, want_domain);
	}
}

static void test_split(void)
{
	split("DOM\\user", 0, "user", "DOM");
	split("user@dom.example", 0, "user", "dom.example");
	split("user", 0, "user", "");
	split("a@b@c", 0, "a@b", "c");
	split("DOM\\u@x", 0, "u@x", "DOM");
	split("DOM\\a\\b", 0, "a\\b", "DOM");
	split("\\user", 0, "user", "");
	split("user@", 0, "user", "");
	split("DOM\\", -1, NULL, NULL);
	split("@dom", -1, NULL, NULL);
	split("", -1, NULL, NULL);
	split("123456789012345", 0, "123456789012345", "");
	split("1234567890123456", -1, NULL, NULL);
	split("1234567890123456\\u", -1, NULL, NULL);
	split("u@1234567890123456", -1, NULL, NULL);
}

int main(void)
{
	test_md4();
	test_spec_vectors();
	test_timestamp();
	test_malformed();
	test_bounds();
	test_names();
	test_upcase();
	test_big_target_info();
	test_split();
	return check_report();
}
