/* front_http: HTTP proxy clients (see include/front_http.h). */
#include "front_http.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "front.h"
#include "log.h"
#include "socks.h"
#include "wipe.h"

void front_http_init(struct front_http *f, enum access_verdict verdict, uint16_t port, const char *who)
{
	memset(f, 0, sizeof(*f));
	f->verdict = (uint8_t)verdict;
	f->port = port;
	f->who = who;
}

void front_http_next(struct front_http *f)
{
	f->scan = 0;
	f->status = 0;
}

void front_http_sent(struct front_http *f, size_t n)
{
	f->out_off = (uint16_t)(f->out_off + n);
	if (f->out_off == f->out_len)
		f->out_off = f->out_len = 0;
}

static const char *reason_phrase(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 407:
		return "Proxy Authentication Required";
	case 431:
		return "Request Header Fields Too Large";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	default:
		return "Error";
	}
}

/* Queues a complete answer; a body that does not fit is cut (it is only text). */
static void queue_answer(struct front_http *f, int status, const char *extra, const char *type, const char *body,
			 int head_only)
{
	size_t blen = strlen(body);
	int n = snprintf(f->out, sizeof(f->out),
			 "HTTP/1.1 %d %s\r\n%sContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", status,
			 reason_phrase(status), extra, type, blen);
	if (n < 0 || (size_t)n >= sizeof(f->out))
		n = 0;
	if (!head_only) {
		size_t room = sizeof(f->out) - (size_t)n;
		if (blen > room)
			blen = room;
		memcpy(f->out + n, body, blen);
		n += (int)blen;
	}
	f->out_off = 0;
	f->out_len = (uint16_t)n;
	f->status = status;
}

void front_http_error(struct front_http *f, int status, const char *text)
{
	char body[256];
	snprintf(body, sizeof(body), "socks2http: %s\n", text);
	queue_answer(f, status, "", "text/plain", body, f->req.is_head);
}

static enum front_http_event fail(struct front_http *f, int status, const char *text, const char *why,
				  const char **reason)
{
	front_http_error(f, status, text);
	*reason = why;
	return FRONT_HTTP_FAIL;
}

/* Origin form: a request for us.  Only a browser on this machine naming us by a loopback
 * name may have it: any other Host is a page that rebound its name to 127.0.0.1. */
static enum front_http_event origin(struct front_http *f, const char *buf, const char **reason)
{
	const struct httpreq *r = &f->req;
	if (r->form == HTTPREQ_ASTERISK || !httpreq_host_is_loopback(r)) {
		log_info("%s: HTTP %s for %.64s refused: origin-form requests are answered only for a loopback Host", f->who,
			 r->method, r->host[0] ? r->host : "(no Host)");
		return fail(f, 400, "this is a proxy: ask for an absolute URL (http://host/...)", "bad-http-request",
			    reason);
	}
	int is_pac = r->path_len >= 10 && memcmp(buf + r->path_off, "/proxy.pac", 10) == 0 &&
		     (r->path_len == 10 || buf[r->path_off + 10] == '?');
	if (!is_pac)
		return fail(f, 404, "only /proxy.pac is served here", "not-found", reason);
	if (strcmp(r->method, "GET") != 0 && !r->is_head)
		return fail(f, 405, "/proxy.pac: GET only", "bad-http-request", reason);
	char pac[200];
	snprintf(pac, sizeof(pac),
		 "function FindProxyForURL(url, host) { return \"PROXY 127.0.0.1:%u; SOCKS5 127.0.0.1:%u\"; }\n",
		 (unsigned)f->port, (unsigned)f->port);
	queue_answer(f, 200, "", "application/x-ns-proxy-autoconfig", pac, r->is_head);
	*reason = "pac-served";
	return FRONT_HTTP_ANSWER;
}

/* --socks-auth: Proxy-Authorization: Basic with a line of the file.  Returns 1 when allowed. */
static int login_ok(struct front_http *f, const struct config *cfg, const char *buf)
{
	char user[256] = "", pass[256] = "";
	const struct httpreq *r = &f->req;
	if (r->auth_len == 0)
		return 0;
	int ok = httpreq_basic_credentials(buf + r->auth_off, r->auth_len, user, pass, sizeof(user)) == 0 &&
		 access_password_ok(cfg, user, pass);
	if (!ok) {
		for (char *c = user; *c; c++) /* the client's: no log injection */
			if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
				*c = '?';
		log_info("%s: HTTP proxy login failed for user '%.64s'", f->who, user);
	}
	wipe(pass, sizeof(pass));
	wipe(user, sizeof(user));
	return ok;
}

enum front_http_event front_http_feed(struct front_http *f, const struct config *cfg, const char *buf, size_t len,
				      int full, size_t *used, char *target, size_t cap, const char **reason)
{
	struct httpreq *r = &f->req;
	*used = 0;
	long rc = httpreq_parse(buf, len, &f->scan, r);
	if (rc == 0 && full)
		rc = HTTPREQ_ERR_TOOLARGE;
	if (rc == 0)
		return FRONT_HTTP_MORE;
	if (rc < 0) {
		log_info("%s: bad HTTP request: %s", f->who, httpreq_strerror((int)rc));
		memset(r, 0, sizeof(*r));
		if (rc == HTTPREQ_ERR_TOOLARGE || rc == HTTPREQ_ERR_TOOMANY)
			return fail(f, 431, httpreq_strerror((int)rc), "bad-http-request", reason);
		return fail(f, 400, httpreq_strerror((int)rc), "bad-http-request", reason);
	}
	*used = (size_t)rc;
	if (f->verdict == ACCESS_ERROR)
		return fail(f, 503, "out of resources", "out-of-resources", reason);
	if (f->verdict != ACCESS_ALLOW && f->verdict != ACCESS_AUTH) /* DENY, or GONE: its owner is unknown */
		return fail(f, 403, "this user may not use the bridge", "access-denied", reason);
	if (r->form == HTTPREQ_ORIGIN || r->form == HTTPREQ_ASTERISK)
		return origin(f, buf, reason);
	if (f->verdict == ACCESS_AUTH && !login_ok(f, cfg, buf)) {
		queue_answer(f, 407, "Proxy-Authenticate: Basic realm=\"socks2http\"\r\n", "text/plain",
			     "socks2http: log in with a user:password of --socks-auth\n", r->is_head);
		*reason = "login-failed";
		return FRONT_HTTP_FAIL;
	}
	if (httpreq_authority(r, 0, target, cap) < 0)
		return fail(f, 400, "target too long", "bad-http-request", reason);
	return r->is_connect ? FRONT_HTTP_CONNECT : FRONT_HTTP_FORWARD;
}

int front_http_status(const struct outcome *o, const char **text)
{
	/* the SOCKS5 code already says what the outcome means (the table in the README); the
	 * HTTP client hears the same thing in its own words */
	switch (o->stage) {
	case OUTCOME_OK:
		*text = "connection established";
		return 200;
	case OUTCOME_LOCAL:
		*text = o->err == ENOENT ? "no route to this target" : "out of resources";
		return o->err == ENOENT ? 502 : 503;
	case OUTCOME_UNREACHABLE:
		*text = "no upstream proxy could be reached";
		return 502;
	case OUTCOME_BAD_REPLY:
		*text = "the upstream proxy sent a malformed answer";
		return 502;
	case OUTCOME_REPLY_TIMEOUT:
		*text = "the upstream proxy did not answer in time";
		return 504;
	case OUTCOME_BLOCKED:
		*text = "a rule blocks this target";
		return 403;
	case OUTCOME_TARGET:
		*text = o->err == ENOENT ? "the target's name was not found" : o->err == ETIMEDOUT ? "the target timed out"
							   : o->err == ECONNREFUSED ? "the target refused the connection"
										    : "the target could not be reached";
		return o->err == ETIMEDOUT ? 504 : 502;
	case OUTCOME_PROXY_REPLY:
		break;
	}
	switch (front_socks5_rep(o)) {
	case SOCKS5_REP_SUCCEEDED:
		*text = "connection established";
		return 200;
	case SOCKS5_REP_NOT_ALLOWED:
		*text = o->http_status == 407 ? "the upstream proxy wants credentials we cannot give (407)"
					      : "the upstream proxy refused this target (policy)";
		return 403;
	case SOCKS5_REP_TTL_EXPIRED:
		*text = "the target timed out (as the upstream proxy reports)";
		return 504;
	case SOCKS5_REP_CONN_REFUSED:
		*text = "the target refused the connection (as the upstream proxy reports)";
		return 502;
	case SOCKS5_REP_HOST_UNREACHABLE:
	case SOCKS5_REP_NET_UNREACHABLE:
		*text = "the target could not be reached (as the upstream proxy reports)";
		return 502;
	default:
		*text = "the upstream proxy failed";
		return 502;
	}
}

int front_http_reply(struct front_http *f, const struct outcome *o, const char *target)
{
	const char *text;
	char line[200];
	int status = front_http_status(o, &text);
	if (status == 200) {
		static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
		memcpy(f->out, ok, sizeof(ok) - 1);
		f->out_off = 0;
		f->out_len = sizeof(ok) - 1;
		f->status = 200;
		return 200;
	}
	if (o->http_status > 0)
		snprintf(line, sizeof(line), "%s: %s (upstream status %d)", target ? target : "-", text, o->http_status);
	else
		snprintf(line, sizeof(line), "%s: %s", target ? target : "-", text);
	front_http_error(f, status, line);
	return status;
}
