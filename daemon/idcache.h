/* idcache.h - the identities one ingest batch has already resolved:
 * (network, remote_id) -> (identity id, person id).
 *
 * A mention's author is almost always an identity record of the same batch
 * (connectors emit the author, then the post), so the writer looked the
 * same row up twice per mention. The cache answers the second lookup.
 * Keys are borrowed from the batch's records and the cache is cleared at
 * the start of every batch: it is only valid while no merge has run, and
 * merges happen after the records are applied (srm_people_after_batch).
 * One writer thread owns it. */
#ifndef SRM_DAEMON_IDCACHE_H
#define SRM_DAEMON_IDCACHE_H

#include <stdbool.h>
#include <stdint.h>

struct srm_idcache;
struct srm_rec_identity;

struct srm_idcache *srm_idcache_create(void);
void srm_idcache_destroy(struct srm_idcache *c); /* accepts NULL */
/* Forget every entry (keeps the memory for the next batch). */
void srm_idcache_clear(struct srm_idcache *c);
/* Remember; network, remote_id and rec (the identity record applied, or
 * NULL for an author known only by id) must outlive the entry (until the
 * next clear). A key already present is overwritten. */
void srm_idcache_put(struct srm_idcache *c, const char *network,
                     const char *remote_id, int64_t identity_id,
                     int64_t person_id, const struct srm_rec_identity *rec);
/* true and the ids (and the record, when ret_rec is not NULL) when
 * present. */
bool srm_idcache_get(const struct srm_idcache *c, const char *network,
                     const char *remote_id, int64_t *ret_identity_id,
                     int64_t *ret_person_id,
                     const struct srm_rec_identity **ret_rec);

#endif
