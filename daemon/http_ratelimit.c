/* http_ratelimit.c - how long a server asks us to wait, from a response's
 * status and headers. Pure: no I/O, no clock (now is an argument), so every
 * header dialect can be unit-tested with fixed times. */
#include "http.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

/* A buggy or hostile server must not park a host for months: one day is
 * longer than any real network's window. */
#define RA_MAX_WAIT_S (24 * 3600)
/* A bare 429 says "slow down" without saying how long; one minute is what
 * Mastodon's and GitHub's windows roughly reset in. */
#define RA_DEFAULT_429_S 60
/* Reset values at or above this are unix times, below it deltas: no window
 * lasts 31 years and no epoch reset is older than 2001. */
#define RA_EPOCH_MIN 1000000000LL

static const char *ra_skip_ws(const char *s);
static bool ra_parse_uint(const char *s, int64_t *ret);
static bool ra_parse_iso8601(const char *s, int64_t *ret);
static bool ra_parse_retry_after(const char *s, int64_t now, int64_t *ret);
static bool ra_parse_reset(const char *s, int64_t now, int64_t *ret);
static bool ra_family(const char *(*header)(const char *, void *), void *ud,
                      const char *remaining, const char *reset, int64_t now,
                      int64_t *ret);
static int64_t ra_clamp(int64_t v);

int64_t srm_http_retry_after(long status,
                             const char *(*header)(const char *name, void *ud),
                             void *ud, int64_t now)
{
    int64_t best = -1;
    int64_t v;

    if (header != NULL) {
        /* Retry-After also appears on 3xx ("wait before following"), which
         * says nothing about rate limits; only 429 and 503 count. */
        if ((status == 429 || status == 503) &&
            ra_parse_retry_after(header("Retry-After", ud), now, &v) &&
            v > best)
            best = v;
        /* Mastodon (ISO-8601 reset), GitHub (epoch reset) and others using
         * the X- names: honoured on any status, since a 200 with nothing
         * remaining means the next request will be refused. */
        if (ra_family(header, ud, "X-RateLimit-Remaining", "X-RateLimit-Reset",
                      now, &v) &&
            v > best)
            best = v;
        /* IETF draft / Bluesky: epoch or delta seconds. */
        if (ra_family(header, ud, "RateLimit-Remaining", "RateLimit-Reset", now,
                      &v) &&
            v > best)
            best = v;
    }
    if (best < 0 && status == 429)
        best = RA_DEFAULT_429_S;
    return best < 0 ? -1 : ra_clamp(best);
}

static int64_t ra_clamp(int64_t v)
{
    if (v < 0)
        return 0;
    return v > RA_MAX_WAIT_S ? RA_MAX_WAIT_S : v;
}

static const char *ra_skip_ws(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

/* Digits only, surrounded by optional blanks; saturates instead of
 * overflowing (the result is clamped to a day anyway). */
static bool ra_parse_uint(const char *s, int64_t *ret)
{
    int64_t v = 0;

    if (s == NULL)
        return false;
    s = ra_skip_ws(s);
    if (!isdigit((unsigned char)*s))
        return false;
    for (; isdigit((unsigned char)*s); s++) {
        if (v < INT64_MAX / 20)
            v = v * 10 + (*s - '0');
    }
    if (*ra_skip_ws(s) != '\0')
        return false;
    *ret = v;
    return true;
}

/* YYYY-MM-DDTHH:MM:SS[.frac][Z|+HH:MM|+HHMM] as unix seconds; no zone means
 * UTC. A fractional part rounds up: waiting a little longer is harmless,
 * coming back early earns another 429. */
static bool ra_parse_iso8601(const char *s, int64_t *ret)
{
    int year, mon, day, hour, min, sec, n = 0;
    char sep;
    bool frac = false;
    int64_t offset = 0;
    struct tm tm = {0};
    time_t t;

    if (s == NULL)
        return false;
    s = ra_skip_ws(s);
    if (sscanf(s, "%4d-%2d-%2d%c%2d:%2d:%2d%n", &year, &mon, &day, &sep, &hour,
               &min, &sec, &n) != 7 ||
        n == 0)
        return false;
    if ((sep != 'T' && sep != 't' && sep != ' ') || mon < 1 || mon > 12 ||
        day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60 ||
        year < 1970)
        return false;
    s += n;
    if (*s == '.' || *s == ',') {
        s++;
        if (!isdigit((unsigned char)*s))
            return false;
        for (; isdigit((unsigned char)*s); s++)
            frac = frac || *s != '0';
    }
    if (*s == 'Z' || *s == 'z') {
        s++;
    } else if (*s == '+' || *s == '-') {
        int sign = *s == '-' ? -1 : 1;
        int oh, om;

        if (!isdigit((unsigned char)s[1]) || !isdigit((unsigned char)s[2]))
            return false;
        oh = (s[1] - '0') * 10 + (s[2] - '0');
        s += 3;
        if (*s == ':')
            s++;
        if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]))
            return false;
        om = (s[0] - '0') * 10 + (s[1] - '0');
        s += 2;
        if (oh > 23 || om > 59)
            return false;
        offset = sign * (oh * 3600 + om * 60);
    }
    if (*ra_skip_ws(s) != '\0')
        return false;
    tm.tm_year = year - 1900;
    tm.tm_mon = mon - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = min;
    tm.tm_sec = sec;
    t = timegm(&tm);
    if (t == (time_t)-1)
        return false;
    *ret = (int64_t)t - offset + (frac ? 1 : 0);
    return true;
}

/* Retry-After: delta-seconds or an HTTP-date (RFC 9110 10.2.3); curl's
 * date parser knows the IMF-fixdate, RFC 850 and asctime forms. */
static bool ra_parse_retry_after(const char *s, int64_t now, int64_t *ret)
{
    int64_t v;
    time_t t;

    if (s == NULL)
        return false;
    if (isdigit((unsigned char)*ra_skip_ws(s)))
        return ra_parse_uint(s, ret);
    t = curl_getdate(s, NULL);
    if (t == (time_t)-1)
        return false;
    v = (int64_t)t - now;
    *ret = v < 0 ? 0 : v;
    return true;
}

/* A reset value: epoch or delta seconds, or an ISO-8601 time. */
static bool ra_parse_reset(const char *s, int64_t now, int64_t *ret)
{
    int64_t v;

    if (s == NULL)
        return false;
    if (ra_parse_uint(s, &v)) {
        if (v >= RA_EPOCH_MIN)
            v -= now;
    } else if (ra_parse_iso8601(s, &v)) {
        v -= now;
    } else {
        return false;
    }
    *ret = v < 0 ? 0 : v;
    return true;
}

/* remaining == 0 and a readable reset: the wait until reset. */
static bool ra_family(const char *(*header)(const char *, void *), void *ud,
                      const char *remaining, const char *reset, int64_t now,
                      int64_t *ret)
{
    int64_t left;

    if (!ra_parse_uint(header(remaining, ud), &left) || left != 0)
        return false;
    return ra_parse_reset(header(reset, ud), now, ret);
}
