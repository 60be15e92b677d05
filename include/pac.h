/* pac: the loop side of proxy auto-config.
 *
 * The PAC file is fetched (pacfetch) at start, every cfg->pac_refresh seconds and on
 * pac_refresh(); failed fetches are retried sooner (30 s, doubling, capped at pac_refresh).
 * FindProxyForURL runs in a worker process (`<own executable> __pac-worker`, see
 * ROUTES-SPEC / src/pacworker.c) that talks a line protocol over a socketpair: this module
 * sends it the script and the queries, reads its answers with an ev_io, and kills it
 * (SIGKILL) when a call runs past cfg->pac_timeout; that query fails, a new worker gets the
 * last good script and the other queries again.  A worker that dies is restarted with a
 * backoff (0.1 s doubling to 10 s): the queries it had, and those made until it is back,
 * fail; one out of step with the protocol at once (its queries fail).  At most
 * PAC_MAX_RESTARTS starts in any minute.  The worker
 * gets the daemon's environment without variables holding passwords or proxy URLs.
 *
 * A script that fails to load keeps the last good one.  With no good script at all every
 * query answers PAC_NO_SCRIPT (the caller goes direct), logged once, until a fetch succeeds.
 * Queries made before the first fetch ended wait for it.
 *
 * The host is asked as browsers pass it: in lower case, without a trailing dot (also as
 * the cache's key), so "Intranet.Corp.Example." gets the answer "intranet.corp.example" has.
 *
 * Answers are cached per host:port for cfg->pac_cache seconds (PAC_CACHE_MAX entries; the
 * script's failures, a thrown error or the time limit, for 10 s at most);
 * identical queries in flight share one call; at most PAC_MAX_CALLS calls are outstanding,
 * beyond that PAC_FAILED at once.
 *
 * A caller owns a struct pac_waiter (embedded in its own object), passes it to pac_find, and
 * gets exactly one callback, always from the loop and never inside pac_find, unless it calls
 * pac_cancel first.  After the callback or cancel the waiter is free to reuse.  pac_free may
 * be called from inside a callback. */
#ifndef SOCKS2HTTP_PAC_H
#define SOCKS2HTTP_PAC_H

#include <ev.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "pacanswer.h"
#include "resolver.h"

#define PAC_MAX_CALLS 256    /* outstanding FindProxyForURL calls */
#define PAC_CACHE_MAX 1024   /* cached answers (host:port) */
#define PAC_MAX_RESTARTS 10  /* worker starts in any 60 s */
#define PAC_FETCH_TIMEOUT 10.0
#define PAC_RETRY_FIRST 30.0 /* first retry of a failed fetch */

struct pac;
struct pac_call;

enum pac_status { PAC_ANSWER = 0, PAC_NO_SCRIPT, PAC_FAILED };

struct pac_result {
	int status;            /* enum pac_status */
	struct pacanswer ans;  /* PAC_ANSWER */
	char msg[160];         /* PAC_FAILED: why, e.g. "PAC call exceeded 2s" */
};

struct pac_waiter {
	struct pac_waiter *next, *prev;
	struct pac_call *call; /* non-NULL while waiting (on a call or the delivery queue) */
	void (*cb)(struct pac_waiter *w, const struct pac_result *r);
};

/* The worker executable: on Linux "/proc/self/exe" unless set; elsewhere (and in the
 * portable build) main sets the daemon's own path with pac_worker_from_argv0.  Tests point
 * it at their own worker.  Process-wide; takes effect for pacs made afterwards. */
void pac_set_worker_path(const char *path);
/* For main, at start (before any chdir): where /proc/self/exe is not used, the worker is
 * argv0 made absolute (a path with a '/', or found in $PATH as the shell did).  On Linux
 * (unless built portable) it does nothing.  Returns 0, or -1 when argv0 cannot be resolved
 * (PAC then cannot work). */
int pac_worker_from_argv0(const char *argv0);

/* cfg->pac_url must be set.  res: the daemon's resolver for http:// URLs (kept, not owned:
 * it must outlive p).  previous: the pac of the configuration being replaced (SIGHUP), or
 * NULL: when the URL is the same, its last good script is taken over at once (a fetch still
 * follows); previous may be freed right after.  Nothing is fetched or started before the
 * loop runs.  Returns NULL with err on failure. */
struct pac *pac_new(struct ev_loop *loop, const struct config *cfg, struct resolver *res, const struct pac *previous,
		    char *err, size_t errlen);

/* Kills the worker, stops every fetch and timer; waiters still pending get no callback.
 * May be called from inside a waiter's callback: p then goes when that callback returns. */
void pac_free(struct pac *p);

/* At once, without a callback: a fresh cached answer (PAC_ANSWER, or the script's recent
 * PAC_FAILED), or PAC_NO_SCRIPT while no PAC is available: 1 and *out filled; else 0
 * (pac_find is needed).  Saves a trip through the loop for most tunnels. */
int pac_cached(struct pac *p, const char *host, uint16_t port, struct pac_result *out);

void pac_find(struct pac *p, const char *host, uint16_t port, struct pac_waiter *w,
	      void (*cb)(struct pac_waiter *, const struct pac_result *));
void pac_cancel(struct pac *p, struct pac_waiter *w);

/* Fetches again now (SIGHUP, network change); a fetch in progress is left to finish.
 * Nothing once retired. */
void pac_refresh(struct pac *p);

/* Its configuration was replaced (SIGHUP) but tunnels still use it: no more fetches (the
 * schedule stops, a refresh in progress is cancelled; a first fetch still running may end,
 * as queries wait for it).  It keeps answering from its script and cache. */
void pac_retire(struct pac *p);

/* "ok" (a script is loaded), "fetching" (none yet, the first fetch is running) or
 * "unavailable" (none: queries go direct). */
const char *pac_state(const struct pac *p);
/* The last fetch or load error ("" when the last fetch and load succeeded). */
const char *pac_last_error(const struct pac *p);

#endif
