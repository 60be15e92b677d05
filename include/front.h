/* front: the client's protocol, SOCKS4, SOCKS4a and SOCKS5 on one port.
 *
 * The session feeds it the client's bytes; front parses them (with the pure socks parser),
 * decides with the access verdict taken at accept, and queues the bytes to send back in an
 * append-only output buffer: a queued message is never overwritten before it was sent.
 * Once the dialer has an outcome, front turns it into the SOCKS reply (the table in the
 * README).  No I/O; log lines name the client. */
#ifndef SOCKS2HTTP_FRONT_H
#define SOCKS2HTTP_FRONT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "access.h"
#include "config.h"
#include "outcome.h"
#include "socks.h"

#define FRONT_OUT_MAX 32 /* method choice 2 + login status 2 + reply 22 */

enum front_event {
	FRONT_MORE = 0,    /* waiting for more bytes */
	FRONT_REQUEST = 1, /* a CONNECT request: target set; dial it, then front_reply */
	FRONT_FAIL = 2,    /* a failure message is queued: send it, then close (reason set) */
	FRONT_DROP = 3,    /* close at once, nothing to send (reason set) */
};

struct front {
	uint8_t version;         /* 4 or 5 once the first byte arrived, else 0 */
	uint8_t stage;           /* SOCKS5: greeting, login, request */
	uint8_t verdict;         /* enum access_verdict from accept; ALLOW after a good login */
	int16_t reply;           /* the reply code sent (SOCKS4 90/91, SOCKS5 0..8, 0xff); -1 none */
	uint8_t out_len, out_off;
	uint8_t out[FRONT_OUT_MAX];
	const char *who;         /* the client, for log lines */
};

void front_init(struct front *f, enum access_verdict verdict, const char *who);

/* Feeds bytes received from the client.  *used says how many were consumed (the rest is
 * the next message, or early tunnel payload after a request).  On FRONT_REQUEST the target
 * authority ("host:port", IPv6 in brackets) is written to target (cap >= SOCKS_NAME_MAX + 10). */
enum front_event front_feed(struct front *f, const struct config *cfg, const uint8_t *buf, size_t len,
			    size_t *used, char *target, size_t cap, const char **reason);

/* Queues the reply to the request for the dialer's outcome; bound is the upstream socket's
 * local address for a success (NULL: 0.0.0.0:0).  Returns the SOCKS5 code it stands for. */
uint8_t front_reply(struct front *f, const struct outcome *o, const struct sockaddr *bound);

/* The SOCKS5 reply code for an outcome: the proxy's status and squid's X-Squid-Error. */
uint8_t front_socks5_rep(const struct outcome *o);

/* Bytes queued for the client and not yet sent; front_sent when some went out. */
static inline size_t front_out_len(const struct front *f)
{
	return (size_t)(f->out_len - f->out_off);
}
static inline const uint8_t *front_out(const struct front *f)
{
	return f->out + f->out_off;
}
void front_sent(struct front *f, size_t n);

#endif
