/* test_rules: --route patterns and actions, first match, the no_proxy list (curl 7.88.1's
 * semantics plus :port), bad inputs and their messages, every split of a rule's text. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "rules.h"

static char err[256];
static char urls[16][256];
static int nurls;

/* a stand-in for config's: deduplicates equal URLs; "bad..." is refused */
static int add_proxy(void *ctx, const char *url, char *e, size_t elen)
{
	(void)ctx;
	if (strncmp(url, "bad", 3) == 0) {
		snprintf(e, elen, "bad proxy URL");
		return -1;
	}
	for (int i = 0; i < nurls; i++)
		if (strcmp(urls[i], url) == 0)
			return i;
	if (nurls == 16) {
		snprintf(e, elen, "too many proxies");
		return -1;
	}
	snprintf(urls[nurls], sizeof(urls[0]), "%s", url);
	return nurls++;
}

static int parse(const char *text, struct rule *r)
{
	err[0] = '\0';
	return rule_parse(text, r, add_proxy, NULL, err, sizeof(err));
}

static void check_err(const char *want)
{
	if (strstr(err, want) == NULL)
		fprintf(stderr, "message \"%s\" lacks \"%s\"\n", err, want);
	CHECK(strstr(err, want) != NULL);
}

/* does PATTERN (as "PATTERN direct") match host:port? */
static int m(const char *pattern, const char *host, unsigned port)
{
	struct rule r;
	char text[300];
	snprintf(text, sizeof(text), "%s direct", pattern);
	if (parse(text, &r) != 0) {
		fprintf(stderr, "pattern '%s' did not parse: %s\n", pattern, err);
		return -1;
	}
	return rule_match(&r, host, (uint16_t)port);
}

static void test_patterns(void)
{
	/* * */
	CHECK_EQ_INT(m("*", "example.com", 443), 1);
	CHECK_EQ_INT(m("*", "10.1.2.3", 1), 1);
	CHECK_EQ_INT(m("*", "::1", 65535), 1);
	CHECK_EQ_INT(m("*:443", "example.com", 443), 1);
	CHECK_EQ_INT(m("*:443", "example.com", 80), 0);

	/* one name */
	CHECK_EQ_INT(m("host.example", "host.example", 80), 1);
	CHECK_EQ_INT(m("host.example", "HOST.Example", 80), 1);
	CHECK_EQ_INT(m("host.example", "host.example.", 80), 1);
	CHECK_EQ_INT(m("HOST.EXAMPLE.", "host.example", 80), 1);
	CHECK_EQ_INT(m("host.example", "www.host.example", 80), 0);
	CHECK_EQ_INT(m("host.example", "xhost.example", 80), 0);
	CHECK_EQ_INT(m("host.example", "host.example.com", 80), 0);
	CHECK_EQ_INT(m("intranet", "intranet", 80), 1);

	/* .domain: the name and subdomains */
	CHECK_EQ_INT(m(".example.com", "example.com", 80), 1);
	CHECK_EQ_INT(m(".example.com", "a.example.com", 80), 1);
	CHECK_EQ_INT(m(".example.com", "a.b.EXAMPLE.com.", 80), 1);
	CHECK_EQ_INT(m(".example.com", "notexample.com", 80), 0);
	CHECK_EQ_INT(m(".example.com", "example.com.evil", 80), 0);

	/* *.domain: subdomains only */
	CHECK_EQ_INT(m("*.example.com", "example.com", 80), 0);
	CHECK_EQ_INT(m("*.example.com", "www.example.com", 80), 1);
	CHECK_EQ_INT(m("*.example.com", "a.b.example.com", 80), 1);
	CHECK_EQ_INT(m("*.example.com", "wwwexample.com", 80), 0);

	/* IPv4 literal and CIDR: IP targets only, never a name */
	CHECK_EQ_INT(m("10.1.2.3", "10.1.2.3", 22), 1);
	CHECK_EQ_INT(m("10.1.2.3", "10.1.2.4", 22), 0);
	CHECK_EQ_INT(m("10.0.0.0/8", "10.200.1.1", 22), 1);
	CHECK_EQ_INT(m("10.0.0.0/8", "11.0.0.1", 22), 0);
	CHECK_EQ_INT(m("10.0.0.0/8", "10.example", 22), 0);
	CHECK_EQ_INT(m("192.168.1.77/24", "192.168.1.1", 22), 1); /* host bits ignored */
	CHECK_EQ_INT(m("172.16.0.0/12", "172.31.255.255", 1), 1);
	CHECK_EQ_INT(m("172.16.0.0/12", "172.32.0.0", 1), 0);
	CHECK_EQ_INT(m("0.0.0.0/0", "8.8.8.8", 53), 1);
	CHECK_EQ_INT(m("0.0.0.0/0", "dns.google", 53), 0);
	CHECK_EQ_INT(m("0.0.0.0/0", "2001:db8::1", 53), 0);
	CHECK_EQ_INT(m("10.0.0.0/8", "::ffff:10.9.9.9", 22), 1); /* IPv4-mapped */
	CHECK_EQ_INT(m("10.1.2.3", "10.1.2.3.", 22), 0);         /* a name, not an address */

	/* IPv6 literal and CIDR */
	CHECK_EQ_INT(m("::1", "::1", 80), 1);
	CHECK_EQ_INT(m("::1", "0:0::1", 80), 1);
	CHECK_EQ_INT(m("::1", "127.0.0.1", 80), 0);
	CHECK_EQ_INT(m("fd00::/8", "fd12:3456::1", 80), 1);
	CHECK_EQ_INT(m("fd00::/8", "fe80::1", 80), 0);
	CHECK_EQ_INT(m("fc00::/7", "fd00::1", 80), 1); /* not a multiple of 8 */
	CHECK_EQ_INT(m("fc00::/7", "fe00::1", 80), 0);
	CHECK_EQ_INT(m("2001:db8::/33", "2001:db8:7fff::1", 80), 1);
	CHECK_EQ_INT(m("2001:db8::/33", "2001:db8:8000::1", 80), 0);
	CHECK_EQ_INT(m("[fd00::/8]", "fd00::5", 80), 1);
	CHECK_EQ_INT(m("[fd00::/8]:443", "fd00::5", 443), 1);
	CHECK_EQ_INT(m("[fd00::/8]:443", "fd00::5", 80), 0);
	CHECK_EQ_INT(m("[::1]:1-1024", "::1", 1024), 1);
	CHECK_EQ_INT(m("fd00::/8", "fd00.example", 80), 0);
	CHECK_EQ_INT(m("::/0", "2001:db8::1", 80), 1);
	CHECK_EQ_INT(m("::/0", "10.0.0.1", 80), 0);

	/* ports and ranges */
	CHECK_EQ_INT(m("example.com:443", "example.com", 443), 1);
	CHECK_EQ_INT(m("example.com:443", "example.com", 444), 0);
	CHECK_EQ_INT(m(".example.com:8000-8999", "a.example.com", 8000), 1);
	CHECK_EQ_INT(m(".example.com:8000-8999", "a.example.com", 8999), 1);
	CHECK_EQ_INT(m(".example.com:8000-8999", "a.example.com", 7999), 0);
	CHECK_EQ_INT(m(".example.com:8000-8999", "a.example.com", 9000), 0);
	CHECK_EQ_INT(m("10.0.0.0/8:22", "10.0.0.1", 22), 1);
	CHECK_EQ_INT(m("10.0.0.0/8:22", "10.0.0.1", 23), 0);
	CHECK_EQ_INT(m("*:1-65535", "x", 65535), 1);
	CHECK_EQ_INT(m("*:1-65535", "x", 0), 0);
	CHECK_EQ_INT(m("*", "x", 0), 1);

	struct rule r;
	CHECK_EQ_INT(parse("* direct", &r), 0);
	CHECK_EQ_INT(rule_matches_all(&r), 1);
	CHECK_EQ_INT(parse("*:1-65535 direct", &r), 0);
	CHECK_EQ_INT(rule_matches_all(&r), 0);
	CHECK_EQ_INT(parse(".x direct", &r), 0);
	CHECK_EQ_INT(rule_matches_all(&r), 0);
	CHECK_EQ_INT(parse("Intranet.LAN. block", &r), 0);
	CHECK_EQ_INT(r.kind, RULE_EXACT);
	CHECK_EQ_STR(r.name, "intranet.lan");
	CHECK_EQ_INT(parse("*.Corp.example block", &r), 0);
	CHECK_EQ_INT(r.kind, RULE_SUBDOMAINS);
	CHECK_EQ_STR(r.name, "corp.example");
	CHECK_EQ_INT(parse("10.1.2.3/16:80-81 block", &r), 0);
	CHECK_EQ_INT(r.kind, RULE_IPV4);
	CHECK_EQ_INT(r.prefix, 16);
	CHECK_EQ_INT(r.addr[2], 0);
	CHECK_EQ_INT(r.port_lo, 80);
	CHECK_EQ_INT(r.port_hi, 81);
}

static void test_actions(void)
{
	struct rule r;
	nurls = 0;

	CHECK_EQ_INT(parse(".lan direct", &r), 0);
	CHECK_EQ_INT(r.action, RULE_DIRECT);
	CHECK_EQ_INT(r.nhops, 0);
	CHECK_EQ_STR(r.text, ".lan direct");
	CHECK_EQ_INT(parse("  ads.example\t block  ", &r), 0);
	CHECK_EQ_INT(r.action, RULE_BLOCK);
	CHECK_EQ_STR(r.text, "ads.example block");
	CHECK_EQ_INT(parse("* proxy", &r), 0); /* the -x list */
	CHECK_EQ_INT(r.action, RULE_PROXY);
	CHECK_EQ_INT(r.nhops, 0);

	CHECK_EQ_INT(parse(".corp proxy http://p1:3128 http://p2:3128", &r), 0);
	CHECK_EQ_INT(r.action, RULE_PROXY);
	CHECK_EQ_INT(r.nhops, 2);
	CHECK_EQ_INT(r.hop[0], 0);
	CHECK_EQ_INT(r.hop[1], 1);
	CHECK_EQ_STR(urls[1], "http://p2:3128");
	/* equal URLs share one entry */
	CHECK_EQ_INT(parse("x.corp chain http://p2:3128 http://alice:s3cret@p3:8080 http://p1:3128", &r), 0);
	CHECK_EQ_INT(r.action, RULE_CHAIN);
	CHECK_EQ_INT(r.nhops, 3);
	CHECK_EQ_INT(r.hop[0], 1);
	CHECK_EQ_INT(r.hop[1], 2);
	CHECK_EQ_INT(r.hop[2], 0);
	CHECK_EQ_INT(nurls, 3);
	/* credentials never reach the text */
	CHECK_EQ_STR(r.text, "x.corp chain http://p2:3128 http://***@p3:8080 http://p1:3128");
	CHECK(strstr(r.text, "s3cret") == NULL && strstr(r.text, "alice") == NULL);

	/* eight hops at most */
	CHECK_EQ_INT(parse("a chain h1 h2 h3 h4 h5 h6 h7 h8", &r), 0);
	CHECK_EQ_INT(r.nhops, 8);
	CHECK_EQ_INT(parse("a chain h1 h2 h3 h4 h5 h6 h7 h8 h9", &r), -1);
	check_err("at most 8 proxies");
	CHECK_EQ_INT(parse("a proxy h1 h2 h3 h4 h5 h6 h7 h8 h9 h10 h11 h12", &r), -1);
	check_err("at most 8 proxies");

	/* a long rule's text is cut, visibly */
	char longrule[600];
	snprintf(longrule, sizeof(longrule), "a.example proxy http://%0150d.example:1 http://%0150d.example:2", 1, 2);
	CHECK_EQ_INT(parse(longrule, &r), 0);
	CHECK_EQ_INT(strlen(r.text), sizeof(r.text) - 1);
	CHECK(strcmp(r.text + sizeof(r.text) - 4, "...") == 0);
}

static void test_scrub(void)
{
	char out[192];
	CHECK_EQ_STR(rules_scrub_url("http://a:b@h:1", out, sizeof(out)), "http://***@h:1");
	CHECK_EQ_STR(rules_scrub_url("a:b@h:1", out, sizeof(out)), "***@h:1");
	CHECK_EQ_STR(rules_scrub_url("http://u@h", out, sizeof(out)), "http://***@h");
	CHECK_EQ_STR(rules_scrub_url("http://a:b@c@h/", out, sizeof(out)), "http://***@h/");
	CHECK_EQ_STR(rules_scrub_url("http://h:1/", out, sizeof(out)), "http://h:1/");
	CHECK_EQ_STR(rules_scrub_url("http://h/x@y", out, sizeof(out)), "http://***@y");
	CHECK_EQ_STR(rules_scrub_url("u:p@http://a:b@h", out, sizeof(out)), "***@h");
}

static void test_first_match(void)
{
	struct rule r[5];
	nurls = 0;
	CHECK_EQ_INT(parse("secret.corp.example block", &r[0]), 0);
	CHECK_EQ_INT(parse(".corp.example:22 direct", &r[1]), 0);
	CHECK_EQ_INT(parse(".corp.example proxy http://corp-proxy:8080", &r[2]), 0);
	CHECK_EQ_INT(parse("10.0.0.0/8 direct", &r[3]), 0);
	CHECK_EQ_INT(parse("* proxy", &r[4]), 0);
	CHECK_EQ_INT(rules_match(r, 5, "secret.corp.example", 22), 0);
	CHECK_EQ_INT(rules_match(r, 5, "git.corp.example", 22), 1);
	CHECK_EQ_INT(rules_match(r, 5, "git.corp.example", 443), 2);
	CHECK_EQ_INT(rules_match(r, 5, "10.1.1.1", 443), 3);
	CHECK_EQ_INT(rules_match(r, 5, "example.org", 443), 4);
	CHECK_EQ_INT(rules_match(r, 4, "example.org", 443), -1);
	CHECK_EQ_INT(rules_match(r, 0, "example.org", 443), -1);
}

static void test_bad(void)
{
	struct rule r;
	nurls = 0;
	CHECK_EQ_INT(parse("", &r), -1);
	check_err("empty rule");
	CHECK_EQ_INT(parse("   ", &r), -1);
	check_err("empty rule");
	CHECK_EQ_INT(parse("example.com", &r), -1);
	check_err("rule 'example.com' has no action");
	CHECK_EQ_INT(parse("example.com allow", &r), -1);
	check_err("unknown action 'allow'");
	CHECK_EQ_INT(parse("example.com DIRECT", &r), -1);
	check_err("unknown action");
	CHECK_EQ_INT(parse("example.com direct http://p", &r), -1);
	check_err("'direct' takes no URL");
	CHECK_EQ_INT(parse("example.com block http://p", &r), -1);
	check_err("'block' takes no URL");
	CHECK_EQ_INT(parse("example.com chain http://p", &r), -1);
	check_err("'chain' needs at least two proxy URLs");
	CHECK_EQ_INT(parse("example.com chain", &r), -1);
	check_err("'chain' needs at least two");
	CHECK_EQ_INT(parse("example.com proxy bad://x", &r), -1);
	check_err("rule 'example.com': proxy 1: bad proxy URL");
	CHECK_EQ_INT(rule_parse("x proxy http://p", &r, NULL, NULL, err, sizeof(err)), -1);
	check_err("not accepted");

	static const char *const bad_patterns[] = {
		"exa mple.com", "ex*ample.com", "*example.com", "**.example.com", "*.", ".", "..example", "a..b",
		"exa$mple", "10.0.0", "10.0.0.256", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/x", "10.0.0.0/-1",
		"1.2.3.4/8/8", "host/24", "fd00::/129", "fd00::/", "fd00::g", "[fd00::1", "[fd00::1]x",
		"[10.0.0.1]", "[fd00::1]:", "[fd00::1]:0", "example.com:", "example.com:0", "example.com:65536",
		"example.com:80-", "example.com:-80", "example.com:90-80", "example.com:http", "example.com:1-2-3",
		":80", "*:", "[]", "[]:80",
	};
	char text[128];
	for (size_t i = 0; i < sizeof(bad_patterns) / sizeof(bad_patterns[0]); i++) {
		snprintf(text, sizeof(text), "%s direct", bad_patterns[i]);
		int rc = parse(text, &r);
		if (rc != -1)
			fprintf(stderr, "pattern '%s' was accepted\n", bad_patterns[i]);
		CHECK_EQ_INT(rc, -1);
		CHECK(err[0] != '\0');
	}
	CHECK_EQ_INT(parse("10.0.0.0/33 direct", &r), -1);
	check_err("bad IPv4 address or prefix in pattern '10.0.0.0/33'");
	CHECK_EQ_INT(parse("fd00::1:80 direct", &r), 0); /* an address, not a port */
	CHECK_EQ_INT(r.kind, RULE_IPV6);
	CHECK_EQ_INT(parse("fd00::/129 direct", &r), -1);
	check_err("with a port: [fd00::/8]:443");
	CHECK_EQ_INT(parse("example.com:99999 direct", &r), -1);
	check_err("bad port in pattern 'example.com:99999'");
	CHECK_EQ_INT(parse("exa$mple direct", &r), -1);
	check_err("bad pattern 'exa$mple'");

	char name[80];
	memset(name, 'a', 63);
	name[63] = '\0';
	snprintf(text, sizeof(text), "%s.x direct", name);
	CHECK_EQ_INT(parse(text, &r), 0);
	memset(name, 'a', 64);
	name[64] = '\0';
	snprintf(text, sizeof(text), "%s.x direct", name);
	CHECK_EQ_INT(parse(text, &r), -1); /* a label over 63 bytes */

	/* a pattern that may hold credentials is not echoed */
	CHECK_EQ_INT(parse("http://alice:s3cret@p:1 direct", &r), -1);
	CHECK(strstr(err, "s3cret") == NULL);
	CHECK_EQ_INT(parse("http://alice:s3cret@p:1", &r), -1);
	CHECK(strstr(err, "s3cret") == NULL);
	CHECK_EQ_INT(parse("x http://alice:s3cret@p:1", &r), -1);
	CHECK(strstr(err, "s3cret") == NULL);
	CHECK_EQ_INT(parse("x chain http://alice:s3cret@p:1", &r), -1);
	CHECK(strstr(err, "s3cret") == NULL);

	char huge[3000];
	memset(huge, 'a', sizeof(huge) - 1);
	huge[sizeof(huge) - 1] = '\0';
	CHECK_EQ_INT(parse(huge, &r), -1);
	check_err("too long");
}

/* Every prefix and suffix of valid rules: parses or fails with a message, never past the
 * cut; a prefix that parses is a valid rule on its own. */
static void test_splits(void)
{
	static const char *const rules[] = {
		".example.com:8000-8999 proxy http://alice:pw@p1:3128 http://p2",
		"[fd00::/8]:443 chain http://a:1 http://b:2",
		"10.0.0.0/8 block",
		"*.corp.example direct",
	};
	struct rule r;
	char buf[128];
	for (size_t k = 0; k < sizeof(rules) / sizeof(rules[0]); k++) {
		size_t n = strlen(rules[k]);
		for (size_t cut = 0; cut <= n; cut++) {
			memcpy(buf, rules[k], cut);
			buf[cut] = '\0';
			nurls = 0;
			int rc = parse(buf, &r);
			CHECK(rc == 0 || (rc == -1 && err[0] != '\0'));
			CHECK(strstr(err, "pw@") == NULL);
			if (rc == 0)
				CHECK(strlen(r.text) <= cut);
			nurls = 0;
			rc = parse(rules[k] + cut, &r);
			CHECK(rc == 0 || (rc == -1 && err[0] != '\0'));
		}
	}
}

static int np(const char *list, const char *host, unsigned port)
{
	struct noproxy l;
	err[0] = '\0';
	if (noproxy_parse(list, &l, err, sizeof(err)) != 0)
		return -1;
	return noproxy_match(&l, host, (uint16_t)port);
}

static void test_noproxy(void)
{
	/* "*" is a wildcard only as the whole list */
	CHECK_EQ_INT(np("*", "anything.example", 1), 1);
	CHECK_EQ_INT(np("*", "10.0.0.1", 1), 1);
	CHECK_EQ_INT(np("*,example.com", "other.example", 1), 0);
	CHECK_EQ_INT(np(" *", "other.example", 1), 0);
	CHECK_EQ_INT(np("*.example.com", "www.example.com", 1), 0);
	CHECK_EQ_INT(np("", "example.com", 1), 0);
	CHECK_EQ_INT(np(NULL, "example.com", 1), 0);
	CHECK_EQ_INT(np("example.com", "", 1), 0);
	CHECK_EQ_INT(np("*", "", 1), 0);

	/* names: the name and its subdomains, leading dot or not, any case, trailing dots */
	CHECK_EQ_INT(np("example.com", "example.com", 80), 1);
	CHECK_EQ_INT(np("example.com", "www.example.com", 80), 1);
	CHECK_EQ_INT(np("example.com", "notexample.com", 80), 0);
	CHECK_EQ_INT(np(".example.com", "example.com", 80), 1);
	CHECK_EQ_INT(np(".example.com", "a.b.example.com", 80), 1);
	CHECK_EQ_INT(np("EXAMPLE.com", "www.Example.COM", 80), 1);
	CHECK_EQ_INT(np("example.com.", "www.example.com", 80), 1);
	CHECK_EQ_INT(np("example.com", "www.example.com.", 80), 1);
	CHECK_EQ_INT(np("example.com..", "example.com", 80), 0); /* one dot only */
	CHECK_EQ_INT(np("..example.com", "example.com", 80), 0);
	CHECK_EQ_INT(np("..example.com", "x..example.com", 80), 1);
	CHECK_EQ_INT(np("www.example.com", "example.com", 80), 0);
	CHECK_EQ_INT(np("com", "example.com", 80), 1);

	/* separators: commas and blanks, in any number */
	CHECK_EQ_INT(np("a.example, b.example", "b.example", 1), 1);
	CHECK_EQ_INT(np("a.example b.example", "b.example", 1), 1);
	CHECK_EQ_INT(np(",,a.example,\t,b.example,,", "b.example", 1), 1);
	CHECK_EQ_INT(np("a.example;b.example", "b.example", 1), 0);

	/* IPv4: literal and CIDR, IP targets only */
	CHECK_EQ_INT(np("10.1.2.3", "10.1.2.3", 1), 1);
	CHECK_EQ_INT(np("10.1.2.3", "10.1.2.4", 1), 0);
	CHECK_EQ_INT(np("10.0.0.0/8", "10.255.0.1", 1), 1);
	CHECK_EQ_INT(np("10.0.0.0/8", "11.0.0.1", 1), 0);
	CHECK_EQ_INT(np("192.168.0.0/16", "192.168.44.1", 1), 1);
	CHECK_EQ_INT(np("10.0.0.0/8", "ten.example", 1), 0);
	CHECK_EQ_INT(np("10.0.0.0/0", "10.0.0.0", 1), 1); /* curl: /0 is one address */
	CHECK_EQ_INT(np("10.0.0.0/0", "10.0.0.1", 1), 0);
	CHECK_EQ_INT(np("10.0.0.0/33", "10.0.0.0", 1), 0);
	CHECK_EQ_INT(np("10.0.0.0/-8", "10.0.0.0", 1), 0);
	CHECK_EQ_INT(np("10.0.0.0/8x", "10.9.0.0", 1), 1);   /* atoi */
	CHECK_EQ_INT(np("10.0.0.0/x", "10.0.0.0", 1), 1);    /* atoi: 0 */
	CHECK_EQ_INT(np("10.0.0.1.", "10.0.0.1", 1), 0);
	CHECK_EQ_INT(np(".10.0.0.1", "10.0.0.1", 1), 0);
	CHECK_EQ_INT(np("0.0.1", "10.0.0.1", 1), 0);
	CHECK_EQ_INT(np("0.1", "host.0.1", 1), 1);           /* a name's tail, as text */
	CHECK_EQ_INT(np("10.0.0.1", "::ffff:10.0.0.1", 1), 0);
	CHECK_EQ_INT(np("127.0.0.1", "localhost", 1), 0);

	/* IPv6: compared as addresses (curl 8.18; 7.88.1 compares IPv6 targets as text) */
	CHECK_EQ_INT(np("::1", "::1", 1), 1);
	CHECK_EQ_INT(np("0:0:0:0:0:0:0:1", "::1", 1), 1);
	CHECK_EQ_INT(np("::/120", "::1", 1), 1);
	CHECK_EQ_INT(np("::1/128", "::1", 1), 1);
	CHECK_EQ_INT(np("::/0", "::1", 1), 0); /* /0 is one address, as for IPv4 */
	CHECK_EQ_INT(np("::1", "0::0:1", 1), 1);
	CHECK_EQ_INT(np("::1", "::2", 1), 0);
	CHECK_EQ_INT(np("fd00::/8", "fd12::1", 1), 1);
	CHECK_EQ_INT(np("fd00::/8", "fe12::1", 1), 0);
	CHECK_EQ_INT(np("fc00::/7", "fd00::1", 1), 1); /* curl 8.17's fix, not 7.88.1's inverted mask */
	CHECK_EQ_INT(np("fc00::/7", "::1", 1), 0);
	CHECK_EQ_INT(np("2001:db8::/32", "2001:db8:1::1", 1), 1);
	CHECK_EQ_INT(np("2001:db8::/129", "2001:db8::", 1), 0);
	CHECK_EQ_INT(np("::1", "127.0.0.1", 1), 0);
	CHECK_EQ_INT(np("::ffff:10.0.0.1", "10.0.0.1", 1), 0);

	/* :port, our own: curl never matches such an entry */
	CHECK_EQ_INT(np("example.com:8080", "example.com", 8080), 1);
	CHECK_EQ_INT(np("example.com:8080", "www.example.com", 8080), 1);
	CHECK_EQ_INT(np("example.com:8080", "example.com", 80), 0);
	CHECK_EQ_INT(np(".example.com:443", "a.example.com", 443), 1);
	CHECK_EQ_INT(np("10.0.0.0/8:22", "10.1.1.1", 22), 1);
	CHECK_EQ_INT(np("10.0.0.0/8:22", "10.1.1.1", 23), 0);
	CHECK_EQ_INT(np("10.0.0.1:22", "10.0.0.1", 22), 1);
	CHECK_EQ_INT(np("[::1]:8080", "::1", 8080), 1);
	CHECK_EQ_INT(np("[::1]:8080", "::1", 80), 0);
	CHECK_EQ_INT(np("[fd00::/8]:443", "fd01::1", 443), 1);
	CHECK_EQ_INT(np("[::1]", "::1", 1), 1);
	CHECK_EQ_INT(np("[::1]x", "::1", 1), 0);
	CHECK_EQ_INT(np("[10.0.0.1]", "10.0.0.1", 1), 0);
	CHECK_EQ_INT(np("::1:80", "::1:80", 1), 1); /* two colons: an IPv6 address */
	CHECK_EQ_INT(np("::1:80", "::1", 80), 0);
	CHECK_EQ_INT(np("example.com:0", "example.com", 0), 0);
	CHECK_EQ_INT(np("example.com:http", "example.com", 80), 0);
	CHECK_EQ_INT(np(":80", "example.com", 80), 0);
	CHECK_EQ_INT(np("example.com.:80", "example.com", 80), 1);

	/* limits */
	char list[NOPROXY_MAX * 4 + 8];
	size_t n = 0;
	for (int i = 0; i < NOPROXY_MAX; i++)
		n += (size_t)snprintf(list + n, sizeof(list) - n, "h%d,", i % 10);
	CHECK_EQ_INT(np(list, "h3", 1), 1);
	snprintf(list + n, sizeof(list) - n, "x");
	CHECK_EQ_INT(np(list, "h3", 1), -1);
	check_err("more than 64 entries");

	/* long tokens: a name over 255 bytes never matches; long IP tokens never match IPs */
	char longname[400];
	memset(longname, 'a', 300);
	longname[300] = '\0';
	CHECK_EQ_INT(np(longname, longname, 1), 0);
	memset(longname, 'a', 255);
	longname[255] = '\0';
	CHECK_EQ_INT(np(longname, longname, 1), 1);
	snprintf(longname, sizeof(longname), "10.0.0.0/%0200d", 8);
	CHECK_EQ_INT(np(longname, "10.0.0.0", 1), 0);
}

/* test/e2e/noproxy_cases.txt, the table test_noproxy_curl.py proves to be curl's own
 * behaviour: noproxy_match agrees with every row. */
static void test_curl_table(void)
{
	const char *srcdir = getenv("srcdir");
	char path[1024], line[1024];
	snprintf(path, sizeof(path), "%s/test/e2e/noproxy_cases.txt", srcdir ? srcdir : ".");
	FILE *f = fopen(path, "r");
	CHECK(f != NULL);
	if (f == NULL) {
		fprintf(stderr, "cannot open %s (set srcdir)\n", path);
		return;
	}
	int rows = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		char *list = strtok(line, "\t"), *host = strtok(NULL, "\t"), *port = strtok(NULL, "\t"),
		     *want = strtok(NULL, "\t");
		if (list == NULL || host == NULL || port == NULL || want == NULL) {
			CHECK(line[0] == '\0');
			continue;
		}
		int got = np(list, host, (unsigned)atoi(port));
		if (got != (strcmp(want, "direct") == 0))
			fprintf(stderr, "noproxy_cases.txt: '%s' %s:%s should go %s\n", list, host, port, want);
		CHECK_EQ_INT(got, strcmp(want, "direct") == 0);
		rows++;
	}
	fclose(f);
	CHECK(rows >= 40);
}

int main(void)
{
	test_patterns();
	test_actions();
	test_scrub();
	test_first_match();
	test_bad();
	test_splits();
	test_noproxy();
	test_curl_table();
	return check_report();
}
