/* test_log: the log sink on real pipes, sockets and files put on fd 2: direct writes before
 * log_attach; while attached, a reader that stops reading never blocks a log call, the queue
 * stays within LOG_QUEUE_BYTES, lines keep their order and come out whole, dropped lines are
 * counted exactly in one "lines dropped" notice; log_detach flushes, waiting about a second
 * at most; with log_nowait, without a loop, lines are dropped instead of waiting.  Links
 * log.c only.  The real stderr is kept on another fd for the checks' output. */
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "log.h"

#define BURST 3000 /* lines of about 200 bytes: far more than a small pipe and the queue */

static int real_stderr = -1;

static void die(const char *what)
{
	dup2(real_stderr, STDERR_FILENO);
	fprintf(stderr, "setup failed: %s: %s\n", what, strerror(errno));
	check_failed++;
	exit(check_report());
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* fd 2 becomes fd (closed here); the checks' messages must wait for restore_stderr. */
static void set_stderr(int fd)
{
	if (dup2(fd, STDERR_FILENO) < 0)
		die("dup2");
	close(fd);
}

static void restore_stderr(void)
{
	if (dup2(real_stderr, STDERR_FILENO) < 0)
		exit(2);
}

static void set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		die("O_NONBLOCK");
}

/* A pipe of one page, so it fills after a few lines. */
static void small_pipe(int p[2])
{
	if (pipe(p) < 0)
		die("pipe");
#ifdef F_SETPIPE_SZ
	(void)fcntl(p[1], F_SETPIPE_SZ, 4096);
#endif
	set_nonblock(p[0]);
}

struct out {
	char *data;
	size_t len, cap;
};

/* Appends what fd has now (non-blocking).  Returns bytes read. */
static size_t slurp(int fd, struct out *o)
{
	size_t got = 0;
	for (;;) {
		if (o->cap - o->len < 65536) {
			o->cap = o->cap * 2 + 65536;
			o->data = realloc(o->data, o->cap);
			if (o->data == NULL)
				die("realloc");
		}
		ssize_t n = read(fd, o->data + o->len, o->cap - o->len - 1);
		if (n <= 0)
			break;
		o->len += (size_t)n;
		got += (size_t)n;
	}
	o->data[o->len] = '\0';
	return got;
}

/* Runs the loop and reads rd until the queue is empty and nothing more comes. */
static void drain(struct ev_loop *loop, int rd, struct out *o)
{
	for (int i = 0; i < 100000; i++) {
		size_t got = slurp(rd, o);
		ev_run(loop, EVRUN_NOWAIT);
		if (got == 0 && log_queued() == 0 && slurp(rd, o) == 0)
			return;
	}
}

struct verdict {
	int lines;       /* "burst N" lines seen */
	int torn;        /* lines not of the expected form */
	int disorder;    /* numbers not increasing */
	int notices;     /* "lines dropped" notices */
	long noticed;    /* lines they say were dropped */
	long missing;    /* numbers that never came */
	int after;       /* "after" lines seen, after everything else */
};

/* Every line: "<time>Z socks2http[pid] info: burst NNNNN xxx...x" (the x's make it about 200
 * bytes), a notice, or "after N". */
static struct verdict judge(const struct out *o, int burst)
{
	struct verdict v = {0, 0, 0, 0, 0, 0, 0};
	int next = 0, after = 0;
	char prefix[64];
	snprintf(prefix, sizeof(prefix), " socks2http[%ld] ", (long)getpid());
	for (char *line = o->data; line < o->data + o->len;) {
		char *nl = memchr(line, '\n', (size_t)(o->data + o->len - line));
		if (nl == NULL) {
			v.torn++;
			break;
		}
		*nl = '\0';
		char *p = strstr(line, prefix);
		int num;
		long dropped;
		if (p == NULL || p - line != 24 || line[23] != 'Z') {
			v.torn++;
		} else if (sscanf(p + strlen(prefix), "info: burst %d ", &num) == 1) {
			const char *x = strrchr(line, ' ') + 1;
			if (strspn(x, "x") != strlen(x) || strlen(x) != 150 || after)
				v.torn++;
			if (num < next)
				v.disorder++;
			else
				v.missing += num - next;
			next = num + 1;
			v.lines++;
		} else if (sscanf(p + strlen(prefix), "warn: log: %ld lines dropped (log reader too slow)", &dropped) == 1) {
			v.notices++;
			v.noticed += dropped;
		} else if (sscanf(p + strlen(prefix), "info: after %d", &num) == 1) {
			if (num != after)
				v.disorder++;
			after++;
		} else {
			v.torn++;
		}
		*nl = '\n';
		line = nl + 1;
	}
	v.missing += burst - next;
	v.after = after;
	return v;
}

static void log_numbered(int i)
{
	char xs[151];
	memset(xs, 'x', 150);
	xs[150] = '\0';
	log_info("burst %05d %s", i, xs);
}

static void log_burst(int n)
{
	for (int i = 0; i < n; i++)
		log_numbered(i);
}

/* Before log_attach a line is written at once, whole, in the usual form. */
static void test_direct_before_attach(void)
{
	int p[2];
	struct out o = {0};
	small_pipe(p);
	set_stderr(p[1]);
	log_info("hello %d", 42);
	log_debug("not at info level");
	restore_stderr();
	slurp(p[0], &o);
	char want[64];
	snprintf(want, sizeof(want), " socks2http[%ld] info: hello 42\n", (long)getpid());
	CHECK(o.len > 24 && o.data[23] == 'Z' && strcmp(o.data + 24, want) == 0);
	CHECK_EQ_INT(log_queued(), 0);
	close(p[0]);
	free(o.data);
}

/* Nobody reads a one-page pipe: every call returns at once, the queue stays bounded, and when
 * the reader comes back everything not dropped arrives in order, with one notice counting
 * exactly the missing lines, before the lines logged afterwards. */
static void test_pipe_reader_stalls(struct ev_loop *loop)
{
	int p[2];
	struct out o = {0};
	small_pipe(p);
	int writer = dup(p[1]);
	set_stderr(p[1]);
	log_attach(loop);
	int fl = fcntl(writer, F_GETFL); /* the pipe as others hold it */
	double t0 = now();
	log_burst(BURST);
	double took = now() - t0;
	size_t queued = log_queued();
	restore_stderr(); /* the sink keeps its own opening of the pipe */
	CHECK(took < 2.0);
	CHECK(queued > LOG_QUEUE_BYTES / 2 && queued <= LOG_QUEUE_BYTES);
	CHECK(fl >= 0 && !(fl & O_NONBLOCK)); /* not made non-blocking for everyone */
	drain(loop, p[0], &o);
	for (int i = 0; i < 3; i++)
		log_info("after %d", i);
	drain(loop, p[0], &o);
	struct verdict v = judge(&o, BURST);
	CHECK_EQ_INT(v.torn, 0);
	CHECK_EQ_INT(v.disorder, 0);
	CHECK_EQ_INT(v.notices, 1);
	CHECK(v.missing > 0);
	CHECK_EQ_INT(v.noticed, v.missing);
	CHECK_EQ_INT(v.lines + v.missing, BURST);
	CHECK_EQ_INT(v.after, 3);
	CHECK_EQ_INT(log_queued(), 0);
	log_detach();
	close(writer);
	close(p[0]);
	free(o.data);
}

/* A reader that keeps up: nothing is dropped, no notice. */
static void test_pipe_reader_keeps_up(struct ev_loop *loop)
{
	int p[2];
	struct out o = {0};
	small_pipe(p);
	set_stderr(p[1]);
	log_attach(loop);
	restore_stderr();
	for (int i = 0; i < 200; i++) {
		log_numbered(i);
		if (i % 10 == 9)
			drain(loop, p[0], &o);
	}
	drain(loop, p[0], &o);
	struct verdict v = judge(&o, 200);
	CHECK_EQ_INT(v.lines, 200);
	CHECK_EQ_INT(v.notices, 0);
	CHECK_EQ_INT(v.torn + v.disorder + v.missing, 0);
	log_detach();
	close(p[0]);
	free(o.data);
}

/* log_detach with a queue, and a pipe that has room for it: all of it is written, at once. */
static void test_detach_flushes(struct ev_loop *loop)
{
	int p[2];
	struct out o = {0};
	small_pipe(p);
	set_stderr(p[1]);
	log_attach(loop);
	log_burst(60); /* ~13 KB: the page fills, the rest waits in the queue (the loop never runs) */
	size_t queued = log_queued();
	int grown = 1;
#ifdef F_SETPIPE_SZ
	grown = fcntl(p[0], F_SETPIPE_SZ, 65536) >= 65536;
#endif
	if (!grown)
		slurp(p[0], &o); /* no resizing: detach then has a page of room at least */
	double t0 = now();
	log_detach();
	double took = now() - t0;
	restore_stderr();
	CHECK(queued > 0);
	CHECK_EQ_INT(log_queued(), 0);
	slurp(p[0], &o);
	struct verdict v = judge(&o, 60);
	CHECK_EQ_INT(v.torn + v.disorder + v.notices, 0);
	if (grown) {
		CHECK(took < 0.5);
		CHECK_EQ_INT(v.lines, 60);
	}
	close(p[0]);
	free(o.data);
}

/* log_detach with nobody reading gives up after about a second; then lines are direct. */
static void test_detach_bounded(struct ev_loop *loop)
{
	int p[2];
	struct out o = {0};
	small_pipe(p);
	int rd = p[0];
	set_stderr(p[1]);
	log_attach(loop);
	log_burst(100);
	double t0 = now();
	log_detach();
	double took = now() - t0;
	slurp(rd, &o); /* room for a direct line (blocking fd 2) */
	log_info("after %d", 0);
	restore_stderr();
	CHECK(took >= 0.9 && took < 2.0);
	CHECK_EQ_INT(log_queued(), 0);
	slurp(rd, &o);
	struct verdict v = judge(&o, 100);
	CHECK_EQ_INT(v.torn + v.disorder, 0);
	CHECK_EQ_INT(v.after, 1);
	CHECK(v.lines > 0 && v.lines < 100);
	close(rd);
	free(o.data);
}

/* A stream socket on fd 2 (as under systemd): the same guarantees through send(MSG_DONTWAIT),
 * partial sends included. */
static void test_socket_reader_stalls(struct ev_loop *loop)
{
	int sv[2];
	struct out o = {0};
	int small = 4096;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		die("socketpair");
	(void)setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	(void)setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	set_nonblock(sv[0]);
	set_stderr(sv[1]);
	log_attach(loop);
	double t0 = now();
	log_burst(BURST);
	double took = now() - t0;
	size_t queued = log_queued();
	drain(loop, sv[0], &o);
	log_info("after %d", 0);
	drain(loop, sv[0], &o);
	log_detach();
	int fl = fcntl(STDERR_FILENO, F_GETFL);
	restore_stderr();
	CHECK(took < 2.0);
	CHECK(queued > 0 && queued <= LOG_QUEUE_BYTES);
	CHECK(fl >= 0 && !(fl & O_NONBLOCK));
	struct verdict v = judge(&o, BURST);
	CHECK_EQ_INT(v.torn, 0);
	CHECK_EQ_INT(v.disorder, 0);
	CHECK_EQ_INT(v.notices, 1);
	CHECK_EQ_INT(v.noticed, v.missing);
	CHECK_EQ_INT(v.lines + v.missing, BURST);
	CHECK_EQ_INT(v.after, 1);
	close(sv[0]);
	free(o.data);
}

/* A file on fd 2: written at once, nothing queued, attached or not. */
static void test_file_direct(struct ev_loop *loop)
{
	char path[] = "/tmp/test_log.XXXXXX";
	struct out o = {0};
	int fd = mkstemp(path);
	if (fd < 0)
		die("mkstemp");
	unlink(path);
	int rd = dup(fd);
	set_stderr(fd);
	log_attach(loop);
	log_burst(BURST);
	size_t queued = log_queued();
	log_detach();
	restore_stderr();
	CHECK_EQ_INT(queued, 0);
	if (lseek(rd, 0, SEEK_SET) < 0)
		die("lseek");
	slurp(rd, &o);
	struct verdict v = judge(&o, BURST);
	CHECK_EQ_INT(v.lines, BURST);
	CHECK_EQ_INT(v.torn + v.disorder + v.missing + v.notices, 0);
	close(rd);
	free(o.data);
}

/* A pipe whose reader went away: lines are lost, never queued, never a SIGPIPE or a block. */
static void test_pipe_reader_gone(struct ev_loop *loop)
{
	int p[2];
	small_pipe(p);
	set_stderr(p[1]);
	log_attach(loop);
	close(p[0]);
	log_burst(100);
	size_t queued = log_queued();
	ev_run(loop, EVRUN_NOWAIT);
	log_detach();
	restore_stderr();
	CHECK_EQ_INT(queued, 0);
}

/* log_nowait, without a loop (the workers' supervisor): a pipe nobody reads never blocks a
 * call, and nothing is kept for later but the notice; once the reader is back the next line
 * comes after one notice counting exactly the lines lost.  The pipe's own flags stay. */
static void test_nowait_pipe(void)
{
	int p[2];
	struct out o = {0};
	small_pipe(p);
	int writer = dup(p[1]);
	set_stderr(p[1]);
	log_nowait();
	double t0 = now();
	log_burst(BURST);
	double took = now() - t0;
	size_t queued = log_queued();
	int fl = fcntl(writer, F_GETFL);
	slurp(p[0], &o);
	log_info("after %d", 0);
	slurp(p[0], &o);
	log_detach();
	restore_stderr();
	CHECK(took < 2.0);
	CHECK_EQ_INT(queued, 0);
	CHECK(fl >= 0 && !(fl & O_NONBLOCK));
	struct verdict v = judge(&o, BURST);
	CHECK_EQ_INT(v.torn, 0);
	CHECK_EQ_INT(v.disorder, 0);
	CHECK_EQ_INT(v.notices, 1);
	CHECK(v.missing > 0);
	CHECK_EQ_INT(v.noticed, v.missing);
	CHECK_EQ_INT(v.lines + v.missing, BURST);
	CHECK_EQ_INT(v.after, 1);
	close(writer);
	close(p[0]);
	free(o.data);
}

/* log_nowait on a stream socket: a partial send's rest goes before anything else, so lines
 * still come out whole. */
static void test_nowait_socket(void)
{
	int sv[2];
	struct out o = {0};
	int small = 4096;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		die("socketpair");
	(void)setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	(void)setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	set_nonblock(sv[0]);
	set_stderr(sv[1]);
	log_nowait();
	double t0 = now();
	for (int i = 0; i < BURST; i++) {
		log_numbered(i);
		if (i % 500 == 499)
			slurp(sv[0], &o); /* room now and then: partial sends happen */
	}
	double took = now() - t0;
	slurp(sv[0], &o);
	log_info("after %d", 0);
	slurp(sv[0], &o);
	log_detach();
	slurp(sv[0], &o);
	restore_stderr();
	CHECK(took < 2.0);
	struct verdict v = judge(&o, BURST);
	CHECK_EQ_INT(v.torn, 0);
	CHECK_EQ_INT(v.disorder, 0);
	CHECK(v.notices >= 1); /* one after each stretch of drops */
	CHECK_EQ_INT(v.noticed, v.missing);
	CHECK_EQ_INT(v.lines + v.missing, BURST);
	CHECK_EQ_INT(v.after, 1);
	close(sv[0]);
	free(o.data);
}

/* JOURNAL_STREAM is "device:inode" in decimal; anything else names no stream. */
static void test_journal_stream(void)
{
	CHECK(log_journal_stream_is("8:12345", 8, 12345));
	CHECK(!log_journal_stream_is("8:12345", 8, 12346));
	CHECK(!log_journal_stream_is("9:12345", 8, 12345));
	CHECK(!log_journal_stream_is(NULL, 8, 12345));
	CHECK(!log_journal_stream_is("", 0, 0));
	CHECK(!log_journal_stream_is("8:", 8, 0));
	CHECK(!log_journal_stream_is(":1", 0, 1));
	CHECK(!log_journal_stream_is("8:1x", 8, 1));
	CHECK(!log_journal_stream_is("8:-1", 8, (unsigned long long)-1));
	CHECK(log_journal_stream_is("18446744073709551615:1", 18446744073709551615ULL, 1));
	CHECK(!log_journal_stream_is("18446744073709551616:1", 18446744073709551615ULL, 1));
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	alarm(60); /* a log call that blocks would hang the test: fail it instead */
	real_stderr = dup(STDERR_FILENO);
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	if (real_stderr < 0 || loop == NULL)
		die("setup");
	log_set_level(LOG_LVL_INFO);
	test_direct_before_attach();
	test_pipe_reader_stalls(loop);
	test_pipe_reader_keeps_up(loop);
	test_detach_flushes(loop);
	test_detach_bounded(loop);
	test_socket_reader_stalls(loop);
	test_file_direct(loop);
	test_pipe_reader_gone(loop);
	test_nowait_pipe();
	test_nowait_socket();
	test_journal_stream();
	ev_loop_destroy(loop);
	return check_report();
}
