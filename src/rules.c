/* rules: --route rules and the no_proxy list (see include/rules.h). */
#include "rules.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "errtext.h"

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* ASCII case-insensitive equality of n bytes (as curl's strncasecompare, locale-free) */
static int case_eq(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (lower(a[i]) != lower(b[i]))
			return 0;
	return 1;
}

/* Are the first bits of a and b equal? */
static int prefix_eq(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned bytes = bits / 8, rest = bits % 8;
	if (memcmp(a, b, bytes) != 0)
		return 0;
	return rest == 0 || ((a[bytes] ^ b[bytes]) & (0xff << (8 - rest)) & 0xff) == 0;
}

static void clear_host_bits(uint8_t *a, unsigned bits, unsigned total)
{
	for (unsigned i = 0; i < total / 8; i++) {
		if (bits >= (i + 1) * 8)
			continue;
		a[i] = bits <= i * 8 ? 0 : (uint8_t)(a[i] & (0xff << (8 - (bits - i * 8))));
	}
}

/* A target as the matchers see it: an IP literal (family 4 or 6) or a name. */
struct target {
	int family;       /* 4, 6, or 0 for a name */
	uint8_t a[16];
	int mapped;       /* IPv6 ::ffff:a.b.c.d: v4 holds a.b.c.d */
	uint8_t v4[4];
	const char *name;
	size_t namelen;   /* without one trailing dot */
};

static void classify(const char *host, struct target *t)
{
	memset(t, 0, sizeof(*t));
	t->name = host;
	if (inet_pton(AF_INET, host, t->a) == 1) {
		t->family = 4;
		memcpy(t->v4, t->a, 4);
		t->mapped = 1;
		return;
	}
	if (inet_pton(AF_INET6, host, t->a) == 1) {
		static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
		t->family = 6;
		if (memcmp(t->a, v4mapped, 12) == 0) {
			t->mapped = 1;
			memcpy(t->v4, t->a + 12, 4);
		}
		return;
	}
	t->namelen = strlen(host);
	if (t->namelen > 0 && host[t->namelen - 1] == '.')
		t->namelen--;
}

/* name ends with "." + suffix (suffix_len bytes), case-insensitively */
static int is_subdomain(const char *name, size_t namelen, const char *suffix, size_t suffix_len)
{
	return suffix_len < namelen && name[namelen - suffix_len - 1] == '.' &&
	       case_eq(name + namelen - suffix_len, suffix, suffix_len);
}

/* ---- no_proxy ---- */

/* atoi as curl 7.88.1 applies it to the bits after '/': blanks, a sign, digits up to the
 * first non-digit.  Out of range (negative, huge) becomes -1: such an entry never matches. */
static long curl_bits(const char *s)
{
	long v = 0;
	int neg = 0;
	while (*s == ' ' || (*s >= '\t' && *s <= '\r'))
		s++;
	if (*s == '+' || *s == '-')
		neg = *s++ == '-';
	for (; *s >= '0' && *s <= '9'; s++)
		if (v <= 1000)
			v = v * 10 + (*s - '0');
	return neg && v != 0 ? -1 : v > 1000 ? -1 : v;
}

/* The IP side of a token, as curl 7.88.1's Curl_cidr4_match/Curl_cidr6_match read it
 * ("/0" and no prefix both mean one address); only_v6 for a bracketed entry. */
static void noproxy_ip(const char *tok, size_t len, int only_v6, struct noproxy_entry *e)
{
	char buf[128];
	if (len >= sizeof(buf))
		return;
	memcpy(buf, tok, len);
	buf[len] = '\0';
	long bits = 0;
	char *slash = strchr(buf, '/');
	if (slash != NULL) {
		bits = curl_bits(slash + 1);
		*slash = '\0';
	}
	if (!only_v6 && inet_pton(AF_INET, buf, e->addr) == 1) {
		if (bits >= 0 && bits <= 32) {
			e->family = 4;
			e->prefix = (uint8_t)(bits == 0 ? 32 : bits);
		}
	} else if (inet_pton(AF_INET6, buf, e->addr) == 1) {
		if (bits >= 0 && bits <= 128) {
			e->family = 6;
			e->prefix = (uint8_t)(bits == 0 ? 128 : bits);
		}
	}
}

/* :PORT of our own: 1..65535 in digits, else 0 */
static long port_digits(const char *s, size_t n)
{
	long v = 0;
	if (n == 0 || n > 5)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (s[i] - '0');
	}
	return v <= 65535 ? v : 0;
}

static void noproxy_entry(const char *tok, size_t len, struct noproxy_entry *e)
{
	memset(e, 0, sizeof(*e));
	e->name_len = NOPROXY_NO_NAME;
	if (tok[0] == '[') {
		/* [v6], [v6/bits], [v6]:port: ours (curl matches none of these) */
		const char *rb = memchr(tok, ']', len);
		if (rb != NULL) {
			size_t after = len - (size_t)(rb - tok) - 1;
			long port = after > 1 && rb[1] == ':' ? port_digits(rb + 2, after - 1) : 0;
			if (after == 0 || port > 0) {
				e->port = (uint16_t)port;
				noproxy_ip(tok + 1, (size_t)(rb - tok) - 1, 1, e);
			}
		}
		return; /* otherwise as curl: a name with '[' is never a target */
	}
	const char *colon = memchr(tok, ':', len);
	if (colon != NULL && memchr(colon + 1, ':', len - (size_t)(colon + 1 - tok)) == NULL) {
		/* one colon: host:port, a.b.c.d:port (ours); else as curl, which never matches it */
		long port = port_digits(colon + 1, len - (size_t)(colon + 1 - tok));
		if (port > 0) {
			e->port = (uint16_t)port;
			len = (size_t)(colon - tok);
			if (len == 0)
				return;
		}
	}
	/* for names: one trailing dot, then one leading dot, ignored */
	const char *n = tok;
	size_t nl = len;
	if (nl > 0 && n[nl - 1] == '.')
		nl--;
	if (nl > 0 && n[0] == '.') {
		n++;
		nl--;
	}
	if (nl < sizeof(e->name)) {
		memcpy(e->name, n, nl);
		e->name[nl] = '\0';
		e->name_len = (uint16_t)nl;
	}
	noproxy_ip(tok, len, 0, e);
}

int noproxy_parse(const char *list, struct noproxy *out, char *err, size_t errlen)
{
	out->all = 0;
	out->n = 0;
	if (list == NULL)
		return 0;
	if (strcmp(list, "*") == 0) { /* only the whole list: "*,a" has no wildcard (curl) */
		out->all = 1;
		return 0;
	}
	const char *p = list;
	while (*p != '\0') {
		while (*p != '\0' && (is_blank(*p) || *p == ','))
			p++;
		const char *tok = p;
		while (*p != '\0' && !is_blank(*p) && *p != ',')
			p++;
		if (p == tok)
			continue;
		if (out->n == NOPROXY_MAX)
			return errtext(err, errlen, "more than %d entries in the no_proxy list", NOPROXY_MAX);
		noproxy_entry(tok, (size_t)(p - tok), &out->e[out->n++]);
	}
	return 0;
}

int noproxy_match(const struct noproxy *np, const char *host, uint16_t port)
{
	struct target t;

	if (host == NULL || host[0] == '\0')
		return 0;
	if (np->all)
		return 1;
	classify(host, &t);
	for (size_t i = 0; i < np->n; i++) {
		const struct noproxy_entry *e = &np->e[i];
		if (e->port != 0 && e->port != port)
			continue;
		if (t.family == 0) {
			size_t tl = e->name_len;
			if (tl == NOPROXY_NO_NAME)
				continue;
			if (tl == t.namelen ? case_eq(e->name, t.name, tl)
					    : is_subdomain(t.name, t.namelen, e->name, tl))
				return 1;
		} else if (e->family == t.family && prefix_eq(t.a, e->addr, e->prefix)) {
			return 1;
		}
	}
	return 0;
}

/* ---- rules ---- */

/* Shows a word of the rule in a message unless it may hold credentials. */
static const char *shown(const char *w)
{
	return strchr(w, '@') != NULL ? "(not shown)" : w;
}

/* "N" or "N-M", 1..65535 */
static int parse_ports(const char *s, struct rule *out)
{
	const char *dash = strchr(s, '-');
	long lo = port_digits(s, dash ? (size_t)(dash - s) : strlen(s));
	long hi = dash ? port_digits(dash + 1, strlen(dash + 1)) : lo;
	if (lo == 0 || hi == 0 || lo > hi)
		return -1;
	out->port_lo = (uint16_t)lo;
	out->port_hi = (uint16_t)hi;
	return 0;
}

/* "addr" or "addr/bits" of the given family */
static int parse_ip(const char *s, size_t n, int family, struct rule *out)
{
	char buf[64];
	unsigned total = family == 4 ? 32 : 128;
	if (n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	unsigned long bits = total;
	char *slash = strchr(buf, '/');
	if (slash != NULL) {
		long v = port_digits(slash + 1, strlen(slash + 1));
		if (strcmp(slash + 1, "0") == 0)
			v = 0;
		else if (v == 0)
			return -1;
		if ((unsigned long)v > total)
			return -1;
		bits = (unsigned long)v;
		*slash = '\0';
	}
	if (inet_pton(family == 4 ? AF_INET : AF_INET6, buf, out->addr) != 1)
		return -1;
	out->kind = family == 4 ? RULE_IPV4 : RULE_IPV6;
	out->prefix = (uint8_t)bits;
	clear_host_bits(out->addr, (unsigned)bits, total);
	return 0;
}

static int name_ok(const char *s)
{
	size_t n = strlen(s), label = 0;
	if (n == 0 || n > RULES_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '.') {
			if (label == 0)
				return 0;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
			   c == '_') {
			if (++label > 63)
				return 0;
		} else {
			return 0;
		}
	}
	return label > 0;
}

int rule_parse_pattern(const char *pat, struct rule *out, char *err, size_t errlen)
{
	char host[RULES_NAME_MAX + 8];
	const char *ports = NULL;
	size_t hl;

	out->kind = 0;
	out->prefix = 0;
	out->port_lo = 0;
	out->port_hi = 65535;
	memset(out->addr, 0, sizeof(out->addr));
	out->name[0] = '\0';
	if (pat[0] == '\0')
		return errtext(err, errlen, "empty pattern");
	if (strlen(pat) >= sizeof(host) + 16)
		return errtext(err, errlen, "pattern too long");
	if (pat[0] == '[') {
		const char *rb = strchr(pat, ']');
		if (rb == NULL || (rb[1] != '\0' && rb[1] != ':'))
			return errtext(err, errlen, "bad pattern '%s' (an IPv6 pattern is written [fd00::/8]:443)", pat);
		if (rb[1] == ':')
			ports = rb + 2;
		if (parse_ip(pat + 1, (size_t)(rb - pat - 1), 6, out) < 0)
			return errtext(err, errlen, "bad IPv6 address or prefix in pattern '%s'", pat);
	} else {
		const char *colon = strchr(pat, ':');
		if (colon != NULL && strchr(colon + 1, ':') != NULL) {
			/* a bare IPv6 literal or block: no port (that needs brackets) */
			if (parse_ip(pat, strlen(pat), 6, out) < 0)
				return errtext(err, errlen,
					    "bad IPv6 address or prefix in pattern '%s' (with a port: [fd00::/8]:443)", pat);
			return 0;
		}
		hl = colon ? (size_t)(colon - pat) : strlen(pat);
		if (colon != NULL)
			ports = colon + 1;
		if (hl == 0 || hl >= sizeof(host))
			return errtext(err, errlen, "bad pattern '%s'", pat);
		memcpy(host, pat, hl);
		host[hl] = '\0';
		int numeric = strspn(host, "0123456789./") == hl;
		if (strcmp(host, "*") == 0) {
			out->kind = RULE_ALL;
		} else if (numeric || strchr(host, '/') != NULL) {
			if (parse_ip(host, hl, 4, out) < 0)
				return errtext(err, errlen, "bad IPv4 address or prefix in pattern '%s'", pat);
		} else {
			const char *n = host;
			out->kind = RULE_EXACT;
			if (strncmp(n, "*.", 2) == 0) {
				out->kind = RULE_SUBDOMAINS;
				n += 2;
			} else if (n[0] == '.') {
				out->kind = RULE_DOMAIN;
				n++;
			}
			size_t nl = strlen(n);
			if (nl > 1 && n[nl - 1] == '.')
				host[hl - 1] = '\0'; /* a trailing dot: the same name */
			if (!name_ok(n))
				return errtext(err, errlen,
					    "bad pattern '%s' (give *, a host name, .domain, *.domain, an IP address or "
					    "CIDR block, each with :PORT or :LOW-HIGH if needed)", pat);
			size_t i;
			for (i = 0; n[i] != '\0'; i++)
				out->name[i] = lower(n[i]);
			out->name[i] = '\0';
		}
	}
	if (ports != NULL && parse_ports(ports, out) < 0)
		return errtext(err, errlen, "bad port in pattern '%s' (give :PORT or :LOW-HIGH, 1 to 65535)", pat);
	return 0;
}

const char *rules_scrub_url(const char *url, char *out, size_t cap)
{
	/* the scheme is kept when it is one (not "user:pw@http://..."); everything up to the
	 * last '@' goes, which for any URL proxyurl accepts is exactly the user and password */
	size_t slen = strspn(url, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.");
	const char *auth = slen > 0 && strncmp(url + slen, "://", 3) == 0 ? url + slen + 3 : url;
	const char *at = strrchr(auth, '@');
	if (at == NULL)
		snprintf(out, cap, "%s", url);
	else
		snprintf(out, cap, "%.*s***%s", (int)(auth - url), url, at);
	return out;
}

/* Appends " word" to the rule's text; a text cut short ends in "..." */
static void text_add(struct rule *r, const char *word)
{
	size_t n = strlen(r->text), cap = sizeof(r->text);
	int w = snprintf(r->text + n, cap - n, "%s%s", n ? " " : "", word);
	if (w < 0 || (size_t)w >= cap - n)
		memcpy(r->text + cap - 4, "...", 4);
}

#define RULE_WORDS (2 + RULES_MAX_HOPS + 1)

int rule_parse(const char *text, struct rule *out,
	       int (*add_proxy)(void *ctx, const char *url, char *err, size_t errlen), void *ctx, char *err,
	       size_t errlen)
{
	char buf[2048], perr[256], scrubbed[sizeof(out->text)];
	char *w[RULE_WORDS];
	size_t nw = 0;

	memset(out, 0, sizeof(*out));
	if (strlen(text) >= sizeof(buf))
		return errtext(err, errlen, "rule too long");
	snprintf(buf, sizeof(buf), "%s", text);
	for (char *p = buf; *p != '\0';) {
		while (is_blank(*p))
			*p++ = '\0';
		if (*p == '\0')
			break;
		if (nw == RULE_WORDS)
			return errtext(err, errlen, "a rule names at most %d proxies", RULES_MAX_HOPS);
		w[nw++] = p;
		while (*p != '\0' && !is_blank(*p))
			p++;
	}
	if (nw == 0)
		return errtext(err, errlen, "empty rule (give PATTERN ACTION, e.g. '.example.com direct')");
	if (nw == 1)
		return errtext(err, errlen, "rule '%s' has no action (direct, block, proxy [URL...], chain URL URL...)",
			    shown(w[0]));
	if (rule_parse_pattern(w[0], out, perr, sizeof(perr)) < 0)
		return errtext(err, errlen, "%s", strchr(w[0], '@') ? "bad pattern (not shown)" : perr);
	const char *a = w[1];
	size_t nurl = nw - 2;
	if (strcmp(a, "direct") == 0)
		out->action = RULE_DIRECT;
	else if (strcmp(a, "block") == 0)
		out->action = RULE_BLOCK;
	else if (strcmp(a, "proxy") == 0)
		out->action = RULE_PROXY;
	else if (strcmp(a, "chain") == 0)
		out->action = RULE_CHAIN;
	else
		return errtext(err, errlen, "rule '%s': unknown action '%s' (direct, block, proxy [URL...], chain URL URL...)",
			    shown(w[0]), shown(a));
	if ((out->action == RULE_DIRECT || out->action == RULE_BLOCK) && nurl > 0)
		return errtext(err, errlen, "rule '%s': '%s' takes no URL", shown(w[0]), a);
	if (out->action == RULE_CHAIN && nurl < 2)
		return errtext(err, errlen, "rule '%s': 'chain' needs at least two proxy URLs", shown(w[0]));
	if (nurl > RULES_MAX_HOPS)
		return errtext(err, errlen, "rule '%s': a rule names at most %d proxies", shown(w[0]), RULES_MAX_HOPS);
	for (size_t i = 0; i < nurl; i++) {
		int idx = add_proxy ? add_proxy(ctx, w[2 + i], perr, sizeof(perr)) : -1;
		if (idx < 0 || idx > 255) {
			int rc = errtext(err, errlen, "rule '%s': proxy %zu: %s", shown(w[0]), i + 1,
				      add_proxy && idx < 0 ? perr : "not accepted here");
			memset(buf, 0, sizeof(buf));
			memset(out, 0, sizeof(*out));
			return rc;
		}
		out->hop[out->nhops++] = (uint8_t)idx;
	}
	text_add(out, w[0]);
	text_add(out, a);
	for (size_t i = 0; i < nurl; i++)
		text_add(out, rules_scrub_url(w[2 + i], scrubbed, sizeof(scrubbed)));
	memset(buf, 0, sizeof(buf)); /* the URLs may hold passwords */
	return 0;
}

static int match_target(const struct rule *r, const struct target *t, uint16_t port)
{
	if (port < r->port_lo || port > r->port_hi)
		return 0;
	size_t len = strlen(r->name);
	switch (r->kind) {
	case RULE_ALL:
		return 1;
	case RULE_EXACT:
		return t->family == 0 && t->namelen == len && case_eq(t->name, r->name, len);
	case RULE_DOMAIN:
		return t->family == 0 && ((t->namelen == len && case_eq(t->name, r->name, len)) ||
					  is_subdomain(t->name, t->namelen, r->name, len));
	case RULE_SUBDOMAINS:
		return t->family == 0 && is_subdomain(t->name, t->namelen, r->name, len);
	case RULE_IPV4:
		return t->mapped && prefix_eq(t->v4, r->addr, r->prefix);
	case RULE_IPV6:
		return t->family == 6 && prefix_eq(t->a, r->addr, r->prefix);
	default:
		return 0;
	}
}

int rule_match(const struct rule *r, const char *host, uint16_t port)
{
	struct target t;
	classify(host, &t);
	return match_target(r, &t, port);
}

int rules_match(const struct rule *rules, size_t n, const char *host, uint16_t port)
{
	struct target t;
	classify(host, &t);
	for (size_t i = 0; i < n; i++)
		if (match_target(&rules[i], &t, port))
			return (int)i;
	return -1;
}

int rule_matches_all(const struct rule *r)
{
	return r->kind == RULE_ALL && r->port_lo == 0 && r->port_hi == 65535;
}
