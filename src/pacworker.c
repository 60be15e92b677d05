/* pacworker: the PAC worker's request loop (protocol in pacworker.h).  Blocking I/O on
 * purpose: it does one thing at a time, and DNS lookups inside a PAC block anyway. */
#include "pacworker.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <unistd.h>

#include "pacjs.h"

struct pw_in {
	int fd;
	size_t start, end;
	char buf[65536];
};

/* More bytes into in->buf (compacted first).  >0, 0 at EOF, -1 on error. */
static ssize_t pw_fill(struct pw_in *in)
{
	if (in->start > 0) {
		memmove(in->buf, in->buf + in->start, in->end - in->start);
		in->end -= in->start;
		in->start = 0;
	}
	for (;;) {
		ssize_t r = read(in->fd, in->buf + in->end, sizeof(in->buf) - in->end);
		if (r < 0 && errno == EINTR)
			continue;
		if (r > 0)
			in->end += (size_t)r;
		return r;
	}
}

/* The next line without its LF (and a CR before it) into line (cap bytes).  A line longer
 * than cap - 1 is read to its end and thrown away: *toolong set.  1, or 0 at EOF / error. */
static int pw_getline(struct pw_in *in, char *line, size_t cap, int *toolong)
{
	size_t len = 0;
	*toolong = 0;
	for (;;) {
		char *lf = memchr(in->buf + in->start, '\n', in->end - in->start);
		size_t take = lf ? (size_t)(lf - (in->buf + in->start)) : in->end - in->start;
		if (!*toolong && len + take < cap) {
			memcpy(line + len, in->buf + in->start, take);
			len += take;
		} else {
			*toolong = 1;
		}
		in->start += take;
		if (lf != NULL) {
			in->start++;
			if (len > 0 && line[len - 1] == '\r')
				len--;
			line[len] = '\0';
			return 1;
		}
		in->start = in->end = 0;
		if (pw_fill(in) <= 0)
			return 0;
	}
}

/* Exactly n bytes into dst, or thrown away when dst is NULL.  0, or -1 at EOF / error. */
static int pw_read_exact(struct pw_in *in, char *dst, size_t n)
{
	while (n > 0) {
		if (in->start == in->end && pw_fill(in) <= 0)
			return -1;
		size_t take = in->end - in->start < n ? in->end - in->start : n;
		if (dst != NULL) {
			memcpy(dst, in->buf + in->start, take);
			dst += take;
		}
		in->start += take;
		n -= take;
	}
	return 0;
}

/* Writes all of s to fd 1; exits the worker when the daemon has gone. */
static void pw_write(const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = write(1, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			_exit(1);
		s += w;
		n -= (size_t)w;
	}
}

static void pw_reply(const char *a, const char *b, const char *c)
{
	static char out[PACWORKER_RESULT_MAX + 1024];
	int n = snprintf(out, sizeof(out), "%s%s%s\n", a, b, c);
	if (n < 0)
		_exit(1);
	if ((size_t)n >= sizeof(out)) { /* cut, keeping the line's end */
		n = (int)sizeof(out) - 1;
		out[n - 1] = '\n';
	}
	pw_write(out, (size_t)n);
}

/* s is 1..maxdigits decimal digits and fits in 64 bits; its value in *v */
static int pw_number(const char *s, size_t maxdigits, unsigned long long *v)
{
	size_t n = strspn(s, "0123456789");
	if (n == 0 || n > maxdigits || s[n] != '\0')
		return -1;
	errno = 0;
	*v = strtoull(s, NULL, 10);
	return errno == 0 ? 0 : -1;
}

/* Every fd above 2 closed: the daemon's listeners and clients are none of the worker's
 * business, and a PAC must not hold them open. */
static void pw_close_fds(void)
{
#ifdef HAVE_CLOSE_RANGE
	if (close_range(3, ~0U, 0) == 0)
		return;
#endif
	struct rlimit rl;
	long max = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY ? (long)rl.rlim_cur : 65536;
	if (max > 1L << 20)
		max = 1L << 20;
	for (long fd = 3; fd < max; fd++)
		close((int)fd);
}

/* "S <n>": the script that follows.  0, or -1 when the input ended. */
static int pw_script(struct pw_in *in, struct pacjs *pj, const char *arg)
{
	unsigned long long n;
	char err[600];

	if (pw_number(arg, 12, &n) < 0) {
		pw_reply("E 0 bad request", "", "");
		return 0;
	}
	if (n > PACJS_SCRIPT_MAX) {
		if (pw_read_exact(in, NULL, (size_t)n) < 0)
			return -1;
		snprintf(err, sizeof(err), "the script has %llu bytes, more than %zu", n, PACJS_SCRIPT_MAX);
		pw_reply("S ERR ", err, "");
		return 0;
	}
	char *script = malloc((size_t)n + 1);
	if (script == NULL) {
		if (pw_read_exact(in, NULL, (size_t)n) < 0)
			return -1;
		pw_reply("S ERR out of memory", "", "");
		return 0;
	}
	if (pw_read_exact(in, script, (size_t)n) < 0) {
		free(script);
		return -1;
	}
	if (pacjs_load(pj, script, (size_t)n, err, sizeof(err)) == 0)
		pw_reply("S OK", "", "");
	else
		pw_reply("S ERR ", err, "");
	free(script);
	return 0;
}

/* "Q <id> <host> <url>" */
static void pw_query(struct pacjs *pj, char *args)
{
	static char result[PACWORKER_RESULT_MAX + 1];
	char err[600], head[40];
	unsigned long long id;
	char *host = strchr(args, ' ');
	char *url = host ? strchr(host + 1, ' ') : NULL;

	if (url == NULL || strchr(url + 1, ' ') != NULL || host == args || url == host + 1 || url[1] == '\0') {
		pw_reply("E 0 bad request", "", "");
		return;
	}
	*host++ = '\0';
	*url++ = '\0';
	if (pw_number(args, 20, &id) < 0) {
		pw_reply("E 0 bad request", "", "");
		return;
	}
	if (pacjs_find(pj, url, host, result, sizeof(result), err, sizeof(err)) == 0) {
		snprintf(head, sizeof(head), "A %llu ", id);
		pw_reply(head, result, "");
	} else {
		snprintf(head, sizeof(head), "E %llu ", id);
		pw_reply(head, err, "");
	}
}

int pacworker_main(void)
{
	static struct pw_in in;
	static char line[PACWORKER_LINE_MAX + 1];
	int toolong;

#ifdef __linux__
	/* A PAC stuck in a loop never reads its EOF: it must not outlive a daemon killed with
	 * SIGKILL (the daemon kills it itself on a time limit). */
	pid_t parent = getppid();
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == 0 && getppid() != parent)
		return 0;
#endif
	pw_close_fds();
	/* signals to the daemon's process group are the daemon's to act on (it may still be
	 * serving tunnels in its grace period); the worker ends at EOF or with its parent */
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	struct pacjs *pj = pacjs_new(0);
	if (pj == NULL) {
		fprintf(stderr, "socks2http pac worker: out of memory\n");
		return 1;
	}
	in.fd = 0;
	while (pw_getline(&in, line, sizeof(line), &toolong)) {
		if (toolong)
			pw_reply("E 0 bad request", "", "");
		else if (strncmp(line, "S ", 2) == 0) {
			if (pw_script(&in, pj, line + 2) < 0)
				break;
		} else if (strncmp(line, "Q ", 2) == 0)
			pw_query(pj, line + 2);
		else
			pw_reply("E 0 bad request", "", "");
	}
	pacjs_free(pj);
	return 0;
}
