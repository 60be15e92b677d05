/* proxyurl: pure proxy URL parser (see include/proxyurl.h). */
#include "proxyurl.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "errtext.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int proxyurl_pct_decode(char *dst, size_t cap, const char *src, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)src[i];
		if (c == '%') {
			int hi, lo;
			if (i + 2 >= n)
				return -1;
			hi = hexval(src[i + 1]);
			lo = hexval(src[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = hi * 16 + lo;
			if (c == 0)
				return -1;
			i += 2;
		}
		if (o + 1 >= cap)
			return -1;
		dst[o++] = (char)c;
	}
	dst[o] = '\0';
	return (int)o;
}

static int host_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_';
}

/* RFC 3986 scheme characters.  Anything else before "://" may be credentials typed in front
 * of the scheme ("user:pw@http://host"), which a message must not echo. */
static int scheme_ok(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (i > 0 && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'))))
			return 0;
	}
	return n > 0;
}

int proxyurl_parse(const char *url, struct proxy_spec *out, char *err, size_t errlen)
{
	const char *p = url;
	const char *sep = strstr(url, "://");

	memset(out, 0, sizeof(*out));
	if (sep != NULL) {
		size_t slen = (size_t)(sep - url);
		if (slen == 5 && strncasecmp(url, "https", 5) == 0) {
			out->tls = 1;
		} else if (!(slen == 4 && strncasecmp(url, "http", 4) == 0)) {
			if (!scheme_ok(url, slen))
				return errtext(err, errlen, "malformed proxy URL (expected http[s]://[user[:password]@]host[:port])");
			return errtext(err, errlen, "unsupported scheme '%.*s' (only http:// and https:// proxies are supported)",
				    (int)(slen > 16 ? 16 : slen), url);
		}
		p = sep + 3;
	}

	/* authority ends at the first '/', '?' or '#'; only an empty path or "/" is accepted */
	size_t alen = strcspn(p, "/?#");
	const char *rest = p + alen;
	if (*rest != '\0' && strcmp(rest, "/") != 0)
		return errtext(err, errlen, "unexpected path or query after the proxy address");
	if (alen == 0)
		return errtext(err, errlen, "no proxy host");

	/* userinfo: up to the last '@' of the authority */
	const char *hostport = p;
	const char *at = NULL;
	for (const char *q = p; q < p + alen; q++)
		if (*q == '@')
			at = q;
	if (at != NULL) {
		const char *colon = memchr(p, ':', (size_t)(at - p));
		size_t ulen = colon ? (size_t)(colon - p) : (size_t)(at - p);
		if (proxyurl_pct_decode(out->user, sizeof(out->user), p, ulen) < 0)
			return errtext(err, errlen, "bad user name in proxy URL (percent-encoding or length)");
		if (colon != NULL &&
		    proxyurl_pct_decode(out->pass, sizeof(out->pass), colon + 1, (size_t)(at - colon - 1)) < 0)
			return errtext(err, errlen, "bad password in proxy URL (percent-encoding or length)");
		if (strchr(out->user, ':') != NULL)
			return errtext(err, errlen, "user name may not contain ':'");
		out->has_auth = 1;
		hostport = at + 1;
	}

	size_t hplen = (size_t)(p + alen - hostport);
	const char *portstr = NULL;
	size_t hlen;
	const char *host = hostport;
	if (hplen > 0 && hostport[0] == '[') {
		const char *rb = memchr(hostport, ']', hplen);
		if (rb == NULL)
			return errtext(err, errlen, "unterminated '[' in proxy host");
		host = hostport + 1;
		hlen = (size_t)(rb - host);
		if (rb + 1 < hostport + hplen) {
			if (rb[1] != ':')
				return errtext(err, errlen, "unexpected characters after ']' in proxy host");
			portstr = rb + 2;
		}
		char lit[INET6_ADDRSTRLEN];
		struct in6_addr a6;
		if (hlen == 0)
			return errtext(err, errlen, "no proxy host");
		if (hlen >= sizeof(lit))
			return errtext(err, errlen, "bad IPv6 literal in proxy host");
		memcpy(lit, host, hlen);
		lit[hlen] = '\0';
		if (inet_pton(AF_INET6, lit, &a6) != 1)
			return errtext(err, errlen, "bad IPv6 literal in proxy host");
	} else {
		const char *colon = memchr(hostport, ':', hplen);
		hlen = colon ? (size_t)(colon - hostport) : hplen;
		if (colon)
			portstr = colon + 1;
		for (size_t i = 0; i < hlen; i++)
			if (!host_char_ok(host[i]))
				return errtext(err, errlen, "bad character in proxy host name");
	}
	if (hlen == 0)
		return errtext(err, errlen, "no proxy host");
	if (hlen > PROXYURL_HOST_MAX)
		return errtext(err, errlen, "proxy host name too long");
	memcpy(out->host, host, hlen);
	out->host[hlen] = '\0';

	out->port = out->tls ? PROXYURL_DEFAULT_TLS_PORT : PROXYURL_DEFAULT_PORT;
	if (portstr != NULL) {
		size_t plen = (size_t)(p + alen - portstr);
		unsigned long v = 0;
		if (plen == 0 || plen > 5)
			return errtext(err, errlen, "bad proxy port");
		for (size_t i = 0; i < plen; i++) {
			if (portstr[i] < '0' || portstr[i] > '9')
				return errtext(err, errlen, "bad proxy port");
			v = v * 10 + (unsigned long)(portstr[i] - '0');
		}
		if (v == 0 || v > 65535)
			return errtext(err, errlen, "proxy port out of range");
		out->port = (uint16_t)v;
	}
	return 0;
}

const char *proxyurl_display(const struct proxy_spec *p, char *out, size_t cap)
{
	if (strchr(p->host, ':') != NULL)
		snprintf(out, cap, "[%s]:%u", p->host, (unsigned)p->port);
	else
		snprintf(out, cap, "%s:%u", p->host, (unsigned)p->port);
	return out;
}
