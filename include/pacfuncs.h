/* pacfuncs: the standard PAC helper functions that are plain JavaScript (those that need
 * the system, DNS and addresses, are C functions in pacjs.c). */
#ifndef SOCKS2HTTP_PACFUNCS_H
#define SOCKS2HTTP_PACFUNCS_H

/* Source run in every fresh PAC heap before the PAC itself. */
extern const char pacfuncs_js[];

#endif
