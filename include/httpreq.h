/* httpreq: pure parser of an HTTP/1.x request head as a proxy client sends it, the
 * rewriter of that head for the upstream proxy, and an incremental chunked-body scanner.
 * Bytes in, result out: no I/O, no allocation, no logging.
 *
 * The head is found incrementally (httpreq_parse resumes its scan for the blank line where
 * it stopped), bounded in bytes (HTTPREQ_HEAD_MAX) and in header lines (HTTPREQ_HEADERS_MAX).
 * Framing follows RFC 9112 section 6: Transfer-Encoding with Content-Length, several
 * different Content-Lengths, or a Transfer-Encoding that does not end in chunked are
 * ambiguous, and are refused (HTTPREQ_ERR_FRAMING, a 400), as is Transfer-Encoding in an
 * HTTP/1.0 request (section 6.1). */
#ifndef SOCKS2HTTP_HTTPREQ_H
#define SOCKS2HTTP_HTTPREQ_H

#include <stddef.h>
#include <stdint.h>

#define HTTPREQ_HEAD_MAX 32768  /* request line and headers, blank line included */
#define HTTPREQ_HEADERS_MAX 100 /* header lines */
#define HTTPREQ_HOST_MAX 255

enum httpreq_err {
	HTTPREQ_ERR_TOOLARGE = -1,     /* no end of the head within HTTPREQ_HEAD_MAX */
	HTTPREQ_ERR_TOOMANY = -2,      /* more than HTTPREQ_HEADERS_MAX header lines */
	HTTPREQ_ERR_REQUEST_LINE = -3, /* not "METHOD SP target SP HTTP/1.x" */
	HTTPREQ_ERR_HEADER = -4,       /* a header line without a name and colon, or with control bytes */
	HTTPREQ_ERR_FRAMING = -5,      /* ambiguous or unsupported body framing (RFC 9112 section 6.3) */
	HTTPREQ_ERR_TARGET = -6,       /* a target (or Host) that names no host we can use */
};

enum httpreq_form {
	HTTPREQ_ORIGIN = 0,    /* "/path": a request for us (the PAC file) */
	HTTPREQ_ABSOLUTE = 1,  /* "http://host[:port]/path": to forward */
	HTTPREQ_AUTHORITY = 2, /* "host:port": CONNECT */
	HTTPREQ_ASTERISK = 3,  /* "*": OPTIONS for the server */
};

struct httpreq {
	char method[24];
	int minor;                     /* HTTP/1.minor */
	uint8_t form;                  /* enum httpreq_form */
	uint8_t is_connect, is_head;
	uint8_t chunked;               /* Transfer-Encoding: chunked */
	uint8_t conn_close;            /* the client wants the connection closed after the answer */
	uint8_t has_host;              /* a Host header was present */
	uint16_t nheaders;
	long long content_length;      /* -1 when absent */
	/* absolute and authority form: the target's host (IPv6 without brackets) and port;
	 * origin form: the Host header's */
	char host[HTTPREQ_HOST_MAX + 1];
	uint16_t port;                 /* 0 when the Host header gave none (origin form) */
	size_t target_off, target_len; /* the request target in the head */
	size_t path_off, path_len;     /* origin form, or the path of an absolute target ("/" if none: len 0) */
	size_t auth_off, auth_len;     /* Proxy-Authorization value, trimmed; len 0 when absent */
	size_t head_len;               /* bytes of the head, blank line included */
};

/* Looks for the end of the head in buf[0..len) (bare LF tolerated), resuming at *scan
 * (start at 0 and keep it while buf only grows), and parses it once complete.
 * Returns the head's length (> 0, also in r->head_len), 0 while it is incomplete, or a
 * negative httpreq_err. */
long httpreq_parse(const char *buf, size_t len, size_t *scan, struct httpreq *r);

/* "host:port" for r's host and port (IPv6 in brackets); port 0 becomes dflt.  Returns the
 * length or -1 when cap is too small. */
int httpreq_authority(const struct httpreq *r, uint16_t dflt, char *out, size_t cap);

/* Is the origin-form Host a loopback name or address (localhost, 127.0.0.0/8, ::1)? */
int httpreq_host_is_loopback(const struct httpreq *r);

/* The head of buf (as parsed into r) rewritten for the next hop: HTTP/1.0 for a 1.0
 * client (so that the answer comes unchunked) and HTTP/1.1 otherwise; hop-by-hop headers
 * dropped (Connection and the names it lists but for Content-Length, Transfer-Encoding and
 * Host, Keep-Alive, Proxy-Connection, TE, Trailer, Upgrade, Proxy-Authorization); then
 * Proxy-Authorization: proxy_auth (when not NULL) and "Connection: close".  For a proxy
 * the request line keeps its absolute form; to_origin (a direct route) makes it origin
 * form ("GET /path") with Host set to the target's authority (RFC 9112 section 3.2.2) and
 * no Proxy-Authorization.  Returns the length, or -1 when cap is too small; a cap of
 * httpreq_rewrite_size(r, proxy_auth) bytes always does. */
long httpreq_rewrite(const char *buf, const struct httpreq *r, const char *proxy_auth, int to_origin, char *out,
		     size_t cap);
size_t httpreq_rewrite_size(const struct httpreq *r, const char *proxy_auth);

enum {
	HTTPREQ_RESP_CLOSE = 1,     /* "Connection: close" */
	HTTPREQ_RESP_KEEPALIVE = 2, /* "Connection: keep-alive": an HTTP/1.0 client's connection
				     * is kept (1.0 closes unless it is said) */
};

/* A response head buf[0..head_len) (complete, as httpc found it) for the client: the status
 * line, the headers but for the hop-by-hop ones and Content-Length, then
 * "Content-Length: content_length" when it is >= 0 (the one length httpc settled on), the
 * Connection header flags ask for, the blank line; CRLF line ends, obs-folds unfolded.
 * Returns the length, or -1 when cap is too small. */
long httpreq_rewrite_response(const char *buf, size_t head_len, unsigned flags, long long content_length,
			      char *out, size_t cap);

/* Decodes "Basic base64(user:pass)" at value[0..len) into user and pass (NUL-terminated,
 * each up to cap - 1 bytes).  Returns 0, or -1 for another scheme or a malformed value. */
int httpreq_basic_credentials(const char *value, size_t len, char *user, char *pass, size_t cap);

/* Chunked body framing, scanned incrementally: every byte passes through unchanged; the
 * scanner only says where the body ends. */
struct httpreq_chunk {
	uint8_t state;
	uint8_t digits;     /* hex digits of the current size */
	uint16_t line;      /* bytes of the current size or trailer line */
	uint16_t trailers;  /* trailer lines */
	uint64_t left;      /* data bytes left in the current chunk */
};

enum {
	HTTPREQ_CHUNK_MORE = 0,   /* every byte given belongs to the body; more follows */
	HTTPREQ_CHUNK_DONE = 1,   /* the body ended: *used bytes of those given belong to it */
	HTTPREQ_CHUNK_ERROR = -1, /* malformed framing */
};

/* Scans len bytes of a chunked body.  *used is set to the bytes that belong to it. */
int httpreq_chunk_scan(struct httpreq_chunk *c, const char *buf, size_t len, size_t *used);

const char *httpreq_strerror(int err);

#endif
