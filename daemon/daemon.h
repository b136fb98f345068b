/* daemon.h - the running daemon: configuration, plugins, engines, sources.
 * Everything here belongs to the loop thread. */
#ifndef SRM_DAEMON_DAEMON_H
#define SRM_DAEMON_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "config.h"
#include "strmap.h"

struct srm_plugins;
struct srm_http;
struct srm_writer;
struct srm_reader;
struct srm_ctl_server;
struct srm_instance;

/* A configuration shared by the sources created from it: a source's plugin
 * may keep pointers to its config values for the instance's lifetime, so a
 * reloaded config stays alive until the last source made from it is gone. */
struct srm_config_ref {
    struct srm_config *config;
    int refs;
};
struct srm_config_ref *srm_config_ref_new(struct srm_config *c); /* takes c */
struct srm_config_ref *srm_config_ref_get(struct srm_config_ref *r);
void srm_config_ref_put(struct srm_config_ref *r); /* accepts NULL */

struct srm_daemon {
    uv_loop_t *loop;
    char *config_path;
    struct srm_config_ref *cfg;     /* the config in force */
    struct srm_plugins *plugins;
    struct srm_http *http;
    struct srm_writer *writer;
    struct srm_reader *reader;
    struct srm_ctl_server *ctl;
    struct srm_instance *sources;   /* list, in config order */
    struct srm_strmap *validators;  /* url -> "etag\nlast-modified", committed */
    size_t backlog;                 /* records of all sources not committed */
    struct srm_instance *backlog_waiters, *backlog_waiters_tail; /* FIFO */
    int64_t started_at;
    bool stopping;
    int exit_code;
    uv_signal_t sig_term, sig_int, sig_hup;
    bool signals_started;
};

/* The one daemon of this process (set by srm_daemon_start). The host API
 * reaches it through its instances; RPC handlers through this. */
extern struct srm_daemon *srm_daemon_self;

/* Load the config file and the plugins, bind every source to its plugin's
 * schema. Errors go to diag. Used at start-up, by --check-config and by
 * reload; loads plugins not loaded yet from the config's plugin_dir. */
int srm_daemon_prepare_config(struct srm_plugins *plugins, const char *path,
                              struct srm_config **ret_config,
                              struct srm_diag *diag);

/* Open the store, start the engines, the control socket and the sources.
 * Takes ownership of config. Returns 0, or a negative error after logging;
 * on failure the caller still calls srm_daemon_stop(), runs the loop until
 * it ends, then srm_daemon_fini(), to release what was started. */
int srm_daemon_start(struct srm_daemon *d, uv_loop_t *loop,
                     const char *config_path, struct srm_plugins *plugins,
                     struct srm_config *config);

/* Begin a graceful stop: refuse new work, stop the sources, let the writer
 * finish what it holds, close everything; the loop then ends. */
void srm_daemon_stop(struct srm_daemon *d);

/* Free what is left after the loop has ended. */
void srm_daemon_fini(struct srm_daemon *d);

/* Re-read the config file and apply it: added, removed and changed sources
 * without a restart. A bad file is refused (diag) and nothing changes.
 * ret_* (may be NULL) receive JSON-able summaries: arrays of names. */
struct srm_reload_result {
    char **added, **removed, **changed;
    size_t n_added, n_removed, n_changed, n_unchanged;
};
int srm_daemon_reload(struct srm_daemon *d, struct srm_diag *diag,
                      struct srm_reload_result *ret);
void srm_reload_result_fini(struct srm_reload_result *r);

/* Find a running source by name, or NULL. */
struct srm_instance *srm_daemon_source(struct srm_daemon *d,
                                       const char *name);

#endif
