/* test_pacanswer: every entry form of a PAC answer, blanks, case, ports, IPv6, skipped
 * entries, the answer split at every point; and the url argument. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "pacanswer.h"

static struct pacanswer ans;
static char err[128];

/* Parses a heap copy of exactly strlen(text) bytes (no NUL), so ASan sees reads past it. */
static int parse(const char *text)
{
	size_t n = strlen(text);
	char *copy = malloc(n ? n : 1);
	if (copy == NULL)
		abort();
	memcpy(copy, text, n);
	memset(err, 0, sizeof(err));
	int rc = pacanswer_parse(copy, n, &ans, err, sizeof(err));
	free(copy);
	return rc;
}

static void check_entry(int i, int kind, const char *host, int port)
{
	CHECK(i < ans.n);
	CHECK_EQ_INT(ans.e[i].kind, kind);
	CHECK_EQ_STR(ans.e[i].host, host);
	CHECK_EQ_INT(ans.e[i].port, port);
}

/* text parses to one entry */
static void check_one(const char *text, int kind, const char *host, int port)
{
	int rc = parse(text);
	if (rc != 0 || ans.n != 1)
		fprintf(stderr, "\"%s\": rc %d, n %d, %s\n", text, rc, ans.n, err);
	CHECK_EQ_INT(rc, 0);
	CHECK_EQ_INT(ans.n, 1);
	CHECK_EQ_INT(ans.skipped, 0);
	check_entry(0, kind, host, port);
}

/* text has no usable entry; skipped entries counted */
static void check_none(const char *text, int skipped)
{
	int rc = parse(text);
	if (rc != -1)
		fprintf(stderr, "\"%s\" parsed\n", text);
	CHECK_EQ_INT(rc, -1);
	CHECK_EQ_INT(ans.n, 0);
	CHECK_EQ_INT(ans.skipped, skipped);
	CHECK(err[0] != '\0');
}

static void test_forms(void)
{
	check_one("DIRECT", PAC_DIRECT, "", 0);
	check_one("PROXY proxy.example.com:3128", PAC_PROXY, "proxy.example.com", 3128);
	check_one("HTTP proxy:8080", PAC_PROXY, "proxy", 8080);
	check_one("HTTPS secure.example:443", PAC_HTTPS, "secure.example", 443);
	check_one("SOCKS s:1080", PAC_SOCKS, "s", 1080);
	check_one("SOCKS4 s:1081", PAC_SOCKS, "s", 1081);
	check_one("SOCKS5 s:1082", PAC_SOCKS, "s", 1082);
	check_one("PROXY 10.0.0.1:3128", PAC_PROXY, "10.0.0.1", 3128);
	check_one("PROXY my_proxy-1.lan.:1", PAC_PROXY, "my_proxy-1.lan.", 1);
	check_one("PROXY p:65535", PAC_PROXY, "p", 65535);
}

static void test_case_and_blanks(void)
{
	check_one("direct", PAC_DIRECT, "", 0);
	check_one("Direct", PAC_DIRECT, "", 0);
	check_one("proxy p:1", PAC_PROXY, "p", 1);
	check_one("pRoXy P.Example:2", PAC_PROXY, "P.Example", 2);
	check_one("https h:3", PAC_HTTPS, "h", 3);
	check_one("socks5 h:4", PAC_SOCKS, "h", 4);
	check_one("  PROXY   p:1  ", PAC_PROXY, "p", 1);
	check_one("\tPROXY\tp:1\t", PAC_PROXY, "p", 1);
	check_one("\r\nPROXY \r\n p:1\r\n", PAC_PROXY, "p", 1);
	check_one("PROXY p:1;", PAC_PROXY, "p", 1);
	check_one(";;PROXY p:1;;", PAC_PROXY, "p", 1);
	check_one(" ; DIRECT ; ", PAC_DIRECT, "", 0);
}

static void test_ports(void)
{
	/* missing: the scheme's default, as Chromium */
	check_one("PROXY p", PAC_PROXY, "p", 80);
	check_one("HTTP p", PAC_PROXY, "p", 80);
	check_one("HTTPS p", PAC_HTTPS, "p", 443);
	check_one("SOCKS p", PAC_SOCKS, "p", 1080);
	check_one("SOCKS5 [::1]", PAC_SOCKS, "::1", 1080);
	check_one("PROXY 1.2.3.4", PAC_PROXY, "1.2.3.4", 80);
	/* bad */
	check_none("PROXY p:", 1);
	check_none("PROXY p:0", 1);
	check_none("PROXY p:65536", 1);
	check_none("PROXY p:99999", 1);
	check_none("PROXY p:123456", 1);
	check_none("PROXY p:-1", 1);
	check_none("PROXY p:+1", 1);
	check_none("PROXY p:8080x", 1);
	check_none("PROXY p:80:80", 1);
	check_none("PROXY p: 80", 1);
	check_none("PROXY p :80", 1);
}

static void test_ipv6(void)
{
	check_one("PROXY [::1]:3128", PAC_PROXY, "::1", 3128);
	check_one("PROXY [2001:db8::17]:8080", PAC_PROXY, "2001:db8::17", 8080);
	check_one("HTTPS [fd00::1]", PAC_HTTPS, "fd00::1", 443);
	check_one("PROXY [::ffff:10.0.0.1]:1", PAC_PROXY, "::ffff:10.0.0.1", 1);
	check_none("PROXY ::1:3128", 1);       /* unbracketed */
	check_none("PROXY [::1:3128", 1);      /* unclosed */
	check_none("PROXY []:3128", 1);
	check_none("PROXY [::g]:3128", 1);
	check_none("PROXY [10.0.0.1]:3128", 1); /* brackets are for IPv6 */
	check_none("PROXY [::1]x:3128", 1);
	check_none("PROXY [::1]:", 1);
	check_none("PROXY [fe80::1%eth0]:1", 1);
}

static void test_bad_entries(void)
{
	check_none("", 0);
	check_none("   ", 0);
	check_none(";;", 0);
	check_none("PROXY", 1);
	check_none("PROXY   ", 1);
	check_none("DIRECT now", 1);
	check_none("DIRECTLY", 1);
	check_none("QUIC q:443", 1);
	check_none("FTP f:21", 1);
	check_none("PROXY a:1 b:2", 1);
	check_none("PROXY a b", 1);
	check_none("PROXY http://p:3128", 1);
	check_none("PROXY user@p:3128", 1);
	check_none("PROXY .p:1", 1);
	check_none("PROXY a..b:1", 1);
	check_none("PROXY a/b:1", 1);
	check_none("PROXY 999.1.1.1:1", 1);
	check_none("PROXY 1.2.3:1", 1);
	check_none("PROXY,p:1", 1);
	check_none("x; y; z", 3);

	/* a NUL byte is a bad character, not an end */
	static const char nul[] = "PROXY a\0b:1; DIRECT";
	CHECK_EQ_INT(pacanswer_parse(nul, sizeof(nul) - 1, &ans, err, sizeof(err)), 0);
	CHECK_EQ_INT(ans.n, 1);
	CHECK_EQ_INT(ans.skipped, 1);
	check_entry(0, PAC_DIRECT, "", 0);

	/* a 253-byte name fits, 254 does not */
	char text[300];
	strcpy(text, "PROXY ");
	memset(text + 6, 'a', 253);
	strcpy(text + 6 + 253, ":1");
	CHECK_EQ_INT(parse(text), 0);
	CHECK_EQ_INT(strlen(ans.e[0].host), 253);
	memset(text + 6, 'a', 254);
	strcpy(text + 6 + 254, ":1");
	check_none(text, 1);
}

static void test_lists(void)
{
	CHECK_EQ_INT(parse("PROXY a:1; PROXY b:2; DIRECT"), 0);
	CHECK_EQ_INT(ans.n, 3);
	CHECK_EQ_INT(ans.skipped, 0);
	check_entry(0, PAC_PROXY, "a", 1);
	check_entry(1, PAC_PROXY, "b", 2);
	check_entry(2, PAC_DIRECT, "", 0);

	CHECK_EQ_INT(parse("BOGUS x; PROXY a:1;PROXY b:0 ;SOCKS5 [::1]:9;  HTTPS h:443 ;DIRECT;"), 0);
	CHECK_EQ_INT(ans.n, 4);
	CHECK_EQ_INT(ans.skipped, 2);
	check_entry(0, PAC_PROXY, "a", 1);
	check_entry(1, PAC_SOCKS, "::1", 9);
	check_entry(2, PAC_HTTPS, "h", 443);
	check_entry(3, PAC_DIRECT, "", 0);

	/* more than PACANSWER_MAX: the rest is skipped and counted */
	char text[2048] = "";
	for (int i = 0; i < PACANSWER_MAX + 3; i++) {
		char one[32];
		snprintf(one, sizeof(one), "PROXY p%d:%d;", i, i + 1);
		strcat(text, one);
	}
	CHECK_EQ_INT(parse(text), 0);
	CHECK_EQ_INT(ans.n, PACANSWER_MAX);
	CHECK_EQ_INT(ans.skipped, 3);
	check_entry(PACANSWER_MAX - 1, PAC_PROXY, "p15", 16);

	/* the skipped count stops at 255 */
	static char many[4 * 300 + 16];
	many[0] = '\0';
	for (int i = 0; i < 300; i++)
		strcat(many, "x;");
	strcat(many, "DIRECT");
	CHECK_EQ_INT(parse(many), 0);
	CHECK_EQ_INT(ans.skipped, 255);
	CHECK_EQ_INT(ans.n, 1);

	/* the message quotes nothing of the text */
	CHECK_EQ_INT(parse("PROXY secret-name"), 0);
	CHECK_EQ_INT(parse("NOPE secret-name"), -1);
	CHECK(strstr(err, "secret") == NULL);
	CHECK(strstr(err, "1 skipped") != NULL);
	CHECK_EQ_INT(parse(""), -1);
	CHECK_EQ_STR(err, "empty answer");
}

/* Every prefix of an answer parses on its own (no read past len), and the whole answer gives
 * the same entries whatever follows a cut: the parser reads only [0, len). */
static void test_split_points(void)
{
	const char *text = "PROXY [2001:db8::1]:3128; HTTPS h.example:8443;SOCKS5 10.1.2.3:1080 ; DIRECT";
	size_t n = strlen(text);
	for (size_t cut = 0; cut <= n; cut++) {
		char *copy = malloc(cut ? cut : 1);
		if (copy == NULL)
			abort();
		memcpy(copy, text, cut);
		int rc = pacanswer_parse(copy, cut, &ans, err, sizeof(err));
		free(copy);
		CHECK(rc == 0 || rc == -1);
		CHECK(ans.n <= 4);
		CHECK((rc == 0) == (ans.n > 0));
	}
	CHECK_EQ_INT(parse(text), 0);
	CHECK_EQ_INT(ans.n, 4);
	check_entry(0, PAC_PROXY, "2001:db8::1", 3128);
	check_entry(1, PAC_HTTPS, "h.example", 8443);
	check_entry(2, PAC_SOCKS, "10.1.2.3", 1080);
	check_entry(3, PAC_DIRECT, "", 0);
	/* cut inside the first port: the first entry still parses, with a shorter port */
	CHECK_EQ_INT(pacanswer_parse(text, 22, &ans, err, sizeof(err)), 0);
	check_entry(0, PAC_PROXY, "2001:db8::1", 31);
	/* cut inside the bracket: nothing */
	CHECK_EQ_INT(pacanswer_parse(text, 12, &ans, err, sizeof(err)), -1);
}

static void test_url(void)
{
	char out[300];
	CHECK_EQ_INT(pacanswer_url("example.com", 443, out, sizeof(out)), 0);
	CHECK_EQ_STR(out, "https://example.com/");
	CHECK_EQ_INT(pacanswer_url("example.com", 80, out, sizeof(out)), 0);
	CHECK_EQ_STR(out, "http://example.com/");
	CHECK_EQ_INT(pacanswer_url("example.com", 22, out, sizeof(out)), 0);
	CHECK_EQ_STR(out, "http://example.com:22/");
	CHECK_EQ_INT(pacanswer_url("10.0.0.1", 8443, out, sizeof(out)), 0);
	CHECK_EQ_STR(out, "http://10.0.0.1:8443/");
	CHECK_EQ_INT(pacanswer_url("2001:db8::1", 443, out, sizeof(out)), 0);
	CHECK_EQ_STR(out, "https://[2001:db8::1]/");
	CHECK_EQ_INT(pacanswer_url("::1", 80, out, sizeof(out)), 0);
	CHECK_EQ_STR(out, "http://[::1]/");
	CHECK_EQ_INT(pacanswer_url("::1", 65535, out, sizeof(out)), 0);
	CHECK_EQ_STR(out, "http://[::1]:65535/");
	CHECK_EQ_INT(pacanswer_url("", 80, out, sizeof(out)), -1);
	/* exactly fitting, one byte short */
	CHECK_EQ_INT(pacanswer_url("ab", 80, out, 12), 0);
	CHECK_EQ_STR(out, "http://ab/");
	CHECK_EQ_INT(pacanswer_url("ab", 80, out, 11), 0);
	CHECK_EQ_INT(pacanswer_url("ab", 80, out, 10), -1);
	CHECK_EQ_STR(out, "");
	CHECK_EQ_INT(pacanswer_url("ab", 80, out, 0), -1);
}

int main(void)
{
	test_forms();
	test_case_and_blanks();
	test_ports();
	test_ipv6();
	test_bad_entries();
	test_lists();
	test_split_points();
	test_url();
	return check_report();
}
