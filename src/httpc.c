/* httpc: pure CONNECT request builder and response parser (see include/httpc.h). */
#include "httpc.h"
#include "wipe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


long httpc_header_end(const char *buf, size_t len, size_t max, size_t *scan)
{
	size_t limit = len < max ? len : max;

	/* The end is "\n\n" or "\n\r\n"; resume one byte back so a split end is found. */
	for (size_t i = *scan; i < limit; i++) {
		if (buf[i] != '\n')
			continue;
		if (i >= 1 && buf[i - 1] == '\n')
			return (long)(i + 1);
		if (i >= 2 && buf[i - 1] == '\r' && buf[i - 2] == '\n')
			return (long)(i + 1);
	}
	*scan = limit;
	return len >= max ? HTTPC_ERR_TOOLARGE : 0;
}

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

/* Whitespace in a field value: SP, HTAB, and the line end of an obs-fold (RFC 9112
 * section 5.2: it reads as SP). */
static int is_ws(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Does the comma-separated list v[0..n) contain token (case-insensitive)? */
static int has_token(const char *v, size_t n, const char *token)
{
	size_t i = 0;
	while (i < n) {
		while (i < n && (is_ws((unsigned char)v[i]) || v[i] == ','))
			i++;
		size_t s = i;
		while (i < n && v[i] != ',' && !is_ws((unsigned char)v[i]) && v[i] != ';')
			i++;
		if (i > s && name_is(v + s, i - s, token))
			return 1;
		while (i < n && v[i] != ',')
			i++;
	}
	return 0;
}

/* Is token the last element of the comma-separated list v[0..n)?  Only a final "chunked"
 * frames a response body (RFC 9112 section 6.3); any other order means read until close. */
static int last_token_is(const char *v, size_t n, const char *token)
{
	while (n > 0 && (is_ws((unsigned char)v[n - 1]) || v[n - 1] == ','))
		n--;
	size_t s = n;
	while (s > 0 && v[s - 1] != ',' && !is_ws((unsigned char)v[s - 1]))
		s--;
	return name_is(v + s, n - s, token);
}

static void copy_trunc(char *dst, size_t cap, const char *src, size_t n)
{
	if (n >= cap)
		n = cap - 1;
	for (size_t i = 0; i < n; i++) /* a folded value's line ends, never into a log line */
		dst[i] = src[i] == '\r' || src[i] == '\n' ? ' ' : src[i];
	dst[n] = '\0';
}

static unsigned auth_scheme(const char *v, size_t n)
{
	size_t i = 0;
	while (i < n && v[i] != ' ' && v[i] != '\t')
		i++;
	if (name_is(v, i, "Basic"))
		return HTTPC_AUTH_BASIC;
	if (name_is(v, i, "Digest"))
		return HTTPC_AUTH_DIGEST;
	if (name_is(v, i, "NTLM"))
		return HTTPC_AUTH_NTLM;
	if (name_is(v, i, "Negotiate"))
		return HTTPC_AUTH_NEGOTIATE;
	return HTTPC_AUTH_OTHER;
}

/* A Content-Length value: "N" or a list of equal Ns ("N, N": a field repeated by an
 * intermediary).  Returns N, or -1 when it is not that. */
static long long content_length(const char *v, size_t n)
{
	long long val = -1;
	size_t i = 0;
	while (i < n) {
		long long cl = 0;
		size_t d = 0;
		while (i < n && v[i] >= '0' && v[i] <= '9') {
			if (++d > 16)
				return -1;
			cl = cl * 10 + (v[i++] - '0');
		}
		if (d == 0 || cl >= (1LL << 50) || (val >= 0 && cl != val)) /* 2^50: no length we frame by */
			return -1;
		val = cl;
		while (i < n && is_ws((unsigned char)v[i]))
			i++;
		if (i < n && v[i++] != ',')
			return -1;
		while (i < n && is_ws((unsigned char)v[i]))
			i++;
	}
	return val;
}

static int parse_status_line(const char *p, size_t n, struct httpc_response *r)
{
	/* HTTP/1.x SP 3DIGIT [SP reason] */
	if (n < 12 || memcmp(p, "HTTP/1.", 7) != 0 || p[7] < '0' || p[7] > '9' || p[8] != ' ')
		return HTTPC_ERR_STATUS_LINE;
	if (p[9] < '1' || p[9] > '5' || p[10] < '0' || p[10] > '9' || p[11] < '0' || p[11] > '9')
		return HTTPC_ERR_STATUS_LINE;
	if (n > 12 && p[12] != ' ')
		return HTTPC_ERR_STATUS_LINE;
	r->minor = p[7] - '0';
	r->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	if (n > 13)
		copy_trunc(r->reason, sizeof(r->reason), p + 13, n - 13);
	return 0;
}

int httpc_parse_response(const char *buf, size_t hdr_len, struct httpc_response *r)
{
	size_t pos = 0;
	int line_no = 0;
	int keep_alive = 0, seen_length = 0;

	memset(r, 0, sizeof(*r));
	r->content_length = -1;

	while (pos < hdr_len) {
		const char *nl = memchr(buf + pos, '\n', hdr_len - pos);
		if (nl == NULL)
			return HTTPC_ERR_HEADER;
		size_t end = (size_t)(nl - buf);
		size_t n = end - pos;
		const char *line = buf + pos;
		if (n > 0 && line[n - 1] == '\r')
			n--;
		pos = end + 1;

		for (size_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)line[i];
			if ((c < 0x20 && c != '\t') || c == 0x7f)
				return line_no == 0 ? HTTPC_ERR_STATUS_LINE : HTTPC_ERR_HEADER;
		}
		if (line_no++ == 0) {
			int rc = parse_status_line(line, n, r);
			if (rc < 0)
				return rc;
			continue;
		}
		if (n == 0)
			break; /* the blank line */
		if (line[0] == ' ' || line[0] == '\t')
			continue; /* an obs-fold: taken with the field it continues, below */

		const char *colon = memchr(line, ':', n);
		if (colon == NULL || colon == line)
			return HTTPC_ERR_HEADER;
		/* the value runs on over obs-fold lines (checked for control bytes in turn) */
		while (pos < hdr_len && (buf[pos] == ' ' || buf[pos] == '\t')) {
			const char *nl2 = memchr(buf + pos, '\n', hdr_len - pos);
			if (nl2 == NULL)
				break;
			for (const char *c = buf + pos; c < nl2; c++)
				if (((unsigned char)*c < 0x20 && *c != '\t' && !(*c == '\r' && c + 1 == nl2)) || *c == 0x7f)
					return HTTPC_ERR_HEADER;
			n = (size_t)(nl2 - line);
			if (n > 0 && line[n - 1] == '\r')
				n--;
			pos = (size_t)(nl2 - buf) + 1;
		}
		size_t nlen = (size_t)(colon - line);
		const char *v = colon + 1;
		size_t vlen = n - nlen - 1;
		while (vlen > 0 && is_ws((unsigned char)*v)) {
			v++;
			vlen--;
		}
		while (vlen > 0 && is_ws((unsigned char)v[vlen - 1]))
			vlen--;

		if (name_is(line, nlen, "Content-Length")) {
			/* RFC 9112 section 6.3 (5): an invalid one, or several that differ, is an
			 * answer no one can delimit: bad_length, and no length at all */
			long long cl = content_length(v, vlen);
			if (cl < 0 || (seen_length && cl != r->content_length)) {
				r->bad_length = 1;
				cl = -1;
			}
			seen_length = 1;
			if (!r->bad_length)
				r->content_length = cl;
		} else if (name_is(line, nlen, "Transfer-Encoding")) {
			r->chunked = last_token_is(v, vlen, "chunked");
			r->te = 1;
		} else if (name_is(line, nlen, "Connection") || name_is(line, nlen, "Proxy-Connection")) {
			if (has_token(v, vlen, "close"))
				r->conn_close = 1;
			if (has_token(v, vlen, "keep-alive"))
				keep_alive = 1;
		} else if (name_is(line, nlen, "Proxy-Authenticate")) {
			r->auth_schemes |= auth_scheme(v, vlen);
		} else if (name_is(line, nlen, "X-Squid-Error")) {
			copy_trunc(r->squid_error, sizeof(r->squid_error), v, vlen);
		}
	}
	if (line_no == 0)
		return HTTPC_ERR_STATUS_LINE;
	if (r->minor == 0 && !keep_alive)
		r->conn_close = 1;
	if (r->bad_length)
		r->content_length = -1;
	return 0;
}

/* A value may not carry CR or LF (header injection). */
static int clean(const char *s)
{
	return s == NULL || strpbrk(s, "\r\n") == NULL;
}

int httpc_build_connect(char *out, size_t cap, const char *authority, const char *proxy_auth,
			const char *user_agent)
{
	if (!clean(authority) || !clean(proxy_auth) || !clean(user_agent))
		return -1;
	if (user_agent != NULL && user_agent[0] == '\0')
		user_agent = NULL; /* config's "" means send none; an empty User-Agent is invalid */
	int n = snprintf(out, cap, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n%s%s%s%s%s%s\r\n", authority,
			 authority, proxy_auth ? "Proxy-Authorization: " : "", proxy_auth ? proxy_auth : "",
			 proxy_auth ? "\r\n" : "", user_agent ? "User-Agent: " : "",
			 user_agent ? user_agent : "", user_agent ? "\r\n" : "");
	return (n < 0 || (size_t)n >= cap) ? -1 : n;
}

int httpc_header_value(const char *buf, size_t hdr_len, const char *name, unsigned nth, const char **v, size_t *vlen)
{
	size_t pos = 0;
	int first = 1;

	while (pos < hdr_len) {
		const char *nl = memchr(buf + pos, '\n', hdr_len - pos);
		size_t end = nl ? (size_t)(nl - buf) : hdr_len;
		const char *line = buf + pos;
		size_t n = end - pos;
		pos = end + 1;
		if (n > 0 && line[n - 1] == '\r')
			n--;
		if (first) { /* the status line */
			first = 0;
			continue;
		}
		const char *colon = memchr(line, ':', n);
		if (colon == NULL || !name_is(line, (size_t)(colon - line), name))
			continue;
		if (nth-- > 0)
			continue;
		const char *p = colon + 1;
		size_t len = n - (size_t)(p - line);
		while (len > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			len--;
		}
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		*v = p;
		*vlen = len;
		return 1;
	}
	return 0;
}

long httpc_header_copy(const char *buf, size_t hdr_len, const char *name, unsigned nth, char *out, size_t cap)
{
	const char *v;
	size_t vlen;
	if (!httpc_header_value(buf, hdr_len, name, nth, &v, &vlen))
		return -1;
	size_t o = 0, i = vlen, end = (size_t)(v - buf) + vlen;
	/* the first line's value, then each obs-fold line's, joined with one SP */
	for (;;) {
		if (o + i >= cap)
			return -2;
		memcpy(out + o, v, i);
		o += i;
		size_t pos = end;
		while (pos < hdr_len && buf[pos] != '\n')
			pos++;
		pos++;
		if (pos >= hdr_len || (buf[pos] != ' ' && buf[pos] != '\t'))
			break;
		while (pos < hdr_len && (buf[pos] == ' ' || buf[pos] == '\t'))
			pos++;
		const char *nl = memchr(buf + pos, '\n', hdr_len - pos);
		size_t e = nl ? (size_t)(nl - buf) : hdr_len;
		end = e;
		while (e > pos && (buf[e - 1] == '\r' || buf[e - 1] == ' ' || buf[e - 1] == '\t'))
			e--;
		v = buf + pos;
		i = e - pos; /* 0 for a fold of spaces only */
		if (i > 0 && o > 0) {
			if (o + 1 >= cap)
				return -2;
			out[o++] = ' ';
		}
	}
	out[o] = '\0';
	return (long)o;
}

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int httpc_base64_decode(uint8_t *out, size_t cap, const char *in, size_t n)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;

	while (n > 0 && in[n - 1] == '=')
		n--;
	for (size_t i = 0; i < n; i++) {
		int v = b64_value(in[i]);
		if (v < 0)
			return -1;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o == cap)
				return -1;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	return n % 4 == 1 ? -1 : (int)o;
}

int httpc_base64(char *out, size_t cap, const uint8_t *in, size_t n)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t need = (n + 2) / 3 * 4;
	size_t o = 0;

	if (need + 1 > cap)
		return -1;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = tab[(v >> 18) & 63];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? tab[v & 63] : '=';
	}
	out[o] = '\0';
	return (int)o;
}

int httpc_basic_auth(char *out, size_t cap, const char *user, const char *pass)
{
	uint8_t raw[512 + 2];
	size_t ul = strlen(user), pl = strlen(pass);

	if (ul + pl + 1 > sizeof(raw) || cap < 7)
		return -1;
	memcpy(raw, user, ul);
	raw[ul] = ':';
	memcpy(raw + ul + 1, pass, pl);
	memcpy(out, "Basic ", 6);
	int n = httpc_base64(out + 6, cap - 6, raw, ul + 1 + pl);
	wipe(raw, sizeof(raw));
	return n < 0 ? -1 : n + 6;
}

const char *httpc_strerror(int err)
{
	switch (err) {
	case HTTPC_ERR_TOOLARGE:
		return "proxy response header too large";
	case HTTPC_ERR_STATUS_LINE:
		return "malformed status line from proxy";
	case HTTPC_ERR_HEADER:
		return "malformed header line from proxy";
	default:
		return "unknown error";
	}
}
