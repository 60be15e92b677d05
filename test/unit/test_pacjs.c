/* test_pacjs: the PAC engine without a second evaluator: a load replaces the script only when
 * it works, every helper exists, results and errors are one line, the heap cap holds. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "pacjs.h"

static char out[4097], err[600];

static int load(struct pacjs *pj, const char *script)
{
	memset(err, 0, sizeof(err));
	return pacjs_load(pj, script, strlen(script), err, sizeof(err));
}

/* FindProxyForURL("http://" + host + "/", host): the result, or "ERROR: message" */
static const char *find(struct pacjs *pj, const char *host)
{
	char url[300];
	snprintf(url, sizeof(url), "http://%s/", host);
	if (pacjs_find(pj, url, host, out, sizeof(out), err, sizeof(err)) == 0)
		return out;
	snprintf(out, sizeof(out), "ERROR: %s", err);
	return out;
}

static void test_load_and_replace(void)
{
	struct pacjs *pj = pacjs_new(0);
	CHECK(pj != NULL);
	CHECK_EQ_INT(pacjs_loaded(pj), 0);
	CHECK_EQ_STR(find(pj, "a"), "ERROR: no PAC script loaded");

	CHECK_EQ_INT(load(pj, "function FindProxyForURL(u, h) { return 'PROXY one:1'; }"), 0);
	CHECK_EQ_INT(pacjs_loaded(pj), 1);
	CHECK_EQ_STR(find(pj, "a"), "PROXY one:1");

	/* failures keep the good script */
	CHECK_EQ_INT(load(pj, "function FindProxyForURL(u, h) { return 'PROXY two:2'; "), -1);
	CHECK(strncmp(err, "compiling the PAC: SyntaxError", 30) == 0);
	CHECK_EQ_INT(load(pj, "function FindProxyForURL(u, h) { return 'PROXY two:2'; }\nnull.x;"), -1);
	CHECK(strncmp(err, "running the PAC: TypeError", 26) == 0);
	CHECK_EQ_INT(load(pj, "var x = 1;"), -1);
	CHECK_EQ_STR(err, "the PAC defines no function FindProxyForURL");
	CHECK_EQ_INT(load(pj, "var FindProxyForURL = 'DIRECT';"), -1);
	CHECK_EQ_STR(find(pj, "a"), "PROXY one:1");

	/* a new script starts from a clean heap: nothing of the old one is left */
	CHECK_EQ_INT(load(pj, "var left = 1; function FindProxyForURL(u, h) { return 'x'; }"), 0);
	CHECK_EQ_INT(load(pj, "function FindProxyForURL(u, h) { return typeof left; }"), 0);
	CHECK_EQ_STR(find(pj, "a"), "undefined");

	/* state kept between calls of one script, as browsers keep it */
	CHECK_EQ_INT(load(pj, "var n = 0; function FindProxyForURL(u, h) { return 'n' + (++n); }"), 0);
	CHECK_EQ_STR(find(pj, "a"), "n1");
	CHECK_EQ_STR(find(pj, "a"), "n2");

	/* the script deleting its own function later */
	CHECK_EQ_INT(load(pj, "function FindProxyForURL(u, h) { delete this.FindProxyForURL; FindProxyForURL = 1;"
			      " return 'once'; }"), 0);
	CHECK_EQ_STR(find(pj, "a"), "once");
	CHECK_EQ_STR(find(pj, "a"), "ERROR: the PAC defines no function FindProxyForURL");

	/* too big */
	CHECK_EQ_INT(pacjs_load(pj, "", PACJS_SCRIPT_MAX + 1, err, sizeof(err)), -1);
	pacjs_free(pj);
	pacjs_free(NULL);
}

static void test_results(void)
{
	struct pacjs *pj = pacjs_new(0);
	CHECK_EQ_INT(load(pj, "function FindProxyForURL(u, h) {\n"
			      "  if (h == 'throw') throw new Error('bad\\nnews');\n"
			      "  if (h == 'string') throw 'just a string';\n"
			      "  if (h == 'num') return 1;\n"
			      "  if (h == 'undef') return;\n"
			      "  if (h == 'obj') return {};\n"
			      "  if (h == 'lines') return 'a\\r\\nb\\u0000c';\n"
			      "  if (h == 'long') return new Array(5001).join('y');\n"
			      "  if (h == 'args') return u + '|' + h;\n"
			      "  return 'DIRECT';\n"
			      "}"), 0);
	CHECK_EQ_STR(find(pj, "throw"), "ERROR: FindProxyForURL: Error: bad news");
	CHECK_EQ_STR(find(pj, "string"), "ERROR: FindProxyForURL: just a string");
	CHECK_EQ_STR(find(pj, "num"), "ERROR: FindProxyForURL returned number, not a string");
	CHECK_EQ_STR(find(pj, "undef"), "ERROR: FindProxyForURL returned undefined, not a string");
	CHECK_EQ_STR(find(pj, "obj"), "ERROR: FindProxyForURL returned object, not a string");
	CHECK_EQ_STR(find(pj, "lines"), "a  b c");
	CHECK_EQ_INT(strlen(find(pj, "long")), 4096);
	CHECK_EQ_STR(find(pj, "args"), "http://args/|args");
	/* a small buffer cuts */
	char small[4];
	CHECK_EQ_INT(pacjs_find(pj, "http://a/", "a", small, sizeof(small), err, sizeof(err)), 0);
	CHECK_EQ_STR(small, "DIR");
	pacjs_free(pj);
}

static void test_helpers(void)
{
	struct pacjs *pj = pacjs_new(0);
	CHECK_EQ_INT(load(pj, "function FindProxyForURL(u, h) { return String(eval(h)); }"), 0);
	static const char *const names[] = {
		"isPlainHostName", "dnsDomainIs", "localHostOrDomainIs", "isResolvable", "isInNet", "dnsResolve",
		"convert_addr", "myIpAddress", "dnsDomainLevels", "shExpMatch", "weekdayRange", "dateRange",
		"timeRange", "alert", "isResolvableEx", "isInNetEx", "dnsResolveEx", "myIpAddressEx",
		"sortIpAddressList", "getClientVersion",
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char expr[64];
		snprintf(expr, sizeof(expr), "typeof %s", names[i]);
		if (strcmp(find(pj, expr), "function") != 0)
			fprintf(stderr, "%s: %s\n", names[i], out);
		CHECK_EQ_STR(out, "function");
	}
	CHECK_EQ_STR(find(pj, "isPlainHostName('www')"), "true");
	CHECK_EQ_STR(find(pj, "isPlainHostName('www.example')"), "false");
	CHECK_EQ_STR(find(pj, "dnsDomainIs('www.example.com','.example.com')"), "true");
	CHECK_EQ_STR(find(pj, "dnsDomainIs('www.example.org','.example.com')"), "false");
	CHECK_EQ_STR(find(pj, "localHostOrDomainIs('www','www.example.com')"), "true");
	CHECK_EQ_STR(find(pj, "localHostOrDomainIs('www.example.org','www.example.com')"), "false");
	CHECK_EQ_STR(find(pj, "dnsDomainLevels('a.b.c')"), "2");
	CHECK_EQ_STR(find(pj, "shExpMatch('www.example.com','*.example.*')"), "true");
	CHECK_EQ_STR(find(pj, "shExpMatch('wwwxexample','www.example')"), "false");
	CHECK_EQ_STR(find(pj, "shExpMatch('a+b','a+b')"), "true");
	CHECK_EQ_STR(find(pj, "shExpMatch('ab','a?')"), "true");
	CHECK_EQ_STR(find(pj, "convert_addr('10.0.0.1')"), "167772161");
	CHECK_EQ_STR(find(pj, "isInNet('10.1.2.3','10.0.0.0','255.0.0.0')"), "true");
	CHECK_EQ_STR(find(pj, "isInNet('11.1.2.3','10.0.0.0','255.0.0.0')"), "false");
	CHECK_EQ_STR(find(pj, "isInNet('localhost','127.0.0.0','255.0.0.0')"), "true");
	CHECK_EQ_STR(find(pj, "isInNet('x.invalid','0.0.0.0','0.0.0.0')"), "false");
	CHECK_EQ_STR(find(pj, "dnsResolve('127.0.0.9')"), "127.0.0.9");
	CHECK_EQ_STR(find(pj, "dnsResolve('x.invalid')"), "null");
	CHECK_EQ_STR(find(pj, "dnsResolve('')"), "null");
	CHECK_EQ_STR(find(pj, "dnsResolve('a\\u0000b')"), "null");
	CHECK_EQ_STR(find(pj, "dnsResolveEx('::1')"), "::1");
	CHECK_EQ_STR(find(pj, "dnsResolveEx('x.invalid')"), "");
	CHECK_EQ_STR(find(pj, "isResolvable('localhost')"), "true");
	CHECK_EQ_STR(find(pj, "isResolvableEx('x.invalid')"), "false");
	CHECK_EQ_STR(find(pj, "isInNetEx('fd00::1','fd00::/16')"), "true");
	CHECK_EQ_STR(find(pj, "isInNetEx('fd01::1','fd00::/16')"), "false");
	CHECK_EQ_STR(find(pj, "isInNetEx('10.0.0.129','10.0.0.128/25')"), "true");
	CHECK_EQ_STR(find(pj, "isInNetEx('10.0.0.127','10.0.0.128/25')"), "false");
	CHECK_EQ_STR(find(pj, "isInNetEx('10.0.0.1','10.0.0.0/')"), "false");
	CHECK_EQ_STR(find(pj, "isInNetEx('10.0.0.1','10.0.0.0/8x')"), "false");
	CHECK_EQ_STR(find(pj, "sortIpAddressList('10.0.0.10;10.0.0.9;2001:db8::2;2001:db8::10')"),
		     "2001:db8::2;2001:db8::10;10.0.0.9;10.0.0.10");
	CHECK_EQ_STR(find(pj, "getClientVersion()"), "1.0");
	CHECK_EQ_STR(find(pj, "weekdayRange('SUN','SAT')"), "true");
	CHECK_EQ_STR(find(pj, "weekdayRange('SAT','FRI','GMT')"), "true");
	CHECK_EQ_STR(find(pj, "weekdayRange('NOPE')"), "false");
	CHECK_EQ_STR(find(pj, "dateRange('JAN','DEC')"), "true");
	CHECK_EQ_STR(find(pj, "dateRange(1,'JAN',1990,31,'DEC',1999)"), "false");
	CHECK_EQ_STR(find(pj, "dateRange(1,'JAN',1990,31,'DEC',9999,'GMT')"), "true");
	CHECK_EQ_STR(find(pj, "dateRange('JAN',1)"), "false"); /* a day after its month: not a form */
	CHECK_EQ_STR(find(pj, "dateRange(1,2,3)"), "false");
	CHECK_EQ_STR(find(pj, "timeRange(0,23)"), "true");
	CHECK_EQ_STR(find(pj, "timeRange(0,0,0,23,59,59,'GMT')"), "true");
	CHECK_EQ_STR(find(pj, "timeRange(1,2,3)"), "false");
	CHECK_EQ_STR(find(pj, "timeRange('x')"), "false");
	CHECK_EQ_STR(find(pj, "alert('from the test')"), "undefined");
	pacjs_free(pj);
}

static void test_heap_cap(void)
{
	struct pacjs *pj = pacjs_new(4 << 20);
	CHECK_EQ_INT(load(pj, "function FindProxyForURL(u, h) {\n"
			      "  if (h == 'grow') { var s = 'x'; for (;;) s = s + s; }\n"
			      "  if (h == 'many') { var a = []; for (;;) a.push({n: a.length}); }\n"
			      "  return 'DIRECT';\n"
			      "}"), 0);
	CHECK(strncmp(find(pj, "grow"), "ERROR: FindProxyForURL: ", 24) == 0);
	CHECK(strncmp(find(pj, "many"), "ERROR: FindProxyForURL: ", 24) == 0);
	CHECK_EQ_STR(find(pj, "ok"), "DIRECT");
	/* a load that needs more than the cap fails and leaves the script as it was */
	CHECK_EQ_INT(load(pj, "var s = 'x'; for (;;) s = s + s;"), -1);
	CHECK(strncmp(err, "running the PAC: ", 17) == 0);
	CHECK_EQ_STR(find(pj, "ok"), "DIRECT");
	pacjs_free(pj);
}

int main(void)
{
	test_load_and_replace();
	test_results();
	test_helpers();
	test_heap_cap();
	return check_report();
}
