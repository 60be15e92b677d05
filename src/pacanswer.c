/* pacanswer: FindProxyForURL's answer into entries; the url argument for a target. */
#include "pacanswer.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

static int pa_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int pa_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* s[0..n) equals the lower-case word w, in any case */
static int pa_word(const char *s, size_t n, const char *w)
{
	if (strlen(w) != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (pa_lower((unsigned char)s[i]) != w[i])
			return 0;
	return 1;
}

/* The keyword s[0..n) as a kind and its default port, or 0 when it is none we know. */
static int pa_keyword(const char *s, size_t n, uint16_t *defport)
{
	static const struct {
		const char *word;
		uint8_t kind;
		uint16_t port;
	} words[] = {
		{"direct", PAC_DIRECT, 0},   {"proxy", PAC_PROXY, 80},    {"http", PAC_PROXY, 80},
		{"https", PAC_HTTPS, 443},   {"socks", PAC_SOCKS, 1080},  {"socks4", PAC_SOCKS, 1080},
		{"socks5", PAC_SOCKS, 1080},
	};
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (pa_word(s, n, words[i].word)) {
			*defport = words[i].port;
			return words[i].kind;
		}
	}
	return 0;
}

/* A decimal port 1..65535 in s[0..n): the port, or 0. */
static uint16_t pa_port(const char *s, size_t n)
{
	unsigned long v = 0;
	if (n == 0 || n > 5)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	return v >= 1 && v <= 65535 ? (uint16_t)v : 0;
}

/* A host name or IPv4 literal: labels of letters, digits, '-' and '_' joined by single dots,
 * an optional trailing dot; all digits and dots must be a valid IPv4 literal. */
static int pa_name_ok(const char *s, size_t n)
{
	int digits_only = 1;
	if (n == 0 || n > 253 || s[0] == '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '.') {
			if (i > 0 && s[i - 1] == '.')
				return 0;
			continue;
		}
		if (c >= '0' && c <= '9')
			continue;
		digits_only = 0;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '_'))
			return 0;
	}
	if (digits_only) {
		char tmp[254];
		unsigned char a[4];
		memcpy(tmp, s, n);
		tmp[n] = '\0';
		return inet_pton(AF_INET, tmp, a) == 1;
	}
	return 1;
}

/* "host[:port]" in s[0..n) into e (host and port).  Returns 0 or -1. */
static int pa_hostport(const char *s, size_t n, uint16_t defport, struct pac_entry *e)
{
	size_t hlen, rest;
	const char *h = s;

	if (n > 0 && s[0] == '[') {
		const char *close = memchr(s, ']', n);
		if (close == NULL)
			return -1;
		h = s + 1;
		hlen = (size_t)(close - h);
		rest = (size_t)(close + 1 - s);
		char tmp[64];
		unsigned char a[16];
		if (hlen == 0 || hlen >= sizeof(tmp))
			return -1;
		memcpy(tmp, h, hlen);
		tmp[hlen] = '\0';
		if (inet_pton(AF_INET6, tmp, a) != 1)
			return -1;
	} else {
		const char *colon = memchr(s, ':', n);
		hlen = colon != NULL ? (size_t)(colon - s) : n;
		rest = hlen;
		if (!pa_name_ok(s, hlen))
			return -1;
	}
	if (rest == n) {
		e->port = defport;
	} else {
		if (s[rest] != ':')
			return -1;
		e->port = pa_port(s + rest + 1, n - rest - 1);
		if (e->port == 0)
			return -1;
	}
	memcpy(e->host, h, hlen);
	e->host[hlen] = '\0';
	return 0;
}

/* One entry s[0..n), blanks trimmed and not empty, into e.  Returns 0 or -1. */
static int pa_entry(const char *s, size_t n, struct pac_entry *e)
{
	size_t k = 0;
	uint16_t defport = 0;

	while (k < n && !pa_blank(s[k]))
		k++;
	int kind = pa_keyword(s, k, &defport);
	if (kind == 0)
		return -1;
	memset(e, 0, sizeof(*e));
	e->kind = (uint8_t)kind;
	if (kind == PAC_DIRECT)
		return k == n ? 0 : -1;
	while (k < n && pa_blank(s[k]))
		k++;
	if (k == n)
		return -1;
	for (size_t i = k; i < n; i++)
		if (pa_blank(s[i]))
			return -1; /* "PROXY a:1 b:2": one host per entry */
	return pa_hostport(s + k, n - k, defport, e);
}

int pacanswer_parse(const char *text, size_t len, struct pacanswer *out, char *err, size_t errlen)
{
	size_t pos = 0;

	memset(out, 0, sizeof(*out));
	while (pos < len) {
		const char *semi = memchr(text + pos, ';', len - pos);
		size_t end = semi != NULL ? (size_t)(semi - text) : len;
		size_t a = pos, b = end;
		pos = semi != NULL ? end + 1 : len;
		while (a < b && pa_blank(text[a]))
			a++;
		while (b > a && pa_blank(text[b - 1]))
			b--;
		if (a == b)
			continue;
		if (out->n < PACANSWER_MAX && pa_entry(text + a, b - a, &out->e[out->n]) == 0)
			out->n++;
		else if (out->skipped < 255)
			out->skipped++;
	}
	if (out->n > 0)
		return 0;
	if (out->skipped == 0)
		snprintf(err, errlen, "empty answer");
	else
		snprintf(err, errlen, "no usable entry in the answer (%u skipped)", (unsigned)out->skipped);
	return -1;
}

int pacanswer_url(const char *host, uint16_t port, char *out, size_t cap)
{
	int v6 = strchr(host, ':') != NULL;
	int n;

	if (host[0] == '\0' || cap == 0)
		return -1;
	if (port == 443)
		n = snprintf(out, cap, v6 ? "https://[%s]/" : "https://%s/", host);
	else if (port == 80)
		n = snprintf(out, cap, v6 ? "http://[%s]/" : "http://%s/", host);
	else
		n = snprintf(out, cap, v6 ? "http://[%s]:%u/" : "http://%s:%u/", host, (unsigned)port);
	if (n < 0 || (size_t)n >= cap) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}
