/* jsonw: a bounded, growable text buffer for the JSON (and text) that check and the
 * control socket write.  Pure: no I/O, no logging; memory from malloc.
 *
 * Appends never fail visibly: once the buffer would pass its bound (or memory runs out)
 * it is marked full and later appends are dropped; the caller checks jsonw_full. */
#ifndef SOCKS2HTTP_JSONW_H
#define SOCKS2HTTP_JSONW_H

#include <stddef.h>

struct jsonw {
	char *buf;   /* NUL-terminated text, or NULL before the first append */
	size_t len;
	size_t cap;
	size_t max;  /* bound on len */
	int full;    /* an append did not fit */
};

/* An empty buffer of at most max bytes. */
void jsonw_init(struct jsonw *j, size_t max);
void jsonw_free(struct jsonw *j);

/* Appends printf-formatted text as it is. */
void jsonw_printf(struct jsonw *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends s as a JSON string, quotes included: " \ and control bytes escaped (\n, \t,
 * \u00XX), bytes >= 0x80 that are not valid UTF-8 replaced by U+FFFD; NULL as null.
 * All of it or, when it does not fit, none of it. */
void jsonw_str(struct jsonw *j, const char *s);

/* The text so far ("" when empty). */
const char *jsonw_text(const struct jsonw *j);

#endif
