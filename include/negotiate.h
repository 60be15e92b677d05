/* negotiate: the first token of HTTP Negotiate (RFC 4559 §4.2) to a proxy, made with MIT
 * Kerberos' GSSAPI through SPNEGO (RFC 4178) from the user's ticket cache.
 *
 * GSSAPI blocks (it reads the ticket cache and may talk to the KDC for a service ticket), so
 * every token is made off the loop: one thread per job, at most NEGOTIATE_MAX_THREADS at once
 * in the whole process, more jobs wait in a FIFO.  A cancelled job's thread (stuck, say, on a
 * KDC that never answers) no longer counts against that bound, only against
 * NEGOTIATE_MAX_ALL_THREADS, so new jobs do not queue behind abandoned ones.  The result comes back on the caller's loop
 * through an ev_async.  A job is owned by this module: the caller only holds the pointer until
 * done runs or it cancels.  A pending job keeps its loop alive (an active ev_async). */
#ifndef SOCKS2HTTP_NEGOTIATE_H
#define SOCKS2HTTP_NEGOTIATE_H

#include <ev.h>
#include <stddef.h>

#define NEGOTIATE_MAX_THREADS 8
#define NEGOTIATE_MAX_ALL_THREADS 32

struct negotiate_job;

/* done runs once, on the loop, never from inside negotiate_start: token_b64 is the value
 * after "Negotiate " (NUL-terminated base64, valid during the call only), or NULL with err
 * one line, e.g. "no Kerberos ticket (run kinit) for HTTP@host: ...", "ticket expired (run
 * kinit) for HTTP@host: ...", "server not found in Kerberos database (HTTP@host): ...",
 * "Kerberos failed for HTTP@host: ..." (the rest: gss_display_status' text).  After done returns the job is
 * gone: do not cancel it. */
typedef void (*negotiate_done_cb)(void *data, const char *token_b64, const char *err);

/* Starts making the first SPNEGO token (Kerberos inside) for service HTTP@host with the
 * default credentials (the ticket cache; KRB5CCNAME honoured).  Returns the job, or NULL
 * when it cannot start (bad host, no thread), err set. */
struct negotiate_job *negotiate_start(struct ev_loop *loop, const char *host, negotiate_done_cb done,
				      void *data, char *err, size_t errlen);

/* done will not be called; safe in any state before done ran (queued, running, result
 * waiting on the loop).  Must be called from the job's loop thread.  A running job's thread
 * finishes its GSSAPI call and then frees the job; meanwhile the next queued job may get a
 * thread of its own. */
void negotiate_cancel(struct negotiate_job *j);

/* Jobs started and not yet freed, in the whole process (queued, running, cancelled but still
 * running, or waiting for the loop): for status reports and for tests that wait until every
 * thread has finished. */
unsigned negotiate_pending(void);

#endif
