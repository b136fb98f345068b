/* source.c - a running source: schedule, passes, cursors, commits. */
#include "source.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "daemon.h"
#include "db.h"
#include "err.h"
#include "http.h"
#include "inbox.h"
#include "log.h"
#include "mem.h"
#include "plugin_loader.h"
#include "sched.h"
#include "writer.h"

/* One batch on its way to the writer. A source gives the writer its next
 * job only once the one before is applied (its records are in the open
 * transaction), and the writer's chain for the source fails every later
 * job once one failed: when a commit fails, the later batches of the same
 * pass (whose cursors would skip the lost records) are dropped instead of
 * committed. */
struct src_job {
    struct src_job *next;
    struct srm_instance *s;
    struct srm_batch batch;
    uint64_t pass_gen;
    size_t records; /* counted in s->backlog until applied or done */
    bool applied;   /* the records are freed; the commit is to come */
};

/* A request held back while the writer catches up (see src_backlogged). */
struct src_held {
    struct src_held *next;
    struct srm_http_req req; /* deep copy */
    char **headers;
    srm_http_done_fn done;
    void *ud;
};

/* Records a source may have waiting for the writer before its further
 * requests are held back: a connector fetching pages faster than SQLite
 * takes them would otherwise pile up records in memory without bound.
 * Records leave the count once written into the writer's open transaction
 * (src_commit_applied), so the bound costs no transaction size: 500 feeds
 * synced cold peak at 31-33 MB with 10,000 (40.7 MB with 20,000, 25.8 MB
 * with 4,000, which however cut ingest of 1,000-row pages by a fifth:
 * a job per page). */
#define SRC_BACKLOG_MAX 10000
/* The same for all sources together: 1,000 sources starting at once each
 * within its own limit held 120 MB of records (bench/soak). Requests held
 * by this limit start in the order they were held as the writer takes
 * records in. */
#define SRC_BACKLOG_TOTAL_MAX 20000

struct src_state_job {
    int64_t source_id;
    struct srm_source_state st;
    char *state, *error;
};

/* Jobs waiting behind the one with the writer, per source. */
struct src_jobq {
    struct src_job *head, *tail;
    bool busy; /* a job is with the writer */
};

static struct src_job *src_queue_head(struct srm_instance *s);
static void src_drop_queued(struct srm_instance *s);
static void src_release_held(struct srm_instance *s, bool cancel);
static void src_backlog_sub(struct srm_instance *s, size_t records);
static void src_wake_waiters(struct srm_daemon *d);
static void src_discard_pending(struct srm_instance *s);
static int src_http_start(struct srm_instance *s,
                          const struct srm_http_req *req,
                          srm_http_done_fn done, void *ud);
static void src_job_free(struct src_job *job);
static void src_submit_next(struct srm_instance *s);
static void src_maybe_finish(struct srm_instance *s);
static void src_schedule(struct srm_instance *s, int64_t delay_ms);

static int64_t src_now(void)
{
    return (int64_t)time(NULL);
}

static double src_jitter(void)
{
    /* Scheduling spread, not security. */
    return (double)rand() / ((double)RAND_MAX + 1.0);
}

const char *srm_source_state_name(enum srm_src_state st)
{
    static const char *const names[] = {
        [SRM_SRC_IDLE] = "idle",
        [SRM_SRC_SYNCING] = "syncing",
        [SRM_SRC_BACKOFF] = "backoff",
        [SRM_SRC_FAILING] = "failing",
        [SRM_SRC_AUTH_FAILED] = "auth_failed",
        [SRM_SRC_BAD_CONFIG] = "bad_config",
        [SRM_SRC_STOPPED] = "stopped",
    };
    return names[st];
}

int srm_source_state_parse(const char *name)
{
    for (int st = SRM_SRC_IDLE; st <= SRM_SRC_STOPPED; st++)
        if (strcmp(srm_source_state_name(st), name) == 0)
            return st;
    return -1;
}

void srm_source_log(struct srm_instance *s, int level, const char *fmt, ...)
{
    char tag[256];
    va_list ap;

    snprintf(tag, sizeof(tag), "[%s/%s]",
             s->plugin ? s->plugin->name : "?", s->name);
    va_start(ap, fmt);
    srm_vlog_tagged(level, tag, fmt, ap);
    va_end(ap);
}

void srm_source_ref(struct srm_instance *s)
{
    s->refs++;
}

static void src_free(struct srm_instance *s)
{
    /* A chain failed by a lost commit whose pass never finished (the
     * source stopped first) must not outlive s: another source may be
     * allocated at this address. */
    if (s->d != NULL && s->d->writer != NULL)
        srm_writer_chain_reset(s->d->writer, s);
    srm_batch_fini(&s->pending);
    srm_strmap_destroy(s->cursors);
    srm_strmap_destroy(s->overlay);
    srm_config_ref_put(s->cfg_ref);
    free(s->jobq);
    free(s->pass_msg);
    free(s->commit_error);
    free(s->last_error);
    free(s->last_message);
    free(s->name);
    free(s);
}

void srm_source_unref(struct srm_instance *s)
{
    if (--s->refs == 0)
        src_free(s);
}

static void src_handle_closed(uv_handle_t *h)
{
    struct srm_instance *s = h->data;
    if (--s->handles_open == 0)
        srm_source_unref(s);
}

/* ---- commits ---- */

static int src_commit_fn(struct srm_db *db, void *arg)
{
    struct src_job *job = arg;
    return srm_db_apply_batch(db, &job->batch);
}

static void src_job_free(struct src_job *job)
{
    srm_batch_fini(&job->batch);
    free(job);
}

/* The writer ran the job in its open transaction: the records are in
 * SQLite's hands, so free them, let the next job go and fetch more. */
static void src_commit_applied(void *arg)
{
    struct src_job *job = arg;
    struct srm_instance *s = job->s;

    job->applied = true;
    s->jobq->busy = false;
    src_backlog_sub(s, job->records);
    srm_batch_release_records(&job->batch);
    src_submit_next(s);
    src_release_held(s, false);
    src_wake_waiters(s->d);
}

static void src_commit_done(void *arg, int status)
{
    struct src_job *job = arg;
    struct srm_instance *s = job->s;
    struct src_jobq *q = s->jobq;

    if (!job->applied) {
        q->busy = false;
        src_backlog_sub(s, job->records);
    }
    s->jobs_in_flight--;
    if (status == 0) {
        struct srm_batch *b = &job->batch;
        /* Route and announce what just arrived (team inbox, watch). */
        if (b->new_mention_ids.n > 0 && s->d->writer != NULL)
            srm_inbox_new_mentions(b->new_mention_ids.items,
                                   b->new_mention_ids.n, s->source_id);
        s->pass_new_mentions += b->new_mentions;
        s->pass_new_identities += b->new_identities;
        s->pass_new_contacts += b->new_contacts;
        s->mentions_total += (int64_t)b->new_mentions;
        s->identities_total += (int64_t)b->new_identities;
        s->contacts_total += (int64_t)b->new_contacts;
        for (size_t i = 0; i < b->cursors.n; i++) {
            const struct srm_rec_cursor *c = &b->cursors.items[i];
            const char *ov = srm_strmap_get(s->overlay, c->key);
            srm_strmap_set(s->cursors, c->key, c->value);
            if (ov != NULL && strcmp(ov, c->value) == 0)
                srm_strmap_remove(s->overlay, c->key);
        }
        for (size_t i = 0; i < b->validators.n; i++) {
            const struct srm_rec_validator *v = &b->validators.items[i];
            char *val = srm_xasprintf("%s\n%s", v->etag ? v->etag : "",
                                      v->last_modified ? v->last_modified
                                                       : "");
            srm_strmap_set(s->d->validators, v->url, val);
            free(val);
        }
    } else {
        /* Drop everything queued behind it: their cursors would skip the
         * records that were just lost. The pass fails; the next one
         * resumes from the committed cursors. */
        if (status != -ECANCELED) /* behind the failure logged here */
            srm_source_log(s, SRM_LOG_ERROR,
                           "commit of %zu records failed: %s", job->records,
                           srm_strerror(status));
        if (s->commit_error == NULL)
            s->commit_error = srm_xasprintf("database: %s",
                                            srm_strerror(status));
        src_drop_queued(s);
        srm_strmap_clear(s->overlay);
    }
    src_job_free(job);
    src_submit_next(s);
    src_release_held(s, false);
    src_wake_waiters(s->d);
    src_maybe_finish(s);
    srm_source_unref(s);
}

/* Drop the jobs not yet handed to the writer. Their records are not lost:
 * their cursors were not committed either, so they are fetched again. The
 * caller holds a reference, so the unrefs here never free s. */
static void src_drop_queued(struct srm_instance *s)
{
    struct src_jobq *q = s->jobq;
    struct src_job *rest;

    while ((rest = q->head) != NULL) {
        q->head = rest->next;
        s->jobs_in_flight--;
        src_backlog_sub(s, rest->records);
        src_job_free(rest);
        srm_source_unref(s);
    }
    q->tail = NULL;
}

static struct src_job *src_queue_head(struct srm_instance *s)
{
    struct src_jobq *q = s->jobq;
    struct src_job *job = q->head;

    if (job != NULL) {
        q->head = job->next;
        if (q->head == NULL)
            q->tail = NULL;
    }
    return job;
}

static void src_submit_next(struct srm_instance *s)
{
    struct src_jobq *q = s->jobq;
    struct src_job *job;

    if (q->busy)
        return;
    if (s->stopping || s->d->writer == NULL) {
        src_drop_queued(s);
        return;
    }
    if ((job = src_queue_head(s)) == NULL)
        return;
    /* Everything queued behind it while the previous commit ran goes in
     * the same transaction: a source emitting hundreds of small batches
     * (one per feed or page) then costs a few commits, not hundreds. The
     * merged batch still carries each cursor with the records before it. */
    for (struct src_job *next; (next = src_queue_head(s)) != NULL;) {
        srm_batch_move(&job->batch, &next->batch);
        job->records += next->records;
        s->jobs_in_flight--;
        src_job_free(next);
        srm_source_unref(s);
    }
    q->busy = true;
    srm_writer_submit_bulk(s->d->writer, src_commit_fn, src_commit_applied,
                           src_commit_done, job, s, job->records);
}

/* Hand the pending batch to the writer (behind this source's other jobs). */
static void src_flush(struct srm_instance *s)
{
    struct src_jobq *q = s->jobq;
    struct src_job *job;

    if (srm_batch_empty(&s->pending))
        return;
    if (s->commit_error != NULL) {
        /* A batch of this pass failed to commit: what follows it cannot
         * commit either without skipping the lost records (its cursor, or a
         * validator, would move past them). The pass will end failing. */
        src_discard_pending(s);
        return;
    }
    job = srm_xcalloc(1, sizeof(*job));
    job->s = s;
    job->pass_gen = s->pass_gen;
    srm_batch_init(&job->batch, s->source_id, s->name, s->plugin->name);
    srm_batch_move(&job->batch, &s->pending);
    job->batch.now = src_now();
    job->records = srm_batch_records(&job->batch);
    s->backlog += job->records;
    s->d->backlog += job->records;
    srm_source_ref(s);
    s->jobs_in_flight++;
    if (q->tail)
        q->tail->next = job;
    else
        q->head = job;
    q->tail = job;
    src_submit_next(s);
}

static void src_discard_pending(struct srm_instance *s)
{
    srm_batch_fini(&s->pending);
    srm_batch_init(&s->pending, s->source_id, s->name, s->plugin->name);
}

static int src_state_fn(struct srm_db *db, void *arg)
{
    struct src_state_job *job = arg;
    return srm_db_source_set_state(db, job->source_id, &job->st);
}

static void src_state_done(void *arg, int status)
{
    struct src_state_job *job = arg;
    if (status < 0)
        SRM_WARNING("source: saving the state of source %lld failed: %s",
                    (long long)job->source_id, srm_strerror(status));
    free(job->state);
    free(job->error);
    free(job);
}

static void src_save_state(struct srm_instance *s)
{
    struct src_state_job *job;

    if (s->d->writer == NULL)
        return;
    job = srm_xcalloc(1, sizeof(*job));
    job->source_id = s->source_id;
    job->state = srm_xstrdup(srm_source_state_name(s->state));
    job->error = srm_xstrdup_or_null(s->last_error);
    job->st.state = job->state;
    job->st.last_sync_at = s->last_sync_at;
    job->st.last_ok_at = s->last_ok_at;
    job->st.next_sync_at = s->next_sync_at;
    job->st.last_error = job->error;
    job->st.failures = s->failures;
    srm_writer_submit(s->d->writer, src_state_fn, src_state_done, job);
}

/* ---- passes ---- */

static void src_set_error(struct srm_instance *s, const char *msg)
{
    free(s->last_error);
    s->last_error = srm_xstrdup_or_null(msg);
}

static void src_finish_pass(struct srm_instance *s)
{
    enum srm_pass_status st = s->pass_status;
    const char *msg = s->pass_msg;
    int64_t now = src_now();
    int64_t delay;

    s->pass_ending = false;
    s->passes++;
    if (s->commit_error != NULL && st == SRM_PASS_OK) {
        st = SRM_PASS_ERROR;
        msg = s->commit_error;
    }
    s->new_mentions = (int64_t)s->pass_new_mentions;
    /* What the plugin said about the pass, ok or not ("4 feeds, 9 entries",
     * "2 of 8 feeds failed: ..."), shown by sources.list. */
    free(s->last_message);
    s->last_message = srm_xstrdup_or_null(msg);

    switch (st) {
    case SRM_PASS_OK:
        s->state = SRM_SRC_IDLE;
        s->failures = 0;
        s->last_ok_at = now;
        src_set_error(s, NULL);
        break;
    case SRM_PASS_RETRY:
        s->state = SRM_SRC_BACKOFF;
        if (s->pass_retry_after == 0)
            s->failures++;
        src_set_error(s, msg);
        break;
    case SRM_PASS_ERROR:
        s->state = SRM_SRC_FAILING;
        s->failures++;
        src_set_error(s, msg ? msg : "pass failed");
        break;
    case SRM_PASS_AUTH_FAILED:
        s->state = SRM_SRC_AUTH_FAILED;
        s->failures++;
        src_set_error(s, msg ? msg : "authentication failed");
        break;
    case SRM_PASS_BAD_CONFIG:
        s->state = SRM_SRC_BAD_CONFIG;
        s->failures++;
        src_set_error(s, msg ? msg : "configuration cannot work");
        break;
    }

    if (st == SRM_PASS_OK) {
        int lvl = s->pass_new_mentions || s->pass_new_identities
                      ? SRM_LOG_INFO : SRM_LOG_DEBUG;
        srm_source_log(s, lvl,
                       "pass ok: %zu new mentions, %zu new identities, "
                       "%zu new contacts",
                       s->pass_new_mentions, s->pass_new_identities,
                       s->pass_new_contacts);
    } else {
        srm_source_log(s, SRM_LOG_WARNING, "pass %s: %s",
                       srm_source_state_name(s->state), s->last_error);
    }

    /* Committed cursors are in s->cursors; anything left in the overlay
     * belonged to batches that were dropped. */
    srm_strmap_clear(s->overlay);
    if (s->commit_error != NULL && s->d->writer != NULL)
        srm_writer_chain_reset(s->d->writer, s); /* no job of s is left */
    free(s->commit_error);
    s->commit_error = NULL;

    if (s->stopping) {
        s->state = SRM_SRC_STOPPED;
        return;
    }
    delay = srm_sched_delay(st, s->cfg->every, s->failures,
                            s->pass_retry_after, src_jitter());
    if (delay >= 0 && s->rate_limited_until > now &&
        s->rate_limited_until - now > delay)
        delay = s->rate_limited_until - now;
    if (delay < 0) {
        s->next_sync_at = 0;
    } else {
        s->next_sync_at = now + delay;
        src_schedule(s, delay * 1000);
    }
    src_save_state(s);
}

static void src_maybe_finish(struct srm_instance *s)
{
    if (s->pass_ending && s->jobs_in_flight == 0)
        src_finish_pass(s);
}

void srm_source_pass_done(struct srm_instance *s, enum srm_pass_status st,
                          uint32_t retry_after, const char *msg)
{
    if (!s->in_pass) {
        srm_source_log(s, SRM_LOG_WARNING,
                       "plugin called pass_done outside a pass; ignored");
        return;
    }
    if ((int)st < SRM_PASS_OK || st > SRM_PASS_BAD_CONFIG) {
        srm_source_log(s, SRM_LOG_WARNING,
                       "plugin ended its pass with unknown status %d",
                       (int)st);
        st = SRM_PASS_ERROR;
    }
    s->in_pass = false;
    s->pass_ending = true;
    uv_timer_stop(&s->pass_timer);
    s->pass_status = st;
    s->pass_retry_after = retry_after;
    free(s->pass_msg);
    s->pass_msg = srm_xstrdup_or_null(msg && *msg ? msg : NULL);
    if (st == SRM_PASS_OK && !s->stopping)
        src_flush(s);
    else
        src_discard_pending(s);
    src_maybe_finish(s);
}

static void src_start_pass(struct srm_instance *s)
{
    int rc;

    s->in_pass = true;
    s->pass_gen++;
    s->state = SRM_SRC_SYNCING;
    s->last_sync_at = src_now();
    s->next_sync_at = 0;
    s->pass_new_mentions = s->pass_new_identities = s->pass_new_contacts = 0;
    if (s->cfg->insecure)
        srm_source_log(s, SRM_LOG_WARNING,
                       "TLS certificate verification is off (insecure: "
                       "true)");
    srm_source_ref(s); /* sync() may stop the source */
    rc = s->plugin->desc.sync(s->ctx);
    if (rc < 0 && s->in_pass) {
        char *msg = srm_xasprintf("sync could not start: %s",
                                  srm_strerror(rc));
        srm_source_pass_done(s, SRM_PASS_ERROR, 0, msg);
        free(msg);
    }
    srm_source_unref(s);
}

static void src_pass_timeout(uv_timer_t *t)
{
    struct srm_instance *s = t->data;
    char msg[128];

    if (!s->in_pass)
        return;
    snprintf(msg, sizeof(msg),
             "pass did not finish within %lld s; reclaimed",
             (long long)s->cfg_ref->config->pass_timeout);
    srm_source_log(s, SRM_LOG_ERROR, "%s", msg);
    /* Cancelled requests call back into the plugin, which may end its pass
     * itself; if it does not, end it here. */
    srm_http_cancel_owner(s->d->http, s);
    src_release_held(s, true);
    if (s->in_pass)
        srm_source_pass_done(s, SRM_PASS_ERROR, 0, msg);
}

static void src_timer_fired(uv_timer_t *t)
{
    struct srm_instance *s = t->data;

    if (s->stopping || s->in_pass || s->pass_ending || !s->created)
        return;
    src_start_pass(s);
    if (s->in_pass)
        uv_timer_start(&s->pass_timer, src_pass_timeout,
                       (uint64_t)s->cfg_ref->config->pass_timeout * 1000, 0);
}

static void src_schedule(struct srm_instance *s, int64_t delay_ms)
{
    if (delay_ms < 0)
        delay_ms = 0;
    /* A timer counts from the loop's cached time, taken when this loop
     * iteration began. The HTTP engine's rate-limit pause counts from the
     * real time the 429 arrived, which can be later (a slow iteration, a
     * loaded machine): a retry after Retry-After seconds then landed just
     * before the pause ended and failed again. Count from now. */
    uv_update_time(s->d->loop);
    uv_timer_start(&s->timer, src_timer_fired, (uint64_t)delay_ms, 0);
}

int srm_source_sync_now(struct srm_instance *s)
{
    if (s->stopping || !s->created)
        return -EPERM;
    if (s->in_pass || s->pass_ending)
        return -EBUSY;
    uv_timer_stop(&s->timer);
    src_timer_fired(&s->timer);
    return 0;
}

/* ---- emission, cursors ---- */

int srm_source_emit_begin(struct srm_instance *s, const char *what)
{
    if (s->stopping)
        return SRM_E_STATE;
    if (!s->in_pass && !(s->plugin->desc.capabilities & SRM_CAP_STREAM)) {
        srm_source_log(s, SRM_LOG_WARNING,
                       "plugin emitted a %s outside a pass; ignored", what);
        return SRM_E_STATE;
    }
    return 0;
}

void srm_source_emitted(struct srm_instance *s)
{
    /* Bound the memory a pass can hold; also how a streaming plugin's
     * records reach the database between passes. */
    if (srm_batch_records(&s->pending) >= SRM_BATCH_MAX_RECORDS ||
        !s->in_pass)
        src_flush(s);
}

const char *srm_source_cursor_get(struct srm_instance *s, const char *key)
{
    const char *v = srm_strmap_get(s->overlay, key);
    return v ? v : srm_strmap_get(s->cursors, key);
}

int srm_source_cursor_set(struct srm_instance *s, const char *key,
                          const char *value)
{
    if (key == NULL || value == NULL || *key == '\0')
        return -EINVAL;
    if (s->stopping)
        return SRM_E_STATE;
    if (!s->in_pass && !(s->plugin->desc.capabilities & SRM_CAP_STREAM)) {
        srm_source_log(s, SRM_LOG_WARNING,
                       "plugin set cursor %s outside a pass; ignored", key);
        return SRM_E_STATE;
    }
    srm_strmap_set(s->overlay, key, value);
    srm_batch_set_cursor(&s->pending, key, value);
    src_flush(s);
    return 0;
}

void srm_source_set_committed_cursor(struct srm_instance *s, const char *key,
                                     const char *value)
{
    srm_strmap_set(s->cursors, key, value);
}

/* ---- HTTP ---- */

struct src_http_call {
    struct srm_instance *s;
    srm_http_done_fn done;
    srm_http_data_fn on_data;
    void *ud;
    char *url;
    bool conditional;
};

/* The response being handed to its plugin, so that http_reject can take
 * its validators back. */
struct src_offered {
    const char *url;
};

static void src_http_done(const struct srm_http_resp *resp, void *arg)
{
    struct src_http_call *call = arg;
    struct srm_instance *s = call->s;
    struct src_offered offer = {0};

    s->http_in_flight--;
    if (resp->retry_after > 0) {
        int64_t until = src_now() + resp->retry_after;
        if (until > s->rate_limited_until)
            s->rate_limited_until = until;
    }
    /* A 2xx answer's validators join the pending batch before the plugin
     * sees the body, so they commit in the same transaction as the records
     * and cursor the plugin makes of it, never without them. If the plugin
     * rejects the body (host->http_reject: truncated, not a feed) they are
     * taken back, so it is fetched in full next time, not hidden behind a
     * 304. A failed pass drops its pending batch, validators included. */
    if (call->conditional && resp->error == 0 && resp->status >= 200 &&
        resp->status < 300 && !s->stopping) {
        const char *etag = srm_http_header(resp, "ETag");
        const char *lm = srm_http_header(resp, "Last-Modified");
        if (etag != NULL || lm != NULL) {
            srm_batch_set_validator(&s->pending, call->url, etag, lm);
            offer.url = call->url;
            s->offered = &offer;
        }
    }
    srm_source_ref(s);
    call->done(s, resp, call->ud);
    s->offered = NULL;
    free(call->url);
    free(call);
    srm_source_unref(s);
    srm_source_unref(s);
}

void srm_source_http_reject(struct srm_instance *s,
                            const struct srm_http_resp *resp)
{
    (void)resp; /* only the response in hand can be rejected */
    if (s->offered != NULL)
        srm_batch_drop_validator(&s->pending, s->offered->url);
}

static bool src_http_chunk(const char *data, size_t len, void *arg)
{
    struct src_http_call *call = arg;
    return call->on_data(call->s, data, len, call->ud);
}

static char *src_dup_n(const char *p, size_t n)
{
    char *d;

    if (p == NULL)
        return NULL;
    d = srm_xmalloc(n + 1);
    memcpy(d, p, n);
    d[n] = '\0';
    return d;
}

static void src_held_free(struct src_held *h)
{
    if (h->headers != NULL)
        for (char **p = h->headers; *p; p++)
            free(*p);
    free(h->headers);
    free((char *)h->req.method);
    free((char *)h->req.url);
    free((char *)h->req.body);
    free((char *)h->req.bearer_token);
    free((char *)h->req.username);
    free((char *)h->req.password);
    free((char *)h->req.custom_request);
    free(h);
}

/* Keep a copy of the request to start once the writer has caught up. */
static void src_hold(struct srm_instance *s, const struct srm_http_req *req,
                     srm_http_done_fn done, void *ud)
{
    struct src_held *h = srm_xcalloc(1, sizeof(*h)), **tail;
    size_t n = 0;

    h->req.struct_size = sizeof(h->req);
    memcpy(&h->req, req, req->struct_size < sizeof(h->req)
                             ? req->struct_size : sizeof(h->req));
    h->req.struct_size = sizeof(h->req);
    h->req.method = srm_xstrdup_or_null(req->method);
    h->req.url = srm_xstrdup(req->url);
    h->req.body = src_dup_n(req->body, req->body_len);
    h->req.bearer_token = srm_xstrdup_or_null(h->req.bearer_token);
    h->req.username = srm_xstrdup_or_null(h->req.username);
    h->req.password = srm_xstrdup_or_null(h->req.password);
    h->req.custom_request = srm_xstrdup_or_null(h->req.custom_request);
    if (req->headers != NULL) {
        while (req->headers[n] != NULL)
            n++;
        h->headers = srm_xcalloc(n + 1, sizeof(*h->headers));
        for (size_t i = 0; i < n; i++)
            h->headers[i] = srm_xstrdup(req->headers[i]);
    }
    h->req.headers = (const char *const *)h->headers;
    h->done = done;
    h->ud = ud;
    for (tail = &s->held; *tail; tail = &(*tail)->next)
        ;
    *tail = h;
    s->n_held++;
}

/* Whether the source may start a request now: its own records and all
 * sources' records waiting for the writer are both under their limits. */
static bool src_may_fetch(const struct srm_instance *s)
{
    return s->backlog < SRC_BACKLOG_MAX &&
           s->d->backlog < SRC_BACKLOG_TOTAL_MAX;
}

static void src_wait_push(struct srm_instance *s)
{
    struct srm_daemon *d = s->d;

    if (s->backlog_waiting)
        return;
    s->backlog_waiting = true;
    s->backlog_next = NULL;
    srm_source_ref(s);
    if (d->backlog_waiters_tail != NULL)
        d->backlog_waiters_tail->backlog_next = s;
    else
        d->backlog_waiters = s;
    d->backlog_waiters_tail = s;
}

/* Take s out of the waiters (anywhere in the queue); the caller keeps a
 * reference, so the unref here never frees s. */
static void src_wait_remove(struct srm_instance *s)
{
    struct srm_daemon *d = s->d;
    struct srm_instance **pp, *prev = NULL;

    if (!s->backlog_waiting)
        return;
    for (pp = &d->backlog_waiters; *pp != s; pp = &(*pp)->backlog_next)
        prev = *pp;
    *pp = s->backlog_next;
    if (d->backlog_waiters_tail == s)
        d->backlog_waiters_tail = prev;
    s->backlog_waiting = false;
    s->backlog_next = NULL;
    srm_source_unref(s);
}

/* Commits made room: start the requests other sources held, first held
 * first served, while the total allows. Each waiter is visited at most
 * once per call (one still held by its own limit goes to the back). */
static void src_wake_waiters(struct srm_daemon *d)
{
    size_t n = 0;

    for (struct srm_instance *w = d->backlog_waiters; w; w = w->backlog_next)
        n++;
    while (n-- > 0 && d->backlog < SRC_BACKLOG_TOTAL_MAX &&
           d->backlog_waiters != NULL) {
        struct srm_instance *w = d->backlog_waiters;

        srm_source_ref(w);
        src_wait_remove(w);
        src_release_held(w, false); /* re-queues w if it still holds some */
        srm_source_unref(w);
    }
}

static void src_backlog_sub(struct srm_instance *s, size_t records)
{
    s->backlog -= records;
    s->d->backlog -= records;
}

/* Start held requests while the backlog allows; on stop, cancel them (each
 * accepted request gets exactly one done callback). */
static void src_release_held(struct srm_instance *s, bool cancel)
{
    struct src_held *h;

    cancel = cancel || s->stopping;
    if (cancel)
        src_wait_remove(s);
    while ((h = s->held) != NULL && (cancel || src_may_fetch(s))) {
        int rc = SRM_E_CANCELLED;

        s->held = h->next;
        s->n_held--;
        if (!cancel)
            rc = src_http_start(s, &h->req, h->done, h->ud);
        if (rc < 0) {
            struct srm_http_resp resp = {
                .struct_size = sizeof(resp),
                .error = rc,
                .error_msg = rc == SRM_E_CANCELLED ? "cancelled"
                                                   : "request refused",
                .body = "",
                .retry_after = -1,
            };
            h->done(s, &resp, h->ud);
        }
        src_held_free(h);
    }
    if (s->held != NULL && !cancel && !s->stopping)
        src_wait_push(s);
    else if (s->held == NULL)
        src_wait_remove(s);
}

int srm_source_http_submit(struct srm_instance *s,
                           const struct srm_http_req *req,
                           srm_http_done_fn done, void *ud)
{
    if (s->stopping || s->d->http == NULL)
        return SRM_E_STATE;
    if (req == NULL || done == NULL || req->url == NULL)
        return -EINVAL;
    if (!src_may_fetch(s) || s->held != NULL) {
        src_hold(s, req, done, ud);
        src_wait_push(s);
        return 0;
    }
    return src_http_start(s, req, done, ud);
}

static int src_http_start(struct srm_instance *s,
                          const struct srm_http_req *req,
                          srm_http_done_fn done, void *ud)
{
    struct srm_http_extra extra = {0};
    struct src_http_call *call;
    const char *val = NULL;
    char *etag = NULL, *lm = NULL;
    int rc;

    call = srm_xcalloc(1, sizeof(*call));
    call->s = s;
    call->done = done;
    call->ud = ud;
    call->url = srm_xstrdup(req->url);
    call->conditional = (req->flags & SRM_HTTP_CONDITIONAL) != 0;

    extra.owner = s;
    extra.insecure = s->cfg->insecure;
    if (req->struct_size >= offsetof(struct srm_http_req, on_data) +
                                sizeof(req->on_data) &&
        req->on_data != NULL) {
        call->on_data = req->on_data;
        extra.on_chunk = src_http_chunk;
    }
    if (call->conditional)
        val = srm_strmap_get(s->d->validators, req->url);
    if (val != NULL) {
        const char *nl = strchr(val, '\n');
        if (nl != NULL) {
            if (nl > val)
                etag = srm_xstrndup(val, (size_t)(nl - val));
            if (nl[1] != '\0')
                lm = srm_xstrdup(nl + 1);
        }
    }
    extra.if_none_match = etag;
    extra.if_modified_since = lm;

    rc = srm_http_submit(s->d->http, req, &extra, src_http_done, call);
    free(etag);
    free(lm);
    if (rc < 0) {
        free(call->url);
        free(call);
        return rc;
    }
    s->http_in_flight++;
    srm_source_ref(s);
    return 0;
}

/* ---- life cycle ---- */

struct srm_instance *srm_source_create(struct srm_daemon *d,
                                       struct srm_config_ref *cfg_ref,
                                       const struct srm_source_cfg *cfg,
                                       const struct srm_loaded_plugin *plugin,
                                       int64_t source_id)
{
    struct srm_instance *s = srm_xcalloc(1, sizeof(*s));
    int rc;

    s->d = d;
    s->refs = 1; /* the daemon's list; the handles' ref is added below */
    s->name = srm_xstrdup(cfg->name);
    s->cfg_ref = srm_config_ref_get(cfg_ref);
    s->cfg = cfg;
    s->plugin = plugin;
    s->source_id = source_id;
    s->cursors = srm_strmap_create();
    s->overlay = srm_strmap_create();
    s->jobq = srm_xcalloc(1, sizeof(struct src_jobq));
    s->state = SRM_SRC_IDLE;
    srm_batch_init(&s->pending, source_id, s->name, plugin->name);

    uv_timer_init(d->loop, &s->timer);
    uv_timer_init(d->loop, &s->pass_timer);
    s->timer.data = s;
    s->pass_timer.data = s;
    s->handles_open = 2;
    srm_source_ref(s); /* released when both handles are closed */

    rc = plugin->desc.create(s, &s->ctx);
    if (rc < 0) {
        char *msg = srm_xasprintf("plugin could not start this source: %s",
                                  srm_strerror(rc));
        srm_source_log(s, SRM_LOG_ERROR, "%s", msg);
        s->state = SRM_SRC_BAD_CONFIG;
        src_set_error(s, msg);
        free(msg);
        s->ctx = NULL;
        return s;
    }
    s->created = true;
    return s;
}

/* Start the first pass soon, spread so that many sources do not start in
 * the same tick. */
void srm_source_start(struct srm_instance *s)
{
    int64_t ms;

    if (!s->created)
        return;
    ms = srm_sched_first_delay_ms(s->cfg->every, src_jitter(),
                                  s->cfg_ref->config->n_sources);
    s->next_sync_at = src_now() + ms / 1000;
    src_schedule(s, ms);
}

void srm_source_stop(struct srm_instance *s)
{
    if (s->stopping)
        return;
    s->stopping = true;
    uv_timer_stop(&s->timer);
    uv_timer_stop(&s->pass_timer);
    /* Every request completes (cancelled) before the plugin is destroyed,
     * so no callback can reach a freed context. */
    if (s->d->http != NULL)
        srm_http_cancel_owner(s->d->http, s);
    srm_source_ref(s);
    src_release_held(s, true); /* each gets SRM_E_CANCELLED */
    src_drop_queued(s);
    src_wake_waiters(s->d); /* its dropped records made room */
    if (s->in_pass)
        srm_source_pass_done(s, SRM_PASS_ERROR, 0, "source stopped");
    src_discard_pending(s);
    if (s->created && s->plugin->desc.destroy != NULL)
        s->plugin->desc.destroy(s->ctx);
    s->ctx = NULL;
    s->created = false;
    if (!s->pass_ending)
        s->state = SRM_SRC_STOPPED;
    uv_close((uv_handle_t *)&s->timer, src_handle_closed);
    uv_close((uv_handle_t *)&s->pass_timer, src_handle_closed);
    srm_source_unref(s); /* taken above */
    srm_source_unref(s); /* the daemon's list reference */
}

/* ---- replies ---- */

struct src_reply {
    struct srm_instance *s;
    srm_source_reply_cb cb;
    void *ud;
    bool answered;
    bool returned; /* reply() has returned: done may free */
};

static void src_reply_done(struct srm_instance *inst, int error,
                           const char *msg, const char *posted_id,
                           const char *posted_url, void *arg)
{
    struct src_reply *r = arg;

    (void)inst;
    if (r->answered) {
        srm_source_log(r->s, SRM_LOG_WARNING,
                       "plugin answered a reply twice; ignored");
        return;
    }
    r->answered = true;
    r->cb(r->ud, error, msg, posted_id, posted_url);
    srm_source_unref(r->s);
    if (r->returned)
        free(r);
}

int srm_source_reply(struct srm_instance *s, const struct srm_reply_req *req,
                     srm_source_reply_cb cb, void *ud)
{
    struct src_reply *r;
    int rc;

    if (!(s->plugin->desc.capabilities & SRM_CAP_REPLY) ||
        s->plugin->desc.reply == NULL)
        return SRM_E_NOTSUP;
    if (s->stopping || !s->created)
        return SRM_E_STATE;
    r = srm_xcalloc(1, sizeof(*r));
    r->s = s;
    r->cb = cb;
    r->ud = ud;
    srm_source_ref(s);
    rc = s->plugin->desc.reply(s->ctx, req, src_reply_done, r);
    if (r->answered) {
        /* Answered from inside reply(): cb has run, so report success to
         * keep "cb runs exactly once when 0 is returned". */
        free(r);
        return 0;
    }
    if (rc < 0) {
        srm_source_unref(s);
        free(r);
        return rc;
    }
    r->returned = true;
    return 0;
}
