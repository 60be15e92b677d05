/* tls: client TLS streams on OpenSSL 3 (see include/tls.h). */
#include "tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "tls_int.h"
#include "wipe.h"

#define TLS_COALESCE 16384 /* small iovs are gathered into one record of at most this */
#define TLS_TRIM_AFTER 1.0 /* seconds without a wait before an idle connection's buffers go */

struct tls_ctx {
	SSL_CTX *ssl;
	BIO_METHOD *wmeth;  /* every connection's write side (tls_out.c) */
	int insecure;
	int free_idle;      /* SSL_free_buffers once idle (else RELEASE_BUFFERS: after every record) */
	unsigned refs;      /* the owner's and one per stream: a reload may free it before them */
	struct tls_store store; /* sessions to resume */
};

/* The state of one TLS stream (stream.impl). */
struct tls_conn {
	SSL *ssl;
	struct tls_ctx *ctx;
	void (*cb)(struct ev_loop *, ev_io *, int); /* the driver's */
	struct ev_loop *loop; /* from stream_watch, to re-arm the fd from read and write */
	int want;             /* the driver's events: the fd's during the handshake, logical after */
	uint8_t open;         /* the handshake is done */
	uint8_t rd_needs;     /* what the last SSL_read waits for (EV_READ or EV_WRITE); 0: nothing */
	uint8_t wr_needs;     /* ... the last SSL_write */
	uint8_t shut_pending; /* close_notify waits for room in the socket */
	uint8_t failed;       /* a fatal error: the session must not be resumed */
	uint8_t resumed;
	uint8_t end_behind;   /* a read returned data and then met the end (or an error): next */
	struct tls_out out;   /* records a write took and has not yet sent */
	int out_err;          /* sending out failed: every later write fails with it */
	ev_timer trim;        /* frees out, and OpenSSL's buffers (free_idle), once quiet */
	ev_tstamp busy;       /* loop time of the last wait (tls_watch) */
	X509 *vcert;          /* the certificate the verification first failed on (a reference) */
	int verr;             /* ... and why */
	char host[TLS_HOST_MAX + 1];
};

static const struct stream_ops tls_ops;
static size_t tls_pending(const struct stream *s);

/* OpenSSL hands over every new session (a TLS 1.3 ticket, or the session of a full TLS 1.2
 * handshake): keep it (returning 1 keeps the reference). */
static int new_session_cb(SSL *ssl, SSL_SESSION *sess)
{
	struct tls_conn *t = SSL_get_app_data(ssl);
	if (t == NULL || !SSL_SESSION_is_resumable(sess))
		return 0;
	tls_store_put(&t->ctx->store, t->host, sess);
	return 1;
}

/* Notes the first certificate the chain's verification fails on, for the error line. */
static int verify_cb(int ok, X509_STORE_CTX *x)
{
	if (ok)
		return 1;
	SSL *ssl = X509_STORE_CTX_get_ex_data(x, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct tls_conn *t = ssl ? SSL_get_app_data(ssl) : NULL;
	if (t != NULL && t->verr == 0) {
		t->verr = X509_STORE_CTX_get_error(x);
		X509 *cert = X509_STORE_CTX_get_current_cert(x);
		if (cert != NULL && X509_up_ref(cert))
			t->vcert = cert;
	}
	return 0;
}

struct tls_ctx *tls_ctx_new(const char *cafile, int insecure, char *err, size_t errlen)
{
	char why[160];
	struct tls_ctx *c = calloc(1, sizeof(*c));
	ERR_clear_error();
	if (c == NULL || (c->ssl = SSL_CTX_new(TLS_client_method())) == NULL) {
		tls_openssl_reason(why, sizeof(why));
		snprintf(err, errlen, "cannot make a TLS context: %s", c ? why : "out of memory");
		free(c);
		return NULL;
	}
	c->insecure = insecure != 0;
	c->refs = 1;
	if ((c->wmeth = tls_out_method()) == NULL) {
		snprintf(err, errlen, "cannot make a TLS context: out of memory");
		tls_ctx_free(c);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(c->ssl, TLS1_2_VERSION);
	/* the relay retries a write with the same bytes, perhaps moved, perhaps more of them */
	SSL_CTX_set_mode(c->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* An idle connection holds no record buffers (about 85 KiB).  RELEASE_BUFFERS frees them
	 * after every record: a malloc and free of each per 16 KiB, and each new buffer
	 * placed anew (one placed a few bytes past the relay buffer's page offset made
	 * OpenSSL's copy ten times slower: see bufpool.c).  So they are freed once the
	 * connection has been quiet for TLS_TRIM_AFTER (trim_cb).  SSL_free_buffers could
	 * free a half-read record before 3.0.14 (CVE-2024-4741): RELEASE_BUFFERS there. */
	c->free_idle = OpenSSL_version_num() >= 0x300000e0L;
	if (!c->free_idle)
		SSL_CTX_set_mode(c->ssl, SSL_MODE_RELEASE_BUFFERS);
	/* read what the socket has, several records at a time: one read, not two per record */
	SSL_CTX_set_read_ahead(c->ssl, 1);
	SSL_CTX_set_default_read_buffer_len(c->ssl, 64 * 1024);
	/* a proxy closing without close_notify ends the stream, as a TCP close would; no
	 * renegotiation (a write that must read, a read that must write, mid-stream) */
	SSL_CTX_set_options(c->ssl, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_session_cache_mode(c->ssl, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(c->ssl, new_session_cb);
	SSL_CTX_set_verify(c->ssl, c->insecure ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, c->insecure ? NULL : verify_cb);
	if (c->insecure)
		return c;
	if (!(cafile ? SSL_CTX_load_verify_locations(c->ssl, cafile, NULL) : SSL_CTX_set_default_verify_paths(c->ssl))) {
		tls_openssl_reason(why, sizeof(why));
		snprintf(err, errlen, "cannot load %s%s: %s", cafile ? "CA file " : "the system's CA certificates",
			 cafile ? cafile : "", why);
		ERR_clear_error();
		tls_ctx_free(c);
		return NULL;
	}
	return c;
}

void tls_ctx_free(struct tls_ctx *c)
{
	if (c == NULL || --c->refs > 0)
		return;
	tls_store_clear(&c->store);
	SSL_CTX_free(c->ssl);
	BIO_meth_free(c->wmeth);
	free(c);
}

/* Watching: the driver's wishes -> the fd's events. */
static int fd_events(const struct tls_conn *t)
{
	if (!t->open)
		return t->want;
	int ev = 0;
	if (t->want & EV_READ)
		ev |= t->rd_needs ? t->rd_needs : EV_READ;
	if (t->want & EV_WRITE)
		ev |= t->wr_needs ? t->wr_needs : EV_WRITE;
	if (t->shut_pending || tls_out_unsent(&t->out) > 0)
		ev |= EV_WRITE;
	return ev;
}

static void rearm(struct stream *s)
{
	struct tls_conn *t = s->impl;
	int ev = s->fd >= 0 ? fd_events(t) : 0;
	if (ev == s->events || t->loop == NULL)
		return;
	ev_io_stop(t->loop, &s->io);
	s->events = ev;
	if (ev) {
		ev_io_set(&s->io, s->fd, ev);
		ev_io_start(t->loop, &s->io);
	}
}

/* Sending what out holds failed: its bytes are dropped, the session is not resumed, and
 * every later write fails with err. */
static void out_failed(struct tls_conn *t, int err)
{
	t->out_err = err;
	t->failed = 1;
	t->out.off = t->out.len = 0;
}

/* Quiet for TLS_TRIM_AFTER: the buffers go, unless they hold bytes (then later). */
static void trim_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct tls_conn *t = w->data;
	ev_tstamp left = t->busy + TLS_TRIM_AFTER - ev_now(loop);
	(void)revents;
	if (left <= 0 && tls_out_unsent(&t->out) == 0 && (!t->ctx->free_idle || SSL_free_buffers(t->ssl) == 1)) {
		tls_out_free(&t->out);
		return;
	}
	ev_timer_set(w, left > 0 ? left : TLS_TRIM_AFTER, 0.);
	ev_timer_start(loop, w);
}

static void tls_watch(struct ev_loop *loop, struct stream *s, int events)
{
	struct tls_conn *t = s->impl;
	t->loop = loop;
	t->want = events;
	rearm(s);
	if (t->open && (t->ctx->free_idle || t->out.buf != NULL)) {
		t->busy = ev_now(loop);
		if (!ev_is_active(&t->trim)) {
			ev_timer_set(&t->trim, TLS_TRIM_AFTER, 0.);
			ev_timer_start(loop, &t->trim);
		}
	}
	/* decrypted bytes the fd will not announce (libev merges this with a pending event) */
	if ((events & EV_READ) && tls_pending(s) > 0)
		ev_feed_event(loop, &s->io, EV_READ);
}

static void tls_set_cb(struct stream *s, void (*cb)(struct ev_loop *, ev_io *, int), void *data)
{
	((struct tls_conn *)s->impl)->cb = cb;
	s->io.data = data;
}

/* Sets what an operation waits for; the fd is re-armed when that changes what it needs. */
static void set_needs(struct stream *s, uint8_t *slot, int ev)
{
	if (*slot == ev)
		return;
	*slot = (uint8_t)ev;
	rearm(s);
}

/* The fd's events -> the driver's: a read waiting for the fd to be writable is told
 * EV_READ when it is, and so on.  The driver is called last: it may close the stream. */
static void tls_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct stream *s = (struct stream *)(void *)((char *)w - offsetof(struct stream, io));
	struct tls_conn *t = s->impl;

	if (!t->open) { /* the handshake: the driver calls tls_handshake on the fd's events */
		t->cb(loop, w, revents);
		return;
	}
	if (tls_out_unsent(&t->out) > 0 && (revents & EV_WRITE)) { /* what a write took, before all else */
		ssize_t f = tls_out_flush(&t->out);
		if (f < 0 && f != STREAM_AGAIN) /* the next write reports it */
			out_failed(t, (int)-f);
		if (f != STREAM_AGAIN)
			rearm(s);
	}
	if (t->shut_pending && (revents & EV_WRITE)) {
		ERR_clear_error();
		int rc = SSL_shutdown(t->ssl);
		if (rc >= 0 || SSL_get_error(t->ssl, rc) != SSL_ERROR_WANT_WRITE) {
			t->shut_pending = 0; /* sent, or given up */
			ERR_clear_error();
			rearm(s);
		}
	}
	int ev = 0;
	if ((t->want & EV_READ) && ((revents & (t->rd_needs ? t->rd_needs : EV_READ)) || tls_pending(s) > 0))
		ev |= EV_READ;
	if ((t->want & EV_WRITE) && (revents & (t->wr_needs ? t->wr_needs : EV_WRITE)))
		ev |= EV_WRITE;
	if (ev)
		t->cb(loop, w, ev);
}

/* What a failed SSL_read or SSL_write returns; *needs: what it waits for. */
static ssize_t io_result(struct stream *s, int rc, uint8_t *needs, int reading)
{
	struct tls_conn *t = s->impl;
	int en = errno;
	int e = SSL_get_error(t->ssl, rc);
	switch (e) {
	case SSL_ERROR_WANT_READ:
		set_needs(s, needs, EV_READ);
		return STREAM_AGAIN;
	case SSL_ERROR_WANT_WRITE:
		set_needs(s, needs, EV_WRITE);
		return STREAM_AGAIN;
	case SSL_ERROR_ZERO_RETURN: /* close_notify, or the TCP stream's end */
		set_needs(s, needs, 0);
		return reading ? 0 : -EPIPE;
	case SSL_ERROR_SYSCALL:
		t->failed = 1;
		ERR_clear_error();
		return en != 0 && en != EAGAIN ? -en : -EPIPE;
	default:
		t->failed = 1;
		ERR_clear_error();
		return -EPROTO;
	}
}

static ssize_t tls_read(struct stream *s, void *buf, size_t len)
{
	struct tls_conn *t = s->impl;
	size_t got = 0;
	if (!t->open)
		return -ENOTCONN;
	t->end_behind = 0;
	/* a record at a time, as long as read-ahead holds more: one read fills the buffer,
	 * so the relay writes it on in one go */
	do {
		ERR_clear_error(); /* SSL_get_error reads the thread's queue */
		size_t want = len - got > INT_MAX ? INT_MAX : len - got;
		int n = SSL_read(t->ssl, (char *)buf + got, (int)want);
		if (n <= 0) {
			ssize_t r = io_result(s, n, &t->rd_needs, 1);
			if (got == 0)
				return r;
			/* an end or error behind the data shows again on the next read, which
			 * tls_pending asks for: the fd may never announce it (a close_notify in the
			 * segment of the last data, the TCP connection left open) */
			t->end_behind = r != STREAM_AGAIN;
			return (ssize_t)got;
		}
		got += (size_t)n;
	} while (got < len && SSL_has_pending(t->ssl));
	if (t->rd_needs)
		set_needs(s, &t->rd_needs, 0);
	return (ssize_t)got;
}

static ssize_t tls_writev(struct stream *s, const struct iovec *iov, int n)
{
	struct tls_conn *t = s->impl;
	unsigned char gather[TLS_COALESCE];
	const void *p = NULL;
	size_t len = 0;

	if (!t->open)
		return -ENOTCONN;
	if (t->out_err)
		return -t->out_err;
	/* what the last write took goes first; a write of nothing only sends that */
	ssize_t f = tls_out_flush(&t->out);
	if (f == STREAM_AGAIN) {
		set_needs(s, &t->wr_needs, EV_WRITE);
		return STREAM_AGAIN;
	}
	if (f < 0) {
		out_failed(t, (int)-f);
		return f;
	}
	for (; n > 0 && iov[0].iov_len == 0; n--)
		iov++;
	if (n == 0)
		return 0;
	/* one iov, or a large first one: as it is; else small ones gathered into one record.
	 * Either way the same bytes give the same choice, and a retry never offers fewer
	 * bytes than the record OpenSSL holds from the attempt before. */
	if (n == 1 || iov[0].iov_len >= TLS_COALESCE) {
		p = iov[0].iov_base;
		len = iov[0].iov_len > INT_MAX ? INT_MAX : iov[0].iov_len;
	} else {
		for (int i = 0; i < n && len < sizeof(gather); i++) {
			size_t k = iov[i].iov_len < sizeof(gather) - len ? iov[i].iov_len : sizeof(gather) - len;
			memcpy(gather + len, iov[i].iov_base, k);
			len += k;
		}
		p = gather;
	}
	/* More than a record: record after record into out (OpenSSL writes one per SSL_write:
	 * partial writes), as many as it has room for, then one send.  A record or less (or
	 * no memory for out): straight to the socket. */
	size_t done = 0;
	int w;
	t->out.gather = len > TLS_COALESCE && tls_out_alloc(&t->out) == 0;
	do {
		ERR_clear_error();
		w = SSL_write(t->ssl, (const char *)p + done, (int)(len - done));
		if (w > 0)
			done += (size_t)w;
	} while (w > 0 && done < len && t->out.gather && t->out.len + TLS_RECORD_MAX <= TLS_OUT_CAP);
	t->out.gather = 0;
	if (p == gather)
		wipe(gather, len); /* it may have held a Proxy-Authorization */
	f = tls_out_flush(&t->out); /* what does not go now goes first next time, or on EV_WRITE */
	if (f < 0 && f != STREAM_AGAIN) {
		out_failed(t, (int)-f);
		return done > 0 ? (ssize_t)done : f;
	}
	if (done > 0) {
		if (t->wr_needs)
			set_needs(s, &t->wr_needs, 0);
		if (f == STREAM_AGAIN)
			rearm(s); /* out holds bytes: watched for room */
		return (ssize_t)done;
	}
	return io_result(s, w, &t->wr_needs, 0);
}

/* close_notify (RFC 8446 §6.1): our side is done writing; the peer may go on. */
static int tls_shutdown_wr(struct stream *s)
{
	struct tls_conn *t = s->impl;
	if (!t->open)
		return -ENOTCONN;
	ERR_clear_error();
	int rc = SSL_shutdown(t->ssl);
	if (rc >= 0)
		return 0;
	int e = SSL_get_error(t->ssl, rc);
	if (e == SSL_ERROR_WANT_WRITE) { /* the alert waits in OpenSSL for room */
		t->shut_pending = 1;
		rearm(s);
		return 0;
	}
	ERR_clear_error();
	return -EPIPE;
}

static void conn_free(struct stream *s)
{
	struct tls_conn *t = s->impl;
	if (t == NULL)
		return;
	if (t->loop != NULL)
		ev_timer_stop(t->loop, &t->trim);
	tls_out_free(&t->out); /* what it holds is dropped, as a close drops what OpenSSL holds */
	/* SSL_free would mark the session (our newest ticket) unusable when no close_notify
	 * went out; a connection that did not fail leaves it usable */
	if (t->open && !t->failed)
		SSL_set_shutdown(t->ssl, SSL_get_shutdown(t->ssl) | SSL_SENT_SHUTDOWN);
	SSL_free(t->ssl);
	X509_free(t->vcert);
	ERR_clear_error();
	tls_ctx_free(t->ctx); /* its reference */
	free(t);
	s->impl = NULL;
}

static void tls_close(struct stream *s)
{
	conn_free(s); /* no close_notify here: that is shutdown_wr's, and nothing waits */
	close(s->fd);
}

static int tls_raw_fd(const struct stream *s)
{
	(void)s;
	return -1; /* the socket carries records: the relay must copy */
}

static size_t tls_unsent(const struct stream *s)
{
	const struct tls_conn *t = s->impl;
	return t != NULL ? tls_out_unsent(&t->out) : 0;
}

static size_t tls_pending(const struct stream *s)
{
	const struct tls_conn *t = s->impl;
	if (t->end_behind)
		return 1;
	int n = t->open ? SSL_pending(t->ssl) : 0;
	/* decrypted bytes, or (read-ahead) raw ones the last read did not find short of a record */
	return n > 0 ? (size_t)n : t->open && SSL_has_pending(t->ssl) && t->rd_needs == 0 ? 1 : 0;
}

static const struct stream_ops tls_ops = {
	tls_read, tls_writev, tls_shutdown_wr, tls_close, tls_raw_fd, tls_pending, tls_watch, tls_set_cb, conn_free,
	tls_unsent,
};

/* host without brackets; *is_ip when it is an address literal. */
static int plain_host(const char *host, char *out, size_t cap, int *is_ip)
{
	size_t len = strlen(host);
	if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
		host++;
		len -= 2;
	}
	if (len == 0 || len >= cap)
		return -1;
	memcpy(out, host, len);
	out[len] = '\0';
	unsigned char a[16];
	*is_ip = inet_pton(AF_INET, out, a) == 1 || inet_pton(AF_INET6, out, a) == 1;
	return 0;
}

int tls_start(struct stream *s, struct tls_ctx *c, const char *host, char *err, size_t errlen)
{
	char why[160];
	int is_ip = 0;
	struct tls_conn *t = NULL;
	if (s->fd < 0 || s->impl != NULL) {
		snprintf(err, errlen, "TLS needs a connected plain stream");
		return -1;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL || plain_host(host, t->host, sizeof(t->host), &is_ip) < 0) {
		snprintf(err, errlen, t ? "bad TLS server name" : "out of memory");
		free(t);
		return -1;
	}
	ERR_clear_error();
	t->ctx = c;
	ev_init(&t->trim, trim_cb);
	t->trim.data = t;
	t->ssl = SSL_new(c->ssl);
	t->out.fd = s->fd;
	BIO *rb = t->ssl != NULL ? BIO_new_socket(s->fd, BIO_NOCLOSE) : NULL;
	BIO *wb = rb != NULL ? BIO_new(c->wmeth) : NULL;
	int ok = wb != NULL && SSL_set_app_data(t->ssl, t) == 1;
	if (ok) {
		BIO_set_data(wb, &t->out);
		BIO_set_init(wb, 1);
		SSL_set_bio(t->ssl, rb, wb); /* the SSL owns both from here */
	} else {
		BIO_free(rb);
		BIO_free(wb);
	}
	/* SNI carries names only (RFC 6066 §3) */
	if (ok && !is_ip)
		ok = SSL_set_tlsext_host_name(t->ssl, t->host) == 1;
	if (ok && !c->insecure)
		ok = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), t->host) == 1
			   : SSL_set1_host(t->ssl, t->host) == 1;
	if (!ok) {
		tls_openssl_reason(why, sizeof(why));
		snprintf(err, errlen, "cannot start TLS: %s", why);
		SSL_free(t->ssl);
		free(t);
		ERR_clear_error();
		return -1;
	}
	SSL_set_connect_state(t->ssl);
	SSL_SESSION *sess = tls_store_take(&c->store, t->host);
	if (sess != NULL) {
		(void)SSL_set_session(t->ssl, sess); /* else a full handshake */
		SSL_SESSION_free(sess);
	}
	t->cb = s->io.cb;
	t->want = s->events;
	c->refs++;
	s->impl = t;
	s->ops = &tls_ops;
	ev_set_cb(&s->io, tls_io_cb);
	return 0;
}

int tls_handshake(struct stream *s, int *events, char *err, size_t errlen)
{
	struct tls_conn *t = s->ops == &tls_ops ? s->impl : NULL;
	*events = 0;
	if (t == NULL) {
		snprintf(err, errlen, "not a TLS stream");
		return -1;
	}
	if (t->open)
		return 1;
	ERR_clear_error();
	errno = 0;
	int rc = SSL_do_handshake(t->ssl);
	if (rc == 1) {
		t->open = 1;
		t->resumed = SSL_session_reused(t->ssl) != 0;
		/* a TLS 1.2 session may be resumed again (only 1.3 tickets are single use) */
		SSL_SESSION *sess = t->resumed && SSL_version(t->ssl) < TLS1_3_VERSION ? SSL_get1_session(t->ssl) : NULL;
		if (sess != NULL)
			tls_store_put(&t->ctx->store, t->host, sess);
		return 1;
	}
	int en = errno;
	int e = SSL_get_error(t->ssl, rc);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		*events = e == SSL_ERROR_WANT_READ ? EV_READ : EV_WRITE;
		return 0;
	}
	t->failed = 1;
	tls_describe_failure(t->ssl, t->verr, t->vcert, t->host, e, en, err, errlen);
	ERR_clear_error();
	return -1;
}

int tls_resumed(const struct stream *s)
{
	const struct tls_conn *t = s->ops == &tls_ops ? s->impl : NULL;
	return t != NULL && t->resumed;
}
