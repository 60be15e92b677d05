/* Unit tests for activation: LISTEN_PID/LISTEN_FDS and LISTEN_FDNAMES parsing, and
 * activation_take on real sockets moved to fds 3 and 4. */
#include "activation.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"

static void test_env(void)
{
	char err[256];
	CHECK_EQ_INT(activation_parse_env(NULL, NULL, 42, 16, err, sizeof(err)), 0);
	CHECK_EQ_INT(activation_parse_env("42", NULL, 42, 16, err, sizeof(err)), 0);
	CHECK_EQ_INT(activation_parse_env(NULL, "2", 42, 16, err, sizeof(err)), 0);
	CHECK_EQ_INT(activation_parse_env("42", "2", 42, 16, err, sizeof(err)), 2);
	CHECK_EQ_INT(activation_parse_env("42", "0", 42, 16, err, sizeof(err)), 0);
	CHECK_EQ_INT(activation_parse_env("43", "2", 42, 16, err, sizeof(err)), 0); /* another process's */
	CHECK_EQ_INT(activation_parse_env("42", "16", 42, 16, err, sizeof(err)), 16);
	CHECK_EQ_INT(activation_parse_env("42", "17", 42, 16, err, sizeof(err)), -1);
	CHECK(strstr(err, "17 sockets") != NULL);
	CHECK_EQ_INT(activation_parse_env("42", "-1", 42, 16, err, sizeof(err)), -1);
	CHECK_EQ_INT(activation_parse_env("42", "2x", 42, 16, err, sizeof(err)), -1);
	CHECK_EQ_INT(activation_parse_env("42", "", 42, 16, err, sizeof(err)), -1);
	CHECK_EQ_INT(activation_parse_env("x", "2", 42, 16, err, sizeof(err)), -1);
	CHECK_EQ_INT(activation_parse_env("0", "2", 42, 16, err, sizeof(err)), -1);
	CHECK_EQ_INT(activation_parse_env("99999999999999999999", "2", 42, 16, err, sizeof(err)), -1);
}

static void test_names(void)
{
	char names[4][ACTIVATION_NAME_MAX];
	char longname[200];

	CHECK_EQ_INT(activation_parse_names("socks:alt", 2, names), 0);
	CHECK_EQ_STR(names[0], "socks");
	CHECK_EQ_STR(names[1], "alt");
	CHECK_EQ_INT(activation_parse_names(NULL, 2, names), 0);
	CHECK_EQ_STR(names[0], "unknown");
	CHECK_EQ_STR(names[1], "unknown");
	CHECK_EQ_INT(activation_parse_names("a::c", 3, names), 0); /* an empty name */
	CHECK_EQ_STR(names[0], "a");
	CHECK_EQ_STR(names[1], "unknown");
	CHECK_EQ_STR(names[2], "c");
	CHECK_EQ_INT(activation_parse_names("only", 3, names), -1); /* fewer names than fds */
	CHECK_EQ_STR(names[0], "only");
	CHECK_EQ_STR(names[1], "unknown");
	CHECK_EQ_STR(names[2], "unknown");
	CHECK_EQ_INT(activation_parse_names("a:b:c:d", 2, names), -1); /* more */
	CHECK_EQ_STR(names[1], "b");
	CHECK_EQ_INT(activation_parse_names("", 1, names), 0);
	CHECK_EQ_STR(names[0], "unknown");
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	CHECK_EQ_INT(activation_parse_names(longname, 1, names), 0);
	CHECK_EQ_INT(strlen(names[0]), ACTIVATION_NAME_MAX - 1);
}

static int tcp_socket(int do_listen)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || (do_listen && listen(fd, 8) < 0)) {
		perror("socket");
		exit(1);
	}
	return fd;
}

static void put_env(int n, const char *names)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%ld", (long)getpid());
	setenv("LISTEN_PID", buf, 1);
	snprintf(buf, sizeof(buf), "%d", n);
	setenv("LISTEN_FDS", buf, 1);
	if (names != NULL)
		setenv("LISTEN_FDNAMES", names, 1);
	else
		unsetenv("LISTEN_FDNAMES");
}

/* Real fds 3 and 4: taken with their names, made close-on-exec, the variables gone; a
 * socket that does not listen, or a datagram socket, is refused. */
static void test_take(void)
{
	struct config cfg;
	char err[256];

	for (int fd = 3; fd < 5; fd++) {
		int s = tcp_socket(1);
		if (s != fd) {
			dup2(s, fd);
			close(s);
		}
	}
	put_env(2, "socks:alt");
	memset(&cfg, 0, sizeof(cfg));
	CHECK_EQ_INT(activation_take(&cfg, err, sizeof(err)), 2);
	CHECK_EQ_INT(cfg.ninherited, 2);
	CHECK_EQ_INT(cfg.inherited_fd[0], 3);
	CHECK_EQ_INT(cfg.inherited_fd[1], 4);
	CHECK_EQ_STR(cfg.inherited_name[0], "socks");
	CHECK_EQ_STR(cfg.inherited_name[1], "alt");
	CHECK(fcntl(3, F_GETFD) & FD_CLOEXEC);
	CHECK(fcntl(4, F_GETFD) & FD_CLOEXEC);
	CHECK(getenv("LISTEN_PID") == NULL && getenv("LISTEN_FDS") == NULL && getenv("LISTEN_FDNAMES") == NULL);

	/* taken once: a second call finds nothing */
	memset(&cfg, 0, sizeof(cfg));
	CHECK_EQ_INT(activation_take(&cfg, err, sizeof(err)), 0);

	int s = tcp_socket(0); /* bound, not listening */
	dup2(s, 4);
	close(s);
	put_env(2, NULL);
	memset(&cfg, 0, sizeof(cfg));
	CHECK_EQ_INT(activation_take(&cfg, err, sizeof(err)), -1);
	CHECK(strstr(err, "fd 4 is not listening") != NULL);
	CHECK(getenv("LISTEN_FDS") == NULL);

	s = socket(AF_INET, SOCK_DGRAM, 0);
	dup2(s, 4);
	close(s);
	put_env(2, NULL);
	CHECK_EQ_INT(activation_take(&cfg, err, sizeof(err)), -1);
	CHECK(strstr(err, "fd 4 is not a stream socket") != NULL);

	close(4);
	put_env(2, NULL);
	CHECK_EQ_INT(activation_take(&cfg, err, sizeof(err)), -1);
	CHECK(strstr(err, "fd 4") != NULL);
	close(3);
}

int main(void)
{
	test_env();
	test_names();
	test_take();
	return check_report();
}
