/* bluesky.c - Bluesky connector (AT Protocol XRPC), NETWORKS.md §2.
 *
 * A pass runs as a chain of requests, one in flight at a time: session
 * (login once, refresh when the access token is near expiry), then each
 * query's searchPosts pages, then listNotifications, then the follower and
 * follow lists when contacts_every has passed, then getProfiles for the
 * accounts seen whose follower counts are not fresh. Each step commits its
 * records together with its cursor, so a failure later in the pass keeps
 * what earlier steps did.
 *
 * Follower counts: post views and follower lists name accounts without
 * counts, so their DIDs are queued (bluesky_profiles.h) and fetched 25 at a
 * time at the end of the pass, when every step's cursor is committed: a
 * getProfiles failure then only logs a warning and ends the pass OK, and
 * nothing of the steps waits for it. A DID counts as fresh only once the
 * pass that holds its identity ends OK (the records are committed with
 * pass_done); a pass cancelled meanwhile puts it back in the queue. At most
 * BS_PROFILE_MAX_REQUESTS requests a pass: the rest waits for later passes.
 *
 * The session lives in memory for the instance's lifetime: createSession is
 * limited to 30 per 5 minutes per account, so logging in per pass would
 * lock the account out of a short `every`. An expired access token comes
 * back as HTTP 400 ExpiredToken (the reference PDS) or 401; either gets one
 * refresh and one retry of the request that hit it.
 *
 * A reply is its own chain (struct bs_call) and may run beside a pass. */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bluesky_api.h"
#include "bluesky_profiles.h"
#include "srm/plugin.h"

#define BS_DEFAULT_BASE "https://public.api.bsky.app"
#define BS_DEFAULT_SERVICE "https://bsky.social"
#define BS_MAX_BODY (4u << 20)
/* A misbehaving server that keeps handing out cursors must not keep a
 * pass busy forever (NETWORKS.md §2.4: repeated cursors are not pinned). */
#define BS_MAX_PAGES 100
/* Refresh the access token when less than this is left. */
#define BS_REFRESH_MARGIN 300
/* search's since compares against min(createdAt, indexedAt), and a post is
 * indexed a little after it was written: look this far behind the newest
 * post committed. Re-fetched posts are upserts. */
#define BS_SEARCH_OVERLAP_MS (10 * 60 * 1000)
/* Follower counts change slowly: one refresh a day per account. */
#define BS_PROFILE_TTL (24 * 3600)
/* getProfiles requests per pass (25 accounts each): a first sync that
 * meets thousands of accounts spreads them over many passes. */
#define BS_PROFILE_MAX_REQUESTS 10

enum bs_contacts { BS_CONTACTS_NONE, BS_CONTACTS_FOLLOWERS,
                   BS_CONTACTS_FOLLOWS, BS_CONTACTS_BOTH };

/* What kind of request is in flight: decides how its errors read. */
enum bs_req { BS_REQ_LOGIN, BS_REQ_REFRESH, BS_REQ_READ, BS_REQ_SEARCH,
              BS_REQ_WRITE, BS_REQ_PROFILES };

enum bs_stage { BS_STAGE_SEARCH, BS_STAGE_NOTIF, BS_STAGE_FOLLOWERS,
                BS_STAGE_FOLLOWS, BS_STAGE_PROFILES, BS_STAGE_END };

struct bsky;
struct bs_call;
typedef void (*bs_json_fn)(struct bs_call *c, json_t *root);
typedef void (*bs_step_fn)(struct bs_call *c);

/* One chain of requests: the pass, or one reply. */
struct bs_call {
    struct bsky *b;
    bool is_reply;
    struct bs_call *next; /* replies in flight */

    /* The data request of the current step, kept for a retry after a
     * refresh. Login and refresh do not overwrite it. */
    enum bs_req kind;
    char *method, *url, *body;
    bs_json_fn on_json;
    bool retried;  /* this request already got its one refresh */
    bool relogged; /* this chain already logged in again */

    enum bs_req in_flight; /* what the outstanding request is */
    bs_step_fn resume;     /* where to go once the session is ready */
    long last_status;      /* HTTP status of its answer; 0 before one */

    /* Replies. */
    srm_reply_done_fn reply_done;
    void *reply_ud;
    char *text, *parent_uri, *parent_cid, *root_uri, *root_cid;
};

struct bsky {
    struct srm_instance *inst;
    char *base_url, *service, *identifier, *app_password;
    char **queries;
    size_t n_queries;
    bool notifications;
    enum bs_contacts contacts;
    int64_t contacts_every, backfill;

    /* The session, kept for the instance's life. */
    char *access_jwt, *refresh_jwt, *did, *handle;
    int64_t access_exp; /* Unix seconds, or -1 when unreadable */

    /* The pass in progress. */
    bool busy;
    struct bs_call pass;
    enum bs_stage stage;
    size_t qi;
    char *page_cursor;
    int pages;
    int64_t mark_ms;   /* stored position of the step (or its backfill) */
    int64_t since_ms;  /* search window start */
    int64_t newest_ms; /* newest time seen in the step, or -1 */
    size_t n_mentions, n_contacts;
    bool contacts_run; /* the contact lists are walked this pass */

    /* Follower counts. The DID pointers are borrowed from profiles. */
    struct bsky_profiles profiles;
    const char *profile_batch[BSKY_PROFILES_BATCH]; /* in the request */
    size_t n_profile_batch;
    /* Fetched this pass: fresh once pass_done(OK) has committed them. */
    const char *profile_done[BS_PROFILE_MAX_REQUESTS * BSKY_PROFILES_BATCH];
    size_t n_profile_done;
    int profile_requests; /* getProfiles requests this pass */
    size_t n_profiles;    /* identities refreshed this pass */

    struct bs_call *replies;
};

static const struct srm_host_api *bs_host;

static const struct srm_cfg_field bs_schema[] = {
    {"base_url", SRM_CFG_URL, BS_DEFAULT_BASE, false,
     "AppView for public reads (used without a session)"},
    {"service", SRM_CFG_URL, BS_DEFAULT_SERVICE, false,
     "PDS or entryway for logged-in calls"},
    {"identifier", SRM_CFG_STRING, NULL, false,
     "handle or email of the account to log in with"},
    {"app_password", SRM_CFG_SECRET, NULL, false,
     "an app password (Settings > App passwords), not the account password"},
    {"query", SRM_CFG_STRING_LIST, NULL, false,
     "searchPosts queries; default: listen.keywords"},
    {"notifications", SRM_CFG_BOOL, "true", false,
     "sync mentions, replies and quotes of the account (needs a session)"},
    {"contacts", SRM_CFG_STRING, "none", false,
     "sync the account's followers, follows, both or none"},
    {"contacts_every", SRM_CFG_DURATION, "1d", false,
     "how often the contact lists are walked"},
    {"backfill", SRM_CFG_DURATION, "1d", false,
     "how far back the first search and notification walk look"},
    {NULL, 0, NULL, false, NULL},
};

static void bs_search_start(struct bs_call *c);
static void bs_stage_run(struct bs_call *c);
static void bs_done(struct srm_instance *inst,
                    const struct srm_http_resp *resp, void *ud);

/* ---------------------------------------------------------------------
 * Instance.
 */

static bool bs_has_login(const struct bsky *b)
{
    return b->identifier != NULL && b->app_password != NULL;
}

static void bs_session_clear(struct bsky *b)
{
    free(b->access_jwt);
    free(b->refresh_jwt);
    free(b->did);
    free(b->handle);
    b->access_jwt = b->refresh_jwt = b->did = b->handle = NULL;
    b->access_exp = -1;
}

static void bs_call_clear(struct bs_call *c)
{
    free(c->method);
    free(c->url);
    free(c->body);
    c->method = c->url = c->body = NULL;
}

static void bs_reply_free(struct bs_call *c)
{
    bs_call_clear(c);
    free(c->text);
    free(c->parent_uri);
    free(c->parent_cid);
    free(c->root_uri);
    free(c->root_cid);
    free(c);
}

static void bs_destroy(void *vctx)
{
    struct bsky *b = vctx;

    if (b == NULL)
        return;
    while (b->replies != NULL) {
        struct bs_call *c = b->replies;
        b->replies = c->next;
        bs_reply_free(c);
    }
    bs_call_clear(&b->pass);
    bs_session_clear(b);
    bsky_profiles_fini(&b->profiles);
    for (size_t i = 0; i < b->n_queries; i++)
        free(b->queries[i]);
    free(b->queries);
    free(b->page_cursor);
    free(b->base_url);
    free(b->service);
    free(b->identifier);
    free(b->app_password);
    free(b);
}

/* A URL without its trailing slashes, so paths never double up. */
static char *bs_base(const char *url)
{
    size_t n = strlen(url);

    while (n > 0 && url[n - 1] == '/')
        n--;
    return strndup(url, n);
}

static int bs_create(struct srm_instance *inst, void **ret_ctx)
{
    struct bsky *b = calloc(1, sizeof(*b));
    const char *const *items = NULL;
    const char *s;
    size_t n;
    int rc = -ENOMEM;

    if (b == NULL)
        return -ENOMEM;
    b->inst = inst;
    b->access_exp = -1;
    b->pass.b = b;
    bsky_profiles_init(&b->profiles, BS_PROFILE_TTL);
    b->base_url = bs_base(bs_host->cfg_string(inst, "base_url") ?: BS_DEFAULT_BASE);
    b->service = bs_base(bs_host->cfg_string(inst, "service") ?: BS_DEFAULT_SERVICE);
    if (b->base_url == NULL || b->service == NULL)
        goto fail;
    s = bs_host->cfg_string(inst, "identifier");
    if (s != NULL && s[0] != '\0' && (b->identifier = strdup(s)) == NULL)
        goto fail;
    s = bs_host->cfg_string(inst, "app_password");
    if (s != NULL && s[0] != '\0' && (b->app_password = strdup(s)) == NULL)
        goto fail;
    if ((b->identifier == NULL) != (b->app_password == NULL)) {
        bs_host->cfg_error(inst,
                           b->identifier == NULL ? "identifier"
                                                 : "app_password",
                           "identifier and app_password go together");
        rc = SRM_E_CONFIG;
        goto fail;
    }
    n = bs_host->cfg_list(inst, "query", &items);
    if (n == 0)
        n = bs_host->listen_keywords(inst, &items);
    if (n > 0 && (b->queries = calloc(n, sizeof(*b->queries))) == NULL)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        if ((b->queries[i] = strdup(items[i])) == NULL)
            goto fail;
        b->n_queries++;
    }
    b->notifications = bs_host->cfg_bool(inst, "notifications");
    s = bs_host->cfg_string(inst, "contacts");
    if (s == NULL || strcmp(s, "none") == 0) {
        b->contacts = BS_CONTACTS_NONE;
    } else if (strcmp(s, "followers") == 0) {
        b->contacts = BS_CONTACTS_FOLLOWERS;
    } else if (strcmp(s, "follows") == 0) {
        b->contacts = BS_CONTACTS_FOLLOWS;
    } else if (strcmp(s, "both") == 0) {
        b->contacts = BS_CONTACTS_BOTH;
    } else {
        bs_host->cfg_error(inst, "contacts",
                           "expected none, followers, follows or both");
        rc = SRM_E_CONFIG;
        goto fail;
    }
    if (b->contacts != BS_CONTACTS_NONE && b->identifier == NULL) {
        bs_host->cfg_error(inst, "contacts",
                           "needs identifier (whose contacts to walk)");
        rc = SRM_E_CONFIG;
        goto fail;
    }
    b->contacts_every = bs_host->cfg_duration(inst, "contacts_every");
    b->backfill = bs_host->cfg_duration(inst, "backfill");
    if (b->n_queries == 0 && !(b->notifications && bs_has_login(b)) &&
        b->contacts == BS_CONTACTS_NONE) {
        bs_host->cfg_error(inst, "query",
                           "nothing to sync: set query or listen.keywords, "
                           "or identifier and app_password for "
                           "notifications");
        rc = SRM_E_CONFIG;
        goto fail;
    }
    *ret_ctx = b;
    return 0;
fail:
    bs_destroy(b);
    return rc;
}

/* ---------------------------------------------------------------------
 * Ending a chain.
 */

static int bs_status_err(enum srm_pass_status st)
{
    switch (st) {
    case SRM_PASS_RETRY:
        return SRM_E_RATELIMIT;
    case SRM_PASS_AUTH_FAILED:
        return SRM_E_AUTH;
    case SRM_PASS_BAD_CONFIG:
        return SRM_E_CONFIG;
    default:
        return SRM_E_HTTP;
    }
}

static void bs_reply_unlink(struct bs_call *c)
{
    for (struct bs_call **pp = &c->b->replies; *pp != NULL;
         pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            return;
        }
    }
}

/* The DIDs of the getProfiles request go back to their queue. blame: the
 * answer was about them (a 4xx, a malformed body), not a passing trouble
 * of the server or the network. */
static void bs_profiles_requeue_batch(struct bsky *b, bool blame)
{
    bsky_profiles_again(&b->profiles, b->profile_batch, b->n_profile_batch,
                        blame, (int64_t)time(NULL));
    b->n_profile_batch = 0;
}

/* The pass ends without committing its records: the identities fetched
 * for it were discarded, so their DIDs must be fetched again. */
static void bs_profiles_abandon(struct bsky *b)
{
    bs_profiles_requeue_batch(b, false);
    bsky_profiles_again(&b->profiles, b->profile_done, b->n_profile_done,
                        false, (int64_t)time(NULL));
    b->n_profile_done = 0;
}

/* Did the getProfiles request itself fail because of what it asked (a
 * 4xx, or a 200 that is not a getProfiles answer)? Not when the session
 * step, the network or a rate limit failed it. */
static bool bs_profiles_blamed(const struct bs_call *c)
{
    long status = c->last_status;

    if (c->in_flight != BS_REQ_PROFILES)
        return false;
    if (status == 200)
        return true;
    return status >= 400 && status < 500 && status != 401 &&
           status != 403 && status != 408 && status != 429;
}

static void bs_end(struct bs_call *c, enum srm_pass_status st,
                   uint32_t retry, const char *fmt, ...) SRM_PRINTF_LIKE(4, 5);

/* End the chain with a failure: the pass with st, or the reply with the
 * matching srm_err. Records since the last cursor_set are discarded by the
 * host, so the failed step's cursor stays where it was. */
static void bs_end(struct bs_call *c, enum srm_pass_status st,
                   uint32_t retry, const char *fmt, ...)
{
    struct bsky *b = c->b;
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (!c->is_reply && b->stage == BS_STAGE_PROFILES) {
        /* Counts are an extra: every step's records and cursor are
         * committed already, so the pass still ends OK. */
        bs_host->log(b->inst, SRM_LOG_WARNING,
                     "sync: %s; follower counts of %zu accounts wait for a "
                     "later pass",
                     msg,
                     b->n_profile_batch + bsky_profiles_queued(&b->profiles));
        bs_profiles_requeue_batch(b, bs_profiles_blamed(c));
        b->stage = BS_STAGE_END;
        bs_stage_run(c);
        return;
    }
    bs_host->log(b->inst, st == SRM_PASS_RETRY ? SRM_LOG_WARNING
                                               : SRM_LOG_ERROR,
                 "%s: %s", c->is_reply ? "reply" : "sync", msg);
    if (c->is_reply) {
        bs_reply_unlink(c);
        c->reply_done(b->inst, bs_status_err(st), msg, NULL, NULL,
                      c->reply_ud);
        bs_reply_free(c);
        return;
    }
    bs_profiles_abandon(b);
    bs_call_clear(c);
    b->busy = false;
    bs_host->pass_done(b->inst, st, retry, "%s", msg);
}

/* ---------------------------------------------------------------------
 * Requests.
 */

static const char *bs_read_host(const struct bsky *b)
{
    return b->access_jwt != NULL ? b->service : b->base_url;
}

/* The NSID of a URL, for messages: what follows "/xrpc/" up to '?'. */
static void bs_nsid(const char *url, char *buf, size_t size)
{
    const char *p = url != NULL ? strstr(url, "/xrpc/") : NULL;

    if (p == NULL) {
        snprintf(buf, size, "%s", url != NULL ? url : "?");
        return;
    }
    p += 6;
    snprintf(buf, size, "%.*s", (int)strcspn(p, "?"), p);
}

static void bs_submit(struct bs_call *c, enum bs_req kind, const char *method,
                      const char *url, const char *body)
{
    static const char *const get_headers[] = {"Accept: application/json",
                                              NULL};
    static const char *const post_headers[] = {
        "Accept: application/json", "Content-Type: application/json", NULL};
    struct srm_http_req req = SRM_HTTP_REQ_INIT;
    struct bsky *b = c->b;
    int rc;

    req.method = method;
    req.url = url;
    req.headers = body != NULL ? post_headers : get_headers;
    req.body = body;
    req.body_len = body != NULL ? strlen(body) : 0;
    req.max_body = BS_MAX_BODY;
    if (kind == BS_REQ_REFRESH)
        req.bearer_token = b->refresh_jwt;
    else if (kind != BS_REQ_LOGIN)
        req.bearer_token = b->access_jwt;
    c->in_flight = kind;
    c->last_status = 0;
    rc = bs_host->http_submit(b->inst, &req, bs_done, c);
    if (rc < 0)
        bs_end(c, SRM_PASS_ERROR, 0, "could not submit a request (%d)", rc);
}

/* Make url (and body) the chain's current data request and send it.
 * Takes ownership of url and body, also on failure. */
static void bs_request(struct bs_call *c, enum bs_req kind, const char *method,
                       char *url, char *body, bs_json_fn on_json)
{
    bs_call_clear(c);
    c->kind = kind;
    c->url = url;
    c->body = body;
    c->method = strdup(method);
    c->on_json = on_json;
    c->retried = false;
    if (url == NULL || c->method == NULL) {
        bs_end(c, SRM_PASS_ERROR, 0, "out of memory");
        return;
    }
    bs_submit(c, kind, c->method, c->url, c->body);
}

static void bs_resend(struct bs_call *c)
{
    bs_submit(c, c->kind, c->method, c->url, c->body);
}

static void bs_on_session(struct bs_call *c, json_t *root);

static void bs_login(struct bs_call *c)
{
    struct bsky *b = c->b;
    char *url = NULL, *body = NULL;
    json_t *j;

    j = json_pack("{s:s, s:s}", "identifier", b->identifier, "password",
                  b->app_password);
    body = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (body == NULL ||
        asprintf(&url, "%s/xrpc/com.atproto.server.createSession",
                 b->service) < 0) {
        free(body);
        bs_end(c, SRM_PASS_ERROR, 0, "out of memory");
        return;
    }
    bs_host->log(b->inst, SRM_LOG_INFO, "logging in as %s", b->identifier);
    bs_submit(c, BS_REQ_LOGIN, "POST", url, body);
    /* The request was copied by the host. The body held the password. */
    explicit_bzero(body, strlen(body));
    free(body);
    free(url);
}

static void bs_refresh(struct bs_call *c)
{
    char *url = NULL;

    if (asprintf(&url, "%s/xrpc/com.atproto.server.refreshSession",
                 c->b->service) < 0) {
        bs_end(c, SRM_PASS_ERROR, 0, "out of memory");
        return;
    }
    bs_submit(c, BS_REQ_REFRESH, "POST", url, NULL);
    free(url);
}

/* createSession and refreshSession answer the same shape. */
static void bs_on_session(struct bs_call *c, json_t *root)
{
    struct bsky *b = c->b;
    const char *access = json_string_value(json_object_get(root, "accessJwt"));
    const char *refresh =
        json_string_value(json_object_get(root, "refreshJwt"));
    const char *did = json_string_value(json_object_get(root, "did"));
    const char *handle = json_string_value(json_object_get(root, "handle"));

    if (access == NULL || refresh == NULL || did == NULL || handle == NULL) {
        bs_end(c, SRM_PASS_ERROR, 0,
               "session response lacks accessJwt, refreshJwt, did or "
               "handle");
        return;
    }
    bs_session_clear(b);
    b->access_jwt = strdup(access);
    b->refresh_jwt = strdup(refresh);
    b->did = strdup(did);
    b->handle = strdup(handle);
    if (b->access_jwt == NULL || b->refresh_jwt == NULL || b->did == NULL ||
        b->handle == NULL) {
        bs_session_clear(b);
        bs_end(c, SRM_PASS_ERROR, 0, "out of memory");
        return;
    }
    b->access_exp = bsky_api_jwt_exp(access);
    bs_host->log(b->inst, SRM_LOG_DEBUG, "%s: session for %s (%s)", __func__,
                 b->handle, b->did);
    c->resume(c);
}

/* Run next once the chain has a usable session (or needs none). */
static void bs_with_session(struct bs_call *c, bs_step_fn next)
{
    struct bsky *b = c->b;

    c->resume = next;
    if (!bs_has_login(b)) {
        next(c);
    } else if (b->access_jwt == NULL) {
        bs_login(c);
    } else if (b->access_exp >= 0 &&
               b->access_exp - (int64_t)time(NULL) < BS_REFRESH_MARGIN) {
        bs_refresh(c);
    } else {
        next(c);
    }
}

/* The XRPC error name and message of a body, when it is JSON. */
static void bs_xrpc_error(json_t *root, const char **ret_name,
                          const char **ret_msg)
{
    *ret_name = json_string_value(json_object_get(root, "error"));
    *ret_msg = json_string_value(json_object_get(root, "message"));
}

static void bs_done(struct srm_instance *inst,
                    const struct srm_http_resp *resp, void *ud)
{
    struct bs_call *c = ud;
    struct bsky *b = c->b;
    enum bs_req kind = c->in_flight;
    const char *ename = NULL, *emsg = NULL;
    json_error_t jerr;
    json_t *root = NULL;
    char nsid[128];

    (void)inst;
    if (resp->error == SRM_E_CANCELLED) {
        /* The source is going away: no pass to end. */
        if (c->is_reply) {
            bs_reply_unlink(c);
            c->reply_done(b->inst, SRM_E_CANCELLED, "cancelled", NULL, NULL,
                          c->reply_ud);
            bs_reply_free(c);
        } else {
            /* The pass's uncommitted records are dropped with it. */
            bs_profiles_abandon(b);
            b->busy = false;
        }
        return;
    }
    c->last_status = resp->status;
    bs_nsid(resp->effective_url != NULL ? resp->effective_url
            : kind == BS_REQ_LOGIN      ? "/xrpc/com.atproto.server.createSession"
            : kind == BS_REQ_REFRESH ? "/xrpc/com.atproto.server.refreshSession"
                                     : c->url,
            nsid, sizeof(nsid));
    if (resp->status == 429 || resp->error == SRM_E_RATELIMIT) {
        bs_end(c, SRM_PASS_RETRY,
               resp->retry_after > 0 ? (uint32_t)resp->retry_after : 0,
               "%s: rate limited (HTTP %ld)", nsid, resp->status);
        return;
    }
    if (resp->error != 0) {
        bs_end(c, SRM_PASS_ERROR, 0, "%s: %s", nsid,
               resp->error_msg != NULL ? resp->error_msg : "request failed");
        return;
    }
    if (resp->body != NULL)
        root = json_loadb(resp->body, resp->body_len, 0, &jerr);
    if (resp->status == 200) {
        if (!json_is_object(root)) {
            bs_end(c, SRM_PASS_ERROR, 0, "%s: malformed JSON%s%s", nsid,
                   root == NULL ? ": " : " (not an object)",
                   root == NULL ? jerr.text : "");
            goto out;
        }
        if (kind == BS_REQ_LOGIN || kind == BS_REQ_REFRESH)
            bs_on_session(c, root);
        else
            c->on_json(c, root);
        goto out;
    }

    bs_xrpc_error(root, &ename, &emsg);
    if (ename == NULL)
        ename = "";
    if (emsg == NULL)
        emsg = ename[0] != '\0' ? ename : "no message";
    switch (kind) {
    case BS_REQ_LOGIN:
        if (resp->status == 400 || resp->status == 401 ||
            resp->status == 403) {
            bs_end(c, SRM_PASS_AUTH_FAILED, 0,
                   "login as %s refused (HTTP %ld %s): %s; check identifier "
                   "and app_password",
                   b->identifier, resp->status, ename, emsg);
            goto out;
        }
        break;
    case BS_REQ_REFRESH:
        if (resp->status == 400 || resp->status == 401) {
            /* The refresh token expired or was revoked: log in again,
             * once per chain, so a broken account cannot burn the
             * createSession budget. */
            bs_session_clear(b);
            if (!c->relogged) {
                c->relogged = true;
                bs_login(c);
            } else {
                bs_end(c, SRM_PASS_AUTH_FAILED, 0,
                       "session refresh refused (HTTP %ld %s): %s",
                       resp->status, ename, emsg);
            }
            goto out;
        }
        break;
    case BS_REQ_READ:
    case BS_REQ_SEARCH:
    case BS_REQ_WRITE:
    case BS_REQ_PROFILES:
        if (b->access_jwt != NULL && !c->retried &&
            ((resp->status == 400 && strcmp(ename, "ExpiredToken") == 0) ||
             resp->status == 401)) {
            c->retried = true;
            c->resume = bs_resend;
            bs_refresh(c);
            goto out;
        }
        if (kind == BS_REQ_SEARCH && resp->status == 403 &&
            b->access_jwt == NULL) {
            bs_end(c, SRM_PASS_ERROR, 0,
                   "%s: HTTP 403 (%s): search needs a session: set "
                   "identifier and app_password",
                   nsid, emsg);
            goto out;
        }
        /* A token refused again right after a refresh will not get
         * better by itself. */
        if (resp->status == 401 || resp->status == 403 ||
            strcmp(ename, "ExpiredToken") == 0 ||
            strcmp(ename, "InvalidToken") == 0) {
            bs_end(c, SRM_PASS_AUTH_FAILED, 0, "%s: HTTP %ld %s: %s", nsid,
                   resp->status, ename, emsg);
            goto out;
        }
        break;
    }
    bs_end(c, SRM_PASS_ERROR, 0, "%s: HTTP %ld %s%s%s", nsid, resp->status,
           ename, ename[0] != '\0' ? ": " : "", emsg);
out:
    json_decref(root);
}

/* ---------------------------------------------------------------------
 * Follower counts: queueing the accounts a page named.
 */

/* Queue did for getProfiles unless the view it came in had counts. */
static void bs_profile_want(struct bsky *b, const char *did, bool has_counts,
                            enum bsky_profile_prio prio)
{
    if (has_counts || did == NULL)
        return;
    /* Out of memory costs only a refresh of counts; the records of the
     * page do not depend on it. */
    if (bsky_profiles_want(&b->profiles, did, prio, (int64_t)time(NULL)) < 0)
        bs_host->log(b->inst, SRM_LOG_DEBUG,
                     "%s: out of memory; counts of %s not refreshed",
                     __func__, did);
}

/* The author of a checked post. */
static void bs_profile_want_author(struct bsky *b, const struct bsky_post *p)
{
    bs_profile_want(b, json_string_value(json_object_get(p->author, "did")),
                    json_is_integer(json_object_get(p->author,
                                                    "followersCount")),
                    BSKY_PROFILE_AUTHOR);
}

/* ---------------------------------------------------------------------
 * The pass: search.
 */

/* A URL builder: base + path, then params appended by the caller. */
static FILE *bs_url_open(char **ret_url, size_t *ret_len, const char *host,
                         const char *nsid)
{
    FILE *f = open_memstream(ret_url, ret_len);

    if (f != NULL)
        fprintf(f, "%s/xrpc/%s?", host, nsid);
    return f;
}

/* The URL written so far; the memstream sets *url only when closed. */
static char *bs_url_close(FILE *f, char **url)
{
    if (fclose(f) != 0) {
        free(*url);
        return NULL;
    }
    return *url;
}

static void bs_key(char *buf, size_t size, const char *query)
{
    snprintf(buf, size, "q:%s", query);
}

static int bs_page_cursor(struct bs_call *c, json_t *root,
                          const char **ret_next)
{
    json_t *cur = json_object_get(root, "cursor");

    *ret_next = NULL;
    if (cur == NULL || json_is_null(cur))
        return 0;
    if (!json_is_string(cur))
        return SRM_E_PARSE;
    /* A repeated cursor would loop; stop as if there were no more. */
    if (json_string_length(cur) > 0 &&
        (c->b->page_cursor == NULL ||
         strcmp(c->b->page_cursor, json_string_value(cur)) != 0))
        *ret_next = json_string_value(cur);
    return 0;
}

static void bs_search_request(struct bs_call *c);

static void bs_search_page(struct bs_call *c, json_t *root)
{
    struct bsky *b = c->b;
    json_t *posts = json_object_get(root, "posts");
    struct bsky_post *parsed = NULL;
    const char *bad = NULL, *next = NULL;
    size_t n, i;
    char key[512], value[40];

    if (!json_is_array(posts) || bs_page_cursor(c, root, &next) < 0) {
        bs_end(c, SRM_PASS_ERROR, 0,
               "searchPosts '%s': response lacks posts[] or has a bad "
               "cursor",
               b->queries[b->qi]);
        return;
    }
    n = json_array_size(posts);
    parsed = calloc(n > 0 ? n : 1, sizeof(*parsed));
    if (parsed == NULL) {
        bs_end(c, SRM_PASS_ERROR, 0, "out of memory");
        return;
    }
    /* Check the whole page before emitting any of it. */
    for (i = 0; i < n; i++) {
        if (bsky_api_post(json_array_get(posts, i), &parsed[i], &bad) < 0) {
            bs_end(c, SRM_PASS_ERROR, 0,
                   "searchPosts '%s': post %zu: field %s is missing or has "
                   "the wrong type",
                   b->queries[b->qi], i, bad);
            goto out;
        }
    }
    for (i = 0; i < n; i++) {
        if (bsky_api_emit_post(bs_host, b->inst, &parsed[i],
                               b->queries[b->qi]) < 0) {
            bs_end(c, SRM_PASS_ERROR, 0, "out of memory");
            goto out;
        }
        if (parsed[i].sort_ms > b->newest_ms)
            b->newest_ms = parsed[i].sort_ms;
        bs_profile_want_author(b, &parsed[i]);
    }
    b->n_mentions += n;
    if (next != NULL && n > 0 && ++b->pages < BS_MAX_PAGES) {
        free(b->page_cursor);
        b->page_cursor = strdup(next);
        if (b->page_cursor == NULL) {
            bs_end(c, SRM_PASS_ERROR, 0, "out of memory");
            goto out;
        }
        bs_search_request(c);
        goto out;
    }
    if (next != NULL && b->pages >= BS_MAX_PAGES)
        bs_host->log(b->inst, SRM_LOG_WARNING,
                     "searchPosts '%s': stopped after %d pages",
                     b->queries[b->qi], BS_MAX_PAGES);
    /* The query is done: commit it with its new mark. */
    bs_key(key, sizeof(key), b->queries[b->qi]);
    bsky_api_time_format(b->newest_ms > b->mark_ms ? b->newest_ms
                                                   : b->mark_ms,
                         value, sizeof(value));
    bs_host->cursor_set(b->inst, key, value);
    b->qi++;
    bs_search_start(c);
out:
    free(parsed);
}

static void bs_search_request(struct bs_call *c)
{
    struct bsky *b = c->b;
    char *url = NULL, when[40];
    size_t len;
    FILE *f;

    f = bs_url_open(&url, &len, bs_read_host(b), "app.bsky.feed.searchPosts");
    if (f == NULL) {
        bs_end(c, SRM_PASS_ERROR, 0, "out of memory");
        return;
    }
    fputs("q=", f);
    bsky_api_encode(f, b->queries[b->qi]);
    fputs("&sort=latest&since=", f);
    bsky_api_time_format(b->since_ms, when, sizeof(when));
    bsky_api_encode(f, when);
    fputs("&limit=100", f);
    if (b->page_cursor != NULL) {
        fputs("&cursor=", f);
        bsky_api_encode(f, b->page_cursor);
    }
    bs_request(c, BS_REQ_SEARCH, "GET", bs_url_close(f, &url), NULL,
               bs_search_page);
}

static void bs_step_reset(struct bsky *b)
{
    free(b->page_cursor);
    b->page_cursor = NULL;
    b->pages = 0;
    b->newest_ms = -1;
}

static int64_t bs_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The stored mark of key, or now - backfill when there is none (or it
 * cannot be read). */
static int64_t bs_mark(struct bsky *b, const char *key, bool *ret_stored)
{
    const char *cur = bs_host->cursor_get(b->inst, key);
    int64_t ms = cur != NULL ? bsky_api_time_parse(cur) : -1;

    *ret_stored = ms >= 0;
    if (ms >= 0)
        return ms;
    ms = bs_now_ms() - b->backfill * 1000;
    return ms > 0 ? ms : 0;
}

static void bs_search_start(struct bs_call *c)
{
    struct bsky *b = c->b;
    char key[512];
    bool stored;

    if (b->qi >= b->n_queries) {
        b->stage = BS_STAGE_NOTIF;
        bs_stage_run(c);
        return;
    }
    bs_step_reset(b);
    bs_key(key, sizeof(key), b->queries[b->qi]);
    b->mark_ms = bs_mark(b, key, &stored);
    /* On the first run the window starts at now - backfill exactly; after
     * that a little before the newest post committed. */
    b->since_ms = stored ? b->mark_ms - BS_SEARCH_OVERLAP_MS : b->mark_ms;
    if (b->since_ms < 0)
        b->since_ms = 0;
    bs_search_request(c);
}

/* ---------------------------------------------------------------------
 * The pass: notifications. Newest first; the walk stops at the first item
 * not newer than the stored mark "notif".
 */

static bool bs_notif_reason(const char *reason)
{
    return strcmp(reason, "mention") == 0 || strcmp(reason, "reply") == 0 ||
           strcmp(reason, "quote") == 0;
}

static void bs_notif_request(struct bs_call *c);

static void bs_notif_commit(struct bs_call *c)
{
    struct bsky *b = c->b;
    char value[40];

    bsky_api_time_format(b->newest_ms > b->mark_ms ? b->newest_ms
                                                   : b->mark_ms,
                         value, sizeof(value));
    bs_host->cursor_set(b->inst, "notif", value);
    b->stage = BS_STAGE_FOLLOWERS;
    bs_stage_run(c);
}

static void bs_notif_page(struct bs_call *c, json_t *root)
{
    struct bsky *b = c->b;
    json_t *items = json_object_get(root, "notifications");
    struct bsky_post *parsed = NULL;
    const char **reasons = NULL;
    const char *bad = NULL, *next = NULL;
    size_t n, i, upto;
    bool reached = false;

    if (!json_is_array(items) || bs_page_cursor(c, root, &next) < 0) {
        bs_end(c, SRM_PASS_ERROR, 0,
               "listNotifications: response lacks notifications[] or has a "
               "bad cursor");
        return;
    }
    n = json_array_size(items);
    parsed = calloc(n > 0 ? n : 1, sizeof(*parsed));
    reasons = calloc(n > 0 ? n : 1, sizeof(*reasons));
    if (parsed == NULL || reasons == NULL) {
        bs_end(c, SRM_PASS_ERROR, 0, "out of memory");
        goto out;
    }
    /* Check up to the mark before emitting anything. */
    for (upto = 0; upto < n; upto++) {
        json_t *it = json_array_get(items, upto);
        const char *indexed;
        int64_t ms;

        reasons[upto] = json_string_value(json_object_get(it, "reason"));
        indexed = json_string_value(json_object_get(it, "indexedAt"));
        ms = bsky_api_time_parse(indexed);
        if (reasons[upto] == NULL || ms < 0) {
            bs_end(c, SRM_PASS_ERROR, 0,
                   "listNotifications: item %zu: field %s is missing or "
                   "has the wrong type",
                   upto, reasons[upto] == NULL ? "reason" : "indexedAt");
            goto out;
        }
        if (ms <= b->mark_ms) {
            reached = true;
            break;
        }
        if (bs_notif_reason(reasons[upto]) &&
            bsky_api_post(it, &parsed[upto], &bad) < 0) {
            bs_end(c, SRM_PASS_ERROR, 0,
                   "listNotifications: item %zu: field %s is missing or "
                   "has the wrong type",
                   upto, bad);
            goto out;
        }
        if (ms > b->newest_ms)
            b->newest_ms = ms;
    }
    for (i = 0; i < upto; i++) {
        if (!bs_notif_reason(reasons[i]))
            continue;
        if (bsky_api_emit_post(bs_host, b->inst, &parsed[i], reasons[i]) <
            0) {
            bs_end(c, SRM_PASS_ERROR, 0, "out of memory");
            goto out;
        }
        bs_profile_want_author(b, &parsed[i]);
        b->n_mentions++;
    }
    if (!reached && next != NULL && n > 0 && ++b->pages < BS_MAX_PAGES) {
        free(b->page_cursor);
        b->page_cursor = strdup(next);
        if (b->page_cursor == NULL) {
            bs_end(c, SRM_PASS_ERROR, 0, "out of memory");
            goto out;
        }
        bs_notif_request(c);
        goto out;
    }
    bs_notif_commit(c);
out:
    free(parsed);
    free(reasons);
}

static void bs_notif_request(struct bs_call *c)
{
    struct bsky *b = c->b;
    char *url = NULL;
    size_t len;
    FILE *f;

    f = bs_url_open(&url, &len, b->service,
                    "app.bsky.notification.listNotifications");
    if (f == NULL) {
        bs_end(c, SRM_PASS_ERROR, 0, "out of memory");
        return;
    }
    /* The server filters by reason; we check again in case it did not. */
    fputs("reasons=mention&reasons=reply&reasons=quote&limit=100", f);
    if (b->page_cursor != NULL) {
        fputs("&cursor=", f);
        bsky_api_encode(f, b->page_cursor);
    }
    bs_request(c, BS_REQ_READ, "GET", bs_url_close(f, &url), NULL,
               bs_notif_page);
}

/* ---------------------------------------------------------------------
 * The pass: contacts. A full walk of each list when contacts_every has
 * passed since the last complete one ("contacts_at", Unix seconds).
 */

static bool bs_contacts_due(struct bsky *b)
{
    const char *at;

    if (b->contacts == BS_CONTACTS_NONE)
        return false;
    at = bs_host->cursor_get(b->inst, "contacts_at");
    return at == NULL ||
           (int64_t)time(NULL) - strtoll(at, NULL, 10) >= b->contacts_every;
}

static void bs_contacts_request(struct bs_call *c);

static void bs_contacts_page(struct bs_call *c, json_t *root)
{
    struct bsky *b = c->b;
    bool followers = b->stage == BS_STAGE_FOLLOWERS;
    const char *field = followers ? "followers" : "follows";
    json_t *list = json_object_get(root, field);
    struct bsky_profile *parsed = NULL;
    const char *bad = NULL, *next = NULL;
    size_t n, i;

    if (!json_is_array(list) || bs_page_cursor(c, root, &next) < 0) {
        bs_end(c, SRM_PASS_ERROR, 0,
               "%s: response lacks %s[] or has a bad cursor",
               followers ? "getFollowers" : "getFollows", field);
        return;
    }
    n = json_array_size(list);
    parsed = calloc(n > 0 ? n : 1, sizeof(*parsed));
    if (parsed == NULL) {
        bs_end(c, SRM_PASS_ERROR, 0, "out of memory");
        return;
    }
    for (i = 0; i < n; i++) {
        if (bsky_api_profile(json_array_get(list, i), &parsed[i], &bad) <
            0) {
            bs_end(c, SRM_PASS_ERROR, 0,
                   "%s: item %zu: field %s is missing or has the wrong type",
                   field, i, bad);
            goto out;
        }
    }
    for (i = 0; i < n; i++) {
        struct srm_contact ct = SRM_CONTACT_INIT;
        if (bsky_api_emit_identity(bs_host, b->inst, &parsed[i]) < 0) {
            bs_end(c, SRM_PASS_ERROR, 0, "out of memory");
            goto out;
        }
        ct.network = "bluesky";
        ct.remote_id = parsed[i].did;
        ct.relation = followers ? SRM_REL_FOLLOWER : SRM_REL_FOLLOWING;
        bs_host->contact_add(b->inst, &ct);
        bs_profile_want(b, parsed[i].did, parsed[i].followers >= 0,
                        BSKY_PROFILE_CONTACT);
        b->n_contacts++;
    }
    /* Large accounts have long lists: no page cap here, only the loop
     * guard against a repeated cursor. */
    if (next != NULL && n > 0) {
        free(b->page_cursor);
        b->page_cursor = strdup(next);
        if (b->page_cursor == NULL) {
            bs_end(c, SRM_PASS_ERROR, 0, "out of memory");
            goto out;
        }
        bs_contacts_request(c);
        goto out;
    }
    b->stage++;
    bs_stage_run(c);
out:
    free(parsed);
}

static void bs_contacts_request(struct bs_call *c)
{
    struct bsky *b = c->b;
    char *url = NULL;
    size_t len;
    FILE *f;

    f = bs_url_open(&url, &len, bs_read_host(b),
                    b->stage == BS_STAGE_FOLLOWERS
                        ? "app.bsky.graph.getFollowers"
                        : "app.bsky.graph.getFollows");
    if (f == NULL) {
        bs_end(c, SRM_PASS_ERROR, 0, "out of memory");
        return;
    }
    fputs("actor=", f);
    bsky_api_encode(f, b->did != NULL ? b->did : b->identifier);
    fputs("&limit=100", f);
    if (b->page_cursor != NULL) {
        fputs("&cursor=", f);
        bsky_api_encode(f, b->page_cursor);
    }
    bs_request(c, BS_REQ_READ, "GET", bs_url_close(f, &url), NULL,
               bs_contacts_page);
}

/* ---------------------------------------------------------------------
 * The pass: follower counts (app.bsky.actor.getProfiles), last, once every
 * step's cursor is committed. Its failures end the step, never the pass
 * (see bs_end).
 */

static void bs_profiles_request(struct bs_call *c);

static void bs_profiles_page(struct bs_call *c, json_t *root)
{
    struct bsky *b = c->b;
    json_t *list = json_object_get(root, "profiles"), *it;
    struct bsky_profile prof;
    const char *bad = NULL, *first_bad = NULL;
    size_t i, n_bad = 0;

    if (!json_is_array(list)) {
        bs_end(c, SRM_PASS_ERROR, 0, "getProfiles: response lacks profiles[]");
        return;
    }
    /* Unlike a page of posts, no cursor moves past these: a profile we
     * cannot read is skipped, the others are used. */
    json_array_foreach(list, i, it) {
        if (bsky_api_profile(it, &prof, &bad) < 0) {
            if (n_bad++ == 0)
                first_bad = bad;
            continue;
        }
        if (bsky_api_emit_identity(bs_host, b->inst, &prof) < 0) {
            bs_end(c, SRM_PASS_ERROR, 0, "out of memory");
            return;
        }
        b->n_profiles++;
    }
    if (n_bad > 0)
        bs_host->log(b->inst, SRM_LOG_WARNING,
                     "getProfiles: %zu of %zu profiles skipped (field %s is "
                     "missing or has the wrong type)",
                     n_bad, json_array_size(list), first_bad);
    /* Accounts asked for and not answered are deleted, taken down or
     * deactivated: asking again each pass would not change that. */
    for (i = 0; i < b->n_profile_batch; i++)
        b->profile_done[b->n_profile_done++] = b->profile_batch[i];
    b->n_profile_batch = 0;
    bs_profiles_request(c);
}

/* The next getProfiles request, or the end of the pass. */
static void bs_profiles_request(struct bs_call *c)
{
    struct bsky *b = c->b;
    char *url = NULL;
    size_t len, n;
    FILE *f;

    n = b->profile_requests < BS_PROFILE_MAX_REQUESTS
            ? bsky_profiles_take(&b->profiles, b->profile_batch,
                                 BSKY_PROFILES_BATCH)
            : 0;
    if (n == 0) {
        if (bsky_profiles_queued(&b->profiles) > 0)
            bs_host->log(b->inst, SRM_LOG_DEBUG,
                         "%s: %zu accounts wait for a later pass", __func__,
                         bsky_profiles_queued(&b->profiles));
        b->stage = BS_STAGE_END;
        bs_stage_run(c);
        return;
    }
    b->n_profile_batch = n;
    b->profile_requests++;
    f = bs_url_open(&url, &len, bs_read_host(b), "app.bsky.actor.getProfiles");
    if (f == NULL) {
        bs_end(c, SRM_PASS_ERROR, 0, "out of memory");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        fputs(i == 0 ? "actors=" : "&actors=", f);
        bsky_api_encode(f, b->profile_batch[i]);
    }
    bs_request(c, BS_REQ_PROFILES, "GET", bs_url_close(f, &url), NULL,
               bs_profiles_page);
}

/* ---------------------------------------------------------------------
 * Stages.
 */

static void bs_stage_run(struct bs_call *c)
{
    struct bsky *b = c->b;
    bool stored;
    char value[32];

    for (;;) {
        switch (b->stage) {
        case BS_STAGE_SEARCH:
            b->qi = 0;
            bs_search_start(c);
            return;
        case BS_STAGE_NOTIF:
            if (b->notifications && b->access_jwt != NULL) {
                bs_step_reset(b);
                b->mark_ms = bs_mark(b, "notif", &stored);
                bs_notif_request(c);
                return;
            }
            b->stage = BS_STAGE_FOLLOWERS;
            continue;
        case BS_STAGE_FOLLOWERS:
        case BS_STAGE_FOLLOWS:
            if (b->contacts_run &&
                (b->contacts == BS_CONTACTS_BOTH ||
                 (b->stage == BS_STAGE_FOLLOWERS) ==
                     (b->contacts == BS_CONTACTS_FOLLOWERS))) {
                bs_step_reset(b);
                bs_contacts_request(c);
                return;
            }
            b->stage++;
            continue;
        case BS_STAGE_PROFILES:
            if (b->contacts_run) {
                /* Commit the walked lists with the time of the walk,
                 * before any getProfiles request can hold them up. */
                snprintf(value, sizeof(value), "%" PRId64,
                         (int64_t)time(NULL));
                bs_host->cursor_set(b->inst, "contacts_at", value);
            }
            bs_profiles_request(c);
            return;
        case BS_STAGE_END:
            bs_call_clear(c);
            b->busy = false;
            /* The pass_done(OK) below commits the refreshed identities;
             * settle their DIDs first, in case it starts another pass. */
            for (size_t i = 0; i < b->n_profile_done; i++)
                bsky_profiles_fresh(&b->profiles, b->profile_done[i],
                                    (int64_t)time(NULL));
            b->n_profile_done = 0;
            if (b->n_profiles > 0)
                bs_host->pass_done(b->inst, SRM_PASS_OK, 0,
                                   "%zu posts, %zu contacts, %zu profiles",
                                   b->n_mentions, b->n_contacts,
                                   b->n_profiles);
            else
                bs_host->pass_done(b->inst, SRM_PASS_OK, 0,
                                   "%zu posts, %zu contacts", b->n_mentions,
                                   b->n_contacts);
            return;
        }
    }
}

static void bs_pass_start(struct bs_call *c)
{
    c->b->stage = BS_STAGE_SEARCH;
    bs_stage_run(c);
}

static int bs_sync(void *vctx)
{
    struct bsky *b = vctx;

    if (b->busy)
        return SRM_E_STATE;
    b->busy = true;
    /* Before the session step, which may fail: bs_end reads the stage. */
    b->stage = BS_STAGE_SEARCH;
    b->n_mentions = 0;
    b->n_contacts = 0;
    b->n_profiles = 0;
    b->profile_requests = 0;
    bs_profiles_abandon(b); /* nothing is left over; just in case */
    b->pass.relogged = false;
    b->contacts_run = bs_contacts_due(b);
    bs_with_session(&b->pass, bs_pass_start);
    return 0;
}

/* ---------------------------------------------------------------------
 * Replies.
 */

static void bs_reply_posted(struct bs_call *c, json_t *root)
{
    struct bsky *b = c->b;
    const char *uri = json_string_value(json_object_get(root, "uri"));
    char *url;

    if (uri == NULL) {
        bs_end(c, SRM_PASS_ERROR, 0, "createRecord: response lacks uri");
        return;
    }
    url = bsky_api_post_url(uri, b->handle);
    bs_host->log(b->inst, SRM_LOG_INFO, "replied to %s: %s", c->parent_uri,
                 uri);
    bs_reply_unlink(c);
    c->reply_done(b->inst, 0, NULL, uri, url, c->reply_ud);
    free(url);
    bs_reply_free(c);
}

static void bs_reply_send(struct bs_call *c)
{
    struct bsky *b = c->b;
    char now[40], *url = NULL, *body = NULL;
    json_t *j;

    bsky_api_time_format(bs_now_ms(), now, sizeof(now));
    j = json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:{s:{s:s, s:s}, "
                  "s:{s:s, s:s}}}}",
                  "repo", b->did, "collection", "app.bsky.feed.post",
                  "record", "$type", "app.bsky.feed.post", "text", c->text,
                  "createdAt", now, "reply", "root", "uri", c->root_uri,
                  "cid", c->root_cid, "parent", "uri", c->parent_uri, "cid",
                  c->parent_cid);
    body = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (body == NULL ||
        asprintf(&url, "%s/xrpc/com.atproto.repo.createRecord",
                 b->service) < 0) {
        free(body);
        bs_end(c, SRM_PASS_ERROR, 0, "out of memory");
        return;
    }
    bs_request(c, BS_REQ_WRITE, "POST", url, body, bs_reply_posted);
}

static char *bs_ref_field(json_t *ref, const char *key, const char *dflt)
{
    const char *v = json_string_value(json_object_get(ref, key));

    return strdup(v != NULL && v[0] != '\0' ? v : dflt);
}

static int bs_reply(void *vctx, const struct srm_reply_req *req,
                    srm_reply_done_fn done, void *ud)
{
    struct bsky *b = vctx;
    struct bs_call *c = NULL;
    json_t *ref = NULL;
    const char *uri, *cid;
    int rc = -EINVAL;

    if (!bs_has_login(b)) {
        bs_host->log(b->inst, SRM_LOG_WARNING,
                     "replying needs identifier and app_password");
        return SRM_E_NOTSUP;
    }
    if (req->text == NULL || req->text[0] == '\0' ||
        req->reply_ref == NULL) {
        bs_host->log(b->inst, SRM_LOG_ERROR,
                     "reply: no text, or the mention has no reply_ref");
        return -EINVAL;
    }
    ref = json_loads(req->reply_ref, 0, NULL);
    uri = json_string_value(json_object_get(ref, "uri"));
    cid = json_string_value(json_object_get(ref, "cid"));
    if (uri == NULL || cid == NULL) {
        bs_host->log(b->inst, SRM_LOG_ERROR,
                     "reply: reply_ref lacks uri or cid");
        goto fail;
    }
    rc = -ENOMEM;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        goto fail;
    c->b = b;
    c->is_reply = true;
    c->reply_done = done;
    c->reply_ud = ud;
    c->text = strdup(req->text);
    c->parent_uri = strdup(uri);
    c->parent_cid = strdup(cid);
    c->root_uri = bs_ref_field(ref, "root_uri", uri);
    c->root_cid = bs_ref_field(ref, "root_cid", cid);
    if (c->text == NULL || c->parent_uri == NULL || c->parent_cid == NULL ||
        c->root_uri == NULL || c->root_cid == NULL)
        goto fail;
    json_decref(ref);
    c->next = b->replies;
    b->replies = c;
    bs_with_session(c, bs_reply_send);
    return 0;
fail:
    if (c != NULL)
        bs_reply_free(c);
    json_decref(ref);
    return rc;
}

static const struct srm_plugin bs_plugin = {
    .abi_major = SRM_PLUGIN_ABI_MAJOR,
    .abi_minor = SRM_PLUGIN_ABI_MINOR,
    .struct_size = sizeof(struct srm_plugin),
    .name = "bluesky",
    .version = "1.1",
    .description = "Bluesky posts matching queries, notifications, "
                   "followers and replies (AT Protocol)",
    .capabilities = SRM_CAP_MENTIONS | SRM_CAP_CONTACTS | SRM_CAP_REPLY,
    .schema = bs_schema,
    .create = bs_create,
    .sync = bs_sync,
    .reply = bs_reply,
    .destroy = bs_destroy,
};

SRM_PLUGIN_EXPORT const struct srm_plugin *
srm_plugin_entry(const struct srm_host_api *host)
{
    if (host == NULL || host->abi_major != SRM_PLUGIN_ABI_MAJOR)
        return NULL;
    bs_host = host;
    return &bs_plugin;
}
