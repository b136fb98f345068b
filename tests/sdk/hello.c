/* hello.c - a minimal out-of-tree srmd connector.
 *
 * It fetches one URL whose body is plain text, newest line first, and emits
 * one mention per non-empty line. The cursor "top" remembers the newest line
 * already emitted, so each pass emits only the lines above it.
 *
 * Build it against an installed SDK (no other dependency):
 *   cc $(pkg-config --cflags srm-plugin) -shared -o hello.so hello.c
 *
 * Configure a source with it:
 *   sources:
 *     - name: status-board
 *       plugin: hello
 *       every: 5m
 *       url: https://example.org/board.txt
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <srm/plugin.h>

/* The host table: valid until the plugin is unloaded. */
static const struct srm_host_api *host;

/* One instance per configured source. */
struct hello {
    struct srm_instance *inst;
    const char *url;   /* borrowed from the host for the instance's life */
    int64_t max_lines; /* emit at most this many lines a pass */
};

static const struct srm_cfg_field hello_schema[] = {
    {"url", SRM_CFG_URL, NULL, true, "plain-text page, one item per line"},
    {"max_lines", SRM_CFG_INT, "100", false, "most lines emitted per pass"},
    {NULL, 0, NULL, false, NULL},
};

/* A stable id for a line: FNV-1a of its bytes, so re-fetching the same
 * line updates the same mention instead of adding another. */
static void hello_line_id(const char *s, size_t len, char *out, size_t size)
{
    uint64_t h = 14695981039346656037ULL;

    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    snprintf(out, size, "%016llx", (unsigned long long)h);
}

static int hello_create(struct srm_instance *inst, void **ret_ctx)
{
    struct hello *h;
    const char *url = host->cfg_string(inst, "url");

    /* The schema already made url a required URL; this is a rule of ours. */
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
        host->cfg_error(inst, "url", "must be http:// or https://");
        return SRM_E_CONFIG;
    }
    h = calloc(1, sizeof(*h));
    if (h == NULL)
        return -12; /* -ENOMEM, without pulling in errno.h */
    h->inst = inst;
    h->url = url;
    h->max_lines = host->cfg_int(inst, "max_lines");
    *ret_ctx = h;
    return 0;
}

/* Emit the lines above the cursor; returns the number emitted, or -1. */
static int hello_emit(struct hello *h, const struct srm_http_resp *resp)
{
    const char *p = resp->body, *end = resp->body + resp->body_len;
    const char *top = host->cursor_get(h->inst, "top");
    char first[17] = "", id[17];
    int n = 0;

    while (p < end && n < h->max_lines) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        struct srm_mention m = SRM_MENTION_INIT;
        char *text;

        if (len > 0 && p[len - 1] == '\r')
            len--;
        if (len == 0)
            goto next;
        hello_line_id(p, len, id, sizeof(id));
        if (top != NULL && strcmp(id, top) == 0)
            break; /* everything below was emitted by an earlier pass */
        if (first[0] == '\0')
            memcpy(first, id, sizeof(first));
        text = malloc(len + 1);
        if (text == NULL)
            return -1;
        memcpy(text, p, len);
        text[len] = '\0';
        m.remote_id = id;
        m.text = text;
        m.url = resp->effective_url;
        m.matched = h->url;
        /* The host copies the record before returning: free at once. A
         * refused record (SRM_E_BADREC) is logged by the host; go on. */
        host->mention_add(h->inst, &m);
        free(text);
        n++;
next:
        p = nl ? nl + 1 : end;
    }
    /* Commits the mentions above together with the new cursor. */
    if (first[0] != '\0' && host->cursor_set(h->inst, "top", first) < 0)
        return -1;
    return n;
}

static void hello_done(struct srm_instance *inst,
                       const struct srm_http_resp *resp, void *ud)
{
    struct hello *h = ud;
    int n;

    /* srmd paused this host after an earlier 429: wait as told. */
    if (resp->error == SRM_E_RATELIMIT) {
        host->pass_done(inst, SRM_PASS_RETRY,
                        resp->retry_after > 0 ? (uint32_t)resp->retry_after
                                              : 0,
                        "%s", resp->error_msg);
        return;
    }
    /* Timeouts, refused connections, cancellation (the source is being
     * removed): the pass failed; srmd backs off. */
    if (resp->error != 0) {
        host->pass_done(inst, SRM_PASS_ERROR, 0, "%s", resp->error_msg);
        return;
    }
    if (resp->not_modified) {
        host->pass_done(inst, SRM_PASS_OK, 0, "not modified");
        return;
    }
    if (resp->status == 429 || resp->status == 503) {
        host->pass_done(inst, SRM_PASS_RETRY,
                        resp->retry_after > 0 ? (uint32_t)resp->retry_after
                                              : 0,
                        "HTTP %ld", resp->status);
        return;
    }
    if (resp->status == 401 || resp->status == 403) {
        host->pass_done(inst, SRM_PASS_AUTH_FAILED, 0, "HTTP %ld",
                        resp->status);
        return;
    }
    if (resp->status != 200) {
        host->pass_done(inst, SRM_PASS_ERROR, 0, "HTTP %ld", resp->status);
        return;
    }
    n = hello_emit(h, resp);
    if (n < 0) {
        host->pass_done(inst, SRM_PASS_ERROR, 0, "could not store lines");
        return;
    }
    host->log(inst, SRM_LOG_DEBUG, "%d new lines", n);
    host->pass_done(inst, SRM_PASS_OK, 0, "%d new lines", n);
}

static int hello_sync(void *ctx)
{
    struct hello *h = ctx;
    struct srm_http_req req = SRM_HTTP_REQ_INIT;

    req.url = h->url;
    /* srmd sends the remembered ETag / Last-Modified; 304 costs nothing. */
    req.flags = SRM_HTTP_CONDITIONAL;
    /* On success hello_done ends the pass; on refusal we return the error
     * and srmd counts the pass as failed. */
    return host->http_submit(h->inst, &req, hello_done, h);
}

static void hello_destroy(void *ctx)
{
    free(ctx);
}

static const struct srm_plugin hello_plugin = {
    .abi_major = SRM_PLUGIN_ABI_MAJOR,
    .abi_minor = SRM_PLUGIN_ABI_MINOR,
    .struct_size = sizeof(struct srm_plugin),
    .name = "hello",
    .version = "1.0.0",
    .description = "one mention per line of a plain-text page",
    .capabilities = SRM_CAP_MENTIONS,
    .schema = hello_schema,
    .create = hello_create,
    .sync = hello_sync,
    .reply = NULL,
    .destroy = hello_destroy,
};

SRM_PLUGIN_EXPORT const struct srm_plugin *
srm_plugin_entry(const struct srm_host_api *h)
{
    /* Everything hello uses exists since ABI 1.0; only a different major
     * could lack it (srmd would refuse us anyway). */
    if (h == NULL || h->abi_major != SRM_PLUGIN_ABI_MAJOR)
        return NULL;
    host = h;
    return &hello_plugin;
}
