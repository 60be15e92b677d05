/* access: the policy deciding which clients may use the bridge (see include/access.h). */
#include "access.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "peercred.h"

/* Where the system has no owner lookup for TCP at all (the BSDs, macOS, a portable build),
 * ENOSYS is let in: the README says what protects the port there.  On Linux it means the
 * lookup was refused (a sandbox), and an unknown owner is refused in turn: the bridge
 * would lend the credentials blindly. */
#if !defined(__linux__) || defined(S2H_PORTABLE)
#define ACCESS_ENOSYS_ALLOWED 1
#endif

enum access_verdict access_decide(const struct config *cfg, int err, uid_t uid, uid_t self_uid, uid_t overflow_uid,
				  char *who, size_t cap)
{
	who[0] = '\0';
	if (err != 0) {
#ifdef ACCESS_ENOSYS_ALLOWED
		if (err == ENOSYS)
			return ACCESS_ALLOW;
#endif
		snprintf(who, cap, "owner unknown (%s)", strerror(err));
		if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM)
			return ACCESS_ERROR;
		if (err == ENOENT)
			return ACCESS_GONE;
		return ACCESS_DENY;
	}
	/* checked first: a daemon whose own uid is unmapped reads as the overflow uid too */
	if (overflow_uid != PEERCRED_NO_OVERFLOW && uid == overflow_uid) {
		snprintf(who, cap, "owner unknown (unmapped user namespace uid)");
		return ACCESS_DENY;
	}
	if (uid == self_uid) {
		snprintf(who, cap, "uid %lu", (unsigned long)uid);
		return ACCESS_ALLOW;
	}
	for (size_t i = 0; i < cfg->nallow_uids; i++) {
		if (cfg->allow_uids[i] == uid) {
			snprintf(who, cap, "uid %lu", (unsigned long)uid);
			return ACCESS_ALLOW;
		}
	}
	snprintf(who, cap, "uid %lu not allowed (--allow-users)", (unsigned long)uid);
	return ACCESS_DENY;
}

enum access_verdict access_check(struct peercred *pc, const struct config *cfg, int fd,
				 const struct sockaddr_storage *local, const struct sockaddr *peer, char *who, size_t cap)
{
	uid_t uid = (uid_t)-1;
	int err = 0;

	who[0] = '\0';
	if (cfg->nauth > 0)
		return ACCESS_AUTH;
	if (!config_addr_is_local(peer)) {
		/* only reachable with --allow-remote: config refuses such listeners otherwise */
		snprintf(who, cap, "remote");
		return cfg->allow_remote ? ACCESS_ALLOW : ACCESS_DENY;
	}
	if (cfg->allow_any_user)
		return ACCESS_ALLOW;
	struct sockaddr_storage p;
	memcpy(&p, peer, peer->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
	int rc = local != NULL && (peer->sa_family == AF_INET || peer->sa_family == AF_INET6)
			 ? peercred_uid_accepted(pc, fd, local, &p, &uid)
			 : peercred_uid(pc, fd, &uid);
	if (rc < 0)
		err = errno != 0 ? errno : EIO; /* never 0: that would vouch for uid */
	return access_decide(cfg, err, uid, peercred_self_uid(pc), peercred_overflow_uid(pc), who, cap);
}

/* Equal strings?  Time depends on the lengths only, not on where they differ. */
static int same(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char diff = (unsigned char)(la != lb);
	for (size_t i = 0; i < la && i < lb; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0;
}

int access_password_ok(const struct config *cfg, const char *user, const char *pass)
{
	int ok = 0;
	for (size_t i = 0; i < cfg->nauth; i++)
		ok |= same(cfg->auth[i].user, user) & same(cfg->auth[i].pass, pass);
	return ok;
}
