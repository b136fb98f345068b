/* test_people.c - identity resolution through the ingest path
 * (srm_db_apply_batch -> srm_people_after_batch), merge and split. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "db.h"
#include "mem.h"
#include "people.h"
#include "people_score.h"
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

    srm_people_links_clear();
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

static void add_mention(struct srm_batch *b, const char *network,
                        const char *remote_id, const char *author,
                        int64_t at)
{
    struct srm_mention m = SRM_MENTION_INIT;
    const char *why = NULL;

    m.network = network;
    m.remote_id = remote_id;
    m.author_id = author;
    m.text = "hello";
    m.created_at = at;
    assert_int_equal(srm_batch_add_mention(b, &m, &why), 0);
}

static void links(struct fx *f, const struct srm_people_link *l, size_t n,
                  int64_t now, struct srm_people_stats *s)
{
    assert_int_equal(srm_db_begin(f->db), 0);
    assert_int_equal(srm_people_links_apply(f->db, l, n, now, s), 0);
    assert_int_equal(srm_db_commit(f->db), 0);
}

static char *q_text(struct srm_db *db, const char *sql)
{
    sqlite3_stmt *st;
    char *s = NULL;

    assert_int_equal(sqlite3_prepare_v2(srm_db_handle(db), sql, -1, &st,
                                        NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        s = srm_xstrdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return s;
}

static void assert_q_text(struct srm_db *db, const char *sql,
                          const char *want)
{
    char *got = q_text(db, sql);

    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

/* Two identities with nothing in common are one person because srmd.yaml
 * says so; identities named before they exist are linked when ingest
 * stores them, whether as an identity record or only as an author. */
static void test_config_links_merge_on_arrival(void **state)
{
    static const char *const ada[] = {
        "mastodon:ada@m.example", "github:lovelace",
        "bluesky:ada.example.com", "hackernews:countess"};
    static const char *const cy[] = {"github:cy1", "github:cy2"};
    const struct srm_people_link l[] = {
        {"Ada Lovelace", "srmd.yaml:12", ada, 4},
        {NULL, "srmd.yaml:20", cy, 2},
    };
    struct fx *f = *state;
    struct srm_people_stats s = {0};
    struct srm_batch b;

    srm_batch_init(&b, f->source_id, "m", "mastodon");
    b.now = 2000;
    add_identity(&b, "mastodon", "m-ada", "ada@m.example", "ada", NULL,
                 NULL, 0);
    add_identity(&b, "github", "g-101", "lovelace", "A. L.", NULL, NULL, 0);
    add_identity(&b, "github", "g-cy", "cy1", "Cy", NULL, NULL, 0);
    apply(f, &b);
    srm_batch_fini(&b);
    assert_int_not_equal(person_of(f, "m-ada"), person_of(f, "g-101"));

    links(f, l, 2, 2100, &s);
    assert_int_equal(s.merged, 1);
    assert_int_equal(person_of(f, "m-ada"), person_of(f, "g-101"));
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM identity_evidence"
                                  " WHERE kind = 'config' AND confidence ="
                                  " 1.0 AND state = 'active'"), 1);
    assert_q_text(f->db, "SELECT detail FROM identity_evidence WHERE kind ="
                         " 'config'", "srmd.yaml:12: Ada Lovelace");
    assert_q_text(f->db, "SELECT display_name || '/' || name_from FROM"
                         " people WHERE id = (SELECT person_id FROM"
                         " identities WHERE remote_id = 'm-ada')",
                  "Ada Lovelace/config");
    /* The people index knows the configured name. */
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM people_fts WHERE"
                                  " people_fts MATCH 'lovelace'"), 1);

    /* The Bluesky account arrives (an identity record), then the HN one
     * (only as a mention's author): both join Ada. */
    srm_batch_init(&b, f->source_id, "b", "bluesky");
    b.now = 3000;
    add_identity(&b, "bluesky", "did:plc:ada", "ada.example.com", "Ada!",
                 NULL, NULL, 0);
    add_mention(&b, "hackernews", "hn-1", "countess", 2990);
    add_mention(&b, "hackernews", "hn-2", "someone", 2991);
    add_identity(&b, "github", "g-cy2", "cy2", "Cy", NULL, NULL, 0);
    apply(f, &b);
    srm_batch_fini(&b);
    assert_int_equal(person_of(f, "did:plc:ada"), person_of(f, "m-ada"));
    assert_int_equal(person_of(f, "countess"), person_of(f, "m-ada"));
    assert_int_not_equal(person_of(f, "someone"), person_of(f, "m-ada"));
    assert_int_equal(person_of(f, "g-cy2"), person_of(f, "g-cy"));
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM identity_evidence"
                                  " WHERE kind = 'config'"), 4);
    /* A later sighting with another name leaves the configured one. */
    assert_q_text(f->db, "SELECT display_name FROM people WHERE id ="
                         " (SELECT person_id FROM identities WHERE"
                         " remote_id = 'did:plc:ada')", "Ada Lovelace");
    /* Applying the same links again changes nothing. */
    memset(&s, 0, sizeof(s));
    links(f, l, 2, 4000, &s);
    assert_int_equal(s.merged, 0);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM people"), 3);
}

/* A link taken out of the config: its evidence is withdrawn, not kept as
 * a silent reason; the people stay merged. Put back, it is in force. */
static void test_config_link_removed_is_withdrawn(void **state)
{
    static const char *const ids[] = {"mastodon:bo@m.example", "github:bo"};
    const struct srm_people_link l = {"Bo", "srmd.yaml:3", ids, 2};
    struct fx *f = *state;
    struct srm_batch b;

    srm_batch_init(&b, f->source_id, "m", "mastodon");
    b.now = 2000;
    add_identity(&b, "mastodon", "m-bo", "bo@m.example", NULL, NULL, NULL,
                 0);
    add_identity(&b, "github", "g-bo", "bo", NULL, NULL, NULL, 0);
    apply(f, &b);
    srm_batch_fini(&b);
    links(f, &l, 1, 2100, NULL);
    assert_int_equal(person_of(f, "m-bo"), person_of(f, "g-bo"));
    links(f, NULL, 0, 2200, NULL);
    assert_q_text(f->db, "SELECT state || '@' || checked_at FROM"
                         " identity_evidence WHERE kind = 'config'",
                  "withdrawn@2200");
    assert_int_equal(person_of(f, "m-bo"), person_of(f, "g-bo"));
    links(f, &l, 1, 2300, NULL);
    assert_q_text(f->db, "SELECT state FROM identity_evidence WHERE kind ="
                         " 'config'", "active");
    /* A name the team gave (an import) is never replaced. */
    exec(f->db, "UPDATE people SET display_name = 'Robert',"
                " name_from = 'team'");
    links(f, &l, 1, 2400, NULL);
    assert_q_text(f->db, "SELECT display_name FROM people", "Robert");
}

/* A split made after the link was applied stands; the link put in again
 * (withdrawn in between) is the team's newer word and merges again. */
static void test_config_link_and_split(void **state)
{
    static const char *const ids[] = {"mastodon:di@m.example", "github:di"};
    const struct srm_people_link l = {NULL, "srmd.yaml:3", ids, 2};
    struct fx *f = *state;
    struct srm_people_stats s = {0};
    struct srm_batch b;
    int64_t after, undone;

    srm_batch_init(&b, f->source_id, "m", "mastodon");
    b.now = 2000;
    add_identity(&b, "mastodon", "m-di", "di@m.example", "Di", NULL, NULL,
                 0);
    add_identity(&b, "github", "g-di", "di", "Di G", NULL, NULL, 0);
    apply(f, &b);
    srm_batch_fini(&b);
    links(f, &l, 1, 2100, NULL);
    assert_int_equal(person_of(f, "m-di"), person_of(f, "g-di"));

    assert_int_equal(srm_db_begin(f->db), 0);
    assert_int_equal(srm_people_split(f->db, 2, false, "me", 2200, &after,
                                      &undone), 0);
    assert_int_equal(srm_db_commit(f->db), 0);
    assert_int_not_equal(undone, 0);
    assert_int_not_equal(person_of(f, "m-di"), person_of(f, "g-di"));
    /* A reload with the same link: the split stands. */
    links(f, &l, 1, 2300, &s);
    assert_int_equal(s.blocked, 1);
    assert_int_equal(s.merged, 0);
    assert_int_not_equal(person_of(f, "m-di"), person_of(f, "g-di"));
    /* Taken out, then written again: merged, the block lifted. */
    links(f, NULL, 0, 2400, NULL);
    memset(&s, 0, sizeof(s));
    links(f, &l, 1, 2500, &s);
    assert_int_equal(s.merged, 1);
    assert_int_equal(person_of(f, "m-di"), person_of(f, "g-di"));
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM merge_blocks"), 0);
}

/* An identity named alike by two accounts (here the same handle on two
 * GitHub rows) is ambiguous: nothing is linked; the remote id wins over a
 * handle. */
static void test_config_link_resolution(void **state)
{
    static const char *const amb[] = {"github:dup", "mastodon:e@m.example"};
    static const char *const exact[] = {"github:g-dup1",
                                        "mastodon:e@m.example"};
    const struct srm_people_link l1 = {NULL, "a:1", amb, 2};
    const struct srm_people_link l2 = {NULL, "a:2", exact, 2};
    struct fx *f = *state;
    struct srm_batch b;

    srm_batch_init(&b, f->source_id, "m", "mastodon");
    b.now = 2000;
    add_identity(&b, "github", "g-dup1", "dup", NULL, NULL, NULL, 0);
    add_identity(&b, "github", "g-dup2", "DUP", NULL, NULL, NULL, 0);
    add_identity(&b, "mastodon", "m-e", "e@m.example", NULL, NULL, NULL, 0);
    apply(f, &b);
    srm_batch_fini(&b);
    links(f, &l1, 1, 2100, NULL);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM people"), 3);
    links(f, &l2, 1, 2200, NULL);
    assert_int_equal(person_of(f, "g-dup1"), person_of(f, "m-e"));
    assert_int_not_equal(person_of(f, "g-dup2"), person_of(f, "m-e"));
}

static double q_real(struct srm_db *db, const char *sql)
{
    sqlite3_stmt *st;
    double v = -1;

    assert_int_equal(sqlite3_prepare_v2(srm_db_handle(db), sql, -1, &st,
                                        NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void assert_close(double got, double want)
{
    if (fabs(got - want) > 1e-9 * fabs(want))
        fail_msg("%.17g != %.17g", got, want);
}

/* people.suggest's facts on the person row follow ingest, deletions,
 * replies, interactions, merges and splits. */
static void test_rank_facts_kept(void **state)
{
    struct fx *f = *state;
    struct srm_batch b;
    struct srm_identity id = SRM_IDENTITY_INIT;
    const char *why = NULL;
    int64_t p, q, after, undone;
    double t1 = srm_people_recency_term(1900), t2 = srm_people_recency_term(
                                                   1950);
    double t3 = srm_people_recency_term(1990);

    srm_batch_init(&b, f->source_id, "m", "mastodon");
    b.now = 2000;
    id.network = "mastodon";
    id.remote_id = "m-fa";
    id.handle = "fa@m.example";
    id.followers = 120;
    assert_int_equal(srm_batch_add_identity(&b, &id, &why), 0);
    add_mention(&b, "mastodon", "x1", "m-fa", 1900);
    add_mention(&b, "mastodon", "x2", "m-fa", 1950);
    add_mention(&b, "github", "x3", "g-fa", 1990); /* a bare author */
    apply(f, &b);
    srm_batch_fini(&b);
    p = person_of(f, "m-fa");
    q = person_of(f, "g-fa");
    {
        char *sql = srm_xasprintf("SELECT recency_sum FROM people WHERE"
                                  " id = %lld", (long long)p);
        assert_close(q_real(f->db, sql), t1 + t2);
        free(sql);
    }
    assert_int_equal(q_int(f->db, "SELECT followers_max FROM people WHERE"
                                  " id = 1"), 120);
    assert_int_equal(q_int(f->db, "SELECT value FROM people_meta"), 3);
    assert_int_equal(q_int(f->db, "SELECT sum(answered) FROM people"), 0);

    /* A bigger audience, a deleted mention, a reply, an interaction. */
    srm_batch_init(&b, f->source_id, "m", "mastodon");
    b.now = 2100;
    id.followers = 5000;
    assert_int_equal(srm_batch_add_identity(&b, &id, &why), 0);
    {
        struct srm_mention m = SRM_MENTION_INIT;
        m.network = "mastodon";
        m.remote_id = "x1";
        m.author_id = "m-fa";
        m.created_at = 1900;
        m.flags = SRM_MENTION_DELETED;
        assert_int_equal(srm_batch_add_mention(&b, &m, &why), 0);
    }
    apply(f, &b);
    srm_batch_fini(&b);
    assert_int_equal(q_int(f->db, "SELECT followers_max FROM people WHERE"
                                  " id = 1"), 5000);
    assert_close(q_real(f->db, "SELECT recency_sum FROM people WHERE"
                               " id = 1"), t2);
    exec(f->db, "UPDATE mentions SET status = 'replied' WHERE"
                " remote_id = 'x3'");
    assert_int_equal(q_int(f->db, "SELECT answered FROM people WHERE id ="
                                  " 2"), 1);
    exec(f->db, "INSERT INTO interactions (person_id, direction, at)"
                " VALUES (1, 'in', 5)");
    assert_int_equal(q_int(f->db, "SELECT answered FROM people WHERE id ="
                                  " 1"), 0);

    /* Merged: the sums add up; split again: each gets its own back. */
    assert_int_equal(srm_db_begin(f->db), 0);
    assert_int_equal(srm_people_merge(f->db, q, p, "me", "test", 2200, NULL),
                     0);
    assert_int_equal(srm_db_commit(f->db), 0);
    assert_close(q_real(f->db, "SELECT recency_sum FROM people"), t2 + t3);
    assert_int_equal(q_int(f->db, "SELECT answered FROM people"), 1);
    assert_int_equal(q_int(f->db, "SELECT followers_max FROM people"), 5000);
    assert_int_equal(srm_db_begin(f->db), 0);
    assert_int_equal(srm_people_split(f->db, 2, false, "me", 2300, &after,
                                      &undone), 0);
    assert_int_equal(srm_db_commit(f->db), 0);
    assert_close(q_real(f->db, "SELECT recency_sum FROM people WHERE"
                               " id = 1"), t2);
    assert_close(q_real(f->db, "SELECT recency_sum FROM people WHERE"
                               " id = 2"), t3);
    assert_int_equal(q_int(f->db, "SELECT answered FROM people WHERE id ="
                                  " 1"), 0);
    assert_int_equal(q_int(f->db, "SELECT answered FROM people WHERE id ="
                                  " 2"), 1);

    /* Rows written behind srmd's back count once caught up. */
    exec(f->db, "INSERT INTO mentions (network, remote_id, identity_id,"
                " created_at, fetched_at) VALUES ('mastodon', 'x9', 1,"
                " 1999, 1999)");
    assert_int_equal(srm_db_begin(f->db), 0);
    assert_int_equal(srm_people_rank_catch_up(f->db, NULL), 0);
    assert_int_equal(srm_people_rank_catch_up(f->db, NULL), 0);
    assert_int_equal(srm_db_commit(f->db), 0);
    assert_close(q_real(f->db, "SELECT recency_sum FROM people WHERE"
                               " id = 1"),
                 t2 + srm_people_recency_term(1999));
    assert_int_equal(q_int(f->db, "SELECT last_mention_at FROM people WHERE"
                                  " id = 1"), 1999);
}

/* The ranking facts the writer adds up in C as it inserts rows (several
 * batches in one transaction, one of them undone, future-dated and
 * deleted rows) equal what the SQL computes from the rows themselves. */
static void test_rank_facts_batched_equal_sql(void **state)
{
    struct fx *f = *state;
    struct srm_batch b;
    char rid[32], author[32];

    assert_int_equal(srm_db_begin(f->db), 0);
    for (int batch = 0; batch < 3; batch++) {
        srm_batch_init(&b, f->source_id, "m", "mastodon");
        b.now = 100000 + batch * 1000;
        for (int i = 0; i < 40; i++) {
            snprintf(rid, sizeof(rid), "r%d-%d", batch, i);
            snprintf(author, sizeof(author), "a%d", i % 7);
            /* Some from the future (counted as of fetching). */
            add_mention(&b, "mastodon", rid, author,
                        b.now - 5000 + i * 200);
        }
        assert_int_equal(srm_db_savepoint(f->db), 0);
        assert_int_equal(srm_db_apply_batch(f->db, &b), 0);
        if (batch == 1)
            assert_int_equal(srm_db_rollback_to(f->db), 0); /* undone */
        else
            assert_int_equal(srm_db_release(f->db), 0);
        srm_batch_fini(&b);
    }
    assert_int_equal(srm_db_commit(f->db), 0);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM mentions"), 80);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM people p WHERE"
                                  " abs(p.recency_sum - (SELECT sum(pow(2.0,"
                                  " (min(m.created_at, m.fetched_at) -"
                                  " 1700000000) / 1209600.0)) FROM mentions m"
                                  " JOIN identities i ON i.id ="
                                  " m.identity_id WHERE i.person_id = p.id))"
                                  " > 1e-9 * p.recency_sum"), 0);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM people p WHERE"
                                  " p.last_mention_at IS NOT (SELECT"
                                  " max(m.created_at) FROM mentions m JOIN"
                                  " identities i ON i.id = m.identity_id"
                                  " WHERE i.person_id = p.id)"), 0);

    /* Without the undone batch the sums come from C: the same. */
    assert_int_equal(srm_db_begin(f->db), 0);
    srm_batch_init(&b, f->source_id, "m", "mastodon");
    b.now = 200000;
    for (int i = 0; i < 30; i++) {
        snprintf(rid, sizeof(rid), "s%d", i);
        snprintf(author, sizeof(author), "a%d", i % 5);
        add_mention(&b, "mastodon", rid, author, 190000 + i * 100);
    }
    assert_int_equal(srm_db_apply_batch(f->db, &b), 0);
    srm_batch_fini(&b);
    assert_int_equal(srm_db_commit(f->db), 0);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM people p WHERE"
                                  " abs(p.recency_sum - (SELECT sum(pow(2.0,"
                                  " (min(m.created_at, m.fetched_at) -"
                                  " 1700000000) / 1209600.0)) FROM mentions m"
                                  " JOIN identities i ON i.id ="
                                  " m.identity_id WHERE i.person_id = p.id))"
                                  " > 1e-9 * p.recency_sum"), 0);
    assert_int_equal(q_int(f->db, "SELECT value FROM people_meta"),
                     q_int(f->db, "SELECT max(id) FROM mentions"));
}

/* A database made by an older srmd (schema 3, with rows) migrates to the
 * current version and keeps its rows. */
static void test_migration_from_v3(void **state)
{
    struct fx *f = *state;
    char *path = srm_xasprintf("%s/v3.db", f->dir);
    struct srm_db *db;
    sqlite3 *h;

    assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(h,
                     "BEGIN;" SRM_SQL_MIGRATION_1 SRM_SQL_MIGRATION_2
                     SRM_SQL_MIGRATION_3
                     "INSERT INTO people (id, display_name, created_at,"
                     " updated_at) VALUES (1, 'Old', 1, 1), (2, NULL, 1, 1);"
                     "INSERT INTO identities (id, person_id, network,"
                     " remote_id, handle, followers, first_seen_at,"
                     " last_seen_at) VALUES (1, 1, 'mastodon', 'a', 'a@m',"
                     " 10, 1, 1), (2, 2, 'github', 'b', 'b', 5000, 1, 1);"
                     "INSERT INTO identity_evidence (a_id, b_id, kind,"
                     " confidence, state, created_at, checked_at) VALUES"
                     " (1, 2, 'same_handle', 0.5, 'active', 1, 1);"
                     "INSERT INTO mentions (network, remote_id, identity_id,"
                     " created_at, fetched_at, status) VALUES"
                     " ('mastodon', 'm1', 1, 1700000000, 1700000000, 'new'),"
                     " ('mastodon', 'm2', 1, 1701209600, 1701209600, 'new'),"
                     " ('github', 'm3', 2, 1700000000, 1700000000,"
                     " 'replied');"
                     "COMMIT",
                     NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(h);

    assert_int_equal(srm_db_open(path, false, 0, &db), 0);
    assert_int_equal(q_int(db, "PRAGMA user_version"), SRM_DB_SCHEMA_VERSION);
    assert_q_text(db, "PRAGMA integrity_check", "ok");
    assert_int_equal(q_int(db, "SELECT count(*) FROM people WHERE"
                               " name_from IS NULL"), 2);
    /* The ranking facts are filled in: 2^0 + 2^1, followers, replied. */
    assert_close(q_real(db, "SELECT recency_sum FROM people WHERE id = 1"),
                 3.0);
    assert_int_equal(q_int(db, "SELECT followers_max FROM people WHERE"
                               " id = 2"), 5000);
    assert_int_equal(q_int(db, "SELECT answered FROM people WHERE id = 2"),
                     1);
    assert_int_equal(q_int(db, "SELECT answered FROM people WHERE id = 1"),
                     0);
    assert_int_equal(q_int(db, "SELECT value FROM people_meta"), 3);
    /* people_fts was rebuilt with prefix indexes of 2 to 6 characters
     * (versions 6 and 7), keeping its rows. */
    assert_int_equal(q_int(db, "SELECT count(*) FROM sqlite_schema WHERE"
                               " name = 'people_fts' AND sql LIKE"
                               " '%prefix = ''2 3 4 5 6''%'"), 1);
    /* The widened CHECK: 'withdrawn' is accepted, nonsense is not. */
    assert_int_equal(sqlite3_exec(srm_db_handle(db),
                                  "UPDATE identity_evidence SET state ="
                                  " 'withdrawn'", NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_exec(srm_db_handle(db),
                                  "UPDATE identity_evidence SET state ="
                                  " 'bogus'", NULL, NULL, NULL),
                     SQLITE_CONSTRAINT_CHECK);
    assert_int_equal(sqlite3_exec(srm_db_handle(db),
                                  "UPDATE people SET name_from = 'nobody'",
                                  NULL, NULL, NULL),
                     SQLITE_CONSTRAINT_CHECK);
    srm_db_close(db);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_ingest_merges_on_email_not_on_handle, fx_setup,
            fx_teardown),
        cmocka_unit_test_setup_teardown(test_ingest_merges_on_verified_links,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_config_links_merge_on_arrival,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_config_link_removed_is_withdrawn, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_config_link_and_split,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_config_link_resolution,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_rank_facts_kept, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_rank_facts_batched_equal_sql,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_migration_from_v3, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_merge_split_restore_exactly,
                                        fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
