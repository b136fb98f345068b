/* rankacc.h - the ranking facts (people.recency_sum, last_mention_at) of
 * the mentions one write transaction inserted, added up per person in C.
 *
 * srm_people_rank_catch_up brings people's ranking facts up to date with
 * one UPDATE ... FROM over the new mentions joined to their identities:
 * 5.5% of the writer's time when ingesting without full-text indexing. The
 * writer knows each new mention's person already, so it adds the term as
 * it inserts the row and writes one UPDATE per person before the COMMIT
 * (db.c). Valid only while no identity changed person: a merge or split
 * (srm_db_rank_forget) or a rolled-back savepoint makes the writer fall
 * back to the SQL. One writer thread owns it. */
#ifndef SRM_DAEMON_RANKACC_H
#define SRM_DAEMON_RANKACC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct srm_rankacc;

struct srm_rankacc *srm_rankacc_create(void);
void srm_rankacc_destroy(struct srm_rankacc *a); /* accepts NULL */
/* Forget everything (keeps the memory). */
void srm_rankacc_clear(struct srm_rankacc *a);
/* One new mention: counted; when person is not 0, term added to its sum
 * and at to its latest time. */
void srm_rankacc_add(struct srm_rankacc *a, int64_t person, double term,
                     int64_t at);
/* Mentions counted since the last clear. */
size_t srm_rankacc_rows(const struct srm_rankacc *a);
/* Call fn for each person; stops at and returns the first non-zero. */
int srm_rankacc_each(const struct srm_rankacc *a,
                     int (*fn)(void *ud, int64_t person, double sum,
                               int64_t last),
                     void *ud);

#endif
