/* testnet.c - a connector for tests/fixtures/testnet_fixture.py.
 *
 * Each pass walks pages: GET <url>?after=<cursor> answers
 *   {"items": [{"id", "author", "name", "text", "created_at"}...],
 *    "next": "<cursor after this page>" | null}
 * Every page's items are emitted, then cursor "after" moves to the page's
 * next value (so each page commits with its cursor). A 304 ends the pass
 * with nothing new; 429/503 end it with RETRY; other failures with ERROR.
 * Key `fail_after_pages` makes the pass fail after that many pages, to show
 * that committed pages stay and the failed page is fetched again.
 *
 * Replies: POST <url>/reply with {"mention_id", "text", "member"}; a 200
 * answer {"id", "url"} is the posted reply, 401/403 is SRM_E_AUTH, anything
 * else SRM_E_HTTP. Key `reply: false` makes reply() refuse with
 * SRM_E_NOTSUP, like a network without replies. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "srm/plugin.h"

struct tn {
    struct srm_instance *inst;
    const char *url;
    int64_t fail_after;
    int64_t pages;
    bool reply;
};

static const struct srm_host_api *host;

static void tn_fetch(struct tn *t);

static void tn_done(struct srm_instance *inst,
                    const struct srm_http_resp *resp, void *ud)
{
    struct tn *t = ud;
    json_error_t jerr;
    json_t *root = NULL, *items, *next;
    size_t i;

    if (resp->error == SRM_E_CANCELLED)
        return;
    if (resp->error != 0) {
        host->pass_done(inst, resp->error == SRM_E_RATELIMIT ? SRM_PASS_RETRY
                                                             : SRM_PASS_ERROR,
                        resp->retry_after > 0 ? (uint32_t)resp->retry_after
                                              : 0,
                        "%s", resp->error_msg);
        return;
    }
    if (resp->not_modified) {
        host->pass_done(inst, SRM_PASS_OK, 0, NULL);
        return;
    }
    if (resp->status == 429 || resp->status == 503) {
        host->pass_done(inst, SRM_PASS_RETRY,
                        resp->retry_after > 0 ? (uint32_t)resp->retry_after
                                              : 0,
                        "HTTP %ld from %s", resp->status, t->url);
        return;
    }
    if (resp->status == 401 || resp->status == 403) {
        host->pass_done(inst, SRM_PASS_AUTH_FAILED, 0, "HTTP %ld: %s",
                        resp->status, "credentials refused");
        return;
    }
    if (resp->status != 200) {
        host->pass_done(inst, SRM_PASS_ERROR, 0, "HTTP %ld from %s",
                        resp->status, t->url);
        return;
    }
    root = json_loadb(resp->body, resp->body_len, 0, &jerr);
    items = root ? json_object_get(root, "items") : NULL;
    next = root ? json_object_get(root, "next") : NULL;
    if (!json_is_array(items)) {
        host->pass_done(inst, SRM_PASS_ERROR, 0, "malformed page: %s",
                        root ? "no items array" : jerr.text);
        json_decref(root);
        return;
    }
    for (i = 0; i < json_array_size(items); i++) {
        json_t *it = json_array_get(items, i);
        struct srm_identity id = SRM_IDENTITY_INIT;
        struct srm_mention m = SRM_MENTION_INIT;

        id.remote_id = json_string_value(json_object_get(it, "author"));
        id.handle = id.remote_id;
        id.display_name = json_string_value(json_object_get(it, "name"));
        if (id.remote_id != NULL)
            host->identity_upsert(inst, &id);
        m.remote_id = json_string_value(json_object_get(it, "id"));
        m.author_id = id.remote_id;
        m.text = json_string_value(json_object_get(it, "text"));
        m.created_at = json_integer_value(json_object_get(it, "created_at"));
        m.matched = "testnet";
        host->mention_add(inst, &m);
    }
    t->pages++;
    if (t->fail_after > 0 && t->pages >= t->fail_after) {
        host->pass_done(inst, SRM_PASS_ERROR, 0,
                        "failing after %lld pages as configured",
                        (long long)t->pages);
        json_decref(root);
        return;
    }
    if (json_is_string(next)) {
        host->cursor_set(inst, "after", json_string_value(next));
        json_decref(root);
        tn_fetch(t);
        return;
    }
    json_decref(root);
    host->pass_done(inst, SRM_PASS_OK, 0, NULL);
}

static void tn_fetch(struct tn *t)
{
    struct srm_http_req req = SRM_HTTP_REQ_INIT;
    const char *after = host->cursor_get(t->inst, "after");
    char url[2048];
    int rc;

    snprintf(url, sizeof(url), "%s%safter=%s", t->url,
             strchr(t->url, '?') ? "&" : "?", after ? after : "");
    req.url = url;
    req.flags = SRM_HTTP_CONDITIONAL;
    rc = host->http_submit(t->inst, &req, tn_done, t);
    if (rc < 0)
        host->pass_done(t->inst, SRM_PASS_ERROR, 0, "submit failed: %d", rc);
}

static int tn_create(struct srm_instance *inst, void **ret_ctx)
{
    struct tn *t = calloc(1, sizeof(*t));

    if (t == NULL)
        return -12;
    t->inst = inst;
    t->url = host->cfg_string(inst, "url");
    t->fail_after = host->cfg_int(inst, "fail_after_pages");
    t->reply = host->cfg_bool(inst, "reply");
    *ret_ctx = t;
    return 0;
}

static int tn_sync(void *ctx)
{
    struct tn *t = ctx;
    t->pages = 0;
    tn_fetch(t);
    return 0;
}

struct tn_reply {
    srm_reply_done_fn done;
    void *ud;
};

static void tn_reply_done(struct srm_instance *inst,
                          const struct srm_http_resp *resp, void *ud)
{
    struct tn_reply *r = ud;
    json_t *root = NULL;

    if (resp->error != 0) {
        r->done(inst, resp->error, resp->error_msg, NULL, NULL, r->ud);
    } else if (resp->status == 401 || resp->status == 403) {
        r->done(inst, SRM_E_AUTH, "reply refused: HTTP 401/403 (check the "
                "token)", NULL, NULL, r->ud);
    } else if (resp->status != 200) {
        r->done(inst, SRM_E_HTTP, "reply failed: unexpected HTTP status",
                NULL, NULL, r->ud);
    } else {
        root = json_loadb(resp->body, resp->body_len, 0, NULL);
        r->done(inst, 0, NULL,
                json_string_value(json_object_get(root, "id")),
                json_string_value(json_object_get(root, "url")), r->ud);
    }
    json_decref(root);
    free(r);
}

static int tn_reply(void *ctx, const struct srm_reply_req *req,
                    srm_reply_done_fn done, void *ud)
{
    static const char *const headers[] = {
        "Content-Type: application/json", NULL};
    struct tn *t = ctx;
    struct srm_http_req hr = SRM_HTTP_REQ_INIT;
    struct tn_reply *r;
    json_t *body;
    char url[2048], *text;
    size_t base;
    int rc;

    if (!t->reply)
        return SRM_E_NOTSUP;
    base = strcspn(t->url, "?");
    snprintf(url, sizeof(url), "%.*s/reply", (int)base, t->url);
    body = json_pack("{s:s?, s:s?, s:s?}", "mention_id", req->mention_id,
                     "text", req->text, "member", req->member);
    text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    r = calloc(1, sizeof(*r));
    if (text == NULL || r == NULL) {
        free(text);
        free(r);
        return -12;
    }
    r->done = done;
    r->ud = ud;
    hr.method = "POST";
    hr.url = url;
    hr.headers = headers;
    hr.body = text;
    hr.body_len = strlen(text);
    rc = host->http_submit(t->inst, &hr, tn_reply_done, r);
    free(text);
    if (rc < 0)
        free(r);
    return rc;
}

static void tn_destroy(void *ctx)
{
    free(ctx);
}

static const struct srm_cfg_field tn_schema[] = {
    {"url", SRM_CFG_URL, NULL, true, "page URL of the fixture"},
    {"fail_after_pages", SRM_CFG_INT, "0", false,
     "end each pass with an error after this many pages (0: never)"},
    {"reply", SRM_CFG_BOOL, "true", false,
     "post replies to <url>/reply (false: refuse like a network without "
     "replies)"},
    {NULL, 0, NULL, false, NULL},
};

static const struct srm_plugin tn_plugin = {
    .abi_major = SRM_PLUGIN_ABI_MAJOR,
    .abi_minor = SRM_PLUGIN_ABI_MINOR,
    .struct_size = sizeof(struct srm_plugin),
    .name = "testnet",
    .version = "1.0",
    .description = "test connector reading pages from a fixture server",
    .capabilities = SRM_CAP_MENTIONS | SRM_CAP_REPLY,
    .schema = tn_schema,
    .create = tn_create,
    .sync = tn_sync,
    .reply = tn_reply,
    .destroy = tn_destroy,
};

SRM_PLUGIN_EXPORT const struct srm_plugin *
srm_plugin_entry(const struct srm_host_api *h)
{
    host = h;
    return &tn_plugin;
}
