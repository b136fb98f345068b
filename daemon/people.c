/* people.c - identity resolution, merge and split, the people index
 * (people.h). Runs on the write connection. */
#include "people.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "db.h"
#include "log.h"
#include "mem.h"
#include "rankacc.h"
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
    srm_db_rank_forget(db); /* identities change person */
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
    srm_db_rank_forget(db); /* identities change person */
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
    srm_db_bind_double(st, ":confidence", confidence);
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


/* ---------------------------------------------------------------------
 * Explicit links: srmd.yaml's people:
 */

/* A normalised key: "network" US "value", the value in lower case without
 * a leading '@', URL scheme or trailing '/'. Longer keys are never
 * configured (config values are short), so a longer record field cannot
 * match and is skipped. */
#define PP_NORM_MAX 2048

struct pp_link_key {
    char *network, *value, *written;
    int64_t identity; /* 0: not in the database (yet) */
};

struct pp_link {
    char *name, *where;
    struct pp_link_key *keys;
    size_t n_keys;
    bool pending; /* matched by the batch being applied */
};

struct pp_key_ref {
    char *norm;
    size_t link, key;
};

struct pp_links {
    struct pp_link *links;
    size_t n;
    struct pp_key_ref *refs; /* sorted by norm */
    size_t n_refs;
};

/* The writer thread's links (see people.h); NULL until first applied. */
static struct pp_links *pp_cfg;

static bool pp_norm(const char *network, const char *value, char *buf,
                    size_t size)
{
    size_t nl = strlen(network), vl, k = 0;

    while (*value == '@')
        value++;
    if (strncasecmp(value, "https://", 8) == 0)
        value += 8;
    else if (strncasecmp(value, "http://", 7) == 0)
        value += 7;
    vl = strlen(value);
    while (vl > 0 && value[vl - 1] == '/')
        vl--;
    if (nl + 1 + vl + 1 > size)
        return false;
    for (size_t i = 0; i < nl; i++)
        buf[k++] = (char)tolower((unsigned char)network[i]);
    buf[k++] = '\x1f';
    for (size_t i = 0; i < vl; i++)
        buf[k++] = (char)tolower((unsigned char)value[i]);
    buf[k] = '\0';
    return true;
}

static int pp_ref_cmp(const void *a, const void *b)
{
    return strcmp(((const struct pp_key_ref *)a)->norm,
                  ((const struct pp_key_ref *)b)->norm);
}

static void pp_links_free(struct pp_links *ls)
{
    if (ls == NULL)
        return;
    for (size_t i = 0; i < ls->n; i++) {
        struct pp_link *l = &ls->links[i];
        for (size_t k = 0; k < l->n_keys; k++) {
            free(l->keys[k].network);
            free(l->keys[k].value);
            free(l->keys[k].written);
        }
        free(l->keys);
        free(l->name);
        free(l->where);
    }
    for (size_t i = 0; i < ls->n_refs; i++)
        free(ls->refs[i].norm);
    free(ls->refs);
    free(ls->links);
    free(ls);
}

void srm_people_links_clear(void)
{
    pp_links_free(pp_cfg);
    pp_cfg = NULL;
}

static struct pp_links *pp_links_copy(const struct srm_people_link *in,
                                      size_t n)
{
    struct pp_links *ls = srm_xcalloc(1, sizeof(*ls));
    char buf[PP_NORM_MAX];
    size_t n_refs = 0;

    ls->links = srm_xcalloc(n ? n : 1, sizeof(*ls->links));
    for (size_t i = 0; i < n; i++)
        n_refs += in[i].n_identities;
    ls->refs = srm_xcalloc(n_refs ? n_refs : 1, sizeof(*ls->refs));
    for (size_t i = 0; i < n; i++) {
        struct pp_link *l = &ls->links[ls->n++];
        l->name = srm_xstrdup_or_null(in[i].name);
        l->where = srm_xstrdup(in[i].where ? in[i].where : "srmd.yaml");
        l->keys = srm_xcalloc(in[i].n_identities ? in[i].n_identities : 1,
                              sizeof(*l->keys));
        for (size_t k = 0; k < in[i].n_identities; k++) {
            const char *w = in[i].identities[k];
            const char *colon = strchr(w, ':');
            struct pp_link_key *key;

            /* config.c validated the form; anything else is skipped. */
            if (colon == NULL || colon == w || colon[1] == '\0')
                continue;
            key = &l->keys[l->n_keys++];
            key->written = srm_xstrdup(w);
            key->network = srm_xstrndup(w, (size_t)(colon - w));
            key->value = srm_xstrdup(colon + 1 + strspn(colon + 1, "@"));
            if (!pp_norm(key->network, key->value, buf, sizeof(buf)))
                continue; /* still applied at start-up and reload */
            ls->refs[ls->n_refs++] = (struct pp_key_ref){
                srm_xstrdup(buf), i, l->n_keys - 1};
        }
    }
    if (ls->n_refs > 1)
        qsort(ls->refs, ls->n_refs, sizeof(*ls->refs), pp_ref_cmp);
    return ls;
}

/* The identity key names: *ret 0 when none (or more than one matches the
 * same way: logged, nothing linked). */
static int pp_link_resolve(struct srm_db *db, const struct pp_link *l,
                           const struct pp_link_key *key, int64_t *ret)
{
    int64_t id[2] = {0, 0}, kind[2] = {0, 0};
    sqlite3_stmt *st;
    int r = 0, rc, n = 0;

    *ret = 0;
    PP_STMT(db, SRM_STMT_PEOPLE_LINK_RESOLVE, st);
    srm_db_bind_text(st, ":network", key->network);
    srm_db_bind_text(st, ":value", key->value);
    while (n < 2 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        id[n] = sqlite3_column_int64(st, 0);
        kind[n++] = sqlite3_column_int64(st, 1);
    }
    if (n < 2 && rc != SQLITE_DONE) {
        srm_db_stmt_done(st);
        return srm_db_fail(db, rc, "link identity");
    }
    srm_db_stmt_done(st);
    if (n == 2 && kind[0] == kind[1] && id[0] != id[1]) {
        SRM_WARNING("people: %s: %s names identities %lld and %lld alike; "
                    "give its remote id to link one of them", l->where,
                    key->written, (long long)id[0], (long long)id[1]);
        return 0;
    }
    if (n > 0)
        *ret = id[0];
fail:
    return r;
}

struct pp_pairs {
    int64_t (*ab)[2];
    size_t n, cap;
};

static void pp_pairs_push(struct pp_pairs *p, int64_t a, int64_t b)
{
    if (p->n == p->cap) {
        p->cap = p->cap * 2 + 16;
        p->ab = srm_xreallocarray(p->ab, p->cap, sizeof(*p->ab));
    }
    p->ab[p->n][0] = a;
    p->ab[p->n++][1] = b;
}

static int pp_pair_cmp(const void *x, const void *y)
{
    const int64_t *a = x, *b = y;

    if (a[0] != b[0])
        return a[0] < b[0] ? -1 : 1;
    return a[1] < b[1] ? -1 : a[1] > b[1];
}

/* 1: no active config evidence between a and b (never applied, or
 * withdrawn): the link is new. 0: in force. Or an error. */
static int pp_link_fresh(struct srm_db *db, int64_t a, int64_t b)
{
    sqlite3_stmt *st;
    int r, rc;

    PP_STMT(db, SRM_STMT_PEOPLE_EVIDENCE_STATE, st);
    srm_db_bind_int64(st, ":a", a);
    srm_db_bind_int64(st, ":b", b);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        r = strcmp((const char *)sqlite3_column_text(st, 0), "active") != 0;
    else if (rc == SQLITE_DONE)
        r = 1;
    else
        r = srm_db_fail(db, rc, "config evidence");
    srm_db_stmt_done(st);
fail:
    return r;
}

/* Link the identities of l that exist: evidence between the lowest
 * identity id (stable as identities arrive: a new one has a higher id)
 * and each other one, merges, the name. wanted (may be NULL) collects
 * the pairs. */
static int pp_link_apply(struct srm_db *db, struct pp_link *l, int64_t now,
                         struct srm_people_stats *stats,
                         struct pp_pairs *wanted)
{
    struct srm_people_stats mine = {0};
    int64_t anchor = 0, p, q;
    const char *anchor_key = NULL;
    char *detail = NULL;
    sqlite3_stmt *st;
    int r = 0;

    for (size_t k = 0; k < l->n_keys; k++) {
        struct pp_link_key *key = &l->keys[k];
        if ((r = pp_link_resolve(db, l, key, &key->identity)) < 0)
            goto fail;
        if (key->identity != 0 && (anchor == 0 || key->identity < anchor)) {
            anchor = key->identity;
            anchor_key = key->written;
        }
    }
    if (anchor == 0)
        return 0;
    detail = l->name ? srm_xasprintf("%s: %s", l->where, l->name)
                     : srm_xstrdup(l->where);
    for (size_t k = 0; k < l->n_keys; k++) {
        int64_t other = l->keys[k].identity;
        bool seen = false;
        int fresh;

        for (size_t j = 0; j < k; j++)
            seen |= l->keys[j].identity == other;
        if (other == 0 || other == anchor || seen)
            continue;
        if (wanted != NULL)
            pp_pairs_push(wanted, anchor, other);
        if ((fresh = pp_link_fresh(db, anchor, other)) < 0 ||
            (r = pp_person_of(db, anchor, &p)) < 0 ||
            (r = pp_person_of(db, other, &q)) < 0) {
            r = fresh < 0 ? fresh : r;
            goto fail;
        }
        if (p != q && fresh) {
            /* The team's newest statement: it overrides a split made
             * before the link was written. */
            if ((r = pp_pair(db, SRM_STMT_PEOPLE_UNBLOCK, p, q, "unblock")) <
                0)
                goto fail;
            if (sqlite3_changes(srm_db_handle(db)) > 0)
                SRM_NOTICE("people: %s links %s and %s, which the team had "
                           "split apart: merged again", l->where,
                           anchor_key, l->keys[k].written);
        }
        mine = (struct srm_people_stats){0};
        r = srm_people_evidence(db, anchor, other, "config", 1.0, detail,
                                now, &mine);
        if (r < 0)
            goto fail;
        if (mine.merged)
            SRM_INFO("people: %s: %s joins %s (person %lld)", l->where,
                     l->keys[k].written, anchor_key,
                     (long long)(p < q ? p : q));
        if (mine.blocked)
            SRM_WARNING("people: %s: %s and %s stay apart: the team split "
                        "them after the link was made; take the link out "
                        "of the config, or merge them again with srmctl "
                        "merge", l->where, anchor_key, l->keys[k].written);
        if (stats != NULL) {
            stats->evidence += mine.evidence;
            stats->merged += mine.merged;
            stats->blocked += mine.blocked;
        }
    }
    if (l->name != NULL) {
        if ((r = pp_person_of(db, anchor, &p)) < 0)
            goto fail;
        PP_STMT(db, SRM_STMT_PEOPLE_CONFIG_NAME, st);
        srm_db_bind_text(st, ":name", l->name);
        srm_db_bind_int64(st, ":now", now);
        srm_db_bind_int64(st, ":id", p);
        if ((r = pp_run(db, st, "config name")) < 0)
            goto fail;
        if (sqlite3_changes(srm_db_handle(db)) > 0)
            r = srm_people_reindex(db, p);
    }
fail:
    free(detail);
    return r;
}

/* Apply every link of pp_cfg, then withdraw the config evidence no link
 * gives any more. */
static int pp_links_run(struct srm_db *db, int64_t now,
                        struct srm_people_stats *stats)
{
    struct pp_pairs wanted = {0};
    struct pp_list gone = {0};
    sqlite3_stmt *st;
    int r = 0, rc;

    for (size_t i = 0; i < pp_cfg->n; i++)
        if ((r = pp_link_apply(db, &pp_cfg->links[i], now, stats,
                               &wanted)) < 0)
            goto fail;
    if (wanted.n > 1)
        qsort(wanted.ab, wanted.n, sizeof(*wanted.ab), pp_pair_cmp);
    PP_STMT(db, SRM_STMT_PEOPLE_CONFIG_EVIDENCE, st);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t ab[2] = {sqlite3_column_int64(st, 1),
                         sqlite3_column_int64(st, 2)};
        char *what;
        if (wanted.n > 0 && bsearch(ab, wanted.ab, wanted.n,
                                    sizeof(*wanted.ab), pp_pair_cmp))
            continue;
        what = srm_xasprintf("%s and %s", sqlite3_column_text(st, 3),
                             sqlite3_column_text(st, 4));
        pp_push(&gone, sqlite3_column_int64(st, 0), "withdrawn", 0, what);
        free(what);
    }
    srm_db_stmt_done(st);
    if (rc != SQLITE_DONE) {
        r = srm_db_fail(db, rc, "config evidence");
        goto fail;
    }
    for (size_t i = 0; i < gone.n; i++) {
        PP_STMT(db, SRM_STMT_PEOPLE_EVIDENCE_WITHDRAW, st);
        srm_db_bind_int64(st, ":now", now);
        srm_db_bind_int64(st, ":id", gone.items[i].other);
        if ((r = pp_run(db, st, "withdraw evidence")) < 0)
            goto fail;
        /* The people stay as they are: a split is the team's to make. */
        SRM_NOTICE("people: the link of %s is no longer in the config: its "
                   "evidence is marked withdrawn (srmctl split separates "
                   "them)", gone.items[i].detail);
    }
fail:
    free(wanted.ab);
    pp_list_fini(&gone);
    return r;
}

int srm_people_links_apply(struct srm_db *db,
                           const struct srm_people_link *links, size_t n,
                           int64_t now, struct srm_people_stats *stats)
{
    /* The new links hold even if applying them fails: ingest links what
     * it sees, the next reload applies the rest. */
    pp_links_free(pp_cfg);
    pp_cfg = pp_links_copy(links, n);
    return pp_links_run(db, now, stats);
}

int srm_people_links_reapply(struct srm_db *db, int64_t now,
                             struct srm_people_stats *stats)
{
    /* Never configured (a test harness): nothing to apply or withdraw. */
    return pp_cfg != NULL ? pp_links_run(db, now, stats) : 0;
}

int srm_people_config_apply(struct srm_db *db, const struct srm_config *c,
                            int64_t now)
{
    struct srm_people_link *links;
    struct srm_people_stats stats = {0};
    int r;

    links = srm_xcalloc(c->n_people ? c->n_people : 1, sizeof(*links));
    for (size_t i = 0; i < c->n_people; i++)
        links[i] = (struct srm_people_link){
            .name = c->people[i].name,
            .where = c->people[i].where,
            .identities = (const char *const *)c->people[i].identities,
            .n_identities = c->people[i].n_identities};
    /* Mentions written while srmd was stopped count for suggestions. */
    r = srm_people_rank_catch_up(db, NULL);
    if (r == 0)
        r = srm_people_links_apply(db, links, c->n_people, now, &stats);
    free(links);
    if (r == 0 && (stats.merged > 0 || stats.blocked > 0))
        SRM_NOTICE("people: %zu configured links: %d merges, %d kept apart "
                   "by a split", c->n_people, stats.merged, stats.blocked);
    return r;
}

/* Mark the links whose key (network, value) is; force also those whose
 * identity was found already (the identity is new or changed). */
static void pp_links_match(const char *network, const char *value,
                           bool force, size_t **todo, size_t *n_todo)
{
    char buf[PP_NORM_MAX];
    struct pp_key_ref want = {buf, 0, 0}, *hit;
    size_t lo;

    if (network == NULL || value == NULL || value[0] == '\0' ||
        !pp_norm(network, value, buf, sizeof(buf)))
        return;
    hit = bsearch(&want, pp_cfg->refs, pp_cfg->n_refs, sizeof(*hit),
                  pp_ref_cmp);
    if (hit == NULL)
        return;
    lo = (size_t)(hit - pp_cfg->refs);
    while (lo > 0 && strcmp(pp_cfg->refs[lo - 1].norm, buf) == 0)
        lo--;
    for (size_t i = lo; i < pp_cfg->n_refs &&
                        strcmp(pp_cfg->refs[i].norm, buf) == 0;
         i++) {
        struct pp_link *l = &pp_cfg->links[pp_cfg->refs[i].link];
        if (l->pending ||
            (!force && l->keys[pp_cfg->refs[i].key].identity != 0))
            continue;
        l->pending = true;
        *todo = srm_xreallocarray(*todo, *n_todo + 1, sizeof(**todo));
        (*todo)[(*n_todo)++] = pp_cfg->refs[i].link;
    }
}

/* The links an identity of this batch is named in take effect now. A key
 * already found is skipped for mention authors: an identity once found
 * keeps its id. (Should the transaction that found it roll back, the
 * identity comes again as a new record, which forces the link; an author
 * seen only through mentions is linked at the next reload.) */
static int pp_links_after_batch(struct srm_db *db, struct srm_batch *b)
{
    size_t *todo = NULL, n_todo = 0;
    int r = 0;

    for (size_t i = 0; i < b->identities.n; i++) {
        const struct srm_rec_identity *id = &b->identities.items[i];
        const char *net = id->network ? id->network : b->plugin;
        pp_links_match(net, id->remote_id, id->changed, &todo, &n_todo);
        pp_links_match(net, id->handle, id->changed, &todo, &n_todo);
        pp_links_match(net, id->email, id->changed, &todo, &n_todo);
        pp_links_match(net, id->profile_url, id->changed, &todo, &n_todo);
    }
    for (size_t i = 0; i < b->mentions.n; i++) {
        const struct srm_rec_mention *m = &b->mentions.items[i];
        const char *net = m->author_network ? m->author_network
                          : m->network      ? m->network
                                            : b->plugin;
        pp_links_match(net, m->author_id, false, &todo, &n_todo);
    }
    for (size_t i = 0; i < n_todo; i++) {
        struct pp_link *l = &pp_cfg->links[todo[i]];
        l->pending = false;
        if (r == 0)
            r = pp_link_apply(db, l, b->now, NULL, NULL);
    }
    free(todo);
    return r;
}

static int pp_rank_person(void *ud, int64_t person, double sum,
                          int64_t last)
{
    struct srm_db *db = ud;
    sqlite3_stmt *st;
    int r;

    PP_STMT(db, SRM_STMT_PEOPLE_RANK_PERSON, st);
    srm_db_bind_double(st, ":sum", sum);
    srm_db_bind_int64(st, ":last", last);
    srm_db_bind_int64(st, ":id", person);
    r = pp_run(db, st, "ranking facts");
fail:
    return r;
}

int srm_people_rank_catch_up(struct srm_db *db,
                             const struct srm_rankacc *sums)
{
    int64_t mark = 0, upto = 0;
    sqlite3_stmt *st;
    int r = 0, rc;

    PP_STMT(db, SRM_STMT_PEOPLE_RANK_MARK, st);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        mark = sqlite3_column_int64(st, 0);
        upto = sqlite3_column_int64(st, 1);
    }
    srm_db_stmt_done(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return srm_db_fail(db, rc, "ranking mark");
    /* Ingest never deletes, so ids above the mark are exactly the
     * mentions not counted yet. */
    if (upto <= mark)
        return 0;
    if (sums != NULL && upto - mark == (int64_t)srm_rankacc_rows(sums)) {
        /* Every one of them was summed as it was inserted. */
        r = srm_rankacc_each(sums, pp_rank_person, db);
    } else {
        PP_STMT(db, SRM_STMT_PEOPLE_RANK_ADD, st);
        srm_db_bind_int64(st, ":after", mark);
        srm_db_bind_int64(st, ":upto", upto);
        r = pp_run(db, st, "ranking facts");
    }
    if (r < 0)
        goto fail;
    PP_STMT(db, SRM_STMT_PEOPLE_RANK_MARK_SET, st);
    srm_db_bind_int64(st, ":upto", upto);
    r = pp_run(db, st, "ranking mark");
fail:
    return r;
}

int srm_people_after_batch(struct srm_db *db, struct srm_batch *b)
{
    sqlite3_stmt *st;
    int64_t iid = 0;
    int r = 0;

    /* The batch's mentions join the ranking facts before the COMMIT
     * (srm_db_commit). A merge below recomputes its person's facts up to
     * the ranking mark; the catch-up then adds the mentions above it to
     * whichever person they belong to by then. */

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
    if (pp_cfg != NULL && pp_cfg->n_refs > 0)
        r = pp_links_after_batch(db, b);
fail:
    return r;
}
