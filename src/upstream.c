/* upstream: per-proxy data the tunnels need (see include/upstream.h). */
#include "upstream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpc.h"
#include "tls.h"
#include "wipe.h"

int upstream_init(struct upstream *u, const struct proxy_spec *spec, const struct config *cfg, char *err,
		  size_t errlen)
{
	memset(u, 0, sizeof(*u));
	u->spec = spec;
	proxyurl_display(u->spec, u->display, sizeof(u->display));
	if (spec->tls) {
		char why[256];
		u->tls = tls_ctx_new(cfg->proxy_cacert[0] ? cfg->proxy_cacert : NULL, cfg->proxy_insecure, why, sizeof(why));
		if (u->tls == NULL) {
			snprintf(err, errlen, "proxy %s: %s", u->display, why);
			return -1;
		}
	}
	if (!u->spec->has_auth)
		return 0;
	char tmp[1024];
	int n = httpc_basic_auth(tmp, sizeof(tmp), u->spec->user, u->spec->pass);
	if (n < 0 || (u->auth = strdup(tmp)) == NULL) {
		wipe(tmp, sizeof(tmp));
		snprintf(err, errlen, "cannot encode credentials for proxy %s", u->display);
		return -1;
	}
	wipe(tmp, sizeof(tmp));
	return 0;
}

struct upstream *upstream_list_new(const struct config *cfg, size_t cap, size_t *n, char *err, size_t errlen)
{
	size_t want = cfg->nproxies + cfg->nroute_proxies;
	struct upstream *list = calloc(cap > want ? cap : want + 1, sizeof(*list));

	*n = 0;
	if (list == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < want; i++) {
		const struct proxy_spec *spec = i < cfg->nproxies ? &cfg->proxies[i] : &cfg->route_proxies[i - cfg->nproxies];
		if (upstream_init(&list[i], spec, cfg, err, errlen) < 0) {
			upstream_list_free(list, i);
			return NULL;
		}
	}
	*n = want;
	return list;
}

void upstream_list_free(struct upstream *list, size_t n)
{
	if (list == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		auth_memory_free(&list[i].mem);
		tls_ctx_free(list[i].tls);
		if (list[i].auth != NULL) {
			wipe(list[i].auth, strlen(list[i].auth));
			free(list[i].auth);
		}
	}
	free(list);
}

char *upstream_connect_request(const char *authority, const char *auth, const char *user_agent, size_t *len)
{
	size_t cap = strlen(authority) * 2 + (auth ? strlen(auth) : 0) + strlen(user_agent) + 128;
	char *buf = malloc(cap);
	if (buf == NULL)
		return NULL;
	int n = httpc_build_connect(buf, cap, authority, auth, user_agent[0] ? user_agent : NULL);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	*len = (size_t)n;
	return buf;
}
