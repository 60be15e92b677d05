/* pacanswer: pure parser for what FindProxyForURL returns ("PROXY a:8080; DIRECT"), and the
 * url argument a browser passes to it.  No I/O, no malloc, no logging. */
#ifndef SOCKS2HTTP_PACANSWER_H
#define SOCKS2HTTP_PACANSWER_H

#include <stddef.h>
#include <stdint.h>

#define PACANSWER_MAX 16

/* PROXY and HTTP -> PAC_PROXY; SOCKS, SOCKS4, SOCKS5 -> PAC_SOCKS */
enum pac_kind { PAC_DIRECT = 1, PAC_PROXY, PAC_HTTPS, PAC_SOCKS };

struct pac_entry {
	uint8_t kind;   /* enum pac_kind */
	uint16_t port;  /* 0 for PAC_DIRECT */
	char host[256]; /* "" for PAC_DIRECT; IPv6 literals without brackets */
};

struct pacanswer {
	uint8_t n;       /* usable entries in e[], in the PAC's order */
	uint8_t skipped; /* unknown or malformed entries, and those past PACANSWER_MAX (capped at 255) */
	struct pac_entry e[PACANSWER_MAX];
};

/* Parses text[0..len) (no NUL needed; a NUL byte is just a bad character).  Entries are
 * separated by ';' and may carry spaces, tabs, CRs and LFs around them; empty entries are
 * ignored (not counted).  An entry is DIRECT, or a keyword (PROXY, HTTP, HTTPS, SOCKS, SOCKS4,
 * SOCKS5; any case) then blanks then host[:port]: host is a name of letters, digits, '-', '_'
 * and '.' (at most 253), an IPv4 literal or a bracketed IPv6 literal; port is 1..65535 and
 * defaults, as in Chromium, to 80 (PROXY, HTTP), 443 (HTTPS) or 1080 (SOCKS*).  Anything else
 * is skipped and counted.  Returns 0 with out filled when at least one entry is usable, -1 with
 * a message in err (never quoting the text) when none is, or the text is empty. */
int pacanswer_parse(const char *text, size_t len, struct pacanswer *out, char *err, size_t errlen);

/* The url argument browsers pass for a CONNECT to host:port: "https://host/" for port 443,
 * "http://host/" for 80, "http://host:port/" else; IPv6 hosts (given without brackets) are
 * bracketed.  Returns 0, or -1 when host is empty or the result does not fit in cap bytes. */
int pacanswer_url(const char *host, uint16_t port, char *out, size_t cap);

#endif
