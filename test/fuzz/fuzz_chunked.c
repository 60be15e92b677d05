/* fuzz_chunked: a chunked body decoded whole, in two parts (split where the first byte
 * says) and a byte at a time in place must agree on the result, the bytes consumed and the
 * body; the output never passes its bound nor runs ahead of the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "chunked.h"

#define OUTMAX 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t split = data[0] % size;
	const char *in = (const char *)data + 1;
	size_t n = size - 1;
	static char o1[OUTMAX], o2[OUTMAX];
	struct chunked c;
	size_t l1 = 0, u1 = 0;

	chunked_init(&c);
	int rc1 = chunked_decode(&c, in, n, o1, &l1, OUTMAX, &u1);
	FUZZ_ASSERT(u1 <= n && l1 <= OUTMAX && l1 <= u1);
	FUZZ_ASSERT(rc1 != CHUNKED_NEED_MORE || u1 == n);

	size_t l2 = 0, ua = 0, ub = 0;
	if (split > n)
		split = n;
	chunked_init(&c);
	int rc2 = chunked_decode(&c, in, split, o2, &l2, OUTMAX, &ua);
	if (rc2 == CHUNKED_NEED_MORE) {
		rc2 = chunked_decode(&c, in + split, n - split, o2, &l2, OUTMAX, &ub);
		ua += ub;
	}
	FUZZ_ASSERT(rc2 == rc1);
	if (rc1 == CHUNKED_DONE || rc1 == CHUNKED_NEED_MORE) {
		FUZZ_ASSERT(ua == u1 && l2 == l1 && memcmp(o1, o2, l1) == 0);
	}

	/* in place, a byte at a time */
	char *buf = malloc(n ? n : 1);
	FUZZ_ASSERT(buf != NULL);
	size_t have = 0, done = 0, l3 = 0;
	int rc3 = CHUNKED_NEED_MORE;
	chunked_init(&c);
	while (rc3 == CHUNKED_NEED_MORE && have < n) {
		buf[have] = in[have];
		have++;
		size_t u = 0;
		rc3 = chunked_decode(&c, buf + done, have - done, buf, &l3, OUTMAX, &u);
		done += u;
		FUZZ_ASSERT(l3 <= done);
	}
	FUZZ_ASSERT(rc3 == rc1);
	if (rc1 == CHUNKED_DONE)
		FUZZ_ASSERT(done == u1 && l3 == l1 && memcmp(buf, o1, l1) == 0);
	free(buf);
	return 0;
}
