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
    srm_write_applied_fn applied; /* bulk jobs; may be NULL */
    srm_write_done_fn done;
    void *job;
    const void *chain;            /* bulk jobs; may be NULL */
    size_t weight;
    bool bulk;
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
    struct wr_list applied; /* bulk jobs applied: applied callback due */
    struct wr_list done;    /* finished, done callback not yet run */
    const void **failed;    /* chains whose transaction was lost */
    size_t n_failed;
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

/* How much a transaction of bulk jobs may hold before it commits (their
 * weights: records), and how long the writer waits for the next bulk job
 * before committing what it has. Ingest at 1,000,000 rows with full-text
 * indexing runs 39,455 rows/s in transactions of 20,000 rows and 26,902 in
 * transactions of 5,000 (bench/ingest, sqlite_limit): FTS5 merges fewer,
 * larger segments. Applied jobs hand their memory back before the commit
 * (srm_writer_submit_bulk), so transactions this large cost no memory. */
#define WR_TX_WEIGHT 40000
#define WR_LINGER_NS (20 * 1000 * 1000)
/* A transaction lighter than WR_LINGER_MIN_WEIGHT waits only this long:
 * enough for the loop thread to hand over the next small job (a sync whose
 * 500 feeds answer 304 sends one each), too short to delay the end of a
 * sync the way 20 ms would. */
#define WR_LINGER_MIN_WEIGHT 1000
#define WR_LINGER_LIGHT_NS (2 * 1000 * 1000)

/* Whether chain lost a transaction (w->mu held). */
static bool wr_chain_failed(struct srm_writer *w, const void *chain)
{
    for (size_t i = 0; chain != NULL && i < w->n_failed; i++)
        if (w->failed[i] == chain)
            return true;
    return false;
}

static void wr_chain_fail(struct srm_writer *w, const void *chain)
{
    if (chain == NULL || wr_chain_failed(w, chain))
        return;
    w->failed = srm_xreallocarray(w->failed, w->n_failed + 1,
                                  sizeof(*w->failed));
    w->failed[w->n_failed++] = chain;
}

/* The open transaction was lost (SQLite ended it, or its COMMIT failed):
 * every job of it that had succeeded gets err, and its chains fail, so
 * that a later job of the same chain cannot commit past the lost work. */
static void wr_tx_lost(struct srm_writer *w, struct wr_list *tx, int err)
{
    uv_mutex_lock(&w->mu);
    for (struct wr_job *j = tx->head; j != NULL; j = j->next) {
        if (j->status == 0)
            j->status = err;
        wr_chain_fail(w, j->chain);
    }
    uv_mutex_unlock(&w->mu);
}

/* Hand the jobs of tx back to the loop thread. */
static void wr_deliver_tx(struct srm_writer *w, struct wr_list *tx)
{
    uv_mutex_lock(&w->mu);
    wr_list_splice(&w->done, tx);
    uv_mutex_unlock(&w->mu);
    uv_async_send(&w->async);
}

/* Run one job inside the open transaction (tx: its jobs so far), in its
 * own SAVEPOINT: a failing job is rolled back alone. Returns false when
 * the transaction itself was lost. */
static bool wr_run_job(struct srm_writer *w, struct wr_list *tx,
                       struct wr_job *j)
{
    struct srm_db *db = w->db;
    bool failed;
    int r;

    uv_mutex_lock(&w->mu);
    failed = wr_chain_failed(w, j->chain);
    uv_mutex_unlock(&w->mu);
    wr_list_push(tx, j);
    if (failed) {
        j->status = -ECANCELED;
        return true;
    }
    r = srm_db_savepoint(db);
    if (r == 0) {
        r = j->fn(db, j->job);
        if (r == 0)
            r = srm_db_release(db);
    }
    j->status = r;
    if (r == 0)
        return true;
    uv_mutex_lock(&w->mu);
    wr_chain_fail(w, j->chain);
    uv_mutex_unlock(&w->mu);
    if (!sqlite3_get_autocommit(srm_db_handle(db)) &&
        srm_db_rollback_to(db) == 0)
        return true; /* this job alone was undone */
    srm_db_rollback(db);
    wr_tx_lost(w, tx, r);
    return false;
}

/* Tell the loop thread that bulk job j is applied: its work is in the
 * open transaction, and what it holds for the writer may be freed. */
static void wr_post_applied(struct srm_writer *w, const struct wr_job *j)
{
    struct wr_job *note;

    if (j->status != 0 || j->applied == NULL)
        return;
    note = srm_xcalloc(1, sizeof(*note));
    note->applied = j->applied;
    note->job = j->job;
    uv_mutex_lock(&w->mu);
    wr_list_push(&w->applied, note);
    uv_mutex_unlock(&w->mu);
    uv_async_send(&w->async);
}

static void wr_commit(struct srm_writer *w, struct wr_list *tx)
{
    int r = srm_db_commit(w->db);

    if (r < 0) {
        srm_db_rollback(w->db);
        wr_tx_lost(w, tx, r);
    }
    w->groups++;
    wr_deliver_tx(w, tx);
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

/* Take the queue (w->mu held); NULL when empty. */
static struct wr_job *wr_take(struct srm_writer *w)
{
    struct wr_job *head = w->queue.head;

    wr_list_init(&w->queue);
    return head;
}

/* The writer thread: one transaction at a time, holding every job that
 * arrives while it is open, until a job that is not bulk is in it (a
 * team member is waiting), its weight reaches WR_TX_WEIGHT, or no job came
 * for WR_LINGER_NS. */
static void wr_thread(void *arg)
{
    struct srm_writer *w = arg;
    struct wr_list tx;
    size_t weight = 0;
    bool open = false, urgent = false;
    uint64_t t0 = 0;

    wr_lower_priority();
    w->started_ns = uv_hrtime();
    wr_list_init(&tx);

    for (;;) {
        struct wr_job *group, *next;

        uv_mutex_lock(&w->mu);
        if (open && w->queue.head == NULL && !w->stopping && !urgent &&
            weight < WR_TX_WEIGHT)
            (void)uv_cond_timedwait(&w->cond, &w->mu,
                                    weight >= WR_LINGER_MIN_WEIGHT
                                        ? WR_LINGER_NS
                                        : WR_LINGER_LIGHT_NS);
        if (open && (w->queue.head == NULL || urgent ||
                     weight >= WR_TX_WEIGHT)) {
            uv_mutex_unlock(&w->mu);
            wr_commit(w, &tx);
            w->busy_ns += uv_hrtime() - t0;
            open = urgent = false;
            weight = 0;
            continue;
        }
        while (w->queue.head == NULL && !w->stopping)
            uv_cond_wait(&w->cond, &w->mu);
        /* Stop only once the queue is drained. */
        if (w->queue.head == NULL) {
            uv_mutex_unlock(&w->mu);
            break;
        }
        group = wr_take(w);
        uv_mutex_unlock(&w->mu);

        for (struct wr_job *j = group; j != NULL; j = next) {
            next = j->next;
            if (!open) {
                int r = srm_db_begin(w->db);
                if (r < 0) {
                    j->status = r;
                    uv_mutex_lock(&w->mu);
                    wr_chain_fail(w, j->chain);
                    uv_mutex_unlock(&w->mu);
                    wr_list_push(&tx, j);
                    wr_deliver_tx(w, &tx);
                    continue;
                }
                open = true;
                t0 = uv_hrtime();
            }
            w->jobs++;
            weight += j->weight;
            urgent |= !j->bulk;
            if (!wr_run_job(w, &tx, j)) {
                open = urgent = false; /* rolled back: deliver */
                weight = 0;
                w->busy_ns += uv_hrtime() - t0;
                wr_deliver_tx(w, &tx);
                continue;
            }
            wr_post_applied(w, j);
        }
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

/* Run the applied callbacks, then the done callbacks of every finished
 * job, on the loop thread. A job's applied note is always posted before
 * its transaction ends, so it runs before its done callback. */
static void wr_deliver(struct srm_writer *w)
{
    struct wr_job *notes, *done;

    for (;;) {
        /* Both lists at once: a job's note is posted before its done. */
        uv_mutex_lock(&w->mu);
        notes = w->applied.head;
        done = w->done.head;
        wr_list_init(&w->applied);
        wr_list_init(&w->done);
        uv_mutex_unlock(&w->mu);
        if (notes == NULL && done == NULL)
            return;
        while (notes != NULL) {
            struct wr_job *note = notes;
            notes = note->next;
            note->applied(note->job);
            free(note);
        }
        while (done != NULL) {
            struct wr_job *j = done;
            done = j->next;
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
    free(w->failed);
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
    wr_list_init(&w->applied);
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

static void wr_submit(struct srm_writer *w, struct wr_job *j)
{
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

void srm_writer_submit(struct srm_writer *w, srm_write_fn fn,
                       srm_write_done_fn done, void *job)
{
    struct wr_job *j = srm_xcalloc(1, sizeof(*j));

    j->fn = fn;
    j->done = done;
    j->job = job;
    wr_submit(w, j);
}

void srm_writer_submit_bulk(struct srm_writer *w, srm_write_fn fn,
                            srm_write_applied_fn applied,
                            srm_write_done_fn done, void *job,
                            const void *chain, size_t weight)
{
    struct wr_job *j = srm_xcalloc(1, sizeof(*j));

    j->fn = fn;
    j->applied = applied;
    j->done = done;
    j->job = job;
    j->chain = chain;
    j->weight = weight;
    j->bulk = true;
    wr_submit(w, j);
}

void srm_writer_chain_reset(struct srm_writer *w, const void *chain)
{
    uv_mutex_lock(&w->mu);
    for (size_t i = 0; i < w->n_failed; i++)
        if (w->failed[i] == chain) {
            w->failed[i] = w->failed[--w->n_failed];
            break;
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
