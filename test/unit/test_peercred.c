/* test_peercred: peercred_uid() on real sockets: TCP over 127.0.0.1, ::1 and v4-mapped
 * loopback, AF_UNIX pairs and listeners, unconnected, closed and self-connected peers,
 * clients of another user (when run as root), unmapped users (a user namespace), and the
 * handle's one netlink socket: kept across lookups, stale and lost answers, an answer
 * that never comes (no waiting), and the cost of one lookup.
 * Linux only: elsewhere it prints a note and checks nothing.  In a portable build
 * (configure --enable-portable) TCP lookups must say ENOSYS and Unix-domain ones go
 * through getpeereid(). */
#ifdef __linux__
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifdef S2H_SOCK_DIAG
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#endif

#include "check.h"
#include "peercred.h"

#define NOBODY 65534
#define LOOKUPS 1000

static struct peercred *pc; /* the handle every check uses */

/* Setup that must work for the checks to mean anything. */
static void die(const char *what)
{
	fprintf(stderr, "setup failed: %s: %s\n", what, strerror(errno));
	check_failed++;
	exit(check_report());
}

/* peercred_uid(fd) succeeds with want. */
#define CHECK_OWNER(fd, want)                                                          \
	do {                                                                           \
		uid_t u_ = (uid_t)-2;                                                  \
		int rc_ = peercred_uid(pc, (fd), &u_);                                 \
		int e_ = errno;                                                        \
		CHECK_EQ_INT(rc_, 0);                                                  \
		if (rc_ < 0)                                                           \
			fprintf(stderr, "  errno %d: %s\n", e_, peercred_strerror(e_)); \
		CHECK_EQ_INT(u_, (want));                                              \
	} while (0)

/* peercred_uid(fd) fails with err and leaves *uid alone. */
#define CHECK_NO_OWNER(fd, err)                                                        \
	do {                                                                           \
		uid_t u_ = 4242;                                                       \
		int rc_ = peercred_uid(pc, (fd), &u_);                                 \
		int e_ = errno;                                                        \
		CHECK_EQ_INT(rc_, -1);                                                 \
		CHECK_EQ_INT(e_, (err));                                               \
		CHECK_EQ_INT(u_, 4242);                                                \
	} while (0)

/* A TCP peer's owner, where this build looks it up; ENOSYS in a portable build. */
#ifdef S2H_SOCK_DIAG
#define CHECK_TCP_OWNER(fd, want) CHECK_OWNER(fd, want)
#define CHECK_TCP_NO_OWNER(fd, err) CHECK_NO_OWNER(fd, err)
#else
#define CHECK_TCP_OWNER(fd, want) CHECK_NO_OWNER(fd, ENOSYS)
#define CHECK_TCP_NO_OWNER(fd, err) CHECK_NO_OWNER(fd, ENOSYS)
#endif

struct addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

static void addr_set(struct addr *a, int family, const char *ip, int port)
{
	memset(a, 0, sizeof(*a));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&a->ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, ip, &sin->sin_addr) != 1)
			die(ip);
		a->len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a->ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, ip, &sin6->sin6_addr) != 1)
			die(ip);
		a->len = sizeof(*sin6);
	}
}

static int addr_port(const struct addr *a)
{
	if (a->ss.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
}

/* A TCP listener on ip port 0; *bound receives the real address.  Returns -1 (errno set)
 * when the address cannot be used here (no IPv6, say). */
static int tcp_listen(int family, const char *ip, int dual_stack, struct addr *bound)
{
	struct addr a;
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (family == AF_INET6) {
		int v6only = !dual_stack;
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)) < 0)
			die("IPV6_V6ONLY");
	}
	addr_set(&a, family, ip, 0);
	if (bind(fd, (struct sockaddr *)&a.ss, a.len) < 0 || listen(fd, 16) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	bound->len = sizeof(bound->ss);
	if (getsockname(fd, (struct sockaddr *)&bound->ss, &bound->len) < 0)
		die("getsockname");
	return fd;
}

/* A TCP client of family connected to ip:port, bound first to from when not NULL. */
static int tcp_connect(int family, const char *from, const char *ip, int port)
{
	struct addr a;
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket");
	if (from != NULL) {
		addr_set(&a, family, from, 0);
		if (bind(fd, (struct sockaddr *)&a.ss, a.len) < 0)
			die(from);
	}
	addr_set(&a, family, ip, port);
	if (connect(fd, (struct sockaddr *)&a.ss, a.len) < 0)
		die("connect");
	return fd;
}

/* Accepts one client, waiting at most 5 s.  Returns -1 on timeout. */
static int accept_one(int lfd)
{
	struct pollfd p = { .fd = lfd, .events = POLLIN };
	int n;
	do
		n = poll(&p, 1, 5000);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		die("poll");
	if (n == 0)
		return -1;
	int fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		die("accept");
	return fd;
}

static int unix_listen(const char *path)
{
	struct sockaddr_un sun;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket(AF_UNIX)");
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(fd, 16) < 0)
		die(path);
	return fd;
}

static int unix_connect(const char *path)
{
	struct sockaddr_un sun;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Both ends of a loopback connection belong to us, whichever end asks. */
static void check_tcp_pair(int lfd, int family, const char *from, const char *ip, int port)
{
	int c = tcp_connect(family, from, ip, port);
	int s = accept_one(lfd);
	CHECK(s >= 0);
	CHECK_TCP_OWNER(s, getuid());
	CHECK_TCP_OWNER(c, getuid());
	/* a client that only stopped sending still holds its socket */
	if (shutdown(c, SHUT_WR) < 0)
		die("shutdown");
	CHECK_TCP_OWNER(s, getuid());
	close(c);
	close(s);
}

static void test_tcp_v4(void)
{
	struct addr a;
	int lfd = tcp_listen(AF_INET, "127.0.0.1", 0, &a);
	if (lfd < 0)
		die("listen 127.0.0.1");
	check_tcp_pair(lfd, AF_INET, NULL, "127.0.0.1", addr_port(&a));
	close(lfd);

	/* all of 127.0.0.0/8 is loopback */
	lfd = tcp_listen(AF_INET, "127.0.0.3", 0, &a);
	if (lfd < 0)
		die("listen 127.0.0.3");
	check_tcp_pair(lfd, AF_INET, "127.0.0.2", "127.0.0.3", addr_port(&a));
	close(lfd);
}

static void test_tcp_v6(void)
{
	struct addr a;
	int lfd = tcp_listen(AF_INET6, "::1", 0, &a);
	if (lfd < 0) {
		printf("note: no IPv6 loopback here (%s): ::1 checks skipped\n", strerror(errno));
		return;
	}
	check_tcp_pair(lfd, AF_INET6, NULL, "::1", addr_port(&a));
	close(lfd);
}

/* A dual-stack listener sees IPv4 clients as ::ffff:127.0.0.1; the client socket may be
 * AF_INET or AF_INET6 with v4-mapped addresses. */
static void test_tcp_v4mapped(void)
{
	struct addr a;
	int lfd = tcp_listen(AF_INET6, "::", 1, &a);
	if (lfd < 0) {
		printf("note: no dual-stack IPv6 here (%s): v4-mapped checks skipped\n", strerror(errno));
		return;
	}
	check_tcp_pair(lfd, AF_INET, NULL, "127.0.0.1", addr_port(&a));
	check_tcp_pair(lfd, AF_INET6, NULL, "::ffff:127.0.0.1", addr_port(&a));
	close(lfd);
}

/* A peer whose socket is closed has no owner any more, even with its bytes still queued. */
static void test_tcp_closed_peer(void)
{
	struct addr a;
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	int lfd = tcp_listen(AF_INET, "127.0.0.1", 0, &a);
	if (lfd < 0)
		die("listen");

	int c = tcp_connect(AF_INET, NULL, "127.0.0.1", addr_port(&a));
	if (write(c, "x", 1) != 1)
		die("write");
	close(c); /* FIN: the client socket lingers, orphaned, in FIN_WAIT2 */
	int s = accept_one(lfd);
	CHECK(s >= 0);
	CHECK_TCP_NO_OWNER(s, ENOENT);
	close(s);

	c = tcp_connect(AF_INET, NULL, "127.0.0.1", addr_port(&a));
	s = accept_one(lfd);
	CHECK(s >= 0);
	CHECK_TCP_OWNER(s, getuid());
	if (setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) < 0)
		die("SO_LINGER");
	close(c); /* RST: the client socket is gone, and ours no longer connected */
	CHECK_NO_OWNER(s, ENOENT);
	close(s);
	close(lfd);
}

/* A TCP socket connected to its own address (a simultaneous open with itself). */
static void test_tcp_self(void)
{
	struct addr a;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket");
	addr_set(&a, AF_INET, "127.0.0.1", 0);
	if (bind(fd, (struct sockaddr *)&a.ss, a.len) < 0)
		die("bind");
	a.len = sizeof(a.ss);
	if (getsockname(fd, (struct sockaddr *)&a.ss, &a.len) < 0)
		die("getsockname");
	if (connect(fd, (struct sockaddr *)&a.ss, a.len) < 0)
		die("connect to self");
	CHECK_NO_OWNER(fd, ENOENT);
	close(fd);
}

/* A connection between two of this host's non-loopback addresses: the peer is local, but
 * only loopback peers are looked up. */
static void test_tcp_not_loopback(void)
{
	struct ifaddrs *ifs, *i;
	char ip[INET_ADDRSTRLEN] = "";

	if (getifaddrs(&ifs) < 0)
		die("getifaddrs");
	for (i = ifs; i != NULL; i = i->ifa_next) {
		if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET)
			continue;
		struct sockaddr_in sin;
		memcpy(&sin, i->ifa_addr, sizeof(sin));
		if ((ntohl(sin.sin_addr.s_addr) >> 24) == 127)
			continue;
		if (inet_ntop(AF_INET, &sin.sin_addr, ip, sizeof(ip)) == NULL)
			die("inet_ntop");
		break;
	}
	freeifaddrs(ifs);
	if (ip[0] == '\0') {
		printf("note: no non-loopback IPv4 address here: that check skipped\n");
		return;
	}
	struct addr a;
	int lfd = tcp_listen(AF_INET, ip, 0, &a);
	if (lfd < 0)
		die(ip);
	int c = tcp_connect(AF_INET, ip, ip, addr_port(&a));
	int s = accept_one(lfd);
	CHECK(s >= 0);
	CHECK_NO_OWNER(s, ENOENT);
	close(c);
	close(s);
	close(lfd);
}

/* Sockets that have no peer, or no owner lookup. */
static void test_no_peer(void)
{
	struct addr a;
	int fds[2];

	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket");
	CHECK_NO_OWNER(fd, ENOENT); /* not connected */
	close(fd);

	int lfd = tcp_listen(AF_INET, "127.0.0.1", 0, &a);
	if (lfd < 0)
		die("listen");
	CHECK_NO_OWNER(lfd, ENOENT);

	/* a connected UDP socket: a TCP lookup of its pair would name some other socket */
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket(UDP)");
	if (connect(fd, (struct sockaddr *)&a.ss, a.len) < 0)
		die("connect(UDP)");
	CHECK_NO_OWNER(fd, ENOSYS);
	close(fd);
	close(lfd);

	if (pipe(fds) < 0)
		die("pipe");
	CHECK_NO_OWNER(fds[0], ENOTSOCK);
	close(fds[0]);
	close(fds[1]);
	CHECK_NO_OWNER(fds[0], EBADF);

	/* socketpair() records its caller on both ends, whatever the type */
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, fds) < 0)
		die("socketpair(DGRAM)");
	CHECK_OWNER(fds[0], getuid());
	close(fds[0]);
	close(fds[1]);
}

/* A datagram socket that used connect() holds no credentials of its peer. */
static void test_unix_dgram(const char *path)
{
	struct sockaddr_un sun;
	int a = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int b = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (a < 0 || b < 0)
		die("socket(AF_UNIX, SOCK_DGRAM)");
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (bind(a, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		die("bind(SOCK_DGRAM)");
	if (connect(b, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		die("connect(SOCK_DGRAM)");
	CHECK_NO_OWNER(b, ENOENT);
	close(a);
	close(b);
	if (unlink(path) < 0)
		die("unlink");
}

static void test_unix(const char *path)
{
	int sp[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
		die("socketpair");
	CHECK_OWNER(sp[0], getuid());
	CHECK_OWNER(sp[1], getuid());
	close(sp[0]);
	close(sp[1]);

	int lfd = unix_listen(path);
	CHECK_NO_OWNER(lfd, ENOENT);
	int c = unix_connect(path);
	if (c < 0)
		die("connect(AF_UNIX)");
	int s = accept_one(lfd);
	CHECK(s >= 0);
	CHECK_OWNER(s, getuid());
	CHECK_OWNER(c, getuid());
	/* the credentials are those of connect(): they outlive the peer */
	close(c);
	CHECK_OWNER(s, getuid());
	close(s);
	close(lfd);
	if (unlink(path) < 0)
		die("unlink");
}

/* Drops to nobody for good. */
static int become_nobody(void)
{
	if (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
	    setresuid(NOBODY, NOBODY, NOBODY) < 0)
		return -1;
	return getuid() == NOBODY && geteuid() == NOBODY ? 0 : -1;
}

enum { DROP_BEFORE_SOCKET, DROP_BEFORE_CONNECT };

/* Forks a child that becomes nobody and connects to target (an IP address, or a unix
 * socket path when family is AF_UNIX), then waits for the parent to close the
 * connection.  With DROP_BEFORE_CONNECT the child creates its socket as root. */
static pid_t spawn_nobody(int family, const char *target, int port, int when)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid > 0)
		return pid;

	int fd = -1;
	if (when == DROP_BEFORE_SOCKET && become_nobody() < 0)
		_exit(10);
	if (family == AF_UNIX) {
		struct sockaddr_un sun;
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", target);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd < 0)
			_exit(11);
		if (when == DROP_BEFORE_CONNECT && become_nobody() < 0)
			_exit(10);
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
			_exit(12);
	} else {
		struct addr a;
		addr_set(&a, family, target, port);
		fd = socket(family, SOCK_STREAM, 0);
		if (fd < 0)
			_exit(11);
		if (when == DROP_BEFORE_CONNECT && become_nobody() < 0)
			_exit(10);
		if (connect(fd, (struct sockaddr *)&a.ss, a.len) < 0)
			_exit(12);
	}
	char ch;
	while (read(fd, &ch, 1) > 0 || errno == EINTR)
		;
	_exit(0);
}

/* Forks a child that, as nobody, connects to 127.0.0.1:port, sends a byte and exits. */
static pid_t spawn_nobody_gone(int port)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid > 0)
		return pid;
	if (become_nobody() < 0)
		_exit(10);
	struct addr a;
	addr_set(&a, AF_INET, "127.0.0.1", port);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		_exit(11);
	if (connect(fd, (struct sockaddr *)&a.ss, a.len) < 0)
		_exit(12);
	if (write(fd, "x", 1) != 1)
		_exit(13);
	_exit(0);
}

/* Accepts the child's connection, checks its owner, lets the child go. */
static void check_child(int lfd, pid_t pid, uid_t want)
{
	int status;
	int s = accept_one(lfd);
	CHECK(s >= 0);
	if (s >= 0) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		if (getsockname(s, (struct sockaddr *)&ss, &len) < 0)
			die("getsockname");
		if (ss.ss_family == AF_UNIX)
			CHECK_OWNER(s, want);
		else
			CHECK_TCP_OWNER(s, want);
		close(s);
	} else {
		kill(pid, SIGKILL);
	}
	if (waitpid(pid, &status, 0) < 0)
		die("waitpid");
	CHECK(WIFEXITED(status));
	CHECK_EQ_INT(WEXITSTATUS(status), 0);
}

static void test_other_user(const char *dir, const char *path)
{
	struct addr a;
	int lfd;

	if (geteuid() != 0) {
		printf("note: not root: the checks on another user's clients were skipped\n");
		return;
	}

	lfd = tcp_listen(AF_INET, "127.0.0.1", 0, &a);
	if (lfd < 0)
		die("listen");
	check_child(lfd, spawn_nobody(AF_INET, "127.0.0.1", addr_port(&a), DROP_BEFORE_SOCKET), NOBODY);
	/* a TCP socket belongs to whoever created it, whatever that process became since */
	check_child(lfd, spawn_nobody(AF_INET, "127.0.0.1", addr_port(&a), DROP_BEFORE_CONNECT), 0);

	/* Gone before the accept: the kernel may report the orphaned socket's uid as 0, which
	 * must not pass for root's (or anyone's) client. */
	int status;
	pid_t pid = spawn_nobody_gone(addr_port(&a));
	if (waitpid(pid, &status, 0) < 0)
		die("waitpid");
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	int s = accept_one(lfd);
	CHECK(s >= 0);
	CHECK_TCP_NO_OWNER(s, ENOENT);
	close(s);
	close(lfd);

	lfd = tcp_listen(AF_INET6, "::1", 0, &a);
	if (lfd >= 0) {
		check_child(lfd, spawn_nobody(AF_INET6, "::1", addr_port(&a), DROP_BEFORE_SOCKET), NOBODY);
		close(lfd);
	}
	lfd = tcp_listen(AF_INET6, "::", 1, &a);
	if (lfd >= 0) {
		check_child(lfd, spawn_nobody(AF_INET, "127.0.0.1", addr_port(&a), DROP_BEFORE_SOCKET), NOBODY);
		close(lfd);
	}

	/* nobody must be able to reach the socket file */
	if (chmod(dir, 0711) < 0)
		die("chmod dir");
	lfd = unix_listen(path);
	if (chmod(path, 0666) < 0)
		die("chmod socket");
	check_child(lfd, spawn_nobody(AF_UNIX, path, 0, DROP_BEFORE_SOCKET), NOBODY);
	/* unix credentials are those of the process at connect() */
	check_child(lfd, spawn_nobody(AF_UNIX, path, 0, DROP_BEFORE_CONNECT), NOBODY);
	close(lfd);
	if (unlink(path) < 0)
		die("unlink");
}

#ifdef S2H_SOCK_DIAG
/* The TCP state of fd, waiting up to 1 s for it to become want. */
static int tcp_state_wait(int fd, int want)
{
	struct tcp_info ti;
	for (int i = 0; i < 1000; i++) {
		socklen_t len = sizeof(ti);
		if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
			die("TCP_INFO");
		if (ti.tcpi_state == want)
			break;
		usleep(1000);
	}
	return ti.tcpi_state;
}

/* The child of test_vanished_peer(), in a network namespace of its own. */
static void vanished_peer_child(void)
{
	struct addr a, client;
	struct ifreq ifr;
	int one = 1;

	if (unshare(CLONE_NEWNET) < 0) {
		printf("note: unshare(CLONE_NEWNET): %s: the vanished-peer checks skipped\n", strerror(errno));
		_exit(77);
	}
	/* a handle searches the network namespace it was opened in */
	peercred_close(pc);
	pc = peercred_open();
	if (pc == NULL)
		die("peercred_open");
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket");
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		die("SIOCGIFFLAGS");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		die("SIOCSIFFLAGS");
	close(fd);
	/* no TIME_WAIT buckets: a socket closed in FIN_WAIT2 vanishes at once */
	FILE *f = fopen("/proc/sys/net/ipv4/tcp_max_tw_buckets", "w");
	if (f == NULL || fputs("0\n", f) == EOF || fclose(f) == EOF)
		die("tcp_max_tw_buckets");

	int lfd = tcp_listen(AF_INET, "127.0.0.1", 0, &a);
	if (lfd < 0)
		die("listen");
	int c = tcp_connect(AF_INET, NULL, "127.0.0.1", addr_port(&a));
	int s = accept_one(lfd);
	CHECK(s >= 0);
	CHECK_OWNER(s, getuid()); /* lookups work in any namespace */
	client.len = sizeof(client.ss);
	if (getsockname(c, (struct sockaddr *)&client.ss, &client.len) < 0)
		die("getsockname");
	if (shutdown(c, SHUT_WR) < 0)
		die("shutdown");
	CHECK_EQ_INT(tcp_state_wait(c, TCP_FIN_WAIT2), TCP_FIN_WAIT2);
	close(c);
	CHECK_NO_OWNER(s, ENOENT);

	/* someone listens where the client was: that is not the client */
	int l2 = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l2 < 0)
		die("socket");
	if (setsockopt(l2, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		die("SO_REUSEADDR");
	if (bind(l2, (struct sockaddr *)&client.ss, client.len) < 0 || listen(l2, 1) < 0)
		die("listen on the client's port");
	CHECK_NO_OWNER(s, ENOENT);
	close(l2);
	close(s);
	close(lfd);
	fflush(NULL);
	_exit(check_failed == 0 ? 0 : 1);
}

/* When the client's socket is gone but ours still names it, the kernel's lookup falls back
 * to a listener on the client's address and port, whose owner must not be taken for the
 * client's.  Needs a network namespace of its own (root). */
static void test_vanished_peer(void)
{
	int status;

	if (geteuid() != 0) {
		printf("note: not root: the vanished-peer checks were skipped\n");
		return;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0)
		vanished_peer_child();
	if (waitpid(pid, &status, 0) < 0)
		die("waitpid");
	if (WIFEXITED(status) && WEXITSTATUS(status) == 77)
		return;
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

#endif /* S2H_SOCK_DIAG */

static int cmp_ns(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return (x > y) - (x < y);
}

static long long now_ns(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		die("clock_gettime");
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Times LOOKUPS lookups on fd and prints the median and the 99th percentile. */
static void time_lookups(const char *what, int fd)
{
	static long long ns[LOOKUPS];
	int ok = 0;

	for (int i = 0; i < LOOKUPS; i++) {
		uid_t u;
		long long t0 = now_ns();
		int rc = peercred_uid(pc, fd, &u);
		ns[i] = now_ns() - t0;
		ok += rc == 0 && u == getuid();
	}
	CHECK_EQ_INT(ok, LOOKUPS);
	qsort(ns, LOOKUPS, sizeof(ns[0]), cmp_ns);
	printf("lookup cost, %s: median %.1f us, p99 %.1f us, max %.1f us (%d lookups)\n", what,
	       (double)ns[LOOKUPS / 2] / 1000.0, (double)ns[LOOKUPS * 99 / 100] / 1000.0,
	       (double)ns[LOOKUPS - 1] / 1000.0, LOOKUPS);
}

/* A connected TCP pair on 127.0.0.1: c the client, s the accepted end. */
struct pair {
	int lfd, c, s;
};

static void pair_open(struct pair *p)
{
	struct addr a;
	p->lfd = tcp_listen(AF_INET, "127.0.0.1", 0, &a);
	if (p->lfd < 0)
		die("listen");
	p->c = tcp_connect(AF_INET, NULL, "127.0.0.1", addr_port(&a));
	p->s = accept_one(p->lfd);
	if (p->s < 0)
		die("accept");
}

static void pair_close(struct pair *p)
{
	if (p->c >= 0)
		close(p->c);
	close(p->s);
	close(p->lfd);
}

static void test_cost(void)
{
	int sp[2];
#ifdef S2H_SOCK_DIAG
	struct pair p;
	pair_open(&p);
	time_lookups("TCP 127.0.0.1", p.s);
	pair_close(&p);
#endif
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
		die("socketpair");
	time_lookups("AF_UNIX", sp[0]);
	close(sp[0]);
	close(sp[1]);
}

/* The uid unmapped users read as: none in the initial user namespace (65534 is nobody's
 * there), the kernel's overflowuid in any other. */
static void test_overflow_uid(void)
{
	char map[256] = "";
	FILE *f = fopen("/proc/self/uid_map", "r");
	if (f != NULL) {
		if (fgets(map, sizeof(map), f) == NULL)
			map[0] = '\0';
		fclose(f);
	}
	unsigned long in, out, count;
	if (sscanf(map, "%lu %lu %lu", &in, &out, &count) == 3 && count == 4294967295UL)
		CHECK_EQ_INT(peercred_overflow_uid(pc), PEERCRED_NO_OVERFLOW);
	else
		printf("note: not in the initial user namespace (uid_map %s)\n", map);
}

/* In a user namespace of its own that maps nobody, a child finds every peer (itself
 * included) owned by the overflow uid, and its handle says so. */
static void test_unmapped_user(void)
{
	struct pair p;
	int sp[2], status;

	pair_open(&p);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
		die("socketpair");
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		check_failed = 0; /* the child reports its own checks only */
		if (unshare(CLONE_NEWUSER) < 0) {
			printf("note: unshare(CLONE_NEWUSER): %s: the unmapped-user checks skipped\n", strerror(errno));
			fflush(NULL);
			_exit(77);
		}
		FILE *f = fopen("/proc/sys/kernel/overflowuid", "r");
		unsigned long want = 65534;
		if (f != NULL) {
			if (fscanf(f, "%lu", &want) != 1)
				want = 65534;
			fclose(f);
		}
		peercred_close(pc);
		pc = peercred_open();
		if (pc == NULL)
			die("peercred_open");
		CHECK_EQ_INT(peercred_overflow_uid(pc), want);
		CHECK_EQ_INT(getuid(), want);
		CHECK_OWNER(sp[0], want);
		CHECK_TCP_OWNER(p.s, want);
		fflush(NULL);
		_exit(check_failed == 0 ? 0 : 1);
	}
	if (waitpid(pid, &status, 0) < 0)
		die("waitpid");
	CHECK(WIFEXITED(status));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 77)
		CHECK_EQ_INT(WEXITSTATUS(status), 0);
	close(sp[0]);
	close(sp[1]);
	pair_close(&p);
}

#ifdef S2H_SOCK_DIAG
/* The handle's socket: the one NETLINK_SOCK_DIAG socket of this process (-1 if none, -2
 * if several). */
static int diag_fd(void)
{
	int found = -1;
	for (int fd = 0; fd < 1024; fd++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int proto;
		socklen_t plen = sizeof(proto);
		if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0 || ss.ss_family != AF_NETLINK)
			continue;
		if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &plen) < 0 || proto != NETLINK_SOCK_DIAG)
			continue;
		found = found == -1 ? fd : -2;
	}
	return found;
}

static int count_fds(void)
{
	int n = 0;
	for (int fd = 0; fd < 1024; fd++)
		n += fcntl(fd, F_GETFD) >= 0;
	return n;
}

/* Asks, on the handle's socket nl but with a sequence number of our own, about the socket
 * at from -> to: the answer waits there for the handle's next lookup to find. */
static void send_request(int nl, const struct sockaddr_in *from, const struct sockaddr_in *to, uint32_t seq)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 req;
	} msg;

	memset(&msg, 0, sizeof(msg));
	msg.nlh.nlmsg_len = sizeof(msg);
	msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	msg.nlh.nlmsg_flags = NLM_F_REQUEST;
	msg.nlh.nlmsg_seq = seq;
	msg.req.sdiag_family = AF_INET;
	msg.req.sdiag_protocol = IPPROTO_TCP;
	msg.req.idiag_states = ~0u;
	msg.req.id.idiag_sport = from->sin_port;
	msg.req.id.idiag_dport = to->sin_port;
	memcpy(&msg.req.id.idiag_src[0], &from->sin_addr, 4);
	memcpy(&msg.req.id.idiag_dst[0], &to->sin_addr, 4);
	msg.req.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
	msg.req.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
	if (sendto(nl, &msg, sizeof(msg), 0, (struct sockaddr *)&kernel, sizeof(kernel)) != (ssize_t)sizeof(msg))
		die("sendto(netlink)");
}

/* The request the handle would make about the client end of p. */
static void send_request_about(int nl, const struct pair *p, uint32_t seq)
{
	struct sockaddr_in from, to;
	socklen_t len = sizeof(from);
	if (getsockname(p->c, (struct sockaddr *)&from, &len) < 0)
		die("getsockname");
	len = sizeof(to);
	if (getpeername(p->c, (struct sockaddr *)&to, &len) < 0)
		die("getpeername");
	send_request(nl, &from, &to, seq);
}

/* A socket with nothing queued. */
static int queue_empty(int fd)
{
	char b[16];
	return recv(fd, b, sizeof(b), MSG_DONTWAIT | MSG_PEEK) < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

/* Reads fd empty. */
static void drain(int fd)
{
	char b[8192];
	while (recv(fd, b, sizeof(b), MSG_DONTWAIT) >= 0 || errno == EINTR || errno == ENOBUFS)
		;
}

/* One socket for the handle's life: many lookups open no fd, and the same socket serves. */
static void test_one_socket(void)
{
	struct pair p;
	int nl = diag_fd();

	CHECK(nl >= 0);
	pair_open(&p);
	int before = count_fds();
	int ok = 0;
	for (int i = 0; i < LOOKUPS; i++) {
		uid_t u = (uid_t)-2;
		ok += peercred_uid(pc, p.s, &u) == 0 && u == getuid();
	}
	CHECK_EQ_INT(ok, LOOKUPS);
	CHECK_EQ_INT(count_fds(), before);
	CHECK_EQ_INT(diag_fd(), nl);
	CHECK(queue_empty(nl));

	/* a handle is one fd, given back by peercred_close */
	struct peercred *other = peercred_open();
	CHECK(other != NULL);
	CHECK_EQ_INT(count_fds(), before + 1);
	peercred_close(other);
	CHECK_EQ_INT(count_fds(), before);
	pair_close(&p);
}

/* Answers left in the socket by earlier requests are told apart by their sequence number. */
static void test_stale_answers(void)
{
	struct pair p;
	struct sockaddr_in nowhere;
	int nl = diag_fd();

	CHECK(nl >= 0);
	pair_open(&p);
	/* stale "no such socket" answers before a live client's */
	memset(&nowhere, 0, sizeof(nowhere));
	nowhere.sin_family = AF_INET;
	nowhere.sin_port = htons(1);
	nowhere.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (uint32_t i = 0; i < 3; i++)
		send_request(nl, &nowhere, &nowhere, 0xdead0000u + i);
	CHECK(!queue_empty(nl));
	CHECK_OWNER(p.s, getuid());
	CHECK(queue_empty(nl));

	/* a stale answer naming the very client, whose process has closed its socket since
	 * (FIN: the socket lingers, orphaned, and our end still names it) */
	drain(nl);
	send_request_about(nl, &p, 0xdead1000u);
	close(p.c);
	p.c = -1;
	CHECK_NO_OWNER(p.s, ENOENT);
	CHECK(queue_empty(nl));
	pair_close(&p);
}

/* A socket that overflowed (ENOBUFS) drops every answer until it has been read empty: the
 * lookup empties it and asks again. */
static void test_overrun(void)
{
	struct pair p;
	int nl = diag_fd();
	int rcvbuf, tiny = 1;
	socklen_t len = sizeof(rcvbuf);

	CHECK(nl >= 0);
	pair_open(&p);
	if (getsockopt(nl, SOL_SOCKET, SO_RCVBUF, &rcvbuf, &len) < 0 ||
	    setsockopt(nl, SOL_SOCKET, SO_RCVBUF, &tiny, sizeof(tiny)) < 0)
		die("SO_RCVBUF");
	for (uint32_t i = 0; i < 64; i++)
		send_request_about(nl, &p, 0xdead2000u + i);
	CHECK_OWNER(p.s, getuid());
	CHECK_OWNER(p.s, getuid());
	rcvbuf /= 2; /* the kernel doubles what it is given */
	if (setsockopt(nl, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) < 0)
		die("SO_RCVBUF");
	CHECK_OWNER(p.s, getuid());
	pair_close(&p);
}

/* A lookup never waits: with the handle's socket swapped for one that takes the request
 * and never answers (a TCP connection nobody reads), it fails at once. */
static void test_no_answer(void)
{
	struct pair p, mute;
	int nl = diag_fd();

	CHECK(nl >= 0);
	pair_open(&p);
	pair_open(&mute);
	int saved = dup(nl);
	if (saved < 0 || dup2(mute.c, nl) < 0)
		die("dup2");
	uid_t u = 4242;
	long long t0 = now_ns();
	int rc = peercred_uid(pc, p.s, &u);
	int e = errno;
	long long took = now_ns() - t0;
	CHECK_EQ_INT(rc, -1);
	CHECK_EQ_INT(e, ETIMEDOUT);
	CHECK_EQ_INT(u, 4242);
	printf("lookup without an answer: %.1f us\n", (double)took / 1000.0);
	CHECK(took < 20 * 1000000LL); /* the former lookup waited 200 ms here */
	if (dup2(saved, nl) < 0)
		die("dup2 back");
	close(saved);
	CHECK_OWNER(p.s, getuid());
	pair_close(&mute);
	pair_close(&p);
}
#endif /* S2H_SOCK_DIAG */

static void test_strerror(void)
{
	CHECK(strstr(peercred_strerror(ENOENT), "no local owner") != NULL);
	CHECK(strstr(peercred_strerror(ENOSYS), "cannot") != NULL);
	CHECK(strstr(peercred_strerror(ETIMEDOUT), "owner lookup") != NULL);
	CHECK_EQ_STR(peercred_strerror(EBADF), strerror(EBADF));
#ifdef PEERCRED_TIMEOUT_MS
	CHECK(!"a lookup must not wait for the kernel: no timeout");
#endif
}

int main(void)
{
	char dir[] = "/tmp/test_peercred.XXXXXX";
	char path[sizeof(dir) + 8];

	if (mkdtemp(dir) == NULL)
		die("mkdtemp");
	snprintf(path, sizeof(path), "%s/sock", dir);
	pc = peercred_open();
	if (pc == NULL)
		die("peercred_open");

	test_tcp_v4();
	test_tcp_v6();
	test_tcp_v4mapped();
	test_tcp_closed_peer();
	test_tcp_self();
	test_tcp_not_loopback();
	test_no_peer();
	test_unix(path);
	test_unix_dgram(path);
	test_other_user(dir, path);
#ifdef S2H_SOCK_DIAG
	test_vanished_peer();
	test_one_socket();
	test_stale_answers();
	test_overrun();
	test_no_answer();
#endif
	test_overflow_uid();
	test_unmapped_user();
	test_cost();
	test_strerror();
	peercred_close(pc);

	if (rmdir(dir) < 0)
		die("rmdir");
	return check_report();
}

#else /* not Linux */

#include <stdio.h>

#include "check.h"

int main(void)
{
	printf("note: not Linux: peercred checks skipped\n");
	return check_report();
}

#endif
