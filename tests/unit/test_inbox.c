/* test_inbox.c - the inbox's pure parts (route matching, percentiles,
 * statuses) and its database helpers against a real migrated store
 * (members, audit, "no two voices", the atomic claim). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "db.h"
#include "inbox.h"

/* ---- route matching ---- */

static void test_route_keys_all_must_match(void **state)
{
    const char *tags[] = {"VIP", "press"};
    struct srm_inbox_facts f = {.network = "mastodon", .source = "masto",
                                .text = "What is your Pricing for teams?",
                                .matched = "#srmd", .tags = tags,
                                .n_tags = 2};
    struct srm_inbox_route r = {0};

    (void)state;
    /* A rule without keys never matches. */
    assert_false(srm_inbox_route_matches(&r, &f));
    r.keyword = "pricing"; /* case-insensitive substring */
    assert_true(srm_inbox_route_matches(&r, &f));
    r.keyword = "srmd"; /* matches what the connector matched */
    assert_true(srm_inbox_route_matches(&r, &f));
    r.keyword = "refund";
    assert_false(srm_inbox_route_matches(&r, &f));
    r.keyword = "";
    assert_false(srm_inbox_route_matches(&r, &f));
    r.keyword = NULL;
    r.network = "MASTODON";
    assert_true(srm_inbox_route_matches(&r, &f));
    r.source = "masto";
    assert_true(srm_inbox_route_matches(&r, &f));
    r.source = "Masto"; /* source names are exact */
    assert_false(srm_inbox_route_matches(&r, &f));
    r.source = NULL;
    r.tag = "vip";
    assert_true(srm_inbox_route_matches(&r, &f));
    r.tag = "customer";
    assert_false(srm_inbox_route_matches(&r, &f));
    r.tag = NULL;
    r.network = "bluesky";
    assert_false(srm_inbox_route_matches(&r, &f));
}

static void test_route_missing_facts(void **state)
{
    struct srm_inbox_facts f = {.network = "rss"};
    struct srm_inbox_route r = {.source = "hn"};

    (void)state;
    assert_false(srm_inbox_route_matches(&r, &f));
    r = (struct srm_inbox_route){.keyword = "x"};
    assert_false(srm_inbox_route_matches(&r, &f));
    r = (struct srm_inbox_route){.tag = "x"};
    assert_false(srm_inbox_route_matches(&r, &f));
}

static void test_route_first_match_wins(void **state)
{
    struct srm_inbox_route routes[] = {
        {.network = "github", .member = "bob"},
        {.keyword = "srmd", .member = "alice"},
        {.network = "hackernews", .member = "carol"},
    };
    struct srm_inbox_facts f = {.network = "hackernews",
                                .text = "Show HN: srmd"};

    (void)state;
    assert_int_equal(srm_inbox_route_pick(routes, 3, &f), 1);
    f.text = "something else";
    assert_int_equal(srm_inbox_route_pick(routes, 3, &f), 2);
    f.network = "rss";
    assert_int_equal(srm_inbox_route_pick(routes, 3, &f), -1);
    assert_int_equal(srm_inbox_route_pick(routes, 0, &f), -1);
}

/* ---- percentiles ---- */

static void test_percentile_interpolates(void **state)
{
    const double one[] = {42};
    const double two[] = {30, 90};
    const double three[] = {60, 120, 600};
    const double four[] = {1, 2, 3, 4};

    (void)state;
    assert_true(srm_inbox_percentile(NULL, 0, 50) == 0);
    assert_true(srm_inbox_percentile(one, 1, 50) == 42);
    assert_true(srm_inbox_percentile(one, 1, 90) == 42);
    assert_true(srm_inbox_percentile(two, 2, 50) == 60);
    assert_true(srm_inbox_percentile(two, 2, 90) == 84);
    assert_true(srm_inbox_percentile(three, 3, 50) == 120);
    assert_true(srm_inbox_percentile(three, 3, 90) == 504);
    assert_true(srm_inbox_percentile(four, 4, 50) == 2.5);
    assert_true(srm_inbox_percentile(four, 4, 0) == 1);
    assert_true(srm_inbox_percentile(four, 4, 100) == 4);
    assert_true(srm_inbox_percentile(four, 4, 75) == 3.25);
}

static void test_statuses_and_kinds(void **state)
{
    (void)state;
    assert_true(srm_inbox_status_valid("new"));
    assert_true(srm_inbox_status_valid("ignored"));
    assert_false(srm_inbox_status_valid("closed"));
    assert_false(srm_inbox_status_valid(NULL));
    assert_true(srm_inbox_outcome_kind_valid("advocate"));
    assert_false(srm_inbox_outcome_kind_valid("gift"));
}

/* ---- database helpers ---- */

struct fx {
    char dir[64];
    char path[128];
    struct srm_db *db;
};

static void fx_exec(struct fx *f, const char *sql)
{
    char *err = NULL;
    int rc = sqlite3_exec(srm_db_handle(f->db), sql, NULL, NULL, &err);

    if (rc != SQLITE_OK)
        fail_msg("%s: %s", sql, err);
}

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    snprintf(f->dir, sizeof(f->dir), "/tmp/srm-inbox-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/t.db", f->dir);
    assert_int_equal(srm_db_open(f->path, false, 0, &f->db), 0);
    fx_exec(f,
            "INSERT INTO members (id, user, name, created_at) VALUES"
            " (1, 'alice', 'Alice', 0), (2, 'bob', 'Bob', 0);"
            "INSERT INTO sources (id, name, plugin, created_at)"
            " VALUES (1, 'masto', 'mastodon', 0);"
            "INSERT INTO people (id, display_name, created_at, updated_at)"
            " VALUES (1, 'Dana', 0, 0), (2, 'Erin', 0, 0);"
            "INSERT INTO identities (id, person_id, network, remote_id,"
            " handle, display_name, first_seen_at, last_seen_at) VALUES"
            " (1, 1, 'mastodon', 'd1', 'dana@x', 'Dana M', 0, 0),"
            " (2, 1, 'bluesky', 'd2', 'dana.bsky', NULL, 0, 0),"
            " (3, 2, 'mastodon', 'e1', 'erin@x', NULL, 0, 0);"
            "INSERT INTO mentions (id, network, remote_id, source_id,"
            " identity_id, text, created_at, fetched_at) VALUES"
            " (1, 'mastodon', 'm1', 1, 1, 'hello', 100, 100),"
            " (2, 'bluesky', 'm2', 1, 2, 'again', 200, 200),"
            " (3, 'mastodon', 'm3', 1, 3, 'erin here', 300, 300);");
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;
    char cmd[200];

    srm_db_close(f->db);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static void test_item_json(void **state)
{
    struct fx *f = *state;
    json_t *item = NULL, *a;

    assert_int_equal(srm_inbox_item_load(f->db, 1, &item), 0);
    assert_int_equal(json_integer_value(json_object_get(item, "id")), 1);
    assert_string_equal(json_string_value(json_object_get(item, "source")),
                        "masto");
    assert_string_equal(json_string_value(json_object_get(item, "status")),
                        "new");
    assert_true(json_is_null(json_object_get(item, "assignee")));
    a = json_object_get(item, "author");
    assert_int_equal(json_integer_value(json_object_get(a, "person_id")), 1);
    assert_string_equal(json_string_value(json_object_get(a, "handle")),
                        "dana@x");
    assert_string_equal(
        json_string_value(json_object_get(a, "display_name")), "Dana M");
    json_decref(item);
    /* An identity without a name shows its person's. */
    assert_int_equal(srm_inbox_item_load(f->db, 2, &item), 0);
    a = json_object_get(item, "author");
    assert_string_equal(
        json_string_value(json_object_get(a, "display_name")), "Dana");
    json_decref(item);
    assert_int_equal(srm_inbox_item_load(f->db, 99, &item), -ENOENT);
    assert_null(item);
}

static void test_member_id_creates_admin_row(void **state)
{
    struct fx *f = *state;
    int64_t id = 0, again = 0;
    sqlite3_stmt *st;

    assert_int_equal(srm_inbox_member_id(f->db, "bob", false, 5, &id), 0);
    assert_int_equal(id, 2);
    assert_int_equal(srm_inbox_member_id(f->db, "root", true, 5, &id), 0);
    assert_true(id > 2);
    assert_int_equal(srm_inbox_member_id(f->db, "root", true, 6, &again), 0);
    assert_int_equal(id, again);
    assert_int_equal(sqlite3_prepare_v2(srm_db_handle(f->db),
                                        "SELECT active, is_admin FROM members"
                                        " WHERE user = 'root'",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 0);
    assert_int_equal(sqlite3_column_int(st, 1), 1);
    sqlite3_finalize(st);
}

static void test_audit_row(void **state)
{
    struct fx *f = *state;
    json_t *detail = json_pack("{s:s, s:s}", "from", "new", "to", "done");
    sqlite3_stmt *st;

    assert_int_equal(srm_inbox_audit(f->db, 77, "alice", "status", "mention",
                                     3, detail),
                     0);
    json_decref(detail);
    assert_int_equal(sqlite3_prepare_v2(srm_db_handle(f->db),
                                        "SELECT at, member, action,"
                                        " object_type, object_id, detail"
                                        " FROM audit",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int64(st, 0), 77);
    assert_string_equal((const char *)sqlite3_column_text(st, 1), "alice");
    assert_string_equal((const char *)sqlite3_column_text(st, 2), "status");
    assert_string_equal((const char *)sqlite3_column_text(st, 3), "mention");
    assert_int_equal(sqlite3_column_int64(st, 4), 3);
    assert_string_equal((const char *)sqlite3_column_text(st, 5),
                        "{\"from\":\"new\",\"to\":\"done\"}");
    sqlite3_finalize(st);
}

static size_t voices(struct fx *f, int64_t person, int64_t mention,
                     int64_t me, int64_t now, const char *want)
{
    json_t *users = NULL;
    size_t n;

    assert_int_equal(srm_inbox_voices(f->db, person, mention, me, now,
                                      &users),
                     0);
    n = json_array_size(users);
    if (want != NULL) {
        assert_int_equal(n, 1);
        assert_string_equal(json_string_value(json_array_get(users, 0)),
                            want);
    }
    json_decref(users);
    return n;
}

static void test_voices(void **state)
{
    struct fx *f = *state;
    int64_t now = 1000000;

    /* Nobody talks to Dana yet. */
    assert_int_equal(voices(f, 1, 1, 1, now, NULL), 0);
    /* bob holds Dana's other mention (on another network). */
    fx_exec(f, "UPDATE mentions SET status = 'assigned', assignee_id = 2"
               " WHERE id = 2");
    voices(f, 1, 1, 1, now, "bob");
    /* ...which is not a second voice on that same mention, nor for bob. */
    assert_int_equal(voices(f, 1, 2, 1, now, NULL), 0);
    assert_int_equal(voices(f, 1, 1, 2, now, NULL), 0);
    /* Done: no longer open. An old interaction does not count... */
    fx_exec(f, "UPDATE mentions SET status = 'done' WHERE id = 2");
    fx_exec(f, "INSERT INTO interactions (person_id, member_id, direction,"
               " at) VALUES (1, 2, 'out', 1000000 - 48 * 3600 - 1)");
    assert_int_equal(voices(f, 1, 1, 1, now, NULL), 0);
    /* ...one within 48 h does, on any network. */
    fx_exec(f, "INSERT INTO interactions (person_id, member_id, direction,"
               " at, network) VALUES (1, 2, 'out', 1000000 - 3600, 'imap')");
    voices(f, 1, 1, 1, now, "bob");
    /* Erin is someone else's business. */
    assert_int_equal(voices(f, 2, 3, 1, now, NULL), 0);
}

static int64_t claim(struct fx *f, int64_t id, int64_t me)
{
    sqlite3_stmt *st = srm_db_stmt(f->db, SRM_STMT_INBOX_CLAIM);

    assert_non_null(st);
    srm_db_bind_int64(st, ":me", me);
    srm_db_bind_int64(st, ":now", 5);
    srm_db_bind_int64(st, ":id", id);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    srm_db_stmt_done(st);
    return sqlite3_changes(srm_db_handle(f->db));
}

static void test_claim_is_atomic(void **state)
{
    struct fx *f = *state;
    json_t *item;

    assert_int_equal(claim(f, 1, 1), 1); /* alice wins */
    assert_int_equal(claim(f, 1, 2), 0); /* bob gets nothing */
    assert_int_equal(claim(f, 1, 1), 1); /* alice again: still hers */
    assert_int_equal(srm_inbox_item_load(f->db, 1, &item), 0);
    assert_string_equal(json_string_value(json_object_get(item, "assignee")),
                        "alice");
    assert_string_equal(json_string_value(json_object_get(item, "status")),
                        "assigned");
    json_decref(item);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_route_keys_all_must_match),
        cmocka_unit_test(test_route_missing_facts),
        cmocka_unit_test(test_route_first_match_wins),
        cmocka_unit_test(test_percentile_interpolates),
        cmocka_unit_test(test_statuses_and_kinds),
        T(test_item_json),
        T(test_member_id_creates_admin_row),
        T(test_audit_row),
        T(test_voices),
        T(test_claim_is_atomic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
