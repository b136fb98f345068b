/* rpc_job.h - answer an RPC call from the database, off the loop thread.
 *
 * A read runs on the reader pool with a read-only connection; a write runs
 * on the writer thread inside the writer's transaction (in its own
 * SAVEPOINT, so a failing write changes nothing). Either way the job
 * function builds job->result (or calls srm_rpc_job_fail) and the answer is
 * sent from the loop thread.
 *
 *   static int list_fn(struct srm_db *db, struct srm_rpc_job *job)
 *   {
 *       json_int_t limit = 50;
 *       ... srm_db_stmt(db, SRM_STMT_X), bind from job->params ...
 *       job->result = json_pack("{s:o}", "items", items);
 *       return 0;
 *   }
 *   static void rpc_list(struct srm_rpc_call *call, json_t *params)
 *   {
 *       srm_rpc_read(call, params, list_fn, NULL);
 *   }
 *
 * Job functions run on another thread: they must touch only the job, the
 * connection and their own locals (no daemon state, no logging through
 * sources). jansson values created there are handed over to the loop
 * thread with the job. */
#ifndef SRM_DAEMON_RPC_JOB_H
#define SRM_DAEMON_RPC_JOB_H

#include <jansson.h>

#include "db.h"
#include "rpc.h"

struct srm_rpc_job {
    struct srm_rpc_call *call;
    struct srm_caller caller; /* a copy: who is asking */
    json_t *params;           /* borrowed reference kept for the job */
    json_t *result;           /* set by the job function (owned) */
    int code;                 /* set by srm_rpc_job_fail */
    char *message;
    json_t *data;
    int64_t now;              /* unix seconds when the call arrived */
    void *ud;                 /* for the handler */
    /* Loop thread, after a successful job and before the answer is sent
     * (e.g. to notify watchers of what changed). May be NULL. */
    void (*after)(struct srm_rpc_job *job);
};

typedef int (*srm_rpc_job_fn)(struct srm_db *db, struct srm_rpc_job *job);

/* Run fn on the reader pool / the writer, then answer the call. */
void srm_rpc_read(struct srm_rpc_call *call, json_t *params, srm_rpc_job_fn fn,
                  void *ud);
void srm_rpc_write(struct srm_rpc_call *call, json_t *params,
                   srm_rpc_job_fn fn, void *ud,
                   void (*after)(struct srm_rpc_job *job));

/* Record the error the call will be answered with; returns SRM_E_STATE for
 * the job function to return (a write is then rolled back). data is stolen
 * and may be NULL. */
int srm_rpc_job_fail(struct srm_rpc_job *job, int code, json_t *data,
                     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Read helpers for job functions: a params member, with a default. They do
 * not answer the call (use srm_rpc_job_fail for bad input). */
const char *srm_rpc_job_str(const struct srm_rpc_job *job, const char *key);
json_int_t srm_rpc_job_int(const struct srm_rpc_job *job, const char *key,
                           json_int_t dflt);

/* A column of the current row as JSON: NULL becomes null. */
json_t *srm_rpc_col_text(sqlite3_stmt *st, int col);
json_t *srm_rpc_col_int(sqlite3_stmt *st, int col);

#endif
