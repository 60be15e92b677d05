/* pac_int: what pac.c (calls, delivery, fetch schedule) and pacpipe.c (the worker's
 * pipeline) share.  Private to those two; include "pac.h" before it (it does not include
 * pac.h itself, which would make pac and pac_int a cycle). */
#ifndef SOCKS2HTTP_PAC_INT_H
#define SOCKS2HTTP_PAC_INT_H

#include <ev.h>

#include "paccache.h"
#include "pacfetch.h"
#include "pacproc.h"

#define PAC_PIPE_MAX (PAC_MAX_CALLS + 8)
#define PAC_LOAD_LIMIT_MIN 5.0   /* a script's top level may take longer than one call */
#define PAC_BACKOFF_FIRST 0.1
#define PAC_FAILED_TTL 10.0    /* a failed call is cached this long at most */
#define PAC_BACKOFF_MAX 10.0

enum call_state { CALL_QUEUED = 1, CALL_SENT, CALL_DONE };
enum pipe_kind { PIPE_QUERY = 1, PIPE_RELOAD, PIPE_SCRIPT };

struct pac_call {
	struct pac_call *next, *prev;
	enum call_state state;
	int is_static;
	unsigned id;
	unsigned refs;
	uint16_t port;
	char host[256];
	struct pac_waiter waiters;
	struct pac_result res;
};

struct pipe_item {
	enum pipe_kind kind;
	struct pac_call *call;
};

struct pac {
	struct ev_loop *loop;
	struct resolver *res;
	char url[1024];
	char user_agent[128];
	double timeout, refresh, cache_ttl;
	char worker_path[4096];

	struct pacproc proc;
	int loaded;              /* the running worker holds a good script */
	unsigned loads_inflight; /* PIPE_RELOAD / PIPE_SCRIPT sent, not answered */
	struct pipe_item pipe[PAC_PIPE_MAX];
	unsigned pipe_head, pipe_n;
	ev_tstamp head_start;
	ev_timer limit;
	ev_timer restart;
	double backoff;
	ev_tstamp starts[PAC_MAX_RESTARTS];
	unsigned nstarts;

	char *good;             /* the last good script */
	size_t good_len;
	char *trying;           /* a fetched script not loaded yet */
	size_t trying_len;
	int trying_sent;
	int first_pending;      /* the first fetch (and load) has not ended yet */
	int retired;            /* pac_retire: no more fetches */
	int announced;          /* "PAC unavailable" was logged */
	char last_error[320];

	struct pacfetch *fetch;
	ev_timer fetch_timer;
	double retry;

	struct pac_call active; /* list head: QUEUED and SENT calls */
	unsigned ncalls;
	unsigned next_id;
	struct pac_waiter queue; /* waiters whose answer is ready */
	ev_timer deliver;
	int delivering, doomed;
	struct pac_call busy, noscript, nomem;

	struct paccache cache;
};

/* pac.c */
void pac_finish_call(struct pac *p, struct pac_call *c, int status, const char *msg);
/* Fails every call not sent yet (or every call, when all is set). */
void pac_fail_calls(struct pac *p, int all, int status, const char *msg);
/* The script in p->trying loaded (it becomes the good one), or did not. */
void pac_script_loaded(struct pac *p);
void pac_script_failed(struct pac *p, const char *why);

/* pacpipe.c */
void pacpipe_init(struct pac *p);
/* Sends what can be sent (starting a worker when one is needed), fails what cannot wait. */
void pacpipe_pump(struct pac *p);
void pacpipe_destroy(struct pac *p);

#endif
