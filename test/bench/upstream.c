/* upstream: a minimal HTTP CONNECT proxy for the benchmark, meant never to be the
 * bottleneck: one thread, epoll, splice(2) relaying (relay.h).  It reads the request
 * header (peeked, so bytes after it stay in the socket), connects to the target, answers
 * "HTTP/1.1 200 Connection established", then relays.  Request headers are ignored.
 * Usage: upstream [-l ADDR:PORT] [--delay-ms N] [--handshake-ms N] [--pipe-size BYTES]
 *   --delay-ms N      holds each 200 answer N ms (emulates a far proxy)
 *   --handshake-ms N  reads a new connection only N ms after accept (a far proxy's TCP
 *                     handshake, which a connection opened ahead of time has paid already)
 * Prints "port N" on stdout once listening, and "accepted N" (connections accepted so far)
 * on SIGUSR1. */
#include "relay.h"

#include <netdb.h>
#include <signal.h>

enum { S_HDR, S_CONNECTING, S_DELAY, S_RELAY };

struct conn {
	struct relay r; /* first: epoll data points into r.end[] */
	int state;
	int dead;
	double due;
	struct conn *next; /* delay queue or graveyard */
};

static int ep;
static double delay_s;
static struct conn *dq_head, *dq_tail, *graveyard;
/* --handshake-ms: a new connection's first bytes are read only this long after accept,
 * as if its TCP handshake had taken a round trip to a far proxy; a connection that was
 * opened ahead of time (socks2http --prewarm) has long paid it */
static double handshake_s;
static struct conn *hq_head, *hq_tail;
static unsigned long accepted;
static volatile sig_atomic_t report_asked;

static void on_usr1(int sig)
{
	(void)sig;
	report_asked = 1;
}

static const char OK200[] = "HTTP/1.1 200 Connection established\r\n\r\n";

static void kill_conn(struct conn *c)
{
	if (c->dead)
		return;
	relay_close(&c->r);
	c->dead = 1;
	c->next = graveyard;
	graveyard = c;
}

static void answer(struct conn *c, const char *text)
{
	(void)send(c->r.fd[0], text, strlen(text), MSG_NOSIGNAL);
	kill_conn(c);
}

static void established(struct conn *c)
{
	if (send(c->r.fd[0], OK200, sizeof(OK200) - 1, MSG_NOSIGNAL) != (ssize_t)sizeof(OK200) - 1) {
		kill_conn(c);
		return;
	}
	c->state = S_RELAY;
	relay_watch(ep, &c->r);
}

static int resolve(char *auth, struct sockaddr_storage *ss, socklen_t *sl)
{
	char *colon = strrchr(auth, ':');
	if (colon == NULL)
		return -1;
	*colon = '\0';
	char *host = auth, *port = colon + 1;
	if (host[0] == '[') {
		host++;
		char *rb = strchr(host, ']');
		if (rb == NULL)
			return -1;
		*rb = '\0';
	}
	struct addrinfo hints, *res;
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return -1;
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*sl = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* The header is peeked (the bytes after it stay in the socket), so the client's socket is
 * watched edge-triggered until it is whole: woken by new bytes or the end of the stream,
 * not by the peeked bytes again and again. */
#define HDR_EVENTS (EPOLLIN | EPOLLRDHUP | EPOLLET)

static void on_header(struct conn *c, uint32_t events)
{
	char buf[4096];
	int fd = c->r.fd[0];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_PEEK);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n <= 0) {
		kill_conn(c);
		return;
	}
	char *e = memmem(buf, (size_t)n, "\r\n\r\n", 4);
	if (e == NULL) {
		if (n == (ssize_t)sizeof(buf) - 1)
			answer(c, "HTTP/1.1 431 Request Header Fields Too Large\r\n\r\n");
		else if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
			kill_conn(c); /* it ended inside the header */
		return;
	}
	size_t hl = (size_t)(e + 4 - buf);
	if (recv(fd, buf, hl, 0) != (ssize_t)hl) {
		kill_conn(c);
		return;
	}
	buf[hl] = '\0';
	char *sp = strchr(buf + 8, ' ');
	if (strncmp(buf, "CONNECT ", 8) != 0 || sp == NULL) {
		answer(c, "HTTP/1.1 405 Method Not Allowed\r\n\r\n");
		return;
	}
	*sp = '\0';
	struct sockaddr_storage ss;
	socklen_t sl;
	if (resolve(buf + 8, &ss, &sl) < 0) {
		answer(c, "HTTP/1.1 502 Bad Gateway\r\n\r\n");
		return;
	}
	int tfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (tfd < 0) {
		answer(c, "HTTP/1.1 503 Service Unavailable\r\n\r\n");
		return;
	}
	set_nodelay(tfd);
	if (connect(tfd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS) {
		close(tfd);
		answer(c, "HTTP/1.1 502 Bad Gateway\r\n\r\n");
		return;
	}
	c->r.fd[1] = tfd;
	c->r.ev[1] = EPOLLOUT;
	struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = &c->r.end[1]};
	epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
	relay_set(ep, &c->r, 0, 0);
	c->state = S_CONNECTING;
}

static void on_connected(struct conn *c)
{
	int err = 0;
	socklen_t len = sizeof(err);
	if (getsockopt(c->r.fd[1], SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0) {
		answer(c, "HTTP/1.1 502 Bad Gateway\r\n\r\n");
		return;
	}
	if (delay_s <= 0) {
		established(c);
		return;
	}
	relay_set(ep, &c->r, 1, 0);
	c->state = S_DELAY;
	c->due = now_s() + delay_s;
	c->next = NULL;
	if (dq_tail)
		dq_tail->next = c;
	else
		dq_head = c;
	dq_tail = c;
}

int main(int argc, char **argv)
{
	const char *spec = "127.0.0.1:0";
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-l") == 0 && i + 1 < argc)
			spec = argv[++i];
		else if (strcmp(argv[i], "--delay-ms") == 0 && i + 1 < argc)
			delay_s = atof(argv[++i]) / 1000.0;
		else if (strcmp(argv[i], "--handshake-ms") == 0 && i + 1 < argc)
			handshake_s = atof(argv[++i]) / 1000.0;
		else if (strcmp(argv[i], "--pipe-size") == 0 && i + 1 < argc)
			relay_pipe_size = atoi(argv[++i]);
		else {
			fprintf(stderr, "usage: upstream [-l ADDR:PORT] [--delay-ms N] [--handshake-ms N] [--pipe-size BYTES]\n");
			return 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	/* SIGUSR1 is let in only during epoll_pwait, so the report cannot wait for an event */
	struct sigaction sa = {.sa_handler = on_usr1};
	sigaction(SIGUSR1, &sa, NULL);
	sigset_t usr1, waitmask;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, &waitmask);
	sigdelset(&waitmask, SIGUSR1);
	int lfd = listen_on(spec, 1);
	ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event le = {.events = EPOLLIN, .data.ptr = NULL};
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &le);

	struct epoll_event evs[256];
	for (;;) {
		int timeout = -1;
		if (dq_head) {
			double ms = (dq_head->due - now_s()) * 1000.0;
			timeout = ms <= 0 ? 0 : (int)ms + 1;
		}
		if (hq_head) {
			double ms = (hq_head->due - now_s()) * 1000.0;
			int t = ms <= 0 ? 0 : (int)ms + 1;
			if (timeout < 0 || t < timeout)
				timeout = t;
		}
		int n = epoll_pwait(ep, evs, 256, timeout, &waitmask);
		if (report_asked) {
			report_asked = 0;
			printf("accepted %lu\n", accepted);
			fflush(stdout);
		}
		for (int i = 0; i < n; i++) {
			struct relay_end *end = evs[i].data.ptr;
			if (end == NULL) {
				for (int k = 0; k < 64; k++) {
					int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
					if (fd < 0)
						break;
					accepted++;
					set_nodelay(fd);
					struct conn *c = calloc(1, sizeof(*c));
					relay_init(&c->r, fd, -1);
					c->r.ev[0] = HDR_EVENTS;
					if (handshake_s > 0) {
						c->due = now_s() + handshake_s;
						c->next = NULL;
						if (hq_tail)
							hq_tail->next = c;
						else
							hq_head = c;
						hq_tail = c;
						continue;
					}
					struct epoll_event e = {.events = HDR_EVENTS, .data.ptr = &c->r.end[0]};
					epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
				}
				continue;
			}
			struct conn *c = (struct conn *)end->r;
			if (c->dead)
				continue;
			switch (c->state) {
			case S_HDR:
				on_header(c, evs[i].events);
				break;
			case S_CONNECTING:
				if (end->k == 1)
					on_connected(c);
				else if (evs[i].events & (EPOLLHUP | EPOLLERR))
					kill_conn(c);
				break;
			case S_DELAY:
				break; /* the queue answers it */
			case S_RELAY:
				if (relay_event(&c->r, end->k, evs[i].events))
					kill_conn(c);
				else if (!c->dead)
					relay_watch(ep, &c->r);
				break;
			}
		}
		double now = now_s();
		while (hq_head && hq_head->due <= now) {
			struct conn *c = hq_head;
			hq_head = c->next;
			if (hq_head == NULL)
				hq_tail = NULL;
			struct epoll_event e = {.events = HDR_EVENTS, .data.ptr = &c->r.end[0]};
			epoll_ctl(ep, EPOLL_CTL_ADD, c->r.fd[0], &e);
		}
		while (dq_head && dq_head->due <= now) {
			struct conn *c = dq_head;
			dq_head = c->next;
			if (dq_head == NULL)
				dq_tail = NULL;
			established(c);
		}
		while (graveyard) {
			struct conn *c = graveyard;
			graveyard = c->next;
			free(c);
		}
	}
}
