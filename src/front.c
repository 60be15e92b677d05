/* front: SOCKS4/4a/5 towards the client (see include/front.h). */
#include "front.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "wipe.h"

enum { V5_GREETING, V5_LOGIN, V5_REQUEST, V5_DONE };

void front_init(struct front *f, enum access_verdict verdict, const char *who)
{
	memset(f, 0, sizeof(*f));
	f->verdict = (uint8_t)verdict;
	f->reply = -1;
	f->who = who;
}

/* Appends a message.  The buffer is sized for the longest sequence of messages one client
 * can be sent, so this cannot fail; if it ever did, the client gets nothing rather than a
 * message cut short or overwritten. */
static int queue(struct front *f, const uint8_t *msg, size_t n)
{
	if (f->out_off == f->out_len)
		f->out_off = f->out_len = 0;
	if (n > sizeof(f->out) - f->out_len)
		return -1;
	memcpy(f->out + f->out_len, msg, n);
	f->out_len = (uint8_t)(f->out_len + n);
	return 0;
}

void front_sent(struct front *f, size_t n)
{
	f->out_off = (uint8_t)(f->out_off + n);
}

/* Queues the SOCKS reply rep5 (translated for SOCKS4). */
static int queue_reply(struct front *f, uint8_t rep5, const struct sockaddr *bound)
{
	uint8_t msg[SOCKS5_REPLY_MAX];
	size_t n;
	if (f->version == 4) {
		uint8_t rep4 = socks4_rep_from_socks5(rep5);
		n = socks4_encode_reply(msg, rep4);
		f->reply = rep4;
	} else {
		n = socks5_encode_reply(msg, rep5, bound);
		f->reply = rep5;
	}
	f->stage = V5_DONE;
	return queue(f, msg, n);
}

static enum front_event fail(struct front *f, uint8_t rep5, const char *why, const char **reason)
{
	*reason = why;
	return queue_reply(f, rep5, NULL) == 0 ? FRONT_FAIL : FRONT_DROP;
}

static enum front_event greeting(struct front *f, const uint8_t *p, size_t len, size_t *used, const char **reason)
{
	uint32_t methods = 0;
	/* the method must be one the client offered (RFC 1928 section 3) */
	uint8_t want = f->verdict == ACCESS_AUTH ? SOCKS5_METHOD_USERPASS : SOCKS5_METHOD_NONE;
	uint8_t msg[2];
	int rc = socks5_parse_greeting(p, len, &methods, used);
	if (rc == SOCKS_NEED_MORE)
		return FRONT_MORE;
	if (rc == SOCKS_DONE && (methods & (UINT32_C(1) << want))) {
		f->stage = want == SOCKS5_METHOD_USERPASS ? V5_LOGIN : V5_REQUEST;
		return queue(f, msg, socks5_encode_method(msg, want)) == 0 ? FRONT_MORE : FRONT_DROP;
	}
	log_info("%s: SOCKS5 client does not offer %s", f->who,
		 want == SOCKS5_METHOD_NONE ? "'no authentication' (we take no other)"
					    : "username/password login, which --socks-auth requires");
	f->reply = SOCKS5_METHOD_UNACCEPTABLE;
	f->stage = V5_DONE;
	*reason = "no-acceptable-method";
	return queue(f, msg, socks5_encode_method(msg, SOCKS5_METHOD_UNACCEPTABLE)) == 0 ? FRONT_FAIL : FRONT_DROP;
}

/* RFC 1929: every answer, also to a malformed message, is "01 STATUS". */
static enum front_event login(struct front *f, const struct config *cfg, const uint8_t *p, size_t len, size_t *used,
			      const char **reason)
{
	char user[256], pass[256];
	uint8_t msg[2];
	int rc = socks5_parse_userpass(p, len, user, pass, used);
	if (rc == SOCKS_NEED_MORE)
		return FRONT_MORE;
	int ok = rc == SOCKS_DONE && access_password_ok(cfg, user, pass);
	wipe(pass, sizeof(pass));
	if (rc == SOCKS_DONE && queue(f, msg, socks5_encode_userpass_status(msg, ok ? 0 : 1)) < 0)
		return FRONT_DROP;
	if (ok) {
		f->verdict = ACCESS_ALLOW;
		f->stage = V5_REQUEST;
		return FRONT_MORE;
	}
	f->stage = V5_DONE;
	f->reply = 1;
	if (rc != SOCKS_DONE) {
		log_info("%s: malformed SOCKS5 login message: %s", f->who, socks_strerror(rc));
		*reason = "bad-socks-request";
		return queue(f, msg, socks5_encode_userpass_status(msg, 1)) == 0 ? FRONT_FAIL : FRONT_DROP;
	}
	for (char *c = user; *c; c++) /* the name is the client's: no log injection */
		if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
			*c = '?';
	log_info("%s: SOCKS5 login failed for user '%.64s'", f->who, user);
	*reason = "login-failed";
	return FRONT_FAIL;
}

enum front_event front_feed(struct front *f, const struct config *cfg, const uint8_t *buf, size_t len,
			    size_t *used, char *target, size_t cap, const char **reason)
{
	struct socks_request req;
	int rc;

	*used = 0;
	while (*used < len) {
		const uint8_t *p = buf + *used;
		size_t n = len - *used, step = 0;
		enum front_event ev;

		if (f->version == 0) {
			if (p[0] != 4 && p[0] != 5) {
				log_info("%s: not a SOCKS request (first byte 0x%02x%s)", f->who, p[0],
					 isupper(p[0]) ? ": an HTTP client? this port speaks SOCKS" : "");
				*reason = "bad-socks-request";
				return FRONT_DROP;
			}
			f->version = p[0];
		}
		if (f->stage == V5_DONE)
			return FRONT_MORE; /* a request was taken: the rest is payload */
		if (f->version == 5 && f->stage == V5_GREETING)
			ev = greeting(f, p, n, &step, reason);
		else if (f->version == 5 && f->stage == V5_LOGIN)
			ev = login(f, cfg, p, n, &step, reason);
		else
			break;
		*used += step;
		if (ev != FRONT_MORE || step == 0 || f->verdict == ACCESS_PENDING)
			return ev; /* pending: the request waits for the owner's lookup */
	}
	if (*used >= len || f->stage == V5_DONE)
		return FRONT_MORE;

	const uint8_t *p = buf + *used;
	size_t step = 0;
	rc = f->version == 5 ? socks5_parse_request(p, len - *used, &req, &step)
			     : socks4_parse_request(p, len - *used, &req, &step);
	if (rc == SOCKS_NEED_MORE)
		return FRONT_MORE;
	if (rc < 0) {
		log_info("%s: bad SOCKS%d request: %s", f->who, f->version, socks_strerror(rc));
		return fail(f, socks5_rep_for_error(rc), "bad-socks-request", reason);
	}
	*used += step;
	if (socks_target_authority(&req.target, target, cap) < 0)
		return fail(f, SOCKS5_REP_GENERAL_FAILURE, "bad-socks-request", reason);
	if (req.cmd != SOCKS_CMD_CONNECT) {
		log_info("%s: SOCKS%d command %d to %s not supported (only CONNECT)", f->who, f->version, req.cmd,
			 target);
		return fail(f, SOCKS5_REP_CMD_NOT_SUPPORTED, "command-not-supported", reason);
	}
	if (f->verdict == ACCESS_ERROR)
		return fail(f, SOCKS5_REP_GENERAL_FAILURE, "out-of-resources", reason);
	if (f->verdict != ACCESS_ALLOW) {
		/* SOCKS4 cannot log in; others were refused at accept */
		log_info("%s: SOCKS%d CONNECT %s refused: %s", f->who, f->version, target,
			 f->verdict == ACCESS_AUTH ? "SOCKS4 has no login, and --socks-auth requires one"
						   : "client not allowed");
		return fail(f, SOCKS5_REP_NOT_ALLOWED, "access-denied", reason);
	}
	f->stage = V5_DONE;
	return FRONT_REQUEST;
}

uint8_t front_reply(struct front *f, const struct outcome *o, const struct sockaddr *bound)
{
	uint8_t rep = front_socks5_rep(o);
	(void)queue_reply(f, rep, rep == SOCKS5_REP_SUCCEEDED ? bound : NULL);
	return rep;
}

static int name_is(const char *s, size_t n, const char *name)
{
	return strlen(name) == n && strncasecmp(s, name, n) == 0;
}

/* squid's X-Squid-Error ("ERR_CONNECT_FAIL 111"): the cause behind a 503 or 504. */
static int squid_rep(const char *e, uint8_t *rep)
{
	const char *sp = strchr(e, ' ');
	size_t nlen = sp ? (size_t)(sp - e) : strlen(e);
	int err = sp ? atoi(sp + 1) : 0;

	if (name_is(e, nlen, "ERR_DNS_FAIL")) {
		*rep = SOCKS5_REP_HOST_UNREACHABLE;
		return 1;
	}
	if (name_is(e, nlen, "ERR_READ_TIMEOUT") || name_is(e, nlen, "ERR_CONNECT_TIMEOUT")) {
		*rep = SOCKS5_REP_TTL_EXPIRED;
		return 1;
	}
	if (name_is(e, nlen, "ERR_CONNECT_FAIL")) {
		switch (err) {
		case 110: /* ETIMEDOUT, as squid's Linux numbers it */
			*rep = SOCKS5_REP_TTL_EXPIRED;
			return 1;
		case 111: /* ECONNREFUSED */
			*rep = SOCKS5_REP_CONN_REFUSED;
			return 1;
		case 101: /* ENETUNREACH */
			*rep = SOCKS5_REP_NET_UNREACHABLE;
			return 1;
		case 113: /* EHOSTUNREACH */
			*rep = SOCKS5_REP_HOST_UNREACHABLE;
			return 1;
		default:
			return 0;
		}
	}
	if (name_is(e, nlen, "ERR_ACCESS_DENIED") || name_is(e, nlen, "ERR_CACHE_ACCESS_DENIED")) {
		*rep = SOCKS5_REP_NOT_ALLOWED;
		return 1;
	}
	return 0;
}

uint8_t front_socks5_rep(const struct outcome *o)
{
	uint8_t rep;

	switch (o->stage) {
	case OUTCOME_OK:
		return SOCKS5_REP_SUCCEEDED;
	case OUTCOME_REPLY_TIMEOUT:
		return SOCKS5_REP_TTL_EXPIRED;
	case OUTCOME_BLOCKED:
		return SOCKS5_REP_NOT_ALLOWED;
	case OUTCOME_TARGET:
		switch (o->err) {
		case ENOENT: /* the name was not found */
		case EHOSTUNREACH:
			return SOCKS5_REP_HOST_UNREACHABLE;
		case ECONNREFUSED:
			return SOCKS5_REP_CONN_REFUSED;
		case ENETUNREACH:
			return SOCKS5_REP_NET_UNREACHABLE;
		case ETIMEDOUT:
			return SOCKS5_REP_TTL_EXPIRED;
		default:
			return SOCKS5_REP_GENERAL_FAILURE;
		}
	case OUTCOME_PROXY_REPLY:
		break;
	default:
		return SOCKS5_REP_GENERAL_FAILURE;
	}
	if (o->http_status >= 200 && o->http_status <= 299)
		return SOCKS5_REP_SUCCEEDED;
	if (o->detail[0] != '\0' && squid_rep(o->detail, &rep))
		return rep;
	switch (o->http_status) {
	case 401:
	case 403:
	case 405:
	case 407:
		return SOCKS5_REP_NOT_ALLOWED;
	case 504:
		return SOCKS5_REP_TTL_EXPIRED;
	default:
		break;
	}
	if (o->http_status >= 500)
		return SOCKS5_REP_HOST_UNREACHABLE;
	return SOCKS5_REP_GENERAL_FAILURE;
}
