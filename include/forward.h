/* forward: one absolute-form HTTP request (GET http://host/..., POST, ...) carried to the
 * upstream proxy in the proxy's own protocol, over a connection dial opened without
 * CONNECT, and its answer carried back to the client.
 *
 * The request head goes out rewritten by httpreq (absolute form kept: the upstream is a
 * proxy; hop-by-hop headers dropped; the client's Proxy-Authorization replaced by the
 * upstream's; "Connection: close": one upstream connection per request).  The body follows
 * by its framing (Content-Length, or chunked scanned incrementally); the answer's head is
 * parsed (httpc) and rewritten the same way, its body framed by Content-Length, chunked or
 * the connection's end (none after HEAD, 1xx, 204, 304).  Bytes the client sends after the
 * request's body (the next, pipelined request) stay in the session's buffer: the next
 * request is read only once this answer is complete.
 *
 * Why not the pump: the pump is protocol-free and moves bytes until both sides end; here
 * both directions stop at a framing boundary that only HTTP knows, and the client's side
 * outlives the exchange.  So this module has its own small copy loop, through one buffer
 * per direction (the session's c2u, and u2c from the pool), with the same backpressure rule
 * as the pump: read a side only while its direction has room.
 *
 * Like the pump it borrows both streams (the session closes them), drives their watchers
 * while it runs, and reports the end once through done, as the last thing it does in a
 * callback. */
#ifndef SOCKS2HTTP_FORWARD_H
#define SOCKS2HTTP_FORWARD_H

#include <ev.h>
#include <stdint.h>

#include "bufpool.h"
#include "httpreq.h"
#include "stream.h"

enum forward_end {
	FORWARD_KEEP = 0,      /* answered; the client may send its next request */
	FORWARD_CLOSE,         /* answered; the connection must close (client's wish, or an
				* answer delimited by the connection's end) */
	FORWARD_ERR_CLIENT,    /* the client failed or left mid-request (err) */
	FORWARD_ERR_BODY,      /* the client's chunked framing is malformed */
	FORWARD_ERR_UPSTREAM,  /* the proxy failed before any byte of its answer reached the
				* client: the client may still be sent an error answer */
	FORWARD_ERR_UP_LATE,   /* the proxy failed in the middle of its answer */
	FORWARD_ERR_MEM,
	FORWARD_RETRY,         /* on_407 asked for the request again: nothing reached the client,
				* the request is still prepared; forward_start may run it again */
};

struct forward {
	struct ev_loop *loop;
	struct bufpool *pool;
	struct stream *client, *up; /* borrowed */
	struct buf *c2u;            /* the session's: body bytes, then the next request */
	struct buf u2c;             /* the proxy's answer after its head */
	char *raw;                  /* the client's request head, offsets as in req (wiped on free) */
	struct httpreq req;
	char *head;                 /* the rewritten request head (wiped on free) */
	char *client_auth;          /* the client's Proxy-Authorization, kept for the proxy (wiped) */
	size_t head_len, head_off;
	uint8_t req_mode, req_scanned, client_close, client_http10, is_head;
	uint8_t resp_state, resp_mode, running;
	uint64_t req_left;          /* Content-Length bytes not yet identified */
	size_t body_ready;          /* bytes at the start of c2u that are body, not yet sent */
	struct httpreq_chunk req_chunk, resp_chunk;
	uint64_t resp_left;
	size_t hdr_scan, max_header;
	char *rhead;                /* the answer's rewritten head(s) for the client */
	size_t rhead_len, rhead_off;
	int status;                 /* the proxy's final status */
	uint64_t up_bytes, down_bytes;
	ev_tstamp last_io;
	void (*done)(struct forward *f, enum forward_end end, int err);
	/* Set by the owner before forward_start, or NULL: a 407 is shown to it first (hdr: the
	 * answer's head); again says whether the request can be sent again (it has no body,
	 * and nothing reached the client yet).  It returns 1 to have it again (the forward
	 * ends with FORWARD_RETRY, the proxy's connection unread), 0 to pass the 407 on.
	 * Asked once per forward_start. */
	int (*on_407)(struct forward *f, const char *hdr, size_t hdr_len, int again);
	void *data;                 /* the owner's */
};

/* Takes the request (head at buf, parsed into r) before its bytes leave the client
 * buffer; data is the owner's.  The client's Proxy-Authorization is kept for the proxy
 * only with keep_auth (it is not ours to check: no --socks-auth); the owner forgets it
 * (forward_forget_client_auth) when the proxy has a login of ours.  Returns 0, or -1 when out of memory. */
int forward_prepare(struct forward *f, const char *buf, const struct httpreq *r, int keep_auth, void *data);

/* Starts carrying the prepared request over up (connected to the proxy); proxy_auth is
 * the upstream's Proxy-Authorization value or NULL (of any length); max_header bounds the
 * answer's head.  origin: up is connected to the origin server itself (a direct route):
 * the request line goes out in origin form ("GET /path") with Host naming the target, and
 * no Proxy-Authorization at all.
 * Sets both streams' callbacks.  done is never called from here.  Returns 0, or -1 when
 * out of memory (nothing started). */
int forward_start(struct forward *f, struct ev_loop *loop, struct bufpool *pool, struct stream *client,
		  struct stream *up, struct buf *c2u, const char *proxy_auth, int origin, size_t max_header,
		  void (*done)(struct forward *, enum forward_end, int));

/* Forgets the client's Proxy-Authorization: the proxy it goes to has a login of ours. */
void forward_forget_client_auth(struct forward *f);

/* Stops the watchers and frees what the forward holds; the streams stay open.  Safe on a
 * forward that was only prepared, and twice. */
void forward_stop(struct forward *f);

#endif
