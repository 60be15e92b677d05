/* server: shared state of all tunnels, accept pausing, signals and orderly shutdown. */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "log.h"
#include "peercred.h"
#include "prewarm.h"
#include "tunnel.h"

#define FD_RETRY_SECONDS 0.5  /* accepting resumes this soon after running out of fds */
#define FD_WARN_INTERVAL 30.0 /* the out-of-fds error is logged at most this often */
#define FDS_PER_TUNNEL 3 /* client, upstream, a second connect attempt; splice pipes use what is left */
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

static void stop_now(struct server *s);

int server_socket(int family)
{
#if defined(SOCK_NONBLOCK) && defined(SOCK_CLOEXEC)
	return socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
#else
	int fd = socket(family, SOCK_STREAM, 0);
	if (fd >= 0 && server_set_nonblock(fd) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
#endif
}

int server_pipe_get(struct server *s, int fds[2])
{
	if (s->npipes > 0) {
		s->npipes--;
		fds[0] = s->pipe_pool[s->npipes][0];
		fds[1] = s->pipe_pool[s->npipes][1];
		return 0;
	}
	if (!server_pipe_room(s)) {
		if (!s->splice_budget_logged) {
			log_info("splice(2) pipes wait for free file descriptors: relaying through buffers meanwhile "
				 "(raise 'ulimit -n' or lower --max-tunnels)");
			s->splice_budget_logged = 1;
		}
		return -1;
	}
#ifdef HAVE_SPLICE
	if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) == 0) {
		s->pipe_fds += 2;
		return 0;
	}
#endif
	return -1;
}

void server_pipe_put(struct server *s, int rd, int wr, int empty)
{
	if (empty && s->npipes < sizeof(s->pipe_pool) / sizeof(s->pipe_pool[0])) {
		s->pipe_pool[s->npipes][0] = rd;
		s->pipe_pool[s->npipes][1] = wr;
		s->npipes++;
		return;
	}
	close(rd);
	close(wr);
	s->pipe_fds -= 2;
}

int server_pipe_room(const struct server *s)
{
	return s->fd_limit == 0 ||
	       s->pipe_fds + 2 + (unsigned long)s->max_tunnels * FDS_PER_TUNNEL + FDS_RESERVED <= s->fd_limit;
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
	int err = errno; /* the caller's failure, before anything here can change it */
	ev_tstamp now = ev_now(s->loop);

	if (!s->accept_paused)
		listeners_set(s, 0);
	s->accept_paused |= why;
	if (why == SERVER_PAUSE_FDS) {
		if (now - s->last_fd_warning >= FD_WARN_INTERVAL || s->last_fd_warning == 0) {
			struct rlimit rl;
			long lim = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? (long)rl.rlim_cur : -1;
			log_error("out of file descriptors (%s, limit %ld, %u tunnels): accepting paused; raise 'ulimit -n' or lower --max-tunnels",
				  strerror(err), lim, s->ntunnels);
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
	if (s->accept_paused == 0 && !s->stopping)
		listeners_set(s, 1);
}

/* Closes the pooled pipes: with no tunnel left the bridge holds only what it started with. */
static void drain_pipe_pool(struct server *s)
{
	while (s->npipes > 0) {
		s->npipes--;
		close(s->pipe_pool[s->npipes][0]);
		close(s->pipe_pool[s->npipes][1]);
		s->pipe_fds -= 2;
	}
}

void server_tunnel_closed(struct server *s)
{
	if (s->ntunnels == 0)
		drain_pipe_pool(s);
	if (s->stopping && s->ntunnels == 0) {
		log_info("all tunnels closed");
		stop_now(s);
		return;
	}
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

static struct generation *gen_new(struct ev_loop *loop, struct config *cfg, char *err, size_t errlen)
{
	struct generation *g = calloc(1, sizeof(*g));
	if (g == NULL) {
		snprintf(err, errlen, "out of memory");
		free(cfg);
		return NULL;
	}
	g->cfg = cfg;
	g->refs = 1;
	g->upstreams = upstream_list_new(cfg, err, errlen);
	g->nupstreams = cfg->nproxies;
	if (g->upstreams != NULL)
		g->resolver = resolver_new(loop, cfg, err, errlen);
	if (g->resolver != NULL && cfg->prewarm > 0 && (g->prewarm = prewarm_new(loop, g)) == NULL)
		snprintf(err, errlen, "out of memory");
	if (g->upstreams == NULL || g->resolver == NULL || (cfg->prewarm > 0 && g->prewarm == NULL)) {
		g->refs = 0;
		server_gen_put(g);
		return NULL;
	}
	return g;
}

struct generation *server_gen_get(struct server *s)
{
	s->gen->refs++;
	return s->gen;
}

void server_gen_put(struct generation *g)
{
	if (g == NULL || (g->refs > 0 && --g->refs > 0))
		return;
	prewarm_free(g->prewarm);
	resolver_free(g->resolver);
	upstream_list_free(g->upstreams, g->nupstreams);
	config_free(g->cfg);
	memset(g->cfg, 0, sizeof(*g->cfg)); /* credentials */
	free(g->cfg);
	free(g);
}

static void stop_now(struct server *s)
{
	ev_timer_stop(s->loop, &s->grace);
	ev_break(s->loop, EVBREAK_ALL);
}

static void grace_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct server *s = (struct server *)((char *)w - offsetof(struct server, grace));
	(void)loop;
	(void)revents;
	log_info("shutdown grace period over: closing %u tunnels", s->ntunnels);
	stop_now(s);
}

static void stop_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct server *s = w->data;
	double grace = s->gen->cfg->shutdown_grace;
	(void)loop;
	(void)revents;

	if (s->stopping || s->ntunnels == 0 || grace <= 0) {
		log_info("signal %d: stopping now (%u tunnels open)", w->signum, s->ntunnels);
		stop_now(s);
		return;
	}
	s->stopping = 1;
	for (size_t i = 0; i < s->nlisteners; i++)
		listener_close(&s->listeners[i]);
	log_info("signal %d: no new clients; waiting up to %gs for %u tunnels (signal again to stop now)", w->signum,
		 grace, s->ntunnels);
	ev_timer_set(&s->grace, grace, 0);
	ev_timer_start(s->loop, &s->grace);
}

/* Reads the configuration again (the same command line, so the same config file). */
static void reload_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct server *s = w->data;
	char err[CONFIG_ERR_MAX];
	(void)revents;

	if (s->stopping)
		return;
	struct config *cfg = malloc(sizeof(*cfg));
	if (cfg == NULL) {
		log_error("reload: out of memory; keeping the running configuration");
		return;
	}
	config_init(cfg);
	int rc = config_parse_args(cfg, s->argc, s->argv, err, sizeof(err)) == CONFIG_RUN ? 0 : -1;
	if (rc == 0)
		rc = config_finish(cfg, config_getenv, err, sizeof(err));
	if (rc != 0) {
		log_error("reload failed, keeping the running configuration: %s", err);
		config_free(cfg);
		memset(cfg, 0, sizeof(*cfg));
		free(cfg);
		return;
	}
	int listen_changed = cfg->nlisten != s->gen->cfg->nlisten;
	for (size_t i = 0; !listen_changed && i < cfg->nlisten; i++)
		listen_changed = strcmp(cfg->listen[i].text, s->gen->cfg->listen[i].text) != 0;
	if (listen_changed)
		log_warn("reload: listen addresses change only on restart");
	if (cfg->buffer_size != s->gen->cfg->buffer_size)
		log_warn("reload: buffer-size changes only on restart");
	if (cfg->max_tunnels != s->gen->cfg->max_tunnels || cfg->workers != s->gen->cfg->workers)
		log_warn("reload: max-tunnels and workers change only on restart");
	struct generation *g = gen_new(loop, cfg, err, sizeof(err));
	if (g == NULL) {
		log_error("reload failed, keeping the running configuration: %s", err);
		return;
	}
	log_set_level(cfg->log_level);
	prewarm_free(s->gen->prewarm); /* the old generation's tunnels need no spares */
	s->gen->prewarm = NULL;
	server_gen_put(s->gen);
	s->gen = g;
	for (size_t i = 0; i < g->nupstreams; i++)
		log_info("reloaded: upstream proxy %s%s (from %s)", g->upstreams[i].display,
			 g->upstreams[i].auth ? " with Basic authentication" : "", cfg->proxy_source);
}

static void report_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct server *s = w->data;
	(void)loop;
	(void)revents;
	log_info("status: %u tunnels open (max %u), %llu accepted since start, %zu relay buffers in use, "
		 "%u DNS lookups pending, accepting %s",
		 s->ntunnels, s->max_tunnels, (unsigned long long)s->accepted, s->pool.in_use,
		 resolver_pending(s->gen->resolver), s->stopping ? "stopped" : s->accept_paused ? "paused" : "yes");
	for (struct tunnel *t = s->tunnels; t != NULL; t = tunnel_next(t))
		tunnel_report(t);
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
	s->fd_limit = (unsigned long)rl.rlim_cur;
	unsigned long room = rl.rlim_cur > FDS_RESERVED ? (unsigned long)(rl.rlim_cur - FDS_RESERVED) / FDS_PER_TUNNEL : 1;
	if (room < s->max_tunnels) {
		log_warn("--max-tunnels %u lowered to %lu: the open-file limit is %llu (raise 'ulimit -n')", s->max_tunnels,
			 room, (unsigned long long)rl.rlim_cur);
		s->max_tunnels = (unsigned)room;
	}
}

int server_init(struct server *s, struct ev_loop *loop, struct config *cfg, int argc, char **argv, char *err,
		size_t errlen)
{
	memset(s, 0, sizeof(*s));
	s->loop = loop;
	s->argc = argc;
	s->argv = argv;
	s->max_tunnels = cfg->max_tunnels;
	for (size_t i = 0; i < CONFIG_MAX_LISTEN; i++)
		s->listeners[i].fd = -1;
	ev_timer_init(&s->accept_retry, accept_retry_cb, 0, 0);
	ev_timer_init(&s->grace, grace_cb, 0, 0);
	/* handlers first: whoever sees "listening on" may signal us at once */
	ev_signal_init(&s->sigint, stop_cb, SIGINT);
	ev_signal_init(&s->sigterm, stop_cb, SIGTERM);
	ev_signal_init(&s->sighup, reload_cb, SIGHUP);
	ev_signal_init(&s->sigusr1, report_cb, SIGUSR1);
	s->sigint.data = s->sigterm.data = s->sighup.data = s->sigusr1.data = s;
	ev_signal_start(loop, &s->sigint);
	ev_signal_start(loop, &s->sigterm);
	ev_signal_start(loop, &s->sighup);
	ev_signal_start(loop, &s->sigusr1);
	fit_fd_limit(s);

	s->peercred = peercred_open();
	if (s->peercred == NULL) {
		snprintf(err, errlen, "cannot open the socket for owner lookups: %s", strerror(errno));
		free(cfg);
		return -1;
	}
	if (bufpool_init(&s->pool, cfg->buffer_size, POOL_SPARES) < 0) {
		snprintf(err, errlen, "out of memory");
		free(cfg);
		return -1;
	}
	s->gen = gen_new(loop, cfg, err, errlen);
	if (s->gen == NULL)
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
	for (size_t i = 0; i < s->gen->nupstreams; i++)
		log_info("upstream proxy %s%s (from %s)", s->gen->upstreams[i].display,
			 s->gen->upstreams[i].auth ? " with Basic authentication" : "", cfg->proxy_source);

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
	ev_timer_stop(s->loop, &s->grace);
	ev_signal_stop(s->loop, &s->sigint);
	ev_signal_stop(s->loop, &s->sigterm);
	ev_signal_stop(s->loop, &s->sighup);
	ev_signal_stop(s->loop, &s->sigusr1);
	if (s->gen != NULL) {
		prewarm_free(s->gen->prewarm);
		s->gen->prewarm = NULL;
	}
	server_gen_put(s->gen);
	s->gen = NULL;
	drain_pipe_pool(s);
	bufpool_destroy(&s->pool);
	peercred_close(s->peercred);
	s->peercred = NULL;
}
