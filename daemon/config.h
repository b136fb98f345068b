/* config.h - srmd.yaml: load, validate against the core keys and the
 * plugins' schemas, and typed access to a source's plugin keys.
 *
 * Every error names file:line:column and the key path, e.g.
 *   srmd.yaml:14:7: sources[2].every: expected a duration like 5m
 * All errors are collected (struct srm_diag), then printed together. */
#ifndef SRM_DAEMON_CONFIG_H
#define SRM_DAEMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config_yaml.h"
#include "srm/plugin.h"

/* Collected error messages, each a complete line without newline. */
struct srm_diag {
    char **msgs;
    size_t n;
};
void srm_diag_init(struct srm_diag *d);
void srm_diag_fini(struct srm_diag *d);
/* Add "file:line:col: path: message" at node (or "file: path: message"
 * when node is NULL). */
void srm_diag_add(struct srm_diag *d, const struct srm_cfg_node *node,
                  const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Print every message to stderr, one per line. */
void srm_diag_print(const struct srm_diag *d);

/* A validated plugin key of a source. */
struct srm_cfg_value {
    char *key;
    enum srm_cfg_type type;
    char *str;            /* STRING, SECRET, URL (token_file already read) */
    int64_t num;          /* INT, DURATION (seconds) */
    bool b;               /* BOOL */
    char **list;          /* STRING_LIST, NULL-terminated */
    size_t n_list;
    const struct srm_cfg_node *node; /* where it was written, or NULL */
};

struct srm_source_cfg {
    char *name;
    char *plugin;
    int64_t every;        /* seconds; default 300 */
    bool insecure;        /* TLS verification off, warned each pass */
    const struct srm_cfg_node *node; /* the source's mapping */
    char *path;           /* "sources[2]" for error messages */
    /* Canonical text of the source's keys and values: two configs whose
     * source has the same fingerprint need no restart of that source. */
    char *fingerprint;
    /* Filled by srm_config_bind_source(). */
    struct srm_cfg_value *values;
    size_t n_values;
};

struct srm_member_cfg {
    char *user;
    char *name;
};

struct srm_config {
    char *path;          /* as given */
    char *dir;           /* folder relative paths resolve against */
    /* daemon */
    char *socket;        /* absolute */
    char *database;      /* absolute */
    char *plugin_dir;    /* absolute; default SRM_DEFAULT_PLUGIN_DIR */
    int log_level;       /* enum srm_log_level; default SRM_LOG_INFO */
    char *socket_group;  /* or NULL */
    int64_t cache_kib;   /* daemon.cache_size (e.g. 16MiB... in KiB); 0 default */
    /* team */
    char **admins;       /* Unix user names */
    size_t n_admins;
    struct srm_member_cfg *members;
    size_t n_members;
    /* listen */
    char **keywords;     /* NULL-terminated */
    size_t n_keywords;
    /* sources */
    struct srm_source_cfg *sources;
    size_t n_sources;

    struct srm_cfg_node *root; /* owns the tree the nodes above point into */
};

/* Parse and validate the core keys of the file at path. Returns 0 and the
 * config, or -EINVAL with every error in diag (or another negative errno
 * when the file cannot be read, also described in diag). */
int srm_config_load(const char *path, struct srm_config **ret_config,
                    struct srm_diag *diag);
void srm_config_destroy(struct srm_config *c); /* accepts NULL */

/* Validate a source's plugin keys against a plugin schema and fill
 * src->values: unknown keys, wrong types, missing required keys, durations,
 * URLs, token_file. The daemon's own keys (name, plugin, every, insecure)
 * are skipped. Returns 0 or -EINVAL with errors in diag. */
int srm_config_bind_source(struct srm_source_cfg *src,
                           const struct srm_cfg_field *schema,
                           struct srm_diag *diag);

/* The bound value of key, or NULL when the schema has no such key. */
const struct srm_cfg_value *
srm_source_cfg_get(const struct srm_source_cfg *src, const char *key);

/* "90s", "5m", "1h", "2d", "1h30m", plain seconds "300" -> seconds.
 * Returns 0 or -EINVAL. */
int srm_duration_parse(const char *s, int64_t *ret_seconds);

/* Find a source by name, or NULL. */
const struct srm_source_cfg *srm_config_source(const struct srm_config *c,
                                               const char *name);

/* Whether user is in team.admins / team.members. */
bool srm_config_is_admin(const struct srm_config *c, const char *user);
const struct srm_member_cfg *srm_config_member(const struct srm_config *c,
                                               const char *user);

#endif
