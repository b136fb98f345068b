/* writer.h - the writer thread: owns the write connection and commits jobs
 * in group transactions, off the loop thread.
 *
 * Jobs submitted from the loop thread are queued; the writer takes all that
 * are pending, runs each inside a SAVEPOINT of one BEGIN IMMEDIATE ...
 * COMMIT (a failing job is rolled back alone, the others commit), then hands
 * every job back to the loop thread through a uv_async, where its done
 * callback runs with the job's status (or the COMMIT's error).
 *
 * Bulk jobs (ingest) keep the transaction open for the jobs that follow
 * them, up to a weight of records or a short wait for the next one: large
 * transactions are what makes SQLite and FTS5 fast. Each bulk job is
 * reported applied as soon as it ran, so its submitter frees its records
 * and submits the next one while the transaction is still open; memory
 * stays bounded by what waits, not by the transaction's size. Any other
 * job commits the transaction it joins right after its group: a team
 * member waiting on a write waits at most for the group before it. */
#ifndef SRM_DAEMON_WRITER_H
#define SRM_DAEMON_WRITER_H

#include <uv.h>

#include "db.h"

struct srm_writer;

/* Runs on the writer thread with the write connection; returns 0 or a
 * negative error. Must not touch loop-thread state. */
typedef int (*srm_write_fn)(struct srm_db *db, void *job);
/* Runs on the loop thread after the transaction ended. */
typedef void (*srm_write_done_fn)(void *job, int status);
/* Runs on the loop thread once a bulk job's fn succeeded inside the open
 * transaction, always before its done callback. The job's work is not
 * committed yet: done says whether it was. */
typedef void (*srm_write_applied_fn)(void *job);

/* Takes ownership of db (closed by srm_writer_destroy). */
int srm_writer_create(uv_loop_t *loop, struct srm_db *db,
                      struct srm_writer **ret_writer);
/* Queue a job. Never blocks the caller beyond a mutex. */
void srm_writer_submit(struct srm_writer *w, srm_write_fn fn,
                       srm_write_done_fn done, void *job);
/* Queue a bulk job of the given weight (records). applied may be NULL.
 * chain (may be NULL) names a sequence of jobs that must commit in order,
 * such as one source's batches: once a job of the chain fails or its
 * transaction is lost, the chain's later jobs fail with -ECANCELED without
 * running, until srm_writer_chain_reset. (A chain submits its next job
 * from the applied callback of the one before, so without this a job could
 * commit in a later transaction past work that was lost.) */
void srm_writer_submit_bulk(struct srm_writer *w, srm_write_fn fn,
                            srm_write_applied_fn applied,
                            srm_write_done_fn done, void *job,
                            const void *chain, size_t weight);
/* Let a failed chain's jobs run again (its submitter has dealt with the
 * failure: every job it had queued is done). */
void srm_writer_chain_reset(struct srm_writer *w, const void *chain);
/* Jobs queued or running. */
size_t srm_writer_pending(struct srm_writer *w);
/* Finish every queued job (their done callbacks run from the loop), stop the
 * thread, close the connection and the async handle. The loop must run
 * afterwards until the handle's close callback has fired; then the writer
 * frees itself. Accepts NULL. */
void srm_writer_destroy(struct srm_writer *w);

#endif
