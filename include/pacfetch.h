/* pacfetch: fetches a PAC file on the loop, directly (never through a proxy).
 *
 * Sources: "file:///path" (or "file://localhost/path"), a plain absolute path, or
 * "http://host[:port]/path" (host a name, an IPv4 literal or a bracketed IPv6 one).  A name
 * is resolved with the daemon's resolver; the addresses are tried in order, each with a
 * non-blocking connect (PACFETCH_CONNECT_TIMEOUT for each but the last, so an address that
 * drops SYNs costs 2 s, not the fetch); the request is "GET /path HTTP/1.1" with Host,
 * User-Agent and "Connection: close"; the body is read by Content-Length, chunked, or until
 * the server closes.  A redirect (301, 302, 303, 307, 308) to an http:// Location (relative
 * ones resolved against the current URL) is followed, directly, up to
 * PACFETCH_MAX_REDIRECTS times, logged.  Another status than 200, a body over
 * PACFETCH_MAX_BODY or the whole fetch (redirects included) taking longer than its timeout
 * is a failure.  "https://" is refused with a clear message (no TLS
 * here yet).  A local file is read at once (a small read on the loop), but its result is
 * delivered from the loop like the rest. */
#ifndef SOCKS2HTTP_PACFETCH_H
#define SOCKS2HTTP_PACFETCH_H

#include <ev.h>
#include <stddef.h>

#include "resolver.h"

#define PACFETCH_MAX_BODY (1024 * 1024)
#define PACFETCH_MAX_HEADER 16384
#define PACFETCH_MAX_REDIRECTS 5
#define PACFETCH_CONNECT_TIMEOUT 2.0 /* per address, while another is left to try */

struct pacfetch;

/* Exactly one call per pacfetch_start that returned non-NULL, from the loop, unless
 * pacfetch_cancel came first.  ok: body[0..len) is the PAC text (NUL-terminated, valid only
 * during the call); else err says what failed, e.g. "http://h/p: connection refused".  The
 * fetch is freed when the callback returns: it must not call pacfetch_cancel on it. */
typedef void (*pacfetch_cb)(void *arg, int ok, const char *body, size_t len, const char *err);

/* Starts a fetch bounded by timeout seconds.  res may be NULL for file sources.  user_agent
 * "" or NULL sends none.  Returns NULL with err filled when the URL is not usable (then no
 * callback comes). */
struct pacfetch *pacfetch_start(struct ev_loop *loop, struct resolver *res, const char *url, double timeout,
				const char *user_agent, pacfetch_cb cb, void *arg, char *err, size_t errlen);

/* Stops a fetch still running and frees it: no callback. */
void pacfetch_cancel(struct pacfetch *f);

/* Pure: splits "http://host[:port]/path" into host (brackets removed), port (80 by default)
 * and path ("/" when absent).  Returns 0, or -1 with err. */
int pacfetch_split_http(const char *url, char *host, size_t hostcap, unsigned *port, char *path, size_t pathcap,
			char *err, size_t errlen);

/* Pure: the absolute http:// URL a redirect's Location (loc[0..len), not NUL-terminated)
 * names, from the URL base it answered: "http://..." and "//host/..." as they are, "/p",
 * "?q" and relative paths against base (RFC 3986 section 5.2, without dot segments); the
 * fragment dropped.  Returns NULL with out filled, or why not (another scheme, no
 * Location, a control character, too long). */
const char *pacfetch_locate(const char *base, const char *loc, size_t len, char *out, size_t cap);

/* Pure: the local path of a PAC source: a plain absolute path as it is, or a file:// URL
 * ("file:///p", "file://localhost/p") percent-decoded as RFC 8089 says (query and fragment
 * dropped).  %00 and %2F are refused (a NUL cannot be in a path; an encoded slash would
 * name another file than the URL's segments say).  Returns 0, or -1 with err. */
int pacfetch_file_path(const char *url, char *out, size_t cap, char *err, size_t errlen);

#endif
