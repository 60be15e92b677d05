/* workers: the supervisor of --workers N (see include/workers.h).  It runs no event loop:
 * it waits in sigsuspend for signals and child exits, which keeps it trivially correct. */
#include "workers.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "listener.h"
#include "log.h"
#include "notify.h"
#include "wipe.h"

#define RESTART_WINDOW 10.0 /* seconds */
#define RESTARTS_MAX 5      /* worker deaths within the window before the supervisor gives up */

static volatile sig_atomic_t pending_signals; /* bit per signal number, set by the handler */

static void on_signal(int sig)
{
	pending_signals |= 1 << sig;
}

static in_port_t listen_port(const struct listen_spec *ls)
{
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ls->addr;
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ls->addr;
	return ls->addr.ss_family == AF_INET ? s4->sin_port : s6->sin6_port;
}

/* Port 0 means "any free port": the supervisor picks it once, with a bound socket it keeps,
 * so that every worker listens on the same one. */
static int pin_ports(struct config *cfg, int *holders, char *err, size_t errlen)
{
	int one = 1;
	for (size_t i = 0; i < cfg->nlisten; i++) {
		struct listen_spec *ls = &cfg->listen[i];
		holders[i] = -1;
		if (listen_port(ls) != 0)
			continue;
		int fd = socket(ls->addr.ss_family, SOCK_STREAM, 0);
		if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
		    bind(fd, (struct sockaddr *)&ls->addr, ls->addrlen) < 0) {
			snprintf(err, errlen, "cannot listen on %s: %s", ls->text, strerror(errno));
			if (fd >= 0)
				close(fd);
			return -1;
		}
		struct sockaddr_storage b;
		socklen_t blen = sizeof(b);
		if (getsockname(fd, (struct sockaddr *)&b, &blen) < 0) {
			snprintf(err, errlen, "cannot listen on %s: %s", ls->text, strerror(errno));
			close(fd);
			return -1;
		}
		memcpy(&ls->addr, &b, blen);
		holders[i] = fd;
	}
	return 0;
}

static void drop_config(struct config *cfg)
{
	config_free(cfg);
	wipe(cfg, sizeof(*cfg));
	free(cfg);
}

/* SIGHUP: reads the configuration again as each worker does, for the workers started from
 * now on.  What changes only on restart stays: the listen addresses (with the ports chosen
 * for port 0), the number of workers, the sockets from the service manager.  Returns the
 * configuration to use: cur when the new one fails (then dropped), the new one otherwise. */
static struct config *reload(struct config *cur, int argc, char **argv)
{
	char err[CONFIG_ERR_MAX];
	struct config *cfg = malloc(sizeof(*cfg));

	if (cfg == NULL) {
		log_error("reload: out of memory; keeping the running configuration");
		return cur;
	}
	config_init(cfg);
	int rc = config_load(cfg, argc, argv, config_getenv, err, sizeof(err)) == CONFIG_RUN ? 0 : -1;
	if (rc == 0 && cur->ninherited > 0) {
		memcpy(cfg->inherited_fd, cur->inherited_fd, sizeof(cfg->inherited_fd));
		memcpy(cfg->inherited_name, cur->inherited_name, sizeof(cfg->inherited_name));
		cfg->ninherited = cur->ninherited;
	}
	if (rc == 0)
		rc = config_finish(cfg, config_getenv, err, sizeof(err));
	if (rc != 0) {
		log_error("reload failed, keeping the running configuration: %s", err);
		drop_config(cfg);
		return cur;
	}
	memcpy(cfg->listen, cur->listen, sizeof(cfg->listen));
	cfg->nlisten = cur->nlisten;
	cfg->workers = cur->workers;
	log_set_level(cfg->log_level);
	drop_config(cur);
	return cfg;
}

/* The pipe on which each worker writes its pid once it listens (notify_worker), so that
 * READY=1 waits for all of them.  Both ends close on exec; the supervisor reads without
 * blocking.  Returns -1 (fds -1) when there is none: then READY=1 goes at once, as it did. */
static int ready_pipe(int fds[2])
{
	if (pipe(fds) < 0) {
		fds[0] = fds[1] = -1;
		return -1;
	}
	int fl = fcntl(fds[0], F_GETFL);
	if (fl < 0 || fcntl(fds[0], F_SETFL, fl | O_NONBLOCK) < 0 || fcntl(fds[0], F_SETFD, FD_CLOEXEC) < 0 ||
	    fcntl(fds[1], F_SETFD, FD_CLOEXEC) < 0 || fds[0] >= FD_SETSIZE) {
		close(fds[0]);
		close(fds[1]);
		fds[0] = fds[1] = -1;
		return -1;
	}
	return 0;
}

/* Marks the workers whose pid came through the pipe (one that died since matches none). */
static void take_ready(int fd, const pid_t *pids, int *ready, unsigned n)
{
	pid_t got[16];
	ssize_t r;
	while ((r = read(fd, got, sizeof(got))) > 0)
		for (size_t k = 0; k < (size_t)r / sizeof(pid_t); k++)
			for (unsigned i = 0; i < n; i++)
				if (pids[i] == got[k])
					ready[i] = 1;
}

static pid_t spawn(struct config *cfg, int argc, char **argv, workers_serve_fn serve, const int *holders,
		   const int *rp, const sigset_t *orig)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	for (size_t i = 0; i < cfg->nlisten; i++)
		if (holders[i] >= 0)
			close(holders[i]);
	if (rp[0] >= 0)
		close(rp[0]);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (int sig = 1; sig < 32; sig++)
		if (sig != SIGKILL && sig != SIGSTOP && sig != SIGPIPE)
			(void)sigaction(sig, &sa, NULL);
	sigprocmask(SIG_SETMASK, orig, NULL);
	notify_worker(rp[1]); /* the supervisor speaks to the service manager for all workers */
	struct config *mine = malloc(sizeof(*mine));
	if (mine == NULL)
		_exit(1);
	*mine = *cfg;
	_exit(serve(mine, argc, argv));
}

int workers_run(struct config *cfg, int argc, char **argv, workers_serve_fn serve)
{
	static const int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGCHLD};
	int holders[CONFIG_MAX_LISTEN], rp[2], ready[64];
	pid_t pids[64];
	unsigned n = cfg->workers, alive = 0, deaths = 0;
	int stopping = 0, status = 0, announced = 0;
	char err[CONFIG_ERR_MAX];
	sigset_t block, orig;
	struct timespec window_start;

	/* SO_REUSEPORT lets the workers in next to another daemon already there (one
	 * process would get EADDRINUSE); a port 0 is a free one, pinned below */
	int taken = 0;
	for (size_t i = 0; !taken && cfg->ninherited == 0 && i < cfg->nlisten; i++)
		taken = listen_port(&cfg->listen[i]) != 0 && listener_probe(&cfg->listen[i], err, sizeof(err)) < 0;
	if (taken || pin_ports(cfg, holders, err, sizeof(err)) < 0) {
		fprintf(stderr, "socks2http: %s\n", err);
		drop_config(cfg);
		return 1;
	}
	sigemptyset(&block);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		sigaddset(&block, sigs[i]);
		sigaction(sigs[i], &sa, NULL);
	}
	sigprocmask(SIG_BLOCK, &block, &orig);

	/* The workers drop lines a stalled stderr cannot take, so it stays full: a blocking
	 * write here would stop the supervisor with its signals masked. */
	log_nowait();
	log_info("supervising %u workers", n);
	(void)ready_pipe(rp);
	for (unsigned i = 0; i < n; i++) {
		pids[i] = spawn(cfg, argc, argv, serve, holders, rp, &orig);
		ready[i] = rp[0] < 0;
		if (pids[i] > 0)
			alive++;
	}
	clock_gettime(CLOCK_MONOTONIC, &window_start);

	while (alive > 0) {
		/* READY=1 once every worker listens: a start where none can ends in exit 1 unannounced */
		unsigned listening = 0, waiting = 0;
		for (unsigned i = 0; i < n; i++)
			if (pids[i] > 0 && ready[i])
				listening++;
			else if (pids[i] > 0)
				waiting++;
		if (!announced && !stopping && listening > 0 && waiting == 0) {
			announced = 1;
			notify_send("READY=1\nSTATUS=%u workers", listening);
		}
		sigset_t wait_mask = orig;
		for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
			sigdelset(&wait_mask, sigs[i]);
		fd_set rset;
		FD_ZERO(&rset);
		if (rp[0] >= 0)
			FD_SET(rp[0], &rset);
		/* like sigsuspend, and the pipe too; returns with the signals blocked again */
		if (pselect(rp[0] + 1, &rset, NULL, NULL, NULL, &wait_mask) > 0)
			take_ready(rp[0], pids, ready, n);
		int got = pending_signals;
		pending_signals = 0;

		int fwd = 0;
		if (got & (1 << SIGTERM))
			fwd = SIGTERM;
		else if (got & (1 << SIGINT))
			fwd = SIGINT;
		if (fwd) {
			/* a second one tells the workers to stop at once, as it does with one process */
			stopping = 1;
			notify_stopping();
			for (unsigned i = 0; i < n; i++)
				if (pids[i] > 0)
					kill(pids[i], fwd);
		}
		if ((got & (1 << SIGHUP)) && !stopping) {
			/* each worker reads the configuration on its own; this copy is for replacements */
			if (announced)
				notify_reloading();
			cfg = reload(cfg, argc, argv);
			if (announced)
				notify_ready();
		}
		static const int passed_on[] = {SIGHUP, SIGUSR1};
		for (size_t k = 0; k < 2; k++)
			if (got & (1 << passed_on[k]))
				for (unsigned i = 0; i < n; i++)
					if (pids[i] > 0)
						kill(pids[i], passed_on[k]);

		pid_t pid;
		int ws;
		while ((pid = waitpid(-1, &ws, WNOHANG)) > 0) {
			for (unsigned i = 0; i < n; i++) {
				if (pids[i] != pid)
					continue;
				pids[i] = -1;
				alive--;
				if (stopping)
					break;
				if (WIFSIGNALED(ws))
					log_error("worker %ld died of signal %d", (long)pid, WTERMSIG(ws));
				else
					log_error("worker %ld exited with status %d", (long)pid, WEXITSTATUS(ws));
				struct timespec now;
				clock_gettime(CLOCK_MONOTONIC, &now);
				double since = (double)(now.tv_sec - window_start.tv_sec) +
					       (double)(now.tv_nsec - window_start.tv_nsec) / 1e9;
				if (since > RESTART_WINDOW) {
					window_start = now;
					deaths = 0;
				}
				if (++deaths > RESTARTS_MAX) {
					log_error("workers keep dying: stopping");
					stopping = 1;
					status = 1;
					for (unsigned j = 0; j < n; j++)
						if (pids[j] > 0)
							kill(pids[j], SIGTERM);
					break;
				}
				sleep(1); /* no fork storm */
				pids[i] = spawn(cfg, argc, argv, serve, holders, rp, &orig);
				ready[i] = rp[0] < 0;
				if (pids[i] > 0)
					alive++;
				break;
			}
		}
	}
	for (size_t i = 0; i < cfg->nlisten; i++)
		if (holders[i] >= 0)
			close(holders[i]);
	for (int k = 0; k < 2; k++)
		if (rp[k] >= 0)
			close(rp[k]);
	log_info("all workers stopped");
	log_detach();
	drop_config(cfg);
	return status;
}
