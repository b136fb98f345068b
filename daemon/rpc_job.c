/* rpc_job.c - database-backed RPC answers off the loop thread. */
#include "rpc_job.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "daemon.h"
#include "err.h"
#include "mem.h"
#include "reader.h"
#include "writer.h"

static struct srm_rpc_job *rj_new(struct srm_rpc_call *call, json_t *params,
                                  void *ud)
{
    struct srm_rpc_job *job = srm_xcalloc(1, sizeof(*job));

    job->call = call;
    job->caller = *srm_rpc_caller(call);
    job->params = params ? json_incref(params) : json_object();
    job->now = (int64_t)time(NULL);
    job->ud = ud;
    return job;
}

static void rj_free(struct srm_rpc_job *job)
{
    json_decref(job->params);
    json_decref(job->result);
    json_decref(job->data);
    free(job->message);
    free(job);
}

static void rj_done(void *arg, int status)
{
    struct srm_rpc_job *job = arg;

    if (job->message != NULL) {
        srm_rpc_fail_data(job->call, job->code, job->data, "%s",
                          job->message);
        job->data = NULL;
    } else if (status < 0) {
        srm_rpc_fail(job->call, SRM_RPC_UNAVAILABLE, "database: %s",
                     srm_strerror(status));
    } else {
        if (job->after != NULL)
            job->after(job);
        srm_rpc_reply(job->call, job->result ? job->result : json_object());
        job->result = NULL;
    }
    rj_free(job);
}

/* The reader and writer take a plain job pointer: pair the job with the
 * handler's function. */
struct rj_call {
    struct srm_rpc_job *job;
    srm_rpc_job_fn fn;
};

static int rj_exec(struct srm_db *db, void *arg)
{
    struct rj_call *c = arg;
    return c->fn(db, c->job);
}

static void rj_exec_done(void *arg, int status)
{
    struct rj_call *c = arg;
    struct srm_rpc_job *job = c->job;

    free(c);
    rj_done(job, status);
}

void srm_rpc_read(struct srm_rpc_call *call, json_t *params, srm_rpc_job_fn fn,
                  void *ud)
{
    struct rj_call *c = srm_xcalloc(1, sizeof(*c));

    c->job = rj_new(call, params, ud);
    c->fn = fn;
    srm_reader_submit(srm_daemon_self->reader, rj_exec, rj_exec_done, c);
}

void srm_rpc_write(struct srm_rpc_call *call, json_t *params,
                   srm_rpc_job_fn fn, void *ud,
                   void (*after)(struct srm_rpc_job *job))
{
    struct rj_call *c;

    if (srm_daemon_self->writer == NULL) {
        srm_rpc_fail(call, SRM_RPC_UNAVAILABLE, "srmd is stopping");
        return;
    }
    c = srm_xcalloc(1, sizeof(*c));
    c->job = rj_new(call, params, ud);
    c->job->after = after;
    c->fn = fn;
    srm_writer_submit(srm_daemon_self->writer, rj_exec, rj_exec_done, c);
}

int srm_rpc_job_fail(struct srm_rpc_job *job, int code, json_t *data,
                     const char *fmt, ...)
{
    va_list ap;
    char *msg;

    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = srm_xstrdup("error");
    va_end(ap);
    free(job->message);
    json_decref(job->data);
    job->message = msg;
    job->code = code;
    job->data = data;
    return SRM_E_STATE;
}

const char *srm_rpc_job_str(const struct srm_rpc_job *job, const char *key)
{
    return json_string_value(json_object_get(job->params, key));
}

json_int_t srm_rpc_job_int(const struct srm_rpc_job *job, const char *key,
                           json_int_t dflt)
{
    json_t *v = json_object_get(job->params, key);
    return json_is_integer(v) ? json_integer_value(v) : dflt;
}

json_t *srm_rpc_col_text(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return t ? json_string((const char *)t) : json_null();
}

json_t *srm_rpc_col_int(sqlite3_stmt *st, int col)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return json_null();
    return json_integer((json_int_t)sqlite3_column_int64(st, col));
}
