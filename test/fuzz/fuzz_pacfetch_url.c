/* fuzz_pacfetch_url: the PAC fetch's URL handling on any bytes.  Input: a base URL up to
 * the first NUL, then a redirect's Location of exactly the remaining bytes (not
 * NUL-terminated, as it lies in the answer's header).  Each function either fails or gives
 * a result inside its bound: a split URL's parts, an absolute http:// Location with no
 * control character or space, a decoded file path with no NUL and no encoded slash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "pacfetch.h"

/* Returns 1 when url splits (the parts then checked). */
static int check_split(const char *url)
{
	char host[256], path[1024], err[128];
	unsigned port = 0;
	if (pacfetch_split_http(url, host, sizeof(host), &port, path, sizeof(path), err, sizeof(err)) == 0) {
		FUZZ_ASSERT(memchr(host, '\0', sizeof(host)) != NULL && host[0] != '\0');
		FUZZ_ASSERT(port >= 1 && port <= 65535);
		FUZZ_ASSERT(path[0] == '/' && memchr(path, '\0', sizeof(path)) != NULL);
		for (const char *c = host; *c; c++)
			FUZZ_ASSERT((unsigned char)*c > ' ' && *c != 0x7f);
		for (const char *c = path; *c; c++)
			FUZZ_ASSERT((unsigned char)*c > ' ' && *c != 0x7f && *c != '#');
		return 1;
	}
	FUZZ_ASSERT(memchr(err, '\0', sizeof(err)) != NULL && err[0] != '\0');
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t blen = nul ? (size_t)(nul - data) : size;
	char *base = malloc(blen + 1);
	size_t llen = nul ? size - blen - 1 : 0;
	char *loc = malloc(llen ? llen : 1); /* exactly llen bytes: a read past them is caught */
	if (base == NULL || loc == NULL) {
		free(base);
		free(loc);
		return 0;
	}
	memcpy(base, data, blen);
	base[blen] = '\0';
	if (llen)
		memcpy(loc, nul + 1, llen);

	int base_ok = check_split(base);

	char out[512], err[128];
	const char *why = pacfetch_locate(base, llen ? loc : NULL, llen, out, sizeof(out));
	if (why == NULL) {
		size_t n = strnlen(out, sizeof(out));
		FUZZ_ASSERT(n < sizeof(out) && strncmp(out, "http://", 7) == 0);
		/* from a URL that was fetched (it split), no control character, space or fragment */
		for (size_t i = 0; base_ok && i < n; i++)
			FUZZ_ASSERT((unsigned char)out[i] > ' ' && out[i] != 0x7f && out[i] != '#');
		check_split(out);
	}

	if (pacfetch_file_path(base, out, sizeof(out), err, sizeof(err)) == 0) {
		size_t n = strnlen(out, sizeof(out));
		FUZZ_ASSERT(n < sizeof(out) && out[0] == '/');
	} else {
		FUZZ_ASSERT(memchr(err, '\0', sizeof(err)) != NULL && err[0] != '\0');
	}
	free(base);
	free(loc);
	return 0;
}
