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
struct peercred;

/* One loaded configuration and what is built from it.  SIGHUP makes a new one for new
 * tunnels; the old one lives on until the last tunnel using it has closed. */
struct generation {
	struct config *cfg;
	struct upstream *upstreams;
	size_t nupstreams;
	struct resolver *resolver; /* rebuilt per generation: resolv.conf is read anew */
	struct prewarm *prewarm;   /* spare upstream connections (current generation only) */
	unsigned refs;             /* tunnels using it, +1 while it is the current one */
};

struct server {
	struct ev_loop *loop;
	struct generation *gen;    /* current */
	int argc;                  /* private copy of the command line, for reloads */
	char **argv;
	struct bufpool pool;
	struct peercred *peercred; /* owner lookups for access_check (one netlink socket) */
	struct listener listeners[CONFIG_MAX_LISTEN];
	size_t nlisteners;
	unsigned max_tunnels;        /* the configured bound, lowered to what the fd limit allows */
	unsigned long fd_limit;      /* RLIMIT_NOFILE at start; 0 = none */
	unsigned long pipe_fds;      /* fds held by splice pipes, pooled ones included */
	int pipe_pool[64][2];        /* empty pipes ready for reuse */
	unsigned npipes;
	int splice_budget_logged;    /* said once that splice waits for fds */

	struct tunnel *tunnels;      /* live tunnels, doubly linked */
	unsigned ntunnels;
	uint64_t accepted;           /* since start */

	int accept_paused;           /* 0, or why accepting is paused */
	ev_timer accept_retry;       /* resumes accepting after fd exhaustion */
	ev_tstamp last_fd_warning;   /* rate limit for that error line */

	int stopping;                /* a signal asked us to stop: no new clients */
	ev_timer grace;              /* how long live tunnels may still run */
	ev_signal sigint, sigterm, sighup, sigusr1;
};

enum { SERVER_PAUSE_LIMIT = 1, SERVER_PAUSE_FDS = 2 };

/* Opens the listeners and everything they need; takes cfg (malloc'd) and keeps argv for
 * reloads.  Returns 0, or -1 with err (exit 1). */
int server_init(struct server *s, struct ev_loop *loop, struct config *cfg, int argc, char **argv, char *err,
		size_t errlen);
/* Closes every tunnel and listener and frees what server_init made. */
void server_destroy(struct server *s);

/* May a tunnel take two more fds for a splice pipe?  Only while the fd limit leaves room
 * for every tunnel --max-tunnels allows; otherwise the relay uses its buffers. */
int server_pipe_room(const struct server *s);

/* A reference to the current generation for a new tunnel; give it back with gen_put. */
struct generation *server_gen_get(struct server *s);
void server_gen_put(struct generation *g);

/* O_NONBLOCK and FD_CLOEXEC on fd.  Returns 0 or -1. */
int server_set_nonblock(int fd);

/* A non-blocking, close-on-exec stream socket (one system call where the system allows). */
int server_socket(int family);

/* Splice pipes: an empty pipe is kept for the next tunnel instead of being closed, which
 * saves two system calls per direction and tunnel.  Returns 0 and the pair, or -1. */
int server_pipe_get(struct server *s, int fds[2]);
/* Gives back a pipe; empty ones are pooled (up to a bound), others closed. */
void server_pipe_put(struct server *s, int rd, int wr, int empty);

/* Stops accepting for a reason; SERVER_PAUSE_FDS retries on a timer. */
void server_pause_accept(struct server *s, int why);
/* Called when a tunnel ends: accepting resumes if it was paused for want of room. */
void server_tunnel_closed(struct server *s);

#endif
