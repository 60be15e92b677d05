/* rules: pure parsers and matchers for --route rules and the no_proxy list.
 *
 * A rule is "PATTERN ACTION [URL...]".  PATTERN:
 *   *                   every target
 *   host.example        that name only (any case, a trailing dot ignored)
 *   .example.com        example.com and every subdomain (as squid's dstdomain)
 *   *.example.com       the subdomains only (as shExpMatch)
 *   10.1.2.3, ::1       that IP literal; 10.0.0.0/8, fd00::/8 a CIDR block
 * each optionally followed by :PORT or :LOW-HIGH (an IPv6 pattern then in brackets:
 * [fd00::/8]:443).  Name patterns match names only, IP patterns IP-literal targets only: a
 * name is never resolved to test a rule.  An IPv4-mapped IPv6 target (::ffff:10.1.2.3) is
 * also matched by the IPv4 patterns.  ACTION: direct, block, proxy [URL...] (these proxies
 * in failover order; without a URL the -x list), chain URL URL [URL...] (CONNECT through
 * each in turn).
 *
 * The no_proxy list follows curl 7.88.1's lib/noproxy.c (see socks2http(1), NO_PROXY), plus
 * an optional :PORT on an entry, which curl never matches.
 *
 * No I/O, no malloc, no logging. */
#ifndef SOCKS2HTTP_RULES_H
#define SOCKS2HTTP_RULES_H

#include <stddef.h>
#include <stdint.h>

#define RULES_MAX 64      /* rules in one configuration */
#define RULES_MAX_HOPS 8  /* proxies named by one rule */
#define NOPROXY_MAX 64    /* entries in a no_proxy list */
#define RULES_NAME_MAX 253

enum rule_action { RULE_DIRECT = 1, RULE_BLOCK, RULE_PROXY, RULE_CHAIN };

enum rule_kind {
	RULE_ALL = 1,        /* "*" */
	RULE_EXACT,          /* "host.example" */
	RULE_DOMAIN,         /* ".example.com": the name and its subdomains */
	RULE_SUBDOMAINS,     /* "*.example.com": subdomains only */
	RULE_IPV4,           /* addr[0..4) / prefix */
	RULE_IPV6,           /* addr[0..16) / prefix */
};

struct rule {
	uint8_t kind;              /* enum rule_kind */
	uint8_t prefix;            /* IP kinds: network bits (32 or 128 for one address) */
	uint16_t port_lo, port_hi; /* 1..65535 when no port was given */
	uint8_t addr[16];          /* IP kinds: the network, host bits cleared */
	char name[RULES_NAME_MAX + 1]; /* name kinds: lower case, without dots around */
	uint8_t action;            /* enum rule_action */
	uint8_t nhops;             /* RULE_PROXY: failover list (0: the -x list); RULE_CHAIN: hops in order (>= 2) */
	uint8_t hop[RULES_MAX_HOPS]; /* indices into config.route_proxies */
	char text[192];            /* the rule for log lines, credentials replaced by "***" */
};

/* One no_proxy entry, prepared as curl would test it against a target. */
struct noproxy_entry {
	char name[256];     /* for name targets: the token less one trailing and one leading dot */
	uint16_t name_len;  /* NOPROXY_NO_NAME: never matches a name */
	uint8_t family;     /* 4 or 6: matches IP targets of that family; 0: none */
	uint8_t prefix;     /* network bits, 1..32 or 1..128 */
	uint8_t addr[16];
	uint16_t port;      /* 0: any port */
};
#define NOPROXY_NO_NAME 0xffff

struct noproxy {
	int all;            /* the list is exactly "*" */
	size_t n;
	struct noproxy_entry e[NOPROXY_MAX];
};

/* Parses a no_proxy list: entries separated by commas and blanks; "*" alone matches every
 * target.  Never fails on an entry (curl ignores those it cannot use); returns 0, or -1
 * with err when there are more than NOPROXY_MAX entries. */
int noproxy_parse(const char *list, struct noproxy *out, char *err, size_t errlen);

/* host: a name (any case, maybe with a trailing dot) or an IP literal without brackets.
 * Returns 1 when the target is to go direct, else 0. */
int noproxy_match(const struct noproxy *np, const char *host, uint16_t port);

/* text "PATTERN ACTION [URL...]" (words separated by blanks); add_proxy registers a proxy
 * URL and returns its index (or -1 with err filled): config supplies it, deduplicating
 * equal URLs.  Returns 0, or -1 with err (which never repeats a URL: it may hold a
 * password). */
int rule_parse(const char *text, struct rule *out,
	       int (*add_proxy)(void *ctx, const char *url, char *err, size_t errlen), void *ctx,
	       char *err, size_t errlen);

/* Parses PATTERN alone into out's pattern fields.  Returns 0 or -1 with err. */
int rule_parse_pattern(const char *pattern, struct rule *out, char *err, size_t errlen);

/* Does rule r match (host, port)?  host as for noproxy_match. */
int rule_match(const struct rule *r, const char *host, uint16_t port);

/* index of the first rule matching (host, port), or -1 */
int rules_match(const struct rule *rules, size_t n, const char *host, uint16_t port);

/* Does the rule match every target ("*" on every port)? */
int rule_matches_all(const struct rule *r);

/* Copies a proxy URL into out (cap bytes) with its user and password, if any, replaced by
 * "***": alice:pw@proxy:3128 becomes ***@proxy:3128, the scheme kept.  Returns out. */
const char *rules_scrub_url(const char *url, char *out, size_t cap);

#endif
