/* log: leveled lines on stderr.  The level is part of the configuration, set once at start. */
#ifndef SOCKS2HTTP_LOG_H
#define SOCKS2HTTP_LOG_H

#include "config.h"

void log_set_level(int level);
int log_enabled(int level);

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void log_msg(int level, const char *fmt, ...);

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)                                    \
	do {                                              \
		if (log_enabled(LOG_LVL_DEBUG))           \
			log_msg(LOG_LVL_DEBUG, __VA_ARGS__); \
	} while (0)

/* "1.2.3.4:80" or "[::1]:80" for a socket address. Returns out. */
const char *log_addr(const struct sockaddr *sa, char *out, size_t cap);

#endif
