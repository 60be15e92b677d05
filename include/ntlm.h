/* ntlm: the NTLMv2 messages of MS-NLMP (NEGOTIATE, CHALLENGE, AUTHENTICATE), pure: no I/O,
 * no logging, no allocation of our own (HMAC-MD5 comes from libcrypto, MD4 from md4.c).
 * The caller base64-codes the messages for the Proxy-Authorization / Proxy-Authenticate
 * fields.  Strings are given as UTF-8 and sent as UTF-16LE. */
#ifndef SOCKS2HTTP_NTLM_H
#define SOCKS2HTTP_NTLM_H

#include <stddef.h>
#include <stdint.h>

/* NegotiateFlags (MS-NLMP 2.2.2.5) that we use */
#define NTLM_NEGOTIATE_UNICODE 0x00000001u
#define NTLM_REQUEST_TARGET 0x00000004u
#define NTLM_NEGOTIATE_NTLM 0x00000200u
#define NTLM_NEGOTIATE_ALWAYS_SIGN 0x00008000u
#define NTLM_NEGOTIATE_EXTENDED_SESSIONSECURITY 0x00080000u
#define NTLM_NEGOTIATE_TARGET_INFO 0x00800000u
#define NTLM_NEGOTIATE_128 0x20000000u
#define NTLM_NEGOTIATE_56 0x80000000u

/* The flags of our NEGOTIATE_MESSAGE; the AUTHENTICATE_MESSAGE carries those the server
 * also set. */
#define NTLM_CLIENT_FLAGS                                                                          \
	(NTLM_NEGOTIATE_UNICODE | NTLM_REQUEST_TARGET | NTLM_NEGOTIATE_NTLM | NTLM_NEGOTIATE_ALWAYS_SIGN | \
	 NTLM_NEGOTIATE_EXTENDED_SESSIONSECURITY | NTLM_NEGOTIATE_TARGET_INFO | NTLM_NEGOTIATE_128 |    \
	 NTLM_NEGOTIATE_56)

/* Bounds: a user, domain or workstation name in UTF-16 code units (Windows allows 256 for a
 * UPN; more is refused, never truncated). */
#define NTLM_MAX_NAME 256

struct ntlm_challenge {
	uint32_t flags;
	uint8_t server_challenge[8];
	const uint8_t *target_info; /* AV pairs up to and with MsvAvEOL, pointing into the message; */
	size_t target_info_len;     /* NULL and 0 when the server sent none */
	uint64_t timestamp;         /* MsvAvTimestamp from target_info, 0 if absent */
	int has_timestamp;
};

/* Splits "DOMAIN\user" (at the first backslash) or "user@domain" (at the last '@'), or takes
 * a plain "user" with domain "".  0, or -1 when the user part is empty or a part does not fit
 * its buffer (cap includes the NUL). */
int ntlm_split_user(const char *in, char *user, size_t ucap, char *domain, size_t dcap);

/* NEGOTIATE_MESSAGE (type 1, MS-NLMP 2.2.1.1) with NTLM_CLIENT_FLAGS and neither domain nor
 * workstation.  Returns its length (32) or -1 when cap is too small. */
int ntlm_negotiate(uint8_t *out, size_t cap);

/* Parses a CHALLENGE_MESSAGE (type 2, MS-NLMP 2.2.1.2): signature, type, the bounds of
 * TargetName and TargetInfo inside the message, the AV pair list (2.2.2.1) well formed and
 * ended by MsvAvEOL, an MsvAvTimestamp of 8 bytes.  The 32-byte form of old servers (no
 * TargetInfo) is accepted.  0 or -1; out points into msg. */
int ntlm_parse_challenge(const uint8_t *msg, size_t len, struct ntlm_challenge *out);

/* AUTHENTICATE_MESSAGE (type 3, MS-NLMP 2.2.1.3) with the NTLMv2 responses of 3.3.2:
 * ResponseKeyNT = NTOWFv2 (ntlm_ntowfv2); NTProofStr = HMAC-MD5(ResponseKeyNT,
 * server challenge + temp), temp = 01 01 Z(6) timestamp client_challenge Z(4) target_info Z(4),
 * the timestamp being the challenge's MsvAvTimestamp when present, else now_filetime (100 ns
 * ticks since 1601, as FILETIME).  LmChallengeResponse: LMv2 (HMAC-MD5(ResponseKeyNT,
 * server challenge + client challenge) + client challenge), or Z(24) when the timestamp came
 * from the challenge (3.1.5.1.2).  client_challenge: the caller's 8 random bytes.  No MIC, no
 * session key exchange.  domain/workstation may be NULL (empty).  Returns the length, or -1:
 * cap too small, invalid UTF-8, a name over NTLM_MAX_NAME, a server without UNICODE, a
 * response over 64 KiB, or a libcrypto failure.  Secrets (keys, the password's UTF-16) are
 * wiped before returning. */
int ntlm_authenticate(uint8_t *out, size_t cap, const struct ntlm_challenge *c, const char *user,
		      const char *domain, const char *password, const char *workstation,
		      const uint8_t client_challenge[8], uint64_t now_filetime);

/* Lower-level piece exposed for the MS-NLMP 4.2.4 test vectors: NTOWFv2 (3.3.2) =
 * HMAC-MD5(MD4(UTF-16LE(password)), UTF-16LE(Uppercase(user) + domain)).  0, or -1 (invalid
 * UTF-8, a name over NTLM_MAX_NAME, libcrypto failure; out is then zeroed). */
int ntlm_ntowfv2(const char *user, const char *domain, const char *password, uint8_t out[16]);

#endif
