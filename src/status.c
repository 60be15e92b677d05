/* status: the control socket's client (see include/status.h).  Blocking I/O with a
 * deadline: this is a command, not the daemon. */
#include "status.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "control.h"

#define STATUS_TIMEOUT_MS 5000

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* Asks path for req; the answer goes into *out (malloc'd, NUL-terminated).  Returns 0, or
 * -1 with errno (and a message in err). */
static int ask(const char *path, const char *req, char **out, char *err, size_t errlen)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		snprintf(err, errlen, "no daemon answers at %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	size_t cap = 8192, len = 0;
	char *buf = malloc(cap);
	if (buf == NULL || send(fd, req, strlen(req), MSG_NOSIGNAL) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		free(buf);
		close(fd);
		return -1;
	}
	for (;;) {
		struct pollfd p = {fd, POLLIN, 0};
		int r = poll(&p, 1, STATUS_TIMEOUT_MS);
		if (r < 0 && errno == EINTR && !interrupted)
			continue;
		if (r <= 0) {
			snprintf(err, errlen, "%s: %s", path, r == 0 ? "no answer in time" : strerror(errno));
			break;
		}
		if (len + 1 == cap) {
			char *b = cap < CONTROL_OUT_MAX + 2 ? realloc(buf, cap * 2) : NULL;
			if (b == NULL) {
				snprintf(err, errlen, "%s: the answer is too large", path);
				break;
			}
			buf = b;
			cap *= 2;
		}
		ssize_t n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			break;
		}
		if (n == 0) {
			close(fd);
			buf[len] = '\0';
			if (len == 0) {
				snprintf(err, errlen, "%s closed without answering (another user's daemon?)", path);
				free(buf);
				return -1;
			}
			*out = buf;
			return 0;
		}
		len += (size_t)n;
	}
	free(buf);
	close(fd);
	return -1;
}

static void status_usage(void)
{
	printf("Usage: socks2http status [--control PATH] [--json] [--watch [S]]\n"
	       "Asks the running daemon (its control socket) for its counters, its proxies' health and\n"
	       "the live tunnels: client, target, proxy, state, age, bytes and rate each way.\n"
	       "  --control PATH  the daemon's control socket (default: where the daemon puts it)\n"
	       "  --json          the daemon's JSON document as it is\n"
	       "  --watch [S]     refresh every S seconds (2) until Ctrl-C or the daemon goes away\n");
}

int status_main(int argc, char **argv)
{
	struct config cfg;
	int json = 0;
	double watch = 0;
	char path[108], err[256];

	memset(&cfg, 0, sizeof(cfg));
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--json") == 0) {
			json = 1;
		} else if (strcmp(a, "--watch") == 0 || strncmp(a, "--watch=", 8) == 0) {
			const char *v = a[7] == '=' ? a + 8 : i + 1 < argc && argv[i + 1][0] != '-' ? argv[++i] : "2";
			char *end;
			watch = strtod(v, &end);
			if (*end != '\0' || !(watch >= 0.1 && watch <= 3600)) {
				fprintf(stderr, "socks2http status: --watch takes seconds (0.1 to 3600), not '%s'\n", v);
				return 2;
			}
		} else if (strcmp(a, "--control") == 0 || strncmp(a, "--control=", 10) == 0) {
			const char *v = a[9] == '=' ? a + 10 : i + 1 < argc ? argv[++i] : "";
			if (v[0] != '/' || strlen(v) >= sizeof(cfg.control_path)) {
				fprintf(stderr, "socks2http status: --control needs an absolute path\n");
				return 2;
			}
			snprintf(cfg.control_path, sizeof(cfg.control_path), "%s", v);
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			status_usage();
			return 0;
		} else {
			fprintf(stderr, "socks2http status: unexpected argument '%s' (see socks2http status --help)\n", a);
			return 2;
		}
	}
	if (control_path(&cfg, path, sizeof(path)) < 0) {
		fprintf(stderr, "socks2http status: the control socket's path is too long\n");
		return 2;
	}
	const char *req = json ? "status json\n" : "status\n";
	if (watch > 0) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_sigint;
		sigaction(SIGINT, &sa, NULL); /* no SA_RESTART: the sleep ends at once */
		sigaction(SIGTERM, &sa, NULL);
	}
	for (unsigned frame = 0;; frame++) {
		char *answer = NULL;
		if (ask(path, req, &answer, err, sizeof(err)) < 0) {
			if (interrupted)
				return 0;
			if (frame > 0) { /* it was there: it went away */
				printf("\nsocks2http status: the daemon went away (%s)\n", err);
				return 0;
			}
			fprintf(stderr, "socks2http status: %s\n", err);
			return 1;
		}
		if (watch > 0 && !json)
			fputs("\033[H\033[2J", stdout);
		fputs(answer, stdout);
		fflush(stdout);
		free(answer);
		if (watch <= 0)
			return 0;
		struct timespec ts = {(time_t)watch, (long)((watch - (double)(time_t)watch) * 1e9)};
		while (!interrupted && nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
		if (interrupted)
			return 0;
	}
}
