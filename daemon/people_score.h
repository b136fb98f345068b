/* people_score.h - the numbers behind people.suggest, people.due and
 * people.rebalance: pure functions (no I/O, any thread), unit-tested in
 * tests/unit/test_people_score.c and documented in docs/people.md. SQL
 * gathers the inputs; these decide the order. */
#ifndef SRM_DAEMON_PEOPLE_SCORE_H
#define SRM_DAEMON_PEOPLE_SCORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SRM_SCORE_HALF_LIFE_DAYS 14.0 /* a mention's weight halves */
/* Candidates are the people who mentioned the team within the window;
 * the window also bounds the counts in the reasons. Recency itself sums
 * all of a person's mentions (older ones weigh less than 1% each). */
#define SRM_SCORE_WINDOW_DAYS 90
/* The origin of people.recency_sum (db_sql_people.h, SRM_SQL_PEOPLE_RANK_T0
 * holds the same number). */
#define SRM_SCORE_RANK_T0 1700000000
#define SRM_SCORE_W_RECENCY 3.0
#define SRM_SCORE_W_REACH 1.0
#define SRM_SCORE_W_UNANSWERED 2.0
#define SRM_SCORE_W_QUIET 1.0
#define SRM_SCORE_QUIET_DAYS 30.0     /* quiet reaches 1 after this long */
#define SRM_DUNBAR 150                /* relationships one member can hold */

struct srm_score_in {
    int64_t now;
    const int64_t *mention_at; /* their mentions' created_at (any order) */
    size_t n_mentions;
    /* Without mention_at: recency from the kept sum (people.recency_sum,
     * srm_people_recency), and the window's counts for the reasons. */
    double recency_sum;
    int mentions, mentions_30d;
    int64_t last_mention_at;
    int64_t followers;         /* their largest audience, -1 unknown */
    bool answered;             /* the team ever replied or wrote to them */
    int64_t last_interaction_at; /* 0: never */
};

struct srm_score_out {
    double score;
    double recency;    /* sum of 0.5^(age_days / half-life), all mentions */
    double reach;      /* log10(1 + followers) */
    double unanswered; /* 1 when never answered */
    double quiet;      /* min(1, days since last interaction / 30) */
    int mentions;      /* in the window */
    int mentions_30d;
    int64_t last_mention_at;
};

/* One mention's term of people.recency_sum: 2^((t - T0) / half-life). */
double srm_people_recency_term(int64_t created_at);
/* The recency at now of a sum of such terms: the sum over those mentions
 * of 0.5^(age / half-life). */
double srm_people_recency(double recency_sum, int64_t now);
/* score = 3 * recency + 1 * reach + 2 * unanswered + 1 * quiet. */
void srm_people_score(const struct srm_score_in *in,
                      struct srm_score_out *ret);

/* The reasons in words, one per buffer (n_buf of size buf_size each);
 * returns how many were written. E.g. "mentioned us 3 times in the last
 * 30 days, last 2 days ago", "12,400 followers", "the team never
 * answered", "no interaction for 45 days". */
size_t srm_people_score_reasons(const struct srm_score_in *in,
                                const struct srm_score_out *out,
                                char (*buf)[160], size_t n_buf);

/* When a person with a cadence is due: the last interaction (or their
 * creation, never talked to) plus cadence_days. */
int64_t srm_people_due_at(int64_t last_interaction_at, int64_t created_at,
                          int64_t cadence_days);

/* "30d", "2w", "3mo", "1y" or a number of days -> days (1..3650).
 * 0 or -EINVAL. */
int srm_people_cadence_parse(const char *s, int64_t *ret_days);

/* Rebalancing: loads[i] active relationships of member i. The target is
 * cap, or ceil(total / n) when the team as a whole is over cap (then the
 * load is spread evenly); the most loaded member above the target gives
 * to the least loaded below it, repeatedly. Writes
 * at most max_moves moves, largest giver first; returns how many. */
struct srm_people_move {
    size_t from, to;
    int64_t count;
};
size_t srm_people_rebalance(const int64_t *loads, size_t n, int64_t cap,
                            struct srm_people_move *moves, size_t max_moves);

#endif
