/* tlsproxy: the benchmark's TLS proxy: a CONNECT proxy that speaks TLS to its clients
 * (what socks2http -x https://... talks to), and plain TCP to the target.  One thread,
 * epoll, non-blocking OpenSSL; a strong yardstick for the TLS rows: OpenSSL's read-ahead
 * with a 64 KiB buffer (few read calls per record), 256 KiB relay buffers each way,
 * partial writes.  It counts its handshakes: full, and resumed (SSL_session_reused),
 * exactly, which stunnel's per-connection log would only let us guess at.
 *
 * Usage: tlsproxy --cert FILE --key FILE [-l ADDR:PORT] [--no-resume] [--tickets N]
 *   --no-resume  refuses resumption: no TLS 1.3 tickets, no session cache, no TLS 1.2
 *                tickets (every handshake is a full one, whatever the client keeps)
 *   --tickets N  TLS 1.3 tickets sent after each handshake (OpenSSL's default: 2)
 * TLS 1.2 and 1.3, OpenSSL's default groups and ciphers (TLS 1.3 server preference:
 * AES-256-GCM first), stateless tickets.
 * Prints "port N" once listening; on SIGUSR1 (a signalfd, handled before the other events
 * of the epoll batch it comes in, so the count is taken within one batch even when the
 * proxy is saturated) one line "tls accepted=N full=F resumed=R
 * failed=X" (handshakes so far); on the first handshake "proto VERSION CIPHER GROUP".
 * Each tunnel: the handshake, the CONNECT header (read through TLS), a non-blocking
 * connect to the target, "HTTP/1.1 200 Connection established", then the relay; a FIN
 * from the target becomes close_notify (and the TCP FIN) to the client, the client's
 * close_notify or FIN a FIN to the target. */
#include "bench.h"

#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define BUFSZ (256u * 1024u)
#define HDRMAX 4096

enum { S_HS, S_HDR, S_CONNECTING, S_RELAY };

struct end {
	struct conn *c;
	int k;
};

struct conn {
	int fd[2]; /* 0: the TLS client, 1: the target */
	SSL *ssl;
	int state;
	int dead;
	struct end end[2];
	uint32_t ev[2];
	/* b[0]: plaintext from the client to the target; b[1]: from the target to the client */
	unsigned char *b[2];
	size_t len[2], off[2];
	int eof[2], shut[2];
	uint32_t rd_want, wr_want, sd_want; /* what SSL_read, SSL_write, SSL_shutdown last waited for */
	size_t hlen;                        /* S_HDR: header bytes in b[0] */
	struct conn *next;
};

static int ep;
static SSL_CTX *ctx;
static unsigned long accepted, n_full, n_resumed, n_failed;
static struct conn *graveyard;
static int proto_said;

static const char OK200[] = "HTTP/1.1 200 Connection established\r\n\r\n";

static void kill_conn(struct conn *c)
{
	if (c->dead)
		return;
	c->dead = 1;
	if (c->ssl)
		SSL_free(c->ssl);
	for (int k = 0; k < 2; k++) {
		if (c->fd[k] >= 0)
			close(c->fd[k]);
		free(c->b[k]);
	}
	c->next = graveyard;
	graveyard = c;
}

static void watch(struct conn *c, int k, uint32_t ev)
{
	if (c->fd[k] < 0 || c->ev[k] == ev)
		return;
	struct epoll_event e = {.events = ev, .data.ptr = &c->end[k]};
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd[k], &e);
	c->ev[k] = ev;
}

/* SSL call result r: 1 done, 0 wait (*want set), -1 end of stream (clean or not), -2 error */
static int ssl_status(struct conn *c, int r, uint32_t *want)
{
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		*want = EPOLLIN;
		return 0;
	case SSL_ERROR_WANT_WRITE:
		*want = EPOLLOUT;
		return 0;
	case SSL_ERROR_ZERO_RETURN:
		return -1;
	case SSL_ERROR_SYSCALL:
		return errno == 0 ? -1 : -2;
	default:
		return -2;
	}
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

/* an error answer through TLS, best effort, then the end */
static void answer(struct conn *c, const char *text)
{
	size_t n;
	(void)SSL_write_ex(c->ssl, text, strlen(text), &n);
	kill_conn(c);
}

/* Moves target -> client (k = 1) or client -> target (k = 0) until both sides wait.
 * Returns -1 when the tunnel must be closed. */
static int pump(struct conn *c, int k)
{
	unsigned char *b = c->b[k];
	for (;;) {
		int progress = 0;
		/* fill */
		while (!c->eof[k] && c->len[k] < BUFSZ) {
			if (k == 0) {
				size_t n;
				ERR_clear_error();
				int r = SSL_read_ex(c->ssl, b + c->len[0], BUFSZ - c->len[0], &n);
				if (r == 1) {
					c->len[0] += n, progress = 1;
					continue;
				}
				int s = ssl_status(c, r, &c->rd_want);
				if (s == 0)
					break;
				if (s == -2)
					return -1;
				c->eof[0] = 1, progress = 1;
			} else {
				ssize_t n = recv(c->fd[1], b + c->len[1], BUFSZ - c->len[1], 0);
				if (n > 0) {
					c->len[1] += (size_t)n, progress = 1;
					continue;
				}
				if (n < 0 && errno == EINTR)
					continue;
				if (n < 0 && errno == EAGAIN)
					break;
				if (n < 0)
					return -1;
				c->eof[1] = 1, progress = 1;
			}
		}
		/* drain */
		while (c->off[k] < c->len[k]) {
			if (k == 0) {
				ssize_t w = send(c->fd[1], b + c->off[0], c->len[0] - c->off[0], MSG_NOSIGNAL);
				if (w < 0 && errno == EINTR)
					continue;
				if (w < 0 && errno == EAGAIN)
					break;
				if (w < 0)
					return -1;
				c->off[0] += (size_t)w, progress = 1;
			} else {
				size_t n;
				ERR_clear_error();
				int r = SSL_write_ex(c->ssl, b + c->off[1], c->len[1] - c->off[1], &n);
				if (r == 1) {
					c->off[1] += n, progress = 1;
					continue;
				}
				if (ssl_status(c, r, &c->wr_want) != 0)
					return -1;
				break;
			}
		}
		if (c->off[k] == c->len[k])
			c->off[k] = c->len[k] = 0;
		if (c->eof[k] && c->len[k] == 0 && !c->shut[k]) {
			if (k == 0) {
				shutdown(c->fd[1], SHUT_WR);
				c->shut[0] = 1;
			} else {
				ERR_clear_error();
				int r = SSL_shutdown(c->ssl); /* close_notify; then the TCP FIN */
				if (r >= 0) {
					shutdown(c->fd[0], SHUT_WR);
					c->shut[1] = 1;
				} else if (ssl_status(c, r, &c->sd_want) != 0) {
					return -1;
				}
			}
		}
		if (!progress || c->shut[k])
			return 0;
	}
}

static void relay_watch(struct conn *c)
{
	uint32_t e0 = 0, e1 = 0;
	if (!c->eof[0] && c->len[0] < BUFSZ)
		e0 |= c->rd_want;
	if (c->len[1] > c->off[1])
		e0 |= c->wr_want;
	if (c->eof[1] && c->len[1] == 0 && !c->shut[1])
		e0 |= c->sd_want;
	if (c->len[0] > c->off[0])
		e1 |= EPOLLOUT;
	if (!c->eof[1] && c->len[1] < BUFSZ)
		e1 |= EPOLLIN;
	watch(c, 0, e0);
	watch(c, 1, e1);
}

static void relay(struct conn *c)
{
	if (pump(c, 0) < 0 || pump(c, 1) < 0) {
		kill_conn(c);
		return;
	}
	if (c->shut[0] && c->shut[1]) {
		kill_conn(c);
		return;
	}
	relay_watch(c);
}

static void on_header(struct conn *c)
{
	unsigned char *b = c->b[0];
	for (;;) {
		size_t n;
		ERR_clear_error();
		int r = SSL_read_ex(c->ssl, b + c->hlen, HDRMAX - 1 - c->hlen, &n);
		if (r != 1) {
			int s = ssl_status(c, r, &c->rd_want);
			if (s == 0) {
				watch(c, 0, c->rd_want);
				return;
			}
			kill_conn(c);
			return;
		}
		c->hlen += n;
		b[c->hlen] = '\0';
		if (memmem(b, c->hlen, "\r\n\r\n", 4) != NULL)
			break;
		if (c->hlen >= HDRMAX - 1) {
			answer(c, "HTTP/1.1 431 Request Header Fields Too Large\r\n\r\n");
			return;
		}
	}
	char *e = memmem(b, c->hlen, "\r\n\r\n", 4);
	size_t hl = (size_t)(e + 4 - (char *)b);
	char req[HDRMAX];
	memcpy(req, b, hl);
	req[hl] = '\0';
	/* bytes after the header are the tunnel's first */
	memmove(b, b + hl, c->hlen - hl);
	c->len[0] = c->hlen - hl;
	char *sp = strchr(req + 8, ' ');
	if (strncmp(req, "CONNECT ", 8) != 0 || sp == NULL) {
		answer(c, "HTTP/1.1 405 Method Not Allowed\r\n\r\n");
		return;
	}
	*sp = '\0';
	struct sockaddr_storage ss;
	socklen_t sl;
	if (resolve(req + 8, &ss, &sl) < 0) {
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
	c->fd[1] = tfd;
	c->ev[1] = EPOLLOUT;
	struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = &c->end[1]};
	epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
	watch(c, 0, 0);
	c->state = S_CONNECTING;
}

static void on_connected(struct conn *c)
{
	int err = 0;
	socklen_t len = sizeof(err);
	if (getsockopt(c->fd[1], SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0) {
		answer(c, "HTTP/1.1 502 Bad Gateway\r\n\r\n");
		return;
	}
	c->b[1] = malloc(BUFSZ);
	memcpy(c->b[1], OK200, sizeof(OK200) - 1); /* the relay writes it first */
	c->len[1] = sizeof(OK200) - 1;
	c->state = S_RELAY;
	relay(c);
}

static void on_handshake(struct conn *c)
{
	ERR_clear_error();
	int r = SSL_accept(c->ssl);
	if (r != 1) {
		uint32_t want;
		if (ssl_status(c, r, &want) == 0) {
			watch(c, 0, want);
			return;
		}
		n_failed++;
		kill_conn(c);
		return;
	}
	if (SSL_session_reused(c->ssl))
		n_resumed++;
	else
		n_full++;
	if (!proto_said) {
		proto_said = 1;
		char group[64] = "?";
		int nid = SSL_get_shared_group(c->ssl, 0);
		if (nid > 0)
			snprintf(group, sizeof(group), "%s", OBJ_nid2sn(nid));
		printf("proto %s %s %s\n", SSL_get_version(c->ssl), SSL_get_cipher_name(c->ssl), group);
		fflush(stdout);
	}
	c->state = S_HDR;
	c->b[0] = malloc(BUFSZ > HDRMAX ? BUFSZ : HDRMAX);
	on_header(c);
}

int main(int argc, char **argv)
{
	const char *spec = "127.0.0.1:0", *cert = NULL, *key = NULL;
	int no_resume = 0, tickets = -1;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-l") == 0 && i + 1 < argc)
			spec = argv[++i];
		else if (strcmp(argv[i], "--cert") == 0 && i + 1 < argc)
			cert = argv[++i];
		else if (strcmp(argv[i], "--key") == 0 && i + 1 < argc)
			key = argv[++i];
		else if (strcmp(argv[i], "--no-resume") == 0)
			no_resume = 1;
		else if (strcmp(argv[i], "--tickets") == 0 && i + 1 < argc)
			tickets = atoi(argv[++i]);
		else
			cert = NULL, i = argc;
	}
	if (cert == NULL || key == NULL) {
		fprintf(stderr, "usage: tlsproxy --cert FILE --key FILE [-l ADDR:PORT] [--no-resume] [--tickets N]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL || SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
		ERR_print_errors_fp(stderr);
		return 1;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_read_ahead(ctx, 1);
	SSL_CTX_set_default_read_buffer_len(ctx, 65536);
	if (no_resume) {
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
		SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
		SSL_CTX_set_num_tickets(ctx, 0);
	} else if (tickets >= 0) {
		SSL_CTX_set_num_tickets(ctx, (size_t)tickets);
	}
	sigset_t usr1;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, NULL);
	int sfd = signalfd(-1, &usr1, SFD_NONBLOCK | SFD_CLOEXEC);
	int lfd = listen_on(spec, 1);
	ep = epoll_create1(EPOLL_CLOEXEC);
	static struct end sig_end; /* the signalfd's tag */
	struct epoll_event le = {.events = EPOLLIN, .data.ptr = NULL}, se = {.events = EPOLLIN, .data.ptr = &sig_end};
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &le);
	epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &se);

	struct epoll_event evs[256];
	for (;;) {
		int n = epoll_wait(ep, evs, 256, -1);
		for (int i = 0; i < n; i++) {
			struct signalfd_siginfo si;
			if (evs[i].data.ptr != &sig_end)
				continue;
			while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				printf("tls accepted=%lu full=%lu resumed=%lu failed=%lu\n", accepted, n_full, n_resumed, n_failed);
				fflush(stdout);
			}
		}
		for (int i = 0; i < n; i++) {
			struct end *end = evs[i].data.ptr;
			if (end == &sig_end)
				continue;
			if (end == NULL) {
				for (int k = 0; k < 64; k++) {
					int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
					if (fd < 0)
						break;
					accepted++;
					set_nodelay(fd);
					struct conn *c = calloc(1, sizeof(*c));
					c->fd[0] = fd;
					c->fd[1] = -1;
					c->rd_want = c->sd_want = EPOLLIN;
					c->wr_want = EPOLLOUT;
					for (int j = 0; j < 2; j++)
						c->end[j] = (struct end){c, j};
					c->ssl = SSL_new(ctx);
					SSL_set_fd(c->ssl, fd);
					c->ev[0] = EPOLLIN;
					struct epoll_event e = {.events = EPOLLIN, .data.ptr = &c->end[0]};
					epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
					on_handshake(c);
				}
				continue;
			}
			struct conn *c = end->c;
			if (c->dead)
				continue;
			switch (c->state) {
			case S_HS:
				on_handshake(c);
				break;
			case S_HDR:
				on_header(c);
				break;
			case S_CONNECTING:
				if (end->k == 1)
					on_connected(c);
				else if (evs[i].events & (EPOLLHUP | EPOLLERR))
					kill_conn(c);
				break;
			case S_RELAY:
				if (evs[i].events & EPOLLERR)
					kill_conn(c);
				else
					relay(c);
				break;
			}
		}
		while (graveyard) {
			struct conn *c = graveyard;
			graveyard = c->next;
			free(c);
		}
	}
}
