/* people.c - identity resolution, merge and split, the people index
 * (people.h). Runs on the write connection. */
#include "people.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "log.h"
#include "mem.h"
#include "record.h"

/* Evidence found for one identity, acted on once the statements that
 * found it are reset. */
struct pp_found {
    int64_t other;
    const char *kind;
    double confidence;
    char *detail;
};

struct pp_list {
    struct pp_found *items;
    size_t n, cap;
};

static int pp_run(struct srm_db *db, sqlite3_stmt *st, const char *what);

static sqlite3_stmt *pp_stmt(struct srm_db *db, enum srm_sql_id id)
{
    return srm_db_stmt(db, id);
}

#define PP_STMT(db, id, st)                                                   \
    do {                                                                      \
        (st) = pp_stmt((db), (id));                                           \
        if ((st) == NULL) {                                                   \
            r = -EIO;                                                         \
            goto fail;                                                        \
        }                                                                     \
    } while (0)

/* Step to the end, then reset. */
static int pp_run(struct srm_db *db, sqlite3_stmt *st, const char *what)
{
    int rc;

    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        ;
    srm_db_stmt_done(st);
    if (rc != SQLITE_DONE)
        return srm_db_fail(db, rc, what);
    return 0;
}

/* One integer of the first row: 1 found, 0 none, or an error. */
static int pp_one(struct srm_db *db, sqlite3_stmt *st, const char *what,
                  int64_t *ret)
{
    int rc = sqlite3_step(st);
    int r = 0;

    if (rc == SQLITE_ROW) {
        *ret = sqlite3_column_int64(st, 0);
        r = 1;
    } else if (rc != SQLITE_DONE) {
        r = srm_db_fail(db, rc, what);
    }
    srm_db_stmt_done(st);
    return r;
}

static void pp_push(struct pp_list *l, int64_t other, const char *kind,
                    double confidence, const char *detail)
{
    if (l->n == l->cap) {
        l->cap = l->cap * 2 + 8;
        l->items = srm_xreallocarray(l->items, l->cap, sizeof(*l->items));
    }
    l->items[l->n++] = (struct pp_found){other, kind, confidence,
                                         srm_xstrdup_or_null(detail)};
}

static void pp_list_fini(struct pp_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i].detail);
    free(l->items);
}

/* Every id the statement returns (column 0) as evidence of kind. */
static int pp_collect(struct srm_db *db, sqlite3_stmt *st, struct pp_list *l,
                      const char *kind, double confidence,
                      const char *detail, const char *what)
{
    int rc;

    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *d = detail;
        if (d == NULL && sqlite3_column_count(st) > 1)
            d = (const char *)sqlite3_column_text(st, 1);
        pp_push(l, sqlite3_column_int64(st, 0), kind, confidence, d);
    }
    srm_db_stmt_done(st);
    if (rc != SQLITE_DONE)
        return srm_db_fail(db, rc, what);
    return 0;
}

static int pp_person_of(struct srm_db *db, int64_t identity,
                        int64_t *ret_person)
{
    sqlite3_stmt *st;
    int r;

    PP_STMT(db, SRM_STMT_PEOPLE_PERSON_OF, st);
    srm_db_bind_int64(st, ":id", identity);
    r = pp_one(db, st, "person of identity", ret_person);
    if (r == 0)
        r = -ENOENT;
fail:
    return r < 0 ? r : 0;
}

static int pp_pair(struct srm_db *db, enum srm_sql_id id, int64_t p,
                   int64_t q, const char *what)
{
    sqlite3_stmt *st;
    int r;

    PP_STMT(db, id, st);
    srm_db_bind_int64(st, ":p", p);
    srm_db_bind_int64(st, ":q", q);
    r = pp_run(db, st, what);
fail:
    return r;
}

static int pp_blocked(struct srm_db *db, int64_t p, int64_t q)
{
    sqlite3_stmt *st;
    int64_t one;
    int r;

    PP_STMT(db, SRM_STMT_PEOPLE_BLOCKED, st);
    srm_db_bind_int64(st, ":p", p);
    srm_db_bind_int64(st, ":q", q);
    r = pp_one(db, st, "merge blocks", &one);
fail:
    return r;
}

int srm_people_reindex(struct srm_db *db, int64_t person_id)
{
    sqlite3_stmt *st;
    int r;

    PP_STMT(db, SRM_STMT_PEOPLE_FTS_DELETE, st);
    srm_db_bind_int64(st, ":id", person_id);
    r = pp_run(db, st, "people index delete");
    if (r < 0)
        goto fail;
    PP_STMT(db, SRM_STMT_PEOPLE_FTS_INSERT, st);
    srm_db_bind_int64(st, ":id", person_id);
    r = pp_run(db, st, "people index");
fail:
    return r;
}

static int pp_by_id(struct srm_db *db, enum srm_sql_id id, int64_t v,
                    const char *what)
{
    sqlite3_stmt *st;
    int r;

    PP_STMT(db, id, st);
    srm_db_bind_int64(st, ":id", v);
    r = pp_run(db, st, what);
fail:
    return r;
}

static int pp_exists(struct srm_db *db, int64_t person)
{
    sqlite3_stmt *st;
    int64_t one;
    int r;

    PP_STMT(db, SRM_STMT_PEOPLE_EXISTS, st);
    srm_db_bind_int64(st, ":id", person);
    r = pp_one(db, st, "person", &one);
fail:
    return r;
}

static int pp_from_into(struct srm_db *db, enum srm_sql_id id, int64_t from,
                        int64_t into, const char *what)
{
    sqlite3_stmt *st;
    int r;

    PP_STMT(db, id, st);
    srm_db_bind_int64(st, ":from", from);
    srm_db_bind_int64(st, ":into", into);
    r = pp_run(db, st, what);
fail:
    return r;
}

int srm_people_merge(struct srm_db *db, int64_t from, int64_t into,
                     const char *member, const char *reason, int64_t now,
                     int64_t *ret_merge_id)
{
    static const enum srm_sql_id moves[] = {
        SRM_STMT_PEOPLE_MOVE_IDENTITIES, SRM_STMT_PEOPLE_MOVE_NOTES,
        SRM_STMT_PEOPLE_MOVE_INTERACTIONS, SRM_STMT_PEOPLE_MOVE_OUTCOMES,
        SRM_STMT_PEOPLE_MOVE_TAGS};
    char *detail = NULL;
    sqlite3_stmt *st;
    int r, rc;

    if (from == into)
        return -EINVAL;
    if ((r = pp_exists(db, from)) <= 0 || (r = pp_exists(db, into)) <= 0)
        return r < 0 ? r : -ENOENT;
    PP_STMT(db, SRM_STMT_PEOPLE_MERGE_SNAPSHOT, st);
    srm_db_bind_int64(st, ":from", from);
    srm_db_bind_int64(st, ":into", into);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        detail = srm_xstrdup((const char *)sqlite3_column_text(st, 0));
    srm_db_stmt_done(st);
    if (rc != SQLITE_ROW) {
        r = srm_db_fail(db, rc, "merge snapshot");
        goto fail;
    }
    PP_STMT(db, SRM_STMT_PEOPLE_MERGE_RECORD, st);
    srm_db_bind_int64(st, ":from", from);
    srm_db_bind_int64(st, ":into", into);
    srm_db_bind_int64(st, ":now", now);
    srm_db_bind_text(st, ":member", member);
    srm_db_bind_text(st, ":reason", reason ? reason : "manual");
    srm_db_bind_text(st, ":detail", detail);
    if ((r = pp_run(db, st, "merge record")) < 0)
        goto fail;
    if (ret_merge_id != NULL)
        *ret_merge_id = sqlite3_last_insert_rowid(srm_db_handle(db));
    /* A deliberate merge lifts the team's earlier separation. */
    if (member != NULL &&
        (r = pp_pair(db, SRM_STMT_PEOPLE_UNBLOCK, from, into, "unblock")) < 0)
        goto fail;
    for (size_t i = 0; i < SRM_ARRAY_LEN(moves); i++)
        if ((r = pp_from_into(db, moves[i], from, into, "merge move")) < 0)
            goto fail;
    PP_STMT(db, SRM_STMT_PEOPLE_MERGE_FIELDS, st);
    srm_db_bind_int64(st, ":from", from);
    srm_db_bind_int64(st, ":into", into);
    srm_db_bind_int64(st, ":now", now);
    if ((r = pp_run(db, st, "merge fields")) < 0)
        goto fail;
    if ((r = pp_by_id(db, SRM_STMT_PEOPLE_FTS_DELETE, from, "index")) < 0 ||
        (r = pp_by_id(db, SRM_STMT_PEOPLE_DELETE, from, "person delete")) < 0 ||
        (r = pp_by_id(db, SRM_STMT_PEOPLE_REFRESH_TIMES, into, "times")) < 0)
        goto fail;
    r = srm_people_reindex(db, into);
fail:
    free(detail);
    return r;
}

static int pp_detail_move(struct srm_db *db, enum srm_sql_id id,
                          int64_t new_id, int64_t p, const char *detail)
{
    sqlite3_stmt *st;
    int r;

    PP_STMT(db, id, st);
    if (sqlite3_bind_parameter_index(st, ":new") > 0)
        srm_db_bind_int64(st, ":new", new_id);
    if (sqlite3_bind_parameter_index(st, ":p") > 0)
        srm_db_bind_int64(st, ":p", p);
    srm_db_bind_text(st, ":detail", detail);
    r = pp_run(db, st, "split restore");
fail:
    return r;
}

/* Undo merge merge_id (detail) of a person back out of p. */
static int pp_undo(struct srm_db *db, int64_t merge_id, int64_t p,
                   const char *detail, int64_t now, int64_t *ret_new)
{
    static const enum srm_sql_id steps[] = {
        SRM_STMT_PEOPLE_RESTORE_IDENTITIES, SRM_STMT_PEOPLE_RESTORE_NOTES,
        SRM_STMT_PEOPLE_RESTORE_INTERACTIONS,
        SRM_STMT_PEOPLE_RESTORE_OUTCOMES, SRM_STMT_PEOPLE_RESTORE_TAGS,
        SRM_STMT_PEOPLE_UNDO_TAGS, SRM_STMT_PEOPLE_UNDO_FIELDS};
    sqlite3_stmt *st;
    int r;

    PP_STMT(db, SRM_STMT_PEOPLE_RESTORE, st);
    srm_db_bind_text(st, ":detail", detail);
    if ((r = pp_run(db, st, "person restore")) < 0)
        goto fail;
    *ret_new = sqlite3_last_insert_rowid(srm_db_handle(db));
    for (size_t i = 0; i < SRM_ARRAY_LEN(steps); i++)
        if ((r = pp_detail_move(db, steps[i], *ret_new, p, detail)) < 0)
            goto fail;
    PP_STMT(db, SRM_STMT_PEOPLE_MERGE_UNDONE, st);
    srm_db_bind_int64(st, ":now", now);
    srm_db_bind_int64(st, ":id", merge_id);
    r = pp_run(db, st, "merge undone");
fail:
    return r;
}

int srm_people_split(struct srm_db *db, int64_t identity_id, bool only,
                     const char *member, int64_t now, int64_t *ret_person,
                     int64_t *ret_undone)
{
    int64_t p, new_id = 0, merge_id = 0, count = 0;
    char *detail = NULL;
    sqlite3_stmt *st;
    int r, rc;

    *ret_undone = 0;
    r = pp_person_of(db, identity_id, &p);
    if (r < 0)
        return r;
    if (!only) {
        PP_STMT(db, SRM_STMT_PEOPLE_MERGE_FIND, st);
        srm_db_bind_int64(st, ":p", p);
        srm_db_bind_int64(st, ":identity", identity_id);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            merge_id = sqlite3_column_int64(st, 0);
            detail = srm_xstrdup((const char *)sqlite3_column_text(st, 2));
        }
        srm_db_stmt_done(st);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
            r = srm_db_fail(db, rc, "merge lookup");
            goto fail;
        }
    }
    if (detail != NULL) {
        r = pp_undo(db, merge_id, p, detail, now, &new_id);
        if (r < 0)
            goto fail;
        *ret_undone = merge_id;
    } else {
        PP_STMT(db, SRM_STMT_PEOPLE_IDENTITY_COUNT, st);
        srm_db_bind_int64(st, ":p", p);
        if ((r = pp_one(db, st, "identity count", &count)) < 0)
            goto fail;
        if (count <= 1) {
            r = -EALREADY;
            goto fail;
        }
        PP_STMT(db, SRM_STMT_PEOPLE_SPLIT_PERSON, st);
        srm_db_bind_int64(st, ":now", now);
        srm_db_bind_int64(st, ":identity", identity_id);
        if ((r = pp_run(db, st, "split person")) < 0)
            goto fail;
        new_id = sqlite3_last_insert_rowid(srm_db_handle(db));
        PP_STMT(db, SRM_STMT_PEOPLE_SPLIT_IDENTITY, st);
        srm_db_bind_int64(st, ":new", new_id);
        srm_db_bind_int64(st, ":identity", identity_id);
        if ((r = pp_run(db, st, "split identity")) < 0)
            goto fail;
        PP_STMT(db, SRM_STMT_PEOPLE_SPLIT_INTERACTIONS, st);
        srm_db_bind_int64(st, ":new", new_id);
        srm_db_bind_int64(st, ":identity", identity_id);
        srm_db_bind_int64(st, ":p", p);
        if ((r = pp_run(db, st, "split interactions")) < 0)
            goto fail;
    }
    /* Remember: the team separated these two. */
    PP_STMT(db, SRM_STMT_PEOPLE_BLOCK_ADD, st);
    srm_db_bind_int64(st, ":p", new_id);
    srm_db_bind_int64(st, ":q", p);
    srm_db_bind_int64(st, ":now", now);
    srm_db_bind_text(st, ":member", member);
    if ((r = pp_run(db, st, "merge block")) < 0)
        goto fail;
    if ((r = pp_by_id(db, SRM_STMT_PEOPLE_REFRESH_TIMES, p, "times")) < 0 ||
        (r = pp_by_id(db, SRM_STMT_PEOPLE_REFRESH_TIMES, new_id, "times")) <
            0 ||
        (r = srm_people_reindex(db, p)) < 0 ||
        (r = srm_people_reindex(db, new_id)) < 0)
        goto fail;
    r = pp_person_of(db, identity_id, ret_person);
fail:
    free(detail);
    return r;
}

int srm_people_evidence(struct srm_db *db, int64_t a, int64_t b,
                        const char *kind, double confidence,
                        const char *detail, int64_t now,
                        struct srm_people_stats *stats)
{
    int64_t lo = a < b ? a : b, hi = a < b ? b : a, p, q;
    sqlite3_stmt *st;
    char *reason;
    int r;

    if (a == b)
        return 0;
    PP_STMT(db, SRM_STMT_PEOPLE_EVIDENCE_UPSERT, st);
    srm_db_bind_int64(st, ":a", lo);
    srm_db_bind_int64(st, ":b", hi);
    srm_db_bind_text(st, ":kind", kind);
    sqlite3_bind_double(st, sqlite3_bind_parameter_index(st, ":confidence"),
                        confidence);
    srm_db_bind_text(st, ":detail", detail);
    srm_db_bind_int64(st, ":now", now);
    if ((r = pp_run(db, st, "evidence")) < 0)
        goto fail;
    if (stats)
        stats->evidence++;
    if (confidence < SRM_PEOPLE_AUTO_MERGE)
        return 0;
    if ((r = pp_person_of(db, lo, &p)) < 0 ||
        (r = pp_person_of(db, hi, &q)) < 0)
        goto fail;
    if (p == q)
        return 0;
    r = pp_blocked(db, p, q);
    if (r < 0)
        goto fail;
    if (r > 0) {
        if (stats)
            stats->blocked++;
        return 0;
    }
    /* The older person (lower id) absorbs the newer. */
    reason = srm_xasprintf("%s%s%s", kind, detail ? ": " : "",
                           detail ? detail : "");
    r = srm_people_merge(db, p > q ? p : q, p > q ? q : p, NULL, reason, now,
                         NULL);
    free(reason);
    if (r == 0 && stats)
        stats->merged++;
fail:
    return r;
}

static bool pp_handle_key_ok(const char *k)
{
    return k != NULL && strlen(k) >= 3 && strpbrk(k, ":/ ") == NULL;
}

int srm_people_resolve_identity(struct srm_db *db, int64_t identity_id,
                                int64_t now, struct srm_people_stats *stats)
{
    struct pp_list found = {0}, claims = {0};
    char *network = NULL, *name = NULL, *profile = NULL, *email = NULL;
    char *hkey = NULL;
    bool bare = true;
    sqlite3_stmt *st;
    int r = 0, rc;

    PP_STMT(db, SRM_STMT_PEOPLE_IDENTITY, st);
    srm_db_bind_int64(st, ":id", identity_id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        network = srm_xstrdup_or_null((const char *)sqlite3_column_text(st, 2));
        name = srm_xstrdup_or_null((const char *)sqlite3_column_text(st, 5));
        profile = srm_xstrdup_or_null((const char *)sqlite3_column_text(st, 6));
        email = srm_xstrdup_or_null((const char *)sqlite3_column_text(st, 7));
        hkey = srm_xstrdup_or_null((const char *)sqlite3_column_text(st, 8));
        bare = sqlite3_column_int(st, 9) != 0;
    }
    srm_db_stmt_done(st);
    if (rc != SQLITE_ROW) {
        r = rc == SQLITE_DONE ? -ENOENT : srm_db_fail(db, rc, "identity");
        goto fail;
    }
    if (email != NULL && email[0] != '\0') {
        PP_STMT(db, SRM_STMT_PEOPLE_SAME_EMAIL, st);
        srm_db_bind_text(st, ":email", email);
        srm_db_bind_int64(st, ":id", identity_id);
        if ((r = pp_collect(db, st, &found, "email", 0.90, email,
                            "same email")) < 0)
            goto fail;
    }
    /* Verified claims: the page the identity links to links back. */
    PP_STMT(db, SRM_STMT_PEOPLE_VERIFIED_CLAIMS, st);
    srm_db_bind_int64(st, ":id", identity_id);
    if ((r = pp_collect(db, st, &claims, "claim", 1.0, NULL, "claims")) < 0)
        goto fail;
    for (size_t i = 0; i < claims.n; i++) {
        const char *url = claims.items[i].detail;
        if (url == NULL)
            continue;
        PP_STMT(db, SRM_STMT_PEOPLE_BY_PROFILE, st);
        srm_db_bind_text(st, ":url", url);
        srm_db_bind_int64(st, ":id", identity_id);
        if ((r = pp_collect(db, st, &found, "rel_me", 0.95, url,
                            "by profile")) < 0)
            goto fail;
        PP_STMT(db, SRM_STMT_PEOPLE_CLAIMING, st);
        srm_db_bind_text(st, ":url", url);
        srm_db_bind_int64(st, ":id", identity_id);
        if ((r = pp_collect(db, st, &found, "shared_verified_link", 0.90, url,
                            "claiming")) < 0)
            goto fail;
    }
    /* Others whose verified link is this identity's profile. */
    if (profile != NULL) {
        PP_STMT(db, SRM_STMT_PEOPLE_CLAIMING, st);
        srm_db_bind_text(st, ":url", profile);
        srm_db_bind_int64(st, ":id", identity_id);
        if ((r = pp_collect(db, st, &found, "rel_me", 0.95, profile,
                            "claimed")) < 0)
            goto fail;
    }
    /* Weak evidence: suggestions only. */
    if (!bare && pp_handle_key_ok(hkey)) {
        PP_STMT(db, SRM_STMT_PEOPLE_SAME_HANDLE, st);
        srm_db_bind_text(st, ":hkey", hkey);
        srm_db_bind_text(st, ":network", network);
        srm_db_bind_int64(st, ":id", identity_id);
        if ((r = pp_collect(db, st, &found, "same_handle", 0.50, hkey,
                            "same handle")) < 0)
            goto fail;
    }
    if (name != NULL && name[0] != '\0') {
        PP_STMT(db, SRM_STMT_PEOPLE_NAME_WEBSITE, st);
        srm_db_bind_int64(st, ":id", identity_id);
        srm_db_bind_text(st, ":name", name);
        if ((r = pp_collect(db, st, &found, "name_website", 0.60, NULL,
                            "name and website")) < 0)
            goto fail;
    }
    for (size_t i = 0; i < found.n; i++) {
        r = srm_people_evidence(db, identity_id, found.items[i].other,
                                found.items[i].kind,
                                found.items[i].confidence,
                                found.items[i].detail, now, stats);
        if (r < 0)
            goto fail;
    }
fail:
    pp_list_fini(&found);
    pp_list_fini(&claims);
    free(network);
    free(name);
    free(profile);
    free(email);
    free(hkey);
    return r;
}

int srm_people_resolve_all(struct srm_db *db, int64_t now,
                           struct srm_people_stats *stats)
{
    struct pp_list ids = {0};
    sqlite3_stmt *st;
    int r;

    PP_STMT(db, SRM_STMT_PEOPLE_ALL_CANDIDATES, st);
    if ((r = pp_collect(db, st, &ids, "", 0, "", "candidates")) < 0)
        goto fail;
    for (size_t i = 0; i < ids.n; i++)
        if ((r = srm_people_resolve_identity(db, ids.items[i].other, now,
                                             stats)) < 0)
            goto fail;
fail:
    pp_list_fini(&ids);
    return r;
}

int srm_people_reindex_all(struct srm_db *db)
{
    sqlite3_stmt *st;
    int r;

    PP_STMT(db, SRM_STMT_PEOPLE_FTS_CLEAR, st);
    if ((r = pp_run(db, st, "people index clear")) < 0)
        goto fail;
    PP_STMT(db, SRM_STMT_PEOPLE_FTS_ALL, st);
    r = pp_run(db, st, "people index");
fail:
    return r;
}

int srm_people_after_batch(struct srm_db *db, struct srm_batch *b)
{
    sqlite3_stmt *st;
    int64_t iid = 0;
    int r = 0;

    /* Only identities that are new or say something new about their person
     * (srm_db_apply_batch sets changed) cost a resolution and a people
     * index update: re-sightings of known authors, most of any ingest,
     * cost nothing here. */
    for (size_t i = 0; i < b->identities.n; i++) {
        const struct srm_rec_identity *id = &b->identities.items[i];
        if (!id->changed)
            continue;
        if ((r = srm_people_reindex(db, id->person_id)) < 0)
            goto fail;
        if (id->email == NULL && id->n_links == 0 && id->handle == NULL &&
            id->profile_url == NULL)
            continue;
        PP_STMT(db, SRM_STMT_PEOPLE_IDENTITY_FIND, st);
        srm_db_bind_text(st, ":network", id->network);
        srm_db_bind_text(st, ":remote_id", id->remote_id);
        r = pp_one(db, st, "identity", &iid);
        if (r < 0)
            goto fail;
        if (r == 0)
            continue;
        if ((r = srm_people_resolve_identity(db, iid, b->now, NULL)) < 0)
            goto fail;
    }
    r = 0;
fail:
    return r;
}
