/* tls_out: the write side of a TLS connection (see tls_int.h).  OpenSSL writes one record
 * per SSL_write (partial writes); sent one by one, 64 KiB of upload made four system calls
 * and four wake-ups of the proxy.  tls_writev gathers a write's records here and sends
 * them at once: measured 1.35 -> 1.12 s of the bridge's CPU per GiB uploaded. */
#include "tls_int.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "bufpool.h"
#include "stream.h"

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 /* SIGPIPE is ignored process-wide */
#endif

/* OpenSSL copies each record into buf: bufpool's mid-page memory, as the relay's buffers. */
int tls_out_alloc(struct tls_out *o)
{
	if (o->buf != NULL)
		return 0;
	if ((o->buf = (unsigned char *)bufpool_mem_alloc(TLS_OUT_CAP)) == NULL)
		return -1;
	o->off = o->len = 0;
	return 0;
}

void tls_out_free(struct tls_out *o)
{
	bufpool_mem_free(o->buf);
	o->buf = NULL;
	o->off = o->len = 0;
}

ssize_t tls_out_flush(struct tls_out *o)
{
	while (tls_out_unsent(o) > 0) {
		ssize_t n = send(o->fd, o->buf + o->off, tls_out_unsent(o), MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? STREAM_AGAIN : -errno;
		o->off += (uint32_t)n;
	}
	o->off = o->len = 0;
	return 0;
}

/* OpenSSL's socket write, except that while gathering the records go to buf, and that
 * nothing passes bytes still waiting there. */
static int out_write(BIO *b, const char *data, int len)
{
	struct tls_out *o = BIO_get_data(b);
	ssize_t n;
	BIO_clear_retry_flags(b);
	if (o->gather && o->len + (size_t)len <= TLS_OUT_CAP) {
		memcpy(o->buf + o->len, data, (size_t)len);
		o->len += (uint32_t)len;
		return len;
	}
	/* Not gathering, or more than buf has room for: OpenSSL's multi-block writes (TLS 1.2
	 * CBC suites, writes of 4 or 8 records' worth) hand over up to 8 records at once, which
	 * no retry would make fit (a retry of the same bytes spun on the writable socket).
	 * What buf holds goes first, then this as it is. */
	if (tls_out_unsent(o) > 0 && tls_out_flush(o) == STREAM_AGAIN) {
		BIO_set_retry_write(b);
		errno = EAGAIN;
		return -1;
	}
	do
		n = send(o->fd, data, (size_t)len, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n >= 0)
		return (int)n;
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		BIO_set_retry_write(b);
	return -1;
}

static long out_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void)b;
	(void)num;
	(void)ptr;
	return cmd == BIO_CTRL_FLUSH; /* buf is flushed by tls_writev and the stream's watcher */
}

BIO_METHOD *tls_out_method(void)
{
	BIO_METHOD *m = BIO_meth_new(BIO_TYPE_SOURCE_SINK, "socks2http socket");
	if (m != NULL && (!BIO_meth_set_write(m, out_write) || !BIO_meth_set_ctrl(m, out_ctrl))) {
		BIO_meth_free(m);
		m = NULL;
	}
	return m;
}
