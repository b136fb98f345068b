/* test_plugin_loader.c - the loader accepts good plugins, refuses each broken
 * one in tests/plugins/ with a clear logged reason, and keeps loading the
 * rest of a folder. */
#include "plugin_loader.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "mem.h"

#define PLUGIN(name) SRM_TEST_PLUGIN_DIR "/" name ".so"

static struct srm_host_api test_host;

/* ------------------------------------------------------------------ */
/* stderr capture: log.c writes each line to fd 2 with write(2). */

struct capture {
    int saved;
    int fd;
};

static void cap_begin(struct capture *c)
{
    char path[] = "/tmp/srm-loader-log-XXXXXX";

    c->fd = mkstemp(path);
    assert_true(c->fd >= 0);
    unlink(path);
    c->saved = dup(STDERR_FILENO);
    assert_true(c->saved >= 0);
    assert_true(dup2(c->fd, STDERR_FILENO) >= 0);
}

/* Restores stderr and returns what was written (caller frees). The text is
 * echoed to the real stderr so a failing test shows it. */
static char *cap_end(struct capture *c)
{
    off_t len;
    char *text;

    assert_true(dup2(c->saved, STDERR_FILENO) >= 0);
    close(c->saved);
    len = lseek(c->fd, 0, SEEK_END);
    assert_true(len >= 0);
    text = srm_xcalloc(1, (size_t)len + 1);
    assert_int_equal(pread(c->fd, text, (size_t)len, 0), len);
    close(c->fd);
    fprintf(stderr, "%s", text);
    return text;
}

static void assert_contains(const char *hay, const char *needle)
{
    if (strstr(hay, needle) == NULL)
        fail_msg("expected \"%s\" in:\n%s", needle, hay);
}

/* ------------------------------------------------------------------ */
/* Temporary folders. */

static int rm_cb(const char *path, const struct stat *st, int flag,
                 struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    chmod(path, 0700);
    return remove(path);
}

static char *tmp_dir(void)
{
    char *dir = srm_xstrdup("/tmp/srm-loader-XXXXXX");

    assert_non_null(mkdtemp(dir));
    return dir;
}

static void tmp_rm(char *dir)
{
    chmod(dir, 0700);
    nftw(dir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
    free(dir);
}

/* Copy src to dir/name with exactly mode; returns the new path. */
static char *copy_file(const char *src, const char *dir, const char *name,
                       mode_t mode)
{
    char *dst = srm_xasprintf("%s/%s", dir, name);
    char buf[65536];
    ssize_t n;
    int in, out;

    in = open(src, O_RDONLY);
    assert_true(in >= 0);
    out = open(dst, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(out >= 0);
    while ((n = read(in, buf, sizeof(buf))) > 0)
        assert_int_equal(write(out, buf, (size_t)n), n);
    assert_int_equal(n, 0);
    /* fchmod, not the open mode: the umask must not change the test. */
    assert_int_equal(fchmod(out, mode), 0);
    close(in);
    close(out);
    return dst;
}

/* ------------------------------------------------------------------ */

static int setup(void **state)
{
    struct srm_plugins *p = NULL;

    (void)state;
    memset(&test_host, 0, sizeof(test_host));
    test_host.abi_major = SRM_PLUGIN_ABI_MAJOR;
    test_host.abi_minor = SRM_PLUGIN_ABI_MINOR;
    test_host.struct_size = sizeof(test_host);
    if (srm_plugins_create(&test_host, &p) != 0)
        return -1;
    *state = p;
    return 0;
}

static int teardown(void **state)
{
    srm_plugins_destroy(*state);
    return 0;
}

static void test_create_args(void **state)
{
    struct srm_host_api tiny = {.abi_major = 1, .struct_size = 4};
    struct srm_plugins *p = NULL;

    (void)state;
    assert_int_equal(srm_plugins_create(NULL, &p), -EINVAL);
    assert_int_equal(srm_plugins_create(&tiny, &p), -EINVAL);
    assert_null(p);
    srm_plugins_destroy(NULL);
}

static void test_load_good(void **state)
{
    struct srm_plugins *p = *state;
    const struct srm_loaded_plugin *lp;
    struct capture c;
    char *log, *abs;

    cap_begin(&c);
    assert_int_equal(srm_plugins_load_file(p, PLUGIN("good")), 0);
    log = cap_end(&c);
    assert_contains(log, "plugin_loader: loaded good 1.2.3 (ABI 1.0)");
    free(log);

    assert_int_equal(srm_plugins_count(p), 1);
    lp = srm_plugins_find(p, "good");
    assert_non_null(lp);
    assert_ptr_equal(srm_plugins_at(p, 0), lp);
    assert_null(srm_plugins_at(p, 1));
    assert_null(srm_plugins_find(p, "bad"));

    assert_string_equal(lp->name, "good");
    abs = realpath(PLUGIN("good"), NULL);
    assert_non_null(abs);
    assert_string_equal(lp->path, abs);
    free(abs);
    assert_non_null(lp->dl);
    assert_int_equal(lp->abi_major, SRM_PLUGIN_ABI_MAJOR);
    assert_int_equal(lp->abi_minor, SRM_PLUGIN_ABI_MINOR);

    /* The descriptor copy. */
    assert_int_equal(lp->desc.struct_size, sizeof(struct srm_plugin));
    assert_string_equal(lp->desc.name, "good");
    assert_string_equal(lp->desc.version, "1.2.3");
    assert_string_equal(lp->desc.description, "a plugin that loads");
    assert_int_equal(lp->desc.capabilities,
                     SRM_CAP_MENTIONS | SRM_CAP_CONTACTS | SRM_CAP_REPLY);
    assert_non_null(lp->desc.schema);
    assert_string_equal(lp->desc.schema[0].key, "url");
    assert_string_equal(lp->desc.schema[1].default_value, "50");
    assert_null(lp->desc.schema[4].key);
    assert_non_null(lp->desc.create);
    assert_non_null(lp->desc.reply);
    assert_non_null(lp->desc.destroy);
    /* The code is mapped and callable. */
    assert_int_equal(lp->desc.sync(NULL), 0);
}

/* good.so declines a host table of another major: proof that the entry
 * point sees the registry's table. */
static void test_host_reaches_entry(void **state)
{
    struct srm_host_api other = {.abi_major = 9,
                                 .struct_size = sizeof(other)};
    struct srm_plugins *p = NULL;
    struct capture c;
    char *log;

    (void)state;
    assert_int_equal(srm_plugins_create(&other, &p), 0);
    cap_begin(&c);
    assert_int_equal(srm_plugins_load_file(p, PLUGIN("good")), SRM_E_CONFIG);
    log = cap_end(&c);
    assert_contains(log, "good.so: entry point returned no descriptor");
    free(log);
    assert_int_equal(srm_plugins_count(p), 0);
    srm_plugins_destroy(p);
}

struct refusal {
    const char *file;
    const char *reason;
};

static const struct refusal refusals[] = {
    {"wrong_major", "plugin built for ABI 2.0, srmd provides 1.0 (the "
                    "major must match)"},
    {"newer_minor", "plugin needs ABI 1.7, srmd provides 1.0"},
    {"short_size", "descriptor struct_size is"},
    {"no_entry", "no exported symbol srm_plugin_entry"},
    {"null_desc", "entry point returned no descriptor"},
    {"name_mismatch", "plugin declares name something_else, expected "
                      "name_mismatch"},
    {"missing_sync", "descriptor of missing_sync has no sync callback"},
    {"reply_without_fn", "reply_without_fn declares the reply capability "
                         "but has no reply callback"},
    {"schema_dup", "schema key url is listed twice (rows 0 and 2)"},
    {"schema_reserved", "schema key every is the daemon's own"},
    {"schema_type", "schema key colour has unknown type 99"},
};

static void test_refusals(void **state)
{
    struct srm_plugins *p = *state;

    for (size_t i = 0; i < SRM_ARRAY_LEN(refusals); i++) {
        char *path = srm_xasprintf(SRM_TEST_PLUGIN_DIR "/%s.so",
                                   refusals[i].file);
        char *prefix = srm_xasprintf("error   plugin_loader: %s: ", path);
        struct capture c;
        char *log;
        int r;

        cap_begin(&c);
        r = srm_plugins_load_file(p, path);
        log = cap_end(&c);
        if (r != SRM_E_CONFIG)
            fail_msg("%s: expected SRM_E_CONFIG, got %d", path, r);
        assert_contains(log, prefix);
        assert_contains(log, refusals[i].reason);
        free(log);
        free(prefix);
        free(path);
    }
    assert_int_equal(srm_plugins_count(p), 0);
}

static void test_short_size_numbers(void **state)
{
    struct srm_plugins *p = *state;
    char *expect;
    struct capture c;
    char *log;

    expect = srm_xasprintf("descriptor struct_size is %zu bytes, ABI 1.0 "
                           "needs at least %zu",
                           offsetof(struct srm_plugin, destroy),
                           sizeof(struct srm_plugin));
    cap_begin(&c);
    assert_int_equal(srm_plugins_load_file(p, PLUGIN("short_size")),
                     SRM_E_CONFIG);
    log = cap_end(&c);
    assert_contains(log, expect);
    free(log);
    free(expect);
}

/* The whole test folder: the broken plugins are skipped with a logged
 * reason, the good ones load, in name order. */
static void test_load_dir(void **state)
{
    struct srm_plugins *p = *state;
    struct capture c;
    char *log;
    int n;

    cap_begin(&c);
    n = srm_plugins_load_dir(p, SRM_TEST_PLUGIN_DIR);
    log = cap_end(&c);
    assert_int_equal(n, 3);
    assert_int_equal(srm_plugins_count(p), 3);
    assert_string_equal(srm_plugins_at(p, 0)->name, "bigger");
    assert_string_equal(srm_plugins_at(p, 1)->name, "good");
    assert_string_equal(srm_plugins_at(p, 2)->name, "hello");
    for (size_t i = 0; i < SRM_ARRAY_LEN(refusals); i++) {
        char *line = srm_xasprintf("/%s.so: ", refusals[i].file);
        assert_contains(log, line);
        free(line);
    }
    free(log);
}

/* A descriptor longer than ours (appended members) loads; only our part is
 * copied, so the fields after desc in the registry entry are intact. */
static void test_bigger_descriptor(void **state)
{
    struct srm_plugins *p = *state;
    const struct srm_loaded_plugin *lp;

    assert_int_equal(srm_plugins_load_file(p, PLUGIN("bigger")), 0);
    lp = srm_plugins_find(p, "bigger");
    assert_non_null(lp);
    assert_true(lp->desc.struct_size > sizeof(struct srm_plugin));
    assert_int_equal(lp->abi_major, SRM_PLUGIN_ABI_MAJOR);
    assert_int_equal(lp->abi_minor, 0);
    assert_string_equal(lp->desc.name, "bigger");
    assert_non_null(lp->desc.destroy);
}

static void test_duplicate_same_file(void **state)
{
    struct srm_plugins *p = *state;
    const struct srm_loaded_plugin *lp;
    struct capture c;
    char *log, *expect;

    assert_int_equal(srm_plugins_load_file(p, PLUGIN("good")), 0);
    lp = srm_plugins_find(p, "good");
    expect = srm_xasprintf("duplicate plugin name good, already loaded from "
                           "%s", lp->path);
    cap_begin(&c);
    assert_int_equal(srm_plugins_load_file(p, PLUGIN("good")), SRM_E_CONFIG);
    log = cap_end(&c);
    assert_contains(log, expect);
    free(log);
    free(expect);
    assert_int_equal(srm_plugins_count(p), 1);
    /* The refused second dlopen was closed; the first is still mapped. */
    assert_int_equal(lp->desc.sync(NULL), 0);
}

static void test_duplicate_two_folders(void **state)
{
    struct srm_plugins *p = *state;
    char *a = tmp_dir(), *b = tmp_dir();
    char *fa = copy_file(PLUGIN("good"), a, "good.so", 0644);
    char *fb = copy_file(PLUGIN("good"), b, "good.so", 0644);
    struct capture c;
    char *log, *expect;

    assert_int_equal(srm_plugins_load_dir(p, a), 1);
    expect = srm_xasprintf("plugin_loader: %s/good.so: duplicate plugin name "
                           "good, already loaded from %s",
                           b, srm_plugins_find(p, "good")->path);
    cap_begin(&c);
    assert_int_equal(srm_plugins_load_dir(p, b), 0);
    log = cap_end(&c);
    assert_contains(log, expect);
    assert_non_null(strstr(srm_plugins_find(p, "good")->path, a));
    free(log);
    free(expect);
    free(fa);
    free(fb);
    tmp_rm(a);
    tmp_rm(b);
}

static void test_not_regular(void **state)
{
    struct srm_plugins *p = *state;
    char *dir = tmp_dir();
    char *link = srm_xasprintf("%s/good.so", dir);
    char *sub = srm_xasprintf("%s/folder.so", dir);
    struct capture c;
    char *log;

    assert_int_equal(symlink(PLUGIN("good"), link), 0);
    assert_int_equal(mkdir(sub, 0755), 0);
    cap_begin(&c);
    assert_int_equal(srm_plugins_load_dir(p, dir), 0);
    log = cap_end(&c);
    assert_contains(log, "good.so: expected a regular file, found a symbolic "
                         "link");
    assert_contains(log, "folder.so: expected a regular file, found a "
                         "directory");
    free(log);
    assert_int_equal(srm_plugins_count(p), 0);
    free(link);
    free(sub);
    tmp_rm(dir);
}

static void test_world_writable(void **state)
{
    struct srm_plugins *p = *state;
    char *dir = tmp_dir(), *open_dir = tmp_dir();
    char *ww = copy_file(PLUGIN("good"), dir, "good.so", 0666);
    char *in_open = copy_file(PLUGIN("good"), open_dir, "good.so", 0644);
    struct capture c;
    char *log;

    assert_int_equal(chmod(open_dir, 0777), 0);
    cap_begin(&c);
    assert_int_equal(srm_plugins_load_file(p, ww), SRM_E_CONFIG);
    assert_int_equal(srm_plugins_load_file(p, in_open), SRM_E_CONFIG);
    log = cap_end(&c);
    assert_contains(log, "good.so: file is world-writable (mode 0666), "
                         "expected no write permission for others");
    assert_contains(log, "is world-writable (mode 0777), expected no write "
                         "permission for others");
    assert_contains(log, open_dir);
    free(log);
    assert_int_equal(srm_plugins_count(p), 0);

    /* The same file once it is locked down loads. */
    assert_int_equal(chmod(ww, 0644), 0);
    assert_int_equal(srm_plugins_load_file(p, ww), 0);
    free(ww);
    free(in_open);
    tmp_rm(dir);
    tmp_rm(open_dir);
}

static void test_missing(void **state)
{
    struct srm_plugins *p = *state;
    struct capture c;
    char *log;

    cap_begin(&c);
    assert_int_equal(srm_plugins_load_file(p, PLUGIN("does_not_exist")),
                     -ENOENT);
    assert_int_equal(srm_plugins_load_dir(p, "/nonexistent/srm-plugins"),
                     -ENOENT);
    log = cap_end(&c);
    assert_contains(log, "does_not_exist.so: No such file or directory");
    assert_contains(log, "plugin_loader: /nonexistent/srm-plugins: cannot "
                         "read plugin folder");
    free(log);
}

/* A folder holding no .so (other files, hidden files) loads nothing. */
static void test_ignores_other_files(void **state)
{
    struct srm_plugins *p = *state;
    char *dir = tmp_dir();
    char *f1 = copy_file(PLUGIN("good"), dir, "good.so.bak", 0644);
    char *f2 = copy_file(PLUGIN("good"), dir, ".good.so", 0644);
    char *f3 = copy_file(PLUGIN("good"), dir, "README", 0644);

    assert_int_equal(srm_plugins_load_dir(p, dir), 0);
    assert_int_equal(srm_plugins_count(p), 0);
    free(f1);
    free(f2);
    free(f3);
    tmp_rm(dir);
}

static void test_capability_names(void **state)
{
    const char *names[8];

    (void)state;
    assert_int_equal(srm_plugin_capability_names(0, names, 8), 0);
    assert_int_equal(srm_plugin_capability_names(
                         SRM_CAP_MENTIONS | SRM_CAP_CONTACTS | SRM_CAP_REPLY |
                             SRM_CAP_STREAM,
                         names, 8),
                     4);
    assert_string_equal(names[0], "mentions");
    assert_string_equal(names[1], "contacts");
    assert_string_equal(names[2], "reply");
    assert_string_equal(names[3], "stream");
    /* Bit order, whatever the order of the flags; unknown bits skipped. */
    assert_int_equal(srm_plugin_capability_names(
                         SRM_CAP_STREAM | SRM_CAP_CONTACTS | (1u << 20),
                         names, 8),
                     2);
    assert_string_equal(names[0], "contacts");
    assert_string_equal(names[1], "stream");
    /* max is honoured. */
    names[1] = NULL;
    assert_int_equal(srm_plugin_capability_names(
                         SRM_CAP_MENTIONS | SRM_CAP_REPLY, names, 1),
                     1);
    assert_string_equal(names[0], "mentions");
    assert_null(names[1]);
}

static void test_cfg_type_names(void **state)
{
    (void)state;
    assert_string_equal(srm_plugin_cfg_type_name(SRM_CFG_STRING), "string");
    assert_string_equal(srm_plugin_cfg_type_name(SRM_CFG_DURATION),
                        "duration");
    assert_string_equal(srm_plugin_cfg_type_name(SRM_CFG_STRING_LIST),
                        "string_list");
    assert_string_equal(srm_plugin_cfg_type_name(SRM_CFG_URL), "url");
    assert_null(srm_plugin_cfg_type_name((enum srm_cfg_type)0));
    assert_null(srm_plugin_cfg_type_name((enum srm_cfg_type)99));
}

static char *describe(const struct srm_loaded_plugin *lp)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);

    assert_non_null(out);
    srm_plugin_describe(lp, out);
    assert_int_equal(fclose(out), 0);
    return buf;
}

static void test_describe(void **state)
{
    struct srm_plugins *p = *state;
    char *text;

    assert_int_equal(srm_plugins_load_file(p, PLUGIN("good")), 0);
    text = describe(srm_plugins_find(p, "good"));
    assert_contains(text, "name:         good\n");
    assert_contains(text, "version:      1.2.3\n");
    assert_contains(text, "abi:          1.0\n");
    assert_contains(text, "capabilities: mentions, contacts, reply\n");
    assert_contains(text, "description:  a plugin that loads\n");
    assert_contains(text, "KEY    TYPE         DEFAULT  REQUIRED  "
                          "DESCRIPTION\n");
    assert_contains(text, "  url    url          -        yes       where to "
                          "fetch from\n");
    assert_contains(text, "  limit  int          50       no        items "
                          "per request\n");
    assert_contains(text, "  tags   string_list  -        no ");
    assert_contains(text, "  token  secret ");
    free(text);

    /* The SDK example, built in tree with our warnings. */
    assert_int_equal(srm_plugins_load_file(p, PLUGIN("hello")), 0);
    text = describe(srm_plugins_find(p, "hello"));
    assert_contains(text, "name:         hello\n");
    assert_contains(text, "version:      1.0.0\n");
    assert_contains(text, "capabilities: mentions\n");
    assert_contains(text, "max_lines");
    assert_contains(text, "100");
    free(text);

    /* No schema. */
    assert_int_equal(srm_plugins_load_file(p, PLUGIN("bigger")), 0);
    text = describe(srm_plugins_find(p, "bigger"));
    assert_contains(text, "capabilities: mentions\n");
    assert_contains(text, "(besides name, plugin, every, insecure):\n"
                          "  none\n");
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_args),
        cmocka_unit_test_setup_teardown(test_load_good, setup, teardown),
        cmocka_unit_test(test_host_reaches_entry),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_short_size_numbers, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_load_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bigger_descriptor, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_same_file, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_two_folders, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_not_regular, setup, teardown),
        cmocka_unit_test_setup_teardown(test_world_writable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ignores_other_files, setup,
                                        teardown),
        cmocka_unit_test(test_capability_names),
        cmocka_unit_test(test_cfg_type_names),
        cmocka_unit_test_setup_teardown(test_describe, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
