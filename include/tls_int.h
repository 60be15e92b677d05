/* tls_int: what tls.c and tls_text.c share.  Private to them: nothing else may include it. */
#ifndef SOCKS2HTTP_TLS_INT_H
#define SOCKS2HTTP_TLS_INT_H

#include <stddef.h>

#include <openssl/x509.h>

/* "C=US, O=x, CN=y": printable ASCII only (it goes to logs). */
void tls_name_line(const X509_NAME *name, char *out, size_t cap);
/* The names a certificate is for: "CN=a (DNS:a, DNS:*.a, IP:10.0.0.1)". */
void tls_cert_names(X509 *cert, char *out, size_t cap);

#endif
