/* pipepool: splice pipes within an fd budget (see include/pipepool.h). */
#include "pipepool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

#define SOCKETS_PER_TUNNEL 2 /* client and upstream; a second connect attempt is transient */
#define PIPE_RETRY 1.0       /* seconds before pipe2 is tried again after it failed */

void pipepool_init(struct pipepool *pp, unsigned long fd_limit, unsigned long reserved, unsigned max_tunnels,
		   const unsigned *ntunnels, size_t pipe_size, unsigned long page_budget)
{
	long page = sysconf(_SC_PAGESIZE);
	memset(pp, 0, sizeof(*pp));
	pp->fd_limit = fd_limit;
	pp->reserved = reserved;
	pp->max_tunnels = max_tunnels;
	pp->ntunnels = ntunnels;
	pp->pipe_size = pipe_size;
	pp->page_budget = page_budget;
	pp->page = page > 0 ? (unsigned long)page : 4096;
}

unsigned long pipepool_user_budget(void)
{
#ifdef HAVE_SPLICE
	unsigned long soft = 0;
	unsigned long long cap = 0;
	char line[256];
	FILE *f = fopen("/proc/sys/fs/pipe-user-pages-soft", "re");
	if (f == NULL)
		return 0;
	if (fscanf(f, "%lu", &soft) != 1)
		soft = 0;
	fclose(f);
	if (soft == 0 || (f = fopen("/proc/self/status", "re")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL && sscanf(line, "CapEff: %llx", &cap) != 1)
		;
	fclose(f);
	if (cap & ((1ull << 24) | (1ull << 21))) /* CAP_SYS_RESOURCE, CAP_SYS_ADMIN: the kernel does not count */
		return 0;
	return soft / 2;
#else
	return 0;
#endif
}

/* Closes a pipe the pool held, and takes its pages off the count. */
static void pipe_close(struct pipepool *pp, int rd, int wr)
{
#ifdef HAVE_SPLICE
	long n = fcntl(rd, F_GETPIPE_SZ);
	unsigned long pages = n > 0 ? (unsigned long)n / pp->page : 0;
	pp->pipe_pages -= pages < pp->pipe_pages ? pages : pp->pipe_pages;
#endif
	close(rd);
	close(wr);
	pp->pipe_fds -= 2;
}

int pipepool_room(const struct pipepool *pp)
{
	if (pp->fd_limit == 0)
		return 1;
	unsigned n = *pp->ntunnels;
	unsigned long future = n < pp->max_tunnels ? pp->max_tunnels - n : 0;
	unsigned long need = pp->reserved + pp->pipe_fds + 2 + (unsigned long)n * SOCKETS_PER_TUNNEL +
			     future * SOCKETS_PER_TUNNEL;
	return need <= pp->fd_limit;
}

int pipepool_get(struct pipepool *pp, int fds[2], double now)
{
	if (pp->npool > 0) {
		pp->npool--;
		fds[0] = pp->pool[pp->npool][0];
		fds[1] = pp->pool[pp->npool][1];
		pp->taken++;
		return 0;
	}
	if (!pipepool_room(pp)) {
		pp->refused++;
		if (!pp->short_logged) {
			log_warn("the open-file limit (%lu) leaves no room for splice(2) pipes for every tunnel: "
				 "some tunnels copy through buffers instead; raise the hard 'ulimit -n' or lower --max-tunnels",
				 pp->fd_limit);
			pp->short_logged = 1;
		}
		return -1;
	}
	if (now < pp->retry_at) {
		pp->refused++;
		return -1;
	}
#ifdef HAVE_SPLICE
	size_t want = pp->pipe_size;
	if (pp->page_budget > 0) {
		if (pp->pipe_pages + PIPEPOOL_MIN_BYTES / pp->page > pp->page_budget) {
			pp->refused++;
			if (!pp->mem_logged) {
				log_warn("splice(2) pipes: this process keeps to half of the user's pipe memory "
					 "(fs.pipe-user-pages-soft), %lu KiB, and holds it all: further tunnels copy "
					 "through buffers until pipes are given back",
					 pp->page_budget * pp->page / 1024);
				pp->mem_logged = 1;
			}
			return -1;
		}
		if (pp->pipe_pages + want / pp->page > pp->page_budget / 2)
			want = 0; /* enlarged ones within a quarter: more tunnels get a pipe at all */
	}
	int p[2];
	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) == 0) {
		/* a larger pipe moves more per system call; the kernel's default if refused */
		long cap = want > 0 ? fcntl(p[0], F_SETPIPE_SZ, (int)want) : -1;
		if (cap < 0)
			cap = fcntl(p[0], F_GETPIPE_SZ);
		if (cap < PIPEPOOL_MIN_BYTES) { /* the user's pipes hold the kernel's allowance */
			close(p[0]);
			close(p[1]);
			if (!pp->mem_logged) {
				log_warn("splice(2) pipes come out at %ld bytes: this user's programs hold the "
					 "kernel's pipe memory allowance (fs.pipe-user-pages-soft); tunnels copy "
					 "through buffers until it has room", cap);
				pp->mem_logged = 1;
			}
			pp->retry_at = now + PIPE_RETRY;
			pp->refused++;
			return -1;
		}
		fds[0] = p[0];
		fds[1] = p[1];
		pp->pipe_pages += (unsigned long)cap / pp->page;
		pp->pipe_fds += 2;
		pp->taken++;
		return 0;
	}
	if (errno == EMFILE || errno == ENFILE)
		log_debug("splice(2) pipes: %s; copying through buffers meanwhile", strerror(errno)); /* the accept pause says it */
#else
	errno = ENOSYS;
#endif
	pp->retry_at = now + PIPE_RETRY;
	pp->refused++;
	return -1;
}

void pipepool_put(struct pipepool *pp, int rd, int wr, int empty)
{
	if (empty && pp->npool < PIPEPOOL_KEEP) {
		pp->pool[pp->npool][0] = rd;
		pp->pool[pp->npool][1] = wr;
		pp->npool++;
		return;
	}
	pipe_close(pp, rd, wr);
}

void pipepool_drain(struct pipepool *pp)
{
	while (pp->npool > 0) {
		pp->npool--;
		pipe_close(pp, pp->pool[pp->npool][0], pp->pool[pp->npool][1]);
	}
}
