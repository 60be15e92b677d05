/* ntlm: NTLMv2 messages (see include/ntlm.h).  Section numbers are MS-NLMP's. */
#include "ntlm.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "md4.h"
#include "ntlm_upcase.h"
#include "wipe.h"

static const uint8_t ntlm_sig[8] = {'N', 'T', 'L', 'M', 'S', 'S', 'P', 0};

/* MsvAvId values (2.2.2.1) */
enum { AV_EOL = 0, AV_TIMESTAMP = 7 };

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* A security buffer's fields (2.2.1): Len, MaxLen, Offset. */
static void put_field(uint8_t *p, size_t len, size_t off)
{
	put16(p, (uint16_t)len);
	put16(p + 2, (uint16_t)len);
	put32(p + 4, (uint32_t)off);
}

/* Next code point of a NUL-terminated UTF-8 string: 1 (in *cp), 0 at the end, -1 when the
 * bytes are not UTF-8 (overlong forms, surrogates and values past U+10FFFF included). */
static int utf8_next(const char **s, uint32_t *cp)
{
	const unsigned char *p = (const unsigned char *)*s;
	uint32_t c = p[0], min;
	int n;
	if (c == 0)
		return 0;
	if (c < 0x80) {
		*cp = c;
		*s += 1;
		return 1;
	}
	if ((c & 0xe0) == 0xc0) {
		n = 1, c &= 0x1f, min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		n = 2, c &= 0x0f, min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		n = 3, c &= 0x07, min = 0x10000;
	} else {
		return -1;
	}
	for (int i = 1; i <= n; i++) {
		if ((p[i] & 0xc0) != 0x80) /* also stops at the NUL */
			return -1;
		c = c << 6 | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return -1;
	*cp = c;
	*s += n + 1;
	return 1;
}

/* Uppercase() of NTOWFv2 (3.3.2): the server computes the key again from the user name we
 * send, uppercased with its own table, so ours must be the same code point for code point.
 * The table (ntlm_upcase.h, made by contrib/ntlm_upcase.py) is Unicode's uppercase where it
 * is one code point of the BMP (sharp s stays), less what Samba's toupper_m keeps as it is
 * (dotless i U+0131, titlecase U+01C5, Georgian, Cherokee...); checked against ntlm_auth for
 * every code point.  Outside the BMP nothing changes (Samba's table ends at U+FFFF). */
static uint32_t upcase(uint32_t c)
{
	const size_t n = sizeof(ntlm_upcase_table) / sizeof(ntlm_upcase_table[0]);
	size_t lo = 0, hi = n;
	while (lo < hi) { /* the first range whose last is >= c */
		size_t mid = lo + (hi - lo) / 2;
		if (ntlm_upcase_table[mid].last < c)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == n)
		return c;
	const struct ntlm_upcase_range *r = &ntlm_upcase_table[lo];
	if (c < r->first || (c - r->first) % r->step != 0)
		return c;
	return (c + r->delta) & 0xffff;
}

/* Writes the name s (NULL: empty) as UTF-16LE at out (at most cap bytes and NTLM_MAX_NAME
 * units), uppercased if asked.  The byte count, or -1. */
static long utf16le(const char *s, int upper, uint8_t *out, size_t cap)
{
	size_t n = 0;
	uint32_t cp;
	int rc;
	if (s == NULL)
		return 0;
	while ((rc = utf8_next(&s, &cp)) > 0) {
		if (upper)
			cp = upcase(cp);
		size_t need = cp >= 0x10000 ? 4 : 2;
		if (n + need > cap || (n + need) / 2 > NTLM_MAX_NAME)
			return -1;
		if (cp >= 0x10000) { /* a surrogate pair */
			cp -= 0x10000;
			put16(out + n, (uint16_t)(0xd800 | cp >> 10));
			put16(out + n + 2, (uint16_t)(0xdc00 | (cp & 0x3ff)));
		} else {
			put16(out + n, (uint16_t)cp);
		}
		n += need;
	}
	return rc < 0 ? -1 : (long)n;
}

struct part {
	const void *p;
	size_t n;
};

/* HMAC_MD5 (section 6) over the concatenated parts.  0 or -1. */
static int hmac_md5(const uint8_t key[16], const struct part *parts, size_t nparts, uint8_t out[16])
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"MD5", 0),
		OSSL_PARAM_construct_end(),
	};
	size_t outl = 0;
	int ok = ctx != NULL && EVP_MAC_init(ctx, key, 16, params);
	for (size_t i = 0; ok && i < nparts; i++)
		ok = EVP_MAC_update(ctx, parts[i].p, parts[i].n);
	ok = ok && EVP_MAC_final(ctx, out, &outl, 16) && outl == 16;
	EVP_MAC_CTX_free(ctx); /* clears the key schedule */
	EVP_MAC_free(mac);
	return ok ? 0 : -1;
}

int ntlm_ntowfv2(const char *user, const char *domain, const char *password, uint8_t out[16])
{
	/* NTOWFv1 = MD4(UNICODE(Passwd)) (3.3.1), the password streamed in small pieces so its
	 * length needs no bound */
	struct md4_ctx md;
	uint8_t nt[16], chunk[64];
	const char *p = password != NULL ? password : "";
	uint32_t cp;
	int rc, ret = -1;
	md4_init(&md);
	size_t n = 0;
	while ((rc = utf8_next(&p, &cp)) > 0) {
		if (n + 4 > sizeof(chunk)) {
			md4_update(&md, chunk, n);
			n = 0;
		}
		if (cp >= 0x10000) {
			cp -= 0x10000;
			put16(chunk + n, (uint16_t)(0xd800 | cp >> 10));
			put16(chunk + n + 2, (uint16_t)(0xdc00 | (cp & 0x3ff)));
			n += 4;
		} else {
			put16(chunk + n, (uint16_t)cp);
			n += 2;
		}
	}
	md4_update(&md, chunk, n);
	md4_final(&md, nt);
	wipe(chunk, sizeof(chunk));
	/* NTOWFv2 = HMAC_MD5(NTOWFv1, UNICODE(ConcatenationOf(Uppercase(User), UserDom))) */
	uint8_t name[2 * 2 * NTLM_MAX_NAME]; /* each part at most NTLM_MAX_NAME units */
	long ul = rc < 0 ? -1 : utf16le(user, 1, name, 2 * NTLM_MAX_NAME);
	long dl = ul < 0 ? -1 : utf16le(domain, 0, name + ul, 2 * NTLM_MAX_NAME);
	if (dl >= 0) {
		struct part part = {name, (size_t)(ul + dl)};
		ret = hmac_md5(nt, &part, 1, out);
	}
	wipe(nt, sizeof(nt));
	if (ret < 0)
		memset(out, 0, 16);
	return ret;
}

int ntlm_split_user(const char *in, char *user, size_t ucap, char *domain, size_t dcap)
{
	const char *u = in, *d = "";
	size_t ulen = strlen(in), dlen = 0;
	const char *bs = strchr(in, '\\'), *at = strrchr(in, '@');
	if (bs != NULL) { /* DOMAIN\user */
		d = in;
		dlen = (size_t)(bs - in);
		u = bs + 1;
		ulen = strlen(u);
	} else if (at != NULL) { /* user@domain */
		ulen = (size_t)(at - in);
		d = at + 1;
		dlen = strlen(d);
	}
	if (ulen == 0 || ulen >= ucap || dlen >= dcap)
		return -1;
	memcpy(user, u, ulen);
	user[ulen] = '\0';
	memcpy(domain, d, dlen);
	domain[dlen] = '\0';
	return 0;
}

int ntlm_negotiate(uint8_t *out, size_t cap)
{
	/* Signature, MessageType, NegotiateFlags, DomainNameFields, WorkstationFields; no
	 * Version (NTLMSSP_NEGOTIATE_VERSION is not set) */
	if (cap < 32)
		return -1;
	memcpy(out, ntlm_sig, 8);
	put32(out + 8, 1);
	put32(out + 12, NTLM_CLIENT_FLAGS);
	put_field(out + 16, 0, 32);
	put_field(out + 24, 0, 32);
	return 32;
}

/* A field's Len and Offset, checked to lie inside the message of length len. */
static int get_field(const uint8_t *msg, size_t len, size_t at, size_t *flen, size_t *foff)
{
	*flen = get16(msg + at);
	*foff = get32(msg + at + 4);
	if (*flen > 0 && (*foff > len || *flen > len - *foff))
		return -1;
	return 0;
}

int ntlm_parse_challenge(const uint8_t *msg, size_t len, struct ntlm_challenge *out)
{
	memset(out, 0, sizeof(*out));
	if (len < 32 || memcmp(msg, ntlm_sig, 8) != 0 || get32(msg + 8) != 2)
		return -1;
	size_t tlen, toff;
	if (get_field(msg, len, 12, &tlen, &toff) < 0) /* TargetName: checked, unused */
		return -1;
	out->flags = get32(msg + 20);
	memcpy(out->server_challenge, msg + 24, 8);
	if (!(out->flags & NTLM_NEGOTIATE_TARGET_INFO))
		return 0; /* TargetInfoFields are then to be ignored (2.2.1.2) */
	if (len < 48 || get_field(msg, len, 40, &tlen, &toff) < 0)
		return -1;
	if (tlen == 0)
		return 0;
	/* AV pairs (2.2.2.1): AvId, AvLen, Value; MsvAvEOL (AvLen 0) ends the list */
	const uint8_t *ti = msg + toff;
	size_t pos = 0;
	while (tlen - pos >= 4) {
		uint16_t id = get16(ti + pos), alen = get16(ti + pos + 2);
		if (alen > tlen - pos - 4)
			return -1;
		if (id == AV_EOL) {
			if (alen != 0)
				return -1;
			out->target_info = ti;
			out->target_info_len = pos + 4;
			return 0;
		}
		if (id == AV_TIMESTAMP) {
			if (alen != 8)
				return -1;
			if (!out->has_timestamp) {
				out->has_timestamp = 1;
				out->timestamp = (uint64_t)get32(ti + pos + 4) | (uint64_t)get32(ti + pos + 8) << 32;
			}
		}
		pos += 4 + (size_t)alen;
	}
	out->has_timestamp = 0;
	out->timestamp = 0;
	return -1; /* no MsvAvEOL */
}

int ntlm_authenticate(uint8_t *out, size_t cap, const struct ntlm_challenge *c, const char *user,
		      const char *domain, const char *password, const char *workstation,
		      const uint8_t client_challenge[8], uint64_t now_filetime)
{
	/* Header (2.2.1.3): Signature, MessageType, the LmChallengeResponse, NtChallengeResponse,
	 * DomainName, UserName, Workstation and EncryptedRandomSessionKey fields, NegotiateFlags;
	 * no Version nor MIC, so the payload starts at 64. */
	enum { HDR = 64, LM_LEN = 24, TEMP_FIXED = 28 };
	if (cap < HDR || !(c->flags & NTLM_NEGOTIATE_UNICODE))
		return -1;
	size_t ti_len = c->target_info != NULL ? c->target_info_len : 0;
	size_t nt_len = 16 + TEMP_FIXED + ti_len + 4;
	if (nt_len > 0xffff)
		return -1;
	size_t pos = HDR;
	long dl = utf16le(domain, 0, out + pos, cap - pos);
	if (dl < 0)
		return -1;
	size_t d_off = pos;
	pos += (size_t)dl;
	long ul = utf16le(user, 0, out + pos, cap - pos);
	if (ul < 0)
		return -1;
	size_t u_off = pos;
	pos += (size_t)ul;
	long wl = utf16le(workstation, 0, out + pos, cap - pos);
	if (wl < 0)
		return -1;
	size_t w_off = pos;
	pos += (size_t)wl;
	if (cap - pos < LM_LEN + nt_len)
		return -1;
	size_t lm_off = pos, nt_off = pos + LM_LEN;

	uint8_t key[16];
	if (ntlm_ntowfv2(user, domain, password, key) < 0)
		return -1;
	/* temp (3.3.2): RespType, HiRespType, Z(6), TimeStamp, ChallengeFromClient, Z(4), AvPairs, Z(4) */
	uint8_t *temp = out + nt_off + 16;
	size_t temp_len = nt_len - 16;
	memset(temp, 0, temp_len);
	temp[0] = 1;
	temp[1] = 1;
	put64(temp + 8, c->has_timestamp ? c->timestamp : now_filetime);
	memcpy(temp + 16, client_challenge, 8);
	if (ti_len)
		memcpy(temp + TEMP_FIXED, c->target_info, ti_len);
	struct part nt_parts[] = {{c->server_challenge, 8}, {temp, temp_len}};
	int rc = hmac_md5(key, nt_parts, 2, out + nt_off); /* NTProofStr */
	/* LMv2, or Z(24) when the server sent a timestamp (3.1.5.1.2) */
	memset(out + lm_off, 0, LM_LEN);
	if (rc == 0 && !c->has_timestamp) {
		struct part lm_parts[] = {{c->server_challenge, 8}, {client_challenge, 8}};
		rc = hmac_md5(key, lm_parts, 2, out + lm_off);
		memcpy(out + lm_off + 16, client_challenge, 8);
	}
	wipe(key, sizeof(key));
	if (rc < 0)
		return -1;
	pos = nt_off + nt_len;

	memcpy(out, ntlm_sig, 8);
	put32(out + 8, 3);
	put_field(out + 12, LM_LEN, lm_off);
	put_field(out + 20, nt_len, nt_off);
	put_field(out + 28, (size_t)dl, d_off);
	put_field(out + 36, (size_t)ul, u_off);
	put_field(out + 44, (size_t)wl, w_off);
	put_field(out + 52, 0, pos);
	put32(out + 60, (c->flags & NTLM_CLIENT_FLAGS) | NTLM_NEGOTIATE_UNICODE);
	return (int)pos;
}
