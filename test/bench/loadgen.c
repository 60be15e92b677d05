/* loadgen: the benchmark's client.  A ROUTE is MODE@ADDR:PORT, MODE one of
 *   connect   HTTP CONNECT to ADDR (the upstream itself = "direct", or the bare relay)
 *   socks5    SOCKS5, IPv4 address type        socks5h  SOCKS5, the target as a name
 *   socks4    SOCKS4                           socks4a  SOCKS4a, the target as a name
 *   raw       no proxy: straight to TARGET (ADDR is ignored): the loopback's own limit
 *   relay     no handshake, to ADDR: a protocol-free relay in front of TARGET
 *   tls       HTTP CONNECT over TLS to ADDR (a TLS proxy; OpenSSL, the same CONNECT bytes):
 *             the certificate checked against --tls-ca FILE and ADDR's IP address; TLS
 *             sessions resumed from a pool of the newest --tls-sessions N (64; 0: no
 *             resumption), each TLS 1.3 ticket used once, as OpenSSL 3.0 allows; read-ahead
 *             with a 64 KiB buffer.  Only in a loadgen built with -DBENCH_TLS -lssl -lcrypto.
 * and TARGET is the sink's ADDR:PORT (see sink.c for its protocol).
 *
 *   loadgen bulk ROUTE TARGET down|up BYTES [--pid PID]
 *   loadgen lat TARGET SAMPLES NAME=ROUTE...     (samples interleaved across the routes)
 *       each sample: connect() to the first echoed byte; then the server's FIN (untimed)
 *   loadgen rate ROUTE TARGET CLIENTS SECONDS [--pid PID]
 *       each tunnel: handshake, one byte echoed, the server's FIN; then the next one
 *   loadgen idle ROUTE TARGET COUNT --pid PID [--data DOWN UP] [--hold]
 *       COUNT tunnels opened (each echoes a byte), held; RSS before and after (and PSS
 *       from smaps_rollup, which does not count a forked child's shared pages again), the
 *       bridge's open fds (/proc/PID/fd) before and after, and the
 *       machine's kernel slab growth (every hop's sockets, and the bridge's pipes, if it
 *       keeps any: memory that RSS does not show; other activity on the machine adds noise)
 *       --data DOWN UP: each tunnel carries DOWN bytes from the sink and UP bytes to it
 *       (checked) instead of the echo byte, then goes idle
 *       --hold: once measured, prints "held ..." and keeps the tunnels open until SIGTERM,
 *       then checks them and prints the result line
 *   loadgen junk ROUTE COUNT CLIENTS close|garbage --pid PID [--abandon SECS]
 *       COUNT clients (CLIENTS at a time) that fail their handshake: "close" closes right
 *       after connecting, "garbage" sends a TLS ClientHello instead and waits for the close
 *       (with --abandon, at most SECS: then it closes itself); the bridge's CPU per attempt
 *   loadgen freeport                  (a free loopback port)
 *   loadgen cpu PID                   (CPU seconds of PID and its descendants, waited-for included)
 * Each prints one "key=value ..." line per result on stdout and exits 1 on any failure:
 * every bulk transfer's length and stream hash are checked, every tunnel's echo byte too.
 * TLS routes add tls_full= and tls_resumed= (the client's own handshakes in the measured
 * part) to bulk and rate lines.  bulk and rate take --pid2 PID (a second process's CPU, e.g.
 * the TLS proxy's: cpu2=, cpu2_per_gib= or cpu2_us_per_tunnel=); rate takes --usr1 PID (sent
 * SIGUSR1 when counting starts and when it ends: the TLS proxy prints its handshake counters)
 * and --warmup SECS (0.25: the time before counting starts).
 * --pid PID: the bridge whose CPU time (the process CPU clock, clock_getcpuclockid: exact, where
 * utime+stime from /proc/PID/stat come in 10 ms ticks; cutime+cstime for children that ended)
 * or memory (VmRSS from /proc/PID/status) is measured, summed over PID and its descendants. */
#include "bench.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

#ifdef BENCH_TLS
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#endif

#define CHUNK (256u * 1024u)
#define IO_TIMEOUT_S 20

enum { M_CONNECT, M_SOCKS5, M_SOCKS5H, M_SOCKS4, M_SOCKS4A, M_RAW, M_RELAY, M_TLS };
enum {
	OP_SEND,
	OP_RECV_HTTP,
	OP_RECV_S5METHOD,
	OP_RECV_S5REPLY,
	OP_RECV_S4,
	OP_RECV_ECHO,
	OP_RECV_EOF,
	OP_SEND_PAT, /* len bytes of the stream */
	OP_RECV_PAT, /* len bytes, checked against the stream */
	OP_TLS_HS    /* the TLS handshake (route tls) */
};

struct op {
	int kind;
	const unsigned char *data;
	size_t len;
};

struct route {
	const char *name;
	int mode;
	struct sockaddr_storage addr;
	socklen_t alen;
	struct op ops[8];
	int nhs;  /* handshake ops */
	int nops; /* handshake + echo (+ the server's FIN for a closing route), or + data */
	unsigned char req1[320], req2[320];
	unsigned char dhdr[9]; /* the sink's 'I' header (route_data) */
	char host[INET6_ADDRSTRLEN]; /* ADDR, for the certificate check (route tls) */
};

struct cl {
	int fd;
	int op;
	size_t off;
	unsigned char in[512];
	size_t ilen;
	int blocking;
	int connecting;
	uint32_t want, watched;
	const struct route *rt;
	void *ssl;        /* SSL *, route tls */
	uint32_t tlswant; /* what the last SSL call that could not go on waits for */
};

static const char *errmsg = "";
static char errbuf[256];
static unsigned char *pat;
static const unsigned char GREET5[] = {5, 1, 0};
static const unsigned char ECHO_KEEP[] = {'E'}, ECHO_CLOSE[] = {'e'};

static void die(const char *what, const char *detail)
{
	fprintf(stderr, "loadgen: %s: %s\n", what, detail);
	exit(1);
}

/* closing: the tunnel's echo is 'e' (the sink answers and closes, and the client waits for
 * that FIN), else 'E' (the tunnel stays open). */
static void parse_route(struct route *rt, const char *spec, const char *target, int closing)
{
	static const char *names[] = {"connect", "socks5", "socks5h", "socks4", "socks4a", "raw", "relay", "tls"};
	const char *at = strchr(spec, '@');
	rt->mode = -1;
	for (int m = 0; at && m < 8; m++)
		if ((size_t)(at - spec) == strlen(names[m]) && strncmp(spec, names[m], strlen(names[m])) == 0)
			rt->mode = m;
	if (rt->mode < 0 || (rt->alen = parse_addr(at + 1, &rt->addr)) == 0)
		die("bad route (MODE@ADDR:PORT)", spec);
	if (rt->addr.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&rt->addr)->sin6_addr, rt->host, sizeof(rt->host));
	else
		inet_ntop(AF_INET, &((struct sockaddr_in *)&rt->addr)->sin_addr, rt->host, sizeof(rt->host));
#ifndef BENCH_TLS
	if (rt->mode == M_TLS)
		die("route tls: this loadgen was built without OpenSSL (-DBENCH_TLS -lssl -lcrypto)", spec);
#endif

	struct sockaddr_storage t;
	if (parse_addr(target, &t) == 0 || t.ss_family != AF_INET)
		die("bad target (IPv4 ADDR:PORT)", target);
	const struct sockaddr_in *t4 = (const struct sockaddr_in *)&t;
	char host[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &t4->sin_addr, host, sizeof(host));
	unsigned port = ntohs(t4->sin_port);
	unsigned char *q = rt->req2;
	int n = 0;

	switch (rt->mode) {
	case M_RAW: /* straight to the target, no proxy: the loopback's own limit */
		rt->addr = t;
		rt->alen = sizeof(struct sockaddr_in);
		rt->nhs = 0;
		break;
	case M_RELAY: /* a relay in front of the target: no handshake, the bytes go through */
		rt->nhs = 0;
		break;
	case M_CONNECT:
	case M_TLS: { /* the same CONNECT bytes, through TLS for a TLS proxy */
		int k = 0;
		if (rt->mode == M_TLS)
			rt->ops[k++] = (struct op){OP_TLS_HS, NULL, 0};
		n = snprintf((char *)rt->req1, sizeof(rt->req1), "CONNECT %s:%u HTTP/1.1\r\nHost: %s:%u\r\n\r\n", host, port,
			     host, port);
		rt->ops[k++] = (struct op){OP_SEND, rt->req1, (size_t)n};
		rt->ops[k++] = (struct op){OP_RECV_HTTP, NULL, 0};
		rt->nhs = k;
		break;
	}
	case M_SOCKS5:
	case M_SOCKS5H:
		*q++ = 5, *q++ = 1, *q++ = 0;
		if (rt->mode == M_SOCKS5) {
			*q++ = 1;
			memcpy(q, &t4->sin_addr, 4);
			q += 4;
		} else {
			*q++ = 3;
			*q++ = (unsigned char)strlen(host);
			memcpy(q, host, strlen(host));
			q += strlen(host);
		}
		memcpy(q, &t4->sin_port, 2);
		q += 2;
		rt->ops[0] = (struct op){OP_SEND, GREET5, sizeof(GREET5)};
		rt->ops[1] = (struct op){OP_RECV_S5METHOD, NULL, 0};
		rt->ops[2] = (struct op){OP_SEND, rt->req2, (size_t)(q - rt->req2)};
		rt->ops[3] = (struct op){OP_RECV_S5REPLY, NULL, 0};
		rt->nhs = 4;
		break;
	case M_SOCKS4:
	case M_SOCKS4A:
		*q++ = 4, *q++ = 1;
		memcpy(q, &t4->sin_port, 2);
		q += 2;
		if (rt->mode == M_SOCKS4) {
			memcpy(q, &t4->sin_addr, 4);
			q += 4;
			*q++ = 0; /* empty user id */
		} else {
			*q++ = 0, *q++ = 0, *q++ = 0, *q++ = 1;
			*q++ = 0;
			memcpy(q, host, strlen(host) + 1);
			q += strlen(host) + 1;
		}
		rt->ops[0] = (struct op){OP_SEND, rt->req2, (size_t)(q - rt->req2)};
		rt->ops[1] = (struct op){OP_RECV_S4, NULL, 0};
		rt->nhs = 2;
		break;
	}
	const unsigned char *echo = closing ? ECHO_CLOSE : ECHO_KEEP;
	rt->ops[rt->nhs] = (struct op){OP_SEND, echo, 1};
	rt->ops[rt->nhs + 1] = (struct op){OP_RECV_ECHO, echo, 1};
	rt->ops[rt->nhs + 2] = (struct op){OP_RECV_EOF, NULL, 0};
	rt->nops = rt->nhs + (closing ? 3 : 2);
}

/* After the handshake: DOWN bytes from the sink and UP bytes to it, both checked (sink's 'I'
 * mode), instead of the echo byte; the tunnel then echoes, so it can be checked later. */
static void route_data(struct route *rt, uint32_t down, uint32_t up)
{
	rt->dhdr[0] = 'I';
	memcpy(rt->dhdr + 1, &down, 4);
	memcpy(rt->dhdr + 5, &up, 4);
	int k = rt->nhs;
	rt->ops[k++] = (struct op){OP_SEND, rt->dhdr, 9};
	if (up > 0)
		rt->ops[k++] = (struct op){OP_SEND_PAT, NULL, up};
	if (down > 0)
		rt->ops[k++] = (struct op){OP_RECV_PAT, NULL, down};
	rt->nops = k;
}

static int fail(const char *what, int err)
{
	snprintf(errbuf, sizeof(errbuf), "%s%s%s", what, err ? ": " : "", err ? strerror(err) : "");
	errmsg = errbuf;
	return -1;
}

/* Bytes op o still needs in c->in, or 0 when it is complete. */
static size_t need(const struct cl *c, int kind)
{
	switch (kind) {
	case OP_RECV_HTTP:
		return (c->ilen >= 4 && memmem(c->in, c->ilen, "\r\n\r\n", 4)) ? 0 : sizeof(c->in) - 1 - c->ilen;
	case OP_RECV_S5METHOD:
		return 2 - c->ilen;
	case OP_RECV_S4:
		return 8 - c->ilen;
	case OP_RECV_ECHO:
	case OP_RECV_EOF: /* one byte asked, none expected */
		return 1 - c->ilen;
	case OP_RECV_S5REPLY: {
		if (c->ilen < 5)
			return 5 - c->ilen;
		size_t total = c->in[3] == 1 ? 10 : c->in[3] == 4 ? 22 : (size_t)7 + c->in[4];
		return total - c->ilen;
	}
	}
	return 0;
}

static int check(const struct cl *c, const struct op *o)
{
	const unsigned char *p = c->in;
	switch (o->kind) {
	case OP_RECV_HTTP: {
		const unsigned char *e = memmem(p, c->ilen, "\r\n\r\n", 4);
		if (c->ilen < 12 || memcmp(p, "HTTP/1.", 7) != 0 || memcmp(p + 9, "200", 3) != 0)
			return fail("proxy did not answer 200", 0);
		if ((size_t)(e + 4 - p) != c->ilen)
			return fail("bytes after the proxy's answer", 0);
		return 0;
	}
	case OP_RECV_S5METHOD:
		return (p[0] == 5 && p[1] == 0) ? 0 : fail("SOCKS5 method refused", 0);
	case OP_RECV_S5REPLY:
		return (p[0] == 5 && p[1] == 0) ? 0 : fail("SOCKS5 request refused", 0);
	case OP_RECV_S4:
		return (p[0] == 0 && p[1] == 90) ? 0 : fail("SOCKS4 request refused", 0);
	case OP_RECV_ECHO:
		return p[0] == o->data[0] ? 0 : fail("wrong echo byte", 0);
	case OP_RECV_EOF:
		return fail("bytes after the echo", 0);
	}
	return 0;
}

/* ---- the client's I/O: plain sockets, or OpenSSL on route tls ---- */

#ifdef BENCH_TLS
static SSL_CTX *tls_ctx;
static const char *tls_ca;
static int tls_pool_cap = 64; /* --tls-sessions: 0, no resumption */
static SSL_SESSION **tls_pool; /* oldest first */
static int tls_npool;
static long tls_full, tls_resumed; /* handshakes, since the last reset */

/* a new session (a TLS 1.3 ticket): into the pool, the oldest out when it is full */
static int tls_new_session(SSL *ssl, SSL_SESSION *sess)
{
	(void)ssl;
	if (tls_pool_cap <= 0)
		return 0;
	if (tls_npool == tls_pool_cap) {
		SSL_SESSION_free(tls_pool[0]);
		memmove(tls_pool, tls_pool + 1, (size_t)(tls_npool - 1) * sizeof(*tls_pool));
		tls_npool--;
	}
	tls_pool[tls_npool++] = sess;
	return 1; /* the reference is ours */
}

/* the newest resumable session, out of the pool (each ticket is used once), or NULL */
static SSL_SESSION *tls_take(void)
{
	while (tls_npool > 0) {
		SSL_SESSION *s = tls_pool[--tls_npool];
		if (SSL_SESSION_is_resumable(s))
			return s;
		SSL_SESSION_free(s);
	}
	return NULL;
}

static void tls_init(void)
{
	if (tls_ctx)
		return;
	tls_ctx = SSL_CTX_new(TLS_client_method());
	if (tls_ctx == NULL)
		die("tls", "SSL_CTX_new failed");
	SSL_CTX_set_min_proto_version(tls_ctx, TLS1_2_VERSION);
	SSL_CTX_set_mode(tls_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_options(tls_ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_read_ahead(tls_ctx, 1);
	SSL_CTX_set_default_read_buffer_len(tls_ctx, 65536);
	if (tls_ca == NULL)
		die("tls", "--tls-ca FILE is needed (the proxy's certificate or its CA)");
	if (SSL_CTX_load_verify_locations(tls_ctx, tls_ca, NULL) != 1)
		die("tls: cannot load", tls_ca);
	SSL_CTX_set_verify(tls_ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_session_cache_mode(tls_ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(tls_ctx, tls_new_session);
	tls_pool = calloc((size_t)(tls_pool_cap > 0 ? tls_pool_cap : 1), sizeof(*tls_pool));
}

/* an SSL call's failure: -1 with errno EAGAIN (c->tlswant set), 0 at the end of the stream,
 * or -1 with errno EPROTO (errmsg says why) */
static ssize_t tls_status(struct cl *c, int r)
{
	int saved = errno;
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		c->tlswant = EPOLLIN;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_WANT_WRITE:
		c->tlswant = EPOLLOUT;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		if (saved == 0)
			return 0;
		errno = saved == EAGAIN ? EAGAIN : saved; /* a blocking socket's timeout */
		c->tlswant = EPOLLIN;
		return -1;
	default: {
		char e[200];
		ERR_error_string_n(ERR_get_error(), e, sizeof(e));
		fail("TLS", 0);
		snprintf(errbuf, sizeof(errbuf), "TLS: %s", e);
		errno = EPROTO;
		return -1;
	}
	}
}

/* the handshake: 1 done, 0 wait (c->want), -1 failed */
static int tls_handshake(struct cl *c)
{
	if (c->ssl == NULL) {
		tls_init();
		SSL *ssl = SSL_new(tls_ctx);
		SSL_set_fd(ssl, c->fd);
		/* an IP address is checked against the certificate's IP SANs (no SNI for it) */
		if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), c->rt->host) != 1) {
			SSL_set_tlsext_host_name(ssl, c->rt->host);
			SSL_set1_host(ssl, c->rt->host);
		}
		SSL_SESSION *sess = tls_pool_cap > 0 ? tls_take() : NULL;
		if (sess) {
			SSL_set_session(ssl, sess);
			SSL_SESSION_free(sess); /* the SSL holds it now */
		}
		c->ssl = ssl;
	}
	ERR_clear_error();
	errno = 0;
	int r = SSL_connect(c->ssl);
	if (r == 1) {
		if (SSL_session_reused(c->ssl))
			tls_resumed++;
		else
			tls_full++;
		return 1;
	}
	ssize_t st = tls_status(c, r);
	if (st < 0 && errno == EAGAIN && !c->blocking) {
		c->want = c->tlswant;
		return 0;
	}
	long v = SSL_get_verify_result(c->ssl);
	if (v != X509_V_OK)
		return fail(X509_verify_cert_error_string(v), 0);
	if (st == 0)
		return fail("connection closed during the TLS handshake", 0);
	if (errno == EPROTO)
		return -1;
	return fail("TLS handshake", errno == EAGAIN ? ETIMEDOUT : errno);
}
#endif

static ssize_t io_send(struct cl *c, const void *p, size_t len)
{
#ifdef BENCH_TLS
	if (c->ssl) {
		size_t n;
		ERR_clear_error();
		errno = 0;
		int r = SSL_write_ex(c->ssl, p, len, &n);
		if (r == 1)
			return (ssize_t)n;
		ssize_t s = tls_status(c, r);
		if (s == 0)
			errno = EPIPE;
		return -1;
	}
#endif
	return send(c->fd, p, len, MSG_NOSIGNAL);
}

static ssize_t io_recv(struct cl *c, void *p, size_t len)
{
#ifdef BENCH_TLS
	if (c->ssl) {
		size_t n;
		ERR_clear_error();
		errno = 0;
		int r = SSL_read_ex(c->ssl, p, len, &n);
		if (r == 1)
			return (ssize_t)n;
		return tls_status(c, r);
	}
#endif
	return recv(c->fd, p, len, 0);
}

/* what to wait for after EAGAIN: the plain direction, or what OpenSSL asked for */
static uint32_t io_want(const struct cl *c, uint32_t plain)
{
	return c->ssl ? c->tlswant : plain;
}

/* the end of a client: close_notify (best effort, so that the session stays good), then close */
static void cl_close(struct cl *c)
{
#ifdef BENCH_TLS
	if (c->ssl) {
		ERR_clear_error();
		if (SSL_is_init_finished((SSL *)c->ssl))
			(void)SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
#endif
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/* OP_SEND_PAT, OP_RECV_PAT: c->off bytes done so far.  Returns 1 when done, 0 when it must
 * wait for c->want, -1 on an error. */
static int cl_data(struct cl *c, const struct op *o)
{
	static unsigned char buf[CHUNK];
	while (c->off < o->len) {
		size_t len = o->len - c->off;
		const unsigned char *p = pattern_at(pat, c->off, &len);
		ssize_t n = o->kind == OP_SEND_PAT ? io_send(c, p, len)
						   : io_recv(c, buf, len < sizeof(buf) ? len : sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN && !c->blocking) {
			c->want = io_want(c, o->kind == OP_SEND_PAT ? EPOLLOUT : EPOLLIN);
			return 0;
		}
		if (n < 0)
			return fail(o->kind == OP_SEND_PAT ? "send" : "recv", errno == EAGAIN ? ETIMEDOUT : errno);
		if (n == 0)
			return fail("connection closed during the data", 0);
		if (o->kind == OP_RECV_PAT && memcmp(buf, p, (size_t)n) != 0)
			return fail("wrong bytes from the sink", 0);
		c->off += (size_t)n;
	}
	return 1;
}

/* Runs c's ops up to nops.  Returns 1 when done, 0 when it must wait for c->want, -1 on
 * an error (errmsg). */
static int cl_run(struct cl *c, int nops)
{
	while (c->op < nops) {
		const struct op *o = &c->rt->ops[c->op];
		if (o->kind == OP_SEND_PAT || o->kind == OP_RECV_PAT) {
			int rc = cl_data(c, o);
			if (rc <= 0)
				return rc;
#ifdef BENCH_TLS
		} else if (o->kind == OP_TLS_HS) {
			int rc = tls_handshake(c);
			if (rc <= 0)
				return rc;
#endif
		} else if (o->kind == OP_SEND) {
			while (c->off < o->len) {
				ssize_t w = io_send(c, o->data + c->off, o->len - c->off);
				if (w < 0 && errno == EINTR)
					continue;
				if (w < 0 && errno == EAGAIN && !c->blocking) {
					c->want = io_want(c, EPOLLOUT);
					return 0;
				}
				if (w < 0)
					return fail("send", errno == EAGAIN ? ETIMEDOUT : errno);
				c->off += (size_t)w;
			}
		} else {
			size_t n;
			while ((n = need(c, o->kind)) > 0) {
				ssize_t r = io_recv(c, c->in + c->ilen, n);
				if (r < 0 && errno == EINTR)
					continue;
				if (r < 0 && errno == EAGAIN && !c->blocking) {
					c->want = io_want(c, EPOLLIN);
					return 0;
				}
				if (r < 0 && errno == EPROTO && c->ssl)
					return -1; /* errmsg: the TLS error */
				if (r < 0)
					return fail("recv", errno == EAGAIN ? ETIMEDOUT : errno);
				if (r == 0 && o->kind == OP_RECV_EOF)
					break;
				if (r == 0)
					return fail(o->kind == OP_RECV_ECHO ? "connection closed before the echo"
									    : "connection closed during the handshake",
						    0);
				c->ilen += (size_t)r;
			}
			if (n == 0 && check(c, o) < 0)
				return -1;
		}
		c->op++;
		c->off = 0;
		c->ilen = 0;
	}
	return 1;
}

static void set_timeouts(int fd, int secs)
{
	struct timeval tv = {secs, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* A blocking tunnel in *c: connected and through the handshake (plus the echo if nops
 * says so).  Returns 0, or -1 (errmsg).  *t0 (if given) is taken just before connect().
 * cl_close ends it. */
static int open_blocking(const struct route *rt, int nops, double *t0, struct cl *c)
{
	*c = (struct cl){.rt = rt, .blocking = 1};
	c->fd = socket(rt->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return fail("socket", errno);
	set_nodelay(c->fd);
	set_timeouts(c->fd, IO_TIMEOUT_S);
	if (t0)
		*t0 = now_s();
	if (connect(c->fd, (struct sockaddr *)&rt->addr, rt->alen) < 0) {
		fail("connect", errno);
		cl_close(c);
		return -1;
	}
	if (cl_run(c, nops) < 0) {
		cl_close(c);
		return -1;
	}
	return 0;
}

/* ---- /proc: CPU seconds and resident memory of a process and its descendants ---- */

static int proc_tree(pid_t root, pid_t *out, int max)
{
	static pid_t pids[65536], ppids[65536];
	int n = 0, k = 0;
	DIR *d = opendir("/proc");
	struct dirent *e;
	while (d && (e = readdir(d)) != NULL && n < 65536) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		char path[300], buf[512];
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		int fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		ssize_t len = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (len <= 0)
			continue;
		buf[len] = '\0';
		char *rp = strrchr(buf, ')');
		if (rp == NULL)
			continue;
		pids[n] = atoi(e->d_name);
		ppids[n++] = (pid_t)strtol(rp + 4, NULL, 10); /* ") S PPID" */
	}
	if (d)
		closedir(d);
	out[k++] = root;
	for (int i = 0; i < k && k < max; i++)
		for (int j = 0; j < n && k < max; j++)
			if (ppids[j] == out[i])
				out[k++] = pids[j];
	return k;
}

/* PID's CPU time in seconds, all its threads' (also those that ended), exactly: the
 * process CPU clock, where /proc/PID/stat has it in 10 ms ticks; -1 when not readable. */
static double run_secs(pid_t pid)
{
	clockid_t clk;
	struct timespec ts;
	if (clock_getcpuclockid(pid, &clk) != 0 || clock_gettime(clk, &ts) != 0)
		return -1;
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_seconds(pid_t root)
{
	pid_t tree[4096];
	int n = proc_tree(root, tree, 4096);
	long hz = sysconf(_SC_CLK_TCK);
	double secs = 0;
	for (int i = 0; i < n; i++) {
		char path[64], buf[1024];
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)tree[i]);
		int fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		ssize_t len = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (len <= 0)
			continue;
		buf[len] = '\0';
		char *p = strrchr(buf, ')');
		/* ") S PPID ...": the space before field f, for f = 3 (state) .. 14 (utime); then
		 * stime, cutime, cstime: a child that exits is counted in its parent from then on */
		for (int f = 3; p && f <= 14; f++)
			p = strchr(p + 1, ' ');
		long t[4] = {0, 0, 0, 0}; /* utime stime cutime cstime */
		for (int f = 0; p && f < 4; f++) {
			char *endp;
			t[f] = strtol(p + 1, &endp, 10);
			p = endp;
		}
		/* the process's own time from its CPU clock (it has the softirq work done in its
		 * context, as the ticks have here: no IRQ time accounting); children that ended: in ticks */
		double own = run_secs(tree[i]);
		secs += own >= 0 ? own : (double)(t[0] + t[1]) / (double)hz;
		secs += (double)(t[2] + t[3]) / (double)hz;
	}
	return secs;
}

/* Sum of "KEY: N kB" over the tree, from /proc/PID/FILE. */
static long mem_kb(pid_t root, const char *file, const char *key)
{
	pid_t tree[4096];
	int n = proc_tree(root, tree, 4096);
	long sum = 0;
	size_t kl = strlen(key);
	for (int i = 0; i < n; i++) {
		char path[64], line[256];
		snprintf(path, sizeof(path), "/proc/%d/%s", (int)tree[i], file);
		FILE *f = fopen(path, "r");
		while (f && fgets(line, sizeof(line), f))
			if (strncmp(line, key, kl) == 0)
				sum += strtol(line + kl, NULL, 10);
		if (f)
			fclose(f);
	}
	return sum;
}

/* The machine's kernel slab memory (sockets, pipes, epoll items: what RSS does not show). */
static long slab_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/meminfo", "r");
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "Slab:", 5) == 0)
			kb = strtol(line + 5, NULL, 10);
	if (f)
		fclose(f);
	return kb;
}

/* Open fds of the process tree (/proc/PID/fd entries). */
static long fd_count(pid_t root)
{
	pid_t tree[4096];
	int n = proc_tree(root, tree, 4096);
	long sum = 0;
	for (int i = 0; i < n; i++) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/fd", (int)tree[i]);
		DIR *d = opendir(path);
		struct dirent *e;
		while (d && (e = readdir(d)) != NULL)
			if (e->d_name[0] != '.')
				sum++;
		if (d)
			closedir(d);
	}
	return sum;
}

/* ---- bulk ---- */

static int send_all(struct cl *c, const void *p, size_t len)
{
	while (len > 0) {
		ssize_t w = io_send(c, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return fail("send", errno == EAGAIN ? ETIMEDOUT : errno);
		p = (const char *)p + w;
		len -= (size_t)w;
	}
	return 0;
}

/* the load generator's own CPU seconds (the TLS client's work, on route tls; the stream's
 * hash and copies on every route) */
static double self_cpu(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

static long tls_counts(long *resumed)
{
#ifdef BENCH_TLS
	*resumed = tls_resumed;
	return tls_full;
#else
	*resumed = 0;
	return 0;
#endif
}

static void tls_counts_reset(void)
{
#ifdef BENCH_TLS
	tls_full = tls_resumed = 0;
#endif
}

#ifdef BENCH_TLS
/* A blocking upload's records go four at a time in one send, as socks2http's TLS streams
 * send them (src/tls_out.c): the TLS client must not cost more than the bridge for want of
 * it.  OpenSSL writes one record per SSL_write; a buffering BIO gathers them. */
static void tls_gather_writes(struct cl *c)
{
	SSL *ssl = c->ssl;
	BIO *sock = SSL_get_wbio(ssl), *fb = BIO_new(BIO_f_buffer());
	if (fb == NULL || sock == NULL || !BIO_up_ref(sock) || BIO_set_write_buffer_size(fb, 4 * (16384 + 256)) <= 0)
		die("bulk upload", "cannot gather TLS records");
	BIO_push(fb, sock);
	SSL_set0_wbio(ssl, fb); /* drops the SSL's own reference to sock: fb holds one */
}

static int tls_flush(struct cl *c)
{
	return c->ssl != NULL && BIO_flush(SSL_get_wbio(c->ssl)) <= 0 ? fail("send", EIO) : 0;
}
#endif

static int cmd_bulk(const struct route *rt, int up, uint64_t bytes, pid_t pid, pid_t pid2)
{
	uint64_t expect = pattern_hash(pat, bytes);
	static unsigned char buf[CHUNK];
	struct cl c;
	if (open_blocking(rt, rt->nhs, NULL, &c) < 0)
		die("bulk", errmsg);
	unsigned char hdr[9] = {up ? 'U' : 'D'};
	memcpy(hdr + 1, &bytes, 8);
	double cpu0 = pid ? cpu_seconds(pid) : 0, cpu20 = pid2 ? cpu_seconds(pid2) : 0, self0 = self_cpu();
	double t0 = now_s();
	if (send_all(&c, hdr, 9) < 0)
		die("bulk", errmsg);
	uint64_t got = 0, hash = 0;
	if (up) {
#ifdef BENCH_TLS
		if (c.ssl != NULL)
			tls_gather_writes(&c);
#endif
		for (uint64_t off = 0; off < bytes;) {
			size_t len = bytes - off < CHUNK ? (size_t)(bytes - off) : CHUNK;
			const unsigned char *p = pattern_at(pat, off, &len);
			if (send_all(&c, p, len) < 0)
				die("bulk upload", errmsg);
#ifdef BENCH_TLS
			if (tls_flush(&c) < 0)
				die("bulk upload", errmsg);
#endif
			off += len;
		}
		uint64_t ans[2];
		size_t have = 0;
		while (have < 16) {
			ssize_t r = io_recv(&c, (char *)ans + have, 16 - have);
			if (r <= 0)
				die("bulk upload: no answer from the sink", r == 0 ? "closed" : strerror(errno));
			have += (size_t)r;
		}
		got = ans[0];
		hash = ans[1];
	} else {
		struct h64 h;
		h64_init(&h);
		while (got < bytes) {
			ssize_t r = io_recv(&c, buf, sizeof(buf));
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			h64_update(&h, buf, (size_t)r);
			got += (uint64_t)r;
		}
		hash = h64_final(&h);
	}
	double t1 = now_s();
	double cpu1 = pid ? cpu_seconds(pid) : 0, cpu21 = pid2 ? cpu_seconds(pid2) : 0, self1 = self_cpu();
	if (!up && got == bytes) { /* then the sink's FIN, passed on by every hop */
		set_timeouts(c.fd, 5);
		ssize_t r = io_recv(&c, buf, 1);
		if (r != 0)
			die("bulk download: after the last byte",
			    r > 0 ? "more bytes than were asked for" : r < 0 && errno == EAGAIN ? "no FIN within 5 s" : strerror(errno));
	}
	cl_close(&c);
	if (got != bytes || hash != expect) {
		fprintf(stderr, "loadgen: bulk %s: got %llu of %llu bytes, hash %016llx, expected %016llx\n",
			up ? "upload" : "download", (unsigned long long)got, (unsigned long long)bytes,
			(unsigned long long)hash, (unsigned long long)expect);
		return 1;
	}
	double secs = t1 - t0, gib = (double)bytes / (1 << 30);
	printf("bulk route=%s dir=%s bytes=%llu secs=%.4f gibps=%.4f cpu=%.2f cpu_per_gib=%.4f hash=%016llx",
	       rt->name, up ? "up" : "down", (unsigned long long)bytes, secs, gib / secs, cpu1 - cpu0,
	       (cpu1 - cpu0) / gib, (unsigned long long)hash);
	if (pid2)
		printf(" cpu2=%.2f cpu2_per_gib=%.4f", cpu21 - cpu20, (cpu21 - cpu20) / gib);
	printf(" self_cpu=%.2f self_cpu_per_gib=%.4f", self1 - self0, (self1 - self0) / gib);
	if (rt->mode == M_TLS) {
		long res, full = tls_counts(&res);
		printf(" tls_full=%ld tls_resumed=%ld", full, res);
	}
	printf(" ok=1\n");
	return 0;
}

/* ---- latency: connect to first echoed byte, routes interleaved sample by sample ---- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double quantile(const double *sorted, int n, double q)
{
	double pos = q * (n - 1);
	int i = (int)pos;
	return i + 1 < n ? sorted[i] + (pos - i) * (sorted[i + 1] - sorted[i]) : sorted[n - 1];
}

static int cmd_lat(struct route *rts, int nr, int samples)
{
	double *v = calloc((size_t)nr * (size_t)samples, sizeof(double));
	for (int s = 0; s < samples; s++) {
		for (int j = 0; j < nr; j++) {
			int r = (s + j) % nr; /* rotate the order so no route always goes first */
			double t0;
			struct cl c;
			int rc = open_blocking(&rts[r], rts[r].nhs + 2, &t0, &c); /* through the echo */
			double t1 = now_s();
			char b;
			if (rc == 0 && io_recv(&c, &b, 1) != 0) /* then the tunnel's end, not timed */
				fail("no FIN after the echo", 0), cl_close(&c), rc = -1;
			if (rc < 0) {
				fprintf(stderr, "loadgen: lat %s sample %d: %s\n", rts[r].name, s, errmsg);
				return 1;
			}
			cl_close(&c);
			v[(size_t)r * (size_t)samples + (size_t)s] = (t1 - t0) * 1e6;
		}
	}
	for (int r = 0; r < nr; r++) {
		double *x = v + (size_t)r * (size_t)samples;
		qsort(x, (size_t)samples, sizeof(double), cmp_double);
		printf("lat name=%s n=%d min_us=%.1f median_us=%.1f p90_us=%.1f p99_us=%.1f max_us=%.1f\n", rts[r].name,
		       samples, x[0], quantile(x, samples, 0.5), quantile(x, samples, 0.9), quantile(x, samples, 0.99),
		       x[samples - 1]);
	}
	free(v);
	return 0;
}

/* ---- many tunnels at once (rate and idle): non-blocking clients on epoll ---- */

static int ep;

static void cl_watch(struct cl *c)
{
	if (c->want == c->watched)
		return;
	struct epoll_event e = {.events = c->want, .data.ptr = c};
	epoll_ctl(ep, c->watched ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd, &e);
	c->watched = c->want;
}

static int cl_start(struct cl *c, const struct route *rt)
{
	memset(c, 0, sizeof(*c));
	c->rt = rt;
	c->fd = socket(rt->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return fail("socket", errno);
	set_nodelay(c->fd);
	if (connect(c->fd, (struct sockaddr *)&rt->addr, rt->alen) < 0 && errno != EINPROGRESS) {
		close(c->fd);
		c->fd = -1;
		return fail("connect", errno);
	}
	c->connecting = 1;
	c->want = EPOLLOUT;
	cl_watch(c);
	return 0;
}

static void cl_stop(struct cl *c)
{
	cl_close(c); /* the close also leaves the epoll set */
}

/* Advances c after an event: 1 when the tunnel is through its echo, 0 waiting, -1 error. */
static int cl_event(struct cl *c)
{
	if (c->connecting) {
		int err = 0;
		socklen_t len = sizeof(err);
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err)
			return fail("connect", err);
		c->connecting = 0;
	}
	int rc = cl_run(c, c->rt->nops);
	if (rc == 0)
		cl_watch(c);
	return rc;
}

static int cmd_rate(const struct route *rt, int nclients, double secs, pid_t pid, pid_t pid2, pid_t usr1, double warmup)
{
	struct cl *cls = calloc((size_t)nclients, sizeof(*cls));
	ep = epoll_create1(EPOLL_CLOEXEC);
	for (int i = 0; i < nclients; i++)
		if (cl_start(&cls[i], rt) < 0)
			die("rate", errmsg);
	double start = now_s(), t0 = start + warmup, t1 = t0 + secs, cpu0 = 0, cpu20 = 0, self0 = 0;
	long done = 0, errors = 0, counting = 0;
	struct epoll_event evs[256];
	for (;;) {
		double now = now_s();
		if (!counting && now >= t0) {
			counting = 1;
			done = 0;
			cpu0 = pid ? cpu_seconds(pid) : 0;
			cpu20 = pid2 ? cpu_seconds(pid2) : 0;
			self0 = self_cpu();
			if (usr1)
				kill(usr1, SIGUSR1); /* the TLS proxy's handshake counters, now */
			tls_counts_reset();
			t0 = now_s();
		}
		if (now >= t1)
			break;
		int n = epoll_wait(ep, evs, 256, 50);
		for (int i = 0; i < n; i++) {
			struct cl *c = evs[i].data.ptr;
			int rc = cl_event(c);
			if (rc == 0)
				continue;
			if (rc > 0) {
				done++;
			} else {
				errors++;
				fprintf(stderr, "loadgen: rate: %s\n", errmsg);
			}
			cl_stop(c);
			if (cl_start(c, rt) < 0)
				die("rate", errmsg);
		}
		if (errors > 100)
			die("rate", "too many errors");
	}
	double elapsed = now_s() - t0;
	if (usr1)
		kill(usr1, SIGUSR1); /* and at the end (the tunnels in flight are not counted as done) */
	double cpu1 = pid ? cpu_seconds(pid) : 0, cpu21 = pid2 ? cpu_seconds(pid2) : 0, self1 = self_cpu();
	long res, full = tls_counts(&res);
	for (int i = 0; i < nclients; i++)
		cl_stop(&cls[i]);
	printf("rate route=%s clients=%d tunnels=%ld secs=%.3f per_s=%.1f errors=%ld cpu=%.2f cpu_us_per_tunnel=%.2f",
	       rt->name, nclients, done, elapsed, (double)done / elapsed, errors, cpu1 - cpu0,
	       done ? (cpu1 - cpu0) * 1e6 / (double)done : 0.0);
	if (pid2)
		printf(" cpu2=%.2f cpu2_us_per_tunnel=%.2f", cpu21 - cpu20, done ? (cpu21 - cpu20) * 1e6 / (double)done : 0.0);
	printf(" self_cpu=%.2f self_cpu_us_per_tunnel=%.2f", self1 - self0, done ? (self1 - self0) * 1e6 / (double)done : 0.0);
	if (rt->mode == M_TLS)
		printf(" tls_full=%ld tls_resumed=%ld", full, res);
	printf(" ok=%d\n", errors == 0);
	return errors != 0;
}

static volatile sig_atomic_t stop_holding;
static void on_term(int sig)
{
	(void)sig;
	stop_holding = 1;
}

/* hold: once measured, the tunnels stay open until SIGTERM (the harness runs other tests
 * meanwhile), and are checked and closed then. */
static int cmd_idle(const struct route *rt, int count, pid_t pid, int hold)
{
	const int inflight_max = 100;
	const double deadline = now_s() + 90;
	struct cl *cls = calloc((size_t)count, sizeof(*cls));
	ep = epoll_create1(EPOLL_CLOEXEC);

	/* warm-up: one tunnel through and closed, so one-time set-up is not counted */
	struct cl wc;
	if (open_blocking(rt, rt->nops, NULL, &wc) < 0)
		die("idle: warm-up", errmsg);
	cl_close(&wc);
	usleep(300000);
	long rss0 = mem_kb(pid, "status", "VmRSS:"), sm0 = mem_kb(pid, "smaps_rollup", "Pss:"), slab0 = slab_kb();
	long fds0 = fd_count(pid);
	double cpu0 = cpu_seconds(pid), t0 = now_s();

	int started = 0, open_ok = 0, inflight = 0;
	double progress = now_s();
	struct epoll_event evs[256];
	while (open_ok < count) {
		while (inflight < inflight_max && started < count) {
			if (cl_start(&cls[started], rt) < 0)
				die("idle", errmsg);
			started++;
			inflight++;
		}
		if (now_s() > deadline || now_s() - progress > 5) {
			/* the bridge stopped taking tunnels: say how far it got */
			printf("idle route=%s tunnels=%d requested=%d stalled=1 ok=0\n", rt->name, open_ok, count);
			fprintf(stderr, "loadgen: idle: %s stalled at %d of %d tunnels\n", rt->name, open_ok, count);
			return 1;
		}
		int n = epoll_wait(ep, evs, 256, 100);
		for (int i = 0; i < n; i++) {
			struct cl *c = evs[i].data.ptr;
			int rc = cl_event(c);
			if (rc < 0) {
				fprintf(stderr, "loadgen: idle: tunnel %d of %d: %s\n", open_ok + 1, count, errmsg);
				exit(1);
			}
			if (rc > 0) {
				progress = now_s();
				epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
				open_ok++;
				inflight--;
			}
		}
	}
	double t_open = now_s() - t0;
	usleep(500000);
	long rss1 = mem_kb(pid, "status", "VmRSS:"), sm1 = mem_kb(pid, "smaps_rollup", "Pss:"), slab1 = slab_kb();
	long fds1 = fd_count(pid);
	double cpu1 = cpu_seconds(pid);
	if (hold) {
		signal(SIGTERM, on_term);
		printf("held route=%s tunnels=%d\n", rt->name, count);
		fflush(stdout);
		while (!stop_holding)
			pause();
	}

	/* every tunnel still carries a byte both ways (within 15 s for all of them) */
	int alive = 0, answered = 0;
	for (int i = 0; i < count; i++) {
		if (send(cls[i].fd, "E", 1, MSG_NOSIGNAL) != 1)
			die("idle", "send on an idle tunnel failed");
		struct epoll_event e = {.events = EPOLLIN, .data.ptr = &cls[i]};
		epoll_ctl(ep, EPOLL_CTL_ADD, cls[i].fd, &e);
	}
	const double check_end = now_s() + 15;
	while (answered < count && now_s() < check_end) {
		int n = epoll_wait(ep, evs, 256, 100);
		for (int i = 0; i < n; i++) {
			struct cl *c = evs[i].data.ptr;
			char b;
			ssize_t r = recv(c->fd, &b, 1, 0);
			if (r < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
			answered++;
			if (r == 1 && b == 'E')
				alive++;
		}
	}
	for (int i = 0; i < count; i++)
		cl_stop(&cls[i]);
	printf("idle route=%s tunnels=%d open_secs=%.2f cpu=%.2f rss_before_kb=%ld rss_after_kb=%ld "
	       "bytes_per_tunnel=%.0f pss_before_kb=%ld pss_after_kb=%ld pss_bytes_per_tunnel=%.0f "
	       "slab_bytes_per_tunnel=%.0f fds_before=%ld fds_after=%ld fds_per_tunnel=%.3f alive=%d ok=%d\n",
	       rt->name, count, t_open, cpu1 - cpu0, rss0, rss1, (double)(rss1 - rss0) * 1024.0 / count, sm0, sm1,
	       (double)(sm1 - sm0) * 1024.0 / count, (double)(slab1 - slab0) * 1024.0 / count, fds0, fds1,
	       (double)(fds1 - fds0) / count, alive, alive == count);
	return alive != count;
}

/* ---- clients that fail their handshake ---- */

/* COUNT connections, CLIENTS at a time, each of which either closes right after its
 * connect completes ("close") or sends a TLS record where a SOCKS greeting belongs and
 * waits for the bridge to close ("garbage").  Prints the bridge's CPU per attempt; the
 * harness reads the upstream's accept counter around it. */
/* abandon > 0: a client that got no close within that many seconds gives up and closes
 * (a relay cannot tell garbage from a slow client: the far side decides, or never does) */
static int cmd_junk(const struct route *rt, int count, int nclients, int garbage, pid_t pid, double abandon)
{
	/* a client speaking TLS to the proxy port: neither SOCKS nor an HTTP request (which the
	 * bridge would now serve) */
	static const char GET[] = "\x16\x03\x01\x00\x31\x01\x00\x00\x2d\x03\x03" "0123456789abcdef0123456789abcdef"
				  "\x00\x00\x02\x13\x01\x01\x00";
	struct junk {
		int fd; /* -1: free */
		int sent;
		int answered;
		double t0;
	};
	struct junk *js = calloc((size_t)nclients, sizeof(*js));
	for (int i = 0; i < nclients; i++)
		js[i].fd = -1;
	ep = epoll_create1(EPOLL_CLOEXEC);
	int started = 0, active = 0, timeouts = 0, answered = 0, abandoned = 0;
	double cpu0 = cpu_seconds(pid), t0 = now_s();
	const double deadline = t0 + 60; /* then the ones still open count as timeouts */
	struct epoll_event evs[256];
	for (;;) {
		for (int i = 0; i < nclients && started < count && now_s() < deadline; i++) {
			struct junk *j = &js[i];
			if (j->fd >= 0)
				continue;
			j->fd = socket(rt->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
			if (j->fd < 0)
				die("junk: socket", strerror(errno));
			if (connect(j->fd, (struct sockaddr *)&rt->addr, rt->alen) < 0 && errno != EINPROGRESS)
				die("junk: connect", strerror(errno));
			j->sent = j->answered = 0;
			j->t0 = now_s();
			struct epoll_event e = {.events = EPOLLOUT, .data.ptr = j};
			epoll_ctl(ep, EPOLL_CTL_ADD, j->fd, &e);
			started++;
			active++;
		}
		if (active == 0)
			break;
		int n = epoll_wait(ep, evs, 256, 100);
		double now = now_s();
		for (int i = 0; i < n; i++) {
			struct junk *j = evs[i].data.ptr;
			int finished = 0;
			if (!j->sent) { /* connected */
				int err = 0;
				socklen_t len = sizeof(err);
				getsockopt(j->fd, SOL_SOCKET, SO_ERROR, &err, &len);
				if (err)
					die("junk: connect", strerror(err));
				j->sent = 1;
				if (!garbage || send(j->fd, GET, sizeof(GET) - 1, MSG_NOSIGNAL) != (ssize_t)sizeof(GET) - 1) {
					finished = 1; /* "close", or the bridge closed on us already */
				} else {
					struct epoll_event e = {.events = EPOLLIN, .data.ptr = j};
					epoll_ctl(ep, EPOLL_CTL_MOD, j->fd, &e);
				}
			} else { /* until the bridge closes */
				char b[512];
				ssize_t r = recv(j->fd, b, sizeof(b), 0);
				if (r > 0 && !j->answered)
					j->answered = 1, answered++;
				else if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
					finished = 1;
			}
			if (finished) {
				close(j->fd);
				j->fd = -1;
				active--;
			}
		}
		for (int i = 0; i < nclients; i++) { /* the bridge must close within 5 s */
			if (js[i].fd >= 0 && abandon > 0 && now - js[i].t0 > abandon && now <= deadline) {
				close(js[i].fd);
				js[i].fd = -1;
				abandoned++;
				active--;
			} else if (js[i].fd >= 0 && (now - js[i].t0 > 5 || now > deadline)) {
				close(js[i].fd);
				js[i].fd = -1;
				timeouts++;
				active--;
			}
		}
	}
	double secs = now_s() - t0;
	usleep(300000); /* the bridge's side of the last ones */
	double cpu1 = cpu_seconds(pid);
	printf("junk route=%s kind=%s attempts=%d clients=%d secs=%.3f cpu=%.2f cpu_us_per_attempt=%.2f "
	       "answered=%d timeouts=%d abandoned=%d ok=%d\n",
	       rt->name, garbage ? "garbage" : "close", started, nclients, secs, cpu1 - cpu0,
	       started ? (cpu1 - cpu0) * 1e6 / started : 0.0, answered, timeouts, abandoned, timeouts == 0 && started == count);
	return timeouts != 0 || started != count;
}

static pid_t opt_named(int argc, char **argv, int from, const char *name)
{
	for (int i = from; i + 1 < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return (pid_t)atoi(argv[i + 1]);
	return 0;
}

static pid_t opt_pid(int argc, char **argv, int from)
{
	return opt_named(argc, argv, from, "--pid");
}

static int usage(void)
{
	fprintf(stderr, "usage: loadgen bulk ROUTE TARGET down|up BYTES [--pid PID]\n"
			"       loadgen lat TARGET SAMPLES NAME=ROUTE...\n"
			"       loadgen rate ROUTE TARGET CLIENTS SECONDS [--pid PID]\n"
			"       loadgen idle ROUTE TARGET COUNT --pid PID [--data DOWN UP] [--hold]\n"
			"       loadgen junk ROUTE COUNT CLIENTS close|garbage --pid PID [--abandon SECS]\n"
			"       loadgen freeport | cpu PID\n"
			"ROUTE: connect|socks5|socks5h|socks4|socks4a|raw|relay|tls@ADDR:PORT\n"
			"bulk, rate: --pid2 PID (a second process's CPU); rate: --usr1 PID, --warmup SECS (0.25)\n"
			"route tls: --tls-ca FILE (the proxy's certificate or CA), --tls-sessions N (64; 0: no resumption)\n");
	return 2;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	/* the TLS client's options, anywhere: taken out of argv */
	int na = 1;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--tls-ca") == 0 && i + 1 < argc) {
#ifdef BENCH_TLS
			tls_ca = argv[i + 1];
#endif
			i++;
		} else if (strcmp(argv[i], "--tls-sessions") == 0 && i + 1 < argc) {
#ifdef BENCH_TLS
			tls_pool_cap = atoi(argv[i + 1]);
#endif
			i++;
		} else {
			argv[na++] = argv[i];
		}
	}
	argc = na;
	argv[argc] = NULL;
	if (argc < 2)
		return usage();
	const char *cmd = argv[1];
	struct route rt;
	memset(&rt, 0, sizeof(rt));

	if (strcmp(cmd, "cpu") == 0 && argc == 3) { /* CPU seconds of a process tree, for the harness */
		printf("%.2f\n", cpu_seconds((pid_t)atoi(argv[2])));
		return 0;
	}
	if (strcmp(cmd, "freeport") == 0) {
		int fd = listen_on("127.0.0.1:0", 1);
		close(fd);
		return 0;
	}
	if (strcmp(cmd, "bulk") == 0 && argc >= 6) {
		pat = pattern_new();
		rt.name = argv[2];
		parse_route(&rt, argv[2], argv[3], 0);
		return cmd_bulk(&rt, strcmp(argv[4], "up") == 0, strtoull(argv[5], NULL, 10), opt_pid(argc, argv, 6),
				opt_named(argc, argv, 6, "--pid2"));
	}
	if (strcmp(cmd, "lat") == 0 && argc >= 5) {
		int nr = argc - 4, samples = atoi(argv[3]);
		struct route *rts = calloc((size_t)nr, sizeof(*rts));
		for (int i = 0; i < nr; i++) {
			char *eq = strchr(argv[4 + i], '=');
			if (eq == NULL)
				return usage();
			*eq = '\0';
			rts[i].name = argv[4 + i];
			parse_route(&rts[i], eq + 1, argv[2], 1);
		}
		return samples > 0 ? cmd_lat(rts, nr, samples) : usage();
	}
	if (strcmp(cmd, "rate") == 0 && argc >= 6) {
		double warmup = 0.25; /* not counted: the first tunnels, and a TLS client's session pool filling */
		for (int i = 6; i + 1 < argc; i++)
			if (strcmp(argv[i], "--warmup") == 0)
				warmup = atof(argv[i + 1]);
		rt.name = argv[2];
		parse_route(&rt, argv[2], argv[3], 1);
		return cmd_rate(&rt, atoi(argv[4]), atof(argv[5]), opt_pid(argc, argv, 6), opt_named(argc, argv, 6, "--pid2"),
				opt_named(argc, argv, 6, "--usr1"), warmup);
	}
	if (strcmp(cmd, "idle") == 0 && argc >= 5) {
		pid_t pid = opt_pid(argc, argv, 5);
		if (pid == 0)
			return usage();
		rt.name = argv[2];
		parse_route(&rt, argv[2], argv[3], 0);
		int hold = 0;
		for (int i = 5; i < argc; i++) {
			if (strcmp(argv[i], "--hold") == 0) {
				hold = 1;
			} else if (strcmp(argv[i], "--data") == 0 && i + 2 < argc) {
				pat = pattern_new();
				route_data(&rt, (uint32_t)strtoul(argv[i + 1], NULL, 10), (uint32_t)strtoul(argv[i + 2], NULL, 10));
				i += 2;
			}
		}
		return cmd_idle(&rt, atoi(argv[4]), pid, hold);
	}
	if (strcmp(cmd, "junk") == 0 && argc >= 6) {
		pid_t pid = opt_pid(argc, argv, 6);
		if (pid == 0 || (strcmp(argv[5], "close") != 0 && strcmp(argv[5], "garbage") != 0))
			return usage();
		rt.name = argv[2];
		parse_route(&rt, argv[2], "127.0.0.1:9", 0); /* the target is never asked for */
		double abandon = 0;
		for (int i = 6; i + 1 < argc; i++)
			if (strcmp(argv[i], "--abandon") == 0)
				abandon = atof(argv[i + 1]);
		return cmd_junk(&rt, atoi(argv[3]), atoi(argv[4]), strcmp(argv[5], "garbage") == 0, pid, abandon);
	}
	return usage();
}
