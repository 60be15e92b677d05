/* control: the daemon's control socket, which `socks2http status` asks.
 *
 * A Unix-domain stream socket (mode 0600, in a directory of mode 0700 when we make it) at
 * --control PATH, else $XDG_RUNTIME_DIR/socks2http/control, else
 * /tmp/socks2http-UID/control.  Only peers of our own uid (SO_PEERCRED) are served.
 * Protocol: the client sends one line, "status" (a text table) or "status json" (one
 * JSON document), and reads until we close.  A request is at most CONTROL_REQ_MAX bytes and
 * must arrive within CONTROL_TIMEOUT; the answer is built at once into a bounded buffer and
 * written without blocking, within the same timeout.  Nothing here blocks the loop. */
#ifndef SOCKS2HTTP_CONTROL_H
#define SOCKS2HTTP_CONTROL_H

#include <ev.h>
#include <stddef.h>
#include <sys/types.h>

#include "config.h"
#include "session.h"

#define CONTROL_REQ_MAX 64
#define CONTROL_TIMEOUT 5.0
#define CONTROL_CLIENTS 8        /* served at once; more are closed at accept */
#define CONTROL_OUT_MAX (4u << 20)
#define CONTROL_LIST_MAX 4000    /* tunnels listed at most */

/* What the server knows that the sessions do not. */
struct control_facts {
	unsigned max_tunnels;
	const char *accepting;   /* "yes", "paused", "stopped" */
};

struct control_client;

struct control {
	struct ev_loop *loop;
	int fd;                  /* -1 when there is no control socket */
	ev_io io;
	ev_timer retry;          /* accepting again after accept failed (out of fds) */
	char path[108];
	dev_t dev;               /* of the socket we bound: removed at close only if still ours */
	ino_t ino;
	ev_tstamp started;
	struct session_host *host;
	void (*facts)(void *data, struct control_facts *f);
	void *data;
	struct control_client *clients;
	unsigned nclients;
};

/* The path for cfg (--control, or the default place) into out.  Returns 0, or -1 when it
 * does not fit. */
int control_path(const struct config *cfg, char *out, size_t cap);

/* Opens the control socket (ctl->fd stays -1 when there is none: --no-control, or
 * --workers > 1).  Returns 0, or -1 with err (the daemon runs on without status). */
int control_open(struct control *ctl, struct ev_loop *loop, const struct config *cfg, struct session_host *host,
		 void (*facts)(void *, struct control_facts *), void *data, char *err, size_t errlen);

/* Closes the socket, its clients, and removes the socket file if it is still ours. */
void control_close(struct control *ctl);

#endif
