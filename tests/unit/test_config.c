/* test_config.c - srmd.yaml validation: every kind of mistake is reported
 * with its exact file:line:col and key path; defaults, paths, ${VAR},
 * plugin-schema binding, X_file secrets and fingerprints. */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "log.h"
#include "mem.h"

/* The tests run inside a fresh temp dir so that messages read "srmd.yaml:..."
 * exactly as a user who ran srmd from the config folder would see them. */
static char tmpdir[PATH_MAX];
static char olddir[PATH_MAX];

static void write_file(const char *name, const char *text)
{
    FILE *f = fopen(name, "w");

    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

/* Load text as srmd.yaml. */
static int load(const char *text, struct srm_config **ret_c,
                struct srm_diag *d)
{
    write_file("srmd.yaml", text);
    srm_diag_init(d);
    return srm_config_load("srmd.yaml", ret_c, d);
}

/* Load text that must fail with exactly the one message want. */
static void expect_one(const char *text, const char *want)
{
    struct srm_config *c = (struct srm_config *)1;
    struct srm_diag d;

    assert_int_equal(load(text, &c, &d), -EINVAL);
    assert_null(c);
    if (d.n != 1)
        srm_diag_print(&d);
    assert_int_equal(d.n, 1);
    assert_string_equal(d.msgs[0], want);
    srm_diag_fini(&d);
}

/* Load text that must succeed. */
static struct srm_config *expect_ok(const char *text)
{
    struct srm_config *c = NULL;
    struct srm_diag d;

    if (load(text, &c, &d) != 0)
        srm_diag_print(&d);
    assert_int_equal(d.n, 0);
    assert_non_null(c);
    srm_diag_fini(&d);
    return c;
}

static int setup(void **state)
{
    strcpy(tmpdir, "/tmp/srm-config-XXXXXX");
    if (getcwd(olddir, sizeof(olddir)) == NULL || mkdtemp(tmpdir) == NULL ||
        chdir(tmpdir) < 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    /* Each test removes what it wrote besides srmd.yaml. */
    unlink("srmd.yaml");
    if (chdir(olddir) < 0 || rmdir(tmpdir) < 0)
        return -1;
    return 0;
}

/* ------------------------------------------------------------------ */

static void test_unknown_top_key(void **state)
{
    expect_one("daemon:\n"
               "  log_level: debug\n"
               "demon: {}\n",
               "srmd.yaml:3:1: demon: unknown key (expected one of: daemon, "
               "team, listen, sources, people)");
}

static void test_unknown_nested_key(void **state)
{
    expect_one("daemon:\n"
               "  sockets: x\n",
               "srmd.yaml:2:3: daemon.sockets: unknown key (expected one "
               "of: socket, database, plugin_dir, log_level, socket_group, "
               "cache_size, pass_timeout, fulltext)");
    expect_one("team:\n"
               "  members:\n"
               "    - user: alice\n"
               "      nmae: Alice\n",
               "srmd.yaml:4:7: team.members[0].nmae: unknown key (expected "
               "one of: user, name)");
}

static void test_wrong_type(void **state)
{
    expect_one("team:\n"
               "  admins:\n"
               "    alice: x\n",
               "srmd.yaml:3:5: team.admins: expected a list, found a "
               "mapping");
    expect_one("sources:\n"
               "  name: a\n",
               "srmd.yaml:2:3: sources: expected a list, found a mapping");
    expect_one("daemon: [a]\n",
               "srmd.yaml:1:9: daemon: expected a mapping, found a list");
    expect_one("daemon:\n"
               "  socket: [a, b]\n",
               "srmd.yaml:2:11: daemon.socket: expected a string, found a "
               "list");
    expect_one("- a\n",
               "srmd.yaml:1:1: expected a mapping with daemon, team, "
               "listen, sources, people; found a list");
}

static void test_bad_duration(void **state)
{
    expect_one("sources:\n"
               "  - name: a\n"
               "    plugin: rss\n"
               "  - name: b\n"
               "    plugin: rss\n"
               "  - name: c\n"
               "    plugin: rss\n"
               "    every: 5 minutes\n",
               "srmd.yaml:8:12: sources[2].every: expected a duration like "
               "5m");
    expect_one("sources:\n"
               "  - {name: a, plugin: rss, every: 5s}\n",
               "srmd.yaml:2:35: sources[0].every: must be at least 10s");
}

static void test_durations(void **state)
{
    static const struct {
        const char *text;
        int64_t seconds;
    } good[] = {{"90s", 90},     {"5m", 300},     {"1h", 3600},
                {"2d", 172800},  {"1h30m", 5400}, {"300", 300},
                {"1d2h3m4s", 93784}, {"0", 0}};
    static const char *const bad[] = {"", "m", "5x", "1m1h", "1h1h",
                                      "-5m", "5 m", "1.5h", "5mm",
                                      "99999999999999999999"};
    int64_t s;

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        assert_int_equal(srm_duration_parse(good[i].text, &s), 0);
        assert_int_equal(s, good[i].seconds);
    }
    for (size_t i = 1; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(srm_duration_parse(bad[i], &s), -EINVAL);
    assert_int_equal(srm_duration_parse(bad[0], &s), -EINVAL);
    /* "5" alone is plain seconds, hence good. */
    assert_int_equal(srm_duration_parse("5", &s), 0);
}

static void test_sizes(void **state)
{
    int64_t k;

    assert_int_equal(srm_size_parse_kib("16MiB", &k), 0);
    assert_int_equal(k, 16384);
    assert_int_equal(srm_size_parse_kib("512KiB", &k), 0);
    assert_int_equal(k, 512);
    assert_int_equal(srm_size_parse_kib("1G", &k), 0);
    assert_int_equal(k, 1048576);
    assert_int_equal(srm_size_parse_kib("16", &k), -EINVAL);
    assert_int_equal(srm_size_parse_kib("MiB", &k), -EINVAL);
    assert_int_equal(srm_size_parse_kib("1.5MiB", &k), -EINVAL);
    assert_int_equal(srm_size_parse_kib("16TiB", &k), -EINVAL);
    expect_one("daemon:\n"
               "  cache_size: 16\n",
               "srmd.yaml:2:15: daemon.cache_size: expected a size like "
               "16MiB");
    expect_one("daemon:\n"
               "  fulltext: sometimes\n",
               "srmd.yaml:2:13: daemon.fulltext: expected true or false");
}

static void test_bad_log_level(void **state)
{
    expect_one("daemon:\n"
               "  log_level: loud\n",
               "srmd.yaml:2:14: daemon.log_level: expected one of error, "
               "warning, notice, info, debug");
}

static void test_duplicate_source_name(void **state)
{
    expect_one("sources:\n"
               "  - name: feed\n"
               "    plugin: rss\n"
               "  - name: other\n"
               "    plugin: rss\n"
               "  - name: feed\n"
               "    plugin: mastodon\n",
               "srmd.yaml:6:11: sources[2].name: duplicate source name "
               "\"feed\" (first at line 2)");
}

static void test_missing_name_and_plugin(void **state)
{
    expect_one("sources:\n"
               "  - plugin: rss\n"
               "    every: 1h\n",
               "srmd.yaml:2:5: sources[0]: missing required key \"name\"");
    expect_one("sources:\n"
               "  - name: x\n"
               "  - name: y\n"
               "    plugin: rss\n",
               "srmd.yaml:2:5: sources[0]: missing required key \"plugin\"");
    expect_one("sources:\n"
               "  - name:\n"
               "    plugin: rss\n",
               "srmd.yaml:2:10: sources[0].name: missing value");
    expect_one("sources:\n"
               "  - name: \"my feed\"\n"
               "    plugin: rss\n",
               "srmd.yaml:2:11: sources[0].name: names use letters, "
               "digits, '_', '-' and '.', and start with a letter or digit");
    expect_one("sources:\n"
               "  - name: a\n"
               "    plugin: ../evil\n",
               "srmd.yaml:3:13: sources[0].plugin: expected a plugin name "
               "such as rss or mastodon");
}

static void test_duplicate_yaml_key(void **state)
{
    expect_one("listen:\n"
               "  keywords: [a]\n"
               "daemon: {}\n"
               "listen:\n"
               "  keywords: [b]\n",
               "srmd.yaml:4:1: listen: duplicate key \"listen\" (first at "
               "line 1)");
}

static void test_unset_var(void **state)
{
    unsetenv("SRM_T_NOPE");
    expect_one("daemon:\n"
               "  database: ${SRM_T_NOPE}/db\n",
               "srmd.yaml:2:13: daemon.database: environment variable "
               "SRM_T_NOPE is not set");
}

static void test_yaml_syntax(void **state)
{
    expect_one("daemon:\n"
               "  socket: \"unterminated\n",
               "srmd.yaml:3:1: yaml: found unexpected end of stream (while "
               "scanning a quoted scalar started at line 2)");
}

static void test_missing_file(void **state)
{
    struct srm_config *c = NULL;
    struct srm_diag d;

    srm_diag_init(&d);
    assert_int_equal(srm_config_load("absent.yaml", &c, &d), -ENOENT);
    assert_null(c);
    assert_int_equal(d.n, 1);
    assert_string_equal(d.msgs[0],
                        "absent.yaml: cannot read: No such file or directory");
    srm_diag_fini(&d);
}

static void test_routes(void **state)
{
    struct srm_config *c;

    expect_one("team:\n"
               "  admins: [root]\n"
               "  members:\n"
               "    - user: alice\n"
               "  routes:\n"
               "    - network: github\n"
               "      member: bob\n",
               "srmd.yaml:7:15: team.routes[0].member: unknown member "
               "\"bob\": not in team.members or team.admins");
    expect_one("team:\n"
               "  members: [{user: alice}]\n"
               "  routes:\n"
               "    - member: alice\n",
               "srmd.yaml:4:7: team.routes[0]: a route needs at least one "
               "of network, source, keyword, tag");
    expect_one("team:\n"
               "  members: [{user: alice}]\n"
               "  routes:\n"
               "    - {source: nosuch, member: alice}\n",
               "srmd.yaml:4:16: team.routes[0].source: unknown source "
               "\"nosuch\"");

    c = expect_ok("team:\n"
                  "  admins: [root]\n"
                  "  members:\n"
                  "    - user: alice\n"
                  "      name: Alice Liddell\n"
                  "  routes:\n"
                  "    - {network: github, tag: bug, member: alice}\n"
                  "    - {source: hn, keyword: srmd, member: root}\n"
                  "sources:\n"
                  "  - {name: hn, plugin: hackernews}\n");
    assert_int_equal(c->n_routes, 2);
    assert_string_equal(c->routes[0].network, "github");
    assert_string_equal(c->routes[0].tag, "bug");
    assert_null(c->routes[0].source);
    assert_null(c->routes[0].keyword);
    assert_string_equal(c->routes[0].member, "alice");
    assert_string_equal(c->routes[1].source, "hn");
    assert_string_equal(c->routes[1].keyword, "srmd");
    assert_string_equal(c->routes[1].member, "root");
    assert_int_equal(c->routes[1].node->line, 8);
    assert_true(srm_config_is_admin(c, "root"));
    assert_false(srm_config_is_admin(c, "alice"));
    assert_string_equal(srm_config_member(c, "alice")->name, "Alice Liddell");
    assert_null(srm_config_member(c, "root"));
    srm_config_destroy(c);
}

/* One run reports every mistake, in file order, not just the first. */
static void test_all_errors_collected(void **state)
{
    struct srm_config *c = NULL;
    struct srm_diag d;

    unsetenv("SRM_T_NOPE");
    assert_int_equal(load("daemon:\n"
                          "  log_level: chatty\n"
                          "  colour: blue\n"
                          "team:\n"
                          "  admins: [root]\n"
                          "  routes:\n"
                          "    - {tag: x, member: nobody}\n"
                          "listen:\n"
                          "  keywords: {a: 1}\n"
                          "sources:\n"
                          "  - name: a\n"
                          "    plugin: rss\n"
                          "    every: soon\n"
                          "    url: ${SRM_T_NOPE}\n"
                          "  - plugin: rss\n"
                          "  - name: a\n"
                          "    plugin: rss\n"
                          "    insecure: maybe\n"
                          "extra: 1\n",
                          &c, &d),
                     -EINVAL);
    assert_null(c);
    static const char *const want[] = {
        "srmd.yaml:14:10: sources[0].url: environment variable SRM_T_NOPE "
        "is not set",
        "srmd.yaml:19:1: extra: unknown key (expected one of: daemon, team, "
        "listen, sources, people)",
        "srmd.yaml:3:3: daemon.colour: unknown key (expected one of: "
        "socket, database, plugin_dir, log_level, socket_group, cache_size, "
        "pass_timeout, fulltext)",
        "srmd.yaml:2:14: daemon.log_level: expected one of error, warning, "
        "notice, info, debug",
        "srmd.yaml:9:13: listen.keywords: expected a list or a string, "
        "found a mapping",
        "srmd.yaml:13:12: sources[0].every: expected a duration like 5m",
        "srmd.yaml:15:5: sources[1]: missing required key \"name\"",
        "srmd.yaml:16:11: sources[2].name: duplicate source name \"a\" "
        "(first at line 11)",
        "srmd.yaml:18:15: sources[2].insecure: expected true or false",
        "srmd.yaml:7:24: team.routes[0].member: unknown member \"nobody\": "
        "not in team.members or team.admins",
    };
    if (d.n != SRM_ARRAY_LEN(want))
        srm_diag_print(&d);
    assert_int_equal(d.n, SRM_ARRAY_LEN(want));
    for (size_t i = 0; i < SRM_ARRAY_LEN(want); i++)
        assert_string_equal(d.msgs[i], want[i]);
    srm_diag_fini(&d);
}

static void test_defaults(void **state)
{
    struct srm_config *c;
    char *want;
    char real[PATH_MAX];

    assert_non_null(realpath(".", real));
    c = expect_ok("");
    want = srm_xasprintf("%s/var/srmd.sock", real);
    assert_string_equal(c->socket, want);
    free(want);
    want = srm_xasprintf("%s/var/srmd.db", real);
    assert_string_equal(c->database, want);
    free(want);
    assert_string_equal(c->plugin_dir, SRM_DEFAULT_PLUGIN_DIR);
    assert_string_equal(c->dir, real);
    assert_string_equal(c->path, "srmd.yaml");
    assert_int_equal(c->log_level, SRM_LOG_INFO);
    assert_null(c->socket_group);
    assert_int_equal(c->cache_kib, 0);
    assert_int_equal(c->n_sources, 0);
    assert_int_equal(c->n_admins, 0);
    assert_int_equal(c->n_members, 0);
    assert_int_equal(c->n_routes, 0);
    assert_int_equal(c->n_keywords, 0);
    assert_non_null(c->keywords);
    assert_null(c->keywords[0]);
    srm_config_destroy(c);

    c = expect_ok("daemon:\nteam:\nlisten:\nsources: []\n");
    assert_int_equal(c->n_sources, 0);
    srm_config_destroy(c);

    c = expect_ok("sources:\n"
                  "  - name: hn\n"
                  "    plugin: hackernews\n"
                  "    query: srmd\n");
    assert_int_equal(c->n_sources, 1);
    assert_string_equal(c->sources[0].name, "hn");
    assert_string_equal(c->sources[0].plugin, "hackernews");
    assert_int_equal(c->sources[0].every, 300);
    assert_false(c->sources[0].insecure);
    assert_string_equal(c->sources[0].path, "sources[0]");
    assert_ptr_equal(srm_config_source(c, "hn"), &c->sources[0]);
    assert_null(srm_config_source(c, "nope"));
    srm_config_destroy(c);
}

static void test_values_and_paths(void **state)
{
    struct srm_config *c;
    char real[PATH_MAX];
    char *want;

    assert_non_null(realpath(".", real));
    setenv("SRM_T_DB", "state/main.db", 1);
    c = expect_ok("daemon:\n"
                  "  socket: /run/srmd/srmd.sock\n"
                  "  database: ./${SRM_T_DB}\n"
                  "  plugin_dir: ../plugins\n"
                  "  log_level: DEBUG\n"
                  "  socket_group: srm\n"
                  "  cache_size: 64MiB\n"
                  "team:\n"
                  "  admins: [root, ops]\n"
                  "listen:\n"
                  "  keywords: srmd\n"
                  "sources:\n"
                  "  - name: feed.1\n"
                  "    plugin: rss\n"
                  "    every: 1h30m\n"
                  "    insecure: yes\n");
    assert_string_equal(c->socket, "/run/srmd/srmd.sock");
    want = srm_xasprintf("%s/state/main.db", real);
    assert_string_equal(c->database, want);
    free(want);
    want = srm_xasprintf("%s/../plugins", real);
    assert_string_equal(c->plugin_dir, want);
    free(want);
    assert_int_equal(c->log_level, SRM_LOG_DEBUG);
    assert_string_equal(c->socket_group, "srm");
    assert_int_equal(c->cache_kib, 65536);
    assert_int_equal(c->n_admins, 2);
    assert_string_equal(c->admins[1], "ops");
    assert_null(c->admins[2]);
    assert_int_equal(c->n_keywords, 1);
    assert_string_equal(c->keywords[0], "srmd");
    assert_null(c->keywords[1]);
    assert_int_equal(c->sources[0].every, 5400);
    assert_true(c->sources[0].insecure);
    srm_config_destroy(c);
}

/* ------------------------------------------------------------------
 * Plugin schema binding
 */

static const struct srm_cfg_field schema[] = {
    {"base_url", SRM_CFG_URL, NULL, true, "server"},
    {"token", SRM_CFG_SECRET, NULL, true, "access token"},
    {"limit", SRM_CFG_INT, "40", false, "page size"},
    {"poll", SRM_CFG_DURATION, "2m", false, "stream poll"},
    {"hashtags", SRM_CFG_STRING_LIST, NULL, false, "tags"},
    {"tags", SRM_CFG_STRING_LIST, "[a, b]", false, "tags"},
    {"boosts", SRM_CFG_BOOL, "yes", false, "include boosts"},
    {"note", SRM_CFG_STRING, NULL, false, "free text"},
    {"prefix", SRM_CFG_STRING, "#x: y", false, "taken literally"},
    {NULL, 0, NULL, false, NULL},
};

/* Load text (one source) and bind it; returns bind's result. */
static int bind_one(const char *text, struct srm_config **ret_c,
                    struct srm_diag *d)
{
    struct srm_diag ld;

    write_file("srmd.yaml", text);
    srm_diag_init(&ld);
    assert_int_equal(srm_config_load("srmd.yaml", ret_c, &ld), 0);
    srm_diag_fini(&ld);
    assert_int_equal((*ret_c)->n_sources, 1);
    srm_diag_init(d);
    return srm_config_bind_source(&(*ret_c)->sources[0], schema, d);
}

static void expect_bind_one(const char *text, const char *want)
{
    struct srm_config *c;
    struct srm_diag d;

    assert_int_equal(bind_one(text, &c, &d), -EINVAL);
    if (d.n != 1)
        srm_diag_print(&d);
    assert_int_equal(d.n, 1);
    assert_string_equal(d.msgs[0], want);
    srm_diag_fini(&d);
    srm_config_destroy(c);
}

static void test_bind_ok(void **state)
{
    struct srm_config *c;
    struct srm_diag d;
    const struct srm_cfg_value *v;

    write_file("tok", "s3cret\n\n");
    assert_int_equal(bind_one("sources:\n"
                              "  - name: m\n"
                              "    plugin: mastodon\n"
                              "    every: 10m\n"
                              "    base_url: https://example.social\n"
                              "    token_file: tok\n"
                              "    hashtags: one\n"
                              "    boosts: off\n",
                              &c, &d),
                     0);
    assert_int_equal(d.n, 0);
    v = srm_source_cfg_get(&c->sources[0], "base_url");
    assert_string_equal(v->str, "https://example.social");
    assert_int_equal(v->node->line, 5);
    v = srm_source_cfg_get(&c->sources[0], "token");
    assert_string_equal(v->str, "s3cret");
    assert_int_equal(v->type, SRM_CFG_SECRET);
    v = srm_source_cfg_get(&c->sources[0], "limit");
    assert_int_equal(v->num, 40);
    assert_null(v->node);
    assert_int_equal(srm_source_cfg_get(&c->sources[0], "poll")->num, 120);
    v = srm_source_cfg_get(&c->sources[0], "hashtags");
    assert_int_equal(v->n_list, 1);
    assert_string_equal(v->list[0], "one");
    assert_null(v->list[1]);
    v = srm_source_cfg_get(&c->sources[0], "tags");
    assert_int_equal(v->n_list, 2);
    assert_string_equal(v->list[1], "b");
    assert_false(srm_source_cfg_get(&c->sources[0], "boosts")->b);
    v = srm_source_cfg_get(&c->sources[0], "note");
    assert_null(v->str);
    assert_string_equal(srm_source_cfg_get(&c->sources[0], "prefix")->str,
                        "#x: y");
    assert_null(srm_source_cfg_get(&c->sources[0], "nope"));
    /* Rebinding replaces the values rather than leaking or stacking. */
    assert_int_equal(srm_config_bind_source(&c->sources[0], schema, &d), 0);
    assert_string_equal(srm_source_cfg_get(&c->sources[0], "token")->str,
                        "s3cret");
    srm_diag_fini(&d);
    srm_config_destroy(c);
    unlink("tok");
}

static void test_bind_errors(void **state)
{
    expect_bind_one("sources:\n"
                    "  - name: m\n"
                    "    plugin: mastodon\n"
                    "    base_url: https://x.test\n"
                    "    token: t\n"
                    "    hashtag: [a]\n",
                    "srmd.yaml:6:5: sources[0].hashtag: unknown key for "
                    "plugin mastodon");
    expect_bind_one("sources:\n"
                    "  - name: m\n"
                    "    plugin: mastodon\n"
                    "    token: t\n",
                    "srmd.yaml:2:5: sources[0]: missing required key "
                    "\"base_url\"");
    expect_bind_one("sources:\n"
                    "  - name: m\n"
                    "    plugin: mastodon\n"
                    "    base_url: https://x.test\n",
                    "srmd.yaml:2:5: sources[0]: missing required key "
                    "\"token\" (or token_file)");
    expect_bind_one("sources:\n"
                    "  - name: m\n"
                    "    plugin: mastodon\n"
                    "    base_url: https://x.test\n"
                    "    token: t\n"
                    "    limit: forty\n",
                    "srmd.yaml:6:12: sources[0].limit: expected an integer");
    expect_bind_one("sources:\n"
                    "  - name: m\n"
                    "    plugin: mastodon\n"
                    "    base_url: example.social\n"
                    "    token: t\n",
                    "srmd.yaml:4:15: sources[0].base_url: expected a URL "
                    "with a scheme, like https://example.org/");
    expect_bind_one("sources:\n"
                    "  - name: m\n"
                    "    plugin: mastodon\n"
                    "    base_url: https://x.test\n"
                    "    token: t\n"
                    "    poll: often\n",
                    "srmd.yaml:6:11: sources[0].poll: expected a duration "
                    "like 5m");
    expect_bind_one("sources:\n"
                    "  - name: m\n"
                    "    plugin: mastodon\n"
                    "    base_url: https://x.test\n"
                    "    token: t\n"
                    "    boosts: sometimes\n",
                    "srmd.yaml:6:13: sources[0].boosts: expected true or "
                    "false (or yes/no, on/off)");
    expect_bind_one("sources:\n"
                    "  - name: m\n"
                    "    plugin: mastodon\n"
                    "    base_url: https://x.test\n"
                    "    token: t\n"
                    "    hashtags: [a, {b: c}]\n",
                    "srmd.yaml:6:19: sources[0].hashtags[1]: expected a "
                    "string, found a mapping");
    expect_bind_one("sources:\n"
                    "  - name: m\n"
                    "    plugin: mastodon\n"
                    "    base_url: https://x.test\n"
                    "    token: t\n"
                    "    note: {a: b}\n",
                    "srmd.yaml:6:11: sources[0].note: expected a string, "
                    "found a mapping");
}

static void test_secret_file_missing(void **state)
{
    struct srm_config *c;
    struct srm_diag d;
    char real[PATH_MAX];
    char *want;

    assert_non_null(realpath(".", real));
    assert_int_equal(bind_one("sources:\n"
                              "  - name: m\n"
                              "    plugin: mastodon\n"
                              "    base_url: https://x.test\n"
                              "    token_file: secrets/missing\n",
                              &c, &d),
                     -EINVAL);
    assert_int_equal(d.n, 1);
    want = srm_xasprintf("srmd.yaml:5:17: sources[0].token_file: cannot "
                         "read %s/secrets/missing: No such file or directory",
                         real);
    assert_string_equal(d.msgs[0], want);
    free(want);
    srm_diag_fini(&d);
    srm_config_destroy(c);

    write_file("tok", "t\n");
    expect_bind_one("sources:\n"
                    "  - name: m\n"
                    "    plugin: mastodon\n"
                    "    base_url: https://x.test\n"
                    "    token: inline\n"
                    "    token_file: tok\n",
                    "srmd.yaml:6:5: sources[0].token_file: give either "
                    "token or token_file, not both");
    /* _file works only for secrets. */
    expect_bind_one("sources:\n"
                    "  - name: m\n"
                    "    plugin: mastodon\n"
                    "    base_url: https://x.test\n"
                    "    token: t\n"
                    "    note_file: tok\n",
                    "srmd.yaml:6:5: sources[0].note_file: unknown key for "
                    "plugin mastodon");
    unlink("tok");
}

/* A plugin's own bad default is reported, at the source that uses it. */
static void test_bind_bad_default(void **state)
{
    static const struct srm_cfg_field bad_schema[] = {
        {"limit", SRM_CFG_INT, "many", false, "page size"},
        {NULL, 0, NULL, false, NULL},
    };
    struct srm_config *c;
    struct srm_diag d;

    write_file("srmd.yaml", "sources:\n"
                            "  - name: x\n"
                            "    plugin: bad\n");
    srm_diag_init(&d);
    assert_int_equal(srm_config_load("srmd.yaml", &c, &d), 0);
    assert_int_equal(srm_config_bind_source(&c->sources[0], bad_schema, &d),
                     -EINVAL);
    assert_int_equal(d.n, 1);
    assert_string_equal(d.msgs[0], "srmd.yaml:2:5: sources[0].limit: plugin "
                                   "bad has an invalid default \"many\" for "
                                   "this key");
    srm_diag_fini(&d);
    srm_config_destroy(c);
}

static void test_fingerprint(void **state)
{
    struct srm_config *a, *b;
    struct srm_diag d;

    a = expect_ok("sources:\n"
                  "  - name: m\n"
                  "    plugin: mastodon\n"
                  "    base_url: https://x.test\n"
                  "    hashtags: [a, b]\n"
                  "  - name: n\n"
                  "    plugin: rss\n");
    /* Same keys in another order, another position, a comment. */
    b = expect_ok("# moved\n"
                  "sources:\n"
                  "  - name: n\n"
                  "    plugin: rss\n"
                  "  - hashtags:\n"
                  "      - a\n"
                  "      - b\n"
                  "    base_url: https://x.test\n"
                  "    plugin: mastodon\n"
                  "    name: m\n");
    assert_string_equal(srm_config_source(a, "m")->fingerprint,
                        srm_config_source(b, "m")->fingerprint);
    assert_string_equal(srm_config_source(a, "n")->fingerprint,
                        srm_config_source(b, "n")->fingerprint);
    assert_string_not_equal(srm_config_source(a, "m")->fingerprint,
                            srm_config_source(a, "n")->fingerprint);
    srm_config_destroy(b);

    b = expect_ok("sources:\n"
                  "  - name: m\n"
                  "    plugin: mastodon\n"
                  "    base_url: https://x.test\n"
                  "    hashtags: [a, c]\n");
    assert_string_not_equal(srm_config_source(a, "m")->fingerprint,
                            srm_config_source(b, "m")->fingerprint);
    srm_config_destroy(b);
    /* A list of one differs from the same text as one scalar string. */
    b = expect_ok("sources:\n"
                  "  - name: m\n"
                  "    plugin: mastodon\n"
                  "    base_url: https://x.test\n"
                  "    hashtags: \"[a, b]\"\n");
    assert_string_not_equal(srm_config_source(a, "m")->fingerprint,
                            srm_config_source(b, "m")->fingerprint);
    srm_config_destroy(b);
    srm_config_destroy(a);

    /* A rotated token file changes the bound fingerprint. */
    const char *text = "sources:\n"
                       "  - name: m\n"
                       "    plugin: mastodon\n"
                       "    base_url: https://x.test\n"
                       "    token_file: tok\n";
    write_file("tok", "one\n");
    assert_int_equal(bind_one(text, &a, &d), 0);
    srm_diag_fini(&d);
    write_file("tok", "two\n");
    assert_int_equal(bind_one(text, &b, &d), 0);
    srm_diag_fini(&d);
    assert_string_not_equal(a->sources[0].fingerprint,
                            b->sources[0].fingerprint);
    assert_null(strstr(a->sources[0].fingerprint, "one"));
    /* Binding again gives the same text, not a second hash line. */
    char *before = srm_xstrdup(b->sources[0].fingerprint);
    assert_int_equal(srm_config_bind_source(&b->sources[0], schema, &d), 0);
    assert_string_equal(before, b->sources[0].fingerprint);
    free(before);
    srm_diag_fini(&d);
    srm_config_destroy(a);
    srm_config_destroy(b);
    unlink("tok");
}

/* people: explicit identity links, written the way users have them. */
static void test_people_links(void **state)
{
    struct srm_config *c = expect_ok(
        "people:\n"
        "  - name: Ada Lovelace\n"
        "    identities:\n"
        "      - mastodon:@ada@m.example\n"
        "      - bluesky:ada.example.com\n"
        "      - GitHub:ada\n"
        "      - mastodon:https://m.example/users/ada\n"
        "  - identities: [github:101, 'bluesky:did:plc:abc']\n"
        "  - identities: [email:bob@example.org, web:bob@example.org]\n");

    (void)state;
    assert_int_equal(c->n_people, 3);
    assert_string_equal(c->people[0].name, "Ada Lovelace");
    assert_string_equal(c->people[0].where, "srmd.yaml:2");
    assert_int_equal(c->people[0].n_identities, 4);
    assert_string_equal(c->people[0].identities[0], "mastodon:ada@m.example");
    assert_string_equal(c->people[0].identities[1],
                        "bluesky:ada.example.com");
    assert_string_equal(c->people[0].identities[2], "github:ada");
    assert_string_equal(c->people[0].identities[3],
                        "mastodon:https://m.example/users/ada");
    assert_null(c->people[0].identities[4]);
    assert_null(c->people[1].name);
    assert_string_equal(c->people[1].where, "srmd.yaml:8");
    assert_string_equal(c->people[1].identities[1], "bluesky:did:plc:abc");
    assert_int_equal(c->people[2].n_identities, 2);
    srm_config_destroy(c);

    c = expect_ok("people:\n");
    assert_int_equal(c->n_people, 0);
    srm_config_destroy(c);
    c = expect_ok("people: []\n");
    assert_int_equal(c->n_people, 0);
    srm_config_destroy(c);
}

/* Every mistake in people: at its own position, all in one run. */
static void test_people_link_errors(void **state)
{
    struct srm_config *c = NULL;
    struct srm_diag d;
    static const char *const want[] = {
        "srmd.yaml:4:7: people[0].identities: list at least two "
        "identities to link (found 1)",
        "srmd.yaml:5:30: people[1].identities[1]: a profile URL needs its "
        "network first, like mastodon:https://example.social/@ada",
        "srmd.yaml:5:56: people[1].identities[2]: expected NETWORK:ID, such "
        "as mastodon:ada@example.social, bluesky:ada.example.com or "
        "github:ada",
        "srmd.yaml:11:5: people[2].note: unknown key (expected one of: "
        "name, identities)",
        "srmd.yaml:6:11: people[2].name: must not be empty",
        "srmd.yaml:8:9: people[2].identities[0]: expected NETWORK:ID, such "
        "as mastodon:ada@example.social, bluesky:ada.example.com or "
        "github:ada; found a mapping (no space after the colon, or quote "
        "it)",
        "srmd.yaml:10:9: people[2].identities[2]: names the same identity "
        "as people[2].identities[1]",
        "srmd.yaml:14:9: people[3].identities[1]: the ID after \"github:\" "
        "is missing",
        "srmd.yaml:15:9: people[3].identities[2]: \"mastodon:ada@m.example/\" "
        "is already linked in people[0] (line 4): list each person once, "
        "with all of their identities",
        "srmd.yaml:16:9: people[3].identities[3]: \"git hub\" is not a "
        "network name (letters, digits, '_' and '-'); expected NETWORK:ID, "
        "such as mastodon:ada@example.social, bluesky:ada.example.com or "
        "github:ada",
        "srmd.yaml:17:5: people[4]: missing required key \"identities\"",
        "srmd.yaml:18:5: people[5]: expected a mapping, found a scalar",
        "srmd.yaml:19:17: people[6].identities: expected a list of two or "
        "more NETWORK:ID, found a scalar",
    };

    (void)state;
    assert_int_equal(
        load("people:\n"                                              /* 1 */
             "  - name: Ada\n"                                        /* 2 */
             "    identities:\n"                                      /* 3 */
             "      - mastodon:ada@m.example\n"                       /* 4 */
             "  - identities: [github:bob, \"https://m.example/@bob\", bob]\n"
             "  - name: \"\"\n"                                       /* 6 */
             "    identities:\n"                                      /* 7 */
             "      - mastodon: cy\n"                                 /* 8 */
             "      - github:cy\n"                                    /* 9 */
             "      - GitHub:@cy\n"                                   /* 10 */
             "    note: x\n"                                          /* 11 */
             "  - identities:\n"                                      /* 12 */
             "      - bluesky:dee.example\n"                          /* 13 */
             "      - \"github:\"\n"                                  /* 14 */
             "      - mastodon:@ada@m.example/\n"                     /* 15 */
             "      - git hub:dee\n"                                  /* 16 */
             "  - name: Eve\n"                                        /* 17 */
             "  - 42\n"                                               /* 18 */
             "  - identities: mastodon:a@b\n",                        /* 19 */
             &c, &d),
        -EINVAL);
    assert_null(c);
    if (d.n != SRM_ARRAY_LEN(want))
        srm_diag_print(&d);
    for (size_t i = 0; i < d.n && i < SRM_ARRAY_LEN(want); i++)
        assert_string_equal(d.msgs[i], want[i]);
    assert_int_equal(d.n, SRM_ARRAY_LEN(want));
    srm_diag_fini(&d);

    expect_one("people: {name: x}\n",
               "srmd.yaml:1:9: people: expected a list, found a mapping");
}

/* The shipped example and the default config must load. */
static void test_shipped_files(void **state)
{
    static const char *const files[] = {
        SRM_TEST_DATA "/../../conf/srmd.yaml",
        SRM_TEST_DATA "/../../conf/srmd.yaml.example",
        SRM_TEST_DATA "/config/full.yaml",
    };
    for (size_t i = 0; i < SRM_ARRAY_LEN(files); i++) {
        struct srm_config *c = NULL;
        struct srm_diag d;

        srm_diag_init(&d);
        if (srm_config_load(files[i], &c, &d) != 0)
            srm_diag_print(&d);
        assert_int_equal(d.n, 0);
        assert_non_null(c);
        if (strstr(files[i], "full.yaml")) {
            char *want = srm_xasprintf("%s/run/s.sock", c->dir);
            assert_string_equal(c->socket, want);
            free(want);
            assert_string_equal(c->database, "/var/lib/srmd/srmd.db");
            assert_int_equal(c->log_level, SRM_LOG_WARNING);
            assert_int_equal(c->cache_kib, 512);
            assert_int_equal(c->n_admins, 1);
            assert_int_equal(c->n_members, 2);
            assert_null(c->members[1].name);
            assert_int_equal(c->n_routes, 1);
            assert_string_equal(c->routes[0].tag, "vip");
            assert_string_equal(c->keywords[1], "srm daemon");
            assert_int_equal(c->n_sources, 2);
            assert_int_equal(c->sources[0].every, 3600);
            assert_true(c->sources[0].insecure);
            assert_int_equal(c->sources[1].node->line, 15);
        }
        srm_config_destroy(c);
        srm_diag_fini(&d);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unknown_top_key),
        cmocka_unit_test(test_unknown_nested_key),
        cmocka_unit_test(test_wrong_type),
        cmocka_unit_test(test_bad_duration),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_bad_log_level),
        cmocka_unit_test(test_duplicate_source_name),
        cmocka_unit_test(test_missing_name_and_plugin),
        cmocka_unit_test(test_duplicate_yaml_key),
        cmocka_unit_test(test_unset_var),
        cmocka_unit_test(test_yaml_syntax),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_routes),
        cmocka_unit_test(test_all_errors_collected),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_values_and_paths),
        cmocka_unit_test(test_bind_ok),
        cmocka_unit_test(test_bind_errors),
        cmocka_unit_test(test_secret_file_missing),
        cmocka_unit_test(test_bind_bad_default),
        cmocka_unit_test(test_fingerprint),
        cmocka_unit_test(test_shipped_files),
        cmocka_unit_test(test_people_links),
        cmocka_unit_test(test_people_link_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
