/* config_route: the route options (--route, --no-proxy, --pac and its timings) of the
 * config module; see include/config.h and include/rules.h. */
#include "config.h"
#include "errtext.h"
#include "wipe.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

void config_route_init(struct config *cfg)
{
	cfg->pac_timeout = 2;
	cfg->pac_refresh = 600;
	cfg->pac_cache = 60;
}

static int same_proxy(const struct proxy_spec *a, const struct proxy_spec *b)
{
	return strcasecmp(a->host, b->host) == 0 && a->port == b->port && a->has_auth == b->has_auth &&
	       strcmp(a->user, b->user) == 0 && strcmp(a->pass, b->pass) == 0;
}

/* rule_parse's add_proxy: equal URLs share one entry */
static int add_route_proxy(void *ctx, const char *url, char *err, size_t errlen)
{
	struct config *cfg = ctx;
	struct proxy_spec p;
	char perr[256];
	int rc = -1;

	if (proxyurl_parse(url, &p, perr, sizeof(perr)) < 0) {
		errtext(err, errlen, "bad proxy URL: %s", perr);
		goto out;
	}
	for (size_t i = 0; i < cfg->nroute_proxies; i++) {
		if (same_proxy(&cfg->route_proxies[i], &p)) {
			rc = (int)i;
			goto out;
		}
	}
	if (cfg->nroute_proxies == CONFIG_MAX_ROUTE_PROXIES) {
		errtext(err, errlen, "rules name more than %d different proxies", CONFIG_MAX_ROUTE_PROXIES);
		goto out;
	}
	cfg->route_proxies[cfg->nroute_proxies] = p;
	rc = (int)cfg->nroute_proxies++;
out:
	wipe(&p, sizeof(p));
	return rc;
}

/* http://host..., file:///path, or a path (made absolute) */
static int set_pac(struct config *cfg, const char *v, char *err, size_t errlen)
{
	const char *sep = v ? strstr(v, "://") : NULL;
	size_t cap = sizeof(cfg->pac_url);

	if (v == NULL)
		return errtext(err, errlen, "option 'pac' needs a URL (http://, file://) or a file name");
	for (const char *p = v; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f || (sep != NULL && *p == ' '))
			return errtext(err, errlen, "option 'pac': control character or space in '%s'", v);
	if (strlen(v) >= cap)
		return errtext(err, errlen, "option 'pac': longer than %zu bytes", cap - 1);
	if (v[0] == '\0') { /* none, e.g. over a config file's */
		cfg->pac_url[0] = '\0';
		return 0;
	}
	if (sep != NULL) {
		size_t slen = (size_t)(sep - v);
		if (slen == 4 && strncasecmp(v, "http", 4) == 0) {
			if (strchr("/?#", sep[3]) != NULL || strchr(v, '@') != NULL)
				return errtext(err, errlen, "option 'pac': give http://host[:port]/path (no user or password)");
		} else if (slen == 4 && strncasecmp(v, "file", 4) == 0) {
			if (sep[3] != '/')
				return errtext(err, errlen, "option 'pac': give file:///absolute/path");
		} else {
			return errtext(err, errlen, "option 'pac': unsupported scheme in '%s' (http://, file:// or a file name)",
				    v);
		}
		snprintf(cfg->pac_url, cap, "%s", v);
		return 0;
	}
	if (v[0] == '/') {
		snprintf(cfg->pac_url, cap, "%s", v);
		return 0;
	}
	char cwd[1024];
	if (getcwd(cwd, sizeof(cwd)) == NULL || strlen(cwd) + 1 + strlen(v) >= cap)
		return errtext(err, errlen, "option 'pac': cannot make '%s' an absolute path", v);
	size_t n = strcmp(cwd, "/") == 0 ? 0 : strlen(cwd);
	memcpy(cfg->pac_url, cwd, n);
	cfg->pac_url[n] = '/';
	memcpy(cfg->pac_url + n + 1, v, strlen(v) + 1);
	return 0;
}

int config_route_set(struct config *cfg, const char *name, const char *value, char *err, size_t errlen)
{
	char perr[CONFIG_ERR_MAX];

	if (strcmp(name, "route") == 0) {
		if (value == NULL)
			return errtext(err, errlen, "option 'route' needs 'PATTERN ACTION', e.g. '.example.com direct'");
		if (cfg->nrules == RULES_MAX)
			return errtext(err, errlen, "too many rules (at most %d)", RULES_MAX);
		if (rule_parse(value, &cfg->rules[cfg->nrules], add_route_proxy, cfg, perr, sizeof(perr)) < 0)
			return errtext(err, errlen, "option 'route': %s", perr);
		cfg->rule_in_file[cfg->nrules] = 0;
		cfg->nrules++;
		return 0;
	}
	if (strcmp(name, "no-proxy") == 0) {
		if (noproxy_parse(value ? value : "", &cfg->noproxy, perr, sizeof(perr)) < 0)
			return errtext(err, errlen, "option 'no-proxy': %s", perr);
		cfg->noproxy_set = 1;
		snprintf(cfg->noproxy_source, sizeof(cfg->noproxy_source), "--no-proxy");
		return 0;
	}
	if (strcmp(name, "pac") == 0)
		return set_pac(cfg, value, err, errlen);
	if (strcmp(name, "pac-timeout") == 0)
		return config_parse_seconds(name, value, &cfg->pac_timeout, 0, err, errlen);
	if (strcmp(name, "pac-refresh") == 0)
		return config_parse_seconds(name, value, &cfg->pac_refresh, 0, err, errlen);
	if (strcmp(name, "pac-cache") == 0)
		return config_parse_seconds(name, value, &cfg->pac_cache, 1, err, errlen);
	return 1;
}

int config_route_finish(struct config *cfg, const char *(*getenv_fn)(const char *), char *err, size_t errlen)
{
	char perr[CONFIG_ERR_MAX];

	/* the command line's rules first, each group in its order */
	size_t k = 0;
	for (int from_file = 0; from_file <= 1; from_file++) {
		for (size_t i = k; i < cfg->nrules; i++) {
			if (cfg->rule_in_file[i] != from_file)
				continue;
			struct rule r = cfg->rules[i];
			memmove(&cfg->rules[k + 1], &cfg->rules[k], (i - k) * sizeof(cfg->rules[0]));
			memmove(&cfg->rule_in_file[k + 1], &cfg->rule_in_file[k], i - k);
			cfg->rules[k] = r;
			cfg->rule_in_file[k] = (uint8_t)from_file;
			k++;
		}
	}
	/* as curl: no_proxy, else NO_PROXY; a set but empty no_proxy hides NO_PROXY */
	static const char *const vars[] = {"no_proxy", "NO_PROXY"};
	for (size_t i = 0; !cfg->noproxy_set && i < 2; i++) {
		const char *v = getenv_fn(vars[i]);
		if (v == NULL)
			continue;
		if (noproxy_parse(v, &cfg->noproxy, perr, sizeof(perr)) < 0)
			return errtext(err, errlen, "%s in the environment: %s (override it with --no-proxy)", vars[i], perr);
		cfg->noproxy_set = 1;
		snprintf(cfg->noproxy_source, sizeof(cfg->noproxy_source), "%s", vars[i]);
	}
	const char *pw = getenv_fn("SOCKS2HTTP_PROXY_PASSWORD");
	for (size_t i = 0; i < cfg->nroute_proxies; i++) {
		struct proxy_spec *p = &cfg->route_proxies[i];
		if (p->has_auth && p->pass[0] == '\0' && pw != NULL) {
			if (strlen(pw) >= sizeof(p->pass))
				return errtext(err, errlen, "SOCKS2HTTP_PROXY_PASSWORD is too long");
			snprintf(p->pass, sizeof(p->pass), "%s", pw);
		}
	}
	for (size_t i = 0; cfg->nproxies == 0 && i < cfg->nrules; i++)
		if (cfg->rules[i].action == RULE_PROXY && cfg->rules[i].nhops == 0)
			return errtext(err, errlen, "rule %zu '%s' sends to the -x proxies, but none is configured", i + 1,
				    cfg->rules[i].text);
	return 0;
}

int config_route_covers_all(const struct config *cfg)
{
	/* --no-proxy '*' given on purpose; a stray NO_PROXY=* is not taken as meaning it */
	if (cfg->pac_url[0] != '\0' || (cfg->noproxy.all && strcmp(cfg->noproxy_source, "--no-proxy") == 0))
		return 1;
	for (size_t i = 0; i < cfg->nrules; i++)
		if (rule_matches_all(&cfg->rules[i]))
			return 1;
	return 0;
}

void config_route_free(struct config *cfg)
{
	wipe(cfg->route_proxies, sizeof(cfg->route_proxies));
	cfg->nroute_proxies = 0;
}

int config_route_has_password(const char *value)
{
	for (const char *w = value; *w != '\0';) {
		size_t n = strcspn(w, " \t");
		const char *sep = NULL;
		for (const char *q = w; q + 3 <= w + n && sep == NULL; q++)
			if (memcmp(q, "://", 3) == 0)
				sep = q;
		const char *auth = sep ? sep + 3 : w, *at = NULL;
		for (const char *q = auth; q < w + n; q++)
			if (*q == '@')
				at = q;
		if (at != NULL && memchr(auth, ':', (size_t)(at - auth)) != NULL)
			return 1;
		w += n;
		w += strspn(w, " \t");
	}
	return 0;
}
