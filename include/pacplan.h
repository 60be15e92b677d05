/* pacplan: what a PAC said for a target (pac.h's result) as a route plan.
 *
 * PROXY and DIRECT entries are followed in the PAC's order (proxies marked down last); a
 * PROXY entry becomes an upstream of the generation (generation_upstream_for: an -x proxy
 * with the same host and port lends its credentials).  HTTPS and SOCKS entries are skipped,
 * said once per configuration.  No PAC at all (it could not be fetched): direct.  An answer
 * with no usable entry at all ("", ";") arrives here as DIRECT already (pacpipe.c), as
 * browsers take it.  A PAC that failed for this target (time limit, a thrown error) or
 * whose entries were all skipped: the -x list, or direct when there is none, with a log
 * line. */
#ifndef SOCKS2HTTP_PACPLAN_H
#define SOCKS2HTTP_PACPLAN_H

#include "generation.h"
#include "pac.h"
#include "route.h"

/* who and target name the tunnel in log lines. */
void pacplan(struct generation *g, const struct pac_result *r, double now, const char *who, const char *target,
	     struct route_plan *out);

#endif
