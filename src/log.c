/* log: one line per event on stderr, with a UTC timestamp and the level.  Never blocks the
 * loop: see include/log.h for how, per kind of stderr. */
#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define LINE_BYTES 2048 /* the longest line, newline included */
/* One write carries whole lines, this much at most: no more than PIPE_BUF, so a pipe takes
 * all of it or nothing and other writers on it cannot come in between. */
#define WRITE_MAX (PIPE_BUF < 4096 ? PIPE_BUF : 4096)
#define DETACH_WAIT_MS 1000 /* log_detach waits this long in all for stderr to take the queue */

#define DROPPED_NOTICE "log: %lu lines dropped (log reader too slow)"

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif

enum sink_mode {
	SINK_DIRECT, /* write(2) on fd 2 as lines come (not attached, or a file or terminal) */
	SINK_PIPE,   /* fd: our own non-blocking opening of the pipe on fd 2 */
	SINK_SOCKET  /* fd 2 with send(MSG_DONTWAIT) */
};

/* The process's log sink (the only state here): the level, and while attached the queue, a
 * ring of bytes holding whole lines. */
static struct {
	int level;             /* configuration, written before the loop runs and on reload */
	int journal;           /* stderr is the journal: "<N>" prefixes (log_detect_journal) */
	struct ev_loop *loop;  /* NULL: not attached */
	int nowait;            /* log_nowait: no loop, yet lines stderr cannot take are dropped */
	enum sink_mode mode;
	int fd;                /* where lines go */
	ev_io io;              /* EV_WRITE on fd while the queue holds bytes */
	size_t head, len;      /* queued bytes: ring[head], ... for len bytes, wrapping */
	unsigned long dropped; /* lines lost since the last notice */
	char ring[LOG_QUEUE_BYTES];
} sink = {.level = LOG_LVL_INFO, .mode = SINK_DIRECT, .fd = STDERR_FILENO};

void log_set_level(int level)
{
	sink.level = level;
}

int log_enabled(int level)
{
	return level <= sink.level;
}

/* The line with its prefix and newline into line (LINE_BYTES).  Returns its length. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 0)))
#endif
static size_t vformat(char *line, int level, const char *fmt, va_list ap)
{
	static const char *const names[] = {"error", "warn", "info", "debug"};
	static const int priorities[] = {3, 4, 6, 7}; /* LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG */
	struct timeval tv;
	struct tm tm;
	int n;

	if (sink.journal) {
		n = snprintf(line, LINE_BYTES, "<%d>", priorities[level]);
	} else {
		gettimeofday(&tv, NULL);
		gmtime_r(&tv.tv_sec, &tm);
		n = snprintf(line, LINE_BYTES, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ socks2http[%ld] %s: ",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			 (int)(tv.tv_usec / 1000), (long)getpid(), names[level]);
	}
	int m = vsnprintf(line + n, LINE_BYTES - (size_t)n - 1, fmt, ap);
	size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
	if (len > LINE_BYTES - 2)
		len = LINE_BYTES - 2;
	line[len++] = '\n';
	return len;
}

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static size_t format(char *line, int level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	size_t len = vformat(line, level, fmt, ap);
	va_end(ap);
	return len;
}

/* One non-blocking write to the sink.  Returns bytes written or -1 with errno. */
static ssize_t sink_write(const char *buf, size_t len)
{
	ssize_t n;
	do {
		if (sink.mode == SINK_SOCKET)
			n = send(sink.fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		else
			n = write(sink.fd, buf, len);
	} while (n < 0 && errno == EINTR);
	return n;
}

static void put(const char *buf, size_t len)
{
	size_t tail = (sink.head + sink.len) % LOG_QUEUE_BYTES;
	size_t first = LOG_QUEUE_BYTES - tail < len ? LOG_QUEUE_BYTES - tail : len;
	memcpy(sink.ring + tail, buf, first);
	memcpy(sink.ring, buf + first, len - first);
	sink.len += len;
}

/* After drops the notice goes first, once the queue is down to half (so that lines are not
 * let in one at a time between drops).  Returns whether new lines may be queued. */
static int queue_notice(void)
{
	char line[LINE_BYTES];

	if (sink.dropped == 0)
		return 1;
	if (sink.nowait || sink.len > LOG_QUEUE_BYTES / 2) /* nowait: emit_nowait says it */
		return 0;
	put(line, format(line, LOG_LVL_WARN, DROPPED_NOTICE, sink.dropped));
	sink.dropped = 0;
	return 1;
}

static void enqueue(const char *line, size_t len)
{
	if (!queue_notice() || sink.len + len > LOG_QUEUE_BYTES) {
		sink.dropped++;
		return;
	}
	put(line, len);
	if (sink.loop != NULL && !ev_is_active(&sink.io))
		ev_io_start(sink.loop, &sink.io);
}

/* Writes queued lines until the sink is full or the queue empty.  When the sink fails for
 * good (EPIPE: nobody reads any more) the queue is dropped: it can never be written. */
static void flush_queue(void)
{
	char chunk[WRITE_MAX];

	for (;;) {
		queue_notice();
		if (sink.len == 0)
			break;
		size_t n = sink.len < sizeof(chunk) ? sink.len : sizeof(chunk);
		size_t first = LOG_QUEUE_BYTES - sink.head < n ? LOG_QUEUE_BYTES - sink.head : n;
		memcpy(chunk, sink.ring + sink.head, first);
		memcpy(chunk + first, sink.ring, n - first);
		if (n < sink.len) { /* more than fits: end after the last whole line */
			size_t k = n;
			while (k > 0 && chunk[k - 1] != '\n')
				k--;
			if (k > 0)
				n = k;
		}
		ssize_t w = sink_write(chunk, n);
		if (w < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				sink.head = sink.len = sink.dropped = 0;
			return;
		}
		sink.head = (sink.head + (size_t)w) % LOG_QUEUE_BYTES;
		sink.len -= (size_t)w;
	}
	sink.head = 0;
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)revents;
	flush_queue();
	if (sink.len == 0)
		ev_io_stop(loop, w);
}

/* Writes buf if the sink takes it now; the rest of a partial send (a socket) is queued, to
 * go first.  Returns 0 when nothing was taken and the reader is still there. */
static int write_or_keep(const char *buf, size_t len)
{
	ssize_t w = sink_write(buf, len);
	if (w < 0)
		return errno != EAGAIN && errno != EWOULDBLOCK; /* EPIPE: lost for good, not dropped */
	if ((size_t)w < len)
		put(buf + w, len - (size_t)w);
	return 1;
}

/* log_nowait: nothing writes a queue later, so a line stderr cannot take now is dropped.
 * Only a partial send's rest waits, for the next line.  The notice shares one write with
 * the first line stderr takes again (a pipe takes both or neither), so there is one notice
 * per stretch of drops, with the whole count. */
static void emit_nowait(const char *line, size_t len)
{
	char out[2 * LINE_BYTES];
	size_t n = 0;

	flush_queue();
	if (sink.len > 0) {
		sink.dropped++;
		return;
	}
	if (sink.dropped > 0)
		n = format(out, LOG_LVL_WARN, DROPPED_NOTICE, sink.dropped);
	memcpy(out + n, line, len);
	if (write_or_keep(out, n + len))
		sink.dropped = 0;
	else
		sink.dropped++;
}

static void emit(const char *line, size_t len)
{
	if ((sink.loop == NULL && !sink.nowait) || sink.mode == SINK_DIRECT) {
		ssize_t w = write(STDERR_FILENO, line, len);
		(void)w;
		return;
	}
	if (sink.loop == NULL) {
		emit_nowait(line, len);
		return;
	}
	if (sink.len == 0 && sink.dropped == 0) { /* nothing to keep order with: straight out */
		ssize_t w = sink_write(line, len);
		if (w == (ssize_t)len || (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
			return;
		if (w > 0) { /* a socket took part of it: the rest goes first */
			line += w;
			len -= (size_t)w;
		}
	}
	enqueue(line, len);
}

void log_msg(int level, const char *fmt, ...)
{
	char line[LINE_BYTES];
	va_list ap;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	size_t len = vformat(line, level, fmt, ap);
	va_end(ap);
	emit(line, len);
}

/* Our own opening of the pipe on fd 2, non-blocking, or -1.  On Linux opening
 * /proc/self/fd/2 makes a new open file description, so O_NONBLOCK stays ours; where such a
 * path duplicates the descriptor instead, the result is refused. */
static int reopen_pipe(const struct stat *st)
{
	struct stat nst;
	int fl = fcntl(STDERR_FILENO, F_GETFL);

	if (fl < 0 || (fl & O_ACCMODE) == O_RDONLY)
		return -1;
	int fd = open("/proc/self/fd/2", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int nfl = fcntl(fd, F_GETFL), ofl = fcntl(STDERR_FILENO, F_GETFL);
	if (ofl >= 0 && ofl != fl)
		(void)fcntl(STDERR_FILENO, F_SETFL, fl); /* shared after all: undo */
	if (nfl < 0 || !(nfl & O_NONBLOCK) || ofl != fl || fstat(fd, &nst) < 0 || nst.st_dev != st->st_dev ||
	    nst.st_ino != st->st_ino) {
		close(fd);
		return -1;
	}
	return fd;
}

int log_journal_stream_is(const char *value, unsigned long long dev, unsigned long long ino)
{
	char *end;
	if (value == NULL || !(value[0] >= '0' && value[0] <= '9'))
		return 0;
	errno = 0;
	unsigned long long d = strtoull(value, &end, 10);
	if (*end != ':' || errno != 0 || !(end[1] >= '0' && end[1] <= '9'))
		return 0;
	unsigned long long i = strtoull(end + 1, &end, 10);
	return *end == '\0' && errno == 0 && d == dev && i == ino;
}

int log_detect_journal(void)
{
	struct stat st;
	sink.journal = fstat(STDERR_FILENO, &st) == 0 &&
		       log_journal_stream_is(getenv("JOURNAL_STREAM"), (unsigned long long)st.st_dev,
					     (unsigned long long)st.st_ino);
	return sink.journal;
}

/* Chooses how lines go out (see include/log.h) and empties the queue. */
static void open_sink(void)
{
	struct stat st;

	if (sink.fd != STDERR_FILENO) /* log_nowait's, inherited by a worker */
		close(sink.fd);
	sink.mode = SINK_DIRECT;
	sink.fd = STDERR_FILENO;
	if (fstat(STDERR_FILENO, &st) == 0) {
		int fl = fcntl(STDERR_FILENO, F_GETFL);
		if (S_ISSOCK(st.st_mode)) {
			sink.mode = SINK_SOCKET;
		} else if (S_ISFIFO(st.st_mode) && fl >= 0 && (fl & O_NONBLOCK)) {
			sink.mode = SINK_PIPE; /* handed to us non-blocking already */
		} else if (S_ISFIFO(st.st_mode) && (sink.fd = reopen_pipe(&st)) >= 0) {
			sink.mode = SINK_PIPE;
		} else {
			sink.fd = STDERR_FILENO;
		}
	}
	sink.head = sink.len = sink.dropped = 0;
}

void log_attach(struct ev_loop *loop)
{
	if (sink.loop != NULL)
		return;
	open_sink();
	sink.nowait = 0;
	sink.loop = loop;
	ev_io_init(&sink.io, io_cb, sink.fd, EV_WRITE);
}

void log_nowait(void)
{
	if (sink.loop != NULL || sink.nowait)
		return;
	open_sink();
	sink.nowait = 1;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void log_detach(void)
{
	if (sink.loop == NULL && !sink.nowait)
		return;
	if (sink.loop != NULL)
		ev_io_stop(sink.loop, &sink.io);
	sink.nowait = 0; /* a notice still due is queued with the rest */
	long long deadline = now_ms() + DETACH_WAIT_MS;
	for (;;) {
		flush_queue();
		long long left = deadline - now_ms();
		if (sink.len == 0 || left <= 0)
			break;
		struct pollfd p = {.fd = sink.fd, .events = POLLOUT};
		if (poll(&p, 1, (int)left) < 0 && errno != EINTR)
			break;
	}
	sink.head = sink.len = sink.dropped = 0; /* what stderr did not take in time */
	if (sink.fd != STDERR_FILENO)
		close(sink.fd);
	sink.fd = STDERR_FILENO;
	sink.mode = SINK_DIRECT;
	sink.loop = NULL;
	sink.nowait = 0;
}

size_t log_queued(void)
{
	return sink.loop != NULL || sink.nowait ? sink.len : 0;
}

const char *log_addr(const struct sockaddr *sa, char *out, size_t cap)
{
	char host[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		snprintf(out, cap, "%s:%u", host, (unsigned)ntohs(s4->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		snprintf(out, cap, "[%s]:%u", host, (unsigned)ntohs(s6->sin6_port));
	} else {
		snprintf(out, cap, "(family %d)", sa->sa_family);
	}
	return out;
}
