/* auth: which scheme answers a 407, what the next tunnel sends first, and when to give up. */
#include "auth.h"
#include "authchal.h"
#include "check.h"
#include "httpc.h"
#include "ntlm.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static char value[AUTH_VALUE_MAX], why[256];

static struct proxy_spec spec(const char *user, const char *pass)
{
	struct proxy_spec p;
	memset(&p, 0, sizeof(p));
	snprintf(p.host, sizeof(p.host), "proxy.example");
	p.port = 3128;
	if (user != NULL) {
		p.has_auth = 1;
		snprintf(p.user, sizeof(p.user), "%s", user);
		snprintf(p.pass, sizeof(p.pass), "%s", pass);
	}
	return p;
}

static enum auth_action answer(struct auth_round *r, struct auth_memory *m, const struct proxy_spec *p,
			       unsigned allowed, const char *hdr)
{
	why[0] = '\0';
	return auth_answer(r, m, p, allowed, hdr, strlen(hdr), "example.com:443", value, sizeof(value), why,
			   sizeof(why));
}

#define ALL (HTTPC_AUTH_BASIC | HTTPC_AUTH_DIGEST | HTTPC_AUTH_NTLM | HTTPC_AUTH_NEGOTIATE)

static void test_basic(void)
{
	struct auth_memory m = {0};
	struct auth_round r;
	struct proxy_spec p = spec("alice", "s3cret");

	/* nothing learned: the first request goes without credentials */
	CHECK_EQ_INT(auth_first(&r, &m, &p, ALL, "example.com:443", value, sizeof(value)), AUTH_NONE);
	CHECK_EQ_INT(answer(&r, &m, &p, ALL, "HTTP/1.1 407 x\r\nProxy-Authenticate: Basic realm=\"corp\"\r\n\r\n"),
		     AUTH_SEND);
	CHECK_EQ_STR(value, "Basic YWxpY2U6czNjcmV0");
	CHECK_EQ_INT(m.scheme, HTTPC_AUTH_BASIC);
	/* refused: the password is wrong; nothing weaker is tried and the scheme is forgotten */
	CHECK_EQ_INT(answer(&r, &m, &p, ALL, "HTTP/1.1 407 x\r\nProxy-Authenticate: Basic realm=\"corp\"\r\n\r\n"),
		     AUTH_GIVE_UP);
	CHECK(strstr(why, "rejected our credentials (basic)") != NULL);
	CHECK(strstr(why, "s3cret") == NULL);
	CHECK_EQ_INT(m.scheme, 0);

	/* learned: the next tunnel's first request carries it */
	m.scheme = HTTPC_AUTH_BASIC;
	CHECK_EQ_INT(auth_first(&r, &m, &p, ALL, "example.com:443", value, sizeof(value)), AUTH_SEND);
	CHECK_EQ_STR(value, "Basic YWxpY2U6czNjcmV0");
	CHECK_EQ_INT(r.sent, HTTPC_AUTH_BASIC);
	/* ... unless --proxy-auth no longer allows it */
	CHECK_EQ_INT(auth_first(&r, &m, &p, HTTPC_AUTH_DIGEST, "example.com:443", value, sizeof(value)), AUTH_NONE);

	/* no credentials: Basic cannot be answered, and the message says what to give */
	struct proxy_spec anon = spec(NULL, NULL);
	memset(&r, 0, sizeof(r));
	CHECK_EQ_INT(answer(&r, &m, &anon, ALL, "HTTP/1.1 407 x\r\nProxy-Authenticate: Basic realm=\"c\"\r\n\r\n"),
		     AUTH_GIVE_UP);
	CHECK(strstr(why, "give user:password") != NULL);
	/* a scheme nobody knows */
	memset(&r, 0, sizeof(r));
	CHECK_EQ_INT(answer(&r, &m, &p, ALL, "HTTP/1.1 407 x\r\nProxy-Authenticate: Bearer\r\n\r\n"), AUTH_GIVE_UP);
	CHECK(strstr(why, "no scheme we know") != NULL);
	/* --proxy-auth excludes everything offered */
	memset(&r, 0, sizeof(r));
	CHECK_EQ_INT(answer(&r, &m, &p, HTTPC_AUTH_NTLM, "HTTP/1.1 407 x\r\nProxy-Authenticate: Basic\r\n\r\n"),
		     AUTH_GIVE_UP);
	CHECK(strstr(why, "--proxy-auth") != NULL);
	auth_memory_free(&m);
}

static void test_strongest_wins(void)
{
	struct auth_memory m = {0};
	struct auth_round r;
	struct proxy_spec p = spec("CORP\\alice", "pw");
	const char *offer = "HTTP/1.1 407 x\r\nProxy-Authenticate: Basic realm=\"c\"\r\n"
			    "Proxy-Authenticate: NTLM, Negotiate\r\nProxy-Authenticate: Digest realm=\"r\", nonce=\"n1\"\r\n\r\n";

	memset(&r, 0, sizeof(r));
	CHECK_EQ_INT(answer(&r, &m, &p, ALL, offer), AUTH_NEGOTIATE);
	/* no ticket: NTLM next, its negotiate message */
	CHECK_EQ_INT(auth_negotiate_failed(&r, &m, &p, ALL, "example.com:443", value, sizeof(value), why, sizeof(why)),
		     AUTH_SEND);
	CHECK(strncmp(value, "NTLM TlRMTVNTUAAB", 17) == 0);
	CHECK_EQ_INT(r.sent, HTTPC_AUTH_NTLM);
	CHECK_EQ_INT(m.scheme, HTTPC_AUTH_NTLM);

	/* --proxy-auth basic forces Basic although more is offered */
	memset(&r, 0, sizeof(r));
	CHECK_EQ_INT(answer(&r, &m, &p, HTTPC_AUTH_BASIC, offer), AUTH_SEND);
	CHECK(strncmp(value, "Basic ", 6) == 0);
	/* digest,basic: Digest */
	memset(&r, 0, sizeof(r));
	CHECK_EQ_INT(answer(&r, &m, &p, HTTPC_AUTH_BASIC | HTTPC_AUTH_DIGEST, offer), AUTH_SEND);
	CHECK(strncmp(value, "Digest ", 7) == 0);
	CHECK(strstr(value, "nonce=\"n1\"") != NULL);
	CHECK(strstr(value, "uri=\"example.com:443\"") != NULL);
	/* without credentials only Negotiate is left */
	struct proxy_spec anon = spec(NULL, NULL);
	memset(&r, 0, sizeof(r));
	CHECK_EQ_INT(answer(&r, &m, &anon, ALL, offer), AUTH_NEGOTIATE);
	CHECK_EQ_INT(auth_negotiate_failed(&r, &m, &anon, ALL, "example.com:443", value, sizeof(value), why, sizeof(why)),
		     AUTH_GIVE_UP);
	/* a token: "Negotiate TOKEN" */
	memset(&r, 0, sizeof(r));
	CHECK_EQ_INT(answer(&r, &m, &anon, ALL, offer), AUTH_NEGOTIATE);
	CHECK_EQ_INT(auth_negotiate_value(&r, "YIIB", value, sizeof(value)), 0);
	CHECK_EQ_STR(value, "Negotiate YIIB");
	CHECK_EQ_INT(r.sent, HTTPC_AUTH_NEGOTIATE);
	/* the proxy refuses the ticket: that says nothing of the password, NTLM is next */
	CHECK_EQ_INT(answer(&r, &m, &p, ALL, offer), AUTH_SEND);
	CHECK_EQ_INT(r.sent, HTTPC_AUTH_NTLM);
	auth_memory_free(&m);
}

/* A CHALLENGE_MESSAGE (MS-NLMP 2.2.1.2) with an empty target name and a short AV list. */
static size_t type2(uint8_t *m)
{
	static const uint8_t av[] = {2, 0, 2, 0, 'D', 0, 0, 0, 0, 0};
	memset(m, 0, 56);
	memcpy(m, "NTLMSSP", 8);
	m[8] = 2;
	m[16] = 56; /* target name: length 0 at 56 */
	uint32_t flags = 0xe2898215u;
	memcpy(m + 20, &flags, 4);
	memcpy(m + 24, "\x01\x23\x45\x67\x89\xab\xcd\xef", 8);
	m[40] = m[42] = sizeof(av);
	m[44] = 56;
	memcpy(m + 56, av, sizeof(av));
	return 56 + sizeof(av);
}

static void test_ntlm_rounds(void)
{
	struct auth_memory m = {0};
	struct auth_round r;
	struct proxy_spec p = spec("alice@corp.example", "pw");
	uint8_t msg[128];
	char hdr[512], b64[256];

	memset(&r, 0, sizeof(r));
	CHECK_EQ_INT(answer(&r, &m, &p, ALL, "HTTP/1.1 407 x\r\nProxy-Authenticate: NTLM\r\n\r\n"), AUTH_SEND);
	CHECK_EQ_INT(r.ntlm_step, 1);
	CHECK_EQ_INT(r.same_conn, 0);
	httpc_base64(b64, sizeof(b64), msg, type2(msg));
	snprintf(hdr, sizeof(hdr), "HTTP/1.1 407 x\r\nProxy-Authenticate: NTLM %s\r\nContent-Length: 0\r\n\r\n", b64);
	CHECK_EQ_INT(answer(&r, &m, &p, ALL, hdr), AUTH_SEND);
	CHECK(strncmp(value, "NTLM TlRMTVNTUAAD", 17) == 0); /* an AUTHENTICATE_MESSAGE */
	CHECK_EQ_INT(r.ntlm_step, 2);
	CHECK_EQ_INT(r.same_conn, 1);
	/* the authenticate message refused: the password is wrong */
	CHECK_EQ_INT(answer(&r, &m, &p, ALL, "HTTP/1.1 407 x\r\nProxy-Authenticate: NTLM\r\n\r\n"), AUTH_GIVE_UP);
	CHECK(strstr(why, "rejected our credentials (ntlm)") != NULL);

	/* a garbled challenge message */
	memset(&r, 0, sizeof(r));
	CHECK_EQ_INT(answer(&r, &m, &p, ALL, "HTTP/1.1 407 x\r\nProxy-Authenticate: NTLM\r\n\r\n"), AUTH_SEND);
	CHECK_EQ_INT(answer(&r, &m, &p, ALL, "HTTP/1.1 407 x\r\nProxy-Authenticate: NTLM AAAA\r\n\r\n"), AUTH_GIVE_UP);
	CHECK(strstr(why, "malformed") != NULL);

	/* learned: the first request of the next tunnel carries the negotiate message */
	m.scheme = HTTPC_AUTH_NTLM;
	CHECK_EQ_INT(auth_first(&r, &m, &p, ALL, "example.com:443", value, sizeof(value)), AUTH_SEND);
	CHECK(strncmp(value, "NTLM TlRMTVNTUAAB", 17) == 0);
	CHECK_EQ_INT(r.ntlm_step, 1);
	/* an NTLM negotiate the proxy does not take up: Basic, offered too, is tried */
	CHECK_EQ_INT(answer(&r, &m, &p, ALL, "HTTP/1.1 407 x\r\nProxy-Authenticate: NTLM\r\nProxy-Authenticate: Basic\r\n\r\n"),
		     AUTH_SEND);
	CHECK_EQ_INT(r.sent, HTTPC_AUTH_BASIC);
	auth_memory_free(&m);
}

static void test_digest_rounds(void)
{
	struct auth_memory m = {0};
	struct auth_round r;
	struct proxy_spec p = spec("Mufasa", "Circle of Life");

	memset(&r, 0, sizeof(r));
	CHECK_EQ_INT(answer(&r, &m, &p, ALL,
			    "HTTP/1.1 407 x\r\nProxy-Authenticate: Digest realm=\"r\", qop=\"auth\", algorithm=SHA-256, "
			    "nonce=\"abc\", opaque=\"op\"\r\n\r\n"),
		     AUTH_SEND);
	CHECK(strstr(value, "algorithm=SHA-256") != NULL);
	CHECK(strstr(value, "nc=00000001") != NULL);
	CHECK(strstr(value, "opaque=\"op\"") != NULL);
	CHECK(strstr(value, "Circle") == NULL);
	/* the next tunnel reuses the nonce with the next count: no round trip */
	CHECK_EQ_INT(auth_first(&r, &m, &p, ALL, "example.com:443", value, sizeof(value)), AUTH_SEND);
	CHECK(strstr(value, "nc=00000002") != NULL);
	CHECK(strstr(value, "nonce=\"abc\"") != NULL);
	/* stale: the same credentials with the new nonce, count from 1 */
	CHECK_EQ_INT(answer(&r, &m, &p, ALL,
			    "HTTP/1.1 407 x\r\nProxy-Authenticate: Digest realm=\"r\", qop=\"auth\", algorithm=SHA-256, "
			    "nonce=\"def\", stale=true\r\n\r\n"),
		     AUTH_SEND);
	CHECK(strstr(value, "nonce=\"def\"") != NULL);
	CHECK(strstr(value, "nc=00000001") != NULL);
	/* not stale: refused */
	CHECK_EQ_INT(answer(&r, &m, &p, ALL,
			    "HTTP/1.1 407 x\r\nProxy-Authenticate: Digest realm=\"r\", qop=\"auth\", nonce=\"ghi\"\r\n\r\n"),
		     AUTH_GIVE_UP);
	CHECK(strstr(why, "(digest)") != NULL);
	/* rounds are bounded */
	memset(&r, 0, sizeof(r));
	enum auth_action a = AUTH_SEND;
	for (int i = 0; i < 20 && a == AUTH_SEND; i++)
		a = answer(&r, &m, &p, ALL,
			   "HTTP/1.1 407 x\r\nProxy-Authenticate: Digest realm=\"r\", nonce=\"x\", stale=true\r\n\r\n");
	CHECK_EQ_INT(a, AUTH_GIVE_UP);
	CHECK(r.rounds <= AUTH_MAX_ROUNDS + 1);
	auth_memory_free(&m);
}

/* A nonce and count sent ahead (the next tunnel's first request) that the proxy refuses
 * with a fresh challenge: tunnels opened together reach a strict proxy out of order, so
 * the new challenge is answered once; a refusal of that answer is a wrong password. */
static void test_digest_ahead(void)
{
	struct auth_memory m = {0};
	struct auth_round r;
	struct proxy_spec p = spec("Mufasa", "Circle of Life");
	const char *first = "HTTP/1.1 407 x\r\nProxy-Authenticate: Digest realm=\"r\", qop=\"auth\", nonce=\"abc\"\r\n\r\n";

	memset(&r, 0, sizeof(r));
	CHECK_EQ_INT(answer(&r, &m, &p, ALL, first), AUTH_SEND);
	CHECK_EQ_INT(auth_first(&r, &m, &p, ALL, "example.com:443", value, sizeof(value)), AUTH_SEND);
	CHECK(strstr(value, "nc=00000002") != NULL);
	CHECK_EQ_INT(answer(&r, &m, &p, ALL,
			    "HTTP/1.1 407 x\r\nProxy-Authenticate: Digest realm=\"r\", qop=\"auth\", nonce=\"n2\"\r\n\r\n"),
		     AUTH_SEND);
	CHECK(strstr(value, "nonce=\"n2\"") != NULL);
	CHECK(strstr(value, "nc=00000001") != NULL);
	CHECK_EQ_INT(answer(&r, &m, &p, ALL,
			    "HTTP/1.1 407 x\r\nProxy-Authenticate: Digest realm=\"r\", qop=\"auth\", nonce=\"n3\"\r\n\r\n"),
		     AUTH_GIVE_UP);
	CHECK(strstr(why, "rejected our credentials (digest)") != NULL);
	/* sent ahead, refused with a challenge we cannot answer: no second try */
	memset(&r, 0, sizeof(r));
	CHECK_EQ_INT(answer(&r, &m, &p, ALL, first), AUTH_SEND);
	CHECK_EQ_INT(auth_first(&r, &m, &p, ALL, "example.com:443", value, sizeof(value)), AUTH_SEND);
	CHECK_EQ_INT(answer(&r, &m, &p, ALL,
			    "HTTP/1.1 407 x\r\nProxy-Authenticate: Digest realm=\"r\", qop=\"auth-int\", nonce=\"n4\"\r\n\r\n"),
		     AUTH_GIVE_UP);
	/* Basic sent ahead and refused: the password is wrong, whatever comes */
	struct auth_memory mb = {0};
	memset(&r, 0, sizeof(r));
	CHECK_EQ_INT(answer(&r, &mb, &p, ALL, "HTTP/1.1 407 x\r\nProxy-Authenticate: Basic realm=\"r\"\r\n\r\n"), AUTH_SEND);
	CHECK_EQ_INT(auth_first(&r, &mb, &p, ALL, "example.com:443", value, sizeof(value)), AUTH_SEND);
	CHECK_EQ_INT(answer(&r, &mb, &p, ALL, "HTTP/1.1 407 x\r\nProxy-Authenticate: Basic realm=\"r\"\r\n\r\n"),
		     AUTH_GIVE_UP);
	auth_memory_free(&m);
	auth_memory_free(&mb);
}

/* What a 407 offers: every challenge, several in one value or a value folded over lines
 * (RFC 9112 section 5.2), as auth_answer reads them; check reports this set. */
static void test_offered(void)
{
	const char *one = "HTTP/1.1 407 x\r\nProxy-Authenticate: Negotiate, NTLM, Basic realm=\"a, b\"\r\n\r\nbody";
	CHECK_EQ_INT(auth_offered(one, strlen(one)), HTTPC_AUTH_NEGOTIATE | HTTPC_AUTH_NTLM | HTTPC_AUTH_BASIC);
	const char *fold = "HTTP/1.1 407 x\r\nProxy-Authenticate: Digest realm=\"r\",\r\n  nonce=\"n\", qop=\"auth\",\r\n"
			   "\tBasic realm=\"r\"\r\nProxy-Authenticate: NTLM\r\n\r\n";
	CHECK_EQ_INT(auth_offered(fold, strlen(fold)), HTTPC_AUTH_DIGEST | HTTPC_AUTH_BASIC | HTTPC_AUTH_NTLM);
	CHECK_EQ_INT(auth_offered(fold, 20), 0); /* no head ends there */
	/* the folded Digest challenge is answered whole: its nonce is on the second line */
	struct auth_memory m = {0};
	struct auth_round r;
	struct proxy_spec p = spec("alice", "s3cret");
	memset(&r, 0, sizeof(r));
	CHECK_EQ_INT(answer(&r, &m, &p, HTTPC_AUTH_DIGEST, fold), AUTH_SEND);
	CHECK(strstr(value, "nonce=\"n\"") != NULL);
	auth_memory_free(&m);
}

int main(void)
{
	test_offered();
	test_basic();
	test_strongest_wins();
	test_digest_ahead();
	test_ntlm_rounds();
	test_digest_rounds();
	return check_report();
}
