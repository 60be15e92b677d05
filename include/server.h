/* server: the daemon's parts wired together: the listeners, the sessions they hand
 * clients to, the configuration generations (SIGHUP), accept pausing and orderly shutdown.
 * Only main uses it; no module below sees struct server. */
#ifndef SOCKS2HTTP_SERVER_H
#define SOCKS2HTTP_SERVER_H

#include <ev.h>
#include <stdint.h>

#include "config.h"
#include "control.h"
#include "listener.h"
#include "service.h"
#include "session.h"

struct netwatch;

struct server {
	struct session_host host;    /* loop, buffers, pipes, current generation, sessions */
	int argc;                    /* private copy of the command line, for reloads */
	char **argv;
	struct listener listeners[CONFIG_MAX_LISTEN];
	size_t nlisteners;
	unsigned max_tunnels;        /* the configured bound, lowered to what the fd limit allows */
	unsigned long fd_limit;      /* RLIMIT_NOFILE at start; 0 = none */

	int accept_paused;           /* 0, or why accepting is paused */
	ev_timer accept_retry;       /* resumes accepting after fd exhaustion */
	ev_tstamp last_fd_warning;   /* rate limit for that error line */

	int stopping;                /* a signal asked us to stop: no new clients */
	ev_timer grace;              /* how long live tunnels may still run */
	ev_timer pipe_drain;         /* closes pooled pipes once no tunnel is left */
	ev_signal sigint, sigterm, sighup, sigusr1;
	struct control control;      /* the status socket */
	struct service svc;          /* notifications, STATUS=, --exit-idle */
	struct netwatch *netwatch;   /* address and route changes (rtnetlink) */
};

/* Opens the listeners and everything they need; takes cfg (malloc'd) and keeps argv for
 * reloads.  Returns 0, or -1 with err (exit 1). */
int server_init(struct server *s, struct ev_loop *loop, struct config *cfg, int argc, char **argv, char *err,
		size_t errlen);
/* Closes every session and listener and frees what server_init made. */
void server_destroy(struct server *s);

#endif
