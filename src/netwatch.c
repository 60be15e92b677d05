/* netwatch: rtnetlink address and route changes, debounced and compared with the state
 * before them (see include/netwatch.h). */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE
#endif
#include "netwatch.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__linux__) && !defined(S2H_PORTABLE)
#define NETWATCH_NETLINK 1
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#endif

#define NETWATCH_MAX_KEYS 512 /* addresses and default routes remembered */
#define NETWATCH_DUMP_TIMEOUT 2.0

/* One address (ifindex, family, address, prefix length) or one default route (family,
 * output interface, gateway, metric).  Lifetimes and flags are left out: the kernel sends
 * RTM_NEWADDR each time it renews them, and that changes nothing a PAC could see. */
struct netwatch_key {
	uint8_t kind; /* 1 address, 2 default route */
	uint8_t family;
	uint8_t plen;
	uint8_t pad;
	uint32_t ifindex;
	uint32_t metric;
	uint8_t addr[16];
};

struct netwatch_set {
	struct netwatch_key k[NETWATCH_MAX_KEYS];
	unsigned n;
	int overflow;
};

struct netwatch {
	struct ev_loop *loop;
	void (*cb)(void *arg);
	void *arg;
	int fd;       /* subscribed to changes */
	int qfd;      /* a dump of the present state, while one runs */
	int stage;    /* of the dump: 1 addresses, 2 routes */
	int started;  /* the first dump (the state to compare with) is over */
	int have;     /* snap holds the state as last seen */
	int again;    /* a change came while dumping: dump once more */
	uint32_t seq;
	ev_io io;
	ev_io qio;
	ev_timer settle;
	ev_timer qtimer;
	struct netwatch_set snap, next;
};

static void settle_cb(struct ev_loop *loop, ev_timer *w, int revents);

#ifdef NETWATCH_NETLINK
static int key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct netwatch_key));
}

static void add_key(struct netwatch_set *set, const struct netwatch_key *k)
{
	if (set->n >= NETWATCH_MAX_KEYS) {
		set->overflow = 1;
		return;
	}
	set->k[set->n++] = *k;
}

/* An address or default route from a dump message into set (others are ignored). */
static void take(struct netwatch_set *set, const struct nlmsghdr *h)
{
	struct netwatch_key k;
	memset(&k, 0, sizeof(k));
	if (h->nlmsg_type == RTM_NEWADDR && h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct ifaddrmsg))) {
		const struct ifaddrmsg *ifa = NLMSG_DATA(h);
		int len = (int)IFA_PAYLOAD(h), have = 0;
		k.kind = 1;
		k.family = ifa->ifa_family;
		k.plen = ifa->ifa_prefixlen;
		k.ifindex = ifa->ifa_index;
		for (const struct rtattr *a = IFA_RTA(ifa); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
			size_t n = RTA_PAYLOAD(a) < sizeof(k.addr) ? RTA_PAYLOAD(a) : sizeof(k.addr);
			/* IPv4: IFA_LOCAL is the address, IFA_ADDRESS the peer on a point-to-point link */
			if (a->rta_type == IFA_LOCAL || (a->rta_type == IFA_ADDRESS && have != IFA_LOCAL)) {
				memset(k.addr, 0, sizeof(k.addr));
				memcpy(k.addr, RTA_DATA(a), n);
				have = a->rta_type;
			}
		}
		add_key(set, &k);
	} else if (h->nlmsg_type == RTM_NEWROUTE && h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct rtmsg))) {
		const struct rtmsg *rt = NLMSG_DATA(h);
		int len = (int)RTM_PAYLOAD(h);
		uint32_t table = rt->rtm_table;
		k.kind = 2;
		k.family = rt->rtm_family;
		for (const struct rtattr *a = RTM_RTA(rt); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
			if (a->rta_type == RTA_TABLE && RTA_PAYLOAD(a) >= 4)
				memcpy(&table, RTA_DATA(a), 4);
			else if (a->rta_type == RTA_OIF && RTA_PAYLOAD(a) >= 4)
				memcpy(&k.ifindex, RTA_DATA(a), 4);
			else if (a->rta_type == RTA_PRIORITY && RTA_PAYLOAD(a) >= 4)
				memcpy(&k.metric, RTA_DATA(a), 4);
			else if (a->rta_type == RTA_GATEWAY)
				memcpy(k.addr, RTA_DATA(a), RTA_PAYLOAD(a) < sizeof(k.addr) ? RTA_PAYLOAD(a) : sizeof(k.addr));
		}
		if (rt->rtm_dst_len == 0 && (table == RT_TABLE_MAIN || table == RT_TABLE_UNSPEC))
			add_key(set, &k);
	}
}

static void dump_stop(struct netwatch *nw)
{
	ev_timer_stop(nw->loop, &nw->qtimer);
	if (nw->qfd >= 0) {
		ev_io_stop(nw->loop, &nw->qio);
		close(nw->qfd);
	}
	nw->qfd = -1;
	nw->stage = 0;
}

/* The dump ended (ok) or failed: compare with the last state and report a difference.
 * Where a state is unknown (a dump failed), every change counts, as before there were
 * snapshots; the first dump only sets the state. */
static void dump_done(struct netwatch *nw, int ok)
{
	dump_stop(nw);
	int changed = nw->started;
	if (ok) {
		qsort(nw->next.k, nw->next.n, sizeof(nw->next.k[0]), key_cmp);
		if (nw->have)
			changed = nw->next.n != nw->snap.n || nw->next.overflow != nw->snap.overflow ||
				  memcmp(nw->next.k, nw->snap.k, nw->next.n * sizeof(nw->next.k[0])) != 0;
		nw->snap = nw->next;
	}
	nw->have = ok;
	nw->started = 1;
	if (nw->again) {
		nw->again = 0;
		settle_cb(nw->loop, &nw->settle, 0);
	}
	if (changed)
		nw->cb(nw->arg); /* last: it may do anything but free nw */
}

static int dump_send(struct netwatch *nw, int type)
{
	struct {
		struct nlmsghdr h;
		struct rtgenmsg g;
	} req;
	memset(&req, 0, sizeof(req));
	req.h.nlmsg_len = NLMSG_LENGTH(sizeof(req.g));
	req.h.nlmsg_type = (uint16_t)type;
	req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.h.nlmsg_seq = ++nw->seq;
	req.g.rtgen_family = AF_UNSPEC;
	return send(nw->qfd, &req, req.h.nlmsg_len, 0) == (ssize_t)req.h.nlmsg_len ? 0 : -1;
}

static void dump_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct netwatch *nw = w->data;
	char buf[32768] __attribute__((aligned(4)));
	(void)loop;
	(void)revents;
	for (int round = 0; round < 64; round++) {
		ssize_t n = recv(nw->qfd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			dump_done(nw, 0);
			return;
		}
		size_t len = (size_t)n;
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_seq != nw->seq)
				continue;
			if (h->nlmsg_type == NLMSG_ERROR || (h->nlmsg_flags & NLM_F_DUMP_INTR)) {
				dump_done(nw, 0);
				return;
			}
			if (h->nlmsg_type != NLMSG_DONE) {
				take(&nw->next, h);
				continue;
			}
			if (nw->stage == 1 && dump_send(nw, RTM_GETROUTE) == 0) {
				nw->stage = 2;
				break; /* the rest of this read belongs to the finished dump */
			}
			dump_done(nw, nw->stage == 2);
			return;
		}
	}
}

static void dump_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	dump_done(w->data, 0);
}

/* Starts reading the present addresses and default routes (non-blocking, bounded by
 * NETWATCH_DUMP_TIMEOUT); a dump already running is asked to run once more. */
static void dump_start(struct netwatch *nw)
{
	if (nw->qfd >= 0) {
		nw->again = 1;
		return;
	}
	memset(&nw->next, 0, sizeof(nw->next));
	nw->qfd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
	if (nw->qfd < 0 || dump_send(nw, RTM_GETADDR) < 0) {
		dump_done(nw, 0);
		return;
	}
	nw->stage = 1;
	ev_io_init(&nw->qio, dump_io_cb, nw->qfd, EV_READ);
	nw->qio.data = nw;
	ev_io_start(nw->loop, &nw->qio);
	ev_timer_set(&nw->qtimer, NETWATCH_DUMP_TIMEOUT, 0);
	ev_timer_start(nw->loop, &nw->qtimer);
}
#endif

/* The burst of messages ended: read the state and report only a real difference. */
static void settle_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct netwatch *nw = w->data;
	(void)loop;
	(void)revents;
#ifdef NETWATCH_NETLINK
	dump_start(nw);
#else
	nw->cb(nw->arg);
#endif
}

#ifdef NETWATCH_NETLINK
/* Is this message a change we care about?  Address changes always; routes only when they
 * are default routes (dst_len 0) of the main table: other route churn (a tunnel, a cache
 * entry) does not move the PAC's answer.  Whether it changed anything, the dump after the
 * burst tells. */
static int relevant(const struct nlmsghdr *h)
{
	switch (h->nlmsg_type) {
	case RTM_NEWADDR:
	case RTM_DELADDR:
		return 1;
	case RTM_NEWROUTE:
	case RTM_DELROUTE: {
		if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct rtmsg)))
			return 0;
		const struct rtmsg *rt = NLMSG_DATA(h);
		return rt->rtm_dst_len == 0 && (rt->rtm_table == RT_TABLE_MAIN || rt->rtm_table == RT_TABLE_UNSPEC);
	}
	default:
		return 0;
	}
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct netwatch *nw = w->data;
	char buf[8192] __attribute__((aligned(4)));
	int seen = 0;
	(void)revents;
	for (int round = 0; round < 64; round++) {
		ssize_t n = recv(nw->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == ENOBUFS) {
			seen = 1; /* the kernel dropped messages: something changed */
			continue;
		}
		if (n <= 0)
			break;
		size_t len = (size_t)n;
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len))
			if (relevant(h))
				seen = 1;
	}
	if (seen) {
		/* the callback waits for the burst to end */
		ev_timer_stop(loop, &nw->settle);
		ev_timer_set(&nw->settle, NETWATCH_SETTLE, 0);
		ev_timer_start(loop, &nw->settle);
	}
}

static int open_netlink(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
	if (fd < 0)
		return -1;
	struct sockaddr_nl sa;
	memset(&sa, 0, sizeof(sa));
	sa.nl_family = AF_NETLINK;
	sa.nl_groups = RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}
#endif

struct netwatch *netwatch_new(struct ev_loop *loop, void (*cb)(void *arg), void *arg)
{
	struct netwatch *nw = calloc(1, sizeof(*nw));
	if (nw == NULL)
		return NULL;
	nw->loop = loop;
	nw->cb = cb;
	nw->arg = arg;
	nw->fd = nw->qfd = -1;
	ev_timer_init(&nw->settle, settle_cb, NETWATCH_SETTLE, 0);
	ev_timer_init(&nw->qtimer, NULL, NETWATCH_DUMP_TIMEOUT, 0);
	nw->settle.data = nw->qtimer.data = nw;
#ifdef NETWATCH_NETLINK
	ev_set_cb(&nw->qtimer, dump_timeout_cb);
	nw->fd = open_netlink();
	if (nw->fd >= 0) {
		ev_io_init(&nw->io, io_cb, nw->fd, EV_READ);
		nw->io.data = nw;
		ev_io_start(loop, &nw->io);
		dump_start(nw); /* the state to compare the first change with */
	}
#endif
	return nw;
}

void netwatch_free(struct netwatch *nw)
{
	if (nw == NULL)
		return;
	ev_timer_stop(nw->loop, &nw->settle);
#ifdef NETWATCH_NETLINK
	dump_stop(nw);
#endif
	if (nw->fd >= 0) {
		ev_io_stop(nw->loop, &nw->io);
		close(nw->fd);
	}
	free(nw);
}

int netwatch_active(const struct netwatch *nw)
{
	return nw->fd >= 0;
}
