/* activation: sockets from systemd (LISTEN_FDS) or launchd (see include/activation.h). */
#include "activation.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifdef __APPLE__
#include <launch.h>
#endif

/* A decimal number without sign or junk, at most max.  Returns it, or -1. */
static long parse_num(const char *s, long max)
{
	char *end;
	if (s == NULL || !(s[0] >= '0' && s[0] <= '9'))
		return -1;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (*end != '\0' || errno != 0 || v > max)
		return -1;
	return v;
}

int activation_parse_env(const char *listen_pid, const char *listen_fds, long self, size_t max, char *err,
			 size_t errlen)
{
	if (listen_fds == NULL || listen_pid == NULL)
		return 0;
	long pid = parse_num(listen_pid, 0x7fffffffL);
	if (pid <= 0) {
		snprintf(err, errlen, "socket activation: bad LISTEN_PID '%.32s'", listen_pid);
		return -1;
	}
	if (pid != self)
		return 0; /* meant for the process that started us, not for us */
	long n = parse_num(listen_fds, 0x7fffffffL);
	if (n < 0) {
		snprintf(err, errlen, "socket activation: bad LISTEN_FDS '%.32s'", listen_fds);
		return -1;
	}
	if ((size_t)n > max) {
		snprintf(err, errlen, "socket activation: %ld sockets passed, at most %zu can be used", n, max);
		return -1;
	}
	return (int)n;
}

int activation_parse_names(const char *text, size_t n, char names[][ACTIVATION_NAME_MAX])
{
	size_t i = 0;
	const char *p = text;

	for (; i < n; i++) {
		size_t len = 0;
		if (p != NULL) {
			const char *colon = strchr(p, ':');
			len = colon != NULL ? (size_t)(colon - p) : strlen(p);
			if (len >= ACTIVATION_NAME_MAX)
				len = ACTIVATION_NAME_MAX - 1;
			memcpy(names[i], p, len);
			p = colon != NULL ? colon + 1 : NULL;
		}
		names[i][len] = '\0';
		if (len == 0)
			snprintf(names[i], ACTIVATION_NAME_MAX, "unknown");
	}
	if (text == NULL)
		return 0;
	/* p is NULL when the names ran out exactly at (or before) the last fd */
	size_t given = 1;
	for (const char *q = text; *q != '\0'; q++)
		given += *q == ':';
	return given == n ? 0 : -1;
}

/* Is fd a listening stream socket?  Returns 0, or -1 with err. */
static int check_listening(int fd, char *err, size_t errlen)
{
	int type = 0, acc = 0;
	socklen_t len = sizeof(type);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0) {
		snprintf(err, errlen, "socket activation: fd %d is not a socket (%s)", fd, strerror(errno));
		return -1;
	}
	if (type != SOCK_STREAM) {
		snprintf(err, errlen, "socket activation: fd %d is not a stream socket (use ListenStream=)", fd);
		return -1;
	}
#ifdef SO_ACCEPTCONN
	len = sizeof(acc);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) == 0 && !acc) {
		snprintf(err, errlen, "socket activation: fd %d is not listening (Accept=no is needed)", fd);
		return -1;
	}
#endif
	return 0;
}

#ifdef __APPLE__
/* launchd: the sockets of the plist's "Listeners" entry. */
static int take_launchd(struct config *cfg, char *err, size_t errlen)
{
	int *fds = NULL;
	size_t cnt = 0;
	int rc = launch_activate_socket("Listeners", &fds, &cnt);
	if (rc == ESRCH || rc == ENOENT)
		return 0; /* not started by launchd, or no such socket in the plist */
	if (rc != 0) {
		snprintf(err, errlen, "launch_activate_socket: %s", strerror(rc));
		return -1;
	}
	for (size_t i = 0; i < cnt; i++) {
		if (i >= CONFIG_MAX_LISTEN) {
			close(fds[i]);
			continue;
		}
		cfg->inherited_fd[i] = fds[i];
		snprintf(cfg->inherited_name[i], CONFIG_FDNAME_MAX, "Listeners");
		(void)fcntl(fds[i], F_SETFD, FD_CLOEXEC);
	}
	free(fds);
	cfg->ninherited = cnt < CONFIG_MAX_LISTEN ? cnt : CONFIG_MAX_LISTEN;
	for (size_t i = 0; i < cfg->ninherited; i++)
		if (check_listening(cfg->inherited_fd[i], err, errlen) < 0)
			return -1;
	return (int)cfg->ninherited;
}
#endif

int activation_take(struct config *cfg, char *err, size_t errlen)
{
	const char *names = getenv("LISTEN_FDNAMES");
	int n = activation_parse_env(getenv("LISTEN_PID"), getenv("LISTEN_FDS"), (long)getpid(), CONFIG_MAX_LISTEN,
				     err, errlen);
	if (n > 0)
		(void)activation_parse_names(names, (size_t)n, cfg->inherited_name);
	/* gone whatever they said: they describe this process only, never a child of it */
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (n < 0)
		return -1;
#ifdef __APPLE__
	if (n == 0)
		return take_launchd(cfg, err, errlen);
#endif
	for (int i = 0; i < n; i++) {
		int fd = ACTIVATION_FD_START + i;
		int fl = fcntl(fd, F_GETFD);
		if (fl < 0 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0) {
			snprintf(err, errlen, "socket activation: fd %d: %s", fd, strerror(errno));
			return -1;
		}
		if (check_listening(fd, err, errlen) < 0)
			return -1;
		cfg->inherited_fd[i] = fd;
	}
	cfg->ninherited = (size_t)n;
	return n;
}
