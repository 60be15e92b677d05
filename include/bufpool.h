/* bufpool: fixed-size relay buffers, taken when a direction has data and given back when it
 * drains, so an idle tunnel holds no buffer memory.  A bounded free list saves malloc churn. */
#ifndef SOCKS2HTTP_BUFPOOL_H
#define SOCKS2HTTP_BUFPOOL_H

#include <stddef.h>
#include <stdint.h>

struct buf {
	char *data;     /* NULL while the buffer holds nothing */
	uint32_t start; /* first unsent byte */
	uint32_t end;   /* one past the last byte */
};

struct bufpool {
	size_t size;    /* bytes per buffer */
	void **free;    /* up to maxfree spare buffers */
	size_t nfree, maxfree;
	size_t in_use;  /* buffers held by tunnels */
};

/* Memory for bytes copied in and out in bulk: it starts mid-page (see bufpool.c).  NULL
 * when out of memory; free it with bufpool_mem_free (NULL is fine).  The pool's buffers
 * are such memory; so is the TLS write side's (tls_out.c). */
char *bufpool_mem_alloc(size_t size);
void bufpool_mem_free(void *mem);

int bufpool_init(struct bufpool *p, size_t size, size_t maxfree);
void bufpool_destroy(struct bufpool *p);

/* Gives b storage if it has none.  Returns 0, or -1 when out of memory. */
int buf_acquire(struct bufpool *p, struct buf *b);
/* Returns b's storage to the pool if it holds no data (or always, with force). */
void buf_release(struct bufpool *p, struct buf *b, int force);

static inline size_t buf_len(const struct buf *b)
{
	return b->end - b->start;
}

/* Puts n bytes in front of what b holds (taking storage if it has none).  Returns 0, or -1
 * when they do not fit or memory is short. */
int buf_prepend(struct bufpool *p, struct buf *b, const void *data, size_t n);

/* Free space at the tail; compacts first when the head has been consumed. */
size_t buf_room(struct bufpool *p, struct buf *b);

#endif
