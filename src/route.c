/* route: target to upstream path; proxy health (see include/route.h). */
#include "route.h"

int route_plan(const struct route_health *h, size_t nproxies, double now, const char *target,
	       struct route_plan *out)
{
	(void)target; /* every target takes the same path today */
	out->n = 0;
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < nproxies && i < CONFIG_MAX_PROXIES; i++)
			if ((h->down_until[i] > now) == pass)
				out->idx[out->n++] = (uint8_t)i;
	return 0;
}

int route_needs_target(void)
{
	return 0;
}

size_t route_first_healthy(const struct route_health *h, size_t nproxies, double now)
{
	for (size_t i = 0; i < nproxies && i < CONFIG_MAX_PROXIES; i++)
		if (h->down_until[i] <= now)
			return i;
	return 0;
}

int route_mark_down(struct route_health *h, size_t idx, size_t nproxies, double now, double retry)
{
	if (idx >= CONFIG_MAX_PROXIES || retry <= 0 || nproxies < 2)
		return 0;
	int was_up = h->down_until[idx] <= now;
	h->down_until[idx] = now + retry;
	return was_up;
}

void route_mark_up(struct route_health *h, size_t idx)
{
	if (idx < CONFIG_MAX_PROXIES)
		h->down_until[idx] = 0;
}
