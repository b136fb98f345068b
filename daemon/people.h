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
 * team once split them apart (merge_blocks). */
#ifndef SRM_DAEMON_PEOPLE_H
#define SRM_DAEMON_PEOPLE_H

#include <stdbool.h>
#include <stdint.h>

struct srm_db;
struct srm_batch;

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

/* Rebuild the full-text row of one person (after a note, tag, rename). */
int srm_people_reindex(struct srm_db *db, int64_t person_id);
/* Rebuild the whole people index. */
int srm_people_reindex_all(struct srm_db *db);

#endif
