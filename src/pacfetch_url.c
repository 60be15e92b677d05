/* pacfetch_url: the URL handling of pacfetch, pure: an http:// URL split, a redirect's
 * Location made absolute, a file:// URL's path decoded (see include/pacfetch.h). */
#include "pacfetch.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

int pacfetch_split_http(const char *url, char *host, size_t hostcap, unsigned *port, char *path, size_t pathcap,
			char *err, size_t errlen)
{
	const char *p = url + 7, *h, *he;
	if (strncmp(url, "http://", 7) != 0) {
		snprintf(err, errlen, "not an http:// URL");
		return -1;
	}
	if (*p == '[') {
		h = p + 1;
		he = strchr(h, ']');
		if (he == NULL) {
			snprintf(err, errlen, "unterminated [IPv6 address]");
			return -1;
		}
		p = he + 1;
	} else {
		h = p;
		while (*p && *p != ':' && *p != '/' && *p != '?' && *p != '#')
			p++;
		he = p;
	}
	if (he == h || (size_t)(he - h) >= hostcap || memchr(h, '@', (size_t)(he - h)) != NULL) {
		snprintf(err, errlen, he == h ? "no host" : "bad host");
		return -1;
	}
	for (const char *c = h; c < he; c++)
		if ((unsigned char)*c <= ' ' || *c == 0x7f) {
			snprintf(err, errlen, "control character or space in the host");
			return -1;
		}
	memcpy(host, h, (size_t)(he - h));
	host[he - h] = '\0';
	*port = 80;
	if (*p == ':') {
		unsigned long v = 0;
		int digits = 0;
		for (p++; *p >= '0' && *p <= '9' && v <= 65535; p++, digits++)
			v = v * 10 + (unsigned long)(*p - '0');
		if (!digits || v == 0 || v > 65535) {
			snprintf(err, errlen, "bad port");
			return -1;
		}
		*port = (unsigned)v;
	}
	if (*p != '\0' && *p != '/' && *p != '?') {
		snprintf(err, errlen, "bad URL");
		return -1;
	}
	const char *q = *p == '/' ? p : NULL;
	size_t n = q ? strcspn(q, "#") : 0;
	if (n + 2 > pathcap) {
		snprintf(err, errlen, "path too long");
		return -1;
	}
	if (q == NULL)
		snprintf(path, pathcap, "/%.*s", (int)strcspn(p, "#"), p);
	else
		snprintf(path, pathcap, "%.*s", (int)n, q);
	for (const char *c = path; *c; c++)
		if ((unsigned char)*c <= ' ' || *c == 0x7f) {
			snprintf(err, errlen, "control character or space in the path");
			return -1;
		}
	return 0;
}

/* Returns NULL with out filled, or why not. */
const char *pacfetch_locate(const char *base, const char *loc, size_t len, char *out, size_t cap)
{
	size_t n;
	if (loc == NULL || len == 0)
		return "no Location";
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)loc[i] <= ' ' || loc[i] == 0x7f)
			return "control character or space in Location";
	size_t scheme_end = 0; /* loc is not NUL-terminated: the scan stops at len */
	while (scheme_end < len && strchr(":/?#", loc[scheme_end]) == NULL)
		scheme_end++;
	if (strncmp(base, "http://", 7) != 0)
		return "not from an http:// URL";
	const char *auth = base + 7, *path = auth + strcspn(auth, "/?#");
	if (len >= 7 && strncasecmp(loc, "http://", 7) == 0)
		n = (size_t)snprintf(out, cap, "http://%.*s", (int)(len - 7), loc + 7);
	else if (len >= 2 && loc[0] == '/' && loc[1] == '/')
		n = (size_t)snprintf(out, cap, "http:%.*s", (int)len, loc);
	else if (scheme_end < len && loc[scheme_end] == ':')
		return "not an http:// Location";
	else if (loc[0] == '/')
		n = (size_t)snprintf(out, cap, "%.*s%.*s", (int)(path - base), base, (int)len, loc);
	else if (loc[0] == '?')
		n = (size_t)snprintf(out, cap, "%.*s%.*s", (int)(path + strcspn(path, "?#") - base), base, (int)len, loc);
	else { /* relative to the current path's directory */
		size_t plen = strcspn(path, "?#");
		const char *dir = path;
		for (const char *c = path; c < path + plen; c++)
			if (*c == '/')
				dir = c + 1;
		n = (size_t)snprintf(out, cap, "%.*s%s%.*s", (int)(dir - base), base, dir == path ? "/" : "", (int)len, loc);
	}
	if (n >= cap)
		return "Location too long";
	out[strcspn(out, "#")] = '\0'; /* a fragment is not sent */
	return NULL;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

int pacfetch_file_path(const char *url, char *out, size_t cap, char *err, size_t errlen)
{
	const char *p = url;
	size_t n = 0;
	if (url[0] == '/') { /* a plain path: as it is */
		if (strlen(url) >= cap) {
			snprintf(err, errlen, "path too long");
			return -1;
		}
		snprintf(out, cap, "%s", url);
		return 0;
	}
	if (strncmp(url, "file://", 7) != 0) {
		snprintf(err, errlen, "not a file:// URL");
		return -1;
	}
	p = url + 7;
	if (strncasecmp(p, "localhost/", 10) == 0)
		p += 9;
	if (*p != '/') {
		snprintf(err, errlen, "a file:// URL needs an absolute path");
		return -1;
	}
	for (; *p != '\0' && *p != '?' && *p != '#'; p++) {
		char c = *p;
		if (c == '%') {
			int hi = hexval(p[1]), lo = hi < 0 ? -1 : hexval(p[2]);
			if (hi < 0 || lo < 0) {
				snprintf(err, errlen, "bad percent-encoding (%% not followed by two hex digits)");
				return -1;
			}
			c = (char)(hi * 16 + lo);
			if (c == '\0' || c == '/') {
				snprintf(err, errlen, "%%%c%c (%s) is not allowed in a file:// path", p[1], p[2],
					 c == '/' ? "an encoded /" : "a NUL byte");
				return -1;
			}
			p += 2;
		}
		if (n + 1 >= cap) {
			snprintf(err, errlen, "path too long");
			return -1;
		}
		out[n++] = c;
	}
	out[n] = '\0';
	return 0;
}
