/* control: the control socket and its status answers (see include/control.h). */
#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "generation.h"
#include "jsonw.h"
#include "log.h"
#include "pac.h"
#include "peercred.h"
#include "resolver.h"
#include "sockets.h"

struct control_client {
	struct control *ctl;
	struct control_client *prev, *next;
	int fd;
	ev_io io;
	ev_timer timer;
	char req[CONTROL_REQ_MAX];
	size_t req_len;
	struct jsonw out;        /* the answer, once the request is complete */
	size_t off;              /* of out written */
};

int control_path(const struct config *cfg, char *out, size_t cap)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	int n;
	if (cfg != NULL && cfg->control_path[0] != '\0')
		n = snprintf(out, cap, "%s", cfg->control_path);
	else if (xdg != NULL && xdg[0] == '/')
		n = snprintf(out, cap, "%s/socks2http/control", xdg);
	else
		n = snprintf(out, cap, "/tmp/socks2http-%lu/control", (unsigned long)getuid());
	return n > 0 && (size_t)n < cap ? 0 : -1;
}

/* The default place's directory: made 0700, or, when it exists, ours and closed to others. */
static int make_dir(const char *path, char *err, size_t errlen)
{
	char dir[sizeof(((struct control *)0)->path)];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0700) == 0)
		return 0;
	struct stat st;
	if (errno != EEXIST || lstat(dir, &st) != 0) {
		snprintf(err, errlen, "cannot make %s: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != getuid() || (st.st_mode & 077) != 0) {
		snprintf(err, errlen, "%s must be a directory of ours that others cannot enter (mode 0700)", dir);
		return -1;
	}
	return 0;
}

/* Is a daemon answering at path?  A stale socket (nobody listening) is removed. */
static int in_use(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	int rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	int e = errno;
	close(fd);
	if (rc == 0 || e == EAGAIN)
		return 1;
	if (e == ECONNREFUSED)
		unlink(path);
	return 0;
}

static void client_close(struct control_client *c)
{
	struct control *ctl = c->ctl;
	ev_io_stop(ctl->loop, &c->io);
	ev_timer_stop(ctl->loop, &c->timer);
	close(c->fd);
	jsonw_free(&c->out);
	if (c->prev)
		c->prev->next = c->next;
	else
		ctl->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	ctl->nclients--;
	free(c);
}

static const char *human(double v, char *out, size_t cap)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	size_t u = 0;
	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	snprintf(out, cap, u ? "%.1f%s" : "%.0f%s", v, units[u]);
	return out;
}

static void render_json(struct control *ctl, struct jsonw *j)
{
	struct session_host *h = ctl->host;
	struct generation *g = h->gen;
	const struct pipepool *pp = &h->pipes;
	struct control_facts f = {0, "yes"};
	ev_tstamp now = ev_now(ctl->loop);

	ctl->facts(ctl->data, &f);
	jsonw_printf(j, "{\"pid\":%ld,\"uptime\":%.1f,\"accepting\":", (long)getpid(), now - ctl->started);
	jsonw_str(j, f.accepting);
	jsonw_printf(j, ",\"counters\":{\"accepted\":%llu,\"open\":%u,\"max\":%u},\"relay_buffers\":%zu",
		     (unsigned long long)h->accepted, h->nsessions, f.max_tunnels, h->pool.in_use);
	jsonw_printf(j, ",\"pipes\":{\"in_use\":%lu,\"pooled\":%u,\"bytes\":%lu,\"taken\":%lu,\"refused\":%lu}",
		     pp->pipe_fds / 2 - pp->npool, pp->npool, pp->pipe_pages * pp->page, pp->taken, pp->refused);
	jsonw_printf(j, ",\"dns_pending\":%u,\"proxies\":[", resolver_pending(g->resolver));
	for (size_t i = 0; i < g->nupstreams; i++) {
		double left = g->health.down_until[i] - now;
		jsonw_printf(j, "%s{\"proxy\":", i ? "," : "");
		jsonw_str(j, g->upstreams[i].display);
		jsonw_printf(j, ",\"healthy\":%s,\"down_for\":%.1f,\"auth\":\"%s\",\"tls\":%s}", left > 0 ? "false" : "true",
			     left > 0 ? left : 0.0, auth_name(g->upstreams[i].mem.scheme),
			     g->upstreams[i].tls ? "true" : "false");
	}
	jsonw_printf(j, "],\"routes\":{\"rules\":%zu,\"no_proxy\":%s,\"pac\":", g->cfg->nrules,
		     g->cfg->noproxy_set ? "true" : "false");
	if (g->pac == NULL) {
		jsonw_printf(j, "null");
	} else {
		jsonw_printf(j, "{\"url\":");
		jsonw_str(j, g->cfg->pac_url);
		jsonw_printf(j, ",\"state\":");
		jsonw_str(j, pac_state(g->pac));
		jsonw_printf(j, ",\"error\":");
		jsonw_str(j, pac_last_error(g->pac));
		jsonw_printf(j, "}");
	}
	jsonw_printf(j, "},\"tunnels\":[");
	unsigned listed = 0;
	for (struct session *s = h->sessions; s != NULL && listed < CONTROL_LIST_MAX; s = session_next(s)) {
		struct session_info in;
		session_describe(s, &in);
		jsonw_printf(j, "%s{\"client\":", listed++ ? "," : "");
		jsonw_str(j, in.client);
		jsonw_printf(j, ",\"target\":");
		jsonw_str(j, in.target);
		jsonw_printf(j, ",\"proxy\":");
		jsonw_str(j, in.proxy);
		jsonw_printf(j, ",\"state\":");
		jsonw_str(j, in.state);
		jsonw_printf(j, ",\"age\":%.1f,\"up\":%llu,\"down\":%llu,\"rate_up\":%.0f,\"rate_down\":%.0f}", in.age,
			     (unsigned long long)in.up, (unsigned long long)in.down, in.rate_up, in.rate_down);
	}
	jsonw_printf(j, "],\"tunnels_omitted\":%u}\n", h->nsessions - listed);
}

static void render_text(struct control *ctl, struct jsonw *j)
{
	struct session_host *h = ctl->host;
	struct generation *g = h->gen;
	const struct pipepool *pp = &h->pipes;
	struct control_facts f = {0, "yes"};
	ev_tstamp now = ev_now(ctl->loop);
	char a[16], b[16], c[16], d[16];

	ctl->facts(ctl->data, &f);
	jsonw_printf(j, "socks2http pid %ld, up %.0fs, accepting %s\n", (long)getpid(), now - ctl->started, f.accepting);
	jsonw_printf(j, "tunnels: %u open (max %u), %llu accepted; relay buffers %zu; pipes %lu in use, %u pooled (%s); "
			"DNS pending %u\n", h->nsessions, f.max_tunnels, (unsigned long long)h->accepted, h->pool.in_use,
		     pp->pipe_fds / 2 - pp->npool, pp->npool, human((double)(pp->pipe_pages * pp->page), a, sizeof(a)),
		     resolver_pending(g->resolver));
	for (size_t i = 0; i < g->nupstreams; i++) {
		double left = g->health.down_until[i] - now;
		const struct upstream *u = &g->upstreams[i];
		jsonw_printf(j, "proxy %s%s: ", u->display, u->tls ? " (TLS)" : "");
		if (left > 0)
			jsonw_printf(j, "down (tried last for %.0fs more)", left);
		else
			jsonw_printf(j, "healthy");
		jsonw_printf(j, u->mem.scheme ? ", asks for %s\n" : "\n", auth_name(u->mem.scheme));
	}
	if (g->cfg->nrules > 0 || g->cfg->noproxy_set)
		jsonw_printf(j, "routes: %zu rules%s\n", g->cfg->nrules, g->cfg->noproxy_set ? ", a no_proxy list" : "");
	if (g->pac != NULL)
		jsonw_printf(j, "PAC %s: %s%s%s\n", g->cfg->pac_url, pac_state(g->pac), pac_last_error(g->pac)[0] ? ": " : "",
			     pac_last_error(g->pac));
	jsonw_printf(j, "\n%-22s %-28s %-22s %-22s %8s %9s %9s %10s %10s\n", "CLIENT", "TARGET", "PROXY", "STATE", "AGE",
		     "UP", "DOWN", "UP/s", "DOWN/s");
	unsigned listed = 0;
	for (struct session *s = h->sessions; s != NULL && listed < CONTROL_LIST_MAX; s = session_next(s), listed++) {
		struct session_info in;
		session_describe(s, &in);
		jsonw_printf(j, "%-22s %-28s %-22s %-22s %7.1fs %9s %9s %10s %10s\n", in.client, in.target, in.proxy,
			     in.state, in.age, human((double)in.up, a, sizeof(a)), human((double)in.down, b, sizeof(b)),
			     human(in.rate_up, c, sizeof(c)), human(in.rate_down, d, sizeof(d)));
	}
	if (h->nsessions > listed)
		jsonw_printf(j, "(%u more not listed)\n", h->nsessions - listed);
}

/* The request is complete: build the whole answer now, then write it out. */
static void answer(struct control_client *c)
{
	struct control *ctl = c->ctl;
	size_t n = c->req_len;
	while (n > 0 && (c->req[n - 1] == '\n' || c->req[n - 1] == '\r' || c->req[n - 1] == ' '))
		n--;
	c->req[n] = '\0';
	jsonw_init(&c->out, CONTROL_OUT_MAX);
	if (strcmp(c->req, "status json") == 0)
		render_json(ctl, &c->out);
	else if (strcmp(c->req, "status") == 0)
		render_text(ctl, &c->out);
	else
		jsonw_printf(&c->out, "{\"error\":\"unknown request: send 'status' or 'status json'\"}\n");
	if (c->out.full) {
		jsonw_free(&c->out);
		jsonw_init(&c->out, CONTROL_OUT_MAX);
		jsonw_printf(&c->out, "{\"error\":\"the answer does not fit in %u bytes\"}\n", CONTROL_OUT_MAX);
	}
	ev_io_stop(ctl->loop, &c->io);
	ev_io_set(&c->io, c->fd, EV_WRITE);
	ev_io_start(ctl->loop, &c->io);
}

static void client_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct control_client *c = w->data;
	(void)loop;
	(void)revents;
	if (c->out.buf == NULL) { /* reading the request */
		ssize_t n = read(c->fd, c->req + c->req_len, sizeof(c->req) - 1 - c->req_len);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			client_close(c);
			return;
		}
		c->req_len += (size_t)n;
		if (memchr(c->req, '\n', c->req_len) != NULL)
			answer(c);
		else if (c->req_len == sizeof(c->req) - 1)
			client_close(c); /* no request is this long */
		return;
	}
	while (c->off < c->out.len) {
		ssize_t n = send(c->fd, c->out.buf + c->off, c->out.len - c->off, MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0)
			break;
		c->off += (size_t)n;
	}
	client_close(c);
}

static void client_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	client_close(w->data);
}

static void retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct control *ctl = w->data;
	(void)revents;
	ev_io_start(loop, &ctl->io);
}

static void accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct control *ctl = w->data;
	(void)revents;
	for (int i = 0; i < CONTROL_CLIENTS; i++) {
		int fd = accept4(ctl->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED) {
				/* out of fds, most likely: the socket stays readable, so pause rather than spin */
				ev_io_stop(loop, &ctl->io);
				ev_timer_set(&ctl->retry, 1.0, 0);
				ev_timer_start(loop, &ctl->retry);
			}
			return;
		}
		uid_t uid;
		if (peercred_uid(ctl->host->peercred, fd, &uid) != 0 || uid != getuid()) {
			log_info("control: refused a client of another user");
			close(fd);
			continue;
		}
		struct control_client *c = ctl->nclients < CONTROL_CLIENTS ? calloc(1, sizeof(*c)) : NULL;
		if (c == NULL) {
			close(fd);
			continue;
		}
		c->ctl = ctl;
		c->fd = fd;
		ev_io_init(&c->io, client_cb, fd, EV_READ);
		c->io.data = c;
		ev_timer_init(&c->timer, client_timer_cb, CONTROL_TIMEOUT, 0);
		c->timer.data = c;
		ev_io_start(loop, &c->io);
		ev_timer_start(loop, &c->timer);
		c->next = ctl->clients;
		if (ctl->clients)
			ctl->clients->prev = c;
		ctl->clients = c;
		ctl->nclients++;
	}
}

int control_open(struct control *ctl, struct ev_loop *loop, const struct config *cfg, struct session_host *host,
		 void (*facts)(void *, struct control_facts *), void *data, char *err, size_t errlen)
{
	memset(ctl, 0, sizeof(*ctl));
	ctl->fd = -1;
	ctl->loop = loop;
	ctl->host = host;
	ctl->facts = facts;
	ctl->data = data;
	ctl->started = ev_now(loop);
	ev_timer_init(&ctl->retry, retry_cb, 0, 0);
	ctl->retry.data = ctl;
	if (cfg->no_control)
		return 0;
	if (cfg->workers > 1) {
		log_info("no control socket with --workers %u: 'socks2http status' needs --workers 1", cfg->workers);
		return 0;
	}
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	if (control_path(cfg, ctl->path, sizeof(ctl->path)) < 0 || strlen(ctl->path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "the control socket's path is too long (--control PATH)");
		return -1;
	}
	if (cfg->control_path[0] == '\0' && make_dir(ctl->path, err, errlen) < 0)
		return -1;
	if (in_use(ctl->path)) {
		snprintf(err, errlen, "%s is in use by another socks2http (choose another with --control PATH)",
			 ctl->path);
		return -1;
	}
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", ctl->path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "control socket: %s", strerror(errno));
		return -1;
	}
	mode_t old = umask(0177); /* the socket is 0600 from the start */
	int rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	struct stat st;
	if (rc < 0 || listen(fd, 16) < 0 || stat(ctl->path, &st) < 0) {
		snprintf(err, errlen, "control socket %s: %s", ctl->path, strerror(errno));
		close(fd);
		return -1;
	}
	ctl->dev = st.st_dev;
	ctl->ino = st.st_ino;
	ctl->fd = fd;
	ev_io_init(&ctl->io, accept_cb, fd, EV_READ);
	ctl->io.data = ctl;
	ev_io_start(loop, &ctl->io);
	log_info("control socket %s ('socks2http status')", ctl->path);
	return 0;
}

void control_close(struct control *ctl)
{
	if (ctl->loop == NULL)
		return;
	while (ctl->clients != NULL)
		client_close(ctl->clients);
	ev_timer_stop(ctl->loop, &ctl->retry);
	if (ctl->fd >= 0) {
		ev_io_stop(ctl->loop, &ctl->io);
		close(ctl->fd);
		ctl->fd = -1;
		struct stat st;
		if (stat(ctl->path, &st) == 0 && st.st_dev == ctl->dev && st.st_ino == ctl->ino)
			unlink(ctl->path);
	}
	ctl->loop = NULL;
}
