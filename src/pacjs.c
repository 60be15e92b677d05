/* pacjs: a PAC script in duktape.  Each load gets a fresh heap (a script that fails half-way
 * leaves no trace in the good one), capped by a counting allocator so a PAC cannot eat the
 * machine.  The helpers that need the system are C functions here; the rest is JavaScript
 * (pacfuncs.c). */
#include "pacjs.h"

#include <arpa/inet.h>
#include <duktape.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pacfuncs.h"

/* One heap's bookkeeping: outlives the heap (duktape frees through it while being destroyed). */
struct pj_heap {
	size_t used, cap;
	unsigned alerts; /* alert() lines in the current load or call */
};

struct pacjs {
	duk_context *ctx; /* the good script's heap, or NULL */
	struct pj_heap *mem;
	size_t heap_cap;
};

/* ---------------------------------------------------------------- memory */

/* every block carries its size in front, aligned for anything */
union pj_hdr {
	max_align_t align;
	size_t n;
};

static void *pj_alloc(void *udata, duk_size_t n)
{
	struct pj_heap *m = udata;
	if (n > m->cap - m->used)
		return NULL;
	union pj_hdr *h = malloc(sizeof(*h) + n);
	if (h == NULL)
		return NULL;
	h->n = n;
	m->used += n;
	return h + 1;
}

static void pj_free(void *udata, void *ptr)
{
	struct pj_heap *m = udata;
	if (ptr == NULL)
		return;
	union pj_hdr *h = (union pj_hdr *)ptr - 1;
	m->used -= h->n;
	free(h);
}

static void *pj_realloc(void *udata, void *ptr, duk_size_t n)
{
	struct pj_heap *m = udata;
	if (ptr == NULL)
		return pj_alloc(udata, n);
	if (n == 0) {
		pj_free(udata, ptr);
		return NULL;
	}
	union pj_hdr *h = (union pj_hdr *)ptr - 1;
	size_t old = h->n;
	if (n > old && n - old > m->cap - m->used)
		return NULL;
	union pj_hdr *nh = realloc(h, sizeof(*nh) + n);
	if (nh == NULL)
		return NULL;
	nh->n = n;
	m->used = m->used - old + n;
	return nh + 1;
}

/* Not reached in normal operation (every call into the engine is protected); the daemon
 * restarts the worker. */
static void pj_fatal(void *udata, const char *msg)
{
	(void)udata;
	fprintf(stderr, "socks2http pac worker: fatal JavaScript engine error: %s\n", msg ? msg : "unknown");
	fflush(stderr);
	_exit(70);
}

static struct pj_heap *pj_mem(duk_context *ctx)
{
	duk_memory_functions f;
	duk_get_memory_functions(ctx, &f);
	return f.udata;
}

/* ---------------------------------------------------------------- strings */

/* Argument idx as a string (any value converts, as in browsers); NULL when it holds a NUL
 * byte or is longer than max. */
static const char *pj_arg(duk_context *ctx, duk_idx_t idx, size_t max)
{
	duk_size_t len;
	const char *s = duk_safe_to_lstring(ctx, idx, &len);
	if (s == NULL || len > max || strlen(s) != len)
		return NULL;
	return s;
}

/* NUL, CR and LF to spaces in s[0..n) */
static void pj_oneline(char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\0' || s[i] == '\r' || s[i] == '\n')
			s[i] = ' ';
}

/* The error on the stack top as one line in err; pops it. */
static void pj_error(duk_context *ctx, const char *what, char *err, size_t errlen)
{
	duk_size_t len;
	const char *msg = duk_safe_to_lstring(ctx, -1, &len);
	char line[512];
	size_t n = len < sizeof(line) - 1 ? len : sizeof(line) - 1;
	memcpy(line, msg ? msg : "", msg ? n : 0);
	line[msg ? n : 0] = '\0';
	pj_oneline(line, strlen(line));
	snprintf(err, errlen, "%s: %s", what, line);
	duk_pop(ctx);
}

/* ---------------------------------------------------------------- addresses */

struct pj_addr {
	int family;
	unsigned char a[16];
};

/* An IPv4 or IPv6 literal; 0 or -1. */
static int pj_parse_addr(const char *s, struct pj_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, s, out->a) == 1) {
		out->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, out->a) == 1) {
		out->family = AF_INET6;
		return 0;
	}
	return -1;
}

/* Blocking lookup of host (family AF_INET or AF_UNSPEC): the distinct addresses, in the
 * resolver's order, joined by ';' into out.  Returns how many, 0 when none. */
static int pj_resolve(const char *host, int family, int max, char *out, size_t cap)
{
	struct addrinfo hints, *res = NULL;
	int count = 0;
	size_t len = 0;

	out[0] = '\0';
	if (host == NULL || host[0] == '\0' || strlen(host) > 253)
		return 0;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, NULL, &hints, &res) != 0)
		return 0;
	for (struct addrinfo *ai = res; ai != NULL && count < max; ai = ai->ai_next) {
		char s[INET6_ADDRSTRLEN];
		const void *a = ai->ai_family == AF_INET ? (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr
			      : ai->ai_family == AF_INET6 ? (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr
							  : NULL;
		if (a == NULL || inet_ntop(ai->ai_family, a, s, sizeof(s)) == NULL)
			continue;
		/* already listed? */
		size_t sl = strlen(s);
		const char *p = out;
		int dup = 0;
		while (*p != '\0' && !dup) {
			const char *end = strchr(p, ';');
			size_t el = end ? (size_t)(end - p) : strlen(p);
			dup = el == sl && memcmp(p, s, sl) == 0;
			p = end ? end + 1 : p + el;
		}
		if (dup || len + sl + 2 > cap)
			continue;
		len += (size_t)snprintf(out + len, cap - len, "%s%s", count ? ";" : "", s);
		count++;
	}
	freeaddrinfo(res);
	return count;
}

/* The local address the kernel picks to reach target (a UDP socket connected, no packet
 * sent): the address of the default route.  0, or -1 when there is no route. */
static int pj_local_addr(int family, const char *target, char *out, size_t cap)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(53);
		inet_pton(AF_INET, target, &sin->sin_addr);
		sl = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(53);
		inet_pton(AF_INET6, target, &sin6->sin6_addr);
		sl = sizeof(*sin6);
	}
	int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int rc = -1;
	if (connect(fd, (struct sockaddr *)&ss, sl) == 0) {
		struct sockaddr_storage local;
		socklen_t ll = sizeof(local);
		if (getsockname(fd, (struct sockaddr *)&local, &ll) == 0) {
			const void *a = family == AF_INET ? (const void *)&((struct sockaddr_in *)&local)->sin_addr
							  : (const void *)&((struct sockaddr_in6 *)&local)->sin6_addr;
			static const unsigned char zero[16];
			if (memcmp(a, zero, family == AF_INET ? 4 : 16) != 0 && inet_ntop(family, a, out, (socklen_t)cap))
				rc = 0;
		}
	}
	close(fd);
	return rc;
}

/* ---------------------------------------------------------------- the C helpers */

/* dnsResolve(host): the first IPv4 address, or null (as Chromium and pacparser) */
static duk_ret_t pj_dnsResolve(duk_context *ctx)
{
	char out[INET6_ADDRSTRLEN + 2];
	if (pj_resolve(pj_arg(ctx, 0, 253), AF_INET, 1, out, sizeof(out)) > 0)
		duk_push_string(ctx, out);
	else
		duk_push_null(ctx);
	return 1;
}

/* dnsResolveEx(host): every address, IPv6 and IPv4, joined by ';'; "" when none (Microsoft) */
static duk_ret_t pj_dnsResolveEx(duk_context *ctx)
{
	char out[1024];
	pj_resolve(pj_arg(ctx, 0, 253), AF_UNSPEC, 32, out, sizeof(out));
	duk_push_string(ctx, out);
	return 1;
}

/* myIpAddress(): the address of the default route, else 127.0.0.1 */
static duk_ret_t pj_myIpAddress(duk_context *ctx)
{
	char out[INET6_ADDRSTRLEN];
	if (pj_local_addr(AF_INET, "198.18.0.1", out, sizeof(out)) < 0)
		strcpy(out, "127.0.0.1");
	duk_push_string(ctx, out);
	return 1;
}

/* myIpAddressEx(): the default routes' addresses, IPv6 first, joined by ';'; "127.0.0.1"
 * when there is neither */
static duk_ret_t pj_myIpAddressEx(duk_context *ctx)
{
	char v6[INET6_ADDRSTRLEN], v4[INET6_ADDRSTRLEN], out[2 * INET6_ADDRSTRLEN + 2];
	int h6 = pj_local_addr(AF_INET6, "2001:db8::1", v6, sizeof(v6)) == 0;
	int h4 = pj_local_addr(AF_INET, "198.18.0.1", v4, sizeof(v4)) == 0;
	if (h6 && h4)
		snprintf(out, sizeof(out), "%s;%s", v6, v4);
	else
		snprintf(out, sizeof(out), "%s", h6 ? v6 : h4 ? v4 : "127.0.0.1");
	duk_push_string(ctx, out);
	return 1;
}

/* isInNetEx(ip, "prefix/len"): ip (a literal, never resolved) inside the prefix, same family */
static duk_ret_t pj_isInNetEx(duk_context *ctx)
{
	struct pj_addr ip, net;
	char pfx[64];
	const char *ips = pj_arg(ctx, 0, 63), *ps = pj_arg(ctx, 1, 63);
	int ok = 0;

	if (ips != NULL && ps != NULL && pj_parse_addr(ips, &ip) == 0) {
		strcpy(pfx, ps);
		char *slash = strchr(pfx, '/');
		char *end = NULL;
		long bits = -1;
		if (slash != NULL) {
			*slash = '\0';
			if (slash[1] >= '0' && slash[1] <= '9')
				bits = strtol(slash + 1, &end, 10);
		}
		if (bits >= 0 && end != NULL && *end == '\0' && pj_parse_addr(pfx, &net) == 0 &&
		    net.family == ip.family && bits <= (ip.family == AF_INET ? 32 : 128)) {
			ok = 1;
			for (long i = 0; i < bits && ok; i++) {
				unsigned mask = 0x80u >> (i % 8);
				ok = (ip.a[i / 8] & mask) == (net.a[i / 8] & mask);
			}
		}
	}
	duk_push_boolean(ctx, ok);
	return 1;
}

static int pj_addr_cmp(const void *pa, const void *pb)
{
	const struct pj_addr *a = pa, *b = pb;
	if (a->family != b->family)
		return a->family == AF_INET6 ? -1 : 1;
	return memcmp(a->a, b->a, sizeof(a->a));
}

/* sortIpAddressList("a;b;..."): IPv6 addresses first, then IPv4, each in numeric order;
 * false when the list is empty or holds anything but IP literals */
static duk_ret_t pj_sortIpAddressList(duk_context *ctx)
{
	enum { MAXN = 128 };
	struct pj_addr addrs[MAXN];
	char buf[4096], out[MAXN * (INET6_ADDRSTRLEN + 1)];
	const char *s = pj_arg(ctx, 0, sizeof(buf) - 1);
	size_t n = 0, len = 0;

	if (s == NULL)
		goto bad;
	strcpy(buf, s);
	for (char *save = NULL, *tok = strtok_r(buf, ";", &save); tok != NULL; tok = strtok_r(NULL, ";", &save)) {
		while (*tok == ' ' || *tok == '\t')
			tok++;
		char *e = tok + strlen(tok);
		while (e > tok && (e[-1] == ' ' || e[-1] == '\t'))
			*--e = '\0';
		if (n == MAXN || pj_parse_addr(tok, &addrs[n]) < 0)
			goto bad;
		n++;
	}
	if (n == 0)
		goto bad;
	qsort(addrs, n, sizeof(addrs[0]), pj_addr_cmp);
	for (size_t i = 0; i < n; i++) {
		char a[INET6_ADDRSTRLEN];
		inet_ntop(addrs[i].family, addrs[i].a, a, sizeof(a));
		len += (size_t)snprintf(out + len, sizeof(out) - len, "%s%s", i ? ";" : "", a);
	}
	duk_push_string(ctx, out);
	return 1;
bad:
	duk_push_false(ctx);
	return 1;
}

/* alert(msg): a line on stderr, at most 256 bytes of it, PACJS_ALERTS_MAX per load or call */
static duk_ret_t pj_alert(duk_context *ctx)
{
	struct pj_heap *m = pj_mem(ctx);
	duk_size_t len;
	const char *s = duk_safe_to_lstring(ctx, 0, &len);
	char line[257];

	if (m->alerts++ >= PACJS_ALERTS_MAX) {
		if (m->alerts == PACJS_ALERTS_MAX + 1)
			fprintf(stderr, "socks2http pac: alert: (more alerts in this call are not shown)\n");
		return 0;
	}
	size_t n = len < sizeof(line) - 1 ? len : sizeof(line) - 1;
	memcpy(line, s ? s : "", s ? n : 0);
	line[s ? n : 0] = '\0';
	for (size_t i = 0; line[i] != '\0'; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = ' ';
	fprintf(stderr, "socks2http pac: alert: %s%s\n", line, len > n ? "..." : "");
	return 0;
}

/* ---------------------------------------------------------------- heaps */

static const struct {
	const char *name;
	duk_c_function fn;
	duk_idx_t nargs;
} pj_natives[] = {
	{"dnsResolve", pj_dnsResolve, 1},
	{"dnsResolveEx", pj_dnsResolveEx, 1},
	{"myIpAddress", pj_myIpAddress, 0},
	{"myIpAddressEx", pj_myIpAddressEx, 0},
	{"isInNetEx", pj_isInNetEx, 2},
	{"sortIpAddressList", pj_sortIpAddressList, 1},
	{"alert", pj_alert, 1},
};

/* A fresh heap with the helpers; NULL with err. */
static duk_context *pj_heap_new(size_t cap, struct pj_heap **memp, char *err, size_t errlen)
{
	struct pj_heap *m = calloc(1, sizeof(*m));
	if (m == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	m->cap = cap;
	duk_context *ctx = duk_create_heap(pj_alloc, pj_realloc, pj_free, m, pj_fatal);
	if (ctx == NULL) {
		free(m);
		snprintf(err, errlen, "cannot create a JavaScript heap");
		return NULL;
	}
	for (size_t i = 0; i < sizeof(pj_natives) / sizeof(pj_natives[0]); i++) {
		duk_push_c_function(ctx, pj_natives[i].fn, pj_natives[i].nargs);
		duk_put_global_string(ctx, pj_natives[i].name);
	}
	if (duk_peval_string(ctx, pacfuncs_js) != 0) {
		pj_error(ctx, "the PAC helper functions", err, errlen);
		duk_destroy_heap(ctx);
		free(m);
		return NULL;
	}
	duk_pop(ctx);
	*memp = m;
	return ctx;
}

static void pj_heap_free(duk_context *ctx, struct pj_heap *m)
{
	if (ctx != NULL)
		duk_destroy_heap(ctx);
	free(m);
}

/* The function to call: FindProxyForURLEx when defined, else FindProxyForURL; pushed, or
 * nothing pushed and -1. */
static int pj_push_find(duk_context *ctx)
{
	static const char *const names[] = {"FindProxyForURLEx", "FindProxyForURL"};
	for (size_t i = 0; i < 2; i++) {
		duk_get_global_string(ctx, names[i]);
		if (duk_is_function(ctx, -1))
			return 0;
		duk_pop(ctx);
	}
	return -1;
}

struct pacjs *pacjs_new(size_t heap_cap)
{
	struct pacjs *pj = calloc(1, sizeof(*pj));
	if (pj != NULL)
		pj->heap_cap = heap_cap ? heap_cap : PACJS_HEAP_MAX;
	return pj;
}

void pacjs_free(struct pacjs *pj)
{
	if (pj == NULL)
		return;
	pj_heap_free(pj->ctx, pj->mem);
	free(pj);
}

int pacjs_loaded(const struct pacjs *pj)
{
	return pj->ctx != NULL;
}

int pacjs_load(struct pacjs *pj, const char *script, size_t len, char *err, size_t errlen)
{
	struct pj_heap *m = NULL;

	if (len > PACJS_SCRIPT_MAX) {
		snprintf(err, errlen, "the script has %zu bytes, more than %zu", len, PACJS_SCRIPT_MAX);
		return -1;
	}
	duk_context *ctx = pj_heap_new(pj->heap_cap, &m, err, errlen);
	if (ctx == NULL)
		return -1;
	duk_push_string(ctx, "pac");
	if (duk_pcompile_lstring_filename(ctx, 0, script, len) != 0) {
		pj_error(ctx, "compiling the PAC", err, errlen);
		goto fail;
	}
	if (duk_pcall(ctx, 0) != 0) {
		pj_error(ctx, "running the PAC", err, errlen);
		goto fail;
	}
	duk_pop(ctx);
	if (pj_push_find(ctx) < 0) {
		snprintf(err, errlen, "the PAC defines no function FindProxyForURL");
		goto fail;
	}
	duk_pop(ctx);
	pj_heap_free(pj->ctx, pj->mem);
	pj->ctx = ctx;
	pj->mem = m;
	return 0;
fail:
	pj_heap_free(ctx, m);
	return -1;
}

int pacjs_find(struct pacjs *pj, const char *url, const char *host, char *out, size_t cap, char *err,
	       size_t errlen)
{
	duk_context *ctx = pj->ctx;

	if (ctx == NULL) {
		snprintf(err, errlen, "no PAC script loaded");
		return -1;
	}
	pj->mem->alerts = 0;
	duk_set_top(ctx, 0);
	if (pj_push_find(ctx) < 0) { /* the script may have deleted it since */
		snprintf(err, errlen, "the PAC defines no function FindProxyForURL");
		return -1;
	}
	duk_push_string(ctx, url);
	duk_push_string(ctx, host);
	if (duk_pcall(ctx, 2) != 0) {
		pj_error(ctx, "FindProxyForURL", err, errlen);
		return -1;
	}
	if (!duk_is_string(ctx, -1)) {
		static const char *const types[] = {"nothing", "undefined", "null", "boolean", "number",
						    "string", "object", "buffer", "pointer", "function"};
		duk_int_t t = duk_get_type(ctx, -1);
		snprintf(err, errlen, "FindProxyForURL returned %s, not a string",
			 t >= 0 && t < (duk_int_t)(sizeof(types) / sizeof(types[0])) ? types[t] : "a strange value");
		duk_pop(ctx);
		return -1;
	}
	duk_size_t len;
	const char *s = duk_get_lstring(ctx, -1, &len);
	size_t n = cap == 0 ? 0 : (len < cap - 1 ? len : cap - 1);
	if (cap > 0) {
		memcpy(out, s, n);
		out[n] = '\0';
		pj_oneline(out, n);
	}
	duk_pop(ctx);
	return 0;
}
