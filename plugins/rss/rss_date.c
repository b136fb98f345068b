/* rss_date.c - RFC 822 and RFC 3339 dates, leniently.
 *
 * strptime() is locale-dependent and all-or-nothing about the format, while
 * feeds drop weekdays and seconds, use two-digit years and named zones; so
 * this is a small tokenizer instead. Broken-down time goes through timegm(),
 * which normalises nothing we have not range-checked first. */
#include "rss_date.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct rd_tm {
    int year, mon, day, hour, min, sec;
    int offset; /* seconds east of UTC */
};

static const char *rd_skip_space(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
        p++;
    return p;
}

/* Read up to max digits (at least min); -1 when there are fewer. */
static int rd_num(const char **pp, int min, int max)
{
    const char *p = *pp;
    int v = 0, n = 0;

    while (n < max && isdigit((unsigned char)*p)) {
        v = v * 10 + (*p - '0');
        p++;
        n++;
    }
    if (n < min)
        return -1;
    *pp = p;
    return v;
}

static int rd_month(const char **pp)
{
    static const char *const names[] = {"jan", "feb", "mar", "apr",
                                        "may", "jun", "jul", "aug",
                                        "sep", "oct", "nov", "dec"};
    const char *p = *pp;

    for (int i = 0; i < 12; i++) {
        if (strncasecmp(p, names[i], 3) == 0) {
            /* "May", "Sept", "September" all name the month. */
            p += 3;
            while (isalpha((unsigned char)*p))
                p++;
            if (*p == '.')
                p++;
            *pp = p;
            return i + 1;
        }
    }
    return -1;
}

/* A zone after the time: +hhmm, -hh:mm, or a name. Absent means UTC. */
static int rd_zone(const char *p, int *ret_offset)
{
    static const struct {
        const char *name;
        int hours;
    } zones[] = {{"UT", 0},   {"UTC", 0},  {"GMT", 0},  {"Z", 0},
                 {"EST", -5}, {"EDT", -4}, {"CST", -6}, {"CDT", -5},
                 {"MST", -7}, {"MDT", -6}, {"PST", -8}, {"PDT", -7},
                 {"BST", 1},  {"CET", 1},  {"CEST", 2}};
    p = rd_skip_space(p);
    *ret_offset = 0;
    if (*p == '\0')
        return 0;
    if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1;
        p++;
        int hh = rd_num(&p, 2, 2);
        if (hh < 0)
            return -EINVAL;
        if (*p == ':')
            p++;
        int mm = isdigit((unsigned char)*p) ? rd_num(&p, 2, 2) : 0;
        if (mm < 0 || hh > 23 || mm > 59)
            return -EINVAL;
        *ret_offset = sign * (hh * 3600 + mm * 60);
        p = rd_skip_space(p);
        /* "+0000 (UTC)" comments after the offset are fine. */
        return *p == '\0' || *p == '(' ? 0 : -EINVAL;
    }
    size_t len = 0;
    while (isalpha((unsigned char)p[len]))
        len++;
    for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
        if (strlen(zones[i].name) == len &&
            strncasecmp(p, zones[i].name, len) == 0) {
            *ret_offset = zones[i].hours * 3600;
            return 0;
        }
    }
    /* An unknown name (a military letter, "EAT") is still a date; reading
     * it as UTC is off by hours at most, refusing it loses the item date. */
    return len > 0 ? 0 : -EINVAL;
}

static bool rd_valid(const struct rd_tm *t)
{
    return t->year >= 1970 && t->year <= 9999 && t->mon >= 1 &&
           t->mon <= 12 && t->day >= 1 && t->day <= 31 && t->hour >= 0 &&
           t->hour <= 23 && t->min >= 0 && t->min <= 59 && t->sec >= 0 &&
           t->sec <= 60;
}

static int rd_finish(const struct rd_tm *t, int64_t *ret_unix)
{
    struct tm tm = {0};

    if (!rd_valid(t))
        return -EINVAL;
    tm.tm_year = t->year - 1900;
    tm.tm_mon = t->mon - 1;
    tm.tm_mday = t->day;
    tm.tm_hour = t->hour;
    tm.tm_min = t->min;
    tm.tm_sec = t->sec;
    *ret_unix = (int64_t)timegm(&tm) - t->offset;
    return 0;
}

/* HH:MM[:SS]; seconds default to 0. */
static int rd_clock(const char **pp, struct rd_tm *t)
{
    t->hour = rd_num(pp, 1, 2);
    if (t->hour < 0 || **pp != ':')
        return -EINVAL;
    (*pp)++;
    t->min = rd_num(pp, 2, 2);
    if (t->min < 0)
        return -EINVAL;
    t->sec = 0;
    if (**pp == ':') {
        (*pp)++;
        t->sec = rd_num(pp, 2, 2);
        if (t->sec < 0)
            return -EINVAL;
    }
    return 0;
}

/* [Wkd[,]] D Mon YY[YY] [HH:MM[:SS] [zone]] */
static int rd_rfc822(const char *p, int64_t *ret_unix)
{
    struct rd_tm t = {0};

    p = rd_skip_space(p);
    if (isalpha((unsigned char)*p)) {
        while (isalpha((unsigned char)*p))
            p++;
        if (*p == ',')
            p++;
        p = rd_skip_space(p);
    }
    t.day = rd_num(&p, 1, 2);
    if (t.day < 0)
        return -EINVAL;
    p = rd_skip_space(p);
    if (*p == '-')
        p++;
    t.mon = rd_month(&p);
    if (t.mon < 0)
        return -EINVAL;
    p = rd_skip_space(p);
    if (*p == '-')
        p++;
    const char *ys = p;
    t.year = rd_num(&p, 2, 4);
    if (t.year < 0 || p - ys == 3)
        return -EINVAL;
    /* RFC 2822 §4.3: 00-49 are 2000-2049, 50-99 are 1950-1999. */
    if (p - ys == 2)
        t.year += t.year < 50 ? 2000 : 1900;
    p = rd_skip_space(p);
    if (*p != '\0') {
        if (rd_clock(&p, &t) < 0)
            return -EINVAL;
        if (rd_zone(p, &t.offset) < 0)
            return -EINVAL;
    }
    return rd_finish(&t, ret_unix);
}

/* YYYY-MM-DD[(T| )HH:MM[:SS[.frac]][Z|+hh:mm|+hhmm]] */
static int rd_iso8601(const char *p, int64_t *ret_unix)
{
    struct rd_tm t = {0};

    p = rd_skip_space(p);
    t.year = rd_num(&p, 4, 4);
    if (t.year < 0 || *p++ != '-')
        return -EINVAL;
    t.mon = rd_num(&p, 2, 2);
    if (t.mon < 0 || *p++ != '-')
        return -EINVAL;
    t.day = rd_num(&p, 2, 2);
    if (t.day < 0)
        return -EINVAL;
    if (*p == 'T' || *p == 't' || (*p == ' ' && isdigit((unsigned char)p[1]))) {
        p++;
        if (rd_clock(&p, &t) < 0)
            return -EINVAL;
        if (*p == '.' || *p == ',') {
            p++;
            if (!isdigit((unsigned char)*p))
                return -EINVAL;
            while (isdigit((unsigned char)*p))
                p++;
        }
        if (*p == 'z')
            p++;
        else if (rd_zone(p, &t.offset) < 0)
            return -EINVAL;
        else
            p += strlen(p);
    }
    p = rd_skip_space(p);
    if (*p != '\0')
        return -EINVAL;
    return rd_finish(&t, ret_unix);
}

int rss_date_parse(const char *s, int64_t *ret_unix)
{
    if (s == NULL)
        return -EINVAL;
    const char *p = rd_skip_space(s);
    if (isdigit((unsigned char)p[0]) && isdigit((unsigned char)p[1]) &&
        isdigit((unsigned char)p[2]) && isdigit((unsigned char)p[3]) &&
        p[4] == '-')
        return rd_iso8601(p, ret_unix);
    return rd_rfc822(p, ret_unix);
}
