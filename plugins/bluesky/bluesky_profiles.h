/* bluesky_profiles.h - which accounts need their follower counts fetched.
 *
 * Post views and follower lists carry profileViewBasic / profileView, which
 * have no followersCount, followsCount or postsCount; only
 * app.bsky.actor.getProfiles (profileViewDetailed, 25 actors a request)
 * has them. This remembers, per DID, until when its counts are fresh, and
 * keeps the DIDs waiting for a refresh in two FIFO queues: mention authors
 * first, then the account's followers and follows.
 *
 * A DID moves through three states: idle (never fetched, or fresh until
 * some time), queued (waiting for a request), taken (in a request, or
 * fetched and waiting for the pass that holds its records to commit). Only
 * idle DIDs whose time has passed are ever forgotten, so the pointers that
 * bsky_profiles_take() hands out stay valid until the DID is settled with
 * bsky_profiles_fresh() or bsky_profiles_again().
 *
 * In memory only: after a restart every DID is fetched once more. No I/O
 * and no clock here; callers pass the time. */
#ifndef SRM_PLUGINS_BLUESKY_PROFILES_H
#define SRM_PLUGINS_BLUESKY_PROFILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* getProfiles' limit on actors per request (lexicon maxLength). */
#define BSKY_PROFILES_BATCH 25
/* DIDs waiting at most; more are not queued (they are queued again the
 * next time they are seen), so a huge follower list cannot grow memory
 * without bound. */
#define BSKY_PROFILES_QUEUE_MAX 5000
/* A DID whose request failed this many times in a row is left alone for
 * one ttl, so one bad actor cannot block the queue every pass. */
#define BSKY_PROFILES_MAX_FAILURES 3

enum bsky_profile_prio {
    BSKY_PROFILE_AUTHOR = 0,  /* wrote a mention: fetched first */
    BSKY_PROFILE_CONTACT = 1, /* follows or is followed by the account */
    BSKY_PROFILE_N_PRIO = 2,
};

struct bsky_profile_slot; /* private to bluesky_profiles.c */

/* A ring of borrowed DID strings (owned by the slots). */
struct bsky_profile_fifo {
    const char **items;
    size_t head, len, cap;
};

struct bsky_profiles {
    struct bsky_profile_slot *slots; /* open addressing, linear probing */
    size_t n_slots;                  /* a power of two, or 0 */
    size_t used;                     /* occupied slots */
    int64_t ttl;                     /* seconds counts stay fresh */
    struct bsky_profile_fifo queue[BSKY_PROFILE_N_PRIO];
};

void bsky_profiles_init(struct bsky_profiles *p, int64_t ttl);
void bsky_profiles_fini(struct bsky_profiles *p);

/* Queue did for a refresh unless its counts are fresh at now, it is queued
 * or taken already, or the queues are full. Copies did. Returns 1 when
 * queued, 0 when not needed (or no room), -ENOMEM. */
int bsky_profiles_want(struct bsky_profiles *p, const char *did,
                       enum bsky_profile_prio prio, int64_t now);

/* DIDs waiting in both queues. */
size_t bsky_profiles_queued(const struct bsky_profiles *p);

/* Take up to max queued DIDs, authors first, in the order they were
 * queued, and mark them taken. ret_dids receives pointers borrowed from
 * the table until each DID is settled. Returns how many. */
size_t bsky_profiles_take(struct bsky_profiles *p, const char **ret_dids,
                          size_t max);

/* A taken DID's counts were stored: fresh until now + ttl. */
void bsky_profiles_fresh(struct bsky_profiles *p, const char *did, int64_t now);

/* n taken DIDs must be fetched again: back to the front of their queues,
 * in the order given. failed counts a failed request against each (see
 * BSKY_PROFILES_MAX_FAILURES); false means only that their records were
 * discarded (the pass failed or was cancelled). */
void bsky_profiles_again(struct bsky_profiles *p, const char *const *dids,
                         size_t n, bool failed, int64_t now);

#endif
