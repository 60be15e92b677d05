/* pacproc: one PAC worker process and the socketpair to it (used by pac only).
 *
 * Started as `path __pac-worker` with fds 0 and 1 the far end of a socketpair; our end is
 * non-blocking and close-on-exec, watched with an ev_io.  Bytes to send are queued (bounded
 * by PACPROC_MAX_QUEUE); replies come back one line at a time.  Stopping kills the process
 * (SIGKILL) and reaps it without waiting: on the default loop libev reaps every child and
 * tells us through an ev_child; on any other loop waitpid(pid, WNOHANG) is polled.  No
 * process-wide SIGCHLD handler is installed here. */
#ifndef SOCKS2HTTP_PACPROC_H
#define SOCKS2HTTP_PACPROC_H

#include <ev.h>
#include <stddef.h>
#include <sys/types.h>

#define PACPROC_LINE_MAX 8192
#define PACPROC_MAX_QUEUE (2 * 1024 * 1024 + 256 * 1024)
#define PACPROC_ZOMBIES 8

struct pacproc {
	struct ev_loop *loop;
	pid_t pid;        /* 0: none running */
	int fd;           /* -1: none */
	unsigned gen;     /* bumped by every start and stop */
	ev_io io;
	ev_child child;   /* default loop only */
	int reaped;       /* the running worker already exited and was reaped */
	int exit_status;  /* its wait status, when reaped */
	char *out;        /* queued bytes [out_off, out_len) */
	size_t out_len, out_off, out_cap;
	char in[PACPROC_LINE_MAX + 2];
	size_t in_len;
	ev_tstamp started;
	/* a complete reply line, NUL-terminated, without its LF.  May call pacproc_stop/start. */
	void (*line_cb)(struct pacproc *pp, char *line, size_t len);
	/* the worker went away (EOF, error, a line too long); it is stopped already */
	void (*dead_cb)(struct pacproc *pp, const char *why);
	void *data;
	/* killed workers not reaped yet (other loops than the default one) */
	pid_t zombies[PACPROC_ZOMBIES];
	unsigned nzombies;
	ev_timer reap;
};

void pacproc_init(struct pacproc *pp, struct ev_loop *loop, void (*line_cb)(struct pacproc *, char *, size_t),
		  void (*dead_cb)(struct pacproc *, const char *), void *data);

/* Starts `path __pac-worker`.  Returns 0, or -1 with err. */
int pacproc_start(struct pacproc *pp, const char *path, char *err, size_t errlen);

/* Queues a then b (b may be NULL) to the running worker.  Returns 0, or -1 when none is
 * running or the queue would pass its bound. */
int pacproc_send(struct pacproc *pp, const char *a, size_t alen, const char *b, size_t blen);

/* Kills and forgets the running worker (if any); the queue and partial input are dropped. */
void pacproc_stop(struct pacproc *pp);

/* pacproc_stop, then the last reaping attempts (no wait). */
void pacproc_destroy(struct pacproc *pp);

#endif
