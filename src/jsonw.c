/* jsonw: bounded text buffer and JSON string escaping (see include/jsonw.h). */
#include "jsonw.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void jsonw_init(struct jsonw *j, size_t max)
{
	memset(j, 0, sizeof(*j));
	j->max = max;
}

void jsonw_free(struct jsonw *j)
{
	free(j->buf);
	j->buf = NULL;
	j->len = j->cap = 0;
}

/* Room for n more bytes and the NUL.  Returns 0, or -1 (and marks the buffer full). */
static int reserve(struct jsonw *j, size_t n)
{
	if (j->full || n > j->max - j->len) {
		j->full = 1;
		return -1;
	}
	if (j->len + n + 1 <= j->cap)
		return 0;
	size_t cap = j->cap ? j->cap : 256;
	while (cap < j->len + n + 1)
		cap *= 2;
	char *b = realloc(j->buf, cap);
	if (b == NULL) {
		j->full = 1;
		return -1;
	}
	j->buf = b;
	j->cap = cap;
	return 0;
}

static void put(struct jsonw *j, const char *s, size_t n)
{
	if (reserve(j, n) < 0)
		return;
	memcpy(j->buf + j->len, s, n);
	j->len += n;
	j->buf[j->len] = '\0';
}

void jsonw_printf(struct jsonw *j, const char *fmt, ...)
{
	char small[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		put(j, small, (size_t)n);
		return;
	}
	if (reserve(j, (size_t)n) < 0)
		return;
	va_start(ap, fmt);
	vsnprintf(j->buf + j->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	j->len += (size_t)n;
}

/* Length of the valid UTF-8 sequence at p (1..4), or 0 when it is not one. */
static size_t utf8_len(const uint8_t *p)
{
	size_t n;
	uint32_t c;
	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2, c = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3, c = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4, c = p[0] & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80) /* also stops at the NUL */
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10ffff)) || (c >= 0xd800 && c <= 0xdfff))
		return 0; /* overlong, out of range, or a surrogate */
	return n;
}

void jsonw_str(struct jsonw *j, const char *s)
{
	if (s == NULL) {
		put(j, "null", 4);
		return;
	}
	size_t start = j->len;
	put(j, "\"", 1);
	const uint8_t *p = (const uint8_t *)s;
	while (*p) {
		char esc[8];
		size_t run = 0;
		while (p[run] >= 0x20 && p[run] < 0x80 && p[run] != '"' && p[run] != '\\')
			run++;
		if (run) {
			put(j, (const char *)p, run);
			p += run;
			continue;
		}
		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*p;
			put(j, esc, 2);
			p++;
		} else if (*p < 0x20) {
			if (*p == '\n')
				put(j, "\\n", 2);
			else if (*p == '\r')
				put(j, "\\r", 2);
			else if (*p == '\t')
				put(j, "\\t", 2);
			else {
				snprintf(esc, sizeof(esc), "\\u%04x", *p);
				put(j, esc, 6);
			}
			p++;
		} else {
			size_t n = utf8_len(p);
			if (n == 0) {
				put(j, "\\ufffd", 6);
				p++;
			} else {
				put(j, (const char *)p, n);
				p += n;
			}
		}
	}
	put(j, "\"", 1);
	if (j->full && j->buf != NULL) { /* all of the string or none of it */
		j->len = start;
		j->buf[start] = '\0';
	}
}

const char *jsonw_text(const struct jsonw *j)
{
	return j->buf ? j->buf : "";
}
