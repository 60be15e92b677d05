/* socks: pure SOCKS4/4a/5 request parsers and reply encoders.
 *
 * Every parser takes the bytes received so far (buf, len) and returns
 *   SOCKS_NEED_MORE  (0)  the message is not complete yet; call again with more bytes,
 *   SOCKS_DONE       (1)  *consumed is the message length; bytes after it belong to the
 *                         next message (or are tunnel payload),
 *   a negative socks_err  the input is malformed; nothing more should be read.
 * Parsers do no I/O, no allocation and no logging, and never read past len. */
#ifndef SOCKS2HTTP_SOCKS_H
#define SOCKS2HTTP_SOCKS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

enum { SOCKS_NEED_MORE = 0, SOCKS_DONE = 1 };

enum socks_err {
	SOCKS_ERR_VERSION = -1,  /* first byte is not 4 or 5 / wrong sub-negotiation version */
	SOCKS_ERR_PROTOCOL = -2, /* structurally invalid (no methods, reserved byte, ...) */
	SOCKS_ERR_ATYP = -3,     /* SOCKS5 address type unknown: reply 08 */
	SOCKS_ERR_NAME = -4,     /* empty, too long, or unsafe host name */
	SOCKS_ERR_TOOLONG = -5,  /* SOCKS4 user id or host name over 255 bytes */
};

enum socks_cmd { SOCKS_CMD_CONNECT = 1, SOCKS_CMD_BIND = 2, SOCKS_CMD_UDP_ASSOCIATE = 3 };
enum socks_atyp { SOCKS_ATYP_IPV4 = 1, SOCKS_ATYP_NAME = 3, SOCKS_ATYP_IPV6 = 4 };

/* SOCKS5 method numbers (RFC 1928 section 3). */
enum { SOCKS5_METHOD_NONE = 0x00, SOCKS5_METHOD_USERPASS = 0x02, SOCKS5_METHOD_UNACCEPTABLE = 0xff };

/* SOCKS5 reply codes (RFC 1928 section 6). */
enum socks5_rep {
	SOCKS5_REP_SUCCEEDED = 0x00,
	SOCKS5_REP_GENERAL_FAILURE = 0x01,
	SOCKS5_REP_NOT_ALLOWED = 0x02,
	SOCKS5_REP_NET_UNREACHABLE = 0x03,
	SOCKS5_REP_HOST_UNREACHABLE = 0x04,
	SOCKS5_REP_CONN_REFUSED = 0x05,
	SOCKS5_REP_TTL_EXPIRED = 0x06,
	SOCKS5_REP_CMD_NOT_SUPPORTED = 0x07,
	SOCKS5_REP_ATYP_NOT_SUPPORTED = 0x08,
};

/* SOCKS4 reply codes: only 90 and 91 are used (clients read 92/93 as identd failures). */
enum { SOCKS4_REP_GRANTED = 90, SOCKS4_REP_REJECTED = 91 };

#define SOCKS_NAME_MAX 255

struct socks_target {
	int atyp;                      /* SOCKS_ATYP_* */
	uint8_t ip[16];                /* network order; 4 bytes used for IPv4 */
	char name[SOCKS_NAME_MAX + 1]; /* NUL-terminated, SOCKS_ATYP_NAME only */
	uint16_t port;                 /* host order */
};

struct socks_request {
	int version; /* 4 or 5 */
	int cmd;     /* SOCKS_CMD_* (value as received; callers reject others) */
	struct socks_target target;
	char userid[SOCKS_NAME_MAX + 1]; /* SOCKS4 USERID, NUL-terminated */
};

/* SOCKS5 greeting: 05 NMETHODS METHODS...  On DONE, *methods has bit (1 << m) set for each
 * offered method m < 32 (methods >= 32 are ignored). */
int socks5_parse_greeting(const uint8_t *buf, size_t len, uint32_t *methods, size_t *consumed);

/* SOCKS5 request: 05 CMD 00 ATYP ADDR PORT.  A name that is an IPv4 or IPv6 literal is
 * turned into that address type; other names must be 1..255 bytes of letters, digits,
 * '-', '.', '_' (what can be put in an HTTP authority as-is), else SOCKS_ERR_NAME. */
int socks5_parse_request(const uint8_t *buf, size_t len, struct socks_request *req, size_t *consumed);

/* RFC 1929: 01 ULEN UNAME PLEN PASSWD.  user and pass receive NUL-terminated copies
 * (each buffer must hold 256 bytes). */
int socks5_parse_userpass(const uint8_t *buf, size_t len, char *user, char *pass, size_t *consumed);

/* SOCKS4 / SOCKS4a: 04 CMD PORT IP USERID 00 [HOST 00].  IP 0.0.0.x (x != 0) means a host
 * name follows (4a); it gets the same checks as a SOCKS5 name. */
int socks4_parse_request(const uint8_t *buf, size_t len, struct socks_request *req, size_t *consumed);

/* Encoders write into out and return the number of bytes written. */
size_t socks5_encode_method(uint8_t out[2], uint8_t method);
size_t socks5_encode_userpass_status(uint8_t out[2], uint8_t status);
/* BND.ADDR from bound (AF_INET or AF_INET6), or 0.0.0.0:0 when bound is NULL.
 * out must hold SOCKS5_REPLY_MAX bytes. */
#define SOCKS5_REPLY_MAX 22
size_t socks5_encode_reply(uint8_t *out, uint8_t rep, const struct sockaddr *bound);
size_t socks4_encode_reply(uint8_t out[8], uint8_t rep);

/* The SOCKS4 code for a SOCKS5 reply code: 90 for success, 91 for everything else. */
uint8_t socks4_rep_from_socks5(uint8_t rep5);

/* The reply a parser error deserves: SOCKS5_REP_* for version 5. */
uint8_t socks5_rep_for_error(int err);

/* "host:port", "1.2.3.4:port" or "[v6]:port" (an HTTP authority).  Returns the length
 * written, or -1 when cap is too small. */
int socks_target_authority(const struct socks_target *t, char *out, size_t cap);

/* Text for a parser error, for log lines. */
const char *socks_strerror(int err);

#endif
