/* rpc_team.c - watch, outcomes.add, report, history: the team's side of
 * the inbox (docs/protocol-inbox.md). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "inbox.h"
#include "mem.h"
#include "rpc_job.h"
#include "rpc_methods.h"

/* ---- watch ---- */

static void rt_watch(struct srm_rpc_call *call, json_t *params)
{
    const struct srm_caller *who = srm_rpc_caller(call);
    struct srm_ctl_client *client = srm_rpc_client(call);
    bool mine = false;

    if (!srm_rpc_param_bool(call, params, "mine", false, &mine))
        return;
    if (client != NULL)
        srm_inbox_watch(client, who->user, mine);
    srm_rpc_reply(call, json_pack("{s:b, s:b, s:s, s:[s]}", "subscribed", 1,
                                  "mine", mine, "user", who->user, "events",
                                  "mention"));
}

/* ---- history ---- */

static int rt_history_fn(struct srm_db *db, struct srm_rpc_job *job)
{
    int64_t id = srm_rpc_job_int(job, "id", 0);
    const char *type = srm_rpc_job_str(job, "object_type");
    sqlite3_stmt *st = srm_db_stmt(db, SRM_STMT_INBOX_HISTORY);
    json_t *events = json_array();
    int rc;

    if (st == NULL) {
        json_decref(events);
        return -EIO;
    }
    srm_db_bind_text(st, ":object_type", type ? type : "mention");
    srm_db_bind_int64(st, ":object_id", id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *d = (const char *)sqlite3_column_text(st, 4);
        json_t *detail = d ? json_loads(d, 0, NULL) : NULL;

        json_array_append_new(
            events, json_pack("{s:o, s:o, s:o, s:o, s:o}", "id",
                              srm_rpc_col_int(st, 0), "at",
                              srm_rpc_col_int(st, 1), "member",
                              srm_rpc_col_text(st, 2), "action",
                              srm_rpc_col_text(st, 3), "detail",
                              detail ? detail : json_null()));
    }
    srm_db_stmt_done(st);
    if (rc != SQLITE_DONE) {
        json_decref(events);
        return srm_db_fail(db, rc, "history");
    }
    job->result = json_pack("{s:I, s:s, s:o}", "id", (json_int_t)id,
                            "object_type", type ? type : "mention",
                            "events", events);
    return 0;
}

static void rt_history(struct srm_rpc_call *call, json_t *params)
{
    json_int_t id;
    const char *type = NULL;

    if (!srm_rpc_param_int(call, params, "id", true, &id) ||
        !srm_rpc_param_str(call, params, "object_type", false, &type))
        return;
    srm_rpc_read(call, params, rt_history_fn, NULL);
}

/* ---- outcomes.add ---- */

/* The person named by params.person: an id (number or digits), or an
 * identity's handle or remote id. 0, or the job's error. */
static int rt_person_resolve(struct srm_db *db, struct srm_rpc_job *job,
                             int64_t *ret_person, bool *ret_by_handle)
{
    json_t *p = json_object_get(job->params, "person");
    const char *network = srm_rpc_job_str(job, "network");
    const char *handle = json_string_value(p);
    sqlite3_stmt *st;
    int64_t found[3];
    size_t n = 0;
    int rc;

    *ret_by_handle = false;
    if (json_is_integer(p) || (handle && handle[0] &&
                               strspn(handle, "0123456789") ==
                                   strlen(handle))) {
        int64_t id = json_is_integer(p) ? json_integer_value(p)
                                        : strtoll(handle, NULL, 10);
        st = srm_db_stmt(db, SRM_STMT_INBOX_PERSON_EXISTS);
        if (st == NULL)
            return -EIO;
        srm_db_bind_int64(st, ":id", id);
        rc = sqlite3_step(st);
        srm_db_stmt_done(st);
        if (rc == SQLITE_ROW) {
            *ret_person = id;
            return 0;
        }
        if (rc != SQLITE_DONE)
            return srm_db_fail(db, rc, "person");
        if (json_is_integer(p))
            return srm_rpc_job_fail(job, SRM_RPC_NOT_FOUND, NULL,
                                    "no person with id %" PRId64, id);
    }
    st = srm_db_stmt(db, SRM_STMT_INBOX_PERSON_BY_HANDLE);
    if (st == NULL)
        return -EIO;
    srm_db_bind_text(st, ":handle", handle);
    srm_db_bind_text(st, ":network", network);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < 3)
        found[n++] = sqlite3_column_int64(st, 0);
    srm_db_stmt_done(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return srm_db_fail(db, rc, "person by handle");
    if (n == 0)
        return srm_rpc_job_fail(job, SRM_RPC_NOT_FOUND, NULL,
                                "no person or identity handle '%s'%s%s",
                                handle, network ? " on " : "",
                                network ? network : "");
    if (n > 1)
        return srm_rpc_job_fail(
            job, SRM_RPC_CONFLICT,
            json_pack("{s:[I,I]}", "people", (json_int_t)found[0],
                      (json_int_t)found[1]),
            "handle '%s' belongs to more than one person (%" PRId64
            ", %" PRId64 "); give the network or a person id",
            handle, found[0], found[1]);
    *ret_person = found[0];
    *ret_by_handle = true;
    return 0;
}

static int rt_outcome_fn(struct srm_db *db, struct srm_rpc_job *job)
{
    const char *kind = srm_rpc_job_str(job, "kind");
    const char *note = srm_rpc_job_str(job, "note");
    char *network = srm_xstrdup_or_null(srm_rpc_job_str(job, "network"));
    json_t *value = json_object_get(job->params, "value");
    int64_t person = 0, me, source_id = 0, outcome_id;
    sqlite3_stmt *st;
    json_t *detail;
    bool by_handle;
    int rc;

    rc = rt_person_resolve(db, job, &person, &by_handle);
    if (rc < 0)
        goto out;
    rc = srm_inbox_member_id(db, job->caller.user, job->caller.is_admin,
                             job->now, &me);
    if (rc < 0)
        goto out;
    /* Attribute to where we hear from them: their latest mention (on the
     * network asked for, if any). */
    st = srm_db_stmt(db, SRM_STMT_INBOX_PERSON_LATEST);
    if (st == NULL) {
        rc = -EIO;
        goto out;
    }
    srm_db_bind_int64(st, ":person_id", person);
    srm_db_bind_text(st, ":network", network);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        if (network == NULL)
            network = srm_xstrdup_or_null(
                (const char *)sqlite3_column_text(st, 0));
        source_id = sqlite3_column_int64(st, 1);
    }
    srm_db_stmt_done(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        rc = srm_db_fail(db, rc, "person latest");
        goto out;
    }
    st = srm_db_stmt(db, SRM_STMT_INBOX_OUTCOME_INSERT);
    if (st == NULL) {
        rc = -EIO;
        goto out;
    }
    srm_db_bind_int64(st, ":person_id", person);
    srm_db_bind_int64(st, ":member_id", me);
    srm_db_bind_text(st, ":kind", kind);
    if (json_is_number(value))
        srm_db_bind_double(st, ":value", json_number_value(value));
    srm_db_bind_text(st, ":note", note);
    srm_db_bind_int64(st, ":at", job->now);
    srm_db_bind_text(st, ":network", network);
    srm_db_bind_int64_or_null(st, ":source_id", source_id, 0);
    rc = sqlite3_step(st);
    srm_db_stmt_done(st);
    if (rc != SQLITE_DONE) {
        rc = srm_db_fail(db, rc, "outcome");
        goto out;
    }
    outcome_id = sqlite3_last_insert_rowid(srm_db_handle(db));
    detail = json_pack("{s:I, s:s, s:O?, s:s?, s:s?}", "outcome_id",
                       (json_int_t)outcome_id, "kind", kind, "value",
                       json_is_number(value) ? value : NULL, "note", note,
                       "network", network);
    rc = srm_inbox_audit(db, job->now, job->caller.user, "outcome", "person",
                         person, detail);
    json_decref(detail);
    if (rc < 0)
        goto out;
    job->result = json_pack(
        "{s:{s:I, s:I, s:s, s:O?, s:s?, s:s?, s:o, s:s, s:I}}", "outcome",
        "id", (json_int_t)outcome_id, "person_id", (json_int_t)person,
        "kind", kind, "value", json_is_number(value) ? value : NULL, "note",
        note, "network", network, "source_id",
        source_id ? json_integer(source_id) : json_null(), "member",
        job->caller.user, "at", (json_int_t)job->now);
out:
    free(network);
    return rc;
}

static void rt_outcome(struct srm_rpc_call *call, json_t *params)
{
    const char *kind, *note, *network;
    json_t *person = json_object_get(params, "person");
    json_t *value = json_object_get(params, "value");

    if (!json_is_integer(person) &&
        !(json_is_string(person) && json_string_length(person) > 0)) {
        srm_rpc_fail(call, SRM_RPC_INVALID_PARAMS,
                     "invalid params: 'person' must be a person id or an "
                     "identity handle");
        return;
    }
    if (!srm_rpc_param_str(call, params, "kind", true, &kind) ||
        !srm_rpc_param_str(call, params, "note", true, &note) ||
        !srm_rpc_param_str(call, params, "network", false, &network))
        return;
    if (!srm_inbox_outcome_kind_valid(kind)) {
        srm_rpc_fail(call, SRM_RPC_INVALID_PARAMS,
                     "invalid params: unknown kind '%s' (lead, sale, "
                     "feedback, advocate, support)", kind);
        return;
    }
    if (value != NULL && !json_is_null(value) && !json_is_number(value)) {
        srm_rpc_fail(call, SRM_RPC_INVALID_PARAMS,
                     "invalid params: 'value' must be a number");
        return;
    }
    srm_rpc_write(call, params, rt_outcome_fn, NULL, NULL);
}

/* ---- report ---- */

/* Run a "key, count[, value]" grouping into an array of objects. */
static int rt_groups(struct srm_db *db, enum srm_sql_id id, int64_t from,
                     const char *key, bool with_value, json_t **ret)
{
    sqlite3_stmt *st = srm_db_stmt(db, id);
    json_t *a = json_array();
    int rc;

    *ret = NULL;
    if (st == NULL) {
        json_decref(a);
        return -EIO;
    }
    srm_db_bind_int64(st, ":from", from);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *o = json_pack("{s:o, s:I}", key, srm_rpc_col_text(st, 0),
                              "count",
                              (json_int_t)sqlite3_column_int64(st, 1));
        if (with_value)
            json_object_set_new(o, "value",
                                json_real(sqlite3_column_double(st, 2)));
        json_array_append_new(a, o);
    }
    srm_db_stmt_done(st);
    if (rc != SQLITE_DONE) {
        json_decref(a);
        return srm_db_fail(db, rc, "report");
    }
    *ret = a;
    return 0;
}

static json_t *rt_response_row(const char *member, const double *v,
                               size_t n)
{
    return json_pack("{s:s, s:I, s:f, s:f}", "member", member, "count",
                     (json_int_t)n, "median_s",
                     srm_inbox_percentile(v, n, 50), "p90_s",
                     srm_inbox_percentile(v, n, 90));
}

/* Median and p90 per member; rows come sorted by member, then time. */
static int rt_first_response(struct srm_db *db, int64_t from, json_t **ret)
{
    sqlite3_stmt *st = srm_db_stmt(db, SRM_STMT_REPORT_FIRST_RESPONSE);
    json_t *a = json_array();
    double *v = NULL;
    size_t n = 0, cap = 0;
    char *member = NULL;
    int rc;

    *ret = NULL;
    if (st == NULL) {
        json_decref(a);
        return -EIO;
    }
    srm_db_bind_int64(st, ":from", from);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *m = (const char *)sqlite3_column_text(st, 0);

        if (member != NULL && strcmp(member, m) != 0) {
            json_array_append_new(a, rt_response_row(member, v, n));
            n = 0;
        }
        if (member == NULL || strcmp(member, m) != 0) {
            free(member);
            member = srm_xstrdup(m);
        }
        if (n == cap) {
            cap = cap * 2 + 16;
            v = srm_xreallocarray(v, cap, sizeof(*v));
        }
        v[n++] = sqlite3_column_double(st, 1);
    }
    srm_db_stmt_done(st);
    if (rc == SQLITE_DONE && member != NULL)
        json_array_append_new(a, rt_response_row(member, v, n));
    free(member);
    free(v);
    if (rc != SQLITE_DONE) {
        json_decref(a);
        return srm_db_fail(db, rc, "report");
    }
    *ret = a;
    return 0;
}

static int rt_report_fn(struct srm_db *db, struct srm_rpc_job *job)
{
    int64_t since = srm_rpc_job_int(job, "since_s", 30 * 86400);
    int64_t from = job->now - since;
    json_t *by_net = NULL, *by_day = NULL, *resp = NULL, *o_net = NULL,
           *o_src = NULL, *o_mem = NULL, *o_kind = NULL;
    int64_t total = 0, replied = 0, o_count = 0;
    double o_value = 0;
    sqlite3_stmt *st;
    size_t i;
    json_t *g;
    int rc;

    if ((rc = rt_groups(db, SRM_STMT_REPORT_BY_NETWORK, from, "network",
                        false, &by_net)) < 0 ||
        (rc = rt_groups(db, SRM_STMT_REPORT_BY_DAY, from, "day", false,
                        &by_day)) < 0 ||
        (rc = rt_first_response(db, from, &resp)) < 0 ||
        (rc = rt_groups(db, SRM_STMT_REPORT_OUTCOMES_BY_NETWORK, from,
                        "network", true, &o_net)) < 0 ||
        (rc = rt_groups(db, SRM_STMT_REPORT_OUTCOMES_BY_SOURCE, from,
                        "source", true, &o_src)) < 0 ||
        (rc = rt_groups(db, SRM_STMT_REPORT_OUTCOMES_BY_MEMBER, from,
                        "member", true, &o_mem)) < 0 ||
        (rc = rt_groups(db, SRM_STMT_REPORT_OUTCOMES_BY_KIND, from, "kind",
                        true, &o_kind)) < 0)
        goto fail;
    st = srm_db_stmt(db, SRM_STMT_REPORT_REPLY_RATE);
    if (st == NULL) {
        rc = -EIO;
        goto fail;
    }
    srm_db_bind_int64(st, ":from", from);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        total = sqlite3_column_int64(st, 0);
        replied = sqlite3_column_int64(st, 1);
    }
    srm_db_stmt_done(st);
    if (rc != SQLITE_ROW) {
        rc = srm_db_fail(db, rc, "report");
        goto fail;
    }
    json_array_foreach(o_kind, i, g) {
        o_count += json_integer_value(json_object_get(g, "count"));
        o_value += json_real_value(json_object_get(g, "value"));
    }
    job->result = json_pack(
        "{s:I, s:I, s:I,"
        " s:{s:I, s:o, s:o},"
        " s:{s:I, s:I, s:f},"
        " s:o,"
        " s:{s:I, s:f, s:o, s:o, s:o, s:o}}",
        "since_s", (json_int_t)since, "from", (json_int_t)from, "until",
        (json_int_t)job->now,
        "mentions", "total", (json_int_t)total, "by_network", by_net,
        "by_day", by_day,
        "replies", "total", (json_int_t)total, "replied",
        (json_int_t)replied, "rate",
        total ? (double)replied / (double)total : 0.0,
        "first_response", resp,
        "outcomes", "count", (json_int_t)o_count, "value", o_value,
        "by_kind", o_kind, "by_network", o_net, "by_source", o_src,
        "by_member", o_mem);
    return 0;
fail:
    json_decref(by_net);
    json_decref(by_day);
    json_decref(resp);
    json_decref(o_net);
    json_decref(o_src);
    json_decref(o_mem);
    json_decref(o_kind);
    return rc;
}

static void rt_report(struct srm_rpc_call *call, json_t *params)
{
    const char *since = NULL;
    int64_t secs = 30 * 86400;
    json_t *p;

    if (!srm_rpc_param_str(call, params, "since", false, &since))
        return;
    if (since != NULL && (srm_duration_parse(since, &secs) < 0 ||
                          secs <= 0)) {
        srm_rpc_fail(call, SRM_RPC_INVALID_PARAMS,
                     "invalid params: 'since' must be a duration like 30d, "
                     "12h or 90m");
        return;
    }
    p = json_deep_copy(params);
    json_object_set_new(p, "since_s", json_integer(secs));
    srm_rpc_read(call, p, rt_report_fn, NULL);
    json_decref(p);
}

const struct srm_rpc_method srm_rpc_team_methods[] = {
    {"watch", false, rt_watch},
    {"history", false, rt_history},
    {"outcomes.add", false, rt_outcome},
    {"report", false, rt_report},
    {NULL, false, NULL},
};
