/* access: who may use the bridge.  The bridge spends the user's proxy credentials, so by
 * default only the user running it may connect: loopback TCP and Unix-domain peers are
 * identified by uid (peercred); others must log in with RFC 1929 or be allowed outright. */
#ifndef SOCKS2HTTP_ACCESS_H
#define SOCKS2HTTP_ACCESS_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "config.h"

enum access_verdict {
	ACCESS_ALLOW = 0, /* may go ahead without logging in */
	ACCESS_AUTH = 1,  /* must log in with RFC 1929 username/password */
	ACCESS_DENY = 2,  /* refused: SOCKS5 02 / SOCKS4 91 once the request is read */
	ACCESS_ERROR = 3, /* the owner could not be looked up for want of resources (fds,
			   * memory): SOCKS5 01 / SOCKS4 91, not a verdict on the client */
	ACCESS_GONE = 4,  /* the client's socket is already closed: nothing to answer */
	ACCESS_PENDING = 5, /* not looked up yet: a SOCKS5 greeting may be answered, nothing more */
};

struct peercred;

/* Decides for a newly accepted client, looking its owner up through pc when the policy
 * needs it.  local is the listener's address when it is known exactly (NULL otherwise);
 * peer is accept's.  who receives a short description for logs ("uid 1000", "uid 65534
 * not allowed", ...). */
enum access_verdict access_check(struct peercred *pc, const struct config *cfg, int fd,
				 const struct sockaddr_storage *local, const struct sockaddr *peer, char *who, size_t cap);

/* The decision once the owner of a local peer has been looked up, without I/O: err is 0
 * when uid is the owner, else the lookup's errno; self_uid is ours (geteuid); overflow_uid
 * is what unmapped users read as (peercred_overflow_uid, or PEERCRED_NO_OVERFLOW), which
 * names no one, so it is never allowed, not even as our own uid or by --allow-users. */
enum access_verdict access_decide(const struct config *cfg, int err, uid_t uid, uid_t self_uid, uid_t overflow_uid,
				  char *who, size_t cap);

/* Does user/pass match a line of the --socks-auth file?  Compares in constant time. */
int access_password_ok(const struct config *cfg, const char *user, const char *pass);

#endif
