/* errtext: one line of error text into a caller's buffer, for the pure parsers that
 * report "why" as text (config, rules, proxyurl). */
#ifndef SOCKS2HTTP_ERRTEXT_H
#define SOCKS2HTTP_ERRTEXT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

/* Formats into err and returns -1, so that "return errtext(err, len, ...)" fails. */
__attribute__((format(printf, 3, 4))) static inline int errtext(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap); /* printf-checked: -Wformat=2 accepts it */
	va_end(ap);
	return -1;
}

#endif
