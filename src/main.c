/* main: configuration, then the loop; exit codes 0 (signal), 1 (start failure), 2 (usage). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "activation.h"
#include "check.h"
#include "config.h"
#include "log.h"
#include "notify.h"
#include "pac.h"
#include "pacworker.h"
#include "server.h"
#include "status.h"
#include "workers.h"
#include "wipe.h"

/* A private copy of the command line: SIGHUP parses it again, after the visible one has had
 * its passwords overwritten. */
static char **copy_argv(int argc, char **argv)
{
	char **copy = calloc((size_t)argc + 1, sizeof(char *));
	for (int i = 0; copy != NULL && i < argc; i++) {
		copy[i] = strdup(argv[i]);
		if (copy[i] == NULL)
			return NULL;
	}
	return copy;
}

static void free_argv(int argc, char **argv)
{
	for (int i = 0; argv != NULL && i < argc; i++) {
		wipe(argv[i], strlen(argv[i]));
		free(argv[i]);
	}
	free(argv);
}

/* The daemon proper: one event loop serving cfg (taken).  Returns the exit status. */
static int serve(struct config *cfg, int argc, char **argv)
{
	char err[CONFIG_ERR_MAX];
	struct server srv;
	struct ev_loop *loop = ev_default_loop(EVFLAG_AUTO);

	if (loop == NULL) {
		fprintf(stderr, "socks2http: cannot start the event loop\n");
		return 1;
	}
	log_attach(loop);
	int rc = server_init(&srv, loop, cfg, argc, argv, err, sizeof(err));
	if (rc == 0)
		ev_run(loop, 0);
	server_destroy(&srv);
	log_detach(); /* queued lines first, then the reason for a start failure */
	if (rc != 0)
		fprintf(stderr, "socks2http: %s\n", err);
	ev_loop_destroy(loop);
	return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	char err[CONFIG_ERR_MAX];

	/* The PAC worker the daemon starts: before anything else, no options, no config. */
	if (argc > 1 && strcmp(argv[1], "__pac-worker") == 0)
		return pacworker_main();
	(void)pac_worker_from_argv0(argv[0]); /* where /proc/self/exe is not used; before any chdir */
	/* subcommands; anything else is the daemon */
	if (argc > 1 && strcmp(argv[1], "check") == 0)
		return check_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "status") == 0)
		return status_main(argc - 1, argv + 1);
	struct config *cfg = malloc(sizeof(*cfg));
	if (cfg == NULL) {
		fprintf(stderr, "socks2http: out of memory\n");
		return 1;
	}
	config_init(cfg);
	log_detect_journal();
	notify_init();
	switch (config_load(cfg, argc, argv, config_getenv, err, sizeof(err))) {
	case CONFIG_EXIT_OK:
		free(cfg);
		return 0;
	case CONFIG_USAGE:
		fprintf(stderr, "socks2http: %s (see socks2http --help)\n", err);
		free(cfg);
		return 2;
	case CONFIG_FAIL:
		fprintf(stderr, "socks2http: %s\n", err);
		free(cfg);
		return 1;
	case CONFIG_RUN:
		break;
	}
	int rc = activation_take(cfg, err, sizeof(err)) < 0 ? 1 : 0;
	if (rc == 0)
		rc = config_finish(cfg, config_getenv, err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "socks2http: %s\n", err);
		config_free(cfg);
		free(cfg);
		return rc < 0 ? 2 : 1;
	}
	char **saved = copy_argv(argc, argv);
	if (saved == NULL) {
		fprintf(stderr, "socks2http: out of memory\n");
		return 1;
	}
	config_scrub_argv(argc, argv);
	log_set_level(cfg->log_level);
	if (cfg->config_path[0] != '\0')
		log_info("options from %s", cfg->config_path);
	if (cfg->password_on_cmdline)
		log_warn("a proxy password was given on the command line, where other local users can see it; "
			 "prefer https_proxy in the environment, SOCKS2HTTP_PROXY_PASSWORD, or a config file only you can read");

	signal(SIGPIPE, SIG_IGN);
	if (cfg->workers > 1)
		rc = workers_run(cfg, argc, saved, serve); /* takes cfg */
	else
		rc = serve(cfg, argc, saved); /* takes cfg */
	free_argv(argc, saved);
	return rc;
}
