/* config_proxy: the options of how the proxies are spoken to: TLS (--proxy-cacert,
 * --proxy-insecure) and the authentication schemes (--proxy-auth).  Pure, as config. */
#include "config.h"
#include "errtext.h"
#include "httpc.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

void config_proxy_init(struct config *cfg)
{
	cfg->proxy_auth = HTTPC_AUTH_BASIC | HTTPC_AUTH_DIGEST | HTTPC_AUTH_NTLM | HTTPC_AUTH_NEGOTIATE;
}

/* --proxy-auth negotiate,ntlm,digest,basic: the schemes that may be used, in any order. */
static int parse_auth_list(struct config *cfg, const char *value, char *err, size_t errlen)
{
	static const struct {
		const char *name;
		unsigned bit;
	} schemes[] = {{"basic", HTTPC_AUTH_BASIC}, {"digest", HTTPC_AUTH_DIGEST}, {"ntlm", HTTPC_AUTH_NTLM},
		       {"negotiate", HTTPC_AUTH_NEGOTIATE}};
	unsigned mask = 0;

	if (value == NULL || value[0] == '\0')
		return errtext(err, errlen, "option 'proxy-auth' needs a list of negotiate, ntlm, digest, basic");
	for (const char *p = value; *p != '\0';) {
		size_t n = strcspn(p, ",");
		size_t i;
		for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
			if (strlen(schemes[i].name) == n && strncasecmp(p, schemes[i].name, n) == 0)
				break;
		if (i == sizeof(schemes) / sizeof(schemes[0]))
			return errtext(err, errlen, "option 'proxy-auth': unknown scheme '%.*s' (negotiate, ntlm, digest, basic)",
				    (int)(n > 32 ? 32 : n), p);
		mask |= schemes[i].bit;
		p += n;
		if (*p == ',')
			p++;
	}
	cfg->proxy_auth = mask;
	return 0;
}

int config_proxy_set(struct config *cfg, const char *name, const char *value, char *err, size_t errlen)
{
	if (strcmp(name, "proxy-insecure") == 0) {
		cfg->proxy_insecure = value == NULL || strcasecmp(value, "yes") == 0;
		return 0;
	}
	if (strcmp(name, "proxy-cacert") == 0) {
		if (value == NULL || value[0] == '\0' || strlen(value) >= sizeof(cfg->proxy_cacert))
			return errtext(err, errlen, "option 'proxy-cacert' needs a file name under %zu bytes",
				    sizeof(cfg->proxy_cacert));
		snprintf(cfg->proxy_cacert, sizeof(cfg->proxy_cacert), "%s", value);
		return 0;
	}
	if (strcmp(name, "proxy-auth") == 0)
		return parse_auth_list(cfg, value, err, errlen);
	return 1;
}
