/* test_jsonw: JSON string escaping and the buffer's bound. */
#include "jsonw.h"

#include "check.h"

static void check_str(const char *in, const char *want)
{
	struct jsonw j;
	jsonw_init(&j, 1024);
	jsonw_str(&j, in);
	CHECK(!j.full);
	CHECK_EQ_STR(jsonw_text(&j), want);
	jsonw_free(&j);
}

int main(void)
{
	check_str("", "\"\"");
	check_str("plain text 123", "\"plain text 123\"");
	check_str("a\"b\\c", "\"a\\\"b\\\\c\"");
	check_str("line\nnext\r\ttab", "\"line\\nnext\\r\\ttab\"");
	check_str("\x01\x1f\x7f", "\"\\u0001\\u001f\x7f\"");
	check_str("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
	check_str("bad \xff\xc3 end", "\"bad \\ufffd\\ufffd end\"");
	check_str("\xc0\xaf", "\"\\ufffd\\ufffd\"");          /* overlong '/' */
	check_str("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\""); /* a surrogate */
	check_str("cut \xe2\x82", "\"cut \\ufffd\\ufffd\"");  /* truncated at the end */

	struct jsonw j;
	jsonw_init(&j, 1024);
	jsonw_str(&j, NULL);
	jsonw_printf(&j, ",%d,%s", 42, "x");
	CHECK_EQ_STR(jsonw_text(&j), "null,42,x");
	jsonw_free(&j);

	/* long formatted text goes past the small stack buffer */
	jsonw_init(&j, 4096);
	char big[1000];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	jsonw_printf(&j, "[%s]", big);
	CHECK_EQ_INT(j.len, 1001);
	CHECK(!j.full);
	jsonw_free(&j);

	/* the bound: what does not fit is dropped and the buffer says so */
	jsonw_init(&j, 10);
	CHECK_EQ_STR(jsonw_text(&j), "");
	jsonw_printf(&j, "12345");
	jsonw_str(&j, "abcdef");
	CHECK(j.full);
	CHECK_EQ_STR(jsonw_text(&j), "12345");
	jsonw_printf(&j, "6");
	CHECK_EQ_STR(jsonw_text(&j), "12345");
	jsonw_free(&j);
	return check_report();
}
