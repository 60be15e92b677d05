/* proxyurl: pure parser for upstream proxy URLs, http[s]://[user[:password]@]host[:port][/] */
#ifndef SOCKS2HTTP_PROXYURL_H
#define SOCKS2HTTP_PROXYURL_H

#include <stddef.h>
#include <stdint.h>

#define PROXYURL_HOST_MAX 255
#define PROXYURL_CRED_MAX 255
#define PROXYURL_DEFAULT_PORT 80 /* the http scheme's port, as Go and Python read proxy URLs */
#define PROXYURL_DEFAULT_TLS_PORT 443 /* https://: TLS to the proxy, as curl reads it */

struct proxy_spec {
	char host[PROXYURL_HOST_MAX + 1]; /* without brackets for IPv6 literals */
	uint16_t port;
	uint8_t tls;                      /* https://: the proxy is spoken to over TLS */
	int has_auth;                     /* userinfo was present */
	char user[PROXYURL_CRED_MAX + 1]; /* percent-decoded */
	char pass[PROXYURL_CRED_MAX + 1]; /* percent-decoded; never logged */
};

/* Parses url into *out.  A missing scheme means http.  Returns 0, or -1 with a message in
 * err ("unsupported scheme 'socks5'", "bad port", ...) that never contains the password. */
int proxyurl_parse(const char *url, struct proxy_spec *out, char *err, size_t errlen);

/* "host:port" or "[v6]:port" for log lines: no credentials.  Returns out. */
const char *proxyurl_display(const struct proxy_spec *p, char *out, size_t cap);

/* Decodes %XX escapes of src[0..n) into dst (cap bytes, NUL-terminated).  Returns the
 * decoded length, or -1 on a bad escape, an encoded NUL, or overflow. */
int proxyurl_pct_decode(char *dst, size_t cap, const char *src, size_t n);

#endif
