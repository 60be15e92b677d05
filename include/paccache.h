/* paccache: PAC answers per host:port for a while (used by pac only).  Pure: the caller
 * passes the time.  A fixed table of PACCACHE_MAX entries, replaced by a clock hand
 * (expired entries first); host and text are copied. */
#ifndef SOCKS2HTTP_PACCACHE_H
#define SOCKS2HTTP_PACCACHE_H

#include <stdint.h>

#define PACCACHE_MAX 1024

struct paccache_entry {
	uint32_t hash;
	uint16_t port;
	int status;     /* the caller's (enum pac_status) */
	double expires;
	char *host;     /* NULL: a free slot */
	char *text;     /* the answer text, or the failure message */
};

struct paccache {
	struct paccache_entry e[PACCACHE_MAX];
	unsigned hand;
};

void paccache_init(struct paccache *c);
/* The fresh entry for host:port, or NULL. */
const struct paccache_entry *paccache_get(const struct paccache *c, const char *host, uint16_t port, double now);
/* Stores (or replaces) host:port for ttl seconds; out of memory just stores nothing. */
void paccache_put(struct paccache *c, const char *host, uint16_t port, int status, const char *text, double now,
		  double ttl);
void paccache_clear(struct paccache *c);

#endif
