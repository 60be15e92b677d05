/* server: listeners, sessions, generations, signals and orderly shutdown. */
#include "server.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "generation.h"
#include "log.h"
#include "netwatch.h"
#include "pac.h"
#include "peercred.h"
#include "resolver.h"
#include "wipe.h"

#define FD_RETRY_SECONDS 0.5  /* accepting resumes this soon after running out of fds */
#define FD_WARN_INTERVAL 30.0 /* the out-of-fds error is logged at most this often */
#define FDS_PER_TUNNEL 3      /* client, upstream, a second connect attempt */
#define FDS_RESERVED 32       /* listeners, DNS sockets, stdio, log */
#define POOL_SPARES 64        /* relay buffers kept for reuse */
#define PIPE_SIZE (1u << 20)  /* splice pipes are enlarged to this where allowed */
#define PIPE_DRAIN_AFTER 2.0  /* seconds without a tunnel before pooled pipes are closed */

enum { PAUSE_LIMIT = 1, PAUSE_FDS = 2 };

#define server_of(ptr, member) ((struct server *)(void *)((char *)(ptr) - offsetof(struct server, member)))

static void stop_now(struct server *s);

static void listeners_set(struct server *s, int on)
{
	for (size_t i = 0; i < s->nlisteners; i++) {
		if (on)
			listener_start(&s->listeners[i]);
		else
			listener_stop(&s->listeners[i]);
	}
}

static void pause_accept(struct server *s, int why)
{
	int err = errno; /* the caller's failure, before anything here can change it */
	ev_tstamp now = ev_now(s->host.loop);

	if (!s->accept_paused)
		listeners_set(s, 0);
	s->accept_paused |= why;
	if (why == PAUSE_FDS) {
		if (now - s->last_fd_warning >= FD_WARN_INTERVAL || s->last_fd_warning == 0) {
			struct rlimit rl;
			long lim = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? (long)rl.rlim_cur : -1;
			log_error("out of file descriptors (%s, limit %ld, %u tunnels): accepting paused; raise 'ulimit -n' or lower --max-tunnels",
				  strerror(err), lim, s->host.nsessions);
			s->last_fd_warning = now;
		}
		ev_timer_stop(s->host.loop, &s->accept_retry);
		ev_timer_set(&s->accept_retry, FD_RETRY_SECONDS, 0);
		ev_timer_start(s->host.loop, &s->accept_retry);
	} else {
		log_debug("%u tunnels open (--max-tunnels): new clients wait in the backlog", s->host.nsessions);
	}
}

static void maybe_resume(struct server *s)
{
	if (s->accept_paused == 0 && !s->stopping)
		listeners_set(s, 1);
}

static void session_closed(struct session_host *h)
{
	struct server *s = server_of(h, host);
	if (h->nsessions == 0) { /* with no tunnel left for a while, hold only what we started with */
		ev_timer_stop(h->loop, &s->pipe_drain);
		ev_timer_set(&s->pipe_drain, PIPE_DRAIN_AFTER, 0);
		ev_timer_start(h->loop, &s->pipe_drain);
	}
	service_tunnels_changed(&s->svc);
	if (s->stopping && h->nsessions == 0) {
		log_info("all tunnels closed");
		stop_now(s);
		return;
	}
	if (!s->accept_paused)
		return;
	if ((s->accept_paused & PAUSE_LIMIT) && h->nsessions < s->max_tunnels)
		s->accept_paused &= ~PAUSE_LIMIT;
	if (s->accept_paused & PAUSE_FDS) { /* two fds just came free */
		s->accept_paused &= ~PAUSE_FDS;
		ev_timer_stop(h->loop, &s->accept_retry);
	}
	maybe_resume(s);
}

static void session_out_of_fds(struct session_host *h)
{
	pause_accept(server_of(h, host), PAUSE_FDS);
}

static int admit(void *data)
{
	struct server *s = data;
	if (s->host.nsessions < s->max_tunnels)
		return 1;
	pause_accept(s, PAUSE_LIMIT);
	return 0;
}

static void accepted(void *data, int fd, const struct sockaddr *peer, socklen_t len,
		     const struct sockaddr_storage *local)
{
	struct server *s = data;
	s->host.accepted++;
	session_accept(&s->host, fd, peer, len, local);
	service_tunnels_changed(&s->svc);
}

static void listener_out_of_fds(void *data)
{
	pause_accept(data, PAUSE_FDS);
}

/* The listener's hooks into this server; one more listener counted. */
static void hook_listener(struct server *s, struct listener *l)
{
	l->admit = admit;
	l->accepted = accepted;
	l->out_of_fds = listener_out_of_fds;
	l->data = s;
	s->nlisteners++;
}

static void pipe_drain_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct server *s = server_of(w, pipe_drain);
	(void)loop;
	(void)revents;
	if (s->host.nsessions == 0)
		pipepool_drain(&s->host.pipes);
}

static void accept_retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct server *s = server_of(w, accept_retry);
	(void)loop;
	(void)revents;
	s->accept_paused &= ~PAUSE_FDS;
	maybe_resume(s);
}

static void stop_now(struct server *s)
{
	ev_timer_stop(s->host.loop, &s->grace);
	ev_break(s->host.loop, EVBREAK_ALL);
}

static void grace_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct server *s = server_of(w, grace);
	(void)loop;
	(void)revents;
	log_info("shutdown grace period over: closing %u tunnels", s->host.nsessions);
	stop_now(s);
}

static void stop_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct server *s = w->data;
	double grace = s->host.gen->cfg->shutdown_grace;
	(void)loop;
	(void)revents;

	service_stopping(&s->svc);
	if (s->stopping || s->host.nsessions == 0 || grace <= 0) {
		log_info("signal %d: stopping now (%u tunnels open)", w->signum, s->host.nsessions);
		stop_now(s);
		return;
	}
	s->stopping = 1;
	for (size_t i = 0; i < s->nlisteners; i++)
		listener_close(&s->listeners[i]);
	log_info("signal %d: no new clients; waiting up to %gs for %u tunnels (signal again to stop now)", w->signum,
		 grace, s->host.nsessions);
	ev_timer_set(&s->grace, grace, 0);
	ev_timer_start(s->host.loop, &s->grace);
}

static void log_upstreams(const struct generation *g, const char *what)
{
	const struct config *cfg = g->cfg;
	for (size_t i = 0; i < g->nupstreams; i++) {
		const struct upstream *u = &g->upstreams[i];
		log_info("%supstream proxy %s%s%s (from %s)", what, u->display, u->tls ? " over TLS" : "",
			 u->spec->has_auth ? " with credentials (scheme: what it asks for)" : "",
			 i < cfg->nproxies ? cfg->proxy_source : "--route");
		if (u->tls && cfg->proxy_insecure)
			log_warn("%supstream proxy %s: --proxy-insecure: its certificate is NOT verified; anyone on the way "
				 "can read and change the tunnels",
				 what, u->display);
	}
	for (size_t i = 0; i < cfg->nrules; i++)
		log_info("%sroute rule %zu: %s", what, i + 1, cfg->rules[i].text);
	if (cfg->noproxy_set)
		log_info("%sno_proxy from %s: matching targets go direct", what, cfg->noproxy_source);
	if (cfg->pac_url[0] != '\0')
		log_info("%sPAC from %s (fetched directly)", what, cfg->pac_url);
}

/* The machine's addresses or routes changed (another network, a VPN): the resolver forgets
 * its answers and reads resolv.conf again (a VPN brings its own DNS servers), proxies
 * marked down get another chance at once, and the PAC is fetched again (it may be
 * reachable now, or no longer) with the new DNS servers. */
static void network_changed(void *arg)
{
	struct server *s = arg;
	struct generation *g = s->host.gen;
	log_info("network change: %sretrying every proxy%s",
		 g->cfg->dns_servers[0] ? "" : "reading the DNS servers from /etc/resolv.conf again, ",
		 g->pac ? ", fetching the PAC again" : "");
	resolver_network_changed(g->resolver);
	memset(&g->health, 0, sizeof(g->health));
	if (g->pac != NULL)
		pac_refresh(g->pac);
}

/* Reads the configuration again (the same command line, so the same config file). */
static void reload(struct server *s, struct ev_loop *loop)
{
	const struct config *old = s->host.gen->cfg;
	char err[CONFIG_ERR_MAX];

	struct config *cfg = malloc(sizeof(*cfg));
	if (cfg == NULL) {
		log_error("reload: out of memory; keeping the running configuration");
		return;
	}
	config_init(cfg);
	int rc = config_load(cfg, s->argc, s->argv, config_getenv, err, sizeof(err)) == CONFIG_RUN ? 0 : -1;
	if (rc == 0 && old->ninherited > 0) { /* the same sockets: listen lines stay ignored */
		memcpy(cfg->inherited_fd, old->inherited_fd, sizeof(cfg->inherited_fd));
		memcpy(cfg->inherited_name, old->inherited_name, sizeof(cfg->inherited_name));
		cfg->ninherited = old->ninherited;
	}
	if (rc == 0)
		rc = config_finish(cfg, config_getenv, err, sizeof(err));
	if (rc != 0) {
		log_error("reload failed, keeping the running configuration: %s", err);
		config_free(cfg);
		wipe(cfg, sizeof(*cfg));
		free(cfg);
		return;
	}
	int listen_changed = cfg->nlisten != old->nlisten;
	for (size_t i = 0; !listen_changed && i < cfg->nlisten; i++)
		listen_changed = strcmp(cfg->listen[i].text, old->listen[i].text) != 0;
	if (listen_changed)
		log_warn("reload: listen addresses change only on restart");
	if (cfg->buffer_size != old->buffer_size)
		log_warn("reload: buffer-size changes only on restart");
	if (cfg->max_tunnels != old->max_tunnels || cfg->workers != old->workers)
		log_warn("reload: max-tunnels and workers change only on restart");
	struct generation *g = generation_new(loop, cfg, s->host.gen, err, sizeof(err));
	if (g == NULL) {
		log_error("reload failed, keeping the running configuration: %s", err);
		return;
	}
	log_set_level(cfg->log_level);
	generation_retire(s->host.gen);
	generation_put(s->host.gen);
	s->host.gen = g;
	log_upstreams(g, "reloaded: ");
	if (cfg->ninherited > 0)
		service_set_exit_idle(&s->svc, cfg->exit_idle);
}

static void reload_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct server *s = w->data;
	(void)revents;
	if (s->stopping)
		return;
	service_reloading(&s->svc);
	reload(s, loop);
	service_reloaded(&s->svc); /* also after a failed reload: the old configuration serves on */
}

static void report_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct server *s = w->data;
	const struct pipepool *pp = &s->host.pipes;
	(void)loop;
	(void)revents;
	log_info("status: %u tunnels open (max %u), %llu accepted since start, %zu relay buffers in use, "
		 "splice pipes: %lu in use, %u pooled, %lu taken, %lu refused; %u DNS lookups pending, accepting %s",
		 s->host.nsessions, s->max_tunnels, (unsigned long long)s->host.accepted, s->host.pool.in_use,
		 pp->pipe_fds / 2 - pp->npool, pp->npool, pp->taken, pp->refused, resolver_pending(s->host.gen->resolver),
		 s->stopping ? "stopped" : s->accept_paused ? "paused" : "yes");
	for (struct session *t = s->host.sessions; t != NULL; t = session_next(t))
		session_report(t);
}

static void control_facts(void *data, struct control_facts *f)
{
	struct server *s = data;
	f->max_tunnels = s->max_tunnels;
	f->accepting = s->stopping ? "stopped" : s->accept_paused ? "paused" : "yes";
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

static void idle_exit(struct service *sv)
{
	stop_now(sv->data);
}

/* The sockets a service manager passed (cfg->inherited_*) become the listeners; -l is then
 * ignored.  The same rule as for -l: beyond loopback only with client authentication or
 * --allow-remote. */
static int adopt_inherited(struct server *s, struct ev_loop *loop, const struct config *cfg, char *err,
			   size_t errlen)
{
	if (cfg->nlisten > 0)
		log_warn("listen addresses (-l, 'listen') are ignored: using the %zu sockets from the service manager",
			 cfg->ninherited);
	for (size_t i = 0; i < cfg->ninherited; i++) {
		struct listener *l = &s->listeners[i];
		if (listener_adopt(l, loop, cfg->inherited_fd[i], err, errlen) < 0)
			return -1;
		hook_listener(s, l);
		if (!config_addr_is_local((const struct sockaddr *)&l->local) && cfg->nauth == 0 && !cfg->allow_remote) {
			snprintf(err, errlen,
				 "refusing the inherited socket %s ('%s') without client authentication: anyone who can "
				 "reach it could use your proxy; add --socks-auth FILE, or --allow-remote if that is intended",
				 l->text, cfg->inherited_name[i]);
			return -1;
		}
	}
	return 0;
}

int server_init(struct server *s, struct ev_loop *loop, struct config *cfg, int argc, char **argv, char *err,
		size_t errlen)
{
	struct session_host *h = &s->host;

	memset(s, 0, sizeof(*s));
	h->loop = loop;
	h->closed = session_closed;
	h->out_of_fds = session_out_of_fds;
	s->argc = argc;
	s->argv = argv;
	s->max_tunnels = cfg->max_tunnels;
	for (size_t i = 0; i < CONFIG_MAX_LISTEN; i++)
		s->listeners[i].fd = -1;
	ev_timer_init(&s->accept_retry, accept_retry_cb, 0, 0);
	ev_timer_init(&s->grace, grace_cb, 0, 0);
	ev_timer_init(&s->pipe_drain, pipe_drain_cb, 0, 0);
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

	pipepool_init(&h->pipes, s->fd_limit, FDS_RESERVED, s->max_tunnels, &h->nsessions, PIPE_SIZE,
		      pipepool_user_budget());
	h->pump_ctx.loop = loop;
	h->pump_ctx.pool = &h->pool;
	h->pump_ctx.pipes = cfg->splice ? &h->pipes : NULL;
	if (bufpool_init(&h->pool, cfg->buffer_size, POOL_SPARES) < 0) {
		snprintf(err, errlen, "out of memory");
		config_free(cfg);
		free(cfg);
		return -1;
	}
	h->peercred = peercred_open();
	if (h->peercred == NULL) {
		snprintf(err, errlen, "cannot open the socket for owner lookups: %s", strerror(errno));
		config_free(cfg);
		free(cfg);
		return -1;
	}
	h->gen = generation_new(loop, cfg, NULL, err, errlen);
	if (h->gen == NULL)
		return -1;
	if (cfg->ninherited > 0 && adopt_inherited(s, loop, cfg, err, errlen) < 0)
		return -1;
	for (size_t i = 0; cfg->ninherited == 0 && i < cfg->nlisten; i++) {
		struct listener *l = &s->listeners[i];
		if (listener_open(l, loop, &cfg->listen[i], cfg->workers > 1, err, errlen) < 0)
			return -1;
		hook_listener(s, l);
	}
	/* everything is in place before "listening on": whoever sees it finds a daemon ready */
	if (control_open(&s->control, loop, cfg, h, control_facts, s, err, errlen) < 0)
		log_warn("no status: %s", err);
	for (size_t i = 0; i < s->nlisteners; i++) {
		listener_start(&s->listeners[i]);
		if (cfg->ninherited > 0)
			log_info("listening on %s (socket '%s' from the service manager)", s->listeners[i].text,
				 cfg->inherited_name[i]);
		else
			log_info("listening on %s", s->listeners[i].text);
	}
	log_upstreams(h->gen, "");
	s->netwatch = netwatch_new(loop, network_changed, s);
	if (cfg->exit_idle > 0 && cfg->ninherited == 0)
		log_warn("--exit-idle is ignored: it needs sockets from a service manager (socket activation)");
	service_init(&s->svc, loop, cfg->ninherited > 0 ? cfg->exit_idle : 0, &h->nsessions, &h->accepted, idle_exit, s);
	service_ready(&s->svc);
	return 0;
}

void server_destroy(struct server *s)
{
	struct session_host *h = &s->host;
	control_close(&s->control);
	netwatch_free(s->netwatch);
	s->netwatch = NULL;
	for (size_t i = 0; i < s->nlisteners; i++)
		listener_close(&s->listeners[i]);
	s->nlisteners = 0;
	while (h->sessions != NULL)
		session_abort(h->sessions, "shutdown");
	ev_timer_stop(h->loop, &s->accept_retry);
	ev_timer_stop(h->loop, &s->grace);
	ev_timer_stop(h->loop, &s->pipe_drain);
	ev_signal_stop(h->loop, &s->sigint);
	ev_signal_stop(h->loop, &s->sigterm);
	ev_signal_stop(h->loop, &s->sighup);
	ev_signal_stop(h->loop, &s->sigusr1);
	service_destroy(&s->svc);
	if (h->gen != NULL)
		generation_retire(h->gen);
	generation_put(h->gen);
	h->gen = NULL;
	peercred_close(h->peercred);
	h->peercred = NULL;
	pipepool_drain(&h->pipes);
	bufpool_destroy(&h->pool);
}
