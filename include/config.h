/* config: command line, config file and environment into one struct, fixed once the
 * daemon runs.  Parsing does no logging; errors come back as one line of text. */
#ifndef SOCKS2HTTP_CONFIG_H
#define SOCKS2HTTP_CONFIG_H

#include <stddef.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "proxyurl.h"
#include "rules.h"

#define CONFIG_MAX_LISTEN 16
#define CONFIG_MAX_PROXIES 16
#define CONFIG_ERR_MAX 512
#define CONFIG_FDNAME_MAX 64 /* an inherited socket's name (LISTEN_FDNAMES), for logs */
#define CONFIG_MAX_ROUTE_PROXIES 16 /* different proxy URLs named by --route rules */

struct listen_spec {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char text[120]; /* normalised: "127.0.0.1:1080", "[::1]:1080", "unix:/path" */
};

#define CONFIG_MAX_USERS 32
#define CONFIG_MAX_AUTH 64

/* One RFC 1929 user from the --socks-auth file. */
struct auth_user {
	char user[256];
	char pass[256];
};

enum log_level { LOG_LVL_ERROR = 0, LOG_LVL_WARN = 1, LOG_LVL_INFO = 2, LOG_LVL_DEBUG = 3 };

struct config {
	struct listen_spec listen[CONFIG_MAX_LISTEN];
	size_t nlisten;
	struct proxy_spec proxies[CONFIG_MAX_PROXIES];
	size_t nproxies;
	char proxy_source[32]; /* "-x", or the environment variable the proxy came from */
	int log_level;         /* enum log_level */

	double handshake_timeout; /* accept to complete SOCKS request */
	double connect_timeout;   /* TCP connect to one proxy address (and its name lookup) */
	double reply_timeout;     /* CONNECT sent to the proxy's complete response header */
	double idle_timeout;      /* established tunnel without traffic; 0 = none */
	double linger_timeout;    /* half-closed tunnel without traffic */
	double dns_timeout;       /* one DNS attempt (c-ares), tried dns_tries times */
	int dns_tries;
	double dns_cache_ttl;     /* proxy host addresses are reused this long at most */
	char dns_servers[256];    /* "" = the system's (resolv.conf); else c-ares' CSV form */
	double shutdown_grace;    /* live tunnels may run this long after SIGTERM/SIGINT */
	double proxy_retry;       /* a proxy that failed is tried last for this long */
	unsigned max_tunnels;     /* per worker process */
	unsigned workers;         /* processes sharing the listen ports (SO_REUSEPORT) */
	unsigned prewarm;         /* spare connections kept open to the first healthy proxy */
	size_t buffer_size;       /* per direction, per tunnel */
	int splice;               /* relay with splice(2) where the system has it */
	int no_http;              /* HTTP proxy clients are dropped (SOCKS only) */
	size_t max_header;        /* proxy response header bound */
	char user_agent[128];     /* "" sends none */
	char proxy_cacert[256];   /* CA file for https:// proxies; "" = the system's store */
	int proxy_insecure;       /* --proxy-insecure: no certificate verification */
	unsigned proxy_auth;      /* HTTPC_AUTH_* schemes that may be used (--proxy-auth) */

	/* who may use the bridge */
	int allow_any_user;       /* --allow-users any */
	uid_t allow_uids[CONFIG_MAX_USERS]; /* besides our own uid */
	size_t nallow_uids;
	int allow_remote;         /* --allow-remote: listen beyond loopback without auth */
	char socks_auth_file[256];
	struct auth_user *auth;   /* from socks_auth_file (config_finish); malloc'd */
	size_t nauth;
	int password_on_cmdline;  /* a -x URL carried a password: warn at start */
	char control_path[108];   /* --control; "" = the default place */
	int no_control;           /* --no-control */

	/* started by a service manager (activation.h): its listening sockets replace -l */
	int inherited_fd[CONFIG_MAX_LISTEN];
	char inherited_name[CONFIG_MAX_LISTEN][CONFIG_FDNAME_MAX];
	size_t ninherited;
	double exit_idle;         /* --exit-idle: with inherited sockets, exit after this long
				   * without a tunnel; 0 = never */
	int config_given;         /* -c was on the command line (else the default file is read) */
	char config_path[256];    /* the default config file that was read, "" if none */

	/* routes (config_route.c): the first matching rule, then no_proxy, then the PAC,
	 * then the -x list */
	struct rule rules[RULES_MAX]; /* command line's first, then the config file's (config_finish) */
	size_t nrules;
	uint8_t rule_in_file[RULES_MAX]; /* rules[i] came from a config file (kept in step) */
	struct proxy_spec route_proxies[CONFIG_MAX_ROUTE_PROXIES]; /* rule.hop indexes these */
	size_t nroute_proxies;
	struct noproxy noproxy;
	int noproxy_set;          /* a list was given (maybe empty), by option or environment */
	char noproxy_source[16];  /* "--no-proxy", "no_proxy", "NO_PROXY" */
	char pac_url[1024];       /* "" = none; http://, file:// or an absolute path */
	double pac_timeout;       /* one FindProxyForURL call (2) */
	double pac_refresh;       /* re-fetch period (600) */
	double pac_cache;         /* answers cached per host:port (60; 0 = none) */
};

/* CONFIG_FAIL: a config file that cannot be read or may be read by others (exit 1). */
enum config_action { CONFIG_RUN = 0, CONFIG_EXIT_OK = 1, CONFIG_USAGE = 2, CONFIG_FAIL = 3 };

void config_init(struct config *cfg);

/* Applies one option by its long name ("proxy", "max-tunnels", ...).  value may be NULL
 * for flags.  Returns 0 or -1 with err filled. */
int config_set(struct config *cfg, const char *name, const char *value, char *err, size_t errlen);

/* Applies a config file's text: "name value" per line, '#' comments, blank lines.
 * source names the file in error messages.  Returns 0 or -1 with err filled. */
int config_parse_text(struct config *cfg, const char *text, size_t len, const char *source,
		      char *err, size_t errlen);

/* Reads and applies a file (under 64 KiB).  Returns 0; -1 with err for a bad option in it;
 * -2 with err when it cannot be read or holds a password that others may read. */
int config_load_file(struct config *cfg, const char *path, char *err, size_t errlen);

/* Parses argv.  Prints --help/--version text to stdout itself (CONFIG_EXIT_OK); on a usage
 * error returns CONFIG_USAGE with err filled. */
enum config_action config_parse_args(struct config *cfg, int argc, char **argv, char *err, size_t errlen);

/* Completes the configuration after parsing: the default listener, and, without -x, the
 * proxy from the environment (https_proxy, HTTPS_PROXY, all_proxy, ALL_PROXY, http_proxy:
 * first set wins); a proxy user without a password takes SOCKS2HTTP_PROXY_PASSWORD.
 * getenv_fn is getenv in the daemon.  Returns 0; -1 with err for a bad value (usage);
 * 1 with err for a start failure: no proxy configured anywhere, a --socks-auth file that
 * cannot be read, a listener beyond loopback without client authentication. */
int config_finish(struct config *cfg, const char *(*getenv_fn)(const char *), char *err, size_t errlen);

/* The config file read when -c is not given: $XDG_CONFIG_HOME/socks2http/config, or
 * $HOME/.config/socks2http/config.  Returns 0 with the path in out, or -1 (no usable
 * variable, or too long). */
int config_default_path(const char *(*getenv_fn)(const char *), char *out, size_t cap);

/* config_parse_args, and without -c the default config file first when it exists (the
 * command line then overrides it, as it does a -c file before it): what the daemon runs at
 * start and on SIGHUP.  The file's errors are the same as with -c (CONFIG_FAIL when it
 * cannot be read or others may read its password, CONFIG_USAGE for a bad line). */
enum config_action config_load(struct config *cfg, int argc, char **argv, const char *(*getenv_fn)(const char *),
			       char *err, size_t errlen);

/* getenv, as the const-returning function config_finish takes. */
const char *config_getenv(const char *name);

/* Releases what config_finish allocated (the RFC 1929 users), wiping passwords (also the
 * route proxies'). */
void config_free(struct config *cfg);

/* Reads an RFC 1929 credentials file, "user:password" per line.  Refuses a file that group
 * or others may read (as ssh does).  Returns 0 or -1 with err. */
int config_load_auth(struct config *cfg, const char *path, char *err, size_t errlen);

/* Is the listen address a loopback or unix-domain one? */
int config_listen_is_local(const struct listen_spec *l);
/* Is the address loopback (127/8, ::1, v4-mapped 127/8) or unix-domain? */
int config_addr_is_local(const struct sockaddr *sa);

/* Parses "ADDR:PORT", "[V6]:PORT", "localhost:PORT", a bare "PORT" (127.0.0.1), or
 * "unix:/path" (a Unix-domain socket). */
int config_parse_listen(const char *text, struct listen_spec *out, char *err, size_t errlen);

/* Overwrites passwords in -x/--proxy arguments so the process list does not show them. */
void config_scrub_argv(int argc, char **argv);

void config_usage(FILE *out);

/* Does command-line argument a (an option) take the next argument as its value? */
int config_arg_takes_next(const char *a);
/* The config file config_load read: the -c / --config file named in argv (the last one
 * given), else the default one, else NULL. */
const char *config_file_read(const struct config *cfg, int argc, char **argv);

/* Inside the config module (config.c, cmdline.c, config_route.c). */
/* "S" seconds into *out: finite, 0 .. one year, 0 only with allow_zero.  0 or -1 with err. */
int config_parse_seconds(const char *name, const char *v, double *out, int allow_zero, char *err, size_t errlen);
/* config_route.c: the route options' defaults */
void config_route_init(struct config *cfg);
/* config_proxy.c: TLS and authentication options; config_proxy_set returns 1 for a name
 * that is not one of them. */
void config_proxy_init(struct config *cfg);
int config_proxy_set(struct config *cfg, const char *name, const char *value, char *err, size_t errlen);
/* Applies no-proxy, route, pac, pac-timeout, pac-refresh, pac-cache: 0, -1 with err, or 1
 * when name is none of these. */
int config_route_set(struct config *cfg, const char *name, const char *value, char *err, size_t errlen);
/* The command line's rules before the file's, no_proxy from the environment, the proxy
 * password for route proxies; a rule that needs the -x list when there is none.  0, or -1
 * with err (usage). */
int config_route_finish(struct config *cfg, const char *(*getenv_fn)(const char *), char *err, size_t errlen);
/* Is the -x list never needed (a PAC, a rule for every target, --no-proxy '*')? */
int config_route_covers_all(const struct config *cfg);
/* Wipes the route proxies' credentials. */
void config_route_free(struct config *cfg);
/* Does a route value ("PATTERN ACTION URL...") or a proxy URL carry a password? */
int config_route_has_password(const char *value);

#endif
