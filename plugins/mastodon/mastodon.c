/* mastodon.c - Mastodon connector: entry, descriptor, passes, replies and
 * the user stream.
 *
 * A pass walks its "streams" one at a time: the mention notifications
 * (token only), each hashtag timeline, the v2 search (token only). Each
 * stream moves forward with min_id, never since_id: since_id answers the
 * newest page after the mark, so when more than a page arrived the older
 * part of the burst is skipped for good; min_id answers the page right after
 * the mark. Each page is emitted and then committed with cursor_set to the
 * page's highest id, so a failure later in the pass loses nothing already
 * fetched and a crash resumes from the last page committed.
 *
 * Requests are sequential: Mastodon counts every request carrying min_id
 * against a separate paging limit (300 per 15 min), so parallelism would
 * only make us hit it sooner.
 *
 * With a token the connector also listens to the user's notification
 * stream between passes (SRM_CAP_STREAM) so mentions show up within
 * seconds. The stream never moves a cursor: streams do not replay what was
 * missed while disconnected, so the REST cursors stay the source of truth
 * and the next pass fetches (and dedupes) anything the stream carried. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "mastodon_api.h"
#include "mastodon_stream.h"
#include "srm/plugin.h"

/* A page of 40 statuses is ~100 KB; 4 MiB leaves room for servers with
 * long posts, and caps what a broken server can make us hold. */
#define MASTO_MAX_BODY (4u << 20)
#define MASTO_PAGE_LIMIT 40    /* the API's maximum for statuses */
#define MASTO_ACCOUNTS_LIMIT 80
/* Pages per stream per pass: a source that fell far behind catches up over
 * several passes instead of spending the whole rate limit in one. */
#define MASTO_MAX_PAGES 50
#define MASTO_MAX_CONTACT_PAGES 1000
/* The stream is re-opened when it ends; an hour bounds a silently dead
 * connection. */
#define MASTO_STREAM_TIMEOUT_MS (3600u * 1000u)
#define MASTO_STREAM_MAX_BODY (1ull << 30)

enum masto_contacts {
    MASTO_C_FOLLOWERS = 1,
    MASTO_C_FOLLOWING = 2,
};

/* One forward-synced list of statuses with its own cursor. */
struct masto_feed {
    char *key;     /* cursor key: notif, tag:<tag>, search */
    char *matched; /* what the mentions are tagged with */
    char *url;     /* request URL without limit/min_id, ends with ? or & */
    enum masto_page_kind kind;
};

enum masto_phase {
    MASTO_PH_FEEDS,
    MASTO_PH_VERIFY,
    MASTO_PH_FOLLOWERS,
    MASTO_PH_FOLLOWING,
};

struct masto {
    struct srm_instance *inst;
    char *base_url; /* without a trailing slash */
    char *host_name;
    char *token;    /* NULL without one */
    struct masto_feed *feeds;
    size_t n_feeds;
    unsigned contacts; /* enum masto_contacts bits */
    int64_t contacts_every;
    int64_t backfill;
    bool stream_enabled;

    /* The pass in progress. */
    bool busy;
    enum masto_phase phase;
    size_t fi;       /* feed being walked */
    int pages;       /* pages of this feed this pass */
    char *mark;      /* min_id of the request in flight; NULL first run */
    size_t n_mentions, n_contacts;
    char *own_id;

    /* The user stream. */
    bool streaming;
    struct masto_sse sse;
    struct masto_seen seen;
};

struct masto_reply {
    struct masto *m;
    srm_reply_done_fn done;
    void *ud;
    char *visibility; /* of the reply posted */
};

static const struct srm_host_api *masto_host;

static const struct srm_cfg_field masto_schema[] = {
    {"base_url", SRM_CFG_URL, NULL, true,
     "the server, e.g. https://mastodon.social"},
    {"token", SRM_CFG_SECRET, NULL, false,
     "access token (read:notifications read:search read:accounts "
     "read:statuses write:statuses)"},
    {"hashtags", SRM_CFG_STRING_LIST, NULL, false,
     "hashtag timelines to follow, without the #"},
    {"query", SRM_CFG_STRING, NULL, false,
     "full-text status search (v2 search; needs token)"},
    {"notifications", SRM_CFG_BOOL, "true", false,
     "sync mentions of the token's account (skipped without a token)"},
    {"contacts", SRM_CFG_STRING, "none", false,
     "sync none, followers, following or both (needs token)"},
    {"contacts_every", SRM_CFG_DURATION, "1d", false,
     "how often to walk the follower/following lists"},
    {"backfill", SRM_CFG_INT, "40", false,
     "statuses taken per feed on the first pass, 0 to 40"},
    {"stream", SRM_CFG_BOOL, "true", false,
     "listen to the user stream between passes (needs token)"},
    {NULL, 0, NULL, false, NULL},
};

static void masto_done(struct srm_instance *inst,
                       const struct srm_http_resp *resp, void *ud);
static void masto_stream_open(struct masto *m);

/* ------------------------------------------------------------- lifecycle */

static void masto_destroy(void *vctx)
{
    struct masto *m = vctx;

    if (m == NULL)
        return;
    for (size_t i = 0; i < m->n_feeds; i++) {
        free(m->feeds[i].key);
        free(m->feeds[i].matched);
        free(m->feeds[i].url);
    }
    free(m->feeds);
    free(m->base_url);
    free(m->host_name);
    free(m->token);
    free(m->mark);
    free(m->own_id);
    masto_sse_fini(&m->sse);
    masto_seen_fini(&m->seen);
    free(m);
}

/* Append a feed; takes ownership of the three strings, even on failure. */
static int masto_feed_add(struct masto *m, char *key, char *matched,
                          char *url, enum masto_page_kind kind)
{
    struct masto_feed *nf;

    if (key == NULL || matched == NULL || url == NULL)
        goto fail;
    nf = realloc(m->feeds, (m->n_feeds + 1) * sizeof(*nf));
    if (nf == NULL)
        goto fail;
    m->feeds = nf;
    m->feeds[m->n_feeds++] = (struct masto_feed){key, matched, url, kind};
    return 0;
fail:
    free(key);
    free(matched);
    free(url);
    return -ENOMEM;
}

static char *masto_printf(const char *fmt, ...) SRM_PRINTF_LIKE(1, 2);

static char *masto_printf(const char *fmt, ...)
{
    va_list ap;
    char *s;

    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    return s;
}

static int masto_create(struct srm_instance *inst, void **ret_ctx)
{
    struct masto *m = calloc(1, sizeof(*m));
    const char *const *tags = NULL;
    const char *s;
    size_t n_tags;
    int rc = -ENOMEM;

    if (m == NULL)
        return -ENOMEM;
    m->inst = inst;
    masto_sse_init(&m->sse, NULL, NULL);

    s = masto_host->cfg_string(inst, "base_url");
    if (s == NULL || (m->host_name = masto_url_host(s)) == NULL) {
        masto_host->cfg_error(inst, "base_url",
                              "expected a server URL like "
                              "https://mastodon.social");
        rc = SRM_E_CONFIG;
        goto fail;
    }
    if ((m->base_url = strdup(s)) == NULL)
        goto fail;
    for (size_t n = strlen(m->base_url); n > 0 && m->base_url[n - 1] == '/';)
        m->base_url[--n] = '\0';
    s = masto_host->cfg_string(inst, "token");
    if (s != NULL && s[0] != '\0' && (m->token = strdup(s)) == NULL)
        goto fail;

    s = masto_host->cfg_string(inst, "contacts");
    if (s == NULL || strcmp(s, "none") == 0)
        m->contacts = 0;
    else if (strcmp(s, "followers") == 0)
        m->contacts = MASTO_C_FOLLOWERS;
    else if (strcmp(s, "following") == 0)
        m->contacts = MASTO_C_FOLLOWING;
    else if (strcmp(s, "both") == 0)
        m->contacts = MASTO_C_FOLLOWERS | MASTO_C_FOLLOWING;
    else {
        masto_host->cfg_error(inst, "contacts",
                              "expected none, followers, following or both");
        rc = SRM_E_CONFIG;
        goto fail;
    }
    if (m->contacts != 0 && m->token == NULL) {
        masto_host->cfg_error(inst, "contacts",
                              "syncing contacts needs a token");
        rc = SRM_E_CONFIG;
        goto fail;
    }
    m->contacts_every = masto_host->cfg_duration(inst, "contacts_every");
    m->backfill = masto_host->cfg_int(inst, "backfill");
    if (m->backfill < 0 || m->backfill > MASTO_PAGE_LIMIT) {
        masto_host->cfg_error(inst, "backfill", "must be 0 to %d",
                              MASTO_PAGE_LIMIT);
        rc = SRM_E_CONFIG;
        goto fail;
    }
    m->stream_enabled = m->token != NULL &&
                        masto_host->cfg_bool(inst, "stream");

    if (masto_host->cfg_bool(inst, "notifications")) {
        if (m->token != NULL) {
            rc = masto_feed_add(
                m, strdup("notif"), strdup("notifications"),
                masto_printf("%s/api/v1/notifications?types%%5B%%5D=mention"
                             "&include_filtered=true&",
                             m->base_url),
                MASTO_PAGE_NOTIFICATIONS);
            if (rc < 0)
                goto fail;
        } else {
            masto_host->log(inst, SRM_LOG_DEBUG,
                            "%s: no token: notifications skipped", __func__);
        }
    }
    n_tags = masto_host->cfg_list(inst, "hashtags", &tags);
    for (size_t i = 0; i < n_tags; i++) {
        const char *t = tags[i][0] == '#' ? tags[i] + 1 : tags[i];
        char *enc;
        if (t[0] == '\0') {
            masto_host->cfg_error(inst, "hashtags", "empty hashtag");
            rc = SRM_E_CONFIG;
            goto fail;
        }
        if ((enc = masto_url_encode(t)) == NULL)
            goto fail;
        rc = masto_feed_add(m, masto_printf("tag:%s", t),
                            masto_printf("#%s", t),
                            masto_printf("%s/api/v1/timelines/tag/%s?",
                                         m->base_url, enc),
                            MASTO_PAGE_STATUSES);
        free(enc);
        if (rc < 0)
            goto fail;
    }
    s = masto_host->cfg_string(inst, "query");
    if (s != NULL && s[0] != '\0') {
        char *enc;
        if (m->token == NULL) {
            masto_host->cfg_error(inst, "query",
                                  "status search needs a token");
            rc = SRM_E_CONFIG;
            goto fail;
        }
        if ((enc = masto_url_encode(s)) == NULL)
            goto fail;
        rc = masto_feed_add(m, strdup("search"), strdup(s),
                            masto_printf("%s/api/v2/search?q=%s&type=statuses"
                                         "&resolve=false&",
                                         m->base_url, enc),
                            MASTO_PAGE_SEARCH);
        free(enc);
        if (rc < 0)
            goto fail;
    }
    if (m->n_feeds == 0 && m->contacts == 0) {
        masto_host->cfg_error(inst, "token",
                              "nothing to sync: set token (for "
                              "notifications), hashtags or query");
        rc = SRM_E_CONFIG;
        goto fail;
    }
    *ret_ctx = m;
    return 0;
fail:
    masto_destroy(m);
    return rc;
}

/* ---------------------------------------------------------------- passes */

static struct masto_ctx masto_mapctx(struct masto *m)
{
    return (struct masto_ctx){.host = masto_host, .inst = m->inst,
                              .host_name = m->host_name, .seen = &m->seen};
}

static int masto_get(struct masto *m, const char *url)
{
    struct srm_http_req req = SRM_HTTP_REQ_INIT;
    static const char *const headers[] = {"Accept: application/json", NULL};

    req.url = url;
    req.headers = headers;
    req.bearer_token = m->token;
    req.max_body = MASTO_MAX_BODY;
    return masto_host->http_submit(m->inst, &req, masto_done, m);
}

/* Request the next page of the current feed, from its cursor. */
static int masto_feed_request(struct masto *m)
{
    struct masto_feed *f = &m->feeds[m->fi];
    char *url;
    int rc;

    if (m->mark != NULL)
        url = masto_printf("%slimit=%d&min_id=%s", f->url, MASTO_PAGE_LIMIT,
                           m->mark);
    else /* first run: the newest page; backfill 0 still needs one id */
        url = masto_printf("%slimit=%d", f->url,
                           m->backfill > 0 ? (int)m->backfill : 1);
    if (url == NULL)
        return -ENOMEM;
    rc = masto_get(m, url);
    free(url);
    return rc;
}

static int masto_feed_start(struct masto *m)
{
    const char *cur = masto_host->cursor_get(m->inst, m->feeds[m->fi].key);

    free(m->mark);
    m->mark = NULL;
    if (cur != NULL && (m->mark = strdup(cur)) == NULL)
        return -ENOMEM;
    m->pages = 0;
    return masto_feed_request(m);
}

static void masto_finish(struct masto *m, enum srm_pass_status st,
                         uint32_t retry, const char *fmt, ...)
    SRM_PRINTF_LIKE(4, 5);

static void masto_finish(struct masto *m, enum srm_pass_status st,
                         uint32_t retry, const char *fmt, ...)
{
    va_list ap;
    char *msg = NULL;

    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = NULL;
    va_end(ap);
    m->busy = false;
    /* srmd logs a failed pass with this reason; no second line here. */
    masto_host->pass_done(m->inst, st, retry, "%s",
                          msg != NULL ? msg : "out of memory");
    free(msg);
    /* Open (or re-open) the stream only after REST caught up, so that what
     * it missed while down has just been fetched. */
    if (st == SRM_PASS_OK && m->stream_enabled && !m->streaming)
        masto_stream_open(m);
}

/* Is it time to walk the contact lists again? */
static bool masto_contacts_due(struct masto *m)
{
    const char *at;

    if (m->contacts == 0)
        return false;
    at = masto_host->cursor_get(m->inst, "contacts_at");
    return at == NULL ||
           (int64_t)time(NULL) - strtoll(at, NULL, 10) >= m->contacts_every;
}

static void masto_finish_ok(struct masto *m)
{
    if (m->phase != MASTO_PH_FEEDS || m->n_contacts > 0)
        masto_finish(m, SRM_PASS_OK, 0, "%zu mentions from %zu feeds, "
                     "%zu contacts", m->n_mentions, m->n_feeds,
                     m->n_contacts);
    else
        masto_finish(m, SRM_PASS_OK, 0, "%zu mentions from %zu feeds",
                     m->n_mentions, m->n_feeds);
}

/* The current feed is done: the next one, then the contacts, then end. */
static void masto_next_feed(struct masto *m)
{
    char *url;
    int rc;

    if (++m->fi < m->n_feeds) {
        rc = masto_feed_start(m);
        if (rc < 0)
            masto_finish(m, SRM_PASS_ERROR, 0, "%s: cannot submit: %s",
                         m->feeds[m->fi].key, strerror(-rc));
        return;
    }
    if (!masto_contacts_due(m)) {
        masto_finish_ok(m);
        return;
    }
    m->phase = MASTO_PH_VERIFY;
    url = masto_printf("%s/api/v1/accounts/verify_credentials", m->base_url);
    rc = url != NULL ? masto_get(m, url) : -ENOMEM;
    free(url);
    if (rc < 0)
        masto_finish(m, SRM_PASS_ERROR, 0, "contacts: cannot submit: %s",
                     strerror(-rc));
}

/* Start walking followers (or following) of our own account. */
static int masto_contacts_list(struct masto *m, enum masto_phase ph)
{
    char *url;
    int rc;

    m->phase = ph;
    m->pages = 0;
    url = masto_printf("%s/api/v1/accounts/%s/%s?limit=%d", m->base_url,
                       m->own_id,
                       ph == MASTO_PH_FOLLOWERS ? "followers" : "following",
                       MASTO_ACCOUNTS_LIMIT);
    if (url == NULL)
        return -ENOMEM;
    rc = masto_get(m, url);
    free(url);
    return rc;
}

/* The next list to walk after phase ph, or finish. */
static void masto_contacts_next(struct masto *m, enum masto_phase ph)
{
    char now[32];
    int rc = 0;

    if (ph < MASTO_PH_FOLLOWERS && (m->contacts & MASTO_C_FOLLOWERS))
        rc = masto_contacts_list(m, MASTO_PH_FOLLOWERS);
    else if (ph < MASTO_PH_FOLLOWING && (m->contacts & MASTO_C_FOLLOWING))
        rc = masto_contacts_list(m, MASTO_PH_FOLLOWING);
    else {
        /* The walk is complete: commit it with its time. */
        snprintf(now, sizeof(now), "%" PRId64, (int64_t)time(NULL));
        masto_host->cursor_set(m->inst, "contacts_at", now);
        masto_finish_ok(m);
        return;
    }
    if (rc < 0)
        masto_finish(m, SRM_PASS_ERROR, 0, "contacts: cannot submit: %s",
                     strerror(-rc));
}

/* The "error" field of a JSON error body, into buf; "" when none. */
static void masto_error_text(const struct srm_http_resp *resp, char *buf,
                             size_t size)
{
    json_t *root = resp->body_len > 0
                       ? json_loadb(resp->body, resp->body_len, 0, NULL)
                       : NULL;
    const char *e = json_string_value(json_object_get(root, "error"));

    snprintf(buf, size, "%s", e != NULL ? e : "");
    json_decref(root);
}

/* Where the current request belongs, for messages. */
static const char *masto_where(struct masto *m)
{
    switch (m->phase) {
    case MASTO_PH_FEEDS: return m->feeds[m->fi].key;
    case MASTO_PH_VERIFY: return "verify_credentials";
    case MASTO_PH_FOLLOWERS: return "followers";
    case MASTO_PH_FOLLOWING: return "following";
    }
    return "?";
}

/* Statuses or notifications of the current feed: emit, commit, go on. */
static void masto_feed_page(struct masto *m, json_t *items)
{
    struct masto_feed *f = &m->feeds[m->fi];
    struct masto_ctx c = masto_mapctx(m);
    const char *max = NULL;
    /* A reply may come before its parent (pages run newest first), so the
     * parent is looked up in the whole page, not only in what was seen. */
    c.page = items;
    bool first = m->mark == NULL;
    json_t *it;
    size_t i;
    int rc;

    json_array_foreach(items, i, it) {
        const char *id = json_string_value(json_object_get(it, "id"));
        if (max == NULL || masto_id_cmp(id, max) > 0)
            max = id;
        if (first && m->backfill == 0)
            continue; /* only the position was wanted */
        json_t *st = it;
        if (f->kind == MASTO_PAGE_NOTIFICATIONS) {
            st = json_object_get(it, "status");
            if (strcmp(json_string_value(json_object_get(it, "type")),
                       "mention") != 0 ||
                !json_is_object(st))
                continue;
        }
        rc = masto_emit_status(&c, st, f->matched);
        if (rc < 0) {
            masto_finish(m, SRM_PASS_ERROR, 0, "%s: a record was refused: %s",
                         f->key, strerror(rc > -1000 ? -rc : EINVAL));
            return;
        }
        m->n_mentions++;
    }
    if (max == NULL) { /* caught up */
        masto_next_feed(m);
        return;
    }
    if (m->mark != NULL && masto_id_cmp(max, m->mark) <= 0) {
        /* A server that ignores min_id would loop forever. */
        masto_host->log(m->inst, SRM_LOG_WARNING,
                        "%s: page after %s holds nothing newer; the server "
                        "ignores min_id?", f->key, m->mark);
        masto_next_feed(m);
        return;
    }
    masto_host->cursor_set(m->inst, f->key, max);
    free(m->mark);
    m->mark = strdup(max);
    if (m->mark == NULL) {
        masto_finish(m, SRM_PASS_ERROR, 0, "out of memory");
        return;
    }
    if (first || ++m->pages >= MASTO_MAX_PAGES) {
        /* First run: the backfill page is all we take. Page cap: the rest
         * comes next pass, from the cursor just committed. */
        masto_next_feed(m);
        return;
    }
    rc = masto_feed_request(m);
    if (rc < 0)
        masto_finish(m, SRM_PASS_ERROR, 0, "%s: cannot submit: %s", f->key,
                     strerror(-rc));
}

static void masto_contacts_page(struct masto *m,
                                const struct srm_http_resp *resp,
                                json_t *items)
{
    struct masto_ctx c = masto_mapctx(m);
    enum srm_relation rel = m->phase == MASTO_PH_FOLLOWERS
                                ? SRM_REL_FOLLOWER
                                : SRM_REL_FOLLOWING;
    json_t *it;
    size_t i;
    int rc;

    json_array_foreach(items, i, it) {
        struct srm_contact ct = SRM_CONTACT_INIT;
        char *rid = NULL;
        rc = masto_emit_account(&c, it, &rid);
        if (rc == 0) {
            ct.remote_id = rid;
            ct.relation = rel;
            rc = masto_host->contact_add(m->inst, &ct);
        }
        free(rid);
        if (rc < 0) {
            masto_finish(m, SRM_PASS_ERROR, 0, "%s: a record was refused",
                         masto_where(m));
            return;
        }
        m->n_contacts++;
    }
    /* Follow lists page over ids the API does not expose: only the Link
     * header knows the next page. */
    char *next = masto_link_rel(masto_host->http_header(resp, "Link"),
                                "next");
    if (next != NULL && json_array_size(items) > 0 &&
        ++m->pages < MASTO_MAX_CONTACT_PAGES) {
        rc = masto_get(m, next);
        free(next);
        if (rc < 0)
            masto_finish(m, SRM_PASS_ERROR, 0, "%s: cannot submit: %s",
                         masto_where(m), strerror(-rc));
        return;
    }
    free(next);
    masto_contacts_next(m, m->phase);
}

static void masto_verified(struct masto *m, const struct srm_http_resp *resp)
{
    json_t *root = json_loadb(resp->body, resp->body_len, 0, NULL);
    const char *id = json_string_value(json_object_get(root, "id"));

    free(m->own_id);
    m->own_id = id != NULL ? masto_url_encode(id) : NULL;
    json_decref(root);
    if (m->own_id == NULL) {
        masto_finish(m, SRM_PASS_ERROR, 0,
                     "verify_credentials: no account id in the answer");
        return;
    }
    masto_contacts_next(m, MASTO_PH_VERIFY);
}

static void masto_done(struct srm_instance *inst,
                       const struct srm_http_resp *resp, void *ud)
{
    struct masto *m = ud;
    const char *where = masto_where(m);
    char etext[256];
    json_t *root = NULL, *items = NULL;
    char *err = NULL;
    int rc;

    (void)inst;
    if (resp->error == SRM_E_CANCELLED) {
        m->busy = false; /* the source is going away: no pass to end */
        return;
    }
    if (resp->status == 429 || resp->error == SRM_E_RATELIMIT ||
        (resp->status == 503 && resp->retry_after > 0)) {
        masto_finish(m, SRM_PASS_RETRY,
                     resp->retry_after > 0 ? (uint32_t)resp->retry_after : 0,
                     "%s: rate limited by %s (HTTP %ld)", where,
                     m->host_name, resp->status);
        return;
    }
    if (resp->error != 0) {
        masto_finish(m, SRM_PASS_ERROR, 0, "%s: %s", where,
                     resp->error_msg != NULL ? resp->error_msg
                                             : "request failed");
        return;
    }
    if (resp->status == 401 || resp->status == 403) {
        masto_error_text(resp, etext, sizeof(etext));
        masto_finish(m, SRM_PASS_AUTH_FAILED, 0,
                     "%s: token refused by %s: %s", where, m->host_name,
                     etext[0] != '\0' ? etext : "HTTP 401/403");
        return;
    }
    if (resp->status != 200) {
        masto_error_text(resp, etext, sizeof(etext));
        masto_finish(m, SRM_PASS_ERROR, 0, "%s: HTTP %ld from %s%s%s", where,
                     resp->status, m->host_name, etext[0] ? ": " : "",
                     etext);
        return;
    }
    if (m->phase == MASTO_PH_VERIFY) {
        masto_verified(m, resp);
        return;
    }
    rc = masto_page_parse(m->phase == MASTO_PH_FEEDS
                              ? m->feeds[m->fi].kind
                              : MASTO_PAGE_ACCOUNTS,
                          resp->body, resp->body_len, &root, &items, &err);
    if (rc < 0) {
        /* Nothing of this page was emitted and its cursor stays: the next
         * pass asks for the same page again. */
        masto_finish(m, SRM_PASS_ERROR, 0, "%s: %s", where,
                     err != NULL ? err : "out of memory");
        free(err);
        return;
    }
    if (m->phase == MASTO_PH_FEEDS)
        masto_feed_page(m, items);
    else
        masto_contacts_page(m, resp, items);
    json_decref(root);
}

static int masto_sync(void *vctx)
{
    struct masto *m = vctx;
    int rc;

    if (m->busy)
        return SRM_E_STATE;
    m->busy = true;
    m->phase = MASTO_PH_FEEDS;
    m->fi = 0;
    m->n_mentions = 0;
    m->n_contacts = 0;
    if (m->n_feeds == 0) {
        /* Contacts only: masto_next_feed sees fi == n_feeds. */
        m->fi = (size_t)-1;
        masto_next_feed(m);
        return 0;
    }
    rc = masto_feed_start(m);
    if (rc < 0)
        m->busy = false;
    return rc;
}

/* ---------------------------------------------------------------- stream */

static void masto_stream_status(struct masto *m, const char *data,
                                size_t len, bool is_notification)
{
    struct masto_ctx c = masto_mapctx(m);
    json_t *root = json_loadb(data, len, 0, NULL), *st = root;
    const char *matched = "notifications";
    char *err = NULL;

    if (root == NULL) {
        masto_host->log(m->inst, SRM_LOG_WARNING,
                        "stream: an event that is not JSON; ignored");
        return;
    }
    if (is_notification) {
        if (masto_notification_check(root, &err) < 0)
            goto bad;
        st = json_object_get(root, "status");
        if (strcmp(json_string_value(json_object_get(root, "type")),
                   "mention") != 0 ||
            !json_is_object(st))
            goto out;
    } else {
        /* An edit: only of a status we emitted; the home timeline's other
         * edits are not ours to record. */
        if (masto_status_check(root, &err) < 0)
            goto bad;
        const struct masto_seen_entry *e = masto_seen_get(
            &m->seen, json_string_value(json_object_get(root, "id")));
        if (e == NULL || e->own)
            goto out;
        matched = e->matched;
    }
    /* Copy: the entry may be replaced by the emit itself. */
    char *mcopy = matched != NULL ? strdup(matched) : NULL;
    if (masto_emit_status(&c, st, mcopy) < 0)
        masto_host->log(m->inst, SRM_LOG_WARNING,
                        "stream: a record was refused");
    free(mcopy);
    goto out;
bad:
    masto_host->log(m->inst, SRM_LOG_WARNING, "stream: %s; ignored",
                    err != NULL ? err : "out of memory");
    free(err);
out:
    json_decref(root);
}

static void masto_on_event(const char *event, const char *data, size_t len,
                           void *ud)
{
    struct masto *m = ud;

    if (strcmp(event, "notification") == 0) {
        masto_stream_status(m, data, len, true);
    } else if (strcmp(event, "status.update") == 0) {
        masto_stream_status(m, data, len, false);
    } else if (strcmp(event, "delete") == 0) {
        /* The payload is the bare status id (sometimes JSON-quoted). */
        char id[64];
        size_t n = len;
        if (n >= 2 && data[0] == '"' && data[n - 1] == '"') {
            data++;
            n -= 2;
        }
        if (n == 0 || n >= sizeof(id))
            return;
        memcpy(id, data, n);
        id[n] = '\0';
        struct masto_ctx c = masto_mapctx(m);
        if (!masto_emit_delete(&c, id))
            masto_host->log(m->inst, SRM_LOG_DEBUG,
                            "%s: delete of unknown status %s", __func__, id);
    } else {
        masto_host->log(m->inst, SRM_LOG_DEBUG, "%s: event '%s' ignored",
                        __func__, event);
    }
}

static bool masto_stream_data(struct srm_instance *inst, const char *data,
                              size_t len, void *ud)
{
    struct masto *m = ud;
    int rc = masto_sse_feed(&m->sse, data, len);

    if (rc < 0) {
        masto_host->log(inst, SRM_LOG_WARNING,
                        "stream: %s; dropping the connection",
                        rc == -E2BIG ? "an event over 1 MiB"
                                     : "out of memory");
        return false;
    }
    return true;
}

static void masto_stream_done(struct srm_instance *inst,
                              const struct srm_http_resp *resp, void *ud)
{
    struct masto *m = ud;

    m->streaming = false;
    if (resp->error == SRM_E_CANCELLED)
        return;
    if (resp->error != 0)
        masto_host->log(inst, SRM_LOG_NOTICE,
                        "stream ended: %s; polling continues, reconnecting "
                        "after the next pass",
                        resp->error_msg != NULL ? resp->error_msg : "error");
    else
        masto_host->log(inst, SRM_LOG_NOTICE,
                        "stream ended (HTTP %ld); polling continues, "
                        "reconnecting after the next pass", resp->status);
}

static void masto_stream_open(struct masto *m)
{
    struct srm_http_req req = SRM_HTTP_REQ_INIT;
    static const char *const headers[] = {"Accept: text/event-stream", NULL};
    char *url = masto_printf("%s/api/v1/streaming/user/notification",
                             m->base_url);
    int rc;

    if (url == NULL)
        return;
    masto_sse_reset(&m->sse);
    m->sse.on_event = masto_on_event;
    m->sse.ud = m;
    req.url = url;
    req.headers = headers;
    req.bearer_token = m->token;
    req.timeout_ms = MASTO_STREAM_TIMEOUT_MS;
    req.max_body = MASTO_STREAM_MAX_BODY;
    req.on_data = masto_stream_data;
    rc = masto_host->http_submit(m->inst, &req, masto_stream_done, m);
    free(url);
    if (rc < 0) {
        masto_host->log(m->inst, SRM_LOG_WARNING,
                        "stream: cannot open (%d); polling only", rc);
        return;
    }
    m->streaming = true;
}

/* ----------------------------------------------------------------- reply */

/* FNV-1a: the same reply to the same post gets the same Idempotency-Key,
 * so a retry after a lost answer does not post twice. */
static uint64_t masto_fnv(uint64_t h, const char *s)
{
    for (; s != NULL && *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ull;
    }
    return h * 0x100000001b3ull; /* separator */
}

static void masto_reply_done(struct srm_instance *inst,
                             const struct srm_http_resp *resp, void *ud)
{
    struct masto_reply *r = ud;
    json_t *root = NULL;
    char etext[256];

    if (resp->error != 0) {
        r->done(inst, resp->error,
                resp->error_msg != NULL ? resp->error_msg : "request failed",
                NULL, NULL, r->ud);
    } else if (resp->status == 401 || resp->status == 403) {
        masto_error_text(resp, etext, sizeof(etext));
        r->done(inst, SRM_E_AUTH, etext[0] != '\0' ? etext : "token refused",
                NULL, NULL, r->ud);
    } else if (resp->status == 429) {
        r->done(inst, SRM_E_RATELIMIT, "rate limited; try again later", NULL,
                NULL, r->ud);
    } else if (resp->status < 200 || resp->status > 299) {
        char msg[300];
        masto_error_text(resp, etext, sizeof(etext));
        snprintf(msg, sizeof(msg), "HTTP %ld%s%s", resp->status,
                 etext[0] ? ": " : "", etext);
        r->done(inst, SRM_E_HTTP, msg, NULL, NULL, r->ud);
    } else {
        root = json_loadb(resp->body, resp->body_len, 0, NULL);
        const char *uri = json_string_value(json_object_get(root, "uri"));
        const char *url = json_string_value(json_object_get(root, "url"));
        const char *id = json_string_value(json_object_get(root, "id"));
        if (uri == NULL) {
            r->done(inst, SRM_E_PARSE, "the server's answer has no uri",
                    NULL, NULL, r->ud);
        } else {
            /* An answer to our reply then names it (its uri is the
             * interaction srmd records) in reply_to. */
            if (id != NULL)
                masto_seen_put_own(&r->m->seen, id, uri, r->visibility);
            r->done(inst, 0, NULL, uri, url, r->ud);
        }
    }
    json_decref(root);
    free(r->visibility);
    free(r);
}

static int masto_reply(void *vctx, const struct srm_reply_req *req,
                       srm_reply_done_fn done, void *ud)
{
    struct masto *m = vctx;
    struct srm_http_req hreq = SRM_HTTP_REQ_INIT;
    struct masto_reply *r = NULL;
    const struct masto_seen_entry *seen;
    const char *vis = "public";
    char *text = NULL, *body = NULL, *url = NULL, *idem = NULL;
    const char *headers[3];
    json_t *obj = NULL;
    int rc = -ENOMEM;

    if (m->token == NULL) {
        /* The contract: a negative return, and done is not called. */
        masto_host->log(m->inst, SRM_LOG_WARNING, "replying needs a token");
        return SRM_E_NOTSUP;
    }
    if (req->reply_ref == NULL || req->reply_ref[0] == '\0' ||
        req->text == NULL)
        return -EINVAL;
    /* Keep a private conversation private: never widen the audience of
     * the post we answer. */
    seen = masto_seen_get(&m->seen, req->reply_ref);
    if (seen != NULL && seen->visibility != NULL &&
        (strcmp(seen->visibility, "unlisted") == 0 ||
         strcmp(seen->visibility, "private") == 0 ||
         strcmp(seen->visibility, "direct") == 0))
        vis = seen->visibility;
    /* Mastodon notifies only the accounts the text mentions. */
    if (req->author_handle != NULL && req->author_handle[0] != '\0' &&
        strstr(req->text, req->author_handle) == NULL)
        text = masto_printf("@%s %s", req->author_handle, req->text);
    else
        text = strdup(req->text);
    if (text == NULL)
        goto fail;
    obj = json_pack("{s:s, s:s, s:s}", "status", text, "in_reply_to_id",
                    req->reply_ref, "visibility", vis);
    if (obj == NULL || (body = json_dumps(obj, JSON_COMPACT)) == NULL)
        goto fail;
    uint64_t h = masto_fnv(0xcbf29ce484222325ull, req->reply_ref);
    h = masto_fnv(h, req->text);
    h = masto_fnv(h, req->member);
    idem = masto_printf("Idempotency-Key: srmd-%016" PRIx64, h);
    url = masto_printf("%s/api/v1/statuses", m->base_url);
    r = calloc(1, sizeof(*r));
    if (idem == NULL || url == NULL || r == NULL)
        goto fail;
    r->m = m;
    r->done = done;
    r->ud = ud;
    if ((r->visibility = strdup(vis)) == NULL)
        goto fail;
    headers[0] = "Content-Type: application/json";
    headers[1] = idem;
    headers[2] = NULL;
    hreq.method = "POST";
    hreq.url = url;
    hreq.headers = headers;
    hreq.body = body;
    hreq.body_len = strlen(body);
    hreq.bearer_token = m->token;
    hreq.max_body = MASTO_MAX_BODY;
    rc = masto_host->http_submit(m->inst, &hreq, masto_reply_done, r);
    if (rc == 0)
        r = NULL; /* masto_reply_done frees it */
fail:
    if (r != NULL)
        free(r->visibility);
    free(r);
    free(url);
    free(idem);
    free(body);
    free(text);
    json_decref(obj);
    return rc;
}

/* ------------------------------------------------------------ descriptor */

static const struct srm_plugin masto_plugin = {
    .abi_major = SRM_PLUGIN_ABI_MAJOR,
    .abi_minor = SRM_PLUGIN_ABI_MINOR,
    .struct_size = sizeof(struct srm_plugin),
    .name = "mastodon",
    .version = "1.1",
    .description = "Mastodon mentions, hashtags, search, followers and "
                   "replies, with the user stream",
    .capabilities = SRM_CAP_MENTIONS | SRM_CAP_CONTACTS | SRM_CAP_REPLY |
                    SRM_CAP_STREAM,
    .schema = masto_schema,
    .create = masto_create,
    .sync = masto_sync,
    .reply = masto_reply,
    .destroy = masto_destroy,
};

SRM_PLUGIN_EXPORT const struct srm_plugin *
srm_plugin_entry(const struct srm_host_api *host)
{
    if (host == NULL || host->abi_major != SRM_PLUGIN_ABI_MAJOR)
        return NULL;
    masto_host = host;
    return &masto_plugin;
}
