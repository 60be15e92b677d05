/* config: options from the command line, a config file and the environment. */
#include "config.h"
#include "errtext.h"
#include "wipe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <pwd.h>
#include <stddef.h>
#include <unistd.h>

void config_init(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->log_level = LOG_LVL_INFO;
	cfg->handshake_timeout = 10;
	cfg->connect_timeout = 10;
	cfg->reply_timeout = 30;
	cfg->idle_timeout = 0;
	cfg->linger_timeout = 30;
	cfg->dns_timeout = 2.5;
	cfg->dns_tries = 2;
	cfg->dns_cache_ttl = 60;
	cfg->shutdown_grace = 5;
	cfg->proxy_retry = 30;
	cfg->max_tunnels = 1024;
	cfg->workers = 1;
	cfg->buffer_size = 32768;
	cfg->splice = 1;
	cfg->max_header = 32768;
	snprintf(cfg->user_agent, sizeof(cfg->user_agent), "%s/%s", PACKAGE_NAME, PACKAGE_VERSION);
	config_route_init(cfg);
	config_proxy_init(cfg);
}

int config_parse_listen(const char *text, struct listen_spec *out, char *err, size_t errlen)
{
	char host[64];
	const char *portstr;
	size_t hlen;

	memset(out, 0, sizeof(*out));
	if (strncmp(text, "unix:", 5) == 0) {
		struct sockaddr_un *su = (struct sockaddr_un *)&out->addr;
		const char *path = text + 5;
		if (path[0] != '/' || strlen(path) >= sizeof(su->sun_path) || strlen(path) >= sizeof(out->text) - 5)
			return errtext(err, errlen, "bad listen address '%s' (give unix:/absolute/path, under %zu bytes)", text,
				    sizeof(su->sun_path));
		su->sun_family = AF_UNIX;
		memcpy(su->sun_path, path, strlen(path) + 1);
		out->addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);
		snprintf(out->text, sizeof(out->text), "unix:%s", path);
		return 0;
	}
	if (text[0] == '[') {
		const char *rb = strchr(text, ']');
		if (rb == NULL || rb[1] != ':')
			return errtext(err, errlen, "bad listen address '%s' (IPv6 is written [::1]:1080)", text);
		hlen = (size_t)(rb - text - 1);
		if (hlen == 0 || hlen >= sizeof(host))
			return errtext(err, errlen, "bad listen address '%s'", text);
		memcpy(host, text + 1, hlen);
		portstr = rb + 2;
	} else {
		const char *colon = strrchr(text, ':');
		if (colon == NULL) {
			strcpy(host, "127.0.0.1");
			hlen = strlen(host);
			portstr = text;
		} else {
			hlen = (size_t)(colon - text);
			if (hlen >= sizeof(host) || memchr(text, ':', hlen) != NULL)
				return errtext(err, errlen, "bad listen address '%s' (IPv6 is written [::1]:1080)", text);
			memcpy(host, text, hlen);
			portstr = colon + 1;
		}
	}
	host[hlen] = '\0';

	char *end;
	errno = 0;
	long port = strtol(portstr, &end, 10);
	if (*portstr == '\0' || *end != '\0' || errno != 0 || port < 0 || port > 65535 ||
	    !(portstr[0] >= '0' && portstr[0] <= '9'))
		return errtext(err, errlen, "bad port in listen address '%s'", text);

	if (strcmp(host, "localhost") == 0 || host[0] == '\0')
		strcpy(host, "127.0.0.1");
	struct sockaddr_in *s4 = (struct sockaddr_in *)&out->addr;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&out->addr;
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		out->addrlen = sizeof(*s4);
		snprintf(out->text, sizeof(out->text), "%.45s:%ld", host, port); /* bound for -Wformat-truncation */
	} else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		out->addrlen = sizeof(*s6);
		snprintf(out->text, sizeof(out->text), "[%.45s]:%ld", host, port);
	} else {
		return errtext(err, errlen, "bad listen address '%s' (give a numeric IPv4 or [IPv6] address)", text);
	}
	return 0;
}

int config_parse_seconds(const char *name, const char *v, double *out, int allow_zero, char *err, size_t errlen)
{
	char *end;
	if (v == NULL)
		return errtext(err, errlen, "option '%s' needs a number of seconds", name);
	errno = 0;
	double d = strtod(v, &end);
	if (end == v || *end != '\0' || errno != 0 || !isfinite(d) || d < 0 || d > 86400 * 365 ||
	    (!allow_zero && d == 0))
		return errtext(err, errlen, "option '%s': bad number of seconds '%s'", name, v);
	*out = d;
	return 0;
}

static int parse_uint(const char *name, const char *v, unsigned long min, unsigned long max, unsigned long *out,
		      char *err, size_t errlen)
{
	char *end;
	if (v == NULL)
		return errtext(err, errlen, "option '%s' needs a number", name);
	errno = 0;
	unsigned long n = strtoul(v, &end, 10);
	if (!(v[0] >= '0' && v[0] <= '9') || *end != '\0' || errno != 0 || n < min || n > max)
		return errtext(err, errlen, "option '%s': '%s' is not a number from %lu to %lu", name, v, min, max);
	*out = n;
	return 0;
}

int config_set(struct config *cfg, const char *name, const char *value, char *err, size_t errlen)
{
	unsigned long n;
	char perr[256];
	int rc = config_route_set(cfg, name, value, err, errlen);
	if (rc > 0)
		rc = config_proxy_set(cfg, name, value, err, errlen);

	if (rc <= 0)
		return rc;
	if (strcmp(name, "listen") == 0) {
		if (value == NULL)
			return errtext(err, errlen, "option 'listen' needs ADDR:PORT");
		if (cfg->nlisten == CONFIG_MAX_LISTEN)
			return errtext(err, errlen, "too many listen addresses (at most %d)", CONFIG_MAX_LISTEN);
		if (config_parse_listen(value, &cfg->listen[cfg->nlisten], err, errlen) < 0)
			return -1;
		cfg->nlisten++;
		return 0;
	}
	if (strcmp(name, "proxy") == 0) {
		if (value == NULL)
			return errtext(err, errlen, "option 'proxy' needs a URL");
		if (cfg->nproxies == CONFIG_MAX_PROXIES)
			return errtext(err, errlen, "too many proxies (at most %d)", CONFIG_MAX_PROXIES);
		if (proxyurl_parse(value, &cfg->proxies[cfg->nproxies], perr, sizeof(perr)) < 0)
			return errtext(err, errlen, "bad proxy URL: %s", perr);
		cfg->nproxies++;
		snprintf(cfg->proxy_source, sizeof(cfg->proxy_source), "-x");
		return 0;
	}
	if (strcmp(name, "verbose") == 0 || strcmp(name, "quiet") == 0) {
		int on = value == NULL || strcasecmp(value, "yes") == 0 || strcasecmp(value, "true") == 0 ||
			 strcmp(value, "1") == 0;
		if (!on && !(strcasecmp(value, "no") == 0 || strcasecmp(value, "false") == 0 || strcmp(value, "0") == 0))
			return errtext(err, errlen, "option '%s' takes yes or no", name);
		if (on)
			cfg->log_level = name[0] == 'v' ? LOG_LVL_DEBUG : LOG_LVL_WARN;
		return 0;
	}
	if (strcmp(name, "handshake-timeout") == 0)
		return config_parse_seconds(name, value, &cfg->handshake_timeout, 0, err, errlen);
	if (strcmp(name, "connect-timeout") == 0)
		return config_parse_seconds(name, value, &cfg->connect_timeout, 0, err, errlen);
	if (strcmp(name, "reply-timeout") == 0)
		return config_parse_seconds(name, value, &cfg->reply_timeout, 0, err, errlen);
	if (strcmp(name, "idle-timeout") == 0)
		return config_parse_seconds(name, value, &cfg->idle_timeout, 1, err, errlen);
	if (strcmp(name, "linger-timeout") == 0)
		return config_parse_seconds(name, value, &cfg->linger_timeout, 0, err, errlen);
	if (strcmp(name, "dns-timeout") == 0)
		return config_parse_seconds(name, value, &cfg->dns_timeout, 0, err, errlen);
	if (strcmp(name, "dns-cache-ttl") == 0)
		return config_parse_seconds(name, value, &cfg->dns_cache_ttl, 1, err, errlen);
	if (strcmp(name, "allow-users") == 0) {
		if (value == NULL)
			return errtext(err, errlen, "option 'allow-users' needs a list of users, or 'any'");
		char list[512];
		snprintf(list, sizeof(list), "%s", value);
		char *save = NULL;
		for (char *u = strtok_r(list, ", ", &save); u != NULL; u = strtok_r(NULL, ", ", &save)) {
			if (strcmp(u, "any") == 0) {
				cfg->allow_any_user = 1;
				continue;
			}
			if (cfg->nallow_uids == CONFIG_MAX_USERS)
				return errtext(err, errlen, "option 'allow-users': at most %d users", CONFIG_MAX_USERS);
			char *end;
			unsigned long id = strtoul(u, &end, 10);
			if (u[0] >= '0' && u[0] <= '9' && *end == '\0' && id < 0xffffffffUL) {
				cfg->allow_uids[cfg->nallow_uids++] = (uid_t)id;
				continue;
			}
			struct passwd *pw = getpwnam(u);
			if (pw == NULL)
				return errtext(err, errlen, "option 'allow-users': unknown user '%s'", u);
			cfg->allow_uids[cfg->nallow_uids++] = pw->pw_uid;
		}
		return 0;
	}
	if (strcmp(name, "dns-servers") == 0) {
		if (value == NULL || strlen(value) >= sizeof(cfg->dns_servers) ||
		    strspn(value, "0123456789abcdefABCDEF.:[],") != strlen(value))
			return errtext(err, errlen, "option 'dns-servers' needs addresses like 127.0.0.1:53,[::1]:53");
		snprintf(cfg->dns_servers, sizeof(cfg->dns_servers), "%s", value);
		return 0;
	}
	if (strcmp(name, "control") == 0) {
		if (value == NULL || value[0] != '/' || strlen(value) >= sizeof(cfg->control_path))
			return errtext(err, errlen, "option 'control' needs an absolute path (under %zu bytes)",
				    sizeof(cfg->control_path));
		snprintf(cfg->control_path, sizeof(cfg->control_path), "%s", value);
		return 0;
	}
	if (strcmp(name, "no-control") == 0) {
		cfg->no_control = value == NULL || strcasecmp(value, "yes") == 0;
		return 0;
	}
	if (strcmp(name, "no-splice") == 0) {
		cfg->splice = !(value == NULL || strcasecmp(value, "yes") == 0);
		return 0;
	}
	if (strcmp(name, "no-http") == 0) {
		cfg->no_http = value == NULL || strcasecmp(value, "yes") == 0;
		return 0;
	}
	if (strcmp(name, "allow-remote") == 0) {
		cfg->allow_remote = value == NULL || strcasecmp(value, "yes") == 0;
		return 0;
	}
	if (strcmp(name, "socks-auth") == 0) {
		if (value == NULL || value[0] == '\0' || strlen(value) >= sizeof(cfg->socks_auth_file))
			return errtext(err, errlen, "option 'socks-auth' needs a file name");
		snprintf(cfg->socks_auth_file, sizeof(cfg->socks_auth_file), "%s", value);
		return 0;
	}
	if (strcmp(name, "exit-idle") == 0)
		return config_parse_seconds(name, value, &cfg->exit_idle, 1, err, errlen);
	if (strcmp(name, "shutdown-grace") == 0)
		return config_parse_seconds(name, value, &cfg->shutdown_grace, 1, err, errlen);
	if (strcmp(name, "proxy-retry") == 0)
		return config_parse_seconds(name, value, &cfg->proxy_retry, 1, err, errlen);
	if (strcmp(name, "max-tunnels") == 0) {
		if (parse_uint(name, value, 1, 1000000, &n, err, errlen) < 0)
			return -1;
		cfg->max_tunnels = (unsigned)n;
		return 0;
	}
	if (strcmp(name, "prewarm") == 0) {
		if (parse_uint(name, value, 0, 64, &n, err, errlen) < 0)
			return -1;
		cfg->prewarm = (unsigned)n;
		return 0;
	}
	if (strcmp(name, "workers") == 0) {
		if (parse_uint(name, value, 1, 64, &n, err, errlen) < 0)
			return -1;
		cfg->workers = (unsigned)n;
		return 0;
	}
	if (strcmp(name, "buffer-size") == 0) {
		if (parse_uint(name, value, 4096, 1 << 20, &n, err, errlen) < 0)
			return -1;
		cfg->buffer_size = n;
		return 0;
	}
	if (strcmp(name, "user-agent") == 0) {
		if (value == NULL || strlen(value) >= sizeof(cfg->user_agent) || strpbrk(value, "\r\n"))
			return errtext(err, errlen, "option 'user-agent' needs a single-line value under %zu bytes",
				    sizeof(cfg->user_agent));
		snprintf(cfg->user_agent, sizeof(cfg->user_agent), "%s", value);
		return 0;
	}
	return errtext(err, errlen, "unknown option '%s'", name);
}

int config_parse_text(struct config *cfg, const char *text, size_t len, const char *source, char *err,
		      size_t errlen)
{
	size_t pos = 0;
	int line_no = 0;
	char line[1024];
	char inner[CONFIG_ERR_MAX];
	size_t rules_before = cfg->nrules;

	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) : len;
		size_t n = end - pos;
		line_no++;
		if (n >= sizeof(line))
			return errtext(err, errlen, "%s:%d: line too long", source, line_no);
		memcpy(line, text + pos, n);
		line[n] = '\0';
		pos = end + 1;
		if (memchr(line, '\0', n) != NULL)
			return errtext(err, errlen, "%s:%d: NUL byte in line", source, line_no);

		/* trim; '#' starts a comment only at the start of a line (passwords may hold '#') */
		char *s = line;
		while (*s == ' ' || *s == '\t')
			s++;
		char *e = s + strlen(s);
		while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
			*--e = '\0';
		if (*s == '\0' || *s == '#')
			continue;

		char *name = s;
		while (*s != '\0' && *s != ' ' && *s != '\t' && *s != '=')
			s++;
		char *value = NULL;
		if (*s != '\0') {
			*s++ = '\0';
			while (*s == ' ' || *s == '\t' || *s == '=')
				s++;
			if (*s != '\0')
				value = s;
		}
		if (strcmp(name, "config") == 0)
			return errtext(err, errlen, "%s:%d: 'config' cannot be used inside a config file", source, line_no);
		if (config_set(cfg, name, value, inner, sizeof(inner)) < 0)
			return errtext(err, errlen, "%s:%d: %s", source, line_no, inner);
	}
	for (size_t i = rules_before; i < cfg->nrules; i++) /* tried after the command line's */
		cfg->rule_in_file[i] = 1;
	return 0;
}

int config_load_file(struct config *cfg, const char *path, char *err, size_t errlen)
{
	char buf[65536];
	size_t len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		errtext(err, errlen, "cannot open config file %s: %s", path, strerror(errno));
		return -2;
	}
	for (;;) {
		ssize_t r = read(fd, buf + len, sizeof(buf) - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			close(fd);
			errtext(err, errlen, "cannot read config file %s: %s", path, strerror(e));
			return -2;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len == sizeof(buf)) {
			close(fd);
			errtext(err, errlen, "config file %s is larger than %zu bytes", path, sizeof(buf) - 1);
			return -2;
		}
	}
	close(fd);
	size_t before = cfg->nproxies, route_before = cfg->nroute_proxies;
	int rc = config_parse_text(cfg, buf, len, path, err, errlen);
	wipe(buf, len); /* the file may hold a password */
	struct stat st;
	for (size_t i = 0; rc == 0 && i < cfg->nproxies + cfg->nroute_proxies; i++) { /* what the file added */
		int x = i < cfg->nproxies;
		const struct proxy_spec *p = x ? &cfg->proxies[i] : &cfg->route_proxies[i - cfg->nproxies];
		if (x ? i < before : i - cfg->nproxies < route_before)
			continue;
		if (p->pass[0] != '\0' && stat(path, &st) == 0 && (st.st_mode & 077) != 0) {
			errtext(err, errlen, "config file %s holds a proxy password but other users may read it (mode %03o): run chmod 600 %s",
			     path, (unsigned)(st.st_mode & 0777), path);
			rc = -2;
		}
	}
	return rc;
}

const char *config_getenv(const char *name)
{
	return getenv(name);
}

static const char *const proxy_env[] = {"https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "http_proxy"};

int config_finish(struct config *cfg, const char *(*getenv_fn)(const char *), char *err, size_t errlen)
{
	char perr[256];

	/* sockets from a service manager replace the default listener (and any other) */
	if (cfg->nlisten == 0 && cfg->ninherited == 0 && config_set(cfg, "listen", "127.0.0.1:1080", err, errlen) < 0)
		return -1;
	if (cfg->nproxies == 0) {
		for (size_t i = 0; i < sizeof(proxy_env) / sizeof(proxy_env[0]); i++) {
			const char *v = getenv_fn(proxy_env[i]);
			if (v == NULL || v[0] == '\0')
				continue;
			if (proxyurl_parse(v, &cfg->proxies[0], perr, sizeof(perr)) < 0)
				return errtext(err, errlen, "bad proxy URL in %s: %s", proxy_env[i], perr);
			cfg->nproxies = 1;
			snprintf(cfg->proxy_source, sizeof(cfg->proxy_source), "%s", proxy_env[i]);
			break;
		}
	}
	if (config_route_finish(cfg, getenv_fn, err, errlen) < 0)
		return -1;
	if (cfg->nproxies == 0 && !config_route_covers_all(cfg)) {
		errtext(err, errlen, "no upstream proxy: give one with -x http://host:port or set https_proxy");
		return 1;
	}
	if (cfg->socks_auth_file[0] != '\0' && cfg->auth == NULL &&
	    config_load_auth(cfg, cfg->socks_auth_file, err, errlen) < 0)
		return 1;
	for (size_t i = 0; cfg->ninherited == 0 && i < cfg->nlisten; i++) { /* else ignored: server.c */
		if (!config_listen_is_local(&cfg->listen[i]) && cfg->nauth == 0 && !cfg->allow_remote) {
			errtext(err, errlen,
			     "refusing to listen on %s without client authentication: anyone who can reach it "
			     "could use your proxy; add --socks-auth FILE, or --allow-remote if that is intended",
			     cfg->listen[i].text);
			return 1;
		}
	}
	for (size_t i = 0; cfg->workers > 1 && cfg->ninherited == 0 && i < cfg->nlisten; i++) {
		if (cfg->listen[i].addr.ss_family == AF_UNIX) {
			errtext(err, errlen, "--workers needs TCP listeners: %s is a Unix-domain socket", cfg->listen[i].text);
			return -1;
		}
	}
	if (cfg->exit_idle > 0 && cfg->workers > 1)
		return errtext(err, errlen, "--exit-idle needs a single process: leave out --workers");
	const char *pw = getenv_fn("SOCKS2HTTP_PROXY_PASSWORD");
	for (size_t i = 0; i < cfg->nproxies; i++) {
		struct proxy_spec *p = &cfg->proxies[i];
		if (p->has_auth && p->pass[0] == '\0' && pw != NULL) {
			if (strlen(pw) >= sizeof(p->pass))
				return errtext(err, errlen, "SOCKS2HTTP_PROXY_PASSWORD is too long");
			snprintf(p->pass, sizeof(p->pass), "%s", pw);
		}
	}
	return 0;
}

int config_default_path(const char *(*getenv_fn)(const char *), char *out, size_t cap)
{
	const char *xdg = getenv_fn("XDG_CONFIG_HOME");
	const char *home = getenv_fn("HOME");
	int n;

	if (xdg != NULL && xdg[0] == '/') /* a relative one is to be ignored (XDG base directory spec) */
		n = snprintf(out, cap, "%s/socks2http/config", xdg);
	else if (home != NULL && home[0] == '/')
		n = snprintf(out, cap, "%s/.config/socks2http/config", home);
	else
		return -1;
	return n > 0 && (size_t)n < cap ? 0 : -1;
}

int config_listen_is_local(const struct listen_spec *l)
{
	return config_addr_is_local((const struct sockaddr *)&l->addr);
}

int config_addr_is_local(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_UNIX)
		return 1;
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
	}
	return 0;
}

static void free_auth(struct config *cfg)
{
	if (cfg->auth != NULL) {
		wipe(cfg->auth, cfg->nauth * sizeof(*cfg->auth));
		free(cfg->auth);
	}
	cfg->auth = NULL;
	cfg->nauth = 0;
}

void config_free(struct config *cfg)
{
	free_auth(cfg);
	config_route_free(cfg);
}

/* Reads at most cap-1 bytes of a file that only its owner may read. */
static int read_private_file(const char *path, const char *what, char *buf, size_t cap, size_t *len, char *err,
			     size_t errlen)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errtext(err, errlen, "cannot open %s %s: %s", what, path, strerror(errno));
	if (fstat(fd, &st) < 0 || (st.st_mode & 077) != 0) {
		close(fd);
		return errtext(err, errlen, "%s %s may be read by other users (mode %03o): run chmod 600 %s", what, path,
			    (unsigned)(st.st_mode & 0777), path);
	}
	*len = 0;
	for (;;) {
		ssize_t r = read(fd, buf + *len, cap - 1 - *len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			close(fd);
			return errtext(err, errlen, "cannot read %s %s: %s", what, path, strerror(e));
		}
		if (r == 0)
			break;
		*len += (size_t)r;
		if (*len == cap - 1) {
			close(fd);
			return errtext(err, errlen, "%s %s is larger than %zu bytes", what, path, cap - 2);
		}
	}
	close(fd);
	buf[*len] = '\0';
	return 0;
}

int config_load_auth(struct config *cfg, const char *path, char *err, size_t errlen)
{
	char buf[32768];
	size_t len = 0, pos = 0;
	int line_no = 0, rc = 0;

	if (read_private_file(path, "credentials file", buf, sizeof(buf), &len, err, errlen) < 0)
		return -1;
	free_auth(cfg);
	cfg->auth = calloc(CONFIG_MAX_AUTH, sizeof(*cfg->auth));
	if (cfg->auth == NULL)
		return errtext(err, errlen, "out of memory");
	while (pos < len && rc == 0) {
		char *line = buf + pos;
		char *nl = memchr(line, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - line) : len - pos;
		pos += n + 1;
		line_no++;
		line[n] = '\0';
		if (n > 0 && line[n - 1] == '\r')
			line[--n] = '\0';
		if (n == 0 || line[0] == '#')
			continue;
		char *colon = strchr(line, ':');
		if (colon == NULL || colon == line || (size_t)(colon - line) > 255 || strlen(colon + 1) > 255 ||
		    colon[1] == '\0')
			rc = errtext(err, errlen, "%s:%d: expected user:password (each 1 to 255 bytes)", path, line_no);
		else if (cfg->nauth == CONFIG_MAX_AUTH)
			rc = errtext(err, errlen, "%s: at most %d users", path, CONFIG_MAX_AUTH);
		else {
			struct auth_user *a = &cfg->auth[cfg->nauth++];
			memcpy(a->user, line, (size_t)(colon - line));
			snprintf(a->pass, sizeof(a->pass), "%s", colon + 1);
		}
	}
	wipe(buf, sizeof(buf));
	if (rc == 0 && cfg->nauth == 0)
		rc = errtext(err, errlen, "%s: no user:password lines", path);
	if (rc < 0)
		free_auth(cfg);
	return rc;
}
