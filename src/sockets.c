/* sockets: socket helpers (see include/sockets.h). */
#include "sockets.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <unistd.h>

int sockets_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -1;
	int fdfl = fcntl(fd, F_GETFD);
	if (fdfl < 0 || fcntl(fd, F_SETFD, fdfl | FD_CLOEXEC) < 0)
		return -1;
	return 0;
}

int sockets_stream(int family)
{
#if defined(SOCK_NONBLOCK) && defined(SOCK_CLOEXEC)
	return socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
#else
	int fd = socket(family, SOCK_STREAM, 0);
	if (fd >= 0 && sockets_nonblock(fd) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
#endif
}

void sockets_tune(int fd, int keepalive)
{
	int one = 1;
	/* Nagle would only add delay: the endpoints do their own batching */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (keepalive)
		sockets_keepalive(fd);
}

void sockets_keepalive(int fd)
{
	int one = 1;
	(void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
#ifdef TCP_KEEPIDLE
	int idle = 60, intvl = 10, cnt = 6;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
#endif
}

void sockets_tune_accepted(int fd, int remote)
{
	if (!sockets_tune_inherited())
		sockets_tune(fd, remote);
	else if (remote)
		sockets_keepalive(fd); /* the listener passed on TCP_NODELAY */
}

int sockets_tune_inherited(void)
{
#if defined(__linux__) && !defined(S2H_PORTABLE)
	return 1; /* accept() clones the listener's socket, options included */
#else
	return 0;
#endif
}

socklen_t sockets_addrlen(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

int sockets_is_wildcard(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET) {
		struct sockaddr_in s4;
		memcpy(&s4, ss, sizeof(s4));
		return s4.sin_addr.s_addr == htonl(INADDR_ANY);
	}
	if (ss->ss_family == AF_INET6) {
		struct sockaddr_in6 s6;
		memcpy(&s6, ss, sizeof(s6));
		return memcmp(&s6.sin6_addr, &in6addr_any, sizeof(s6.sin6_addr)) == 0;
	}
	return 1;
}
