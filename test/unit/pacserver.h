/* pacserver: a small HTTP server in Python for the PAC fetch tests, started and stopped by
 * the test (and restarted on the same port).  It serves files of a directory under several
 * paths that choose how the body is framed:
 *   /len/NAME      Content-Length (HTTP/1.0 style)     /chunked/NAME  chunked (HTTP/1.1)
 *   /close/NAME    no length: until the server closes  /slow/NAME     3 s, then as /len
 *   anything else  404
 * and writes each request's header to DIR/last_request.  It exits when the test does, even
 * one that crashed. */
#ifndef SOCKS2HTTP_PACSERVER_H
#define SOCKS2HTTP_PACSERVER_H

#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "resolver.h"

static const char pacserver_py[] =
	"import http.server, os, socketserver, sys, threading, time\n"
	"port, root, portfile = int(sys.argv[1]), sys.argv[2], sys.argv[3]\n"
	"parent = os.getppid()\n"
	"def watch():\n"
	"    while os.getppid() == parent: time.sleep(0.2)\n"
	"    os._exit(0)\n"
	"threading.Thread(target=watch, daemon=True).start()\n"
	"class H(http.server.BaseHTTPRequestHandler):\n"
	"    def log_message(self, *a): pass\n"
	"    def do_GET(self):\n"
	"        with open(os.path.join(root, 'last_request'), 'w') as f:\n"
	"            f.write(self.requestline + '\\r\\n' + str(self.headers))\n"
	"        parts = self.path.split('/')\n"
	"        name = os.path.join(root, parts[-1])\n"
	"        if len(parts) != 3 or not os.path.isfile(name):\n"
	"            self.send_error(404, 'Not Found'); return\n"
	"        body = open(name, 'rb').read()\n"
	"        mode = parts[1]\n"
	"        if mode == 'slow': time.sleep(3); mode = 'len'\n"
	"        if mode == 'chunked':\n"
	"            self.protocol_version = 'HTTP/1.1'\n"
	"            self.send_response(200); self.send_header('Transfer-Encoding', 'chunked')\n"
	"            self.send_header('Connection', 'close'); self.end_headers()\n"
	"            for i in range(0, len(body), 1000):\n"
	"                c = body[i:i + 1000]\n"
	"                self.wfile.write(b'%x;ext=1\\r\\n' % len(c) + c + b'\\r\\n'); self.wfile.flush()\n"
	"            self.wfile.write(b'0\\r\\nX-Trailer: 1\\r\\n\\r\\n')\n"
	"            return\n"
	"        self.send_response(200)\n"
	"        self.send_header('Content-Type', 'application/x-ns-proxy-autoconfig')\n"
	"        if mode == 'len': self.send_header('Content-Length', str(len(body)))\n"
	"        self.end_headers(); self.wfile.write(body)\n"
	"class S(socketserver.ThreadingMixIn, http.server.HTTPServer):\n"
	"    allow_reuse_address = True\n"
	"    daemon_threads = True\n"
	"    def handle_error(self, *a): pass\n"
	"s = S(('127.0.0.1', port), H)\n"
	"with open(portfile + '.tmp', 'w') as f: f.write(str(s.server_address[1]))\n"
	"os.rename(portfile + '.tmp', portfile)\n"
	"s.serve_forever()\n";

struct pacserver {
	pid_t pid;
	int port;
	char dir[256];
};

extern char **environ;

/* Starts the server on port (0: any) serving dir.  Returns 0 or -1. */
/* A resolver for the tests' loop: one try, a second each (names here are loopback ones). */
static inline struct resolver *pacserver_resolver(struct ev_loop *loop)
{
	struct config cfg;
	char err[200];
	memset(&cfg, 0, sizeof(cfg));
	cfg.dns_timeout = 1;
	cfg.dns_tries = 1;
	cfg.dns_cache_ttl = 60;
	struct resolver *r = resolver_new(loop, &cfg, err, sizeof(err));
	if (r == NULL)
		fprintf(stderr, "resolver: %s\n", err);
	return r;
}

static inline int pacserver_start(struct pacserver *s, const char *dir, int port)
{
	char script[300], portfile[300], portarg[16];
	snprintf(s->dir, sizeof(s->dir), "%s", dir);
	snprintf(script, sizeof(script), "%s/server.py", dir);
	snprintf(portfile, sizeof(portfile), "%s/port", dir);
	snprintf(portarg, sizeof(portarg), "%d", port);
	unlink(portfile);
	FILE *f = fopen(script, "w");
	if (f == NULL || fputs(pacserver_py, f) < 0 || fclose(f) != 0)
		return -1;
	char *argv[] = {(char *)"python3", script, portarg, (char *)dir, portfile, NULL};
	if (posix_spawnp(&s->pid, "python3", NULL, NULL, argv, environ) != 0)
		return -1;
	for (int i = 0; i < 500; i++) { /* 10 s */
		FILE *pf = fopen(portfile, "r");
		if (pf != NULL) {
			int ok = fscanf(pf, "%d", &s->port) == 1;
			fclose(pf);
			if (ok)
				return 0;
		}
		struct timespec ts = {0, 20 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	return -1;
}

static inline void pacserver_stop(struct pacserver *s)
{
	int st;
	if (s->pid <= 0)
		return;
	kill(s->pid, SIGKILL);
	waitpid(s->pid, &st, 0);
	s->pid = 0;
}

#endif
