/* listener: bind, accept, and the bounds checked before each accept. */
#include "listener.h"

#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "sockets.h"

#define ACCEPTS_PER_EVENT 32 /* fairness with the tunnels already running */

static void accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct listener *l = (struct listener *)((char *)w - offsetof(struct listener, io));
	(void)loop;
	(void)revents;

	for (int i = 0; i < ACCEPTS_PER_EVENT; i++) {
		if (!l->admit(l->data))
			return; /* the kernel's backlog holds further clients until a tunnel ends */
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
#ifdef HAVE_ACCEPT4
		int fd = accept4(l->fd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
#else
		int fd = accept(l->fd, (struct sockaddr *)&peer, &plen);
		if (fd >= 0 && sockets_nonblock(fd) < 0) {
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
				l->out_of_fds(l->data);
				return;
			default:
				log_error("accept on %s: %s", l->text, strerror(errno));
				return;
			}
		}
		l->accepted(l->data, fd, (struct sockaddr *)&peer, plen, l->local_exact ? &l->local : NULL);
	}
}

/* A socket file left by a process that is gone may be replaced; a live one may not. */
static int clear_unix_path(const char *path, char *err, size_t errlen)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "cannot listen on unix:%s: the file exists and is not a socket", path);
		return -1;
	}
	int probe = socket(AF_UNIX, SOCK_STREAM, 0);
	if (probe < 0)
		return -1;
	struct sockaddr_un su;
	memset(&su, 0, sizeof(su));
	su.sun_family = AF_UNIX;
	snprintf(su.sun_path, sizeof(su.sun_path), "%s", path);
	int live = connect(probe, (struct sockaddr *)&su, sizeof(su)) == 0;
	close(probe);
	if (live) {
		snprintf(err, errlen, "cannot listen on unix:%s: another process is listening there", path);
		return -1;
	}
	return unlink(path);
}

int listener_open(struct listener *l, struct ev_loop *loop, const struct listen_spec *spec, int reuseport, char *err,
		  size_t errlen)
{
	int one = 1;
	int family = spec->addr.ss_family;
	const char *path = family == AF_UNIX ? ((const struct sockaddr_un *)&spec->addr)->sun_path : NULL;

	memset(l, 0, sizeof(*l));
	l->loop = loop;
	err[0] = '\0';
	l->fd = socket(family, SOCK_STREAM, 0);
	if (l->fd < 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", spec->text, strerror(errno));
		return -1;
	}
	if (family != AF_UNIX)
		(void)setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
#ifdef SO_REUSEPORT
	/* worker processes each have their own socket; the kernel spreads the clients */
	if (family != AF_UNIX && reuseport)
		(void)setsockopt(l->fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
#endif
	if (family == AF_INET6)
		(void)setsockopt(l->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	/* accepted sockets take the listener's options along where the system allows */
	if (family != AF_UNIX && sockets_tune_inherited())
		sockets_tune(l->fd, 0); /* keepalive per client: session_start */
	int rc = sockets_nonblock(l->fd);
	if (rc == 0 && path != NULL)
		rc = clear_unix_path(path, err, errlen);
	if (rc == 0) {
		/* a Unix socket is born with mode 0600: no window where others may connect */
		mode_t old = umask(0177);
		rc = bind(l->fd, (const struct sockaddr *)&spec->addr, spec->addrlen);
		umask(old);
		if (rc == 0 && path != NULL) {
			l->is_unix = 1;
			rc = chmod(path, 0600);
		}
	}
	if (rc == 0)
		rc = listen(l->fd, SOMAXCONN);
	if (rc < 0) {
		if (err[0] == '\0')
			snprintf(err, errlen, "cannot listen on %s: %s", spec->text, strerror(errno));
		if (l->is_unix)
			unlink(path);
		close(l->fd);
		l->fd = -1;
		l->is_unix = 0;
		return -1;
	}
	struct sockaddr_storage bound;
	socklen_t blen = sizeof(bound);
	if (path == NULL && getsockname(l->fd, (struct sockaddr *)&bound, &blen) == 0) {
		log_addr((struct sockaddr *)&bound, l->text, sizeof(l->text));
		l->local = bound;
		l->local_exact = !sockets_is_wildcard(&bound);
	} else
		snprintf(l->text, sizeof(l->text), "%s", spec->text);
	ev_io_init(&l->io, accept_cb, l->fd, EV_READ);
	return 0;
}

int listener_probe(const struct listen_spec *spec, char *err, size_t errlen)
{
	int one = 1;
	int family = spec->addr.ss_family;
	int fd = socket(family, SOCK_STREAM, 0);

	if (fd >= 0) {
		/* as listener_open: a port with only TIME_WAIT leftovers is free */
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (family == AF_INET6)
			(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	}
	if (fd < 0 || bind(fd, (const struct sockaddr *)&spec->addr, spec->addrlen) < 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", spec->text, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int listener_adopt(struct listener *l, struct ev_loop *loop, int fd, char *err, size_t errlen)
{
	struct sockaddr_storage bound;
	socklen_t blen = sizeof(bound);

	memset(l, 0, sizeof(*l));
	l->loop = loop;
	l->fd = -1;
	memset(&bound, 0, sizeof(bound));
	if (getsockname(fd, (struct sockaddr *)&bound, &blen) < 0 || sockets_nonblock(fd) < 0) {
		snprintf(err, errlen, "inherited socket (fd %d): %s", fd, strerror(errno));
		return -1;
	}
	l->local = bound;
	if (bound.ss_family == AF_UNIX) {
		const struct sockaddr_un *su = (const struct sockaddr_un *)&bound;
		size_t plen = blen > offsetof(struct sockaddr_un, sun_path) ? blen - offsetof(struct sockaddr_un, sun_path) : 0;
		if (plen > 0 && su->sun_path[0] == '\0') /* abstract: "@name" */
			snprintf(l->text, sizeof(l->text), "unix:@%.*s", (int)(plen - 1), su->sun_path + 1);
		else
			snprintf(l->text, sizeof(l->text), "unix:%.*s", (int)strnlen(su->sun_path, plen), su->sun_path);
	} else if (bound.ss_family == AF_INET || bound.ss_family == AF_INET6) {
		log_addr((struct sockaddr *)&bound, l->text, sizeof(l->text));
		l->local_exact = !sockets_is_wildcard(&bound);
		if (sockets_tune_inherited())
			sockets_tune(fd, 0);
	} else {
		snprintf(err, errlen, "inherited socket (fd %d): address family %d is not supported", fd, bound.ss_family);
		return -1;
	}
	l->fd = fd;
	ev_io_init(&l->io, accept_cb, l->fd, EV_READ);
	return 0;
}

void listener_start(struct listener *l)
{
	if (l->fd >= 0 && !ev_is_active(&l->io))
		ev_io_start(l->loop, &l->io);
}

void listener_stop(struct listener *l)
{
	if (l->fd >= 0)
		ev_io_stop(l->loop, &l->io);
}

void listener_close(struct listener *l)
{
	listener_stop(l);
	if (l->fd >= 0)
		close(l->fd);
	if (l->fd >= 0 && l->is_unix)
		unlink(l->text + 5);
	l->fd = -1;
}
