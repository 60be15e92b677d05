/* test_config: options, config files, the command line, the environment and argv scrubbing. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "config.h"

static struct config cfg;
static char err[CONFIG_ERR_MAX];

/* err must contain want. */
static void check_err(const char *want)
{
	if (strstr(err, want) == NULL)
		fprintf(stderr, "message \"%s\" lacks \"%s\"\n", err, want);
	CHECK(strstr(err, want) != NULL);
}

static int set(const char *name, const char *value)
{
	err[0] = '\0';
	return config_set(&cfg, name, value, err, sizeof(err));
}

static int text(const char *s, const char *source)
{
	err[0] = '\0';
	return config_parse_text(&cfg, s, strlen(s), source, err, sizeof(err));
}

static void test_defaults(void)
{
	config_init(&cfg);
	CHECK_EQ_INT(cfg.nlisten, 0);
	CHECK_EQ_INT(cfg.nproxies, 0);
	CHECK_EQ_STR(cfg.proxy_source, "");
	CHECK_EQ_INT(cfg.log_level, LOG_LVL_INFO);
	CHECK(cfg.handshake_timeout == 10);
	CHECK(cfg.connect_timeout == 10);
	CHECK(cfg.reply_timeout == 30);
	CHECK(cfg.idle_timeout == 0);
	CHECK(cfg.linger_timeout == 30);
	CHECK(cfg.dns_timeout == 2.5);
	CHECK_EQ_INT(cfg.dns_tries, 2);
	CHECK(cfg.dns_cache_ttl == 60);
	CHECK_EQ_INT(cfg.max_tunnels, 1024);
	CHECK_EQ_INT(cfg.buffer_size, 32768);
	CHECK_EQ_INT(cfg.max_header, 32768);
	CHECK_EQ_STR(cfg.user_agent, "socks2http/0.1.0");
	CHECK_EQ_INT(cfg.password_on_cmdline, 0);
}

static void test_set(void)
{
	config_init(&cfg);

	CHECK_EQ_INT(set("listen", "1.2.3.4:80"), 0);
	CHECK_EQ_INT(cfg.nlisten, 1);
	CHECK_EQ_STR(cfg.listen[0].text, "1.2.3.4:80");
	CHECK_EQ_INT(set("listen", NULL), -1);
	check_err("listen");
	CHECK_EQ_INT(set("listen", "nonsense:80"), -1);
	check_err("bad listen address 'nonsense:80'");
	CHECK_EQ_INT(cfg.nlisten, 1);
	for (int i = 1; i < CONFIG_MAX_LISTEN; i++)
		CHECK_EQ_INT(set("listen", "1081"), 0);
	CHECK_EQ_INT(set("listen", "1082"), -1);
	check_err("too many listen addresses");
	CHECK_EQ_INT(cfg.nlisten, CONFIG_MAX_LISTEN);

	CHECK_EQ_INT(set("proxy", "http://alice:s3cret@proxy.lan:3128"), 0);
	CHECK_EQ_INT(cfg.nproxies, 1);
	CHECK_EQ_STR(cfg.proxy_source, "-x");
	CHECK_EQ_STR(cfg.proxies[0].host, "proxy.lan");
	CHECK_EQ_INT(cfg.proxies[0].port, 3128);
	CHECK_EQ_STR(cfg.proxies[0].user, "alice");
	CHECK_EQ_STR(cfg.proxies[0].pass, "s3cret");
	CHECK_EQ_INT(set("proxy", "ftp://alice:s3cret@proxy.lan"), -1);
	check_err("bad proxy URL: unsupported scheme 'ftp'");
	CHECK(strstr(err, "s3cret") == NULL);
	CHECK_EQ_INT(set("proxy", NULL), -1);
	check_err("proxy");
	CHECK_EQ_INT(cfg.nproxies, 1);
	for (int i = 1; i < CONFIG_MAX_PROXIES; i++)
		CHECK_EQ_INT(set("proxy", "p:1"), 0);
	CHECK_EQ_INT(set("proxy", "p:1"), -1);
	check_err("too many proxies");
	CHECK_EQ_INT(cfg.nproxies, CONFIG_MAX_PROXIES);

	/* verbose and quiet: flags, or yes/no values */
	static const char *const yes[] = {NULL, "yes", "YES", "true", "True", "1"};
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		cfg.log_level = LOG_LVL_INFO;
		CHECK_EQ_INT(set("verbose", yes[i]), 0);
		CHECK_EQ_INT(cfg.log_level, LOG_LVL_DEBUG);
		cfg.log_level = LOG_LVL_INFO;
		CHECK_EQ_INT(set("quiet", yes[i]), 0);
		CHECK_EQ_INT(cfg.log_level, LOG_LVL_WARN);
	}
	static const char *const no[] = {"no", "No", "false", "FALSE", "0"};
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		cfg.log_level = LOG_LVL_INFO;
		CHECK_EQ_INT(set("verbose", no[i]), 0);
		CHECK_EQ_INT(set("quiet", no[i]), 0);
		CHECK_EQ_INT(cfg.log_level, LOG_LVL_INFO);
	}
	CHECK_EQ_INT(set("verbose", "maybe"), -1);
	check_err("option 'verbose' takes yes or no");
	CHECK_EQ_INT(set("quiet", "2"), -1);
	check_err("option 'quiet' takes yes or no");

	/* seconds */
	static const struct {
		const char *name;
		double *field;
		int zero_ok;
	} secs[] = {
		{"handshake-timeout", &cfg.handshake_timeout, 0}, {"connect-timeout", &cfg.connect_timeout, 0},
		{"reply-timeout", &cfg.reply_timeout, 0},         {"idle-timeout", &cfg.idle_timeout, 1},
		{"linger-timeout", &cfg.linger_timeout, 0},       {"dns-timeout", &cfg.dns_timeout, 0},
		{"dns-cache-ttl", &cfg.dns_cache_ttl, 1},
	};
	static const char *const bad_secs[] = {"-1", "abc", "", "1s", " ", "1e400", "inf", "nan", "31536001", "-0.5"};
	for (size_t i = 0; i < sizeof(secs) / sizeof(secs[0]); i++) {
		CHECK_EQ_INT(set(secs[i].name, "2.5"), 0);
		CHECK(*secs[i].field == 2.5);
		CHECK_EQ_INT(set(secs[i].name, "31536000"), 0);
		CHECK(*secs[i].field == 31536000);
		CHECK_EQ_INT(set(secs[i].name, "0.001"), 0);
		CHECK(*secs[i].field == 0.001);
		CHECK_EQ_INT(set(secs[i].name, "0"), secs[i].zero_ok ? 0 : -1);
		CHECK(*secs[i].field == (secs[i].zero_ok ? 0 : 0.001));
		for (size_t j = 0; j < sizeof(bad_secs) / sizeof(bad_secs[0]); j++) {
			*secs[i].field = 7;
			CHECK_EQ_INT(set(secs[i].name, bad_secs[j]), -1);
			CHECK(strstr(err, secs[i].name) != NULL);
			CHECK(*secs[i].field == 7);
		}
		CHECK_EQ_INT(set(secs[i].name, NULL), -1);
		check_err("needs a number of seconds");
	}

	/* counts */
	CHECK_EQ_INT(set("max-tunnels", "1"), 0);
	CHECK_EQ_INT(cfg.max_tunnels, 1);
	CHECK_EQ_INT(set("max-tunnels", "1000000"), 0);
	CHECK_EQ_INT(cfg.max_tunnels, 1000000);
	static const char *const bad_tunnels[] = {"0", "1000001", "-5", " -5", "12x", "", "x", "99999999999999999999999",
						       "-18446744073709551615"};
	for (size_t i = 0; i < sizeof(bad_tunnels) / sizeof(bad_tunnels[0]); i++) {
		CHECK_EQ_INT(set("max-tunnels", bad_tunnels[i]), -1);
		check_err("option 'max-tunnels'");
	}
	CHECK_EQ_INT(cfg.max_tunnels, 1000000);
	CHECK_EQ_INT(set("max-tunnels", NULL), -1);
	CHECK_EQ_INT(set("buffer-size", "4096"), 0);
	CHECK_EQ_INT(cfg.buffer_size, 4096);
	CHECK_EQ_INT(set("buffer-size", "1048576"), 0);
	CHECK_EQ_INT(cfg.buffer_size, 1048576);
	CHECK_EQ_INT(set("buffer-size", "4095"), -1);
	check_err("from 4096 to 1048576");
	CHECK_EQ_INT(set("buffer-size", "1048577"), -1);
	CHECK_EQ_INT(cfg.buffer_size, 1048576);

	/* user agent: one line, under 128 bytes */
	char ua[200];
	CHECK_EQ_INT(set("user-agent", "curl/8.5.0"), 0);
	CHECK_EQ_STR(cfg.user_agent, "curl/8.5.0");
	CHECK_EQ_INT(set("user-agent", ""), 0);
	CHECK_EQ_STR(cfg.user_agent, "");
	memset(ua, 'a', 127);
	ua[127] = '\0';
	CHECK_EQ_INT(set("user-agent", ua), 0);
	CHECK_EQ_INT(strlen(cfg.user_agent), 127);
	memset(ua, 'b', 128);
	ua[128] = '\0';
	CHECK_EQ_INT(set("user-agent", ua), -1);
	check_err("user-agent");
	CHECK_EQ_INT(set("user-agent", "a\r\nX-Evil: 1"), -1);
	CHECK_EQ_INT(set("user-agent", "a\n"), -1);
	CHECK_EQ_INT(set("user-agent", NULL), -1);
	CHECK_EQ_INT(cfg.user_agent[0], 'a');

	CHECK_EQ_INT(set("nope", "1"), -1);
	CHECK_EQ_STR(err, "unknown option 'nope'");
	CHECK_EQ_INT(set("config", "/etc/x"), -1);
	CHECK_EQ_INT(set("Listen", "1080"), -1);
}

static void test_parse_text(void)
{
	config_init(&cfg);
	CHECK_EQ_INT(text("# socks2http.conf\n"
			  "\n"
			  "   # indented comment\n"
			  "listen 127.0.0.1:1081\n"
			  "listen=[::1]:1081\r\n"
			  "\tproxy   =  http://alice:p%23ss@proxy.lan:3128  \r\n"
			  "max-tunnels\t= 50\n"
			  "  \t \r\n"
			  "user-agent Mozilla/5.0 (X11; Linux) #not a comment\n"
			  "verbose\n"
			  "idle-timeout 600",
			  "socks2http.conf"),
		     0);
	CHECK_EQ_INT(cfg.nlisten, 2);
	CHECK_EQ_STR(cfg.listen[0].text, "127.0.0.1:1081");
	CHECK_EQ_STR(cfg.listen[1].text, "[::1]:1081");
	CHECK_EQ_INT(cfg.nproxies, 1);
	CHECK_EQ_STR(cfg.proxies[0].host, "proxy.lan");
	CHECK_EQ_STR(cfg.proxies[0].pass, "p#ss");
	CHECK_EQ_INT(cfg.max_tunnels, 50);
	CHECK_EQ_STR(cfg.user_agent, "Mozilla/5.0 (X11; Linux) #not a comment");
	CHECK_EQ_INT(cfg.log_level, LOG_LVL_DEBUG);
	CHECK(cfg.idle_timeout == 600);

	config_init(&cfg);
	CHECK_EQ_INT(text("", "empty.conf"), 0);
	CHECK_EQ_INT(text("\n\n\r\n# only comments\n", "c.conf"), 0);
	CHECK_EQ_INT(text("quiet yes\n", "q.conf"), 0);
	CHECK_EQ_INT(cfg.log_level, LOG_LVL_WARN);

	/* errors name the file and the line */
	config_init(&cfg);
	CHECK_EQ_INT(text("# c\nlisten 1080\nbogus 1\nlisten 1081\n", "/etc/socks2http.conf"), -1);
	CHECK_EQ_STR(err, "/etc/socks2http.conf:3: unknown option 'bogus'");
	CHECK_EQ_INT(cfg.nlisten, 1);
	CHECK_EQ_INT(text("\r\n\r\nmax-tunnels 0\r\n", "a.conf"), -1);
	check_err("a.conf:3: option 'max-tunnels'");
	CHECK_EQ_INT(text("listen\n", "b.conf"), -1);
	check_err("b.conf:1: ");
	CHECK_EQ_INT(text("proxy ftp://u:s3cret@p\n", "p.conf"), -1);
	check_err("p.conf:1: bad proxy URL");
	CHECK(strstr(err, "s3cret") == NULL);
	CHECK_EQ_INT(text("config other.conf\n", "c.conf"), -1);
	check_err("c.conf:1: 'config' cannot be used");
	CHECK_EQ_INT(text("verbose maybe", "v.conf"), -1);
	check_err("v.conf:1: option 'verbose'");

	/* a NUL byte is an error, not the end of the line */
	const char nul[] = "listen 1080\nlisten 10\0" "81\n";
	CHECK_EQ_INT(config_parse_text(&cfg, nul, sizeof(nul) - 1, "n.conf", err, sizeof(err)), -1);
	check_err("n.conf:2: NUL byte");

	/* lines up to 1023 bytes */
	char big[1100];
	big[0] = '#';
	memset(big + 1, 'x', 1022);
	big[1023] = '\0';
	CHECK_EQ_INT(text(big, "l.conf"), 0);
	big[1023] = 'x';
	big[1024] = '\n';
	big[1025] = '\0';
	CHECK_EQ_INT(text(big, "l.conf"), -1);
	check_err("l.conf:1: line too long");

	/* only len bytes are read */
	config_init(&cfg);
	CHECK_EQ_INT(config_parse_text(&cfg, "listen 1080\nbogus", 12, "s.conf", err, sizeof(err)), 0);
	CHECK_EQ_INT(cfg.nlisten, 1);
}

static void write_file(const char *path, const char *s, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (f == NULL || fwrite(s, 1, n, f) != n || fclose(f) != 0)
		abort();
}

static void test_load_file(void)
{
	char path[] = "/tmp/test_config.XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		abort();
	close(fd);

	const char *conf = "listen 1.2.3.4:1080\nproxy http://u:pw@proxy:3128\nbuffer-size 65536\n";
	write_file(path, conf, strlen(conf));
	config_init(&cfg);
	CHECK_EQ_INT(config_load_file(&cfg, path, err, sizeof(err)), 0);
	CHECK_EQ_INT(cfg.nlisten, 1);
	CHECK_EQ_STR(cfg.listen[0].text, "1.2.3.4:1080");
	CHECK_EQ_INT(cfg.nproxies, 1);
	CHECK_EQ_STR(cfg.proxies[0].pass, "pw");
	CHECK_EQ_INT(cfg.buffer_size, 65536);

	write_file(path, "listen 1080\nfrobnicate\n", 23);
	CHECK_EQ_INT(config_load_file(&cfg, path, err, sizeof(err)), -1);
	char want[128];
	snprintf(want, sizeof(want), "%s:2: unknown option 'frobnicate'", path);
	CHECK_EQ_STR(err, want);

	/* 64 KiB: a file just under is read, one that fills the buffer is refused */
	char *big = malloc(65536);
	if (big == NULL)
		abort();
	memset(big, '#', 65536);
	big[65534] = '\n';
	for (size_t i = 1000; i < 65534; i += 1000)
		big[i] = '\n';
	write_file(path, big, 65535);
	CHECK_EQ_INT(config_load_file(&cfg, path, err, sizeof(err)), 0);
	write_file(path, big, 65536);
	CHECK_EQ_INT(config_load_file(&cfg, path, err, sizeof(err)), -2);
	check_err("larger than");
	free(big);

	unlink(path);
	CHECK_EQ_INT(config_load_file(&cfg, path, err, sizeof(err)), -2);
	check_err("cannot open config file");
	check_err(path);
}

/* Runs config_parse_args on a writable copy of args (NULL-terminated) with stdout captured
 * into out. */
static enum config_action args(const char *const *list, char *out, size_t outcap)
{
	char *argv[32], store[32][256];
	int argc = 0;

	for (; list[argc] != NULL; argc++) {
		snprintf(store[argc], sizeof(store[argc]), "%s", list[argc]);
		argv[argc] = store[argc];
	}
	argv[argc] = NULL;

	char path[] = "/tmp/test_config_out.XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		abort();
	fflush(stdout);
	int saved = dup(STDOUT_FILENO);
	dup2(fd, STDOUT_FILENO);
	err[0] = '\0';
	enum config_action rc = config_parse_args(&cfg, argc, argv, err, sizeof(err));
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	ssize_t n = pread(fd, out, outcap - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(path);
	return rc;
}

#define ARGS(...) args((const char *const[]){"socks2http", __VA_ARGS__, NULL}, out, sizeof(out))

static void test_parse_args(void)
{
	static char out[8192];

	config_init(&cfg);
	CHECK_EQ_INT(args((const char *const[]){"socks2http", NULL}, out, sizeof(out)), CONFIG_RUN);
	CHECK_EQ_INT(cfg.nlisten, 0);

	config_init(&cfg);
	CHECK_EQ_INT(ARGS("-l", "127.0.0.1:1081", "--listen", "1.2.3.4:5", "--listen=[::1]:1080", "-l1082",
			  "-x", "http://proxy:3128"),
		     CONFIG_RUN);
	CHECK_EQ_STR(out, "");
	CHECK_EQ_INT(cfg.nlisten, 4);
	CHECK_EQ_STR(cfg.listen[0].text, "127.0.0.1:1081");
	CHECK_EQ_STR(cfg.listen[1].text, "1.2.3.4:5");
	CHECK_EQ_STR(cfg.listen[2].text, "[::1]:1080");
	CHECK_EQ_STR(cfg.listen[3].text, "127.0.0.1:1082");
	CHECK_EQ_INT(cfg.nproxies, 1);
	CHECK_EQ_STR(cfg.proxies[0].host, "proxy");
	CHECK_EQ_STR(cfg.proxy_source, "-x");
	CHECK_EQ_INT(cfg.password_on_cmdline, 0);

	config_init(&cfg);
	CHECK_EQ_INT(ARGS("--proxy=http://u:pw@p1:1", "-xp2:2", "--proxy", "p3"), CONFIG_RUN);
	CHECK_EQ_INT(cfg.nproxies, 3);
	CHECK_EQ_STR(cfg.proxies[0].pass, "pw");
	CHECK_EQ_STR(cfg.proxies[1].host, "p2");
	CHECK_EQ_INT(cfg.proxies[2].port, 80);
	CHECK_EQ_INT(cfg.password_on_cmdline, 1);
	config_init(&cfg);
	CHECK_EQ_INT(ARGS("-x", "http://user@proxy"), CONFIG_RUN);
	CHECK_EQ_INT(cfg.password_on_cmdline, 0);

	/* -v and -q step the level, grouped or not */
	static const struct {
		const char *arg;
		int level;
	} lv[] = {
		{"-v", LOG_LVL_DEBUG}, {"-vv", LOG_LVL_DEBUG}, {"-q", LOG_LVL_WARN}, {"-qq", LOG_LVL_ERROR},
		{"-qqq", LOG_LVL_ERROR}, {"-vq", LOG_LVL_INFO}, {"-qv", LOG_LVL_INFO}, {"-qqv", LOG_LVL_WARN},
		{"--verbose", LOG_LVL_DEBUG}, {"--quiet", LOG_LVL_WARN},
	};
	for (size_t i = 0; i < sizeof(lv) / sizeof(lv[0]); i++) {
		config_init(&cfg);
		CHECK_EQ_INT(ARGS(lv[i].arg), CONFIG_RUN);
		if (cfg.log_level != lv[i].level)
			fprintf(stderr, "log level after %s\n", lv[i].arg);
		CHECK_EQ_INT(cfg.log_level, lv[i].level);
	}
	config_init(&cfg);
	CHECK_EQ_INT(ARGS("-qq", "-v", "-v"), CONFIG_RUN);
	CHECK_EQ_INT(cfg.log_level, LOG_LVL_INFO);
	/* flags, then an option taking the rest of the word or the next one */
	config_init(&cfg);
	CHECK_EQ_INT(ARGS("-vl1080", "-qx", "http://proxy:8080"), CONFIG_RUN);
	CHECK_EQ_INT(cfg.log_level, LOG_LVL_INFO);
	CHECK_EQ_INT(cfg.nlisten, 1);
	CHECK_EQ_STR(cfg.listen[0].text, "127.0.0.1:1080");
	CHECK_EQ_INT(cfg.proxies[0].port, 8080);

	config_init(&cfg);
	CHECK_EQ_INT(ARGS("--max-tunnels", "10", "--buffer-size=8192", "--user-agent=", "--idle-timeout", "300",
			  "--handshake-timeout=1.5", "--connect-timeout", "3", "--reply-timeout=4",
			  "--linger-timeout", "5", "--dns-timeout=0.5", "--dns-cache-ttl", "0"),
		     CONFIG_RUN);
	CHECK_EQ_INT(cfg.max_tunnels, 10);
	CHECK_EQ_INT(cfg.buffer_size, 8192);
	CHECK_EQ_STR(cfg.user_agent, "");
	CHECK(cfg.idle_timeout == 300);
	CHECK(cfg.handshake_timeout == 1.5);
	CHECK(cfg.connect_timeout == 3);
	CHECK(cfg.reply_timeout == 4);
	CHECK(cfg.linger_timeout == 5);
	CHECK(cfg.dns_timeout == 0.5);
	CHECK(cfg.dns_cache_ttl == 0);

	/* help and version print to stdout and end the program successfully */
	static const char *const help[] = {"-h", "--help", "-vh", "-hv"};
	for (size_t i = 0; i < sizeof(help) / sizeof(help[0]); i++) {
		config_init(&cfg);
		CHECK_EQ_INT(ARGS(help[i]), CONFIG_EXIT_OK);
		CHECK(strncmp(out, "Usage: socks2http", 17) == 0);
		CHECK(strstr(out, "--proxy") != NULL);
	}
	config_init(&cfg);
	CHECK_EQ_INT(ARGS("-V"), CONFIG_EXIT_OK);
	CHECK(strncmp(out, "socks2http 0.1.0\nfeatures: ", 27) == 0);
	config_init(&cfg);
	CHECK_EQ_INT(ARGS("--version"), CONFIG_EXIT_OK);
	CHECK(strncmp(out, "socks2http 0.1.0\nfeatures: ", 27) == 0);
	config_init(&cfg);
	CHECK_EQ_INT(ARGS("-x", "p", "-V", "-l", "1080"), CONFIG_EXIT_OK);

	/* usage errors: a message, no output */
	static const struct {
		const char *a, *b, *want;
	} bad[] = {
		{"-Z", NULL, "unknown option '-Z'"},
		{"-vZ", NULL, "unknown option '-Z'"},
		{"--bogus", NULL, "unknown option '--bogus'"},
		{"--bogus=1", NULL, "unknown option '--bogus'"},
		{"--", NULL, "unknown option '--'"},
		{"--prox", "p", "unknown option '--prox'"},
		{"stray", NULL, "unexpected argument 'stray'"},
		{"-", NULL, "unexpected argument '-'"},
		{"-x", NULL, "option '-x' needs a value"},
		{"-vl", NULL, "option '-l' needs a value"},
		{"--proxy", NULL, "option '--proxy' needs a value"},
		{"--verbose=1", NULL, "option '--verbose' takes no value"},
		{"--help=1", NULL, "option '--help' takes no value"},
		{"--max-tunnels=0", NULL, "option 'max-tunnels'"},
		{"-l", "1.2.3.4:99999", "bad port in listen address '1.2.3.4:99999'"},
		{"-x", "ftp://u:s3cret@p", "bad proxy URL"},
		{"-h", "--bogus", "unknown option '--bogus'"},
	};
	/* a config file that cannot be read is a start failure, not a usage error */
	config_init(&cfg);
	CHECK_EQ_INT(ARGS("-c", "/nonexistent/socks2http.conf"), CONFIG_FAIL);
	check_err("cannot open config file /nonexistent/socks2http.conf");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		config_init(&cfg);
		enum config_action rc = bad[i].b ? ARGS(bad[i].a, bad[i].b) : ARGS(bad[i].a);
		CHECK_EQ_INT(rc, CONFIG_USAGE);
		check_err(bad[i].want);
		CHECK_EQ_STR(out, "");
		CHECK(strstr(err, "s3cret") == NULL);
	}

	/* -c loads a file; later options still apply */
	char path[] = "/tmp/test_config_c.XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		abort();
	close(fd);
	write_file(path, "listen 1.2.3.4:9\nmax-tunnels 7\n", 31);
	config_init(&cfg);
	CHECK_EQ_INT(ARGS("-c", path, "--max-tunnels", "8"), CONFIG_RUN);
	CHECK_EQ_INT(cfg.nlisten, 1);
	CHECK_EQ_STR(cfg.listen[0].text, "1.2.3.4:9");
	CHECK_EQ_INT(cfg.max_tunnels, 8);
	config_init(&cfg);
	char copt[64];
	snprintf(copt, sizeof(copt), "--config=%s", path);
	CHECK_EQ_INT(ARGS(copt), CONFIG_RUN);
	CHECK_EQ_INT(cfg.max_tunnels, 7);
	unlink(path);
}

/* A fake environment for config_finish. */
static const char *env_names[16], *env_values[16];
static size_t env_n;

static void env_clear(void)
{
	env_n = 0;
}

static void env_set(const char *name, const char *value)
{
	env_names[env_n] = name;
	env_values[env_n++] = value;
}

static const char *fake_getenv(const char *name)
{
	for (size_t i = 0; i < env_n; i++)
		if (strcmp(env_names[i], name) == 0)
			return env_values[i];
	return NULL;
}

static int finish(void)
{
	err[0] = '\0';
	return config_finish(&cfg, fake_getenv, err, sizeof(err));
}

static void test_finish(void)
{
	/* nothing anywhere: a start failure that says what to do */
	config_init(&cfg);
	env_clear();
	CHECK_EQ_INT(finish(), 1);
	check_err("-x");
	check_err("https_proxy");
	/* the default listener */
	CHECK_EQ_INT(cfg.nlisten, 1);
	CHECK_EQ_STR(cfg.listen[0].text, "127.0.0.1:1080");
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)&cfg.listen[0].addr;
	CHECK_EQ_INT(s4->sin_family, AF_INET);
	CHECK_EQ_INT(ntohs(s4->sin_port), 1080);
	CHECK_EQ_INT(ntohl(s4->sin_addr.s_addr), INADDR_LOOPBACK);
	CHECK_EQ_INT(cfg.listen[0].addrlen, sizeof(struct sockaddr_in));

	/* the environment's order: the first non-empty one wins */
	static const char *const order[] = {"https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "http_proxy"};
	static const char *const hosts[] = {"p1:1", "p2:2", "p3:3", "p4:4", "p5:5"};
	for (size_t first = 0; first < 5; first++) {
		config_init(&cfg);
		env_clear();
		for (size_t i = 0; i < first; i++)
			env_set(order[i], "");
		for (size_t i = first; i < 5; i++)
			env_set(order[i], hosts[i]);
		CHECK_EQ_INT(finish(), 0);
		CHECK_EQ_INT(cfg.nproxies, 1);
		CHECK_EQ_INT(cfg.proxies[0].port, first + 1);
		CHECK_EQ_STR(cfg.proxy_source, order[first]);
	}
	/* HTTP_PROXY is not read (httpoxy: CGI sets it from a request header) */
	config_init(&cfg);
	env_clear();
	env_set("HTTP_PROXY", "http://proxy:3128");
	CHECK_EQ_INT(finish(), 1);
	CHECK_EQ_INT(cfg.nproxies, 0);

	/* -x wins over the environment */
	config_init(&cfg);
	env_clear();
	env_set("https_proxy", "http://envproxy:1");
	CHECK_EQ_INT(set("proxy", "http://cliproxy:2"), 0);
	CHECK_EQ_INT(set("listen", "1.2.3.4:5"), 0);
	/* beyond loopback without client authentication: refused unless asked for */
	CHECK_EQ_INT(finish(), 1);
	check_err("1.2.3.4:5");
	check_err("--allow-remote");
	CHECK_EQ_INT(set("allow-remote", NULL), 0);
	CHECK_EQ_INT(finish(), 0);
	CHECK_EQ_INT(cfg.nproxies, 1);
	CHECK_EQ_STR(cfg.proxies[0].host, "cliproxy");
	CHECK_EQ_STR(cfg.proxy_source, "-x");
	CHECK_EQ_INT(cfg.nlisten, 1);
	CHECK_EQ_STR(cfg.listen[0].text, "1.2.3.4:5");

	/* a bad URL in the variable that wins is a usage error naming it */
	config_init(&cfg);
	env_clear();
	env_set("all_proxy", "socks5://u:s3cret@proxy:1080");
	env_set("http_proxy", "http://proxy:3128");
	CHECK_EQ_INT(finish(), -1);
	check_err("all_proxy");
	check_err("socks5");
	CHECK(strstr(err, "s3cret") == NULL);
	/* a bad one that loses is never looked at */
	config_init(&cfg);
	env_clear();
	env_set("https_proxy", "proxy:3128");
	env_set("http_proxy", "::bad::");
	CHECK_EQ_INT(finish(), 0);
	CHECK_EQ_STR(cfg.proxy_source, "https_proxy");

	/* SOCKS2HTTP_PROXY_PASSWORD fills a missing password only */
	config_init(&cfg);
	env_clear();
	env_set("https_proxy", "http://alice@proxy:3128");
	env_set("SOCKS2HTTP_PROXY_PASSWORD", "s3cret");
	CHECK_EQ_INT(finish(), 0);
	CHECK_EQ_STR(cfg.proxies[0].user, "alice");
	CHECK_EQ_STR(cfg.proxies[0].pass, "s3cret");
	config_init(&cfg);
	CHECK_EQ_INT(set("proxy", "http://bob:given@p1"), 0);
	CHECK_EQ_INT(set("proxy", "http://carol@p2"), 0);
	CHECK_EQ_INT(set("proxy", "http://p3"), 0);
	CHECK_EQ_INT(finish(), 0);
	CHECK_EQ_STR(cfg.proxies[0].pass, "given");
	CHECK_EQ_STR(cfg.proxies[1].pass, "s3cret");
	CHECK_EQ_STR(cfg.proxies[2].pass, "");
	CHECK_EQ_INT(cfg.proxies[2].has_auth, 0);
	/* without the variable the password stays empty */
	config_init(&cfg);
	env_clear();
	CHECK_EQ_INT(set("proxy", "http://carol@p2"), 0);
	CHECK_EQ_INT(finish(), 0);
	CHECK_EQ_STR(cfg.proxies[0].pass, "");
	/* 255 bytes fit, 256 do not */
	char pw[300];
	memset(pw, 'p', 255);
	pw[255] = '\0';
	config_init(&cfg);
	env_clear();
	env_set("SOCKS2HTTP_PROXY_PASSWORD", pw);
	CHECK_EQ_INT(set("proxy", "http://carol@p2"), 0);
	CHECK_EQ_INT(finish(), 0);
	CHECK_EQ_INT(strlen(cfg.proxies[0].pass), 255);
	pw[255] = 'p';
	pw[256] = '\0';
	config_init(&cfg);
	CHECK_EQ_INT(set("proxy", "http://carol@p2"), 0);
	CHECK_EQ_INT(finish(), -1);
	check_err("SOCKS2HTTP_PROXY_PASSWORD");
	CHECK(strstr(err, "ppp") == NULL);
}

static void test_parse_listen(void)
{
	struct listen_spec ls;
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ls.addr;
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ls.addr;
	uint8_t want6[16];

	CHECK_EQ_INT(config_parse_listen("1.2.3.4:80", &ls, err, sizeof(err)), 0);
	CHECK_EQ_INT(s4->sin_family, AF_INET);
	CHECK_EQ_INT(ntohl(s4->sin_addr.s_addr), 0x01020304);
	CHECK_EQ_INT(ntohs(s4->sin_port), 80);
	CHECK_EQ_INT(ls.addrlen, sizeof(struct sockaddr_in));
	CHECK_EQ_STR(ls.text, "1.2.3.4:80");

	CHECK_EQ_INT(config_parse_listen("[::1]:1080", &ls, err, sizeof(err)), 0);
	CHECK_EQ_INT(s6->sin6_family, AF_INET6);
	inet_pton(AF_INET6, "::1", want6);
	CHECK(memcmp(&s6->sin6_addr, want6, 16) == 0);
	CHECK_EQ_INT(ntohs(s6->sin6_port), 1080);
	CHECK_EQ_INT(ls.addrlen, sizeof(struct sockaddr_in6));
	CHECK_EQ_STR(ls.text, "[::1]:1080");

	CHECK_EQ_INT(config_parse_listen("[2001:db8::7]:65535", &ls, err, sizeof(err)), 0);
	CHECK_EQ_STR(ls.text, "[2001:db8::7]:65535");
	CHECK_EQ_INT(config_parse_listen("[::]:1080", &ls, err, sizeof(err)), 0);
	CHECK_EQ_STR(ls.text, "[::]:1080");
	CHECK_EQ_INT(config_parse_listen("[0000:0000:0000:0000:0000:ffff:192.168.100.200]:65535", &ls, err, sizeof(err)),
		     0);
	CHECK_EQ_STR(ls.text, "[0000:0000:0000:0000:0000:ffff:192.168.100.200]:65535");
	CHECK_EQ_INT(config_parse_listen("localhost:1080", &ls, err, sizeof(err)), 0);
	CHECK_EQ_INT(s4->sin_family, AF_INET);
	CHECK_EQ_INT(ntohl(s4->sin_addr.s_addr), INADDR_LOOPBACK);
	CHECK_EQ_STR(ls.text, "127.0.0.1:1080");
	CHECK_EQ_INT(config_parse_listen("1081", &ls, err, sizeof(err)), 0);
	CHECK_EQ_INT(ntohl(s4->sin_addr.s_addr), INADDR_LOOPBACK);
	CHECK_EQ_INT(ntohs(s4->sin_port), 1081);
	CHECK_EQ_STR(ls.text, "127.0.0.1:1081");
	CHECK_EQ_INT(config_parse_listen("0.0.0.0:1080", &ls, err, sizeof(err)), 0);
	CHECK_EQ_STR(ls.text, "0.0.0.0:1080");

	static const char *const bad[] = {
		"::1:1080", "[::1]", "[::1]1080", "[::1:1080", "1.2.3.4:", "1.2.3.4:65536", "1.2.3.4:-1",
		"1.2.3.4: 80", "1.2.3.4:+80", "1.2.3.4:80x", "proxy.example:80", "abc", "", "[zz]:80",
		"1.2.3.256:80", "99999", "1.2.3.4:99999999999999999999", "[fe80::1%eth0]:80", "localhost",
		"[0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000]:80",
		"1111111111111111111111111111111111111111111111111111111111111111111111111111.1:80",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		int rc = config_parse_listen(bad[i], &ls, err, sizeof(err));
		if (rc != -1)
			fprintf(stderr, "listen '%s' accepted\n", bad[i]);
		CHECK_EQ_INT(rc, -1);
		CHECK(strstr(err, "listen address") != NULL);
	}
}

/* Scrubs a writable copy of list and compares with want. */
static void check_scrub(const char *const *list, const char *const *want)
{
	char *argv[16], store[16][128];
	int argc = 0;

	for (; list[argc] != NULL; argc++) {
		snprintf(store[argc], sizeof(store[argc]), "%s", list[argc]);
		argv[argc] = store[argc];
	}
	argv[argc] = NULL;
	config_scrub_argv(argc, argv);
	for (int i = 0; i < argc; i++)
		CHECK_EQ_STR(argv[i], want[i]);
}

static void test_scrub(void)
{
	check_scrub((const char *const[]){"socks2http", "-x", "http://u:secret@h:1", "--proxy=http://a:bc@h",
					  "--proxy", "u:p@h", "-xhttp://u:pw@h", "-l", "1080", NULL},
		    (const char *const[]){"socks2http", "-x", "http://u:******@h:1", "--proxy=http://a:**@h",
					  "--proxy", "u:*@h", "-xhttp://u:**@h", "-l", "1080"});
	/* no password, nothing to hide */
	check_scrub((const char *const[]){"socks2http", "-x", "http://u@h:1", "-x", "h:1", "--proxy=http://h", NULL},
		    (const char *const[]){"socks2http", "-x", "http://u@h:1", "-x", "h:1", "--proxy=http://h"});
	/* the last '@' ends the password, as the parser reads it */
	check_scrub((const char *const[]){"socks2http", "-x", "http://u:p@ss@h", NULL},
		    (const char *const[]){"socks2http", "-x", "http://u:****@h"});
	/* grouped flags, as config_parse_args accepts them */
	check_scrub((const char *const[]){"socks2http", "-vx", "http://u:pw@h", "-qvxhttp://u:pw@h", NULL},
		    (const char *const[]){"socks2http", "-vx", "http://u:**@h", "-qvxhttp://u:**@h"});
	/* other options' values are left alone */
	check_scrub((const char *const[]){"socks2http", "--user-agent", "a:b@c", "-l", "1080", "-v", NULL},
		    (const char *const[]){"socks2http", "--user-agent", "a:b@c", "-l", "1080", "-v"});
	/* a trailing -x without a value */
	check_scrub((const char *const[]){"socks2http", "-x", NULL}, (const char *const[]){"socks2http", "-x"});

	/* and the parser still reads the scrubbed command line's shape */
	char a0[] = "socks2http", a1[] = "-vx", a2[] = "http://u:pw@h:3128";
	char *argv[] = {a0, a1, a2, NULL};
	config_init(&cfg);
	CHECK_EQ_INT(config_parse_args(&cfg, 3, argv, err, sizeof(err)), CONFIG_RUN);
	CHECK_EQ_STR(cfg.proxies[0].pass, "pw");
	config_scrub_argv(3, argv);
	CHECK_EQ_STR(a2, "http://u:**@h:3128");
	CHECK_EQ_STR(cfg.proxies[0].pass, "pw");
}

static void test_usage(void)
{
	FILE *f = tmpfile();
	if (f == NULL)
		abort();
	config_usage(f);
	char buf[16384];
	rewind(f);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	CHECK(strncmp(buf, "Usage: socks2http", 17) == 0);
	static const char *const opts[] = {"--listen", "--proxy", "--config", "--verbose", "--quiet", "--help",
					   "--version", "--handshake-timeout", "--connect-timeout", "--reply-timeout",
					   "--idle-timeout", "--linger-timeout", "--dns-timeout", "--dns-cache-ttl",
					   "--max-tunnels", "--buffer-size", "--user-agent", "SOCKS2HTTP_PROXY_PASSWORD",
					   "https_proxy", "--route", "--no-proxy", "--pac", "--pac-timeout",
					   "--pac-refresh", "--pac-cache", "no_proxy, NO_PROXY"};
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		CHECK(strstr(buf, opts[i]) != NULL);
}

/* Who may use the bridge, and the options added with it. */
static void test_access_options(void)
{
	char path[] = "/tmp/socks2http-auth-XXXXXX";
	struct sockaddr_in sin;

	config_init(&cfg);
	CHECK_EQ_INT(cfg.allow_any_user, 0);
	CHECK_EQ_INT(cfg.nallow_uids, 0);
	CHECK_EQ_INT(set("allow-users", "0, 65534,root"), 0);
	CHECK_EQ_INT(cfg.nallow_uids, 3);
	CHECK_EQ_INT(cfg.allow_uids[0], 0);
	CHECK_EQ_INT(cfg.allow_uids[1], 65534);
	CHECK_EQ_INT(cfg.allow_uids[2], 0);
	CHECK_EQ_INT(set("allow-users", "no-such-user-socks2http"), -1);
	check_err("unknown user 'no-such-user-socks2http'");
	CHECK_EQ_INT(set("allow-users", "any"), 0);
	CHECK_EQ_INT(cfg.allow_any_user, 1);

	CHECK_EQ_INT(set("dns-servers", "127.0.0.1:5353,[::1]:53"), 0);
	CHECK_EQ_STR(cfg.dns_servers, "127.0.0.1:5353,[::1]:53");
	CHECK_EQ_INT(set("dns-servers", "dns.example"), -1);
	CHECK_EQ_INT(set("workers", "0"), -1);
	CHECK_EQ_INT(set("workers", "4"), 0);
	CHECK_EQ_INT(cfg.workers, 4);
	CHECK_EQ_INT(set("prewarm", "65"), -1);
	CHECK_EQ_INT(set("prewarm", "3"), 0);
	CHECK_EQ_INT(cfg.prewarm, 3);
	CHECK_EQ_INT(set("no-splice", NULL), 0);
	CHECK_EQ_INT(cfg.splice, 0);
	CHECK_EQ_INT(cfg.no_http, 0);
	CHECK_EQ_INT(set("no-http", "yes"), 0);
	CHECK_EQ_INT(cfg.no_http, 1);
	CHECK_EQ_INT(set("no-http", "no"), 0);
	CHECK_EQ_INT(cfg.no_http, 0);
	CHECK_EQ_INT(set("no-http", NULL), 0);
	CHECK_EQ_INT(cfg.no_http, 1);
	CHECK_EQ_INT(set("shutdown-grace", "0"), 0);
	CHECK_EQ_INT(set("proxy-retry", "-1"), -1);

	/* unix listeners: an absolute path; --workers needs TCP */
	struct listen_spec ls;
	CHECK_EQ_INT(config_parse_listen("unix:/tmp/s.sock", &ls, err, sizeof(err)), 0);
	CHECK_EQ_INT(ls.addr.ss_family, AF_UNIX);
	CHECK_EQ_STR(ls.text, "unix:/tmp/s.sock");
	CHECK(config_listen_is_local(&ls));
	CHECK_EQ_INT(config_parse_listen("unix:relative.sock", &ls, err, sizeof(err)), -1);
	config_init(&cfg);
	CHECK_EQ_INT(set("proxy", "http://p:1"), 0);
	CHECK_EQ_INT(set("listen", "unix:/tmp/s.sock"), 0);
	CHECK_EQ_INT(set("workers", "2"), 0);
	CHECK_EQ_INT(finish(), -1);
	check_err("--workers needs TCP listeners");

	/* loopback or not */
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(0x7f000005);
	CHECK(config_addr_is_local((struct sockaddr *)&sin));
	sin.sin_addr.s_addr = htonl(0xc0000201);
	CHECK(!config_addr_is_local((struct sockaddr *)&sin));

	/* the RFC 1929 credentials file: private, user:password lines */
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	const char *lines = "# users\nalice:wonder land\r\nbob:b:c\n\n";
	CHECK_EQ_INT(write(fd, lines, strlen(lines)), (long long)strlen(lines));
	close(fd);
	config_init(&cfg);
	CHECK_EQ_INT(chmod(path, 0644), 0);
	CHECK_EQ_INT(config_load_auth(&cfg, path, err, sizeof(err)), -1);
	check_err("chmod 600");
	CHECK_EQ_INT(chmod(path, 0600), 0);
	CHECK_EQ_INT(config_load_auth(&cfg, path, err, sizeof(err)), 0);
	CHECK_EQ_INT(cfg.nauth, 2);
	CHECK_EQ_STR(cfg.auth[0].user, "alice");
	CHECK_EQ_STR(cfg.auth[0].pass, "wonder land");
	CHECK_EQ_STR(cfg.auth[1].user, "bob");
	CHECK_EQ_STR(cfg.auth[1].pass, "b:c");
	config_free(&cfg);
	CHECK(cfg.auth == NULL);

	/* with client authentication, a listener beyond loopback is fine */
	config_init(&cfg);
	CHECK_EQ_INT(set("proxy", "http://p:1"), 0);
	CHECK_EQ_INT(set("listen", "0.0.0.0:1080"), 0);
	CHECK_EQ_INT(set("socks-auth", path), 0);
	CHECK_EQ_INT(finish(), 0);
	CHECK_EQ_INT(cfg.nauth, 2);
	config_free(&cfg);

	fd = open(path, O_WRONLY | O_TRUNC);
	CHECK_EQ_INT(write(fd, "nocolon\n", 8), 8);
	close(fd);
	config_init(&cfg);
	CHECK_EQ_INT(config_load_auth(&cfg, path, err, sizeof(err)), -1);
	check_err(":1: expected user:password");
	unlink(path);
}

/* --control, --no-control, and which arguments take the next one (for check's own parsing) */
static void test_control_and_arg_values(void)
{
	config_init(&cfg);
	CHECK_EQ_STR(cfg.control_path, "");
	CHECK_EQ_INT(cfg.no_control, 0);
	CHECK_EQ_INT(config_set(&cfg, "control", "/run/user/1000/s2h.ctl", err, sizeof(err)), 0);
	CHECK_EQ_STR(cfg.control_path, "/run/user/1000/s2h.ctl");
	CHECK_EQ_INT(config_set(&cfg, "control", "relative/path", err, sizeof(err)), -1);
	CHECK_EQ_INT(config_set(&cfg, "control", NULL, err, sizeof(err)), -1);
	char longpath[200];
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	CHECK_EQ_INT(config_set(&cfg, "control", longpath, err, sizeof(err)), -1);
	CHECK_EQ_INT(config_set(&cfg, "no-control", NULL, err, sizeof(err)), 0);
	CHECK_EQ_INT(cfg.no_control, 1);
	CHECK_EQ_INT(config_parse_text(&cfg, "no-control no\n", 14, "t", err, sizeof(err)), 0);
	CHECK_EQ_INT(cfg.no_control, 0);

	CHECK_EQ_INT(config_arg_takes_next("-x"), 1);
	CHECK_EQ_INT(config_arg_takes_next("-vx"), 1);
	CHECK_EQ_INT(config_arg_takes_next("-xhttp://p:1"), 0);
	CHECK_EQ_INT(config_arg_takes_next("-v"), 0);
	CHECK_EQ_INT(config_arg_takes_next("--proxy"), 1);
	CHECK_EQ_INT(config_arg_takes_next("--proxy=http://p:1"), 0);
	CHECK_EQ_INT(config_arg_takes_next("--control"), 1);
	CHECK_EQ_INT(config_arg_takes_next("--no-control"), 0);
	CHECK_EQ_INT(config_arg_takes_next("--json"), 0);
	CHECK_EQ_INT(config_arg_takes_next("example.com:443"), 0);
	CHECK_EQ_INT(config_arg_takes_next("-"), 0);
	CHECK_EQ_INT(config_arg_takes_next("-Z"), 0);
}

/* The default config file's place, the exit-idle key, and inherited sockets in
 * config_finish: no default listener, listen lines not checked, exit-idle not with workers. */
static void test_activation_options(void)
{
	char path[64];

	env_clear();
	CHECK_EQ_INT(config_default_path(fake_getenv, path, sizeof(path)), -1);
	env_set("HOME", "/home/alice");
	CHECK_EQ_INT(config_default_path(fake_getenv, path, sizeof(path)), 0);
	CHECK_EQ_STR(path, "/home/alice/.config/socks2http/config");
	env_set("XDG_CONFIG_HOME", "relative/ignored");
	CHECK_EQ_INT(config_default_path(fake_getenv, path, sizeof(path)), 0);
	CHECK_EQ_STR(path, "/home/alice/.config/socks2http/config");
	env_clear();
	env_set("XDG_CONFIG_HOME", "/x");
	CHECK_EQ_INT(config_default_path(fake_getenv, path, sizeof(path)), 0);
	CHECK_EQ_STR(path, "/x/socks2http/config");
	env_clear();
	env_set("HOME", "/a/very/long/home/directory/name/that/does/not/fit/in/64");
	CHECK_EQ_INT(config_default_path(fake_getenv, path, sizeof(path)), -1);
	env_clear();

	config_init(&cfg);
	CHECK_EQ_INT(config_set(&cfg, "exit-idle", "600", err, sizeof(err)), 0);
	CHECK(cfg.exit_idle == 600);
	CHECK_EQ_INT(config_set(&cfg, "exit-idle", "-1", err, sizeof(err)), -1);
	CHECK_EQ_INT(config_set(&cfg, "proxy", "http://p:3128", err, sizeof(err)), 0);
	CHECK_EQ_INT(config_set(&cfg, "workers", "2", err, sizeof(err)), 0);
	CHECK_EQ_INT(finish(), -1);
	CHECK(strstr(err, "--exit-idle needs a single process") != NULL);

	config_init(&cfg);
	cfg.ninherited = 1;
	CHECK_EQ_INT(config_set(&cfg, "proxy", "http://p:3128", err, sizeof(err)), 0);
	CHECK_EQ_INT(finish(), 0);
	CHECK_EQ_INT(cfg.nlisten, 0); /* no default 127.0.0.1:1080 */
	config_init(&cfg);
	cfg.ninherited = 1;
	CHECK_EQ_INT(config_set(&cfg, "proxy", "http://p:3128", err, sizeof(err)), 0);
	CHECK_EQ_INT(config_set(&cfg, "listen", "0.0.0.0:1080", err, sizeof(err)), 0);
	CHECK_EQ_INT(finish(), 0); /* ignored, so not refused */
	config_free(&cfg);
}

/* --route, --no-proxy, --pac and its timings (config_route.c). */
static void test_routes(void)
{
	config_init(&cfg);
	CHECK_EQ_INT(cfg.nrules, 0);
	CHECK_EQ_INT(cfg.noproxy_set, 0);
	CHECK_EQ_STR(cfg.pac_url, "");
	CHECK(cfg.pac_timeout == 2 && cfg.pac_refresh == 600 && cfg.pac_cache == 60);

	/* rules, and the proxies they name: equal URLs share an entry */
	CHECK_EQ_INT(set("route", ".corp.example direct"), 0);
	CHECK_EQ_INT(set("route", "*.lab.example:8000-8999 proxy http://alice:s3cret@lab:3128 http://lab2"), 0);
	CHECK_EQ_INT(set("route", "[fd00::/8]:443 chain http://lab2:80 http://alice:s3cret@LAB:3128"), 0);
	CHECK_EQ_INT(cfg.nrules, 3);
	CHECK_EQ_INT(cfg.nroute_proxies, 2);
	CHECK_EQ_INT(cfg.rules[1].action, RULE_PROXY);
	CHECK_EQ_INT(cfg.rules[1].hop[0], 0);
	CHECK_EQ_INT(cfg.rules[1].hop[1], 1);
	CHECK_EQ_INT(cfg.rules[2].action, RULE_CHAIN);
	CHECK_EQ_INT(cfg.rules[2].hop[0], 1);
	CHECK_EQ_INT(cfg.rules[2].hop[1], 0);
	CHECK_EQ_STR(cfg.route_proxies[0].pass, "s3cret");
	CHECK_EQ_STR(cfg.rules[1].text, "*.lab.example:8000-8999 proxy http://***@lab:3128 http://lab2");
	CHECK(strstr(cfg.rules[2].text, "s3cret") == NULL);
	CHECK_EQ_INT(set("route", NULL), -1);
	check_err("option 'route' needs 'PATTERN ACTION'");
	CHECK_EQ_INT(set("route", "x.example allow"), -1);
	check_err("option 'route': rule 'x.example': unknown action 'allow'");
	CHECK_EQ_INT(set("route", "x.example proxy ftp://u:hidden@p"), -1);
	check_err("unsupported scheme 'ftp'");
	CHECK(strstr(err, "hidden") == NULL);
	CHECK_EQ_INT(cfg.nrules, 3);
	for (int i = 0; i < 14; i++) {
		char r[64];
		snprintf(r, sizeof(r), "h%d.example proxy http://p%d:1", i, i);
		CHECK_EQ_INT(set("route", r), 0);
	}
	CHECK_EQ_INT(cfg.nroute_proxies, 16);
	CHECK_EQ_INT(set("route", "h.example proxy http://one-too-many:1"), -1);
	check_err("more than 16 different proxies");
	while (cfg.nrules < RULES_MAX)
		CHECK_EQ_INT(set("route", "* block"), 0);
	CHECK_EQ_INT(set("route", "* block"), -1);
	check_err("too many rules (at most 64)");
	config_free(&cfg); /* wipes the route proxies' credentials */
	CHECK_EQ_INT(cfg.nroute_proxies, 0);
	CHECK_EQ_STR(cfg.route_proxies[0].pass, "");
	CHECK_EQ_STR(cfg.route_proxies[0].user, "");

	/* no-proxy */
	config_init(&cfg);
	CHECK_EQ_INT(set("no-proxy", "localhost, .corp.example,10.0.0.0/8"), 0);
	CHECK_EQ_INT(cfg.noproxy_set, 1);
	CHECK_EQ_STR(cfg.noproxy_source, "--no-proxy");
	CHECK_EQ_INT(noproxy_match(&cfg.noproxy, "git.corp.example", 22), 1);
	CHECK_EQ_INT(noproxy_match(&cfg.noproxy, "10.2.3.4", 22), 1);
	CHECK_EQ_INT(noproxy_match(&cfg.noproxy, "example.org", 22), 0);
	CHECK_EQ_INT(set("no-proxy", NULL), 0); /* "no-proxy" alone in a file: an empty list */
	CHECK_EQ_INT(cfg.noproxy.n, 0);
	char many[400] = "";
	for (int i = 0; i <= NOPROXY_MAX; i++)
		strcat(many, "h,");
	CHECK_EQ_INT(set("no-proxy", many), -1);
	check_err("option 'no-proxy': more than 64 entries");

	/* pac */
	CHECK_EQ_INT(set("pac", "http://wpad.example/wpad.dat"), 0);
	CHECK_EQ_STR(cfg.pac_url, "http://wpad.example/wpad.dat");
	CHECK_EQ_INT(set("pac", "file:///etc/proxy.pac"), 0);
	CHECK_EQ_STR(cfg.pac_url, "file:///etc/proxy.pac");
	CHECK_EQ_INT(set("pac", "/etc/proxy.pac"), 0);
	CHECK_EQ_STR(cfg.pac_url, "/etc/proxy.pac");
	CHECK_EQ_INT(set("pac", "conf/proxy.pac"), 0);
	char cwd[512], want[600];
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		abort();
	snprintf(want, sizeof(want), "%s/conf/proxy.pac", strcmp(cwd, "/") == 0 ? "" : cwd);
	CHECK_EQ_STR(cfg.pac_url, want);
	CHECK_EQ_INT(set("pac", ""), 0);
	CHECK_EQ_STR(cfg.pac_url, "");
	CHECK_EQ_INT(set("pac", NULL), -1);
	check_err("option 'pac' needs a URL");
	CHECK_EQ_INT(set("pac", "https://wpad.example/wpad.dat"), -1);
	check_err("unsupported scheme");
	CHECK_EQ_INT(set("pac", "ftp://x/y"), -1);
	check_err("unsupported scheme");
	CHECK_EQ_INT(set("pac", "file://relative"), -1);
	check_err("file:///absolute/path");
	CHECK_EQ_INT(set("pac", "http://"), -1);
	CHECK_EQ_INT(set("pac", "http://u:pw@wpad/x"), -1);
	check_err("no user or password");
	CHECK_EQ_INT(set("pac", "http://wpad/a b"), -1);
	CHECK_EQ_INT(set("pac", "x\ny"), -1);
	CHECK_EQ_STR(cfg.pac_url, "");
	CHECK_EQ_INT(set("pac-timeout", "0.5"), 0);
	CHECK(cfg.pac_timeout == 0.5);
	CHECK_EQ_INT(set("pac-timeout", "0"), -1);
	check_err("pac-timeout");
	CHECK_EQ_INT(set("pac-refresh", "300"), 0);
	CHECK(cfg.pac_refresh == 300);
	CHECK_EQ_INT(set("pac-refresh", "0"), -1);
	CHECK_EQ_INT(set("pac-cache", "0"), 0);
	CHECK(cfg.pac_cache == 0);
	CHECK_EQ_INT(set("pac-cache", "soon"), -1);
	check_err("option 'pac-cache': bad number of seconds 'soon'");

	/* in a config file */
	config_init(&cfg);
	CHECK_EQ_INT(text("route .a.example direct\nroute = b.example block\nno-proxy = .c.example\n"
			  "pac http://wpad/wpad.dat\npac-cache 5\n", "f.conf"), 0);
	CHECK_EQ_INT(cfg.nrules, 2);
	CHECK_EQ_INT(cfg.rule_in_file[0], 1);
	CHECK_EQ_INT(cfg.rules[1].action, RULE_BLOCK);
	CHECK_EQ_INT(noproxy_match(&cfg.noproxy, "x.c.example", 1), 1);
	CHECK(cfg.pac_cache == 5);
	CHECK_EQ_INT(text("route a.example\n", "f.conf"), -1);
	check_err("f.conf:1: option 'route': rule 'a.example' has no action");
}

/* no_proxy from the environment, the -x list's necessity, the password variable. */
static void test_routes_finish(void)
{
	config_init(&cfg);
	env_clear();
	env_set("https_proxy", "http://p:1");
	env_set("NO_PROXY", ".upper.example");
	CHECK_EQ_INT(finish(), 0);
	CHECK_EQ_INT(cfg.noproxy_set, 1);
	CHECK_EQ_STR(cfg.noproxy_source, "NO_PROXY");
	CHECK_EQ_INT(noproxy_match(&cfg.noproxy, "a.upper.example", 1), 1);

	config_init(&cfg);
	env_set("no_proxy", ".lower.example"); /* lower case wins, as in curl */
	CHECK_EQ_INT(finish(), 0);
	CHECK_EQ_STR(cfg.noproxy_source, "no_proxy");
	CHECK_EQ_INT(noproxy_match(&cfg.noproxy, "a.lower.example", 1), 1);
	CHECK_EQ_INT(noproxy_match(&cfg.noproxy, "a.upper.example", 1), 0);

	config_init(&cfg);
	env_clear();
	env_set("https_proxy", "http://p:1");
	env_set("no_proxy", ""); /* set but empty: hides NO_PROXY (curl) */
	env_set("NO_PROXY", ".upper.example");
	CHECK_EQ_INT(finish(), 0);
	CHECK_EQ_STR(cfg.noproxy_source, "no_proxy");
	CHECK_EQ_INT(noproxy_match(&cfg.noproxy, "a.upper.example", 1), 0);

	/* --no-proxy, even empty, over the environment */
	config_init(&cfg);
	CHECK_EQ_INT(set("no-proxy", ""), 0);
	CHECK_EQ_INT(finish(), 0);
	CHECK_EQ_STR(cfg.noproxy_source, "--no-proxy");
	CHECK_EQ_INT(cfg.noproxy.n, 0);

	config_init(&cfg);
	env_clear();
	env_set("https_proxy", "http://p:1");
	CHECK_EQ_INT(finish(), 0);
	CHECK_EQ_INT(cfg.noproxy_set, 0);
	CHECK_EQ_STR(cfg.noproxy_source, "");

	char many[400] = "";
	for (int i = 0; i <= NOPROXY_MAX; i++)
		strcat(many, "h,");
	config_init(&cfg);
	env_set("no_proxy", many);
	CHECK_EQ_INT(finish(), -1);
	check_err("no_proxy in the environment: more than 64 entries");

	/* without -x: fine when a PAC or a rule for everything decides */
	config_init(&cfg);
	env_clear();
	CHECK_EQ_INT(set("route", ".corp.example direct"), 0);
	CHECK_EQ_INT(finish(), 1);
	check_err("no upstream proxy");
	CHECK_EQ_INT(set("route", "* direct"), 0);
	CHECK_EQ_INT(finish(), 0);
	config_init(&cfg);
	CHECK_EQ_INT(set("pac", "http://wpad/wpad.dat"), 0);
	CHECK_EQ_INT(finish(), 0);
	CHECK_EQ_INT(set("route", ".x.example proxy"), 0); /* the -x list, but there is none */
	CHECK_EQ_INT(finish(), -1);
	check_err("rule 1 '.x.example proxy' sends to the -x proxies, but none is configured");
	config_init(&cfg);
	CHECK_EQ_INT(set("route", "*:443 direct"), 0); /* not every port */
	CHECK_EQ_INT(finish(), 1);
	config_init(&cfg);
	CHECK_EQ_INT(set("no-proxy", "*"), 0);
	CHECK_EQ_INT(finish(), 0);
	config_init(&cfg);
	env_set("NO_PROXY", "*"); /* from the environment: not taken as meant */
	CHECK_EQ_INT(finish(), 1);
	env_clear();

	/* a route proxy's user without a password takes SOCKS2HTTP_PROXY_PASSWORD */
	config_init(&cfg);
	env_clear();
	env_set("https_proxy", "http://p:1");
	env_set("SOCKS2HTTP_PROXY_PASSWORD", "fromenv");
	CHECK_EQ_INT(set("route", ".x proxy http://bob@rp:3128 http://carol:own@rp2:1"), 0);
	CHECK_EQ_INT(finish(), 0);
	CHECK_EQ_STR(cfg.route_proxies[0].pass, "fromenv");
	CHECK_EQ_STR(cfg.route_proxies[1].pass, "own");
	config_free(&cfg);
	env_clear();
}

/* The command line's rules are tried before the config file's, whichever came first. */
static void test_routes_order(void)
{
	char dir[] = "/tmp/test_config_routes.XXXXXX";
	if (mkdtemp(dir) == NULL)
		abort();
	char file[256], sub[256];
	snprintf(file, sizeof(file), "%s/c.conf", dir);
	const char *conf = "proxy http://p:1\nroute .file1.example direct\nroute .file2.example block\n";
	write_file(file, conf, strlen(conf));
	chmod(file, 0600);

	char a0[] = "socks2http", a1[] = "--route", a2[] = ".cmd1.example block", a3[] = "-c", a5[] = "--route=.cmd2.example direct";
	char *argv[] = {a0, a1, a2, a3, file, a5, NULL};
	config_init(&cfg);
	env_clear();
	CHECK_EQ_INT(config_load(&cfg, 6, argv, fake_getenv, err, sizeof(err)), CONFIG_RUN);
	CHECK_EQ_INT(finish(), 0);
	CHECK_EQ_INT(cfg.nrules, 4);
	CHECK_EQ_STR(cfg.rules[0].text, ".cmd1.example block");
	CHECK_EQ_STR(cfg.rules[1].text, ".cmd2.example direct");
	CHECK_EQ_STR(cfg.rules[2].text, ".file1.example direct");
	CHECK_EQ_STR(cfg.rules[3].text, ".file2.example block");
	CHECK_EQ_INT(finish(), 0); /* again: the same order */
	CHECK_EQ_STR(cfg.rules[1].text, ".cmd2.example direct");
	CHECK_EQ_STR(cfg.rules[2].text, ".file1.example direct");

	/* the default config file ($XDG_CONFIG_HOME/socks2http/config) is read first */
	snprintf(sub, sizeof(sub), "%s/socks2http", dir);
	mkdir(sub, 0700);
	snprintf(sub, sizeof(sub), "%s/socks2http/config", dir);
	write_file(sub, conf, strlen(conf));
	chmod(sub, 0600);
	char *argv2[] = {a0, a1, a2, NULL};
	config_init(&cfg);
	env_set("XDG_CONFIG_HOME", dir);
	CHECK_EQ_INT(config_load(&cfg, 3, argv2, fake_getenv, err, sizeof(err)), CONFIG_RUN);
	CHECK_EQ_INT(finish(), 0);
	CHECK_EQ_INT(cfg.nrules, 3);
	CHECK_EQ_STR(cfg.rules[0].text, ".cmd1.example block");
	CHECK_EQ_STR(cfg.rules[1].text, ".file1.example direct");

	/* a route proxy's password in a file others may read: refused, as for -x */
	const char *pwconf = "route * proxy http://u:pw@rp:1\n";
	write_file(file, pwconf, strlen(pwconf));
	chmod(file, 0644);
	config_init(&cfg);
	CHECK_EQ_INT(config_load_file(&cfg, file, err, sizeof(err)), -2);
	check_err("holds a proxy password but other users may read it");
	chmod(file, 0600);
	config_init(&cfg);
	CHECK_EQ_INT(config_load_file(&cfg, file, err, sizeof(err)), 0);
	config_free(&cfg);
	env_clear();
	unlink(sub);
	snprintf(sub, sizeof(sub), "%s/socks2http", dir);
	rmdir(sub);
	unlink(file);
	rmdir(dir);
}

/* The command line's listen, proxy and allow-users lists replace the config file's (the help:
 * "the command line overrides it"), whether the file is the default one, read first, or a -c
 * before or after them; they used to be added to the file's, so a daemon given -l and -x also
 * listened on the file's address and tried the file's proxy first.  SIGHUP runs the same
 * config_load, so a reload keeps the command line's lists. */
static void test_cmdline_lists_replace_files(void)
{
	char dir[] = "/tmp/test_config_lists.XXXXXX";
	if (mkdtemp(dir) == NULL)
		abort();
	char sub[256], file[256];
	snprintf(sub, sizeof(sub), "%s/socks2http", dir);
	mkdir(sub, 0700);
	snprintf(file, sizeof(file), "%s/socks2http/config", dir);
	const char *conf = "listen 127.0.0.1:18080\nproxy http://u:pw@file:3999\nallow-users 1234\n";
	write_file(file, conf, strlen(conf));
	chmod(file, 0600);
	env_clear();
	env_set("XDG_CONFIG_HOME", dir);

	char a0[] = "socks2http", l[] = "-l", lv[] = "127.0.0.1:18081", l2[] = "--listen=127.0.0.1:18082",
	     x[] = "-x", xv[] = "http://cmd:4000", c[] = "-c", u[] = "--allow-users=99";
	char *argv[] = {a0, l, lv, x, xv, l2, NULL};
	config_init(&cfg);
	CHECK_EQ_INT(config_load(&cfg, 6, argv, fake_getenv, err, sizeof(err)), CONFIG_RUN);
	CHECK_EQ_INT(cfg.nlisten, 2);
	CHECK_EQ_STR(cfg.listen[0].text, "127.0.0.1:18081");
	CHECK_EQ_STR(cfg.listen[1].text, "127.0.0.1:18082");
	CHECK_EQ_INT(cfg.nproxies, 1);
	CHECK_EQ_STR(cfg.proxies[0].host, "cmd");
	CHECK_EQ_INT(cfg.nallow_uids, 1); /* not given: the file's */
	CHECK_EQ_INT(cfg.allow_uids[0], 1234);
	config_free(&cfg);

	/* a -c file after the options: still replaced */
	char *argv2[] = {a0, l, lv, x, xv, u, c, file, NULL};
	config_init(&cfg);
	CHECK_EQ_INT(config_load(&cfg, 8, argv2, fake_getenv, err, sizeof(err)), CONFIG_RUN);
	CHECK_EQ_INT(cfg.nlisten, 1);
	CHECK_EQ_STR(cfg.listen[0].text, "127.0.0.1:18081");
	CHECK_EQ_INT(cfg.nproxies, 1);
	CHECK_EQ_STR(cfg.proxies[0].host, "cmd");
	CHECK_EQ_INT(cfg.nallow_uids, 1);
	CHECK_EQ_INT(cfg.allow_uids[0], 99);
	config_free(&cfg);

	/* nothing on the command line: the file's lists */
	char *argv3[] = {a0, NULL};
	config_init(&cfg);
	CHECK_EQ_INT(config_load(&cfg, 1, argv3, fake_getenv, err, sizeof(err)), CONFIG_RUN);
	CHECK_EQ_INT(cfg.nlisten, 1);
	CHECK_EQ_STR(cfg.listen[0].text, "127.0.0.1:18080");
	CHECK_EQ_INT(cfg.nproxies, 1);
	CHECK_EQ_STR(cfg.proxies[0].host, "file");
	config_free(&cfg);
	env_clear();
	unlink(file);
	rmdir(sub);
	rmdir(dir);
}

static void test_routes_cmdline(void)
{
	/* passwords in --route URLs are scrubbed from argv like -x's */
	check_scrub((const char *const[]){"socks2http", "--route", ".a proxy http://u:secret@h:1 http://h2",
					  "--route=.b chain u:pw@h3 http://v:xy@h4:2", "--route", ".c direct", NULL},
		    (const char *const[]){"socks2http", "--route", ".a proxy http://u:******@h:1 http://h2",
					  "--route=.b chain u:**@h3 http://v:**@h4:2", "--route", ".c direct"});
	check_scrub((const char *const[]){"socks2http", "--route", NULL}, (const char *const[]){"socks2http", "--route"});

	char a0[] = "socks2http", a1[] = "--route", a2[] = "* proxy http://u:pw@h:1", a3[] = "--no-proxy",
	     a4[] = "localhost", a5[] = "--pac=http://wpad/wpad.dat", a6[] = "--pac-timeout", a7[] = "3",
	     a8[] = "--pac-refresh=60", a9[] = "--pac-cache", a10[] = "0";
	char *argv[] = {a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, NULL};
	config_init(&cfg);
	CHECK_EQ_INT(config_parse_args(&cfg, 11, argv, err, sizeof(err)), CONFIG_RUN);
	CHECK_EQ_INT(cfg.password_on_cmdline, 1);
	CHECK_EQ_INT(cfg.nrules, 1);
	CHECK_EQ_STR(cfg.route_proxies[0].pass, "pw");
	CHECK_EQ_STR(cfg.noproxy_source, "--no-proxy");
	CHECK_EQ_STR(cfg.pac_url, "http://wpad/wpad.dat");
	CHECK(cfg.pac_timeout == 3 && cfg.pac_refresh == 60 && cfg.pac_cache == 0);
	config_scrub_argv(11, argv);
	CHECK_EQ_STR(a2, "* proxy http://u:**@h:1");
	CHECK_EQ_STR(cfg.route_proxies[0].pass, "pw");
	CHECK_EQ_INT(config_arg_takes_next("--route"), 1);
	CHECK_EQ_INT(config_arg_takes_next("--no-proxy"), 1);
	CHECK_EQ_INT(config_arg_takes_next("--pac"), 1);
	config_free(&cfg);

	char b1[] = "--route", b2[] = ".x proxy http://h:1";
	char *argv2[] = {a0, b1, b2, NULL};
	config_init(&cfg);
	CHECK_EQ_INT(config_parse_args(&cfg, 3, argv2, err, sizeof(err)), CONFIG_RUN);
	CHECK_EQ_INT(cfg.password_on_cmdline, 0);
	char c1[] = "--route", c2[] = "bad pattern here";
	char *argv3[] = {a0, c1, c2, NULL};
	CHECK_EQ_INT(config_parse_args(&cfg, 3, argv3, err, sizeof(err)), CONFIG_USAGE);
	check_err("option 'route'");
}

int main(void)
{
	test_control_and_arg_values();
	test_access_options();
	test_defaults();
	test_set();
	test_parse_text();
	test_load_file();
	test_parse_args();
	test_finish();
	test_parse_listen();
	test_scrub();
	test_usage();
	test_activation_options();
	test_routes();
	test_routes_finish();
	test_routes_order();
	test_routes_cmdline();
	test_cmdline_lists_replace_files();
	return check_report();
}
