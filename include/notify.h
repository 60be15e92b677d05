/* notify: the service manager's notification socket (sd_notify(3) without libsystemd).
 *
 * NOTIFY_SOCKET names an AF_UNIX datagram socket (a path, or "@name" for the abstract
 * namespace); each message is "KEY=value" lines in one datagram.  Sends are non-blocking
 * and best effort: a manager that is gone or slow costs a lost message, never a stall.
 * Process-wide state, like the log: one socket, opened by notify_init. */
#ifndef SOCKS2HTTP_NOTIFY_H
#define SOCKS2HTTP_NOTIFY_H

/* Reads NOTIFY_SOCKET and removes it from the environment (programs we might start must not
 * talk to our manager in our name).  Without it, or when it is unusable, notify_send does
 * nothing.  Returns whether notifications are on. */
int notify_init(void);

/* Whether notify_init found a socket (and notify_disable was not called since). */
int notify_enabled(void);

/* Stops notifying from this process (a worker: the supervisor speaks for all of them). */
void notify_disable(void);

/* A worker of --workers: notify_disable, and at the first notify_ready this process writes
 * its pid to fd (a pipe to the supervisor, which sends READY=1 once every worker listens),
 * then closes it. */
void notify_worker(int fd);

/* Sends one message, e.g. "READY=1\nSTATUS=listening".  Best effort. */
#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
void notify_send(const char *fmt, ...);

/* "READY=1", "RELOADING=1" with MONOTONIC_USEC (systemd 253's Type=notify-reload), "STOPPING=1". */
void notify_ready(void);
void notify_reloading(void);
void notify_stopping(void);

#endif
