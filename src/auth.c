/* auth: the scheme for a proxy's 407 and the values it takes (see include/auth.h). */
#include "auth.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "authchal.h"
#include "digest.h"
#include "httpc.h"
#include "ntlm.h"
#include "wipe.h"

#define KNOWN (HTTPC_AUTH_NEGOTIATE | HTTPC_AUTH_NTLM | HTTPC_AUTH_DIGEST | HTTPC_AUTH_BASIC)

/* strongest first */
static const unsigned order[] = {HTTPC_AUTH_NEGOTIATE, HTTPC_AUTH_NTLM, HTTPC_AUTH_DIGEST, HTTPC_AUTH_BASIC};

const char *auth_name(unsigned scheme)
{
	switch (scheme) {
	case HTTPC_AUTH_BASIC:
		return "basic";
	case HTTPC_AUTH_DIGEST:
		return "digest";
	case HTTPC_AUTH_NTLM:
		return "ntlm";
	case HTTPC_AUTH_NEGOTIATE:
		return "negotiate";
	default:
		return "none";
	}
}

/* "negotiate, ntlm" for messages */
static const char *names(unsigned set, char *out, size_t cap)
{
	size_t o = 0;
	out[0] = '\0';
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (set & order[i])
			o += (size_t)snprintf(out + o, o < cap ? cap - o : 0, "%s%s", o ? ", " : "", auth_name(order[i]));
	return out;
}

/* Schemes these credentials can serve: Negotiate needs none of ours (the ticket cache). */
static unsigned usable(const struct proxy_spec *spec, unsigned allowed)
{
	unsigned u = allowed & HTTPC_AUTH_NEGOTIATE;
	if (spec->has_auth)
		u |= allowed & (HTTPC_AUTH_BASIC | HTTPC_AUTH_DIGEST | HTTPC_AUTH_NTLM);
	return u;
}

static void random_hex(char *out, size_t nbytes)
{
	uint8_t raw[32];
	if (nbytes > sizeof(raw))
		nbytes = sizeof(raw);
	if (RAND_bytes(raw, (int)nbytes) != 1) /* never expected; a counter-free fallback */
		for (size_t i = 0; i < nbytes; i++)
			raw[i] = (uint8_t)rand();
	for (size_t i = 0; i < nbytes; i++)
		snprintf(out + 2 * i, 3, "%02x", raw[i]);
}

/* "NTLM " + base64 of a message */
static int ntlm_value(char *value, size_t cap, const uint8_t *msg, size_t len)
{
	if (cap < 6)
		return -1;
	memcpy(value, "NTLM ", 5);
	return httpc_base64(value + 5, cap - 5, msg, len) < 0 ? -1 : 0;
}

static enum auth_action fail(char *why, size_t whylen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static enum auth_action fail(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return AUTH_GIVE_UP;
}

/* Makes the value of scheme for the next request. */
static enum auth_action make(struct auth_round *r, struct auth_memory *m, const struct proxy_spec *spec,
			     unsigned scheme, const char *authority, char *value, size_t cap, char *why, size_t whylen)
{
	r->sent = scheme;
	r->ntlm_step = 0;
	r->same_conn = 0;
	r->ahead = 0;
	switch (scheme) {
	case HTTPC_AUTH_BASIC:
		if (httpc_basic_auth(value, cap, spec->user, spec->pass) < 0)
			return fail(why, whylen, "%s credentials too long", "Basic");
		return AUTH_SEND;
	case HTTPC_AUTH_DIGEST: {
		char cnonce[33];
		random_hex(cnonce, 16);
		if (m->digest == NULL ||
		    digest_response(value, cap, m->digest, spec->user, spec->pass, "CONNECT", authority, ++m->nc, cnonce) < 0)
			return fail(why, whylen, "cannot answer the proxy's %s challenge (its algorithm or qop)", "Digest");
		return AUTH_SEND;
	}
	case HTTPC_AUTH_NTLM: {
		uint8_t msg[64];
		int n = ntlm_negotiate(msg, sizeof(msg));
		if (n < 0 || ntlm_value(value, cap, msg, (size_t)n) < 0)
			return fail(why, whylen, "cannot build the %s negotiate message", "NTLM");
		r->ntlm_step = 1;
		return AUTH_SEND;
	}
	case HTTPC_AUTH_NEGOTIATE:
		return AUTH_NEGOTIATE;
	default:
		r->sent = 0;
		return AUTH_NONE;
	}
}

enum auth_action auth_first(struct auth_round *r, struct auth_memory *m, const struct proxy_spec *spec,
			    unsigned allowed, const char *authority, char *value, size_t cap)
{
	char why[128];
	memset(r, 0, sizeof(*r));
	unsigned s = m->scheme & usable(spec, allowed);
	if (s == 0 || (s == HTTPC_AUTH_DIGEST && m->digest == NULL))
		return AUTH_NONE;
	r->offered = s;
	enum auth_action a = make(r, m, spec, s, authority, value, cap, why, sizeof(why));
	if (a == AUTH_GIVE_UP) { /* send none: the proxy's 407 tells what it wants now */
		r->sent = 0;
		return AUTH_NONE;
	}
	r->ahead = a == AUTH_SEND;
	return a;
}

/* A Digest challenge make() can answer (what remember_digest keeps). */
static int digest_usable(const struct authchal_digest *d)
{
	return d->algorithm >= 0 && (!d->qop_given || d->qop_auth);
}

/* Keeps the first Digest challenge we can answer (the proxy lists its preference first). */
static void remember_digest(struct auth_memory *m, const struct authchal *ch, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct authchal_digest *d = &ch[i].digest;
		if (ch[i].scheme != HTTPC_AUTH_DIGEST || !digest_usable(d))
			continue;
		if (m->digest == NULL && (m->digest = calloc(1, sizeof(*m->digest))) == NULL)
			return;
		if (strcmp(m->digest->nonce, d->nonce) != 0)
			m->nc = 0;
		*m->digest = *d;
		return;
	}
}

/* The NTLM challenge message answered with the authenticate message.  0, or -1. */
static int ntlm_answer(const struct authchal *c, const struct proxy_spec *spec, char *value, size_t cap)
{
	uint8_t raw[2048], out[2048], cc[8];
	char user[PROXYURL_CRED_MAX + 1], domain[PROXYURL_CRED_MAX + 1];
	struct ntlm_challenge nc;
	int rc = -1;

	int n = c->token ? httpc_base64_decode(raw, sizeof(raw), c->token, c->token_len) : -1;
	if (n > 0 && ntlm_parse_challenge(raw, (size_t)n, &nc) == 0 &&
	    ntlm_split_user(spec->user, user, sizeof(user), domain, sizeof(domain)) == 0) {
		if (RAND_bytes(cc, sizeof(cc)) != 1)
			for (size_t i = 0; i < sizeof(cc); i++)
				cc[i] = (uint8_t)rand();
		/* FILETIME: 100 ns units since 1601 */
		uint64_t now = ((uint64_t)time(NULL) + 11644473600ull) * 10000000ull;
		int len = ntlm_authenticate(out, sizeof(out), &nc, user, domain, spec->pass, "", cc, now);
		if (len > 0 && ntlm_value(value, cap, out, (size_t)len) == 0)
			rc = 0;
		wipe(out, sizeof(out));
	}
	wipe(user, sizeof(user));
	wipe(raw, sizeof(raw));
	return rc;
}

/* The strongest scheme left of r->offered. */
static enum auth_action pick(struct auth_round *r, struct auth_memory *m, const struct proxy_spec *spec,
			     unsigned allowed, const char *authority, char *value, size_t cap, char *why, size_t whylen)
{
	char list[64];
	unsigned cand = r->offered & usable(spec, allowed) & ~r->failed;

	if (m->digest == NULL)
		cand &= ~(unsigned)HTTPC_AUTH_DIGEST; /* no Digest challenge we can answer */
	r->sent = 0;
	if (cand == 0) {
		unsigned offered = r->offered & KNOWN;
		if (offered == 0)
			return fail(why, whylen, "it offers no scheme we know");
		if ((offered & allowed) == 0)
			return fail(why, whylen, "it offers %s, which --proxy-auth does not allow", names(offered, list, sizeof(list)));
		if (!spec->has_auth && (offered & ~(unsigned)HTTPC_AUTH_NEGOTIATE))
			return fail(why, whylen, "it asks for %s: give user:password in the proxy URL",
				    names(offered & allowed, list, sizeof(list)));
		return fail(why, whylen, "no scheme left to try (%s failed)", names(r->failed, list, sizeof(list)));
	}
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		if (!(cand & order[i]))
			continue;
		m->scheme = order[i]; /* the next tunnel starts with it */
		enum auth_action a = make(r, m, spec, order[i], authority, value, cap, why, whylen);
		if (a != AUTH_GIVE_UP)
			return a;
		r->failed |= order[i];
	}
	return AUTH_GIVE_UP;
}

/* auth_answer for the challenges ch[0..n) of the 407. */
static enum auth_action answer(struct auth_round *r, struct auth_memory *m, const struct proxy_spec *spec,
			       unsigned allowed, const struct authchal *ch, size_t n, const char *authority, char *value,
			       size_t cap, char *why, size_t whylen)
{
	r->offered = 0;
	for (size_t i = 0; i < n; i++)
		r->offered |= ch[i].scheme;
	remember_digest(m, ch, n);

	if (r->sent == HTTPC_AUTH_NTLM && r->ntlm_step == 1) {
		for (size_t i = 0; i < n; i++) {
			if (ch[i].scheme != HTTPC_AUTH_NTLM || ch[i].token == NULL)
				continue;
			if (ntlm_answer(&ch[i], spec, value, cap) < 0) {
				m->scheme = 0;
				return fail(why, whylen, "its %s challenge message is malformed", "NTLM");
			}
			r->ntlm_step = 2;
			r->same_conn = 1; /* NTLM authenticates the connection */
			return AUTH_SEND;
		}
	}
	if (r->sent == HTTPC_AUTH_DIGEST) {
		/* an old nonce (stale), or a remembered nonce and count sent ahead that the proxy no
		 * longer takes (tunnels opened together reach it out of order, and a strict proxy
		 * refuses a count below one it saw): the same credentials, once, for the new nonce */
		for (size_t i = 0; i < n; i++)
			if (ch[i].scheme == HTTPC_AUTH_DIGEST && digest_usable(&ch[i].digest) && m->digest != NULL &&
			    (ch[i].digest.stale || r->ahead))
				return make(r, m, spec, HTTPC_AUTH_DIGEST, authority, value, cap, why, whylen);
	}
	if (r->sent != 0) {
		unsigned sent = r->sent;
		r->failed |= sent;
		if (m->scheme == sent)
			m->scheme = 0;
		/* a wrong password stays wrong: no weaker scheme; but a Kerberos ticket the proxy
		 * cannot use, or an NTLM negotiate it did not take up, says nothing of the password */
		if (sent != HTTPC_AUTH_NEGOTIATE && !(sent == HTTPC_AUTH_NTLM && r->ntlm_step == 1))
			return fail(why, whylen, "it rejected our credentials (%s)", auth_name(sent));
	}
	return pick(r, m, spec, allowed, authority, value, cap, why, whylen);
}

/* The challenges of every Proxy-Authenticate value of a head into ch[0..*n), a folded
 * value joined (RFC 9112 section 5.2).  They point into the returned buffer (*used bytes
 * of it to wipe, then free), or NULL when out of memory: no value outgrows it, since
 * unfolded they are no longer than the head. */
static char *challenges(const char *hdr, size_t hdr_len, struct authchal *ch, size_t *n, size_t *used)
{
	char *vals = malloc(hdr_len + 1);
	*n = *used = 0;
	for (unsigned i = 0; vals != NULL && *n < AUTHCHAL_MAX; i++) {
		long len = httpc_header_copy(hdr, hdr_len, "Proxy-Authenticate", i, vals + *used, hdr_len + 1 - *used);
		if (len == -1)
			break;
		if (len < 0)
			continue;
		(void)authchal_parse(vals + *used, (size_t)len, ch, AUTHCHAL_MAX, n); /* a malformed value keeps what parsed */
		*used += (size_t)len + 1;
	}
	return vals;
}

unsigned auth_offered(const char *buf, size_t len)
{
	struct authchal ch[AUTHCHAL_MAX];
	size_t n = 0, used, scan = 0;
	unsigned set = 0;
	long e = httpc_header_end(buf, len, SIZE_MAX, &scan);
	char *vals = e > 0 ? challenges(buf, (size_t)e, ch, &n, &used) : NULL;
	for (size_t i = 0; i < n; i++)
		set |= ch[i].scheme;
	if (vals != NULL)
		wipe(vals, used);
	free(vals);
	return set;
}

enum auth_action auth_answer(struct auth_round *r, struct auth_memory *m, const struct proxy_spec *spec,
			     unsigned allowed, const char *hdr, size_t hdr_len, const char *authority, char *value,
			     size_t cap, char *why, size_t whylen)
{
	struct authchal ch[AUTHCHAL_MAX];
	size_t n, used;

	if (++r->rounds > AUTH_MAX_ROUNDS)
		return fail(why, whylen, "still asking after %d rounds", AUTH_MAX_ROUNDS);
	char *vals = challenges(hdr, hdr_len, ch, &n, &used);
	if (vals == NULL)
		return fail(why, whylen, "out of memory");
	enum auth_action a = answer(r, m, spec, allowed, ch, n, authority, value, cap, why, whylen);
	wipe(vals, used); /* an NTLM challenge */
	free(vals);
	return a;
}

enum auth_action auth_negotiate_failed(struct auth_round *r, struct auth_memory *m, const struct proxy_spec *spec,
				       unsigned allowed, const char *authority, char *value, size_t cap, char *why,
				       size_t whylen)
{
	r->failed |= HTTPC_AUTH_NEGOTIATE;
	if (m->scheme == HTTPC_AUTH_NEGOTIATE)
		m->scheme = 0;
	if (r->rounds == 0) { /* tried ahead of any 407 (a remembered scheme): ask the proxy */
		r->sent = 0;
		return AUTH_NONE;
	}
	return pick(r, m, spec, allowed, authority, value, cap, why, whylen);
}

int auth_negotiate_value(struct auth_round *r, const char *token_b64, char *value, size_t cap)
{
	int n = snprintf(value, cap, "Negotiate %s", token_b64);
	if (n < 0 || (size_t)n >= cap)
		return -1;
	r->sent = HTTPC_AUTH_NEGOTIATE;
	return 0;
}

void auth_memory_free(struct auth_memory *m)
{
	if (m->digest != NULL) {
		wipe(m->digest, sizeof(*m->digest));
		free(m->digest);
	}
	m->digest = NULL;
}
