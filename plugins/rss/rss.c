/* rss.c - RSS/Atom connector: entry point, configuration and the pass.
 *
 * A pass keeps up to RSS_WINDOW feeds in flight (the host queues them
 * behind its per-host limits), submitting the next as each one answers,
 * and counts completions. The window is wider than any host's connection
 * limit, so it costs no concurrency; it lets the host hold the rest of a
 * long list while the writer catches up, instead of having every response
 * of the pass (and the records made of it) waiting in memory at once. Each feed is handled whole in
 * its own done callback: entries emitted, then cursor_set("feed:<url>"),
 * so a feed's records commit with its cursor and a broken feed cannot take
 * the others down with it. */
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <libxml/uri.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rss_parse.h"
#include "srm/plugin.h"

#define RSS_MAX_BODY (8u << 20)
#define RSS_WINDOW 32

enum rss_outcome { RSS_PENDING, RSS_OK, RSS_FAILED, RSS_LIMITED };

struct rss_fetch {
    struct rss *owner;
    const char *url; /* borrowed from owner->feeds */
    enum rss_outcome outcome;
    char *reason;
    int64_t retry_after;
};

struct rss {
    struct srm_instance *inst;
    char **feeds;
    size_t n_feeds;
    char **keywords;
    size_t n_keywords;
    int64_t max_items;

    struct rss_fetch *fetches; /* this pass, one per feed */
    size_t n_submitted;
    size_t n_done;
    size_t n_emitted;
    bool busy;
};

static const struct srm_host_api *rss_host;

static const struct srm_cfg_field rss_schema[] = {
    {"feeds", SRM_CFG_STRING_LIST, NULL, true, "feed URLs (RSS or Atom)"},
    {"keywords", SRM_CFG_STRING_LIST, NULL, false,
     "keep entries mentioning one of these; default: listen.keywords; "
     "none: every entry"},
    {"max_items", SRM_CFG_INT, "200", false, "entries read per feed"},
    {NULL, 0, NULL, false, NULL},
};

static void rss_strv_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static int rss_strv_copy(const char *const *items, size_t n, char ***ret)
{
    char **v = calloc(n > 0 ? n : 1, sizeof(*v));

    if (v == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        v[i] = strdup(items[i]);
        if (v[i] == NULL) {
            rss_strv_free(v, i);
            return -ENOMEM;
        }
    }
    *ret = v;
    return 0;
}

static void rss_pass_clear(struct rss *r)
{
    if (r->fetches != NULL)
        for (size_t i = 0; i < r->n_feeds; i++)
            free(r->fetches[i].reason);
    free(r->fetches);
    r->fetches = NULL;
}

static void rss_destroy(void *vctx)
{
    struct rss *r = vctx;

    if (r == NULL)
        return;
    rss_pass_clear(r);
    rss_strv_free(r->feeds, r->n_feeds);
    rss_strv_free(r->keywords, r->n_keywords);
    free(r);
}

static int rss_create(struct srm_instance *inst, void **ret_ctx)
{
    struct rss *r = calloc(1, sizeof(*r));
    const char *const *items = NULL;
    size_t n;
    int rc = -ENOMEM;

    if (r == NULL)
        return -ENOMEM;
    r->inst = inst;
    n = rss_host->cfg_list(inst, "feeds", &items);
    if (n == 0) {
        rss_host->cfg_error(inst, "feeds", "list at least one feed URL");
        rc = SRM_E_CONFIG;
        goto fail;
    }
    if (rss_strv_copy(items, n, &r->feeds) < 0)
        goto fail;
    r->n_feeds = n;
    n = rss_host->cfg_list(inst, "keywords", &items);
    if (n == 0)
        n = rss_host->listen_keywords(inst, &items);
    if (rss_strv_copy(items, n, &r->keywords) < 0)
        goto fail;
    r->n_keywords = n;
    r->max_items = rss_host->cfg_int(inst, "max_items");
    if (r->max_items < 1) {
        rss_host->cfg_error(inst, "max_items", "must be at least 1");
        rc = SRM_E_CONFIG;
        goto fail;
    }
    *ret_ctx = r;
    return 0;
fail:
    rss_destroy(r);
    return rc;
}

/* The keyword the entry mentions (case-insensitive), NULL when none. */
static const char *rss_match(const struct rss *r, const char *title,
                             const char *text)
{
    for (size_t i = 0; i < r->n_keywords; i++) {
        const char *k = r->keywords[i];
        if ((title != NULL && strcasestr(title, k) != NULL) ||
            (text != NULL && strcasestr(text, k) != NULL))
            return k;
    }
    return NULL;
}

/* A plain text: the entry's own (borrowed) or the host's reduction of its
 * HTML (freed with host->free, as the SDK asks). */
struct rss_text {
    char *s;
    bool host;
};

static void rss_text_free(struct rss_text *t)
{
    if (t->host && t->s != NULL)
        rss_host->free(t->s);
    t->s = NULL;
}

/* s as plain text: HTML reduced by the host, plain text borrowed as is
 * (the entry outlives the text). NULL in, NULL out. */
static int rss_plain(const char *s, bool html, struct rss_text *ret)
{
    ret->s = NULL;
    ret->host = false;
    if (s == NULL)
        return 0;
    if (!html) {
        ret->s = (char *)s; /* not written to, not freed */
        return 0;
    }
    ret->s = rss_host->html_to_text(s, strlen(s));
    ret->host = true;
    return ret->s != NULL ? 0 : -ENOMEM;
}

/* The identity of an entry's author: uri, else mailto:, else name@host,
 * the host of the feed's URL (*host, parsed once per feed). */
static char *rss_author_id(const struct rss_person *a, const char *feed_url,
                           xmlURI **host)
{
    char *id = NULL;

    if (a->uri != NULL)
        return strdup(a->uri);
    if (a->email != NULL) {
        if (asprintf(&id, "mailto:%s", a->email) < 0)
            return NULL;
        for (char *c = id; *c != '\0'; c++)
            if (*c >= 'A' && *c <= 'Z')
                *c = (char)(*c - 'A' + 'a');
        return id;
    }
    if (a->name == NULL)
        return NULL;
    if (*host == NULL)
        *host = xmlParseURI(feed_url);
    xmlURI *u = *host;
    const char *server = u != NULL && u->server != NULL ? u->server : "feed";
    if (asprintf(&id, "%s@%s", a->name, server) < 0)
        id = NULL;
    return id;
}

static int rss_emit_entry(struct rss *r, struct rss_fetch *f,
                          const struct rss_feed *feed,
                          const struct rss_entry *e, xmlURI **host)
{
    struct rss_text title_t = {0}, text_t = {0};
    char *title, *text, *rid = NULL, *aid = NULL;
    char *both = NULL;
    int rc;

    rc = rss_plain(e->title, e->title_html, &title_t);
    if (rc == 0)
        rc = rss_plain(e->content, e->content_html, &text_t);
    title = title_t.s;
    text = text_t.s;
    if (rc < 0)
        goto out;
    const char *matched = f->url;
    if (r->n_keywords > 0) {
        matched = rss_match(r, title, text);
        if (matched == NULL)
            goto out; /* filtered out: not an error */
    }
    if (asprintf(&rid, "%s#%s", f->url, e->key) < 0) {
        rid = NULL;
        rc = -ENOMEM;
        goto out;
    }
    aid = rss_author_id(&e->author, f->url, host);
    if (aid != NULL) {
        struct srm_identity id = SRM_IDENTITY_INIT;
        id.network = "web";
        id.remote_id = aid;
        id.display_name = e->author.name;
        id.email = e->author.email;
        id.profile_url = e->author.uri;
        rss_host->identity_upsert(r->inst, &id);
    }
    struct srm_mention m = SRM_MENTION_INIT;
    m.network = "rss";
    m.remote_id = rid;
    m.author_id = aid;
    m.author_network = aid ? "web" : NULL;
    /* The title is the entry's headline: lead with it. */
    if (title != NULL && text != NULL &&
        asprintf(&both, "%s\n\n%s", title, text) < 0) {
        both = NULL;
        rc = -ENOMEM;
        goto out;
    }
    m.text = both != NULL ? both : text != NULL ? text : title;
    m.url = e->link;
    m.created_at = e->date;
    m.matched = matched;
    m.context_title = feed->title;
    m.context_url = feed->site_link;
    rss_host->mention_add(r->inst, &m);
    r->n_emitted++;
out:
    free(both);
    rss_text_free(&title_t);
    rss_text_free(&text_t);
    free(rid);
    free(aid);
    return rc;
}

static void rss_fail(struct rss_fetch *f, enum rss_outcome o,
                     const char *fmt, ...) SRM_PRINTF_LIKE(3, 4);

static void rss_fail(struct rss_fetch *f, enum rss_outcome o,
                     const char *fmt, ...)
{
    va_list ap;

    f->outcome = o;
    free(f->reason);
    va_start(ap, fmt);
    if (vasprintf(&f->reason, fmt, ap) < 0)
        f->reason = NULL;
    va_end(ap);
    rss_host->log(f->owner->inst,
                  o == RSS_LIMITED ? SRM_LOG_NOTICE : SRM_LOG_WARNING,
                  "feed %s: %s", f->url,
                  f->reason != NULL ? f->reason : "failed");
}

/* Parse and emit one fetched feed, then move its cursor. */
static void rss_feed_body(struct rss *r, struct rss_fetch *f,
                          const struct srm_http_resp *resp)
{
    struct rss_feed *feed = NULL;
    char *err = NULL;
    int64_t newest = 0;
    char key[2048], value[32];

    int rc = rss_parse(resp->body, resp->body_len, f->url, &feed, &err);
    if (rc < 0) {
        /* Not a feed we can read: let srmd forget its validators, so the
         * next pass fetches it in full instead of getting a 304. */
        if (SRM_HOST_HAS(rss_host, http_reject))
            rss_host->http_reject(r->inst, resp);
        rss_fail(f, RSS_FAILED, "%s", err != NULL ? err : "out of memory");
        free(err);
        return;
    }
    size_t n = feed->n_entries;
    xmlURI *host = NULL;
    if ((int64_t)n > r->max_items)
        n = (size_t)r->max_items;
    for (size_t i = 0; i < n; i++) {
        if (rss_emit_entry(r, f, feed, &feed->entries[i], &host) < 0) {
            rss_fail(f, RSS_FAILED, "out of memory");
            xmlFreeURI(host);
            rss_feed_free(feed);
            return;
        }
    }
    xmlFreeURI(host);
    for (size_t i = 0; i < feed->n_entries; i++)
        if (feed->entries[i].date > newest)
            newest = feed->entries[i].date;
    snprintf(key, sizeof(key), "feed:%s", f->url);
    snprintf(value, sizeof(value), "%" PRId64, newest);
    rss_host->cursor_set(r->inst, key, value);
    f->outcome = RSS_OK;
    rss_feed_free(feed);
}

/* Every feed answered: end the pass with the summary. */
static void rss_finish(struct rss *r)
{
    size_t ok = 0, failed = 0, limited = 0;
    int64_t retry = 0;
    const char *first = NULL;

    for (size_t i = 0; i < r->n_feeds; i++) {
        struct rss_fetch *f = &r->fetches[i];
        if (f->outcome == RSS_OK) {
            ok++;
        } else if (f->outcome == RSS_LIMITED) {
            limited++;
            if (f->retry_after > retry)
                retry = f->retry_after;
        } else {
            failed++;
            if (first == NULL)
                first = f->reason != NULL ? f->reason : "failed";
        }
    }
    r->busy = false;
    if (ok > 0 && failed > 0)
        rss_host->pass_done(r->inst, SRM_PASS_OK, 0,
                            "%zu of %zu feeds failed: %s", failed,
                            r->n_feeds, first);
    else if (ok > 0)
        rss_host->pass_done(r->inst, SRM_PASS_OK, 0,
                            "%zu feeds, %zu entries", ok, r->n_emitted);
    else if (failed == 0)
        rss_host->pass_done(r->inst, SRM_PASS_RETRY,
                            (uint32_t)(retry > UINT32_MAX ? UINT32_MAX
                                                          : retry),
                            "all %zu feeds rate limited", limited);
    else
        rss_host->pass_done(r->inst, SRM_PASS_ERROR, 0, "%s", first);
}

static void rss_done(struct srm_instance *inst,
                     const struct srm_http_resp *resp, void *ud);

/* Fill the window. Done callbacks never run inside submit, so counting is
 * safe; a refused submit counts as done at once. */
static void rss_submit_more(struct rss *r)
{
    while (r->n_submitted < r->n_feeds &&
           r->n_submitted - r->n_done < RSS_WINDOW) {
        struct rss_fetch *f = &r->fetches[r->n_submitted++];
        struct srm_http_req req = SRM_HTTP_REQ_INIT;
        req.url = f->url;
        req.flags = SRM_HTTP_CONDITIONAL;
        req.max_body = RSS_MAX_BODY;
        int rc = rss_host->http_submit(r->inst, &req, rss_done, f);
        if (rc < 0) {
            rss_fail(f, RSS_FAILED, "request refused (%d)", rc);
            if (++r->n_done == r->n_feeds) {
                rss_finish(r);
                return;
            }
        }
    }
}

static void rss_done(struct srm_instance *inst,
                     const struct srm_http_resp *resp, void *ud)
{
    struct rss_fetch *f = ud;
    struct rss *r = f->owner;

    if (resp->error == SRM_E_CANCELLED)
        return; /* the source is being destroyed: no pass to end */
    if (resp->error == SRM_E_RATELIMIT ||
        resp->status == 429 || (resp->status == 503 && resp->retry_after >= 0)) {
        f->retry_after = resp->retry_after > 0 ? resp->retry_after : 0;
        rss_fail(f, RSS_LIMITED, "rate limited (HTTP %ld), skipped",
                 resp->status);
    } else if (resp->error == SRM_E_TOOBIG) {
        rss_fail(f, RSS_FAILED, "body over %u MiB", RSS_MAX_BODY >> 20);
    } else if (resp->error != 0) {
        rss_fail(f, RSS_FAILED, "%s",
                 resp->error_msg != NULL ? resp->error_msg
                                         : "request failed");
    } else if (resp->not_modified || resp->status == 304) {
        f->outcome = RSS_OK; /* nothing new since the last fetch */
    } else if (resp->status < 200 || resp->status > 299) {
        rss_fail(f, RSS_FAILED, "HTTP %ld", resp->status);
    } else {
        rss_feed_body(r, f, resp);
    }
    if (++r->n_done == r->n_feeds)
        rss_finish(r);
    else
        rss_submit_more(r);
}

static int rss_sync(void *vctx)
{
    struct rss *r = vctx;

    if (r->busy)
        return SRM_E_STATE;
    rss_pass_clear(r);
    r->fetches = calloc(r->n_feeds, sizeof(*r->fetches));
    if (r->fetches == NULL)
        return -ENOMEM;
    r->busy = true;
    r->n_submitted = 0;
    r->n_done = 0;
    r->n_emitted = 0;
    for (size_t i = 0; i < r->n_feeds; i++) {
        r->fetches[i].owner = r;
        r->fetches[i].url = r->feeds[i];
    }
    rss_submit_more(r);
    return 0;
}

static const struct srm_plugin rss_plugin = {
    .abi_major = SRM_PLUGIN_ABI_MAJOR,
    .abi_minor = SRM_PLUGIN_ABI_MINOR,
    .struct_size = sizeof(struct srm_plugin),
    .name = "rss",
    .version = "1.0",
    .description = "RSS 2.0, RSS 1.0 and Atom feeds",
    .capabilities = SRM_CAP_MENTIONS,
    .schema = rss_schema,
    .create = rss_create,
    .sync = rss_sync,
    .reply = NULL,
    .destroy = rss_destroy,
};

SRM_PLUGIN_EXPORT const struct srm_plugin *
srm_plugin_entry(const struct srm_host_api *host)
{
    if (host == NULL || host->abi_major != SRM_PLUGIN_ABI_MAJOR)
        return NULL;
    rss_host = host;
    return &rss_plugin;
}
