/* plugin_loader.c - find, check and load connector plugins. */
#include "plugin_loader.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "mem.h"

/* The ABI 1.0 descriptor ends with destroy; anything shorter cannot be
 * read safely, whatever minor it claims. */
#define PL_MIN_DESC_SIZE                                                      \
    (offsetof(struct srm_plugin, destroy) +                                   \
     sizeof(((struct srm_plugin *)0)->destroy))

/* A schema without its NULL row would make us read past the array; no real
 * connector comes near this many keys. */
#define PL_MAX_SCHEMA_ROWS 1024

typedef const struct srm_plugin *(*pl_entry_fn)(const struct srm_host_api *);

struct srm_plugins {
    const struct srm_host_api *host;
    struct srm_loaded_plugin **items;
    size_t n, cap;
};

static int pl_refuse(const char *path, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static const char *pl_file_kind(mode_t mode);
static char *pl_stem(const char *path);
static int pl_check_file(const char *path, char **ret_abs);
static int pl_check_desc(const struct srm_plugins *p, const char *path,
                         const struct srm_plugin *d);
static int pl_check_schema(const char *path, const struct srm_cfg_field *f);
static void pl_free(struct srm_loaded_plugin *lp);
static int pl_cmp_names(const void *a, const void *b);

/* The daemon's own source keys; a schema may not list them. */
static const char *const pl_daemon_keys[] = {"name", "plugin", "every",
                                             "insecure"};

static const char *const pl_cap_names[] = {"mentions", "contacts", "reply",
                                           "stream"};

static int pl_refuse(const char *path, const char *fmt, ...)
{
    char reason[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    SRM_ERROR("plugin_loader: %s: %s", path, reason);
    return SRM_E_CONFIG;
}

static const char *pl_file_kind(mode_t mode)
{
    if (S_ISLNK(mode))
        return "a symbolic link";
    if (S_ISDIR(mode))
        return "a directory";
    if (S_ISFIFO(mode))
        return "a FIFO";
    if (S_ISSOCK(mode))
        return "a socket";
    if (S_ISCHR(mode) || S_ISBLK(mode))
        return "a device";
    return "not a regular file";
}

/* "/a/b/rss.so" -> "rss". Caller frees. */
static char *pl_stem(const char *path)
{
    const char *base = strrchr(path, '/');
    size_t len;

    base = base ? base + 1 : path;
    len = strlen(base);
    if (len > 3 && strcmp(base + len - 3, ".so") == 0)
        len -= 3;
    return srm_xstrndup(base, len);
}

/* lstat checks, then the absolute path in *ret_abs (caller frees). A file
 * anyone may replace, or one in a folder where anyone may drop files, would
 * run their code inside srmd. */
static int pl_check_file(const char *path, char **ret_abs)
{
    struct stat st;
    char *abs = NULL;
    char *slash;
    int r;

    if (lstat(path, &st) < 0) {
        r = -errno;
        SRM_ERROR("plugin_loader: %s: %s", path, strerror(errno));
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        r = pl_refuse(path, "expected a regular file, found %s",
                      pl_file_kind(st.st_mode));
        goto fail;
    }
    if (st.st_mode & S_IWOTH) {
        r = pl_refuse(path,
                      "file is world-writable (mode %04o), expected no "
                      "write permission for others",
                      (unsigned)(st.st_mode & 07777));
        goto fail;
    }
    abs = realpath(path, NULL);
    if (abs == NULL) {
        r = -errno;
        SRM_ERROR("plugin_loader: %s: realpath: %s", path, strerror(errno));
        goto fail;
    }
    slash = strrchr(abs, '/');
    /* realpath gives an absolute path, so there is a slash; "/x.so" has
     * the root as its folder. */
    if (slash == abs) {
        r = stat("/", &st) < 0 ? -errno : 0;
    } else {
        *slash = '\0';
        r = stat(abs, &st) < 0 ? -errno : 0;
        *slash = '/';
    }
    if (r < 0) {
        SRM_ERROR("plugin_loader: %s: folder: %s", path, strerror(-r));
        goto fail;
    }
    if (st.st_mode & S_IWOTH) {
        *slash = '\0';
        SRM_ERROR("plugin_loader: %s: folder %s is world-writable (mode "
                  "%04o), expected no write permission for others",
                  path, slash == abs ? "/" : abs,
                  (unsigned)(st.st_mode & 07777));
        *slash = '/';
        r = SRM_E_CONFIG;
        goto fail;
    }
    *ret_abs = abs;
    return 0;
fail:
    free(abs);
    return r;
}

static int pl_check_schema(const char *path, const struct srm_cfg_field *f)
{
    size_t i, j, k;

    if (f == NULL)
        return 0;
    for (i = 0; f[i].key != NULL; i++) {
        if (i >= PL_MAX_SCHEMA_ROWS)
            return pl_refuse(path,
                             "schema has more than %d rows; is its last row "
                             "{NULL}?",
                             PL_MAX_SCHEMA_ROWS);
        if (f[i].key[0] == '\0')
            return pl_refuse(path, "schema row %zu has an empty key", i);
        if (srm_plugin_cfg_type_name(f[i].type) == NULL)
            return pl_refuse(path,
                             "schema key %s has unknown type %d, expected "
                             "%d..%d",
                             f[i].key, (int)f[i].type, SRM_CFG_STRING,
                             SRM_CFG_URL);
        for (k = 0; k < SRM_ARRAY_LEN(pl_daemon_keys); k++)
            if (strcmp(f[i].key, pl_daemon_keys[k]) == 0)
                return pl_refuse(path,
                                 "schema key %s is the daemon's own "
                                 "(name, plugin, every, insecure)",
                                 f[i].key);
        for (j = 0; j < i; j++)
            if (strcmp(f[i].key, f[j].key) == 0)
                return pl_refuse(path,
                                 "schema key %s is listed twice (rows %zu "
                                 "and %zu)",
                                 f[i].key, j, i);
    }
    return 0;
}

/* Checks that need only the copied descriptor d (members beyond the
 * plugin's struct_size already zeroed). */
static int pl_check_desc(const struct srm_plugins *p, const char *path,
                         const struct srm_plugin *d)
{
    const struct srm_loaded_plugin *other;
    char *stem = NULL;
    int r = 0;

    if (d->name == NULL || d->name[0] == '\0')
        return pl_refuse(path, "descriptor has no name");
    if (d->create == NULL)
        return pl_refuse(path, "descriptor of %s has no create callback",
                         d->name);
    if (d->sync == NULL)
        return pl_refuse(path, "descriptor of %s has no sync callback",
                         d->name);
    if (d->destroy == NULL)
        return pl_refuse(path, "descriptor of %s has no destroy callback",
                         d->name);
    if ((d->capabilities & SRM_CAP_REPLY) && d->reply == NULL)
        return pl_refuse(path,
                         "%s declares the reply capability but has no reply "
                         "callback",
                         d->name);
    stem = pl_stem(path);
    if (strcmp(stem, d->name) != 0) {
        r = pl_refuse(path, "plugin declares name %s, expected %s (the file "
                      "name without .so)", d->name, stem);
        goto out;
    }
    other = srm_plugins_find(p, d->name);
    if (other != NULL) {
        r = pl_refuse(path, "duplicate plugin name %s, already loaded from %s",
                      d->name, other->path);
        goto out;
    }
    r = pl_check_schema(path, d->schema);
out:
    free(stem);
    return r;
}

int srm_plugins_create(const struct srm_host_api *host,
                       struct srm_plugins **ret)
{
    struct srm_plugins *p;

    if (host == NULL || host->struct_size < offsetof(struct srm_host_api, log))
        return -EINVAL;
    p = srm_xcalloc(1, sizeof(*p));
    p->host = host;
    *ret = p;
    return 0;
}

static void pl_free(struct srm_loaded_plugin *lp)
{
    if (lp == NULL)
        return;
    if (lp->dl != NULL)
        dlclose(lp->dl);
    free(lp->name);
    free(lp->path);
    free(lp);
}

void srm_plugins_destroy(struct srm_plugins *p)
{
    if (p == NULL)
        return;
    /* Unload in reverse order of loading, as a stack of libraries. */
    for (size_t i = p->n; i > 0; i--)
        pl_free(p->items[i - 1]);
    free(p->items);
    free(p);
}

int srm_plugins_load_file(struct srm_plugins *p, const char *path)
{
    struct srm_loaded_plugin *lp = NULL;
    const struct srm_plugin *d;
    char *abs = NULL;
    void *dl = NULL;
    void *sym;
    pl_entry_fn entry;
    size_t copy;
    int r;

    r = pl_check_file(path, &abs);
    if (r < 0)
        goto fail;
    /* RTLD_NOW: an unresolved symbol fails here, not mid-sync.
     * RTLD_LOCAL: one plugin's symbols never satisfy another's. */
    dl = dlopen(abs, RTLD_NOW | RTLD_LOCAL);
    if (dl == NULL) {
        r = pl_refuse(path, "dlopen failed: %s", dlerror());
        goto fail;
    }
    dlerror();
    sym = dlsym(dl, SRM_PLUGIN_ENTRY_SYMBOL);
    if (sym == NULL) {
        r = pl_refuse(path,
                      "no exported symbol " SRM_PLUGIN_ENTRY_SYMBOL
                      " (declare it with SRM_PLUGIN_EXPORT)");
        goto fail;
    }
    /* POSIX guarantees a data pointer from dlsym converts to a function
     * pointer; the memcpy keeps -Wpedantic quiet should it be turned on. */
    memcpy(&entry, &sym, sizeof(entry));
    d = entry(p->host);
    if (d == NULL) {
        r = pl_refuse(path, "entry point returned no descriptor");
        goto fail;
    }
    if (d->abi_major != SRM_PLUGIN_ABI_MAJOR) {
        r = pl_refuse(path,
                      "plugin built for ABI %u.%u, srmd provides %d.%d "
                      "(the major must match)",
                      d->abi_major, d->abi_minor, SRM_PLUGIN_ABI_MAJOR,
                      SRM_PLUGIN_ABI_MINOR);
        goto fail;
    }
    if (d->abi_minor > SRM_PLUGIN_ABI_MINOR) {
        r = pl_refuse(path,
                      "plugin needs ABI %u.%u, srmd provides %d.%d "
                      "(built for a newer srmd)",
                      d->abi_major, d->abi_minor, SRM_PLUGIN_ABI_MAJOR,
                      SRM_PLUGIN_ABI_MINOR);
        goto fail;
    }
    if (d->struct_size < PL_MIN_DESC_SIZE) {
        r = pl_refuse(path,
                      "descriptor struct_size is %u bytes, ABI %d.0 needs at "
                      "least %zu",
                      d->struct_size, SRM_PLUGIN_ABI_MAJOR, PL_MIN_DESC_SIZE);
        goto fail;
    }

    lp = srm_xcalloc(1, sizeof(*lp));
    /* A descriptor from a later minor has members we do not know: copy
     * only ours. One from an earlier minor lacks our tail: it stays zero. */
    copy = d->struct_size < sizeof(lp->desc) ? d->struct_size
                                             : sizeof(lp->desc);
    memcpy(&lp->desc, d, copy);
    lp->abi_major = d->abi_major;
    lp->abi_minor = d->abi_minor;
    r = pl_check_desc(p, path, &lp->desc);
    if (r < 0)
        goto fail;

    lp->name = srm_xstrdup(lp->desc.name);
    lp->path = abs;
    lp->dl = dl;
    abs = NULL;
    dl = NULL;
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 8;
        p->items = srm_xreallocarray(p->items, p->cap, sizeof(*p->items));
    }
    p->items[p->n++] = lp;
    SRM_INFO("plugin_loader: loaded %s %s (ABI %u.%u) from %s", lp->name,
             lp->desc.version ? lp->desc.version : "(no version)",
             lp->abi_major, lp->abi_minor, lp->path);
    return 0;
fail:
    free(lp);
    if (dl != NULL)
        dlclose(dl);
    free(abs);
    return r;
}

static int pl_cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int srm_plugins_load_dir(struct srm_plugins *p, const char *dir)
{
    struct dirent *de;
    char **names = NULL;
    size_t n = 0, cap = 0, i;
    DIR *dp;
    int loaded = 0;

    dp = opendir(dir);
    if (dp == NULL) {
        int r = -errno;
        SRM_ERROR("plugin_loader: %s: cannot read plugin folder: %s", dir,
                  strerror(errno));
        return r;
    }
    while ((de = readdir(dp)) != NULL) {
        size_t len = strlen(de->d_name);

        if (de->d_name[0] == '.' || len <= 3 ||
            strcmp(de->d_name + len - 3, ".so") != 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            names = srm_xreallocarray(names, cap, sizeof(*names));
        }
        names[n++] = srm_xstrdup(de->d_name);
    }
    closedir(dp);
    /* readdir order depends on the file system; a fixed order makes the
     * winner of a duplicate name and the log the same on every host. */
    if (n > 0)
        qsort(names, n, sizeof(*names), pl_cmp_names);
    for (i = 0; i < n; i++) {
        char *path = srm_xasprintf("%s/%s", dir, names[i]);

        if (srm_plugins_load_file(p, path) == 0)
            loaded++;
        free(path);
        free(names[i]);
    }
    free(names);
    return loaded;
}

const struct srm_loaded_plugin *srm_plugins_find(const struct srm_plugins *p,
                                                 const char *name)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->items[i]->name, name) == 0)
            return p->items[i];
    return NULL;
}

size_t srm_plugins_count(const struct srm_plugins *p)
{
    return p->n;
}

const struct srm_loaded_plugin *srm_plugins_at(const struct srm_plugins *p,
                                               size_t i)
{
    return i < p->n ? p->items[i] : NULL;
}

size_t srm_plugin_capability_names(uint32_t caps, const char **ret_names,
                                   size_t max)
{
    size_t n = 0;

    for (size_t bit = 0; bit < SRM_ARRAY_LEN(pl_cap_names) && n < max; bit++)
        if (caps & (1u << bit))
            ret_names[n++] = pl_cap_names[bit];
    return n;
}

const char *srm_plugin_cfg_type_name(enum srm_cfg_type type)
{
    switch (type) {
    case SRM_CFG_STRING: return "string";
    case SRM_CFG_INT: return "int";
    case SRM_CFG_BOOL: return "bool";
    case SRM_CFG_DURATION: return "duration";
    case SRM_CFG_STRING_LIST: return "string_list";
    case SRM_CFG_SECRET: return "secret";
    case SRM_CFG_URL: return "url";
    }
    return NULL;
}

void srm_plugin_describe(const struct srm_loaded_plugin *lp, FILE *out)
{
    const struct srm_plugin *d = &lp->desc;
    const struct srm_cfg_field *f = d->schema;
    const char *caps[SRM_ARRAY_LEN(pl_cap_names)];
    size_t n_caps, i;
    int wkey = 3, wtype = 4, wdef = 7;

    fprintf(out, "name:         %s\n", lp->name);
    fprintf(out, "version:      %s\n", d->version ? d->version : "-");
    fprintf(out, "abi:          %u.%u\n", lp->abi_major, lp->abi_minor);
    n_caps = srm_plugin_capability_names(d->capabilities, caps,
                                         SRM_ARRAY_LEN(caps));
    fprintf(out, "capabilities: ");
    for (i = 0; i < n_caps; i++)
        fprintf(out, "%s%s", i ? ", " : "", caps[i]);
    fprintf(out, "%s\n", n_caps ? "" : "none");
    fprintf(out, "description:  %s\n", d->description ? d->description : "-");
    fprintf(out, "path:         %s\n", lp->path);

    fprintf(out, "\nconfiguration keys (besides name, plugin, every, "
                 "insecure):\n");
    if (f == NULL || f[0].key == NULL) {
        fprintf(out, "  none\n");
        return;
    }
    /* The schema was checked at load: it ends, and every type is known. */
    for (i = 0; f[i].key != NULL; i++) {
        int l = (int)strlen(f[i].key);
        int t = (int)strlen(srm_plugin_cfg_type_name(f[i].type));
        int v = f[i].default_value ? (int)strlen(f[i].default_value) : 1;

        wkey = l > wkey ? l : wkey;
        wtype = t > wtype ? t : wtype;
        wdef = v > wdef ? v : wdef;
    }
    fprintf(out, "  %-*s  %-*s  %-*s  %-8s  %s\n", wkey, "KEY", wtype, "TYPE",
            wdef, "DEFAULT", "REQUIRED", "DESCRIPTION");
    for (i = 0; f[i].key != NULL; i++)
        fprintf(out, "  %-*s  %-*s  %-*s  %-8s  %s\n", wkey, f[i].key, wtype,
                srm_plugin_cfg_type_name(f[i].type), wdef,
                f[i].default_value ? f[i].default_value : "-",
                f[i].required ? "yes" : "no",
                f[i].description ? f[i].description : "");
}
