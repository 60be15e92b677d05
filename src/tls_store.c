/* tls_store: the sessions a TLS context keeps to resume (see tls_int.h; part of tls). */
#include "tls_int.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static void drop(struct tls_store *st, unsigned i)
{
	SSL_SESSION_free(st->saved[i].sess);
	memmove(&st->saved[i], &st->saved[i + 1], (st->n - i - 1) * sizeof(st->saved[0]));
	st->n--;
}

void tls_store_put(struct tls_store *st, const char *host, SSL_SESSION *sess)
{
	for (unsigned i = 0; i < st->n; i++)
		if (st->saved[i].sess == sess) { /* a TLS 1.2 session put back twice */
			SSL_SESSION_free(sess);
			return;
		}
	if (st->n == TLS_SESSIONS)
		drop(st, 0);
	st->saved[st->n].sess = sess;
	snprintf(st->saved[st->n].host, sizeof(st->saved[0].host), "%s", host);
	st->n++;
}

/* A TLS 1.3 ticket is used once (RFC 8446 §C.4: reuse lets the connections be linked). */
SSL_SESSION *tls_store_take(struct tls_store *st, const char *host)
{
	time_t now = time(NULL);
	for (unsigned i = st->n; i-- > 0;) {
		SSL_SESSION *s = st->saved[i].sess;
		if (SSL_SESSION_get_time(s) + SSL_SESSION_get_timeout(s) <= now) {
			drop(st, i); /* expired */
			continue;
		}
		if (strcmp(st->saved[i].host, host) != 0 || !SSL_SESSION_up_ref(s))
			continue;
		drop(st, i); /* the reference it drops is the one just taken */
		return s;
	}
	return NULL;
}

void tls_store_clear(struct tls_store *st)
{
	while (st->n > 0)
		drop(st, st->n - 1);
}
