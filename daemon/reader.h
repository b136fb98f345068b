/* reader.h - read-only queries off the loop thread.
 *
 * Each job runs on libuv's thread pool with a read-only connection taken
 * from a pool (opened on demand, kept for reuse). WAL lets these run while
 * the writer commits, so queries never wait for ingest. */
#ifndef SRM_DAEMON_READER_H
#define SRM_DAEMON_READER_H

#include <uv.h>

#include "db.h"

struct srm_reader;

/* Runs on a pool thread; returns 0 or a negative error. */
typedef int (*srm_read_fn)(struct srm_db *db, void *job);
/* Runs on the loop thread. */
typedef void (*srm_read_done_fn)(void *job, int status);

/* A pool for the database at path (copied). Opens nothing yet: connections
 * (SQLITE_OPEN_READONLY) are opened when a job first needs one, and a
 * failed open becomes that job's status (-ENOENT for a missing file). */
int srm_reader_create(uv_loop_t *loop, const char *path, int cache_kib,
                      struct srm_reader **ret_reader);
/* Queue fn on libuv's thread pool; done then runs on the loop thread with
 * fn's result. job is borrowed until done runs. Never blocks. */
void srm_reader_submit(struct srm_reader *r, srm_read_fn fn,
                       srm_read_done_fn done, void *job);
/* Run fn now on the calling thread (start-up only, before the loop runs). */
int srm_reader_run_sync(struct srm_reader *r, srm_read_fn fn, void *job);
/* Waits for nothing: call when no job is pending (after the loop drained).
 * Closes every pooled connection. Accepts NULL. */
void srm_reader_destroy(struct srm_reader *r);

#endif
