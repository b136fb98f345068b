/* config.c - validate the srmd.yaml tree (built by config_yaml.c) into
 * struct srm_config, and bind a source's plugin keys to a plugin schema.
 *
 * Validation never stops at the first error: each problem is added to the
 * srm_diag with its file:line:col and key path, and the caller prints them
 * all. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "mem.h"

#define CV_DEFAULT_EVERY 300
#define CV_MIN_EVERY 10
/* A secret file is a token or a password, never this large; the cap stops
 * a mistaken path (a log file, /dev/zero) from being read whole. */
#define CV_MAX_SECRET_FILE (64 * 1024)

static const char *const cv_top_keys[] = {"daemon", "team", "listen",
                                          "sources", "people", NULL};
static const char *const cv_daemon_keys[] = {
    "socket", "database", "plugin_dir", "log_level", "socket_group",
    "cache_size", "pass_timeout", "fulltext", NULL};
static const char *const cv_team_keys[] = {"admins", "members", "routes",
                                           NULL};
static const char *const cv_member_keys[] = {"user", "name", NULL};
static const char *const cv_route_keys[] = {"network", "source", "keyword",
                                            "tag", "member", NULL};
static const char *const cv_listen_keys[] = {"keywords", NULL};
static const char *const cv_person_keys[] = {"name", "identities", NULL};
/* The daemon's own keys of a source; every other key is the plugin's. */
static const char *const cv_source_keys[] = {"name", "plugin", "every",
                                             "insecure", NULL};

/* ---------------------------------------------------------------------
 * Diagnostics
 */

void srm_diag_init(struct srm_diag *d)
{
    d->msgs = NULL;
    d->n = 0;
}

void srm_diag_fini(struct srm_diag *d)
{
    for (size_t i = 0; i < d->n; i++)
        free(d->msgs[i]);
    SRM_FREE(d->msgs);
    d->n = 0;
}

static void diag_vadd(struct srm_diag *d, const char *file, unsigned line,
                      unsigned col, const char *path, const char *fmt,
                      va_list ap)
{
    char *msg, *pos, *line_text;

    if (vasprintf(&msg, fmt, ap) < 0)
        abort(); /* OOM is fatal in the core */
    if (file && line > 0)
        pos = srm_xasprintf("%s:%u:%u: ", file, line, col);
    else if (file)
        pos = srm_xasprintf("%s: ", file);
    else
        pos = srm_xstrdup("");
    line_text = srm_xasprintf("%s%s%s%s", pos, path ? path : "",
                              path && *path ? ": " : "", msg);
    free(pos);
    free(msg);
    d->msgs = srm_xreallocarray(d->msgs, d->n + 1, sizeof(*d->msgs));
    d->msgs[d->n++] = line_text;
}

void srm_diag_add_at(struct srm_diag *d, const char *file, unsigned line,
                     unsigned col, const char *path, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    diag_vadd(d, file, line, col, path, fmt, ap);
    va_end(ap);
}

void srm_diag_add(struct srm_diag *d, const struct srm_cfg_node *node,
                  const char *path, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    if (node)
        diag_vadd(d, node->file, node->line, node->col, path, fmt, ap);
    else
        diag_vadd(d, NULL, 0, 0, path, fmt, ap);
    va_end(ap);
}

void srm_diag_print(const struct srm_diag *d)
{
    for (size_t i = 0; i < d->n; i++)
        fprintf(stderr, "%s\n", d->msgs[i]);
}

/* ---------------------------------------------------------------------
 * Value parsers
 */

int srm_duration_parse(const char *s, int64_t *ret_seconds)
{
    static const char units[] = "dhms";
    static const int64_t mult[] = {86400, 3600, 60, 1};
    int64_t total = 0;
    int last = -1;

    if (s == NULL || *s == '\0')
        return -EINVAL;
    while (*s) {
        int64_t n = 0;
        const char *start = s;

        while (*s >= '0' && *s <= '9') {
            if (n > (INT64_MAX - (*s - '0')) / 10)
                return -EINVAL;
            n = n * 10 + (*s++ - '0');
        }
        if (s == start)
            return -EINVAL;
        if (*s == '\0' && last == -1) {
            total = n; /* plain seconds */
            break;
        }
        const char *u = *s ? strchr(units, *s) : NULL;
        /* Units at most once each, largest first: "1h30m", not "30m1h". */
        if (u == NULL || (int)(u - units) <= last)
            return -EINVAL;
        last = (int)(u - units);
        s++;
        if (n > (INT64_MAX - total) / mult[last])
            return -EINVAL;
        total += n * mult[last];
    }
    *ret_seconds = total;
    return 0;
}

int srm_size_parse_kib(const char *s, int64_t *ret_kib)
{
    static const struct {
        const char *unit;
        int64_t kib;
    } units[] = {
        {"K", 1},          {"KB", 1},          {"KiB", 1},
        {"M", 1024},       {"MB", 1024},       {"MiB", 1024},
        {"G", 1024 * 1024}, {"GB", 1024 * 1024}, {"GiB", 1024 * 1024},
    };
    int64_t n = 0;
    const char *p = s;

    if (s == NULL || !(*p >= '0' && *p <= '9'))
        return -EINVAL;
    while (*p >= '0' && *p <= '9') {
        if (n > (INT64_MAX - (*p - '0')) / 10)
            return -EINVAL;
        n = n * 10 + (*p++ - '0');
    }
    while (*p == ' ')
        p++;
    for (size_t i = 0; i < SRM_ARRAY_LEN(units); i++) {
        if (strcasecmp(p, units[i].unit) != 0)
            continue;
        if (n > INT64_MAX / units[i].kib)
            return -EINVAL;
        *ret_kib = n * units[i].kib;
        return 0;
    }
    return -EINVAL;
}

static int cv_bool_parse(const char *s, bool *ret)
{
    static const char *const yes[] = {"true", "yes", "on"};
    static const char *const no[] = {"false", "no", "off"};

    for (size_t i = 0; i < SRM_ARRAY_LEN(yes); i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *ret = true;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *ret = false;
            return 0;
        }
    }
    return -EINVAL;
}

/* ---------------------------------------------------------------------
 * Tree checks. Each reports its own error and returns false on one.
 */

static bool cv_kind(struct srm_diag *d, const struct srm_cfg_node *n,
                    enum srm_cfg_kind want)
{
    if (n->kind == want)
        return true;
    srm_diag_add(d, n, n->path, "expected %s, found %s",
                 srm_cfg_kind_name(want),
                 n->null ? "nothing" : srm_cfg_kind_name(n->kind));
    return false;
}

/* A MAP node, or null (an empty section such as "team:" alone). */
static bool cv_section(struct srm_diag *d, const struct srm_cfg_node *n)
{
    return n->null || cv_kind(d, n, SRM_CFG_NODE_MAP);
}

static bool cv_known(const char *const *known, const char *key)
{
    for (size_t i = 0; known[i]; i++)
        if (strcmp(known[i], key) == 0)
            return true;
    return false;
}

/* Report every key of map not in known, at the key's own position. */
static void cv_unknown_keys(struct srm_diag *d, const struct srm_cfg_node *map,
                            const char *const *known)
{
    for (size_t i = 0; i < map->n_items; i++) {
        const struct srm_cfg_node *key = map->items[i]->key;
        char list[256] = "";

        if (cv_known(known, key->scalar))
            continue;
        for (size_t k = 0; known[k]; k++) {
            strncat(list, k ? ", " : "", sizeof(list) - strlen(list) - 1);
            strncat(list, known[k], sizeof(list) - strlen(list) - 1);
        }
        srm_diag_add(d, key, key->path, "unknown key (expected one of: %s)",
                     list);
    }
}

/* A scalar string into *ret (replacing it). Null leaves *ret alone: an
 * optional key written with no value keeps its default. */
static bool cv_string(struct srm_diag *d, const struct srm_cfg_node *n,
                      char **ret)
{
    if (n->kind == SRM_CFG_NODE_SCALAR && n->null)
        return true;
    if (n->kind != SRM_CFG_NODE_SCALAR) {
        srm_diag_add(d, n, n->path, "expected a string, found %s",
                     srm_cfg_kind_name(n->kind));
        return false;
    }
    free(*ret);
    *ret = srm_xstrdup(n->scalar);
    return true;
}

/* A required non-empty string key of map; missing is reported at map. */
static char *cv_required(struct srm_diag *d, const struct srm_cfg_node *map,
                         const char *key)
{
    const struct srm_cfg_node *n = srm_cfg_node_get(map, key);
    char *s = NULL;

    if (n == NULL) {
        srm_diag_add(d, map, map->path, "missing required key \"%s\"", key);
        return NULL;
    }
    if (n->kind == SRM_CFG_NODE_SCALAR && n->null) {
        srm_diag_add(d, n, n->path, "missing value");
        return NULL;
    }
    if (!cv_string(d, n, &s))
        return NULL;
    if (*s == '\0') {
        srm_diag_add(d, n, n->path, "must not be empty");
        SRM_FREE(s);
    }
    return s;
}

/* dir/value unless value is absolute. */
static char *cv_abspath(const char *dir, const char *value)
{
    while (value[0] == '.' && value[1] == '/')
        value += 2;
    if (value[0] == '/')
        return srm_xstrdup(value);
    return srm_xasprintf("%s/%s", dir, value);
}

static bool cv_path(struct srm_diag *d, const struct srm_cfg_node *n,
                    const char *dir, char **ret)
{
    char *s = NULL;

    if (!cv_string(d, n, &s))
        return false;
    if (s == NULL)
        return true;
    if (*s == '\0') {
        srm_diag_add(d, n, n->path, "expected a path, found an empty string");
        free(s);
        return false;
    }
    free(*ret);
    *ret = cv_abspath(dir, s);
    free(s);
    return true;
}

/* A list of strings, or one string when allow_one. Fills a NULL-terminated
 * array. */
static bool cv_string_list(struct srm_diag *d, const struct srm_cfg_node *n,
                           bool allow_one, char ***ret, size_t *ret_n)
{
    char **list;
    size_t cnt = 0;
    bool ok = true;

    if (n->kind == SRM_CFG_NODE_SCALAR && (n->null || allow_one)) {
        list = srm_xcalloc(2, sizeof(*list));
        if (!n->null)
            list[cnt++] = srm_xstrdup(n->scalar);
        goto done;
    }
    if (n->kind != SRM_CFG_NODE_SEQ) {
        srm_diag_add(d, n, n->path, "expected a list%s, found %s",
                     allow_one ? " or a string" : "",
                     srm_cfg_kind_name(n->kind));
        return false;
    }
    list = srm_xcalloc(n->n_items + 1, sizeof(*list));
    for (size_t i = 0; i < n->n_items; i++) {
        const struct srm_cfg_node *it = n->items[i];
        if (it->kind != SRM_CFG_NODE_SCALAR || it->null) {
            srm_diag_add(d, it, it->path, "expected a string, found %s",
                         it->null ? "nothing" : srm_cfg_kind_name(it->kind));
            ok = false;
            continue;
        }
        list[cnt++] = srm_xstrdup(it->scalar);
    }
done:
    for (size_t i = 0; *ret && (*ret)[i]; i++)
        free((*ret)[i]);
    free(*ret);
    *ret = list;
    *ret_n = cnt;
    return ok;
}

static void cv_free_list(char **list)
{
    for (size_t i = 0; list && list[i]; i++)
        free(list[i]);
    free(list);
}

/* Names end up in file names (plugin) and on command lines (source). */
static bool cv_name_ok(const char *s)
{
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
          (*s >= '0' && *s <= '9')))
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' ||
              *s == '.'))
            return false;
    return true;
}

/* ---------------------------------------------------------------------
 * Sections
 */

static void cv_daemon(struct srm_config *c, const struct srm_cfg_node *sec,
                      struct srm_diag *d)
{
    const struct srm_cfg_node *n;

    if (sec == NULL || !cv_section(d, sec))
        return;
    cv_unknown_keys(d, sec, cv_daemon_keys);
    if ((n = srm_cfg_node_get(sec, "socket")))
        cv_path(d, n, c->dir, &c->socket);
    if ((n = srm_cfg_node_get(sec, "database")))
        cv_path(d, n, c->dir, &c->database);
    if ((n = srm_cfg_node_get(sec, "plugin_dir")))
        cv_path(d, n, c->dir, &c->plugin_dir);
    if ((n = srm_cfg_node_get(sec, "socket_group")))
        cv_string(d, n, &c->socket_group);
    if ((n = srm_cfg_node_get(sec, "log_level")) && !n->null) {
        int level = n->kind == SRM_CFG_NODE_SCALAR
                        ? srm_log_level_parse(n->scalar)
                        : -1;
        if (level < 0)
            srm_diag_add(d, n, n->path,
                         "expected one of error, warning, notice, info, "
                         "debug");
        else
            c->log_level = level;
    }
    if ((n = srm_cfg_node_get(sec, "cache_size")) && !n->null) {
        if (n->kind != SRM_CFG_NODE_SCALAR ||
            srm_size_parse_kib(n->scalar, &c->cache_kib) < 0)
            srm_diag_add(d, n, n->path, "expected a size like 16MiB");
    }
    if ((n = srm_cfg_node_get(sec, "pass_timeout")) && !n->null) {
        if (n->kind != SRM_CFG_NODE_SCALAR ||
            srm_duration_parse(n->scalar, &c->pass_timeout) < 0 ||
            c->pass_timeout < 1)
            srm_diag_add(d, n, n->path, "expected a duration like 10m");
    }
    if ((n = srm_cfg_node_get(sec, "fulltext")) && !n->null) {
        if (n->kind != SRM_CFG_NODE_SCALAR ||
            cv_bool_parse(n->scalar, &c->fulltext) < 0)
            srm_diag_add(d, n, n->path, "expected true or false");
    }
}

static void cv_members(struct srm_config *c, const struct srm_cfg_node *n,
                       struct srm_diag *d)
{
    if (n->null)
        return;
    if (!cv_kind(d, n, SRM_CFG_NODE_SEQ))
        return;
    c->members = srm_xcalloc(n->n_items, sizeof(*c->members));
    for (size_t i = 0; i < n->n_items; i++) {
        const struct srm_cfg_node *m = n->items[i];
        struct srm_member_cfg *mc;
        const struct srm_cfg_node *name;
        char *user;

        if (!cv_kind(d, m, SRM_CFG_NODE_MAP))
            continue;
        cv_unknown_keys(d, m, cv_member_keys);
        user = cv_required(d, m, "user");
        if (user == NULL)
            continue;
        const struct srm_member_cfg *first = srm_config_member(c, user);
        if (first != NULL) {
            const struct srm_cfg_node *un = srm_cfg_node_get(m, "user");
            srm_diag_add(d, un, un->path, "duplicate member \"%s\"", user);
            free(user);
            continue;
        }
        mc = &c->members[c->n_members++];
        mc->user = user;
        if ((name = srm_cfg_node_get(m, "name")))
            cv_string(d, name, &mc->name);
    }
}

static void cv_routes(struct srm_config *c, const struct srm_cfg_node *n,
                      struct srm_diag *d)
{
    if (n->null)
        return;
    if (!cv_kind(d, n, SRM_CFG_NODE_SEQ))
        return;
    c->routes = srm_xcalloc(n->n_items, sizeof(*c->routes));
    for (size_t i = 0; i < n->n_items; i++) {
        const struct srm_cfg_node *r = n->items[i], *v;
        struct srm_route_cfg *rc;

        if (!cv_kind(d, r, SRM_CFG_NODE_MAP))
            continue;
        cv_unknown_keys(d, r, cv_route_keys);
        rc = &c->routes[c->n_routes++];
        rc->node = r;
        if ((v = srm_cfg_node_get(r, "network")))
            cv_string(d, v, &rc->network);
        if ((v = srm_cfg_node_get(r, "source")) && cv_string(d, v, &rc->source) &&
            rc->source && srm_config_source(c, rc->source) == NULL)
            srm_diag_add(d, v, v->path, "unknown source \"%s\"", rc->source);
        if ((v = srm_cfg_node_get(r, "keyword")))
            cv_string(d, v, &rc->keyword);
        if ((v = srm_cfg_node_get(r, "tag")))
            cv_string(d, v, &rc->tag);
        if (!rc->network && !rc->source && !rc->keyword && !rc->tag)
            srm_diag_add(d, r, r->path,
                         "a route needs at least one of network, source, "
                         "keyword, tag");
        rc->member = cv_required(d, r, "member");
        if (rc->member && !srm_config_member(c, rc->member) &&
            !srm_config_is_admin(c, rc->member)) {
            v = srm_cfg_node_get(r, "member");
            srm_diag_add(d, v, v->path,
                         "unknown member \"%s\": not in team.members or "
                         "team.admins",
                         rc->member);
        }
    }
}

static void cv_team(struct srm_config *c, const struct srm_cfg_node *sec,
                    struct srm_diag *d)
{
    const struct srm_cfg_node *n;

    if (sec == NULL || !cv_section(d, sec))
        return;
    cv_unknown_keys(d, sec, cv_team_keys);
    if ((n = srm_cfg_node_get(sec, "admins")))
        cv_string_list(d, n, false, &c->admins, &c->n_admins);
    if ((n = srm_cfg_node_get(sec, "members")))
        cv_members(c, n, d);
    /* Routes refer to members and sources: checked after both. */
}

static void cv_listen(struct srm_config *c, const struct srm_cfg_node *sec,
                      struct srm_diag *d)
{
    const struct srm_cfg_node *n;

    if (sec == NULL || !cv_section(d, sec))
        return;
    cv_unknown_keys(d, sec, cv_listen_keys);
    if ((n = srm_cfg_node_get(sec, "keywords")))
        cv_string_list(d, n, true, &c->keywords, &c->n_keywords);
}

/* Scalars quoted so that "a,b" in one scalar differs from a list [a, b]. */
static void fp_scalar(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fprintf(f, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            fprintf(f, "\\x%02x", (unsigned char)*s);
        else
            fputc(*s, f);
    }
    fputc('"', f);
}

static int fp_cmp(const void *a, const void *b)
{
    const struct srm_cfg_node *const *x = a, *const *y = b;

    return strcmp((*x)->key->scalar, (*y)->key->scalar);
}

/* Map keys sorted, so reordering keys is not a change. */
static void fp_node(FILE *f, const struct srm_cfg_node *n)
{
    const struct srm_cfg_node **sorted;

    switch (n->kind) {
    case SRM_CFG_NODE_SCALAR:
        if (n->null)
            fputs("null", f);
        else
            fp_scalar(f, n->scalar);
        break;
    case SRM_CFG_NODE_SEQ:
        fputc('[', f);
        for (size_t i = 0; i < n->n_items; i++) {
            if (i)
                fputc(',', f);
            fp_node(f, n->items[i]);
        }
        fputc(']', f);
        break;
    case SRM_CFG_NODE_MAP:
        fputc('{', f);
        if (n->n_items == 0) { /* {}: items is NULL */
            fputc('}', f);
            break;
        }
        sorted = srm_xcalloc(n->n_items, sizeof(*sorted));
        memcpy(sorted, n->items, n->n_items * sizeof(*sorted));
        qsort(sorted, n->n_items, sizeof(*sorted), fp_cmp);
        for (size_t i = 0; i < n->n_items; i++) {
            if (i)
                fputc(',', f);
            fp_scalar(f, sorted[i]->key->scalar);
            fputc(':', f);
            fp_node(f, sorted[i]);
        }
        fputc('}', f);
        free(sorted);
        break;
    }
}

static char *fp_text(const struct srm_cfg_node *n)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);

    if (f == NULL)
        abort(); /* only fails on OOM */
    fp_node(f, n);
    fclose(f);
    return out;
}

static void cv_source(struct srm_config *c, const struct srm_cfg_node *s,
                      struct srm_diag *d)
{
    const struct srm_cfg_node *v;
    struct srm_source_cfg *src;
    char *name;

    if (!cv_kind(d, s, SRM_CFG_NODE_MAP))
        return;
    name = cv_required(d, s, "name");
    if (name && !cv_name_ok(name)) {
        v = srm_cfg_node_get(s, "name");
        srm_diag_add(d, v, v->path,
                     "names use letters, digits, '_', '-' and '.', and "
                     "start with a letter or digit");
    } else if (name) {
        const struct srm_source_cfg *first = srm_config_source(c, name);
        if (first) {
            v = srm_cfg_node_get(s, "name");
            srm_diag_add(d, v, v->path,
                         "duplicate source name \"%s\" (first at line %u)",
                         name, srm_cfg_node_get(first->node, "name")->line);
        }
    }
    src = &c->sources[c->n_sources++];
    src->name = name;
    src->node = s;
    src->path = srm_xstrdup(s->path);
    src->dir = srm_xstrdup(c->dir);
    src->every = CV_DEFAULT_EVERY;
    src->plugin = cv_required(d, s, "plugin");
    if (src->plugin && !cv_name_ok(src->plugin)) {
        v = srm_cfg_node_get(s, "plugin");
        srm_diag_add(d, v, v->path,
                     "expected a plugin name such as rss or mastodon");
    }
    if ((v = srm_cfg_node_get(s, "every")) && !v->null) {
        if (v->kind != SRM_CFG_NODE_SCALAR ||
            srm_duration_parse(v->scalar, &src->every) < 0)
            srm_diag_add(d, v, v->path, "expected a duration like 5m");
        else if (src->every < CV_MIN_EVERY)
            srm_diag_add(d, v, v->path, "must be at least %ds",
                         CV_MIN_EVERY);
    }
    if ((v = srm_cfg_node_get(s, "insecure")) && !v->null) {
        if (v->kind != SRM_CFG_NODE_SCALAR ||
            cv_bool_parse(v->scalar, &src->insecure) < 0)
            srm_diag_add(d, v, v->path, "expected true or false");
    }
    src->fingerprint = fp_text(s);
}

static void cv_sources(struct srm_config *c, const struct srm_cfg_node *n,
                       struct srm_diag *d)
{
    if (n == NULL || n->null || !cv_kind(d, n, SRM_CFG_NODE_SEQ))
        return;
    c->sources = srm_xcalloc(n->n_items, sizeof(*c->sources));
    for (size_t i = 0; i < n->n_items; i++)
        cv_source(c, n->items[i], d);
}

/* ---------------------------------------------------------------------
 * people: explicit identity links
 */

#define CV_IDENTITY_HINT                                                      \
    "expected NETWORK:ID, such as mastodon:ada@example.social, "            \
    "bluesky:ada.example.com or github:ada"

/* One identity of a link: "NETWORK:VALUE" with NETWORK a name (made lower
 * case) and VALUE a remote id, handle, email or profile URL (a leading '@'
 * dropped). *ret gets the canonical "network:value". */
static bool cv_link_identity(struct srm_diag *d,
                             const struct srm_cfg_node *it, char **ret)
{
    const char *s, *colon, *v;
    char *net;
    bool ok;

    if (it->kind != SRM_CFG_NODE_SCALAR || it->null) {
        /* "- mastodon: ada" is a mapping to YAML: say how to write it. */
        srm_diag_add(d, it, it->path, "%s; found %s%s", CV_IDENTITY_HINT,
                     it->null ? "nothing" : srm_cfg_kind_name(it->kind),
                     it->kind == SRM_CFG_NODE_MAP
                         ? " (no space after the colon, or quote it)"
                         : "");
        return false;
    }
    s = it->scalar;
    colon = strchr(s, ':');
    if (colon == NULL || colon == s) {
        srm_diag_add(d, it, it->path, "%s", CV_IDENTITY_HINT);
        return false;
    }
    net = srm_xstrndup(s, (size_t)(colon - s));
    for (char *p = net; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    if (strcmp(net, "http") == 0 || strcmp(net, "https") == 0) {
        srm_diag_add(d, it, it->path,
                     "a profile URL needs its network first, like "
                     "mastodon:https://example.social/@ada");
        free(net);
        return false;
    }
    ok = cv_name_ok(net);
    for (const char *p = net; ok && *p; p++)
        ok = *p != '.';
    if (!ok) {
        srm_diag_add(d, it, it->path,
                     "\"%s\" is not a network name (letters, digits, '_' "
                     "and '-'); %s", net, CV_IDENTITY_HINT);
        free(net);
        return false;
    }
    v = colon + 1;
    while (*v == '@')
        v++;
    ok = *v != '\0';
    for (const char *p = v; ok && *p; p++)
        ok = (unsigned char)*p > ' ';
    if (!ok) {
        srm_diag_add(d, it, it->path,
                     *v == '\0' ? "the ID after \"%s:\" is missing"
                                : "the ID after \"%s:\" holds a space",
                     net);
        free(net);
        return false;
    }
    *ret = srm_xasprintf("%s:%s", net, v);
    free(net);
    return true;
}

/* How two written identities compare: lower case, URLs without scheme
 * and trailing slashes (as people.c and the SQL compare them). */
static char *cv_link_norm(const char *id)
{
    const char *colon = strchr(id, ':');
    const char *v = colon + 1;
    char *out, *o;
    size_t len;

    if (strncasecmp(v, "https://", 8) == 0)
        v += 8;
    else if (strncasecmp(v, "http://", 7) == 0)
        v += 7;
    out = srm_xasprintf("%.*s:%s", (int)(colon - id), id, v);
    for (o = out; *o; o++)
        if (*o >= 'A' && *o <= 'Z')
            *o = (char)(*o - 'A' + 'a');
    len = strlen(out);
    while (len > 0 && out[len - 1] == '/')
        out[--len] = '\0';
    return out;
}

/* Every identity seen so far, to refuse one named twice. */
struct cv_seen {
    char *norm;
    size_t entry;
    const struct srm_cfg_node *node;
};

static void cv_person(struct srm_config *c, const struct srm_cfg_node *e,
                      struct cv_seen **seen, size_t *n_seen,
                      struct srm_diag *d)
{
    const struct srm_cfg_node *v, *ids;
    struct srm_person_cfg *pc;
    size_t entry = c->n_people;

    if (!cv_kind(d, e, SRM_CFG_NODE_MAP))
        return;
    cv_unknown_keys(d, e, cv_person_keys);
    pc = &c->people[c->n_people++];
    pc->node = e;
    pc->where = srm_xasprintf("%s:%u", e->file, e->line);
    pc->identities = srm_xcalloc(1, sizeof(*pc->identities));
    if ((v = srm_cfg_node_get(e, "name")) && cv_string(d, v, &pc->name) &&
        pc->name != NULL && pc->name[0] == '\0') {
        srm_diag_add(d, v, v->path, "must not be empty");
        SRM_FREE(pc->name);
    }
    ids = srm_cfg_node_get(e, "identities");
    if (ids == NULL) {
        srm_diag_add(d, e, e->path, "missing required key \"identities\"");
        return;
    }
    if (ids->kind != SRM_CFG_NODE_SEQ) {
        srm_diag_add(d, ids, ids->path,
                     "expected a list of two or more NETWORK:ID, found %s",
                     ids->null ? "nothing" : srm_cfg_kind_name(ids->kind));
        return;
    }
    if (ids->n_items < 2)
        srm_diag_add(d, ids, ids->path,
                     "list at least two identities to link (found %zu)",
                     ids->n_items);
    pc->identities = srm_xreallocarray(pc->identities, ids->n_items + 1,
                                       sizeof(*pc->identities));
    for (size_t i = 0; i < ids->n_items; i++) {
        const struct srm_cfg_node *it = ids->items[i];
        char *id = NULL, *norm;
        size_t k;

        if (!cv_link_identity(d, it, &id))
            continue;
        norm = cv_link_norm(id);
        for (k = 0; k < *n_seen; k++)
            if (strcmp((*seen)[k].norm, norm) == 0)
                break;
        if (k < *n_seen) {
            if ((*seen)[k].entry == entry)
                srm_diag_add(d, it, it->path,
                             "names the same identity as %s",
                             (*seen)[k].node->path);
            else
                srm_diag_add(d, it, it->path,
                             "\"%s\" is already linked in people[%zu] "
                             "(line %u): list each person once, with all "
                             "of their identities",
                             id, (*seen)[k].entry, (*seen)[k].node->line);
            free(norm);
            free(id);
            continue;
        }
        *seen = srm_xreallocarray(*seen, *n_seen + 1, sizeof(**seen));
        (*seen)[(*n_seen)++] = (struct cv_seen){norm, entry, it};
        pc->identities[pc->n_identities++] = id;
        pc->identities[pc->n_identities] = NULL;
    }
}

static void cv_people(struct srm_config *c, const struct srm_cfg_node *n,
                      struct srm_diag *d)
{
    struct cv_seen *seen = NULL;
    size_t n_seen = 0;

    if (n == NULL || n->null || !cv_kind(d, n, SRM_CFG_NODE_SEQ))
        return;
    c->people = srm_xcalloc(n->n_items ? n->n_items : 1, sizeof(*c->people));
    for (size_t i = 0; i < n->n_items; i++)
        cv_person(c, n->items[i], &seen, &n_seen, d);
    for (size_t i = 0; i < n_seen; i++)
        free(seen[i].norm);
    free(seen);
}

/* The folder of path, absolute. */
static char *cv_dir_of(const char *path)
{
    char *copy = srm_xstrdup(path);
    char *dir = realpath(dirname(copy), NULL);

    free(copy);
    if (dir == NULL) /* the file was just read, so only on a race */
        dir = srm_xstrdup("/");
    return dir;
}

int srm_config_load(const char *path, struct srm_config **ret_config,
                    struct srm_diag *diag)
{
    struct srm_config *c = srm_xcalloc(1, sizeof(*c));
    const struct srm_cfg_node *root, *team;
    size_t errors_before = diag->n;
    int r;

    *ret_config = NULL;
    c->path = srm_xstrdup(path);
    r = srm_cfg_yaml_load(path, diag, &c->root);
    if (c->root == NULL)
        goto fail;
    c->dir = cv_dir_of(path);
    c->socket = cv_abspath(c->dir, "var/srmd.sock");
    c->database = cv_abspath(c->dir, "var/srmd.db");
    c->plugin_dir = srm_xstrdup(SRM_DEFAULT_PLUGIN_DIR);
    c->log_level = SRM_LOG_INFO;
    c->pass_timeout = 600;
    c->fulltext = true;
    c->keywords = srm_xcalloc(1, sizeof(*c->keywords));
    c->admins = srm_xcalloc(1, sizeof(*c->admins));

    root = c->root;
    if (root->kind != SRM_CFG_NODE_MAP) {
        srm_diag_add(diag, root, NULL,
                     "expected a mapping with daemon, team, listen, "
                     "sources, people; found %s",
                     srm_cfg_kind_name(root->kind));
        goto fail;
    }
    cv_unknown_keys(diag, root, cv_top_keys);
    cv_daemon(c, srm_cfg_node_get(root, "daemon"), diag);
    team = srm_cfg_node_get(root, "team");
    cv_team(c, team, diag);
    cv_listen(c, srm_cfg_node_get(root, "listen"), diag);
    cv_sources(c, srm_cfg_node_get(root, "sources"), diag);
    cv_people(c, srm_cfg_node_get(root, "people"), diag);
    if (team && team->kind == SRM_CFG_NODE_MAP &&
        srm_cfg_node_get(team, "routes"))
        cv_routes(c, srm_cfg_node_get(team, "routes"), diag);

    if (diag->n > errors_before) {
        r = -EINVAL;
        goto fail;
    }
    *ret_config = c;
    return 0;

fail:
    srm_config_destroy(c);
    return r < 0 ? r : -EINVAL;
}

static void cv_values_free(struct srm_source_cfg *src)
{
    for (size_t i = 0; i < src->n_values; i++) {
        free(src->values[i].key);
        free(src->values[i].str);
        cv_free_list(src->values[i].list);
    }
    SRM_FREE(src->values);
    src->n_values = 0;
}

void srm_config_destroy(struct srm_config *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n_sources; i++) {
        struct srm_source_cfg *s = &c->sources[i];
        free(s->name);
        free(s->plugin);
        free(s->path);
        free(s->dir);
        free(s->fingerprint);
        cv_values_free(s);
    }
    free(c->sources);
    for (size_t i = 0; i < c->n_members; i++) {
        free(c->members[i].user);
        free(c->members[i].name);
    }
    free(c->members);
    for (size_t i = 0; i < c->n_routes; i++) {
        free(c->routes[i].network);
        free(c->routes[i].source);
        free(c->routes[i].keyword);
        free(c->routes[i].tag);
        free(c->routes[i].member);
    }
    free(c->routes);
    for (size_t i = 0; i < c->n_people; i++) {
        free(c->people[i].name);
        free(c->people[i].where);
        cv_free_list(c->people[i].identities);
    }
    free(c->people);
    cv_free_list(c->admins);
    cv_free_list(c->keywords);
    free(c->path);
    free(c->dir);
    free(c->socket);
    free(c->database);
    free(c->plugin_dir);
    free(c->socket_group);
    srm_cfg_node_destroy(c->root);
    free(c);
}

/* ---------------------------------------------------------------------
 * Plugin keys
 */

/* Convert node (borrowed) to a value of field's type. */
static bool bind_value(struct srm_diag *d, const struct srm_cfg_field *field,
                       const struct srm_cfg_node *n, struct srm_cfg_value *v)
{
    const char *s = n->scalar;
    char *end;

    if (field->type == SRM_CFG_STRING_LIST)
        return cv_string_list(d, n, true, &v->list, &v->n_list);
    if (n->kind != SRM_CFG_NODE_SCALAR) {
        srm_diag_add(d, n, n->path, "expected %s, found %s",
                     field->type == SRM_CFG_STRING ||
                             field->type == SRM_CFG_SECRET
                         ? "a string"
                         : "a scalar",
                     srm_cfg_kind_name(n->kind));
        return false;
    }
    switch (field->type) {
    case SRM_CFG_STRING:
    case SRM_CFG_SECRET:
        break;
    case SRM_CFG_URL: {
        const char *sep = strstr(s, "://");
        size_t i = 0;
        bool ok = sep != NULL && sep != s;
        for (; ok && s + i < sep; i++)
            ok = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
                 (i > 0 && ((s[i] >= '0' && s[i] <= '9') || s[i] == '+' ||
                            s[i] == '-' || s[i] == '.'));
        if (!ok || sep[3] == '\0') {
            srm_diag_add(d, n, n->path,
                         "expected a URL with a scheme, like "
                         "https://example.org/");
            return false;
        }
        break;
    }
    case SRM_CFG_INT:
        errno = 0;
        v->num = strtoll(s, &end, 10);
        if (*s == '\0' || *end != '\0' || errno == ERANGE) {
            srm_diag_add(d, n, n->path, "expected an integer");
            return false;
        }
        return true;
    case SRM_CFG_BOOL:
        if (cv_bool_parse(s, &v->b) < 0) {
            srm_diag_add(d, n, n->path,
                         "expected true or false (or yes/no, on/off)");
            return false;
        }
        return true;
    case SRM_CFG_DURATION:
        if (srm_duration_parse(s, &v->num) < 0) {
            srm_diag_add(d, n, n->path, "expected a duration like 5m");
            return false;
        }
        return true;
    default:
        srm_diag_add(d, n, n->path, "the plugin declares unknown type %d",
                     (int)field->type);
        return false;
    }
    free(v->str);
    v->str = srm_xstrdup(s);
    return true;
}

/* The schema default. Scalars are taken literally, so a default such as
 * "#general" or "a: b" means what the plugin author wrote; a list default
 * may be written in YAML flow style, "[a, b]", or be one string. A bad
 * default is the plugin's bug, reported at the source that uses it. */
static void bind_default(struct srm_source_cfg *src, struct srm_diag *d,
                         const struct srm_cfg_field *field,
                         struct srm_cfg_value *v)
{
    const char *text = field->default_value;
    char *path = srm_xasprintf("%s.%s", src->path, field->key);
    struct srm_cfg_node lit = {
        .kind = SRM_CFG_NODE_SCALAR,
        .file = src->node->file,
        .line = src->node->line,
        .col = src->node->col,
        .path = path,
        .scalar = (char *)text,
    };
    const struct srm_cfg_node *n = &lit;
    struct srm_cfg_node *tree = NULL;
    struct srm_diag tmp;

    srm_diag_init(&tmp);
    if (field->type == SRM_CFG_STRING_LIST && text[0] == '[') {
        srm_cfg_yaml_load_buffer("default", text, strlen(text), &tmp, &tree);
        n = tree;
    }
    if (n != NULL && tmp.n == 0)
        bind_value(&tmp, field, n, v);
    if (tmp.n > 0)
        srm_diag_add(d, src->node, path,
                     "plugin %s has an invalid default \"%s\" for this key",
                     src->plugin, text);
    srm_diag_fini(&tmp);
    srm_cfg_node_destroy(tree);
    free(path);
}

static uint64_t bind_fnv1a(const char *s)
{
    uint64_t h = 14695981039346656037ULL;

    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

/* Read a secret from the file a X_file key names. */
static bool bind_secret_file(struct srm_source_cfg *src, struct srm_diag *d,
                             const struct srm_cfg_node *n,
                             struct srm_cfg_value *v)
{
    char *path = NULL, *buf = NULL;
    struct stat st;
    ssize_t got = 0;
    size_t len = 0;
    int fd = -1;
    bool ok = false;

    if (n->kind != SRM_CFG_NODE_SCALAR || n->null || *n->scalar == '\0') {
        srm_diag_add(d, n, n->path, "expected a file path");
        return false;
    }
    path = cv_abspath(src->dir, n->scalar);
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0 || fstat(fd, &st) < 0) {
        srm_diag_add(d, n, n->path, "cannot read %s: %s", path,
                     strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode) || st.st_size > CV_MAX_SECRET_FILE) {
        srm_diag_add(d, n, n->path,
                     "%s is not a regular file of at most %d bytes", path,
                     CV_MAX_SECRET_FILE);
        goto out;
    }
    buf = srm_xmalloc(CV_MAX_SECRET_FILE + 1);
    while (len < CV_MAX_SECRET_FILE &&
           (got = read(fd, buf + len, CV_MAX_SECRET_FILE - len)) > 0)
        len += (size_t)got;
    if (got < 0) {
        srm_diag_add(d, n, n->path, "cannot read %s: %s", path,
                     strerror(errno));
        goto out;
    }
    buf[len] = '\0';
    /* Editors and `echo` leave a newline that is not part of the token. */
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
        buf[--len] = '\0';
    if (len == 0 || strlen(buf) != len) {
        srm_diag_add(d, n, n->path, "%s is empty or holds a NUL byte",
                     path);
        goto out;
    }
    free(v->str);
    v->str = srm_xstrdup(buf);
    ok = true;
out:
    if (fd >= 0)
        close(fd);
    free(buf);
    free(path);
    return ok;
}

int srm_config_bind_source(struct srm_source_cfg *src,
                           const struct srm_cfg_field *schema,
                           struct srm_diag *diag)
{
    const struct srm_cfg_node *map = src->node;
    const struct srm_cfg_node **given = NULL, **given_file = NULL;
    size_t n_fields = 0, errors_before = diag->n;
    char *fp = src->fingerprint;
    char *cut;

    cv_values_free(src);
    /* A second bind must not stack secret hashes on the first's. */
    if (fp && (cut = strstr(fp, "\n#secret ")))
        *cut = '\0';
    while (schema && schema[n_fields].key)
        n_fields++;
    src->values = srm_xcalloc(n_fields ? n_fields : 1, sizeof(*src->values));
    src->n_values = n_fields;
    given = srm_xcalloc(n_fields ? n_fields : 1, sizeof(*given));
    given_file = srm_xcalloc(n_fields ? n_fields : 1, sizeof(*given_file));
    for (size_t i = 0; i < n_fields; i++) {
        src->values[i].key = srm_xstrdup(schema[i].key);
        src->values[i].type = schema[i].type;
    }

    for (size_t i = 0; i < map->n_items; i++) {
        const struct srm_cfg_node *val = map->items[i];
        const char *k = val->key->scalar;
        size_t klen = strlen(k), f;

        if (cv_known(cv_source_keys, k))
            continue;
        for (f = 0; f < n_fields; f++)
            if (strcmp(schema[f].key, k) == 0)
                break;
        if (f < n_fields) {
            given[f] = val;
            continue;
        }
        for (f = 0; f < n_fields; f++)
            if (schema[f].type == SRM_CFG_SECRET && klen > 5 &&
                strcmp(k + klen - 5, "_file") == 0 &&
                strlen(schema[f].key) == klen - 5 &&
                strncmp(schema[f].key, k, klen - 5) == 0)
                break;
        if (f < n_fields) {
            given_file[f] = val;
            continue;
        }
        srm_diag_add(diag, val->key, val->key->path,
                     "unknown key for plugin %s", src->plugin);
    }

    for (size_t f = 0; f < n_fields; f++) {
        const struct srm_cfg_field *field = &schema[f];
        struct srm_cfg_value *v = &src->values[f];

        if (given[f] && given_file[f]) {
            srm_diag_add(diag, given_file[f]->key, given_file[f]->key->path,
                         "give either %s or %s_file, not both", field->key,
                         field->key);
        } else if (given_file[f]) {
            v->node = given_file[f];
            if (bind_secret_file(src, diag, given_file[f], v) && src->fingerprint) {
                char *more = srm_xasprintf(
                    "%s\n#secret %s %016llx", src->fingerprint, field->key,
                    (unsigned long long)bind_fnv1a(v->str));
                free(src->fingerprint);
                src->fingerprint = more;
            }
        } else if (given[f] && !given[f]->null) {
            v->node = given[f];
            bind_value(diag, field, given[f], v);
        } else if (field->default_value) {
            bind_default(src, diag, field, v);
        } else if (field->required) {
            srm_diag_add(diag, map, map->path,
                         field->type == SRM_CFG_SECRET
                             ? "missing required key \"%s\" (or %s_file)"
                             : "missing required key \"%s\"%.0s",
                         field->key, field->key);
        }
    }
    free(given);
    free(given_file);
    return diag->n > errors_before ? -EINVAL : 0;
}

const struct srm_cfg_value *
srm_source_cfg_get(const struct srm_source_cfg *src, const char *key)
{
    for (size_t i = 0; i < src->n_values; i++)
        if (strcmp(src->values[i].key, key) == 0)
            return &src->values[i];
    return NULL;
}

/* ---------------------------------------------------------------------
 * Lookups
 */

const struct srm_source_cfg *srm_config_source(const struct srm_config *c,
                                               const char *name)
{
    for (size_t i = 0; i < c->n_sources; i++)
        if (c->sources[i].name && strcmp(c->sources[i].name, name) == 0)
            return &c->sources[i];
    return NULL;
}

bool srm_config_is_admin(const struct srm_config *c, const char *user)
{
    for (size_t i = 0; i < c->n_admins; i++)
        if (strcmp(c->admins[i], user) == 0)
            return true;
    return false;
}

const struct srm_member_cfg *srm_config_member(const struct srm_config *c,
                                               const char *user)
{
    for (size_t i = 0; i < c->n_members; i++)
        if (strcmp(c->members[i].user, user) == 0)
            return &c->members[i];
    return NULL;
}
