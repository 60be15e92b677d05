/* access: the policy deciding which clients may use the bridge (see include/access.h). */
#include "access.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "peercred.h"

enum access_verdict access_check(struct peercred *pc, const struct config *cfg, int fd, const struct sockaddr *peer,
				 char *who, size_t cap)
{
	uid_t uid;

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
	if (peercred_uid(pc, fd, &uid) < 0) {
#ifndef __linux__
		if (errno == ENOSYS) /* no way to tell here: the README says what protects the port */
			return ACCESS_ALLOW;
#endif
		int e = errno;
		snprintf(who, cap, "owner unknown (%s)", strerror(e));
		if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM)
			return ACCESS_ERROR;
		if (e == ENOENT)
			return ACCESS_GONE;
		/* on Linux an unknown owner is refused: the bridge would lend the credentials blindly */
		return ACCESS_DENY;
	}
	if (uid == geteuid()) {
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
