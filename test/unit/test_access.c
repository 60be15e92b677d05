/* test_access: the access policy with injected owners: own uid, --allow-users, unmapped
 * users (the overflow uid, never allowed), failed lookups, and the checks made before any
 * lookup (--socks-auth, remote peers, --allow-users any).  peercred is replaced by stubs
 * below, so this links access and config only. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "access.h"
#include "check.h"
#include "config.h"
#include "peercred.h"

#define ME 1000
#define NOBODY 65534

static struct config cfg;
static char who[96];

/* ---------------------------------------------------------------- peercred stubs */

static int stub_err;  /* 0: the lookup finds stub_uid */
static uid_t stub_uid;
static uid_t stub_overflow = NOBODY;
static int stub_lookups;

int peercred_uid(struct peercred *pc, int fd, uid_t *uid)
{
	(void)pc;
	(void)fd;
	stub_lookups++;
	if (stub_err != 0) {
		errno = stub_err;
		return -1;
	}
	*uid = stub_uid;
	return 0;
}

int peercred_uid_accepted(struct peercred *pc, int fd, const struct sockaddr_storage *local,
			  const struct sockaddr_storage *peer, uid_t *uid)
{
	(void)local;
	(void)peer;
	return peercred_uid(pc, fd, uid);
}

uid_t peercred_overflow_uid(const struct peercred *pc)
{
	(void)pc;
	return stub_overflow;
}

uid_t peercred_self_uid(const struct peercred *pc)
{
	(void)pc;
	return geteuid();
}

/* ---------------------------------------------------------------- access_decide */

static enum access_verdict decide(int err, uid_t uid, uid_t overflow)
{
	memset(who, 'x', sizeof(who));
	return access_decide(&cfg, err, uid, ME, overflow, who, sizeof(who));
}

static void test_own_and_others(void)
{
	config_init(&cfg);
	CHECK_EQ_INT(decide(0, ME, NOBODY), ACCESS_ALLOW);
	CHECK_EQ_STR(who, "uid 1000");
	CHECK_EQ_INT(decide(0, 1001, NOBODY), ACCESS_DENY);
	CHECK_EQ_STR(who, "uid 1001 not allowed (--allow-users)");
	CHECK_EQ_INT(decide(0, 0, NOBODY), ACCESS_DENY);

	cfg.allow_uids[cfg.nallow_uids++] = 1001;
	CHECK_EQ_INT(decide(0, 1001, NOBODY), ACCESS_ALLOW);
	CHECK_EQ_STR(who, "uid 1001");
	CHECK_EQ_INT(decide(0, 1002, NOBODY), ACCESS_DENY);
}

/* An unmapped peer reads as the overflow uid: refused as unknown, even when that is the
 * daemon's own uid (it runs unmapped itself) or an --allow-users entry. */
static void test_overflow_uid(void)
{
	config_init(&cfg);
	CHECK_EQ_INT(decide(0, NOBODY, NOBODY), ACCESS_DENY);
	CHECK_EQ_STR(who, "owner unknown (unmapped user namespace uid)");

	cfg.allow_uids[cfg.nallow_uids++] = NOBODY;
	CHECK_EQ_INT(decide(0, NOBODY, NOBODY), ACCESS_DENY);
	CHECK_EQ_STR(who, "owner unknown (unmapped user namespace uid)");

	/* the daemon itself unmapped: its own uid reads as the overflow uid too */
	config_init(&cfg);
	memset(who, 'x', sizeof(who));
	CHECK_EQ_INT(access_decide(&cfg, 0, 4242, 4242, 4242, who, sizeof(who)), ACCESS_DENY);
	CHECK_EQ_STR(who, "owner unknown (unmapped user namespace uid)");

	/* a namespace with its own overflow uid: 65534 is then an ordinary uid */
	cfg.allow_uids[cfg.nallow_uids++] = NOBODY;
	CHECK_EQ_INT(decide(0, NOBODY, 4242), ACCESS_ALLOW);
	CHECK_EQ_INT(decide(0, 4242, 4242), ACCESS_DENY);

	/* every uid mapped (the initial namespace): 65534 is nobody, allowed when listed */
	CHECK_EQ_INT(decide(0, NOBODY, PEERCRED_NO_OVERFLOW), ACCESS_ALLOW);
	CHECK_EQ_STR(who, "uid 65534");
	config_init(&cfg);
	CHECK_EQ_INT(decide(0, NOBODY, PEERCRED_NO_OVERFLOW), ACCESS_DENY);
	CHECK_EQ_STR(who, "uid 65534 not allowed (--allow-users)");
}

static void test_lookup_failed(void)
{
	config_init(&cfg);
	cfg.allow_uids[cfg.nallow_uids++] = 0; /* no uid passes for a failed lookup's */
	CHECK_EQ_INT(decide(ENOENT, 0, NOBODY), ACCESS_GONE);
	CHECK(strncmp(who, "owner unknown (", 15) == 0);
	CHECK_EQ_INT(decide(EMFILE, 0, NOBODY), ACCESS_ERROR);
	CHECK_EQ_INT(decide(ENFILE, 0, NOBODY), ACCESS_ERROR);
	CHECK_EQ_INT(decide(ENOMEM, 0, NOBODY), ACCESS_ERROR);
	CHECK_EQ_INT(decide(ENOBUFS, 0, NOBODY), ACCESS_ERROR);
	CHECK_EQ_INT(decide(ETIMEDOUT, ME, NOBODY), ACCESS_DENY);
	CHECK(strncmp(who, "owner unknown (", 15) == 0);
	CHECK_EQ_INT(decide(EPERM, ME, NOBODY), ACCESS_DENY);
	/* no lookup at all: refused on Linux, where that means a sandbox; let in where the
	 * system has none (BSD, macOS, a portable build) */
#if defined(__linux__) && !defined(S2H_PORTABLE)
	CHECK_EQ_INT(decide(ENOSYS, ME, NOBODY), ACCESS_DENY);
#else
	CHECK_EQ_INT(decide(ENOSYS, ME, NOBODY), ACCESS_ALLOW);
#endif
}

/* ---------------------------------------------------------------- access_check */

static enum access_verdict check_peer(const struct sockaddr *peer)
{
	memset(who, 'x', sizeof(who));
	who[sizeof(who) - 1] = '\0';
	stub_lookups = 0;
	return access_check(NULL, &cfg, 3, NULL, peer, who, sizeof(who));
}

static void test_check(void)
{
	struct sockaddr_in lo, far;
	struct sockaddr_un un;
	struct auth_user alice;

	memset(&lo, 0, sizeof(lo));
	lo.sin_family = AF_INET;
	lo.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	far = lo;
	far.sin_addr.s_addr = htonl(0xc0000201); /* 192.0.2.1 */
	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;

	/* the lookup's result goes to the decision, with our own uid and the overflow uid */
	config_init(&cfg);
	stub_err = 0;
	stub_uid = geteuid();
	stub_overflow = PEERCRED_NO_OVERFLOW;
	CHECK_EQ_INT(check_peer((struct sockaddr *)&lo), ACCESS_ALLOW);
	CHECK_EQ_INT(stub_lookups, 1);
	CHECK_EQ_INT(check_peer((struct sockaddr *)&un), ACCESS_ALLOW);
	stub_overflow = geteuid(); /* we run unmapped: our uid names no one */
	CHECK_EQ_INT(check_peer((struct sockaddr *)&lo), ACCESS_DENY);
	CHECK_EQ_STR(who, "owner unknown (unmapped user namespace uid)");
	stub_overflow = NOBODY;
	stub_uid = NOBODY;
	CHECK_EQ_INT(check_peer((struct sockaddr *)&un), ACCESS_DENY);
	stub_err = ENOENT;
	CHECK_EQ_INT(check_peer((struct sockaddr *)&lo), ACCESS_GONE);

	/* decided without a lookup */
	cfg.allow_any_user = 1;
	CHECK_EQ_INT(check_peer((struct sockaddr *)&lo), ACCESS_ALLOW);
	CHECK_EQ_INT(stub_lookups, 0);
	cfg.allow_any_user = 0;
	CHECK_EQ_INT(check_peer((struct sockaddr *)&far), ACCESS_DENY);
	CHECK_EQ_STR(who, "remote");
	CHECK_EQ_INT(stub_lookups, 0);
	cfg.allow_remote = 1;
	CHECK_EQ_INT(check_peer((struct sockaddr *)&far), ACCESS_ALLOW);
	CHECK_EQ_INT(stub_lookups, 0);
	memset(&alice, 0, sizeof(alice));
	strcpy(alice.user, "alice");
	strcpy(alice.pass, "pw");
	cfg.auth = &alice;
	cfg.nauth = 1;
	CHECK_EQ_INT(check_peer((struct sockaddr *)&lo), ACCESS_AUTH);
	CHECK_EQ_INT(stub_lookups, 0);
	CHECK(access_password_ok(&cfg, "alice", "pw"));
	CHECK(!access_password_ok(&cfg, "alice", "pw2"));
	CHECK(!access_password_ok(&cfg, "alice", "p"));
	CHECK(!access_password_ok(&cfg, "bob", "pw"));
	cfg.auth = NULL;
	cfg.nauth = 0;
}

int main(void)
{
	test_own_and_others();
	test_overflow_uid();
	test_lookup_failed();
	test_check();
	return check_report();
}
