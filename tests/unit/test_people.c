/* test_people.c - identity resolution through the ingest path
 * (srm_db_apply_batch -> srm_people_after_batch), merge and split. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "db.h"
#include "mem.h"
#include "people.h"
#include "record.h"

struct fx {
    char dir[64];
    struct srm_db *db;
    int64_t source_id;
};

static int fx_setup(void **state)
{
    struct fx *f = srm_xcalloc(1, sizeof(*f));
    char *path;

    strcpy(f->dir, "/tmp/srm-test-people.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    path = srm_xasprintf("%s/srmd.db", f->dir);
    assert_int_equal(srm_db_open(path, false, 0, &f->db), 0);
    free(path);
    assert_int_equal(srm_db_source_ensure(f->db, "m", "mastodon", 1000,
                                          &f->source_id), 0);
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;
    char *cmd = srm_xasprintf("rm -rf '%s'", f->dir);

    srm_db_close(f->db);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    free(f);
    return 0;
}

static int64_t q_int(struct srm_db *db, const char *sql)
{
    sqlite3_stmt *st;
    int64_t v = -1;

    assert_int_equal(sqlite3_prepare_v2(srm_db_handle(db), sql, -1, &st,
                                        NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* A digest of every row a merge or split may touch. */
static char *q_dump(struct srm_db *db)
{
    static const char *const sql =
        "SELECT (SELECT group_concat(x, '|') FROM (SELECT id || ',' ||"
        " coalesce(display_name, '') || ',' || coalesce(cadence_days, '') ||"
        " ',' || coalesce(owner_id, '') || ',' || updated_at AS x"
        " FROM people ORDER BY id)) || '#' ||"
        " (SELECT group_concat(id || ':' || person_id, ' ') FROM identities)"
        " || '#' || coalesce((SELECT group_concat(id || ':' || person_id, ' ')"
        " FROM notes), '') || '#' || coalesce((SELECT group_concat(person_id"
        " || ':' || tag, ' ') FROM person_tags), '')";
    sqlite3_stmt *st;
    char *s;

    assert_int_equal(sqlite3_prepare_v2(srm_db_handle(db), sql, -1, &st,
                                        NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    s = srm_xstrdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return s;
}

static void exec(struct srm_db *db, const char *sql)
{
    assert_int_equal(sqlite3_exec(srm_db_handle(db), sql, NULL, NULL, NULL),
                     SQLITE_OK);
}

static void add_identity(struct srm_batch *b, const char *network,
                         const char *remote_id, const char *handle,
                         const char *name, const char *email,
                         const struct srm_link *links, size_t n_links)
{
    struct srm_identity id = SRM_IDENTITY_INIT;
    const char *why = NULL;

    id.network = network;
    id.remote_id = remote_id;
    id.handle = handle;
    id.display_name = name;
    id.email = email;
    id.links = links;
    id.n_links = n_links;
    assert_int_equal(srm_batch_add_identity(b, &id, &why), 0);
}

static void apply(struct fx *f, struct srm_batch *b)
{
    assert_int_equal(srm_db_begin(f->db), 0);
    assert_int_equal(srm_db_apply_batch(f->db, b), 0);
    assert_int_equal(srm_db_commit(f->db), 0);
}

static int64_t person_of(struct fx *f, const char *remote_id)
{
    char *sql = srm_xasprintf(
        "SELECT person_id FROM identities WHERE remote_id = '%s'",
        remote_id);
    int64_t v = q_int(f->db, sql);

    free(sql);
    return v;
}

static void test_ingest_merges_on_email_not_on_handle(void **state)
{
    struct fx *f = *state;
    struct srm_batch b;

    srm_batch_init(&b, f->source_id, "m", "mastodon");
    b.now = 2000;
    add_identity(&b, "mastodon", "m-ada", "ada@m.example", "Ada", NULL, NULL,
                 0);
    add_identity(&b, "github", "g-ada", "ada", "Ada L", NULL, NULL, 0);
    apply(f, &b);
    srm_batch_fini(&b);
    /* The same handle on two networks: a suggestion, two people. */
    assert_int_not_equal(person_of(f, "m-ada"), person_of(f, "g-ada"));
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM identity_evidence"
                                  " WHERE kind = 'same_handle'"), 1);
    /* Both are searchable by name, indexed by the batch. */
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM people_fts WHERE"
                                  " people_fts MATCH 'ada'"), 2);

    /* A later sighting brings the same email on both: one person. */
    srm_batch_init(&b, f->source_id, "m", "mastodon");
    b.now = 3000;
    add_identity(&b, "mastodon", "m-ada", NULL, NULL, "ada@x.org", NULL, 0);
    add_identity(&b, "github", "g-ada", NULL, NULL, "Ada@X.org", NULL, 0);
    apply(f, &b);
    srm_batch_fini(&b);
    assert_int_equal(person_of(f, "m-ada"), person_of(f, "g-ada"));
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM people"), 1);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM merges"
                                  " WHERE member IS NULL"), 1);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM people_fts"), 1);
}

static void test_ingest_merges_on_verified_links(void **state)
{
    struct fx *f = *state;
    struct srm_link site = {.label = "Website",
                            .url = "https://bea.example/",
                            .verified_at = 1500};
    struct srm_link unverified = {.label = "Website",
                                  .url = "https://cy.example/"};
    struct srm_batch b;

    srm_batch_init(&b, f->source_id, "m", "mastodon");
    b.now = 2000;
    add_identity(&b, "mastodon", "m-bea", "bea@m.example", "Bea", NULL,
                 &site, 1);
    add_identity(&b, "bluesky", "did:bea", "bea.example", "B", NULL, &site,
                 1);
    add_identity(&b, "mastodon", "m-cy", "cy@m.example", "Cy", NULL,
                 &unverified, 1);
    add_identity(&b, "github", "g-cy", "cyx", "Cy", NULL, &unverified, 1);
    apply(f, &b);
    srm_batch_fini(&b);
    assert_int_equal(person_of(f, "m-bea"), person_of(f, "did:bea"));
    /* Same name and an unverified shared site: only a suggestion. */
    assert_int_not_equal(person_of(f, "m-cy"), person_of(f, "g-cy"));
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM identity_evidence"
                                  " WHERE kind = 'name_website'"), 1);
}

static void test_merge_split_restore_exactly(void **state)
{
    struct fx *f = *state;
    struct srm_batch b;
    int64_t p, q, mid, after, undone;
    char *before, *now;

    srm_batch_init(&b, f->source_id, "m", "mastodon");
    b.now = 2000;
    add_identity(&b, "mastodon", "m-dee", "dee@m.example", "Dee", NULL,
                 NULL, 0);
    add_identity(&b, "github", "g-dee", "deex", "Dee X", NULL, NULL, 0);
    apply(f, &b);
    srm_batch_fini(&b);
    p = person_of(f, "m-dee");
    q = person_of(f, "g-dee");
    exec(f->db, "UPDATE people SET cadence_days = 9 WHERE id = 2;"
                "INSERT INTO notes (person_id, text, created_at) VALUES"
                " (2, 'hello', 5);"
                "INSERT INTO person_tags VALUES (2, 'x'), (1, 'x'),"
                " (2, 'y');");
    before = q_dump(f->db);
    assert_int_equal(srm_db_begin(f->db), 0);
    assert_int_equal(srm_people_merge(f->db, q, p, "me", "test", 4000,
                                      &mid), 0);
    assert_int_equal(srm_db_commit(f->db), 0);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM people"), 1);
    assert_int_equal(q_int(f->db, "SELECT person_id FROM notes"), p);
    assert_int_equal(q_int(f->db, "SELECT cadence_days FROM people"), 9);
    assert_int_equal(srm_people_merge(f->db, q, p, "me", "again", 4000,
                                      NULL), -ENOENT);
    assert_int_equal(srm_db_begin(f->db), 0);
    assert_int_equal(srm_people_split(f->db, 2, false, "me", 5000, &after,
                                      &undone), 0);
    assert_int_equal(srm_db_commit(f->db), 0);
    assert_int_equal(undone, mid);
    assert_int_equal(after, q);
    now = q_dump(f->db);
    assert_string_equal(now, before);
    free(now);
    free(before);
    /* Not merged again on strong evidence. */
    assert_int_equal(srm_db_begin(f->db), 0);
    struct srm_people_stats s = {0};
    assert_int_equal(srm_people_evidence(f->db, 1, 2, "config", 1.0, NULL,
                                         6000, &s), 0);
    assert_int_equal(srm_db_commit(f->db), 0);
    assert_int_equal(s.blocked, 1);
    assert_int_equal(s.merged, 0);
    assert_int_not_equal(person_of(f, "m-dee"), person_of(f, "g-dee"));
    /* A lone identity cannot be split out. */
    assert_int_equal(srm_people_split(f->db, 2, true, "me", 7000, &after,
                                      &undone), -EALREADY);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_ingest_merges_on_email_not_on_handle, fx_setup,
            fx_teardown),
        cmocka_unit_test_setup_teardown(test_ingest_merges_on_verified_links,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_merge_split_restore_exactly,
                                        fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
