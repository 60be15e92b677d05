/* prewarm: --prewarm N keeps N spare TCP connections open to the first healthy upstream
 * proxy, so that a new tunnel can send its CONNECT at once instead of paying a TCP
 * handshake to a far proxy first.  A spare that the proxy closes is replaced; spares are
 * recycled after PREWARM_MAX_AGE seconds, before a typical proxy's idle timeout. */
#ifndef SOCKS2HTTP_PREWARM_H
#define SOCKS2HTTP_PREWARM_H

#include <ev.h>

#define PREWARM_MAX_AGE 15.0

struct generation;
struct prewarm;

/* Starts keeping cfg->prewarm spares for g.  NULL when out of memory. */
struct prewarm *prewarm_new(struct ev_loop *loop, struct generation *g);
/* Closes every spare. */
void prewarm_free(struct prewarm *pw);

/* A connected spare to proxy proxy_idx (the caller owns the fd), or -1 if none is ready. */
int prewarm_take(struct prewarm *pw, unsigned proxy_idx);

#endif
