/* status: `socks2http status`: asks the running daemon's control socket (see
 * include/control.h) and prints its answer, once or, with --watch, like top. */
#ifndef SOCKS2HTTP_STATUS_H
#define SOCKS2HTTP_STATUS_H

/* argv[0] is "status".  Returns the exit status: 0, 1 (no daemon answered), 2 (usage). */
int status_main(int argc, char **argv);

#endif
