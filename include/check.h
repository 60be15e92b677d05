/* check: `socks2http check [TARGET]`: one tunnel walked stage by stage with the daemon's
 * configuration (same options, config file and environment), driving the real dial. */
#ifndef SOCKS2HTTP_CHECK_H
#define SOCKS2HTTP_CHECK_H

/* argv[0] is "check".  Returns the exit status: 0 the tunnel worked, 1 it did not, 2 usage. */
int check_main(int argc, char **argv);

#endif
