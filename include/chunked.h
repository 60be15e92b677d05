/* chunked: pure, incremental decoder of an HTTP/1.1 chunked body (RFC 9112 section 7.1).
 * No I/O, no allocation.  Accepts CRLF and bare LF; chunk extensions and trailer fields are
 * read and dropped (each line at most CHUNKED_MAX_LINE bytes). */
#ifndef SOCKS2HTTP_CHUNKED_H
#define SOCKS2HTTP_CHUNKED_H

#include <stddef.h>

#define CHUNKED_MAX_LINE 4096

enum chunked_rc {
	CHUNKED_NEED_MORE = 0,
	CHUNKED_DONE = 1,         /* the last chunk and the trailer's blank line were read */
	CHUNKED_ERR_SYNTAX = -1,  /* not a chunk size, or a chunk not followed by its line end */
	CHUNKED_ERR_TOOLARGE = -2, /* the body would pass outmax */
	CHUNKED_ERR_LINE = -3,    /* an extension or trailer line over CHUNKED_MAX_LINE */
};

struct chunked {
	int state;
	int digits;
	unsigned long long left; /* bytes of the current chunk still to come */
	size_t line;             /* bytes of the current extension or trailer line */
};

void chunked_init(struct chunked *c);

/* Decodes in[0..inlen) and appends the data to out at *outlen (never past outmax; out may
 * be in itself, at or before the input: data is moved with memmove).  *used is the number
 * of input bytes consumed: all of them with CHUNKED_NEED_MORE, up to the end of the body
 * with CHUNKED_DONE (bytes after it are not the body's).  After an error, stop. */
int chunked_decode(struct chunked *c, const char *in, size_t inlen, char *out, size_t *outlen, size_t outmax,
		   size_t *used);

const char *chunked_strerror(int rc);

#endif
