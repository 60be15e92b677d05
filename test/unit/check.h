/* check.h: the unit tests' harness.  CHECK never vanishes under NDEBUG (unlike assert);
 * every test binary ends with one line "N passed, N failed" and exits non-zero on failure. */
#ifndef SOCKS2HTTP_CHECK_H
#define SOCKS2HTTP_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_passed, check_failed;

#define CHECK(cond)                                                                   \
	do {                                                                          \
		if (cond) {                                                           \
			check_passed++;                                               \
		} else {                                                              \
			check_failed++;                                               \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
		}                                                                     \
	} while (0)

#define CHECK_EQ_INT(a, b)                                                            \
	do {                                                                          \
		long long check_a_ = (long long)(a), check_b_ = (long long)(b);       \
		if (check_a_ == check_b_) {                                           \
			check_passed++;                                               \
		} else {                                                              \
			check_failed++;                                               \
			fprintf(stderr, "%s:%d: CHECK failed: %s == %s (%lld != %lld)\n", \
				__FILE__, __LINE__, #a, #b, check_a_, check_b_);      \
		}                                                                     \
	} while (0)

#define CHECK_EQ_STR(a, b)                                                            \
	do {                                                                          \
		const char *check_a_ = (a), *check_b_ = (b);                          \
		if (check_a_ != NULL && check_b_ != NULL && strcmp(check_a_, check_b_) == 0) { \
			check_passed++;                                               \
		} else {                                                              \
			check_failed++;                                               \
			fprintf(stderr, "%s:%d: CHECK failed: %s == %s (\"%s\" != \"%s\")\n", \
				__FILE__, __LINE__, #a, #b, check_a_ ? check_a_ : "(null)", \
				check_b_ ? check_b_ : "(null)");                      \
		}                                                                     \
	} while (0)

static inline int check_report(void)
{
	printf("%d passed, %d failed\n", check_passed, check_failed);
	return check_failed == 0 ? 0 : 1;
}

#endif
