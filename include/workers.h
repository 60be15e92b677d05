/* workers: --workers N, a supervisor process that forks N workers sharing the TCP listen
 * ports through SO_REUSEPORT, passes signals on to them and restarts one that dies. */
#ifndef SOCKS2HTTP_WORKERS_H
#define SOCKS2HTTP_WORKERS_H

#include "config.h"

/* Runs one worker: the whole daemon on cfg (which it takes).  Returns the exit status. */
typedef int (*workers_serve_fn)(struct config *cfg, int argc, char **argv);

/* Starts cfg->workers workers (from cfg, which it takes) and supervises them until they
 * have all stopped after SIGTERM/SIGINT.  On SIGHUP it reads the configuration again, for
 * the workers it starts in place of those that die.  Returns the exit status. */
int workers_run(struct config *cfg, int argc, char **argv, workers_serve_fn serve);

#endif
