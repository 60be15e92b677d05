/* server: what every tunnel shares: the loop, the configuration, the resolver, the
 * upstreams, the buffer pool, the listeners and the list of live tunnels. */
#ifndef SOCKS2HTTP_SERVER_H
#define SOCKS2HTTP_SERVER_H

#include <ev.h>
#include <stdint.h>

#include "bufpool.h"
#include "config.h"
#include "listener.h"
#include "resolver.h"
#include "upstream.h"

struct tunnel;

struct server {
	struct ev_loop *loop;
	const struct config *cfg;
	struct resolver *resolver;
	struct upstream *upstreams;
	size_t nupstreams;
	struct bufpool pool;
	struct listener listeners[CONFIG_MAX_LISTEN];
	size_t nlisteners;
	unsigned max_tunnels;        /* the configured bound, lowered to what the fd limit allows */

	struct tunnel *tunnels;      /* live tunnels, doubly linked */
	unsigned ntunnels;
	uint64_t accepted;           /* since start */

	int accept_paused;           /* 0, or why accepting is paused */
	ev_timer accept_retry;       /* resumes accepting after fd exhaustion */
	ev_tstamp last_fd_warning;   /* rate limit for that error line */

	ev_signal sigint, sigterm;
	int exit_code;
};

enum { SERVER_PAUSE_LIMIT = 1, SERVER_PAUSE_FDS = 2 };

/* Opens the listeners and everything they need.  Returns 0, or -1 with err (exit 1). */
int server_init(struct server *s, struct ev_loop *loop, const struct config *cfg, char *err, size_t errlen);
/* Closes every tunnel and listener and frees what server_init made. */
void server_destroy(struct server *s);

/* O_NONBLOCK and FD_CLOEXEC on fd.  Returns 0 or -1. */
int server_set_nonblock(int fd);

/* Stops accepting for a reason; SERVER_PAUSE_FDS retries on a timer. */
void server_pause_accept(struct server *s, int why);
/* Called when a tunnel ends: accepting resumes if it was paused for want of room. */
void server_tunnel_closed(struct server *s);

#endif
