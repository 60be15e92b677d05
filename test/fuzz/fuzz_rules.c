/* fuzz_rules: the input is "LINE1\nHOST\nPP": LINE1 as a rule, a pattern and a no_proxy
 * list, HOST and the port (two bytes, big-endian) as the target.  Checks: documented
 * return values, bounded fields, no credentials in a rule's text, a rule matches what its
 * pattern names, and no_proxy agrees with an independent reading of curl 7.88.1's
 * Curl_check_noproxy wherever our :port extension does not apply, with IPv6 targets
 * compared as addresses and the IPv6 mask right (as curl 8.18 does; see socks2http(1)). */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz.h"
#include "rules.h"

static int nurls;

/* accepts a URL as proxyurl would as far as '@' goes: none after the authority */
static int add_proxy(void *ctx, const char *url, char *err, size_t errlen)
{
	(void)ctx;
	const char *sep = strstr(url, "://");
	const char *auth = sep ? sep + 3 : url;
	if (strchr(auth + strcspn(auth, "/?#"), '@') != NULL || url[0] == 'x') {
		snprintf(err, errlen, "bad proxy URL");
		return -1;
	}
	return nurls < 16 ? nurls++ : (int)((unsigned char)url[0] % 16);
}

/* ---- an independent reading of curl 7.88.1's no_proxy check ---- */
static int blank(char c)
{
	return c == ' ' || c == '\t';
}

static int oracle_ip(const char *name, int v6, const char *tok, size_t tl)
{
	char check[128];
	uint8_t a[16], b[16];
	if (tl >= sizeof(check))
		return 0;
	memcpy(check, tok, tl);
	check[tl] = '\0';
	unsigned bits = 0;
	char *slash = strchr(check, '/');
	if (slash) {
		/* atoi, without its undefined overflow: out of range never matches */
		long v = strtol(slash + 1, NULL, 10);
		bits = v < 0 || v > 1000 ? 1000 : (unsigned)v;
		*slash = '\0';
	}
	int fam = v6 ? AF_INET6 : AF_INET;
	if (inet_pton(fam, name, a) != 1 || inet_pton(fam, check, b) != 1)
		return 0;
	if (!v6) {
		if (bits > 32)
			return 0;
		if (bits == 0 || bits == 32)
			return memcmp(a, b, 4) == 0;
		uint32_t x = ((uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3]) ^
			     ((uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]);
		return (x & (0xffffffffu << (32 - bits))) == 0;
	}
	if (bits == 0)
		bits = 128;
	unsigned bytes = bits / 8, rest = bits % 8;
	if (bytes > 16 || (bytes == 16 && rest))
		return 0;
	if (bytes && memcmp(a, b, bytes))
		return 0;
	if (rest && ((a[bytes] ^ b[bytes]) & (0xff << (8 - rest))))
		return 0;
	return 1;
}

static int oracle(const char *list, const char *name)
{
	uint8_t tmp[16];
	if (name[0] == '\0' || list[0] == '\0')
		return 0;
	if (strcmp(list, "*") == 0)
		return 1;
	int type = inet_pton(AF_INET, name, tmp) == 1 ? 4 : inet_pton(AF_INET6, name, tmp) == 1 ? 6 : 0;
	size_t namelen = strlen(name);
	if (type == 0 && name[namelen - 1] == '.')
		namelen--;
	for (const char *p = list; *p;) {
		while (*p && (blank(*p) || *p == ','))
			p++;
		const char *tok = p;
		while (*p && !blank(*p) && *p != ',')
			p++;
		size_t tl = (size_t)(p - tok);
		if (tl == 0)
			continue;
		if (type) {
			if (oracle_ip(name, type == 6, tok, tl))
				return 1;
			continue;
		}
		if (tok[tl - 1] == '.')
			tl--;
		if (tl && tok[0] == '.') {
			tok++;
			tl--;
		}
		if (tl == namelen ? strncasecmp(tok, name, tl) == 0
				  : tl < namelen && name[namelen - tl - 1] == '.' &&
					    strncasecmp(tok, name + namelen - tl, tl) == 0)
			return 1;
	}
	return 0;
}

/* Would our :port extension read a token of the list differently from curl? */
static int extension_applies(const char *list)
{
	for (const char *p = list; *p;) {
		while (*p && (blank(*p) || *p == ','))
			p++;
		const char *tok = p;
		while (*p && !blank(*p) && *p != ',')
			p++;
		size_t tl = (size_t)(p - tok), colons = 0;
		for (size_t i = 0; i < tl; i++)
			colons += tok[i] == ':';
		if (tl > 0 && (tok[0] == '[' || colons == 1))
			return 1;
	}
	return 0;
}

static void check_rule(const struct rule *r)
{
	char host[300];
	FUZZ_ASSERT(r->action >= RULE_DIRECT && r->action <= RULE_CHAIN);
	FUZZ_ASSERT(r->nhops <= RULES_MAX_HOPS && (int)r->nhops <= 16);
	FUZZ_ASSERT(r->action != RULE_CHAIN || r->nhops >= 2);
	FUZZ_ASSERT((r->action != RULE_DIRECT && r->action != RULE_BLOCK) || r->nhops == 0);
	FUZZ_ASSERT(strnlen(r->text, sizeof(r->text)) < sizeof(r->text));
	/* credentials never: every '@' of the text follows "***" */
	for (const char *at = strchr(r->text, '@'); at != NULL; at = strchr(at + 1, '@'))
		FUZZ_ASSERT(at - r->text >= 3 && memcmp(at - 3, "***", 3) == 0);
	FUZZ_ASSERT(r->port_lo <= r->port_hi);
	uint16_t port = r->port_hi;
	switch (r->kind) {
	case RULE_ALL:
		FUZZ_ASSERT(rule_match(r, "any.example", port) == 1);
		break;
	case RULE_EXACT:
	case RULE_DOMAIN:
	case RULE_SUBDOMAINS:
		FUZZ_ASSERT(strnlen(r->name, sizeof(r->name)) > 0 && strnlen(r->name, sizeof(r->name)) <= RULES_NAME_MAX);
		snprintf(host, sizeof(host), "x.%s", r->name);
		FUZZ_ASSERT(rule_match(r, host, port) == (r->kind != RULE_EXACT));
		snprintf(host, sizeof(host), "%s.", r->name);
		if (inet_pton(AF_INET, r->name, host + 290) != 1) /* "1.2.3.4" as a name is an address */
			FUZZ_ASSERT(rule_match(r, host, port) == (r->kind != RULE_SUBDOMAINS));
		if (r->port_lo > 0)
			FUZZ_ASSERT(rule_match(r, r->name, (uint16_t)(r->port_lo - 1)) == 0);
		break;
	case RULE_IPV4:
	case RULE_IPV6:
		FUZZ_ASSERT(r->prefix <= (r->kind == RULE_IPV4 ? 32 : 128));
		inet_ntop(r->kind == RULE_IPV4 ? AF_INET : AF_INET6, r->addr, host, sizeof(host));
		FUZZ_ASSERT(rule_match(r, host, port) == 1);
		FUZZ_ASSERT(rule_match(r, "host.example", port) == 0);
		break;
	default:
		FUZZ_ASSERT(0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct noproxy np;
	char line[1200], host[300], err[256];
	struct rule r;

	const uint8_t *nl = memchr(data, '\n', size);
	size_t l1 = nl ? (size_t)(nl - data) : size;
	if (l1 >= sizeof(line))
		return 0;
	memcpy(line, data, l1);
	line[l1] = '\0';
	size_t rest = nl ? size - l1 - 1 : 0;
	const uint8_t *h = nl ? nl + 1 : data + size;
	const uint8_t *nl2 = memchr(h, '\n', rest);
	size_t hl = nl2 ? (size_t)(nl2 - h) : rest;
	if (hl > 255) /* a name's limit */
		hl = 255;
	memcpy(host, h, hl);
	host[hl] = '\0';
	uint16_t port = 443;
	if (nl2 != NULL && (size_t)(h + rest - nl2) >= 3)
		port = (uint16_t)(nl2[1] << 8 | nl2[2]);

	/* the line as a rule */
	nurls = 0;
	memset(err, 0, sizeof(err));
	int rc = rule_parse(line, &r, add_proxy, NULL, err, sizeof(err));
	FUZZ_ASSERT(rc == 0 || rc == -1);
	if (rc < 0) {
		FUZZ_ASSERT(err[0] != '\0' && strnlen(err, sizeof(err)) < sizeof(err));
	} else {
		for (size_t i = 0; i < r.nhops; i++)
			FUZZ_ASSERT(r.hop[i] < nurls);
		check_rule(&r);
		int m = rules_match(&r, 1, host, port);
		FUZZ_ASSERT(m == (rule_match(&r, host, port) ? 0 : -1));
	}
	/* the line as a pattern */
	memset(err, 0, sizeof(err));
	if (rule_parse_pattern(line, &r, err, sizeof(err)) < 0)
		FUZZ_ASSERT(err[0] != '\0' && strnlen(err, sizeof(err)) < sizeof(err));
	else
		FUZZ_ASSERT(rule_match(&r, host, port) == 0 || rule_match(&r, host, port) == 1);

	/* the line as a no_proxy list */
	memset(err, 0, sizeof(err));
	rc = noproxy_parse(line, &np, err, sizeof(err));
	FUZZ_ASSERT(rc == 0 || rc == -1);
	if (rc < 0) {
		FUZZ_ASSERT(err[0] != '\0');
		return 0;
	}
	FUZZ_ASSERT(np.n <= NOPROXY_MAX);
	int m = noproxy_match(&np, host, port);
	FUZZ_ASSERT(m == 0 || m == 1);
	if (!extension_applies(line))
		FUZZ_ASSERT(m == oracle(line, host));
	for (size_t i = 0; i < np.n; i++) {
		const struct noproxy_entry *e = &np.e[i];
		FUZZ_ASSERT(e->name_len == NOPROXY_NO_NAME || (e->name_len < sizeof(e->name) && e->name[e->name_len] == '\0'));
		FUZZ_ASSERT(e->family == 0 || (e->family == 4 && e->prefix >= 1 && e->prefix <= 32) ||
			    (e->family == 6 && e->prefix >= 1 && e->prefix <= 128));
		uint8_t tmp[16];
		/* an entry's name matches itself (when it reads as a name) */
		if (e->name_len != NOPROXY_NO_NAME && e->name_len > 0 && e->name[e->name_len - 1] != '.' &&
		    inet_pton(AF_INET, e->name, tmp) != 1 && inet_pton(AF_INET6, e->name, tmp) != 1)
			FUZZ_ASSERT(noproxy_match(&np, e->name, e->port ? e->port : port) == 1);
	}
	return 0;
}
