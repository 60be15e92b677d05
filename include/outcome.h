/* outcome: how an attempt to open a path to a target ended, as the dialer reports it and
 * the client's protocol (front) turns into a reply.  Plain data, no functions. */
#ifndef SOCKS2HTTP_OUTCOME_H
#define SOCKS2HTTP_OUTCOME_H

enum outcome_stage {
	OUTCOME_OK = 0,       /* the tunnel is open */
	OUTCOME_LOCAL,        /* our own resources ran out (err: ENOMEM, EMFILE, ...) */
	OUTCOME_UNREACHABLE,  /* no proxy could be reached (name, connect, closed early) */
	OUTCOME_PROXY_REPLY,  /* the proxy answered non-2xx (http_status, detail) */
	OUTCOME_BAD_REPLY,    /* the proxy's answer was malformed or cut short */
	OUTCOME_REPLY_TIMEOUT,/* the proxy did not answer CONNECT in time */
	OUTCOME_TARGET,       /* a direct connection failed (err: ENOENT for a name not found,
			       * ECONNREFUSED, ENETUNREACH, EHOSTUNREACH, ETIMEDOUT, ...) */
	OUTCOME_BLOCKED,      /* a rule blocks the target */
};

struct outcome {
	enum outcome_stage stage;
	int err;              /* errno, where the stage has one */
	int http_status;      /* the proxy's status, 0 if none */
	char detail[64];      /* squid's X-Squid-Error value, or "" */
	const char *reason;   /* the summary line's reason word */
	unsigned auth;        /* the scheme that opened it (HTTPC_AUTH_*), 0 none */
	unsigned char tls;    /* 0 no TLS to the proxy, 1 full handshake, 2 resumed */
};

#endif
