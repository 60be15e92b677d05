/* netwatch: rtnetlink address and route changes, debounced (see include/netwatch.h). */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE
#endif
#include "netwatch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__linux__) && !defined(S2H_PORTABLE)
#define NETWATCH_NETLINK 1
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#endif

struct netwatch {
	struct ev_loop *loop;
	void (*cb)(void *arg);
	void *arg;
	int fd;
	ev_io io;
	ev_timer settle;
};

static void settle_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct netwatch *nw = w->data;
	(void)loop;
	(void)revents;
	nw->cb(nw->arg);
}

#ifdef NETWATCH_NETLINK
/* Is this message a change we care about?  Address changes always; routes only when they
 * are default routes (dst_len 0) of the main table: other route churn (a tunnel, a cache
 * entry) does not move the PAC's answer. */
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
	nw->fd = -1;
	ev_timer_init(&nw->settle, settle_cb, NETWATCH_SETTLE, 0);
	nw->settle.data = nw;
#ifdef NETWATCH_NETLINK
	nw->fd = open_netlink();
	if (nw->fd >= 0) {
		ev_io_init(&nw->io, io_cb, nw->fd, EV_READ);
		nw->io.data = nw;
		ev_io_start(loop, &nw->io);
	}
#endif
	return nw;
}

void netwatch_free(struct netwatch *nw)
{
	if (nw == NULL)
		return;
	ev_timer_stop(nw->loop, &nw->settle);
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
