/* config_yaml.c - build a positioned node tree from YAML with libyaml's
 * event API. Nothing here knows what the keys mean; config.c does. */
#include "config_yaml.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "config.h"
#include "mem.h"

/* Deeper nesting than any srmd.yaml needs; bounds the recursion so a
 * hostile file cannot exhaust the stack. */
#define CY_MAX_DEPTH 64
/* A configuration is a few KiB; this only stops a wrong path (a device, a
 * database) from being read whole. */
#define CY_MAX_FILE (16u * 1024 * 1024)

struct cy_ctx {
    yaml_parser_t parser;
    const char *file;
    const char *buf; /* the whole input, to place reader errors */
    size_t len;
    struct srm_diag *diag;
    bool failed;     /* a syntax error: the tree is unusable */
    size_t n_errors; /* semantic errors: the tree is still usable */
};

static struct srm_cfg_node *cy_node(struct cy_ctx *cy, const char *file,
                                    const yaml_event_t *ev, int depth,
                                    const char *path);
static void cy_free(struct srm_cfg_node *n);

static unsigned cy_line(const yaml_mark_t *m)
{
    return (unsigned)m->line + 1;
}

static unsigned cy_col(const yaml_mark_t *m)
{
    return (unsigned)m->column + 1;
}

/* Report libyaml's own error and stop: it cannot resume after one. */
static void cy_syntax_error(struct cy_ctx *cy)
{
    const yaml_parser_t *p = &cy->parser;
    const yaml_mark_t *m = &p->problem_mark;
    const char *problem = p->problem ? p->problem : "malformed document";

    if (p->error == YAML_READER_ERROR) {
        /* The reader reports a byte offset, not a mark: count lines up to
         * it (columns in bytes, as the offending bytes are not text). */
        unsigned line = 1, col = 1;
        for (size_t i = 0; i < p->problem_offset && i < cy->len; i++) {
            if (cy->buf[i] == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        }
        srm_diag_add_at(cy->diag, cy->file, line, col, NULL, "yaml: %s",
                        problem);
    } else if (p->context) {
        srm_diag_add_at(cy->diag, cy->file, cy_line(m), cy_col(m), NULL,
                        "yaml: %s (%s started at line %u)", problem,
                        p->context, cy_line(&p->context_mark));
    } else {
        srm_diag_add_at(cy->diag, cy->file, cy_line(m), cy_col(m), NULL,
                        "yaml: %s", problem);
    }
    cy->failed = true;
}

static bool cy_next(struct cy_ctx *cy, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&cy->parser, ev)) {
        cy_syntax_error(cy);
        return false;
    }
    return true;
}

static struct srm_cfg_node *cy_alloc(enum srm_cfg_kind kind, const char *file,
                                     const yaml_mark_t *m, const char *path)
{
    struct srm_cfg_node *n = srm_xcalloc(1, sizeof(*n));

    n->kind = kind;
    n->file = file;
    n->line = cy_line(m);
    n->col = cy_col(m);
    n->path = srm_xstrdup(path);
    return n;
}

static void cy_push(struct srm_cfg_node *parent, struct srm_cfg_node *child)
{
    parent->items = srm_xreallocarray(parent->items, parent->n_items + 1,
                                      sizeof(*parent->items));
    parent->items[parent->n_items++] = child;
}

static bool cy_is_var_start(char c)
{
    return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool cy_is_var_char(char c)
{
    return cy_is_var_start(c) || (c >= '0' && c <= '9');
}

/* Expand ${VAR} and $${ in s into a new string. On an error, reports it at
 * node n and returns a copy of s unexpanded. */
static char *cy_expand(struct cy_ctx *cy, const struct srm_cfg_node *n,
                       const char *s, size_t len)
{
    char *out = NULL;
    size_t out_len = 0;
    FILE *f = open_memstream(&out, &out_len);
    size_t i = 0;

    if (f == NULL)
        abort(); /* only fails on OOM, fatal in the core */
    while (i < len) {
        if (s[i] == '$' && i + 2 < len && s[i + 1] == '$' && s[i + 2] == '{') {
            fputs("${", f);
            i += 3;
            continue;
        }
        if (s[i] != '$' || i + 1 >= len || s[i + 1] != '{') {
            fputc(s[i++], f);
            continue;
        }
        size_t start = i + 2, end = start;
        while (end < len && cy_is_var_char(s[end]))
            end++;
        if (end >= len || s[end] != '}' || end == start ||
            !cy_is_var_start(s[start])) {
            srm_diag_add(cy->diag, n, n->path,
                         "malformed ${...}: expected ${NAME} with a letter "
                         "or _ first (write $${ for a literal ${)");
            goto fail;
        }
        char *name = srm_xstrndup(s + start, end - start);
        const char *val = getenv(name);
        if (val == NULL) {
            srm_diag_add(cy->diag, n, n->path,
                         "environment variable %s is not set", name);
            free(name);
            goto fail;
        }
        free(name);
        fputs(val, f);
        i = end + 1;
    }
    fclose(f);
    return out;

fail:
    fclose(f);
    free(out);
    cy->n_errors++;
    return srm_xstrndup(s, len);
}

static struct srm_cfg_node *cy_scalar(struct cy_ctx *cy, const char *file,
                                      const yaml_event_t *ev, const char *path)
{
    struct srm_cfg_node *n =
        cy_alloc(SRM_CFG_NODE_SCALAR, file, &ev->start_mark, path);
    const char *v = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;

    if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
        (len == 0 || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
         strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0)) {
        n->null = true;
        n->scalar = srm_xstrdup("");
        return n;
    }
    n->scalar = cy_expand(cy, n, v, len);
    return n;
}

static struct srm_cfg_node *cy_seq(struct cy_ctx *cy, const char *file,
                                   const yaml_event_t *start, int depth,
                                   const char *path)
{
    struct srm_cfg_node *n =
        cy_alloc(SRM_CFG_NODE_SEQ, file, &start->start_mark, path);
    yaml_event_t ev;

    for (;;) {
        if (!cy_next(cy, &ev))
            goto fail;
        if (ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&ev);
            return n;
        }
        char *ipath = srm_xasprintf("%s[%zu]", path, n->n_items);
        struct srm_cfg_node *item = cy_node(cy, file, &ev, depth + 1, ipath);
        free(ipath);
        yaml_event_delete(&ev);
        if (item == NULL)
            goto fail;
        cy_push(n, item);
    }

fail:
    cy_free(n);
    return NULL;
}

static struct srm_cfg_node *cy_map(struct cy_ctx *cy, const char *file,
                                   const yaml_event_t *start, int depth,
                                   const char *path)
{
    struct srm_cfg_node *n =
        cy_alloc(SRM_CFG_NODE_MAP, file, &start->start_mark, path);
    yaml_event_t ev;

    for (;;) {
        if (!cy_next(cy, &ev))
            goto fail;
        if (ev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&ev);
            return n;
        }
        if (ev.type != YAML_SCALAR_EVENT) {
            srm_diag_add_at(cy->diag, file, cy_line(&ev.start_mark),
                            cy_col(&ev.start_mark), path,
                            "mapping keys must be plain strings");
            yaml_event_delete(&ev);
            cy->failed = true;
            goto fail;
        }
        const char *k = (const char *)ev.data.scalar.value;
        char *kpath = *path ? srm_xasprintf("%s.%s", path, k)
                            : srm_xstrdup(k);
        /* Keys are taken literally: ${VAR} in a key would make the set of
         * keys depend on the environment. */
        struct srm_cfg_node *key =
            cy_alloc(SRM_CFG_NODE_SCALAR, file, &ev.start_mark, kpath);
        key->scalar = srm_xstrndup(k, ev.data.scalar.length);
        yaml_event_delete(&ev);

        if (!cy_next(cy, &ev)) {
            free(kpath);
            cy_free(key);
            goto fail;
        }
        struct srm_cfg_node *val = cy_node(cy, file, &ev, depth + 1, kpath);
        yaml_event_delete(&ev);
        free(kpath);
        if (val == NULL) {
            cy_free(key);
            goto fail;
        }
        val->key = key;

        const struct srm_cfg_node *first = srm_cfg_node_get(n, key->scalar);
        if (first != NULL) {
            srm_diag_add(cy->diag, key, key->path,
                         "duplicate key \"%s\" (first at line %u)",
                         key->scalar, first->key->line);
            cy->n_errors++;
            cy_free(val); /* keep the first, as the message says */
            continue;
        }
        cy_push(n, val);
    }

fail:
    cy_free(n);
    return NULL;
}

/* Build the node that starts with event ev (borrowed). NULL after a
 * syntax error, already reported. */
static struct srm_cfg_node *cy_node(struct cy_ctx *cy, const char *file,
                                    const yaml_event_t *ev, int depth,
                                    const char *path)
{
    if (depth > CY_MAX_DEPTH) {
        srm_diag_add_at(cy->diag, file, cy_line(&ev->start_mark),
                        cy_col(&ev->start_mark), path,
                        "nested deeper than %d levels", CY_MAX_DEPTH);
        cy->failed = true;
        return NULL;
    }
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        return cy_scalar(cy, file, ev, path);
    case YAML_SEQUENCE_START_EVENT:
        return cy_seq(cy, file, ev, depth, path);
    case YAML_MAPPING_START_EVENT:
        return cy_map(cy, file, ev, depth, path);
    case YAML_ALIAS_EVENT:
        /* Aliases would let one node sit at two key paths; refusing them
         * keeps every error pointing at one place. */
        srm_diag_add_at(cy->diag, file, cy_line(&ev->start_mark),
                        cy_col(&ev->start_mark), path,
                        "aliases (*%s) are not supported; write the value "
                        "out",
                        (const char *)ev->data.alias.anchor);
        cy->failed = true;
        return NULL;
    default:
        srm_diag_add_at(cy->diag, file, cy_line(&ev->start_mark),
                        cy_col(&ev->start_mark), path,
                        "yaml: unexpected event %d", (int)ev->type);
        cy->failed = true;
        return NULL;
    }
}

static void cy_free(struct srm_cfg_node *n)
{
    if (n == NULL)
        return;
    for (size_t i = 0; i < n->n_items; i++)
        cy_free(n->items[i]);
    free(n->items);
    cy_free(n->key);
    free(n->path);
    free(n->scalar);
    free(n->own_file);
    free(n);
}

/* Read the whole stream: STREAM_START, at most one document, STREAM_END. */
static struct srm_cfg_node *cy_stream(struct cy_ctx *cy, const char *file)
{
    struct srm_cfg_node *root = NULL;
    yaml_event_t ev;
    bool in_doc = false;

    for (;;) {
        if (!cy_next(cy, &ev))
            goto fail;
        yaml_event_type_t type = ev.type;
        if (type == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        if (type == YAML_DOCUMENT_START_EVENT && root != NULL) {
            srm_diag_add_at(cy->diag, file, cy_line(&ev.start_mark),
                            cy_col(&ev.start_mark), NULL,
                            "yaml: only one document is allowed");
            yaml_event_delete(&ev);
            cy->failed = true;
            goto fail;
        }
        if (type == YAML_DOCUMENT_START_EVENT) {
            in_doc = true;
        } else if (type == YAML_DOCUMENT_END_EVENT) {
            in_doc = false;
        } else if (in_doc && type != YAML_STREAM_START_EVENT) {
            root = cy_node(cy, file, &ev, 0, "");
            if (root == NULL) {
                yaml_event_delete(&ev);
                goto fail;
            }
        }
        yaml_event_delete(&ev);
    }
    if (root == NULL) {
        /* An empty file: an empty mapping, so every section is absent. */
        yaml_mark_t m = {0};
        root = cy_alloc(SRM_CFG_NODE_MAP, file, &m, "");
    }
    return root;

fail:
    cy_free(root);
    return NULL;
}

static int cy_run(struct cy_ctx *cy, const char *file,
                  struct srm_cfg_node **ret_root)
{
    struct srm_cfg_node *root;
    char *own = srm_xstrdup(file);

    /* Nodes point at own; the root frees it. */
    root = cy_stream(cy, own);
    yaml_parser_delete(&cy->parser);
    if (root == NULL) {
        free(own);
        *ret_root = NULL;
        return -EINVAL;
    }
    root->own_file = own;
    *ret_root = root;
    return cy->n_errors ? -EINVAL : 0;
}

/* Read all of path: a config file is small, and having it in memory lets
 * reader errors be placed by line and column. */
static int cy_slurp(const char *path, char **ret_buf, size_t *ret_len)
{
    char *buf = NULL;
    size_t len = 0, cap = 0;
    FILE *f = fopen(path, "rb");
    int r = 0;

    if (f == NULL)
        return -errno;
    for (;;) {
        if (len == cap) {
            if (cap >= CY_MAX_FILE) {
                r = -EFBIG;
                goto fail;
            }
            cap = cap ? cap * 2 : 4096;
            buf = srm_xrealloc(buf, cap);
        }
        errno = 0;
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f)) {
                r = errno ? -errno : -EIO; /* e.g. EISDIR */
                goto fail;
            }
            break;
        }
    }
    fclose(f);
    *ret_buf = buf;
    *ret_len = len;
    return 0;

fail:
    fclose(f);
    free(buf);
    return r;
}

int srm_cfg_yaml_load(const char *path, struct srm_diag *diag,
                      struct srm_cfg_node **ret_root)
{
    char *buf = NULL;
    size_t len = 0;
    int r;

    *ret_root = NULL;
    r = cy_slurp(path, &buf, &len);
    if (r < 0) {
        srm_diag_add_at(diag, path, 0, 0, NULL, "cannot read: %s",
                        r == -EFBIG ? "larger than 16 MiB" : strerror(-r));
        return r;
    }
    r = srm_cfg_yaml_load_buffer(path, buf, len, diag, ret_root);
    free(buf);
    return r;
}

int srm_cfg_yaml_load_buffer(const char *name, const char *buf, size_t len,
                             struct srm_diag *diag,
                             struct srm_cfg_node **ret_root)
{
    struct cy_ctx cy = {.file = name, .buf = buf, .len = len, .diag = diag};

    *ret_root = NULL;
    if (!yaml_parser_initialize(&cy.parser))
        abort(); /* only fails on OOM, fatal in the core */
    yaml_parser_set_input_string(&cy.parser, (const unsigned char *)buf, len);
    return cy_run(&cy, name, ret_root);
}

void srm_cfg_node_destroy(struct srm_cfg_node *root)
{
    cy_free(root);
}

const struct srm_cfg_node *srm_cfg_node_get(const struct srm_cfg_node *map,
                                            const char *key)
{
    if (map == NULL || map->kind != SRM_CFG_NODE_MAP)
        return NULL;
    for (size_t i = 0; i < map->n_items; i++)
        if (strcmp(map->items[i]->key->scalar, key) == 0)
            return map->items[i];
    return NULL;
}

const struct srm_cfg_node *srm_cfg_node_at(const struct srm_cfg_node *node,
                                           size_t i)
{
    if (node == NULL || node->kind == SRM_CFG_NODE_SCALAR ||
        i >= node->n_items)
        return NULL;
    return node->items[i];
}

const char *srm_cfg_kind_name(enum srm_cfg_kind kind)
{
    switch (kind) {
    case SRM_CFG_NODE_SCALAR: return "a scalar";
    case SRM_CFG_NODE_MAP: return "a mapping";
    case SRM_CFG_NODE_SEQ: return "a list";
    }
    return "?";
}
