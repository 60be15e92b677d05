/* pactest: what the PAC unit tests share: a waiter that records its answer, running the
 * loop until something happened, and the log lines (log.c is not linked: they are kept
 * here and counted). */
#ifndef SOCKS2HTTP_PACTEST_H
#define SOCKS2HTTP_PACTEST_H

#include <errno.h>
#include <ev.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pac.h"

static char logbuf[1 << 16];
static size_t loglen;

int log_enabled(int level)
{
	(void)level;
	return 1;
}

void log_msg(int level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	(void)level;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (getenv("PACTEST_VERBOSE"))
		fprintf(stderr, "log: %s\n", line);
	size_t n = strlen(line);
	if (loglen + n + 2 < sizeof(logbuf)) {
		memcpy(logbuf + loglen, line, n);
		loglen += n;
		logbuf[loglen++] = '\n';
		logbuf[loglen] = '\0';
	}
}

/* How many logged lines contain what. */
static inline int log_count(const char *what)
{
	int n = 0;
	for (const char *s = logbuf; (s = strstr(s, what)) != NULL; s += strlen(what))
		n++;
	return n;
}

struct tw {
	struct pac_waiter w;
	int calls;
	struct pac_result r;
};

static inline void tw_cb(struct pac_waiter *w, const struct pac_result *r)
{
	struct tw *t = (struct tw *)w;
	t->calls++;
	t->r = *r;
}

static inline void find(struct pac *p, struct tw *t, const char *host, uint16_t port)
{
	memset(t, 0, sizeof(*t));
	pac_find(p, host, port, &t->w, tw_cb);
}

static inline void wake_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	(void)l;
	(void)w;
	(void)revents;
}

/* Runs the loop until *counter >= want (1) or timeout seconds passed (0). */
static inline int run_until(struct ev_loop *l, const int *counter, int want, double timeout)
{
	double end = ev_time() + timeout;
	ev_timer tick;
	ev_timer_init(&tick, wake_cb, 0.01, 0.01);
	ev_timer_start(l, &tick);
	while ((counter == NULL || *counter < want) && ev_time() < end)
		ev_run(l, EVRUN_ONCE);
	ev_timer_stop(l, &tick);
	return counter != NULL && *counter >= want;
}

static inline void run_for(struct ev_loop *l, double secs)
{
	(void)run_until(l, NULL, 0, secs);
}

static inline void write_file(const char *path, const char *text)
{
	char tmp[512];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0 || rename(tmp, path) != 0) {
		perror(path);
		exit(1);
	}
}

/* Is pid still a process (a zombie counts: it was not reaped)? */
static inline int child_alive(long pid)
{
	return kill((pid_t)pid, 0) == 0 || errno != ESRCH;
}

#endif
