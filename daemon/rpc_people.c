/* rpc_people.c - people.* and interactions.log (docs/protocol-people.md):
 * people, not accounts. Reads run on the reader pool, changes on the
 * writer; identity resolution itself lives in people.c. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "inbox.h"
#include "mem.h"
#include "people.h"
#include "people_score.h"
#include "rpc_job.h"
#include "rpc_methods.h"
#include "vcard.h"
#include "verify.h"

#define RP_MAX_LIMIT 1000

/* ---- helpers ---- */

#define RP_STMT(db, id, st)                                                   \
    do {                                                                      \
        (st) = srm_db_stmt((db), (id));                                       \
        if ((st) == NULL) {                                                   \
            r = -EIO;                                                         \
            goto fail;                                                        \
        }                                                                     \
    } while (0)

static json_int_t rp_limit(const struct srm_rpc_job *job, json_int_t dflt)
{
    json_int_t n = srm_rpc_job_int(job, "limit", dflt);

    return n < 1 ? 1 : n > RP_MAX_LIMIT ? RP_MAX_LIMIT : n;
}

/* One integer from the first row: 1 found, 0 none, or an error. */
static int rp_one(struct srm_db *db, sqlite3_stmt *st, const char *what,
                  int64_t *ret)
{
    int rc = sqlite3_step(st), r = 0;

    if (rc == SQLITE_ROW) {
        *ret = sqlite3_column_int64(st, 0);
        r = 1;
    } else if (rc != SQLITE_DONE) {
        r = srm_db_fail(db, rc, what);
    }
    srm_db_stmt_done(st);
    return r;
}

static int rp_run(struct srm_db *db, sqlite3_stmt *st, const char *what)
{
    int rc;

    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        ;
    srm_db_stmt_done(st);
    return rc == SQLITE_DONE ? 0 : srm_db_fail(db, rc, what);
}

static bool rp_digits(const char *s)
{
    return s && s[0] && strspn(s, "0123456789") == strlen(s);
}

/* params[key]: a person id (number or digits) or an identity's handle,
 * remote id or profile URL. 0, or the job's error. */
static int rp_person(struct srm_db *db, struct srm_rpc_job *job,
                     const char *key, int64_t *ret)
{
    json_t *p = json_object_get(job->params, key);
    const char *s = json_string_value(p);
    sqlite3_stmt *st;
    int64_t found[3];
    size_t n = 0;
    int r, rc;

    if (json_is_integer(p) || rp_digits(s)) {
        int64_t id = json_is_integer(p) ? json_integer_value(p)
                                        : strtoll(s, NULL, 10);
        RP_STMT(db, SRM_STMT_PEOPLE_EXISTS, st);
        srm_db_bind_int64(st, ":id", id);
        r = rp_one(db, st, "person", ret);
        if (r != 0)
            return r < 0 ? r : 0;
        if (json_is_integer(p))
            return srm_rpc_job_fail(job, SRM_RPC_NOT_FOUND, NULL,
                                    "no person with id %" PRId64, id);
    }
    if (s == NULL || s[0] == '\0')
        return srm_rpc_job_fail(job, SRM_RPC_INVALID_PARAMS, NULL,
                                "invalid params: '%s' must be a person id "
                                "or an identity handle", key);
    RP_STMT(db, SRM_STMT_PEOPLE_BY_NAME, st);
    srm_db_bind_text(st, ":handle", s);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < 3)
        found[n++] = sqlite3_column_int64(st, 0);
    srm_db_stmt_done(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return srm_db_fail(db, rc, "person by handle");
    if (n == 0)
        return srm_rpc_job_fail(job, SRM_RPC_NOT_FOUND, NULL,
                                "no person or identity '%s'", s);
    if (n > 1)
        return srm_rpc_job_fail(
            job, SRM_RPC_CONFLICT,
            json_pack("{s:[I,I]}", "people", (json_int_t)found[0],
                      (json_int_t)found[1]),
            "'%s' names more than one person (%" PRId64 ", %" PRId64
            "); give a person id", s, found[0], found[1]);
    *ret = found[0];
    return 0;
fail:
    return r;
}

static int rp_identity(struct srm_db *db, struct srm_rpc_job *job,
                       int64_t *ret)
{
    json_t *p = json_object_get(job->params, "identity");
    const char *s = json_string_value(p);
    sqlite3_stmt *st;
    int64_t found[3];
    size_t n = 0;
    int r, rc;

    if (json_is_integer(p) || rp_digits(s)) {
        RP_STMT(db, SRM_STMT_PEOPLE_IDENTITY_EXISTS, st);
        srm_db_bind_int64(st, ":id", json_is_integer(p)
                                         ? json_integer_value(p)
                                         : strtoll(s, NULL, 10));
        r = rp_one(db, st, "identity", ret);
        if (r != 0)
            return r < 0 ? r : 0;
        if (json_is_integer(p))
            return srm_rpc_job_fail(job, SRM_RPC_NOT_FOUND, NULL,
                                    "no identity with id %" JSON_INTEGER_FORMAT,
                                    json_integer_value(p));
    }
    if (s == NULL || s[0] == '\0')
        return srm_rpc_job_fail(job, SRM_RPC_INVALID_PARAMS, NULL,
                                "invalid params: 'identity' must be an "
                                "identity id or handle");
    RP_STMT(db, SRM_STMT_PEOPLE_IDENTITY_BY_NAME, st);
    srm_db_bind_text(st, ":handle", s);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < 3)
        found[n++] = sqlite3_column_int64(st, 0);
    srm_db_stmt_done(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return srm_db_fail(db, rc, "identity by handle");
    if (n != 1)
        return srm_rpc_job_fail(job, n ? SRM_RPC_CONFLICT : SRM_RPC_NOT_FOUND,
                                NULL, n ? "'%s' names more than one "
                                          "identity; give its id"
                                        : "no identity '%s'", s);
    *ret = found[0];
    return 0;
fail:
    return r;
}

static int rp_me(struct srm_db *db, struct srm_rpc_job *job, int64_t *ret)
{
    return srm_inbox_member_id(db, job->caller.user, job->caller.is_admin,
                               job->now, ret);
}

static int rp_audit(struct srm_db *db, struct srm_rpc_job *job,
                    const char *action, int64_t person, json_t *detail)
{
    int r = srm_inbox_audit(db, job->now, job->caller.user, action, "person",
                            person, detail);

    json_decref(detail);
    return r;
}

/* A list row (SRM_SQL_PEOPLE_LIST_COLS_). */
static json_t *rp_list_item(sqlite3_stmt *st)
{
    const char *nets = (const char *)sqlite3_column_text(st, 7);
    const char *tags = (const char *)sqlite3_column_text(st, 8);
    json_t *jn = json_array(), *jt = json_array();

    for (const char *p = nets; p && *p;) {
        size_t l = strcspn(p, ",");
        json_array_append_new(jn, json_stringn(p, l));
        p += l + (p[l] == ',');
    }
    for (const char *p = tags; p && *p;) {
        size_t l = strcspn(p, ",");
        json_array_append_new(jt, json_stringn(p, l));
        p += l + (p[l] == ',');
    }
    return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "id",
                     srm_rpc_col_int(st, 0), "display_name",
                     srm_rpc_col_text(st, 1), "owner",
                     srm_rpc_col_text(st, 2), "cadence_days",
                     srm_rpc_col_int(st, 3), "last_interaction_at",
                     srm_rpc_col_int(st, 4), "last_mention_at",
                     srm_rpc_col_int(st, 5), "identities",
                     srm_rpc_col_int(st, 6), "networks", jn, "tags", jt);
}

/* ---- people.list, people.search ---- */

static int rp_search(struct srm_db *db, struct srm_rpc_job *job,
                     const char *q)
{
    const char *cursor = srm_rpc_job_str(job, "cursor");
    json_int_t limit = rp_limit(job, 50);
    json_t *items = json_array();
    double c_rank = 0, last_rank = 0;
    int64_t c_id = 0, last_id = 0;
    char *quoted = NULL;
    sqlite3_stmt *st;
    size_t n = 0;
    int r = 0, rc;

    if (cursor != NULL &&
        sscanf(cursor, "%lf:%" SCNd64, &c_rank, &c_id) != 2) {
        r = srm_rpc_job_fail(job, SRM_RPC_INVALID_PARAMS, NULL,
                             "invalid params: bad cursor");
        goto fail;
    }
    RP_STMT(db, SRM_STMT_PEOPLE_SEARCH, st);
    for (int attempt = 0; attempt < 2; attempt++) {
        srm_db_bind_text(st, ":q", attempt ? quoted : q);
        if (cursor != NULL) {
            srm_db_bind_double(st, ":c_rank", c_rank);
            srm_db_bind_int64(st, ":c_id", c_id);
        }
        srm_db_bind_int64(st, ":limit", limit);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            json_t *it = rp_list_item(st);
            last_rank = sqlite3_column_double(st, 9);
            last_id = sqlite3_column_int64(st, 0);
            json_object_set_new(it, "rank", json_real(last_rank));
            json_array_append_new(items, it);
            n++;
        }
        srm_db_stmt_done(st);
        if (rc == SQLITE_DONE)
            break;
        if (attempt == 0 && n == 0) {
            /* Not FTS5 syntax (an '@', a '.'): search it as a phrase. */
            size_t k = 0;
            quoted = srm_xmalloc(strlen(q) * 2 + 3);
            quoted[k++] = '"';
            for (const char *p = q; *p; p++) {
                if (*p == '"')
                    quoted[k++] = '"';
                quoted[k++] = *p;
            }
            quoted[k++] = '"';
            quoted[k] = '\0';
            continue;
        }
        r = srm_rpc_job_fail(job, SRM_RPC_INVALID_PARAMS, NULL,
                             "invalid params: bad search query: %s",
                             sqlite3_errmsg(srm_db_handle(db)));
        goto fail;
    }
    {
        char next[64];
        snprintf(next, sizeof(next), "%.17g:%" PRId64, last_rank, last_id);
        job->result = json_pack("{s:s, s:O, s:s?}", "q", q, "people", items,
                                "next_cursor",
                                n == (size_t)limit ? next : NULL);
    }
fail:
    json_decref(items);
    free(quoted);
    return r;
}

static int rp_list_fn(struct srm_db *db, struct srm_rpc_job *job)
{
    const char *q = srm_rpc_job_str(job, "q");
    const char *cursor = srm_rpc_job_str(job, "cursor");
    json_int_t limit = rp_limit(job, 50);
    json_t *items;
    sqlite3_stmt *st;
    int64_t last = 0;
    size_t n = 0;
    int r = 0, rc;

    if (q != NULL && q[0] != '\0')
        return rp_search(db, job, q);
    if (cursor != NULL && !rp_digits(cursor))
        return srm_rpc_job_fail(job, SRM_RPC_INVALID_PARAMS, NULL,
                                "invalid params: bad cursor");
    RP_STMT(db, SRM_STMT_PEOPLE_LIST, st);
    srm_db_bind_int64(st, ":after", cursor ? strtoll(cursor, NULL, 10) : 0);
    srm_db_bind_text(st, ":owner", srm_rpc_job_str(job, "owner"));
    srm_db_bind_text(st, ":tag", srm_rpc_job_str(job, "tag"));
    srm_db_bind_int64(st, ":limit", limit);
    items = json_array();
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        last = sqlite3_column_int64(st, 0);
        json_array_append_new(items, rp_list_item(st));
        n++;
    }
    srm_db_stmt_done(st);
    if (rc != SQLITE_DONE) {
        json_decref(items);
        return srm_db_fail(db, rc, "people list");
    }
    job->result = json_pack("{s:o, s:o}", "people", items, "next_cursor",
                            n == (size_t)limit
                                ? json_sprintf("%" PRId64, last)
                                : json_null());
fail:
    return r;
}

static void rp_list(struct srm_rpc_call *call, json_t *params)
{
    const char *s;

    if (!srm_rpc_param_str(call, params, "q", false, &s) ||
        !srm_rpc_param_str(call, params, "cursor", false, &s) ||
        !srm_rpc_param_str(call, params, "owner", false, &s) ||
        !srm_rpc_param_str(call, params, "tag", false, &s))
        return;
    srm_rpc_read(call, params, rp_list_fn, NULL);
}

static void rp_search_m(struct srm_rpc_call *call, json_t *params)
{
    const char *q;

    if (!srm_rpc_param_str(call, params, "q", true, &q) ||
        !srm_rpc_param_str(call, params, "cursor", false, &q))
        return;
    srm_rpc_read(call, params, rp_list_fn, NULL);
}

/* ---- people.show ---- */

static json_t *rp_links(struct srm_db *db, int64_t identity)
{
    sqlite3_stmt *st = srm_db_stmt(db, SRM_STMT_PEOPLE_LINKS);
    json_t *a = json_array();

    if (st == NULL)
        return a;
    srm_db_bind_int64(st, ":id", identity);
    while (sqlite3_step(st) == SQLITE_ROW) {
        json_t *check = json_null();
        if (sqlite3_column_type(st, 3) != SQLITE_NULL)
            check = json_pack("{s:o, s:o, s:o, s:o}", "status",
                              srm_rpc_col_text(st, 3), "checked_at",
                              srm_rpc_col_int(st, 4), "verified_at",
                              srm_rpc_col_int(st, 5), "error",
                              srm_rpc_col_text(st, 6));
        json_array_append_new(
            a, json_pack("{s:o, s:o, s:o, s:o}", "label",
                         srm_rpc_col_text(st, 0), "url",
                         srm_rpc_col_text(st, 1), "verified_at",
                         srm_rpc_col_int(st, 2), "srmd_check", check));
    }
    srm_db_stmt_done(st);
    return a;
}

/* One timeline row (SRM_SQL_PEOPLE_TIMELINE's columns). */
static json_t *rp_timeline_row(sqlite3_stmt *st)
{
    const char *kind = (const char *)sqlite3_column_text(st, 0);
    json_t *ev = json_pack("{s:s, s:o, s:o, s:o, s:o, s:o}", "type", kind,
                           "id", srm_rpc_col_int(st, 1), "at",
                           srm_rpc_col_int(st, 2), "network",
                           srm_rpc_col_text(st, 3), "text",
                           srm_rpc_col_text(st, 4), "member",
                           srm_rpc_col_text(st, 5));

    if (strcmp(kind, "mention") == 0) {
        json_object_set_new(ev, "url", srm_rpc_col_text(st, 6));
        json_object_set_new(ev, "status", srm_rpc_col_text(st, 7));
    } else if (strcmp(kind, "interaction") == 0) {
        json_object_set_new(ev, "direction", srm_rpc_col_text(st, 6));
    } else if (strcmp(kind, "outcome") == 0) {
        json_object_set_new(ev, "kind", srm_rpc_col_text(st, 6));
        json_object_set_new(ev, "value",
                            sqlite3_column_type(st, 7) == SQLITE_NULL
                                ? json_null()
                                : json_real(sqlite3_column_double(st, 7)));
    }
    return ev;
}

struct rp_event {
    int64_t at, id;
    json_t *json;
};

/* Newest first, then the higher id: what ORDER BY at DESC, id DESC did. */
static int rp_event_cmp(const void *a, const void *b)
{
    const struct rp_event *x = a, *y = b;

    if (x->at != y->at)
        return x->at > y->at ? -1 : 1;
    return x->id > y->id ? -1 : x->id < y->id;
}

/* Append every row of st (bound, unstepped) to *ev; reset st. */
static int rp_events(struct srm_db *db, sqlite3_stmt *st,
                     struct rp_event **ev, size_t *n, size_t *cap)
{
    int rc;

    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == *cap) {
            *cap = *cap * 2 + 64;
            *ev = srm_xreallocarray(*ev, *cap, sizeof(**ev));
        }
        (*ev)[(*n)++] = (struct rp_event){sqlite3_column_int64(st, 2),
                                          sqlite3_column_int64(st, 1),
                                          rp_timeline_row(st)};
    }
    srm_db_stmt_done(st);
    return rc == SQLITE_DONE ? 0 : srm_db_fail(db, rc, "timeline");
}

/* The newest limit events of person id: each identity's newest mentions
 * (from the index, newest first, cut at limit) merged with the notes,
 * interactions and outcomes. idents: people.show's identity objects. */
static int rp_timeline(struct srm_db *db, int64_t id, json_t *idents,
                       json_int_t limit, json_t **ret)
{
    struct rp_event *ev = NULL;
    size_t n = 0, cap = 0, i;
    sqlite3_stmt *st;
    json_t *it;
    int r = 0;

    *ret = json_array();
    json_array_foreach(idents, i, it) {
        RP_STMT(db, SRM_STMT_PEOPLE_TIMELINE_MENTIONS, st);
        srm_db_bind_int64(st, ":identity",
                          json_integer_value(json_object_get(it, "id")));
        srm_db_bind_int64(st, ":limit", limit);
        if ((r = rp_events(db, st, &ev, &n, &cap)) < 0)
            goto fail;
    }
    RP_STMT(db, SRM_STMT_PEOPLE_TIMELINE, st);
    srm_db_bind_int64(st, ":id", id);
    srm_db_bind_int64(st, ":limit", limit);
    if ((r = rp_events(db, st, &ev, &n, &cap)) < 0)
        goto fail;
    if (n > 1)
        qsort(ev, n, sizeof(*ev), rp_event_cmp);
    for (i = 0; i < n && i < (size_t)limit; i++) {
        json_array_append_new(*ret, ev[i].json);
        ev[i].json = NULL;
    }
fail:
    for (i = 0; i < n; i++)
        json_decref(ev[i].json);
    free(ev);
    return r;
}

static int rp_show_fn(struct srm_db *db, struct srm_rpc_job *job)
{
    json_t *person = NULL, *tags, *idents = NULL, *evidence = NULL;
    json_t *suggestions = NULL, *timeline = NULL, *merges = NULL;
    sqlite3_stmt *st;
    int64_t id;
    int r, rc;

    if ((r = rp_person(db, job, "person", &id)) < 0)
        return r;
    RP_STMT(db, SRM_STMT_PEOPLE_SHOW, st);
    srm_db_bind_int64(st, ":id", id);
    if (sqlite3_step(st) == SQLITE_ROW)
        person = json_pack(
            "{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "id",
            srm_rpc_col_int(st, 0), "display_name", srm_rpc_col_text(st, 1),
            "owner", srm_rpc_col_text(st, 2), "cadence_days",
            srm_rpc_col_int(st, 3), "strength",
            json_real(sqlite3_column_double(st, 4)), "last_interaction_at",
            srm_rpc_col_int(st, 5), "last_mention_at", srm_rpc_col_int(st, 6),
            "created_at", srm_rpc_col_int(st, 7), "updated_at",
            srm_rpc_col_int(st, 8), "due_at", srm_rpc_col_int(st, 9));
    srm_db_stmt_done(st);
    if (person == NULL)
        return srm_rpc_job_fail(job, SRM_RPC_NOT_FOUND, NULL, "no person");

    tags = json_array();
    RP_STMT(db, SRM_STMT_PEOPLE_TAGS, st);
    srm_db_bind_int64(st, ":id", id);
    while (sqlite3_step(st) == SQLITE_ROW)
        json_array_append_new(tags, srm_rpc_col_text(st, 0));
    srm_db_stmt_done(st);
    json_object_set_new(person, "tags", tags);

    idents = json_array();
    RP_STMT(db, SRM_STMT_PEOPLE_IDENTITIES, st);
    srm_db_bind_int64(st, ":id", id);
    while (sqlite3_step(st) == SQLITE_ROW)
        json_array_append_new(
            idents,
            json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o,"
                      " s:o, s:o, s:o}",
                      "id", srm_rpc_col_int(st, 0), "network",
                      srm_rpc_col_text(st, 1), "remote_id",
                      srm_rpc_col_text(st, 2), "handle",
                      srm_rpc_col_text(st, 3), "display_name",
                      srm_rpc_col_text(st, 4), "profile_url",
                      srm_rpc_col_text(st, 5), "bio", srm_rpc_col_text(st, 6),
                      "email", srm_rpc_col_text(st, 7), "followers",
                      srm_rpc_col_int(st, 8), "following",
                      srm_rpc_col_int(st, 9), "posts",
                      srm_rpc_col_int(st, 10), "first_seen_at",
                      srm_rpc_col_int(st, 11), "last_seen_at",
                      srm_rpc_col_int(st, 12)));
    srm_db_stmt_done(st);
    for (size_t i = 0; i < json_array_size(idents); i++) {
        json_t *it = json_array_get(idents, i);
        json_object_set_new(
            it, "links",
            rp_links(db, json_integer_value(json_object_get(it, "id"))));
    }

    evidence = json_array();
    suggestions = json_array();
    RP_STMT(db, SRM_STMT_PEOPLE_EVIDENCE, st);
    srm_db_bind_int64(st, ":id", id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t pa = sqlite3_column_int64(st, 9);
        int64_t pb = sqlite3_column_int64(st, 10);
        json_t *e = json_pack(
            "{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:{s:o, s:o, s:o},"
            " s:{s:o, s:o, s:o}}",
            "id", srm_rpc_col_int(st, 0), "kind", srm_rpc_col_text(st, 3),
            "confidence", json_real(sqlite3_column_double(st, 4)), "detail",
            srm_rpc_col_text(st, 5), "state", srm_rpc_col_text(st, 6),
            "created_at", srm_rpc_col_int(st, 7), "checked_at",
            srm_rpc_col_int(st, 8), "strong",
            json_boolean(sqlite3_column_double(st, 4) >=
                         SRM_PEOPLE_AUTO_MERGE),
            "a", "identity_id", srm_rpc_col_int(st, 1), "person_id",
            srm_rpc_col_int(st, 9), "name", srm_rpc_col_text(st, 11), "b",
            "identity_id", srm_rpc_col_int(st, 2), "person_id",
            srm_rpc_col_int(st, 10), "name", srm_rpc_col_text(st, 12));
        if (pa == pb) {
            json_array_append_new(evidence, e);
        } else {
            json_object_set_new(e, "other_person",
                                json_integer(pa == id ? pb : pa));
            json_array_append_new(suggestions, e);
        }
    }
    srm_db_stmt_done(st);

    if ((r = rp_timeline(db, id, idents, rp_limit(job, 100), &timeline)) <
        0)
        goto fail;

    merges = json_array();
    RP_STMT(db, SRM_STMT_PEOPLE_MERGES_OF, st);
    srm_db_bind_int64(st, ":id", id);
    while (sqlite3_step(st) == SQLITE_ROW)
        json_array_append_new(
            merges, json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "id",
                              srm_rpc_col_int(st, 0), "from",
                              srm_rpc_col_int(st, 1), "into",
                              srm_rpc_col_int(st, 2), "at",
                              srm_rpc_col_int(st, 3), "member",
                              srm_rpc_col_text(st, 4), "reason",
                              srm_rpc_col_text(st, 5), "undone_at",
                              srm_rpc_col_int(st, 6)));
    srm_db_stmt_done(st);

    job->result = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}", "person",
                            person, "identities", idents, "evidence",
                            evidence, "merge_suggestions", suggestions,
                            "timeline", timeline, "merges", merges);
    return 0;
fail:
    json_decref(person);
    json_decref(idents);
    json_decref(evidence);
    json_decref(suggestions);
    json_decref(timeline);
    json_decref(merges);
    return r;
}

static bool rp_person_param(struct srm_rpc_call *call, json_t *params,
                            const char *key)
{
    json_t *p = json_object_get(params, key);

    if (json_is_integer(p) ||
        (json_is_string(p) && json_string_length(p) > 0))
        return true;
    srm_rpc_fail(call, SRM_RPC_INVALID_PARAMS,
                 "invalid params: '%s' must be a person id or an identity "
                 "handle", key);
    return false;
}

static void rp_show(struct srm_rpc_call *call, json_t *params)
{
    if (rp_person_param(call, params, "person"))
        srm_rpc_read(call, params, rp_show_fn, NULL);
}

/* ---- people.merge, people.split ---- */

static int rp_merge_fn(struct srm_db *db, struct srm_rpc_job *job)
{
    int64_t from, into, merge_id;
    char *reason;
    int r;

    if ((r = rp_person(db, job, "person", &from)) < 0 ||
        (r = rp_person(db, job, "into", &into)) < 0)
        return r;
    if (from == into)
        return srm_rpc_job_fail(job, SRM_RPC_INVALID_PARAMS, NULL,
                                "invalid params: both name person %" PRId64,
                                from);
    reason = srm_xasprintf("manual: %s", job->caller.user);
    r = srm_people_merge(db, from, into, job->caller.user, reason, job->now,
                         &merge_id);
    free(reason);
    if (r < 0)
        return r;
    r = rp_audit(db, job, "merge", into,
                 json_pack("{s:I, s:I, s:I}", "from", (json_int_t)from,
                           "into", (json_int_t)into, "merge_id",
                           (json_int_t)merge_id));
    if (r == 0)
        job->result = json_pack("{s:I, s:I, s:I}", "person", (json_int_t)into,
                                "merged", (json_int_t)from, "merge_id",
                                (json_int_t)merge_id);
    return r;
}

static void rp_merge(struct srm_rpc_call *call, json_t *params)
{
    if (rp_person_param(call, params, "person") &&
        rp_person_param(call, params, "into"))
        srm_rpc_write(call, params, rp_merge_fn, NULL, NULL);
}

static int rp_split_fn(struct srm_db *db, struct srm_rpc_job *job)
{
    int64_t iid = 0, person = 0, undone = 0, before = 0;
    bool only = json_is_true(json_object_get(job->params, "only"));
    sqlite3_stmt *st;
    int r;

    if ((r = rp_identity(db, job, &iid)) < 0)
        return r;
    RP_STMT(db, SRM_STMT_PEOPLE_PERSON_OF, st);
    srm_db_bind_int64(st, ":id", iid);
    if ((r = rp_one(db, st, "person of", &before)) < 0)
        return r;
    r = srm_people_split(db, iid, only, job->caller.user, job->now, &person,
                         &undone);
    if (r == -EALREADY)
        return srm_rpc_job_fail(job, SRM_RPC_CONFLICT, NULL,
                                "identity %" PRId64 " is the only one of "
                                "person %" PRId64 ": nothing to split", iid,
                                before);
    if (r < 0)
        return r;
    r = rp_audit(db, job, "split", before,
                 json_pack("{s:I, s:I, s:o}", "identity", (json_int_t)iid,
                           "new_person", (json_int_t)person, "undid_merge",
                           undone ? json_integer(undone) : json_null()));
    if (r == 0)
        job->result = json_pack(
            "{s:I, s:I, s:I, s:o}", "identity", (json_int_t)iid, "person",
            (json_int_t)person, "from", (json_int_t)before, "undid_merge",
            undone ? json_integer(undone) : json_null());
fail:
    return r;
}

static void rp_split(struct srm_rpc_call *call, json_t *params)
{
    json_t *p = json_object_get(params, "identity");
    bool only = false;

    if (!json_is_integer(p) &&
        !(json_is_string(p) && json_string_length(p) > 0)) {
        srm_rpc_fail(call, SRM_RPC_INVALID_PARAMS,
                     "invalid params: 'identity' must be an identity id or "
                     "handle");
        return;
    }
    if (!srm_rpc_param_bool(call, params, "only", false, &only))
        return;
    srm_rpc_write(call, params, rp_split_fn, NULL, NULL);
}

/* ---- people.note, people.tag, people.cadence, people.owner ---- */

static int rp_note_fn(struct srm_db *db, struct srm_rpc_job *job)
{
    const char *text = srm_rpc_job_str(job, "text");
    int64_t id, me, note_id;
    sqlite3_stmt *st;
    int r;

    if ((r = rp_person(db, job, "person", &id)) < 0 ||
        (r = rp_me(db, job, &me)) < 0)
        return r;
    RP_STMT(db, SRM_STMT_PEOPLE_NOTE_ADD, st);
    srm_db_bind_int64(st, ":id", id);
    srm_db_bind_int64(st, ":member_id", me);
    srm_db_bind_text(st, ":text", text);
    srm_db_bind_int64(st, ":now", job->now);
    if ((r = rp_run(db, st, "note")) < 0)
        return r;
    note_id = sqlite3_last_insert_rowid(srm_db_handle(db));
    if ((r = srm_people_reindex(db, id)) < 0 ||
        (r = rp_audit(db, job, "note", id,
                      json_pack("{s:I}", "note_id", (json_int_t)note_id))) <
            0)
        return r;
    job->result = json_pack("{s:{s:I, s:I, s:s, s:s, s:I}}", "note", "id",
                            (json_int_t)note_id, "person_id", (json_int_t)id,
                            "member", job->caller.user, "text", text,
                            "created_at", (json_int_t)job->now);
fail:
    return r;
}

static void rp_note(struct srm_rpc_call *call, json_t *params)
{
    const char *text;

    if (!rp_person_param(call, params, "person") ||
        !srm_rpc_param_str(call, params, "text", true, &text))
        return;
    if (text[0] == '\0') {
        srm_rpc_fail(call, SRM_RPC_INVALID_PARAMS,
                     "invalid params: 'text' is empty");
        return;
    }
    srm_rpc_write(call, params, rp_note_fn, NULL, NULL);
}

static int rp_tags_json(struct srm_db *db, int64_t id, json_t **ret)
{
    sqlite3_stmt *st;
    int r = 0;

    *ret = json_array();
    RP_STMT(db, SRM_STMT_PEOPLE_TAGS, st);
    srm_db_bind_int64(st, ":id", id);
    while (sqlite3_step(st) == SQLITE_ROW)
        json_array_append_new(*ret, srm_rpc_col_text(st, 0));
    srm_db_stmt_done(st);
fail:
    return r;
}

static int rp_tag_fn(struct srm_db *db, struct srm_rpc_job *job)
{
    static const char *const keys[] = {"add", "remove"};
    json_t *tags, *v;
    sqlite3_stmt *st;
    int64_t id;
    size_t i;
    int r;

    if ((r = rp_person(db, job, "person", &id)) < 0)
        return r;
    for (int k = 0; k < 2; k++) {
        RP_STMT(db, k ? SRM_STMT_PEOPLE_TAG_REMOVE : SRM_STMT_PEOPLE_TAG_ADD,
                st);
        json_array_foreach(json_object_get(job->params, keys[k]), i, v) {
            srm_db_bind_int64(st, ":id", id);
            srm_db_bind_text(st, ":tag", json_string_value(v));
            if ((r = rp_run(db, st, "tag")) < 0)
                return r;
        }
    }
    if ((r = srm_people_reindex(db, id)) < 0 ||
        (r = rp_audit(db, job, "tag", id,
                      json_pack("{s:O?, s:O?}", "add",
                                json_object_get(job->params, "add"),
                                "remove",
                                json_object_get(job->params, "remove")))) <
            0 ||
        (r = rp_tags_json(db, id, &tags)) < 0)
        return r;
    job->result = json_pack("{s:I, s:o}", "person", (json_int_t)id, "tags",
                            tags);
fail:
    return r;
}

static bool rp_string_array(struct srm_rpc_call *call, json_t *params,
                            const char *key)
{
    json_t *a = json_object_get(params, key), *v;
    size_t i;

    if (a == NULL || json_is_null(a))
        return true;
    if (!json_is_array(a))
        goto bad;
    json_array_foreach(a, i, v) {
        const char *s = json_string_value(v);
        if (s == NULL || s[0] == '\0' || strlen(s) > 64 ||
            strpbrk(s, ", \t\n") != NULL)
            goto bad;
    }
    return true;
bad:
    srm_rpc_fail(call, SRM_RPC_INVALID_PARAMS,
                 "invalid params: '%s' must be a list of tags (no spaces or "
                 "commas, at most 64 bytes)", key);
    return false;
}

static void rp_tag(struct srm_rpc_call *call, json_t *params)
{
    if (!rp_person_param(call, params, "person") ||
        !rp_string_array(call, params, "add") ||
        !rp_string_array(call, params, "remove"))
        return;
    srm_rpc_write(call, params, rp_tag_fn, NULL, NULL);
}

/* Set the owner from params.owner (a user, or null to clear). */
static int rp_set_owner(struct srm_db *db, struct srm_rpc_job *job,
                        int64_t id)
{
    json_t *o = json_object_get(job->params, "owner");
    sqlite3_stmt *st;
    int64_t owner = 0;
    int r;

    if (o == NULL)
        return 0;
    if (json_is_string(o)) {
        RP_STMT(db, SRM_STMT_PEOPLE_MEMBER_BY_USER, st);
        srm_db_bind_text(st, ":user", json_string_value(o));
        r = rp_one(db, st, "member", &owner);
        if (r < 0)
            return r;
        if (r == 0)
            return srm_rpc_job_fail(job, SRM_RPC_NOT_FOUND, NULL,
                                    "no team member '%s'",
                                    json_string_value(o));
    }
    RP_STMT(db, SRM_STMT_PEOPLE_SET_OWNER, st);
    srm_db_bind_int64_or_null(st, ":owner_id", owner, 0);
    srm_db_bind_int64(st, ":now", job->now);
    srm_db_bind_int64(st, ":id", id);
    r = rp_run(db, st, "owner");
fail:
    return r;
}

static int rp_cadence_fn(struct srm_db *db, struct srm_rpc_job *job)
{
    json_t *c = json_object_get(job->params, "cadence");
    sqlite3_stmt *st;
    int64_t id, days = 0;
    int r;

    if ((r = rp_person(db, job, "person", &id)) < 0)
        return r;
    if (c != NULL) {
        if (json_is_string(c) &&
            srm_people_cadence_parse(json_string_value(c), &days) < 0)
            return srm_rpc_job_fail(job, SRM_RPC_INVALID_PARAMS, NULL,
                                    "invalid params: cadence '%s': expected "
                                    "a period like 30d, 2w, 3mo or 1y",
                                    json_string_value(c));
        if (json_is_integer(c))
            days = json_integer_value(c);
        RP_STMT(db, SRM_STMT_PEOPLE_SET_CADENCE, st);
        srm_db_bind_int64_or_null(st, ":cadence", days, 0);
        srm_db_bind_int64(st, ":now", job->now);
        srm_db_bind_int64(st, ":id", id);
        if ((r = rp_run(db, st, "cadence")) < 0)
            return r;
    }
    if ((r = rp_set_owner(db, job, id)) < 0)
        return r;
    if ((r = rp_audit(db, job, "cadence", id,
                      json_pack("{s:O?, s:O?}", "cadence", c, "owner",
                                json_object_get(job->params, "owner")))) < 0)
        return r;
    return rp_show_fn(db, job);
fail:
    return r;
}

static void rp_cadence(struct srm_rpc_call *call, json_t *params)
{
    json_t *c = json_object_get(params, "cadence");
    json_t *o = json_object_get(params, "owner");

    if (!rp_person_param(call, params, "person"))
        return;
    if (c == NULL && o == NULL) {
        srm_rpc_fail(call, SRM_RPC_INVALID_PARAMS,
                     "invalid params: give 'cadence' (e.g. \"30d\", or null "
                     "to clear) and/or 'owner'");
        return;
    }
    if (c != NULL && !json_is_null(c) && !json_is_string(c) &&
        !(json_is_integer(c) && json_integer_value(c) > 0)) {
        srm_rpc_fail(call, SRM_RPC_INVALID_PARAMS,
                     "invalid params: 'cadence' must be a period like "
                     "\"30d\", a number of days, or null");
        return;
    }
    if (o != NULL && !json_is_null(o) && !json_is_string(o)) {
        srm_rpc_fail(call, SRM_RPC_INVALID_PARAMS,
                     "invalid params: 'owner' must be a user or null");
        return;
    }
    srm_rpc_write(call, params, rp_cadence_fn, NULL, NULL);
}

static void rp_owner(struct srm_rpc_call *call, json_t *params)
{
    json_t *o = json_object_get(params, "owner");

    if (!rp_person_param(call, params, "person"))
        return;
    if (o == NULL || (!json_is_null(o) && !json_is_string(o))) {
        srm_rpc_fail(call, SRM_RPC_INVALID_PARAMS,
                     "invalid params: 'owner' must be a user or null");
        return;
    }
    srm_rpc_write(call, params, rp_cadence_fn, NULL, NULL);
}

/* ---- interactions.log ---- */

static int rp_log_fn(struct srm_db *db, struct srm_rpc_job *job)
{
    const char *via = srm_rpc_job_str(job, "via");
    const char *text = srm_rpc_job_str(job, "text");
    const char *dir = srm_rpc_job_str(job, "direction");
    int64_t at = srm_rpc_job_int(job, "at", job->now);
    int64_t id, me, xid;
    sqlite3_stmt *st;
    int r;

    if ((r = rp_person(db, job, "person", &id)) < 0 ||
        (r = rp_me(db, job, &me)) < 0)
        return r;
    RP_STMT(db, SRM_STMT_PEOPLE_LOG_INTERACTION, st);
    srm_db_bind_int64(st, ":id", id);
    srm_db_bind_int64(st, ":member_id", me);
    srm_db_bind_text(st, ":network", via);
    srm_db_bind_text(st, ":direction", dir ? dir : "out");
    srm_db_bind_int64(st, ":at", at);
    srm_db_bind_text(st, ":summary", text);
    if ((r = rp_run(db, st, "interaction")) < 0)
        return r;
    xid = sqlite3_last_insert_rowid(srm_db_handle(db));
    RP_STMT(db, SRM_STMT_PEOPLE_TOUCH, st);
    srm_db_bind_int64(st, ":at", at);
    srm_db_bind_int64(st, ":id", id);
    if ((r = rp_run(db, st, "touch")) < 0 ||
        (r = rp_audit(db, job, "interaction", id,
                      json_pack("{s:I, s:s}", "interaction_id",
                                (json_int_t)xid, "via", via))) < 0)
        return r;
    job->result = json_pack("{s:{s:I, s:I, s:s, s:s, s:s, s:I, s:s}}",
                            "interaction", "id", (json_int_t)xid,
                            "person_id", (json_int_t)id, "member",
                            job->caller.user, "network", via, "direction",
                            dir ? dir : "out", "at", (json_int_t)at,
                            "summary", text);
fail:
    return r;
}

static void rp_log(struct srm_rpc_call *call, json_t *params)
{
    const char *via, *text, *dir = NULL;
    json_int_t at;

    if (!rp_person_param(call, params, "person") ||
        !srm_rpc_param_str(call, params, "via", true, &via) ||
        !srm_rpc_param_str(call, params, "text", true, &text) ||
        !srm_rpc_param_str(call, params, "direction", false, &dir) ||
        !srm_rpc_param_int(call, params, "at", false, &at))
        return;
    if (dir != NULL && strcmp(dir, "in") != 0 && strcmp(dir, "out") != 0) {
        srm_rpc_fail(call, SRM_RPC_INVALID_PARAMS,
                     "invalid params: 'direction' is 'in' or 'out'");
        return;
    }
    if (via[0] == '\0') {
        srm_rpc_fail(call, SRM_RPC_INVALID_PARAMS,
                     "invalid params: 'via' names a network");
        return;
    }
    srm_rpc_write(call, params, rp_log_fn, NULL, NULL);
}

/* ---- people.suggest ---- */

/* The page is chosen without reading every candidate: people are read in
 * descending recency_sum and, in turn, in descending followers_max (both
 * indexed, both kept on the person row, db_sql_people.h). Someone not yet
 * read from either list scores at most 3 * (the recency last read) +
 * (the reach last read) + 2 (unanswered) + 1 (quiet): once that is below
 * the page's last score, nobody unread can enter the page (the threshold
 * algorithm of Fagin, Lotem and Naor). Busy teams stop after a few dozen
 * people; the reach list keeps a crowd of one-off authors with equal
 * recency from being read in full. */
struct rp_cand {
    int64_t person;
    double score;
    struct srm_score_in in;
    char *name, *owner, *identity;
};

struct rp_seen {
    int64_t *slot; /* 0 = empty; person ids are > 0 */
    size_t cap, n;
};

/* Add id; false when it was there already. */
static bool rp_seen_add(struct rp_seen *s, int64_t id)
{
    size_t i;

    if (2 * (s->n + 1) > s->cap) {
        struct rp_seen bigger = {NULL, s->cap ? 2 * s->cap : 256, 0};
        bigger.slot = srm_xcalloc(bigger.cap, sizeof(*bigger.slot));
        for (size_t k = 0; k < s->cap; k++)
            if (s->slot[k] != 0)
                rp_seen_add(&bigger, s->slot[k]);
        free(s->slot);
        *s = bigger;
    }
    i = ((uint64_t)id * 0x9E3779B97F4A7C15ull) & (s->cap - 1);
    while (s->slot[i] != 0) {
        if (s->slot[i] == id)
            return false;
        i = (i + 1) & (s->cap - 1);
    }
    s->slot[i] = id;
    s->n++;
    return true;
}

static bool rp_cand_better(const struct rp_cand *x, const struct rp_cand *y)
{
    return x->score > y->score ||
           (x->score == y->score && x->person < y->person);
}

static void rp_cand_fini(struct rp_cand *c)
{
    free(c->name);
    free(c->owner);
    free(c->identity);
}

/* Score person id (its facts) and keep it when it makes the page. */
static int rp_suggest_eval(struct srm_db *db, struct srm_rpc_job *job,
                           int64_t id, int64_t since, struct rp_cand *top,
                           size_t *n_top, size_t limit)
{
    struct rp_cand c = {.person = id};
    struct srm_score_out out;
    sqlite3_stmt *st;
    size_t pos;
    int r = 0, rc;

    RP_STMT(db, SRM_STMT_PEOPLE_SUGGEST_FACTS, st);
    srm_db_bind_int64(st, ":id", id);
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        srm_db_stmt_done(st);
        return rc == SQLITE_DONE ? 0 : srm_db_fail(db, rc, "suggest");
    }
    /* A candidate mentioned the team within the window. */
    if (sqlite3_column_type(st, 6) == SQLITE_NULL ||
        sqlite3_column_int64(st, 7) < since) {
        srm_db_stmt_done(st);
        return 0;
    }
    c.in = (struct srm_score_in){
        .now = job->now,
        .recency_sum = sqlite3_column_double(st, 6),
        .followers = sqlite3_column_type(st, 1) == SQLITE_NULL
                         ? -1
                         : sqlite3_column_int64(st, 1),
        .answered = sqlite3_column_int(st, 2) != 0,
        .last_interaction_at = sqlite3_column_int64(st, 3)};
    srm_people_score(&c.in, &out);
    c.score = out.score;
    if (*n_top == limit && !rp_cand_better(&c, &top[limit - 1])) {
        srm_db_stmt_done(st);
        return 0;
    }
    c.name = srm_xstrdup_or_null((const char *)sqlite3_column_text(st, 0));
    c.owner = srm_xstrdup_or_null((const char *)sqlite3_column_text(st, 4));
    c.identity =
        srm_xstrdup_or_null((const char *)sqlite3_column_text(st, 5));
    srm_db_stmt_done(st);
    if (*n_top == limit)
        rp_cand_fini(&top[--*n_top]);
    for (pos = *n_top; pos > 0 && rp_cand_better(&c, &top[pos - 1]); pos--)
        ;
    memmove(&top[pos + 1], &top[pos], (*n_top - pos) * sizeof(*top));
    top[pos] = c;
    ++*n_top;
fail:
    return r;
}

/* The window's counts and the reasons of one chosen person. */
static int rp_suggest_item(struct srm_db *db, struct srm_rpc_job *job,
                           struct rp_cand *c, json_t **ret)
{
    struct srm_score_out out;
    char reasons[4][160];
    json_t *jr;
    sqlite3_stmt *st;
    size_t nr;
    int r = 0, rc;

    RP_STMT(db, SRM_STMT_PEOPLE_SUGGEST_COUNTS, st);
    srm_db_bind_int64(st, ":id", c->person);
    srm_db_bind_int64(st, ":since",
                      job->now - (int64_t)SRM_SCORE_WINDOW_DAYS * 86400);
    srm_db_bind_int64(st, ":since30", job->now - 30 * 86400);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        c->in.mentions = sqlite3_column_int(st, 0);
        c->in.mentions_30d = sqlite3_column_int(st, 1);
        c->in.last_mention_at = sqlite3_column_int64(st, 2);
    }
    srm_db_stmt_done(st);
    if (rc != SQLITE_ROW)
        return srm_db_fail(db, rc, "suggest counts");
    srm_people_score(&c->in, &out);
    nr = srm_people_score_reasons(&c->in, &out, reasons, 4);
    jr = json_array();
    for (size_t k = 0; k < nr; k++)
        json_array_append_new(jr, json_string(reasons[k]));
    *ret = json_pack(
        "{s:I, s:s?, s:s?, s:s?, s:f, s:o, s:{s:f, s:f, s:f, s:f, s:i,"
        " s:i}}",
        "person", (json_int_t)c->person, "display_name", c->name, "owner",
        c->owner, "identity", c->identity, "score",
        round(out.score * 1000) / 1000, "reasons", jr, "factors", "recency",
        round(out.recency * 1000) / 1000, "reach",
        round(out.reach * 1000) / 1000, "unanswered", out.unanswered,
        "quiet", round(out.quiet * 1000) / 1000, "mentions", out.mentions,
        "mentions_30d", out.mentions_30d);
fail:
    return r;
}

static int rp_suggest_fn(struct srm_db *db, struct srm_rpc_job *job)
{
    size_t limit = (size_t)rp_limit(job, 20), n_top = 0;
    int64_t since = job->now - (int64_t)SRM_SCORE_WINDOW_DAYS * 86400;
    double decay = srm_people_recency(1.0, job->now);
    double recency_c = 0, reach_c = INFINITY;
    struct rp_cand *top = srm_xcalloc(limit + 1, sizeof(*top));
    struct rp_seen seen = {0};
    sqlite3_stmt *by_recency = NULL, *by_reach = NULL;
    bool reach_done = false;
    json_t *items = json_array(), *it;
    int r = 0, rc;

    RP_STMT(db, SRM_STMT_PEOPLE_BY_RECENCY, by_recency);
    RP_STMT(db, SRM_STMT_PEOPLE_BY_REACH, by_reach);
    for (;;) {
        int64_t id;

        rc = sqlite3_step(by_recency);
        if (rc == SQLITE_DONE)
            break; /* nobody unread has a mention: no candidate left */
        if (rc != SQLITE_ROW) {
            r = srm_db_fail(db, rc, "suggest");
            goto fail;
        }
        id = sqlite3_column_int64(by_recency, 0);
        recency_c = sqlite3_column_double(by_recency, 1) * decay;
        if (rp_seen_add(&seen, id) &&
            (r = rp_suggest_eval(db, job, id, since, top, &n_top, limit)) <
                0)
            goto fail;
        if (!reach_done) {
            rc = sqlite3_step(by_reach);
            if (rc == SQLITE_ROW) {
                int64_t f = sqlite3_column_int64(by_reach, 1);
                id = sqlite3_column_int64(by_reach, 0);
                reach_c = f > 0 ? log10(1.0 + (double)f) : 0;
                if (rp_seen_add(&seen, id) &&
                    (r = rp_suggest_eval(db, job, id, since, top, &n_top,
                                         limit)) < 0)
                    goto fail;
            } else if (rc == SQLITE_DONE) {
                reach_done = true;
                reach_c = 0; /* the rest have no known audience */
            } else {
                r = srm_db_fail(db, rc, "suggest");
                goto fail;
            }
        }
        if (n_top == limit &&
            SRM_SCORE_W_RECENCY * recency_c + SRM_SCORE_W_REACH * reach_c +
                    SRM_SCORE_W_UNANSWERED + SRM_SCORE_W_QUIET <
                top[limit - 1].score)
            break;
    }
    srm_db_stmt_done(by_recency);
    srm_db_stmt_done(by_reach);
    by_recency = by_reach = NULL;
    for (size_t i = 0; i < n_top; i++) {
        if ((r = rp_suggest_item(db, job, &top[i], &it)) < 0)
            goto fail;
        json_array_append_new(items, it);
    }
    job->result = json_pack("{s:O, s:s}", "people", items, "formula",
                            "3*recency + log10(1+followers) + 2*unanswered"
                            " + quiet");
fail:
    if (by_recency != NULL)
        srm_db_stmt_done(by_recency);
    if (by_reach != NULL)
        srm_db_stmt_done(by_reach);
    for (size_t i = 0; i < n_top; i++)
        rp_cand_fini(&top[i]);
    free(top);
    free(seen.slot);
    json_decref(items);
    return r;
}

static void rp_suggest(struct srm_rpc_call *call, json_t *params)
{
    json_int_t limit;

    if (srm_rpc_param_int(call, params, "limit", false, &limit))
        srm_rpc_read(call, params, rp_suggest_fn, NULL);
}

/* ---- people.due, people.rebalance ---- */

static int rp_load(struct srm_db *db, struct srm_rpc_job *job,
                   json_int_t cap, json_t **ret)
{
    sqlite3_stmt *st;
    int r = 0, rc;

    *ret = json_array();
    RP_STMT(db, SRM_STMT_PEOPLE_LOAD, st);
    srm_db_bind_int64(st, ":since", job->now - 365 * 86400);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t active = sqlite3_column_int64(st, 2);
        json_array_append_new(
            *ret, json_pack("{s:I, s:o, s:I, s:b}", "member_id",
                            (json_int_t)sqlite3_column_int64(st, 0), "user",
                            srm_rpc_col_text(st, 1), "active",
                            (json_int_t)active, "stretched", active > cap));
    }
    srm_db_stmt_done(st);
    if (rc != SQLITE_DONE)
        r = srm_db_fail(db, rc, "load");
fail:
    return r;
}

static int rp_due_fn(struct srm_db *db, struct srm_rpc_job *job)
{
    json_int_t cap = srm_rpc_job_int(job, "dunbar", SRM_DUNBAR);
    json_t *items = json_array(), *members;
    sqlite3_stmt *st;
    int r = 0, rc;

    RP_STMT(db, SRM_STMT_PEOPLE_DUE, st);
    srm_db_bind_int64(st, ":now", job->now);
    srm_db_bind_text(st, ":owner", srm_rpc_job_str(job, "owner"));
    srm_db_bind_int64(st, ":limit", rp_limit(job, 50));
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t due = srm_people_due_at(sqlite3_column_int64(st, 3),
                                        sqlite3_column_int64(st, 4),
                                        sqlite3_column_int64(st, 2));
        json_array_append_new(
            items, json_pack("{s:o, s:o, s:o, s:o, s:o, s:I, s:I}", "person",
                             srm_rpc_col_int(st, 0), "display_name",
                             srm_rpc_col_text(st, 1), "cadence_days",
                             srm_rpc_col_int(st, 2), "last_interaction_at",
                             srm_rpc_col_int(st, 3), "owner",
                             srm_rpc_col_text(st, 5), "due_at",
                             (json_int_t)due, "overdue_days",
                             (json_int_t)((job->now - due) / 86400)));
    }
    srm_db_stmt_done(st);
    if (rc != SQLITE_DONE) {
        r = srm_db_fail(db, rc, "due");
        goto fail;
    }
    if ((r = rp_load(db, job, cap, &members)) < 0)
        goto fail;
    job->result = json_pack("{s:O, s:o, s:I}", "due", items, "members",
                            members, "dunbar", cap);
fail:
    json_decref(items);
    return r;
}

static void rp_due(struct srm_rpc_call *call, json_t *params)
{
    json_int_t v;
    const char *s;

    if (srm_rpc_param_int(call, params, "limit", false, &v) &&
        srm_rpc_param_int(call, params, "dunbar", false, &v) &&
        srm_rpc_param_str(call, params, "owner", false, &s))
        srm_rpc_read(call, params, rp_due_fn, NULL);
}

static int rp_rebalance_fn(struct srm_db *db, struct srm_rpc_job *job)
{
    json_int_t cap = srm_rpc_job_int(job, "dunbar", SRM_DUNBAR);
    bool apply = json_is_true(json_object_get(job->params, "apply"));
    json_t *members = NULL, *moves = json_array();
    struct srm_people_move *plan = NULL;
    int64_t *loads = NULL;
    size_t n, n_plan;
    sqlite3_stmt *st;
    int r;

    if ((r = rp_load(db, job, cap, &members)) < 0)
        goto fail;
    n = json_array_size(members);
    loads = srm_xcalloc(n + 1, sizeof(*loads));
    plan = srm_xcalloc(n * n + 1, sizeof(*plan));
    for (size_t i = 0; i < n; i++)
        loads[i] = json_integer_value(
            json_object_get(json_array_get(members, i), "active"));
    n_plan = srm_people_rebalance(loads, n, cap, plan, n * n);
    for (size_t k = 0; k < n_plan; k++) {
        json_t *from = json_array_get(members, plan[k].from);
        json_t *to = json_array_get(members, plan[k].to);
        int64_t to_id = json_integer_value(json_object_get(to, "member_id"));
        json_t *people = json_array();
        int rc;

        RP_STMT(db, SRM_STMT_PEOPLE_OWNED, st);
        srm_db_bind_int64(st, ":owner_id",
                          json_integer_value(
                              json_object_get(from, "member_id")));
        srm_db_bind_int64(st, ":since", job->now - 365 * 86400);
        srm_db_bind_int64(st, ":limit", plan[k].count);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW)
            json_array_append_new(
                people, json_pack("{s:o, s:o}", "person",
                                  srm_rpc_col_int(st, 0), "display_name",
                                  srm_rpc_col_text(st, 1)));
        srm_db_stmt_done(st);
        if (apply) {
            size_t i;
            json_t *p;
            RP_STMT(db, SRM_STMT_PEOPLE_SET_OWNER, st);
            json_array_foreach(people, i, p) {
                srm_db_bind_int64(st, ":owner_id", to_id);
                srm_db_bind_int64(st, ":now", job->now);
                srm_db_bind_int64(st, ":id", json_integer_value(
                                                 json_object_get(p, "person")));
                if ((r = rp_run(db, st, "owner")) < 0) {
                    json_decref(people);
                    goto fail;
                }
            }
        }
        json_array_append_new(
            moves, json_pack("{s:O, s:O, s:I, s:o}", "from",
                             json_object_get(from, "user"), "to",
                             json_object_get(to, "user"), "count",
                             (json_int_t)plan[k].count, "people", people));
    }
    if (apply && n_plan > 0 &&
        (r = srm_inbox_audit(db, job->now, job->caller.user, "rebalance",
                             NULL, 0, moves)) < 0)
        goto fail;
    job->result = json_pack("{s:O, s:O, s:b, s:I}", "members", members,
                            "moves", moves, "applied", apply, "dunbar", cap);
fail:
    json_decref(members);
    json_decref(moves);
    free(loads);
    free(plan);
    return r;
}

static void rp_rebalance(struct srm_rpc_call *call, json_t *params)
{
    json_int_t v;
    bool apply = false;

    if (srm_rpc_param_int(call, params, "dunbar", false, &v) &&
        srm_rpc_param_bool(call, params, "apply", false, &apply))
        srm_rpc_write(call, params, rp_rebalance_fn, NULL, NULL);
}

/* ---- people.duplicates, people.resolve, people.verify ---- */

static int rp_duplicates_fn(struct srm_db *db, struct srm_rpc_job *job)
{
    json_t *items = json_array();
    sqlite3_stmt *st;
    int r = 0, rc;

    RP_STMT(db, SRM_STMT_PEOPLE_DUPLICATES, st);
    srm_db_bind_int64(st, ":limit", rp_limit(job, 50));
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(
            items,
            json_pack("{s:o, s:f, s:o, s:{s:o, s:o, s:o}, s:{s:o, s:o, s:o}}",
                      "kind", srm_rpc_col_text(st, 0), "confidence",
                      sqlite3_column_double(st, 1), "detail",
                      srm_rpc_col_text(st, 2), "a", "person",
                      srm_rpc_col_int(st, 3), "display_name",
                      srm_rpc_col_text(st, 5), "identity",
                      srm_rpc_col_text(st, 7), "b", "person",
                      srm_rpc_col_int(st, 4), "display_name",
                      srm_rpc_col_text(st, 6), "identity",
                      srm_rpc_col_text(st, 8)));
    srm_db_stmt_done(st);
    if (rc != SQLITE_DONE) {
        json_decref(items);
        return srm_db_fail(db, rc, "duplicates");
    }
    job->result = json_pack("{s:o}", "suggestions", items);
fail:
    return r;
}

static void rp_duplicates(struct srm_rpc_call *call, json_t *params)
{
    json_int_t v;

    if (srm_rpc_param_int(call, params, "limit", false, &v))
        srm_rpc_read(call, params, rp_duplicates_fn, NULL);
}

static int rp_resolve_fn(struct srm_db *db, struct srm_rpc_job *job)
{
    struct srm_people_stats s = {0};
    int r = srm_people_rank_catch_up(db, NULL);

    if (r == 0)
        r = srm_people_resolve_all(db, job->now, &s);
    if (r == 0) /* srmd.yaml's links, over rows written behind srmd's back */
        r = srm_people_links_reapply(db, job->now, &s);
    if (r == 0)
        r = srm_people_reindex_all(db);
    if (r == 0)
        job->result = json_pack("{s:i, s:i, s:i}", "evidence", s.evidence,
                                "merged", s.merged, "blocked", s.blocked);
    return r;
}

static void rp_resolve(struct srm_rpc_call *call, json_t *params)
{
    srm_rpc_write(call, params, rp_resolve_fn, NULL, NULL);
}

static void rp_verify(struct srm_rpc_call *call, json_t *params)
{
    int r;

    (void)params;
    r = srm_verify_now();
    srm_rpc_reply(call, json_pack("{s:b, s:s?}", "started", r == 0, "reason",
                                  r == -EBUSY ? "a round is running"
                                  : r < 0     ? "the verifier is not running"
                                              : NULL));
}

/* ---- export ---- */

struct rp_buf {
    char *s;
    size_t n, cap;
};

static void rp_put(struct rp_buf *b, const char *s)
{
    size_t l = strlen(s);

    if (b->n + l + 1 > b->cap) {
        b->cap = (b->n + l + 1) * 2;
        b->s = srm_xrealloc(b->s, b->cap);
    }
    memcpy(b->s + b->n, s, l + 1);
    b->n += l;
}

static void rp_putf(struct rp_buf *b, const char *fmt, const char *v)
{
    char *line;

    if (v == NULL || v[0] == '\0')
        return;
    line = srm_xasprintf(fmt, v);
    rp_put(b, line);
    free(line);
}

static void rp_vcard(struct rp_buf *b, sqlite3_stmt *st)
{
    const char *name = (const char *)sqlite3_column_text(st, 1);
    const char *tags = (const char *)sqlite3_column_text(st, 4);
    json_t *notes = json_loads((const char *)sqlite3_column_text(st, 5), 0,
                               NULL);
    json_t *ids = json_loads((const char *)sqlite3_column_text(st, 6), 0,
                             NULL);
    char uid[64], *e;
    json_t *v;
    size_t i;

    rp_put(b, "BEGIN:VCARD\r\nVERSION:4.0\r\n");
    snprintf(uid, sizeof(uid), "UID:urn:srmd:person:%lld\r\n",
             (long long)sqlite3_column_int64(st, 0));
    rp_put(b, uid);
    e = srm_vcard_escape(name ? name : "");
    rp_putf(b, "FN:%s\r\n", e[0] ? e : "-");
    free(e);
    json_array_foreach(ids, i, v) {
        const char *net = json_string_value(json_object_get(v, "network"));
        const char *rid = json_string_value(json_object_get(v, "remote_id"));
        const char *h = json_string_value(json_object_get(v, "handle"));
        const char *url = json_string_value(json_object_get(v, "profile_url"));
        const char *em = json_string_value(json_object_get(v, "email"));
        char *line = srm_xasprintf("X-SRMD-IDENTITY:%s:%s\r\n", net, rid);
        rp_put(b, line);
        free(line);
        if (h != NULL && strcmp(net, "email") != 0) {
            line = srm_xasprintf("IMPP;X-SERVICE-TYPE=%s:%s:%s\r\n", net,
                                 net, h);
            rp_put(b, line);
            free(line);
        }
        if (url != NULL) {
            line = srm_xasprintf("URL;TYPE=%s:%s\r\n", net, url);
            rp_put(b, line);
            free(line);
        }
        rp_putf(b, "EMAIL:%s\r\n", em);
    }
    if (tags != NULL) {
        e = srm_xstrdup(tags); /* tags hold no commas or spaces */
        rp_putf(b, "CATEGORIES:%s\r\n", e);
        free(e);
    }
    {
        /* One NOTE (vCard readers keep one): every note, one per line. */
        struct rp_buf all = {0};
        rp_put(&all, "");
        json_array_foreach(notes, i, v) {
            rp_put(&all, all.n ? "\n" : "");
            rp_put(&all, json_string_value(v));
        }
        e = srm_vcard_escape(all.s);
        rp_putf(b, "NOTE:%s\r\n", e);
        free(e);
        free(all.s);
    }
    rp_put(b, "END:VCARD\r\n");
    json_decref(notes);
    json_decref(ids);
}

static void rp_csv_cell(struct rp_buf *b, const char *s, bool last)
{
    char *q = srm_csv_quote(s);

    rp_put(b, q);
    rp_put(b, last ? "\r\n" : ",");
    free(q);
}

static void rp_csv_person(struct rp_buf *b, sqlite3_stmt *st)
{
    json_t *ids = json_loads((const char *)sqlite3_column_text(st, 6), 0,
                             NULL);
    json_t *notes = json_loads((const char *)sqlite3_column_text(st, 5), 0,
                               NULL);
    struct rp_buf em = {0}, url = {0}, key = {0}, nt = {0};
    char id[32], cad[32];
    json_t *v;
    size_t i;

    rp_put(&em, "");
    rp_put(&url, "");
    rp_put(&key, "");
    rp_put(&nt, "");
    json_array_foreach(ids, i, v) {
        const char *s = json_string_value(json_object_get(v, "email"));
        char *k;
        if (s) {
            rp_put(&em, em.n ? " " : "");
            rp_put(&em, s);
        }
        s = json_string_value(json_object_get(v, "profile_url"));
        if (s) {
            rp_put(&url, url.n ? " " : "");
            rp_put(&url, s);
        }
        k = srm_xasprintf(
            "%s%s:%s", key.n ? " " : "",
            json_string_value(json_object_get(v, "network")),
            json_string_value(json_object_get(v, "remote_id")));
        rp_put(&key, k);
        free(k);
    }
    json_array_foreach(notes, i, v) {
        rp_put(&nt, nt.n ? "\n" : "");
        rp_put(&nt, json_string_value(v));
    }
    snprintf(id, sizeof(id), "%lld", (long long)sqlite3_column_int64(st, 0));
    snprintf(cad, sizeof(cad), "%lld", (long long)sqlite3_column_int64(st, 3));
    rp_csv_cell(b, id, false);
    rp_csv_cell(b, (const char *)sqlite3_column_text(st, 1), false);
    rp_csv_cell(b, em.s, false);
    rp_csv_cell(b, url.s, false);
    rp_csv_cell(b, key.s, false);
    rp_csv_cell(b, (const char *)sqlite3_column_text(st, 4), false);
    rp_csv_cell(b, (const char *)sqlite3_column_text(st, 2), false);
    rp_csv_cell(b, sqlite3_column_type(st, 3) == SQLITE_NULL ? "" : cad,
                false);
    rp_csv_cell(b, nt.s, true);
    free(em.s);
    free(url.s);
    free(key.s);
    free(nt.s);
    json_decref(ids);
    json_decref(notes);
}

static int rp_export_fn(struct srm_db *db, struct srm_rpc_job *job)
{
    const char *format = srm_rpc_job_str(job, "format");
    bool mentions = json_is_true(json_object_get(job->params, "mentions"));
    struct rp_buf b = {0};
    sqlite3_stmt *st;
    size_t count = 0;
    int r = 0, rc;

    rp_put(&b, "");
    if (mentions) {
        RP_STMT(db, SRM_STMT_PEOPLE_EXPORT_MENTIONS, st);
        if (strcmp(format, "csv") == 0)
            rp_put(&b, "id,network,remote_id,person,author,text,url,"
                       "created_at,status\r\n");
    } else {
        RP_STMT(db, SRM_STMT_PEOPLE_EXPORT, st);
        if (strcmp(format, "csv") == 0)
            rp_put(&b, "id,name,email,url,identity,tags,owner,cadence_days,"
                       "notes\r\n");
    }
    srm_db_bind_int64(st, ":after", 0);
    srm_db_bind_int64(st, ":limit", -1);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        count++;
        if (mentions && strcmp(format, "ndjson") == 0) {
            json_t *o = json_pack(
                "{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "id",
                srm_rpc_col_int(st, 0), "network", srm_rpc_col_text(st, 1),
                "remote_id", srm_rpc_col_text(st, 2), "person",
                srm_rpc_col_int(st, 3), "author", srm_rpc_col_text(st, 4),
                "text", srm_rpc_col_text(st, 5), "url",
                srm_rpc_col_text(st, 6), "created_at",
                srm_rpc_col_int(st, 7), "status", srm_rpc_col_text(st, 8));
            char *line = json_dumps(o, JSON_COMPACT);
            rp_put(&b, line);
            rp_put(&b, "\n");
            free(line);
            json_decref(o);
        } else if (mentions) {
            for (int i = 0; i < 9; i++)
                rp_csv_cell(&b, (const char *)sqlite3_column_text(st, i),
                            i == 8);
        } else if (strcmp(format, "vcard") == 0) {
            rp_vcard(&b, st);
        } else if (strcmp(format, "csv") == 0) {
            rp_csv_person(&b, st);
        } else {
            json_t *o = json_pack(
                "{s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "id",
                srm_rpc_col_int(st, 0), "display_name",
                srm_rpc_col_text(st, 1), "owner", srm_rpc_col_text(st, 2),
                "cadence_days", srm_rpc_col_int(st, 3), "tags",
                srm_rpc_col_text(st, 4), "notes",
                json_loads((const char *)sqlite3_column_text(st, 5), 0, NULL),
                "identities",
                json_loads((const char *)sqlite3_column_text(st, 6), 0,
                           NULL));
            char *line = json_dumps(o, JSON_COMPACT);
            rp_put(&b, line);
            rp_put(&b, "\n");
            free(line);
            json_decref(o);
        }
    }
    srm_db_stmt_done(st);
    if (rc != SQLITE_DONE) {
        r = srm_db_fail(db, rc, "export");
        goto fail;
    }
    job->result = json_pack("{s:s, s:s, s:I, s:s}", "format", format, "of",
                            mentions ? "mentions" : "people", "count",
                            (json_int_t)count,
                            "data", b.s);
fail:
    free(b.s);
    return r;
}

static void rp_export(struct srm_rpc_call *call, json_t *params)
{
    const char *format;
    bool mentions = false;

    if (!srm_rpc_param_str(call, params, "format", true, &format) ||
        !srm_rpc_param_bool(call, params, "mentions", false, &mentions))
        return;
    if (strcmp(format, "vcard") != 0 && strcmp(format, "csv") != 0 &&
        strcmp(format, "ndjson") != 0) {
        srm_rpc_fail(call, SRM_RPC_INVALID_PARAMS,
                     "invalid params: format is vcard, csv or ndjson");
        return;
    }
    if (mentions && strcmp(format, "vcard") == 0) {
        srm_rpc_fail(call, SRM_RPC_INVALID_PARAMS,
                     "invalid params: mentions export as csv or ndjson");
        return;
    }
    srm_rpc_read(call, params, rp_export_fn, NULL);
}

/* ---- import ---- */

static int rp_match(struct srm_db *db, const struct srm_contact_rec *c,
                    int64_t *ret)
{
    sqlite3_stmt *st;
    int r = 0;

    for (size_t i = 0; i < c->n_keys; i++) {
        char *net = srm_xstrdup(c->keys[i]), *colon = strchr(net, ':');
        *colon = '\0';
        RP_STMT(db, SRM_STMT_PEOPLE_BY_KEY, st);
        srm_db_bind_text(st, ":network", net);
        srm_db_bind_text(st, ":remote_id", colon + 1);
        r = rp_one(db, st, "match key", ret);
        free(net);
        if (r != 0)
            return r;
    }
    for (size_t i = 0; i < c->n_emails; i++) {
        RP_STMT(db, SRM_STMT_PEOPLE_BY_EMAIL, st);
        srm_db_bind_text(st, ":email", c->emails[i]);
        if ((r = rp_one(db, st, "match email", ret)) != 0)
            return r;
    }
    for (size_t i = 0; i < c->n_urls; i++) {
        RP_STMT(db, SRM_STMT_PEOPLE_BY_URL, st);
        srm_db_bind_text(st, ":url", c->urls[i]);
        if ((r = rp_one(db, st, "match url", ret)) != 0)
            return r;
    }
fail:
    return r;
}

static int rp_identity_add(struct srm_db *db, int64_t person,
                           const char *network, const char *remote_id,
                           const char *handle, const char *name,
                           const char *url, const char *email, int64_t now,
                           int64_t *ret_id)
{
    sqlite3_stmt *st;
    int r;

    *ret_id = 0;
    RP_STMT(db, SRM_STMT_PEOPLE_IDENTITY_ADD, st);
    srm_db_bind_int64(st, ":person_id", person);
    srm_db_bind_text(st, ":network", network);
    srm_db_bind_text(st, ":remote_id", remote_id);
    srm_db_bind_text(st, ":handle", handle);
    srm_db_bind_text(st, ":name", name);
    srm_db_bind_text(st, ":url", url);
    srm_db_bind_text(st, ":email", email);
    srm_db_bind_int64(st, ":now", now);
    if ((r = rp_run(db, st, "identity add")) < 0)
        goto fail;
    if (sqlite3_changes(srm_db_handle(db)) > 0)
        *ret_id = sqlite3_last_insert_rowid(srm_db_handle(db));
fail:
    return r;
}

static int rp_create(struct srm_db *db, struct srm_rpc_job *job,
                     const struct srm_contact_rec *c, int64_t *ret)
{
    int64_t first = 0, iid = 0;
    sqlite3_stmt *st;
    int r;

    RP_STMT(db, SRM_STMT_PEOPLE_NEW, st);
    srm_db_bind_text(st, ":name", c->name);
    srm_db_bind_int64(st, ":now", job->now);
    if ((r = rp_run(db, st, "person")) < 0)
        goto fail;
    *ret = sqlite3_last_insert_rowid(srm_db_handle(db));
    for (size_t i = 0; i < c->n_keys; i++) {
        char *net = srm_xstrdup(c->keys[i]), *colon = strchr(net, ':');
        *colon = '\0';
        r = rp_identity_add(db, *ret, net, colon + 1, colon + 1, c->name,
                            NULL, NULL, job->now, &iid);
        free(net);
        if (r < 0)
            goto fail;
        first = first ? first : iid;
    }
    for (size_t i = 0; c->n_keys == 0 && i < c->n_impps; i++) {
        char *net = srm_xstrdup(c->impps[i]), *colon = strchr(net, ':');
        *colon = '\0';
        r = rp_identity_add(db, *ret, net, colon + 1, colon + 1, c->name,
                            NULL, NULL, job->now, &iid);
        free(net);
        if (r < 0)
            goto fail;
        first = first ? first : iid;
    }
    for (size_t i = 0; i < c->n_emails; i++) {
        char *lower = srm_xstrdup(c->emails[i]);
        for (char *p = lower; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
        r = rp_identity_add(db, *ret, "email", lower, c->emails[i], c->name,
                            NULL, c->emails[i], job->now, &iid);
        free(lower);
        if (r < 0)
            goto fail;
        first = first ? first : iid;
    }
    for (size_t i = 0; i < c->n_urls; i++) {
        if (first == 0) {
            r = rp_identity_add(db, *ret, "web", c->urls[i], NULL, c->name,
                                c->urls[i], NULL, job->now, &first);
        } else {
            RP_STMT(db, SRM_STMT_PEOPLE_LINK_ADD, st);
            srm_db_bind_int64(st, ":id", first);
            srm_db_bind_text(st, ":label", "imported");
            srm_db_bind_text(st, ":url", c->urls[i]);
            r = rp_run(db, st, "link");
        }
        if (r < 0)
            goto fail;
    }
fail:
    return r;
}

static int rp_import_fn(struct srm_db *db, struct srm_rpc_job *job)
{
    const char *data = srm_rpc_job_str(job, "data");
    const char *format = srm_rpc_job_str(job, "format");
    struct srm_import imp = {0};
    json_t *errors = json_array(), *people = json_array(), *detail;
    int64_t me, created = 0, matched = 0;
    sqlite3_stmt *st;
    int r;

    if (format == NULL) {
        const char *p = data + strspn(data, " \t\r\n\xEF\xBB\xBF");
        format = strncasecmp(p, "BEGIN:VCARD", 11) == 0 ? "vcard" : "csv";
    }
    if (strcmp(format, "vcard") == 0)
        srm_vcard_parse(data, strlen(data), &imp);
    else
        srm_csv_parse(data, strlen(data), &imp);
    if ((r = rp_me(db, job, &me)) < 0)
        goto fail;
    for (size_t i = 0; i < imp.n; i++) {
        const struct srm_contact_rec *c = &imp.items[i];
        int64_t id = 0, one;
        bool is_new;

        if ((r = rp_match(db, c, &id)) < 0)
            goto fail;
        is_new = r == 0;
        if (is_new && (r = rp_create(db, job, c, &id)) < 0)
            goto fail;
        for (const char *p = c->tags; p && *p;) {
            size_t l = strcspn(p, ", ");
            if (l > 0) {
                char *tag = srm_xstrndup(p, l);
                RP_STMT(db, SRM_STMT_PEOPLE_TAG_ADD, st);
                srm_db_bind_int64(st, ":id", id);
                srm_db_bind_text(st, ":tag", tag);
                free(tag);
                if ((r = rp_run(db, st, "tag")) < 0)
                    goto fail;
            }
            p += l;
            p += strspn(p, ", ");
        }
        /* Each line of a NOTE is a note, added unless already there (an
         * export holds every note, one per line). */
        for (const char *p = c->note; p && *p;) {
            size_t l = strcspn(p, "\n");
            char *text = srm_xstrndup(p, l);
            p += l + (p[l] == '\n');
            if (text[0] == '\0') {
                free(text);
                continue;
            }
            RP_STMT(db, SRM_STMT_PEOPLE_NOTE_EXISTS, st);
            srm_db_bind_int64(st, ":id", id);
            srm_db_bind_text(st, ":text", text);
            if ((r = rp_one(db, st, "note", &one)) == 0) {
                RP_STMT(db, SRM_STMT_PEOPLE_NOTE_ADD, st);
                srm_db_bind_int64(st, ":id", id);
                srm_db_bind_int64(st, ":member_id", me);
                srm_db_bind_text(st, ":text", text);
                srm_db_bind_int64(st, ":now", job->now);
                r = rp_run(db, st, "note");
            }
            free(text);
            if (r < 0)
                goto fail;
        }
        if ((r = srm_people_reindex(db, id)) < 0)
            goto fail;
        created += is_new;
        matched += !is_new;
        json_array_append_new(people, json_pack("{s:I, s:I, s:b}", "line",
                                                (json_int_t)c->line, "person",
                                                (json_int_t)id, "created",
                                                is_new));
    }
    for (size_t i = 0; i < imp.n_errors; i++)
        json_array_append_new(errors,
                              json_pack("{s:I, s:s}", "line",
                                        (json_int_t)imp.errors[i].line,
                                        "message", imp.errors[i].msg));
    detail = json_pack("{s:s, s:I, s:I, s:I}", "format", format, "created",
                       (json_int_t)created, "matched", (json_int_t)matched,
                       "errors", (json_int_t)imp.n_errors);
    r = srm_inbox_audit(db, job->now, job->caller.user, "import", NULL, 0,
                        detail);
    json_decref(detail);
    if (r < 0)
        goto fail;
    job->result = json_pack("{s:s, s:I, s:I, s:O, s:O}", "format", format,
                            "created", (json_int_t)created, "matched",
                            (json_int_t)matched, "people", people, "errors",
                            errors);
fail:
    srm_import_fini(&imp);
    json_decref(errors);
    json_decref(people);
    return r;
}

static void rp_import(struct srm_rpc_call *call, json_t *params)
{
    const char *data, *format = NULL;

    if (!srm_rpc_param_str(call, params, "data", true, &data) ||
        !srm_rpc_param_str(call, params, "format", false, &format))
        return;
    if (format != NULL && strcmp(format, "vcard") != 0 &&
        strcmp(format, "csv") != 0) {
        srm_rpc_fail(call, SRM_RPC_INVALID_PARAMS,
                     "invalid params: format is vcard or csv");
        return;
    }
    srm_rpc_write(call, params, rp_import_fn, NULL, NULL);
}

const struct srm_rpc_method srm_rpc_people_methods[] = {
    {"people.list", false, rp_list},
    {"people.search", false, rp_search_m},
    {"people.show", false, rp_show},
    {"people.merge", false, rp_merge},
    {"people.split", false, rp_split},
    {"people.note", false, rp_note},
    {"people.tag", false, rp_tag},
    {"people.cadence", false, rp_cadence},
    {"people.owner", false, rp_owner},
    {"people.suggest", false, rp_suggest},
    {"people.due", false, rp_due},
    {"people.rebalance", false, rp_rebalance},
    {"people.duplicates", false, rp_duplicates},
    {"people.resolve", true, rp_resolve},
    {"people.verify", true, rp_verify},
    {"people.export", false, rp_export},
    {"people.import", false, rp_import},
    {"interactions.log", false, rp_log},
    {NULL, false, NULL},
};
