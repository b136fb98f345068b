/* source.h - a running source: one plugin instance with its schedule, its
 * passes, its cursors, and the batches it hands to the writer.
 *
 * The opaque struct srm_instance of the plugin SDK is this object: the host
 * functions (host_api.c) receive it and act on it.
 *
 * A pass: the timer fires, sync() is called, the plugin emits records into
 * the pending batch; each cursor_set() moves the pending batch (records +
 * cursor + validators) to the writer as one job; pass_done(OK) flushes the
 * rest; any other status discards what was not yet flushed. The pass ends
 * when pass_done has been called AND every job of the pass has committed;
 * only then is the state updated and the next pass scheduled. */
#ifndef SRM_DAEMON_SOURCE_H
#define SRM_DAEMON_SOURCE_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "record.h"
#include "srm/plugin.h"
#include "strmap.h"

struct srm_daemon;
struct srm_config_ref;
struct srm_source_cfg;
struct srm_loaded_plugin;
struct src_jobq;
struct src_offered;
struct src_held;

enum srm_src_state {
    SRM_SRC_IDLE,
    SRM_SRC_SYNCING,
    SRM_SRC_BACKOFF,     /* rate limited: waiting as the server asked */
    SRM_SRC_FAILING,     /* last pass failed; retrying with backoff */
    SRM_SRC_AUTH_FAILED,
    SRM_SRC_BAD_CONFIG,
    SRM_SRC_STOPPED,
};
const char *srm_source_state_name(enum srm_src_state s);
/* The state named name ("idle"...), or -1. */
int srm_source_state_parse(const char *name);

/* Records that force a flush of a pass's batch even without a cursor_set,
 * so a huge pass never holds unbounded memory. */
#define SRM_BATCH_MAX_RECORDS 5000

struct srm_instance {
    struct srm_daemon *d;
    struct srm_instance *next;     /* in d->sources */
    int refs;                      /* the daemon's list + writer jobs */
    char *name;
    struct srm_config_ref *cfg_ref;
    const struct srm_source_cfg *cfg;
    const struct srm_loaded_plugin *plugin;
    void *ctx;                     /* the plugin's */
    int64_t source_id;

    enum srm_src_state state;
    bool created;                  /* plugin create() succeeded */
    bool stopping;
    bool in_pass;                  /* sync() called, pass_done not yet */
    bool pass_ending;              /* pass_done called, jobs pending */
    uint64_t pass_gen;
    uv_timer_t timer;              /* next pass */
    uv_timer_t pass_timer;         /* pass timeout */
    int handles_open;              /* uv handles not yet closed */

    struct srm_batch pending;      /* emitted, not yet handed over */
    size_t jobs_in_flight;         /* queued here or with the writer */
    struct src_jobq *jobq;
    struct src_offered *offered;   /* validators of the response in hand */
    size_t backlog;                /* records waiting for the writer */
    struct src_held *held;         /* requests held back meanwhile */
    size_t n_held;
    /* In the daemon's queue of sources whose held requests wait for the
     * backlog of all sources to shrink (srm_daemon.backlog_waiters). */
    bool backlog_waiting;
    struct srm_instance *backlog_next;
    size_t http_in_flight;
    struct srm_strmap *cursors;    /* committed values */
    struct srm_strmap *overlay;    /* set during the pass, not committed */

    /* Outcome of the pass being finished. */
    enum srm_pass_status pass_status;
    uint32_t pass_retry_after;
    char *pass_msg;
    char *commit_error;            /* a batch of this pass failed to commit */
    size_t pass_new_mentions, pass_new_identities, pass_new_contacts;

    /* Shown by sources.list. */
    int64_t last_sync_at, last_ok_at, next_sync_at;
    char *last_error;              /* why the last pass failed */
    char *last_message;            /* what the plugin said of the last pass */
    int64_t failures;
    int64_t passes;
    int64_t new_mentions;          /* in the last finished pass */
    int64_t mentions_total, identities_total, contacts_total;
    int64_t rate_limited_until;    /* unix seconds, from responses */
    bool warned_insecure;
};

/* Create and start a source for cfg (plugin create() and the first pass's
 * timer). On a plugin create() failure the source exists in state
 * bad_config with the reason, so `srmctl sources` shows it. */
struct srm_instance *srm_source_create(struct srm_daemon *d,
                                       struct srm_config_ref *cfg_ref,
                                       const struct srm_source_cfg *cfg,
                                       const struct srm_loaded_plugin *plugin,
                                       int64_t source_id);
/* Schedule the first pass, spread over a few seconds. */
void srm_source_start(struct srm_instance *s);
/* Stop: cancel timers and requests, end a pass in progress (its
 * unflushed records are dropped), destroy the plugin instance, drop the
 * daemon's reference. Jobs already with the writer still commit. */
void srm_source_stop(struct srm_instance *s);
void srm_source_ref(struct srm_instance *s);
void srm_source_unref(struct srm_instance *s);

/* Start a pass now. Returns 0, or -EBUSY when one is running, -EPERM when
 * the source cannot run (bad config, stopping). */
int srm_source_sync_now(struct srm_instance *s);

/* Load committed cursors (start-up, before the loop runs). */
void srm_source_set_committed_cursor(struct srm_instance *s, const char *key,
                                     const char *value);

/* Log through the source: "[plugin/name] ...". */
void srm_source_log(struct srm_instance *s, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Host API bodies (host_api.c calls these). */
int srm_source_emit_begin(struct srm_instance *s, const char *what);
void srm_source_emitted(struct srm_instance *s);
int srm_source_cursor_set(struct srm_instance *s, const char *key,
                          const char *value);
const char *srm_source_cursor_get(struct srm_instance *s, const char *key);
void srm_source_pass_done(struct srm_instance *s, enum srm_pass_status st,
                          uint32_t retry_after, const char *msg);
int srm_source_http_submit(struct srm_instance *s,
                           const struct srm_http_req *req,
                           srm_http_done_fn done, void *ud);
void srm_source_http_reject(struct srm_instance *s,
                            const struct srm_http_resp *resp);


/* Post a reply through the source's plugin (SRM_CAP_REPLY). cb runs
 * exactly once on the loop thread when 0 is returned; otherwise it is not
 * called and the error says why: SRM_E_NOTSUP (no reply capability),
 * SRM_E_STATE (source stopping or not started), or the plugin's own error.
 * Arguments of cb are borrowed for the call. */
typedef void (*srm_source_reply_cb)(void *ud, int error, const char *msg,
                                    const char *posted_id,
                                    const char *posted_url);
int srm_source_reply(struct srm_instance *s, const struct srm_reply_req *req,
                     srm_source_reply_cb cb, void *ud);

#endif
