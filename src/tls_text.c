/* tls_text: what a certificate says and why a handshake failed, as one line for the logs
 * (part of tls). */
#include "tls_int.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

/* Appends n bytes of d at out[len], printable ASCII only (it goes to logs); the new length. */
static size_t put_printable(char *out, size_t cap, size_t len, const ASN1_STRING *v)
{
	const unsigned char *d = ASN1_STRING_get0_data(v);
	for (int j = 0; j < ASN1_STRING_length(v) && len + 1 < cap; j++)
		out[len++] = d[j] >= 0x20 && d[j] < 0x7f ? (char)d[j] : '?';
	out[len] = '\0';
	return len;
}

/* "C=US, O=x, CN=y" */
void tls_name_line(const X509_NAME *name, char *out, size_t cap)
{
	size_t len = 0;
	out[0] = '\0';
	for (int i = 0; name && i < X509_NAME_entry_count(name); i++) {
		const X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);
		const char *key = OBJ_nid2sn(OBJ_obj2nid(X509_NAME_ENTRY_get_object(e)));
		int n = snprintf(out + len, cap - len, "%s%s=", i ? ", " : "", key ? key : "?");
		if (n < 0 || (size_t)n >= cap - len)
			break;
		len = put_printable(out, cap, len + (size_t)n, X509_NAME_ENTRY_get_data(e));
	}
}

/* The names a certificate is for: "CN=a (DNS:a, DNS:*.a, IP:10.0.0.1)". */
void tls_cert_names(X509 *cert, char *out, size_t cap)
{
	char cn[256] = "", alts[256] = "";
	size_t n = 0;
	const X509_NAME *subj = X509_get_subject_name(cert);
	int i = X509_NAME_get_index_by_NID(subj, NID_commonName, -1);
	if (i >= 0) {
		put_printable(cn, sizeof(cn), 3, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, i)));
		memcpy(cn, "CN=", 3);
	}
	GENERAL_NAMES *alt = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	for (int k = 0; alt && k < sk_GENERAL_NAME_num(alt); k++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(alt, k);
		char one[80] = "";
		int l = g->type == GEN_IPADD ? ASN1_STRING_length(g->d.iPAddress) : 0;
		if (g->type == GEN_DNS)
			put_printable(one, sizeof(one), (size_t)snprintf(one, sizeof(one), "DNS:"), g->d.dNSName);
		else if ((l == 4 || l == 16) && inet_ntop(l == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(g->d.iPAddress),
							      one + 3, sizeof(one) - 3))
			memcpy(one, "IP:", 3);
		int w = one[0] ? snprintf(alts + n, sizeof(alts) - n, "%s%s", n ? ", " : "", one) : 0;
		if (w < 0 || (size_t)w >= sizeof(alts) - n)
			break; /* what fits */
		n += (size_t)w;
	}
	GENERAL_NAMES_free(alt);
	if (cn[0] && alts[0])
		snprintf(out, cap, "%s (%s)", cn, alts);
	else
		snprintf(out, cap, "%s", cn[0] ? cn : alts[0] ? alts : "no name");
}

/* The reason of OpenSSL's last error, e.g. "wrong version number". */
void tls_openssl_reason(char *out, size_t len)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;
	snprintf(out, len, "%s", r ? r : "unknown error");
}

void tls_describe_failure(SSL *ssl, int verr, X509 *vcert, const char *host, int e, int en, char *err,
			  size_t errlen)
{
	char why[160], a[300], b[300];
	long v = SSL_get_verify_result(ssl);
	if (verr == 0 && v != X509_V_OK)
		verr = (int)v;
	if (verr == X509_V_ERR_HOSTNAME_MISMATCH || verr == X509_V_ERR_IP_ADDRESS_MISMATCH) {
		X509 *peer = SSL_get0_peer_certificate(ssl);
		if (peer == NULL)
			peer = vcert;
		if (peer != NULL)
			tls_cert_names(peer, a, sizeof(a));
		snprintf(err, errlen, "%s mismatch: certificate for %s, not %s",
			 verr == X509_V_ERR_HOSTNAME_MISMATCH ? "hostname" : "address", peer ? a : "?", host);
	} else if (verr != 0) {
		a[0] = b[0] = '\0';
		if (vcert != NULL) {
			tls_name_line(X509_get_subject_name(vcert), a, sizeof(a));
			tls_name_line(X509_get_issuer_name(vcert), b, sizeof(b));
		}
		snprintf(err, errlen, "certificate verify failed: %s (subject %s, issuer %s)",
			 X509_verify_cert_error_string(verr), a, b);
	} else if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && en == 0) ||
		   ERR_GET_REASON(ERR_peek_last_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
		snprintf(err, errlen, "connection closed during the handshake");
	} else if (e == SSL_ERROR_SYSCALL) {
		snprintf(err, errlen, "connection failed during the handshake: %s", strerror(en));
	} else {
		tls_openssl_reason(why, sizeof(why));
		snprintf(err, errlen, "protocol: %s", why);
	}
}
