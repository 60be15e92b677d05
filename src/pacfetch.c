/* pacfetch: a PAC file from disk or from an HTTP server, on the loop (see include/pacfetch.h).
 *
 * One fetch, one object: RESOLVING -> CONNECTING (address i) -> SENDING -> READING -> done.
 * finish() is the only way out: it stops every watcher, detaches the lookup, closes the
 * socket, calls back once and frees. */
#include "pacfetch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chunked.h"
#include "httpc.h"
#include "log.h"
#include "sockets.h"

enum fetch_state { FETCH_FILE, FETCH_RESOLVING, FETCH_CONNECTING, FETCH_SENDING, FETCH_READING };

struct pacfetch {
	struct ev_loop *loop;
	struct resolver *res;
	enum fetch_state state;
	pacfetch_cb cb;
	void *arg;
	char url[1024];
	char host[256];
	unsigned port;
	ev_timer timer;   /* the whole fetch, redirects included */
	ev_timer conn;    /* one address's connect, while another is left to try */
	ev_timer deliver; /* file sources: the result, from the loop */
	ev_io io;
	int fd;
	struct resolver_waiter rw;
	struct resolver_result addrs;
	unsigned next_addr;
	int last_errno;
	unsigned redirects;
	const char *user_agent; /* the caller's, for the requests of redirects */
	char req[1536];
	size_t req_len, req_off;
	char *buf; /* header, then body bytes as they come (raw or chunked) */
	size_t len, cap;
	size_t scan;     /* httpc_header_end's resume point */
	size_t raw_used; /* chunked: body bytes decoded so far */
	double timeout;
	long hdr_len; /* 0 until the header is complete */
	struct httpc_response resp;
	struct chunked chunk;
	char *body;   /* decoded body (chunked) or buf + hdr_len */
	size_t body_len;
	int ok;
	char err[320];
};

static void finish(struct pacfetch *f);

/* The error is "URL: what detail". */
static void fail(struct pacfetch *f, const char *what, const char *detail)
{
	snprintf(f->err, sizeof(f->err), "%.180s: %.60s%.70s", f->url, what, detail ? detail : "");
	f->ok = 0;
	finish(f);
}

/* Stops every watcher and the lookup, closes the socket. */
static void quiesce(struct pacfetch *f)
{
	ev_timer_stop(f->loop, &f->timer);
	ev_timer_stop(f->loop, &f->conn);
	ev_timer_stop(f->loop, &f->deliver);
	ev_io_stop(f->loop, &f->io);
	if (f->rw.entry != NULL)
		resolver_cancel(f->res, &f->rw);
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}

static void finish(struct pacfetch *f)
{
	quiesce(f);
	if (f->ok)
		f->body[f->body_len] = '\0';
	f->cb(f->arg, f->ok, f->ok ? f->body : NULL, f->ok ? f->body_len : 0, f->ok ? NULL : f->err);
	free(f->buf);
	free(f);
}

static void timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct pacfetch *f = w->data;
	(void)loop;
	(void)revents;
	static const char *const stage[] = {"reading", "resolving", "connecting", "sending", "reading"};
	char t[96];
	snprintf(t, sizeof(t), "no answer within %gs (%s)", f->timeout, stage[f->state]);
	fail(f, t, NULL);
}

static void deliver_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	finish(w->data);
}

/* A local file: read at once, handed over from the loop. */
static int read_file(struct pacfetch *f, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(f->err, sizeof(f->err), "%.200s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return 0;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > PACFETCH_MAX_BODY) {
		snprintf(f->err, sizeof(f->err), "%.200s: %s", path,
			 S_ISREG(st.st_mode) ? "larger than 1 MiB" : "not a regular file");
		close(fd);
		return 0;
	}
	f->cap = (size_t)st.st_size + 1;
	f->buf = malloc(f->cap + 1);
	if (f->buf == NULL) {
		close(fd);
		snprintf(f->err, sizeof(f->err), "%.200s: out of memory", path);
		return 0;
	}
	/* read one byte more than the size said: a file that grew is caught */
	while (f->len < f->cap) {
		ssize_t n = read(fd, f->buf + f->len, f->cap - f->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(f->err, sizeof(f->err), "%.200s: %s", path, strerror(errno));
			close(fd);
			return 0;
		}
		if (n == 0)
			break;
		f->len += (size_t)n;
	}
	close(fd);
	if (f->len > PACFETCH_MAX_BODY) {
		snprintf(f->err, sizeof(f->err), "%.200s: larger than 1 MiB", path);
		return 0;
	}
	f->body = f->buf;
	f->body_len = f->len;
	return 1;
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents);
static void try_connect(struct pacfetch *f);
static void resolved_cb(struct resolver_waiter *w, int status, const char *errmsg, const struct resolver_result *r);

/* Sets up an http:// fetch of url (host, port, request); the caller resolves.  Returns 0,
 * or -1 with err. */
static int start_http(struct pacfetch *f, const char *url, char *err, size_t errlen)
{
	char path[1024], why[96];
	const char *ua = f->user_agent;
	if (strncmp(url, "https://", 8) == 0) {
		snprintf(err, errlen, "%.900s: https:// PAC URLs are not supported yet (no TLS for the PAC fetch): use http:// or a file", url);
		return -1;
	}
	if (pacfetch_split_http(url, f->host, sizeof(f->host), &f->port, path, sizeof(path), why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%.900s: %s", url,
			 strncmp(url, "http://", 7) == 0 ? why : "not an http:// or file:// URL, nor an absolute path");
		return -1;
	}
	int v6 = strchr(f->host, ':') != NULL;
	char hosthdr[300];
	if (f->port == 80)
		snprintf(hosthdr, sizeof(hosthdr), v6 ? "[%s]" : "%s", f->host);
	else
		snprintf(hosthdr, sizeof(hosthdr), v6 ? "[%s]:%u" : "%s:%u", f->host, f->port);
	int n = snprintf(f->req, sizeof(f->req), "GET %s HTTP/1.1\r\nHost: %s\r\n%s%s%sAccept: */*\r\nConnection: close\r\n\r\n",
			 path, hosthdr, ua && *ua ? "User-Agent: " : "", ua ? ua : "", ua && *ua ? "\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof(f->req) || (ua && strpbrk(ua, "\r\n"))) {
		snprintf(err, errlen, "%.900s: request too long", url);
		return -1;
	}
	if (url != f->url)
		snprintf(f->url, sizeof(f->url), "%s", url);
	f->req_len = (size_t)n;
	f->req_off = 0;
	f->state = FETCH_RESOLVING;
	return 0;
}

static int is_redirect(int status)
{
	return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

/* A 301, 302, 303, 307 or 308: the same fetch again at its Location (directly, within
 * the same deadline), at most PACFETCH_MAX_REDIRECTS times. */
static void redirect(struct pacfetch *f, size_t hdr_len)
{
	const char *v = NULL, *why;
	size_t vlen = 0;
	char to[sizeof(f->url)], err[sizeof(f->err)];
	if (++f->redirects > PACFETCH_MAX_REDIRECTS) {
		fail(f, "more than 5 redirects", NULL);
		return;
	}
	if (!httpc_header_value(f->buf, hdr_len, "Location", 0, &v, &vlen))
		vlen = 0;
	if ((why = pacfetch_locate(f->url, v, vlen, to, sizeof(to))) != NULL) {
		char st[16];
		snprintf(st, sizeof(st), "%d: ", f->resp.status);
		fail(f, "redirect ", st);
		snprintf(f->err + strlen(f->err), sizeof(f->err) - strlen(f->err), "%s", why);
		return;
	}
	log_info("PAC %s redirects (%d) to %s", f->url, f->resp.status, to);
	ev_timer_stop(f->loop, &f->conn);
	ev_io_stop(f->loop, &f->io);
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	f->len = f->scan = f->raw_used = f->body_len = 0;
	f->hdr_len = 0;
	f->body = NULL;
	if (start_http(f, to, err, sizeof(err)) < 0) {
		snprintf(f->err, sizeof(f->err), "%s", err);
		f->ok = 0;
		finish(f);
		return;
	}
	resolver_lookup(f->res, f->host, (uint16_t)f->port, &f->rw, resolved_cb);
}



static void watch(struct pacfetch *f, int events)
{
	ev_io_stop(f->loop, &f->io);
	ev_io_set(&f->io, f->fd, events);
	ev_io_start(f->loop, &f->io);
}

static void resolved_cb(struct resolver_waiter *w, int status, const char *errmsg, const struct resolver_result *r)
{
	struct pacfetch *f = (struct pacfetch *)((char *)w - offsetof(struct pacfetch, rw));
	if (status != 0) {
		fail(f, "cannot resolve: ", errmsg);
		return;
	}
	f->addrs = *r;
	f->next_addr = 0;
	f->state = FETCH_CONNECTING;
	try_connect(f);
}

/* Connects to the next address; once all failed, the fetch fails with the last error.
 * While another address is left, this one has PACFETCH_CONNECT_TIMEOUT (an address that
 * drops SYNs must not use up the whole fetch); the last one has what remains. */
static void try_connect(struct pacfetch *f)
{
	ev_timer_stop(f->loop, &f->conn);
	ev_io_stop(f->loop, &f->io);
	while (f->next_addr < f->addrs.n) {
		const struct sockaddr_storage *a = &f->addrs.addr[f->next_addr++];
		if (f->fd >= 0)
			close(f->fd);
		f->fd = sockets_stream(a->ss_family);
		if (f->fd < 0) {
			f->last_errno = errno;
			continue;
		}
		if (connect(f->fd, (const struct sockaddr *)a, sockets_addrlen(a)) == 0 || errno == EINPROGRESS) {
			watch(f, EV_WRITE);
			if (f->next_addr < f->addrs.n) {
				ev_timer_set(&f->conn, PACFETCH_CONNECT_TIMEOUT, 0);
				ev_timer_start(f->loop, &f->conn);
			}
			return;
		}
		f->last_errno = errno;
	}
	fail(f, "cannot connect: ", strerror(f->last_errno ? f->last_errno : ECONNREFUSED));
}

static void conn_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct pacfetch *f = w->data;
	(void)loop;
	(void)revents;
	f->last_errno = ETIMEDOUT;
	try_connect(f);
}

/* Reads the header, then the body.  Returns 1 when the fetch finished (f is gone). */
static int take_bytes(struct pacfetch *f, int eof)
{
	if (f->hdr_len == 0) {
		long h = httpc_header_end(f->buf, f->len, PACFETCH_MAX_HEADER, &f->scan);
		if (h < 0) {
			fail(f, "response header over ", "16 KiB");
			return 1;
		}
		if (h == 0) {
			if (eof)
				fail(f, f->len ? "connection closed inside the response header" : "connection closed without a response", NULL);
			return eof;
		}
		int rc = httpc_parse_response(f->buf, (size_t)h, &f->resp);
		if (rc < 0) {
			fail(f, "bad response: ", httpc_strerror(rc));
			return 1;
		}
		if (is_redirect(f->resp.status)) {
			redirect(f, (size_t)h);
			return 1;
		}
		if (f->resp.status != 200) {
			char st[100];
			snprintf(st, sizeof(st), "%d %s", f->resp.status, f->resp.reason);
			fail(f, "HTTP status ", st);
			return 1;
		}
		if (f->resp.content_length > PACFETCH_MAX_BODY) {
			fail(f, "body larger than ", "1 MiB");
			return 1;
		}
		f->hdr_len = h;
		chunked_init(&f->chunk);
	}
	size_t have = f->len - (size_t)f->hdr_len;
	char *raw = f->buf + f->hdr_len;
	if (f->resp.chunked) {
		/* decoded in place: the output never runs ahead of the input */
		size_t used = 0, out = f->body_len;
		int rc = chunked_decode(&f->chunk, raw + f->raw_used, have - f->raw_used, raw, &out, PACFETCH_MAX_BODY, &used);
		f->raw_used += used;
		f->body_len = out;
		f->body = raw;
		if (rc == CHUNKED_DONE) {
			f->ok = 1;
			finish(f);
			return 1;
		}
		if (rc < 0) {
			fail(f, "bad chunked body: ", chunked_strerror(rc));
			return 1;
		}
		if (eof)
			fail(f, "connection closed inside the chunked body", NULL);
		return eof;
	}
	f->body = raw;
	f->body_len = have;
	if (f->resp.content_length >= 0 && have >= (size_t)f->resp.content_length) {
		f->body_len = (size_t)f->resp.content_length;
		f->ok = 1;
		finish(f);
		return 1;
	}
	if (have > PACFETCH_MAX_BODY) {
		fail(f, "body larger than ", "1 MiB");
		return 1;
	}
	if (eof) {
		if (f->resp.content_length >= 0) {
			fail(f, "connection closed before the end of the body", NULL);
			return 1;
		}
		f->ok = 1;
		finish(f);
	}
	return eof;
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct pacfetch *f = w->data;
	(void)loop;
	(void)revents;
	if (f->state == FETCH_CONNECTING) {
		int e = 0;
		socklen_t el = sizeof(e);
		if (getsockopt(f->fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0)
			e = errno;
		if (e == EINPROGRESS)
			return;
		if (e != 0) {
			f->last_errno = e;
			try_connect(f);
			return;
		}
		ev_timer_stop(f->loop, &f->conn);
		f->state = FETCH_SENDING;
	}
	if (f->state == FETCH_SENDING) {
		ssize_t n = send(f->fd, f->req + f->req_off, f->req_len - f->req_off, MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		if (n < 0) {
			fail(f, "cannot send the request: ", strerror(errno));
			return;
		}
		f->req_off += (size_t)n;
		if (f->req_off < f->req_len)
			return;
		f->state = FETCH_READING;
		watch(f, EV_READ);
		return;
	}
	for (int round = 0; round < 16; round++) {
		if (f->cap - f->len < 4096) {
			size_t ncap = f->cap ? f->cap * 2 : 16384;
			if (ncap > PACFETCH_MAX_BODY + PACFETCH_MAX_HEADER + 8192)
				ncap = PACFETCH_MAX_BODY + PACFETCH_MAX_HEADER + 8192;
			if (ncap <= f->len + 1) {
				fail(f, "body larger than ", "1 MiB");
				return;
			}
			char *nb = realloc(f->buf, ncap);
			if (nb == NULL) {
				fail(f, "out of memory", NULL);
				return;
			}
			f->buf = nb;
			f->cap = ncap;
		}
		ssize_t n = recv(f->fd, f->buf + f->len, f->cap - f->len - 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0) {
			fail(f, "cannot read the response: ", strerror(errno));
			return;
		}
		f->len += (size_t)n;
		if (take_bytes(f, n == 0))
			return;
	}
}

struct pacfetch *pacfetch_start(struct ev_loop *loop, struct resolver *res, const char *url, double timeout,
				const char *user_agent, pacfetch_cb cb, void *arg, char *err, size_t errlen)
{
	struct pacfetch *f = calloc(1, sizeof(*f));
	if (f == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	f->loop = loop;
	f->res = res;
	f->cb = cb;
	f->arg = arg;
	f->fd = -1;
	f->timeout = timeout;
	f->user_agent = user_agent;
	snprintf(f->url, sizeof(f->url), "%s", url);
	ev_timer_init(&f->timer, timeout_cb, timeout, 0);
	ev_timer_init(&f->conn, conn_timeout_cb, PACFETCH_CONNECT_TIMEOUT, 0);
	ev_timer_init(&f->deliver, deliver_cb, 0, 0);
	ev_io_init(&f->io, io_cb, -1, 0);
	f->timer.data = f->conn.data = f->deliver.data = f->io.data = f;

	if (url[0] == '/' || strncmp(url, "file://", 7) == 0) {
		char path[1024], why[96];
		if (pacfetch_file_path(url, path, sizeof(path), why, sizeof(why)) < 0) {
			snprintf(err, errlen, "%.900s: %s", url, why);
			free(f);
			return NULL;
		}
		f->state = FETCH_FILE;
		f->ok = read_file(f, path);
		ev_timer_start(loop, &f->deliver);
		return f;
	}
	if (res == NULL) {
		snprintf(err, errlen, "%s: no resolver", url);
		free(f);
		return NULL;
	}
	if (start_http(f, url, err, errlen) < 0) {
		free(f);
		return NULL;
	}
	ev_timer_start(loop, &f->timer);
	resolver_lookup(res, f->host, (uint16_t)f->port, &f->rw, resolved_cb);
	return f;
}

void pacfetch_cancel(struct pacfetch *f)
{
	if (f == NULL)
		return;
	quiesce(f);
	free(f->buf);
	free(f);
}
