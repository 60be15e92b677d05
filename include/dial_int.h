/* dial_int: what dial.c (the sequence, the CONNECT exchange) and dial_connect.c (steps,
 * names, Happy Eyeballs) share.  Private to them: nothing else may include it.
 *
 * Functions that can end the dial return -1 when they did (done has been called and the
 * dial may be freed: return at once) and 0 otherwise. */
#ifndef SOCKS2HTTP_DIAL_INT_H
#define SOCKS2HTTP_DIAL_INT_H

#include "dial.h"
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
