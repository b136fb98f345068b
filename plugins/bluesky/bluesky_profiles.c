/* bluesky_profiles.c - per-DID freshness of follower counts and the queues
 * of DIDs to fetch; see bluesky_profiles.h.
 *
 * The table is open addressing with linear probing and no deletion: when it
 * fills up it is rebuilt, and the rebuild drops the idle DIDs whose counts
 * went stale (forgetting them is the same as "fetch again when seen"). So
 * the table holds about the DIDs refreshed within one ttl plus the queued
 * ones, which the per-pass request cap and BSKY_PROFILES_QUEUE_MAX bound. */
#include "bluesky_profiles.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define BP_MIN_SLOTS 64

enum bp_state { BP_IDLE, BP_QUEUED, BP_TAKEN };

struct bsky_profile_slot {
    char *did;           /* NULL: an empty slot */
    int64_t fresh_until; /* counts fresh until then (Unix s); 0 never */
    uint8_t state;       /* enum bp_state */
    uint8_t prio;        /* enum bsky_profile_prio of its queue */
    uint8_t failures;    /* failed requests in a row */
};

static uint64_t bp_hash(const char *s)
{
    uint64_t h = 14695981039346656037ULL;

    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

static struct bsky_profile_slot *bp_find(const struct bsky_profiles *p,
                                         const char *did)
{
    size_t mask, i;

    if (p->n_slots == 0)
        return NULL;
    mask = p->n_slots - 1;
    for (i = bp_hash(did) & mask; p->slots[i].did != NULL; i = (i + 1) & mask)
        if (strcmp(p->slots[i].did, did) == 0)
            return &p->slots[i];
    return NULL;
}

/* The empty slot where did goes in slots (which holds no copy of it). */
static struct bsky_profile_slot *bp_hole(struct bsky_profile_slot *slots,
                                         size_t n_slots, const char *did)
{
    size_t mask = n_slots - 1, i;

    for (i = bp_hash(did) & mask; slots[i].did != NULL; i = (i + 1) & mask)
        ;
    return &slots[i];
}

static bool bp_stale(const struct bsky_profile_slot *s, int64_t now)
{
    return s->state == BP_IDLE && s->fresh_until <= now;
}

/* Make room for one more DID: rebuild when the table would be more than
 * 70% full, dropping stale idle DIDs and growing only when the live ones
 * need it. Strings move by pointer, so queued pointers stay valid. */
static int bp_reserve(struct bsky_profiles *p, int64_t now)
{
    struct bsky_profile_slot *slots;
    size_t live = 0, n = BP_MIN_SLOTS, i;

    if ((p->used + 1) * 10 <= p->n_slots * 7)
        return 0;
    for (i = 0; i < p->n_slots; i++)
        if (p->slots[i].did != NULL && !bp_stale(&p->slots[i], now))
            live++;
    /* At most half full after the rebuild, so it is not redone soon. */
    while (n < (live + 1) * 2)
        n *= 2;
    slots = calloc(n, sizeof(*slots));
    if (slots == NULL)
        return -ENOMEM;
    for (i = 0; i < p->n_slots; i++) {
        struct bsky_profile_slot *s = &p->slots[i];
        if (s->did == NULL)
            continue;
        if (bp_stale(s, now)) {
            free(s->did);
            continue;
        }
        *bp_hole(slots, n, s->did) = *s;
    }
    free(p->slots);
    p->slots = slots;
    p->n_slots = n;
    p->used = live;
    return 0;
}

/* Room for one more item, so that a push after it cannot fail. */
static int bp_fifo_reserve(struct bsky_profile_fifo *q)
{
    const char **items;
    size_t cap, i;

    if (q->len < q->cap)
        return 0;
    cap = q->cap > 0 ? q->cap * 2 : 64;
    items = calloc(cap, sizeof(*items));
    if (items == NULL)
        return -ENOMEM;
    /* Unroll the ring so that it starts at 0 again. */
    for (i = 0; i < q->len; i++)
        items[i] = q->items[(q->head + i) % q->cap];
    free(q->items);
    q->items = items;
    q->cap = cap;
    q->head = 0;
    return 0;
}

static void bp_fifo_push_back(struct bsky_profile_fifo *q, const char *did)
{
    q->items[(q->head + q->len) % q->cap] = did;
    q->len++;
}

static void bp_fifo_push_front(struct bsky_profile_fifo *q, const char *did)
{
    q->head = (q->head + q->cap - 1) % q->cap;
    q->items[q->head] = did;
    q->len++;
}

static const char *bp_fifo_pop(struct bsky_profile_fifo *q)
{
    const char *did = q->items[q->head];

    q->head = (q->head + 1) % q->cap;
    q->len--;
    return did;
}

void bsky_profiles_init(struct bsky_profiles *p, int64_t ttl)
{
    memset(p, 0, sizeof(*p));
    p->ttl = ttl;
}

void bsky_profiles_fini(struct bsky_profiles *p)
{
    for (size_t i = 0; i < p->n_slots; i++)
        free(p->slots[i].did);
    free(p->slots);
    for (int q = 0; q < BSKY_PROFILE_N_PRIO; q++)
        free(p->queue[q].items);
    memset(p, 0, sizeof(*p));
}

size_t bsky_profiles_queued(const struct bsky_profiles *p)
{
    size_t n = 0;

    for (int q = 0; q < BSKY_PROFILE_N_PRIO; q++)
        n += p->queue[q].len;
    return n;
}

int bsky_profiles_want(struct bsky_profiles *p, const char *did,
                       enum bsky_profile_prio prio, int64_t now)
{
    struct bsky_profile_slot *s = bp_find(p, did);
    struct bsky_profile_fifo *q = &p->queue[prio];
    char *copy;

    if (s != NULL && (s->state != BP_IDLE || s->fresh_until > now))
        return 0;
    if (bsky_profiles_queued(p) >= BSKY_PROFILES_QUEUE_MAX)
        return 0;
    /* Every allocation first, so that nothing is left half done. */
    if (bp_fifo_reserve(q) < 0)
        return -ENOMEM;
    if (s == NULL) {
        if (bp_reserve(p, now) < 0 || (copy = strdup(did)) == NULL)
            return -ENOMEM;
        s = bp_hole(p->slots, p->n_slots, did);
        s->did = copy;
        s->fresh_until = 0;
        s->failures = 0;
        p->used++;
    }
    s->state = BP_QUEUED;
    s->prio = (uint8_t)prio;
    bp_fifo_push_back(q, s->did);
    return 1;
}

size_t bsky_profiles_take(struct bsky_profiles *p, const char **ret_dids,
                          size_t max)
{
    size_t n = 0;

    for (int q = 0; q < BSKY_PROFILE_N_PRIO; q++) {
        while (n < max && p->queue[q].len > 0) {
            const char *did = bp_fifo_pop(&p->queue[q]);
            struct bsky_profile_slot *s = bp_find(p, did);
            /* Queued DIDs are never dropped, so s is there. */
            if (s == NULL || s->state != BP_QUEUED)
                continue;
            s->state = BP_TAKEN;
            ret_dids[n++] = s->did;
        }
    }
    return n;
}

void bsky_profiles_fresh(struct bsky_profiles *p, const char *did, int64_t now)
{
    struct bsky_profile_slot *s = bp_find(p, did);

    /* A queued DID stays in its queue; only a taken one is settled. */
    if (s == NULL || s->state == BP_QUEUED)
        return;
    s->state = BP_IDLE;
    s->fresh_until = now + p->ttl;
    s->failures = 0;
}

void bsky_profiles_again(struct bsky_profiles *p, const char *const *dids,
                         size_t n, bool failed, int64_t now)
{
    /* Back to front, so that the first DID ends up first in its queue. */
    for (size_t i = n; i-- > 0;) {
        struct bsky_profile_slot *s = bp_find(p, dids[i]);
        struct bsky_profile_fifo *q;

        if (s == NULL || s->state != BP_TAKEN)
            continue;
        if (failed && ++s->failures >= BSKY_PROFILES_MAX_FAILURES) {
            /* Give up for one ttl; fresh() resets the count. */
            bsky_profiles_fresh(p, s->did, now);
            continue;
        }
        q = &p->queue[s->prio];
        if (bp_fifo_reserve(q) < 0) {
            /* Out of memory: forget it until it is seen again. */
            s->state = BP_IDLE;
            s->fresh_until = 0;
            continue;
        }
        s->state = BP_QUEUED;
        bp_fifo_push_front(q, s->did);
    }
}
