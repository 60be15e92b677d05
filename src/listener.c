/* listener: bind, accept, and the bounds checked before each accept. */
#include "listener.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "server.h"
#include "tunnel.h"

#define ACCEPTS_PER_EVENT 32 /* fairness with the tunnels already running */

static void accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct listener *l = (struct listener *)((char *)w - offsetof(struct listener, io));
	struct server *srv = l->srv;
	(void)loop;
	(void)revents;

	for (int i = 0; i < ACCEPTS_PER_EVENT; i++) {
		if (srv->ntunnels >= srv->max_tunnels) {
			/* the kernel's backlog holds further clients until a tunnel ends */
			server_pause_accept(srv, SERVER_PAUSE_LIMIT);
			return;
		}
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
#ifdef HAVE_ACCEPT4
		int fd = accept4(l->fd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
#else
		int fd = accept(l->fd, (struct sockaddr *)&peer, &plen);
		if (fd >= 0 && server_set_nonblock(fd) < 0) {
			close(fd);
			continue;
		}
#endif
		if (fd < 0) {
			switch (errno) {
			case EAGAIN:
#if EWOULDBLOCK != EAGAIN
			case EWOULDBLOCK:
#endif
				return;
			case EINTR:
			case ECONNABORTED:
			case EPROTO:
				continue;
			case EMFILE:
			case ENFILE:
			case ENOBUFS:
			case ENOMEM:
				server_pause_accept(srv, SERVER_PAUSE_FDS);
				return;
			default:
				log_error("accept on %s: %s", l->text, strerror(errno));
				return;
			}
		}
		srv->accepted++;
		tunnel_accept(srv, fd, (struct sockaddr *)&peer, plen);
	}
}

int listener_open(struct listener *l, struct server *srv, const struct listen_spec *spec, char *err, size_t errlen)
{
	int one = 1;
	int family = spec->addr.ss_family;

	memset(l, 0, sizeof(*l));
	l->srv = srv;
	l->fd = socket(family, SOCK_STREAM, 0);
	if (l->fd < 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", spec->text, strerror(errno));
		return -1;
	}
	(void)setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (family == AF_INET6)
		(void)setsockopt(l->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (server_set_nonblock(l->fd) < 0 || bind(l->fd, (const struct sockaddr *)&spec->addr, spec->addrlen) < 0 ||
	    listen(l->fd, SOMAXCONN) < 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", spec->text, strerror(errno));
		close(l->fd);
		l->fd = -1;
		return -1;
	}
	struct sockaddr_storage bound;
	socklen_t blen = sizeof(bound);
	if (getsockname(l->fd, (struct sockaddr *)&bound, &blen) == 0)
		log_addr((struct sockaddr *)&bound, l->text, sizeof(l->text));
	else
		snprintf(l->text, sizeof(l->text), "%s", spec->text);
	ev_io_init(&l->io, accept_cb, l->fd, EV_READ);
	return 0;
}

void listener_start(struct listener *l)
{
	if (l->fd >= 0 && !ev_is_active(&l->io))
		ev_io_start(l->srv->loop, &l->io);
}

void listener_stop(struct listener *l)
{
	if (l->fd >= 0)
		ev_io_stop(l->srv->loop, &l->io);
}

void listener_close(struct listener *l)
{
	listener_stop(l);
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
}
