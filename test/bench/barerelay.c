/* barerelay: the benchmark's limit for a bridge: accepts, connects to one fixed address,
 * and splices bytes both ways (relay.h), with no protocol work at all.  One thread, epoll,
 * like socks2http.  Usage: barerelay -u ADDR:PORT [-l ADDR:PORT] [--pipe-size BYTES]
 *   --pipe-size BYTES  what F_SETPIPE_SZ asks for (1048576; 0: the kernel's default)
 * Prints "pipe_size N" (what a pipe holds: the kernel may refuse the size asked for) and
 * "port N" on stdout once listening. */
#include "relay.h"

#include <signal.h>

struct conn {
	struct relay r; /* first: epoll data points into r.end[] */
	int relaying;
	int dead;
	struct conn *next; /* graveyard */
};

static int ep;
static struct conn *graveyard;

static void kill_conn(struct conn *c)
{
	if (c->dead)
		return;
	relay_close(&c->r);
	c->dead = 1;
	c->next = graveyard;
	graveyard = c;
}

int main(int argc, char **argv)
{
	const char *spec = "127.0.0.1:0", *up = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-l") == 0 && i + 1 < argc)
			spec = argv[++i];
		else if (strcmp(argv[i], "-u") == 0 && i + 1 < argc)
			up = argv[++i];
		else if (strcmp(argv[i], "--pipe-size") == 0 && i + 1 < argc)
			relay_pipe_size = atoi(argv[++i]);
		else
			up = NULL, i = argc;
	}
	struct sockaddr_storage upaddr;
	socklen_t uplen = up ? parse_addr(up, &upaddr) : 0;
	if (uplen == 0) {
		fprintf(stderr, "usage: barerelay -u ADDR:PORT [-l ADDR:PORT] [--pipe-size BYTES]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	struct relay_dir probe = {.p = {-1, -1}}; /* the first pipe, made now to learn its size */
	if (relay_pipe_get(&probe) < 0) {
		perror("pipe2");
		return 1;
	}
	printf("pipe_size %zu\n", relay_pipe_cap);
	relay_pipe_put(&probe);
	int lfd = listen_on(spec, 1);
	ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event le = {.events = EPOLLIN, .data.ptr = NULL};
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &le);

	struct epoll_event evs[256];
	for (;;) {
		int n = epoll_wait(ep, evs, 256, -1);
		for (int i = 0; i < n; i++) {
			struct relay_end *end = evs[i].data.ptr;
			if (end == NULL) {
				for (int k = 0; k < 64; k++) {
					int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
					if (fd < 0)
						break;
					int ufd = socket(upaddr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
					if (ufd < 0 || (connect(ufd, (struct sockaddr *)&upaddr, uplen) < 0 && errno != EINPROGRESS)) {
						if (ufd >= 0)
							close(ufd);
						close(fd);
						continue;
					}
					set_nodelay(fd);
					set_nodelay(ufd);
					struct conn *c = calloc(1, sizeof(*c));
					relay_init(&c->r, fd, ufd);
					c->r.ev[1] = EPOLLOUT; /* the client is read once the connect completes */
					struct epoll_event e0 = {.events = 0, .data.ptr = &c->r.end[0]};
					struct epoll_event e1 = {.events = EPOLLOUT, .data.ptr = &c->r.end[1]};
					epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e0);
					epoll_ctl(ep, EPOLL_CTL_ADD, ufd, &e1);
				}
				continue;
			}
			struct conn *c = (struct conn *)end->r;
			if (c->dead)
				continue;
			if (!c->relaying) {
				int err = 0;
				socklen_t len = sizeof(err);
				if (end->k == 0 || getsockopt(c->r.fd[1], SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err) {
					kill_conn(c); /* the client left, or the upstream refused */
					continue;
				}
				c->relaying = 1;
				relay_watch(ep, &c->r);
				continue;
			}
			if (relay_event(&c->r, end->k, evs[i].events))
				kill_conn(c);
			else
				relay_watch(ep, &c->r);
		}
		while (graveyard) {
			struct conn *c = graveyard;
			graveyard = c->next;
			free(c);
		}
	}
}
