/* server: shared state of all tunnels, accept pausing, signals and orderly shutdown. */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "log.h"
#include "tunnel.h"

#define FD_RETRY_SECONDS 0.5  /* accepting resumes this soon after running out of fds */
#define FD_WARN_INTERVAL 30.0 /* the out-of-fds error is logged at most this often */
#define FDS_PER_TUNNEL 2
#define FDS_RESERVED 32       /* listeners, DNS sockets, stdio, log */
#define POOL_SPARES 64        /* relay buffers kept for reuse */

int server_set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -1;
	int fdfl = fcntl(fd, F_GETFD);
	if (fdfl < 0 || fcntl(fd, F_SETFD, fdfl | FD_CLOEXEC) < 0)
		return -1;
	return 0;
}

static void listeners_set(struct server *s, int on)
{
	for (size_t i = 0; i < s->nlisteners; i++) {
		if (on)
			listener_start(&s->listeners[i]);
		else
			listener_stop(&s->listeners[i]);
	}
}

void server_pause_accept(struct server *s, int why)
{
	ev_tstamp now = ev_now(s->loop);

	if (!s->accept_paused)
		listeners_set(s, 0);
	s->accept_paused |= why;
	if (why == SERVER_PAUSE_FDS) {
		if (now - s->last_fd_warning >= FD_WARN_INTERVAL || s->last_fd_warning == 0) {
			struct rlimit rl;
			long lim = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? (long)rl.rlim_cur : -1;
			log_error("out of file descriptors (%s, limit %ld, %u tunnels): accepting paused; raise 'ulimit -n' or lower --max-tunnels",
				  strerror(errno), lim, s->ntunnels);
			s->last_fd_warning = now;
		}
		ev_timer_stop(s->loop, &s->accept_retry);
		ev_timer_set(&s->accept_retry, FD_RETRY_SECONDS, 0);
		ev_timer_start(s->loop, &s->accept_retry);
	} else {
		log_debug("%u tunnels open (--max-tunnels): new clients wait in the backlog", s->ntunnels);
	}
}

static void maybe_resume(struct server *s)
{
	if (s->accept_paused == 0 && s->nlisteners > 0)
		listeners_set(s, 1);
}

void server_tunnel_closed(struct server *s)
{
	if (!s->accept_paused)
		return;
	if ((s->accept_paused & SERVER_PAUSE_LIMIT) && s->ntunnels < s->max_tunnels)
		s->accept_paused &= ~SERVER_PAUSE_LIMIT;
	if (s->accept_paused & SERVER_PAUSE_FDS) { /* two fds just came free */
		s->accept_paused &= ~SERVER_PAUSE_FDS;
		ev_timer_stop(s->loop, &s->accept_retry);
	}
	maybe_resume(s);
}

static void accept_retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct server *s = (struct server *)((char *)w - offsetof(struct server, accept_retry));
	(void)loop;
	(void)revents;
	s->accept_paused &= ~SERVER_PAUSE_FDS;
	maybe_resume(s);
}

static void signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct server *s = w->data;
	(void)revents;
	log_info("signal %d: shutting down (%u tunnels open)", w->signum, s->ntunnels);
	ev_break(loop, EVBREAK_ALL);
}

/* Raises the soft fd limit to the hard one and keeps --max-tunnels within it. */
static void fit_fd_limit(struct server *s)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rlim_t want = rl.rlim_max;
#ifdef __APPLE__
		if (want > 10240) /* OPEN_MAX: setrlimit refuses more on macOS */
			want = 10240;
#endif
		struct rlimit nl = {want, rl.rlim_max};
		if (setrlimit(RLIMIT_NOFILE, &nl) == 0)
			rl.rlim_cur = want;
	}
	if (rl.rlim_cur == RLIM_INFINITY)
		return;
	unsigned long room = rl.rlim_cur > FDS_RESERVED ? (unsigned long)(rl.rlim_cur - FDS_RESERVED) / FDS_PER_TUNNEL : 1;
	if (room < s->max_tunnels) {
		log_warn("--max-tunnels %u lowered to %lu: the open-file limit is %llu (raise 'ulimit -n')", s->max_tunnels,
			 room, (unsigned long long)rl.rlim_cur);
		s->max_tunnels = (unsigned)room;
	}
}

int server_init(struct server *s, struct ev_loop *loop, const struct config *cfg, char *err, size_t errlen)
{
	memset(s, 0, sizeof(*s));
	s->loop = loop;
	s->cfg = cfg;
	s->max_tunnels = cfg->max_tunnels;
	for (size_t i = 0; i < CONFIG_MAX_LISTEN; i++)
		s->listeners[i].fd = -1;
	ev_timer_init(&s->accept_retry, accept_retry_cb, 0, 0);
	fit_fd_limit(s);

	if (bufpool_init(&s->pool, cfg->buffer_size, POOL_SPARES) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	s->upstreams = upstream_list_new(cfg, err, errlen);
	if (s->upstreams == NULL)
		return -1;
	s->nupstreams = cfg->nproxies;
	s->resolver = resolver_new(loop, cfg, err, errlen);
	if (s->resolver == NULL)
		return -1;
	for (size_t i = 0; i < cfg->nlisten; i++) {
		if (listener_open(&s->listeners[i], s, &cfg->listen[i], err, errlen) < 0)
			return -1;
		s->nlisteners++;
	}
	for (size_t i = 0; i < s->nlisteners; i++) {
		listener_start(&s->listeners[i]);
		log_info("listening on %s", s->listeners[i].text);
	}
	for (size_t i = 0; i < s->nupstreams; i++)
		log_info("upstream proxy %s%s (from %s)", s->upstreams[i].display,
			 s->upstreams[i].auth ? " with Basic authentication" : "", cfg->proxy_source);

	ev_signal_init(&s->sigint, signal_cb, SIGINT);
	ev_signal_init(&s->sigterm, signal_cb, SIGTERM);
	s->sigint.data = s->sigterm.data = s;
	ev_signal_start(loop, &s->sigint);
	ev_signal_start(loop, &s->sigterm);
	return 0;
}

void server_destroy(struct server *s)
{
	for (size_t i = 0; i < s->nlisteners; i++)
		listener_close(&s->listeners[i]);
	s->nlisteners = 0;
	while (s->tunnels != NULL)
		tunnel_abort(s->tunnels, "shutdown");
	ev_timer_stop(s->loop, &s->accept_retry);
	ev_signal_stop(s->loop, &s->sigint);
	ev_signal_stop(s->loop, &s->sigterm);
	resolver_free(s->resolver);
	s->resolver = NULL;
	upstream_list_free(s->upstreams, s->nupstreams);
	s->upstreams = NULL;
	bufpool_destroy(&s->pool);
}
