/* fuzz_socks: every SOCKS parser on the input and on each of its prefixes.  A prefix may
 * only say NEED_MORE, or what the whole input says: a parser that reports DONE or an error
 * on a prefix has seen all it needed, so more bytes cannot change its mind. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "socks.h"

/* No message is longer: 04 CMD PORT IP, 255-byte user id, NUL, 255-byte host, NUL. */
#define SOCKS_MSG_MAX (8 + 256 + 256)

struct parsed {
	uint32_t methods;
	struct socks_request req;
	char user[256];
	char pass[256];
};

typedef int (*parse_fn)(const uint8_t *buf, size_t len, struct parsed *out, size_t *consumed);

static int p_greeting(const uint8_t *buf, size_t len, struct parsed *out, size_t *consumed)
{
	return socks5_parse_greeting(buf, len, &out->methods, consumed);
}

static int p_request5(const uint8_t *buf, size_t len, struct parsed *out, size_t *consumed)
{
	return socks5_parse_request(buf, len, &out->req, consumed);
}

static int p_userpass(const uint8_t *buf, size_t len, struct parsed *out, size_t *consumed)
{
	return socks5_parse_userpass(buf, len, out->user, out->pass, consumed);
}

static int p_request4(const uint8_t *buf, size_t len, struct parsed *out, size_t *consumed)
{
	return socks4_parse_request(buf, len, &out->req, consumed);
}

static int name_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
	       c == '.' || c == '_';
}

/* A parsed target must be safe to put into "CONNECT authority HTTP/1.1". */
static void check_target(const struct socks_target *t, int version)
{
	char out[SOCKS_NAME_MAX + 16], tmp[16];

	FUZZ_ASSERT(t->atyp == SOCKS_ATYP_IPV4 || t->atyp == SOCKS_ATYP_NAME || t->atyp == SOCKS_ATYP_IPV6);
	FUZZ_ASSERT(!(version == 4 && t->atyp == SOCKS_ATYP_IPV6));
	if (t->atyp == SOCKS_ATYP_NAME) {
		size_t n = strnlen(t->name, sizeof(t->name));
		FUZZ_ASSERT(n >= 1 && n <= SOCKS_NAME_MAX);
		for (size_t i = 0; i < n; i++)
			FUZZ_ASSERT(name_char_ok(t->name[i]));
		/* literals are always turned into addresses */
		FUZZ_ASSERT(inet_pton(AF_INET, t->name, tmp) != 1);
		FUZZ_ASSERT(inet_pton(AF_INET6, t->name, tmp) != 1);
	}

	int n = socks_target_authority(t, out, sizeof(out));
	FUZZ_ASSERT(n > 0 && (size_t)n == strlen(out));
	for (int i = 0; i < n; i++)
		FUZZ_ASSERT(name_char_ok(out[i]) || out[i] == ':' || out[i] == '[' || out[i] == ']');
	FUZZ_ASSERT((out[0] == '[') == (t->atyp == SOCKS_ATYP_IPV6));
	/* exactly enough room, then one byte short */
	char *exact = malloc((size_t)n + 1);
	FUZZ_ASSERT(exact != NULL);
	FUZZ_ASSERT(socks_target_authority(t, exact, (size_t)n + 1) == n);
	FUZZ_ASSERT(memcmp(exact, out, (size_t)n + 1) == 0);
	FUZZ_ASSERT(socks_target_authority(t, exact, (size_t)n) == -1);
	free(exact);
}

/* What a DONE result must say about the bytes it consumed. */
static void check_done(parse_fn fn, const uint8_t *buf, size_t consumed, const struct parsed *p)
{
	if (fn == p_greeting) {
		uint32_t m = 0;
		FUZZ_ASSERT(consumed == 2 + (size_t)buf[1] && buf[1] > 0);
		for (size_t i = 2; i < consumed; i++)
			if (buf[i] < 32)
				m |= UINT32_C(1) << buf[i];
		FUZZ_ASSERT(p->methods == m);
	} else if (fn == p_userpass) {
		size_t ul = buf[1], pl = buf[2 + ul];
		FUZZ_ASSERT(consumed == 3 + ul + pl);
		FUZZ_ASSERT(strnlen(p->user, 256) <= ul && strnlen(p->pass, 256) <= pl);
		FUZZ_ASSERT(memcmp(p->user, buf + 2, strlen(p->user)) == 0);
		FUZZ_ASSERT(memcmp(p->pass, buf + 3 + ul, strlen(p->pass)) == 0);
	} else if (fn == p_request5) {
		FUZZ_ASSERT(p->req.version == 5 && p->req.cmd == buf[1]);
		FUZZ_ASSERT(consumed >= 8 && consumed <= 4 + 256 + 2);
		FUZZ_ASSERT(p->req.target.port == ((buf[consumed - 2] << 8) | buf[consumed - 1]));
		check_target(&p->req.target, 5);
	} else {
		FUZZ_ASSERT(p->req.version == 4 && p->req.cmd == buf[1]);
		FUZZ_ASSERT(consumed >= 9 && consumed <= SOCKS_MSG_MAX && buf[consumed - 1] == 0);
		FUZZ_ASSERT(p->req.target.port == ((buf[2] << 8) | buf[3]));
		FUZZ_ASSERT(strnlen(p->req.userid, sizeof(p->req.userid)) <= SOCKS_NAME_MAX);
		check_target(&p->req.target, 4);
	}
}

static void fuzz_parser(parse_fn fn, const uint8_t *data, size_t size, uint8_t *scratch)
{
	struct parsed full, part;
	size_t consumed = SIZE_MAX, c;

	memset(&full, 0, sizeof(full));
	int rc = fn(data, size, &full, &consumed);
	FUZZ_ASSERT(rc == SOCKS_NEED_MORE || rc == SOCKS_DONE || (rc <= SOCKS_ERR_VERSION && rc >= SOCKS_ERR_TOOLONG));
	if (rc == SOCKS_DONE) {
		FUZZ_ASSERT(consumed >= 1 && consumed <= size);
		check_done(fn, data, consumed, &full);
	}
	if (rc < 0) {
		FUZZ_ASSERT(socks_strerror(rc) != NULL);
		uint8_t rep = socks5_rep_for_error(rc);
		FUZZ_ASSERT(rep >= SOCKS5_REP_GENERAL_FAILURE && rep <= SOCKS5_REP_ATYP_NOT_SUPPORTED);
	}

	/* every prefix, placed at the end of the scratch allocation so ASan sees over-reads */
	size_t last = size < SOCKS_MSG_MAX + 1 ? size : SOCKS_MSG_MAX + 1;
	for (size_t k = 0; k < last; k++) {
		uint8_t *buf = scratch + size - k;
		memcpy(buf, data, k);
		memset(&part, 0, sizeof(part));
		c = SIZE_MAX;
		int prc = fn(buf, k, &part, &c);
		if (prc == SOCKS_NEED_MORE)
			continue;
		FUZZ_ASSERT(prc == rc);
		if (prc == SOCKS_DONE) {
			FUZZ_ASSERT(c <= k && c == consumed);
			FUZZ_ASSERT(memcmp(&part, &full, sizeof(part)) == 0);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *scratch = malloc(size ? size : 1);
	if (scratch == NULL)
		return 0;
	fuzz_parser(p_greeting, data, size, scratch);
	fuzz_parser(p_request5, data, size, scratch);
	fuzz_parser(p_userpass, data, size, scratch);
	fuzz_parser(p_request4, data, size, scratch);
	/* a SOCKS5 request usually follows its greeting in the same read */
	uint32_t methods;
	size_t consumed;
	if (socks5_parse_greeting(data, size, &methods, &consumed) == SOCKS_DONE)
		fuzz_parser(p_request5, data + consumed, size - consumed, scratch);
	free(scratch);
	return 0;
}
