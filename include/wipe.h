/* wipe: overwrite secrets (passwords, Proxy-Authorization) in a way the compiler may not
 * drop as a dead store, as it may a memset before free. */
#ifndef SOCKS2HTTP_WIPE_H
#define SOCKS2HTTP_WIPE_H

#include <stddef.h>
#include <string.h>

static inline void wipe(void *p, size_t n)
{
#ifdef HAVE_EXPLICIT_BZERO
	explicit_bzero(p, n);
#else
	volatile unsigned char *v = p;
	while (n--)
		*v++ = 0;
#endif
}

#endif
