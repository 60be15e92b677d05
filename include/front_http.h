/* front_http: the HTTP proxy client's protocol on the SOCKS port (a first byte that is a
 * letter).  Like front, it parses (with the pure httpreq parser), decides with the access
 * verdict taken at accept, and queues what to send back; no I/O.
 *
 * What a request becomes:
 *   CONNECT host:port                -> FRONT_HTTP_CONNECT: dial it, then front_http_reply
 *   GET http://host/... (any method) -> FRONT_HTTP_FORWARD: the forward module carries it
 *   GET /proxy.pac, Host loopback    -> FRONT_HTTP_ANSWER: the PAC file is queued
 *   origin form naming another Host  -> 400 (DNS rebinding: a web page must not reach us)
 * With --socks-auth, CONNECT and forwarded requests need Proxy-Authorization: Basic with a
 * line of that file, else 407.  Every answer front_http queues itself says
 * "Connection: close": the session sends it and closes.  The mapping from the dial's
 * outcome to an HTTP status sits next to the SOCKS one (front_socks5_rep): see
 * front_http_status. */
#ifndef SOCKS2HTTP_FRONT_HTTP_H
#define SOCKS2HTTP_FRONT_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "access.h"
#include "config.h"
#include "httpreq.h"
#include "outcome.h"

#define FRONT_HTTP_OUT_MAX 1024

enum front_http_event {
	FRONT_HTTP_MORE = 0,    /* waiting for more bytes */
	FRONT_HTTP_CONNECT = 1, /* a CONNECT: target set */
	FRONT_HTTP_FORWARD = 2, /* a request to forward: target set, req and the head (head_len
				 * bytes at the start of what was fed, and counted in used) */
	FRONT_HTTP_ANSWER = 3,  /* an answer of ours is queued (the PAC file): send it, close */
	FRONT_HTTP_FAIL = 4,    /* an error answer is queued: send it, then close (reason set) */
};

struct front_http {
	uint8_t verdict;        /* enum access_verdict from accept */
	uint16_t port;          /* the listener's port, for the PAC file */
	int status;             /* the status we answered with; 0 none yet */
	size_t scan;            /* httpreq_parse's resume point */
	struct httpreq req;     /* the request being served */
	uint16_t out_len, out_off;
	char out[FRONT_HTTP_OUT_MAX];
	const char *who;        /* the client, for log lines */
};

void front_http_init(struct front_http *f, enum access_verdict verdict, uint16_t port, const char *who);

/* Starts on the next request of a kept-alive connection. */
void front_http_next(struct front_http *f);

/* Feeds the client's bytes; *used is how many belong to the request head (the rest is
 * early payload, a body, or the next request).  full says the caller's buffer can take no
 * more (an unfinished head then is too large).  target (cap >= HTTPREQ_HOST_MAX + 10)
 * receives "host:port" for CONNECT and FORWARD. */
enum front_http_event front_http_feed(struct front_http *f, const struct config *cfg, const char *buf, size_t len,
				      int full, size_t *used, char *target, size_t cap, const char **reason);

/* The status and a short sentence for an outcome, for the client of a CONNECT or of a
 * forwarded request: 200, 403 (policy, a 407 from the proxy we cannot satisfy), 502 (no
 * proxy, refused, unreachable, a bad answer), 503 (our resources), 504 (timeouts). */
int front_http_status(const struct outcome *o, const char **text);

/* Queues the answer to a CONNECT for the dial's outcome ("200 Connection established", or
 * an error page).  Returns the status. */
int front_http_reply(struct front_http *f, const struct outcome *o, const char *target);

/* Queues an error answer (with Connection: close). */
void front_http_error(struct front_http *f, int status, const char *text);

static inline size_t front_http_out_len(const struct front_http *f)
{
	return (size_t)(f->out_len - f->out_off);
}
static inline const char *front_http_out(const struct front_http *f)
{
	return f->out + f->out_off;
}
void front_http_sent(struct front_http *f, size_t n);

#endif
