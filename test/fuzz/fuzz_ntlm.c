/* fuzz_ntlm: any bytes as a CHALLENGE_MESSAGE; when one parses, its fields lie inside the
 * input and an AUTHENTICATE_MESSAGE is built from it (with a cap too small by one, which must
 * fail), whose every field lies inside it.  Input: one length byte L, then L bytes of
 * "user\0domain\0password" (any bytes: UTF-8 or not, split by ntlm_split_user too), then
 * the challenge. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ntlm.h"

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t l = data[0];
	if (l > size - 1)
		l = size - 1;
	char creds[256 + 3] = {0};
	memcpy(creds, data + 1, l);
	/* creds ends in NULs, so each part past the end is an empty string inside it */
	const char *user = creds;
	const char *domain = user + strlen(user) + 1;
	const char *password = domain + strlen(domain) + 1;
	const uint8_t *msg = data + 1 + l;
	size_t len = size - 1 - l;

	char su[64], sd[64];
	if (ntlm_split_user(user, su, sizeof(su), sd, sizeof(sd)) == 0)
		FUZZ_ASSERT(su[0] != 0 && strlen(su) < sizeof(su) && strlen(sd) < sizeof(sd));

	struct ntlm_challenge c;
	if (ntlm_parse_challenge(msg, len, &c) < 0)
		return 0;
	if (c.target_info != NULL)
		FUZZ_ASSERT(c.target_info >= msg && c.target_info_len >= 4 &&
			    c.target_info_len <= len - (size_t)(c.target_info - msg));
	else
		FUZZ_ASSERT(c.target_info_len == 0 && !c.has_timestamp);

	static const uint8_t cc[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	size_t cap = 64 + 3 * 2 * 4 * NTLM_MAX_NAME + 24 + 16 + 28 + 65536 + 4;
	uint8_t *out = malloc(cap);
	FUZZ_ASSERT(out != NULL);
	int n = ntlm_authenticate(out, cap, &c, user, domain, password, "WS", cc, 42);
	if (n > 0) {
		FUZZ_ASSERT((size_t)n <= cap && memcmp(out, "NTLMSSP", 8) == 0);
		for (int f = 12; f <= 52; f += 8) {
			uint32_t flen = (uint32_t)(out[f] | out[f + 1] << 8), off = get32(out + f + 4);
			FUZZ_ASSERT(off >= 64 && off <= (uint32_t)n && flen <= (uint32_t)n - off);
		}
		/* exact-size buffers: the same bytes; one byte short: refused */
		uint8_t *exact = malloc((size_t)n);
		FUZZ_ASSERT(exact != NULL);
		FUZZ_ASSERT(ntlm_authenticate(exact, (size_t)n, &c, user, domain, password, "WS", cc, 42) == n);
		FUZZ_ASSERT(memcmp(exact, out, (size_t)n) == 0);
		FUZZ_ASSERT(ntlm_authenticate(exact, (size_t)n - 1, &c, user, domain, password, "WS", cc, 42) == -1);
		free(exact);
	}
	free(out);
	return 0;
}
