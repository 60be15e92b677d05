/* upstream: per-proxy data the tunnels need (see include/upstream.h). */
#include "upstream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpc.h"
#include "wipe.h"

struct upstream *upstream_list_new(const struct config *cfg, char *err, size_t errlen)
{
	struct upstream *list = calloc(cfg->nproxies ? cfg->nproxies : 1, sizeof(*list));

	if (list == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < cfg->nproxies; i++) {
		struct upstream *u = &list[i];
		u->spec = &cfg->proxies[i];
		proxyurl_display(u->spec, u->display, sizeof(u->display));
		if (u->spec->has_auth) {
			char tmp[1024];
			int n = httpc_basic_auth(tmp, sizeof(tmp), u->spec->user, u->spec->pass);
			if (n < 0 || (u->auth = strdup(tmp)) == NULL) {
				wipe(tmp, sizeof(tmp));
				snprintf(err, errlen, "cannot encode credentials for proxy %s", u->display);
				upstream_list_free(list, i + 1);
				return NULL;
			}
			wipe(tmp, sizeof(tmp));
		}
	}
	return list;
}

void upstream_list_free(struct upstream *list, size_t n)
{
	if (list == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		if (list[i].auth != NULL) {
			wipe(list[i].auth, strlen(list[i].auth));
			free(list[i].auth);
		}
	}
	free(list);
}

char *upstream_connect_request(const struct upstream *up, const char *authority, const char *user_agent,
			       size_t *len)
{
	size_t cap = strlen(authority) * 2 + (up->auth ? strlen(up->auth) : 0) + strlen(user_agent) + 128;
	char *buf = malloc(cap);
	if (buf == NULL)
		return NULL;
	int n = httpc_build_connect(buf, cap, authority, up->auth, user_agent[0] ? user_agent : NULL);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	*len = (size_t)n;
	return buf;
}
