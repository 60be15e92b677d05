/* httpc: pure HTTP CONNECT client side: request builder and response parser.  No I/O, no
 * allocation.  (What a proxy's answer means to the client is front's business.) */
#ifndef SOCKS2HTTP_HTTPC_H
#define SOCKS2HTTP_HTTPC_H

#include <stddef.h>
#include <stdint.h>

/* Proxy-Authenticate schemes seen in a response (bit set). */
enum {
	HTTPC_AUTH_BASIC = 1 << 0,
	HTTPC_AUTH_DIGEST = 1 << 1,
	HTTPC_AUTH_NTLM = 1 << 2,
	HTTPC_AUTH_NEGOTIATE = 1 << 3,
	HTTPC_AUTH_OTHER = 1 << 4,
};

enum httpc_err {
	HTTPC_ERR_TOOLARGE = -1,    /* no end of header within the limit */
	HTTPC_ERR_STATUS_LINE = -2, /* not "HTTP/1.x NNN ..." */
	HTTPC_ERR_HEADER = -3,      /* a header line without a colon, or with control bytes */
};

struct httpc_response {
	int status;                /* 100..599 */
	int minor;                 /* HTTP/1.minor */
	long long content_length;  /* -1 when absent or invalid */
	int bad_length;            /* Content-Length invalid, or several that differ (RFC 9112
				    * section 6.3 (5): the answer cannot be delimited) */
	int chunked;               /* Transfer-Encoding ends in chunked */
	int te;                    /* a Transfer-Encoding header came (it overrides Content-Length) */
	int conn_close;            /* Connection: close (or HTTP/1.0 without keep-alive) */
	unsigned auth_schemes;     /* HTTPC_AUTH_* of the first challenge of each Proxy-Authenticate
				    * value (auth_offered reads every one) */
	char reason[64];           /* reason phrase, truncated, for logs */
	char squid_error[64];      /* X-Squid-Error value, e.g. "ERR_CONNECT_FAIL 111"; "" if none */
};

/* Scans for the blank line that ends a response header, resuming at *scan (start it at 0;
 * keep it between calls while buf only grows, so dribbled input is scanned once).
 * Returns the header length including the blank line, 0 while it is not complete, or
 * HTTPC_ERR_TOOLARGE once len reaches max without an end.  Accepts CRLF and bare LF. */
long httpc_header_end(const char *buf, size_t len, size_t max, size_t *scan);

/* Parses a complete header of hdr_len bytes (as found by httpc_header_end).  A field's
 * obs-fold lines are part of its value, read as SP.  Returns 0 or a negative httpc_err. */
int httpc_parse_response(const char *buf, size_t hdr_len, struct httpc_response *r);

/* Writes "CONNECT authority HTTP/1.1", Host, optional Proxy-Authorization (the whole
 * value, e.g. "Basic dXNlcjpwYXNz"), User-Agent (none when NULL or "") and the blank line.
 * Returns the length, or -1 when cap is too small or an argument holds CR/LF. */
int httpc_build_connect(char *out, size_t cap, const char *authority, const char *proxy_auth,
			const char *user_agent);

/* "Basic " + base64(user ":" pass) into out.  Returns the length or -1 if cap is too small. */
int httpc_basic_auth(char *out, size_t cap, const char *user, const char *pass);

/* The nth (from 0) value of header field name in a complete header (as found by
 * httpc_header_end), trimmed.  Returns 1 with *v and *vlen pointing into buf, or 0.
 * Only the value's first line: httpc_header_copy reads one folded over several. */
int httpc_header_value(const char *buf, size_t hdr_len, const char *name, unsigned nth, const char **v, size_t *vlen);

/* The nth value of field name as httpc_header_value finds it, with its obs-fold lines
 * joined by one SP (RFC 9112 section 5.2), into out, NUL-terminated.  Returns its length,
 * -1 when there is no such field, -2 when it does not fit in cap bytes. */
long httpc_header_copy(const char *buf, size_t hdr_len, const char *name, unsigned nth, char *out, size_t cap);

/* Decodes standard base64 (padding optional, no whitespace) into out.  Returns the byte
 * count, or -1 for a bad character or too little room. */
int httpc_base64_decode(uint8_t *out, size_t cap, const char *in, size_t n);

/* Standard base64 of n bytes (with padding) into out; returns the length or -1. */
int httpc_base64(char *out, size_t cap, const uint8_t *in, size_t n);

const char *httpc_strerror(int err);

#endif
