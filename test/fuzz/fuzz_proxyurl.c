/* fuzz_proxyurl: the input as a URL.  A parsed proxy is usable as is (host, port, credential
 * lengths), displays without credentials and parses back to itself; a message quotes nothing
 * but a scheme. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "proxyurl.h"

static int scheme_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' || c == '-' ||
	       c == '.';
}

static int host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
	       c == '_' || c == ':';
}

/* Whatever a message quotes must be a scheme name (or a single character it names), never
 * other input such as a password. */
static void check_message(const char *err, size_t errlen)
{
	FUZZ_ASSERT(strnlen(err, errlen) < errlen && err[0] != '\0');
	const char *q = strchr(err, '\'');
	while (q != NULL) {
		const char *end = strchr(q + 1, '\'');
		FUZZ_ASSERT(end != NULL);
		for (const char *p = q + 1; p < end && end - q > 2; p++)
			FUZZ_ASSERT(scheme_char(*p));
		q = strchr(end + 1, '\'');
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_spec spec, again;
	char err[256], out[PROXYURL_HOST_MAX + 16];

	char *url = malloc(size + 1);
	if (url == NULL)
		return 0;
	memcpy(url, data, size);
	url[size] = '\0';

	/* percent-decoding never yields more bytes than it read */
	char dec[PROXYURL_CRED_MAX + 1];
	size_t ulen = strlen(url);
	int n = proxyurl_pct_decode(dec, sizeof(dec), url, ulen);
	FUZZ_ASSERT(n == -1 || (n >= 0 && (size_t)n <= ulen && strlen(dec) == (size_t)n));

	memset(err, 0, sizeof(err));
	int rc = proxyurl_parse(url, &spec, err, sizeof(err));
	FUZZ_ASSERT(rc == 0 || rc == -1);
	if (rc < 0) {
		check_message(err, sizeof(err));
		free(url);
		return 0;
	}

	size_t hlen = strnlen(spec.host, sizeof(spec.host));
	FUZZ_ASSERT(hlen >= 1 && hlen <= PROXYURL_HOST_MAX);
	for (size_t i = 0; i < hlen; i++)
		FUZZ_ASSERT(host_char(spec.host[i]));
	FUZZ_ASSERT(spec.port >= 1);
	FUZZ_ASSERT(strnlen(spec.user, sizeof(spec.user)) <= PROXYURL_CRED_MAX);
	FUZZ_ASSERT(strnlen(spec.pass, sizeof(spec.pass)) <= PROXYURL_CRED_MAX);
	FUZZ_ASSERT(strchr(spec.user, ':') == NULL);
	FUZZ_ASSERT(spec.has_auth || (spec.user[0] == '\0' && spec.pass[0] == '\0'));
	FUZZ_ASSERT(spec.has_auth == (strchr(url, '@') != NULL));

	/* the display is host:port, bracketed for IPv6, and parses back to the same proxy */
	FUZZ_ASSERT(proxyurl_display(&spec, out, sizeof(out)) == out);
	FUZZ_ASSERT(strchr(out, '@') == NULL);
	FUZZ_ASSERT(proxyurl_parse(out, &again, err, sizeof(err)) == 0);
	FUZZ_ASSERT(strcmp(again.host, spec.host) == 0 && again.port == spec.port && !again.has_auth);

	/* the credentials percent-encoded back into a URL give the same credentials */
	if (spec.has_auth) {
		static const char hex[] = "0123456789ABCDEF";
		char *enc = malloc(3 * (strlen(spec.user) + strlen(spec.pass)) + sizeof(out) + 16);
		FUZZ_ASSERT(enc != NULL);
		char *e = enc;
		memcpy(e, "http://", 7);
		e += 7;
		for (const char *s = spec.user; *s; s++) {
			*e++ = '%';
			*e++ = hex[(unsigned char)*s >> 4];
			*e++ = hex[(unsigned char)*s & 15];
		}
		*e++ = ':';
		for (const char *s = spec.pass; *s; s++) {
			*e++ = '%';
			*e++ = hex[(unsigned char)*s >> 4];
			*e++ = hex[(unsigned char)*s & 15];
		}
		*e++ = '@';
		strcpy(e, out);
		FUZZ_ASSERT(proxyurl_parse(enc, &again, err, sizeof(err)) == 0);
		FUZZ_ASSERT(strcmp(again.user, spec.user) == 0 && strcmp(again.pass, spec.pass) == 0);
		FUZZ_ASSERT(strcmp(again.host, spec.host) == 0 && again.port == spec.port);
		free(enc);
	}
	free(url);
	return 0;
}
