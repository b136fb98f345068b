/* inbox.c - routing new mentions, watch subscriptions, and the helpers the
 * inbox's RPC methods share. */
#include "inbox.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "config.h"
#include "daemon.h"
#include "db.h"
#include "log.h"
#include "mem.h"
#include "reader.h"
#include "err.h"
#include "rpc_job.h"
#include "writer.h"

/* ---- pure parts ---- */

static bool ib_has_tag(const struct srm_inbox_facts *f, const char *tag)
{
    for (size_t i = 0; i < f->n_tags; i++)
        if (f->tags[i] != NULL && strcasecmp(f->tags[i], tag) == 0)
            return true;
    return false;
}

bool srm_inbox_route_matches(const struct srm_inbox_route *r,
                             const struct srm_inbox_facts *f)
{
    if (!r->network && !r->source && !r->keyword && !r->tag)
        return false;
    if (r->network && (f->network == NULL ||
                       strcasecmp(r->network, f->network) != 0))
        return false;
    if (r->source && (f->source == NULL || strcmp(r->source, f->source) != 0))
        return false;
    if (r->keyword &&
        (r->keyword[0] == '\0' ||
         ((f->text == NULL || strcasestr(f->text, r->keyword) == NULL) &&
          (f->matched == NULL || strcasestr(f->matched, r->keyword) == NULL))))
        return false;
    if (r->tag && !ib_has_tag(f, r->tag))
        return false;
    return true;
}

int srm_inbox_route_pick(const struct srm_inbox_route *routes, size_t n,
                         const struct srm_inbox_facts *f)
{
    for (size_t i = 0; i < n; i++)
        if (srm_inbox_route_matches(&routes[i], f))
            return (int)i;
    return -1;
}

double srm_inbox_percentile(const double *sorted, size_t n, double p)
{
    double h, lo;
    size_t i;

    if (n == 0)
        return 0;
    if (p <= 0)
        return sorted[0];
    if (p >= 100)
        return sorted[n - 1];
    h = (double)(n - 1) * p / 100.0;
    lo = floor(h);
    i = (size_t)lo;
    if (i + 1 >= n)
        return sorted[n - 1];
    return sorted[i] + (h - lo) * (sorted[i + 1] - sorted[i]);
}

static bool ib_in(const char *s, const char *const *set)
{
    if (s == NULL)
        return false;
    for (; *set; set++)
        if (strcmp(s, *set) == 0)
            return true;
    return false;
}

bool srm_inbox_status_valid(const char *s)
{
    static const char *const st[] = {"new", "assigned", "replied", "done",
                                     "ignored", NULL};
    return ib_in(s, st);
}

bool srm_inbox_outcome_kind_valid(const char *s)
{
    static const char *const k[] = {"lead", "sale", "feedback", "advocate",
                                    "support", NULL};
    return ib_in(s, k);
}

/* ---- database helpers ---- */

json_t *srm_inbox_item_json(sqlite3_stmt *st)
{
    json_t *author = json_pack(
        "{s:o, s:o, s:o, s:o}", "identity_id", srm_rpc_col_int(st, 3),
        "person_id", srm_rpc_col_int(st, 4), "handle",
        srm_rpc_col_text(st, 5), "display_name", srm_rpc_col_text(st, 6));

    return json_pack(
        "{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
        "id", (json_int_t)sqlite3_column_int64(st, 0),
        "network", srm_rpc_col_text(st, 1),
        "source", srm_rpc_col_text(st, 2),
        "author", author,
        "text", srm_rpc_col_text(st, 7),
        "url", srm_rpc_col_text(st, 8),
        "created_at", srm_rpc_col_int(st, 9),
        "status", srm_rpc_col_text(st, 10),
        "assignee", srm_rpc_col_text(st, 11),
        "matched", srm_rpc_col_text(st, 12));
}

int srm_inbox_item_load(struct srm_db *db, int64_t id, json_t **ret)
{
    sqlite3_stmt *st = srm_db_stmt(db, SRM_STMT_INBOX_ITEM);
    int rc;

    *ret = NULL;
    if (st == NULL)
        return -EIO;
    srm_db_bind_int64(st, ":id", id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *ret = srm_inbox_item_json(st);
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        rc = -ENOENT;
    } else {
        rc = srm_db_fail(db, rc, "inbox item");
    }
    srm_db_stmt_done(st);
    return rc;
}

int srm_inbox_member_id(struct srm_db *db, const char *user, bool is_admin,
                        int64_t now, int64_t *ret_id)
{
    sqlite3_stmt *st = srm_db_stmt(db, SRM_STMT_INBOX_MEMBER_ID);
    int rc;

    if (st == NULL)
        return -EIO;
    srm_db_bind_text(st, ":user", user);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *ret_id = sqlite3_column_int64(st, 0);
        srm_db_stmt_done(st);
        return 0;
    }
    srm_db_stmt_done(st);
    if (rc != SQLITE_DONE)
        return srm_db_fail(db, rc, "member");
    st = srm_db_stmt(db, SRM_STMT_INBOX_MEMBER_ENSURE);
    if (st == NULL)
        return -EIO;
    srm_db_bind_text(st, ":user", user);
    srm_db_bind_int64(st, ":is_admin", is_admin);
    srm_db_bind_int64(st, ":now", now);
    rc = sqlite3_step(st);
    srm_db_stmt_done(st);
    if (rc != SQLITE_DONE)
        return srm_db_fail(db, rc, "member insert");
    *ret_id = sqlite3_last_insert_rowid(srm_db_handle(db));
    return 0;
}

int srm_inbox_audit(struct srm_db *db, int64_t at, const char *member,
                    const char *action, const char *object_type,
                    int64_t object_id, const json_t *detail)
{
    sqlite3_stmt *st = srm_db_stmt(db, SRM_STMT_INBOX_AUDIT);
    char *text = NULL;
    int rc;

    if (st == NULL)
        return -EIO;
    if (detail != NULL)
        text = json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS);
    srm_db_bind_int64(st, ":at", at);
    srm_db_bind_text(st, ":member", member);
    srm_db_bind_text(st, ":action", action);
    srm_db_bind_text(st, ":object_type", object_type);
    srm_db_bind_int64(st, ":object_id", object_id);
    srm_db_bind_text(st, ":detail", text);
    rc = sqlite3_step(st);
    srm_db_stmt_done(st);
    free(text);
    if (rc != SQLITE_DONE)
        return srm_db_fail(db, rc, "audit");
    return 0;
}

int srm_inbox_voices(struct srm_db *db, int64_t person_id,
                     int64_t mention_id, int64_t me_id, int64_t now,
                     json_t **ret_users)
{
    sqlite3_stmt *st = srm_db_stmt(db, SRM_STMT_INBOX_VOICES);
    json_t *users = json_array();
    int rc;

    *ret_users = NULL;
    if (st == NULL) {
        json_decref(users);
        return -EIO;
    }
    srm_db_bind_int64(st, ":person_id", person_id);
    srm_db_bind_int64(st, ":id", mention_id);
    srm_db_bind_int64(st, ":me", me_id);
    srm_db_bind_int64(st, ":since", now - SRM_INBOX_VOICE_WINDOW_S);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(users, srm_rpc_col_text(st, 0));
    srm_db_stmt_done(st);
    if (rc != SQLITE_DONE) {
        json_decref(users);
        return srm_db_fail(db, rc, "voices");
    }
    *ret_users = users;
    return 0;
}

/* ---- watch ---- */

struct ib_watcher {
    struct ib_watcher *next;
    struct srm_ctl_client *client;
    char *user;
    bool mine;
};

static struct ib_watcher *ib_watchers;

static void ib_unwatch(struct srm_ctl_client *client, void *ud)
{
    struct ib_watcher **pp = &ib_watchers;

    (void)ud;
    while (*pp) {
        struct ib_watcher *w = *pp;
        if (w->client == client) {
            *pp = w->next;
            free(w->user);
            free(w);
        } else {
            pp = &w->next;
        }
    }
}

void srm_inbox_watch(struct srm_ctl_client *client, const char *user,
                     bool mine)
{
    struct ib_watcher *w;

    for (w = ib_watchers; w; w = w->next)
        if (w->client == client) {
            w->mine = mine;
            return;
        }
    w = srm_xcalloc(1, sizeof(*w));
    w->client = client;
    w->user = srm_xstrdup(user);
    w->mine = mine;
    w->next = ib_watchers;
    ib_watchers = w;
    srm_ctl_client_on_close(client, ib_unwatch, NULL);
}

size_t srm_inbox_watchers(void)
{
    size_t n = 0;

    for (struct ib_watcher *w = ib_watchers; w; w = w->next)
        n++;
    return n;
}

static bool ib_is_mine(const struct ib_watcher *w, const json_t *item)
{
    const char *assignee =
        json_string_value(json_object_get(item, "assignee"));
    const char *status = json_string_value(json_object_get(item, "status"));

    if (assignee != NULL)
        return strcmp(assignee, w->user) == 0;
    return status != NULL && strcmp(status, "new") == 0;
}

void srm_inbox_notify(const json_t *item, const char *event)
{
    struct ib_watcher *w = ib_watchers, *next;

    /* notify may drop a client (full queue), which runs ib_unwatch and
     * frees w: take next first. A drop frees only that client's entry. */
    while (w) {
        json_t *params;

        next = w->next;
        if (!w->mine || ib_is_mine(w, item)) {
            params = json_deep_copy(item);
            json_object_set_new(params, "event", json_string(event));
            srm_ctl_client_notify(w->client, "mention", params);
        }
        w = next;
    }
}

/* ---- arrival: routing job, then one read for the watchers ---- */

struct ib_arrival {
    int64_t *ids;
    size_t n;
    int64_t source_id;
    int64_t now;
    struct srm_inbox_route *routes;
    size_t n_routes;
    json_t *items; /* read job's result */
};

static void ib_arrival_free(struct ib_arrival *a)
{
    for (size_t i = 0; i < a->n_routes; i++) {
        free(a->routes[i].network);
        free(a->routes[i].source);
        free(a->routes[i].keyword);
        free(a->routes[i].tag);
        free(a->routes[i].member);
    }
    free(a->routes);
    free(a->ids);
    json_decref(a->items);
    free(a);
}

static int ib_tags_load(struct srm_db *db, int64_t person_id, char ***ret,
                        size_t *ret_n)
{
    sqlite3_stmt *st = srm_db_stmt(db, SRM_STMT_INBOX_PERSON_TAGS);
    char **tags = NULL;
    size_t n = 0;
    int rc;

    *ret = NULL;
    *ret_n = 0;
    if (st == NULL)
        return -EIO;
    srm_db_bind_int64(st, ":person_id", person_id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        tags = srm_xreallocarray(tags, n + 1, sizeof(*tags));
        tags[n++] = srm_xstrdup((const char *)sqlite3_column_text(st, 0));
    }
    srm_db_stmt_done(st);
    *ret = tags;
    *ret_n = n;
    if (rc != SQLITE_DONE)
        return srm_db_fail(db, rc, "person tags");
    return 0;
}

static int ib_member_active(struct srm_db *db, const char *user,
                            int64_t *ret_id)
{
    sqlite3_stmt *st = srm_db_stmt(db, SRM_STMT_INBOX_MEMBER_ACTIVE);
    int rc;

    if (st == NULL)
        return -EIO;
    srm_db_bind_text(st, ":user", user);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *ret_id = sqlite3_column_int64(st, 0);
    srm_db_stmt_done(st);
    if (rc == SQLITE_ROW)
        return 0;
    return rc == SQLITE_DONE ? -ENOENT : srm_db_fail(db, rc, "member");
}

/* Route one mention: owner first, then the first matching rule. */
static int ib_route_one(struct srm_db *db, struct ib_arrival *a, int64_t id)
{
    sqlite3_stmt *st = srm_db_stmt(db, SRM_STMT_INBOX_ROUTE_FACTS);
    char *network = NULL, *source = NULL, *text = NULL, *owner = NULL;
    char *matched = NULL;
    char **tags = NULL;
    size_t n_tags = 0;
    int64_t person_id = 0, member_id = 0;
    json_t *detail = NULL;
    bool open;
    int rc, pick = -1;

    if (st == NULL)
        return -EIO;
    srm_db_bind_int64(st, ":id", id);
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        srm_db_stmt_done(st);
        return rc == SQLITE_DONE ? 0 : srm_db_fail(db, rc, "route facts");
    }
    open = strcmp((const char *)sqlite3_column_text(st, 0), "new") == 0 &&
           sqlite3_column_type(st, 1) == SQLITE_NULL;
    network = srm_xstrdup_or_null((const char *)sqlite3_column_text(st, 2));
    source = srm_xstrdup_or_null((const char *)sqlite3_column_text(st, 3));
    text = srm_xstrdup_or_null((const char *)sqlite3_column_text(st, 4));
    matched = srm_xstrdup_or_null((const char *)sqlite3_column_text(st, 8));
    person_id = sqlite3_column_int64(st, 5);
    if (sqlite3_column_type(st, 6) != SQLITE_NULL) {
        member_id = sqlite3_column_int64(st, 6);
        owner = srm_xstrdup_or_null((const char *)sqlite3_column_text(st, 7));
    }
    srm_db_stmt_done(st);
    if (!open)
        goto out;

    if (member_id != 0) {
        detail = json_pack("{s:s?, s:s}", "to", owner, "rule", "owner");
    } else {
        struct srm_inbox_facts f = {.network = network, .source = source,
                                    .text = text,
                                    .matched = matched};
        if (person_id != 0 &&
            (rc = ib_tags_load(db, person_id, &tags, &n_tags)) < 0)
            goto out;
        f.tags = (const char *const *)tags;
        f.n_tags = n_tags;
        for (size_t from = 0; from < a->n_routes;) {
            int k = srm_inbox_route_pick(a->routes + from,
                                         a->n_routes - from, &f);
            if (k < 0)
                break;
            pick = (int)from + k;
            rc = ib_member_active(db, a->routes[pick].member, &member_id);
            if (rc == 0)
                break;
            if (rc != -ENOENT)
                goto out;
            rc = 0;
            pick = -1;
            from = (size_t)(from + (size_t)k + 1);
        }
        if (pick < 0)
            goto out;
        detail = json_pack("{s:s, s:s, s:i, s:s?, s:s?, s:s?, s:s?}", "to",
                           a->routes[pick].member, "rule", "route", "route", pick,
                           "network", a->routes[pick].network, "source",
                           a->routes[pick].source, "keyword",
                           a->routes[pick].keyword, "tag",
                           a->routes[pick].tag);
    }
    st = srm_db_stmt(db, SRM_STMT_INBOX_ROUTE);
    if (st == NULL) {
        rc = -EIO;
        goto out;
    }
    srm_db_bind_int64(st, ":member_id", member_id);
    srm_db_bind_int64(st, ":now", a->now);
    srm_db_bind_int64(st, ":id", id);
    rc = sqlite3_step(st);
    srm_db_stmt_done(st);
    if (rc != SQLITE_DONE) {
        rc = srm_db_fail(db, rc, "route");
        goto out;
    }
    rc = 0;
    if (sqlite3_changes(srm_db_handle(db)) > 0)
        rc = srm_inbox_audit(db, a->now, "srmd", "routed", "mention", id,
                             detail);
out:
    json_decref(detail);
    for (size_t i = 0; i < n_tags; i++)
        free(tags[i]);
    free(tags);
    free(network);
    free(source);
    free(text);
    free(matched);
    free(owner);
    return rc;
}

static int ib_id_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* No routes configured: route only the arrivals whose person has an owner,
 * found in one range scan (a cold sync of 25,000 mentions spent 11% of the
 * writer's time looking up the facts of each one). */
static int ib_route_owned(struct srm_db *db, struct ib_arrival *a)
{
    sqlite3_stmt *st = srm_db_stmt(db, SRM_STMT_INBOX_OWNED_NEW);
    int64_t *owned = NULL;
    size_t n = 0, cap = 0;
    int rc;

    if (st == NULL)
        return -EIO;
    qsort(a->ids, a->n, sizeof(*a->ids), ib_id_cmp);
    srm_db_bind_int64(st, ":lo", a->ids[0]);
    srm_db_bind_int64(st, ":hi", a->ids[a->n - 1]);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        /* Ids of the range that are not this arrival's are not ours. */
        if (bsearch(&id, a->ids, a->n, sizeof(*a->ids), ib_id_cmp) == NULL)
            continue;
        if (n == cap) {
            cap = cap * 2 + 16;
            owned = srm_xreallocarray(owned, cap, sizeof(*owned));
        }
        owned[n++] = id;
    }
    srm_db_stmt_done(st);
    rc = rc == SQLITE_DONE ? 0 : srm_db_fail(db, rc, "owned mentions");
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = ib_route_one(db, a, owned[i]);
    free(owned);
    return rc;
}

static int ib_route_fn(struct srm_db *db, void *arg)
{
    struct ib_arrival *a = arg;
    int rc = 0;

    if (a->n_routes == 0)
        return ib_route_owned(db, a);
    for (size_t i = 0; rc == 0 && i < a->n; i++)
        rc = ib_route_one(db, a, a->ids[i]);
    return rc;
}

static int ib_items_fn(struct srm_db *db, void *arg)
{
    struct ib_arrival *a = arg;
    json_t *items = json_array();
    int rc = 0;

    for (size_t i = 0; i < a->n; i++) {
        json_t *item;
        rc = srm_inbox_item_load(db, a->ids[i], &item);
        if (rc == -ENOENT)
            continue;
        if (rc < 0)
            break;
        json_array_append_new(items, item);
        rc = 0;
    }
    a->items = items;
    return rc;
}

static void ib_items_done(void *arg, int status)
{
    struct ib_arrival *a = arg;
    size_t i;
    json_t *item;

    if (status < 0)
        SRM_WARNING("inbox: reading %zu new mentions for watchers: %s", a->n,
                    srm_strerror(status));
    else
        json_array_foreach(a->items, i, item)
            srm_inbox_notify(item, "new");
    ib_arrival_free(a);
}

static void ib_route_done(void *arg, int status)
{
    struct ib_arrival *a = arg;

    if (status < 0)
        SRM_WARNING("inbox: routing %zu new mentions: %s", a->n,
                    srm_strerror(status));
    if (srm_inbox_watchers() == 0 || srm_daemon_self == NULL ||
        srm_daemon_self->reader == NULL) {
        ib_arrival_free(a);
        return;
    }
    srm_reader_submit(srm_daemon_self->reader, ib_items_fn, ib_items_done, a);
}

void srm_inbox_new_mentions(const int64_t *ids, size_t n, int64_t source_id)
{
    struct srm_daemon *d = srm_daemon_self;
    const struct srm_config *c;
    struct ib_arrival *a;

    if (n == 0 || d == NULL || d->writer == NULL || d->stopping)
        return;
    c = d->cfg->config;
    a = srm_xcalloc(1, sizeof(*a));
    a->ids = srm_xreallocarray(NULL, n, sizeof(*a->ids));
    memcpy(a->ids, ids, n * sizeof(*ids));
    a->n = n;
    a->source_id = source_id;
    a->now = (int64_t)time(NULL);
    a->n_routes = c->n_routes;
    if (c->n_routes > 0)
        a->routes = srm_xcalloc(c->n_routes, sizeof(*a->routes));
    for (size_t i = 0; i < c->n_routes; i++) {
        const struct srm_route_cfg *r = &c->routes[i];
        a->routes[i].network = srm_xstrdup_or_null(r->network);
        a->routes[i].source = srm_xstrdup_or_null(r->source);
        a->routes[i].keyword = srm_xstrdup_or_null(r->keyword);
        a->routes[i].tag = srm_xstrdup_or_null(r->tag);
        a->routes[i].member = srm_xstrdup_or_null(r->member);
    }
    /* Background work: it joins the ingest's open transaction instead of
     * committing it early. */
    srm_writer_submit_bulk(d->writer, ib_route_fn, NULL, ib_route_done, a,
                           NULL, 0);
}
