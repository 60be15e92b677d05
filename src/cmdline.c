/* cmdline: the command line: options table, --help text, argv parsing, and the scrubbing
 * of passwords from the visible argv.  Each option is applied with config_set. */
#include "config.h"
#include "wipe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* What --version lists after "features:": the Linux-only interfaces built in (see
 * configure --enable-portable), so that tests can tell what to expect. */
#ifdef HAVE_SPLICE
#define FEATURE_SPLICE " splice"
#else
#define FEATURE_SPLICE ""
#endif
#ifdef S2H_SOCK_DIAG
#define FEATURE_SOCK_DIAG " sock_diag"
#else
#define FEATURE_SOCK_DIAG ""
#endif
#ifdef S2H_PORTABLE
#define FEATURE_PORTABLE " portable"
#else
#define FEATURE_PORTABLE ""
#endif

struct opt {
	char short_name;
	const char *long_name;
	int takes_value;
};

static const struct opt options[] = {
	{'l', "listen", 1},         {'x', "proxy", 1},           {'c', "config", 1},
	{'v', "verbose", 0},        {'q', "quiet", 0},           {'h', "help", 0},
	{'V', "version", 0},        {0, "handshake-timeout", 1}, {0, "connect-timeout", 1},
	{0, "reply-timeout", 1},    {0, "idle-timeout", 1},      {0, "linger-timeout", 1},
	{0, "dns-timeout", 1},      {0, "dns-cache-ttl", 1},     {0, "max-tunnels", 1},
	{0, "buffer-size", 1},      {0, "user-agent", 1},        {0, "shutdown-grace", 1},
	{0, "proxy-retry", 1},      {0, "allow-users", 1},       {0, "allow-remote", 0},
	{0, "socks-auth", 1},       {0, "no-splice", 0},         {0, "dns-servers", 1},
	{0, "workers", 1},          {0, "prewarm", 1},           {0, "control", 1},
	{0, "no-control", 0},       {0, "exit-idle", 1},         {0, "no-http", 0},
	{0, "route", 1},            {0, "no-proxy", 1},          {0, "pac", 1},
	{0, "pac-timeout", 1},      {0, "pac-refresh", 1},       {0, "pac-cache", 1},
	{0, "proxy-cacert", 1},     {0, "proxy-insecure", 0},    {0, "proxy-auth", 1},
};

void config_usage(FILE *out)
{
	fprintf(out,
		"Usage: socks2http [options]\n"
		"Accepts SOCKS4, SOCKS4a, SOCKS5 and HTTP proxy clients on the same port and carries each\n"
		"connection through an HTTP proxy with CONNECT.\n\n"
		"  -l, --listen ADDR:PORT   accept SOCKS clients here; repeatable; default 127.0.0.1:1080;\n"
		"                           IPv6 as [::1]:1080; unix:/path for a Unix-domain socket (0600)\n"
		"  -x, --proxy URL          upstream HTTP proxy, http[s]://[user[:password]@]host[:port]\n"
		"                           (https: TLS to the proxy, port 443; user DOMAIN%%5Cuser for NTLM);\n"
		"                           repeatable: when one cannot be reached the next is tried.\n"
		"                           Without -x: https_proxy, HTTPS_PROXY, all_proxy, ALL_PROXY,\n"
		"                           http_proxy (first set wins). A user without a password in the\n"
		"                           URL takes SOCKS2HTTP_PROXY_PASSWORD from the environment.\n"
		"  -c, --config FILE        the same options from a file, one 'name value' per line\n"
		"  -v, --verbose            log more (debug)\n"
		"  -q, --quiet              log only warnings and errors\n"
		"  -h, --help               show this help\n"
		"  -V, --version            show the version\n"
		"      --allow-users LIST   users (names or uids, comma-separated) who may use the bridge\n"
		"                           besides its own user; 'any' allows everybody (own user only)\n"
		"      --socks-auth FILE    SOCKS5 clients must log in (RFC 1929) with a user:password\n"
		"                           line of FILE (mode 0600); SOCKS4 clients are refused\n"
		"      --allow-remote       allow listening beyond loopback without --socks-auth\n"
		"      --handshake-timeout S  SOCKS handshake must complete within S seconds (10)\n"
		"      --connect-timeout S  TCP connect to one proxy address (10)\n"
		"      --reply-timeout S    proxy must answer CONNECT within S seconds (30)\n"
		"      --idle-timeout S     close tunnels idle for S seconds; 0 = never (0)\n"
		"      --linger-timeout S   close half-closed tunnels idle for S seconds (30)\n"
		"      --dns-timeout S      one DNS attempt for the proxy's name (2.5), tried twice\n"
		"      --dns-servers LIST   DNS servers for the proxies' names, e.g. 10.0.0.53,[::1]:53\n"
		"                           (default: the system's, from /etc/resolv.conf)\n"
		"      --dns-cache-ttl S    reuse the proxy's addresses at most S seconds (60)\n"
		"      --proxy-retry S      a proxy that could not be reached is tried last for S seconds (30)\n"
		"      --shutdown-grace S   on SIGTERM/SIGINT, live tunnels may finish within S seconds (5)\n"
		"      --max-tunnels N      concurrent tunnels at most, per worker (1024)\n"
		"      --prewarm N          keep N spare connections open to the proxy, recycled every 15s (0)\n"
		"      --workers N          N processes share the TCP listen ports (SO_REUSEPORT) (1)\n"
		"      --buffer-size BYTES  per direction and tunnel (32768)\n"
		"      --no-splice          relay through buffers even where splice(2) is available\n"
		"      --no-http            serve SOCKS clients only (else HTTP proxy clients too: CONNECT,\n"
		"                           http:// URLs forwarded with the proxy's login, /proxy.pac)\n"
				"      --proxy-auth LIST    schemes that may be used: negotiate,ntlm,digest,basic (all); the\n"
		"                           strongest one the proxy offers and the credentials allow wins\n"
		"      --proxy-cacert FILE  CA certificates for https:// proxies (default: the system's)\n"
		"      --proxy-insecure     do not verify https:// proxies' certificates (said in every log line)\n"
		"      --user-agent TEXT    User-Agent sent with CONNECT (socks2http/VERSION)\n"
		"      --control PATH       the control socket 'socks2http status' asks (default\n"
		"                           $XDG_RUNTIME_DIR/socks2http/control, else /tmp/socks2http-UID/control)\n"
		"      --no-control         no control socket\n"
		"      --exit-idle S        with sockets from systemd or launchd (socket activation): exit\n"
		"                           after S seconds without a tunnel; ignored otherwise (0 = never)\n"
		"      --route 'PATTERN ACTION'  repeatable; the first rule that matches the target decides.\n"
		"                           PATTERN: *, host, .domain (and subdomains), *.domain (subdomains),\n"
		"                           IP or CIDR (10.0.0.0/8, [fd00::/8]), each with :PORT or :LOW-HIGH;\n"
		"                           ACTION: direct, block, proxy [URL...] (none: the -x list),\n"
		"                           chain URL URL... (through each in turn)\n"
		"      --no-proxy LIST      targets that go direct, curl's no_proxy syntax (host, .domain,\n"
		"                           IP, CIDR, * for all; :PORT too); default: no_proxy, NO_PROXY\n"
		"      --pac URL            a PAC file (http://, file:// or a path) decides what no rule or\n"
		"                           no_proxy entry does; none fetchable: direct\n"
		"      --pac-timeout S      one FindProxyForURL call at most (2)\n"
		"      --pac-refresh S      fetch the PAC again every S seconds (600)\n"
		"      --pac-cache S        reuse the PAC's answer for a host:port for S seconds (60)\n\n"
		"Without -c, $XDG_CONFIG_HOME/socks2http/config (~/.config/socks2http/config) is read\n"
		"first when it exists.  Started by systemd or launchd with listening sockets, those are\n"
		"used instead of -l; READY=1, RELOADING=1, STOPPING=1 and STATUS= go to NOTIFY_SOCKET.\n\n"
		"  socks2http check [TARGET] [options] [--json]\n"
		"                           walk one tunnel to TARGET (example.com:443) stage by stage\n"
		"  socks2http status [--control PATH] [--json] [--watch [S]]\n"
		"                           the running daemon's counters, proxies and tunnels\n");
}

static const struct opt *find_long(const char *name, size_t n)
{
	for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++)
		if (strlen(options[i].long_name) == n && strncmp(options[i].long_name, name, n) == 0)
			return &options[i];
	return NULL;
}

static const struct opt *find_short(char c)
{
	for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++)
		if (options[i].short_name == c)
			return &options[i];
	return NULL;
}

int config_arg_takes_next(const char *a)
{
	if (a[0] != '-' || a[1] == '\0')
		return 0;
	if (a[1] == '-') {
		const struct opt *o = strchr(a, '=') ? NULL : find_long(a + 2, strlen(a + 2));
		return o != NULL && o->takes_value;
	}
	for (const char *s = a + 1; *s; s++) {
		const struct opt *o = find_short(*s);
		if (o == NULL)
			return 0;
		if (o->takes_value)
			return s[1] == '\0';
	}
	return 0;
}

/* The lists the command line gave: each replaces the config file's list (the default file read
 * before the command line, or a -c file before or after the option), as the help promises;
 * within the command line the entries add up.  Routes are not replaced: the command line's are
 * tried first (config_route_finish). */
struct cmdline_lists {
	int listen, proxy, users;
};

static void drop_proxies(struct config *cfg, size_t keep)
{
	wipe(&cfg->proxies[keep], (cfg->nproxies - keep) * sizeof(cfg->proxies[0])); /* passwords */
	cfg->nproxies = keep;
}

/* Applies an option from the command line; -v and -q step the level. */
static int apply(struct config *cfg, struct cmdline_lists *given, const struct opt *o, const char *value,
		 char *err, size_t errlen)
{
	if (strcmp(o->long_name, "config") == 0) {
		size_t nlisten = cfg->nlisten, nproxies = cfg->nproxies, nusers = cfg->nallow_uids;
		int any = cfg->allow_any_user;
		cfg->config_given = 1;
		int rc = config_load_file(cfg, value, err, errlen);
		if (given->listen)
			cfg->nlisten = nlisten;
		if (given->proxy)
			drop_proxies(cfg, nproxies);
		if (given->users) {
			cfg->nallow_uids = nusers;
			cfg->allow_any_user = any;
		}
		return rc;
	}
	if (strcmp(o->long_name, "listen") == 0 && !given->listen) {
		given->listen = 1;
		cfg->nlisten = 0;
	}
	if (strcmp(o->long_name, "proxy") == 0 && !given->proxy) {
		given->proxy = 1;
		drop_proxies(cfg, 0);
	}
	if (strcmp(o->long_name, "allow-users") == 0 && !given->users) {
		given->users = 1;
		cfg->nallow_uids = 0;
		cfg->allow_any_user = 0;
	}
	if (strcmp(o->long_name, "verbose") == 0) {
		if (cfg->log_level < LOG_LVL_DEBUG)
			cfg->log_level++;
		return 0;
	}
	if (strcmp(o->long_name, "quiet") == 0) {
		if (cfg->log_level > LOG_LVL_ERROR)
			cfg->log_level--;
		return 0;
	}
	if (strcmp(o->long_name, "proxy") == 0) {
		const char *sep = strstr(value, "://");
		const char *auth = sep ? sep + 3 : value;
		const char *at = strrchr(auth, '@');
		if (at != NULL && memchr(auth, ':', (size_t)(at - auth)) != NULL)
			cfg->password_on_cmdline = 1;
	}
	if (strcmp(o->long_name, "route") == 0 && config_route_has_password(value))
		cfg->password_on_cmdline = 1;
	return config_set(cfg, o->long_name, value, err, errlen);
}

enum config_action config_parse_args(struct config *cfg, int argc, char **argv, char *err, size_t errlen)
{
	int want_help = 0, want_version = 0;
	struct cmdline_lists given = { 0, 0, 0 };

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const struct opt *o = NULL; /* set on every path; -Os cannot tell */
		const char *value = NULL;

		if (a[0] != '-' || a[1] == '\0') {
			snprintf(err, errlen, "unexpected argument '%s'", a);
			return CONFIG_USAGE;
		}
		if (a[1] == '-') {
			const char *eq = strchr(a + 2, '=');
			size_t n = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
			o = find_long(a + 2, n);
			if (o == NULL) {
				snprintf(err, errlen, "unknown option '%.*s'", (int)(n + 2), a);
				return CONFIG_USAGE;
			}
			if (o->takes_value) {
				if (eq)
					value = eq + 1;
				else if (i + 1 < argc)
					value = argv[++i];
				else {
					snprintf(err, errlen, "option '--%s' needs a value", o->long_name);
					return CONFIG_USAGE;
				}
			} else if (eq) {
				snprintf(err, errlen, "option '--%s' takes no value", o->long_name);
				return CONFIG_USAGE;
			}
		} else {
			/* short options; flags may be grouped (-vv), a value may follow directly (-l1080) */
			for (const char *s = a + 1; *s; s++) {
				o = find_short(*s);
				if (o == NULL) {
					snprintf(err, errlen, "unknown option '-%c'", *s);
					return CONFIG_USAGE;
				}
				if (o->takes_value) {
					if (s[1] != '\0')
						value = s + 1;
					else if (i + 1 < argc)
						value = argv[++i];
					else {
						snprintf(err, errlen, "option '-%c' needs a value", *s);
						return CONFIG_USAGE;
					}
					break;
				}
				if (s[1] == '\0')
					break;
				if (o->short_name == 'h')
					want_help = 1;
				else if (o->short_name == 'V')
					want_version = 1;
				else if (apply(cfg, &given, o, NULL, err, errlen) < 0)
					return CONFIG_USAGE;
			}
		}
		if (strcmp(o->long_name, "help") == 0)
			want_help = 1;
		else if (strcmp(o->long_name, "version") == 0)
			want_version = 1;
		else {
			int rc = apply(cfg, &given, o, value, err, errlen);
			if (rc < 0)
				return rc == -2 ? CONFIG_FAIL : CONFIG_USAGE;
		}
	}
	if (want_help) {
		config_usage(stdout);
		return CONFIG_EXIT_OK;
	}
	if (want_version) {
		const char *features = FEATURE_SPLICE FEATURE_SOCK_DIAG FEATURE_PORTABLE;
		printf("%s %s\nfeatures:%s\n", PACKAGE_NAME, PACKAGE_VERSION, features[0] ? features : " none");
		return CONFIG_EXIT_OK;
	}
	return CONFIG_RUN;
}

enum config_action config_load(struct config *cfg, int argc, char **argv, const char *(*getenv_fn)(const char *),
			       char *err, size_t errlen)
{
	char path[sizeof(cfg->config_path)];
	struct stat st;
	enum config_action a = config_parse_args(cfg, argc, argv, err, errlen);

	if (a != CONFIG_RUN || cfg->config_given || config_default_path(getenv_fn, path, sizeof(path)) < 0 ||
	    stat(path, &st) < 0)
		return a;
	/* again from the start: the file first, then the command line over it */
	config_free(cfg);
	config_init(cfg);
	int rc = config_load_file(cfg, path, err, errlen);
	if (rc < 0)
		return rc == -2 ? CONFIG_FAIL : CONFIG_USAGE;
	snprintf(cfg->config_path, sizeof(cfg->config_path), "%s", path);
	return config_parse_args(cfg, argc, argv, err, errlen);
}

/* the password of the URL in v[0..n) */
static void scrub_span(char *v, size_t n)
{
	char *auth = v, *at = NULL;
	for (char *q = v; q + 3 <= v + n; q++)
		if (memcmp(q, "://", 3) == 0) {
			auth = q + 3;
			break;
		}
	for (char *q = auth; q < v + n; q++)
		if (*q == '@')
			at = q;
	char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
	for (char *p = colon ? colon + 1 : v + n; p < at; p++)
		*p = '*';
}

static void scrub_url(char *v)
{
	scrub_span(v, strlen(v));
}

/* a --route value: each word's URL */
static void scrub_route(char *v)
{
	while (*v != '\0') {
		size_t n = strcspn(v, " \t");
		scrub_span(v, n);
		v += n;
		v += strspn(v, " \t");
	}
}

void config_scrub_argv(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		char *a = argv[i];
		if (strncmp(a, "--proxy=", 8) == 0) {
			scrub_url(a + 8);
		} else if (strcmp(a, "--proxy") == 0 && i + 1 < argc) {
			scrub_url(argv[++i]);
		} else if (strncmp(a, "--route=", 8) == 0) {
			scrub_route(a + 8);
		} else if (strcmp(a, "--route") == 0 && i + 1 < argc) {
			scrub_route(argv[++i]);
		} else if (a[0] == '-' && a[1] != '-') {
			/* short flags as config_parse_args groups them: -x URL, -xURL, -vx URL, -vxURL */
			for (char *s = a + 1; *s != '\0'; s++) {
				const struct opt *o = find_short(*s);
				if (o == NULL || !o->takes_value)
					continue;
				char *v = s[1] != '\0' ? s + 1 : i + 1 < argc ? argv[++i] : NULL;
				if (o->short_name == 'x' && v != NULL)
					scrub_url(v);
				break;
			}
		}
	}
}

const char *config_file_read(const struct config *cfg, int argc, char **argv)
{
	const char *file = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strncmp(a, "--config=", 9) == 0)
			file = a + 9;
		else if ((strcmp(a, "--config") == 0 || strcmp(a, "-c") == 0) && i + 1 < argc)
			file = argv[i + 1];
		else if (strncmp(a, "-c", 2) == 0 && a[2] != '\0')
			file = a + 2;
		if (config_arg_takes_next(a))
			i++;
	}
	return file ? file : cfg->config_path[0] ? cfg->config_path : NULL;
}
