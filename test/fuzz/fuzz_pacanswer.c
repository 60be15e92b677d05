/* fuzz_pacanswer: the input as a FindProxyForURL answer.  Every entry is usable as is (kind,
 * host characters, port), the entries re-encoded parse back to themselves, and a message
 * quotes nothing of the input.  The first two bytes are also a port for pacanswer_url. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "pacanswer.h"

static int host_char(char c, int v6)
{
	if (v6)
		return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' ||
		       c == '.';
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
	       c == '_';
}

static void check_entry(const struct pac_entry *e)
{
	FUZZ_ASSERT(e->kind >= PAC_DIRECT && e->kind <= PAC_SOCKS);
	size_t hlen = strnlen(e->host, sizeof(e->host));
	FUZZ_ASSERT(hlen < sizeof(e->host));
	if (e->kind == PAC_DIRECT) {
		FUZZ_ASSERT(hlen == 0 && e->port == 0);
		return;
	}
	FUZZ_ASSERT(hlen >= 1 && hlen <= 253 && e->port >= 1);
	int v6 = strchr(e->host, ':') != NULL;
	for (size_t i = 0; i < hlen; i++)
		FUZZ_ASSERT(host_char(e->host[i], v6));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pacanswer ans, again;
	char err[128];

	memset(err, 0, sizeof(err));
	int rc = pacanswer_parse((const char *)data, size, &ans, err, sizeof(err));
	FUZZ_ASSERT(rc == 0 || rc == -1);
	FUZZ_ASSERT(ans.n <= PACANSWER_MAX);
	FUZZ_ASSERT((rc == 0) == (ans.n > 0));
	if (rc < 0) {
		FUZZ_ASSERT(err[0] != '\0' && strnlen(err, sizeof(err)) < sizeof(err));
		FUZZ_ASSERT(strchr(err, '\'') == NULL && strchr(err, '"') == NULL);
	}
	/* the entries written out canonically parse back to the same entries */
	char *text = malloc((size_t)ans.n * 300 + 1);
	FUZZ_ASSERT(text != NULL);
	size_t len = 0;
	static const char *const names[] = {"", "DIRECT", "PROXY", "HTTPS", "SOCKS5"};
	for (int i = 0; i < ans.n; i++) {
		const struct pac_entry *e = &ans.e[i];
		check_entry(e);
		if (e->kind == PAC_DIRECT)
			len += (size_t)sprintf(text + len, "DIRECT;");
		else if (strchr(e->host, ':') != NULL)
			len += (size_t)sprintf(text + len, "%s [%s]:%u;", names[e->kind], e->host, (unsigned)e->port);
		else
			len += (size_t)sprintf(text + len, "%s %s:%u;", names[e->kind], e->host, (unsigned)e->port);
	}
	if (ans.n > 0) {
		FUZZ_ASSERT(pacanswer_parse(text, len, &again, err, sizeof(err)) == 0);
		FUZZ_ASSERT(again.n == ans.n && again.skipped == 0);
		for (int i = 0; i < ans.n; i++) {
			FUZZ_ASSERT(again.e[i].kind == ans.e[i].kind && again.e[i].port == ans.e[i].port);
			FUZZ_ASSERT(strcmp(again.e[i].host, ans.e[i].host) == 0);
		}
	}
	free(text);

	/* the url of each host: it fits or it says so, and it never overflows */
	for (int i = 0; i < ans.n; i++) {
		char url[300];
		uint16_t port = size >= 2 ? (uint16_t)(data[0] << 8 | data[1]) : 443;
		if (ans.e[i].kind == PAC_DIRECT)
			continue;
		FUZZ_ASSERT(pacanswer_url(ans.e[i].host, port, url, sizeof(url)) == 0);
		FUZZ_ASSERT(strstr(url, ans.e[i].host) != NULL && url[strlen(url) - 1] == '/');
		char small[16];
		int r = pacanswer_url(ans.e[i].host, port, small, sizeof(small));
		FUZZ_ASSERT(r == 0 ? strcmp(small, url) == 0 : small[0] == '\0');
	}
	return 0;
}
