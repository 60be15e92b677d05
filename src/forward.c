/* forward: one absolute-form request through the upstream proxy (see include/forward.h).
 *
 * Everything happens in progress(): after any event it moves what can move (request head
 * and body to the proxy, the proxy's answer to the client) until nothing does, then
 * derives what each stream waits for from the buffers.  Functions that can end the forward
 * return -1 when they did (done has been called: return at once). */
#include "forward.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "httpc.h"
#include "wipe.h"

enum { BODY_NONE, BODY_LENGTH, BODY_CHUNKED, BODY_CLOSE };
enum { R_HEAD, R_BODY, R_DONE };

int forward_prepare(struct forward *f, const char *buf, const struct httpreq *r, int keep_auth, void *data)
{
	memset(f, 0, sizeof(*f));
	f->data = data;
	/* the head is rewritten once the route is known (for a proxy or for the origin, with
	 * which credentials): until then a copy, its offsets those of r */
	f->raw = malloc(r->head_len);
	if (f->raw == NULL)
		return -1;
	memcpy(f->raw, buf, r->head_len);
	f->req = *r;
	if (keep_auth && r->auth_len > 0) {
		f->client_auth = strndup(buf + r->auth_off, r->auth_len);
		if (f->client_auth == NULL) {
			forward_stop(f);
			return -1;
		}
	}
	f->req_mode = r->chunked ? BODY_CHUNKED : r->content_length > 0 ? BODY_LENGTH : BODY_NONE;
	f->req_left = r->content_length > 0 ? (uint64_t)r->content_length : 0;
	f->req_scanned = f->req_mode == BODY_NONE;
	f->client_close = r->conn_close;
	f->client_http10 = r->minor == 0;
	f->is_head = r->is_head;
	return 0;
}

void forward_forget_client_auth(struct forward *f)
{
	if (f->client_auth != NULL) {
		wipe(f->client_auth, strlen(f->client_auth));
		free(f->client_auth);
		f->client_auth = NULL;
	}
}

/* Stops an exchange; what was prepared stays, for forward_start again or forward_stop. */
static void halt(struct forward *f)
{
	if (f->running) {
		stream_watch(f->loop, f->client, 0);
		stream_watch(f->loop, f->up, 0);
		buf_release(f->pool, &f->u2c, 1);
		f->running = 0;
	}
	if (f->head != NULL) {
		wipe(f->head, f->head_len); /* it held Proxy-Authorization */
		free(f->head);
		f->head = NULL;
	}
	free(f->rhead);
	f->rhead = NULL;
}

void forward_stop(struct forward *f)
{
	halt(f);
	if (f->raw != NULL) {
		wipe(f->raw, f->req.head_len); /* the client's Proxy-Authorization */
		free(f->raw);
		f->raw = NULL;
	}
	forward_forget_client_auth(f);
}

static int end(struct forward *f, enum forward_end how, int err)
{
	if (how == FORWARD_RETRY)
		halt(f);
	else
		forward_stop(f);
	f->done(f, how, err);
	return -1;
}

/* Finds what of the client's buffered bytes is body. */
static int scan_body(struct forward *f)
{
	size_t avail = buf_len(f->c2u) - f->body_ready;
	if (f->req_scanned || avail == 0)
		return 0;
	const char *p = f->c2u->data + f->c2u->start + f->body_ready;
	if (f->req_mode == BODY_LENGTH) {
		size_t take = avail < f->req_left ? avail : (size_t)f->req_left;
		f->req_left -= take;
		f->body_ready += take;
		f->req_scanned = f->req_left == 0;
		return 0;
	}
	size_t used = 0;
	int rc = httpreq_chunk_scan(&f->req_chunk, p, avail, &used);
	if (rc == HTTPREQ_CHUNK_ERROR)
		return end(f, FORWARD_ERR_BODY, 0);
	f->body_ready += used;
	f->req_scanned = rc == HTTPREQ_CHUNK_DONE;
	return 0;
}

/* Marks n bytes at the end of u2c, from 'from', as the answer's body; what lies past the
 * answer's end is dropped (with "Connection: close" the proxy sends nothing more). */
static int account(struct forward *f, uint32_t from, size_t n)
{
	size_t take = n;
	if (f->resp_mode == BODY_NONE) {
		take = 0;
		f->resp_state = R_DONE;
	} else if (f->resp_mode == BODY_LENGTH) {
		take = n < f->resp_left ? n : (size_t)f->resp_left;
		f->resp_left -= take;
		if (f->resp_left == 0)
			f->resp_state = R_DONE;
	} else if (f->resp_mode == BODY_CHUNKED) {
		int rc = httpreq_chunk_scan(&f->resp_chunk, f->u2c.data + from, n, &take);
		if (rc == HTTPREQ_CHUNK_ERROR)
			return end(f, f->down_bytes ? FORWARD_ERR_UP_LATE : FORWARD_ERR_UPSTREAM, EPROTO);
		if (rc == HTTPREQ_CHUNK_DONE)
			f->resp_state = R_DONE;
	}
	f->u2c.end = from + (uint32_t)take;
	return 0;
}

/* Appends the rewritten head of the answer at the start of u2c (hdr_len bytes). */
static int take_head(struct forward *f, size_t hdr_len, const struct httpc_response *r, int final)
{
	int keep = !f->client_close;
	/* the length the client is told: none when Transfer-Encoding came, which overrides
	 * it (RFC 9112 section 6.3 (3): an intermediary removes it) */
	long long length = r->te ? -1 : r->content_length;
	if (final) {
		/* RFC 9112 section 6.3 (5): a length no one can trust is a 502, never forwarded
		 * (framed by one value and read by the client by another, the rest of this
		 * answer would pass for the next) */
		if (r->bad_length && !r->te)
			return end(f, f->down_bytes ? FORWARD_ERR_UP_LATE : FORWARD_ERR_UPSTREAM, EPROTO);
		if (f->is_head || r->status == 204 || r->status == 304)
			f->resp_mode = BODY_NONE;
		else if (r->chunked)
			f->resp_mode = BODY_CHUNKED;
		else if (r->te) /* section 6.3 (4): a final coding other than chunked runs to the close */
			f->resp_mode = BODY_CLOSE;
		else if (r->content_length >= 0)
			f->resp_mode = r->content_length > 0 ? BODY_LENGTH : BODY_NONE;
		else
			f->resp_mode = BODY_CLOSE;
		f->resp_left = f->resp_mode == BODY_LENGTH ? (uint64_t)r->content_length : 0;
		keep = keep && f->resp_mode != BODY_CLOSE;
		f->client_close = !keep;
		f->status = r->status;
	}
	if (f->rhead_off == f->rhead_len) /* all sent: start over, so interim answers do not pile up */
		f->rhead_off = f->rhead_len = 0;
	size_t cap = hdr_len + 2 * HTTPREQ_HEADERS_MAX + 128; /* CRLFs, a Content-Length, a Connection */
	if (f->rhead_len + cap > 4 * (f->max_header + cap)) /* unsent interim answers: bounded too */
		return end(f, f->down_bytes ? FORWARD_ERR_UP_LATE : FORWARD_ERR_UPSTREAM, EPROTO);
	char *nh = realloc(f->rhead, f->rhead_len + cap);
	if (nh == NULL)
		return end(f, FORWARD_ERR_MEM, ENOMEM);
	f->rhead = nh;
	/* a 1.0 client reads an answer without "keep-alive" as ending with the connection, so
	 * one that asked to keep it is told, as squid does (it always says which) */
	unsigned flags = !final ? 0 : !keep ? HTTPREQ_RESP_CLOSE : f->client_http10 ? HTTPREQ_RESP_KEEPALIVE : 0;
	long n = httpreq_rewrite_response(f->u2c.data + f->u2c.start, hdr_len, flags, length, nh + f->rhead_len, cap);
	if (n < 0)
		return end(f, FORWARD_ERR_UPSTREAM, EPROTO);
	f->rhead_len += (size_t)n;
	f->u2c.start += (uint32_t)hdr_len;
	f->hdr_scan = 0;
	return 0;
}

/* Parses the answer's head(s) in u2c; 1xx interim answers pass on to the client. */
static int parse_answer(struct forward *f)
{
	while (f->resp_state == R_HEAD) {
		size_t limit = f->max_header < f->pool->size ? f->max_header : f->pool->size;
		long e = httpc_header_end(f->u2c.data + f->u2c.start, buf_len(&f->u2c), limit, &f->hdr_scan);
		if (e == 0)
			return 0;
		struct httpc_response r;
		if (e < 0 || httpc_parse_response(f->u2c.data + f->u2c.start, (size_t)e, &r) < 0 || r.status == 101)
			return end(f, f->down_bytes ? FORWARD_ERR_UP_LATE : FORWARD_ERR_UPSTREAM, EPROTO);
		int final = r.status >= 200;
		if (r.status == 407 && f->on_407 != NULL) {
			int (*ask)(struct forward *, const char *, size_t, int) = f->on_407;
			/* sent again only when nothing of the client's was taken (no body) and
			 * nothing reached it yet */
			int again = f->req_mode == BODY_NONE && f->down_bytes == 0 && f->rhead_len == 0;
			f->on_407 = NULL;
			if (ask(f, f->u2c.data + f->u2c.start, (size_t)e, again) && again)
				return end(f, FORWARD_RETRY, 0);
		}
		if (!final && f->client_http10) { /* RFC 9110 section 15.2: none for a 1.0 client */
			f->u2c.start += (uint32_t)e;
			f->hdr_scan = 0;
		} else if (take_head(f, (size_t)e, &r, final) < 0) {
			return -1;
		}
		if (final) {
			f->resp_state = R_BODY;
			return account(f, f->u2c.start, buf_len(&f->u2c));
		}
		/* an interim answer: what follows is another head, at the start of the buffer */
		memmove(f->u2c.data, f->u2c.data + f->u2c.start, buf_len(&f->u2c));
		f->u2c.end -= f->u2c.start;
		f->u2c.start = 0;
	}
	return 0;
}

static int sent_up(struct forward *f, ssize_t w)
{
	if (w == STREAM_AGAIN)
		return 0;
	if (w < 0)
		return end(f, f->down_bytes ? FORWARD_ERR_UP_LATE : FORWARD_ERR_UPSTREAM, (int)-w);
	f->up_bytes += (uint64_t)w;
	return 1;
}

/* One round of every move that can happen; returns 1 when something moved, 0 when
 * nothing did, -1 when the forward ended. */
static int round_trip(struct forward *f)
{
	int moved = 0;
	ssize_t n;

	/* request head, then body, to the proxy */
	if (f->head_off < f->head_len) {
		n = stream_write(f->up, f->head + f->head_off, f->head_len - f->head_off);
		int rc = sent_up(f, n);
		if (rc < 0)
			return -1;
		if (rc > 0) {
			f->head_off += (size_t)n;
			moved = 1;
		}
	}
	if (f->head_off == f->head_len && f->body_ready > 0) {
		n = stream_write(f->up, f->c2u->data + f->c2u->start, f->body_ready);
		int rc = sent_up(f, n);
		if (rc < 0)
			return -1;
		if (rc > 0) {
			f->c2u->start += (uint32_t)n;
			f->body_ready -= (size_t)n;
			buf_release(f->pool, f->c2u, 0);
			moved = 1;
		}
	}
	/* the client's body (only while the request lasts: the next request waits its turn) */
	if (!f->req_scanned) {
		if (buf_acquire(f->pool, f->c2u) < 0)
			return end(f, FORWARD_ERR_MEM, ENOMEM);
		size_t room = buf_room(f->pool, f->c2u);
		n = room ? stream_read(f->client, f->c2u->data + f->c2u->end, room) : STREAM_AGAIN;
		if (n == 0)
			return end(f, FORWARD_ERR_CLIENT, 0);
		if (n < 0 && n != STREAM_AGAIN)
			return end(f, FORWARD_ERR_CLIENT, (int)-n);
		if (n > 0) {
			f->c2u->end += (uint32_t)n;
			moved = 1;
		}
		if (scan_body(f) < 0)
			return -1;
		buf_release(f->pool, f->c2u, 0);
	}
	/* the proxy's answer */
	if (f->resp_state != R_DONE) {
		if (buf_acquire(f->pool, &f->u2c) < 0)
			return end(f, FORWARD_ERR_MEM, ENOMEM);
		size_t room = buf_room(f->pool, &f->u2c);
		n = room ? stream_read(f->up, f->u2c.data + f->u2c.end, room) : STREAM_AGAIN;
		if (n == 0) {
			if (f->resp_state != R_BODY || f->resp_mode != BODY_CLOSE)
				return end(f, f->down_bytes ? FORWARD_ERR_UP_LATE : FORWARD_ERR_UPSTREAM, EPIPE);
			f->resp_state = R_DONE;
			moved = 1;
		} else if (n < 0 && n != STREAM_AGAIN) {
			return end(f, f->down_bytes ? FORWARD_ERR_UP_LATE : FORWARD_ERR_UPSTREAM, (int)-n);
		} else if (n > 0) {
			uint32_t from = f->u2c.end;
			f->u2c.end += (uint32_t)n;
			moved = 1;
			if (f->resp_state == R_HEAD ? parse_answer(f) < 0 : account(f, from, (size_t)n) < 0)
				return -1;
		}
	}
	/* ... to the client: head(s) first */
	if (f->rhead_off < f->rhead_len) {
		n = stream_write(f->client, f->rhead + f->rhead_off, f->rhead_len - f->rhead_off);
		if (n < 0 && n != STREAM_AGAIN)
			return end(f, FORWARD_ERR_CLIENT, (int)-n);
		if (n > 0) {
			f->rhead_off += (size_t)n;
			f->down_bytes += (uint64_t)n;
			moved = 1;
		}
	}
	if (f->rhead_off == f->rhead_len && f->resp_state != R_HEAD && buf_len(&f->u2c) > 0) {
		n = stream_write(f->client, f->u2c.data + f->u2c.start, buf_len(&f->u2c));
		if (n < 0 && n != STREAM_AGAIN)
			return end(f, FORWARD_ERR_CLIENT, (int)-n);
		if (n > 0) {
			f->u2c.start += (uint32_t)n;
			f->down_bytes += (uint64_t)n;
			buf_release(f->pool, &f->u2c, 0);
			moved = 1;
		}
	}
	return moved;
}

static void progress(struct forward *f)
{
	int rc;
	for (int i = 0; i < 16 && (rc = round_trip(f)) > 0; i++)
		f->last_io = ev_now(f->loop);
	if (rc < 0)
		return;
	if (f->resp_state == R_DONE && f->rhead_off == f->rhead_len && buf_len(&f->u2c) == 0) {
		/* an answer that came before the whole body went up leaves the body's end unknown
		 * to the proxy: the connection cannot carry another request */
		int whole = f->req_scanned && f->body_ready == 0 && f->head_off == f->head_len;
		end(f, whole && !f->client_close ? FORWARD_KEEP : FORWARD_CLOSE, 0);
		return;
	}
	int up = 0, cl = 0;
	if (f->head_off < f->head_len || f->body_ready > 0)
		up |= EV_WRITE;
	if (f->resp_state != R_DONE && buf_len(&f->u2c) < f->pool->size)
		up |= EV_READ;
	if (!f->req_scanned && buf_len(f->c2u) < f->pool->size)
		cl |= EV_READ;
	if (f->rhead_off < f->rhead_len || (f->resp_state != R_HEAD && buf_len(&f->u2c) > 0))
		cl |= EV_WRITE;
	stream_watch(f->loop, f->up, up);
	stream_watch(f->loop, f->client, cl);
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	progress(w->data);
}


int forward_start(struct forward *f, struct ev_loop *loop, struct bufpool *pool, struct stream *client,
		  struct stream *up, struct buf *c2u, const char *proxy_auth, int origin, size_t max_header,
		  void (*done)(struct forward *, enum forward_end, int))
{
	if (proxy_auth == NULL && !origin)
		proxy_auth = f->client_auth; /* a proxy's credentials, never an origin's */
	size_t cap = httpreq_rewrite_size(&f->req, origin ? NULL : proxy_auth);
	f->head = malloc(cap);
	if (f->head == NULL)
		return -1;
	long n = httpreq_rewrite(f->raw, &f->req, proxy_auth, origin, f->head, cap);
	if (n < 0) { /* never: cap is what the rewrite needs */
		free(f->head);
		f->head = NULL;
		return -1;
	}
	f->head_len = (size_t)n;
	/* a fresh exchange (after FORWARD_RETRY too: only a request without a body is retried,
	 * so nothing of the client's has been taken) */
	f->head_off = f->rhead_len = f->rhead_off = f->hdr_scan = 0;
	f->resp_state = R_HEAD;
	f->resp_mode = BODY_NONE;
	f->resp_left = 0;
	memset(&f->resp_chunk, 0, sizeof(f->resp_chunk));
	memset(&f->u2c, 0, sizeof(f->u2c));
	f->status = 0;
	f->up_bytes = f->down_bytes = 0;
	f->loop = loop;
	f->pool = pool;
	f->client = client;
	f->up = up;
	f->c2u = c2u;
	f->max_header = max_header;
	f->done = done;
	f->running = 1;
	f->last_io = ev_now(loop);
	stream_set_cb(loop, client, io_cb, f);
	stream_set_cb(loop, up, io_cb, f);
	/* the first moves wait for the loop (done must not run from here): the proxy's socket
	 * is writable at once, so asking for that is the next loop turn */
	stream_watch(loop, up, EV_WRITE);
	stream_watch(loop, client, 0);
	return 0;
}
