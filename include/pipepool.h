/* pipepool: splice(2) pipes for the relay, within a budget of file descriptors.
 *
 * A pipe is taken when a direction has bytes to move and given back when it drains, so an
 * idle tunnel holds none.  The budget is computed from the fds in use now: the sockets of
 * the live tunnels, the pipes already out, and a reserve for the two sockets of every
 * tunnel that may still be accepted.  A tunnel refused a pipe copies through its buffers
 * and asks again later.  Empty pipes are kept for reuse (bounded) and closed when no tunnel
 * is left.
 *
 * Pipe memory has a second budget.  The kernel lets an unprivileged user's pipes hold
 * fs.pipe-user-pages-soft pages in all (64 MiB by default), counted over every program of
 * that user; past it, a new pipe gets two pages and cannot grow, and splicing through
 * 8 KiB costs several times what copying does.  So the pool keeps its own pipes to half
 * of that allowance (the user's other programs keep the rest), enlarged pipes to a quarter,
 * and a pipe that comes out smaller than the kernel's default (the allowance used up by
 * others) is closed: the tunnel copies and asks again later. */
#ifndef SOCKS2HTTP_PIPEPOOL_H
#define SOCKS2HTTP_PIPEPOOL_H

#include <stddef.h>

#define PIPEPOOL_KEEP 32        /* empty pipes kept for reuse */
#define PIPEPOOL_MIN_BYTES 65536 /* a smaller pipe moves less per splice than copying does */

struct pipepool {
	unsigned long fd_limit;    /* RLIMIT_NOFILE; 0 = no limit known */
	unsigned long reserved;    /* fds kept for listeners, DNS, stdio, log */
	unsigned max_tunnels;      /* tunnels that may be open at once */
	const unsigned *ntunnels;  /* the live tunnels, counted by the owner */
	unsigned long pipe_fds;    /* fds held by pipes, pooled ones included */
	size_t pipe_size;          /* asked of F_SETPIPE_SZ; 0 = the kernel's default */
	unsigned long page_budget; /* pipe buffer pages this pool may hold; 0 = no budget */
	unsigned long pipe_pages;  /* pages held by its pipes, pooled ones included */
	unsigned long page;        /* the page size */
	double retry_at;           /* after pipe2 failed, not before this loop time */
	int short_logged;          /* said once that the fd budget ran short */
	int mem_logged;            /* said once that pipe memory ran short */
	unsigned npool;
	int pool[PIPEPOOL_KEEP][2];
	unsigned long taken;       /* counters for status and tests */
	unsigned long refused;
};

void pipepool_init(struct pipepool *pp, unsigned long fd_limit, unsigned long reserved, unsigned max_tunnels,
		   const unsigned *ntunnels, size_t pipe_size, unsigned long page_budget);

/* The page budget for this process: half of fs.pipe-user-pages-soft when the kernel holds
 * it to that limit (no CAP_SYS_RESOURCE or CAP_SYS_ADMIN), else 0 (none).  Reads /proc. */
unsigned long pipepool_user_budget(void);

/* Would one more pipe fit the budget now? */
int pipepool_room(const struct pipepool *pp);

/* An empty pipe (non-blocking, close-on-exec) in fds.  Returns 0, or -1 (fds untouched) when a budget or
 * the system refuses (the caller copies meanwhile).  now is the loop time. */
int pipepool_get(struct pipepool *pp, int fds[2], double now);

/* Gives a pipe back: empty ones are kept (up to PIPEPOOL_KEEP), others closed. */
void pipepool_put(struct pipepool *pp, int rd, int wr, int empty);

/* Closes every pooled pipe (no tunnel left, or shutdown). */
void pipepool_drain(struct pipepool *pp);

#endif
