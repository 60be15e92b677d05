/* bench.h: what the benchmark programs share: the deterministic byte stream, its 64-bit
 * hash, a clock, and address parsing.  Header-only (static functions) so each program is
 * one .c file.
 *
 * The stream: byte o is pat[o % PAT_PERIOD], a splitmix64-filled block whose odd period
 * drifts against every buffer and chunk size, so a relay that drops, repeats or reorders
 * any chunk changes the hash.  The hash is an xxh64-style 4-lane hash (streaming: the same
 * value whatever the chunking), fast enough (~10 GB/s) not to be the bottleneck. */
#ifndef BENCH_H
#define BENCH_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define PAT_PERIOD ((1u << 20) + 4099u)
#define PAT_EXT (1u << 20) /* pat holds PAT_PERIOD + PAT_EXT bytes: any window up to PAT_EXT is contiguous */

static inline uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

static inline unsigned char *pattern_new(void)
{
	size_t n = (size_t)PAT_PERIOD + PAT_EXT;
	unsigned char *p = malloc(n);
	if (p == NULL) {
		perror("malloc");
		exit(1);
	}
	uint64_t s = UINT64_C(0x50C5E2477B);
	for (size_t i = 0; i < PAT_PERIOD; i += 8) {
		uint64_t v = splitmix64(&s);
		size_t k = PAT_PERIOD - i < 8 ? PAT_PERIOD - i : 8;
		memcpy(p + i, &v, k);
	}
	memcpy(p + PAT_PERIOD, p, PAT_EXT);
	return p;
}

/* The stream from offset off: *len (in, out) is capped to what is contiguous. */
static inline const unsigned char *pattern_at(const unsigned char *pat, uint64_t off, size_t *len)
{
	if (*len > PAT_EXT)
		*len = PAT_EXT;
	return pat + (size_t)(off % PAT_PERIOD);
}

#define H_P1 UINT64_C(0x9E3779B185EBCA87)
#define H_P2 UINT64_C(0xC2B2AE3D27D4EB4F)
#define H_P3 UINT64_C(0x165667B19E3779F9)

struct h64 {
	uint64_t v[4];
	uint64_t total;
	unsigned char tail[32];
	size_t ntail;
};

static inline uint64_t h_rotl(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

static inline uint64_t h_round(uint64_t acc, uint64_t w)
{
	acc += w * H_P2;
	acc = h_rotl(acc, 31);
	return acc * H_P1;
}

static inline uint64_t h_load(const unsigned char *p)
{
	uint64_t w;
	memcpy(&w, p, 8);
	return w;
}

static inline void h64_init(struct h64 *h)
{
	memset(h, 0, sizeof(*h));
	h->v[0] = H_P1 + H_P2;
	h->v[1] = H_P2;
	h->v[2] = 0;
	h->v[3] = (uint64_t)0 - H_P1;
}

static inline void h64_blocks(struct h64 *h, const unsigned char *p, size_t nblocks)
{
	uint64_t a = h->v[0], b = h->v[1], c = h->v[2], d = h->v[3];
	for (size_t i = 0; i < nblocks; i++, p += 32) {
		a = h_round(a, h_load(p));
		b = h_round(b, h_load(p + 8));
		c = h_round(c, h_load(p + 16));
		d = h_round(d, h_load(p + 24));
	}
	h->v[0] = a, h->v[1] = b, h->v[2] = c, h->v[3] = d;
}

static inline void h64_update(struct h64 *h, const void *data, size_t len)
{
	const unsigned char *p = data;
	h->total += len;
	if (h->ntail > 0) {
		size_t k = 32 - h->ntail < len ? 32 - h->ntail : len;
		memcpy(h->tail + h->ntail, p, k);
		h->ntail += k;
		p += k;
		len -= k;
		if (h->ntail < 32)
			return;
		h64_blocks(h, h->tail, 1);
		h->ntail = 0;
	}
	h64_blocks(h, p, len / 32);
	p += len / 32 * 32;
	len %= 32;
	memcpy(h->tail, p, len);
	h->ntail = len;
}

static inline uint64_t h64_final(const struct h64 *h)
{
	uint64_t r = h_rotl(h->v[0], 1) + h_rotl(h->v[1], 7) + h_rotl(h->v[2], 12) + h_rotl(h->v[3], 18);
	for (int i = 0; i < 4; i++)
		r = (r ^ h_round(0, h->v[i])) * H_P1 + H_P3;
	r += h->total;
	for (size_t i = 0; i < h->ntail; i++)
		r = h_rotl(r ^ (h->tail[i] * H_P1), 11) * H_P2;
	r ^= r >> 33;
	r *= H_P2;
	r ^= r >> 29;
	r *= H_P3;
	return r ^ (r >> 32);
}

/* The hash of the first n bytes of the stream. */
static inline uint64_t pattern_hash(const unsigned char *pat, uint64_t n)
{
	struct h64 h;
	h64_init(&h);
	for (uint64_t off = 0; off < n;) {
		size_t len = n - off < PAT_EXT ? (size_t)(n - off) : PAT_EXT;
		const unsigned char *p = pattern_at(pat, off, &len);
		h64_update(&h, p, len);
		off += len;
	}
	return h64_final(&h);
}

static inline double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* "1.2.3.4:80", "[::1]:80" or ":80" (127.0.0.1).  Returns the length, 0 on error. */
static inline socklen_t parse_addr(const char *s, struct sockaddr_storage *ss)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	memset(ss, 0, sizeof(*ss));
	if (colon == NULL || (size_t)(colon - s) >= sizeof(host))
		return 0;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	long port = strtol(colon + 1, NULL, 10);
	if (port < 0 || port > 65535)
		return 0;
	if (host[0] == '[') {
		size_t hl = strlen(host);
		if (hl < 2 || host[hl - 1] != ']')
			return 0;
		host[hl - 1] = '\0';
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		return inet_pton(AF_INET6, host + 1, &a6->sin6_addr) == 1 ? sizeof(*a6) : 0;
	}
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	a4->sin_family = AF_INET;
	a4->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host[0] ? host : "127.0.0.1", &a4->sin_addr) == 1 ? sizeof(*a4) : 0;
}

static inline void set_nodelay(int fd)
{
	int one = 1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* Binds and listens on spec; prints "port N" on stdout (for the harness) when asked. */
static inline int listen_on(const char *spec, int announce)
{
	struct sockaddr_storage ss;
	socklen_t sl = parse_addr(spec, &ss);
	if (sl == 0) {
		fprintf(stderr, "bad address %s\n", spec);
		exit(2);
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 4096) < 0) {
		perror(spec);
		exit(1);
	}
	if (announce) {
		socklen_t bl = sizeof(ss);
		getsockname(fd, (struct sockaddr *)&ss, &bl);
		printf("port %u\n", ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
								 : ((struct sockaddr_in *)&ss)->sin_port));
		fflush(stdout);
	}
	return fd;
}

#endif
