/* listener: one listening socket; accepts clients and hands each to its owner.  Before
 * each accept it asks the owner whether one more client may come in (the tunnel bound);
 * when fds run out it tells the owner, which pauses accepting. */
#ifndef SOCKS2HTTP_LISTENER_H
#define SOCKS2HTTP_LISTENER_H

#include <ev.h>

#include <sys/socket.h>

#include "config.h"

struct listener {
	struct ev_loop *loop;
	int fd;
	ev_io io;
	int is_unix;    /* a Unix-domain socket we bound: its file is removed on close */
	char text[120]; /* the bound address, with the real port; "unix:/path" */
	struct sockaddr_storage local; /* the bound address, when exact (not a wildcard) */
	int local_exact;
	int (*admit)(void *data);    /* may one more client come in now? (0: the owner paused) */
	/* takes fd; local is the listener's exact address, or NULL */
	void (*accepted)(void *data, int fd, const struct sockaddr *peer, socklen_t len,
			 const struct sockaddr_storage *local);
	void (*out_of_fds)(void *data);
	void *data;
};

/* Binds and listens (SO_REUSEPORT with reuseport).  The caller sets the hooks before
 * listener_start.  Returns 0, or -1 with err filled. */
int listener_open(struct listener *l, struct ev_loop *loop, const struct listen_spec *spec, int reuseport, char *err,
		  size_t errlen);
/* Whether a TCP address is free to listen on, as listener_open without reuseport would find
 * it: a socket is bound there without SO_REUSEPORT (anything listening there makes that
 * fail, with or without SO_REUSEPORT) and closed.  Workers use SO_REUSEPORT and would
 * otherwise share a port with another daemon.  Returns 0, or -1 with err filled. */
int listener_probe(const struct listen_spec *spec, char *err, size_t errlen);
/* Takes over fd, a listening socket inherited from a service manager (activation.h): the
 * address from getsockname, O_NONBLOCK, and for TCP the options listener_open sets.  A
 * Unix-domain socket's file belongs to the service manager and is left in place on close.
 * The caller sets the hooks before listener_start.  Returns 0, or -1 with err filled (fd is
 * then left open, still the caller's). */
int listener_adopt(struct listener *l, struct ev_loop *loop, int fd, char *err, size_t errlen);
void listener_start(struct listener *l);
void listener_stop(struct listener *l);
void listener_close(struct listener *l);

#endif
