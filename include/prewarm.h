/* prewarm: --prewarm N keeps N spare connections open to the first healthy upstream
 * proxy, so that a new tunnel can send its CONNECT at once instead of paying a TCP
 * handshake (and for an https:// proxy the TLS one) to a far proxy first.  A spare that the proxy closes is replaced; spares are
 * recycled after PREWARM_MAX_AGE seconds, before a typical proxy's idle timeout.  Each
 * spare is labelled with the proxy it was opened to, chosen once per lookup, so a tunnel
 * never sends one proxy's credentials to another.  The timer runs only when something is
 * due: an idle daemon sleeps. */
#ifndef SOCKS2HTTP_PREWARM_H
#define SOCKS2HTTP_PREWARM_H

#include <ev.h>
#include <stddef.h>

#include "config.h"
#include "resolver.h"
#include "route.h"
#include "stream.h"
#include "upstream.h"

#define PREWARM_MAX_AGE 15.0

struct prewarm;

/* Starts keeping cfg->prewarm spares to the proxies ups[0..n) whose health is h.  All
 * arguments must outlive the prewarm.  NULL when out of memory. */
struct prewarm *prewarm_new(struct ev_loop *loop, const struct config *cfg, const struct upstream *ups, size_t n,
			    const struct route_health *h, struct resolver *r);
/* Closes every spare. */
void prewarm_free(struct prewarm *pw);

/* Moves a ready spare to proxy proxy_idx into the caller's stream (empty), watched by
 * nobody yet, with cb and data: a connected socket, through the TLS handshake for an
 * https:// proxy.  0, or -1 if none is ready. */
int prewarm_take(struct prewarm *pw, unsigned proxy_idx, struct stream *into,
		 void (*cb)(struct ev_loop *, ev_io *, int), void *data);

#endif
