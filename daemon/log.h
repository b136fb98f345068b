/* log.h - the daemon's log: one line per event on stderr, with UTC time,
 * level and the module or source it concerns. */
#ifndef SRM_DAEMON_LOG_H
#define SRM_DAEMON_LOG_H

#include <stdarg.h>
#include <stdbool.h>

#include "srm/plugin.h" /* enum srm_log_level */

/* Lines above this level are dropped. Default SRM_LOG_INFO. */
void srm_log_set_level(int level);
int srm_log_get_level(void);
/* "error", "warning", "notice", "info", "debug" -> level, or -1. */
int srm_log_level_parse(const char *name);
const char *srm_log_level_name(int level);

/* Core lines start with "<module>: "; plugin lines are tagged by
 * srm_log_tagged with "[network/source]". Thread-safe: one write(2) a line. */
void srm_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void srm_vlog_tagged(int level, const char *tag, const char *fmt, va_list ap);

#define SRM_ERROR(...) srm_log(SRM_LOG_ERROR, __VA_ARGS__)
#define SRM_WARNING(...) srm_log(SRM_LOG_WARNING, __VA_ARGS__)
#define SRM_NOTICE(...) srm_log(SRM_LOG_NOTICE, __VA_ARGS__)
#define SRM_INFO(...) srm_log(SRM_LOG_INFO, __VA_ARGS__)
#define SRM_DEBUG(fmt, ...)                                                   \
    srm_log(SRM_LOG_DEBUG, "%s: " fmt, __func__, ##__VA_ARGS__)

/* Replace secrets in s (in place) with "***": the value after "Bearer ",
 * "token=", "password=", "access_token=", "app_password=". Returns s. */
char *srm_redact(char *s);

#endif
