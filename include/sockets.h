/* sockets: small helpers for the sockets every module opens. */
#ifndef SOCKS2HTTP_SOCKETS_H
#define SOCKS2HTTP_SOCKETS_H

#include <sys/socket.h>

/* O_NONBLOCK and FD_CLOEXEC on fd.  Returns 0 or -1. */
int sockets_nonblock(int fd);

/* A non-blocking, close-on-exec stream socket (one system call where the system allows). */
int sockets_stream(int family);

/* TCP_NODELAY, and with keepalive set TCP keepalive (60 s idle, 10 s interval, 6 probes):
 * tunnels have no idle timeout by default, so keepalive finds dead peers on other hosts.
 * Not for a peer on this host (config_addr_is_local): its kernel closes its sockets when it
 * dies, and no middlebox forgets the flow, so probes would only wake the machine every
 * minute per idle socket.  Set on a listening socket, Linux passes them on to every
 * accepted socket: listeners get TCP_NODELAY only, and a client from another host gets
 * keepalive when accepted (a wildcard listener also serves loopback clients). */
void sockets_tune(int fd, int keepalive);

/* TCP keepalive alone (sockets_tune's). */
void sockets_keepalive(int fd);

/* An accepted socket: sockets_tune where the listener's options are not inherited, else
 * keepalive alone for a client on another host (remote). */
void sockets_tune_accepted(int fd, int remote);

/* Do accepted sockets inherit sockets_tune from their listener? */
int sockets_tune_inherited(void);

socklen_t sockets_addrlen(const struct sockaddr_storage *ss);

/* Is ss the wildcard address (0.0.0.0 or ::), where accepted sockets have other local
 * addresses? */
int sockets_is_wildcard(const struct sockaddr_storage *ss);

#endif
