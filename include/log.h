/* log: leveled lines on stderr that never block the event loop.
 *
 * This module is the process's log sink, and so the one place that keeps process-wide state
 * besides the configuration: the level (set from the configuration) and, while attached to
 * the loop, a bounded queue of lines that stderr could not take yet.
 *
 * Each line goes out in one write(2) (several whole lines may share one), so writers sharing
 * the same stderr (workers) never interleave within a line.  Before log_attach and after
 * log_detach lines are written directly, as they come (log_nowait: see there).  While attached:
 *  - stderr is a pipe: the sink writes through its own non-blocking opening of that pipe
 *    (/proc/self/fd/2), so the open file description shared with other processes (a shell,
 *    the workers' supervisor, our own stdout after 2>&1) keeps its flags.  Where that
 *    reopening is impossible the pipe stays blocking, as before.
 *  - stderr is a socket (e.g. systemd's journal stream): send(2) with MSG_DONTWAIT, which
 *    changes nothing shared either.
 *  - anything else (a file, a terminal, /dev/null) is written directly: a file never waits
 *    for a reader, and O_NONBLOCK on a terminal would also hit the shell sharing it.
 * A line stderr cannot take now is queued (LOG_QUEUE_BYTES at most) and written by an ev_io
 * watcher as stderr has room.  When the queue is full, lines are dropped and counted; once
 * it has drained to half, "log: N lines dropped (log reader too slow)" takes their place. */
#ifndef SOCKS2HTTP_LOG_H
#define SOCKS2HTTP_LOG_H

#include <stddef.h>

#include "config.h"

struct ev_loop;

#define LOG_QUEUE_BYTES (256 * 1024)

void log_set_level(int level);
int log_enabled(int level);

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void log_msg(int level, const char *fmt, ...);

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)                                    \
	do {                                              \
		if (log_enabled(LOG_LVL_DEBUG))           \
			log_msg(LOG_LVL_DEBUG, __VA_ARGS__); \
	} while (0)

/* When stderr is the journal (JOURNAL_STREAM holds stderr's "device:inode"), lines carry
 * the syslog priority as "<N>" (error 3, warn 4, info 6, debug 7) and no timestamp or pid,
 * which journald records itself.  Call once, before the first line.  Returns whether. */
int log_detect_journal(void);

/* Pure: does a JOURNAL_STREAM value ("dev:ino", decimal) name this device and inode? */
int log_journal_stream_is(const char *value, unsigned long long dev, unsigned long long ino);

/* From now on lines stderr cannot take at once wait in the queue, written from loop (see
 * above).  Call once the loop exists; a second call while attached does nothing. */
void log_attach(struct ev_loop *loop);

/* For a process without a loop (the workers' supervisor): stderr is chosen as log_attach
 * does, and a line it cannot take at once is dropped and counted, never waited for; the
 * notice goes out before the next line that fits.  log_attach (in a worker after fork) and
 * log_detach end it; a second call does nothing. */
void log_nowait(void);

/* Leaves the loop (before it is destroyed): writes what is queued, waiting for stderr at
 * most about a second in all, drops what is left, and goes back to direct writes. */
void log_detach(void);

/* Bytes waiting in the queue (0 when detached). */
size_t log_queued(void);

/* "1.2.3.4:80" or "[::1]:80" for a socket address. Returns out. */
const char *log_addr(const struct sockaddr *sa, char *out, size_t cap);

#endif
