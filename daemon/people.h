/* people.h - people, not accounts: identity resolution with evidence,
 * merge and split, the people full-text index.
 *
 * Everything here runs on the write connection (the writer thread), inside
 * the caller's transaction, and may block on SQLite.
 *
 * Evidence kinds and confidences (docs/people.md):
 *   config               1.00  explicit link in srmd.yaml
 *   rel_me               0.95  a verified link of one identity is the
 *                              other's profile page (it links back)
 *   email                0.90  the same email address on two identities
 *   shared_verified_link 0.90  both hold a verified link to the same page
 *                              (a Bluesky domain handle, a website with
 *                              rel="me" to both)
 *   name_website         0.60  same display name and a shared, unverified
 *                              link: a suggestion only
 *   same_handle          0.50  the same handle on two networks: a
 *                              suggestion only
 * At or above SRM_PEOPLE_AUTO_MERGE the two people are merged, unless the
 * team once split them apart (merge_blocks). A config link that is new
 * (never applied, or withdrawn since) is the team's latest word: it lifts
 * such a block and merges; a split made after the link was applied is
 * respected, and logged at each start-up and reload. */
#ifndef SRM_DAEMON_PEOPLE_H
#define SRM_DAEMON_PEOPLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct srm_db;
struct srm_batch;
struct srm_config;
struct srm_rankacc;

#define SRM_PEOPLE_AUTO_MERGE 0.85

/* What a resolution did. */
struct srm_people_stats {
    int evidence; /* evidence rows written or refreshed */
    int merged;   /* automatic merges */
    int blocked;  /* strong evidence not acted on: the team split them */
};

/* The ingest hook, at the end of srm_db_apply_batch: resolve the batch's
 * identity records and re-index the people whose identities this batch
 * saw. */
int srm_people_after_batch(struct srm_db *db, struct srm_batch *b);

/* Gather the evidence of one identity against all others and merge on
 * strong evidence. stats may be NULL. */
int srm_people_resolve_identity(struct srm_db *db, int64_t identity_id,
                                int64_t now, struct srm_people_stats *stats);
/* The same for every identity that can carry evidence. */
int srm_people_resolve_all(struct srm_db *db, int64_t now,
                           struct srm_people_stats *stats);

/* Record evidence between two identities (any order); strong evidence
 * (confidence >= SRM_PEOPLE_AUTO_MERGE) merges their people unless
 * blocked. */
int srm_people_evidence(struct srm_db *db, int64_t a, int64_t b,
                        const char *kind, double confidence,
                        const char *detail, int64_t now,
                        struct srm_people_stats *stats);

/* Move everything of person from into person into (identities, notes,
 * interactions, outcomes, tags; mentions follow their identities) and
 * delete from. What moved is recorded so a split can undo it. member may
 * be NULL (automatic). -ENOENT when either is missing, -EINVAL when equal.
 * *ret_merge_id (may be NULL) gets merges.id. */
int srm_people_merge(struct srm_db *db, int64_t from, int64_t into,
                     const char *member, const char *reason, int64_t now,
                     int64_t *ret_merge_id);

/* Take an identity out of its person. When it came in with a recorded
 * merge (and only is false), that merge is undone: the absorbed person
 * comes back with its id, fields and everything it brought that is still
 * there. Otherwise the identity alone (with the interactions through it)
 * becomes a new person. Either way the two people are never merged again
 * automatically. *ret_person gets the person the identity now belongs to,
 * *ret_undone the merges.id undone or 0. -ENOENT for no identity,
 * -EALREADY when the identity is its person's only one and nothing can be
 * undone. */
int srm_people_split(struct srm_db *db, int64_t identity_id, bool only,
                     const char *member, int64_t now, int64_t *ret_person,
                     int64_t *ret_undone);

/* --- explicit links: srmd.yaml's people: key --------------------------
 *
 * The links are kept in memory, owned by the writer thread (the only
 * caller of these functions once it runs; at start-up the main thread
 * calls them before the writer starts). An identity a link names that is
 * not in the database yet is linked when ingest first stores it: the
 * ingest hook looks each identity and mention author of a batch up in the
 * links' keys (a binary search in memory, no query), and only a match
 * costs SQL. */

struct srm_people_link {
    const char *name;              /* display name, or NULL */
    const char *where;             /* "srmd.yaml:12": evidence and logs */
    const char *const *identities; /* "network:value": remote id, handle,
                                    * email or profile URL */
    size_t n_identities;
};

/* Replace the links with these (copied) and apply them all: record
 * evidence "config" (confidence 1.00) between the identities of a link
 * that exist, merge their people, set the person's display name when the
 * team has not named them; mark the config evidence of links no longer
 * given as withdrawn (the people stay merged). stats may be NULL. */
int srm_people_links_apply(struct srm_db *db,
                           const struct srm_people_link *links, size_t n,
                           int64_t now, struct srm_people_stats *stats);
/* The same from a loaded config's people (start-up and reload). */
int srm_people_config_apply(struct srm_db *db, const struct srm_config *c,
                            int64_t now);
/* Apply the current links again (people.resolve). */
int srm_people_links_reapply(struct srm_db *db, int64_t now,
                             struct srm_people_stats *stats);
/* Forget the links (at exit, and between unit tests). */
void srm_people_links_clear(void);

/* people.suggest's ranking facts on the person row (recency_sum,
 * last_mention_at, answered) take in the mentions stored since they were
 * last brought up to date: before each write transaction's COMMIT
 * (srm_db_commit), and at start-up and on people.resolve for those
 * written while srmd was stopped. sums (may be NULL) are the transaction's
 * own, added up at insert (rankacc.h); they are used when they count
 * exactly the mentions above the ranking mark, else the rows are read. */
int srm_people_rank_catch_up(struct srm_db *db,
                             const struct srm_rankacc *sums);

/* Rebuild the full-text row of one person (after a note, tag, rename). */
int srm_people_reindex(struct srm_db *db, int64_t person_id);
/* Rebuild the whole people index. */
int srm_people_reindex_all(struct srm_db *db);

#endif
