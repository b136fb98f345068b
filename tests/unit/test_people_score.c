/* test_people_score.c - the suggestion score, due dates, cadences and
 * rebalancing (people_score.c), against docs/people.md. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <math.h>
#include <string.h>

#include <cmocka.h>

#include "people_score.h"

#define NOW 1700000000LL
#define DAY 86400LL

static double expect_score(const int64_t *at, size_t n, int64_t followers,
                           bool answered, int64_t last)
{
    double rec = 0, reach, quiet;

    for (size_t i = 0; i < n; i++)
        rec += pow(0.5, (double)(NOW - at[i]) / DAY / 14.0);
    reach = followers > 0 ? log10(1.0 + (double)followers) : 0;
    quiet = last <= 0 ? 1 : fmin(1.0, (double)(NOW - last) / DAY / 30.0);
    return 3 * rec + reach + (answered ? 0 : 2) + quiet;
}

static void test_score_formula(void **state)
{
    int64_t at[] = {NOW, NOW - 14 * DAY, NOW - 28 * DAY, NOW - 91 * DAY};
    struct srm_score_in in = {.now = NOW, .mention_at = at, .n_mentions = 4,
                              .followers = 999, .answered = false,
                              .last_interaction_at = 0};
    struct srm_score_out out;

    (void)state;
    double old = pow(0.5, 91.0 / 14.0);

    srm_people_score(&in, &out);
    /* 1 + 0.5 + 0.25, and the 91-day-old one weighs 0.011: it counts
     * toward recency, not in the window's counts. */
    assert_true(fabs(out.recency - (1.75 + old)) < 1e-9);
    assert_true(fabs(out.reach - 3.0) < 1e-9);
    assert_int_equal(out.mentions, 3);
    assert_int_equal(out.mentions_30d, 3);
    assert_true(fabs(out.score - (3 * (1.75 + old) + 3 + 2 + 1)) < 1e-9);
    assert_true(fabs(out.score - expect_score(at, 4, 999, false, 0)) < 1e-9);

    /* Answered and talked to 15 days ago: quiet 0.5, no unanswered. */
    in.answered = true;
    in.last_interaction_at = NOW - 15 * DAY;
    in.followers = -1;
    srm_people_score(&in, &out);
    assert_true(fabs(out.quiet - 0.5) < 1e-9);
    assert_true(fabs(out.score - (3 * (1.75 + old) + 0.5)) < 1e-9);
}

/* The kept sum (people.recency_sum): terms added in any order, read at
 * any later time, give the same recency as the mentions themselves. */
static void test_recency_sum(void **state)
{
    int64_t at[] = {NOW - 3 * DAY, NOW - 40 * DAY, NOW - 200 * DAY,
                    NOW + 5 * DAY * 365}; /* also years after T0 */
    struct srm_score_in a = {.now = NOW, .mention_at = at, .n_mentions = 3,
                             .followers = 10, .last_interaction_at = 0};
    struct srm_score_in b = a;
    struct srm_score_out oa, ob;
    double sum = 0;

    (void)state;
    for (size_t i = 0; i < 3; i++)
        sum += srm_people_recency_term(at[2 - i]);
    b.mention_at = NULL;
    b.recency_sum = sum;
    srm_people_score(&a, &oa);
    srm_people_score(&b, &ob);
    assert_true(fabs(oa.recency - ob.recency) < 1e-9);
    assert_true(fabs(oa.score - ob.score) < 1e-9);
    /* A week later every term has decayed by the same factor. */
    a.now = b.now = NOW + 7 * DAY;
    srm_people_score(&a, &oa);
    srm_people_score(&b, &ob);
    assert_true(fabs(oa.recency - ob.recency) < 1e-9);
    assert_true(fabs(srm_people_recency(srm_people_recency_term(at[3]),
                                        at[3]) - 1.0) < 1e-9);
    /* Nothing kept: no recency. */
    b.recency_sum = 0;
    srm_people_score(&b, &ob);
    assert_true(ob.recency == 0);
}

static void test_score_orders_recent_over_old(void **state)
{
    int64_t recent[] = {NOW - DAY};
    int64_t old[] = {NOW - 60 * DAY};
    struct srm_score_in a = {.now = NOW, .mention_at = recent,
                             .n_mentions = 1, .followers = 10};
    struct srm_score_in b = {.now = NOW, .mention_at = old, .n_mentions = 1,
                             .followers = 10};
    struct srm_score_out oa, ob;

    (void)state;
    srm_people_score(&a, &oa);
    srm_people_score(&b, &ob);
    assert_true(oa.score > ob.score);
    /* A mention in the future (clock skew) counts as now. */
    recent[0] = NOW + 100;
    srm_people_score(&a, &oa);
    assert_true(fabs(oa.recency - 1.0) < 1e-9);
}

static void test_reasons_in_words(void **state)
{
    int64_t at[] = {NOW - 2 * DAY, NOW - 3 * DAY, NOW - 40 * DAY};
    struct srm_score_in in = {.now = NOW, .mention_at = at, .n_mentions = 3,
                              .followers = 12400, .answered = false,
                              .last_interaction_at = NOW - 45 * DAY};
    struct srm_score_out out;
    char r[4][160];
    size_t n;

    (void)state;
    srm_people_score(&in, &out);
    n = srm_people_score_reasons(&in, &out, r, 4);
    assert_int_equal(n, 4);
    assert_string_equal(r[0], "mentioned us 2 times in the last 30 days, "
                              "last 2 days ago");
    assert_string_equal(r[1], "12,400 followers");
    assert_string_equal(r[2], "the team never answered");
    assert_string_equal(r[3], "no interaction for 45 days");
    in.answered = true;
    in.last_interaction_at = 0;
    in.followers = 1;
    n = srm_people_score_reasons(&in, &out, r, 4);
    assert_int_equal(n, 3);
    assert_string_equal(r[1], "1 follower");
    assert_string_equal(r[2], "nobody on the team has talked to them");
}

static void test_due_at(void **state)
{
    (void)state;
    assert_int_equal(srm_people_due_at(NOW, NOW - 99 * DAY, 30),
                     NOW + 30 * DAY);
    /* Never talked to: counted from when the person was created. */
    assert_int_equal(srm_people_due_at(0, NOW - 10 * DAY, 7),
                     NOW - 3 * DAY);
}

static void test_cadence_parse(void **state)
{
    int64_t d;

    (void)state;
    assert_int_equal(srm_people_cadence_parse("30d", &d), 0);
    assert_int_equal(d, 30);
    assert_int_equal(srm_people_cadence_parse("2w", &d), 0);
    assert_int_equal(d, 14);
    assert_int_equal(srm_people_cadence_parse("3mo", &d), 0);
    assert_int_equal(d, 90);
    assert_int_equal(srm_people_cadence_parse("1y", &d), 0);
    assert_int_equal(d, 365);
    assert_int_equal(srm_people_cadence_parse("45", &d), 0);
    assert_int_equal(d, 45);
    assert_int_equal(srm_people_cadence_parse("0d", &d), -EINVAL);
    assert_int_equal(srm_people_cadence_parse("5m", &d), -EINVAL);
    assert_int_equal(srm_people_cadence_parse("d", &d), -EINVAL);
    assert_int_equal(srm_people_cadence_parse("11y", &d), -EINVAL);
    assert_int_equal(srm_people_cadence_parse(NULL, &d), -EINVAL);
}

static void test_rebalance(void **state)
{
    struct srm_people_move m[8];
    int64_t loads[] = {200, 100, 40};
    int64_t even[] = {5, 1, 0};
    int64_t over[] = {400, 200, 0};
    size_t n;

    (void)state;
    /* Under the cap as a team: only the stretched member gives, to the
     * least loaded. */
    n = srm_people_rebalance(loads, 3, 150, m, 8);
    assert_int_equal(n, 1);
    assert_int_equal(m[0].from, 0);
    assert_int_equal(m[0].to, 2);
    assert_int_equal(m[0].count, 50);
    n = srm_people_rebalance(even, 3, 3, m, 8);
    assert_int_equal(n, 1);
    assert_int_equal(m[0].count, 2);
    /* Over the cap as a team: spread evenly (200 each). */
    n = srm_people_rebalance(over, 3, 150, m, 8);
    assert_int_equal(n, 1);
    assert_int_equal(m[0].from, 0);
    assert_int_equal(m[0].to, 2);
    assert_int_equal(m[0].count, 200);
    /* Nothing to do. */
    assert_int_equal(srm_people_rebalance(even, 1, 3, m, 8), 0);
    assert_int_equal(srm_people_rebalance(loads, 3, 500, m, 8), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_score_formula),
        cmocka_unit_test(test_score_orders_recent_over_old),
        cmocka_unit_test(test_recency_sum),
        cmocka_unit_test(test_reasons_in_words),
        cmocka_unit_test(test_due_at),
        cmocka_unit_test(test_cadence_parse),
        cmocka_unit_test(test_rebalance),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
