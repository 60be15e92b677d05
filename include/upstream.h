/* upstream: the HTTP proxies as the tunnels use them (the -x list, then the proxies the
 * --route rules name, then those a PAC names): display name, the ready-made
 * Proxy-Authorization value, and the CONNECT request for a target.
 * Their order and health are route's; failover is driven by dial. */
#ifndef SOCKS2HTTP_UPSTREAM_H
#define SOCKS2HTTP_UPSTREAM_H

#include <stddef.h>

#include "auth.h"
#include "config.h"

struct tls_ctx;

struct upstream {
	const struct proxy_spec *spec; /* in the configuration */
	char display[PROXYURL_HOST_MAX + 10]; /* host:port, never credentials */
	char *auth;                    /* "Basic ..." or NULL (forwarded requests); freed and wiped */
	struct auth_memory mem;        /* the scheme it asked for last (tunnels' CONNECT) */
	struct tls_ctx *tls;           /* https:// proxies: verification and resumable sessions */
};

/* Builds one upstream per configured proxy (-x, then the rules'), in room for cap, and
 * sets *n.  Returns NULL with err on failure. */
struct upstream *upstream_list_new(const struct config *cfg, size_t cap, size_t *n, char *err, size_t errlen);
/* Fills u for spec (which must outlive it); cfg gives the TLS settings.  Returns 0, or -1
 * with err. */
int upstream_init(struct upstream *u, const struct proxy_spec *spec, const struct config *cfg, char *err,
		  size_t errlen);
void upstream_list_free(struct upstream *list, size_t n);

/* The CONNECT request for authority through up with Proxy-Authorization auth (NULL: none),
 * in a new buffer of *len bytes (malloc); NULL if it cannot be built. */
char *upstream_connect_request(const char *authority, const char *auth, const char *user_agent, size_t *len);

#endif
