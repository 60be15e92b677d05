/* httpreq: pure request-head parser and rewriter (see include/httpreq.h; the chunked
 * scanner is in httpreq_chunk.c). */
#include "httpreq.h"
#include "httpc.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static int lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

static int name_is(const char *name, size_t n, const char *want)
{
	size_t wn = strlen(want);
	if (n != wn)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (lower((unsigned char)name[i]) != lower((unsigned char)want[i]))
			return 0;
	return 1;
}

/* RFC 9110 tchar */
static int is_tchar(int c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Does the comma-separated list v[0..n) hold token (case-insensitive)? */
static int has_token(const char *v, size_t n, const char *token, size_t tlen)
{
	size_t i = 0;
	while (i < n) {
		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		size_t s = i;
		while (i < n && v[i] != ',' && v[i] != ' ' && v[i] != '\t')
			i++;
		if (i > s && i - s == tlen) {
			size_t k = 0;
			while (k < tlen && lower((unsigned char)v[s + k]) == lower((unsigned char)token[k]))
				k++;
			if (k == tlen)
				return 1;
		}
		while (i < n && v[i] != ',')
			i++;
	}
	return 0;
}

/* The last comma-separated element of v[0..n), trimmed. */
static int last_token_is(const char *v, size_t n, const char *token)
{
	size_t e = n;
	while (e > 0 && (v[e - 1] == ' ' || v[e - 1] == '\t'))
		e--;
	size_t s = e;
	while (s > 0 && v[s - 1] != ',')
		s--;
	while (s < e && (v[s] == ' ' || v[s] == '\t'))
		s++;
	return name_is(v + s, e - s, token);
}

/* host[:port] at s[0..n) into r (IPv6 in brackets); need_port: the port is required.
 * Returns 0 or -1. */
static int parse_authority(const char *s, size_t n, int need_port, struct httpreq *r)
{
	size_t hs, he, i;
	if (n > 0 && s[0] == '[') {
		hs = 1;
		for (i = 1; i < n && s[i] != ']'; i++)
			if (!((s[i] >= '0' && s[i] <= '9') || (lower((unsigned char)s[i]) >= 'a' && lower((unsigned char)s[i]) <= 'f') ||
			      s[i] == ':' || s[i] == '.'))
				return -1;
		if (i >= n)
			return -1;
		he = i++;
	} else {
		hs = 0;
		for (i = 0; i < n && s[i] != ':'; i++)
			if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
			      s[i] == '-' || s[i] == '.' || s[i] == '_'))
				return -1;
		he = i;
	}
	if (he == hs || he - hs > HTTPREQ_HOST_MAX)
		return -1;
	memcpy(r->host, s + hs, he - hs);
	r->host[he - hs] = '\0';
	r->port = 0;
	if (i == n)
		return need_port ? -1 : 0;
	if (s[i] != ':' || i + 1 == n || n - i - 1 > 5)
		return -1;
	unsigned long port = 0;
	for (i++; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		port = port * 10 + (unsigned long)(s[i] - '0');
	}
	if (port == 0 || port > 65535)
		return -1;
	r->port = (uint16_t)port;
	return 0;
}

static int parse_target(const char *buf, struct httpreq *r)
{
	const char *t = buf + r->target_off;
	size_t n = r->target_len;

	if (r->is_connect) {
		r->form = HTTPREQ_AUTHORITY;
		return parse_authority(t, n, 1, r);
	}
	if (n == 1 && t[0] == '*') {
		r->form = HTTPREQ_ASTERISK;
		return name_is(r->method, strlen(r->method), "OPTIONS") ? 0 : -1;
	}
	if (t[0] == '/') {
		r->form = HTTPREQ_ORIGIN;
		r->path_off = r->target_off;
		r->path_len = n;
		return 0;
	}
	size_t skip;
	uint16_t dflt;
	if (n >= 7 && name_is(t, 7, "http://")) {
		skip = 7;
		dflt = 80;
	} else if (n >= 8 && name_is(t, 8, "https://")) {
		skip = 8;
		dflt = 443;
	} else {
		return -1;
	}
	size_t e = skip;
	while (e < n && t[e] != '/' && t[e] != '?' && t[e] != '#')
		e++;
	if (parse_authority(t + skip, e - skip, 0, r) < 0) /* userinfo ('@') is refused here too */
		return -1;
	if (r->port == 0)
		r->port = dflt;
	r->form = HTTPREQ_ABSOLUTE;
	r->path_off = r->target_off + e;
	r->path_len = n - e;
	return 0;
}

static int parse_request_line(const char *buf, size_t end, struct httpreq *r)
{
	size_t i = 0;
	while (i < end && is_tchar((unsigned char)buf[i]))
		i++;
	if (i == 0 || i >= sizeof(r->method) || i >= end || buf[i] != ' ')
		return HTTPREQ_ERR_REQUEST_LINE;
	memcpy(r->method, buf, i);
	r->method[i] = '\0';
	r->is_connect = strcmp(r->method, "CONNECT") == 0;
	r->is_head = strcmp(r->method, "HEAD") == 0;
	r->target_off = ++i;
	while (i < end && (unsigned char)buf[i] > 0x20 && (unsigned char)buf[i] < 0x7f)
		i++;
	r->target_len = i - r->target_off;
	if (r->target_len == 0 || i >= end || buf[i] != ' ')
		return HTTPREQ_ERR_REQUEST_LINE;
	i++;
	if (end - i != 8 || memcmp(buf + i, "HTTP/1.", 7) != 0 || buf[i + 7] < '0' || buf[i + 7] > '9')
		return HTTPREQ_ERR_REQUEST_LINE;
	r->minor = buf[i + 7] - '0';
	return parse_target(buf, r) < 0 ? HTTPREQ_ERR_TARGET : 0;
}

/* One header line buf[0..n) (no line end). */
static int parse_header(const char *buf, size_t n, size_t line_off, struct httpreq *r, int *have_te)
{
	size_t c = 0;
	while (c < n && is_tchar((unsigned char)buf[c]))
		c++;
	if (c == 0 || c >= n || buf[c] != ':')
		return HTTPREQ_ERR_HEADER; /* also obs-fold and space before the colon */
	size_t vs = c + 1, ve = n;
	for (size_t i = vs; i < n; i++)
		if (((unsigned char)buf[i] < 0x20 && buf[i] != '\t') || buf[i] == 0x7f)
			return HTTPREQ_ERR_HEADER;
	while (vs < ve && (buf[vs] == ' ' || buf[vs] == '\t'))
		vs++;
	while (ve > vs && (buf[ve - 1] == ' ' || buf[ve - 1] == '\t'))
		ve--;
	const char *v = buf + vs;
	size_t vn = ve - vs;

	if (name_is(buf, c, "Content-Length")) {
		/* "N" or "N, N" with equal values; different ones are ambiguous */
		size_t i = 0;
		while (i < vn) {
			long long val = 0;
			size_t d = 0;
			while (i < vn && v[i] >= '0' && v[i] <= '9') {
				if (++d > 18)
					return HTTPREQ_ERR_FRAMING;
				val = val * 10 + (v[i++] - '0');
			}
			if (d == 0)
				return HTTPREQ_ERR_FRAMING;
			if (r->content_length >= 0 && r->content_length != val)
				return HTTPREQ_ERR_FRAMING;
			r->content_length = val;
			while (i < vn && (v[i] == ' ' || v[i] == '\t'))
				i++;
			if (i < vn && v[i++] != ',')
				return HTTPREQ_ERR_FRAMING;
			while (i < vn && (v[i] == ' ' || v[i] == '\t'))
				i++;
		}
		if (vn == 0)
			return HTTPREQ_ERR_FRAMING;
	} else if (name_is(buf, c, "Transfer-Encoding")) {
		/* a body is chunked when the last coding is; anything else cannot be framed */
		if (vn == 0 || !last_token_is(v, vn, "chunked"))
			return HTTPREQ_ERR_FRAMING;
		*have_te = 1;
	} else if (name_is(buf, c, "Connection") || name_is(buf, c, "Proxy-Connection")) {
		if (has_token(v, vn, "close", 5))
			r->conn_close = 1;
		else if (has_token(v, vn, "keep-alive", 10) && r->minor == 0)
			r->conn_close = 0;
	} else if (name_is(buf, c, "Host")) {
		if (r->has_host)
			return HTTPREQ_ERR_HEADER; /* RFC 9112 section 3.2: exactly one */
		r->has_host = 1;
		if (r->form == HTTPREQ_ORIGIN && vn > 0 && parse_authority(v, vn, 0, r) < 0)
			return HTTPREQ_ERR_TARGET;
	} else if (name_is(buf, c, "Proxy-Authorization")) {
		r->auth_off = line_off + vs;
		r->auth_len = vn;
	}
	return 0;
}

static long parse_head(const char *buf, size_t head_len, struct httpreq *r)
{
	int have_te = 0;
	size_t pos = 0, line = 0;

	memset(r, 0, sizeof(*r));
	r->content_length = -1;
	while (pos < head_len) {
		const char *nl = memchr(buf + pos, '\n', head_len - pos);
		size_t end = (size_t)(nl - buf), e = end;
		if (e > pos && buf[e - 1] == '\r')
			e--;
		if (memchr(buf + pos, '\r', e - pos) != NULL)
			return HTTPREQ_ERR_HEADER; /* a bare CR inside a line */
		if (line == 0) {
			int rc = parse_request_line(buf, e, r);
			if (rc < 0)
				return rc;
			r->conn_close = r->minor == 0;
		} else if (e == pos) {
			break; /* the blank line */
		} else {
			if (line > HTTPREQ_HEADERS_MAX)
				return HTTPREQ_ERR_TOOMANY;
			int rc = parse_header(buf + pos, e - pos, pos, r, &have_te);
			if (rc < 0)
				return rc;
			r->nheaders++;
		}
		line++;
		pos = end + 1;
	}
	if (have_te && r->content_length >= 0)
		return HTTPREQ_ERR_FRAMING; /* RFC 9112 section 6.3: both is a smuggling attempt */
	if (have_te && r->minor == 0)
		return HTTPREQ_ERR_FRAMING; /* RFC 9112 section 6.1: a 1.0 sender knows no chunked */
	r->chunked = (uint8_t)have_te;
	if (r->form == HTTPREQ_ORIGIN && !r->has_host)
		r->host[0] = '\0';
	r->head_len = head_len;
	return (long)head_len;
}

long httpreq_parse(const char *buf, size_t len, size_t *scan, struct httpreq *r)
{
	size_t limit = len < HTTPREQ_HEAD_MAX ? len : HTTPREQ_HEAD_MAX;

	/* leading blank lines before a request are ignored (RFC 9112 section 2.2) only by
	 * servers; a proxy client does not send them: they are a bad request line here */
	for (size_t i = *scan; i < limit; i++) {
		if (buf[i] != '\n')
			continue;
		if ((i >= 1 && buf[i - 1] == '\n') || (i >= 2 && buf[i - 1] == '\r' && buf[i - 2] == '\n'))
			return parse_head(buf, i + 1, r);
	}
	*scan = limit;
	return len >= HTTPREQ_HEAD_MAX ? HTTPREQ_ERR_TOOLARGE : 0;
}

int httpreq_authority(const struct httpreq *r, uint16_t dflt, char *out, size_t cap)
{
	unsigned port = r->port ? r->port : dflt;
	int n = strchr(r->host, ':') ? snprintf(out, cap, "[%s]:%u", r->host, port)
				     : snprintf(out, cap, "%s:%u", r->host, port);
	return n < 0 || (size_t)n >= cap ? -1 : n;
}

int httpreq_host_is_loopback(const struct httpreq *r)
{
	const char *h = r->host;
	if (name_is(h, strlen(h), "localhost") || strcmp(h, "::1") == 0)
		return 1;
	/* 127.a.b.c, each 0..255, no more and no fewer parts */
	if (strncmp(h, "127.", 4) != 0)
		return 0;
	int parts = 1;
	for (const char *p = h + 4;; p++) {
		int v = 0, d = 0;
		while (*p >= '0' && *p <= '9' && d < 4) {
			v = v * 10 + (*p++ - '0');
			d++;
		}
		if (d == 0 || d > 3 || v > 255)
			return 0;
		parts++;
		if (*p == '\0')
			return parts == 4;
		if (*p != '.')
			return 0;
	}
}

/* Is header name n[0..len) hop-by-hop, by itself or because a Connection header lists it?
 * A Connection header may not list the framing (Content-Length, Transfer-Encoding) nor
 * Host: those apply to every recipient (RFC 9110 section 7.6.1), and we frame the body by
 * them, so dropping them would send a body the next hop cannot delimit (it then reads it
 * as the next request).  Such a listing is ignored, as haproxy does: it never removes a
 * header for being listed in Connection. */
static int hop_by_hop(const char *buf, size_t head_len, const char *n, size_t len)
{
	static const char *const names[] = {"Connection", "Keep-Alive", "Proxy-Connection", "TE",
					    "Trailer", "Upgrade", "Proxy-Authorization"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (name_is(n, len, names[i]))
			return 1;
	if (name_is(n, len, "Content-Length") || name_is(n, len, "Transfer-Encoding") || name_is(n, len, "Host"))
		return 0;
	size_t pos = 0;
	while (pos < head_len) {
		const char *nl = memchr(buf + pos, '\n', head_len - pos);
		size_t end = (size_t)(nl - buf), e = end;
		if (e > pos && buf[e - 1] == '\r')
			e--;
		if (pos > 0 && e - pos > 11 && name_is(buf + pos, 11, "Connection:") &&
		    has_token(buf + pos + 11, e - pos - 11, n, len))
			return 1;
		pos = end + 1;
	}
	return 0;
}

static int put(char *out, size_t cap, size_t *o, const char *s, size_t n)
{
	if (n > cap - *o)
		return -1;
	memcpy(out + *o, s, n);
	*o += n;
	return 0;
}

enum { DROP_HOST = 1, DROP_LENGTH = 2 };

/* Copies the header lines of the head buf[0..head_len) but for the hop-by-hop ones (and
 * those drop names), with CRLF line ends.  An obs-fold (a line that begins with a space,
 * only in an answer: requests with one are refused) joins the line before it with one
 * SP, as RFC 9112 section 5.2 asks of a proxy; it goes with that line if it is dropped.
 * Returns 0 or -1 when out is full. */
static int copy_headers(const char *buf, size_t head_len, unsigned drop, char *out, size_t cap, size_t *o)
{
	const char *nl = memchr(buf, '\n', head_len);
	size_t pos = (size_t)(nl - buf) + 1;
	int kept = 0;
	while (pos < head_len) {
		nl = memchr(buf + pos, '\n', head_len - pos);
		size_t end = (size_t)(nl - buf), e = end;
		if (e > pos && buf[e - 1] == '\r')
			e--;
		if (e == pos)
			break;
		if (buf[pos] == ' ' || buf[pos] == '\t') {
			size_t s = pos;
			while (s < e && (buf[s] == ' ' || buf[s] == '\t'))
				s++;
			if (kept && s < e) {
				*o -= 2; /* back over the CRLF of the line it continues */
				if (put(out, cap, o, " ", 1) < 0 || put(out, cap, o, buf + s, e - s) < 0 ||
				    put(out, cap, o, "\r\n", 2) < 0)
					return -1;
			}
			pos = end + 1;
			continue;
		}
		const char *colon = memchr(buf + pos, ':', e - pos);
		size_t nlen = colon ? (size_t)(colon - (buf + pos)) : e - pos;
		kept = !hop_by_hop(buf, head_len, buf + pos, nlen) &&
		       !((drop & DROP_HOST) && name_is(buf + pos, nlen, "Host")) &&
		       !((drop & DROP_LENGTH) && name_is(buf + pos, nlen, "Content-Length"));
		if (kept && (put(out, cap, o, buf + pos, e - pos) < 0 || put(out, cap, o, "\r\n", 2) < 0))
			return -1;
		pos = end + 1;
	}
	return 0;
}

long httpreq_rewrite(const char *buf, const struct httpreq *r, const char *proxy_auth, int to_origin, char *out,
		     size_t cap)
{
	size_t o = 0;
	const char *target = buf + r->target_off;
	size_t tlen = r->target_len;
	unsigned drop = 0;
	char host[HTTPREQ_HOST_MAX + 10];
	int hlen = 0;

	if (to_origin && r->form == HTTPREQ_ABSOLUTE) {
		/* RFC 9112 section 3.2.2: the origin gets the path, and Host names the target
		 * (the default port left out), whatever Host the client sent, if any */
		uint16_t dflt = name_is(target, 5, "https") ? 443 : 80;
		target = r->path_len > 0 ? buf + r->path_off : "/";
		tlen = r->path_len > 0 ? r->path_len : 1;
		if (r->port == dflt)
			hlen = snprintf(host, sizeof(host), strchr(r->host, ':') ? "[%s]" : "%s", r->host);
		else
			hlen = httpreq_authority(r, dflt, host, sizeof(host));
		if (hlen < 0 || (size_t)hlen >= sizeof(host))
			return -1;
		drop = DROP_HOST;
		proxy_auth = NULL; /* a proxy's credentials are never an origin's */
	}
	if (put(out, cap, &o, r->method, strlen(r->method)) < 0 || put(out, cap, &o, " ", 1) < 0 ||
	    (drop && target[0] != '/' && put(out, cap, &o, "/", 1) < 0) || /* "http://h?q" is "/?q" */
	    put(out, cap, &o, target, tlen) < 0 || put(out, cap, &o, " HTTP/1.", 8) < 0 ||
	    put(out, cap, &o, r->minor == 0 ? "0\r\n" : "1\r\n", 3) < 0)
		return -1;
	if (drop && (put(out, cap, &o, "Host: ", 6) < 0 || put(out, cap, &o, host, (size_t)hlen) < 0 ||
		     put(out, cap, &o, "\r\n", 2) < 0))
		return -1;
	if (copy_headers(buf, r->head_len, drop, out, cap, &o) < 0)
		return -1;
	if (proxy_auth != NULL && (put(out, cap, &o, "Proxy-Authorization: ", 21) < 0 ||
				   put(out, cap, &o, proxy_auth, strlen(proxy_auth)) < 0 || put(out, cap, &o, "\r\n", 2) < 0))
		return -1;
	if (put(out, cap, &o, "Connection: close\r\n\r\n", 21) < 0)
		return -1;
	return (long)o;
}

size_t httpreq_rewrite_size(const struct httpreq *r, const char *proxy_auth)
{
	/* the head with every line end grown to CRLF, a Host line, the credentials' line and
	 * "Connection: close" */
	return r->head_len + 2 * HTTPREQ_HEADERS_MAX + HTTPREQ_HOST_MAX + 64 +
	       (proxy_auth != NULL ? strlen(proxy_auth) + 23 : 0);
}

long httpreq_rewrite_response(const char *buf, size_t head_len, unsigned flags, long long content_length,
			      char *out, size_t cap)
{
	size_t o = 0;
	const char *nl = memchr(buf, '\n', head_len);
	size_t e = nl ? (size_t)(nl - buf) : 0;
	if (nl == NULL)
		return -1;
	if (e > 0 && buf[e - 1] == '\r')
		e--;
	if (put(out, cap, &o, buf, e) < 0 || put(out, cap, &o, "\r\n", 2) < 0 ||
	    copy_headers(buf, head_len, DROP_LENGTH, out, cap, &o) < 0)
		return -1;
	if (content_length >= 0) { /* one line, however many (equal) ones came */
		char cl[40];
		int n = snprintf(cl, sizeof(cl), "Content-Length: %lld\r\n", content_length);
		if (put(out, cap, &o, cl, (size_t)n) < 0)
			return -1;
	}
	if ((flags & HTTPREQ_RESP_CLOSE) && put(out, cap, &o, "Connection: close\r\n", 19) < 0)
		return -1;
	else if ((flags & HTTPREQ_RESP_KEEPALIVE) && put(out, cap, &o, "Connection: keep-alive\r\n", 24) < 0)
		return -1;
	if (put(out, cap, &o, "\r\n", 2) < 0)
		return -1;
	return (long)o;
}

int httpreq_basic_credentials(const char *value, size_t len, char *user, char *pass, size_t cap)
{
	char plain[512];
	size_t i = 6;

	if (len < 7 || !name_is(value, 5, "Basic") || value[5] != ' ')
		return -1;
	while (i < len && value[i] == ' ')
		i++;
	int dn = httpc_base64_decode((uint8_t *)plain, sizeof(plain), value + i, len - i);
	if (dn < 0)
		return -1;
	size_t n = (size_t)dn;
	const char *colon = memchr(plain, ':', n);
	if (colon == NULL || memchr(plain, '\0', n) != NULL)
		return -1;
	size_t ul = (size_t)(colon - plain), pl = n - ul - 1;
	if (ul >= cap || pl >= cap)
		return -1;
	memcpy(user, plain, ul);
	user[ul] = '\0';
	memcpy(pass, colon + 1, pl);
	pass[pl] = '\0';
	memset(plain, 0, sizeof(plain));
	return 0;
}

const char *httpreq_strerror(int err)
{
	switch (err) {
	case HTTPREQ_ERR_TOOLARGE:
		return "request header too large";
	case HTTPREQ_ERR_TOOMANY:
		return "too many header lines";
	case HTTPREQ_ERR_REQUEST_LINE:
		return "malformed request line";
	case HTTPREQ_ERR_HEADER:
		return "malformed header line";
	case HTTPREQ_ERR_FRAMING:
		return "ambiguous or unsupported body framing";
	case HTTPREQ_ERR_TARGET:
		return "bad request target or Host";
	default:
		return "no error";
	}
}
