/* people_score.c - suggestion and due scores, rebalancing (pure). */
#include "people_score.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"

double srm_people_recency_term(int64_t created_at)
{
    return exp2((double)(created_at - SRM_SCORE_RANK_T0) / 86400.0 /
                SRM_SCORE_HALF_LIFE_DAYS);
}

double srm_people_recency(double recency_sum, int64_t now)
{
    return recency_sum * exp2(-(double)(now - SRM_SCORE_RANK_T0) / 86400.0 /
                              SRM_SCORE_HALF_LIFE_DAYS);
}

void srm_people_score(const struct srm_score_in *in,
                      struct srm_score_out *ret)
{
    int64_t window = (int64_t)SRM_SCORE_WINDOW_DAYS * 86400;

    memset(ret, 0, sizeof(*ret));
    if (in->mention_at == NULL) {
        ret->recency = in->recency_sum > 0
                           ? srm_people_recency(in->recency_sum, in->now)
                           : 0;
        ret->mentions = in->mentions;
        ret->mentions_30d = in->mentions_30d;
        ret->last_mention_at = in->last_mention_at;
    }
    for (size_t i = 0; in->mention_at != NULL && i < in->n_mentions; i++) {
        int64_t age = in->now - in->mention_at[i];
        if (age < 0)
            age = 0;
        ret->recency += pow(0.5, (double)age / 86400.0 /
                                     SRM_SCORE_HALF_LIFE_DAYS);
        if (age > window)
            continue;
        ret->mentions++;
        if (age <= 30 * 86400)
            ret->mentions_30d++;
        if (in->mention_at[i] > ret->last_mention_at)
            ret->last_mention_at = in->mention_at[i];
    }
    ret->reach = in->followers > 0 ? log10(1.0 + (double)in->followers) : 0;
    ret->unanswered = in->answered ? 0 : 1;
    if (in->last_interaction_at <= 0) {
        ret->quiet = 1;
    } else {
        double days = (double)(in->now - in->last_interaction_at) / 86400.0;
        ret->quiet = days <= 0 ? 0
                     : days >= SRM_SCORE_QUIET_DAYS
                         ? 1
                         : days / SRM_SCORE_QUIET_DAYS;
    }
    ret->score = SRM_SCORE_W_RECENCY * ret->recency +
                 SRM_SCORE_W_REACH * ret->reach +
                 SRM_SCORE_W_UNANSWERED * ret->unanswered +
                 SRM_SCORE_W_QUIET * ret->quiet;
}

/* 12400 -> "12,400" */
static void ps_thousands(int64_t v, char *buf, size_t n)
{
    char raw[32], out[48];
    size_t len, j = 0;

    snprintf(raw, sizeof(raw), "%lld", (long long)v);
    len = strlen(raw);
    for (size_t i = 0; i < len; i++) {
        if (i > 0 && (len - i) % 3 == 0 && raw[i - 1] != '-')
            out[j++] = ',';
        out[j++] = raw[i];
    }
    out[j] = '\0';
    snprintf(buf, n, "%s", out);
}

static void ps_ago(int64_t s, char *buf, size_t n)
{
    if (s < 3600)
        snprintf(buf, n, "%lld minutes ago", (long long)(s / 60));
    else if (s < 86400)
        snprintf(buf, n, "%lld hours ago", (long long)(s / 3600));
    else if (s < 2 * 86400)
        snprintf(buf, n, "yesterday");
    else
        snprintf(buf, n, "%lld days ago", (long long)(s / 86400));
}

size_t srm_people_score_reasons(const struct srm_score_in *in,
                                const struct srm_score_out *out,
                                char (*buf)[160], size_t n_buf)
{
    size_t k = 0;
    char num[48], ago[48];

    if (k < n_buf && out->mentions > 0) {
        ps_ago(in->now - out->last_mention_at, ago, sizeof(ago));
        if (out->mentions_30d > 0)
            snprintf(buf[k++], 160,
                     "mentioned us %d time%s in the last 30 days, last %s",
                     out->mentions_30d, out->mentions_30d == 1 ? "" : "s",
                     ago);
        else
            snprintf(buf[k++], 160,
                     "mentioned us %d time%s in the last %d days, last %s",
                     out->mentions, out->mentions == 1 ? "" : "s",
                     SRM_SCORE_WINDOW_DAYS, ago);
    }
    if (k < n_buf && in->followers > 0) {
        ps_thousands(in->followers, num, sizeof(num));
        snprintf(buf[k++], 160, "%s follower%s", num,
                 in->followers == 1 ? "" : "s");
    }
    if (k < n_buf && !in->answered)
        snprintf(buf[k++], 160, "the team never answered");
    if (k < n_buf) {
        if (in->last_interaction_at <= 0)
            snprintf(buf[k++], 160, "nobody on the team has talked to them");
        else if (in->now - in->last_interaction_at >= 86400)
            snprintf(buf[k++], 160, "no interaction for %lld days",
                     (long long)((in->now - in->last_interaction_at) /
                                 86400));
    }
    return k;
}

int64_t srm_people_due_at(int64_t last_interaction_at, int64_t created_at,
                          int64_t cadence_days)
{
    int64_t base = last_interaction_at > 0 ? last_interaction_at : created_at;

    return base + cadence_days * 86400;
}

int srm_people_cadence_parse(const char *s, int64_t *ret_days)
{
    static const struct {
        const char *unit;
        int64_t days;
    } units[] = {{"", 1}, {"d", 1}, {"w", 7}, {"mo", 30}, {"y", 365}};
    char *end;
    long long v;

    if (s == NULL || *s < '0' || *s > '9')
        return -EINVAL;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || v <= 0 || v > 3650)
        return -EINVAL;
    for (size_t i = 0; i < SRM_ARRAY_LEN(units); i++) {
        if (strcmp(end, units[i].unit) == 0) {
            if (v * units[i].days > 3650)
                return -EINVAL;
            *ret_days = v * units[i].days;
            return 0;
        }
    }
    return -EINVAL;
}

size_t srm_people_rebalance(const int64_t *loads, size_t n, int64_t cap,
                            struct srm_people_move *moves, size_t max_moves)
{
    int64_t total = 0, target, *left;
    size_t k = 0;

    if (n < 2)
        return 0;
    for (size_t i = 0; i < n; i++)
        total += loads[i];
    target = (total + (int64_t)n - 1) / (int64_t)n;
    if (cap > 0 && target < cap) {
        /* Everyone fits: only those over the cap give, down to the cap,
         * unless that leaves a member far above the average. */
        target = cap;
    }
    left = srm_xcalloc(n, sizeof(*left));
    memcpy(left, loads, n * sizeof(*left));
    while (k < max_moves) {
        size_t give = n, take = n;
        int64_t count;
        for (size_t i = 0; i < n; i++) {
            if (left[i] > target && (give == n || left[i] > left[give]))
                give = i;
            if (left[i] < target && (take == n || left[i] < left[take]))
                take = i;
        }
        if (give == n || take == n)
            break;
        count = left[give] - target;
        if (target - left[take] < count)
            count = target - left[take];
        moves[k++] = (struct srm_people_move){give, take, count};
        left[give] -= count;
        left[take] += count;
    }
    free(left);
    return k;
}
