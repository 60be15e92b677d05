/* dial_auth: the rounds of authentication and the TLS handshake with the proxy (see
 * include/dial.h): what auth decides is sent, a 407's body is read past, a connection the
 * proxy closed is replaced, a Negotiate token is waited for. */
#include "dial_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "httpc.h"
#include "log.h"
#include "negotiate.h"
#include "tls.h"
#include "wipe.h"

#define BODY_MAX (1 << 20) /* a 407's body longer than this: a new connection instead */

void dial_wipe_authv(struct dial *d)
{
	if (d->authv != NULL)
		wipe(d->authv, AUTH_VALUE_MAX);
	free(d->authv);
	d->authv = NULL;
}

void dial_forget_auth(struct dial *d)
{
	negotiate_cancel(d->nj);
	d->nj = NULL;
	dial_wipe_authv(d);
	memset(&d->ar, 0, sizeof(d->ar));
	d->queued = 0;
}

/* Sends CONNECT with authv (NULL: no credentials), on the connection that is up.  Returns
 * 0, or -1 when the dial ended. */
static int dial_send_now(struct dial *d)
{
	size_t len;
	d->queued = 0;
	d->req = upstream_connect_request(dial_authority(d), d->authv, d->gen->cfg->user_agent, &len);
	dial_wipe_authv(d);
	if (d->req == NULL)
		return dial_finish_with(d, OUTCOME_LOCAL, ENOMEM, "out-of-memory");
	d->req_len = (uint32_t)len;
	d->req_off = 0;
	d->hdr_scan = 0;
	d->state = D_REQUEST;
	dial_arm_timer(d, d->gen->cfg->reply_timeout);
	ssize_t w = stream_write(d->up, d->req, d->req_len);
	if (w > 0)
		d->req_off = (uint32_t)w;
	dial_watch(d); /* a failed write shows on the read side */
	return 0;
}

/* Goes on with what auth decided: send (now, or on a new connection when the last one is
 * gone), or make a Negotiate token first.  Returns 0, or -1 when the dial ended. */
int dial_act(struct dial *d, enum auth_action a, const char *why)
{
	const struct upstream *u = dial_cur(d);
	char err[256];

	if (a == AUTH_GIVE_UP) {
		log_warn("%s: proxy %s demands authentication for CONNECT %s (407): %s", d->who, u->display, d->target, why);
		dial_tell(d, DIAL_EV_AUTH, why);
		struct outcome o;
		memset(&o, 0, sizeof(o));
		o.stage = OUTCOME_PROXY_REPLY;
		o.reason = "proxy-auth-failed";
		return dial_finish(d, &o);
	}
	if (a == AUTH_NONE)
		dial_wipe_authv(d);
	if (a == AUTH_NEGOTIATE) {
		d->state = D_AUTH;
		dial_arm_timer(d, d->gen->cfg->reply_timeout);
		d->nj = negotiate_start(d->loop, u->spec->host, dial_negotiated, d, err, sizeof(err));
		if (d->nj == NULL) {
			dial_negotiated(d, NULL, err); /* as if it had failed at once */
			return d->state == D_DONE ? -1 : 0;
		}
		return 0;
	}
	if (d->authv != NULL)
		dial_tell(d, DIAL_EV_AUTH, auth_name(d->ar.sent));
	if (d->up->fd < 0) { /* the proxy closed the connection: the next round on a new one */
		d->queued = 1;
		return dial_resolve(d);
	}
	return dial_send_now(d);
}

/* The Negotiate token (or why there is none), on the loop. */
void dial_negotiated(void *data, const char *token_b64, const char *err)
{
	struct dial *d = data;
	struct upstream *u = &d->gen->upstreams[d->proxy_idx];
	char why[256] = "";
	enum auth_action a;

	d->nj = NULL;
	if (d->state != D_AUTH)
		return;
	if (d->authv == NULL && (d->authv = malloc(AUTH_VALUE_MAX)) == NULL) {
		dial_finish_with(d, OUTCOME_LOCAL, ENOMEM, "out-of-memory");
		return;
	}
	if (token_b64 != NULL && auth_negotiate_value(&d->ar, token_b64, d->authv, AUTH_VALUE_MAX) == 0) {
		a = AUTH_SEND;
	} else {
		log_warn("%s: proxy %s: Negotiate (Kerberos) for HTTP@%s: %s", d->who, u->display, u->spec->host,
			 err ? err : "token too long");
		a = auth_negotiate_failed(&d->ar, &u->mem, u->spec, d->gen->cfg->proxy_auth, dial_authority(d), d->authv,
					  AUTH_VALUE_MAX, why, sizeof(why));
	}
	if (dial_act(d, a, why) == 0)
		dial_watch(d);
}

/* Sends CONNECT: the round auth prepared, or a first request with what the proxy asked
 * for before.  Returns 0, or -1 when the dial ended. */
int dial_send_request(struct dial *d)
{
	struct upstream *u = &d->gen->upstreams[d->proxy_idx];
	if (d->queued)
		return dial_send_now(d);
	if (d->authv == NULL && (d->authv = malloc(AUTH_VALUE_MAX)) == NULL)
		return dial_finish_with(d, OUTCOME_LOCAL, ENOMEM, "out-of-memory");
	enum auth_action a = auth_first(&d->ar, &u->mem, u->spec, d->gen->cfg->proxy_auth, dial_authority(d), d->authv,
					AUTH_VALUE_MAX);
	return dial_act(d, a, "");
}

/* The handshake with an https:// proxy: on every event until it is done.  Returns 0, or
 * -1 when the dial ended. */
int dial_tls_step(struct dial *d)
{
	char err[300];
	int rc = tls_handshake(d->up, &d->tls_events, err, sizeof(err));
	if (rc == 0)
		return 0;
	if (rc < 0) {
		d->tls_failed = 1;
		log_warn("%s: proxy %s: TLS handshake failed: %s", d->who, dial_cur(d)->display, err);
		dial_tell(d, DIAL_EV_TLS, err);
		return dial_next_address(d, "TLS handshake failed", 0);
	}
	d->tls = tls_resumed(d->up) ? 3 : 2;
	dial_tell(d, DIAL_EV_TLS, d->tls == 3 ? "resumed" : "full handshake");
	return dial_connected(d);
}

/* The proxy closed the connection after a 407: the next round goes on a new one, unless
 * it had to be this one (NTLM authenticates the connection, a chain's later hop rides on
 * the first).  Returns 0, or -1 when the dial ended. */
int dial_lost_connection(struct dial *d)
{
	dial_drop_upstream(d);
	if (d->ar.same_conn || d->hop > 0) {
		log_warn("%s: proxy %s closed the connection in the middle of %s authentication", d->who,
			 dial_cur(d)->display, auth_name(d->ar.sent));
		return dial_finish_with(d, OUTCOME_BAD_REPLY, EPIPE, "proxy-auth-failed");
	}
	return dial_act(d, (enum auth_action)d->pending, "");
}

/* Reads what is left of a 407's body from rx.  Returns 1 when it is all read (rx then
 * empty), 0 for more, or -1 when it is malformed. */
int dial_skip_body(struct dial *d)
{
	char *p = d->rx.data ? d->rx.data + d->rx.start : NULL;
	size_t n = buf_len(&d->rx);
	if (d->body_left >= 0) {
		size_t take = (unsigned long long)d->body_left < n ? (size_t)d->body_left : n;
		d->body_left -= (long long)take;
		d->rx.start += (uint32_t)take;
		if (d->body_left > 0)
			return 0;
	} else if (n > 0) {
		size_t used = 0, outlen = 0;
		/* the data is dropped in place; a chunk may be longer than what came so far
		 * (BODY_MAX bounds the whole body, below) */
		int rc = chunked_decode(&d->body, p, n, p, &outlen, BODY_MAX, &used);
		d->rx.start += (uint32_t)used;
		d->body_left -= (long long)used; /* counts down from -1: the bound holds here too */
		if (rc < 0 || d->body_left < -(long long)BODY_MAX)
			return -1;
		if (rc != CHUNKED_DONE)
			return 0;
	} else {
		return 0;
	}
	d->skipping = 0;
	d->rx.start = d->rx.end = 0;
	return 1;
}

/* A 407: the next round, after its body.  Returns 0, or -1 when the dial ended. */
int dial_answer_407(struct dial *d, const struct httpc_response *r, const char *hdr, size_t hdr_len)
{
	struct upstream *u = &d->gen->upstreams[d->proxy_idx];
	char why[256];

	if (d->authv == NULL && (d->authv = malloc(AUTH_VALUE_MAX)) == NULL)
		return dial_finish_with(d, OUTCOME_LOCAL, ENOMEM, "out-of-memory");
	enum auth_action a = auth_answer(&d->ar, &u->mem, u->spec, d->gen->cfg->proxy_auth, hdr, hdr_len, dial_authority(d),
					 d->authv, AUTH_VALUE_MAX, why, sizeof(why));
	if (a == AUTH_GIVE_UP)
		return dial_act(d, a, why);
	d->pending = (uint8_t)a;
	dial_wipe_request(d);
	if (r->conn_close || (!r->chunked && r->content_length < 0) || r->content_length > BODY_MAX)
		return dial_lost_connection(d); /* no framed body to read past: a new connection */
	d->skipping = 1;
	d->body_left = r->chunked ? -1 : r->content_length;
	chunked_init(&d->body);
	int rc = dial_skip_body(d);
	if (rc < 0)
		return dial_lost_connection(d);
	if (rc == 0)
		return 0;
	return dial_act(d, a, "");
}

