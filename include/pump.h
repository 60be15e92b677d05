/* pump: the relay between two streams.  It knows no protocol: bytes read from one side
 * are written to the other, in both directions at once.
 *
 * - Backpressure: what each stream is watched for is derived from the buffers after every
 *   event: read side k while direction k has room and k has not ended; write side k while
 *   the other direction holds bytes for it.
 * - Half-close: end of stream on side k, once direction k has drained (the destination
 *   stream holding nothing unsent either), becomes a write shutdown of the other side;
 *   the pump is done when both directions have ended.
 * - Zero copy: a direction whose both ends have a raw fd moves through a splice(2) pipe
 *   from the pipe pool while it has bytes in flight, and gives the pipe back when it
 *   drains; a direction refused a pipe copies through its buffer and asks again later.
 * - Buffers come from the buffer pool only while bytes are in flight.
 *
 * The pump borrows the two streams (their owner closes them) and drives their watchers.
 * It reports the end once, through done, as the last thing it does in a callback: the
 * owner may free the pump there. */
#ifndef SOCKS2HTTP_PUMP_H
#define SOCKS2HTTP_PUMP_H

#include <ev.h>
#include <stdint.h>

#include "bufpool.h"
#include "pipepool.h"
#include "stream.h"

/* What the pump shares with every other pump. */
struct pump_ctx {
	struct ev_loop *loop;
	struct bufpool *pool;
	struct pipepool *pipes; /* NULL: never splice */
};

enum pump_end {
	PUMP_CLOSED = 0, /* both directions ended normally */
	PUMP_ERR_A,      /* reading or writing side A failed (err) */
	PUMP_ERR_B,
	PUMP_ERR_MEM,    /* no buffer could be had */
};

struct pump_dir {
	struct buf buf;   /* copy path */
	int pipe[2];      /* splice path: -1 while no pipe is held */
	uint32_t inpipe;  /* bytes in the pipe */
	uint8_t stalled;  /* splice took nothing more with bytes held (the pipe full, or the
			   * source empty): read again once the writer made room */
	uint8_t copy;     /* the ends cannot splice: always copy */
	uint64_t bytes;   /* written out */
};

struct pump {
	const struct pump_ctx *ctx;
	struct stream *st[2];      /* side A = 0, side B = 1 */
	struct pump_dir dir[2];    /* dir[k]: from st[k] to st[1-k] */
	uint8_t eof[2];            /* st[k] ended its stream */
	uint8_t shut[2];           /* st[k]'s write side was shut down */
	uint8_t running;
	ev_tstamp last_io;         /* loop time of the last byte moved */
	void (*done)(struct pump *p, enum pump_end end, int err);
	void (*on_eof)(struct pump *p); /* optional: a side ended its stream (the pump goes on) */
	uint8_t eof_told;               /* eof[] as on_eof last saw it */
};

/* Starts relaying between a and b.  a2b and b2a (may hold bytes already, e.g. data that
 * arrived with a protocol header) are taken over and left empty; a_eof says a has already
 * ended its stream.  The streams' watcher
 * callbacks are set to the pump's.  Nothing is read or written before the loop runs the
 * watchers, so done is never called from here. */
void pump_start(struct pump *p, const struct pump_ctx *ctx, struct stream *a, struct stream *b,
		struct buf *a2b, struct buf *b2a, int a_eof, void (*done)(struct pump *, enum pump_end, int));

/* Tells on_eof (which must not stop or free the pump) when a side ends its stream. */
static inline void pump_on_eof(struct pump *p, void (*cb)(struct pump *))
{
	p->on_eof = cb;
}

/* Stops watching and gives back buffers and pipes (bytes in them are dropped); the
 * streams stay open.  Safe on a pump that never started. */
void pump_stop(struct pump *p);

/* Has side k ended (end of stream read)? */
static inline int pump_eof(const struct pump *p, int k)
{
	return p->eof[k];
}

/* Bytes in flight in direction k (held here, or taken but not yet sent by the destination). */
uint64_t pump_pending(const struct pump *p, int k);

/* Does direction k move through a pipe now? */
static inline int pump_splicing(const struct pump *p, int k)
{
	return p->dir[k].pipe[0] >= 0;
}

#endif
