/* writer.h - the writer thread: owns the write connection and commits jobs
 * in group transactions, off the loop thread.
 *
 * Jobs submitted from the loop thread are queued; the writer takes all that
 * are pending, runs each inside a SAVEPOINT of one BEGIN IMMEDIATE ...
 * COMMIT (a failing job is rolled back alone, the others commit), then hands
 * every job back to the loop thread through a uv_async, where its done
 * callback runs with the job's status (or the COMMIT's error). */
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

/* Takes ownership of db (closed by srm_writer_destroy). */
int srm_writer_create(uv_loop_t *loop, struct srm_db *db,
                      struct srm_writer **ret_writer);
/* Queue a job. Never blocks the caller beyond a mutex. */
void srm_writer_submit(struct srm_writer *w, srm_write_fn fn,
                       srm_write_done_fn done, void *job);
/* Jobs queued or running. */
size_t srm_writer_pending(struct srm_writer *w);
/* Finish every queued job (their done callbacks run from the loop), stop the
 * thread, close the connection and the async handle. The loop must run
 * afterwards until the handle's close callback has fired; then the writer
 * frees itself. Accepts NULL. */
void srm_writer_destroy(struct srm_writer *w);

#endif
