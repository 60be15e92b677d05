/* sink: the target server of the benchmark (one thread, epoll).  Each connection's first
 * byte picks its mode:
 *   'D' + u64 N (little-endian): sends the first N bytes of the stream, then FIN  (download)
 *   'U' + u64 N: reads N bytes, answers u64 count + u64 hash of them              (upload)
 *   'E': echoes everything, the 'E' included, until the client's FIN               (idle)
 *   'I' + u32 DOWN + u32 UP: sends the first DOWN bytes of the stream while it reads UP
 *        bytes (checked against the stream), then echoes like 'E'      (idle after data)
 *   'e': echoes the 'e' and closes: the server ends the tunnel, so the TIME_WAITs stay on
 *        the servers' side of each hop and the clients' ephemeral ports are not used up
 *        (latency and tunnel rate)
 * Usage: sink [-l ADDR:PORT]   (prints "port N" when listening) */
#include "bench.h"

#include <errno.h>
#include <signal.h>
#include <sys/epoll.h>
#include <unistd.h>

#define CHUNK (256u * 1024u)

struct conn {
	int fd;
	int mode; /* 0 until the first byte */
	unsigned char hdr[9];
	size_t hlen;
	uint64_t n, done;
	uint32_t up_n, up_done; /* 'I': bytes to read, read */
	struct h64 h;
	unsigned char out[4096];      /* echo data or the upload answer */
	size_t olen, ooff;
	int fin_sent;
	uint32_t events;
};

static int ep;
static unsigned char *pat;
static unsigned char scratch[CHUNK];

static void watch(struct conn *c, uint32_t ev)
{
	if (ev == c->events)
		return;
	struct epoll_event e = {.events = ev, .data.ptr = c};
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
	c->events = ev;
}

static void drop(struct conn *c)
{
	close(c->fd);
	free(c);
}

/* 'I': once both parts are through, the connection echoes like 'E'. */
static void idle_after_data(struct conn *c)
{
	if (c->mode == 'I' && c->done == c->n && c->up_done == c->up_n) {
		c->mode = 'E';
		c->olen = c->ooff = 0;
	}
}

/* Returns -1 when the connection is to be closed. */
static int on_read(struct conn *c)
{
	for (;;) {
		int hdr9 = c->mode == 'D' || c->mode == 'U' || c->mode == 'I';
		if (c->mode == 0 || (hdr9 && c->hlen < 9)) {
			size_t want = c->mode == 0 ? 1 : 9 - c->hlen;
			ssize_t r = recv(c->fd, c->hdr + c->hlen, want, 0);
			if (r <= 0)
				return (r < 0 && errno == EAGAIN) ? 0 : -1;
			c->hlen += (size_t)r;
			if (c->mode == 0) {
				c->mode = c->hdr[0];
				if (c->mode == 'E' || c->mode == 'e') {
					c->out[0] = (unsigned char)c->mode;
					c->olen = 1;
					c->ooff = 0;
				} else if (c->mode != 'D' && c->mode != 'U' && c->mode != 'I') {
					return -1;
				}
			}
			if ((c->mode == 'D' || c->mode == 'U') && c->hlen == 9) {
				memcpy(&c->n, c->hdr + 1, 8);
				h64_init(&c->h);
			}
			if (c->mode == 'I' && c->hlen == 9) {
				uint32_t down;
				memcpy(&down, c->hdr + 1, 4);
				memcpy(&c->up_n, c->hdr + 5, 4);
				c->n = down;
				idle_after_data(c);
			}
			continue;
		}
		if (c->mode == 'I') { /* the upload part; then wait for the download part to go out */
			if (c->up_done == c->up_n)
				return 0;
			size_t want = c->up_n - c->up_done < CHUNK ? c->up_n - c->up_done : CHUNK;
			ssize_t r = recv(c->fd, scratch, want, 0);
			if (r <= 0)
				return (r < 0 && errno == EAGAIN) ? 0 : -1;
			size_t len = (size_t)r;
			if (memcmp(scratch, pattern_at(pat, c->up_done, &len), (size_t)r) != 0) {
				fprintf(stderr, "sink: 'I' upload: wrong bytes\n");
				return -1;
			}
			c->up_done += (uint32_t)r;
			idle_after_data(c);
			continue;
		}
		if (c->mode == 'E' || c->mode == 'e') {
			if (c->olen > c->ooff || c->mode == 'e')
				return 0; /* flush the echo first */
			ssize_t r = recv(c->fd, c->out, sizeof(c->out), 0);
			if (r <= 0)
				return (r < 0 && errno == EAGAIN) ? 0 : -1;
			c->olen = (size_t)r;
			c->ooff = 0;
			return 0;
		}
		if (c->mode == 'U' && c->done < c->n) {
			size_t want = c->n - c->done < CHUNK ? (size_t)(c->n - c->done) : CHUNK;
			ssize_t r = recv(c->fd, scratch, want, 0);
			if (r <= 0)
				return (r < 0 && errno == EAGAIN) ? 0 : -1;
			h64_update(&c->h, scratch, (size_t)r);
			c->done += (uint64_t)r;
			if (c->done == c->n) {
				uint64_t ans[2] = {c->done, h64_final(&c->h)};
				memcpy(c->out, ans, 16);
				c->olen = 16;
				c->ooff = 0;
			}
			continue;
		}
		/* after the transfer: wait for the client's FIN (extra bytes are an error) */
		ssize_t r = recv(c->fd, scratch, 1, 0);
		if (r < 0 && errno == EAGAIN)
			return 0;
		if (r > 0)
			fprintf(stderr, "sink: client sent bytes after its transfer\n");
		return -1;
	}
}

static int on_write(struct conn *c)
{
	if (c->olen > c->ooff) {
		ssize_t w = send(c->fd, c->out + c->ooff, c->olen - c->ooff, MSG_NOSIGNAL);
		if (w < 0)
			return errno == EAGAIN ? 0 : -1;
		c->ooff += (size_t)w;
		return (c->mode == 'e' && c->ooff == c->olen) ? -1 : 0; /* 'e': done, close */
	}
	if ((c->mode == 'D' || c->mode == 'I') && c->hlen == 9) {
		while (c->done < c->n) {
			size_t len = c->n - c->done < CHUNK ? (size_t)(c->n - c->done) : CHUNK;
			const unsigned char *p = pattern_at(pat, c->done, &len);
			ssize_t w = send(c->fd, p, len, MSG_NOSIGNAL);
			if (w < 0)
				return errno == EAGAIN ? 0 : -1;
			c->done += (uint64_t)w;
		}
		if (c->mode == 'I') {
			idle_after_data(c);
			return 0;
		}
		if (!c->fin_sent) {
			shutdown(c->fd, SHUT_WR);
			c->fin_sent = 1;
		}
	}
	return 0;
}

static void update(struct conn *c)
{
	uint32_t ev = 0;
	int sending = c->olen > c->ooff || (c->mode == 'D' && c->hlen == 9 && !c->fin_sent) ||
		      (c->mode == 'I' && c->hlen == 9 && c->done < c->n);
	if (sending)
		ev |= EPOLLOUT;
	if (!((c->mode == 'E' || c->mode == 'e') && c->olen > c->ooff))
		ev |= EPOLLIN;
	watch(c, ev);
}

int main(int argc, char **argv)
{
	const char *spec = "127.0.0.1:0";
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-l") == 0 && i + 1 < argc)
			spec = argv[++i];
		else {
			fprintf(stderr, "usage: sink [-l ADDR:PORT]\n");
			return 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	pat = pattern_new();
	int lfd = listen_on(spec, 1);
	ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event le = {.events = EPOLLIN, .data.ptr = NULL};
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &le);

	struct epoll_event evs[256];
	for (;;) {
		int n = epoll_wait(ep, evs, 256, -1);
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			if (c == NULL) {
				for (int k = 0; k < 64; k++) {
					int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
					if (fd < 0)
						break;
					set_nodelay(fd);
					c = calloc(1, sizeof(*c));
					c->fd = fd;
					c->events = EPOLLIN;
					struct epoll_event e = {.events = EPOLLIN, .data.ptr = c};
					epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
				}
				continue;
			}
			uint32_t re = evs[i].events;
			int rc = 0;
			if (re & (EPOLLIN | EPOLLHUP | EPOLLERR))
				rc = on_read(c);
			if (rc == 0 && (re & (EPOLLOUT | EPOLLIN)))
				rc = on_write(c);
			if (rc < 0) {
				drop(c);
				continue;
			}
			update(c);
		}
	}
}
