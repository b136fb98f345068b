/* config_yaml.h - read a YAML file into a tree of positioned nodes.
 *
 * This file only builds the tree; daemon/config.c validates it. Every node
 * keeps the file, line and column where it was written, all 1-based (libyaml
 * counts from 0), so that errors found long after parsing can still point at
 * the exact spot. Mapping keys are nodes too, with their own position.
 *
 * Scalars have ${VAR} replaced by the environment variable VAR; "$${" writes
 * a literal "${". Anchors and aliases are refused, duplicate keys in one
 * mapping are errors, and only one document per file is accepted. */
#ifndef SRM_DAEMON_CONFIG_YAML_H
#define SRM_DAEMON_CONFIG_YAML_H

#include <stdbool.h>
#include <stddef.h>

struct srm_diag; /* daemon/config.h */

enum srm_cfg_kind {
    SRM_CFG_NODE_SCALAR = 1,
    SRM_CFG_NODE_MAP = 2,
    SRM_CFG_NODE_SEQ = 3,
};

struct srm_cfg_node {
    enum srm_cfg_kind kind;
    const char *file;   /* the path as given to the loader; owned by the root */
    unsigned line, col; /* 1-based */
    /* Key path for messages: "" for the root, "daemon.socket",
     * "sources[2].every" (sequence indexes count from 0). */
    char *path;
    /* SCALAR: the value after ${VAR} expansion, NUL-terminated. */
    char *scalar;
    /* SCALAR written plainly as nothing, "~" or "null": YAML's null. */
    bool null;
    /* A value inside a mapping: its key (a SCALAR node); otherwise NULL. */
    struct srm_cfg_node *key;
    /* MAP: the values in file order, each with ->key set. SEQ: the items. */
    struct srm_cfg_node **items;
    size_t n_items;
    char *own_file; /* private: set on the root only */
};

/* Parse the YAML file at path into a tree. Blocks on file I/O (call it at
 * startup or reload, never from a loop callback).
 *
 * Returns 0 and *ret_root, or a negative errno with one message per problem
 * appended to diag:
 *  - -ENOENT / -EACCES / ...: the file cannot be opened ("path: cannot
 *    read: reason");
 *  - -EINVAL: a syntax error ("file:line:col: yaml: problem"), in which case
 *    *ret_root is NULL; or duplicate keys, unset variables, aliases, in
 *    which case *ret_root is still set to the rest of the tree so that the
 *    validator can report further errors in the same run.
 * An empty file gives an empty mapping. The caller owns *ret_root and frees
 * it with srm_cfg_node_destroy(). */
int srm_cfg_yaml_load(const char *path, struct srm_diag *diag,
                      struct srm_cfg_node **ret_root);

/* The same from a buffer; name stands for the file in positions. */
int srm_cfg_yaml_load_buffer(const char *name, const char *buf, size_t len,
                             struct srm_diag *diag,
                             struct srm_cfg_node **ret_root);

/* Free a tree returned by the loaders. Accepts NULL. */
void srm_cfg_node_destroy(struct srm_cfg_node *root);

/* The value of key in a MAP node, or NULL (also when map is not a MAP). */
const struct srm_cfg_node *srm_cfg_node_get(const struct srm_cfg_node *map,
                                            const char *key);

/* The i-th item of a MAP or SEQ, or NULL when i is out of range. */
const struct srm_cfg_node *srm_cfg_node_at(const struct srm_cfg_node *node,
                                           size_t i);

/* "a scalar", "a mapping", "a list": for "expected X, found Y" messages. */
const char *srm_cfg_kind_name(enum srm_cfg_kind kind);

#endif
