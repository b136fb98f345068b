/* sched.c - when a source runs next. */
#include "sched.h"

static int64_t sched_jitter(int64_t seconds, double jitter01)
{
    /* +-10%, at least one second apart from the nominal value only when
     * the interval is long enough to matter. */
    double spread = (double)seconds * 0.2 * (jitter01 - 0.5);
    int64_t d = seconds + (int64_t)spread;
    return d < 1 ? 1 : d;
}

static int64_t sched_backoff(int64_t every, int64_t failures)
{
    int64_t cap = every > SRM_SCHED_BACKOFF_CAP ? every : SRM_SCHED_BACKOFF_CAP;
    int64_t d = every < 1 ? 1 : every;

    for (int64_t i = 1; i < failures && d < cap; i++)
        d *= 2;
    return d > cap ? cap : d;
}

int64_t srm_sched_delay(enum srm_pass_status status, int64_t every,
                        int64_t failures, int64_t retry_after,
                        double jitter01)
{
    switch (status) {
    case SRM_PASS_OK:
        return sched_jitter(every, jitter01);
    case SRM_PASS_RETRY:
        if (retry_after > 0)
            return retry_after;
        return sched_jitter(sched_backoff(every, failures), jitter01);
    case SRM_PASS_ERROR:
        return sched_jitter(sched_backoff(every, failures), jitter01);
    case SRM_PASS_AUTH_FAILED:
        return every > SRM_SCHED_AUTH_RETRY ? every : SRM_SCHED_AUTH_RETRY;
    case SRM_PASS_BAD_CONFIG:
    default:
        return -1;
    }
}

int64_t srm_sched_first_delay_ms(int64_t every, double jitter01,
                                 size_t n_sources)
{
    /* One millisecond of spread per source, at most a second (or the
     * interval): a lone source starts at once, ten thousand do not all
     * start in the same tick. */
    int64_t window = (int64_t)(n_sources < 1000 ? n_sources : 1000);

    if (window > every * 1000)
        window = every * 1000;
    return (int64_t)((double)window * jitter01);
}
