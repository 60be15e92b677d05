/* What every fuzz target shares: libFuzzer's entry point, and an assertion that traps
 * (libFuzzer and the replay both report a trap as a crash, with the input). */
#ifndef SOCKS2HTTP_FUZZ_H
#define SOCKS2HTTP_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(c)                   \
	do {                             \
		if (!(c))                \
			__builtin_trap(); \
	} while (0)

#endif
