/* fuzz_config.c - srmd.yaml bytes through the YAML loader and the config
 * validator (daemon/config_yaml.h, daemon/config.h).
 *
 * Each input is parsed with srm_cfg_yaml_load_buffer(), then written to
 * srmd.yaml in a private folder under /dev/shm and loaded with
 * srm_config_load() (the validator has no buffer entry point). Every
 * source of a valid config is then bound against a small fixed schema
 * holding each key type, and looked up through the accessors. The folder
 * also holds "tok" (for token_file: tok) and SRM_FUZZ_VAR is set (for
 * ${SRM_FUZZ_VAR}). The input, as a C string, also goes to
 * srm_duration_parse() and srm_size_parse_kib(). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "config_yaml.h"

static const struct srm_cfg_field fz_schema[] = {
    {"feeds", SRM_CFG_STRING_LIST, NULL, false, "a list"},
    {"token", SRM_CFG_SECRET, NULL, false, "a secret, maybe token_file"},
    {"base_url", SRM_CFG_URL, "https://example.test/", false, "a URL"},
    {"max_items", SRM_CFG_INT, "200", false, "an int"},
    {"stream", SRM_CFG_BOOL, "true", false, "a bool"},
    {"backfill", SRM_CFG_DURATION, "7d", false, "a duration"},
    {"query", SRM_CFG_STRING, NULL, false, "a string"},
    {"hashtags", SRM_CFG_STRING_LIST, "[a, b]", false, "a list default"},
    {NULL, 0, NULL, false, NULL},
};
static const struct srm_cfg_field fz_schema_required[] = {
    {"feeds", SRM_CFG_STRING_LIST, NULL, true, "a required list"},
    {"app_password", SRM_CFG_SECRET, NULL, true, "a required secret"},
    {NULL, 0, NULL, false, NULL},
};

static char fz_dir[64];
static char fz_path[96];

static void fz_cleanup(void)
{
    char tok[96];

    if (fz_dir[0] == '\0')
        return;
    snprintf(tok, sizeof(tok), "%s/tok", fz_dir);
    unlink(fz_path);
    unlink(tok);
    rmdir(fz_dir);
}

static void fz_init(void)
{
    char tok[96];
    FILE *f;

    snprintf(fz_dir, sizeof(fz_dir), "/dev/shm/srm-fuzz-config-XXXXXX");
    if (mkdtemp(fz_dir) == NULL) {
        snprintf(fz_dir, sizeof(fz_dir), "/tmp/srm-fuzz-config-XXXXXX");
        if (mkdtemp(fz_dir) == NULL) {
            perror("fuzz_config: mkdtemp");
            abort();
        }
    }
    snprintf(fz_path, sizeof(fz_path), "%s/srmd.yaml", fz_dir);
    snprintf(tok, sizeof(tok), "%s/tok", fz_dir);
    f = fopen(tok, "w");
    if (f == NULL)
        abort();
    fputs("s3cr3t-token\n", f);
    fclose(f);
    setenv("SRM_FUZZ_VAR", "from-env", 1);
    /* A crash skips atexit: tests/fuzz/run removes the folder named here. */
    fprintf(stderr, "fuzz_config: work folder %s\n", fz_dir);
    atexit(fz_cleanup);
}

static void fz_write(const uint8_t *data, size_t size)
{
    FILE *f = fopen(fz_path, "wb");

    if (f == NULL || (size > 0 && fwrite(data, 1, size, f) != size)) {
        perror("fuzz_config: write");
        abort();
    }
    fclose(f);
}

static void fz_bind(struct srm_config *c)
{
    struct srm_diag d;

    for (size_t i = 0; i < c->n_sources; i++) {
        struct srm_source_cfg *src = &c->sources[i];

        srm_diag_init(&d);
        (void)srm_config_bind_source(src, fz_schema, &d);
        for (const struct srm_cfg_field *fl = fz_schema; fl->key; fl++) {
            const struct srm_cfg_value *v = srm_source_cfg_get(src, fl->key);
            if (v != NULL && v->str != NULL)
                (void)strlen(v->str);
            if (v != NULL && v->list != NULL)
                for (size_t k = 0; k < v->n_list; k++)
                    (void)strlen(v->list[k]);
        }
        srm_diag_fini(&d);
        /* Rebinding against another schema replaces the values. */
        srm_diag_init(&d);
        (void)srm_config_bind_source(src, fz_schema_required, &d);
        srm_diag_fini(&d);
        if (src->name != NULL)
            (void)srm_config_source(c, src->name);
    }
    for (size_t i = 0; i < c->n_members; i++)
        (void)srm_config_member(c, c->members[i].user);
    for (size_t i = 0; i < c->n_admins; i++)
        (void)srm_config_is_admin(c, c->admins[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct srm_cfg_node *root = NULL;
    struct srm_config *c = NULL;
    struct srm_diag d;

    if (fz_dir[0] == '\0')
        fz_init();
    if (size > 64 * 1024)
        return 0;

    /* The buffer loader alone. */
    srm_diag_init(&d);
    (void)srm_cfg_yaml_load_buffer("fuzz.yaml", (const char *)data, size, &d,
                                   &root);
    if (root != NULL)
        (void)srm_cfg_node_get(root, "daemon");
    srm_cfg_node_destroy(root);
    srm_diag_fini(&d);

    /* The whole validation, from a file. */
    fz_write(data, size);
    srm_diag_init(&d);
    if (srm_config_load(fz_path, &c, &d) == 0) {
        if (c == NULL || d.n != 0) {
            fprintf(stderr, "fuzz_config: load returned 0 with %zu errors "
                            "or no config\n", d.n);
            abort();
        }
        fz_bind(c);
    } else if (c != NULL || d.n == 0) {
        fprintf(stderr, "fuzz_config: load failed with a config or with "
                        "no message\n");
        abort();
    }
    for (size_t i = 0; i < d.n; i++)
        (void)strlen(d.msgs[i]);
    srm_config_destroy(c);
    srm_diag_fini(&d);

    /* The scalar parsers, on the input as a string. */
    if (size < 64) {
        char s[64];
        int64_t v;
        memcpy(s, data, size);
        s[size] = '\0';
        (void)srm_duration_parse(s, &v);
        (void)srm_size_parse_kib(s, &v);
    }
    return 0;
}
