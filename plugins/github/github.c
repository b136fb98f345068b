/* github.c - GitHub connector: issues and pull requests found by search,
 * and the token owner's notification threads (NETWORKS.md §5).
 *
 * One request at a time: search allows 30 requests a minute with a token
 * (10 without), and GitHub's secondary limits punish concurrency. Search
 * is sorted by updated_at ascending, so the pages of a query run oldest to
 * newest and the cursor "q:<query>" (the newest updated_at committed) only
 * moves forward; when a query has more than the 1,000 results search
 * serves, the next pass continues from where this one stopped. The window
 * is inclusive (updated:>=), so items sharing the last second are fetched
 * again and upserted rather than lost. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "github_api.h"
#include "srm/plugin.h"

#define GH_DEFAULT_BASE "https://api.github.com"
#define GH_MAX_BODY (8u << 20)
/* Search serves 1,000 results: 10 pages of 100. */
#define GH_MAX_SEARCH_PAGES 10
#define GH_MAX_NOTIF_PAGES 50
/* GitHub: after a secondary limit without Retry-After, wait at least a
 * minute. */
#define GH_SECONDARY_WAIT 60

enum gh_stage { GH_STAGE_SEARCH, GH_STAGE_NOTIF, GH_STAGE_END };

struct gh {
    struct srm_instance *inst;
    char *base_url;
    char *token;
    char **queries;
    size_t n_queries;
    bool notifications;
    int64_t backfill;

    /* The pass in progress. */
    bool busy;
    enum gh_stage stage;
    size_t qi;
    int pages;
    char newest_iso[32]; /* newest updated_at of the step, or "" */
    int64_t newest;
    size_t n_emitted;
};

static const struct srm_host_api *gh_host;

static const struct srm_cfg_field gh_schema[] = {
    {"base_url", SRM_CFG_URL, GH_DEFAULT_BASE, false,
     "REST API root (https://HOST/api/v3 for GitHub Enterprise Server)"},
    {"token", SRM_CFG_SECRET, NULL, false,
     "a personal access token (classic, notifications scope, for "
     "notifications)"},
    {"query", SRM_CFG_STRING_LIST, NULL, false,
     "issue and pull request searches; default: listen.keywords"},
    {"notifications", SRM_CFG_BOOL, "true", false,
     "sync the token owner's notification threads (needs token)"},
    {"backfill", SRM_CFG_DURATION, "7d", false,
     "how far back the first pass of a query looks"},
    {NULL, 0, NULL, false, NULL},
};

static void gh_stage_run(struct gh *g);
static void gh_done(struct srm_instance *inst,
                    const struct srm_http_resp *resp, void *ud);

static void gh_destroy(void *vctx)
{
    struct gh *g = vctx;

    if (g == NULL)
        return;
    for (size_t i = 0; i < g->n_queries; i++)
        free(g->queries[i]);
    free(g->queries);
    free(g->base_url);
    free(g->token);
    free(g);
}

static int gh_create(struct srm_instance *inst, void **ret_ctx)
{
    struct gh *g = calloc(1, sizeof(*g));
    const char *const *items = NULL;
    const char *s;
    size_t n;
    int rc = -ENOMEM;

    if (g == NULL)
        return -ENOMEM;
    g->inst = inst;
    s = gh_host->cfg_string(inst, "base_url");
    if (s == NULL)
        s = GH_DEFAULT_BASE;
    n = strlen(s);
    while (n > 0 && s[n - 1] == '/')
        n--;
    if ((g->base_url = strndup(s, n)) == NULL)
        goto fail;
    s = gh_host->cfg_string(inst, "token");
    if (s != NULL && s[0] != '\0' && (g->token = strdup(s)) == NULL)
        goto fail;
    n = gh_host->cfg_list(inst, "query", &items);
    if (n == 0)
        n = gh_host->listen_keywords(inst, &items);
    if (n > 0 && (g->queries = calloc(n, sizeof(*g->queries))) == NULL)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        if ((g->queries[i] = strdup(items[i])) == NULL)
            goto fail;
        g->n_queries++;
    }
    g->notifications = gh_host->cfg_bool(inst, "notifications");
    g->backfill = gh_host->cfg_duration(inst, "backfill");
    if (g->n_queries == 0 && !(g->notifications && g->token != NULL)) {
        gh_host->cfg_error(inst, "query",
                           "nothing to sync: set query or listen.keywords, "
                           "or token for notifications");
        rc = SRM_E_CONFIG;
        goto fail;
    }
    *ret_ctx = g;
    return 0;
fail:
    gh_destroy(g);
    return rc;
}

static void gh_finish(struct gh *g, enum srm_pass_status st, uint32_t retry,
                      const char *reason)
{
    g->busy = false;
    if (st == SRM_PASS_OK) {
        gh_host->pass_done(g->inst, st, 0, "%zu items", g->n_emitted);
        return;
    }
    gh_host->log(g->inst, st == SRM_PASS_RETRY ? SRM_LOG_WARNING
                                               : SRM_LOG_ERROR,
                 "%s%s%s: %s", g->stage == GH_STAGE_SEARCH ? "query '" : "",
                 g->stage == GH_STAGE_SEARCH ? g->queries[g->qi]
                                             : "notifications",
                 g->stage == GH_STAGE_SEARCH ? "'" : "", reason);
    if (g->stage == GH_STAGE_SEARCH)
        gh_host->pass_done(g->inst, st, retry, "query '%s': %s",
                           g->queries[g->qi], reason);
    else
        gh_host->pass_done(g->inst, st, retry, "notifications: %s", reason);
}

static int gh_submit(struct gh *g, const char *url, uint32_t flags)
{
    static const char *const headers[] = {
        "Accept: application/vnd.github+json",
        "X-GitHub-Api-Version: 2022-11-28",
        /* GitHub refuses requests without a User-Agent. */
        "User-Agent: srmd-github/1.0", NULL};
    struct srm_http_req req = SRM_HTTP_REQ_INIT;

    req.url = url;
    req.headers = headers;
    req.bearer_token = g->token;
    req.flags = flags;
    req.max_body = GH_MAX_BODY;
    return gh_host->http_submit(g->inst, &req, gh_done, g);
}

static void gh_key(char *buf, size_t size, const char *query)
{
    snprintf(buf, size, "q:%s", query);
}

/* The stored mark of key, or now - backfill. */
static void gh_since(struct gh *g, const char *key, char *buf, size_t size)
{
    const char *cur = gh_host->cursor_get(g->inst, key);

    if (cur != NULL && gh_api_time_parse(cur) >= 0) {
        snprintf(buf, size, "%s", cur);
        return;
    }
    gh_api_time_format((int64_t)time(NULL) - g->backfill, buf, size);
}

static void gh_step_start(struct gh *g)
{
    char key[512], since[40];
    char *url = NULL;
    uint32_t flags = 0;

    g->pages = 0;
    g->newest = -1;
    g->newest_iso[0] = '\0';
    if (g->stage == GH_STAGE_SEARCH) {
        gh_key(key, sizeof(key), g->queries[g->qi]);
        gh_since(g, key, since, sizeof(since));
        url = gh_api_search_url(g->base_url, g->queries[g->qi], since);
    } else {
        gh_since(g, "notif", since, sizeof(since));
        url = gh_api_notifications_url(g->base_url, since);
        /* Unchanged notifications answer 304, which costs no quota. */
        flags = SRM_HTTP_CONDITIONAL;
    }
    if (url == NULL) {
        gh_finish(g, SRM_PASS_ERROR, 0, "out of memory");
        return;
    }
    if (gh_submit(g, url, flags) < 0)
        gh_finish(g, SRM_PASS_ERROR, 0, "could not submit a request");
    free(url);
}

/* Commit the finished step with its cursor and go on. */
static void gh_step_commit(struct gh *g)
{
    char key[512];

    if (g->newest_iso[0] != '\0') {
        if (g->stage == GH_STAGE_SEARCH)
            gh_key(key, sizeof(key), g->queries[g->qi]);
        else
            snprintf(key, sizeof(key), "notif");
        gh_host->cursor_set(g->inst, key, g->newest_iso);
    }
    if (g->stage == GH_STAGE_SEARCH && ++g->qi < g->n_queries) {
        gh_step_start(g);
        return;
    }
    g->stage++;
    gh_stage_run(g);
}

static void gh_stage_run(struct gh *g)
{
    for (;;) {
        switch (g->stage) {
        case GH_STAGE_SEARCH:
            if (g->qi < g->n_queries) {
                gh_step_start(g);
                return;
            }
            g->stage = GH_STAGE_NOTIF;
            continue;
        case GH_STAGE_NOTIF:
            if (g->notifications && g->token != NULL) {
                gh_step_start(g);
                return;
            }
            g->stage = GH_STAGE_END;
            continue;
        case GH_STAGE_END:
            gh_finish(g, SRM_PASS_OK, 0, NULL);
            return;
        }
    }
}

static bool gh_contains(const char *hay, const char *needle)
{
    return hay != NULL && strcasestr(hay, needle) != NULL;
}

/* Map an unsuccessful answer to the end of the pass. */
static void gh_fail_status(struct gh *g, const struct srm_http_resp *resp)
{
    const char *remaining = gh_host->http_header(resp, "x-ratelimit-remaining");
    char msg[300], reason[400];
    bool limited;

    gh_api_error_message(resp->body, resp->body_len, msg, sizeof(msg));
    limited = resp->status == 429 ||
              (resp->status == 403 &&
               ((remaining != NULL && strcmp(remaining, "0") == 0) ||
                gh_contains(msg, "rate limit") ||
                gh_host->http_header(resp, "retry-after") != NULL));
    snprintf(reason, sizeof(reason), "HTTP %ld%s%s", resp->status,
             msg[0] != '\0' ? ": " : "", msg);
    if (limited) {
        int64_t wait = resp->retry_after;
        /* A secondary limit without Retry-After: at least a minute. */
        if (wait <= 0 && gh_contains(msg, "secondary rate limit"))
            wait = GH_SECONDARY_WAIT;
        gh_finish(g, SRM_PASS_RETRY, wait > 0 ? (uint32_t)wait : 0, reason);
    } else if (resp->status == 401 || resp->status == 403) {
        gh_finish(g, SRM_PASS_AUTH_FAILED, 0, reason);
    } else if (resp->status == 422) {
        /* Validation failed: the query cannot work as written. */
        gh_finish(g, SRM_PASS_BAD_CONFIG, 0, reason);
    } else {
        gh_finish(g, SRM_PASS_ERROR, 0, reason);
    }
}

static void gh_done(struct srm_instance *inst,
                    const struct srm_http_resp *resp, void *ud)
{
    struct gh *g = ud;
    struct gh_page pg;
    char *err = NULL, *next = NULL;
    int rc, max_pages;

    if (resp->error == SRM_E_CANCELLED) {
        g->busy = false; /* the source is going away: no pass to end */
        return;
    }
    if (resp->error == SRM_E_RATELIMIT) {
        gh_finish(g, SRM_PASS_RETRY,
                  resp->retry_after > 0 ? (uint32_t)resp->retry_after : 0,
                  "rate limited");
        return;
    }
    if (resp->error != 0) {
        gh_finish(g, SRM_PASS_ERROR, 0,
                  resp->error_msg != NULL ? resp->error_msg
                                          : "request failed");
        return;
    }
    if (resp->not_modified || resp->status == 304) {
        gh_step_commit(g);
        return;
    }
    if (resp->status != 200) {
        gh_fail_status(g, resp);
        return;
    }
    if (g->stage == GH_STAGE_SEARCH)
        rc = gh_api_emit_search(gh_host, inst, g->queries[g->qi],
                                resp->body, resp->body_len, &pg, &err);
    else
        rc = gh_api_emit_notifications(gh_host, inst, resp->body,
                                       resp->body_len, &pg, &err);
    if (rc < 0) {
        gh_finish(g, SRM_PASS_ERROR, 0, err != NULL ? err : "out of memory");
        free(err);
        return;
    }
    if (pg.incomplete)
        gh_host->log(inst, SRM_LOG_WARNING,
                     "query '%s': search timed out, results incomplete",
                     g->queries[g->qi]);
    g->n_emitted += pg.n_emitted;
    if (pg.newest > g->newest) {
        g->newest = pg.newest;
        memcpy(g->newest_iso, pg.newest_iso, sizeof(g->newest_iso));
    }
    max_pages = g->stage == GH_STAGE_SEARCH ? GH_MAX_SEARCH_PAGES
                                            : GH_MAX_NOTIF_PAGES;
    next = gh_api_link_next(gh_host->http_header(resp, "link"));
    if (next != NULL && pg.n_items > 0 && ++g->pages < max_pages) {
        /* Our token goes with the request: follow only links to the API
         * we were configured with. */
        if (strncmp(next, g->base_url, strlen(g->base_url)) != 0) {
            gh_finish(g, SRM_PASS_ERROR, 0,
                      "Link rel=next points outside base_url");
        } else if (gh_submit(g, next, 0) < 0) {
            gh_finish(g, SRM_PASS_ERROR, 0, "could not submit a request");
        }
        free(next);
        return;
    }
    free(next);
    gh_step_commit(g);
}

static int gh_sync(void *vctx)
{
    struct gh *g = vctx;

    if (g->busy)
        return SRM_E_STATE;
    g->busy = true;
    g->stage = GH_STAGE_SEARCH;
    g->qi = 0;
    g->n_emitted = 0;
    gh_stage_run(g);
    return 0;
}

static const struct srm_plugin gh_plugin = {
    .abi_major = SRM_PLUGIN_ABI_MAJOR,
    .abi_minor = SRM_PLUGIN_ABI_MINOR,
    .struct_size = sizeof(struct srm_plugin),
    .name = "github",
    .version = "1.0",
    .description = "GitHub issues and pull requests by search, and "
                   "notification threads",
    .capabilities = SRM_CAP_MENTIONS,
    .schema = gh_schema,
    .create = gh_create,
    .sync = gh_sync,
    .reply = NULL,
    .destroy = gh_destroy,
};

SRM_PLUGIN_EXPORT const struct srm_plugin *
srm_plugin_entry(const struct srm_host_api *host)
{
    if (host == NULL || host->abi_major != SRM_PLUGIN_ABI_MAJOR)
        return NULL;
    gh_host = host;
    return &gh_plugin;
}
