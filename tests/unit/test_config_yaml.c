/* test_config_yaml.c - the YAML tree: positions, ${VAR}, errors. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "config_yaml.h"
#include "mem.h"

static int parse(const char *text, struct srm_diag *d,
                 struct srm_cfg_node **ret_root)
{
    srm_diag_init(d);
    return srm_cfg_yaml_load_buffer("t.yaml", text, strlen(text), d,
                                    ret_root);
}

static void assert_pos(const struct srm_cfg_node *n, unsigned line,
                       unsigned col)
{
    assert_non_null(n);
    assert_int_equal(n->line, line);
    assert_int_equal(n->col, col);
}

/* Lines and columns count from 1, keys keep their own position, and paths
 * name sequence items by 0-based index. */
static void test_positions(void **state)
{
    const char *text = "a: 1\n"
                       "b:\n"
                       "  c: [x, \"y\"]\n"
                       "  d:\n"
                       "    - e\n";
    struct srm_cfg_node *root;
    struct srm_diag d;
    const struct srm_cfg_node *a, *b, *c, *dn;

    assert_int_equal(parse(text, &d, &root), 0);
    assert_int_equal(d.n, 0);
    assert_int_equal(root->kind, SRM_CFG_NODE_MAP);
    assert_int_equal(root->n_items, 2);

    a = srm_cfg_node_get(root, "a");
    assert_int_equal(a->kind, SRM_CFG_NODE_SCALAR);
    assert_string_equal(a->scalar, "1");
    assert_pos(a, 1, 4);
    assert_pos(a->key, 1, 1);
    assert_string_equal(a->path, "a");
    assert_string_equal(a->file, "t.yaml");

    b = srm_cfg_node_get(root, "b");
    assert_int_equal(b->kind, SRM_CFG_NODE_MAP);
    assert_pos(b->key, 2, 1);
    c = srm_cfg_node_get(b, "c");
    assert_int_equal(c->kind, SRM_CFG_NODE_SEQ);
    assert_pos(c->key, 3, 3);
    assert_pos(c, 3, 6);
    assert_int_equal(c->n_items, 2);
    assert_pos(srm_cfg_node_at(c, 0), 3, 7);
    assert_pos(srm_cfg_node_at(c, 1), 3, 10);
    assert_string_equal(srm_cfg_node_at(c, 1)->scalar, "y");
    assert_string_equal(srm_cfg_node_at(c, 1)->path, "b.c[1]");
    assert_null(srm_cfg_node_at(c, 2));

    dn = srm_cfg_node_get(b, "d");
    assert_int_equal(dn->kind, SRM_CFG_NODE_SEQ);
    assert_pos(srm_cfg_node_at(dn, 0), 5, 7);
    assert_string_equal(srm_cfg_node_at(dn, 0)->path, "b.d[0]");

    /* Iteration over a map keeps file order. */
    assert_string_equal(srm_cfg_node_at(root, 0)->key->scalar, "a");
    assert_string_equal(srm_cfg_node_at(root, 1)->key->scalar, "b");
    assert_null(srm_cfg_node_get(root, "zz"));
    assert_null(srm_cfg_node_get(a, "a")); /* not a map */

    srm_cfg_node_destroy(root);
    srm_diag_fini(&d);
}

static void test_null_and_quoted(void **state)
{
    struct srm_cfg_node *root;
    struct srm_diag d;

    assert_int_equal(parse("a:\nb: ~\nc: \"\"\nd: 'null'\n", &d, &root), 0);
    assert_true(srm_cfg_node_get(root, "a")->null);
    assert_true(srm_cfg_node_get(root, "b")->null);
    assert_false(srm_cfg_node_get(root, "c")->null);
    assert_string_equal(srm_cfg_node_get(root, "c")->scalar, "");
    assert_false(srm_cfg_node_get(root, "d")->null);
    assert_string_equal(srm_cfg_node_get(root, "d")->scalar, "null");
    srm_cfg_node_destroy(root);
    srm_diag_fini(&d);
}

static void test_env_expansion(void **state)
{
    struct srm_cfg_node *root;
    struct srm_diag d;

    setenv("SRM_T_FOO", "bar", 1);
    setenv("SRM_T_EMPTY", "", 1);
    assert_int_equal(
        parse("v: \"pre-${SRM_T_FOO}-post $${LIT} $x ${SRM_T_EMPTY}end $\"\n"
              "w: ${SRM_T_FOO}${SRM_T_FOO}\n"
              "${SRM_T_FOO}: literal key\n",
              &d, &root),
        0);
    assert_int_equal(d.n, 0);
    assert_string_equal(srm_cfg_node_get(root, "v")->scalar,
                        "pre-bar-post ${LIT} $x end $");
    assert_string_equal(srm_cfg_node_get(root, "w")->scalar, "barbar");
    assert_non_null(srm_cfg_node_get(root, "${SRM_T_FOO}"));
    srm_cfg_node_destroy(root);
    srm_diag_fini(&d);
}

static void test_env_unset(void **state)
{
    struct srm_cfg_node *root;
    struct srm_diag d;

    unsetenv("SRM_T_UNSET");
    assert_int_equal(parse("ok: 1\n"
                           "s:\n"
                           "  - token: \"x${SRM_T_UNSET}\"\n"
                           "bad: ${1X}\n",
                           &d, &root),
                     -EINVAL);
    /* The tree is still given, so the validator can report more. */
    assert_non_null(root);
    assert_int_equal(d.n, 2);
    assert_string_equal(d.msgs[0], "t.yaml:3:12: s[0].token: environment "
                                   "variable SRM_T_UNSET is not set");
    assert_string_equal(d.msgs[1],
                        "t.yaml:4:6: bad: malformed ${...}: expected ${NAME} "
                        "with a letter or _ first (write $${ for a literal "
                        "${)");
    srm_cfg_node_destroy(root);
    srm_diag_fini(&d);
}

static void test_duplicate_key(void **state)
{
    struct srm_cfg_node *root;
    struct srm_diag d;

    assert_int_equal(parse("daemon:\n"
                           "  socket: a\n"
                           "  database: b\n"
                           "  socket: c\n",
                           &d, &root),
                     -EINVAL);
    assert_int_equal(d.n, 1);
    assert_string_equal(d.msgs[0], "t.yaml:4:3: daemon.socket: duplicate "
                                   "key \"socket\" (first at line 2)");
    /* The first one is kept. */
    assert_string_equal(
        srm_cfg_node_get(srm_cfg_node_get(root, "daemon"), "socket")->scalar,
        "a");
    srm_cfg_node_destroy(root);
    srm_diag_fini(&d);
}

static void test_syntax_error(void **state)
{
    struct srm_cfg_node *root;
    struct srm_diag d;

    assert_int_equal(parse("a: 1\n"
                           "b: [1, 2\n"
                           "c: 3\n",
                           &d, &root),
                     -EINVAL);
    assert_null(root);
    assert_int_equal(d.n, 1);
    assert_string_equal(d.msgs[0],
                        "t.yaml:3:2: yaml: did not find expected ',' or ']' "
                        "(while parsing a flow sequence started at line 2)");
    srm_diag_fini(&d);

    assert_int_equal(parse("a: 1\n  b: 2\n", &d, &root), -EINVAL);
    assert_null(root);
    assert_int_equal(d.n, 1);
    assert_string_equal(d.msgs[0], "t.yaml:2:4: yaml: mapping values are "
                                   "not allowed in this context");
    srm_diag_fini(&d);
}

static void test_bad_utf8(void **state)
{
    struct srm_cfg_node *root;
    struct srm_diag d;

    assert_int_equal(parse("a: 1\nb: x\xff\n", &d, &root), -EINVAL);
    assert_null(root);
    assert_int_equal(d.n, 1);
    assert_string_equal(d.msgs[0],
                        "t.yaml:2:5: yaml: invalid leading UTF-8 octet");
    srm_diag_fini(&d);
}

static void test_alias_refused(void **state)
{
    struct srm_cfg_node *root;
    struct srm_diag d;

    assert_int_equal(parse("a: &x 1\nb: *x\n", &d, &root), -EINVAL);
    assert_null(root);
    assert_int_equal(d.n, 1);
    assert_string_equal(d.msgs[0], "t.yaml:2:4: b: aliases (*x) are not "
                                   "supported; write the value out");
    srm_diag_fini(&d);
}

static void test_one_document(void **state)
{
    struct srm_cfg_node *root;
    struct srm_diag d;

    assert_int_equal(parse("a: 1\n---\nb: 2\n", &d, &root), -EINVAL);
    assert_null(root);
    assert_int_equal(d.n, 1);
    assert_string_equal(d.msgs[0],
                        "t.yaml:2:1: yaml: only one document is allowed");
    srm_diag_fini(&d);
}

static void test_empty(void **state)
{
    struct srm_cfg_node *root;
    struct srm_diag d;

    assert_int_equal(parse("", &d, &root), 0);
    assert_int_equal(root->kind, SRM_CFG_NODE_MAP);
    assert_int_equal(root->n_items, 0);
    srm_cfg_node_destroy(root);
    assert_int_equal(parse("# only a comment\n", &d, &root), 0);
    assert_int_equal(root->kind, SRM_CFG_NODE_MAP);
    srm_cfg_node_destroy(root);
    srm_diag_fini(&d);
}

static void test_deep_nesting(void **state)
{
    char text[512];
    struct srm_cfg_node *root;
    struct srm_diag d;

    memset(text, '[', 200);
    text[200] = '\0';
    assert_int_equal(parse(text, &d, &root), -EINVAL);
    assert_null(root);
    assert_int_equal(d.n, 1);
    assert_non_null(strstr(d.msgs[0], "nested deeper than 64 levels"));
    srm_diag_fini(&d);
}

static void test_file(void **state)
{
    char dir[] = "/tmp/srm-cfgyaml-XXXXXX";
    char *path;
    struct srm_cfg_node *root;
    struct srm_diag d;
    FILE *f;

    assert_non_null(mkdtemp(dir));
    path = srm_xasprintf("%s/x.yaml", dir);
    srm_diag_init(&d);
    assert_int_equal(srm_cfg_yaml_load(path, &d, &root), -ENOENT);
    assert_null(root);
    assert_int_equal(d.n, 1);
    char *want = srm_xasprintf("%s: cannot read: No such file or directory",
                               path);
    assert_string_equal(d.msgs[0], want);
    free(want);
    srm_diag_fini(&d);

    assert_int_equal(srm_cfg_yaml_load(dir, &d, &root), -EISDIR);
    assert_int_equal(d.n, 1);
    assert_non_null(strstr(d.msgs[0], ": cannot read: Is a directory"));
    srm_diag_fini(&d);

    f = fopen(path, "w");
    assert_non_null(f);
    fputs("k:\n  - v\n", f);
    fclose(f);
    assert_int_equal(srm_cfg_yaml_load(path, &d, &root), 0);
    assert_string_equal(root->file, path);
    assert_string_equal(
        srm_cfg_node_at(srm_cfg_node_get(root, "k"), 0)->file, path);
    srm_cfg_node_destroy(root);
    srm_diag_fini(&d);
    unlink(path);
    rmdir(dir);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_positions),
        cmocka_unit_test(test_null_and_quoted),
        cmocka_unit_test(test_env_expansion),
        cmocka_unit_test(test_env_unset),
        cmocka_unit_test(test_duplicate_key),
        cmocka_unit_test(test_syntax_error),
        cmocka_unit_test(test_bad_utf8),
        cmocka_unit_test(test_alias_refused),
        cmocka_unit_test(test_one_document),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
