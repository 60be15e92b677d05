/* dial_int: what dial.c (the sequence, the CONNECT exchange) and dial_connect.c (steps,
 * names, Happy Eyeballs) share.  Private to them: nothing else may include it.
 *
 * Functions that can end the dial return -1 when they did (done has been called and the
 * dial may be freed: return at once) and 0 otherwise. */
#ifndef SOCKS2HTTP_DIAL_INT_H
#define SOCKS2HTTP_DIAL_INT_H

#include "dial.h"
#include "httpc.h"
#include "upstream.h"

enum { D_IDLE, D_RESOLVING, D_CONNECTING, D_TLS, D_CONNECTED, D_AUTH, D_REQUEST, D_DONE };

static inline const struct upstream *dial_cur(const struct dial *d)
{
	return &d->gen->upstreams[d->proxy_idx];
}

/* dial.c */
void dial_tell(struct dial *d, enum dial_event ev, const void *info);
void dial_arm_timer(struct dial *d, double secs);
void dial_watch(struct dial *d);
void dial_drop_upstream(struct dial *d);
/* Forgets the authentication under way (a new proxy is tried: nothing of it may go there). */
void dial_forget_auth(struct dial *d);
int dial_finish_with(struct dial *d, enum outcome_stage stage, int err, const char *reason);
int dial_connected(struct dial *d);
void dial_up_cb(struct ev_loop *loop, ev_io *w, int revents);

int dial_finish(struct dial *d, struct outcome *o);
void dial_wipe_request(struct dial *d);
/* What the current hop is asked to CONNECT to: in a chain the next proxy, else the target. */
const char *dial_authority(const struct dial *d);

/* dial_auth.c */
void dial_wipe_authv(struct dial *d);
/* Sends CONNECT: the round auth prepared, or a first request with what the proxy asked
 * for before (a Negotiate token may be made first). */
int dial_send_request(struct dial *d);
/* Goes on with what auth decided (why: for AUTH_GIVE_UP). */
int dial_act(struct dial *d, enum auth_action a, const char *why);
/* A Negotiate token arrived, or its making failed (token_b64 NULL, err why). */
void dial_negotiated(void *data, const char *token_b64, const char *err);
/* The TLS handshake, on each event until it is done. */
int dial_tls_step(struct dial *d);
/* A 407 (the complete header hdr): the next round, once its body is read. */
int dial_answer_407(struct dial *d, const struct httpc_response *r, const char *hdr, size_t hdr_len);
/* Reads past what is left of a 407's body: 1 all read, 0 more to come, -1 malformed. */
int dial_skip_body(struct dial *d);
/* The proxy closed the connection after a 407: the next round on a new one, if it may. */
int dial_lost_connection(struct dial *d);

/* dial_connect.c */
int dial_next_step(struct dial *d);
int dial_resolve(struct dial *d);
int dial_connect_step(struct dial *d);
int dial_attempt_done(struct dial *d, struct stream *a, int err, const char *what);
int dial_next_address(struct dial *d, const char *what, int err);
void dial_connect_timeout(struct dial *d);
/* "proxy HOST:PORT" or "target HOST:PORT", for log lines */
const char *dial_label(const struct dial *d, char *buf, size_t cap);

#endif
