/* main: configuration, then the loop; exit codes 0 (signal), 1 (start failure), 2 (usage). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "server.h"

static const char *env_get(const char *name)
{
	return getenv(name);
}

int main(int argc, char **argv)
{
	static struct config cfg; /* large; lives as long as the process */
	char err[CONFIG_ERR_MAX];
	struct server srv;

	config_init(&cfg);
	switch (config_parse_args(&cfg, argc, argv, err, sizeof(err))) {
	case CONFIG_EXIT_OK:
		return 0;
	case CONFIG_USAGE:
		fprintf(stderr, "socks2http: %s (see socks2http --help)\n", err);
		return 2;
	case CONFIG_RUN:
		break;
	}
	int rc = config_finish(&cfg, env_get, err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "socks2http: %s\n", err);
		return rc < 0 ? 2 : 1;
	}
	config_scrub_argv(argc, argv);
	log_set_level(cfg.log_level);
	if (cfg.password_on_cmdline)
		log_warn("a proxy password was given on the command line, where other local users can see it; "
			 "prefer https_proxy in the environment, SOCKS2HTTP_PROXY_PASSWORD, or a config file only you can read");

	signal(SIGPIPE, SIG_IGN);
	struct ev_loop *loop = ev_default_loop(EVFLAG_AUTO);
	if (loop == NULL) {
		fprintf(stderr, "socks2http: cannot start the event loop\n");
		return 1;
	}
	if (server_init(&srv, loop, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "socks2http: %s\n", err);
		server_destroy(&srv);
		return 1;
	}
	ev_run(loop, 0);
	server_destroy(&srv);
	ev_loop_destroy(loop);
	memset(&cfg, 0, sizeof(cfg)); /* credentials */
	return 0;
}
