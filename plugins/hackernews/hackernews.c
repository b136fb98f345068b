/* hackernews.c - Hacker News connector (Algolia HN Search API).
 *
 * One pass walks the configured queries one at a time, and each query's
 * pages in order: Algolia allows 10,000 requests an hour per IP, so there
 * is nothing to gain from parallel requests and a lot to lose. Each query
 * has a cursor "q:<query>" holding the highest created_at_i committed; the
 * next pass asks for created_at_i >= that mark, so items sharing the last
 * second are fetched again and upserted harmlessly rather than lost. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hn_api.h"
#include "srm/plugin.h"

#define HN_DEFAULT_BASE "https://hn.algolia.com"
/* A page of 1,000 hits of long comments stays far below this. */
#define HN_MAX_BODY (16u << 20)
/* Algolia refuses to page past the 1,000th hit; a misbehaving server that
 * keeps announcing pages must not keep us busy either. */
#define HN_MAX_PAGES 1000

struct hn {
    struct srm_instance *inst;
    char *base_url;
    char *tags;
    char **queries;
    size_t n_queries;
    int64_t hits_per_page;
    int64_t backfill;

    /* The pass in progress. */
    bool busy;
    size_t qi;           /* query being walked */
    int64_t page;        /* page requested */
    int64_t mark;        /* created_at_i >= mark */
    int64_t max_created; /* highest created_at_i seen for this query */
    size_t n_emitted;
};

static const struct srm_host_api *hn_host;

static const struct srm_cfg_field hn_schema[] = {
    {"base_url", SRM_CFG_URL, HN_DEFAULT_BASE, false,
     "Algolia HN Search API root"},
    {"query", SRM_CFG_STRING_LIST, NULL, false,
     "search terms; default: listen.keywords"},
    {"tags", SRM_CFG_STRING, "(story,comment)", false,
     "Algolia tags filter, e.g. (story,comment) or comment"},
    {"hits_per_page", SRM_CFG_INT, "100", false,
     "hits per request, 1 to 1000"},
    {"backfill", SRM_CFG_DURATION, "7d", false,
     "how far back the first pass of a query looks"},
    {NULL, 0, NULL, false, NULL},
};

static void hn_destroy(void *vctx)
{
    struct hn *h = vctx;

    if (h == NULL)
        return;
    for (size_t i = 0; i < h->n_queries; i++)
        free(h->queries[i]);
    free(h->queries);
    free(h->base_url);
    free(h->tags);
    free(h);
}

static int hn_create(struct srm_instance *inst, void **ret_ctx)
{
    struct hn *h = calloc(1, sizeof(*h));
    const char *const *items = NULL;
    size_t n;
    int rc = -ENOMEM;

    if (h == NULL)
        return -ENOMEM;
    h->inst = inst;
    n = hn_host->cfg_list(inst, "query", &items);
    if (n == 0)
        n = hn_host->listen_keywords(inst, &items);
    if (n == 0) {
        hn_host->cfg_error(inst, "query", "set query or listen.keywords");
        rc = SRM_E_CONFIG;
        goto fail;
    }
    h->queries = calloc(n, sizeof(*h->queries));
    if (h->queries == NULL)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        h->queries[i] = strdup(items[i]);
        if (h->queries[i] == NULL)
            goto fail;
        h->n_queries++;
    }
    const char *base = hn_host->cfg_string(inst, "base_url");
    const char *tags = hn_host->cfg_string(inst, "tags");
    h->base_url = strdup(base != NULL ? base : HN_DEFAULT_BASE);
    h->tags = strdup(tags != NULL ? tags : "");
    if (h->base_url == NULL || h->tags == NULL)
        goto fail;
    h->hits_per_page = hn_host->cfg_int(inst, "hits_per_page");
    if (h->hits_per_page < 1 || h->hits_per_page > 1000) {
        hn_host->cfg_error(inst, "hits_per_page", "must be 1 to 1000");
        rc = SRM_E_CONFIG;
        goto fail;
    }
    h->backfill = hn_host->cfg_duration(inst, "backfill");
    *ret_ctx = h;
    return 0;
fail:
    hn_destroy(h);
    return rc;
}

static void hn_done(struct srm_instance *inst,
                    const struct srm_http_resp *resp, void *ud);

/* Ask for the current page of the current query. */
static int hn_request(struct hn *h)
{
    struct srm_http_req req = SRM_HTTP_REQ_INIT;
    char *url = hn_api_url(h->base_url, h->queries[h->qi], h->tags, h->mark,
                           h->hits_per_page, h->page);
    int rc;

    if (url == NULL)
        return -ENOMEM;
    req.url = url;
    req.max_body = HN_MAX_BODY;
    rc = hn_host->http_submit(h->inst, &req, hn_done, h);
    free(url);
    return rc;
}

/* Begin query qi at page 0 from its cursor, or from now - backfill. */
static int hn_start_query(struct hn *h)
{
    char key[512];
    const char *cur;

    snprintf(key, sizeof(key), "q:%s", h->queries[h->qi]);
    cur = hn_host->cursor_get(h->inst, key);
    h->mark = cur != NULL ? strtoll(cur, NULL, 10)
                          : (int64_t)time(NULL) - h->backfill;
    if (h->mark < 0)
        h->mark = 0;
    h->max_created = -1;
    h->page = 0;
    return hn_request(h);
}

static void hn_finish(struct hn *h, enum srm_pass_status st, uint32_t retry,
                      const char *reason)
{
    h->busy = false;
    if (st == SRM_PASS_OK)
        hn_host->pass_done(h->inst, st, 0, "%zu items from %zu queries",
                           h->n_emitted, h->n_queries);
    else
        hn_host->pass_done(h->inst, st, retry, "query '%s': %s",
                           h->queries[h->qi], reason);
}

/* Commit the finished query with its cursor and move to the next one. */
static void hn_next_query(struct hn *h)
{
    char key[512], value[32];
    int64_t mark = h->max_created > h->mark ? h->max_created : h->mark;
    int rc;

    snprintf(key, sizeof(key), "q:%s", h->queries[h->qi]);
    snprintf(value, sizeof(value), "%" PRId64, mark);
    hn_host->cursor_set(h->inst, key, value);
    if (++h->qi == h->n_queries) {
        hn_finish(h, SRM_PASS_OK, 0, NULL);
        return;
    }
    rc = hn_start_query(h);
    if (rc < 0)
        hn_finish(h, SRM_PASS_ERROR, 0, "could not submit a request");
}

static void hn_done(struct srm_instance *inst,
                    const struct srm_http_resp *resp, void *ud)
{
    struct hn *h = ud;
    struct hn_page pg;
    char *err = NULL;
    char reason[256];
    int rc;

    if (resp->error == SRM_E_CANCELLED) {
        h->busy = false; /* the source is going away: no pass to end */
        return;
    }
    if (resp->status == 429 || resp->error == SRM_E_RATELIMIT) {
        hn_host->log(inst, SRM_LOG_WARNING, "rate limited (HTTP %ld)",
                     resp->status);
        hn_finish(h, SRM_PASS_RETRY,
                  resp->retry_after > 0 ? (uint32_t)resp->retry_after : 0,
                  "rate limited");
        return;
    }
    if (resp->error != 0) {
        snprintf(reason, sizeof(reason), "%s",
                 resp->error_msg != NULL ? resp->error_msg
                                         : "request failed");
        goto fail;
    }
    if (resp->status != 200) {
        snprintf(reason, sizeof(reason), "HTTP %ld", resp->status);
        goto fail;
    }
    rc = hn_api_emit_page(hn_host, inst, h->queries[h->qi], resp->body,
                          resp->body_len, &pg, &err);
    if (rc < 0) {
        snprintf(reason, sizeof(reason), "%s",
                 err != NULL ? err : "out of memory");
        free(err);
        goto fail;
    }
    h->n_emitted += pg.n_hits;
    if (pg.max_created > h->max_created)
        h->max_created = pg.max_created;
    if (h->page + 1 < pg.nb_pages && h->page + 1 < HN_MAX_PAGES) {
        h->page++;
        if (hn_request(h) < 0) {
            snprintf(reason, sizeof(reason), "could not submit a request");
            goto fail;
        }
        return;
    }
    hn_next_query(h);
    return;
fail:
    /* Nothing since the last cursor_set is committed: the query's cursor
     * stays where it was and the next pass fetches it again. */
    hn_host->log(inst, SRM_LOG_ERROR, "query '%s' page %" PRId64 ": %s",
                 h->queries[h->qi], h->page, reason);
    hn_finish(h, SRM_PASS_ERROR, 0, reason);
}

static int hn_sync(void *vctx)
{
    struct hn *h = vctx;
    int rc;

    if (h->busy)
        return SRM_E_STATE;
    h->busy = true;
    h->qi = 0;
    h->n_emitted = 0;
    rc = hn_start_query(h);
    if (rc < 0)
        h->busy = false;
    return rc;
}

static const struct srm_plugin hn_plugin = {
    .abi_major = SRM_PLUGIN_ABI_MAJOR,
    .abi_minor = SRM_PLUGIN_ABI_MINOR,
    .struct_size = sizeof(struct srm_plugin),
    .name = "hackernews",
    .version = "1.0",
    .description = "Hacker News stories and comments via Algolia HN Search",
    .capabilities = SRM_CAP_MENTIONS,
    .schema = hn_schema,
    .create = hn_create,
    .sync = hn_sync,
    .reply = NULL,
    .destroy = hn_destroy,
};

SRM_PLUGIN_EXPORT const struct srm_plugin *
srm_plugin_entry(const struct srm_host_api *host)
{
    if (host == NULL || host->abi_major != SRM_PLUGIN_ABI_MAJOR)
        return NULL;
    hn_host = host;
    return &hn_plugin;
}
