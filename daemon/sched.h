/* sched.h - when a source runs next. Pure functions, unit-tested; the
 * timers that act on them live in source.c. */
#ifndef SRM_DAEMON_SCHED_H
#define SRM_DAEMON_SCHED_H

#include <stddef.h>
#include <stdint.h>

#include "srm/plugin.h"

/* Longest delay a failing source waits between attempts. */
#define SRM_SCHED_BACKOFF_CAP 3600
/* How long an auth-failed source waits before trying again on its own. */
#define SRM_SCHED_AUTH_RETRY 3600

/* Seconds until the next pass after one that ended with status, for a
 * source polled every `every` seconds that has now failed `failures` times
 * in a row (0 after a success). retry_after is the server's (or plugin's)
 * request, 0 if none. jitter01 in [0,1) spreads sources over +-10%.
 * Returns -1 when the source must not run again until reloaded
 * (SRM_PASS_BAD_CONFIG).
 *   OK:          every +- 10%
 *   RETRY:       retry_after (or the backoff below when 0), never sooner
 *   ERROR:       min(every * 2^(failures-1), max(every, cap)) +- 10%
 *   AUTH_FAILED: max(every, SRM_SCHED_AUTH_RETRY) */
int64_t srm_sched_delay(enum srm_pass_status status, int64_t every,
                        int64_t failures, int64_t retry_after,
                        double jitter01);

/* Delay before the first pass after start-up, for one of n_sources: spread
 * over [0, n_sources ms), at most a second, so that thousands of sources do
 * not all start in the same tick while a single source starts at once. */
int64_t srm_sched_first_delay_ms(int64_t every, double jitter01,
                                 size_t n_sources);

#endif
