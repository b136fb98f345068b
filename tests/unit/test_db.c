/* test_db.c - the SQLite store: open, migration, ingest semantics. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "db.h"
#include "mem.h"
#include "record.h"

struct fx {
    char dir[64];
    char *path;
    struct srm_db *db;
    int64_t source_id;
};

static int fx_setup(void **state)
{
    struct fx *f = srm_xcalloc(1, sizeof(*f));

    strcpy(f->dir, "/tmp/srm-test-db.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    /* A missing parent folder is created. */
    f->path = srm_xasprintf("%s/state/srmd.db", f->dir);
    assert_int_equal(srm_db_open(f->path, false, 0, &f->db), 0);
    assert_int_equal(
        srm_db_source_ensure(f->db, "masto", "mastodon", 1000, &f->source_id),
        0);
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
    free(f->path);
    free(f);
    return 0;
}

static int64_t q_int(struct srm_db *db, const char *sql)
{
    sqlite3_stmt *st;
    int64_t v;

    assert_int_equal(sqlite3_prepare_v2(srm_db_handle(db), sql, -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* The one text value sql returns, copied; NULL for SQL NULL. */
static char *q_text(struct srm_db *db, const char *sql)
{
    sqlite3_stmt *st;
    const unsigned char *s;
    char *v;

    assert_int_equal(sqlite3_prepare_v2(srm_db_handle(db), sql, -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    s = sqlite3_column_text(st, 0);
    v = s ? srm_xstrdup((const char *)s) : NULL;
    sqlite3_finalize(st);
    return v;
}

static void assert_q_text(struct srm_db *db, const char *sql, const char *want)
{
    char *got = q_text(db, sql);

    if (want == NULL)
        assert_null(got);
    else
        assert_string_equal(got, want);
    free(got);
}

static int64_t fts_count(struct srm_db *db, const char *word)
{
    char *sql = srm_xasprintf(
        "SELECT count(*) FROM mentions_fts WHERE mentions_fts MATCH '%s'",
        word);
    int64_t n = q_int(db, sql);

    free(sql);
    return n;
}

/* FTS5's own check that the index matches the content table. */
static void assert_fts_consistent(struct srm_db *db)
{
    assert_int_equal(
        sqlite3_exec(srm_db_handle(db),
                     "INSERT INTO mentions_fts(mentions_fts, rank)"
                     " VALUES ('integrity-check', 1)",
                     NULL, NULL, NULL),
        SQLITE_OK);
}

/* Every row of every table, as text, so two states can be compared. */
static char *dump_all(struct srm_db *db)
{
    static const char *const tables[] = {
        "sources",  "cursors",       "http_validators", "members",
        "people",   "person_tags",   "identities",      "identity_links",
        "contacts", "mentions",      "notes",           "interactions",
        "outcomes", "audit",
    };
    size_t len = 0;
    char *out = srm_xstrdup("");

    for (size_t t = 0; t < SRM_ARRAY_LEN(tables); t++) {
        char *sql = srm_xasprintf("SELECT * FROM %s ORDER BY 1, 2",
                                  tables[t]);
        sqlite3_stmt *st;

        assert_int_equal(
            sqlite3_prepare_v2(srm_db_handle(db), sql, -1, &st, NULL),
            SQLITE_OK);
        while (sqlite3_step(st) == SQLITE_ROW) {
            for (int c = 0; c < sqlite3_column_count(st); c++) {
                const char *v = (const char *)sqlite3_column_text(st, c);
                char *cell = srm_xasprintf("%s|", v ? v : "NULL");
                out = srm_xrealloc(out, len + strlen(cell) + 2);
                strcpy(out + len, cell);
                len += strlen(cell);
                free(cell);
            }
            out[len++] = '\n';
            out[len] = '\0';
        }
        sqlite3_finalize(st);
        free(sql);
    }
    return out;
}

static void apply(struct fx *f, struct srm_batch *b)
{
    assert_int_equal(srm_db_begin(f->db), 0);
    assert_int_equal(srm_db_apply_batch(f->db, b), 0);
    assert_int_equal(srm_db_commit(f->db), 0);
}

static void add_mention(struct srm_batch *b, const char *remote_id,
                        const char *author, const char *text,
                        int64_t created_at, int64_t edited_at, uint32_t flags)
{
    struct srm_mention m = SRM_MENTION_INIT;
    const char *why = NULL;

    m.remote_id = remote_id;
    m.author_id = author;
    m.text = text;
    m.created_at = created_at;
    m.edited_at = edited_at;
    m.flags = flags;
    m.context_title = "Thread title";
    assert_int_equal(srm_batch_add_mention(b, &m, &why), 0);
}

static void add_identity(struct srm_batch *b, const char *remote_id,
                         const char *handle, const char *name,
                         int64_t followers, const struct srm_link *links,
                         size_t n_links)
{
    struct srm_identity id = SRM_IDENTITY_INIT;
    const char *why = NULL;

    id.remote_id = remote_id;
    id.handle = handle;
    id.display_name = name;
    id.followers = followers;
    id.links = links;
    id.n_links = n_links;
    assert_int_equal(srm_batch_add_identity(b, &id, &why), 0);
}

/* ------------------------------------------------------------------ */

static void test_migration_from_empty(void **state)
{
    struct fx *f = *state;
    static const char *const tables[] = {
        "sources", "cursors",  "http_validators", "members", "people",
        "person_tags", "identities", "identity_links", "contacts",
        "mentions", "mentions_fts", "notes", "interactions", "outcomes",
        "audit",
    };
    struct stat sb;
    char *dir;

    assert_int_equal(q_int(f->db, "PRAGMA user_version"),
                     SRM_DB_SCHEMA_VERSION);
    assert_int_equal(q_int(f->db, "PRAGMA foreign_keys"), 1);
    assert_q_text(f->db, "PRAGMA journal_mode", "wal");
    for (size_t i = 0; i < SRM_ARRAY_LEN(tables); i++) {
        char *sql = srm_xasprintf(
            "SELECT count(*) FROM sqlite_master WHERE name = '%s'", tables[i]);
        assert_int_equal(q_int(f->db, sql), 1);
        free(sql);
    }
    assert_int_equal(stat(f->path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    dir = srm_xasprintf("%s/state", f->dir);
    assert_int_equal(stat(dir, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0700);
    free(dir);
    assert_int_equal(srm_db_check(f->db), 0);

    /* Reopening an up-to-date file changes nothing. */
    srm_db_close(f->db);
    assert_int_equal(srm_db_open(f->path, false, 256, &f->db), 0);
    assert_int_equal(q_int(f->db, "PRAGMA user_version"),
                     SRM_DB_SCHEMA_VERSION);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM sources"), 1);
}

/* Migration 4 rewrites mentions.status's CHECK in place: a version 3 file
 * with rows keeps them, bad statuses are still refused, and inserting a
 * mention no longer builds an ephemeral table. */
static void test_migration_4_check(void **state)
{
    struct fx *f = *state;
    char *path = srm_xasprintf("%s/v3.db", f->dir);
    struct srm_db *db;
    sqlite3 *h;
    sqlite3_stmt *st;
    bool ephemeral = false;
    char *sql;

    (void)state;
    assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h, "BEGIN;" SRM_SQL_MIGRATION_1
                                     SRM_SQL_MIGRATION_2 SRM_SQL_MIGRATION_3
                                     "INSERT INTO mentions (network,"
                                     " remote_id, created_at, fetched_at)"
                                     " VALUES ('web', 'old', 1, 1); COMMIT",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(h);

    assert_int_equal(srm_db_open(path, false, 0, &db), 0);
    assert_int_equal(q_int(db, "PRAGMA user_version"), SRM_DB_SCHEMA_VERSION);
    assert_int_equal(q_int(db, "SELECT count(*) FROM mentions"), 1);
    assert_q_text(db, "PRAGMA integrity_check", "ok");
    sql = q_text(db, "SELECT sql FROM sqlite_schema WHERE name = 'mentions'");
    assert_non_null(strstr(sql, "status = 'new' OR status = 'assigned'"));
    assert_null(strstr(sql, "status IN"));
    free(sql);
    /* This connection (reopened after migrating) compiles the new form. */
    assert_int_equal(sqlite3_prepare_v2(srm_db_handle(db),
                                        "EXPLAIN INSERT INTO mentions"
                                        " (network, remote_id, created_at,"
                                        " fetched_at) VALUES ('web', 'n', 1,"
                                        " 1)", -1, &st, NULL),
                     SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW)
        if (strcmp((const char *)sqlite3_column_text(st, 1),
                   "OpenEphemeral") == 0)
            ephemeral = true;
    sqlite3_finalize(st);
    assert_false(ephemeral);
    assert_int_equal(sqlite3_exec(srm_db_handle(db),
                                  "UPDATE mentions SET status = 'bogus'",
                                  NULL, NULL, NULL),
                     SQLITE_CONSTRAINT_CHECK);
    assert_int_equal(sqlite3_exec(srm_db_handle(db),
                                  "UPDATE mentions SET status = 'done'",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    srm_db_close(db);
    free(path);
}

static void test_ingest_and_search(void **state)
{
    struct fx *f = *state;
    struct srm_batch b;
    struct srm_db_counts c;

    srm_batch_init(&b, f->source_id, "masto", "mastodon");
    add_identity(&b, "u1", "ana@m.example", "Ana", 10, NULL, 0);
    add_mention(&b, "m1", "u1", "The Quokka smiles", 100, 0, 0);
    add_mention(&b, "m2", "u1", "Caf\xc3\xa9 talk", 200, 0, 0);
    apply(f, &b);
    assert_int_equal(b.new_mentions, 2);
    assert_int_equal(b.new_identities, 1);
    assert_int_equal(b.new_mention_ids.n, 2);
    assert_int_equal(fts_count(f->db, "quokka"), 1);
    /* remove_diacritics: "cafe" finds "café". */
    assert_int_equal(fts_count(f->db, "cafe"), 1);
    assert_int_equal(fts_count(f->db, "thread"), 2);
    assert_fts_consistent(f->db);
    assert_int_equal(
        q_int(f->db, "SELECT last_mention_at FROM people"), 200);
    assert_int_equal(
        q_int(f->db, "SELECT mentions_total FROM sources"), 2);
    assert_int_equal(
        q_int(f->db, "SELECT identities_total FROM sources"), 1);
    assert_int_equal(srm_db_counts(f->db, &c), 0);
    assert_int_equal(c.mentions, 2);
    assert_int_equal(c.mentions_new, 2);
    assert_int_equal(c.people, 1);
    assert_int_equal(c.identities, 1);
    srm_batch_fini(&b);
}

static void test_reapply_is_idempotent(void **state)
{
    struct fx *f = *state;
    struct srm_link links[] = {{.label = "Web", .url = "https://ana.example"}};
    struct srm_contact ct = SRM_CONTACT_INIT;
    struct srm_interaction in = SRM_INTERACTION_INIT;
    struct srm_batch b;
    const char *why;
    char *before, *after;

    srm_batch_init(&b, f->source_id, "masto", "mastodon");
    b.now = 5000;
    add_identity(&b, "u1", "ana", "Ana", 10, links, 1);
    add_mention(&b, "m1", "u1", "hello", 100, 0, 0);
    add_mention(&b, "m2", "u2", "from a stranger", 150, 0, 0);
    ct.remote_id = "u3";
    ct.relation = SRM_REL_FOLLOWER;
    assert_int_equal(srm_batch_add_contact(&b, &ct, &why), 0);
    in.remote_id = "dm-1";
    in.identity_id = "u1";
    in.direction = SRM_DIR_IN;
    in.at = 120;
    in.summary = "hi there";
    assert_int_equal(srm_batch_add_interaction(&b, &in, &why), 0);
    srm_batch_set_cursor(&b, "since_id", "m2");
    srm_batch_set_validator(&b, "https://m.example/api", "\"v1\"", NULL);
    apply(f, &b);
    assert_int_equal(b.new_mentions, 2);
    assert_int_equal(b.new_identities, 3); /* u1, author u2, contact u3 */
    assert_int_equal(b.new_contacts, 1);
    assert_int_equal(b.new_interactions, 1);
    assert_int_equal(q_int(f->db, "SELECT last_interaction_at FROM people"
                                  " JOIN identities i ON i.person_id ="
                                  " people.id WHERE i.remote_id = 'u1'"),
                     120);

    before = dump_all(f->db);
    apply(f, &b);
    after = dump_all(f->db);
    assert_string_equal(before, after);
    assert_int_equal(b.new_mentions, 0);
    assert_int_equal(b.updated_mentions, 0);
    assert_int_equal(b.new_identities, 0);
    assert_int_equal(b.new_contacts, 0);
    assert_int_equal(b.new_interactions, 0);
    assert_int_equal(b.new_mention_ids.n, 0);
    assert_fts_consistent(f->db);
    free(before);
    free(after);
    srm_batch_fini(&b);
}

static void test_edit_updates_fts(void **state)
{
    struct fx *f = *state;
    struct srm_batch b;

    srm_batch_init(&b, f->source_id, "masto", "mastodon");
    add_mention(&b, "m1", "u1", "an old wombat", 100, 0, 0);
    apply(f, &b);
    srm_batch_fini(&b);

    srm_batch_init(&b, f->source_id, "masto", "mastodon");
    add_mention(&b, "m1", "u1", "a new platypus", 100, 300, 0);
    apply(f, &b);
    assert_int_equal(b.new_mentions, 0);
    assert_int_equal(b.updated_mentions, 1);
    srm_batch_fini(&b);
    assert_int_equal(fts_count(f->db, "wombat"), 0);
    assert_int_equal(fts_count(f->db, "platypus"), 1);
    assert_int_equal(q_int(f->db, "SELECT edited_at FROM mentions"), 300);
    assert_fts_consistent(f->db);

    /* Inserted and edited in one batch: indexed once, with the last text. */
    srm_batch_init(&b, f->source_id, "masto", "mastodon");
    add_mention(&b, "m2", "u1", "first draft", 100, 0, 0);
    add_mention(&b, "m2", "u1", "second take", 100, 101, 0);
    apply(f, &b);
    assert_int_equal(b.new_mentions, 1);
    assert_int_equal(b.updated_mentions, 1);
    srm_batch_fini(&b);
    assert_int_equal(fts_count(f->db, "draft"), 0);
    assert_int_equal(fts_count(f->db, "take"), 1);
    assert_fts_consistent(f->db);

    /* Ingest never touches the team's status. */
    assert_int_equal(
        sqlite3_exec(srm_db_handle(f->db),
                     "UPDATE mentions SET status = 'done'", NULL, NULL, NULL),
        SQLITE_OK);
    srm_batch_init(&b, f->source_id, "masto", "mastodon");
    add_mention(&b, "m1", "u1", "a newer platypus", 100, 400, 0);
    apply(f, &b);
    srm_batch_fini(&b);
    assert_int_equal(
        q_int(f->db, "SELECT count(*) FROM mentions WHERE status = 'done'"),
        2);
}

static void test_deleted_never_resurrected(void **state)
{
    struct fx *f = *state;
    struct srm_batch b;

    srm_batch_init(&b, f->source_id, "masto", "mastodon");
    add_mention(&b, "m1", "u1", "regrettable words", 100, 0, 0);
    apply(f, &b);
    srm_batch_fini(&b);

    srm_batch_init(&b, f->source_id, "masto", "mastodon");
    add_mention(&b, "m1", "u1", "", 100, 0, SRM_MENTION_DELETED);
    apply(f, &b);
    assert_int_equal(b.updated_mentions, 1);
    srm_batch_fini(&b);
    assert_int_equal(q_int(f->db, "SELECT deleted FROM mentions"), 1);

    /* Seen again without the flag, even edited: stays deleted, unchanged. */
    srm_batch_init(&b, f->source_id, "masto", "mastodon");
    add_mention(&b, "m1", "u1", "rewritten", 100, 500, 0);
    apply(f, &b);
    assert_int_equal(b.updated_mentions, 0);
    srm_batch_fini(&b);
    assert_int_equal(q_int(f->db, "SELECT deleted FROM mentions"), 1);
    assert_q_text(f->db, "SELECT text FROM mentions", "regrettable words");
    assert_fts_consistent(f->db);
}

static void test_author_auto_created(void **state)
{
    struct fx *f = *state;
    struct srm_link l1[] = {{.url = "https://a.example", .verified_at = 7},
                            {.label = "Blog", .url = "https://b.example"}};
    struct srm_link l2[] = {{.label = "Shop", .url = "https://c.example"}};
    struct srm_batch b;

    srm_batch_init(&b, f->source_id, "masto", "mastodon");
    add_mention(&b, "m1", "u9", "who am I", 100, 0, 0);
    apply(f, &b);
    assert_int_equal(b.new_identities, 1);
    srm_batch_fini(&b);
    assert_q_text(f->db, "SELECT handle FROM identities WHERE remote_id='u9'",
                  "u9");
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM mentions m JOIN"
                                  " identities i ON i.id = m.identity_id"
                                  " JOIN people p ON p.id = i.person_id"
                                  " WHERE i.network = 'mastodon'"),
                     1);
    assert_q_text(f->db, "SELECT display_name FROM people", NULL);

    /* The profile arrives: fields fill in, the nameless person is named. */
    srm_batch_init(&b, f->source_id, "masto", "mastodon");
    add_identity(&b, "u9", "nine@m.example", "Nina", 42, l1, 2);
    apply(f, &b);
    assert_int_equal(b.new_identities, 0);
    srm_batch_fini(&b);
    assert_q_text(f->db, "SELECT handle FROM identities", "nine@m.example");
    assert_q_text(f->db, "SELECT display_name FROM people", "Nina");
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM identity_links"), 2);

    /* A later rename touches the identity, never the person; unknown
     * counts (-1) and NULL fields keep what we had; links are replaced. */
    srm_batch_init(&b, f->source_id, "masto", "mastodon");
    add_identity(&b, "u9", NULL, "Nina R.", -1, l2, 1);
    apply(f, &b);
    srm_batch_fini(&b);
    assert_q_text(f->db, "SELECT display_name FROM identities", "Nina R.");
    assert_q_text(f->db, "SELECT handle FROM identities", "nine@m.example");
    assert_int_equal(q_int(f->db, "SELECT followers FROM identities"), 42);
    assert_q_text(f->db, "SELECT display_name FROM people", "Nina");
    assert_q_text(f->db, "SELECT group_concat(url) FROM identity_links",
                  "https://c.example");
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM people"), 1);

    /* A sighting without links (a post's author) keeps the stored links,
     * and one that says nothing new is not marked changed, so identity
     * resolution skips it. */
    srm_batch_init(&b, f->source_id, "masto", "mastodon");
    add_identity(&b, "u9", NULL, "Nina R.", 43, NULL, 0);
    apply(f, &b);
    assert_false(b.identities.items[0].changed);
    srm_batch_fini(&b);
    assert_q_text(f->db, "SELECT group_concat(url) FROM identity_links",
                  "https://c.example");
    srm_batch_init(&b, f->source_id, "masto", "mastodon");
    add_identity(&b, "u9", NULL, "Nina Ross", -1, NULL, 0);
    apply(f, &b);
    assert_true(b.identities.items[0].changed);
    srm_batch_fini(&b);
}

/* One batch naming the same author many times (a feed's items): repeats
 * that say nothing new are skipped, a repeat that differs still lands, the
 * mentions all point at the one identity, and an author first known only by
 * id in the batch is created once. */
static void test_repeats_in_one_batch(void **state)
{
    struct fx *f = *state;
    struct srm_batch b;

    srm_batch_init(&b, f->source_id, "masto", "mastodon");
    add_identity(&b, "a1", "ann@m.example", "Ann", 10, NULL, 0);
    add_mention(&b, "p1", "a1", "first", 100, 0, 0);
    add_identity(&b, "a1", "ann@m.example", "Ann", 10, NULL, 0);
    add_mention(&b, "p2", "a1", "second", 101, 0, 0);
    add_identity(&b, "a1", "ann@m.example", "Ann B.", 11, NULL, 0);
    add_mention(&b, "p3", "a1", "third", 102, 0, 0);
    add_mention(&b, "p4", "z9", "by someone unknown", 103, 0, 0);
    add_mention(&b, "p5", "z9", "again", 104, 0, 0);
    add_mention(&b, "p1", "a1", "first", 100, 0, 0); /* a repeat */
    apply(f, &b);
    assert_int_equal(b.new_identities, 2);
    assert_int_equal(b.new_mentions, 5);
    assert_true(b.identities.items[0].changed);
    assert_false(b.identities.items[1].changed);
    assert_true(b.identities.items[2].changed);
    assert_int_equal(b.identities.items[1].person_id,
                     b.identities.items[0].person_id);
    srm_batch_fini(&b);
    assert_q_text(f->db, "SELECT display_name FROM identities"
                         " WHERE remote_id = 'a1'", "Ann B.");
    assert_int_equal(q_int(f->db, "SELECT followers FROM identities"
                                  " WHERE remote_id = 'a1'"), 11);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM identities"), 2);
    assert_int_equal(q_int(f->db, "SELECT count(DISTINCT identity_id)"
                                  " FROM mentions WHERE remote_id IN"
                                  " ('p1', 'p2', 'p3')"), 1);
    assert_int_equal(q_int(f->db, "SELECT count(DISTINCT identity_id)"
                                  " FROM mentions WHERE remote_id IN"
                                  " ('p4', 'p5')"), 1);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM mentions"), 5);
    assert_fts_consistent(f->db);

    /* The next batch starts with an empty cache: the same record is
     * looked up again (and found), not taken for new. */
    srm_batch_init(&b, f->source_id, "masto", "mastodon");
    add_identity(&b, "a1", "ann@m.example", "Ann B.", 11, NULL, 0);
    add_mention(&b, "p6", "a1", "sixth", 105, 0, 0);
    apply(f, &b);
    assert_int_equal(b.new_identities, 0);
    assert_int_equal(b.new_mentions, 1);
    srm_batch_fini(&b);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM identities"), 2);
}

/* srm_rank: bm25's order for one word; bm25's very scores, column weights
 * included, for several words while each is in fewer than 20,000 rows. */
static void test_srm_rank_matches_bm25(void **state)
{
    struct fx *f = *state;
    static const char *const texts[] = {
        "quokka", "quokka quokka on the island", "a quokka and a wombat",
        "wombat wombat wombat quokka", "the long road past the island and "
        "the bay where one quokka lives", "wombat only", "quokka wombat",
    };
    struct srm_batch b;
    char id[16];
    sqlite3 *h = srm_db_handle(f->db);
    static const char *const sql[] = {
        "SELECT group_concat(id) FROM (SELECT rowid AS id FROM mentions_fts"
        " WHERE mentions_fts MATCH :q ORDER BY %s, rowid)",
        "SELECT bm25(mentions_fts, 3.0, 0.5),"
        " srm_rank(mentions_fts, 3.0, 0.5)"
        " FROM mentions_fts WHERE mentions_fts MATCH :q",
    };

    srm_batch_init(&b, f->source_id, "masto", "mastodon");
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        snprintf(id, sizeof(id), "r%zu", i);
        add_mention(&b, id, NULL, texts[i], 100 + (int64_t)i, 0, 0);
    }
    apply(f, &b);
    srm_batch_fini(&b);
    for (int k = 0; k < 2; k++) {
        const char *q = k == 0 ? "quokka" : "wombat";
        char *by_rank, *by_srm;
        char buf[256];
        sqlite3_stmt *st;

        snprintf(buf, sizeof(buf), sql[0], "rank");
        assert_int_equal(sqlite3_prepare_v2(h, buf, -1, &st, NULL), 0);
        sqlite3_bind_text(st, 1, q, -1, SQLITE_STATIC);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        by_rank = strdup((const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
        snprintf(buf, sizeof(buf), sql[0], "srm_rank(mentions_fts)");
        assert_int_equal(sqlite3_prepare_v2(h, buf, -1, &st, NULL), 0);
        sqlite3_bind_text(st, 1, q, -1, SQLITE_STATIC);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        by_srm = strdup((const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
        assert_string_equal(by_srm, by_rank);
        free(by_rank);
        free(by_srm);
    }
    {
        sqlite3_stmt *st;
        int rows = 0;

        assert_int_equal(sqlite3_prepare_v2(h, sql[1], -1, &st, NULL), 0);
        sqlite3_bind_text(st, 1, "quokka wombat", -1, SQLITE_STATIC);
        while (sqlite3_step(st) == SQLITE_ROW) {
            double a = sqlite3_column_double(st, 0);
            double d = a - sqlite3_column_double(st, 1);
            assert_true(a < 0);
            assert_true(d < 1e-9 && d > -1e-9);
            rows++;
        }
        assert_int_equal(rows, 3);
        sqlite3_finalize(st);
    }
}

/* daemon.fulltext: false stores mentions without indexing them; edits of
 * rows indexed before stay consistent; turned back on, the next batch
 * indexes what was skipped and the index checks clean. */
static void test_fulltext_off_then_on(void **state)
{
    struct fx *f = *state;
    struct srm_batch b;

    srm_batch_init(&b, f->source_id, "masto", "mastodon");
    add_mention(&b, "f1", "u1", "wombat before", 100, 0, 0);
    apply(f, &b);
    srm_batch_fini(&b);
    assert_int_equal(fts_count(f->db, "wombat"), 1);

    srm_db_set_fulltext(f->db, false);
    srm_batch_init(&b, f->source_id, "masto", "mastodon");
    add_mention(&b, "f2", "u1", "wombat while off", 101, 0, 0);
    add_mention(&b, "f1", "u1", "quokka edited while off", 100, 200, 0);
    apply(f, &b);
    srm_batch_fini(&b);
    srm_batch_init(&b, f->source_id, "masto", "mastodon");
    add_mention(&b, "f3", "u1", "wombat again", 102, 0, 0);
    add_mention(&b, "f2", "u1", "wombat off and edited", 101, 300, 0);
    apply(f, &b);
    srm_batch_fini(&b);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM mentions"), 3);
    assert_int_equal(fts_count(f->db, "wombat"), 0); /* f1's old text went */
    assert_int_equal(fts_count(f->db, "quokka"), 1); /* the edit indexed */

    srm_db_set_fulltext(f->db, true);
    srm_batch_init(&b, f->source_id, "masto", "mastodon");
    srm_batch_set_cursor(&b, "after", "3"); /* any batch catches up */
    apply(f, &b);
    srm_batch_fini(&b);
    assert_int_equal(fts_count(f->db, "wombat"), 2);
    assert_int_equal(fts_count(f->db, "edited"), 2);
    assert_fts_consistent(f->db);
}

/* A sighting that says nothing new refreshes last_seen_at at most once a
 * minute; anything new is written at once. */
static void test_identity_seen_resolution(void **state)
{
    struct fx *f = *state;
    static const int64_t at[] = {1000, 1030, 1100, 1110};
    static const int64_t followers[] = {5, 5, 5, 6};
    static const int64_t want_seen[] = {1000, 1000, 1100, 1110};
    struct srm_batch b;

    for (size_t i = 0; i < 4; i++) {
        srm_batch_init(&b, f->source_id, "masto", "mastodon");
        b.now = at[i];
        add_identity(&b, "s1", "seen@m.example", "Seen", followers[i], NULL,
                     0);
        apply(f, &b);
        srm_batch_fini(&b);
        assert_int_equal(q_int(f->db, "SELECT last_seen_at FROM identities"
                                      " WHERE remote_id = 's1'"),
                         want_seen[i]);
    }
    assert_int_equal(q_int(f->db, "SELECT followers FROM identities"
                                  " WHERE remote_id = 's1'"), 6);
}

static void test_failed_batch_leaves_nothing(void **state)
{
    struct fx *f = *state;
    struct srm_batch b;

    srm_batch_init(&b, f->source_id, "masto", "mastodon");
    add_mention(&b, "m1", "u1", "half done", 100, 0, 0);
    srm_batch_set_cursor(&b, "since", "m1");
    assert_int_equal(srm_db_begin(f->db), 0);
    assert_int_equal(srm_db_savepoint(f->db), 0);
    assert_int_equal(srm_db_apply_batch(f->db, &b), 0);
    /* The job fails after writing: its savepoint goes, alone. */
    assert_int_equal(srm_db_rollback_to(f->db), 0);
    assert_int_equal(srm_db_commit(f->db), 0);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM mentions"), 0);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM cursors"), 0);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM mentions_fts"), 0);

    /* The same batch committed: records and cursor together. */
    apply(f, &b);
    srm_batch_fini(&b);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM mentions"), 1);
    assert_q_text(f->db, "SELECT value FROM cursors WHERE key = 'since'",
                  "m1");
}

static void kv_collect(const char *key, const char *value, void *ud)
{
    char **acc = ud;
    char *n = srm_xasprintf("%s%s=%s;", *acc, key, value);

    free(*acc);
    *acc = n;
}

static void val_collect(const char *url, const char *etag, const char *lm,
                        void *ud)
{
    char **acc = ud;
    char *n = srm_xasprintf("%s%s %s %s;", *acc, url, etag ? etag : "-",
                            lm ? lm : "-");

    free(*acc);
    *acc = n;
}

static void test_sources_cursors_members(void **state)
{
    struct fx *f = *state;
    struct srm_source_state s = {.state = "failing", .last_sync_at = 2000,
                                 .next_sync_at = 2600,
                                 .last_error = "HTTP 500", .failures = 2};
    struct srm_member_row rows[] = {{"alice", "Alice", true},
                                    {"bob", "Bob", false}};
    struct srm_batch b;
    char *acc = srm_xstrdup("");
    int64_t id2;

    assert_int_equal(srm_db_source_set_state(f->db, f->source_id, &s), 0);
    assert_q_text(f->db, "SELECT state || ' ' || last_error FROM sources",
                  "failing HTTP 500");
    assert_int_equal(q_int(f->db, "SELECT passes FROM sources"), 1);
    assert_int_equal(q_int(f->db, "SELECT last_ok_at IS NULL FROM sources"),
                     1);
    s = (struct srm_source_state){.state = "idle", .last_ok_at = 3000};
    assert_int_equal(srm_db_source_set_state(f->db, f->source_id, &s), 0);
    assert_int_equal(q_int(f->db, "SELECT last_sync_at FROM sources"), 2000);
    assert_int_equal(q_int(f->db, "SELECT last_error IS NULL FROM sources"),
                     1);

    assert_int_equal(srm_db_source_retire(f->db, f->source_id, 4000), 0);
    assert_int_equal(q_int(f->db, "SELECT removed_at FROM sources"), 4000);
    assert_int_equal(srm_db_source_ensure(f->db, "masto", "mastodon2", 5000,
                                          &id2),
                     0);
    assert_int_equal(id2, f->source_id);
    assert_int_equal(q_int(f->db, "SELECT removed_at IS NULL FROM sources"),
                     1);

    srm_batch_init(&b, f->source_id, "masto", "mastodon");
    srm_batch_set_cursor(&b, "b", "2");
    srm_batch_set_cursor(&b, "a", "1");
    srm_batch_set_validator(&b, "https://x/feed", "\"e\"", NULL);
    apply(f, &b);
    srm_batch_fini(&b);
    assert_int_equal(srm_db_cursors_load(f->db, f->source_id, kv_collect,
                                         &acc),
                     0);
    assert_string_equal(acc, "a=1;b=2;");
    free(acc);
    acc = srm_xstrdup("");
    assert_int_equal(srm_db_validators_load(f->db, val_collect, &acc), 0);
    assert_string_equal(acc, "https://x/feed \"e\" -;");
    free(acc);

    assert_int_equal(srm_db_members_sync(f->db, rows, 2, 10), 0);
    assert_int_equal(srm_db_members_sync(f->db, rows, 1, 20), 0);
    assert_q_text(f->db,
                  "SELECT group_concat(user || active || is_admin, ',')"
                  " FROM (SELECT * FROM members ORDER BY user)",
                  "alice11,bob00");
}

static void test_open_errors(void **state)
{
    struct fx *f = *state;
    struct srm_db *db = NULL;
    char *missing = srm_xasprintf("%s/nope.db", f->dir);
    char *bad = srm_xasprintf("%s/bad.db", f->dir);
    FILE *fp;

    assert_int_equal(srm_db_open(missing, true, 0, &db), -ENOENT);
    assert_null(db);
    assert_int_equal(access(missing, F_OK), -1); /* not created */

    fp = fopen(bad, "w");
    assert_non_null(fp);
    for (int i = 0; i < 200; i++)
        fputs("this is not an SQLite database, just text. ", fp);
    fclose(fp);
    assert_int_equal(srm_db_open(bad, false, 0, &db), -EIO);
    assert_int_equal(srm_db_open(bad, true, 0, &db), -EIO);
    assert_null(db);

    /* A read-only connection to the real file works and cannot write. */
    assert_int_equal(srm_db_open(f->path, true, 0, &db), 0);
    assert_int_equal(q_int(db, "SELECT count(*) FROM sources"), 1);
    assert_int_equal(srm_db_source_retire(db, f->source_id, 1), -EROFS);
    srm_db_close(db);
    free(missing);
    free(bad);
}

static void test_err_mapping(void **state)
{
    assert_int_equal(srm_err_from_sqlite(SQLITE_OK), 0);
    assert_int_equal(srm_err_from_sqlite(SQLITE_DONE), 0);
    assert_int_equal(srm_err_from_sqlite(SQLITE_FULL), -ENOSPC);
    assert_int_equal(srm_err_from_sqlite(SQLITE_BUSY), -EBUSY);
    assert_int_equal(srm_err_from_sqlite(SQLITE_BUSY_SNAPSHOT), -EBUSY);
    assert_int_equal(srm_err_from_sqlite(SQLITE_LOCKED), -EBUSY);
    assert_int_equal(srm_err_from_sqlite(SQLITE_READONLY), -EROFS);
    assert_int_equal(srm_err_from_sqlite(SQLITE_CORRUPT), -EIO);
    assert_int_equal(srm_err_from_sqlite(SQLITE_NOTADB), -EIO);
    assert_int_equal(srm_err_from_sqlite(SQLITE_NOMEM), -ENOMEM);
    assert_int_equal(srm_err_from_sqlite(SQLITE_CANTOPEN), -ENOENT);
    assert_int_equal(srm_err_from_sqlite(SQLITE_CONSTRAINT_UNIQUE), -EEXIST);
    assert_int_equal(srm_err_from_sqlite(SQLITE_CONSTRAINT_CHECK), -EINVAL);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
    const struct CMUnitTest tests[] = {
        T(test_migration_from_empty),
        T(test_migration_4_check),
        T(test_ingest_and_search),
        T(test_reapply_is_idempotent),
        T(test_edit_updates_fts),
        T(test_deleted_never_resurrected),
        T(test_author_auto_created),
        T(test_repeats_in_one_batch),
        T(test_srm_rank_matches_bm25),
        T(test_fulltext_off_then_on),
        T(test_identity_seen_resolution),
        T(test_failed_batch_leaves_nothing),
        T(test_sources_cursors_members),
        T(test_open_errors),
        cmocka_unit_test(test_err_mapping),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
