/* mock_host.c - a fake srm_host_api for connector tests; see mock_host.h.
 *
 * Test code, so allocation failures abort (srm_x* from srmd_core) rather
 * than being threaded through; every plugin-facing function still behaves
 * like the daemon's: it copies what it is handed and never calls back into
 * the plugin from inside a call the plugin made. */
#include "mock_host.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mem.h"

/* html_to_text lives in its own file so that it can move to the daemon; the
 * connector test build compiles only mock_host.c, hence the include. */
#include "html_text.h" /* the daemon's, from srmd_core */

#ifndef SRM_TEST_DATA
#define SRM_TEST_DATA "."
#endif

/* The handle the plugin sees; it leads back to its mock. */
struct srm_instance {
    struct mock_host *m;
};

struct mock_cfg_value {
    char *key;
    char **items; /* one item for a scalar */
    size_t n;
    bool is_list;
};

struct mock_kv {
    char *key;
    char *value;
};

struct mock_pending {
    size_t req; /* index into m->requests */
    srm_http_done_fn done;
    srm_http_data_fn on_data;
    void *ud;
};

struct mock_private {
    struct srm_instance inst;
    const struct srm_plugin *plugin;
    void *ctx;
    bool created;
    bool in_pass;
    struct mock_cfg_value *cfg;
    size_t n_cfg;
    /* Parsed schema defaults of lists, kept for the instance's lifetime. */
    struct mock_cfg_value *defaults;
    size_t n_defaults;
    char **listen;
    size_t n_listen;
    char *source_name;
    struct mock_kv *cursors;
    size_t n_cursors;
    struct mock_pending *pending;
    size_t n_pending;
};

/* What http_header() needs besides the response: the canned header text and
 * the copies it handed out, freed after the done callback. */
struct mock_delivery {
    struct srm_http_resp resp;
    const char *headers;
    char **scratch;
    size_t n_scratch;
};

static struct mock_host *mh_of(struct srm_instance *inst)
{
    return inst->m;
}

static char *mh_dup(const char *s)
{
    return srm_xstrdup_or_null(s);
}

#define MH_PUSH(arr, n, item)                                                 \
    do {                                                                      \
        (arr) = srm_xreallocarray((arr), (n) + 1, sizeof(*(arr)));            \
        (arr)[(n)++] = (item);                                                \
    } while (0)

static void mh_violation(struct mock_host *m, const char *fmt, ...)
    SRM_PRINTF_LIKE(2, 3);

static void mh_violation(struct mock_host *m, const char *fmt, ...)
{
    va_list ap;
    char *msg;

    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0)
        abort();
    va_end(ap);
    fprintf(stderr, "mock_host: VIOLATION: %s\n", msg);
    MH_PUSH(m->violations, m->n_violations, msg);
}

/* ------------------------------------------------------------------ log */

static const char *mh_level_name(int level)
{
    switch (level) {
    case SRM_LOG_ERROR: return "ERROR";
    case SRM_LOG_WARNING: return "WARNING";
    case SRM_LOG_NOTICE: return "NOTICE";
    case SRM_LOG_INFO: return "INFO";
    default: return "DEBUG";
    }
}

static void mh_log(struct srm_instance *inst, int level, const char *fmt, ...)
    SRM_PRINTF_LIKE(3, 4);

static void mh_log(struct srm_instance *inst, int level, const char *fmt, ...)
{
    struct mock_host *m = mh_of(inst);
    va_list ap;
    char *msg, *line;

    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0)
        abort();
    va_end(ap);
    line = srm_xasprintf("%s %s", mh_level_name(level), msg);
    free(msg);
    if (getenv("MOCK_VERBOSE") != NULL)
        fprintf(stderr, "mock_host: log: %s\n", line);
    MH_PUSH(m->logs, m->n_logs, line);
}

/* --------------------------------------------------------------- config */

static const struct srm_cfg_field *mh_field(struct mock_host *m,
                                            const char *key)
{
    const struct srm_plugin *p = m->priv->plugin;

    if (p == NULL || p->schema == NULL)
        return NULL;
    for (const struct srm_cfg_field *f = p->schema; f->key != NULL; f++)
        if (strcmp(f->key, key) == 0)
            return f;
    mh_violation(m, "config key '%s' read but not in the schema", key);
    return NULL;
}

static struct mock_cfg_value *mh_cfg_find(struct mock_cfg_value *v, size_t n,
                                          const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].key, key) == 0)
            return &v[i];
    return NULL;
}

static char *mh_trim_dup(const char *s, size_t n)
{
    while (n > 0 && isspace((unsigned char)*s)) {
        s++;
        n--;
    }
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    if (n >= 2 && (s[0] == '"' || s[0] == '\'') && s[n - 1] == s[0]) {
        s++;
        n -= 2;
    }
    return srm_xstrndup(s, n);
}

/* A schema default for a list: "[a, b]" (YAML flow) or one scalar. */
static struct mock_cfg_value *mh_default_list(struct mock_host *m,
                                              const char *key,
                                              const char *text)
{
    struct mock_private *pv = m->priv;
    struct mock_cfg_value *v = mh_cfg_find(pv->defaults, pv->n_defaults, key);
    struct mock_cfg_value nv = {.key = srm_xstrdup(key), .is_list = true};

    if (v != NULL)
        return v;
    size_t len = strlen(text);
    if (len >= 2 && text[0] == '[' && text[len - 1] == ']') {
        const char *p = text + 1, *end = text + len - 1;
        while (p < end) {
            const char *comma = memchr(p, ',', (size_t)(end - p));
            const char *stop = comma != NULL ? comma : end;
            char *item = mh_trim_dup(p, (size_t)(stop - p));
            if (item[0] != '\0')
                MH_PUSH(nv.items, nv.n, item);
            else
                free(item);
            p = stop + 1;
        }
    } else {
        MH_PUSH(nv.items, nv.n, srm_xstrdup(text));
    }
    MH_PUSH(pv->defaults, pv->n_defaults, nv);
    return &pv->defaults[pv->n_defaults - 1];
}

/* The scalar text of a key: the set value, else the schema default. */
static const char *mh_cfg_scalar(struct mock_host *m, const char *key)
{
    const struct srm_cfg_field *f = mh_field(m, key);
    struct mock_cfg_value *v = mh_cfg_find(m->priv->cfg, m->priv->n_cfg, key);

    if (v != NULL) {
        if (v->is_list) {
            mh_violation(m, "config key '%s' is a list, read as a scalar",
                         key);
            return v->n > 0 ? v->items[0] : NULL;
        }
        return v->items[0];
    }
    return f != NULL ? f->default_value : NULL;
}

static const char *mh_cfg_string(struct srm_instance *inst, const char *key)
{
    return mh_cfg_scalar(mh_of(inst), key);
}

static int64_t mh_cfg_int(struct srm_instance *inst, const char *key)
{
    struct mock_host *m = mh_of(inst);
    const char *s = mh_cfg_scalar(m, key);
    char *end;

    if (s == NULL)
        return 0;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0') {
        mh_violation(m, "config key '%s': '%s' is not an integer", key, s);
        return 0;
    }
    return v;
}

static bool mh_cfg_bool(struct srm_instance *inst, const char *key)
{
    struct mock_host *m = mh_of(inst);
    const char *s = mh_cfg_scalar(m, key);

    if (s == NULL)
        return false;
    if (!strcasecmp(s, "true") || !strcasecmp(s, "yes") ||
        !strcasecmp(s, "on") || !strcmp(s, "1"))
        return true;
    if (!strcasecmp(s, "false") || !strcasecmp(s, "no") ||
        !strcasecmp(s, "off") || !strcmp(s, "0"))
        return false;
    mh_violation(m, "config key '%s': '%s' is not a boolean", key, s);
    return false;
}

static int64_t mh_cfg_duration(struct srm_instance *inst, const char *key)
{
    struct mock_host *m = mh_of(inst);
    const char *s = mh_cfg_scalar(m, key);
    char *end;

    if (s == NULL)
        return 0;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    int64_t unit = 0;
    if (errno == 0 && end != s) {
        if (*end == '\0' || !strcmp(end, "s"))
            unit = 1;
        else if (!strcmp(end, "m"))
            unit = 60;
        else if (!strcmp(end, "h"))
            unit = 3600;
        else if (!strcmp(end, "d"))
            unit = 86400;
        else if (!strcmp(end, "w"))
            unit = 7 * 86400;
    }
    if (unit == 0 || v < 0) {
        mh_violation(m, "config key '%s': '%s' is not a duration", key, s);
        return 0;
    }
    return v * unit;
}

static size_t mh_cfg_list(struct srm_instance *inst, const char *key,
                          const char *const **ret_items)
{
    struct mock_host *m = mh_of(inst);
    const struct srm_cfg_field *f = mh_field(m, key);
    struct mock_cfg_value *v = mh_cfg_find(m->priv->cfg, m->priv->n_cfg, key);

    if (v == NULL && f != NULL && f->default_value != NULL)
        v = mh_default_list(m, key, f->default_value);
    if (v == NULL) {
        *ret_items = NULL;
        return 0;
    }
    *ret_items = (const char *const *)v->items;
    return v->n;
}

static void mh_cfg_error(struct srm_instance *inst, const char *key,
                         const char *fmt, ...) SRM_PRINTF_LIKE(3, 4);

static void mh_cfg_error(struct srm_instance *inst, const char *key,
                         const char *fmt, ...)
{
    struct mock_host *m = mh_of(inst);
    va_list ap;
    char *msg;

    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0)
        abort();
    va_end(ap);
    MH_PUSH(m->cfg_errors, m->n_cfg_errors,
            srm_xasprintf("%s: %s", key != NULL ? key : "(none)", msg));
    free(msg);
}

static size_t mh_listen_keywords(struct srm_instance *inst,
                                 const char *const **ret_items)
{
    struct mock_private *pv = mh_of(inst)->priv;

    *ret_items = (const char *const *)pv->listen;
    return pv->n_listen;
}

static const char *mh_source_name(struct srm_instance *inst)
{
    struct mock_private *pv = mh_of(inst)->priv;

    return pv->source_name != NULL ? pv->source_name : "test";
}

/* ----------------------------------------------------------------- HTTP */

static int mh_http_submit(struct srm_instance *inst,
                          const struct srm_http_req *req,
                          srm_http_done_fn done, void *ud)
{
    struct mock_host *m = mh_of(inst);
    struct mock_request r = {0};

    if (req == NULL || req->struct_size == 0 || req->url == NULL ||
        done == NULL) {
        mh_violation(m, "http_submit without struct_size, url or done");
        return -EINVAL;
    }
    if (m->submit_error != 0)
        return m->submit_error;

    r.method = srm_xstrdup(req->method != NULL ? req->method
                           : req->body != NULL ? "POST"
                                               : "GET");
    r.url = srm_xstrdup(req->url);
    if (req->headers != NULL)
        for (const char *const *h = req->headers; *h != NULL; h++)
            r.n_headers++;
    r.headers = srm_xcalloc(r.n_headers + 1, sizeof(*r.headers));
    for (size_t i = 0; i < r.n_headers; i++)
        r.headers[i] = srm_xstrdup(req->headers[i]);
    if (req->body != NULL) {
        r.body = srm_xstrndup(req->body, req->body_len);
        r.body_len = req->body_len;
    }
    r.bearer_token = mh_dup(req->bearer_token);
    r.username = mh_dup(req->username);
    r.password = mh_dup(req->password);
    r.custom_request = mh_dup(req->custom_request);
    r.flags = req->flags;
    r.timeout_ms = req->timeout_ms;
    r.max_body = req->max_body;
    r.streaming = req->on_data != NULL;
    MH_PUSH(m->requests, m->n_requests, r);

    struct mock_pending p = {.req = m->n_requests - 1, .done = done,
                             .on_data = req->on_data, .ud = ud};
    MH_PUSH(m->priv->pending, m->priv->n_pending, p);
    return 0;
}

/* The value of header name in "Name: value\r\n" text (last one wins), as a
 * malloc'd string, or NULL. */
static char *mh_header_in(const char *text, const char *name)
{
    char *found = NULL;
    size_t nlen = strlen(name);

    for (const char *line = text; line != NULL && *line != '\0';) {
        const char *eol = strpbrk(line, "\r\n");
        size_t len = eol != NULL ? (size_t)(eol - line) : strlen(line);
        if (len > nlen && line[nlen] == ':' &&
            strncasecmp(line, name, nlen) == 0) {
            free(found);
            found = mh_trim_dup(line + nlen + 1, len - nlen - 1);
        }
        if (eol == NULL)
            break;
        line = eol + strspn(eol, "\r\n");
    }
    return found;
}

static const char *mh_http_header(const struct srm_http_resp *resp,
                                  const char *name)
{
    struct mock_delivery *d =
        srm_container_of(resp, struct mock_delivery, resp);
    char *v = mh_header_in(d->headers, name);

    if (v != NULL)
        MH_PUSH(d->scratch, d->n_scratch, v);
    return v;
}

static struct mock_expect *mh_match(struct mock_host *m,
                                    const struct mock_request *r)
{
    for (size_t i = 0; i < m->n_expects; i++) {
        struct mock_expect *e = m->expects[i];
        if (!e->used && strcasecmp(e->method, r->method) == 0 &&
            strstr(r->url, e->url_substr) != NULL)
            return e;
    }
    return NULL;
}

static void mh_deliver(struct mock_host *m, const struct mock_pending *p,
                       bool cancel)
{
    struct mock_request *r = &m->requests[p->req];
    struct mock_delivery d = {.headers = ""};
    struct srm_http_resp *resp = &d.resp;
    char *msg = NULL;
    struct mock_expect *e = cancel ? NULL : mh_match(m, r);

    resp->struct_size = sizeof(*resp);
    resp->retry_after = -1;
    resp->body = "";
    resp->effective_url = r->url;
    r->delivered = true;
    if (cancel) {
        resp->error = SRM_E_CANCELLED;
        resp->error_msg = "cancelled: mock host destroyed";
    } else if (e == NULL) {
        r->unexpected = true;
        m->n_unexpected++;
        msg = srm_xasprintf("mock: no canned response for %s %s", r->method,
                            r->url);
        fprintf(stderr, "mock_host: UNEXPECTED request: %s %s\n", r->method,
                r->url);
        resp->error = SRM_E_TRANSPORT;
        resp->error_msg = msg;
    } else {
        e->used = true;
        d.headers = e->headers != NULL ? e->headers : "";
        resp->status = e->status;
        resp->not_modified = e->not_modified || e->status == 304;
        resp->retry_after = e->retry_after;
        if (resp->retry_after < 0) {
            char *ra = mh_header_in(d.headers, "Retry-After");
            if (ra != NULL && ra[0] != '\0' &&
                strspn(ra, "0123456789") == strlen(ra))
                resp->retry_after = strtoll(ra, NULL, 10);
            free(ra);
        }
        if (e->error != 0) {
            resp->error = e->error;
            if (e->error_msg == NULL)
                e->error_msg = srm_xasprintf("mock error %d", e->error);
            resp->error_msg = e->error_msg;
        } else if (r->max_body != 0 && e->body_len > r->max_body) {
            resp->error = SRM_E_TOOBIG;
            msg = srm_xasprintf("body over %llu bytes",
                                (unsigned long long)r->max_body);
            resp->error_msg = msg;
        } else if (p->on_data != NULL) {
            if (e->body_len > 0 &&
                !p->on_data(&m->priv->inst, e->body, e->body_len, p->ud)) {
                resp->error = SRM_E_TRANSPORT;
                resp->error_msg = "transfer aborted by on_data";
            }
        } else if (e->body != NULL) {
            resp->body = e->body;
            resp->body_len = e->body_len;
        }
    }
    p->done(&m->priv->inst, resp, p->ud);
    for (size_t i = 0; i < d.n_scratch; i++)
        free(d.scratch[i]);
    free(d.scratch);
    free(msg);
}

/* Pop the oldest pending request; the done callback may push more. */
static bool mh_pop(struct mock_host *m, struct mock_pending *ret)
{
    struct mock_private *pv = m->priv;

    if (pv->n_pending == 0)
        return false;
    *ret = pv->pending[0];
    memmove(pv->pending, pv->pending + 1,
            (pv->n_pending - 1) * sizeof(*pv->pending));
    pv->n_pending--;
    return true;
}

size_t mock_run(struct mock_host *m)
{
    struct mock_pending p;
    size_t n = 0;

    while (mh_pop(m, &p)) {
        mh_deliver(m, &p, false);
        n++;
    }
    return n;
}

/* -------------------------------------------------------------- records */

/* Emission is allowed inside a pass, or any time for a streaming plugin. */
static int mh_check_emit(struct mock_host *m, const char *what,
                         uint32_t struct_size, const char *remote_id)
{
    const struct srm_plugin *p = m->priv->plugin;
    bool stream = p != NULL && (p->capabilities & SRM_CAP_STREAM);

    if (!m->priv->in_pass && !stream) {
        mh_violation(m, "%s emitted outside a pass (%s)", what,
                     remote_id != NULL ? remote_id : "?");
        return SRM_E_STATE;
    }
    if (struct_size == 0) {
        mh_violation(m, "%s without struct_size", what);
        return SRM_E_BADREC;
    }
    if (remote_id == NULL || remote_id[0] == '\0') {
        mh_violation(m, "%s without remote_id", what);
        return SRM_E_BADREC;
    }
    return 0;
}

static const char *mh_network(struct mock_host *m, const char *network)
{
    if (network != NULL)
        return network;
    return m->priv->plugin != NULL ? m->priv->plugin->name : NULL;
}

static int mh_identity_upsert(struct srm_instance *inst,
                              const struct srm_identity *in)
{
    struct mock_host *m = mh_of(inst);
    int rc = mh_check_emit(m, "identity", in->struct_size, in->remote_id);
    struct srm_identity c = SRM_IDENTITY_INIT;

    if (rc < 0)
        return rc;
    c.network = mh_dup(mh_network(m, in->network));
    c.remote_id = mh_dup(in->remote_id);
    c.handle = mh_dup(in->handle);
    c.display_name = mh_dup(in->display_name);
    c.profile_url = mh_dup(in->profile_url);
    c.bio = mh_dup(in->bio);
    c.avatar_url = mh_dup(in->avatar_url);
    c.email = mh_dup(in->email);
    c.followers = in->followers;
    c.following = in->following;
    c.posts = in->posts;
    if (in->n_links > 0) {
        struct srm_link *links = srm_xcalloc(in->n_links, sizeof(*links));
        for (size_t i = 0; i < in->n_links; i++) {
            links[i].label = mh_dup(in->links[i].label);
            links[i].url = mh_dup(in->links[i].url);
            links[i].verified_at = in->links[i].verified_at;
        }
        c.links = links;
        c.n_links = in->n_links;
    }
    MH_PUSH(m->identities, m->n_identities, c);
    return 0;
}

static int mh_mention_add(struct srm_instance *inst,
                          const struct srm_mention *in)
{
    struct mock_host *m = mh_of(inst);
    int rc = mh_check_emit(m, "mention", in->struct_size, in->remote_id);
    struct srm_mention c = SRM_MENTION_INIT;

    if (rc < 0)
        return rc;
    c.network = mh_dup(mh_network(m, in->network));
    c.remote_id = mh_dup(in->remote_id);
    c.author_id = mh_dup(in->author_id);
    c.author_network = mh_dup(in->author_network);
    c.text = mh_dup(in->text);
    c.url = mh_dup(in->url);
    c.created_at = in->created_at;
    c.edited_at = in->edited_at;
    c.reply_to = mh_dup(in->reply_to);
    c.matched = mh_dup(in->matched);
    c.lang = mh_dup(in->lang);
    c.visibility = mh_dup(in->visibility);
    c.context_title = mh_dup(in->context_title);
    c.context_url = mh_dup(in->context_url);
    c.reply_ref = mh_dup(in->reply_ref);
    c.flags = in->flags;
    MH_PUSH(m->mentions, m->n_mentions, c);
    return 0;
}

static int mh_contact_add(struct srm_instance *inst,
                          const struct srm_contact *in)
{
    struct mock_host *m = mh_of(inst);
    int rc = mh_check_emit(m, "contact", in->struct_size, in->remote_id);
    struct srm_contact c = SRM_CONTACT_INIT;

    if (rc < 0)
        return rc;
    c.network = mh_dup(mh_network(m, in->network));
    c.remote_id = mh_dup(in->remote_id);
    c.relation = in->relation;
    MH_PUSH(m->contacts, m->n_contacts, c);
    return 0;
}

static int mh_interaction_add(struct srm_instance *inst,
                              const struct srm_interaction *in)
{
    struct mock_host *m = mh_of(inst);
    int rc = mh_check_emit(m, "interaction", in->struct_size, in->remote_id);
    struct srm_interaction c = SRM_INTERACTION_INIT;

    if (rc < 0)
        return rc;
    c.network = mh_dup(mh_network(m, in->network));
    c.remote_id = mh_dup(in->remote_id);
    c.identity_id = mh_dup(in->identity_id);
    c.direction = in->direction;
    c.at = in->at;
    c.summary = mh_dup(in->summary);
    c.member = mh_dup(in->member);
    MH_PUSH(m->interactions, m->n_interactions, c);
    return 0;
}

/* -------------------------------------------------------------- cursors */

static struct mock_kv *mh_cursor_find(const struct mock_host *m,
                                      const char *key)
{
    for (size_t i = 0; i < m->priv->n_cursors; i++)
        if (strcmp(m->priv->cursors[i].key, key) == 0)
            return &m->priv->cursors[i];
    return NULL;
}

static void mh_cursor_store(struct mock_host *m, const char *key,
                            const char *value)
{
    struct mock_kv *kv = mh_cursor_find(m, key);

    if (kv == NULL) {
        struct mock_kv nkv = {.key = srm_xstrdup(key)};
        MH_PUSH(m->priv->cursors, m->priv->n_cursors, nkv);
        kv = &m->priv->cursors[m->priv->n_cursors - 1];
    }
    free(kv->value);
    kv->value = mh_dup(value);
}

static const char *mh_cursor_get(struct srm_instance *inst, const char *key)
{
    return mock_cursor(mh_of(inst), key);
}

static int mh_cursor_set(struct srm_instance *inst, const char *key,
                         const char *value)
{
    struct mock_host *m = mh_of(inst);
    const struct srm_plugin *p = m->priv->plugin;
    bool stream = p != NULL && (p->capabilities & SRM_CAP_STREAM);
    struct mock_cursor_event ev;

    if (!m->priv->in_pass && !stream) {
        mh_violation(m, "cursor_set(%s) outside a pass", key);
        return SRM_E_STATE;
    }
    if (key == NULL || value == NULL) {
        mh_violation(m, "cursor_set with a NULL key or value");
        return -EINVAL;
    }
    mh_cursor_store(m, key, value);
    ev.key = srm_xstrdup(key);
    ev.value = srm_xstrdup(value);
    ev.n_mentions = m->n_mentions;
    ev.n_identities = m->n_identities;
    MH_PUSH(m->cursor_sets, m->n_cursor_sets, ev);
    return 0;
}

static void mh_pass_done(struct srm_instance *inst,
                         enum srm_pass_status status, uint32_t retry_after,
                         const char *fmt, ...) SRM_PRINTF_LIKE(4, 5);

static void mh_pass_done(struct srm_instance *inst,
                         enum srm_pass_status status, uint32_t retry_after,
                         const char *fmt, ...)
{
    struct mock_host *m = mh_of(inst);
    va_list ap;
    char *msg = NULL;

    if (!m->priv->in_pass)
        mh_violation(m, "pass_done(%d) outside a pass", (int)status);
    m->priv->in_pass = false;
    if (fmt != NULL) {
        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
            abort();
        va_end(ap);
    }
    m->pass.count++;
    m->pass.status = status;
    m->pass.retry_after = retry_after;
    free(m->pass.message);
    m->pass.message = msg;
    if (getenv("MOCK_VERBOSE") != NULL)
        fprintf(stderr, "mock_host: pass_done(%d, %u, %s)\n", (int)status,
                retry_after, msg != NULL ? msg : "");
}

static void mh_http_reject(struct srm_instance *inst,
                           const struct srm_http_resp *resp)
{
    (void)resp;
    mh_of(inst)->n_rejected++;
}

static const struct srm_host_api mh_api = {
    .abi_major = SRM_PLUGIN_ABI_MAJOR,
    .abi_minor = SRM_PLUGIN_ABI_MINOR,
    .struct_size = sizeof(struct srm_host_api),
    .log = mh_log,
    .cfg_string = mh_cfg_string,
    .cfg_int = mh_cfg_int,
    .cfg_bool = mh_cfg_bool,
    .cfg_duration = mh_cfg_duration,
    .cfg_list = mh_cfg_list,
    .cfg_error = mh_cfg_error,
    .listen_keywords = mh_listen_keywords,
    .source_name = mh_source_name,
    .http_submit = mh_http_submit,
    .http_header = mh_http_header,
    .identity_upsert = mh_identity_upsert,
    .mention_add = mh_mention_add,
    .contact_add = mh_contact_add,
    .interaction_add = mh_interaction_add,
    .cursor_get = mh_cursor_get,
    .cursor_set = mh_cursor_set,
    .pass_done = mh_pass_done,
    .html_to_text = srm_text_from_html,
    .free = free,
    .http_reject = mh_http_reject,
};

/* ------------------------------------------------------------ test side */

const struct srm_host_api *mock_host_api(void)
{
    return &mh_api;
}

struct mock_host *mock_host_create(void)
{
    struct mock_host *m = srm_xcalloc(1, sizeof(*m));

    m->priv = srm_xcalloc(1, sizeof(*m->priv));
    m->priv->inst.m = m;
    return m;
}

struct srm_instance *mock_instance(struct mock_host *m)
{
    return &m->priv->inst;
}

int mock_plugin_create(struct mock_host *m, const struct srm_plugin *plugin)
{
    int rc;

    m->priv->plugin = plugin;
    rc = plugin->create(&m->priv->inst, &m->priv->ctx);
    m->priv->created = rc == 0;
    return rc;
}

void *mock_plugin_ctx(struct mock_host *m)
{
    return m->priv->ctx;
}

int mock_sync(struct mock_host *m)
{
    int rc;

    if (!m->priv->created) {
        mh_violation(m, "mock_sync without a created instance");
        return -EINVAL;
    }
    if (m->priv->in_pass)
        mh_violation(m, "mock_sync while a pass is still open");
    m->priv->in_pass = true;
    m->pass.count = 0;
    rc = m->priv->plugin->sync(m->priv->ctx);
    if (rc < 0)
        m->priv->in_pass = false;
    return rc;
}

void mock_pass_reclaim(struct mock_host *m)
{
    m->priv->in_pass = false;
}

static void mh_free_strv(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void mh_free_records(struct mock_host *m)
{
    for (size_t i = 0; i < m->n_identities; i++) {
        struct srm_identity *c = &m->identities[i];
        free((char *)c->network);
        free((char *)c->remote_id);
        free((char *)c->handle);
        free((char *)c->display_name);
        free((char *)c->profile_url);
        free((char *)c->bio);
        free((char *)c->avatar_url);
        free((char *)c->email);
        for (size_t j = 0; j < c->n_links; j++) {
            free((char *)c->links[j].label);
            free((char *)c->links[j].url);
        }
        free((void *)c->links);
    }
    SRM_FREE(m->identities);
    m->n_identities = 0;
    for (size_t i = 0; i < m->n_mentions; i++) {
        struct srm_mention *c = &m->mentions[i];
        const char *f[] = {c->network,   c->remote_id,     c->author_id,
                           c->text,      c->url,           c->reply_to,
                           c->matched,   c->lang,          c->visibility,
                           c->context_title, c->context_url, c->reply_ref,
                           c->author_network};
        for (size_t j = 0; j < SRM_ARRAY_LEN(f); j++)
            free((char *)f[j]);
    }
    SRM_FREE(m->mentions);
    m->n_mentions = 0;
    for (size_t i = 0; i < m->n_contacts; i++) {
        free((char *)m->contacts[i].network);
        free((char *)m->contacts[i].remote_id);
    }
    SRM_FREE(m->contacts);
    m->n_contacts = 0;
    for (size_t i = 0; i < m->n_interactions; i++) {
        struct srm_interaction *c = &m->interactions[i];
        free((char *)c->network);
        free((char *)c->remote_id);
        free((char *)c->identity_id);
        free((char *)c->summary);
        free((char *)c->member);
    }
    SRM_FREE(m->interactions);
    m->n_interactions = 0;
    for (size_t i = 0; i < m->n_cursor_sets; i++) {
        free(m->cursor_sets[i].key);
        free(m->cursor_sets[i].value);
    }
    SRM_FREE(m->cursor_sets);
    m->n_cursor_sets = 0;
}

static void mh_free_requests(struct mock_host *m)
{
    for (size_t i = 0; i < m->n_requests; i++) {
        struct mock_request *r = &m->requests[i];
        free(r->method);
        free(r->url);
        mh_free_strv(r->headers, r->n_headers);
        free(r->body);
        free(r->bearer_token);
        free(r->username);
        free(r->password);
        free(r->custom_request);
    }
    SRM_FREE(m->requests);
    m->n_requests = 0;
    m->n_unexpected = 0;
    for (size_t i = 0; i < m->n_expects; i++) {
        struct mock_expect *e = m->expects[i];
        free(e->method);
        free(e->url_substr);
        free(e->headers);
        free(e->body);
        free(e->error_msg);
        free(e);
    }
    SRM_FREE(m->expects);
    m->n_expects = 0;
}

void mock_pass_reset(struct mock_host *m)
{
    mh_free_records(m);
    /* Pending requests index into requests[]: keep them until delivered. */
    if (m->priv->n_pending == 0)
        mh_free_requests(m);
    else
        fprintf(stderr, "mock_host: reset with %zu requests pending\n",
                m->priv->n_pending);
    mh_free_strv(m->logs, m->n_logs);
    m->logs = NULL;
    m->n_logs = 0;
    mh_free_strv(m->violations, m->n_violations);
    m->violations = NULL;
    m->n_violations = 0;
    SRM_FREE(m->pass.message);
    memset(&m->pass, 0, sizeof(m->pass));
}

static void mh_free_cfg(struct mock_cfg_value *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].key);
        mh_free_strv(v[i].items, v[i].n);
    }
    free(v);
}

void mock_host_destroy(struct mock_host *m)
{
    struct mock_pending p;

    if (m == NULL)
        return;
    /* As the daemon does: cancel what is in flight before destroy(). */
    while (mh_pop(m, &p))
        mh_deliver(m, &p, true);
    if (m->priv->created && m->priv->plugin->destroy != NULL)
        m->priv->plugin->destroy(m->priv->ctx);
    mock_pass_reset(m);
    mh_free_strv(m->cfg_errors, m->n_cfg_errors);
    mh_free_cfg(m->priv->cfg, m->priv->n_cfg);
    mh_free_cfg(m->priv->defaults, m->priv->n_defaults);
    mh_free_strv(m->priv->listen, m->priv->n_listen);
    free(m->priv->source_name);
    for (size_t i = 0; i < m->priv->n_cursors; i++) {
        free(m->priv->cursors[i].key);
        free(m->priv->cursors[i].value);
    }
    free(m->priv->cursors);
    free(m->priv->pending);
    free(m->priv);
    free(m);
}

static void mh_cfg_put(struct mock_host *m, const char *key, char **items,
                       size_t n, bool is_list)
{
    struct mock_cfg_value *v = mh_cfg_find(m->priv->cfg, m->priv->n_cfg, key);

    if (v == NULL) {
        struct mock_cfg_value nv = {.key = srm_xstrdup(key)};
        MH_PUSH(m->priv->cfg, m->priv->n_cfg, nv);
        v = &m->priv->cfg[m->priv->n_cfg - 1];
    } else {
        mh_free_strv(v->items, v->n);
    }
    v->items = items;
    v->n = n;
    v->is_list = is_list;
}

void mock_cfg_set(struct mock_host *m, const char *key, const char *value)
{
    char **items = srm_xcalloc(2, sizeof(*items));

    items[0] = srm_xstrdup(value);
    mh_cfg_put(m, key, items, 1, false);
}

void mock_cfg_set_listv(struct mock_host *m, const char *key,
                        const char *const *items, size_t n)
{
    char **copy = srm_xcalloc(n + 1, sizeof(*copy));

    for (size_t i = 0; i < n; i++)
        copy[i] = srm_xstrdup(items[i]);
    mh_cfg_put(m, key, copy, n, true);
}

/* Collect a NULL-terminated variadic list into a malloc'd array. */
static char **mh_collect(va_list ap, size_t *ret_n)
{
    char **v = srm_xcalloc(1, sizeof(*v));
    size_t n = 0;
    const char *s;

    while ((s = va_arg(ap, const char *)) != NULL) {
        v = srm_xreallocarray(v, n + 2, sizeof(*v));
        v[n++] = srm_xstrdup(s);
        v[n] = NULL;
    }
    *ret_n = n;
    return v;
}

void mock_cfg_set_list(struct mock_host *m, const char *key, ...)
{
    va_list ap;
    size_t n;

    va_start(ap, key);
    char **items = mh_collect(ap, &n);
    va_end(ap);
    mh_cfg_put(m, key, items, n, true);
}

void mock_listen_keywords(struct mock_host *m, ...)
{
    va_list ap;

    mh_free_strv(m->priv->listen, m->priv->n_listen);
    va_start(ap, m);
    m->priv->listen = mh_collect(ap, &m->priv->n_listen);
    va_end(ap);
}

void mock_set_source_name(struct mock_host *m, const char *name)
{
    free(m->priv->source_name);
    m->priv->source_name = mh_dup(name);
}

struct mock_expect *mock_http_expect_n(struct mock_host *m,
                                       const char *method,
                                       const char *url_substr, long status,
                                       const char *headers, const char *body,
                                       size_t body_len)
{
    struct mock_expect *e = srm_xcalloc(1, sizeof(*e));

    e->method = srm_xstrdup(method != NULL ? method : "GET");
    e->url_substr = srm_xstrdup(url_substr != NULL ? url_substr : "");
    e->status = status;
    e->headers = mh_dup(headers);
    if (body != NULL) {
        e->body = srm_xmalloc(body_len + 1);
        memcpy(e->body, body, body_len);
        e->body[body_len] = '\0';
        e->body_len = body_len;
    }
    e->retry_after = -1;
    e->not_modified = status == 304;
    MH_PUSH(m->expects, m->n_expects, e);
    return e;
}

struct mock_expect *mock_http_expect(struct mock_host *m, const char *method,
                                     const char *url_substr, long status,
                                     const char *headers, const char *body)
{
    return mock_http_expect_n(m, method, url_substr, status, headers, body,
                              body != NULL ? strlen(body) : 0);
}

struct mock_expect *mock_http_expect_file(struct mock_host *m,
                                          const char *method,
                                          const char *url_substr, long status,
                                          const char *headers,
                                          const char *path)
{
    size_t len;
    char *body = mock_load_file(path, &len);
    struct mock_expect *e =
        mock_http_expect_n(m, method, url_substr, status, headers, body, len);

    free(body);
    return e;
}

struct mock_expect *mock_http_expect_error(struct mock_host *m,
                                           const char *method,
                                           const char *url_substr, int error,
                                           const char *error_msg)
{
    struct mock_expect *e =
        mock_http_expect(m, method, url_substr, 0, NULL, NULL);

    e->error = error;
    e->error_msg = mh_dup(error_msg);
    return e;
}

size_t mock_http_unused(const struct mock_host *m)
{
    size_t n = 0;

    for (size_t i = 0; i < m->n_expects; i++)
        if (!m->expects[i]->used)
            n++;
    return n;
}

const struct mock_request *mock_request_find(const struct mock_host *m,
                                             const char *substr, size_t n)
{
    for (size_t i = 0; i < m->n_requests; i++)
        if (strstr(m->requests[i].url, substr) != NULL && n-- == 0)
            return &m->requests[i];
    return NULL;
}

const char *mock_request_header(const struct mock_request *r,
                                const char *name)
{
    size_t nlen = strlen(name);
    const char *found = NULL;

    for (size_t i = 0; i < r->n_headers; i++) {
        const char *h = r->headers[i];
        if (strncasecmp(h, name, nlen) == 0 && h[nlen] == ':') {
            found = h + nlen + 1;
            while (*found == ' ')
                found++;
        }
    }
    return found;
}

const char *mock_cursor(const struct mock_host *m, const char *key)
{
    struct mock_kv *kv = mh_cursor_find(m, key);

    return kv != NULL ? kv->value : NULL;
}

void mock_cursor_preset(struct mock_host *m, const char *key,
                        const char *value)
{
    mh_cursor_store(m, key, value);
}

const struct srm_mention *mock_mention_find(const struct mock_host *m,
                                            const char *remote_id)
{
    for (size_t i = 0; i < m->n_mentions; i++)
        if (strcmp(m->mentions[i].remote_id, remote_id) == 0)
            return &m->mentions[i];
    return NULL;
}

const struct srm_identity *mock_identity_find(const struct mock_host *m,
                                              const char *remote_id)
{
    for (size_t i = 0; i < m->n_identities; i++)
        if (strcmp(m->identities[i].remote_id, remote_id) == 0)
            return &m->identities[i];
    return NULL;
}

bool mock_log_contains(const struct mock_host *m, const char *substr)
{
    for (size_t i = 0; i < m->n_logs; i++)
        if (strstr(m->logs[i], substr) != NULL)
            return true;
    return false;
}

char *mock_load_file(const char *path, size_t *ret_len)
{
    char *full = path[0] == '/' ? srm_xstrdup(path)
                                : srm_xasprintf("%s/%s", SRM_TEST_DATA, path);
    FILE *f = fopen(full, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0, n;

    if (f == NULL) {
        fprintf(stderr, "mock_load_file: %s: %s\n", full, strerror(errno));
        abort();
    }
    do {
        if (len + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            buf = srm_xrealloc(buf, cap);
        }
        n = fread(buf + len, 1, cap - len - 1, f);
        len += n;
    } while (n > 0);
    if (ferror(f)) {
        fprintf(stderr, "mock_load_file: %s: read error\n", full);
        abort();
    }
    fclose(f);
    free(full);
    buf[len] = '\0';
    if (ret_len != NULL)
        *ret_len = len;
    return buf;
}
