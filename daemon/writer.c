/* writer.c - the writer thread: group commits of queued jobs, each in its
 * own SAVEPOINT, results handed back to the loop thread by a uv_async. */
#include "writer.h"

#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "mem.h"

struct wr_job {
    srm_write_fn fn;
    srm_write_done_fn done;
    void *job;
    int status;
    struct wr_job *next;
};

/* A singly linked FIFO. */
struct wr_list {
    struct wr_job *head, **tail;
};

struct srm_writer {
    uv_loop_t *loop;
    struct srm_db *db;
    uv_thread_t thread;
    uv_async_t async;
    uv_mutex_t mu;
    uv_cond_t cond;
    /* Under mu: */
    struct wr_list queue;   /* submitted, not yet taken by the thread */
    struct wr_list done;    /* finished, done callback not yet run */
    size_t pending;         /* submitted and done callback not yet run */
    bool stopping;
    /* Writer thread only (read after it is joined): */
    uint64_t started_ns, busy_ns, groups, jobs;
    /* Loop thread only: */
    uint64_t trimmed_at;    /* uv_now of the last malloc_trim */
};

/* A burst of ingest leaves megabytes of freed batches in malloc's arenas,
 * which glibc keeps (resident) unless asked: when the writer goes idle,
 * hand free pages back, at most this often. */
#define WR_TRIM_EVERY_MS 5000

static void wr_list_init(struct wr_list *l)
{
    l->head = NULL;
    l->tail = &l->head;
}

static void wr_list_push(struct wr_list *l, struct wr_job *j)
{
    j->next = NULL;
    *l->tail = j;
    l->tail = &j->next;
}

/* Append all of src to dst; src is left empty. */
static void wr_list_splice(struct wr_list *dst, struct wr_list *src)
{
    if (src->head == NULL)
        return;
    *dst->tail = src->head;
    dst->tail = src->tail;
    wr_list_init(src);
}

/* Give every job of [from, to) that succeeded the transaction's error: its
 * work was rolled back with the transaction. */
static void wr_fail_range(struct wr_job *from, struct wr_job *to, int err)
{
    for (struct wr_job *j = from; j != to; j = j->next)
        if (j->status == 0)
            j->status = err;
}

/* Run a group of jobs in as few transactions as possible: normally one. If
 * SQLite ends the transaction itself (SQLITE_FULL, IOERR...), the jobs
 * before lose their work and get the error; the rest start a new one. */
static void wr_run_group(struct srm_writer *w, struct wr_job *jobs)
{
    struct srm_db *db = w->db;
    struct wr_job *tx_first = NULL;
    int r;

    for (struct wr_job *j = jobs; j != NULL; j = j->next) {
        if (tx_first == NULL) {
            r = srm_db_begin(db);
            if (r < 0) {
                j->status = r;
                continue;
            }
            tx_first = j;
        }
        r = srm_db_savepoint(db);
        if (r == 0) {
            r = j->fn(db, j->job);
            if (r == 0)
                r = srm_db_release(db);
        }
        j->status = r;
        if (r == 0)
            continue;
        if (!sqlite3_get_autocommit(srm_db_handle(db)) &&
            srm_db_rollback_to(db) == 0)
            continue; /* this job alone was undone */
        srm_db_rollback(db);
        wr_fail_range(tx_first, j, r);
        tx_first = NULL;
    }
    if (tx_first == NULL)
        return;
    r = srm_db_commit(db);
    if (r < 0) {
        srm_db_rollback(db);
        wr_fail_range(tx_first, NULL, r);
    }
}

/* Ingest is background work; a query is someone waiting. With both cores
 * busy (the writer takes one whole core during a big sync), the reader
 * threads and the loop should win the CPU: on Linux, nice applies to the
 * calling thread alone when given its thread id. Lowering one's own
 * priority needs no privilege; failing to is harmless. */
#define WR_NICE_INCREMENT 5

static void wr_lower_priority(void)
{
#ifdef __linux__
    pid_t tid = (pid_t)syscall(SYS_gettid);
    int nice_now;

    errno = 0;
    nice_now = getpriority(PRIO_PROCESS, (id_t)tid);
    if (errno == 0 &&
        setpriority(PRIO_PROCESS, (id_t)tid,
                    nice_now + WR_NICE_INCREMENT) < 0)
        SRM_DEBUG("writer: cannot lower its priority: %s", strerror(errno));
#endif
}

static void wr_thread(void *arg)
{
    struct srm_writer *w = arg;
    struct wr_list group;
    uint64_t t0;

    wr_lower_priority();
    w->started_ns = uv_hrtime();

    for (;;) {
        uv_mutex_lock(&w->mu);
        while (w->queue.head == NULL && !w->stopping)
            uv_cond_wait(&w->cond, &w->mu);
        /* Stop only once the queue is drained. */
        if (w->queue.head == NULL) {
            uv_mutex_unlock(&w->mu);
            break;
        }
        group = w->queue;
        if (group.tail == &w->queue.head)
            group.tail = &group.head;
        wr_list_init(&w->queue);
        uv_mutex_unlock(&w->mu);

        t0 = uv_hrtime();
        wr_run_group(w, group.head);
        w->busy_ns += uv_hrtime() - t0;
        w->groups++;
        for (struct wr_job *j = group.head; j != NULL; j = j->next)
            w->jobs++;

        uv_mutex_lock(&w->mu);
        wr_list_splice(&w->done, &group);
        uv_mutex_unlock(&w->mu);
        uv_async_send(&w->async);
    }
}

static void wr_trim_if_idle(struct srm_writer *w)
{
    uint64_t now = uv_now(w->loop);
    size_t pending;

    if (now - w->trimmed_at < WR_TRIM_EVERY_MS)
        return;
    uv_mutex_lock(&w->mu);
    pending = w->pending;
    uv_mutex_unlock(&w->mu);
    if (pending == 0) {
        malloc_trim(0);
        w->trimmed_at = now;
    }
}

/* Run the done callbacks of every finished job, on the loop thread. */
static void wr_deliver(struct srm_writer *w)
{
    struct wr_list batch;

    for (;;) {
        uv_mutex_lock(&w->mu);
        batch = w->done;
        if (batch.tail == &w->done.head)
            batch.tail = &batch.head;
        wr_list_init(&w->done);
        uv_mutex_unlock(&w->mu);
        if (batch.head == NULL)
            return;
        while (batch.head != NULL) {
            struct wr_job *j = batch.head;
            batch.head = j->next;
            uv_mutex_lock(&w->mu);
            w->pending--;
            uv_mutex_unlock(&w->mu);
            if (j->done != NULL)
                j->done(j->job, j->status);
            free(j);
        }
        wr_trim_if_idle(w);
    }
}

static void wr_async_cb(uv_async_t *h)
{
    wr_deliver(srm_container_of(h, struct srm_writer, async));
}

static void wr_close_cb(uv_handle_t *h)
{
    struct srm_writer *w =
        srm_container_of((uv_async_t *)h, struct srm_writer, async);

    /* Results delivered after the last async callback, and jobs refused
     * during shutdown. */
    wr_deliver(w);
    uv_cond_destroy(&w->cond);
    uv_mutex_destroy(&w->mu);
    free(w);
}

int srm_writer_create(uv_loop_t *loop, struct srm_db *db,
                      struct srm_writer **ret_writer)
{
    struct srm_writer *w = srm_xcalloc(1, sizeof(*w));
    int r;

    w->loop = loop;
    w->db = db;
    wr_list_init(&w->queue);
    wr_list_init(&w->done);
    uv_mutex_init(&w->mu);
    uv_cond_init(&w->cond);
    r = uv_async_init(loop, &w->async, wr_async_cb);
    if (r < 0) {
        SRM_ERROR("writer: cannot create async handle: %s", uv_strerror(r));
        goto fail;
    }
    r = uv_thread_create(&w->thread, wr_thread, w);
    if (r < 0) {
        SRM_ERROR("writer: cannot start thread: %s", uv_strerror(r));
        /* The handle must close through the loop; free in its callback. */
        w->db = NULL;
        srm_db_close(db);
        uv_close((uv_handle_t *)&w->async, wr_close_cb);
        return r;
    }
    *ret_writer = w;
    return 0;
fail:
    srm_db_close(db);
    uv_cond_destroy(&w->cond);
    uv_mutex_destroy(&w->mu);
    free(w);
    return r;
}

void srm_writer_submit(struct srm_writer *w, srm_write_fn fn,
                       srm_write_done_fn done, void *job)
{
    struct wr_job *j = srm_xcalloc(1, sizeof(*j));

    j->fn = fn;
    j->done = done;
    j->job = job;
    uv_mutex_lock(&w->mu);
    w->pending++;
    if (w->stopping) {
        /* Too late to write: the close callback reports it. */
        j->status = -ESHUTDOWN;
        wr_list_push(&w->done, j);
    } else {
        wr_list_push(&w->queue, j);
        uv_cond_signal(&w->cond);
    }
    uv_mutex_unlock(&w->mu);
}

size_t srm_writer_pending(struct srm_writer *w)
{
    size_t n;

    uv_mutex_lock(&w->mu);
    n = w->pending;
    uv_mutex_unlock(&w->mu);
    return n;
}

void srm_writer_destroy(struct srm_writer *w)
{
    if (w == NULL)
        return;
    uv_mutex_lock(&w->mu);
    w->stopping = true;
    uv_cond_signal(&w->cond);
    uv_mutex_unlock(&w->mu);
    /* The thread drains the queue, then exits. */
    uv_thread_join(&w->thread);
    /* How busy the writer was: near 100% during a sync means SQLite sets
     * the pace; well below, the loop thread does. */
    SRM_INFO("writer: %llu jobs in %llu transactions, busy %.1f s of %.1f s",
             (unsigned long long)w->jobs, (unsigned long long)w->groups,
             (double)w->busy_ns / 1e9,
             (double)(uv_hrtime() - w->started_ns) / 1e9);
    srm_db_close(w->db);
    w->db = NULL;
    uv_close((uv_handle_t *)&w->async, wr_close_cb);
}
