/* negotiate: SPNEGO tokens for HTTP Negotiate (RFC 4559) made on worker threads.
 *
 * Life of a job (all transitions under `lock`):
 *   QUEUED  - in the FIFO, no thread yet; cancel unlinks and frees it.
 *   RUNNING - a thread is inside GSSAPI with it; cancel only sets `cancelled` (and stops the
 *             ev_async): the thread frees the job when GSSAPI returns.
 *   DONE    - the result is in the job and ev_async_send was called; the loop delivers and
 *             frees it, or cancel stops the ev_async and frees it.
 * The thread touches a job only while RUNNING, and sends the ev_async under the lock, so
 * cancel (which holds the lock while it stops the watcher) never races the send.
 *
 * Threads: a thread whose job was cancelled is abandoned, not live.  GSSAPI cannot be
 * interrupted and MIT krb5 1.20 has no per-request KDC timeout (a silent KDC holds a thread
 * for ~25 s), so abandoned threads must not hold back new work: a job gets a thread while
 * fewer than NEGOTIATE_MAX_THREADS are live and fewer than NEGOTIATE_MAX_ALL_THREADS exist. */
#include "negotiate.h"

#include <errno.h>
#include <gssapi/gssapi.h>
#include <gssapi/gssapi_krb5.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpc.h"
#include "wipe.h"

#define NEGOTIATE_HOST_MAX 255

enum negotiate_state { NEGOTIATE_QUEUED, NEGOTIATE_RUNNING, NEGOTIATE_DONE };

struct negotiate_job {
	struct ev_loop *loop;
	ev_async async;
	negotiate_done_cb done;
	void *data;
	enum negotiate_state state;
	int cancelled;
	struct negotiate_job *next; /* FIFO link while QUEUED */
	char *token;                /* base64, malloc'd; NULL on error */
	size_t token_len;
	char err[512];
	char host[NEGOTIATE_HOST_MAX + 1];
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct negotiate_job *queue_head, *queue_tail;
static unsigned threads_running;   /* every thread that exists */
static unsigned threads_abandoned; /* of those, the ones inside a cancelled job */
static unsigned jobs_pending;

#ifdef NEGOTIATE_TEST_HOOKS
/* The unit test slows jobs down to see the thread bound and the FIFO order. */
void (*negotiate_test_hook)(const char *host);
#endif

/* ---------------------------------------------------------------- the token, on a thread */

/* RFC 4559 §4 carries the token in base64 with padding (httpc's). */
static char *base64(const unsigned char *in, size_t n, size_t *outlen)
{
	size_t cap = (n + 2) / 3 * 4 + 1;
	char *out = malloc(cap);
	int len = out ? httpc_base64(out, cap, in, n) : -1;
	if (len < 0) {
		free(out);
		return NULL;
	}
	*outlen = (size_t)len;
	return out;
}

/* Appends every message gss_display_status has for one status value ("a; b"). */
static void append_status(char *buf, size_t cap, OM_uint32 code, int type)
{
	OM_uint32 minor, ctx = 0;
	do {
		gss_buffer_desc msg = GSS_C_EMPTY_BUFFER;
		if (GSS_ERROR(gss_display_status(&minor, code, type, GSS_C_NO_OID, &ctx, &msg)))
			break;
		size_t used = strlen(buf);
		if (used + 1 < cap)
			snprintf(buf + used, cap - used, "%s%.*s", used ? "; " : "", (int)msg.length,
				 (const char *)msg.value);
		gss_release_buffer(&minor, &msg);
	} while (ctx != 0);
}

/* What the default ticket cache holds for Kerberos: 0 no usable ticket, 1 an expired one,
 * 2 a valid one, -1 cannot tell.  Asked only after a failure: the minor codes SPNEGO returns
 * are remapped by the mechglue, so they cannot be compared with krb5's error codes. */
static int ticket_state(char *why, size_t cap)
{
	OM_uint32 major, minor, lifetime = 0;
	gss_OID_set_desc mechs = { 1, (gss_OID)gss_mech_krb5 };
	gss_cred_id_t cred = GSS_C_NO_CREDENTIAL;
	major = gss_acquire_cred(&minor, GSS_C_NO_NAME, GSS_C_INDEFINITE, &mechs, GSS_C_INITIATE, &cred, NULL,
				 &lifetime);
	if (GSS_ERROR(major)) {
		if (minor)
			append_status(why, cap, minor, GSS_C_MECH_CODE);
		if (GSS_ROUTINE_ERROR(major) == GSS_S_CREDENTIALS_EXPIRED)
			return 1;
		return GSS_ROUTINE_ERROR(major) == GSS_S_NO_CRED ? 0 : -1;
	}
	gss_release_cred(&minor, &cred);
	return lifetime == 0 ? 1 : 2;
}

/* One line from GSSAPI's statuses (gss_display_status of both), led by what the user should
 * do where we can tell. */
static void describe(char *err, size_t cap, OM_uint32 major, OM_uint32 minor, const char *host)
{
	char detail[400] = "";
	/* GSS_S_FAILURE only says "see the minor code": leave it out when there is one */
	if (GSS_ROUTINE_ERROR(major) != GSS_S_FAILURE || !minor)
		append_status(detail, sizeof(detail), major, GSS_C_GSS_CODE);
	if (minor)
		append_status(detail, sizeof(detail), minor, GSS_C_MECH_CODE);
	const char *what;
	char why[300] = "";
	switch (ticket_state(why, sizeof(why))) {
	case 0:
		/* krb5's own reason ("No Kerberos credentials available (default cache: ...)")
		 * says more than SPNEGO's "cannot find mechanisms" */
		if (why[0])
			snprintf(detail, sizeof(detail), "%s", why);
		what = "no Kerberos ticket (run kinit)";
		break;
	case 1:
		what = "ticket expired (run kinit)";
		break;
	default:
		/* krb5's message for KRB5KDC_ERR_S_PRINCIPAL_UNKNOWN (untranslated: we never call
		 * setlocale) */
		if (strstr(detail, "not found in Kerberos database")) {
			snprintf(err, cap, "server not found in Kerberos database (HTTP@%s): %s", host, detail);
			return;
		}
		what = "Kerberos failed";
	}
	snprintf(err, cap, "%s for HTTP@%s: %s", what, host, detail);
}

/* RFC 4178 §3.1: the SPNEGO mechanism; with GSS_C_NO_CREDENTIAL it offers Kerberos. */
static gss_OID_desc spnego_oid = { 6, (void *)"\x2b\x06\x01\x05\x05\x02" };

static void make_token(struct negotiate_job *j)
{
	OM_uint32 major, minor, ignored;
	char service[NEGOTIATE_HOST_MAX + 6];
	snprintf(service, sizeof(service), "HTTP@%s", j->host);
	gss_buffer_desc namebuf = { strlen(service), service };
	gss_name_t name = GSS_C_NO_NAME;
	major = gss_import_name(&minor, &namebuf, GSS_C_NT_HOSTBASED_SERVICE, &name);
	if (GSS_ERROR(major)) {
		describe(j->err, sizeof(j->err), major, minor, j->host);
		return;
	}
	gss_ctx_id_t ctx = GSS_C_NO_CONTEXT;
	gss_buffer_desc out = GSS_C_EMPTY_BUFFER;
	/* No mutual authentication: one leg, we never read the proxy's final token (RFC 4559
	 * §5 lets the server send one; a tunnel through a proxy gains nothing from it). */
	major = gss_init_sec_context(&minor, GSS_C_NO_CREDENTIAL, &ctx, name, &spnego_oid, 0,
				     GSS_C_INDEFINITE, GSS_C_NO_CHANNEL_BINDINGS, GSS_C_NO_BUFFER, NULL, &out,
				     NULL, NULL);
	if (GSS_ERROR(major)) {
		describe(j->err, sizeof(j->err), major, minor, j->host);
	} else if (out.length == 0) {
		snprintf(j->err, sizeof(j->err), "Kerberos gave an empty SPNEGO token for HTTP@%s", j->host);
	} else {
		j->token = base64(out.value, out.length, &j->token_len);
		if (!j->token)
			snprintf(j->err, sizeof(j->err), "out of memory for the Negotiate token");
	}
	if (out.length)
		wipe(out.value, out.length); /* an AP-REQ: replayable until it expires */
	gss_release_buffer(&ignored, &out);
	if (ctx != GSS_C_NO_CONTEXT)
		gss_delete_sec_context(&ignored, &ctx, GSS_C_NO_BUFFER);
	gss_release_name(&ignored, &name);
}

static void job_free(struct negotiate_job *j)
{
	if (j->token) {
		wipe(j->token, j->token_len);
		free(j->token);
	}
	free(j);
	pthread_mutex_lock(&lock);
	jobs_pending--;
	pthread_mutex_unlock(&lock);
}

/* Under the lock: may one more job run now (see the top of the file)? */
static int room_locked(void)
{
	return threads_running - threads_abandoned < NEGOTIATE_MAX_THREADS &&
	       threads_running < NEGOTIATE_MAX_ALL_THREADS;
}

/* Under the lock: the queue's first job, now RUNNING, or NULL. */
static struct negotiate_job *dequeue_locked(void)
{
	struct negotiate_job *next = queue_head;
	if (next) {
		queue_head = next->next;
		if (!queue_head)
			queue_tail = NULL;
		next->next = NULL;
		next->state = NEGOTIATE_RUNNING;
	}
	return next;
}

/* A thread runs its job, then takes the next queued one while that keeps the live threads
 * within NEGOTIATE_MAX_THREADS, so the queue is served in order. */
static void *worker(void *arg)
{
	struct negotiate_job *j = arg;
	while (j) {
#ifdef NEGOTIATE_TEST_HOOKS
		if (negotiate_test_hook)
			negotiate_test_hook(j->host);
#endif
		make_token(j);
		pthread_mutex_lock(&lock);
		struct negotiate_job *dead = NULL;
		if (j->cancelled) {
			dead = j;
			threads_abandoned--;
		} else {
			j->state = NEGOTIATE_DONE;
			ev_async_send(j->loop, &j->async);
		}
		/* this thread is live again: while it was abandoned others may have filled its place */
		struct negotiate_job *next = NULL;
		if (threads_running - threads_abandoned <= NEGOTIATE_MAX_THREADS)
			next = dequeue_locked();
		if (!next)
			threads_running--;
		pthread_mutex_unlock(&lock);
		if (dead)
			job_free(dead);
		j = next;
	}
	return NULL;
}

/* A detached thread for j, which is RUNNING and counted in threads_running.  Returns 0 or
 * pthread's error. */
static int spawn(struct negotiate_job *j)
{
	/* The thread takes no signals: the loop's signal watchers stay the only receivers. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_t attr;
	pthread_t t;
	int rc = pthread_attr_init(&attr);
	if (rc == 0) {
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		rc = pthread_create(&t, &attr, worker, j);
		pthread_attr_destroy(&attr);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

/* ---------------------------------------------------------------- the loop side */

static void async_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	(void)revents;
	struct negotiate_job *j = (struct negotiate_job *)((char *)w - offsetof(struct negotiate_job, async));
	pthread_mutex_lock(&lock);
	int ready = j->state == NEGOTIATE_DONE;
	pthread_mutex_unlock(&lock);
	if (!ready)
		return; /* cannot happen: only a finished thread sends */
	ev_async_stop(loop, &j->async);
	j->done(j->data, j->token, j->token ? NULL : j->err);
	job_free(j);
}

/* A host name as the service name's host part: no '@' (it would change the name's realm
 * parsing), no controls or spaces, bounded. */
static int host_ok(const char *host)
{
	size_t n = strlen(host);
	if (n == 0 || n > NEGOTIATE_HOST_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)host[i];
		if (c <= ' ' || c == 0x7f || c == '@' || c == '/' || c == '\\')
			return 0;
	}
	return 1;
}

struct negotiate_job *negotiate_start(struct ev_loop *loop, const char *host, negotiate_done_cb done,
				      void *data, char *err, size_t errlen)
{
	if (!host || !host_ok(host)) {
		snprintf(err, errlen, "Negotiate: not a host name for the service principal: \"%.64s\"",
			 host ? host : "");
		return NULL;
	}
	struct negotiate_job *j = calloc(1, sizeof(*j));
	if (!j) {
		snprintf(err, errlen, "Negotiate: out of memory");
		return NULL;
	}
	j->loop = loop;
	j->done = done;
	j->data = data;
	snprintf(j->host, sizeof(j->host), "%s", host);
	ev_async_init(&j->async, async_cb);
	ev_async_start(loop, &j->async);

	pthread_mutex_lock(&lock);
	jobs_pending++;
	if (!room_locked()) {
		j->state = NEGOTIATE_QUEUED;
		if (queue_tail)
			queue_tail->next = j;
		else
			queue_head = j;
		queue_tail = j;
		pthread_mutex_unlock(&lock);
		return j;
	}
	threads_running++;
	j->state = NEGOTIATE_RUNNING;
	pthread_mutex_unlock(&lock);

	int rc = spawn(j);
	if (rc != 0) {
		pthread_mutex_lock(&lock);
		threads_running--;
		pthread_mutex_unlock(&lock);
		ev_async_stop(loop, &j->async);
		job_free(j);
		snprintf(err, errlen, "Negotiate: cannot start a thread: %s", strerror(rc));
		return NULL;
	}
	return j;
}

void negotiate_cancel(struct negotiate_job *j)
{
	if (!j)
		return;
	pthread_mutex_lock(&lock);
	ev_async_stop(j->loop, &j->async);
	int free_now = 1;
	struct negotiate_job *next = NULL;
	if (j->state == NEGOTIATE_QUEUED) {
		struct negotiate_job **p = &queue_head, *prev = NULL;
		while (*p && *p != j) {
			prev = *p;
			p = &(*p)->next;
		}
		if (*p) {
			*p = j->next;
			if (queue_tail == j)
				queue_tail = prev;
		}
	} else if (j->state == NEGOTIATE_RUNNING) {
		j->cancelled = 1; /* its thread frees it */
		threads_abandoned++;
		free_now = 0;
		/* the queue's head need not wait for a thread that may be stuck for long */
		if (room_locked()) {
			next = dequeue_locked();
			if (next)
				threads_running++;
		}
	}
	pthread_mutex_unlock(&lock);
	if (next && spawn(next) != 0) {
		/* no thread now: back to the head of the queue, for the next thread that finishes */
		pthread_mutex_lock(&lock);
		threads_running--;
		next->state = NEGOTIATE_QUEUED;
		next->next = queue_head;
		queue_head = next;
		if (!queue_tail)
			queue_tail = next;
		pthread_mutex_unlock(&lock);
	}
	if (free_now)
		job_free(j);
}

unsigned negotiate_pending(void)
{
	pthread_mutex_lock(&lock);
	unsigned n = jobs_pending;
	pthread_mutex_unlock(&lock);
	return n;
}
