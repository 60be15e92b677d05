/* pacpipe: the PAC worker's pipeline for pac (see include/pac.h, include/pac_int.h).
 *
 * The worker answers in order, so the requests sent form a FIFO (p->pipe); the head is the
 * one running, since the previous reply came (or since it was sent to an idle worker):
 * that is the time the limit is measured from.  Past the limit the worker is killed, the
 * head fails, and a new worker gets the good script and the other queries again. */
#include "pac.h"
#include "pac_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static double limit_of(const struct pac *p, enum pipe_kind k)
{
	return k == PIPE_QUERY || p->timeout > PAC_LOAD_LIMIT_MIN ? p->timeout : PAC_LOAD_LIMIT_MIN;
}

static void arm_limit(struct pac *p)
{
	ev_timer_stop(p->loop, &p->limit);
	if (p->pipe_n == 0)
		return;
	double left = p->head_start + limit_of(p, p->pipe[p->pipe_head].kind) - ev_now(p->loop);
	ev_timer_set(&p->limit, left > 0.001 ? left : 0.001, 0);
	ev_timer_start(p->loop, &p->limit);
}

static int pipe_push(struct pac *p, enum pipe_kind kind, struct pac_call *c)
{
	if (p->pipe_n == PAC_PIPE_MAX)
		return -1;
	p->pipe[(p->pipe_head + p->pipe_n) % PAC_PIPE_MAX] = (struct pipe_item){kind, c};
	if (p->pipe_n++ == 0) {
		p->head_start = ev_now(p->loop);
		arm_limit(p);
	}
	return 0;
}

static struct pipe_item pipe_pop(struct pac *p)
{
	struct pipe_item it = p->pipe[p->pipe_head];
	p->pipe_head = (p->pipe_head + 1) % PAC_PIPE_MAX;
	p->pipe_n--;
	p->head_start = ev_now(p->loop);
	arm_limit(p);
	return it;
}

static int send_script(struct pac *p, enum pipe_kind kind, const char *text, size_t len)
{
	char hdr[32];
	int n = snprintf(hdr, sizeof(hdr), "S %zu\n", len);
	if (pacproc_send(&p->proc, hdr, (size_t)n, text, len) < 0 || pipe_push(p, kind, NULL) < 0)
		return -1;
	p->loads_inflight++;
	return 0;
}

/* Failures of the script (thrown, time limit) are remembered too, so an
 * endless call is not run again for every tunnel, but for PAC_FAILED_TTL at most: a PAC that
 * hung on a slow DNS lookup gets another chance soon. */
static void cache_put(struct pac *p, const struct pac_call *c, int status, const char *text)
{
	double ttl = p->cache_ttl;
	if (status != PAC_ANSWER && ttl > PAC_FAILED_TTL)
		ttl = PAC_FAILED_TTL;
	paccache_put(&p->cache, c->host, c->port, status, text, ev_now(p->loop), ttl);
}

/* The next start waits p->backoff (doubling up to PAC_BACKOFF_MAX); calls meanwhile fail. */
static void backoff(struct pac *p)
{
	ev_timer_stop(p->loop, &p->restart);
	ev_timer_set(&p->restart, p->backoff, 0);
	ev_timer_start(p->loop, &p->restart);
	p->backoff = p->backoff * 2 < PAC_BACKOFF_MAX ? p->backoff * 2 : PAC_BACKOFF_MAX;
}

/* Starts a worker (within PAC_MAX_RESTARTS a minute) and gives it the script(s). */
static int start_worker(struct pac *p)
{
	ev_tstamp now = ev_now(p->loop);
	char err[160];
	if (p->nstarts == PAC_MAX_RESTARTS && now - p->starts[0] < 60) {
		double wait = p->starts[0] + 60 - now;
		log_error("PAC worker restarted %d times within a minute: next start in %.0fs", PAC_MAX_RESTARTS, wait);
		ev_timer_stop(p->loop, &p->restart);
		ev_timer_set(&p->restart, wait, 0);
		ev_timer_start(p->loop, &p->restart);
		return -1;
	}
	if (p->nstarts == PAC_MAX_RESTARTS)
		memmove(p->starts, p->starts + 1, sizeof(p->starts[0]) * --p->nstarts);
	p->starts[p->nstarts++] = now;
	if (p->worker_path[0] == '\0' || pacproc_start(&p->proc, p->worker_path, err, sizeof(err)) < 0) {
		log_error("PAC: %s", p->worker_path[0] ? err : "the worker executable is unknown");
		backoff(p);
		return -1;
	}
	log_debug("PAC worker %ld started", (long)p->proc.pid);
	p->loaded = 0;
	p->loads_inflight = 0;
	p->trying_sent = 0;
	if (p->good != NULL && send_script(p, PIPE_RELOAD, p->good, p->good_len) < 0) {
		pacproc_stop(&p->proc);
		return -1;
	}
	return 0;
}

/* The worker is gone (killed by us or dead): SENT calls go back to the queue, or fail
 * (fail_sent, with why) when the worker died on its own. */
static void worker_gone(struct pac *p, const char *fail_sent)
{
	pacproc_stop(&p->proc);
	p->loaded = 0;
	p->loads_inflight = 0;
	p->trying_sent = 0;
	p->pipe_n = 0;
	ev_timer_stop(p->loop, &p->limit);
	for (struct pac_call *c = p->active.next, *next; c != &p->active; c = next) {
		next = c->next;
		if (c->state != CALL_SENT)
			continue;
		c->state = CALL_QUEUED;
		if (fail_sent != NULL)
			pac_finish_call(p, c, PAC_FAILED, fail_sent);
	}
}

static void limit_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct pac *p = t->data;
	(void)loop;
	(void)revents;
	if (p->pipe_n == 0)
		return;
	struct pipe_item it = p->pipe[p->pipe_head];
	char msg[96];
	snprintf(msg, sizeof(msg), "PAC call exceeded %gs", limit_of(p, it.kind));
	if (it.kind == PIPE_QUERY)
		log_warn("PAC worker %ld killed: FindProxyForURL for %s:%u exceeded %gs", (long)p->proc.pid, it.call->host,
			 it.call->port, limit_of(p, it.kind));
	else
		log_warn("PAC worker %ld killed: loading the script exceeded %gs", (long)p->proc.pid, limit_of(p, it.kind));
	p->pipe_head = (p->pipe_head + 1) % PAC_PIPE_MAX;
	p->pipe_n--;
	if (it.kind == PIPE_QUERY) {
		cache_put(p, it.call, PAC_FAILED, msg);
		pac_finish_call(p, it.call, PAC_FAILED, msg);
	}
	worker_gone(p, NULL);
	if (it.kind == PIPE_SCRIPT) {
		snprintf(msg, sizeof(msg), "loading the script exceeded %gs", limit_of(p, it.kind));
		pac_script_failed(p, msg);
	} else if (it.kind == PIPE_RELOAD) {
		backoff(p); /* the good script itself hangs now: the backoff paces the retries */
	}
	pacpipe_pump(p);
}

static void dead_cb(struct pacproc *pp, const char *why)
{
	struct pac *p = pp->data;
	char msg[160];
	int lived = ev_now(p->loop) - pp->started >= 60;
	snprintf(msg, sizeof(msg), "PAC worker died (%s)", why);
	log_warn("%s; restarting it in %gs", msg, lived ? PAC_BACKOFF_FIRST : p->backoff);
	int was_script = p->pipe_n > 0 && p->pipe[p->pipe_head].kind == PIPE_SCRIPT;
	worker_gone(p, msg);
	if (lived)
		p->backoff = PAC_BACKOFF_FIRST;
	backoff(p);
	if (was_script)
		pac_script_failed(p, "the worker died loading it");
	pacpipe_pump(p);
}

static void restart_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	pacpipe_pump(t->data);
}

static void protocol_error(struct pac *p, const char *line)
{
	char msg[160];
	snprintf(msg, sizeof(msg), "PAC worker out of step (\"%.60s\")", line);
	log_error("%s: restarting it", msg);
	worker_gone(p, msg);
	pacpipe_pump(p);
}

static void line_cb(struct pacproc *pp, char *line, size_t len)
{
	struct pac *p = pp->data;
	(void)len;
	if (p->pipe_n == 0) {
		protocol_error(p, line);
		return;
	}
	struct pipe_item head = p->pipe[p->pipe_head];
	if (line[0] == 'S' && line[1] == ' ' && head.kind != PIPE_QUERY) {
		int ok = strcmp(line, "S OK") == 0;
		if (!ok && strncmp(line, "S ERR", 5) != 0) {
			protocol_error(p, line);
			return;
		}
		pipe_pop(p);
		p->loads_inflight--;
		if (ok) {
			p->loaded = 1;
			p->backoff = PAC_BACKOFF_FIRST;
		}
		if (head.kind == PIPE_SCRIPT) {
			if (ok)
				pac_script_loaded(p);
			else
				pac_script_failed(p, line[5] == ' ' ? line + 6 : "it does not load");
		} else if (!ok) {
			/* it loaded before: its top level depends on something (DNS, the time) */
			log_error("PAC: the last good script no longer loads in a new worker (%s): retrying in %gs",
				  line[5] ? line + 6 : "", p->backoff);
			worker_gone(p, NULL);
			backoff(p);
		}
		pacpipe_pump(p);
		return;
	}
	char *end;
	unsigned long id = (line[0] == 'A' || line[0] == 'E') && line[1] == ' ' ? strtoul(line + 2, &end, 10) : 0;
	if (head.kind != PIPE_QUERY || id == 0 || id != head.call->id || (*end != ' ' && *end != '\0')) {
		protocol_error(p, line);
		return;
	}
	pipe_pop(p);
	struct pac_call *c = head.call;
	const char *text = *end ? end + 1 : "";
	if (line[0] == 'A') {
		char err[128];
		if (pacanswer_parse(text, strlen(text), &c->res.ans, err, sizeof(err)) == 0) {
			cache_put(p, c, PAC_ANSWER, text);
			pac_finish_call(p, c, PAC_ANSWER, "");
		} else {
			/* a successful answer with nothing usable in it ("", ";"): DIRECT, as
			 * browsers take it (Chromium's ProxyList::SetFromPacString) */
			log_debug("PAC answer for %.60s has no usable entry (%.70s): DIRECT, as browsers do", c->host, err);
			(void)pacanswer_parse("DIRECT", 6, &c->res.ans, err, sizeof(err));
			cache_put(p, c, PAC_ANSWER, "DIRECT");
			pac_finish_call(p, c, PAC_ANSWER, "");
		}
	} else {
		char msg[160];
		snprintf(msg, sizeof(msg), "PAC error: %s", text);
		cache_put(p, c, PAC_FAILED, msg);
		pac_finish_call(p, c, PAC_FAILED, msg);
	}
	pacpipe_pump(p);
}

/* Sends what can be sent, fails what cannot wait. */
void pacpipe_pump(struct pac *p)
{
	if (p->good == NULL && p->trying == NULL) {
		if (!p->first_pending)
			pac_fail_calls(p, 1, PAC_NO_SCRIPT, "no PAC script");
		return;
	}
	if (p->proc.fd < 0) {
		if (ev_is_active(&p->restart) || start_worker(p) < 0) {
			pac_fail_calls(p, 0, p->good ? PAC_FAILED : PAC_NO_SCRIPT, "PAC worker restarting");
			return;
		}
	}
	if (p->trying != NULL && !p->trying_sent) {
		if (send_script(p, PIPE_SCRIPT, p->trying, p->trying_len) < 0)
			pac_script_failed(p, "cannot send it to the worker");
		else
			p->trying_sent = 1;
	}
	if (!p->loaded) {
		if (p->loads_inflight == 0 || (p->good == NULL && !p->first_pending))
			pac_fail_calls(p, 0, p->good ? PAC_FAILED : PAC_NO_SCRIPT,
				   p->good ? "PAC script not loaded in the worker" : "no PAC script");
		return;
	}
	for (struct pac_call *c = p->active.next; c != &p->active; c = c->next) {
		if (c->state != CALL_QUEUED)
			continue;
		char line[600], url[300];
		if (pacanswer_url(c->host, c->port, url, sizeof(url)) < 0) {
			struct pac_call *prev = c->prev;
			pac_finish_call(p, c, PAC_FAILED, "host name too long for a PAC url");
			c = prev;
			continue;
		}
		int n = snprintf(line, sizeof(line), "Q %u %s %s\n", c->id, c->host, url);
		if (p->pipe_n == PAC_PIPE_MAX || pacproc_send(&p->proc, line, (size_t)n, NULL, 0) < 0)
			return; /* sent once the pipeline drains */
		pipe_push(p, PIPE_QUERY, c);
		c->state = CALL_SENT;
	}
}


void pacpipe_init(struct pac *p)
{
	pacproc_init(&p->proc, p->loop, line_cb, dead_cb, p);
	ev_timer_init(&p->limit, limit_cb, 0, 0);
	ev_timer_init(&p->restart, restart_cb, 0, 0);
	p->limit.data = p->restart.data = p;
	p->backoff = PAC_BACKOFF_FIRST;
}

void pacpipe_destroy(struct pac *p)
{
	ev_timer_stop(p->loop, &p->limit);
	ev_timer_stop(p->loop, &p->restart);
	pacproc_destroy(&p->proc);
}
