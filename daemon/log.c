/* log.c - log lines to stderr. */
#include "log.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static int log_level = SRM_LOG_INFO;

static const char *const log_names[] = {
    [SRM_LOG_ERROR] = "error", [SRM_LOG_WARNING] = "warning",
    [SRM_LOG_NOTICE] = "notice", [SRM_LOG_INFO] = "info",
    [SRM_LOG_DEBUG] = "debug",
};

void srm_log_set_level(int level)
{
    log_level = level;
}

int srm_log_get_level(void)
{
    return log_level;
}

int srm_log_level_parse(const char *name)
{
    for (int i = SRM_LOG_ERROR; i <= SRM_LOG_DEBUG; i++)
        if (strcasecmp(name, log_names[i]) == 0)
            return i;
    return -1;
}

const char *srm_log_level_name(int level)
{
    if (level < SRM_LOG_ERROR || level > SRM_LOG_DEBUG)
        return "?";
    return log_names[level];
}

void srm_vlog_tagged(int level, const char *tag, const char *fmt, va_list ap)
{
    char line[4096];
    struct timespec ts;
    struct tm tm;
    size_t n;
    int r;

    if (level > log_level)
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
    r = snprintf(line + n, sizeof(line) - n, ".%03ldZ %-7s %s%s", ts.tv_nsec / 1000000,
                 srm_log_level_name(level), tag ? tag : "", tag ? " " : "");
    if (r > 0)
        n += (size_t)r < sizeof(line) - n ? (size_t)r : sizeof(line) - n - 1;
    r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
    if (r > 0)
        n += (size_t)r < sizeof(line) - n ? (size_t)r : sizeof(line) - n - 1;
    /* A control character from a remote server must not forge log lines. */
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)line[i] < 0x20 && line[i] != '\t')
            line[i] = ' ';
    line[n++] = '\n';
    /* One write per line keeps lines whole across threads. */
    if (write(STDERR_FILENO, line, n) < 0) {
        /* Nowhere left to report it. */
    }
}

void srm_log(int level, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    srm_vlog_tagged(level, NULL, fmt, ap);
    va_end(ap);
}

char *srm_redact(char *s)
{
    static const char *const keys[] = {
        "Bearer ", "token=", "password=", "access_token=", "app_password=",
        "accessJwt\":\"", "refreshJwt\":\"",
    };

    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
        char *p = s;
        while ((p = strcasestr(p, keys[k])) != NULL) {
            char *v = p + strlen(keys[k]);
            char *end = v + strcspn(v, " \t&\",;");
            if (end - v >= 3) {
                memcpy(v, "***", 3);
                memmove(v + 3, end, strlen(end) + 1);
            }
            p = v;
        }
    }
    return s;
}
