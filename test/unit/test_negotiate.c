/* test_negotiate: SPNEGO tokens on threads.  Without a ticket: a quick error naming kinit.
 * Cancel in every state (queued, running, done but not delivered).  20 jobs at once: never
 * more than NEGOTIATE_MAX_THREADS threads, the queue served in order.  Cancelled jobs stuck
 * inside GSSAPI hold back no new job, and stay within NEGOTIATE_MAX_ALL_THREADS.  With a realm (run
 * under `python3 test/e2e/kdc.py --run ...`, which sets KRB5_CONFIG, NEGOTIATE_TEST_CCACHE and
 * NEGOTIATE_TEST_EXPIRED_CCACHE): a real token for HTTP@localhost, an unknown service and an
 * expired ticket.  Alone, the test writes a krb5.conf of its own so /etc is never read. */
#include <ev.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "negotiate.h"

extern void (*negotiate_test_hook)(const char *host);

#define NJOBS 20

struct result {
	int called;
	char token[16384];
	int has_token;
	char err[600];
};

static void done_cb(void *data, const char *token, const char *err)
{
	struct result *r = data;
	r->called++;
	if (token) {
		r->has_token = 1;
		snprintf(r->token, sizeof(r->token), "%s", token);
	} else {
		snprintf(r->err, sizeof(r->err), "%s", err ? err : "(null)");
	}
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Runs the loop until nothing is pending, bounded by a timer. */
static void run_loop(struct ev_loop *loop, double limit)
{
	double end = now() + limit;
	/* cancelled running jobs are freed by their threads, with nothing left on the loop */
	while (negotiate_pending() > 0 && now() < end)
		if (!ev_run(loop, EVRUN_ONCE))
			usleep(5000);
	CHECK_EQ_INT(negotiate_pending(), 0);
}

/* ---------------------------------------------------------------- a slow job, counted */

static pthread_mutex_t hook_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static int gate_open = 1; /* closed: jobs wait in the hook until the test opens it */
static int active, peak, started_n;
static double started_at[NJOBS];

static void slow_hook(const char *host)
{
	pthread_mutex_lock(&hook_lock);
	active++;
	if (active > peak)
		peak = active;
	if (host[0] == 'h') {
		started_n++;
		started_at[atoi(host + 1) % NJOBS] = now();
	}
	while (!gate_open)
		pthread_cond_wait(&gate_cond, &hook_lock);
	pthread_mutex_unlock(&hook_lock);
	usleep(100000);
	pthread_mutex_lock(&hook_lock);
	active--;
	pthread_mutex_unlock(&hook_lock);
}

/* ---------------------------------------------------------------- the tests */

static void test_bad_host(struct ev_loop *loop)
{
	char err[200] = "";
	struct result r = { 0 };
	CHECK(negotiate_start(loop, "", done_cb, &r, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "host") != NULL);
	CHECK(negotiate_start(loop, "a@EVIL.REALM", done_cb, &r, err, sizeof(err)) == NULL);
	CHECK(negotiate_start(loop, "a b", done_cb, &r, err, sizeof(err)) == NULL);
	char longhost[300];
	memset(longhost, 'a', sizeof(longhost) - 1);
	longhost[sizeof(longhost) - 1] = '\0';
	CHECK(negotiate_start(loop, longhost, done_cb, &r, err, sizeof(err)) == NULL);
	CHECK_EQ_INT(negotiate_pending(), 0);
}

static void test_no_ticket(struct ev_loop *loop, const char *nocache)
{
	setenv("KRB5CCNAME", nocache, 1);
	char err[200] = "";
	struct result r = { 0 };
	double t0 = now();
	struct negotiate_job *j = negotiate_start(loop, "localhost", done_cb, &r, err, sizeof(err));
	CHECK(j != NULL);
	CHECK_EQ_INT(r.called, 0); /* never from inside start */
	run_loop(loop, 10);
	double took = now() - t0;
	CHECK_EQ_INT(r.called, 1);
	CHECK_EQ_INT(r.has_token, 0);
	CHECK(strstr(r.err, "no Kerberos ticket (run kinit)") == r.err);
	CHECK(strchr(r.err, '\n') == NULL);
	CHECK(took < 2.0);
	printf("no ticket (%.3f s): %s\n", took, r.err);
}

static void test_cancel(struct ev_loop *loop)
{
	char err[200] = "";
	struct result r = { 0 };
	/* running (or about to): its thread frees it */
	negotiate_test_hook = slow_hook;
	struct negotiate_job *j = negotiate_start(loop, "localhost", done_cb, &r, err, sizeof(err));
	CHECK(j != NULL);
	negotiate_cancel(j);
	run_loop(loop, 10);
	CHECK_EQ_INT(r.called, 0);
	negotiate_test_hook = NULL;

	/* done but not yet delivered: the thread has sent the ev_async, the loop has not run */
	j = negotiate_start(loop, "localhost", done_cb, &r, err, sizeof(err));
	CHECK(j != NULL);
	usleep(500000);
	negotiate_cancel(j);
	run_loop(loop, 10);
	CHECK_EQ_INT(r.called, 0);
	CHECK_EQ_INT(ev_run(loop, EVRUN_NOWAIT), 0); /* nothing left active on the loop */
}

static void test_many(struct ev_loop *loop)
{
	char err[200] = "";
	static struct result r[NJOBS];
	struct negotiate_job *j[NJOBS];
	memset(r, 0, sizeof(r));
	peak = active = started_n = 0;
	gate_open = 0; /* so that no job finishes before the cancels below, however slow we are */
	negotiate_test_hook = slow_hook;
	for (int i = 0; i < NJOBS; i++) {
		char host[16];
		snprintf(host, sizeof(host), "h%d", i);
		j[i] = negotiate_start(loop, host, done_cb, &r[i], err, sizeof(err));
		CHECK(j[i] != NULL);
	}
	CHECK_EQ_INT(negotiate_pending(), NJOBS);
	/* one running, two queued */
	negotiate_cancel(j[1]);
	negotiate_cancel(j[9]);
	negotiate_cancel(j[19]);
	pthread_mutex_lock(&hook_lock);
	gate_open = 1;
	pthread_cond_broadcast(&gate_cond);
	pthread_mutex_unlock(&hook_lock);
	run_loop(loop, 20);
	negotiate_test_hook = NULL;
	int calls = 0;
	for (int i = 0; i < NJOBS; i++) {
		calls += r[i].called;
		if (i == 1 || i == 9 || i == 19)
			CHECK_EQ_INT(r[i].called, 0);
		else
			CHECK_EQ_INT(r[i].called, 1);
	}
	CHECK_EQ_INT(calls, NJOBS - 3);
	/* 8 live; job 1's thread, cancelled inside the hook, no longer counts, so job 8 got a
	 * thread beside it */
	CHECK(peak >= NEGOTIATE_MAX_THREADS && peak <= NEGOTIATE_MAX_THREADS + 1);
	/* job 1 was running when cancelled; 9 and 19 were dropped from the queue */
	CHECK_EQ_INT(started_n, NJOBS - 2);
	/* The FIFO: jobs take 100 ms each, so they run in waves of 8.  Job 8 got job 1's place
	 * when job 1 was cancelled, so the first wave is 0, 2..8, the second (10..17) has started
	 * before the third (18).  (The order inside a wave is the threads' race to the hook, not
	 * the queue's.) */
	double second_first = 1e18, second_last = 0, third_first = started_at[18];
	for (int i = 10; i < 18; i++) {
		if (started_at[i] > second_last)
			second_last = started_at[i];
		if (started_at[i] < second_first)
			second_first = started_at[i];
	}
	CHECK(started_at[8] < second_first);
	CHECK(second_last < third_first);
	printf("20 jobs: peak %d threads, %d started, %d delivered\n", peak, started_n, calls);
}

/* Jobs for hosts "s..." stay inside GSSAPI (here: the hook) until the gate opens, like a
 * KDC that accepts and never answers; other hosts pass straight through. */
static void stuck_hook(const char *host)
{
	pthread_mutex_lock(&hook_lock);
	if (host[0] == 's') {
		active++;
		while (!gate_open)
			pthread_cond_wait(&gate_cond, &hook_lock);
		active--;
	}
	pthread_mutex_unlock(&hook_lock);
}

static int in_hook(void)
{
	pthread_mutex_lock(&hook_lock);
	int n = active;
	pthread_mutex_unlock(&hook_lock);
	return n;
}

/* Runs the loop until r has been called or limit seconds pass. */
static void wait_called(struct ev_loop *loop, struct result *r, double limit)
{
	double end = now() + limit;
	while (!r->called && now() < end)
		if (!ev_run(loop, EVRUN_NOWAIT))
			usleep(5000);
}

/* A cancelled job whose thread is stuck (MIT krb5 waits ~25 s on a silent KDC) must not hold
 * back new jobs: once the KDC answers again they would all queue behind the stuck threads and
 * time out.  The stuck threads stay bounded, by NEGOTIATE_MAX_ALL_THREADS. */
static void test_abandoned(struct ev_loop *loop)
{
	char err[200] = "";
	struct negotiate_job *j;
	static struct result r;
	active = 0;
	gate_open = 0;
	negotiate_test_hook = stuck_hook;
	for (int i = 0; i < NEGOTIATE_MAX_THREADS; i++) {
		CHECK((j = negotiate_start(loop, "stuck", done_cb, &r, err, sizeof(err))) != NULL);
		negotiate_cancel(j);
	}
	memset(&r, 0, sizeof(r));
	CHECK(negotiate_start(loop, "fresh", done_cb, &r, err, sizeof(err)) != NULL);
	wait_called(loop, &r, 5);
	CHECK_EQ_INT(r.called, 1); /* before: queued behind the 8 stuck threads */
	CHECK_EQ_INT(in_hook(), NEGOTIATE_MAX_THREADS);

	/* abandoned threads up to the hard cap; beyond it jobs queue */
	for (int i = 0; i < 40; i++) {
		CHECK((j = negotiate_start(loop, "stuck", done_cb, &r, err, sizeof(err))) != NULL);
		negotiate_cancel(j);
	}
	for (double end = now() + 5; in_hook() < NEGOTIATE_MAX_ALL_THREADS && now() < end;)
		usleep(5000);
	usleep(100000);
	CHECK_EQ_INT(in_hook(), NEGOTIATE_MAX_ALL_THREADS);
	memset(&r, 0, sizeof(r));
	CHECK(negotiate_start(loop, "fresh", done_cb, &r, err, sizeof(err)) != NULL);
	wait_called(loop, &r, 0.3);
	CHECK_EQ_INT(r.called, 0);
	/* the first stuck thread to return takes it */
	pthread_mutex_lock(&hook_lock);
	gate_open = 1;
	pthread_cond_broadcast(&gate_cond);
	pthread_mutex_unlock(&hook_lock);
	run_loop(loop, 10);
	CHECK_EQ_INT(r.called, 1);
	negotiate_test_hook = NULL;
	printf("abandoned threads: a new job ran beside %d, at most %d existed\n", NEGOTIATE_MAX_THREADS,
	       NEGOTIATE_MAX_ALL_THREADS);
}

/* ---------------------------------------------------------------- with a realm */

static int b64val(char c)
{
	const char *s = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = strchr(s, c);
	return c && p ? (int)(p - s) : -1;
}

static size_t unbase64(const char *in, unsigned char *out, size_t cap)
{
	size_t n = 0;
	unsigned v = 0, bits = 0;
	for (; *in && *in != '='; in++) {
		int d = b64val(*in);
		if (d < 0)
			return 0;
		v = v << 6 | (unsigned)d;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n < cap)
				out[n++] = (unsigned char)(v >> bits);
		}
	}
	return n;
}

static void one(struct ev_loop *loop, const char *ccache, const char *host, struct result *r)
{
	char err[200] = "";
	setenv("KRB5CCNAME", ccache, 1);
	memset(r, 0, sizeof(*r));
	CHECK(negotiate_start(loop, host, done_cb, r, err, sizeof(err)) != NULL);
	run_loop(loop, 20);
	CHECK_EQ_INT(r->called, 1);
}

static void test_realm(struct ev_loop *loop)
{
	const char *cc = getenv("NEGOTIATE_TEST_CCACHE"), *expired = getenv("NEGOTIATE_TEST_EXPIRED_CCACHE");
	if (!cc) {
		printf("realm tests skipped: run under `python3 test/e2e/kdc.py --run` for them\n");
		return;
	}
	static struct result r;
	one(loop, cc, "localhost", &r);
	CHECK_EQ_INT(r.has_token, 1);
	unsigned char tok[12288];
	size_t n = unbase64(r.token, tok, sizeof(tok));
	/* RFC 2743 §3.1 InitialContextToken: [APPLICATION 0], then the SPNEGO OID 1.3.6.1.5.5.2 */
	CHECK(n > 20 && tok[0] == 0x60);
	static const unsigned char spnego[] = { 0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02 };
	size_t off = tok[1] & 0x80 ? 2 + (tok[1] & 0x7f) : 2;
	CHECK(n > off + sizeof(spnego) && memcmp(tok + off, spnego, sizeof(spnego)) == 0);
	CHECK_EQ_INT(strlen(r.token) % 4, 0);
	printf("token for HTTP@localhost: %zu bytes, %zu in base64\n", n, strlen(r.token));

	/* 20 at once against the KDC and one ticket cache (8 threads write service tickets) */
	static struct result many[NJOBS];
	memset(many, 0, sizeof(many));
	char err[200] = "";
	for (int i = 0; i < NJOBS; i++)
		CHECK(negotiate_start(loop, "localhost", done_cb, &many[i], err, sizeof(err)) != NULL);
	run_loop(loop, 30);
	int tokens = 0;
	for (int i = 0; i < NJOBS; i++)
		tokens += many[i].called == 1 && many[i].has_token;
	CHECK_EQ_INT(tokens, NJOBS);
	printf("20 tokens at once: %d made\n", tokens);

	one(loop, cc, "nosuch.localhost", &r);
	CHECK_EQ_INT(r.has_token, 0);
	CHECK(strstr(r.err, "server not found in Kerberos database (HTTP@nosuch.localhost)") == r.err);
	printf("unknown service: %s\n", r.err);

	if (expired) {
		double t0 = now();
		one(loop, expired, "localhost", &r);
		CHECK_EQ_INT(r.has_token, 0);
		CHECK(strstr(r.err, "(run kinit)") != NULL);
		CHECK(now() - t0 < 5.0);
		printf("expired ticket: %s\n", r.err);
	}
}

int main(void)
{
	char dir[] = "/tmp/test_negotiate.XXXXXX", conf[128] = "", nocache[160];
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	/* Never the machine's /etc/krb5.conf: its realm could send us to the network. */
	if (!getenv("NEGOTIATE_TEST_CCACHE")) {
		snprintf(conf, sizeof(conf), "%s/krb5.conf", dir);
		FILE *f = fopen(conf, "w");
		if (!f)
			return 1;
		fprintf(f, "[libdefaults]\n default_realm = TEST.INVALID\n dns_lookup_kdc = false\n"
			   " dns_lookup_realm = false\n rdns = false\n dns_canonicalize_hostname = false\n"
			   "[realms]\n TEST.INVALID = {\n  kdc = 127.0.0.1:1\n }\n");
		fclose(f);
		setenv("KRB5_CONFIG", conf, 1);
	}
	snprintf(nocache, sizeof(nocache), "FILE:%s/no-such.ccache", dir);

	struct ev_loop *loop = ev_default_loop(0);
	test_bad_host(loop);
	test_no_ticket(loop, nocache);
	test_cancel(loop);
	test_many(loop);
	test_abandoned(loop);
	test_realm(loop);

	if (conf[0])
		unlink(conf);
	rmdir(dir);
	usleep(100000); /* the last detached thread returns after it dropped its count */
	ev_loop_destroy(loop);
	return check_report();
}
