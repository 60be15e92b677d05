/* fuzz_config: the input as a config file applied to fresh defaults; the result stays within
 * every option's bounds.  Also the input as a listen address, and as an argv to scrub. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "fuzz.h"
#include "config.h"

static const char *no_env(const char *name)
{
	(void)name;
	return NULL;
}

static void check_seconds(double d, int zero_ok)
{
	FUZZ_ASSERT(isfinite(d) && d >= 0 && d <= 86400 * 365);
	FUZZ_ASSERT(zero_ok || d > 0);
}

static void check_listen(const struct listen_spec *ls)
{
	size_t n = strnlen(ls->text, sizeof(ls->text));
	FUZZ_ASSERT(n > 0 && n < sizeof(ls->text));
	FUZZ_ASSERT(ls->addr.ss_family == AF_INET || ls->addr.ss_family == AF_INET6 || ls->addr.ss_family == AF_UNIX);
	/* the normalised text parses to the same address */
	struct listen_spec again;
	char err[CONFIG_ERR_MAX];
	FUZZ_ASSERT(config_parse_listen(ls->text, &again, err, sizeof(err)) == 0);
	FUZZ_ASSERT(again.addrlen == ls->addrlen && memcmp(&again.addr, &ls->addr, ls->addrlen) == 0);
}

static void check_config(const struct config *cfg)
{
	FUZZ_ASSERT(cfg->nlisten <= CONFIG_MAX_LISTEN && cfg->nproxies <= CONFIG_MAX_PROXIES);
	for (size_t i = 0; i < cfg->nlisten; i++)
		check_listen(&cfg->listen[i]);
	for (size_t i = 0; i < cfg->nproxies; i++) {
		size_t n = strnlen(cfg->proxies[i].host, sizeof(cfg->proxies[i].host));
		FUZZ_ASSERT(n > 0 && n < sizeof(cfg->proxies[i].host) && cfg->proxies[i].port > 0);
	}
	FUZZ_ASSERT(cfg->log_level >= LOG_LVL_ERROR && cfg->log_level <= LOG_LVL_DEBUG);
	check_seconds(cfg->handshake_timeout, 0);
	check_seconds(cfg->connect_timeout, 0);
	check_seconds(cfg->reply_timeout, 0);
	check_seconds(cfg->idle_timeout, 1);
	check_seconds(cfg->linger_timeout, 0);
	check_seconds(cfg->dns_timeout, 0);
	check_seconds(cfg->dns_cache_ttl, 1);
	FUZZ_ASSERT(cfg->max_tunnels >= 1 && cfg->max_tunnels <= 1000000);
	FUZZ_ASSERT(cfg->buffer_size >= 4096 && cfg->buffer_size <= (1 << 20));
	size_t ua = strnlen(cfg->user_agent, sizeof(cfg->user_agent));
	FUZZ_ASSERT(ua < sizeof(cfg->user_agent) && strpbrk(cfg->user_agent, "\r\n") == NULL);
	/* routes */
	FUZZ_ASSERT(cfg->nrules <= RULES_MAX && cfg->nroute_proxies <= CONFIG_MAX_ROUTE_PROXIES);
	for (size_t i = 0; i < cfg->nrules; i++) {
		const struct rule *r = &cfg->rules[i];
		FUZZ_ASSERT(r->action >= RULE_DIRECT && r->action <= RULE_CHAIN && r->nhops <= RULES_MAX_HOPS);
		for (size_t k = 0; k < r->nhops; k++)
			FUZZ_ASSERT(r->hop[k] < cfg->nroute_proxies);
		FUZZ_ASSERT(strnlen(r->text, sizeof(r->text)) < sizeof(r->text));
	}
	FUZZ_ASSERT(cfg->noproxy.n <= NOPROXY_MAX);
	size_t pac = strnlen(cfg->pac_url, sizeof(cfg->pac_url));
	FUZZ_ASSERT(pac < sizeof(cfg->pac_url) && (pac == 0 || strstr(cfg->pac_url, "://") != NULL || cfg->pac_url[0] == '/'));
	check_seconds(cfg->pac_timeout, 0);
	check_seconds(cfg->pac_refresh, 0);
	check_seconds(cfg->pac_cache, 1);
}

/* The input split at NULs into an argv: scrubbing changes no argument's length, keeps the
 * options themselves, and only ever writes '*'. */
static void check_scrub(const uint8_t *data, size_t size)
{
	char *copy = malloc(size + 1), *orig = malloc(size + 1);
	char *argv[64];
	int argc = 0;

	FUZZ_ASSERT(copy != NULL && orig != NULL);
	memcpy(copy, data, size);
	copy[size] = '\0';
	memcpy(orig, copy, size + 1);
	for (char *p = copy; p <= copy + size && argc < 63; p += strlen(p) + 1)
		argv[argc++] = p;
	argv[argc] = NULL;
	config_scrub_argv(argc, argv);
	for (size_t i = 0; i <= size; i++)
		FUZZ_ASSERT(copy[i] == orig[i] || copy[i] == '*');
	FUZZ_ASSERT(strcmp(argv[0], orig) == 0);
	free(copy);
	free(orig);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config cfg;
	char err[CONFIG_ERR_MAX];

	/* an exact-size copy, so ASan sees reads past size */
	char *text = malloc(size ? size : 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	config_init(&cfg);
	memset(err, 0, sizeof(err));
	int rc = config_parse_text(&cfg, text, size, "fuzz.conf", err, sizeof(err));
	free(text);
	FUZZ_ASSERT(rc == 0 || rc == -1);
	if (rc < 0)
		FUZZ_ASSERT(strncmp(err, "fuzz.conf:", 10) == 0 && strnlen(err, sizeof(err)) < sizeof(err));
	check_config(&cfg);

	/* finishing adds the default listener.  Its documented results: 0; -1 for a bad value, a
	 * usage error (e.g. --workers above 1 with a unix: listener); 1, a start failure: no
	 * proxy, or a listener beyond loopback without client authentication (no files are
	 * read here).  Any other value, or a failure without a message, traps. */
	cfg.socks_auth_file[0] = '\0';
	memset(err, 0, sizeof(err));
	rc = config_finish(&cfg, no_env, err, sizeof(err));
	FUZZ_ASSERT(rc == 0 || rc == -1 || rc == 1);
	if (rc != 0)
		FUZZ_ASSERT(err[0] != '\0' && strnlen(err, sizeof(err)) < sizeof(err));
	if (cfg.nproxies == 0 && !config_route_covers_all(&cfg))
		FUZZ_ASSERT(rc != 0);
	else if (rc == 1)
		FUZZ_ASSERT(!cfg.allow_remote);
	FUZZ_ASSERT(cfg.nlisten >= 1);
	check_config(&cfg);
	for (size_t i = 1; rc != -1 && i < cfg.nrules; i++) /* the command line's rules first */
		FUZZ_ASSERT(cfg.rule_in_file[i - 1] <= cfg.rule_in_file[i]);
	config_free(&cfg);

	/* the input as a listen address */
	char *addr = malloc(size + 1);
	if (addr != NULL) {
		struct listen_spec ls;
		memcpy(addr, data, size);
		addr[size] = '\0';
		if (config_parse_listen(addr, &ls, err, sizeof(err)) == 0)
			check_listen(&ls);
		free(addr);
	}

	check_scrub(data, size);
	return 0;
}
