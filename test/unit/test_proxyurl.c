/* test_proxyurl: proxy URL parsing, percent-decoding, and that no message shows a password. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "proxyurl.h"

static struct proxy_spec spec;
static char err[256];

/* Parses a heap copy of url, so ASan reports reads past its NUL. */
static int parse(const char *url)
{
	size_t n = strlen(url) + 1;
	char *copy = malloc(n);
	if (copy == NULL)
		abort();
	memcpy(copy, url, n);
	memset(err, 0, sizeof(err));
	int rc = proxyurl_parse(copy, &spec, err, sizeof(err));
	free(copy);
	return rc;
}

/* A URL that must parse to host:port without credentials. */
static void check_ok(const char *url, const char *host, int port)
{
	int rc = parse(url);
	if (rc != 0)
		fprintf(stderr, "%s: %s\n", url, err);
	CHECK_EQ_INT(rc, 0);
	CHECK_EQ_STR(spec.host, host);
	CHECK_EQ_INT(spec.port, port);
	CHECK_EQ_INT(spec.has_auth, 0);
	CHECK_EQ_STR(spec.user, "");
	CHECK_EQ_STR(spec.pass, "");
}

/* A URL that must fail with a message containing want. */
static void check_fail(const char *url, const char *want)
{
	int rc = parse(url);
	CHECK_EQ_INT(rc, -1);
	if (strstr(err, want) == NULL)
		fprintf(stderr, "%s: message \"%s\" lacks \"%s\"\n", url, err, want);
	CHECK(strstr(err, want) != NULL);
}

static void test_schemes(void)
{
	check_ok("proxy.example.com:3128", "proxy.example.com", 3128);
	check_ok("http://proxy.example.com:3128", "proxy.example.com", 3128);
	check_ok("HTTP://proxy:8080", "proxy", 8080);
	check_ok("HtTp://proxy", "proxy", 80);
	check_ok("http://10.0.0.1:3128", "10.0.0.1", 3128);
	check_ok("http://my_proxy-1.lan", "my_proxy-1.lan", 80);

	check_ok("https://proxy:8443", "proxy", 8443);
	CHECK_EQ_INT(spec.tls, 1);
	check_ok("HTTPS://proxy", "proxy", 443); /* curl's default port for an https proxy */
	CHECK_EQ_INT(spec.tls, 1);
	check_ok("http://proxy", "proxy", 80);
	CHECK_EQ_INT(spec.tls, 0);
	check_fail("httpx://proxy:443", "unsupported scheme 'httpx'");
	check_fail("socks5://proxy:1080", "unsupported scheme 'socks5'");
	check_fail("socks5h://proxy:1080", "unsupported scheme 'socks5h'");
	check_fail("ftp://proxy", "unsupported scheme 'ftp'");
	check_fail("://proxy", "malformed proxy URL");
	check_fail("1http://proxy", "malformed proxy URL");
	check_fail("svn+ssh://proxy", "unsupported scheme 'svn+ssh'");
	check_fail("httpx://proxy", "unsupported scheme 'httpx'");
}

static void test_userinfo(void)
{
	CHECK_EQ_INT(parse("http://alice:s3cret@proxy:3128"), 0);
	CHECK_EQ_INT(spec.has_auth, 1);
	CHECK_EQ_STR(spec.user, "alice");
	CHECK_EQ_STR(spec.pass, "s3cret");
	CHECK_EQ_STR(spec.host, "proxy");
	CHECK_EQ_INT(spec.port, 3128);

	/* percent-decoding: '@' and ':' in credentials, lowercase hex, bytes >= 0x80 */
	CHECK_EQ_INT(parse("http://us%40er.com:p%3Ass%40w%25rd%2f%C3%A9@proxy"), 0);
	CHECK_EQ_STR(spec.user, "us@er.com");
	CHECK_EQ_STR(spec.pass, "p:ss@w%rd/\xc3\xa9");
	/* a raw ':' in the password is fine: the first ':' splits */
	CHECK_EQ_INT(parse("http://bob:a:b:c@proxy"), 0);
	CHECK_EQ_STR(spec.user, "bob");
	CHECK_EQ_STR(spec.pass, "a:b:c");
	/* the last '@' ends the userinfo */
	CHECK_EQ_INT(parse("http://user:p@ss@w@proxy:8080"), 0);
	CHECK_EQ_STR(spec.user, "user");
	CHECK_EQ_STR(spec.pass, "p@ss@w");
	CHECK_EQ_STR(spec.host, "proxy");
	CHECK_EQ_INT(spec.port, 8080);
	/* a user without a password (SOCKS2HTTP_PROXY_PASSWORD may fill it in later) */
	CHECK_EQ_INT(parse("http://user@proxy"), 0);
	CHECK_EQ_INT(spec.has_auth, 1);
	CHECK_EQ_STR(spec.user, "user");
	CHECK_EQ_STR(spec.pass, "");
	CHECK_EQ_INT(parse("user:@proxy"), 0);
	CHECK_EQ_INT(spec.has_auth, 1);
	CHECK_EQ_STR(spec.pass, "");
	CHECK_EQ_INT(parse("http://@proxy"), 0);
	CHECK_EQ_INT(spec.has_auth, 1);
	CHECK_EQ_STR(spec.user, "");
	CHECK_EQ_INT(parse("http://:pw@proxy"), 0);
	CHECK_EQ_STR(spec.user, "");
	CHECK_EQ_STR(spec.pass, "pw");

	/* Basic auth cannot carry a ':' in the user name */
	check_fail("http://a%3Ab:pw@proxy", "user name");
	/* bad escapes and encoded NULs */
	check_fail("http://us%4@proxy", "bad user name");
	check_fail("http://us%@proxy", "bad user name");
	check_fail("http://us%zz@proxy", "bad user name");
	check_fail("http://us%4g@proxy", "bad user name");
	check_fail("http://us%00er@proxy", "bad user name");
	check_fail("http://user:pw%@proxy", "bad password");
	check_fail("http://user:pw%0@proxy", "bad password");
	check_fail("http://user:p%00w@proxy", "bad password");
	check_fail("http://user:p%g0w@proxy", "bad password");

	/* 255 decoded bytes fit, 256 do not, also when they come from escapes */
	char url[1700], cred[800];
	memset(cred, 'u', 255);
	cred[255] = '\0';
	snprintf(url, sizeof(url), "http://%s:%s@proxy", cred, cred);
	CHECK_EQ_INT(parse(url), 0);
	CHECK_EQ_INT(strlen(spec.user), 255);
	CHECK_EQ_INT(strlen(spec.pass), 255);
	memset(cred, 'u', 256);
	cred[256] = '\0';
	snprintf(url, sizeof(url), "http://%s:pw@proxy", cred);
	check_fail(url, "bad user name");
	snprintf(url, sizeof(url), "http://user:%s@proxy", cred);
	check_fail(url, "bad password");
	for (int i = 0; i < 256; i++)
		memcpy(cred + 3 * i, "%41", 3);
	cred[3 * 256] = '\0';
	snprintf(url, sizeof(url), "http://user:%s@proxy", cred);
	check_fail(url, "bad password");
	cred[3 * 255] = '\0';
	snprintf(url, sizeof(url), "http://user:%s@proxy", cred);
	CHECK_EQ_INT(parse(url), 0);
	CHECK_EQ_INT(strlen(spec.pass), 255);
	CHECK_EQ_INT(spec.pass[254], 'A');
}

static void test_hosts_ports(void)
{
	check_ok("http://[::1]:3128", "::1", 3128);
	check_ok("http://[2001:db8::1]", "2001:db8::1", 80);
	check_ok("[::ffff:192.0.2.1]:8080/", "::ffff:192.0.2.1", 8080);
	check_ok("http://proxy:3128/", "proxy", 3128);
	check_ok("http://proxy/", "proxy", 80);
	check_ok("http://proxy:1", "proxy", 1);
	check_ok("http://proxy:65535", "proxy", 65535);
	check_ok("http://proxy:00080", "proxy", 80);
	CHECK_EQ_INT(parse("http://u:p@[::1]:3128/"), 0);
	CHECK_EQ_STR(spec.host, "::1");
	CHECK_EQ_STR(spec.user, "u");
	CHECK_EQ_INT(spec.port, 3128);

	check_fail("http://[::1", "unterminated");
	check_fail("http://[::1]x", "after ']'");
	check_fail("http://[::1]3128", "after ']'");
	check_fail("http://[]:80", "no proxy host");
	check_fail("http://[::1]:", "bad proxy port");
	check_fail("http://[fe80::1%25eth0]:80", "IPv6");
	check_fail("http://[::g]:80", "IPv6");
	check_fail("http://::1:3128", "no proxy host");

	check_fail("http://proxy:0", "out of range");
	check_fail("http://proxy:65536", "out of range");
	check_fail("http://proxy:99999", "out of range");
	check_fail("http://proxy:123456", "bad proxy port");
	check_fail("http://proxy:abc", "bad proxy port");
	check_fail("http://proxy:", "bad proxy port");
	check_fail("http://proxy:-1", "bad proxy port");
	check_fail("http://proxy:+80", "bad proxy port");
	check_fail("http://proxy: 80", "bad proxy port");
	check_fail("http://proxy:80:81", "bad proxy port");

	check_fail("http://proxy:3128/path", "path");
	check_fail("http://proxy:3128//", "path");
	check_fail("http://proxy?x=1", "path or query");
	check_fail("http://proxy#frag", "path or query");
	check_fail("http://proxy/?", "path or query");

	check_fail("", "no proxy host");
	check_fail("http://", "no proxy host");
	check_fail("http:///", "no proxy host");
	check_fail("http://:3128", "no proxy host");
	check_fail("http://user:pw@", "no proxy host");
	check_fail("http://user:pw@:3128", "no proxy host");
	check_fail("http://pro xy:3128", "bad character");
	check_fail("http://proxy%41:3128", "bad character");
	check_fail("http://pro*xy", "bad character");
	check_fail("http://proxy\r\n:3128", "bad character");

	char url[600], host[300];
	memset(host, 'h', 255);
	host[255] = '\0';
	snprintf(url, sizeof(url), "http://%s:3128", host);
	CHECK_EQ_INT(parse(url), 0);
	CHECK_EQ_INT(strlen(spec.host), 255);
	memset(host, 'h', 256);
	host[256] = '\0';
	snprintf(url, sizeof(url), "http://%s:3128", host);
	check_fail(url, "too long");
}

/* No message about a URL, and no display of it, shows its password. */
static void test_secrecy(void)
{
	static const char *const urls[] = {
		"httpx://u:SECRETPW@proxy",
		"https://u:SECRETPW@proxy:0",
		"socks5://u:SECRETPW@proxy",
		"http://u:SECRETPW@proxy:0",
		"http://u:SECRETPW@proxy:abc",
		"http://u:SECRETPW@proxy/path",
		"http://u:SECRETPW@",
		"http://u:SECRETPW%zz@proxy",
		"http://u:SECRETPW@pro xy",
		"http://u:SECRETPW@[::1",
		"http://u%3A:SECRETPW@proxy",
		"u:SECRETPW://@proxy",
		"u:SECRETPW:/x://proxy",
		"alice:SECRETPW@http://proxy:3128",
		"SECRETPW@http://proxy:3128",
	};
	char out[300];

	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		CHECK_EQ_INT(parse(urls[i]), -1);
		CHECK(err[0] != '\0');
		if (strstr(err, "SECRETPW") != NULL)
			fprintf(stderr, "%s: message \"%s\" shows the password\n", urls[i], err);
		CHECK(strstr(err, "SECRETPW") == NULL);
	}

	CHECK_EQ_INT(parse("http://alice:SECRETPW@proxy.example.com:3128"), 0);
	CHECK_EQ_STR(proxyurl_display(&spec, out, sizeof(out)), "proxy.example.com:3128");
	CHECK_EQ_INT(parse("http://alice:SECRETPW@[2001:db8::5]:8080/"), 0);
	CHECK_EQ_STR(proxyurl_display(&spec, out, sizeof(out)), "[2001:db8::5]:8080");
	CHECK(proxyurl_display(&spec, out, sizeof(out)) == out);
	CHECK_EQ_INT(parse("proxy"), 0);
	CHECK_EQ_STR(proxyurl_display(&spec, out, sizeof(out)), "proxy:80");
	/* a short buffer truncates, NUL-terminated */
	CHECK_EQ_STR(proxyurl_display(&spec, out, 5), "prox");

	/* a short err buffer truncates, NUL-terminated */
	char small[8];
	CHECK_EQ_INT(proxyurl_parse("ftp://x", &spec, small, sizeof(small)), -1);
	CHECK_EQ_INT(strlen(small), 7);
}

static void test_pct_decode(void)
{
	char out[16];

	CHECK_EQ_INT(proxyurl_pct_decode(out, sizeof(out), "a%41b", 5), 3);
	CHECK_EQ_STR(out, "aAb");
	CHECK_EQ_INT(proxyurl_pct_decode(out, sizeof(out), "%2f%2F%7e", 9), 3);
	CHECK_EQ_STR(out, "//~");
	CHECK_EQ_INT(proxyurl_pct_decode(out, sizeof(out), "%ff", 3), 1);
	CHECK_EQ_STR(out, "\xff");
	CHECK_EQ_INT(proxyurl_pct_decode(out, sizeof(out), "", 0), 0);
	CHECK_EQ_STR(out, "");
	/* only n bytes are read */
	CHECK_EQ_INT(proxyurl_pct_decode(out, sizeof(out), "abcdef", 2), 2);
	CHECK_EQ_STR(out, "ab");
	CHECK_EQ_INT(proxyurl_pct_decode(out, sizeof(out), "ab%41", 3), -1);
	CHECK_EQ_INT(proxyurl_pct_decode(out, sizeof(out), "ab%41", 4), -1);
	/* an escape cut by n, in an exact-size buffer */
	char *cut = malloc(2);
	if (cut == NULL)
		abort();
	memcpy(cut, "%4", 2);
	CHECK_EQ_INT(proxyurl_pct_decode(out, sizeof(out), cut, 2), -1);
	CHECK_EQ_INT(proxyurl_pct_decode(out, sizeof(out), cut, 1), -1);
	free(cut);
	/* bad escapes */
	CHECK_EQ_INT(proxyurl_pct_decode(out, sizeof(out), "%", 1), -1);
	CHECK_EQ_INT(proxyurl_pct_decode(out, sizeof(out), "%4", 2), -1);
	CHECK_EQ_INT(proxyurl_pct_decode(out, sizeof(out), "%%41", 4), -1);
	CHECK_EQ_INT(proxyurl_pct_decode(out, sizeof(out), "%x1", 3), -1);
	CHECK_EQ_INT(proxyurl_pct_decode(out, sizeof(out), "%1x", 3), -1);
	CHECK_EQ_INT(proxyurl_pct_decode(out, sizeof(out), "%00", 3), -1);
	/* capacity: the NUL must fit too */
	CHECK_EQ_INT(proxyurl_pct_decode(out, 4, "abc", 3), 3);
	CHECK_EQ_STR(out, "abc");
	CHECK_EQ_INT(proxyurl_pct_decode(out, 3, "abc", 3), -1);
	CHECK_EQ_INT(proxyurl_pct_decode(out, 2, "%41%42", 6), -1);
	CHECK_EQ_INT(proxyurl_pct_decode(out, 3, "%41%42", 6), 2);
	CHECK_EQ_STR(out, "AB");
}

int main(void)
{
	test_schemes();
	test_userinfo();
	test_hosts_ports();
	test_secrecy();
	test_pct_decode();
	return check_report();
}
