/* listener: one listening socket; accepts clients and hands each to a new tunnel. */
#ifndef SOCKS2HTTP_LISTENER_H
#define SOCKS2HTTP_LISTENER_H

#include <ev.h>

#include "config.h"

struct server;

struct listener {
	struct server *srv;
	int fd;
	ev_io io;
	int is_unix;    /* a Unix-domain socket: its file is removed on close */
	char text[120]; /* the bound address, with the real port; "unix:/path" */
};

/* Binds and listens.  Returns 0, or -1 with err filled. */
int listener_open(struct listener *l, struct server *srv, const struct listen_spec *spec, char *err,
		  size_t errlen);
void listener_start(struct listener *l);
void listener_stop(struct listener *l);
void listener_close(struct listener *l);

#endif
