/* daemon.c - start, reload and stop the daemon. */
#include "daemon.h"

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctl_server.h"
#include "db.h"
#include "err.h"
#include "http.h"
#include "log.h"
#include "mem.h"
#include "notify.h"
#include "people.h"
#include "plugin_loader.h"
#include "reader.h"
#include "rpc_methods.h"
#include "source.h"
#include "verify.h"
#include "writer.h"

struct srm_daemon *srm_daemon_self;

/* ---- shared configs ---- */

struct srm_config_ref *srm_config_ref_new(struct srm_config *c)
{
    struct srm_config_ref *r = srm_xcalloc(1, sizeof(*r));
    r->config = c;
    r->refs = 1;
    return r;
}

struct srm_config_ref *srm_config_ref_get(struct srm_config_ref *r)
{
    r->refs++;
    return r;
}

void srm_config_ref_put(struct srm_config_ref *r)
{
    if (r == NULL || --r->refs > 0)
        return;
    srm_config_destroy(r->config);
    free(r);
}

/* ---- configuration ---- */

static const struct srm_loaded_plugin *
dm_plugin_for(struct srm_plugins *plugins, const struct srm_config *c,
              const char *name)
{
    const struct srm_loaded_plugin *lp = srm_plugins_find(plugins, name);
    char path[PATH_MAX];
    struct stat st;

    if (lp != NULL)
        return lp;
    /* A plugin installed since start-up, or a plugin_dir that changed. */
    if (strchr(name, '/') != NULL ||
        snprintf(path, sizeof(path), "%s/%s.so", c->plugin_dir, name) >=
            (int)sizeof(path) ||
        stat(path, &st) < 0)
        return NULL;
    if (srm_plugins_load_file(plugins, path) < 0)
        return NULL;
    return srm_plugins_find(plugins, name);
}

int srm_daemon_prepare_config(struct srm_plugins *plugins, const char *path,
                              struct srm_config **ret_config,
                              struct srm_diag *diag)
{
    struct srm_config *c = NULL;
    int rc;

    rc = srm_config_load(path, &c, diag);
    if (rc < 0)
        return rc;
    if (srm_plugins_count(plugins) == 0) {
        rc = srm_plugins_load_dir(plugins, c->plugin_dir);
        if (rc < 0 && c->n_sources > 0)
            srm_diag_add(diag, NULL, "daemon.plugin_dir",
                         "cannot read plugin folder %s: %s", c->plugin_dir,
                         srm_strerror(rc));
    }
    for (size_t i = 0; i < c->n_sources; i++) {
        struct srm_source_cfg *src = &c->sources[i];
        const struct srm_loaded_plugin *lp =
            dm_plugin_for(plugins, c, src->plugin);
        if (lp == NULL) {
            char *kp = srm_xasprintf("%s.plugin", src->path);
            srm_diag_add(diag, srm_cfg_node_get(src->node, "plugin"), kp,
                         "no plugin named %s in %s", src->plugin,
                         c->plugin_dir);
            free(kp);
            continue;
        }
        srm_config_bind_source(src, lp->desc.schema, diag);
    }
    if (diag->n > 0) {
        srm_config_destroy(c);
        return -EINVAL;
    }
    *ret_config = c;
    return 0;
}

/* ---- roles ---- */

static void dm_identify(struct srm_caller *caller, void *ud)
{
    struct srm_daemon *d = ud;
    const struct srm_config *c = d->cfg->config;

    caller->is_admin = caller->uid == 0 || caller->uid == getuid() ||
                       srm_config_is_admin(c, caller->user);
    caller->is_member =
        caller->is_admin || srm_config_member(c, caller->user) != NULL;
}

/* ---- applying a config: the database side runs as one writer job ---- */

struct dm_new_source {
    const struct srm_source_cfg *cfg;
    const struct srm_loaded_plugin *plugin;
    int64_t id;
    struct srm_strmap *cursors;
};

struct dm_apply_job {
    struct srm_daemon *d;
    struct srm_config_ref *cfg;
    struct dm_new_source *add;
    size_t n_add;
    int64_t *retire;
    size_t n_retire;
    int64_t now;
    void (*done)(struct dm_apply_job *job, int status);
    void *ud;
};

static void dm_cursor_kv(const char *key, const char *value, void *ud)
{
    srm_strmap_set(ud, key, value);
}

static int dm_apply_fn(struct srm_db *db, void *arg)
{
    struct dm_apply_job *job = arg;
    const struct srm_config *c = job->cfg->config;
    struct srm_member_row *rows;
    size_t n_rows = 0;
    int rc = 0;

    rows = srm_xcalloc(c->n_members + c->n_admins + 1, sizeof(*rows));
    for (size_t i = 0; i < c->n_admins; i++)
        rows[n_rows++] = (struct srm_member_row){
            .user = c->admins[i], .name = NULL, .is_admin = true};
    for (size_t i = 0; i < c->n_members; i++) {
        bool dup = false;
        for (size_t j = 0; j < c->n_admins; j++)
            if (strcmp(c->admins[j], c->members[i].user) == 0) {
                rows[j].name = c->members[i].name;
                dup = true;
            }
        if (!dup)
            rows[n_rows++] = (struct srm_member_row){
                .user = c->members[i].user, .name = c->members[i].name};
    }
    srm_db_set_fulltext(db, c->fulltext); /* a reload may change it */
    rc = srm_db_fulltext_catch_up(db);
    if (rc == 0)
        rc = srm_db_members_sync(db, rows, n_rows, job->now);
    if (rc == 0) /* people: explicit links, applied and kept for ingest */
        rc = srm_people_config_apply(db, c, job->now);
    free(rows);
    for (size_t i = 0; rc == 0 && i < job->n_retire; i++)
        rc = srm_db_source_retire(db, job->retire[i], job->now);
    for (size_t i = 0; rc == 0 && i < job->n_add; i++) {
        struct dm_new_source *ns = &job->add[i];
        rc = srm_db_source_ensure(db, ns->cfg->name, ns->cfg->plugin,
                                  job->now, &ns->id);
        if (rc == 0)
            rc = srm_db_cursors_load(db, ns->id, dm_cursor_kv, ns->cursors);
    }
    return rc;
}

static void dm_apply_job_free(struct dm_apply_job *job)
{
    for (size_t i = 0; i < job->n_add; i++)
        srm_strmap_destroy(job->add[i].cursors);
    free(job->add);
    free(job->retire);
    srm_config_ref_put(job->cfg);
    free(job);
}

static void dm_cursor_copy(const char *key, const char *value, void *ud)
{
    srm_source_set_committed_cursor(ud, key, value);
}

/* Create the sources of a finished apply job, in config order. */
static void dm_create_sources(struct dm_apply_job *job)
{
    struct srm_daemon *d = job->d;

    for (size_t i = 0; i < job->n_add; i++) {
        struct dm_new_source *ns = &job->add[i];
        struct srm_instance *s, **tail;

        s = srm_source_create(d, job->cfg, ns->cfg, ns->plugin, ns->id);
        srm_strmap_foreach(ns->cursors, dm_cursor_copy, s);
        for (tail = &d->sources; *tail; tail = &(*tail)->next)
            ;
        *tail = s;
        srm_source_start(s);
    }
}

static struct dm_apply_job *dm_apply_job_new(struct srm_daemon *d,
                                             struct srm_config_ref *cfg)
{
    struct dm_apply_job *job = srm_xcalloc(1, sizeof(*job));
    const struct srm_config *c = cfg->config;

    job->d = d;
    job->cfg = srm_config_ref_get(cfg);
    job->now = (int64_t)time(NULL);
    job->add = srm_xcalloc(c->n_sources + 1, sizeof(*job->add));
    job->retire = srm_xcalloc(d->sources ? 64 : 1, sizeof(*job->retire));
    return job;
}

static void dm_job_add(struct dm_apply_job *job,
                       const struct srm_source_cfg *src,
                       const struct srm_loaded_plugin *lp)
{
    struct dm_new_source *ns = &job->add[job->n_add++];
    ns->cfg = src;
    ns->plugin = lp;
    ns->cursors = srm_strmap_create();
}

static void dm_job_retire(struct dm_apply_job *job, int64_t id)
{
    job->retire = srm_xreallocarray(job->retire, job->n_retire + 1,
                                    sizeof(*job->retire));
    job->retire[job->n_retire++] = id;
}

/* ---- start ---- */

static void dm_validator_kv(const char *url, const char *etag,
                            const char *lm, void *ud)
{
    char *v = srm_xasprintf("%s\n%s", etag ? etag : "", lm ? lm : "");
    srm_strmap_set(ud, url, v);
    free(v);
}

static void dm_on_signal(uv_signal_t *sig, int signum)
{
    struct srm_daemon *d = sig->data;

    if (signum == SIGHUP) {
        struct srm_diag diag;
        srm_diag_init(&diag);
        SRM_NOTICE("daemon: SIGHUP: reloading %s", d->config_path);
        if (srm_daemon_reload(d, &diag, NULL) < 0) {
            srm_diag_print(&diag);
            SRM_ERROR("daemon: reload refused; the running configuration "
                      "stays");
        }
        srm_diag_fini(&diag);
        return;
    }
    SRM_NOTICE("daemon: %s: stopping", strsignal(signum));
    srm_daemon_stop(d);
}

int srm_daemon_start(struct srm_daemon *d, uv_loop_t *loop,
                     const char *config_path, struct srm_plugins *plugins,
                     struct srm_config *config)
{
    struct srm_db *db = NULL;
    struct srm_ctl_opts ctl = {0};
    struct srm_http_opts http = {0};
    struct dm_apply_job *job;
    const struct srm_config *c;
    int rc;

    memset(d, 0, sizeof(*d));
    srm_daemon_self = d;
    d->loop = loop;
    d->config_path = srm_xstrdup(config_path);
    d->plugins = plugins;
    d->cfg = srm_config_ref_new(config);
    d->validators = srm_strmap_create();
    d->started_at = (int64_t)time(NULL);
    c = d->cfg->config;

    rc = srm_db_open(c->database, false, (int)c->cache_kib, &db);
    if (rc < 0)
        goto fail;
    srm_db_set_fulltext(db, c->fulltext);
    rc = srm_db_check(db);
    if (rc < 0) {
        SRM_ERROR("daemon: %s failed its integrity check; restore it from a "
                  "backup or move it away", c->database);
        goto fail;
    }
    rc = srm_db_validators_load(db, dm_validator_kv, d->validators);
    if (rc < 0)
        goto fail;

    /* The start-up apply runs right here, before the writer thread owns
     * the connection. */
    job = dm_apply_job_new(d, d->cfg);
    for (size_t i = 0; i < c->n_sources; i++)
        dm_job_add(job, &c->sources[i],
                   srm_plugins_find(plugins, c->sources[i].plugin));
    rc = srm_db_begin(db);
    if (rc == 0)
        rc = dm_apply_fn(db, job);
    if (rc == 0)
        rc = srm_db_commit(db);
    else
        srm_db_rollback(db);
    if (rc < 0) {
        SRM_ERROR("daemon: cannot record the sources in %s: %s", c->database,
                  srm_strerror(rc));
        dm_apply_job_free(job);
        goto fail;
    }

    rc = srm_writer_create(loop, db, &d->writer);
    db = NULL; /* the writer owns it, even on failure */
    if (rc < 0) {
        dm_apply_job_free(job);
        goto fail;
    }
    rc = srm_reader_create(loop, c->database, (int)c->cache_kib, &d->reader);
    if (rc < 0) {
        dm_apply_job_free(job);
        goto fail;
    }
    rc = srm_http_create(loop, &http, &d->http);
    if (rc < 0) {
        dm_apply_job_free(job);
        goto fail;
    }

    ctl.path = c->socket;
    ctl.mode = 0660;
    ctl.group = c->socket_group;
    ctl.max_request = 1 << 20;
    ctl.max_clients = 4096;
    ctl.max_output = 16 << 20;
    ctl.tables = srm_rpc_tables;
    ctl.identify = dm_identify;
    ctl.ud = d;
    rc = srm_ctl_server_start(loop, &ctl, &d->ctl);
    if (rc < 0) {
        dm_apply_job_free(job);
        goto fail;
    }

    uv_signal_init(loop, &d->sig_term);
    uv_signal_init(loop, &d->sig_int);
    uv_signal_init(loop, &d->sig_hup);
    d->sig_term.data = d->sig_int.data = d->sig_hup.data = d;
    uv_signal_start(&d->sig_term, dm_on_signal, SIGTERM);
    uv_signal_start(&d->sig_int, dm_on_signal, SIGINT);
    uv_signal_start(&d->sig_hup, dm_on_signal, SIGHUP);
    d->signals_started = true;

    dm_create_sources(job);
    dm_apply_job_free(job);
    srm_verify_start(loop, 60 * 1000, SRM_VERIFY_INTERVAL_S); /* verify.h */

    SRM_NOTICE("daemon: srmd %s serving %s with %zu sources, database %s",
               SRM_VERSION, c->socket, c->n_sources, c->database);
    srm_notify("READY=1");
    return 0;

fail:
    srm_db_close(db);
    return rc;
}

/* ---- reload ---- */

static bool dm_same_source(const struct srm_instance *s,
                           const struct srm_source_cfg *n)
{
    return strcmp(s->cfg->plugin, n->plugin) == 0 &&
           strcmp(s->cfg->fingerprint, n->fingerprint) == 0 &&
           s->state != SRM_SRC_BAD_CONFIG;
}

static void dm_reload_applied(void *arg, int status)
{
    struct dm_apply_job *job = arg;

    if (status < 0) {
        SRM_ERROR("daemon: reload: recording the sources failed: %s; the "
                  "added sources start without their saved cursors",
                  srm_strerror(status));
    }
    if (!job->d->stopping)
        dm_create_sources(job);
    dm_apply_job_free(job);
}

static char **dm_names_push(char **v, size_t *n, const char *name)
{
    v = srm_xreallocarray(v, *n + 2, sizeof(*v));
    v[(*n)++] = srm_xstrdup(name);
    v[*n] = NULL;
    return v;
}

void srm_reload_result_fini(struct srm_reload_result *r)
{
    for (size_t i = 0; i < r->n_added; i++)
        free(r->added[i]);
    for (size_t i = 0; i < r->n_removed; i++)
        free(r->removed[i]);
    for (size_t i = 0; i < r->n_changed; i++)
        free(r->changed[i]);
    free(r->added);
    free(r->removed);
    free(r->changed);
    memset(r, 0, sizeof(*r));
}

int srm_daemon_reload(struct srm_daemon *d, struct srm_diag *diag,
                      struct srm_reload_result *ret)
{
    struct srm_reload_result res = {0};
    struct srm_config *nc = NULL;
    struct srm_config_ref *ref;
    struct dm_apply_job *job;
    struct srm_instance **pp, *s;
    const struct srm_config *oc = d->cfg->config;
    int rc;

    if (d->stopping)
        return -ECANCELED;
    srm_notify("RELOADING=1");
    rc = srm_daemon_prepare_config(d->plugins, d->config_path, &nc, diag);
    if (rc < 0) {
        srm_notify("READY=1");
        return rc;
    }
    if (strcmp(nc->socket, oc->socket) != 0 ||
        strcmp(nc->database, oc->database) != 0)
        SRM_WARNING("daemon: reload: daemon.socket and daemon.database "
                    "take effect at the next restart");
    srm_log_set_level(nc->log_level);
    ref = srm_config_ref_new(nc);
    job = dm_apply_job_new(d, ref);

    /* Stop the sources that are gone or changed. */
    pp = &d->sources;
    while ((s = *pp) != NULL) {
        const struct srm_source_cfg *n = srm_config_source(nc, s->name);
        if (n != NULL && dm_same_source(s, n)) {
            pp = &s->next;
            res.n_unchanged++;
            continue;
        }
        if (n == NULL) {
            res.removed = dm_names_push(res.removed, &res.n_removed, s->name);
            dm_job_retire(job, s->source_id);
        } else {
            res.changed = dm_names_push(res.changed, &res.n_changed, s->name);
        }
        *pp = s->next;
        s->next = NULL;
        srm_source_stop(s);
    }
    /* Start the new and the changed ones (with their saved cursors, read
     * by the writer job once everything before it has committed). */
    for (size_t i = 0; i < nc->n_sources; i++) {
        const struct srm_source_cfg *n = &nc->sources[i];
        if (srm_daemon_source(d, n->name) != NULL)
            continue;
        bool changed = false;
        for (size_t j = 0; j < res.n_changed; j++)
            changed |= strcmp(res.changed[j], n->name) == 0;
        if (!changed)
            res.added = dm_names_push(res.added, &res.n_added, n->name);
        dm_job_add(job, n, srm_plugins_find(d->plugins, n->plugin));
    }
    srm_config_ref_put(d->cfg);
    d->cfg = ref;
    srm_writer_submit(d->writer, dm_apply_fn, dm_reload_applied, job);

    SRM_NOTICE("daemon: reloaded %s: %zu added, %zu removed, %zu changed, "
               "%zu unchanged", d->config_path, res.n_added, res.n_removed,
               res.n_changed, res.n_unchanged);
    srm_notify("READY=1");
    if (ret != NULL)
        *ret = res;
    else
        srm_reload_result_fini(&res);
    return 0;
}

struct srm_instance *srm_daemon_source(struct srm_daemon *d,
                                       const char *name)
{
    for (struct srm_instance *s = d->sources; s; s = s->next)
        if (strcmp(s->name, name) == 0)
            return s;
    return NULL;
}

/* ---- stop ---- */

static void dm_close_cb(uv_handle_t *h)
{
    (void)h;
}

void srm_daemon_stop(struct srm_daemon *d)
{
    struct srm_instance *s;

    if (d->stopping)
        return;
    d->stopping = true;
    srm_notify("STOPPING=1");
    /* Stop taking work first, then end the sources (their requests are
     * cancelled, unflushed records dropped: their cursors were not moved),
     * then let the writer finish the batches it holds. */
    if (d->ctl != NULL)
        srm_ctl_server_stop(d->ctl);
    d->ctl = NULL;
    srm_verify_stop(); /* verify.h: before the writer and HTTP engine go */
    while ((s = d->sources) != NULL) {
        d->sources = s->next;
        s->next = NULL;
        srm_source_stop(s);
    }
    srm_writer_destroy(d->writer);
    d->writer = NULL;
    srm_http_destroy(d->http);
    d->http = NULL;
    if (d->signals_started) {
        uv_close((uv_handle_t *)&d->sig_term, dm_close_cb);
        uv_close((uv_handle_t *)&d->sig_int, dm_close_cb);
        uv_close((uv_handle_t *)&d->sig_hup, dm_close_cb);
        d->signals_started = false;
    }
}

void srm_daemon_fini(struct srm_daemon *d)
{
    srm_reader_destroy(d->reader);
    d->reader = NULL;
    srm_config_ref_put(d->cfg);
    d->cfg = NULL;
    srm_people_links_clear(); /* the writer, their user, has stopped */
    srm_strmap_destroy(d->validators);
    d->validators = NULL;
    free(d->config_path);
    d->config_path = NULL;
    if (srm_daemon_self == d)
        srm_daemon_self = NULL;
}
