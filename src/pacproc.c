/* pacproc: the PAC worker process and its socketpair (see include/pacproc.h). */
#include "pacproc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sockets.h"

extern char **environ;

static void io_cb(struct ev_loop *loop, ev_io *w, int revents);

/* Variables the worker does not get: the PAC is code from the network, and while the engine
 * has no way to read them, a password has no business in its process. */
static int secret_var(const char *kv)
{
	size_t n = strcspn(kv, "=");
	for (size_t i = 0; i + 8 <= n; i++)
		if (strncasecmp(kv + i, "PASSWORD", 8) == 0)
			return 1;
	return n >= 6 && strncasecmp(kv + n - 6, "_proxy", 6) == 0;
}

/* environ without the secret variables, in a fresh array (NULL when out of memory). */
static char **worker_env(void)
{
	size_t n = 0;
	while (environ[n] != NULL)
		n++;
	char **env = calloc(n + 1, sizeof(char *));
	for (size_t i = 0, j = 0; env != NULL && i < n; i++)
		if (!secret_var(environ[i]))
			env[j++] = environ[i];
	return env;
}

static void reap_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct pacproc *pp = w->data;
	(void)revents;
	unsigned keep = 0;
	for (unsigned i = 0; i < pp->nzombies; i++) {
		int st;
		pid_t r = waitpid(pp->zombies[i], &st, WNOHANG);
		if (r == 0 || (r < 0 && errno == EINTR))
			pp->zombies[keep++] = pp->zombies[i];
	}
	pp->nzombies = keep;
	if (keep == 0)
		ev_timer_stop(loop, w);
}

/* libev (default loop) reaped the running worker: never signal that pid again. */
static void child_cb(struct ev_loop *loop, ev_child *w, int revents)
{
	struct pacproc *pp = w->data;
	(void)revents;
	ev_child_stop(loop, w);
	pp->reaped = 1;
	pp->exit_status = w->rstatus;
}

void pacproc_init(struct pacproc *pp, struct ev_loop *loop, void (*line_cb)(struct pacproc *, char *, size_t),
		  void (*dead_cb)(struct pacproc *, const char *), void *data)
{
	memset(pp, 0, sizeof(*pp));
	pp->loop = loop;
	pp->fd = -1;
	pp->line_cb = line_cb;
	pp->dead_cb = dead_cb;
	pp->data = data;
	ev_io_init(&pp->io, io_cb, -1, 0);
	pp->io.data = pp;
	ev_timer_init(&pp->reap, reap_cb, 0.02, 0.05);
	pp->reap.data = pp;
	ev_init(&pp->child, child_cb);
	pp->child.data = pp;
}

static void watch(struct pacproc *pp)
{
	int ev = EV_READ | (pp->out_off < pp->out_len ? EV_WRITE : 0);
	if (ev_is_active(&pp->io) && pp->io.events == ev)
		return;
	ev_io_stop(pp->loop, &pp->io);
	ev_io_set(&pp->io, pp->fd, ev);
	ev_io_start(pp->loop, &pp->io);
}

int pacproc_start(struct pacproc *pp, const char *path, char *err, size_t errlen)
{
	int sv[2];
	if (pp->pid != 0)
		pacproc_stop(pp);
#ifdef SOCK_CLOEXEC
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
#else
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) {
#endif
		snprintf(err, errlen, "socketpair: %s", strerror(errno));
		return -1;
	}
	if (sockets_nonblock(sv[0]) < 0 || fcntl(sv[1], F_SETFD, FD_CLOEXEC) < 0) {
		snprintf(err, errlen, "fcntl: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	/* dup2 onto the same number would keep close-on-exec: move the child's end above 2 */
	if (sv[1] <= 2) {
		int moved = fcntl(sv[1], F_DUPFD_CLOEXEC, 3);
		close(sv[1]);
		if (moved < 0) {
			snprintf(err, errlen, "fcntl: %s", strerror(errno));
			close(sv[0]);
			return -1;
		}
		sv[1] = moved;
	}
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, dfl;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, sv[1], 0);
	posix_spawn_file_actions_adddup2(&fa, sv[1], 1);
	posix_spawnattr_init(&at);
	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	sigaddset(&dfl, SIGCHLD);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &dfl);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	char *argv[] = {(char *)path, (char *)"__pac-worker", NULL};
	pid_t pid;
	char **env = worker_env();
	int rc = env == NULL ? ENOMEM : posix_spawn(&pid, path, &fa, &at, argv, env);
	free(env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(sv[1]);
	if (rc != 0) {
		snprintf(err, errlen, "cannot start the PAC worker %s: %s", path, strerror(rc));
		close(sv[0]);
		return -1;
	}
	pp->pid = pid;
	pp->fd = sv[0];
	pp->gen++;
	pp->reaped = 0;
	pp->in_len = 0;
	pp->out_len = pp->out_off = 0;
	pp->started = ev_now(pp->loop);
	if (ev_is_default_loop(pp->loop)) {
		ev_child_set(&pp->child, pid, 0);
		ev_child_start(pp->loop, &pp->child);
	}
	watch(pp);
	return 0;
}

int pacproc_send(struct pacproc *pp, const char *a, size_t alen, const char *b, size_t blen)
{
	if (pp->fd < 0)
		return -1;
	if (pp->out_off == pp->out_len)
		pp->out_off = pp->out_len = 0;
	size_t need = pp->out_len + alen + blen;
	if (need > PACPROC_MAX_QUEUE)
		return -1;
	if (need > pp->out_cap) {
		/* compact first, then grow */
		if (pp->out_off > 0) {
			memmove(pp->out, pp->out + pp->out_off, pp->out_len - pp->out_off);
			pp->out_len -= pp->out_off;
			pp->out_off = 0;
			need = pp->out_len + alen + blen;
		}
		if (need > pp->out_cap) {
			size_t cap = pp->out_cap ? pp->out_cap : 4096;
			while (cap < need)
				cap *= 2;
			char *n = realloc(pp->out, cap);
			if (n == NULL)
				return -1;
			pp->out = n;
			pp->out_cap = cap;
		}
	}
	memcpy(pp->out + pp->out_len, a, alen);
	pp->out_len += alen;
	if (blen) {
		memcpy(pp->out + pp->out_len, b, blen);
		pp->out_len += blen;
	}
	watch(pp);
	return 0;
}

void pacproc_stop(struct pacproc *pp)
{
	if (pp->fd >= 0) {
		ev_io_stop(pp->loop, &pp->io);
		close(pp->fd);
		pp->fd = -1;
	}
	if (pp->pid != 0) {
		ev_child_stop(pp->loop, &pp->child);
		if (!pp->reaped) {
			/* not reaped yet, so the pid is still ours: safe to signal */
			kill(pp->pid, SIGKILL);
			if (!ev_is_default_loop(pp->loop)) {
				int st;
				if (waitpid(pp->pid, &st, WNOHANG) == 0 && pp->nzombies < PACPROC_ZOMBIES) {
					pp->zombies[pp->nzombies++] = pp->pid;
					if (!ev_is_active(&pp->reap))
						ev_timer_start(pp->loop, &pp->reap);
				}
			}
			/* on the default loop libev reaps it */
		}
		pp->pid = 0;
	}
	pp->gen++;
	pp->in_len = 0;
	pp->out_len = pp->out_off = 0;
}

void pacproc_destroy(struct pacproc *pp)
{
	pacproc_stop(pp);
	ev_timer_stop(pp->loop, &pp->reap);
	for (unsigned i = 0; i < pp->nzombies; i++) {
		int st;
		(void)waitpid(pp->zombies[i], &st, WNOHANG);
	}
	pp->nzombies = 0;
	free(pp->out);
	pp->out = NULL;
	pp->out_cap = 0;
}

static void died(struct pacproc *pp, const char *why)
{
	pacproc_stop(pp);
	pp->dead_cb(pp, why);
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct pacproc *pp = w->data;
	unsigned gen = pp->gen;
	(void)loop;

	if ((revents & EV_WRITE) && pp->out_off < pp->out_len) {
		ssize_t n = send(pp->fd, pp->out + pp->out_off, pp->out_len - pp->out_off, MSG_NOSIGNAL);
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			char why[96];
			snprintf(why, sizeof(why), "writing to it: %s", strerror(errno));
			died(pp, why);
			return;
		}
		if (n > 0)
			pp->out_off += (size_t)n;
		if (pp->out_off == pp->out_len)
			pp->out_off = pp->out_len = 0;
		watch(pp);
	}
	if (!(revents & EV_READ))
		return;
	for (int round = 0; round < 8; round++) {
		ssize_t n = recv(pp->fd, pp->in + pp->in_len, sizeof(pp->in) - 1 - pp->in_len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			char why[96];
			snprintf(why, sizeof(why), "%s", n == 0 ? "it exited" : strerror(errno));
			died(pp, why);
			return;
		}
		pp->in_len += (size_t)n;
		size_t start = 0;
		for (;;) {
			char *nl = memchr(pp->in + start, '\n', pp->in_len - start);
			if (nl == NULL)
				break;
			*nl = '\0';
			size_t len = (size_t)(nl - (pp->in + start));
			if (len > 0 && pp->in[start + len - 1] == '\r')
				pp->in[start + --len] = '\0';
			char line[PACPROC_LINE_MAX + 2];
			memcpy(line, pp->in + start, len + 1);
			start = (size_t)(nl - pp->in) + 1;
			pp->line_cb(pp, line, len);
			if (pp->gen != gen)
				return; /* stopped or restarted meanwhile: the rest belonged to the old one */
		}
		memmove(pp->in, pp->in + start, pp->in_len - start);
		pp->in_len -= start;
		if (pp->in_len >= sizeof(pp->in) - 1) {
			died(pp, "a reply line over 8 KiB");
			return;
		}
	}
}
