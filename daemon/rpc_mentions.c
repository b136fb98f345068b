/* rpc_mentions.c - mentions.list, search, show, claim, assign, set_status,
 * reply: the team inbox (docs/protocol-inbox.md). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon.h"
#include "err.h"
#include "inbox.h"
#include "mem.h"
#include "reader.h"
#include "rpc_job.h"
#include "rpc_methods.h"
#include "source.h"

#define MR_LIMIT_DEFAULT 50
#define MR_LIMIT_MAX 500

/* ---- shared ---- */

static json_int_t mr_limit(const struct srm_rpc_job *job)
{
    json_int_t limit = srm_rpc_job_int(job, "limit", MR_LIMIT_DEFAULT);

    if (limit < 1)
        limit = 1;
    if (limit > MR_LIMIT_MAX)
        limit = MR_LIMIT_MAX;
    return limit;
}

/* Check the params every method shares, on the loop thread, so a job only
 * ever sees well-typed values. */
static bool mr_check_id(struct srm_rpc_call *call, json_t *params)
{
    json_int_t id;

    return srm_rpc_param_int(call, params, "id", true, &id);
}

/* A failed FTS5 query is the caller's mistake: -32602 with SQLite's
 * message; anything else is a database failure. */
static int mr_step_fail(struct srm_db *db, struct srm_rpc_job *job, int rc,
                        bool has_query)
{
    const char *msg = sqlite3_errmsg(srm_db_handle(db));

    if (has_query && rc == SQLITE_ERROR)
        return srm_rpc_job_fail(job, SRM_RPC_INVALID_PARAMS,
                                NULL, "bad search query: %s", msg);
    return srm_db_fail(db, rc, "mentions");
}

/* The row of INBOX_STATE (loaded by mr_state_load). */
struct mr_state {
    int64_t id;
    char *status;
    int64_t assignee_id;     /* 0: none */
    char *assignee;
    int64_t person_id;       /* 0: no author */
    int64_t owner_id;
    char *network, *source, *plugin, *remote_id, *url;
    char *author_id, *author_handle, *reply_ref;
    int64_t identity_id, source_id;
    char *person_name;
};

static void mr_state_fini(struct mr_state *s)
{
    free(s->status);
    free(s->assignee);
    free(s->network);
    free(s->source);
    free(s->plugin);
    free(s->remote_id);
    free(s->url);
    free(s->author_id);
    free(s->author_handle);
    free(s->reply_ref);
    free(s->person_name);
    memset(s, 0, sizeof(*s));
}

static char *mr_col(sqlite3_stmt *st, int col)
{
    return srm_xstrdup_or_null((const char *)sqlite3_column_text(st, col));
}

/* 0, -ENOENT, or a database error. */
static int mr_state_load(struct srm_db *db, int64_t id, struct mr_state *s)
{
    sqlite3_stmt *st = srm_db_stmt(db, SRM_STMT_INBOX_STATE);
    int rc;

    memset(s, 0, sizeof(*s));
    if (st == NULL)
        return -EIO;
    srm_db_bind_int64(st, ":id", id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        s->id = sqlite3_column_int64(st, 0);
        s->status = mr_col(st, 1);
        s->assignee_id = sqlite3_column_int64(st, 2);
        s->assignee = mr_col(st, 3);
        s->person_id = sqlite3_column_int64(st, 4);
        s->owner_id = sqlite3_column_int64(st, 5);
        s->network = mr_col(st, 6);
        s->source = mr_col(st, 7);
        s->plugin = mr_col(st, 8);
        s->remote_id = mr_col(st, 9);
        s->url = mr_col(st, 10);
        s->author_id = mr_col(st, 11);
        s->author_handle = mr_col(st, 12);
        s->reply_ref = mr_col(st, 13);
        s->identity_id = sqlite3_column_int64(st, 14);
        s->source_id = sqlite3_column_int64(st, 15);
        s->person_name = mr_col(st, 17);
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        rc = -ENOENT;
    } else {
        rc = srm_db_fail(db, rc, "mention state");
    }
    srm_db_stmt_done(st);
    return rc;
}

/* members.id of user on a read connection: 0 and -1 when there is none. */
static int mr_member_lookup(struct srm_db *db, const char *user,
                            int64_t *ret_id)
{
    sqlite3_stmt *st = srm_db_stmt(db, SRM_STMT_INBOX_MEMBER_ID);
    int rc;

    *ret_id = -1;
    if (st == NULL)
        return -EIO;
    srm_db_bind_text(st, ":user", user);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *ret_id = sqlite3_column_int64(st, 0);
    srm_db_stmt_done(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return srm_db_fail(db, rc, "member");
    return 0;
}

/* "No two voices": fail the job when others talk to the mention's person,
 * unless params.anyway. Returns 0 when the way is clear. */
static int mr_voices_check(struct srm_db *db, struct srm_rpc_job *job,
                           const struct mr_state *s, int64_t me_id,
                           const char *verb)
{
    json_t *users = NULL;
    char *names = NULL;
    size_t i;
    json_t *u;
    int rc;

    if (json_is_true(json_object_get(job->params, "anyway")) ||
        s->person_id == 0)
        return 0;
    rc = srm_inbox_voices(db, s->person_id, s->id, me_id, job->now, &users);
    if (rc < 0)
        return rc;
    /* Replying to a mention someone else holds is a second voice too. */
    if (s->assignee_id != 0 && s->assignee_id != me_id && s->assignee) {
        bool seen = false;
        json_array_foreach(users, i, u)
            seen |= strcmp(json_string_value(u), s->assignee) == 0;
        if (!seen)
            json_array_append_new(users, json_string(s->assignee));
    }
    if (json_array_size(users) == 0) {
        json_decref(users);
        return 0;
    }
    json_array_foreach(users, i, u) {
        char *prev = names;
        names = srm_xasprintf("%s%s%s", prev ? prev : "",
                              prev ? ", " : "", json_string_value(u));
        free(prev);
    }
    {
        char *warning = srm_xasprintf(
            "%s %s already talking to %s (an open claim, or an interaction "
            "in the last 48 h); %s anyway with anyway: true (--anyway)",
            names, json_array_size(users) > 1 ? "are" : "is",
            s->person_name ? s->person_name : "this person", verb);
        rc = srm_rpc_job_fail(job, SRM_RPC_CONFLICT,
                              json_pack("{s:s, s:o}", "warning", warning,
                                        "members", users),
                              "%s", warning);
        free(warning);
    }
    free(names);
    return rc;
}

static int mr_not_found(struct srm_rpc_job *job, int64_t id)
{
    return srm_rpc_job_fail(job, SRM_RPC_NOT_FOUND, NULL,
                            "no mention with id %" PRId64, id);
}

/* After a change: tell the watchers. */
static void mr_after_change(struct srm_rpc_job *job)
{
    json_t *item = json_object_get(job->result, "mention");

    if (item != NULL && !json_is_true(json_object_get(job->result,
                                                      "already")))
        srm_inbox_notify(item, "changed");
}

/* ---- mentions.list ---- */

static int mr_member_param(struct srm_db *db, struct srm_rpc_job *job,
                           const char *user, int64_t *ret_id)
{
    int rc = mr_member_lookup(db, user, ret_id);

    if (rc == 0 && *ret_id < 0 && strcmp(user, job->caller.user) != 0)
        return srm_rpc_job_fail(job, SRM_RPC_NOT_FOUND, NULL,
                                "no team member named %s", user);
    return rc;
}

static int mr_list_fn(struct srm_db *db, struct srm_rpc_job *job)
{
    sqlite3_stmt *st = srm_db_stmt(db, SRM_STMT_INBOX_LIST);
    const char *assignee = srm_rpc_job_str(job, "assignee");
    const char *keyword = srm_rpc_job_str(job, "keyword");
    const char *cursor = srm_rpc_job_str(job, "cursor");
    json_int_t limit = mr_limit(job);
    json_t *items = json_array(), *next = json_null();
    long long c_at, c_id;
    int64_t last_at = 0, last_id = 0, member = -1;
    json_int_t n = 0;
    int rc;

    if (st == NULL) {
        rc = -EIO;
        goto fail;
    }
    if (assignee != NULL) {
        const char *user = strcmp(assignee, "me") == 0 ? job->caller.user
                                                         : assignee;
        if ((rc = mr_member_param(db, job, user, &member)) < 0)
            goto fail;
        srm_db_bind_int64(st, ":assignee", member);
    }
    if (json_is_true(json_object_get(job->params, "inbox"))) {
        if ((rc = mr_member_lookup(db, job->caller.user, &member)) < 0)
            goto fail;
        srm_db_bind_int64(st, ":inbox", member);
    }
    if (json_is_true(json_object_get(job->params, "unassigned")))
        srm_db_bind_int64(st, ":unassigned", 1);
    srm_db_bind_text(st, ":status", srm_rpc_job_str(job, "status"));
    srm_db_bind_text(st, ":source", srm_rpc_job_str(job, "source"));
    srm_db_bind_text(st, ":network", srm_rpc_job_str(job, "network"));
    if (keyword != NULL && keyword[0] != '\0')
        srm_db_bind_text(st, ":q", keyword);
    if (cursor != NULL) {
        if (sscanf(cursor, "%lld:%lld", &c_at, &c_id) != 2) {
            rc = srm_rpc_job_fail(job, SRM_RPC_INVALID_PARAMS, NULL,
                                  "invalid params: bad cursor '%s'", cursor);
            goto fail;
        }
        srm_db_bind_int64(st, ":c_at", c_at);
        srm_db_bind_int64(st, ":c_id", c_id);
    }
    srm_db_bind_int64(st, ":limit", limit + 1);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == limit) {
            char buf[64];
            snprintf(buf, sizeof(buf), "%" PRId64 ":%" PRId64, last_at,
                     last_id);
            next = json_string(buf);
            continue;
        }
        json_array_append_new(items, srm_inbox_item_json(st));
        last_id = sqlite3_column_int64(st, 0);
        last_at = sqlite3_column_int64(st, 9);
        n++;
    }
    if (rc != SQLITE_DONE) {
        rc = mr_step_fail(db, job, rc, keyword != NULL);
        goto fail;
    }
    srm_db_stmt_done(st);
    job->result = json_pack("{s:o, s:o}", "items", items, "next_cursor",
                            next);
    return 0;
fail:
    if (st)
        srm_db_stmt_done(st);
    json_decref(items);
    json_decref(next);
    return rc;
}

static void mr_list(struct srm_rpc_call *call, json_t *params)
{
    static const char *const strs[] = {"status", "assignee", "source",
                                       "network", "keyword", "cursor", NULL};
    const char *s = NULL;
    json_int_t limit;
    bool b;

    for (const char *const *k = strs; *k; k++)
        if (!srm_rpc_param_str(call, params, *k, false, &s))
            return;
    s = json_string_value(json_object_get(params, "status"));
    if (s != NULL && !srm_inbox_status_valid(s)) {
        srm_rpc_fail(call, SRM_RPC_INVALID_PARAMS,
                     "invalid params: unknown status '%s' (new, assigned, "
                     "replied, done, ignored)", s);
        return;
    }
    if (!srm_rpc_param_int(call, params, "limit", false, &limit) ||
        !srm_rpc_param_bool(call, params, "unassigned", false, &b) ||
        !srm_rpc_param_bool(call, params, "inbox", false, &b))
        return;
    srm_rpc_read(call, params, mr_list_fn, NULL);
}

/* ---- mentions.search ---- */

/* The matched words of each result in context ("…the [pricing] page…"),
 * set as "snippet" on the items, whose ids are ids[0..n). */
static void mr_snippets(struct srm_db *db, const char *q, json_t *items,
                        const int64_t *ids, size_t n)
{
    sqlite3_stmt *st;
    json_t *list;
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    char *text;

    for (size_t i = 0; i < n; i++) {
        json_object_set_new(json_array_get(items, i), "snippet", json_null());
        lo = ids[i] < lo ? ids[i] : lo;
        hi = ids[i] > hi ? ids[i] : hi;
    }
    if (n == 0 || (st = srm_db_stmt(db, SRM_STMT_INBOX_SNIPPETS)) == NULL)
        return;
    list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, json_integer(ids[i]));
    text = json_dumps(list, JSON_COMPACT);
    json_decref(list);
    srm_db_bind_text(st, ":q", q);
    srm_db_bind_int64(st, ":lo", lo);
    srm_db_bind_int64(st, ":hi", hi);
    srm_db_bind_text(st, ":ids", text);
    while (text != NULL && sqlite3_step(st) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        for (size_t i = 0; i < n; i++)
            if (ids[i] == id)
                json_object_set_new(json_array_get(items, i), "snippet",
                                    srm_rpc_col_text(st, 1));
    }
    srm_db_stmt_done(st);
    free(text);
}

static int mr_search_fn(struct srm_db *db, struct srm_rpc_job *job)
{
    sqlite3_stmt *st = srm_db_stmt(db, SRM_STMT_INBOX_SEARCH);
    const char *cursor = srm_rpc_job_str(job, "cursor");
    json_int_t limit = mr_limit(job);
    json_t *items = json_array(), *next = json_null();
    int64_t ids[MR_LIMIT_MAX];
    double c_rank, last_rank = 0;
    long long c_id;
    int64_t last_id = 0;
    json_int_t n = 0;
    int rc;

    if (st == NULL) {
        rc = -EIO;
        goto fail;
    }
    srm_db_bind_text(st, ":q", srm_rpc_job_str(job, "query"));
    if (cursor != NULL) {
        if (sscanf(cursor, "%lg:%lld", &c_rank, &c_id) != 2) {
            rc = srm_rpc_job_fail(job, SRM_RPC_INVALID_PARAMS, NULL,
                                  "invalid params: bad cursor '%s'", cursor);
            goto fail;
        }
        srm_db_bind_double(st, ":c_rank", c_rank);
        srm_db_bind_int64(st, ":c_id", c_id);
    }
    srm_db_bind_int64(st, ":limit", limit + 1);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *item;

        if (n == limit) {
            char buf[64];
            snprintf(buf, sizeof(buf), "%.17g:%" PRId64, last_rank, last_id);
            next = json_string(buf);
            continue;
        }
        item = srm_inbox_item_json(st);
        last_id = sqlite3_column_int64(st, 0);
        last_rank = sqlite3_column_double(st, 13);
        json_object_set_new(item, "rank", json_real(last_rank));
        json_array_append_new(items, item);
        ids[n++] = last_id;
    }
    if (rc != SQLITE_DONE) {
        rc = mr_step_fail(db, job, rc, true);
        goto fail;
    }
    srm_db_stmt_done(st);
    st = NULL;
    mr_snippets(db, srm_rpc_job_str(job, "query"), items, ids, (size_t)n);
    job->result = json_pack("{s:o, s:o}", "items", items, "next_cursor",
                            next);
    return 0;
fail:
    if (st)
        srm_db_stmt_done(st);
    json_decref(items);
    json_decref(next);
    return rc;
}

static void mr_search(struct srm_rpc_call *call, json_t *params)
{
    const char *q, *cursor;
    json_int_t limit;

    if (!srm_rpc_param_str(call, params, "query", true, &q) ||
        !srm_rpc_param_str(call, params, "cursor", false, &cursor) ||
        !srm_rpc_param_int(call, params, "limit", false, &limit))
        return;
    if (q[0] == '\0') {
        srm_rpc_fail(call, SRM_RPC_INVALID_PARAMS,
                     "invalid params: 'query' is empty");
        return;
    }
    if (!srm_daemon_self->cfg->config->fulltext) {
        srm_rpc_fail(call, SRM_RPC_NOT_SUPPORTED,
                     "full-text search is off (daemon.fulltext: false); "
                     "mentions.list filters still work");
        return;
    }
    srm_rpc_read(call, params, mr_search_fn, NULL);
}

/* ---- mentions.show ---- */

static int mr_show_fn(struct srm_db *db, struct srm_rpc_job *job)
{
    int64_t id = srm_rpc_job_int(job, "id", 0);
    json_t *item = NULL, *idents = NULL, *author;
    int64_t person_id, identity_id;
    sqlite3_stmt *st;
    int rc;

    rc = srm_inbox_item_load(db, id, &item);
    if (rc == -ENOENT)
        return mr_not_found(job, id);
    if (rc < 0)
        return rc;
    st = srm_db_stmt(db, SRM_STMT_INBOX_DETAIL);
    if (st == NULL) {
        rc = -EIO;
        goto fail;
    }
    srm_db_bind_int64(st, ":id", id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        static const char *const keys[] = {
            "remote_id", "edited_at", "fetched_at", "reply_to", "lang",
            "visibility", "context_title", "context_url", "flags",
            "deleted", "status_changed_at"};
        for (int i = 0; i < 11; i++)
            json_object_set_new(item, keys[i],
                                sqlite3_column_type(st, i) == SQLITE_INTEGER
                                    ? srm_rpc_col_int(st, i)
                                    : srm_rpc_col_text(st, i));
        author = json_object_get(item, "author");
        json_object_set_new(author, "remote_id", srm_rpc_col_text(st, 11));
        json_object_set_new(author, "profile_url", srm_rpc_col_text(st, 12));
        json_object_set_new(item, "owner", srm_rpc_col_text(st, 14));
        rc = 0;
    } else if (rc != SQLITE_DONE) {
        rc = srm_db_fail(db, rc, "mention detail");
    } else {
        rc = 0;
    }
    srm_db_stmt_done(st);
    if (rc < 0)
        goto fail;

    idents = json_array();
    author = json_object_get(item, "author");
    person_id = json_integer_value(json_object_get(author, "person_id"));
    identity_id = json_integer_value(json_object_get(author, "identity_id"));
    if (person_id != 0) {
        st = srm_db_stmt(db, SRM_STMT_INBOX_PERSON_IDENTITIES);
        if (st == NULL) {
            rc = -EIO;
            goto fail;
        }
        srm_db_bind_int64(st, ":person_id", person_id);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            if (sqlite3_column_int64(st, 0) == identity_id)
                continue;
            json_array_append_new(
                idents,
                json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "id",
                          srm_rpc_col_int(st, 0), "network",
                          srm_rpc_col_text(st, 1), "remote_id",
                          srm_rpc_col_text(st, 2), "handle",
                          srm_rpc_col_text(st, 3), "display_name",
                          srm_rpc_col_text(st, 4), "profile_url",
                          srm_rpc_col_text(st, 5), "followers",
                          srm_rpc_col_int(st, 6)));
        }
        srm_db_stmt_done(st);
        if (rc != SQLITE_DONE) {
            rc = srm_db_fail(db, rc, "identities");
            goto fail;
        }
    }
    json_object_set_new(author, "other_identities", idents);
    idents = NULL;
    job->result = json_pack("{s:o}", "mention", item);
    return 0;
fail:
    json_decref(item);
    json_decref(idents);
    return rc;
}

static void mr_show(struct srm_rpc_call *call, json_t *params)
{
    if (mr_check_id(call, params))
        srm_rpc_read(call, params, mr_show_fn, NULL);
}

/* ---- mentions.claim ---- */

static int mr_result_item(struct srm_db *db, struct srm_rpc_job *job,
                          int64_t id, json_t *result)
{
    json_t *item;
    int rc = srm_inbox_item_load(db, id, &item);

    if (rc < 0) {
        json_decref(result);
        return rc;
    }
    json_object_set_new(result, "mention", item);
    job->result = result;
    return 0;
}

static int mr_claim_fn(struct srm_db *db, struct srm_rpc_job *job)
{
    int64_t id = srm_rpc_job_int(job, "id", 0);
    struct mr_state s;
    sqlite3_stmt *st;
    int64_t me;
    bool already;
    int rc;

    rc = mr_state_load(db, id, &s);
    if (rc == -ENOENT)
        return mr_not_found(job, id);
    if (rc < 0)
        return rc;
    rc = srm_inbox_member_id(db, job->caller.user, job->caller.is_admin,
                             job->now, &me);
    if (rc < 0)
        goto out;
    if (s.assignee_id != 0 && s.assignee_id != me) {
        rc = srm_rpc_job_fail(job, SRM_RPC_CONFLICT,
                              json_pack("{s:s}", "assignee", s.assignee),
                              "mention %" PRId64 " is already claimed by %s",
                              id, s.assignee);
        goto out;
    }
    already = s.assignee_id == me;
    if (!already && (rc = mr_voices_check(db, job, &s, me, "claim")) < 0)
        goto out;
    st = srm_db_stmt(db, SRM_STMT_INBOX_CLAIM);
    if (st == NULL) {
        rc = -EIO;
        goto out;
    }
    srm_db_bind_int64(st, ":me", me);
    srm_db_bind_int64(st, ":now", job->now);
    srm_db_bind_int64(st, ":id", id);
    rc = sqlite3_step(st);
    srm_db_stmt_done(st);
    if (rc != SQLITE_DONE) {
        rc = srm_db_fail(db, rc, "claim");
        goto out;
    }
    if (sqlite3_changes(srm_db_handle(db)) == 0) {
        /* Taken between our read and the update. */
        rc = srm_rpc_job_fail(job, SRM_RPC_CONFLICT,
                              json_pack("{s:s?}", "assignee", s.assignee),
                              "mention %" PRId64 " is already claimed",
                              id);
        goto out;
    }
    if (!already) {
        json_t *detail = json_pack("{s:s, s:b}", "from_status", s.status,
                                   "anyway",
                                   json_is_true(json_object_get(
                                       job->params, "anyway")));
        rc = srm_inbox_audit(db, job->now, job->caller.user, "claimed",
                             "mention", id, detail);
        json_decref(detail);
        if (rc < 0)
            goto out;
    }
    rc = mr_result_item(db, job, id,
                        json_pack("{s:b, s:b}", "claimed", 1, "already",
                                  already));
out:
    mr_state_fini(&s);
    return rc;
}

static void mr_claim(struct srm_rpc_call *call, json_t *params)
{
    bool anyway;

    if (mr_check_id(call, params) &&
        srm_rpc_param_bool(call, params, "anyway", false, &anyway))
        srm_rpc_write(call, params, mr_claim_fn, NULL, mr_after_change);
}

/* ---- mentions.assign ---- */

static int mr_assign_fn(struct srm_db *db, struct srm_rpc_job *job)
{
    int64_t id = srm_rpc_job_int(job, "id", 0);
    const char *member = srm_rpc_job_str(job, "member");
    struct mr_state s;
    sqlite3_stmt *st;
    int64_t me, target = -1;
    json_t *detail;
    int rc;

    rc = mr_state_load(db, id, &s);
    if (rc == -ENOENT)
        return mr_not_found(job, id);
    if (rc < 0)
        return rc;
    rc = srm_inbox_member_id(db, job->caller.user, job->caller.is_admin,
                             job->now, &me);
    if (rc < 0)
        goto out;
    if (!job->caller.is_admin && (s.owner_id == 0 || s.owner_id != me)) {
        rc = srm_rpc_job_fail(job, SRM_RPC_DENIED, NULL,
                              "permission denied: only an admin or the "
                              "person's owner may assign mention %" PRId64,
                              id);
        goto out;
    }
    st = srm_db_stmt(db, SRM_STMT_INBOX_MEMBER_ACTIVE);
    if (st == NULL) {
        rc = -EIO;
        goto out;
    }
    srm_db_bind_text(st, ":user", member);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        target = sqlite3_column_int64(st, 0);
    srm_db_stmt_done(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        rc = srm_db_fail(db, rc, "member");
        goto out;
    }
    if (target < 0) {
        rc = srm_rpc_job_fail(job, SRM_RPC_NOT_FOUND, NULL,
                              "no team member named %s", member);
        goto out;
    }
    st = srm_db_stmt(db, SRM_STMT_INBOX_ASSIGN);
    if (st == NULL) {
        rc = -EIO;
        goto out;
    }
    srm_db_bind_int64(st, ":member_id", target);
    srm_db_bind_int64(st, ":now", job->now);
    srm_db_bind_int64(st, ":id", id);
    rc = sqlite3_step(st);
    srm_db_stmt_done(st);
    if (rc != SQLITE_DONE) {
        rc = srm_db_fail(db, rc, "assign");
        goto out;
    }
    detail = json_pack("{s:s?, s:s}", "from", s.assignee, "to", member);
    rc = srm_inbox_audit(db, job->now, job->caller.user, "assigned",
                         "mention", id, detail);
    json_decref(detail);
    if (rc == 0)
        rc = mr_result_item(db, job, id, json_object());
out:
    mr_state_fini(&s);
    return rc;
}

static void mr_assign(struct srm_rpc_call *call, json_t *params)
{
    const char *member;

    if (mr_check_id(call, params) &&
        srm_rpc_param_str(call, params, "member", true, &member))
        srm_rpc_write(call, params, mr_assign_fn, NULL, mr_after_change);
}

/* ---- mentions.set_status ---- */

static int mr_status_fn(struct srm_db *db, struct srm_rpc_job *job)
{
    int64_t id = srm_rpc_job_int(job, "id", 0);
    const char *status = srm_rpc_job_str(job, "status");
    struct mr_state s;
    sqlite3_stmt *st;
    json_t *detail;
    int64_t me;
    int rc;

    rc = mr_state_load(db, id, &s);
    if (rc == -ENOENT)
        return mr_not_found(job, id);
    if (rc < 0)
        return rc;
    rc = srm_inbox_member_id(db, job->caller.user, job->caller.is_admin,
                             job->now, &me);
    if (rc < 0)
        goto out;
    if (!job->caller.is_admin && s.assignee_id != 0 && s.assignee_id != me) {
        rc = srm_rpc_job_fail(job, SRM_RPC_DENIED,
                              json_pack("{s:s?}", "assignee", s.assignee),
                              "permission denied: mention %" PRId64
                              " is assigned to %s",
                              id, s.assignee ? s.assignee : "someone else");
        goto out;
    }
    st = srm_db_stmt(db, SRM_STMT_INBOX_SET_STATUS);
    if (st == NULL) {
        rc = -EIO;
        goto out;
    }
    srm_db_bind_text(st, ":status", status);
    srm_db_bind_int64(st, ":me", me);
    srm_db_bind_int64(st, ":now", job->now);
    srm_db_bind_int64(st, ":id", id);
    rc = sqlite3_step(st);
    srm_db_stmt_done(st);
    if (rc != SQLITE_DONE) {
        rc = srm_db_fail(db, rc, "set status");
        goto out;
    }
    detail = json_pack("{s:s, s:s}", "from", s.status, "to", status);
    rc = srm_inbox_audit(db, job->now, job->caller.user, "status", "mention",
                         id, detail);
    json_decref(detail);
    if (rc == 0)
        rc = mr_result_item(db, job, id, json_object());
out:
    mr_state_fini(&s);
    return rc;
}

static void mr_set_status(struct srm_rpc_call *call, json_t *params)
{
    const char *status;

    if (!mr_check_id(call, params) ||
        !srm_rpc_param_str(call, params, "status", true, &status))
        return;
    if (!srm_inbox_status_valid(status)) {
        srm_rpc_fail(call, SRM_RPC_INVALID_PARAMS,
                     "invalid params: unknown status '%s' (new, assigned, "
                     "replied, done, ignored)", status);
        return;
    }
    srm_rpc_write(call, params, mr_status_fn, NULL, mr_after_change);
}

/* ---- mentions.reply: read, post through the plugin, then record ---- */

struct mr_reply {
    struct srm_rpc_call *call;
    struct srm_rpc_job job;  /* a local job for the read (params, caller) */
    struct mr_state s;
    char *text;
};

static void mr_reply_free(struct mr_reply *r)
{
    mr_state_fini(&r->s);
    json_decref(r->job.params);
    json_decref(r->job.data);
    free(r->job.message);
    free(r->text);
    free(r);
}

static int mr_reply_read_fn(struct srm_db *db, void *arg)
{
    struct mr_reply *r = arg;
    int64_t id = srm_rpc_job_int(&r->job, "id", 0);
    int64_t me;
    int rc;

    rc = mr_state_load(db, id, &r->s);
    if (rc == -ENOENT)
        return mr_not_found(&r->job, id);
    if (rc < 0)
        return rc;
    if ((rc = mr_member_lookup(db, r->job.caller.user, &me)) < 0)
        return rc;
    return mr_voices_check(db, &r->job, &r->s, me, "reply");
}

static int mr_reply_write_fn(struct srm_db *db, struct srm_rpc_job *job)
{
    int64_t id = srm_rpc_job_int(job, "id", 0);
    int64_t person_id = srm_rpc_job_int(job, "person_id", 0);
    const char *text = srm_rpc_job_str(job, "text");
    const char *posted_id = srm_rpc_job_str(job, "posted_id");
    const char *posted_url = srm_rpc_job_str(job, "posted_url");
    sqlite3_stmt *st;
    json_t *detail;
    int64_t me;
    int rc;

    rc = srm_inbox_member_id(db, job->caller.user, job->caller.is_admin,
                             job->now, &me);
    if (rc < 0)
        return rc;
    if (person_id != 0) {
        st = srm_db_stmt(db, SRM_STMT_INBOX_REPLY_INTERACTION);
        if (st == NULL)
            return -EIO;
        srm_db_bind_int64(st, ":person_id", person_id);
        srm_db_bind_int64_or_null(st, ":identity_id",
                                  srm_rpc_job_int(job, "identity_id", 0), 0);
        srm_db_bind_int64(st, ":member_id", me);
        srm_db_bind_text(st, ":network", srm_rpc_job_str(job, "network"));
        srm_db_bind_text(st, ":remote_id", posted_id);
        srm_db_bind_int64(st, ":at", job->now);
        srm_db_bind_text(st, ":summary", text);
        srm_db_bind_int64(st, ":mention_id", id);
        srm_db_bind_int64_or_null(st, ":source_id",
                                  srm_rpc_job_int(job, "source_id", 0), 0);
        rc = sqlite3_step(st);
        srm_db_stmt_done(st);
        if (rc != SQLITE_DONE)
            return srm_db_fail(db, rc, "reply interaction");
        st = srm_db_stmt(db, SRM_STMT_INBOX_PERSON_TOUCH);
        if (st == NULL)
            return -EIO;
        srm_db_bind_int64(st, ":at", job->now);
        srm_db_bind_int64(st, ":id", person_id);
        rc = sqlite3_step(st);
        srm_db_stmt_done(st);
        if (rc != SQLITE_DONE)
            return srm_db_fail(db, rc, "person touch");
    }
    st = srm_db_stmt(db, SRM_STMT_INBOX_REPLIED);
    if (st == NULL)
        return -EIO;
    srm_db_bind_int64(st, ":now", job->now);
    srm_db_bind_int64(st, ":me", me);
    srm_db_bind_int64(st, ":id", id);
    rc = sqlite3_step(st);
    srm_db_stmt_done(st);
    if (rc != SQLITE_DONE)
        return srm_db_fail(db, rc, "replied");
    detail = json_pack("{s:s?, s:s?, s:s, s:b}", "posted_id", posted_id,
                       "posted_url", posted_url, "text", text, "anyway",
                       json_is_true(json_object_get(job->params, "anyway")));
    rc = srm_inbox_audit(db, job->now, job->caller.user, "replied", "mention",
                         id, detail);
    json_decref(detail);
    if (rc < 0)
        return rc;
    return mr_result_item(
        db, job, id,
        json_pack("{s:s?, s:s?}", "posted_id", posted_id, "posted_url",
                  posted_url));
}

static void mr_reply_posted(void *ud, int error, const char *msg,
                            const char *posted_id, const char *posted_url)
{
    struct mr_reply *r = ud;
    struct mr_state *s = &r->s;
    json_t *params;

    if (error == SRM_E_NOTSUP) {
        srm_rpc_fail(r->call, SRM_RPC_NOT_SUPPORTED,
                     "source %s (plugin %s) cannot post replies", s->source,
                     s->plugin);
    } else if (error != 0) {
        srm_rpc_fail(r->call, SRM_RPC_UNAVAILABLE,
                     "source %s could not post the reply: %s", s->source,
                     msg ? msg : srm_strerror(error));
    } else {
        params = json_pack(
            "{s:I, s:s, s:s?, s:s?, s:I, s:I, s:s?, s:I, s:b}", "id",
            (json_int_t)s->id, "text", r->text, "posted_id", posted_id,
            "posted_url", posted_url, "person_id", (json_int_t)s->person_id,
            "identity_id", (json_int_t)s->identity_id, "network", s->network,
            "source_id", (json_int_t)s->source_id, "anyway",
            json_is_true(json_object_get(r->job.params, "anyway")));
        srm_rpc_write(r->call, params, mr_reply_write_fn, NULL,
                      mr_after_change);
        json_decref(params);
    }
    mr_reply_free(r);
}

static void mr_reply_read_done(void *arg, int status)
{
    struct mr_reply *r = arg;
    struct mr_state *s = &r->s;
    struct srm_reply_req req = SRM_REPLY_REQ_INIT;
    struct srm_instance *src;
    int rc;

    if (r->job.message != NULL) {
        srm_rpc_fail_data(r->call, r->job.code, r->job.data, "%s",
                          r->job.message);
        r->job.data = NULL;
        goto done;
    }
    if (status < 0) {
        srm_rpc_fail(r->call, SRM_RPC_UNAVAILABLE, "database: %s",
                     srm_strerror(status));
        goto done;
    }
    src = s->source ? srm_daemon_source(srm_daemon_self, s->source) : NULL;
    if (src == NULL) {
        srm_rpc_fail(r->call, SRM_RPC_UNAVAILABLE,
                     "source %s of mention %" PRId64 " is not running",
                     s->source ? s->source : "(none)", s->id);
        goto done;
    }
    req.mention_id = s->remote_id;
    req.mention_url = s->url;
    req.author_id = s->author_id;
    req.author_handle = s->author_handle;
    req.reply_ref = s->reply_ref;
    req.text = r->text;
    req.member = r->job.caller.user;
    rc = srm_source_reply(src, &req, mr_reply_posted, r);
    if (rc == 0)
        return; /* mr_reply_posted answers and frees r */
    if (rc == SRM_E_NOTSUP)
        srm_rpc_fail(r->call, SRM_RPC_NOT_SUPPORTED,
                     "source %s (plugin %s) cannot post replies", s->source,
                     s->plugin);
    else
        srm_rpc_fail(r->call, SRM_RPC_UNAVAILABLE,
                     "source %s could not post the reply: %s", s->source,
                     srm_strerror(rc));
done:
    mr_reply_free(r);
}

static void mr_reply(struct srm_rpc_call *call, json_t *params)
{
    const char *text;
    bool anyway;
    struct mr_reply *r;

    if (!mr_check_id(call, params) ||
        !srm_rpc_param_str(call, params, "text", true, &text) ||
        !srm_rpc_param_bool(call, params, "anyway", false, &anyway))
        return;
    if (text[0] == '\0') {
        srm_rpc_fail(call, SRM_RPC_INVALID_PARAMS,
                     "invalid params: 'text' is empty");
        return;
    }
    r = srm_xcalloc(1, sizeof(*r));
    r->call = call;
    r->job.call = call;
    r->job.caller = *srm_rpc_caller(call);
    r->job.params = json_incref(params);
    r->job.now = (int64_t)time(NULL);
    r->text = srm_xstrdup(text);
    srm_reader_submit(srm_daemon_self->reader, mr_reply_read_fn,
                      mr_reply_read_done, r);
}

const struct srm_rpc_method srm_rpc_mentions_methods[] = {
    {"mentions.list", false, mr_list},
    {"mentions.search", false, mr_search},
    {"mentions.show", false, mr_show},
    {"mentions.claim", false, mr_claim},
    {"mentions.assign", false, mr_assign},
    {"mentions.set_status", false, mr_set_status},
    {"mentions.reply", false, mr_reply},
    {NULL, false, NULL},
};
