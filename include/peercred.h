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
 * overflow uid (65534), so comparing with getuid() means nothing when that is the caller's
 * own uid.  Lookups search the caller's network namespace.
 * Nothing here logs, allocates or keeps state between calls. */
#ifndef SOCKS2HTTP_PEERCRED_H
#define SOCKS2HTTP_PEERCRED_H

#include <sys/types.h>

/* The longest a lookup waits for the kernel's answer (it normally comes at once). */
#define PEERCRED_TIMEOUT_MS 200

/* Sets *uid to the owner of the peer of fd, a connected AF_UNIX socket or TCP socket.
 * Returns 0, or -1 with errno:
 *   ENOENT     no local owner: fd is not connected, its peer is not on a loopback address
 *              (127.0.0.0/8, ::1, ::ffff:127.0.0.0/104), the peer's TCP socket is
 *              closed (even with data still in flight), fd is connected to itself, or
 *              an AF_UNIX datagram peer left no credentials,
 *   ENOSYS     this system cannot tell: TCP outside Linux, no NETLINK_SOCK_DIAG sockets
 *              (kernel or sandbox; a kernel without TCP diag answers ENOENT instead),
 *              UDP or another protocol, an address family other than these three,
 *   ETIMEDOUT  the kernel did not answer within PEERCRED_TIMEOUT_MS,
 *   other      from the system calls made (EBADF, ENOTSOCK, EMFILE, ENOBUFS, EPERM, ...).
 * Callers that enforce an owner must treat every -1 as "not the owner". */
int peercred_uid(int fd, uid_t *uid);

/* A handle for lookups (interim: lookups do not use it yet). */
struct peercred;
struct peercred *peercred_open(void);
void peercred_close(struct peercred *pc);

/* Text for an errno set by peercred_uid(), for log lines. */
const char *peercred_strerror(int err);

#endif
