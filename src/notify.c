/* notify: sd_notify without libsystemd (see include/notify.h). */
#include "notify.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "sockets.h"

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif

static struct {
	int fd; /* -1: off */
	struct sockaddr_un addr;
	socklen_t addrlen;
	int worker_fd; /* notify_worker's pipe until the first READY; -1: none */
} ns = {.fd = -1, .worker_fd = -1};

int notify_init(void)
{
	const char *path = getenv("NOTIFY_SOCKET");

	notify_disable();
	if (path != NULL && (path[0] == '/' || path[0] == '@') && strlen(path) < sizeof(ns.addr.sun_path)) {
		memset(&ns.addr, 0, sizeof(ns.addr));
		ns.addr.sun_family = AF_UNIX;
		memcpy(ns.addr.sun_path, path, strlen(path));
		if (path[0] == '@')
			ns.addr.sun_path[0] = '\0'; /* abstract: the name is the bytes after the NUL */
		ns.addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
#if defined(SOCK_NONBLOCK) && defined(SOCK_CLOEXEC)
		ns.fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
#else
		ns.fd = socket(AF_UNIX, SOCK_DGRAM, 0);
		if (ns.fd >= 0 && sockets_nonblock(ns.fd) < 0) {
			close(ns.fd);
			ns.fd = -1;
		}
#endif
	}
	unsetenv("NOTIFY_SOCKET");
	return ns.fd >= 0;
}

int notify_enabled(void)
{
	return ns.fd >= 0;
}

void notify_disable(void)
{
	if (ns.fd >= 0)
		close(ns.fd);
	ns.fd = -1;
}

void notify_worker(int fd)
{
	notify_disable();
	ns.worker_fd = fd;
}

void notify_send(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (ns.fd < 0)
		return;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n <= 0)
		return;
	if ((size_t)n >= sizeof(msg))
		n = (int)sizeof(msg) - 1;
	ssize_t w;
	do
		w = sendto(ns.fd, msg, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&ns.addr, ns.addrlen);
	while (w < 0 && errno == EINTR);
}

void notify_ready(void)
{
	if (ns.worker_fd >= 0) {
		pid_t pid = getpid();
		ssize_t w;
		do /* less than PIPE_BUF: all or nothing, never mixed with another worker's */
			w = write(ns.worker_fd, &pid, sizeof(pid));
		while (w < 0 && errno == EINTR);
		close(ns.worker_fd);
		ns.worker_fd = -1;
	}
	notify_send("READY=1");
}

void notify_reloading(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	notify_send("RELOADING=1\nMONOTONIC_USEC=%llu",
		    (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000ULL);
}

void notify_stopping(void)
{
	notify_send("STOPPING=1");
}
