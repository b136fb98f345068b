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
/* Add "file:line:col: path: message" at an explicit position; line 0
 * leaves out ":line:col", an empty or NULL path leaves out "path: ". Used
 * for positions that have no node (YAML syntax errors, unreadable files). */
void srm_diag_add_at(struct srm_diag *d, const char *file, unsigned line,
                     unsigned col, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
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
    char *dir;            /* the config folder, for X_file paths */
    /* Canonical text of the source's keys and values (map keys sorted,
     * scalars quoted, after ${VAR} expansion): two configs whose source has
     * the same fingerprint need no restart of that source.
     * srm_config_bind_source() appends a hash of each X_file secret's
     * content, so a rotated token file counts as a change: compare the
     * fingerprints of sources that were both bound, or both not. */
    char *fingerprint;
    /* Filled by srm_config_bind_source(). */
    struct srm_cfg_value *values;
    size_t n_values;
};

struct srm_member_cfg {
    char *user;
    char *name;
};

/* team.routes: a mention matching every key set here goes to member. */
struct srm_route_cfg {
    char *network;       /* or NULL */
    char *source;        /* a configured source name, or NULL */
    char *keyword;       /* or NULL */
    char *tag;           /* or NULL */
    char *member;        /* a user in team.members or team.admins */
    const struct srm_cfg_node *node; /* the route's mapping */
};

/* people: an explicit identity link (docs/people.md): these accounts are
 * one person. Identities are written NETWORK:VALUE, VALUE being the remote
 * id, the handle, the email or the profile URL; validated here, matched
 * against the database by people.c. */
struct srm_person_cfg {
    char *name;          /* display name, or NULL */
    char **identities;   /* "network:value" as written, network in lower
                          * case and a leading '@' of value dropped;
                          * NULL-terminated, at least two */
    size_t n_identities;
    char *where;         /* "FILE:LINE" of the entry, for evidence details */
    const struct srm_cfg_node *node; /* the entry's mapping */
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
    int64_t pass_timeout; /* daemon.pass_timeout in seconds; default 600 */
    bool fulltext;        /* daemon.fulltext: index mention text; default on */
    /* team */
    char **admins;       /* Unix user names */
    size_t n_admins;
    struct srm_member_cfg *members;
    size_t n_members;
    struct srm_route_cfg *routes; /* in file order */
    size_t n_routes;
    /* listen */
    char **keywords;     /* NULL-terminated */
    size_t n_keywords;
    /* sources */
    struct srm_source_cfg *sources;
    size_t n_sources;
    /* people */
    struct srm_person_cfg *people; /* in file order */
    size_t n_people;

    struct srm_cfg_node *root; /* owns the tree the nodes above point into */
};

/* Parse and validate the core keys of the file at path. Returns 0 and the
 * config, or -EINVAL with every error in diag (or another negative errno
 * when the file cannot be read, also described in diag). Sources' plugin
 * keys are left for srm_config_bind_source(). The caller owns *ret_config
 * (srm_config_destroy). Blocks on file I/O: call at startup or reload. */
int srm_config_load(const char *path, struct srm_config **ret_config,
                    struct srm_diag *diag);
void srm_config_destroy(struct srm_config *c); /* accepts NULL */

/* Validate a source's plugin keys against a plugin schema and fill
 * src->values: unknown keys, wrong types, missing required keys, durations,
 * URLs, token_file. The daemon's own keys (name, plugin, every, insecure)
 * are skipped. Schema defaults fill absent keys. A SRM_CFG_SECRET key X may
 * be written as X_file: PATH (relative to the config folder), read here:
 * this blocks on file I/O. Calling it again rebinds (e.g. another schema).
 * Returns 0 or -EINVAL with errors in diag. */
int srm_config_bind_source(struct srm_source_cfg *src,
                           const struct srm_cfg_field *schema,
                           struct srm_diag *diag);

/* The bound value of key, or NULL when the schema has no such key. For an
 * absent optional key without default, the value has str/list NULL, num 0,
 * b false and node NULL. Borrowed from src. */
const struct srm_cfg_value *
srm_source_cfg_get(const struct srm_source_cfg *src, const char *key);

/* "90s", "5m", "1h", "2d", "1h30m", plain seconds "300" -> seconds.
 * Returns 0 or -EINVAL. */
int srm_duration_parse(const char *s, int64_t *ret_seconds);

/* "512KiB", "16MiB", "1GiB" (also K, M, G, KB, MB, GB, all powers of
 * 1024) -> KiB. Returns 0 or -EINVAL (no unit, fraction, overflow). */
int srm_size_parse_kib(const char *s, int64_t *ret_kib);

/* Find a source by name, or NULL. */
const struct srm_source_cfg *srm_config_source(const struct srm_config *c,
                                               const char *name);

/* Whether user is in team.admins / team.members. */
bool srm_config_is_admin(const struct srm_config *c, const char *user);
const struct srm_member_cfg *srm_config_member(const struct srm_config *c,
                                               const char *user);

#endif
