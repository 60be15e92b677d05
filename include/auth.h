/* auth: which scheme answers a proxy's 407, and the Proxy-Authorization values for Basic,
 * Digest and NTLM (Negotiate's token comes from negotiate.c, off the loop; here is only
 * when it is wanted).  The strongest scheme the proxy offers, the configuration allows
 * (--proxy-auth) and the credentials can serve wins: Negotiate > NTLM > Digest > Basic.
 * Credentials leave only for a scheme the proxy asked for.
 *
 * What a proxy asked for last is remembered per proxy (struct auth_memory), so the next
 * tunnel's first request carries it: no round trip is lost to learn the scheme again.
 * No I/O but random bytes (cnonce, NTLM client challenge), no logging: the dialer logs the
 * reasons this returns.  Secrets in buffers here are wiped after use. */
#ifndef SOCKS2HTTP_AUTH_H
#define SOCKS2HTTP_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "proxyurl.h"

#define AUTH_VALUE_MAX 4096 /* a Proxy-Authorization value (an NTLM or Kerberos token in base64) */
#define AUTH_MAX_ROUNDS 6   /* 407s one dial answers before giving up */

struct authchal_digest;

/* Per proxy: the scheme it asked for last and its last Digest challenge. */
struct auth_memory {
	unsigned scheme;                /* HTTPC_AUTH_*, 0 before the first 407 */
	struct authchal_digest *digest; /* malloc'd; NULL until a Digest challenge came */
	uint32_t nc;                    /* requests made with that nonce */
};

/* Per dial. */
struct auth_round {
	unsigned sent;      /* the scheme of the credentials in the request in flight, 0 none */
	unsigned offered;   /* schemes of the last 407 */
	unsigned failed;    /* schemes that failed in this dial (rejected, no ticket) */
	uint8_t ntlm_step;  /* 1: NTLM negotiate sent; 2: NTLM authenticate sent */
	uint8_t same_conn;  /* the value must go out on the connection the 407 came on (NTLM) */
	uint8_t rounds;     /* 407s answered */
	uint8_t ahead;      /* the value in flight was sent ahead of any 407 (auth_first) */
};

enum auth_action {
	AUTH_NONE,      /* send the request without credentials */
	AUTH_SEND,      /* send it with value */
	AUTH_NEGOTIATE, /* make a Negotiate token first; then auth_negotiate_value */
	AUTH_GIVE_UP,   /* why says why (credentials rejected, nothing usable) */
};

/* For the first request to a proxy: what it asked for before (Basic; Digest with the
 * remembered nonce and the next nc; NTLM's negotiate message; Negotiate), or AUTH_NONE. */
enum auth_action auth_first(struct auth_round *r, struct auth_memory *m, const struct proxy_spec *spec,
			    unsigned allowed, const char *authority, char *value, size_t cap);

/* After a 407 whose complete header is hdr[0..hdr_len): the next request's credentials,
 * or AUTH_NEGOTIATE, or AUTH_GIVE_UP with why.  authority is what the CONNECT names. */
enum auth_action auth_answer(struct auth_round *r, struct auth_memory *m, const struct proxy_spec *spec,
			     unsigned allowed, const char *hdr, size_t hdr_len, const char *authority, char *value,
			     size_t cap, char *why, size_t whylen);

/* The schemes (HTTPC_AUTH_*) of every challenge in the Proxy-Authenticate values of the
 * head at the start of buf[0..len), as auth_answer reads them (0 if no head ends there). */
unsigned auth_offered(const char *buf, size_t len);

/* Negotiate could not make a token (why_failed): the next scheme the last 407 offered. */
enum auth_action auth_negotiate_failed(struct auth_round *r, struct auth_memory *m, const struct proxy_spec *spec,
				       unsigned allowed, const char *authority, char *value, size_t cap, char *why,
				       size_t whylen);

/* "Negotiate TOKEN" into value; records that Negotiate was sent.  0, or -1 if too long. */
int auth_negotiate_value(struct auth_round *r, const char *token_b64, char *value, size_t cap);

/* The name of a scheme bit for logs and the summary line: "basic", ..., "none". */
const char *auth_name(unsigned scheme);

void auth_memory_free(struct auth_memory *m);

#endif
