/* rss_date.h - lenient parsing of the dates feeds carry. */
#ifndef SRM_PLUGINS_RSS_DATE_H
#define SRM_PLUGINS_RSS_DATE_H

#include <stdint.h>

/* Parse an RFC 822 date ("Sun, 19 May 2002 15:21:36 GMT", also without the
 * weekday or the seconds, 2-digit years, single-digit days, named zones
 * such as EST or PDT) or an RFC 3339 / ISO 8601 one ("2003-12-13T18:30:02Z",
 * fractional seconds, numeric offsets, a date alone) into Unix seconds.
 * A missing zone means UTC. Returns 0, or -EINVAL when s is not a date. */
int rss_date_parse(const char *s, int64_t *ret_unix);

#endif
