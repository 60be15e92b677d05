/* peercred: which local user owns the other end of an accepted connection.
 *
 * socks2http holds the user's proxy credentials, so on a shared machine it serves, by
 * default, only clients run by the same user.  The kernel tells who they are:
 *   AF_UNIX             SO_PEERCRED (Linux) or getpeereid() (BSD, macOS): the effective
 *                       uid of the process that called connect() or socketpair(), kept
 *                       by the kernel even after that process closes its end,
 *   TCP over loopback   NETLINK_SOCK_DIAG (Linux only): the uid that created the client's
 *                       socket, found by its exact address and port pair.
 * Uids are as seen from the caller's user namespace: a uid not mapped there reads as the
 * overflow uid (peercred_overflow_uid), which therefore names nobody in particular.
 * TCP lookups search the network namespace the handle was opened in.
 *
 * A handle keeps one netlink socket for all TCP lookups, and a lookup never waits: the
 * kernel answers an exact SOCK_DIAG_BY_FAMILY request inside sendto(), so the answer is
 * either queued when sendto() returns or not coming.  A lookup is a few system calls and
 * may run on the event loop.  Nothing here logs. */
#ifndef SOCKS2HTTP_PEERCRED_H
#define SOCKS2HTTP_PEERCRED_H

#include <sys/socket.h>
#include <sys/types.h>

struct peercred;

/* peercred_overflow_uid() when no peer can be unmapped (every uid is mapped here). */
#define PEERCRED_NO_OVERFLOW ((uid_t)-1)

/* Opens a handle: on Linux a NETLINK_SOCK_DIAG socket (one fd, close-on-exec, kept until
 * peercred_close) and the overflow uid, both read once.  Where TCP lookups are impossible
 * (not Linux, a portable build, a kernel or sandbox without NETLINK_SOCK_DIAG) the handle
 * still serves AF_UNIX peers and TCP lookups fail with ENOSYS (or the sandbox's EPERM,
 * EACCES).  Returns the handle, or NULL with errno for want of resources (ENOMEM,
 * EMFILE, ENFILE, ENOBUFS).  One handle per process: a forked child opens its own. */
struct peercred *peercred_open(void);

/* Closes the socket and frees the handle.  NULL is fine. */
void peercred_close(struct peercred *pc);

/* As peercred_uid for fd, a TCP socket accepted from a listener, when the caller already
 * has its local and peer addresses (the listener's bound one, accept's): three system
 * calls fewer per client. */
int peercred_uid_accepted(struct peercred *pc, int fd, const struct sockaddr_storage *local,
			  const struct sockaddr_storage *peer, uid_t *uid);

/* Sets *uid to the owner of the peer of fd, a connected AF_UNIX socket or TCP socket.
 * Returns 0, or -1 with errno:
 *   ENOENT     no local owner: fd is not connected, its peer is not on a loopback address
 *              (127.0.0.0/8, ::1, ::ffff:127.0.0.0/104), the peer's TCP socket is
 *              closed (even with data still in flight), fd is connected to itself, or
 *              an AF_UNIX datagram peer left no credentials,
 *   ENOSYS     this system cannot tell: TCP outside Linux or in a portable build, no
 *              NETLINK_SOCK_DIAG sockets (kernel or sandbox; a kernel without TCP diag
 *              answers ENOENT instead), UDP or another protocol, an address family other
 *              than these three,
 *   ETIMEDOUT  no answer from the kernel was queued when the request had been sent (it
 *              comes at once when it comes at all; nothing is waited for),
 *   other      from the system calls made (EBADF, ENOTSOCK, ENOMEM, ENOBUFS, EPERM, ...).
 * Callers that enforce an owner must treat every -1 as "not the owner", and a uid equal
 * to peercred_overflow_uid() as unknown. */
int peercred_uid(struct peercred *pc, int fd, uid_t *uid);

/* The uid that peers not mapped into our user namespace read as (from
 * /proc/sys/kernel/overflowuid, 65534 when unreadable), or PEERCRED_NO_OVERFLOW in the
 * initial user namespace (every uid is mapped: 65534 is then a real user's) and outside
 * Linux. */
uid_t peercred_overflow_uid(const struct peercred *pc);

/* Our effective uid, as it was at peercred_open (no system call per client). */
uid_t peercred_self_uid(const struct peercred *pc);

/* Text for an errno set by peercred_uid(), for log lines. */
const char *peercred_strerror(int err);

#endif
