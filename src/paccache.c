/* paccache: a bounded answer cache with clock replacement (see include/paccache.h). */
#include "paccache.h"

#include <stdlib.h>
#include <string.h>

static uint32_t hash_of(const char *host, uint16_t port)
{
	uint32_t h = 2166136261u ^ port;
	for (const unsigned char *c = (const unsigned char *)host; *c; c++)
		h = (h ^ *c) * 16777619u;
	return h;
}

void paccache_init(struct paccache *c)
{
	memset(c, 0, sizeof(*c));
}

static struct paccache_entry *find(const struct paccache *c, const char *host, uint16_t port, uint32_t h)
{
	for (unsigned i = 0; i < PACCACHE_MAX; i++) {
		const struct paccache_entry *e = &c->e[i];
		if (e->hash == h && e->host != NULL && e->port == port && strcmp(e->host, host) == 0)
			return (struct paccache_entry *)(uintptr_t)e;
	}
	return NULL;
}

const struct paccache_entry *paccache_get(const struct paccache *c, const char *host, uint16_t port, double now)
{
	const struct paccache_entry *e = find(c, host, port, hash_of(host, port));
	return e != NULL && e->expires > now ? e : NULL;
}

static void drop(struct paccache_entry *e)
{
	free(e->host);
	free(e->text);
	memset(e, 0, sizeof(*e));
}

void paccache_put(struct paccache *c, const char *host, uint16_t port, int status, const char *text, double now,
		  double ttl)
{
	if (ttl <= 0)
		return;
	uint32_t h = hash_of(host, port);
	struct paccache_entry *e = find(c, host, port, h);
	for (unsigned i = 0; e == NULL && i < PACCACHE_MAX; i++) {
		struct paccache_entry *s = &c->e[(c->hand + i) % PACCACHE_MAX];
		if (s->host == NULL || s->expires <= now)
			e = s;
	}
	if (e == NULL)
		e = &c->e[c->hand];
	c->hand = (unsigned)(e - c->e + 1) % PACCACHE_MAX;
	drop(e);
	e->host = strdup(host);
	e->text = strdup(text);
	if (e->host == NULL || e->text == NULL) {
		drop(e);
		return;
	}
	e->hash = h;
	e->port = port;
	e->status = status;
	e->expires = now + ttl;
}

void paccache_clear(struct paccache *c)
{
	for (unsigned i = 0; i < PACCACHE_MAX; i++)
		if (c->e[i].host != NULL)
			drop(&c->e[i]);
}
