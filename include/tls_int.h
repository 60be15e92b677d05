/* tls_int: what tls.c, tls_out.c, tls_store.c and tls_text.c share.  Private to them: nothing else may
 * include it. */
#ifndef SOCKS2HTTP_TLS_INT_H
#define SOCKS2HTTP_TLS_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "tls.h"

#define TLS_HOST_MAX 255 /* a DNS name's limit (RFC 1035 §2.3.4) */

/* --- tls_store.c: the sessions kept to resume, up to TLS_SESSIONS ------------------------ */

struct tls_saved {
	SSL_SESSION *sess; /* our reference */
	char host[TLS_HOST_MAX + 1];
};

struct tls_store {
	unsigned n;
	struct tls_saved saved[TLS_SESSIONS]; /* oldest first */
};

/* Keeps sess (our reference, taken over) for host; the oldest goes when the store is full;
 * a session put back twice is kept once. */
void tls_store_put(struct tls_store *st, const char *host, SSL_SESSION *sess);
/* Takes out the newest live session for host (our reference), or NULL; expired ones go. */
SSL_SESSION *tls_store_take(struct tls_store *st, const char *host);
void tls_store_clear(struct tls_store *st);

/* --- tls_out.c: a connection's write side ------------------------------------------- */

#define TLS_RECORD_MAX (16384 + 256)     /* a record with the most plaintext, on the wire */
#define TLS_OUT_CAP (4 * TLS_RECORD_MAX) /* the records one write gathers for one send */

/* While gather is set, the records OpenSSL writes go to buf (up to TLS_OUT_CAP) instead of
 * the socket, to leave in one send; bytes still in buf go before any other byte. */
struct tls_out {
	int fd;
	uint8_t gather;
	unsigned char *buf; /* NULL until a write gathers; freed when the connection idles */
	uint32_t off, len;  /* buf[off, len): taken, not yet sent */
};

/* The BIO method of every connection's write side; the BIO's data is its struct tls_out. */
BIO_METHOD *tls_out_method(void);
/* Gives o its buffer if it has none: 0, or -1 (no memory). */
int tls_out_alloc(struct tls_out *o);
void tls_out_free(struct tls_out *o);
/* Sends what buf holds: 0 when all of it went, STREAM_AGAIN, or -errno. */
ssize_t tls_out_flush(struct tls_out *o);

static inline size_t tls_out_unsent(const struct tls_out *o)
{
	return o->len - o->off;
}

/* --- tls_text.c ------------------------------------------------------------------------ */

/* The reason of OpenSSL's last error, e.g. "wrong version number". */
void tls_openssl_reason(char *out, size_t len);
/* A failed handshake as one line (see tls_handshake in tls.h): verr and vcert, what the
 * verification noted first (0, NULL: nothing); e and en, SSL_get_error's and errno. */
void tls_describe_failure(SSL *ssl, int verr, X509 *vcert, const char *host, int e, int en, char *err,
			  size_t errlen);

/* "C=US, O=x, CN=y": printable ASCII only (it goes to logs). */
void tls_name_line(const X509_NAME *name, char *out, size_t cap);
/* The names a certificate is for: "CN=a (DNS:a, DNS:*.a, IP:10.0.0.1)". */
void tls_cert_names(X509 *cert, char *out, size_t cap);

#endif
