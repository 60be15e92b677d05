/* test_tls: TLS client streams against an in-process non-blocking OpenSSL server on the
 * same loop, over socketpairs, with a P-256 key and certificates made here: verification
 * with a CA file, without one (the system store), a name or address mismatch, an unknown
 * issuer, insecure mode, SNI, session resumption (TLS 1.3 tickets and TLS 1.2), 1 MiB both
 * ways through read and writev with small buffers and small socket buffers, pending bytes
 * announced by the stream, close_notify and a bare EOF, handshake failures, record buffers
 * given back once a connection is quiet, a write's records gathered into one send (what the
 * socket did not take goes first, and by itself); then the real relay (pump) between a
 * plain socket and a TLS stream: 4 MiB both ways with half-close, also with 64 KiB buffers
 * and small socket buffers. */
#include "tls.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "check.h"
#include "log.h"
#include "pump.h"

#define KiB 1024u
#define MiB (1024u * 1024u)

static struct ev_loop *loop;

/* OpenSSL's heap in use, counted through its allocator hooks (a header holds each size) */
static size_t ossl_in_use;
#define HDR 16
static void *count_malloc(size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	unsigned char *p = malloc(n + HDR);
	if (p == NULL)
		return NULL;
	memcpy(p, &n, sizeof(n));
	ossl_in_use += n;
	return p + HDR;
}
static void count_free(void *q, const char *file, int line)
{
	(void)file;
	(void)line;
	if (q == NULL)
		return;
	unsigned char *p = (unsigned char *)q - HDR;
	size_t n;
	memcpy(&n, p, sizeof(n));
	ossl_in_use -= n;
	free(p);
}
static void *count_realloc(void *q, size_t n, const char *file, int line)
{
	if (q == NULL)
		return count_malloc(n, file, line);
	unsigned char *p = (unsigned char *)q - HDR;
	size_t old;
	memcpy(&old, p, sizeof(old));
	unsigned char *r = realloc(p, n + HDR);
	if (r == NULL)
		return NULL;
	memcpy(r, &n, sizeof(n));
	ossl_in_use = ossl_in_use - old + n;
	return r + HDR;
}
static ev_timer tick; /* keeps EVRUN_ONCE from sleeping past a deadline */

static void tick_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	(void)l;
	(void)w;
	(void)revents;
}

#define RUN_UNTIL(cond, secs)                                         \
	do {                                                          \
		ev_tstamp run_deadline_ = ev_time() + (secs);         \
		while (!(cond) && ev_time() < run_deadline_)          \
			ev_run(loop, EVRUN_ONCE);                     \
	} while (0)

static uint8_t pat(uint32_t seed, uint64_t i)
{
	uint64_t x = (i + ((uint64_t)seed << 40)) * UINT64_C(0x9E3779B97F4A7C15);
	return (uint8_t)(x >> 56);
}

static void fill_pat(uint8_t *p, size_t n, uint32_t seed, uint64_t at)
{
	for (size_t i = 0; i < n; i++)
		p[i] = pat(seed, at + i);
}

static void set_nonblock(int fd)
{
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static int make_pair(int fds[2], int bufsize)
{
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) < 0)
		return -1;
	for (int i = 0; i < 2; i++) {
		set_nonblock(fds[i]);
		if (bufsize) {
			(void)setsockopt(fds[i], SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof(bufsize));
			(void)setsockopt(fds[i], SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof(bufsize));
		}
	}
	return 0;
}

/* --- keys and certificates ------------------------------------------------------------ */

static EVP_PKEY *key;
static X509 *cert_local;   /* CN=localhost, DNS:localhost, IP:127.0.0.1, self-signed */
static X509 *cert_ca;      /* CN=Test CA, a CA */
static X509 *cert_leaf;    /* CN=leaf.test, issued by Test CA */
static char ca_local[64], ca_ca[64];

static X509 *make_cert(const char *cn, const char *san, int ca, X509 *issuer)
{
	static long serial = 1;
	X509 *x = X509_new();
	X509V3_CTX v3;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, key);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(issuer ? issuer : x));
	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, issuer ? issuer : x, x, NULL, NULL, 0);
	const char *exts[][2] = {{"subjectAltName", san}, {"basicConstraints", ca ? "critical,CA:TRUE" : "CA:FALSE"}};
	for (size_t i = 0; i < 2; i++) {
		if (exts[i][1] == NULL)
			continue;
		X509_EXTENSION *e = X509V3_EXT_conf(NULL, &v3, exts[i][0], exts[i][1]);
		CHECK(e != NULL);
		if (e != NULL)
			X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
	}
	CHECK(X509_sign(x, key, EVP_sha256()) > 0);
	return x;
}

static void write_pem(X509 *x, char *path)
{
	strcpy(path, "/tmp/test_tls_XXXXXX");
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	FILE *f = fdopen(fd, "w");
	CHECK(f != NULL && PEM_write_X509(f, x) == 1);
	fclose(f);
}

static void make_keys(void)
{
	key = EVP_EC_gen("P-256");
	CHECK(key != NULL);
	cert_local = make_cert("localhost", "DNS:localhost,IP:127.0.0.1", 0, NULL);
	cert_ca = make_cert("Test CA", NULL, 1, NULL);
	cert_leaf = make_cert("leaf.test", "DNS:leaf.test", 0, cert_ca);
	write_pem(cert_local, ca_local);
	write_pem(cert_ca, ca_ca);
}

/* --- the server: non-blocking OpenSSL on the loop, writing and checking a pattern ------ */

struct srv {
	SSL *ssl;
	int fd;
	ev_io io;
	int events;
	int hs_done, hs_failed;
	uint32_t seed_out, seed_in;
	uint64_t to_send, sent, recvd, bad;
	size_t chunk;         /* bytes per SSL_write */
	int shut_when_sent, shut_sent;
	int send_after_eof;   /* start sending only once the client's close_notify came */
	int eof, err;
	int paused;           /* not reading */
};

static SSL_CTX *srv_ctx(X509 *cert, int max_version)
{
	SSL_CTX *c = SSL_CTX_new(TLS_server_method());
	CHECK(SSL_CTX_use_certificate(c, cert) == 1);
	CHECK(SSL_CTX_use_PrivateKey(c, key) == 1);
	SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_options(c, SSL_OP_IGNORE_UNEXPECTED_EOF);
	if (max_version)
		SSL_CTX_set_max_proto_version(c, max_version);
	return c;
}

static void srv_watch(struct srv *s)
{
	int ev = 0;
	if (s->fd < 0)
		return;
	if (!s->hs_done)
		ev = s->events ? s->events : EV_READ;
	else {
		if (!s->eof && !s->err && !s->paused)
			ev |= EV_READ;
		if (!s->err && ((s->sent < s->to_send && (!s->send_after_eof || s->eof)) ||
				(s->shut_when_sent && !s->shut_sent)))
			ev |= EV_WRITE;
	}
	ev_io_stop(loop, &s->io);
	s->events = ev;
	if (ev) {
		ev_io_set(&s->io, s->fd, ev);
		ev_io_start(loop, &s->io);
	}
}

static void srv_io(struct srv *s)
{
	static uint8_t buf[64 * KiB];
	while (!s->eof && !s->err && !s->paused) {
		int n = SSL_read(s->ssl, buf, sizeof(buf));
		if (n <= 0) {
			int e = SSL_get_error(s->ssl, n);
			if (e == SSL_ERROR_ZERO_RETURN)
				s->eof = 1;
			else if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
				s->err = e;
			break;
		}
		for (int i = 0; i < n; i++)
			s->bad += buf[i] != pat(s->seed_in, s->recvd + (uint64_t)i);
		s->recvd += (uint64_t)n;
	}
	while (s->sent < s->to_send && (!s->send_after_eof || s->eof) && !s->err) {
		size_t n = s->to_send - s->sent < s->chunk ? (size_t)(s->to_send - s->sent) : s->chunk;
		fill_pat(buf, n, s->seed_out, s->sent); /* a retry offers the same bytes */
		int w = SSL_write(s->ssl, buf, (int)n);
		if (w <= 0) {
			int e = SSL_get_error(s->ssl, w);
			if (e != SSL_ERROR_WANT_WRITE && e != SSL_ERROR_WANT_READ)
				s->err = e;
			break;
		}
		s->sent += (uint64_t)w;
	}
	if (s->sent == s->to_send && s->shut_when_sent && !s->shut_sent) {
		int rc = SSL_shutdown(s->ssl);
		if (rc >= 0 || SSL_get_error(s->ssl, rc) != SSL_ERROR_WANT_WRITE)
			s->shut_sent = 1;
	}
}

static void srv_cb(struct ev_loop *l, ev_io *w, int revents)
{
	struct srv *s = w->data;
	(void)l;
	(void)revents;
	if (!s->hs_done) {
		int rc = SSL_do_handshake(s->ssl);
		if (rc == 1) {
			s->hs_done = 1;
		} else {
			int e = SSL_get_error(s->ssl, rc);
			if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
				s->events = e == SSL_ERROR_WANT_READ ? EV_READ : EV_WRITE;
			} else {
				s->hs_failed = 1;
				ERR_clear_error();
				ev_io_stop(loop, &s->io);
				return;
			}
		}
	}
	if (s->hs_done)
		srv_io(s);
	srv_watch(s);
}

static void srv_start(struct srv *s, SSL_CTX *c, int fd)
{
	memset(s, 0, sizeof(*s));
	s->fd = fd;
	s->chunk = 16 * KiB;
	s->ssl = SSL_new(c);
	SSL_set_fd(s->ssl, fd);
	SSL_set_accept_state(s->ssl);
	ev_io_init(&s->io, srv_cb, fd, 0);
	s->io.data = s;
	srv_watch(s);
}

static void srv_free(struct srv *s)
{
	ev_io_stop(loop, &s->io);
	SSL_free(s->ssl);
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

/* --- the client: a driver as the dialer and a relay would be ------------------------- */

struct cli {
	struct stream st;
	int hs;               /* 0 pending, 1 done, -1 failed */
	int hs_events;        /* the fd's events asked for during the handshake */
	char err[512];
	uint32_t seed_out, seed_in;
	uint64_t to_send, sent, recvd, bad;
	size_t rd_chunk;      /* bytes per read */
	int shut_when_sent, shut, eof, rerr, werr, reading;
	unsigned long calls, fed;
};

static void cli_watch(struct cli *c)
{
	int ev = 0;
	if (c->hs == 0) {
		stream_watch(loop, &c->st, c->hs_events);
		return;
	}
	if (c->hs < 0 || c->st.fd < 0)
		return;
	if (c->sent == c->to_send && c->shut_when_sent && !c->shut) {
		CHECK_EQ_INT(stream_shutdown_wr(&c->st), 0);
		c->shut = 1;
	}
	if (c->reading && !c->eof && !c->rerr)
		ev |= EV_READ;
	if (c->sent < c->to_send && !c->werr)
		ev |= EV_WRITE;
	stream_watch(loop, &c->st, ev);
}

/* One read and one writev per event, on purpose: what OpenSSL holds must be announced. */
static void cli_cb(struct ev_loop *l, ev_io *w, int revents)
{
	struct cli *c = w->data;
	(void)l;
	c->calls++;
	if (c->hs == 0) {
		c->hs = tls_handshake(&c->st, &c->hs_events, c->err, sizeof(c->err));
		cli_watch(c);
		return;
	}
	if ((revents & EV_WRITE) && c->sent < c->to_send) {
		uint8_t data[1000];
		uint64_t left = c->to_send - c->sent;
		size_t n = left < sizeof(data) ? (size_t)left : sizeof(data);
		fill_pat(data, n, c->seed_out, c->sent);
		size_t a = n < 100 ? n : 100, b = n - a < 300 ? n - a : 300;
		struct iovec iov[3] = {{data, a}, {data + a, b}, {data + a + b, n - a - b}};
		ssize_t r = stream_writev(&c->st, iov, 3);
		if (r > 0)
			c->sent += (uint64_t)r;
		else if (r != STREAM_AGAIN)
			c->werr = (int)-r;
	}
	if (revents & EV_READ) {
		uint8_t buf[16 * KiB];
		size_t want = c->rd_chunk ? c->rd_chunk : sizeof(buf);
		ssize_t r = stream_read(&c->st, buf, want);
		if (r > 0) {
			for (ssize_t i = 0; i < r; i++)
				c->bad += buf[i] != pat(c->seed_in, c->recvd + (uint64_t)i);
			c->recvd += (uint64_t)r;
		} else if (r == 0) {
			c->eof = 1;
		} else if (r != STREAM_AGAIN) {
			c->rerr = (int)-r;
		}
	}
	cli_watch(c);
}

/* A client stream over fd, its handshake started (as the dialer would: tls_start, then
 * tls_handshake at once and on every event). */
static int cli_start(struct cli *c, struct tls_ctx *ctx, int fd, const char *host)
{
	memset(c, 0, sizeof(*c));
	c->reading = 1;
	stream_init_fd(&c->st, fd, cli_cb, c);
	stream_watch(loop, &c->st, EV_WRITE); /* watched, as after a connect */
	if (tls_start(&c->st, ctx, host, c->err, sizeof(c->err)) < 0) {
		stream_close(loop, &c->st);
		return -1;
	}
	c->hs = tls_handshake(&c->st, &c->hs_events, c->err, sizeof(c->err));
	cli_watch(c);
	return 0;
}

/* One connection: client on ctx towards a server with cert; returns the handshake's
 * result, with the client and server left for the caller (free both). */
static int connect_one(struct cli *c, struct srv *s, struct tls_ctx *ctx, SSL_CTX *sc, const char *host, int sockbuf)
{
	int fds[2];
	CHECK(make_pair(fds, sockbuf) == 0);
	srv_start(s, sc, fds[1]);
	if (cli_start(c, ctx, fds[0], host) < 0)
		return -2;
	RUN_UNTIL(c->hs != 0 && (s->hs_done || s->hs_failed || c->hs < 0), 10);
	return c->hs;
}

static void pair_free(struct cli *c, struct srv *s)
{
	stream_close(loop, &c->st);
	srv_free(s);
}

/* A client and a server over localhost with the test certificate (max_version: the
 * server's highest TLS version, 0 for any), through the handshake: the context. */
static struct tls_ctx *open_local(struct cli *c, struct srv *s, SSL_CTX **sc, int max_version, int sockbuf)
{
	char err[256];
	*sc = srv_ctx(cert_local, max_version);
	struct tls_ctx *ctx = tls_ctx_new(ca_local, 0, err, sizeof(err));
	CHECK_EQ_INT(connect_one(c, s, ctx, *sc, "localhost", sockbuf), 1);
	RUN_UNTIL(s->hs_done, 5);
	return ctx;
}

static void close_local(struct cli *c, struct srv *s, struct tls_ctx *ctx, SSL_CTX *sc)
{
	pair_free(c, s);
	tls_ctx_free(ctx);
	SSL_CTX_free(sc);
}

/* --- the tests ------------------------------------------------------------------------ */

static void expect_fail(struct tls_ctx *ctx, SSL_CTX *sc, const char *host, const char *want)
{
	struct cli c;
	struct srv s;
	fprintf(stderr, "handshake to %s fails: %s\n", host, want);
	CHECK_EQ_INT(connect_one(&c, &s, ctx, sc, host, 0), -1);
	if (strcmp(c.err, want) != 0)
		fprintf(stderr, "  got: %s\n", c.err);
	CHECK_EQ_STR(c.err, want);
	pair_free(&c, &s);
}

static void expect_ok(struct tls_ctx *ctx, SSL_CTX *sc, const char *host, const char *sni)
{
	struct cli c;
	struct srv s;
	fprintf(stderr, "handshake to %s works\n", host);
	CHECK_EQ_INT(connect_one(&c, &s, ctx, sc, host, 0), 1);
	if (c.hs < 0)
		fprintf(stderr, "  got: %s\n", c.err);
	RUN_UNTIL(s.hs_done, 5);
	CHECK(s.hs_done);
	const char *got = SSL_get_servername(s.ssl, TLSEXT_NAMETYPE_host_name);
	if (sni == NULL)
		CHECK(got == NULL);
	else
		CHECK_EQ_STR(got, sni);
	CHECK_EQ_INT(stream_raw_fd(&c.st), -1);
	pair_free(&c, &s);
}

static void test_verify(void)
{
	char err[256];
	SSL_CTX *sc = srv_ctx(cert_local, 0);
	SSL_CTX *sleaf = srv_ctx(cert_leaf, 0);
	struct tls_ctx *with_ca = tls_ctx_new(ca_local, 0, err, sizeof(err));
	struct tls_ctx *system = tls_ctx_new(NULL, 0, err, sizeof(err));
	struct tls_ctx *insecure = tls_ctx_new(NULL, 1, err, sizeof(err));
	CHECK(with_ca && system && insecure);

	expect_ok(with_ca, sc, "localhost", "localhost");
	expect_ok(with_ca, sc, "127.0.0.1", NULL); /* no SNI for an address; the address checked */
	expect_ok(insecure, sc, "other.example", "other.example");
	expect_ok(insecure, sleaf, "localhost", "localhost");
	expect_fail(system, sc, "localhost",
		    "certificate verify failed: self-signed certificate (subject CN=localhost, issuer CN=localhost)");
	expect_fail(with_ca, sc, "other.example",
		    "hostname mismatch: certificate for CN=localhost (DNS:localhost, IP:127.0.0.1), not other.example");
	expect_fail(with_ca, sc, "[::1]",
		    "address mismatch: certificate for CN=localhost (DNS:localhost, IP:127.0.0.1), not ::1");
	expect_fail(with_ca, sleaf, "leaf.test",
		    "certificate verify failed: unable to get local issuer certificate (subject CN=leaf.test, issuer CN=Test CA)");

	/* the CA that issued it: verified */
	struct tls_ctx *by_ca = tls_ctx_new(ca_ca, 0, err, sizeof(err));
	CHECK(by_ca != NULL);
	expect_ok(by_ca, sleaf, "leaf.test", "leaf.test");

	CHECK(tls_ctx_new("/nonexistent/ca.pem", 0, err, sizeof(err)) == NULL);
	CHECK(strncmp(err, "cannot load CA file /nonexistent/ca.pem: ", 41) == 0);

	tls_ctx_free(by_ca);
	tls_ctx_free(with_ca);
	tls_ctx_free(system);
	tls_ctx_free(insecure);
	SSL_CTX_free(sc);
	SSL_CTX_free(sleaf);
}

/* A peer that is not TLS (talk), or that closes: at once (mode 0) or once the ClientHello
 * came (mode 1). */
static void raw_peer(const char *talk, int mode, const char *want)
{
	char err[256], hello[4096];
	struct tls_ctx *ctx = tls_ctx_new(ca_local, 0, err, sizeof(err));
	struct cli c;
	int fds[2];
	fprintf(stderr, "handshake with a peer that %s\n", talk ? "talks HTTP" : mode ? "reads, then closes" : "closes");
	CHECK(make_pair(fds, 0) == 0);
	if (talk != NULL)
		CHECK(write(fds[1], talk, strlen(talk)) == (ssize_t)strlen(talk));
	else if (mode == 0)
		close(fds[1]);
	CHECK_EQ_INT(cli_start(&c, ctx, fds[0], "localhost"), 0);
	if (talk == NULL && mode == 1) {
		CHECK(read(fds[1], hello, sizeof(hello)) > 0);
		close(fds[1]);
	}
	RUN_UNTIL(c.hs != 0, 5);
	CHECK_EQ_INT(c.hs, -1);
	if (strcmp(c.err, want) != 0)
		fprintf(stderr, "  got: %s\n", c.err);
	CHECK_EQ_STR(c.err, want);
	stream_close(loop, &c.st);
	if (talk != NULL)
		close(fds[1]);
	tls_ctx_free(ctx);
}

static void test_resumption(int max_version)
{
	char err[256];
	SSL_CTX *sc = srv_ctx(cert_local, max_version);
	struct tls_ctx *ctx = tls_ctx_new(ca_local, 0, err, sizeof(err));
	fprintf(stderr, "resumption, %s\n", max_version ? "TLS 1.2" : "TLS 1.3");
	for (int i = 0; i < 4; i++) {
		struct cli c;
		struct srv s;
		CHECK_EQ_INT(connect_one(&c, &s, ctx, sc, "localhost", 0), 1);
		RUN_UNTIL(s.hs_done, 5);
		/* a little data: the client's reads take in the tickets sent after the handshake */
		s.seed_out = 7;
		s.to_send = 100;
		c.seed_in = 7;
		srv_watch(&s);
		cli_watch(&c);
		RUN_UNTIL(c.recvd == 100, 5);
		CHECK_EQ_INT(c.recvd, 100);
		CHECK_EQ_INT(c.bad, 0);
		CHECK_EQ_INT(tls_resumed(&c.st), i > 0);
		CHECK_EQ_INT(SSL_session_reused(s.ssl), i > 0);
		CHECK_EQ_INT(SSL_version(s.ssl), max_version ? max_version : TLS1_3_VERSION);
		pair_free(&c, &s);
	}
	/* another name gets no session of this one's */
	struct cli c;
	struct srv s;
	CHECK_EQ_INT(connect_one(&c, &s, ctx, sc, "127.0.0.1", 0), 1);
	CHECK_EQ_INT(tls_resumed(&c.st), 0);
	/* the owner lets the context go (a reload) while a stream still uses it: the tickets
	 * that come now are kept in it, and the stream's close frees it */
	tls_ctx_free(ctx);
	RUN_UNTIL(s.hs_done, 5);
	s.to_send = 100;
	srv_watch(&s);
	cli_watch(&c);
	RUN_UNTIL(c.recvd == 100, 5);
	CHECK_EQ_INT(c.recvd, 100);
	pair_free(&c, &s);
	struct stream plain;
	stream_init_none(&plain, NULL, NULL);
	CHECK_EQ_INT(tls_resumed(&plain), 0);
	SSL_CTX_free(sc);
}

/* 1 MiB each way at once: the client reads 1000 bytes and writes 1000 (as three iovs) per
 * event, the sockets' buffers are small; then close_notify each way. */
static void test_bulk(int max_version)
{
	struct cli c;
	struct srv s;
	const uint64_t n = MiB;
	fprintf(stderr, "1 MiB each way, small reads and writes, %s\n", max_version ? "TLS 1.2" : "TLS 1.3");
	SSL_CTX *sc;
	struct tls_ctx *ctx = open_local(&c, &s, &sc, max_version, 4096);
	/* before anything is read: nothing pending */
	CHECK_EQ_INT(stream_pending(&c.st), 0);
	c.seed_out = s.seed_in = 1;
	c.seed_in = s.seed_out = 2;
	c.to_send = s.to_send = n;
	c.rd_chunk = 1000;
	c.shut_when_sent = s.shut_when_sent = 1;
	srv_watch(&s);
	cli_watch(&c);
	RUN_UNTIL(c.eof && s.eof, 60);
	CHECK_EQ_INT(c.sent, n);
	CHECK_EQ_INT(s.recvd, n);
	CHECK_EQ_INT(c.recvd, n);
	CHECK_EQ_INT(s.bad, 0);
	CHECK_EQ_INT(c.bad, 0);
	CHECK(c.eof && s.eof); /* close_notify both ways -> 0 */
	CHECK_EQ_INT(c.rerr, 0);
	CHECK_EQ_INT(c.werr, 0);
	CHECK_EQ_INT(s.err, 0);
	fprintf(stderr, "  %lu client callbacks\n", c.calls);
	close_local(&c, &s, ctx, sc);
}

/* A 16 KiB record read 10 bytes at a time: the rest is pending, and a driver watching for
 * reading hears of it though the fd is quiet.  Then the server closes without
 * close_notify: the end of the stream all the same. */
static void test_pending(void)
{
	struct cli c;
	struct srv s;
	fprintf(stderr, "pending bytes, then a bare EOF\n");
	SSL_CTX *sc;
	struct tls_ctx *ctx = open_local(&c, &s, &sc, 0, 0);
	char tiny[10];
	CHECK_EQ_INT(stream_read(&c.st, tiny, sizeof(tiny)), STREAM_AGAIN);
	s.seed_out = c.seed_in = 3;
	s.to_send = 16 * KiB;
	srv_watch(&s);
	c.reading = 0;
	cli_watch(&c);
	RUN_UNTIL(s.sent == s.to_send, 5);
	CHECK_EQ_INT(s.sent, 16 * KiB);
	ssize_t r;
	ev_tstamp until = ev_time() + 5;
	do
		r = stream_read(&c.st, tiny, sizeof(tiny));
	while (r == STREAM_AGAIN && ev_time() < until); /* the record may come in pieces */
	CHECK_EQ_INT(r, 10);
	for (int i = 0; i < 10; i++)
		c.bad += (uint8_t)tiny[i] != pat(3, (uint64_t)i);
	c.recvd = 10;
	CHECK_EQ_INT(stream_pending(&c.st), 16 * KiB - 10);
	c.rd_chunk = 10;
	c.reading = 1;
	unsigned long before = c.calls;
	cli_watch(&c); /* the fd has nothing more: only the stream can tell */
	RUN_UNTIL(c.recvd == 16 * KiB || c.rerr, 5);
	CHECK_EQ_INT(c.recvd, 16 * KiB);
	CHECK_EQ_INT(c.bad, 0);
	CHECK(c.calls - before >= 16 * KiB / 10 - 1);
	CHECK_EQ_INT(stream_pending(&c.st), 0);
	ev_io_stop(loop, &s.io);
	close(s.fd); /* no close_notify */
	s.fd = -1;
	RUN_UNTIL(c.eof || c.rerr, 5);
	CHECK(c.eof);
	CHECK_EQ_INT(c.rerr, 0);
	close_local(&c, &s, ctx, sc);
}

/* A quiet connection gives its record buffers back (read-ahead's 64 KiB and a record's
 * worth for writing) once it has been quiet for a second, not after every record (which
 * made every copy into a new buffer slow), and works on afterwards. */
static void test_trim(void)
{
	if (OpenSSL_version_num() < 0x300000e0L) { /* RELEASE_BUFFERS there: nothing to see */
		fprintf(stderr, "idle buffers: skipped (OpenSSL before 3.0.14)\n");
		return;
	}
	struct cli c;
	struct srv s;
	fprintf(stderr, "idle buffers go after a quiet second, not before\n");
	SSL_CTX *sc;
	struct tls_ctx *ctx = open_local(&c, &s, &sc, 0, 0);
	c.seed_out = s.seed_in = 5;
	c.seed_in = s.seed_out = 6;
	c.to_send = s.to_send = 64 * KiB;
	srv_watch(&s);
	cli_watch(&c);
	RUN_UNTIL(c.recvd == 64 * KiB && s.recvd == 64 * KiB, 10);
	CHECK_EQ_INT(c.recvd, 64 * KiB);
	size_t held = ossl_in_use;
	RUN_UNTIL(0, 0.5);
	size_t mid = ossl_in_use;
	RUN_UNTIL(0, 1.0);
	size_t after = ossl_in_use;
	fprintf(stderr, "  OpenSSL's heap: %zu, after 0.5 s %zu, after 1.5 s %zu\n", held, mid, after);
	CHECK(mid + 16 * KiB > held);    /* still held while the connection may be busy */
	CHECK(after + 64 * KiB <= held); /* gone once quiet */
	c.to_send = s.to_send = 128 * KiB;
	srv_watch(&s);
	cli_watch(&c);
	RUN_UNTIL(c.recvd == 128 * KiB && s.recvd == 128 * KiB, 10);
	CHECK_EQ_INT(c.recvd, 128 * KiB);
	CHECK_EQ_INT(s.recvd, 128 * KiB);
	CHECK_EQ_INT(c.bad + s.bad, 0);
	CHECK_EQ_INT(c.rerr + c.werr + s.err, 0);
	close_local(&c, &s, ctx, sc);
}

/* A write of more than a record gathers its records and sends them at once; what the
 * socket does not take stays unsent (shown by stream_unsent), goes out by itself when the
 * socket has room though the driver only reads, and goes before the next write's bytes. */
static void test_gathered(void)
{
	struct cli c;
	struct srv s;
	static uint8_t data[80 * KiB];
	fprintf(stderr, "a write of several records: one send, the rest unsent until room\n");
	SSL_CTX *sc;
	struct tls_ctx *ctx = open_local(&c, &s, &sc, 0, 4096);
	s.paused = 1;
	srv_watch(&s);
	c.seed_in = s.seed_out = 8;
	s.seed_in = 7;
	fill_pat(data, sizeof(data), 7, 0);
	ssize_t w = stream_write(&c.st, data, sizeof(data));
	fprintf(stderr, "  took %zd of %zu, unsent %zu\n", w, sizeof(data), stream_unsent(&c.st));
	CHECK(w > 16 * (ssize_t)KiB && w < (ssize_t)sizeof(data)); /* several records, not all */
	CHECK(stream_unsent(&c.st) > 0);
	/* nothing more while bytes wait: the next write says so, and takes nothing */
	CHECK_EQ_INT(stream_write(&c.st, data + w, sizeof(data) - (size_t)w), STREAM_AGAIN);
	c.sent = (uint64_t)w;
	c.to_send = c.sent; /* the driver only reads from now on */
	cli_watch(&c);
	s.paused = 0;
	srv_watch(&s);
	RUN_UNTIL(s.recvd == c.sent, 10);
	CHECK_EQ_INT(s.recvd, c.sent);
	CHECK_EQ_INT(stream_unsent(&c.st), 0);
	/* the rest, through the driver's writes: in order after the first */
	c.seed_out = 7;
	c.to_send = sizeof(data);
	cli_watch(&c);
	RUN_UNTIL(s.recvd == sizeof(data), 10);
	CHECK_EQ_INT(s.recvd, sizeof(data));
	CHECK_EQ_INT(s.bad, 0);
	CHECK_EQ_INT(c.werr + s.err, 0);
	CHECK_EQ_INT(stream_unsent(&c.st), 0);
	close_local(&c, &s, ctx, sc);
}

/* The server asks for a key update (RFC 8446 §4.6.3) while the client's writes are
 * blocked: the client's read must send its own KeyUpdate, so it waits for the fd to be
 * writable, and the stream must tell its driver EV_READ when it is. */
static void test_key_update(void)
{
	struct cli c;
	struct srv s;
	const uint64_t n = 256 * KiB;
	fprintf(stderr, "key update while the client's writes are blocked\n");
	SSL_CTX *sc;
	struct tls_ctx *ctx = open_local(&c, &s, &sc, 0, 4096);
	s.paused = 1;
	srv_watch(&s);
	c.seed_out = s.seed_in = 5;
	c.seed_in = s.seed_out = 6;
	c.to_send = n;
	cli_watch(&c);
	uint64_t last = 0;
	for (int i = 0; i < 100; i++) { /* until the client is stuck */
		RUN_UNTIL(0, 0.01);
		if (i > 3 && c.sent == last)
			break;
		last = c.sent;
	}
	CHECK(c.sent < n);
	CHECK_EQ_INT(c.st.events, EV_READ | EV_WRITE);
	CHECK_EQ_INT(SSL_key_update(s.ssl, SSL_KEY_UPDATE_REQUESTED), 1);
	s.to_send = 1000;
	srv_watch(&s);
	RUN_UNTIL(s.sent == s.to_send, 5);
	RUN_UNTIL(0, 0.05);
	fprintf(stderr, "  client recvd %llu, rerr %d werr %d, fd events %d\n", (unsigned long long)c.recvd, c.rerr, c.werr,
		c.st.events);
	s.paused = 0;
	srv_watch(&s);
	RUN_UNTIL((s.recvd == n && c.recvd == 1000) || c.rerr || c.werr || s.err, 10);
	CHECK_EQ_INT(s.recvd, n);
	CHECK_EQ_INT(c.recvd, 1000);
	CHECK_EQ_INT(c.bad, 0);
	CHECK_EQ_INT(s.bad, 0);
	CHECK_EQ_INT(c.rerr, 0);
	CHECK_EQ_INT(c.werr, 0);
	CHECK_EQ_INT(s.err, 0);
	close_local(&c, &s, ctx, sc);
}

/* Before the handshake is done the stream moves no bytes; closing it then, or handing its
 * fd out, frees what TLS holds (valgrind and ASan tell). */
static void test_early(void)
{
	char err[256];
	struct tls_ctx *ctx = tls_ctx_new(ca_local, 0, err, sizeof(err));
	struct cli c;
	int fds[2];
	char b[4];
	fprintf(stderr, "before the handshake\n");
	CHECK(make_pair(fds, 0) == 0);
	CHECK_EQ_INT(cli_start(&c, ctx, fds[0], "localhost"), 0);
	CHECK_EQ_INT(c.hs, 0);
	CHECK_EQ_INT(c.hs_events, EV_READ); /* the ClientHello went out */
	CHECK_EQ_INT(stream_read(&c.st, b, sizeof(b)), -ENOTCONN);
	CHECK_EQ_INT(stream_write(&c.st, "x", 1), -ENOTCONN);
	CHECK_EQ_INT(stream_shutdown_wr(&c.st), -ENOTCONN);
	CHECK_EQ_INT(stream_pending(&c.st), 0);
	CHECK(tls_start(&c.st, ctx, "localhost", err, sizeof(err)) < 0); /* already TLS */
	int fd = stream_release_fd(loop, &c.st);
	CHECK_EQ_INT(fd, fds[0]);
	CHECK(fcntl(fd, F_GETFD) >= 0); /* still open */
	CHECK(c.st.impl == NULL);
	stream_close(loop, &c.st); /* a no-op now */
	close(fd);
	/* closed during the handshake */
	CHECK_EQ_INT(cli_start(&c, ctx, fds[1], "localhost"), 0);
	stream_close(loop, &c.st);
	stream_close(loop, &c.st);
	CHECK(tls_start(&c.st, ctx, "localhost", err, sizeof(err)) < 0); /* no fd */
	CHECK_EQ_INT(tls_handshake(&c.st, &fd, err, sizeof(err)), -1);
	tls_ctx_free(ctx);
}

/* --- the relay over TLS ------------------------------------------------------------- */

/* The test's plain end of the pump's side A. */
struct end {
	int fd;
	ev_io io;
	uint32_t seed_out, seed_in;
	uint64_t to_send, sent, recvd, bad;
	int send_after_eof, shut, eof, err;
};

static void end_watch(struct end *e)
{
	int ev = 0;
	if (!e->eof && !e->err)
		ev |= EV_READ;
	if (!e->shut && !e->err && (!e->send_after_eof || e->eof))
		ev |= EV_WRITE;
	ev_io_stop(loop, &e->io);
	if (ev) {
		ev_io_set(&e->io, e->fd, ev);
		ev_io_start(loop, &e->io);
	}
}

static void end_cb(struct ev_loop *l, ev_io *w, int revents)
{
	struct end *e = w->data;
	static uint8_t buf[64 * KiB];
	(void)l;
	if ((revents & EV_WRITE) && !e->shut) {
		while (e->sent < e->to_send) {
			size_t n = e->to_send - e->sent < sizeof(buf) ? (size_t)(e->to_send - e->sent) : sizeof(buf);
			fill_pat(buf, n, e->seed_out, e->sent);
			ssize_t k = send(e->fd, buf, n, MSG_NOSIGNAL);
			if (k <= 0) {
				if (errno != EAGAIN && errno != EINTR)
					e->err = errno;
				break;
			}
			e->sent += (uint64_t)k;
		}
		if (e->sent == e->to_send) {
			CHECK(shutdown(e->fd, SHUT_WR) == 0);
			e->shut = 1;
		}
	}
	if (revents & EV_READ) {
		for (;;) {
			ssize_t n = recv(e->fd, buf, sizeof(buf), 0);
			if (n > 0) {
				for (ssize_t i = 0; i < n; i++)
					e->bad += buf[i] != pat(e->seed_in, e->recvd + (uint64_t)i);
				e->recvd += (uint64_t)n;
				continue;
			}
			if (n == 0)
				e->eof = 1;
			else if (errno != EAGAIN && errno != EINTR)
				e->err = errno;
			break;
		}
	}
	end_watch(e);
}

struct prig {
	struct pump pump;
	int done_calls;
	enum pump_end end;
	int err;
};

static void pump_done_cb(struct pump *p, enum pump_end end, int err)
{
	struct prig *r = (struct prig *)(void *)p;
	r->done_calls++;
	r->end = end;
	r->err = err;
	pump_stop(p);
}

/* order 0: both ends send at once; 1: the plain end first, the TLS server only after its
 * close_notify came; 2: the TLS server first, the plain end after the end of its stream. */
static void test_pump(int order, int max_version, size_t bufsize, int sockbuf)
{
	static const char *const names[] = {"both at once", "plain side first", "TLS side first"};
	char err[256];
	const uint64_t n = 4 * MiB;
	struct bufpool pool;
	struct pipepool pipes;
	unsigned ntunnels = 1;
	struct pump_ctx pctx;
	struct stream sa;
	struct end ea;
	struct cli c;
	struct srv s;
	struct prig r;
	int a[2];

	fprintf(stderr, "pump between a plain socket and TLS (%s), 4 MiB each way, %s, %zu KiB buffers%s\n",
		max_version ? "TLS 1.2" : "TLS 1.3", names[order], bufsize / KiB,
		sockbuf ? ", small socket buffers" : "");
	SSL_CTX *sc = srv_ctx(cert_local, max_version);
	struct tls_ctx *ctx = tls_ctx_new(ca_local, 0, err, sizeof(err));
	CHECK(bufpool_init(&pool, bufsize, 4) == 0);
	pipepool_init(&pipes, 64, 0, 16, &ntunnels, 0, 0); /* there, but a TLS side cannot splice */
	pctx.loop = loop;
	pctx.pool = &pool;
	pctx.pipes = &pipes;
	CHECK(make_pair(a, 0) == 0);
	CHECK_EQ_INT(connect_one(&c, &s, ctx, sc, "localhost", sockbuf), 1);
	RUN_UNTIL(s.hs_done, 5);

	memset(&ea, 0, sizeof(ea));
	ea.fd = a[0];
	ev_io_init(&ea.io, end_cb, ea.fd, 0);
	ea.io.data = &ea;
	stream_init_fd(&sa, a[1], NULL, NULL);
	ea.seed_out = s.seed_in = 11;
	ea.seed_in = s.seed_out = 12;
	ea.to_send = s.to_send = n;
	s.shut_when_sent = 1;
	ea.send_after_eof = order == 2;
	s.send_after_eof = order == 1;
	memset(&r, 0, sizeof(r));
	struct buf none_a = {NULL, 0, 0}, none_b = {NULL, 0, 0};
	pump_start(&r.pump, &pctx, &sa, &c.st, &none_a, &none_b, 0, pump_done_cb);
	end_watch(&ea);
	srv_watch(&s);
	ev_tstamp t0 = ev_time();
	RUN_UNTIL(r.done_calls > 0 && ea.eof && s.eof, 20);
	fprintf(stderr, "  done in %.3f s (server and relay on one core)\n", ev_time() - t0);
	if (!(r.done_calls > 0 && ea.eof && s.eof))
		fprintf(stderr, "  stuck: done %d end sent %llu recvd %llu eof %d shut %d; srv sent %llu recvd %llu eof %d err %d "
			"shut %d; pump eof %d %d shut %d %d pending %llu %llu; client fd events %d\n",
			r.done_calls, (unsigned long long)ea.sent, (unsigned long long)ea.recvd, ea.eof, ea.shut,
			(unsigned long long)s.sent, (unsigned long long)s.recvd, s.eof, s.err, s.shut_sent, r.pump.eof[0],
			r.pump.eof[1], r.pump.shut[0], r.pump.shut[1], (unsigned long long)pump_pending(&r.pump, 0),
			(unsigned long long)pump_pending(&r.pump, 1), c.st.events);
	CHECK_EQ_INT(r.done_calls, 1);
	CHECK_EQ_INT(r.end, PUMP_CLOSED);
	CHECK_EQ_INT(ea.sent, n);
	CHECK_EQ_INT(s.recvd, n);
	CHECK_EQ_INT(s.bad, 0);
	CHECK_EQ_INT(s.sent, n);
	CHECK_EQ_INT(ea.recvd, n);
	CHECK_EQ_INT(ea.bad, 0);
	CHECK(ea.eof && s.eof);
	CHECK_EQ_INT(ea.err, 0);
	CHECK_EQ_INT(s.err, 0);
	CHECK_EQ_INT(r.pump.dir[0].bytes, n);
	CHECK_EQ_INT(r.pump.dir[1].bytes, n);
	CHECK_EQ_INT(pipes.taken, 0);
	CHECK_EQ_INT(pool.in_use, 0);

	ev_io_stop(loop, &ea.io);
	close(ea.fd);
	stream_close(loop, &sa);
	pair_free(&c, &s);
	pipepool_drain(&pipes);
	bufpool_destroy(&pool);
	tls_ctx_free(ctx);
	SSL_CTX_free(sc);
}

int main(void)
{
	/* before OpenSSL allocates anything */
	CHECK(CRYPTO_set_mem_functions(count_malloc, count_realloc, count_free) == 1);
	signal(SIGPIPE, SIG_IGN);
	log_set_level(LOG_LVL_ERROR);
	loop = ev_default_loop(0);
	ev_timer_init(&tick, tick_cb, 0.02, 0.02);
	ev_timer_start(loop, &tick);
	make_keys();

	test_verify();
	raw_peer("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", 0, "protocol: wrong version number");
	raw_peer(NULL, 0, "connection failed during the handshake: Broken pipe");
	raw_peer(NULL, 1, "connection closed during the handshake");
	test_resumption(0);
	test_resumption(TLS1_2_VERSION);
	test_bulk(0);
	test_bulk(TLS1_2_VERSION);
	test_pending();
	test_trim();
	test_gathered();
	test_key_update();
	test_early();
	for (int order = 0; order < 3; order++)
		test_pump(order, 0, 16 * KiB, 0);
	test_pump(0, TLS1_2_VERSION, 16 * KiB, 0);
	/* several records per write, sent while the socket takes only part of them */
	for (int order = 0; order < 3; order++)
		test_pump(order, 0, 64 * KiB, 4096);
	test_pump(0, TLS1_2_VERSION, 64 * KiB, 4096);

	unlink(ca_local);
	unlink(ca_ca);
	X509_free(cert_local);
	X509_free(cert_ca);
	X509_free(cert_leaf);
	EVP_PKEY_free(key);
	ev_timer_stop(loop, &tick);
	ev_loop_destroy(loop);
	return check_report();
}
