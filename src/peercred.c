/* peercred: the owner of a connection's other end (see include/peercred.h). */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE 1 /* struct ucred */
#endif
#include "peercred.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#if defined(__linux__) && defined(HAVE_LINUX_SOCK_DIAG_H) && defined(HAVE_LINUX_INET_DIAG_H)
#define PEERCRED_SOCK_DIAG 1
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <poll.h>
#include <time.h>
#endif

/* An IPv4 or IPv6 endpoint.  IPv4 is held as ::ffff:a.b.c.d so that an AF_INET socket and
 * an AF_INET6 socket using v4-mapped addresses compare alike. */
struct endpoint {
	uint8_t addr[16];
	uint16_t port; /* network order */
};

static const uint8_t v4mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
static const uint8_t v6_loopback[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };

static int endpoint_is_v4(const struct endpoint *ep)
{
	return memcmp(ep->addr, v4mapped_prefix, sizeof(v4mapped_prefix)) == 0;
}

static int endpoint_is_loopback(const struct endpoint *ep)
{
	if (endpoint_is_v4(ep))
		return ep->addr[12] == 127;
	return memcmp(ep->addr, v6_loopback, sizeof(v6_loopback)) == 0;
}

static int endpoint_equal(const struct endpoint *a, const struct endpoint *b)
{
	return a->port == b->port && memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

/* Returns 0, or -1 when ss is neither AF_INET nor AF_INET6. */
static int endpoint_from_sockaddr(const struct sockaddr_storage *ss, struct endpoint *ep)
{
	/* copies, not casts: sockaddr_storage may not be read through another struct type */
	if (ss->ss_family == AF_INET) {
		struct sockaddr_in sin;
		memcpy(&sin, ss, sizeof(sin));
		memcpy(ep->addr, v4mapped_prefix, sizeof(v4mapped_prefix));
		memcpy(ep->addr + 12, &sin.sin_addr, 4);
		ep->port = sin.sin_port;
		return 0;
	}
	if (ss->ss_family == AF_INET6) {
		struct sockaddr_in6 sin6;
		memcpy(&sin6, ss, sizeof(sin6));
		memcpy(ep->addr, &sin6.sin6_addr, 16);
		ep->port = sin6.sin6_port;
		return 0;
	}
	return -1;
}

static int unix_uid(int fd, uid_t *uid)
{
#if defined(__linux__) && defined(SO_PEERCRED)
	struct ucred uc;
	socklen_t len = sizeof(uc);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0)
		return -1;
	/* uid -1: the kernel holds no credentials (a datagram socket that used connect()) */
	if (len != sizeof(uc) || uc.uid == (uid_t)-1) {
		errno = ENOENT;
		return -1;
	}
	*uid = uc.uid;
	return 0;
#elif defined(HAVE_GETPEEREID)
	uid_t u;
	gid_t g;

	if (getpeereid(fd, &u, &g) < 0) {
		if (errno == ENOTCONN)
			errno = ENOENT;
		return -1;
	}
	*uid = u;
	return 0;
#else
	(void)fd;
	(void)uid;
	errno = ENOSYS;
	return -1;
#endif
}

#ifdef PEERCRED_SOCK_DIAG

#define DIAG_SEQ 0x70637264u /* any value: replies are matched on it */
#define DIAG_MORE 1          /* diag_read(): the answer continues in another datagram */
enum { DIAG_TCP_LISTEN = 10 }; /* TCP_LISTEN in the kernel's include/net/tcp_states.h */

static void diag_endpoint(int family, const uint32_t addr[4], uint16_t port, struct endpoint *ep)
{
	if (family == AF_INET) {
		memcpy(ep->addr, v4mapped_prefix, sizeof(v4mapped_prefix));
		memcpy(ep->addr + 12, &addr[0], 4);
	} else {
		memcpy(ep->addr, addr, 16);
	}
	ep->port = port;
}

/* Milliseconds left until deadline, rounded up; 0 once it has passed. */
static int ms_until(const struct timespec *deadline)
{
	struct timespec now;

	if (clock_gettime(CLOCK_MONOTONIC, &now) < 0)
		return 0;
	long long ns = (long long)(deadline->tv_sec - now.tv_sec) * 1000000000LL +
		       (deadline->tv_nsec - now.tv_nsec);
	if (ns <= 0)
		return 0;
	return (int)((ns + 999999) / 1000000);
}

/* Returns 0 once fd is readable, or -1 with errno (ETIMEDOUT at the deadline). */
static int wait_readable(int fd, const struct timespec *deadline)
{
	for (;;) {
		int ms = ms_until(deadline);
		if (ms == 0)
			break;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int n = poll(&p, 1, ms);
		if (n > 0)
			return 0;
		if (n == 0)
			break;
		if (errno != EINTR)
			return -1;
	}
	errno = ETIMEDOUT;
	return -1;
}

/* Reads the messages of one datagram of the kernel's answer about the socket at
 * client -> server.  Returns 0 with *uid set, DIAG_MORE, or -1 with errno. */
static int diag_read(const char *buf, size_t n, const struct endpoint *client, const struct endpoint *server,
		     uid_t *uid)
{
	size_t off = 0;
	int multi = 0;

	if (n < sizeof(struct nlmsghdr)) {
		errno = EPROTO;
		return -1;
	}
	while (n - off >= sizeof(struct nlmsghdr)) {
		struct nlmsghdr h;
		memcpy(&h, buf + off, sizeof(h));
		if (h.nlmsg_len < NLMSG_HDRLEN || h.nlmsg_len > n - off) {
			errno = EPROTO; /* a truncated message */
			return -1;
		}
		const char *data = buf + off + NLMSG_HDRLEN;
		size_t dlen = h.nlmsg_len - NLMSG_HDRLEN;

		if (h.nlmsg_seq == DIAG_SEQ) {
			if (h.nlmsg_flags & NLM_F_MULTI)
				multi = 1;
			if (h.nlmsg_type == NLMSG_DONE) {
				errno = ENOENT;
				return -1;
			}
			if (h.nlmsg_type == NLMSG_ERROR) {
				int err;
				if (dlen < sizeof(err)) {
					errno = EPROTO;
					return -1;
				}
				memcpy(&err, data, sizeof(err));
				/* 0 is an acknowledgement: the answer ended without the socket */
				errno = err < 0 ? -err : ENOENT;
				return -1;
			}
			if (h.nlmsg_type == SOCK_DIAG_BY_FAMILY) {
				struct inet_diag_msg m;
				struct endpoint src, dst;
				if (dlen < sizeof(m)) {
					errno = EPROTO;
					return -1;
				}
				memcpy(&m, data, sizeof(m));
				diag_endpoint(m.idiag_family, m.id.idiag_src, m.id.idiag_sport, &src);
				diag_endpoint(m.idiag_family, m.id.idiag_dst, m.id.idiag_dport, &dst);
				/* Only the exact pair counts: when no connection matches, the kernel
				 * falls back to a listener on the client's address and port, which
				 * anyone could own. */
				if ((m.idiag_family == AF_INET || m.idiag_family == AF_INET6) &&
				    m.idiag_state != DIAG_TCP_LISTEN && endpoint_equal(&src, client) &&
				    endpoint_equal(&dst, server)) {
					/* Inode 0: closed by its process (orphaned or in TIME_WAIT),
					 * and the kernel may report such a socket's uid as 0 */
					if (m.idiag_inode == 0) {
						errno = ENOENT;
						return -1;
					}
					*uid = (uid_t)m.idiag_uid;
					return 0;
				}
			}
		}
		size_t step = NLMSG_ALIGN(h.nlmsg_len);
		if (step >= n - off)
			break;
		off += step;
	}
	if (multi)
		return DIAG_MORE;
	errno = ENOENT;
	return -1;
}

/* Sends the request on nl and reads the answer until the deadline. */
static int diag_exchange(int nl, const void *req, size_t reqlen, const struct endpoint *client,
			 const struct endpoint *server, uid_t *uid)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	union {
		struct nlmsghdr align;
		char b[8192]; /* one answer is a few hundred bytes */
	} buf;
	struct timespec deadline;

	if (clock_gettime(CLOCK_MONOTONIC, &deadline) < 0)
		return -1;
	deadline.tv_sec += PEERCRED_TIMEOUT_MS / 1000;
	deadline.tv_nsec += (long)(PEERCRED_TIMEOUT_MS % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}

	for (;;) {
		ssize_t n = sendto(nl, req, reqlen, 0, (struct sockaddr *)&kernel, sizeof(kernel));
		if (n >= 0)
			break;
		if (errno != EINTR)
			return -1;
	}
	for (;;) {
		struct sockaddr_nl from;
		socklen_t flen = sizeof(from);
		ssize_t n = recvfrom(nl, buf.b, sizeof(buf.b), MSG_TRUNC, (struct sockaddr *)&from, &flen);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return -1;
			if (wait_readable(nl, &deadline) < 0)
				return -1;
			continue;
		}
		if ((size_t)n > sizeof(buf.b)) {
			errno = EMSGSIZE;
			return -1;
		}
		/* only the kernel (port 0) answers; anything else is not ours to read */
		if (flen >= sizeof(from) && from.nl_pid == 0) {
			int rc = diag_read(buf.b, (size_t)n, client, server, uid);
			if (rc != DIAG_MORE)
				return rc;
		}
		/* bounds the loop even if datagrams keep arriving */
		if (ms_until(&deadline) == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
	}
}

/* Asks the kernel for the TCP socket whose local end is client and remote end is server:
 * the other end of our connection. */
static int diag_lookup(const struct endpoint *client, const struct endpoint *server, uid_t *uid)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 req;
	} msg;
	int v4 = endpoint_is_v4(client) && endpoint_is_v4(server);

	memset(&msg, 0, sizeof(msg));
	msg.nlh.nlmsg_len = sizeof(msg);
	msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	msg.nlh.nlmsg_flags = NLM_F_REQUEST;
	msg.nlh.nlmsg_seq = DIAG_SEQ;
	/* AF_INET also finds AF_INET6 sockets using v4-mapped addresses */
	msg.req.sdiag_family = v4 ? AF_INET : AF_INET6;
	msg.req.sdiag_protocol = IPPROTO_TCP;
	msg.req.idiag_states = ~0u; /* the state of the answer is checked instead */
	msg.req.id.idiag_sport = client->port;
	msg.req.id.idiag_dport = server->port;
	if (v4) {
		memcpy(&msg.req.id.idiag_src[0], client->addr + 12, 4);
		memcpy(&msg.req.id.idiag_dst[0], server->addr + 12, 4);
	} else {
		memcpy(msg.req.id.idiag_src, client->addr, 16);
		memcpy(msg.req.id.idiag_dst, server->addr, 16);
	}
	msg.req.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
	msg.req.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;

	int nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_SOCK_DIAG);
	if (nl < 0) {
		if (errno == EAFNOSUPPORT || errno == EPROTONOSUPPORT)
			errno = ENOSYS;
		return -1;
	}
	int rc = diag_exchange(nl, &msg, sizeof(msg), client, server, uid);
	int saved = errno;
	close(nl);
	errno = saved;
	return rc;
}

#endif /* PEERCRED_SOCK_DIAG */

static int inet_uid(int fd, const struct sockaddr_storage *local, const struct sockaddr_storage *peer, uid_t *uid)
{
	struct endpoint server, client;

	if (endpoint_from_sockaddr(local, &server) < 0 || endpoint_from_sockaddr(peer, &client) < 0) {
		errno = ENOSYS;
		return -1;
	}
	/* a remote peer's socket is not in this kernel: nothing tells its owner */
	if (!endpoint_is_loopback(&client)) {
		errno = ENOENT;
		return -1;
	}
	/* connected to itself: the lookup would find fd, not another process's socket */
	if (endpoint_equal(&client, &server)) {
		errno = ENOENT;
		return -1;
	}
#ifdef PEERCRED_SOCK_DIAG
	int proto;
	socklen_t len = sizeof(proto);
	if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) < 0)
		return -1;
	/* a UDP pair would name an unrelated TCP socket */
	if (proto != IPPROTO_TCP) {
		errno = ENOSYS;
		return -1;
	}
	return diag_lookup(&client, &server, uid);
#else
	(void)fd;
	(void)uid;
	errno = ENOSYS;
	return -1;
#endif
}

int peercred_uid(int fd, uid_t *uid)
{
	struct sockaddr_storage local, peer;
	socklen_t llen = sizeof(local), plen = sizeof(peer);

	if (getsockname(fd, (struct sockaddr *)&local, &llen) < 0)
		return -1;
	if (getpeername(fd, (struct sockaddr *)&peer, &plen) < 0) {
		if (errno == ENOTCONN)
			errno = ENOENT;
		return -1;
	}
	switch (local.ss_family) {
	case AF_UNIX:
		return unix_uid(fd, uid);
	case AF_INET:
	case AF_INET6:
		return inet_uid(fd, &local, &peer, uid);
	default:
		errno = ENOSYS;
		return -1;
	}
}

const char *peercred_strerror(int err)
{
	switch (err) {
	case ENOENT:
		return "no local owner (peer not on loopback, gone, or not connected)";
	case ENOSYS:
		return "cannot identify the owner of this kind of peer on this system";
	case ETIMEDOUT:
		return "the kernel did not answer the owner lookup in time";
	default:
		return strerror(err);
	}
}

struct peercred *peercred_open(void)
{
	return NULL;
}

void peercred_close(struct peercred *pc)
{
	(void)pc;
}
