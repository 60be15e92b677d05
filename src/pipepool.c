/* pipepool: splice pipes within an fd budget (see include/pipepool.h). */
#include "pipepool.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

#define SOCKETS_PER_TUNNEL 2 /* client and upstream; a second connect attempt is transient */
#define PIPE_RETRY 1.0       /* seconds before pipe2 is tried again after it failed */

void pipepool_init(struct pipepool *pp, unsigned long fd_limit, unsigned long reserved, unsigned max_tunnels,
		   const unsigned *ntunnels, size_t pipe_size)
{
	memset(pp, 0, sizeof(*pp));
	pp->fd_limit = fd_limit;
	pp->reserved = reserved;
	pp->max_tunnels = max_tunnels;
	pp->ntunnels = ntunnels;
	pp->pipe_size = pipe_size;
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
	if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) == 0) {
		pp->pipe_fds += 2;
		pp->taken++;
		/* a larger pipe moves more per system call; the kernel's default if refused */
		if (pp->pipe_size > 0)
			(void)fcntl(fds[0], F_SETPIPE_SZ, (int)pp->pipe_size);
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
	close(rd);
	close(wr);
	pp->pipe_fds -= 2;
}

void pipepool_drain(struct pipepool *pp)
{
	while (pp->npool > 0) {
		pp->npool--;
		close(pp->pool[pp->npool][0]);
		close(pp->pool[pp->npool][1]);
		pp->pipe_fds -= 2;
	}
}
