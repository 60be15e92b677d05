/* pacworker: the PAC worker process, `socks2http __pac-worker`.  The daemon (pac.c) talks to
 * it over a socketpair on fd 0 and fd 1, one request at a time, in order:
 *   "S <nbytes>\n" + nbytes of script   -> "S OK\n" | "S ERR <message>\n"
 *   "Q <id> <host> <url>\n"              -> "A <id> <result>\n" | "E <id> <message>\n"
 * Lines are at most PACWORKER_LINE_MAX bytes; a malformed request gets "E 0 bad request".
 * Results are one line (CR, LF turned into spaces), cut at PACWORKER_RESULT_MAX bytes.  The
 * daemon enforces the time limit by killing the worker. */
#ifndef SOCKS2HTTP_PACWORKER_H
#define SOCKS2HTTP_PACWORKER_H

#define PACWORKER_LINE_MAX 8192
#define PACWORKER_RESULT_MAX 4096

/* Closes every fd but 0, 1 and 2, ignores SIGINT and SIGHUP, dies with its parent (Linux:
 * PR_SET_PDEATHSIG, so a PAC stuck in a loop cannot outlive a killed daemon), serves until fd 0 reaches EOF
 * (or fails) and returns 0 then; exits with status 1 when a reply cannot be written. */
int pacworker_main(void);

#endif
