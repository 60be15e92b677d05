/* activation: listening sockets handed over by a service manager (systemd socket
 * activation, launchd), without libsystemd.
 *
 * systemd passes them as fds 3, 4, ... with LISTEN_PID (must be our pid), LISTEN_FDS (how
 * many) and LISTEN_FDNAMES (colon-separated names, FileDescriptorName=).  As
 * sd_listen_fds(3) does, the variables are removed from the environment (children of ours
 * must not take them for theirs) and the fds made close-on-exec.  On macOS the sockets named
 * "Listeners" in the LaunchAgent's plist come from launch_activate_socket(3). */
#ifndef SOCKS2HTTP_ACTIVATION_H
#define SOCKS2HTTP_ACTIVATION_H

#include <stddef.h>

#include "config.h"

#define ACTIVATION_FD_START 3    /* SD_LISTEN_FDS_START */
#define ACTIVATION_NAME_MAX CONFIG_FDNAME_MAX /* systemd allows 255; longer names are cut */

/* Pure: LISTEN_PID and LISTEN_FDS (either may be NULL) for a process whose pid is self.
 * Returns the number of fds meant for us (0: none, or meant for another process), or -1
 * with err for a malformed value or more than max fds. */
int activation_parse_env(const char *listen_pid, const char *listen_fds, long self, size_t max, char *err,
			 size_t errlen);

/* Pure: the n names of LISTEN_FDNAMES (NULL: none) into names; missing or empty names
 * become "unknown", as systemd's sd_listen_fds_with_names(3) does.  Names beyond n are
 * ignored.  Returns 0, or -1 when text names more or fewer fds than n (names are still
 * filled, the caller may go on). */
int activation_parse_names(const char *text, size_t n, char names[][ACTIVATION_NAME_MAX]);

/* Takes the sockets the service manager passed us, if any, into cfg->inherited (fds, names,
 * count): each must be a listening stream socket.  Clears the environment variables.
 * Returns the number taken (0: not socket-activated), or -1 with err (a start failure). */
int activation_take(struct config *cfg, char *err, size_t errlen);

#endif
