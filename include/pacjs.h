/* pacjs: one PAC script in an embedded JavaScript engine (duktape), with the standard helper
 * functions (Netscape's, and Microsoft's IPv6 "Ex" extensions).  DNS lookups block: this runs
 * in the PAC worker process (pacworker), never on the daemon's loop.  Not thread-safe. */
#ifndef SOCKS2HTTP_PACJS_H
#define SOCKS2HTTP_PACJS_H

#include <stddef.h>

#define PACJS_HEAP_MAX ((size_t)64 << 20) /* bytes one script's heap may hold */
#define PACJS_SCRIPT_MAX ((size_t)1 << 20)
#define PACJS_ALERTS_MAX 20               /* alert() lines per load or call; the rest are counted */

struct pacjs;

/* An engine with no script yet; heap_cap bytes per script heap (0: PACJS_HEAP_MAX).  NULL
 * when out of memory.  A fatal engine error (it should not happen: every call is protected)
 * writes a line to stderr and exits the process with status 70. */
struct pacjs *pacjs_new(size_t heap_cap);
void pacjs_free(struct pacjs *pj);

/* Compiles and runs script[0..len) at top level in a fresh heap holding the helper functions.
 * It replaces the current script only when that succeeds and the script defines
 * FindProxyForURL (or FindProxyForURLEx); otherwise the current one stays.  Returns 0, or -1
 * with a one-line message in err. */
int pacjs_load(struct pacjs *pj, const char *script, size_t len, char *err, size_t errlen);

/* 1 when a script is loaded */
int pacjs_loaded(const struct pacjs *pj);

/* Calls FindProxyForURLEx(url, host) when the script defines it, else FindProxyForURL.
 * Returns 0 with the result in out (cut to cap - 1 bytes; NUL, CR and LF bytes turned into
 * spaces), or -1 with a one-line message in err: no script, a thrown error, a result that is
 * not a string. */
int pacjs_find(struct pacjs *pj, const char *url, const char *host, char *out, size_t cap, char *err,
	       size_t errlen);

#endif
