/* bufpool: relay buffers taken on demand (see include/bufpool.h). */
#include "bufpool.h"

#include <stdlib.h>
#include <string.h>

/* Buffer data starts mid-page.  The relay's bytes are copied between these buffers and
 * others with fast-string copies (OpenSSL's record buffers, the kernel's); when the two
 * addresses sit a few bytes apart modulo the page (as two malloc'd buffers of page-multiple
 * sizes tend to), each load waits on the store before it: measured ten times slower for
 * OpenSSL's copy of every record.  Mid-page keeps the usual offsets (a page's start plus
 * a header) half a page away either way. */
#define BUF_PAGE 4096
#define BUF_SKEW 2048

char *bufpool_mem_alloc(size_t size)
{
	void *base = NULL;
	if (posix_memalign(&base, BUF_PAGE, size + BUF_SKEW) != 0)
		return NULL;
	return (char *)base + BUF_SKEW;
}

void bufpool_mem_free(void *mem)
{
	if (mem != NULL)
		free((char *)mem - BUF_SKEW);
}

int bufpool_init(struct bufpool *p, size_t size, size_t maxfree)
{
	memset(p, 0, sizeof(*p));
	p->size = size;
	p->maxfree = maxfree;
	p->free = calloc(maxfree ? maxfree : 1, sizeof(void *));
	return p->free ? 0 : -1;
}

void bufpool_destroy(struct bufpool *p)
{
	for (size_t i = 0; i < p->nfree; i++)
		bufpool_mem_free(p->free[i]);
	free(p->free);
	p->free = NULL;
	p->nfree = 0;
}

int buf_acquire(struct bufpool *p, struct buf *b)
{
	if (b->data != NULL)
		return 0;
	b->data = p->nfree > 0 ? p->free[--p->nfree] : bufpool_mem_alloc(p->size);
	if (b->data == NULL)
		return -1;
	b->start = b->end = 0;
	p->in_use++;
	return 0;
}

void buf_release(struct bufpool *p, struct buf *b, int force)
{
	if (b->data == NULL || (!force && b->start != b->end))
		return;
	if (p->nfree < p->maxfree)
		p->free[p->nfree++] = b->data;
	else
		bufpool_mem_free(b->data);
	b->data = NULL;
	b->start = b->end = 0;
	p->in_use--;
}

size_t buf_room(struct bufpool *p, struct buf *b)
{
	if (b->data == NULL)
		return p->size;
	if (b->start == b->end) {
		b->start = b->end = 0;
	} else if (b->end == p->size && b->start > 0) {
		memmove(b->data, b->data + b->start, b->end - b->start);
		b->end -= b->start;
		b->start = 0;
	}
	return p->size - b->end;
}

int buf_prepend(struct bufpool *p, struct buf *b, const void *data, size_t n)
{
	if (n == 0)
		return 0;
	if (buf_acquire(p, b) < 0 || buf_len(b) + n > p->size)
		return -1;
	if (b->start < n) {
		memmove(b->data + n, b->data + b->start, buf_len(b));
		b->end = (uint32_t)(n + buf_len(b));
		b->start = (uint32_t)n;
	}
	b->start -= (uint32_t)n;
	memcpy(b->data + b->start, data, n);
	return 0;
}
