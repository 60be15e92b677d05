/* socks: pure SOCKS4/4a/5 parsers and encoders (see include/socks.h). */
#include "socks.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

static int name_char_ok(uint8_t ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '-' || ch == '.' || ch == '_';
}

/* Fills t from a host name of n bytes: literal addresses become IPv4/IPv6 targets, other
 * names are checked so that they cannot smuggle anything into the CONNECT request line. */
static int set_target_name(struct socks_target *t, const uint8_t *name, size_t n)
{
	char tmp[SOCKS_NAME_MAX + 1];

	if (n == 0 || n > SOCKS_NAME_MAX)
		return SOCKS_ERR_NAME;
	memcpy(tmp, name, n);
	tmp[n] = '\0';
	if (memchr(tmp, '\0', n) != NULL)
		return SOCKS_ERR_NAME;
	if (inet_pton(AF_INET, tmp, t->ip) == 1) {
		t->atyp = SOCKS_ATYP_IPV4;
		return 0;
	}
	if (inet_pton(AF_INET6, tmp, t->ip) == 1) {
		t->atyp = SOCKS_ATYP_IPV6;
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		if (!name_char_ok(name[i]))
			return SOCKS_ERR_NAME;
	t->atyp = SOCKS_ATYP_NAME;
	memcpy(t->name, tmp, n + 1);
	return 0;
}

int socks5_parse_greeting(const uint8_t *buf, size_t len, uint32_t *methods, size_t *consumed)
{
	if (len < 1)
		return SOCKS_NEED_MORE;
	if (buf[0] != 5)
		return SOCKS_ERR_VERSION;
	if (len < 2)
		return SOCKS_NEED_MORE;
	size_t n = buf[1];
	if (n == 0)
		return SOCKS_ERR_PROTOCOL;
	if (len < 2 + n)
		return SOCKS_NEED_MORE;
	uint32_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (buf[2 + i] < 32)
			m |= UINT32_C(1) << buf[2 + i];
	*methods = m;
	*consumed = 2 + n;
	return SOCKS_DONE;
}

int socks5_parse_request(const uint8_t *buf, size_t len, struct socks_request *req, size_t *consumed)
{
	size_t addr_len;

	if (len < 1)
		return SOCKS_NEED_MORE;
	if (buf[0] != 5)
		return SOCKS_ERR_VERSION;
	if (len < 4)
		return SOCKS_NEED_MORE;
	if (buf[2] != 0)
		return SOCKS_ERR_PROTOCOL;
	switch (buf[3]) {
	case SOCKS_ATYP_IPV4:
		addr_len = 4;
		break;
	case SOCKS_ATYP_IPV6:
		addr_len = 16;
		break;
	case SOCKS_ATYP_NAME:
		if (len < 5)
			return SOCKS_NEED_MORE;
		addr_len = 1 + (size_t)buf[4];
		if (buf[4] == 0)
			return SOCKS_ERR_NAME;
		break;
	default:
		return SOCKS_ERR_ATYP;
	}
	if (len < 4 + addr_len + 2)
		return SOCKS_NEED_MORE;

	memset(req, 0, sizeof(*req));
	req->version = 5;
	req->cmd = buf[1];
	if (buf[3] == SOCKS_ATYP_NAME) {
		int rc = set_target_name(&req->target, buf + 5, buf[4]);
		if (rc < 0)
			return rc;
	} else {
		req->target.atyp = buf[3];
		memcpy(req->target.ip, buf + 4, addr_len);
	}
	req->target.port = (uint16_t)((buf[4 + addr_len] << 8) | buf[4 + addr_len + 1]);
	*consumed = 4 + addr_len + 2;
	return SOCKS_DONE;
}

int socks5_parse_userpass(const uint8_t *buf, size_t len, char *user, char *pass, size_t *consumed)
{
	if (len < 1)
		return SOCKS_NEED_MORE;
	if (buf[0] != 1)
		return SOCKS_ERR_VERSION;
	if (len < 2)
		return SOCKS_NEED_MORE;
	size_t ulen = buf[1];
	if (len < 2 + ulen + 1)
		return SOCKS_NEED_MORE;
	size_t plen = buf[2 + ulen];
	if (len < 3 + ulen + plen)
		return SOCKS_NEED_MORE;
	memcpy(user, buf + 2, ulen);
	user[ulen] = '\0';
	memcpy(pass, buf + 3 + ulen, plen);
	pass[plen] = '\0';
	*consumed = 3 + ulen + plen;
	return SOCKS_DONE;
}

/* Finds the NUL that ends a string starting at buf[off]; strings are at most 255 bytes. */
static int find_nul(const uint8_t *buf, size_t len, size_t off, size_t *nul)
{
	size_t limit = off + SOCKS_NAME_MAX + 1;
	for (size_t i = off; i < len && i < limit; i++) {
		if (buf[i] == 0) {
			*nul = i;
			return SOCKS_DONE;
		}
	}
	return len >= limit ? SOCKS_ERR_TOOLONG : SOCKS_NEED_MORE;
}

int socks4_parse_request(const uint8_t *buf, size_t len, struct socks_request *req, size_t *consumed)
{
	size_t uend, hend;
	int rc;

	if (len < 1)
		return SOCKS_NEED_MORE;
	if (buf[0] != 4)
		return SOCKS_ERR_VERSION;
	if (len < 8)
		return SOCKS_NEED_MORE;
	rc = find_nul(buf, len, 8, &uend);
	if (rc != SOCKS_DONE)
		return rc;

	int is_4a = buf[4] == 0 && buf[5] == 0 && buf[6] == 0 && buf[7] != 0;
	if (is_4a) {
		rc = find_nul(buf, len, uend + 1, &hend);
		if (rc != SOCKS_DONE)
			return rc;
	}

	memset(req, 0, sizeof(*req));
	req->version = 4;
	req->cmd = buf[1];
	req->target.port = (uint16_t)((buf[2] << 8) | buf[3]);
	memcpy(req->userid, buf + 8, uend - 8);
	req->userid[uend - 8] = '\0';
	if (is_4a) {
		rc = set_target_name(&req->target, buf + uend + 1, hend - uend - 1);
		if (rc < 0)
			return rc;
		if (req->target.atyp == SOCKS_ATYP_IPV6)
			return SOCKS_ERR_NAME; /* SOCKS4 has no IPv6 */
		*consumed = hend + 1;
	} else {
		req->target.atyp = SOCKS_ATYP_IPV4;
		memcpy(req->target.ip, buf + 4, 4);
		*consumed = uend + 1;
	}
	return SOCKS_DONE;
}

size_t socks5_encode_method(uint8_t out[2], uint8_t method)
{
	out[0] = 5;
	out[1] = method;
	return 2;
}

size_t socks5_encode_userpass_status(uint8_t out[2], uint8_t status)
{
	out[0] = 1;
	out[1] = status;
	return 2;
}

size_t socks5_encode_reply(uint8_t *out, uint8_t rep, const struct sockaddr *bound)
{
	out[0] = 5;
	out[1] = rep;
	out[2] = 0;
	if (bound != NULL && bound->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)bound;
		out[3] = SOCKS_ATYP_IPV6;
		memcpy(out + 4, &s6->sin6_addr, 16);
		memcpy(out + 20, &s6->sin6_port, 2);
		return 22;
	}
	out[3] = SOCKS_ATYP_IPV4;
	if (bound != NULL && bound->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)bound;
		memcpy(out + 4, &s4->sin_addr, 4);
		memcpy(out + 8, &s4->sin_port, 2);
	} else {
		memset(out + 4, 0, 6);
	}
	return 10;
}

size_t socks4_encode_reply(uint8_t out[8], uint8_t rep)
{
	out[0] = 0;
	out[1] = rep;
	memset(out + 2, 0, 6);
	return 8;
}

uint8_t socks4_rep_from_socks5(uint8_t rep5)
{
	return rep5 == SOCKS5_REP_SUCCEEDED ? SOCKS4_REP_GRANTED : SOCKS4_REP_REJECTED;
}

uint8_t socks5_rep_for_error(int err)
{
	switch (err) {
	case SOCKS_ERR_ATYP:
		return SOCKS5_REP_ATYP_NOT_SUPPORTED;
	case SOCKS_ERR_NAME:
		return SOCKS5_REP_HOST_UNREACHABLE;
	default:
		return SOCKS5_REP_GENERAL_FAILURE;
	}
}

int socks_target_authority(const struct socks_target *t, char *out, size_t cap)
{
	char host[INET6_ADDRSTRLEN];
	int n;

	switch (t->atyp) {
	case SOCKS_ATYP_IPV4:
		inet_ntop(AF_INET, t->ip, host, sizeof(host));
		n = snprintf(out, cap, "%s:%u", host, (unsigned)t->port);
		break;
	case SOCKS_ATYP_IPV6:
		inet_ntop(AF_INET6, t->ip, host, sizeof(host));
		n = snprintf(out, cap, "[%s]:%u", host, (unsigned)t->port);
		break;
	case SOCKS_ATYP_NAME:
		n = snprintf(out, cap, "%s:%u", t->name, (unsigned)t->port);
		break;
	default:
		return -1;
	}
	return (n < 0 || (size_t)n >= cap) ? -1 : n;
}

const char *socks_strerror(int err)
{
	switch (err) {
	case SOCKS_ERR_VERSION:
		return "unsupported SOCKS version";
	case SOCKS_ERR_PROTOCOL:
		return "malformed SOCKS message";
	case SOCKS_ERR_ATYP:
		return "unknown address type";
	case SOCKS_ERR_NAME:
		return "invalid host name";
	case SOCKS_ERR_TOOLONG:
		return "SOCKS4 user id or host name too long";
	default:
		return "unknown error";
	}
}
