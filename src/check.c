/* check: one tunnel walked stage by stage (see include/check.h).
 *
 * Stages: config, route, resolve, connect, tls (https:// proxies), proxy-reply (each answer:
 * a 407 the dialer answers too), first-bytes.  The dial reports its steps through its observer hook;
 * once it is done the tunnel is read for up to BANNER_WAIT seconds, for servers that speak
 * first (SSH, SMTP). */
#include "check.h"

#include <errno.h>
#include <ev.h>
#include <signal.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bufpool.h"
#include "config.h"
#include "dial.h"
#include "generation.h"
#include "httpc.h"
#include "jsonw.h"
#include "log.h"
#include "pac.h"
#include "pacplan.h"
#include "route.h"
#include "upstream.h"

#define BANNER_WAIT 2.0
#define MAX_STAGES 24
#define DEFAULT_TARGET "example.com:443"

struct stage {
	const char *name;
	int ok;
	double ms;
	char detail[320];
};

struct check {
	struct ev_loop *loop;
	struct generation *gen;
	struct bufpool pool;
	struct dial dial;
	struct route_plan plan;
	struct pac_waiter pac_wait;
	struct pac_result pac;   /* the PAC's answer for the target */
	ev_timer pac_timer;
	struct stream up;
	ev_timer banner_timer;
	const char *target;
	double t0, last;
	int connected;           /* the current proxy accepted the TCP connection */
	int tls_failed;          /* its TLS handshake failed (said in the tls stage) */
	int ok;                  /* the tunnel worked */
	int reply_status;
	unsigned auth_offered;   /* HTTPC_AUTH_* from the last answer */
	unsigned auth_sent;      /* the scheme of the credentials in the answered request */
	char auth_why[256];      /* why no scheme could answer the 407, "" if none */
	char verdict[160];
	char advice[4][320];
	size_t nadvice;
	struct stage stages[MAX_STAGES];
	size_t nstages;
};

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static struct stage *stage(struct check *c, const char *name, int ok, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static struct stage *stage(struct check *c, const char *name, int ok, const char *fmt, ...)
{
	if (c->nstages == MAX_STAGES)
		return &c->stages[MAX_STAGES - 1];
	struct stage *s = &c->stages[c->nstages++];
	double t = now_ms();
	s->name = name;
	s->ok = ok;
	s->ms = t - c->last;
	c->last = t;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->detail, sizeof(s->detail), fmt, ap);
	va_end(ap);
	return s;
}

static void advise(struct check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void advise(struct check *c, const char *fmt, ...)
{
	if (c->nadvice == sizeof(c->advice) / sizeof(c->advice[0]))
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->advice[c->nadvice++], sizeof(c->advice[0]), fmt, ap);
	va_end(ap);
}

static const char *schemes_text(unsigned s, char *out, size_t cap)
{
	static const char *const names[] = {"Basic", "Digest", "NTLM", "Negotiate", "other"};
	out[0] = '\0';
	for (size_t i = 0; i < 5; i++)
		if (s & (1u << i))
			snprintf(out + strlen(out), cap - strlen(out), "%s%s", out[0] ? ", " : "", names[i]);
	if (out[0] == '\0')
		snprintf(out, cap, "none");
	return out;
}

static const struct upstream *cur(const struct check *c)
{
	return &c->gen->upstreams[c->dial.proxy_idx];
}

/* The name being resolved and the peer being connected: the proxy's, or for a direct
 * step the target's. */
static const char *peer_host(const struct check *c)
{
	return c->dial.direct ? c->dial.host : cur(c)->spec->host;
}

static const char *peer(const struct check *c)
{
	return c->dial.direct ? c->dial.target : cur(c)->display;
}

static void event_cb(struct dial *d, enum dial_event ev, const void *info)
{
	struct check *c = d->data;
	char addr[64];

	switch (ev) {
	case DIAL_EV_PROXY:
		c->connected = 0;
		if (d->tried > 1)
			stage(c, "failover", 1, "trying the next proxy, %s", cur(c)->display);
		break;
	case DIAL_EV_RESOLVED: {
		const struct resolver_result *r = info;
		char list[256] = "";
		for (unsigned i = 0; i < r->n && strlen(list) < sizeof(list) - 64; i++)
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "",
				 log_addr((const struct sockaddr *)&r->addr[i], addr, sizeof(addr)));
		stage(c, "resolve", 1, "%s -> %s", peer_host(c), list);
		break;
	}
	case DIAL_EV_RESOLVE_FAILED:
		stage(c, "resolve", 0, "cannot resolve %s: %s", peer_host(c), (const char *)info);
		if (c->dial.direct)
			advise(c, "the target's name %s does not resolve (a direct route: check the name and --dns-servers)",
			       peer_host(c));
		else
			advise(c, "the proxy's name %s does not resolve: check -x / https_proxy (and the DNS: --dns-servers)",
			       peer_host(c));
		break;
	case DIAL_EV_CONNECTED:
		c->connected = 1;
		stage(c, "connect", 1, "%s", log_addr((const struct sockaddr *)info, addr, sizeof(addr)));
		break;
	case DIAL_EV_TLS: {
		const char *what = info;
		int ok = strcmp(what, "resumed") == 0 || strcmp(what, "full handshake") == 0;
		stage(c, "tls", ok, "%s%s", what, ok && c->gen->cfg->proxy_insecure ? " (certificate NOT verified)" : "");
		c->tls_failed = !ok;
		if (!ok && (strstr(what, "verif") || strstr(what, "issuer") || strstr(what, "self-signed")))
			advise(c, "the proxy's certificate is not trusted here: give its CA with --proxy-cacert FILE");
		else if (!ok && strstr(what, "mismatch"))
			advise(c, "the proxy's certificate is for another name: use the name it was issued for in -x");
		else if (!ok)
			advise(c, "the TLS handshake with %s failed: is it an https:// proxy?", cur(c)->display);
		break;
	}
	case DIAL_EV_AUTH:
		snprintf(c->auth_why, sizeof(c->auth_why), "%s", (const char *)info);
		break;
	case DIAL_EV_CONNECT_FAILED: {
		const char *what = info;
		if (c->tls_failed) { /* the tls stage said it */
			c->tls_failed = c->connected = 0;
			break;
		}
		if (c->connected) {
			stage(c, "proxy-reply", 0, "%s %s", cur(c)->display, what);
			advise(c, "the proxy at %s closed the connection without answering: is it an HTTP proxy?",
			       cur(c)->display);
			c->connected = 0;
			break;
		}
		stage(c, "connect", 0, "%s: %s", peer(c), what);
		if (c->dial.direct)
			advise(c, "%s cannot be reached directly (the route says direct: --route / --no-proxy)", peer(c));
		else if (strstr(what, "refused"))
			advise(c, "nothing accepts connections at %s: check the port in -x / https_proxy",
			       cur(c)->display);
		else if (strstr(what, "timed out"))
			advise(c, "%s did not accept the connection in time (a firewall, or a wrong address): "
				  "check -x / https_proxy, or raise --connect-timeout", cur(c)->display);
		else
			advise(c, "%s cannot be reached: check -x / https_proxy and the network", cur(c)->display);
		break;
	}
	case DIAL_EV_REPLY: {
		const struct httpc_response *r = info;
		char offered[64], sent[16];
		c->reply_status = r->status;
		/* all challenges, as auth reads them (several may share a value); the head is in rx */
		c->auth_offered = auth_offered(c->dial.rx.data + c->dial.rx.start, buf_len(&c->dial.rx));
		c->auth_sent = c->dial.ar.sent;
		/* a 407 the dialer answers is a step, not a failure */
		stage(c, "proxy-reply", (r->status >= 100 && r->status <= 299) || r->status == 407,
		      "%d %s%s%s; auth offered: %s; sent: %s", r->status, r->reason, r->squid_error[0] ? "; X-Squid-Error: " : "",
		      r->squid_error, schemes_text(c->auth_offered, offered, sizeof(offered)),
		      schemes_text(c->auth_sent, sent, sizeof(sent)));
		break;
	}
	}
}

/* What a refusal means for the user. */
static void advise_refusal(struct check *c)
{
	const char *colon = strrchr(c->target, ':');
	int port = colon ? atoi(colon + 1) : 0;
	char offered[64], sent[16];
	int st = c->reply_status;

	if (st == 407) {
		schemes_text(c->auth_offered, offered, sizeof(offered));
		if (c->auth_why[0] != '\0')
			advise(c, "authentication failed: %s", c->auth_why);
		if (c->auth_sent)
			advise(c, "the proxy refused our %s credentials (it offers: %s): check the user and password "
				  "in -x, or SOCKS2HTTP_PROXY_PASSWORD%s", schemes_text(c->auth_sent, sent, sizeof(sent)), offered,
			       c->auth_sent == HTTPC_AUTH_NEGOTIATE ? " (for Negotiate: klist, kinit)" : "");
		else if (c->auth_offered & ~(unsigned)HTTPC_AUTH_NEGOTIATE)
			advise(c, "the proxy wants credentials (it offers: %s): give user:password in the -x URL, "
				  "or a user there and SOCKS2HTTP_PROXY_PASSWORD", offered);
		else
			advise(c, "the proxy wants a Kerberos ticket (it offers: %s): run kinit, check klist", offered);
	} else if (st == 403 && port != 443) {
		advise(c, "the proxy refuses CONNECT to port %d: many proxies allow only 443", port);
	} else if (st == 403) {
		advise(c, "the proxy's rules forbid a tunnel to %s", c->target);
	} else if (st >= 500) {
		advise(c, "the proxy could not open the path to %s (%d): the target may be down or unknown to its DNS",
		       c->target, st);
	} else {
		advise(c, "the proxy answered %d to CONNECT %s", st, c->target);
	}
}

static void finish(struct check *c, int ok, const char *verdict)
{
	c->ok = ok;
	snprintf(c->verdict, sizeof(c->verdict), "%s", verdict);
	ev_break(c->loop, EVBREAK_ALL);
}

static void banner_show(struct check *c, const unsigned char *p, size_t n)
{
	char text[96];
	size_t o = 0;
	for (size_t i = 0; i < n && o + 5 < sizeof(text); i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f)
			text[o++] = (char)p[i];
		else
			o += (size_t)snprintf(text + o, sizeof(text) - o, "\\x%02x", p[i]);
	}
	text[o] = '\0';
	stage(c, "first-bytes", 1, "%zu bytes from the target: %s", n, text);
	finish(c, 1, "the tunnel works");
}

static void banner_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct check *c = w->data;
	(void)loop;
	(void)revents;
	stage(c, "first-bytes", 1, "none within %gs (normal for TLS and HTTP: the client speaks first)", BANNER_WAIT);
	finish(c, 1, "the tunnel works");
}

static void banner_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct check *c = w->data;
	unsigned char buf[64];
	(void)loop;
	(void)revents;
	ssize_t n = stream_read(&c->up, buf, sizeof(buf));
	if (n == STREAM_AGAIN)
		return;
	ev_timer_stop(c->loop, &c->banner_timer);
	stream_watch(c->loop, &c->up, 0);
	if (n > 0) {
		banner_show(c, buf, (size_t)n);
		return;
	}
	stage(c, "first-bytes", 1, "the tunnel was closed before any byte came (nothing listening at %s?)", c->target);
	advise(c, "the proxy opened the tunnel but it closed at once: is a server listening at %s?", c->target);
	finish(c, 1, "the tunnel opened, then closed");
}

static void done_cb(struct dial *d, const struct outcome *o)
{
	struct check *c = d->data;

	if (o->stage == OUTCOME_OK) {
		struct buf left = {NULL, 0, 0};
		dial_take(d, &left);
		stream_set_cb(c->loop, &c->up, banner_cb, c);
		if (buf_len(&left) > 0) { /* the target's first bytes came with the proxy's 200 */
			size_t n = buf_len(&left) < 64 ? buf_len(&left) : 64;
			banner_show(c, (const unsigned char *)left.data + left.start, n);
			buf_release(&c->pool, &left, 1);
			return;
		}
		buf_release(&c->pool, &left, 1);
		stream_watch(c->loop, &c->up, EV_READ);
		ev_timer_set(&c->banner_timer, BANNER_WAIT, 0);
		ev_timer_start(c->loop, &c->banner_timer);
		return;
	}
	switch (o->stage) {
	case OUTCOME_UNREACHABLE:
		finish(c, 0, "no proxy could be reached");
		break;
	case OUTCOME_TARGET:
		finish(c, 0, o->err == ENOENT ? "the target's name was not found" : "the target could not be reached directly");
		break;
	case OUTCOME_PROXY_REPLY:
		advise_refusal(c);
		finish(c, 0, "the proxy refused the tunnel");
		break;
	case OUTCOME_BAD_REPLY:
		stage(c, "proxy-reply", 0, "the answer from %s is not a valid HTTP response", dial_proxy_name(d));
		advise(c, "the proxy's answer is malformed or cut short: is -x an HTTP proxy (not SOCKS, not TLS)?");
		finish(c, 0, "the proxy's answer was malformed");
		break;
	case OUTCOME_REPLY_TIMEOUT:
		stage(c, "proxy-reply", 0, "no answer from %s within %gs", dial_proxy_name(d),
		      c->gen->cfg->reply_timeout);
		advise(c, "the proxy accepted the connection but did not answer CONNECT: is it an HTTP proxy?");
		finish(c, 0, "the proxy did not answer");
		break;
	default:
		stage(c, "local", 0, "%s: %s", o->reason, strerror(o->err));
		finish(c, 0, "a local failure");
		break;
	}
}

static void print_text(const struct check *c, double total)
{
	printf("socks2http check %s\n", c->target);
	for (size_t i = 0; i < c->nstages; i++) {
		const struct stage *s = &c->stages[i];
		printf("  %-4s %8.1f ms  %-12s %s\n", s->ok ? "ok" : "FAIL", s->ms, s->name, s->detail);
	}
	for (size_t i = 0; i < c->nadvice; i++)
		printf("advice: %s\n", c->advice[i]);
	printf("verdict: %s (%.1f ms)\n", c->verdict, total);
}

static int print_json(const struct check *c, double total)
{
	struct jsonw j;
	jsonw_init(&j, 1 << 20);
	jsonw_printf(&j, "{\"target\":");
	jsonw_str(&j, c->target);
	jsonw_printf(&j, ",\"ok\":%s,\"ms\":%.1f,\"stages\":[", c->ok ? "true" : "false", total);
	for (size_t i = 0; i < c->nstages; i++) {
		const struct stage *s = &c->stages[i];
		jsonw_printf(&j, "%s{\"name\":", i ? "," : "");
		jsonw_str(&j, s->name);
		jsonw_printf(&j, ",\"ok\":%s,\"ms\":%.1f,\"detail\":", s->ok ? "true" : "false", s->ms);
		jsonw_str(&j, s->detail);
		jsonw_printf(&j, "}");
	}
	jsonw_printf(&j, "],\"verdict\":");
	jsonw_str(&j, c->verdict);
	jsonw_printf(&j, ",\"advice\":[");
	for (size_t i = 0; i < c->nadvice; i++) {
		jsonw_printf(&j, "%s", i ? "," : "");
		jsonw_str(&j, c->advice[i]);
	}
	jsonw_printf(&j, "]}\n");
	int rc = j.full ? -1 : 0;
	fputs(jsonw_text(&j), stdout);
	jsonw_free(&j);
	return rc;
}

/* The config file named on the command line (the last -c wins, as it is applied last). */
static void pac_cb(struct pac_waiter *w, const struct pac_result *r)
{
	struct check *c = (struct check *)(void *)((char *)w - offsetof(struct check, pac_wait));
	c->pac = *r;
	ev_break(c->loop, EVBREAK_ONE);
}

static void pac_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)revents;
	(void)w;
	ev_break(loop, EVBREAK_ONE);
}

/* The PAC's word for the target: fetched and asked as the daemon would (the wait bounded
 * by the fetch's and the call's time limits), shown as a stage, turned into the plan. */
static void ask_pac(struct check *c, const char *host, uint16_t port, struct route_plan *plan)
{
	const struct config *cfg = c->gen->cfg;
	c->pac.status = -1;
	if (!pac_cached(c->gen->pac, host, port, &c->pac)) {
		ev_timer_init(&c->pac_timer, pac_timer_cb, PAC_FETCH_TIMEOUT + cfg->pac_timeout + 1, 0);
		ev_timer_start(c->loop, &c->pac_timer);
		pac_find(c->gen->pac, host, port, &c->pac_wait, pac_cb);
		ev_run(c->loop, 0);
		ev_timer_stop(c->loop, &c->pac_timer);
		if (c->pac.status < 0) {
			pac_cancel(c->gen->pac, &c->pac_wait);
			c->pac.status = PAC_FAILED;
			snprintf(c->pac.msg, sizeof(c->pac.msg), "no answer in time");
		}
	}
	if (c->pac.status == PAC_NO_SCRIPT)
		stage(c, "pac", 0, "%s could not be fetched (%s): targets go direct", cfg->pac_url,
		      pac_last_error(c->gen->pac));
	else if (c->pac.status == PAC_FAILED)
		stage(c, "pac", 0, "FindProxyForURL failed: %s", c->pac.msg);
	else
		stage(c, "pac", 1, "%u entries from %s", (unsigned)c->pac.ans.n, cfg->pac_url);
	pacplan(c->gen, &c->pac, ev_now(c->loop), "check", c->target, plan);
}

/* The dial and the wait for the target's first bytes. */
static void run(struct check *c)
{
	ev_timer_init(&c->banner_timer, banner_timer_cb, 0, 0);
	c->banner_timer.data = c;
	memset(&c->dial, 0, sizeof(c->dial));
	c->dial.event = event_cb;
	dial_start(&c->dial, c->loop, &c->pool, c->gen, "check", c->target, &c->plan, &c->up, done_cb, c);
	ev_run(c->loop, 0);
	ev_timer_stop(c->loop, &c->banner_timer);
	dial_stop(&c->dial);
	stream_close(c->loop, &c->up);
}

static void check_usage(void)
{
	printf("Usage: socks2http check [TARGET] [options] [--json]\n"
	       "Opens one tunnel to TARGET (host:port, default " DEFAULT_TARGET ") with the configuration the\n"
	       "daemon would use (the same options, config file and environment) and prints each stage\n"
	       "with its time: configuration, route, the proxy's name, TCP connect, the CONNECT answer,\n"
	       "the target's first bytes.  Exit status 0 when the tunnel worked, 1 when not, 2 for usage.\n"
	       "  --json    one JSON object: target, ok, ms, stages [{name, ok, ms, detail}], verdict, advice\n");
}

int check_main(int argc, char **argv)
{
	char err[CONFIG_ERR_MAX];
	int json = 0;
	const char *target = NULL;
	char **args = calloc((size_t)argc + 1, sizeof(char *));
	int nargs = 0;

	if (args == NULL)
		return 1;
	args[nargs++] = "socks2http";
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			json = 1;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			check_usage();
			free(args);
			return 0;
		} else if (argv[i][0] != '-' && target == NULL) {
			target = argv[i];
		} else {
			args[nargs++] = argv[i];
			if (config_arg_takes_next(argv[i]) && i + 1 < argc)
				args[nargs++] = argv[++i];
		}
	}
	if (target == NULL)
		target = DEFAULT_TARGET;
	const char *colon = strrchr(target, ':');
	if (colon == NULL || atoi(colon + 1) <= 0 || atoi(colon + 1) > 65535 || strlen(target) > SOCKS_NAME_MAX + 6) {
		fprintf(stderr, "socks2http check: TARGET must be host:port, not '%s'\n", target);
		free(args);
		return 2;
	}

	struct check c;
	memset(&c, 0, sizeof(c));
	c.target = target;
	c.t0 = c.last = now_ms();
	struct config *cfg = malloc(sizeof(*cfg));
	if (cfg == NULL) {
		free(args);
		return 1;
	}
	config_init(cfg);
	enum config_action act = config_load(cfg, nargs, args, config_getenv, err, sizeof(err)); /* as the daemon */
	const char *file = config_file_read(cfg, nargs, args);
	free(args);
	int rc = act == CONFIG_RUN ? config_finish(cfg, config_getenv, err, sizeof(err)) : 0;
	if (act == CONFIG_EXIT_OK || act == CONFIG_USAGE || rc < 0) {
		if (act != CONFIG_EXIT_OK)
			fprintf(stderr, "socks2http check: %s (see socks2http check --help)\n", err);
		if (act == CONFIG_RUN)
			config_free(cfg);
		free(cfg);
		return act == CONFIG_EXIT_OK ? 0 : 2;
	}
	if (act == CONFIG_FAIL || rc > 0) {
		stage(&c, "config", 0, "%s", err);
		if (rc > 0)
			advise(&c, "name the proxy with -x http://host:port, or set https_proxy in the environment");
		snprintf(c.verdict, sizeof(c.verdict), "no usable configuration");
		if (act == CONFIG_RUN)
			config_free(cfg);
		free(cfg);
		goto report;
	}
	log_set_level(cfg->log_level > LOG_LVL_INFO ? LOG_LVL_DEBUG : LOG_LVL_ERROR);
	cfg->prewarm = 0;
	char proxies[400] = "";
	for (size_t i = 0; i < cfg->nproxies && strlen(proxies) < sizeof(proxies) - 100; i++)
		snprintf(proxies + strlen(proxies), sizeof(proxies) - strlen(proxies), "%s%s:%u", i ? ", " : "",
			 cfg->proxies[i].host, cfg->proxies[i].port);
	stage(&c, "config", 1, "proxy_source=%s config_file=%s proxies: %s; rules: %zu%s%s%s",
	      cfg->proxy_source[0] ? cfg->proxy_source : "-", file ? file : "none", proxies[0] ? proxies : "none",
	      cfg->nrules, cfg->noproxy_set ? "; no_proxy" : "", cfg->pac_url[0] ? "; pac: " : "", cfg->pac_url);

	signal(SIGPIPE, SIG_IGN);
	c.loop = ev_loop_new(EVFLAG_AUTO);
	if (c.loop == NULL || bufpool_init(&c.pool, cfg->buffer_size, 2) < 0) {
		fprintf(stderr, "socks2http check: cannot start the event loop\n");
		return 1;
	}
	log_attach(c.loop);
	c.gen = generation_new(c.loop, cfg, NULL, err, sizeof(err));
	if (c.gen == NULL) {
		stage(&c, "config", 0, "%s", err);
		snprintf(c.verdict, sizeof(c.verdict), "no usable configuration");
	} else {
		struct route_plan *plan = &c.plan;
		char order[400] = "", host[SOCKS_NAME_MAX + 1];
		uint16_t port;
		route_split_target(target, host, sizeof(host), &port);
		if (!route_decide(cfg, &c.gen->health, ev_now(c.loop), host, port, plan) && c.gen->pac != NULL)
			ask_pac(&c, host, port, plan);
		else if (plan->source == ROUTE_SRC_DEFAULT)
			route_plan(&c.gen->health, cfg->nproxies, ev_now(c.loop), target, plan);
		for (size_t i = 0; i < plan->n && strlen(order) < sizeof(order) - 100; i++)
			snprintf(order + strlen(order), sizeof(order) - strlen(order), "%s%s",
				 i == 0 ? "" : plan->kind == ROUTE_CHAIN ? ", through " : ", then ",
				 plan->idx[i] == ROUTE_DIRECT ? "a direct connection" : c.gen->upstreams[plan->idx[i]].display);
		if (plan->source == ROUTE_SRC_RULE)
			snprintf(order + strlen(order), sizeof(order) - strlen(order), " (rule %d: %s)", plan->rule + 1,
				 cfg->rules[plan->rule].text);
		else if (plan->source != ROUTE_SRC_DEFAULT)
			snprintf(order + strlen(order), sizeof(order) - strlen(order), " (%s)",
				 plan->source == ROUTE_SRC_NOPROXY ? "--no-proxy" : plan->source == ROUTE_SRC_PAC ? "the PAC"
											      : "no PAC: direct");
		if (plan->kind == ROUTE_BLOCK) {
			stage(&c, "route", 0, "%s is blocked%s", target, order);
			snprintf(c.verdict, sizeof(c.verdict), "a --route rule blocks this target");
		}
		else
			stage(&c, "route", plan->n > 0, "%s via %s", target, plan->n ? order : "nothing (no route)");
		if (plan->kind != ROUTE_BLOCK && plan->n > 0)
			run(&c);
		generation_retire(c.gen);
		generation_put(c.gen);
	}
	log_detach();
	bufpool_destroy(&c.pool);
	ev_loop_destroy(c.loop);
report:;
	double total = now_ms() - c.t0;
	if (json) {
		if (print_json(&c, total) < 0)
			return 1;
	} else {
		print_text(&c, total);
	}
	fflush(stdout);
	return c.ok ? 0 : 1;
}
