/* Unit tests for notify: messages reach a datagram socket named by NOTIFY_SOCKET (a path or
 * "@abstract"), the variable is gone afterwards, and nothing is sent without it; a worker
 * tells its supervisor once, by its pid on a pipe, and the manager nothing. */
#include "notify.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "check.h"

/* A bound datagram socket for name ("@x": abstract); -1 on failure. */
static int receiver(const char *name)
{
	struct sockaddr_un su;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	memset(&su, 0, sizeof(su));
	su.sun_family = AF_UNIX;
	memcpy(su.sun_path, name, strlen(name));
	if (name[0] == '@')
		su.sun_path[0] = '\0';
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(name));
	if (fd < 0 || bind(fd, (struct sockaddr *)&su, len) < 0) {
		perror("receiver");
		exit(1);
	}
	return fd;
}

static void expect(int fd, const char *want)
{
	char buf[600];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	CHECK_EQ_STR(buf, want);
}

static void test_path_and_abstract(void)
{
	char path[64], abstract[64];
	snprintf(path, sizeof(path), "/tmp/s2h-notify-test-%ld", (long)getpid());
	snprintf(abstract, sizeof(abstract), "@s2h-notify-test-%ld", (long)getpid());
	unlink(path);

	int fd = receiver(path);
	setenv("NOTIFY_SOCKET", path, 1);
	CHECK_EQ_INT(notify_init(), 1);
	CHECK(getenv("NOTIFY_SOCKET") == NULL);
	notify_ready();
	expect(fd, "READY=1");
	notify_send("STATUS=%u tunnels", 3u);
	expect(fd, "STATUS=3 tunnels");
	notify_stopping();
	expect(fd, "STOPPING=1");
	notify_reloading();
	char buf[128];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	CHECK(strncmp(buf, "RELOADING=1\nMONOTONIC_USEC=", 27) == 0 && strlen(buf) > 27);
	close(fd);
	unlink(path);
	notify_send("READY=1"); /* the manager is gone: nothing happens */

	fd = receiver(abstract);
	setenv("NOTIFY_SOCKET", abstract, 1);
	CHECK_EQ_INT(notify_init(), 1);
	notify_ready();
	expect(fd, "READY=1");
	notify_disable();
	CHECK_EQ_INT(notify_enabled(), 0);
	notify_ready();
	CHECK(recv(fd, buf, sizeof(buf), 0) < 0); /* nothing after disable */
	close(fd);

	unsetenv("NOTIFY_SOCKET");
	CHECK_EQ_INT(notify_init(), 0);
	setenv("NOTIFY_SOCKET", "relative/path", 1); /* neither a path nor abstract */
	CHECK_EQ_INT(notify_init(), 0);
	CHECK(getenv("NOTIFY_SOCKET") == NULL);
}

/* notify_worker: the first notify_ready writes the pid and closes the pipe (the supervisor
 * counts each worker once, also after a reload's READY=1); the manager hears nothing. */
static void test_worker(void)
{
	char path[64];
	int p[2];
	pid_t got[2];
	snprintf(path, sizeof(path), "/tmp/s2h-notify-worker-%ld", (long)getpid());
	int fd = receiver(path);
	setenv("NOTIFY_SOCKET", path, 1);
	CHECK_EQ_INT(notify_init(), 1);
	CHECK_EQ_INT(pipe(p), 0);
	notify_worker(p[1]);
	CHECK_EQ_INT(notify_enabled(), 0);
	notify_ready();
	notify_ready();
	ssize_t n = read(p[0], got, sizeof(got)); /* EOF after: the write end is closed */
	CHECK_EQ_INT(n, (ssize_t)sizeof(pid_t));
	CHECK_EQ_INT(got[0], getpid());
	CHECK_EQ_INT(read(p[0], got, sizeof(got)), 0);
	char buf[64];
	CHECK(recv(fd, buf, sizeof(buf), 0) < 0);
	close(p[0]);
	close(fd);
	unlink(path);
}

int main(void)
{
	test_path_and_abstract();
	test_worker();
	return check_report();
}
