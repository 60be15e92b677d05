/* peercred: the owner of a connection's other end (see include/peercred.h). */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE 1 /* struct ucred */
#endif
#include "peercred.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* S2H_SOCK_DIAG: configure found the headers and was not asked for a portable build. */
#if defined(__linux__) && defined(S2H_SOCK_DIAG)
#define PEERCRED_SOCK_DIAG 1
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#endif

/* Unix peers: SO_PEERCRED on Linux; getpeereid() elsewhere, and in a portable build, which
 * on glibc (no getpeereid) gets one made from SO_PEERCRED as the BSDs make theirs, so that
 * this path is compiled and tested here. */
#if defined(__linux__) && !defined(S2H_PORTABLE) && defined(SO_PEERCRED)
#define PEERCRED_UNIX_UCRED 1
#elif defined(HAVE_GETPEEREID)
#define PEERCRED_UNIX_EID 1
#define peer_eid getpeereid
#elif defined(__linux__) && defined(SO_PEERCRED)
#define PEERCRED_UNIX_EID 1
static int peer_eid(int fd, uid_t *uid, gid_t *gid)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0)
		return -1;
	if (len != sizeof(uc) || uc.uid == (uid_t)-1) {
		errno = ENOTCONN; /* what the BSDs say when the kernel holds no credentials */
		return -1;
	}
	*uid = uc.uid;
	*gid = uc.gid;
	return 0;
}
#endif

struct peercred {
	int nl;             /* NETLINK_SOCK_DIAG socket, or -1 */
	int nl_err;         /* when nl is -1: the errno TCP lookups fail with */
	uint32_t seq;       /* of the latest request; the kernel's answer carries it back */
	uid_t overflow_uid; /* or PEERCRED_NO_OVERFLOW */
	uid_t self_uid;     /* ours, read once (the daemon never changes it) */
};

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
#if defined(PEERCRED_UNIX_UCRED)
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
#elif defined(PEERCRED_UNIX_EID)
	uid_t u;
	gid_t g;

	if (peer_eid(fd, &u, &g) < 0) {
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

#ifdef __linux__
/* Reads a small /proc file into buf as a string.  Returns its length, or -1. */
static ssize_t read_small_file(const char *path, char *buf, size_t cap)
{
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while (got + 1 < cap) {
		ssize_t n = read(fd, buf + got, cap - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	return got + 1 < cap ? (ssize_t)got : -1; /* a file that filled buf may go on */
}

/* Does our user namespace map every uid?  Only the initial one does (or a child mapping
 * the whole range, which only the initial namespace's root can make); there no peer is
 * unmapped and the overflow uid is a real user's.  Unreadable means no. */
static int all_uids_mapped(void)
{
	char buf[16384]; /* up to 340 lines of three numbers */
	unsigned long long total = 0;

	if (read_small_file("/proc/self/uid_map", buf, sizeof(buf)) < 0)
		return 0;
	/* lines "inside outside count": the counts add up to 4294967295 for a full map */
	for (char *p = buf; *p != '\0';) {
		char *end;
		unsigned long long v[3];
		for (int i = 0; i < 3; i++) {
			errno = 0;
			v[i] = strtoull(p, &end, 10);
			if (end == p || errno != 0)
				return 0;
			p = end;
		}
		total += v[2];
		while (*p == ' ' || *p == '\n')
			p++;
	}
	return total >= 4294967295ULL;
}

/* The uid unmapped peers read as (see peercred_overflow_uid). */
static uid_t overflow_uid(void)
{
	char buf[32];
	char *end;

	if (all_uids_mapped())
		return PEERCRED_NO_OVERFLOW;
	if (read_small_file("/proc/sys/kernel/overflowuid", buf, sizeof(buf)) < 0)
		return 65534; /* the kernel's default */
	errno = 0;
	unsigned long v = strtoul(buf, &end, 10);
	if (end == buf || errno != 0 || (*end != '\n' && *end != '\0') || v >= (unsigned long)PEERCRED_NO_OVERFLOW)
		return 65534;
	return (uid_t)v;
}
#endif

#ifdef PEERCRED_SOCK_DIAG

#define DIAG_MORE 1    /* diag_read(): the answer continues in another datagram */
#define DIAG_STALE 2   /* diag_read(): a datagram answering an earlier request */
#define DIAG_OVERRUN 3 /* diag_answer(): the socket overflowed and answers were dropped */
#define DIAG_MAX_READS 512 /* datagrams one lookup reads at most (bounds its work) */
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

/* Reads the messages of one datagram of n bytes (of which have in buf) answering the
 * request seq about the socket at client -> server.  Returns 0 with *uid set, DIAG_MORE,
 * DIAG_STALE, or -1 with errno. */
static int diag_read(const char *buf, size_t n, size_t have, uint32_t seq, const struct endpoint *client,
		     const struct endpoint *server, uid_t *uid)
{
	struct nlmsghdr h;
	size_t off = 0;
	int multi = 0;

	if (have < sizeof(h)) {
		errno = EPROTO;
		return -1;
	}
	/* a datagram answers one request: its first message says which */
	memcpy(&h, buf, sizeof(h));
	if (h.nlmsg_seq != seq)
		return DIAG_STALE;
	if (n > have) {
		errno = EMSGSIZE; /* an answer is a few hundred bytes: this is not one */
		return -1;
	}
	while (n - off >= sizeof(h)) {
		memcpy(&h, buf + off, sizeof(h));
		if (h.nlmsg_len < NLMSG_HDRLEN || h.nlmsg_len > n - off) {
			errno = EPROTO; /* a truncated message */
			return -1;
		}
		const char *data = buf + off + NLMSG_HDRLEN;
		size_t dlen = h.nlmsg_len - NLMSG_HDRLEN;

		if (h.nlmsg_seq == seq) {
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

/* Reads what the socket holds, without waiting, up to the answer to seq; answers to
 * earlier requests are dropped on the way.  Returns 0 with *uid set, DIAG_OVERRUN, or -1
 * with errno (ETIMEDOUT: the answer is not there). */
static int diag_answer(struct peercred *pc, uint32_t seq, const struct endpoint *client,
		       const struct endpoint *server, uid_t *uid)
{
	union {
		struct nlmsghdr align;
		char b[8192];
	} buf;

	for (int i = 0; i < DIAG_MAX_READS; i++) {
		struct sockaddr_nl from;
		socklen_t flen = sizeof(from);
		ssize_t n = recvfrom(pc->nl, buf.b, sizeof(buf.b), MSG_DONTWAIT | MSG_TRUNC, (struct sockaddr *)&from,
				     &flen);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == ENOBUFS)
				return DIAG_OVERRUN;
			return -1;
		}
		/* only the kernel (port 0) answers; anything else is not ours to read */
		if (flen < sizeof(from) || from.nl_pid != 0)
			continue;
		size_t have = (size_t)n < sizeof(buf.b) ? (size_t)n : sizeof(buf.b);
		int rc = diag_read(buf.b, (size_t)n, have, seq, client, server, uid);
		if (rc == DIAG_STALE || rc == DIAG_MORE)
			continue;
		return rc;
	}
	errno = ETIMEDOUT;
	return -1;
}

/* Reads and drops everything queued: an overrun socket drops every new answer until its
 * queue has been read empty. */
static void diag_drain(struct peercred *pc)
{
	char b[64];

	for (int i = 0; i < 4 * DIAG_MAX_READS; i++) {
		ssize_t n = recv(pc->nl, b, sizeof(b), MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0 && errno != EINTR && errno != ENOBUFS)
			return; /* EAGAIN: empty */
	}
}

/* Sends the exact request about the TCP socket whose local end is client and remote end is
 * server (the other end of our connection) and reads its answer.  Returns as
 * diag_answer(). */
static int diag_ask(struct peercred *pc, const struct endpoint *client, const struct endpoint *server, uid_t *uid)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 req;
	} msg;
	int v4 = endpoint_is_v4(client) && endpoint_is_v4(server);

	memset(&msg, 0, sizeof(msg));
	msg.nlh.nlmsg_len = sizeof(msg);
	msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	msg.nlh.nlmsg_flags = NLM_F_REQUEST; /* no NLM_F_DUMP: one answer, made inside sendto() */
	msg.nlh.nlmsg_seq = ++pc->seq;
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

	for (;;) {
		ssize_t n = sendto(pc->nl, &msg, sizeof(msg), MSG_DONTWAIT, (struct sockaddr *)&kernel, sizeof(kernel));
		if (n >= 0)
			break;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			errno = ETIMEDOUT; /* no answer, as if the kernel had not made one */
			return -1;
		}
		if (errno != EINTR)
			return -1;
	}
	return diag_answer(pc, msg.nlh.nlmsg_seq, client, server, uid);
}

static int diag_lookup(struct peercred *pc, const struct endpoint *client, const struct endpoint *server, uid_t *uid)
{
	int rc = diag_ask(pc, client, server, uid);
	if (rc == DIAG_OVERRUN) {
		/* Stale answers filled the socket and the kernel dropped ours: once more, on an
		 * emptied socket.  A second overrun leaves the owner unknown. */
		diag_drain(pc);
		rc = diag_ask(pc, client, server, uid);
		if (rc == DIAG_OVERRUN) {
			diag_drain(pc);
			errno = ETIMEDOUT;
			rc = -1;
		}
	}
	return rc;
}

/* Opens pc->nl, or says in pc->nl_err why not.  Returns 0, or -1 with errno for want of
 * resources. */
static int diag_open(struct peercred *pc)
{
	pc->nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_SOCK_DIAG);
	if (pc->nl < 0) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
			return -1;
		pc->nl_err = (errno == EAFNOSUPPORT || errno == EPROTONOSUPPORT) ? ENOSYS : errno;
		return 0;
	}
	/* A first request for a pair that cannot exist: loads the kernel's inet_diag and
	 * tcp_diag modules now, so that no client's lookup waits for modprobe. */
	struct endpoint none = { .addr = { 0 }, .port = 0 };
	uid_t ignored;
	memcpy(none.addr, v4mapped_prefix, sizeof(v4mapped_prefix));
	none.addr[12] = 127;
	none.addr[15] = 1;
	(void)diag_lookup(pc, &none, &none, &ignored); /* ENOENT, or a later lookup fails alike */
	return 0;
}

#endif /* PEERCRED_SOCK_DIAG */

struct peercred *peercred_open(void)
{
	struct peercred *pc = calloc(1, sizeof(*pc));

	if (pc == NULL)
		return NULL;
	pc->nl = -1;
	pc->nl_err = ENOSYS;
	pc->self_uid = geteuid();
#ifdef __linux__
	pc->overflow_uid = overflow_uid();
#else
	pc->overflow_uid = PEERCRED_NO_OVERFLOW;
#endif
#ifdef PEERCRED_SOCK_DIAG
	if (diag_open(pc) < 0) {
		int e = errno;
		free(pc);
		errno = e;
		return NULL;
	}
#endif
	return pc;
}

void peercred_close(struct peercred *pc)
{
	if (pc == NULL)
		return;
	if (pc->nl >= 0)
		close(pc->nl);
	free(pc);
}

uid_t peercred_overflow_uid(const struct peercred *pc)
{
	return pc->overflow_uid;
}

uid_t peercred_self_uid(const struct peercred *pc)
{
	return pc->self_uid;
}

/* tcp_known: fd is known to be a TCP socket (accepted from a TCP listener). */
static int inet_uid(struct peercred *pc, int fd, const struct sockaddr_storage *local,
		    const struct sockaddr_storage *peer, int tcp_known, uid_t *uid)
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
	if (pc->nl < 0) {
		errno = pc->nl_err;
		return -1;
	}
#ifdef PEERCRED_SOCK_DIAG
	int proto = IPPROTO_TCP;
	socklen_t len = sizeof(proto);
	if (!tcp_known && getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) < 0)
		return -1;
	/* a UDP pair would name an unrelated TCP socket */
	if (proto != IPPROTO_TCP) {
		errno = ENOSYS;
		return -1;
	}
	return diag_lookup(pc, &client, &server, uid);
#else
	(void)fd;
	(void)tcp_known;
	(void)uid;
	errno = ENOSYS;
	return -1;
#endif
}

int peercred_uid(struct peercred *pc, int fd, uid_t *uid)
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
		return inet_uid(pc, fd, &local, &peer, 0, uid);
	default:
		errno = ENOSYS;
		return -1;
	}
}

int peercred_uid_accepted(struct peercred *pc, int fd, const struct sockaddr_storage *local,
			  const struct sockaddr_storage *peer, uid_t *uid)
{
	if (local->ss_family != peer->ss_family ||
	    (local->ss_family != AF_INET && local->ss_family != AF_INET6))
		return peercred_uid(pc, fd, uid);
	return inet_uid(pc, fd, local, peer, 1, uid);
}

const char *peercred_strerror(int err)
{
	switch (err) {
	case ENOENT:
		return "no local owner (peer not on loopback, gone, or not connected)";
	case ENOSYS:
		return "cannot identify the owner of this kind of peer on this system";
	case ETIMEDOUT:
		return "the kernel's answer to the owner lookup was not there";
	default:
		return strerror(err);
	}
}
