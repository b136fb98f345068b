/* reader.c - read-only queries on libuv's thread pool, each with a
 * connection from a pool of read-only connections opened on demand. */
#include "reader.h"

#include <errno.h>
#include <stdlib.h>

#include "log.h"
#include "mem.h"

struct srm_reader {
    uv_loop_t *loop;
    char *path;
    int cache_kib;
    uv_mutex_t mu;
    /* Under mu: idle connections. At most one per pool thread is ever
     * open, since each job holds one for its run only. */
    struct srm_db **idle;
    size_t n_idle, cap;
};

struct rd_req {
    uv_work_t work;
    struct srm_reader *r;
    srm_read_fn fn;
    srm_read_done_fn done;
    void *job;
    int status;
};

static int rd_take(struct srm_reader *r, struct srm_db **ret_db)
{
    struct srm_db *db = NULL;

    uv_mutex_lock(&r->mu);
    if (r->n_idle > 0)
        db = r->idle[--r->n_idle];
    uv_mutex_unlock(&r->mu);
    if (db != NULL) {
        *ret_db = db;
        return 0;
    }
    /* Opened outside the lock: opening touches the disk. */
    return srm_db_open(r->path, true, r->cache_kib, ret_db);
}

static void rd_give_back(struct srm_reader *r, struct srm_db *db)
{
    sqlite3 *h = srm_db_handle(db);

    /* A statement left mid-step would pin its read snapshot (and the WAL)
     * until the next job; end them all. */
    for (sqlite3_stmt *st = sqlite3_next_stmt(h, NULL); st != NULL;
         st = sqlite3_next_stmt(h, st))
        if (sqlite3_stmt_busy(st))
            sqlite3_reset(st);
    uv_mutex_lock(&r->mu);
    if (r->n_idle == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 4;
        r->idle = srm_xreallocarray(r->idle, r->cap, sizeof(*r->idle));
    }
    r->idle[r->n_idle++] = db;
    uv_mutex_unlock(&r->mu);
}

static int rd_run(struct srm_reader *r, srm_read_fn fn, void *job)
{
    struct srm_db *db;
    int ret = rd_take(r, &db);

    if (ret < 0)
        return ret;
    ret = fn(db, job);
    rd_give_back(r, db);
    return ret;
}

static void rd_work_cb(uv_work_t *work)
{
    struct rd_req *q = srm_container_of(work, struct rd_req, work);

    q->status = rd_run(q->r, q->fn, q->job);
}

static void rd_after_cb(uv_work_t *work, int status)
{
    struct rd_req *q = srm_container_of(work, struct rd_req, work);

    if (status == UV_ECANCELED)
        q->status = -ECANCELED;
    if (q->done != NULL)
        q->done(q->job, q->status);
    free(q);
}

int srm_reader_create(uv_loop_t *loop, const char *path, int cache_kib,
                      struct srm_reader **ret_reader)
{
    struct srm_reader *r = srm_xcalloc(1, sizeof(*r));

    r->loop = loop;
    r->path = srm_xstrdup(path);
    r->cache_kib = cache_kib;
    uv_mutex_init(&r->mu);
    *ret_reader = r;
    return 0;
}

void srm_reader_submit(struct srm_reader *r, srm_read_fn fn,
                       srm_read_done_fn done, void *job)
{
    struct rd_req *q = srm_xcalloc(1, sizeof(*q));
    int rc;

    q->r = r;
    q->fn = fn;
    q->done = done;
    q->job = job;
    rc = uv_queue_work(r->loop, &q->work, rd_work_cb, rd_after_cb);
    /* Fails only for NULL callbacks, which ours are not. */
    if (rc < 0) {
        SRM_ERROR("reader: cannot queue work: %s", uv_strerror(rc));
        abort();
    }
}

int srm_reader_run_sync(struct srm_reader *r, srm_read_fn fn, void *job)
{
    return rd_run(r, fn, job);
}

void srm_reader_destroy(struct srm_reader *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n_idle; i++)
        srm_db_close(r->idle[i]);
    free(r->idle);
    uv_mutex_destroy(&r->mu);
    free(r->path);
    free(r);
}
