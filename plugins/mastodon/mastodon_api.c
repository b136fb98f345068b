/* mastodon_api.c - Mastodon JSON to srm records; see mastodon_api.h.
 *
 * Every page is checked whole before its first record is emitted: a pass
 * that fails must leave nothing half-applied, and the reason it gives must
 * name the item and field, because that is what a person reads in
 * `srmctl sources` when a server (or a non-Mastodon "compatible" one)
 * answers something unexpected. */
#include "mastodon_api.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static char *ma_fmt(const char *fmt, ...) SRM_PRINTF_LIKE(1, 2);
static const char *ma_type_name(const json_t *v);

/* A malloc'd formatted reason; NULL only when out of memory, which the
 * callers report as -ENOMEM by way of a NULL reason. */
static char *ma_fmt(const char *fmt, ...)
{
    va_list ap;
    char *s;

    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    return s;
}

static const char *ma_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "unknown";
}

int masto_id_cmp(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);

    if (la != lb)
        return la < lb ? -1 : 1;
    return strcmp(a, b);
}

/* Read exactly n digits. */
static bool ma_digits(const char **p, int n, int *ret)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return false;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *ret = v;
    return true;
}

int64_t masto_parse_time(const char *s)
{
    struct tm tm = {0};
    int y, mo, d, h = 0, mi = 0, sec = 0, off = 0;
    const char *p = s;

    if (s == NULL)
        return -1;
    if (!ma_digits(&p, 4, &y) || *p++ != '-' || !ma_digits(&p, 2, &mo) ||
        *p++ != '-' || !ma_digits(&p, 2, &d))
        return -1;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (!ma_digits(&p, 2, &h) || *p++ != ':' || !ma_digits(&p, 2, &mi))
            return -1;
        if (*p == ':') {
            p++;
            if (!ma_digits(&p, 2, &sec))
                return -1;
        }
        if (*p == '.' || *p == ',') {
            p++;
            if (!isdigit((unsigned char)*p))
                return -1;
            while (isdigit((unsigned char)*p))
                p++;
        }
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p++ == '-' ? -1 : 1, oh, om = 0;
            if (!ma_digits(&p, 2, &oh))
                return -1;
            if (*p == ':')
                p++;
            if (isdigit((unsigned char)*p) && !ma_digits(&p, 2, &om))
                return -1;
            off = sign * (oh * 3600 + om * 60);
        }
    }
    if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
        mi > 59 || sec > 60)
        return -1;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    return (int64_t)timegm(&tm) - off;
}

char *masto_url_host(const char *url)
{
    const char *p = strstr(url, "://"), *end;
    char *host;

    if (p == NULL)
        return NULL;
    p += 3;
    /* Skip userinfo, if any, within the authority. */
    end = p + strcspn(p, "/?#");
    const char *at = memchr(p, '@', (size_t)(end - p));
    if (at != NULL)
        p = at + 1;
    if (end == p)
        return NULL;
    host = strndup(p, (size_t)(end - p));
    if (host == NULL)
        return NULL;
    for (char *q = host; *q != '\0'; q++)
        *q = (char)tolower((unsigned char)*q);
    return host;
}

char *masto_url_encode(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = malloc(n * 3 + 1), *o = out;

    if (out == NULL)
        return NULL;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' ||
            *p == '~') {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o = '\0';
    return out;
}

/* Does the rel parameter value (space-separated relation types, quotes
 * already removed) list rel? */
static bool ma_rel_has(const char *v, size_t n, const char *rel)
{
    size_t rl = strlen(rel);
    const char *end = v + n;

    while (v < end) {
        while (v < end && *v == ' ')
            v++;
        const char *w = v;
        while (v < end && *v != ' ')
            v++;
        if ((size_t)(v - w) == rl && strncasecmp(w, rel, rl) == 0)
            return true;
    }
    return false;
}

char *masto_link_rel(const char *link, const char *rel)
{
    const char *p = link;

    if (link == NULL)
        return NULL;
    for (;;) {
        const char *lt = strchr(p, '<'), *gt;
        if (lt == NULL)
            return NULL;
        gt = strchr(lt, '>');
        if (gt == NULL)
            return NULL;
        /* Parameters run to the next entry's '<' (a ',' may appear in a
         * quoted parameter, a '<' may not appear outside the URL). */
        const char *next = strchr(gt, '<');
        const char *pend = next != NULL ? next : gt + strlen(gt);
        for (const char *q = gt + 1; q < pend; q++) {
            if (strncasecmp(q, "rel=", 4) != 0)
                continue;
            q += 4;
            const char *v = q, *ve;
            if (*v == '"') {
                v++;
                ve = memchr(v, '"', (size_t)(pend - v));
                if (ve == NULL)
                    ve = pend;
            } else {
                ve = v + strcspn(v, ";, \t");
                if (ve > pend)
                    ve = pend;
            }
            if (ma_rel_has(v, (size_t)(ve - v), rel))
                return strndup(lt + 1, (size_t)(gt - lt - 1));
            break;
        }
        if (next == NULL)
            return NULL;
        p = next;
    }
}

/* ------------------------------------------------------------- checking */

enum ma_want { MA_STR, MA_OBJ, MA_ARR, MA_INT, MA_BOOL };

static const char *ma_want_name(enum ma_want w)
{
    switch (w) {
    case MA_STR: return "a string";
    case MA_OBJ: return "an object";
    case MA_ARR: return "an array";
    case MA_INT: return "an integer";
    case MA_BOOL: return "a boolean";
    }
    return "?";
}

static bool ma_is(const json_t *v, enum ma_want w)
{
    switch (w) {
    case MA_STR: return json_is_string(v);
    case MA_OBJ: return json_is_object(v);
    case MA_ARR: return json_is_array(v);
    case MA_INT: return json_is_integer(v);
    case MA_BOOL: return json_is_boolean(v);
    }
    return false;
}

/* Check o[key]: required fields must be present and of type w; optional
 * ones may be absent or null. */
static int ma_field(json_t *o, const char *what, const char *id,
                    const char *key, enum ma_want w, bool required,
                    char **ret_err)
{
    json_t *v = json_object_get(o, key);

    if (v == NULL || json_is_null(v)) {
        if (!required)
            return 0;
        *ret_err = ma_fmt("%s %s: field '%s' is missing", what, id, key);
        return SRM_E_PARSE;
    }
    if (!ma_is(v, w)) {
        *ret_err = ma_fmt("%s %s: field '%s' is %s, expected %s", what, id,
                          key, ma_type_name(v), ma_want_name(w));
        return SRM_E_PARSE;
    }
    return 0;
}

static const char *ma_str(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key)); /* NULL if not one */
}

/* The id for messages before "id" itself is known to be a string. */
static const char *ma_label(json_t *o)
{
    const char *id = ma_str(o, "id");
    return id != NULL ? id : "(no id)";
}

int masto_account_check(json_t *a, char **ret_err)
{
    static const char *const opt_str[] = {"uri", "url", "display_name",
                                          "note", "avatar"};
    static const char *const opt_int[] = {"followers_count",
                                          "following_count",
                                          "statuses_count"};
    const char *id;
    int rc;

    if (!json_is_object(a)) {
        *ret_err = ma_fmt("account is %s, expected an object",
                          ma_type_name(a));
        return SRM_E_PARSE;
    }
    id = ma_label(a);
    if ((rc = ma_field(a, "account", id, "id", MA_STR, true, ret_err)) < 0 ||
        (rc = ma_field(a, "account", id, "acct", MA_STR, true, ret_err)) <
            0 ||
        (rc = ma_field(a, "account", id, "username", MA_STR, true,
                       ret_err)) < 0)
        return rc;
    if (ma_str(a, "acct")[0] == '\0') {
        *ret_err = ma_fmt("account %s: field 'acct' is empty", id);
        return SRM_E_PARSE;
    }
    for (size_t i = 0; i < sizeof(opt_str) / sizeof(*opt_str); i++)
        if ((rc = ma_field(a, "account", id, opt_str[i], MA_STR, false,
                           ret_err)) < 0)
            return rc;
    for (size_t i = 0; i < sizeof(opt_int) / sizeof(*opt_int); i++)
        if ((rc = ma_field(a, "account", id, opt_int[i], MA_INT, false,
                           ret_err)) < 0)
            return rc;
    if ((rc = ma_field(a, "account", id, "fields", MA_ARR, false,
                       ret_err)) < 0)
        return rc;
    json_t *fields = json_object_get(a, "fields"), *f;
    size_t i;
    json_array_foreach(fields, i, f) {
        if (!json_is_object(f) || !json_is_string(json_object_get(f, "name")) ||
            !json_is_string(json_object_get(f, "value"))) {
            *ret_err = ma_fmt("account %s: fields[%zu] needs string 'name' "
                              "and 'value'", id, i);
            return SRM_E_PARSE;
        }
        if ((rc = ma_field(f, "account", id, "verified_at", MA_STR, false,
                           ret_err)) < 0)
            return rc;
    }
    return 0;
}

static int ma_status_check(json_t *st, bool inner, char **ret_err)
{
    static const char *const req_str[] = {"id", "uri", "created_at",
                                          "content"};
    static const char *const opt_str[] = {"url", "edited_at",
                                          "in_reply_to_id", "language",
                                          "visibility", "spoiler_text"};
    const char *id;
    int rc;

    if (!json_is_object(st)) {
        *ret_err = ma_fmt("status is %s, expected an object",
                          ma_type_name(st));
        return SRM_E_PARSE;
    }
    id = ma_label(st);
    for (size_t i = 0; i < sizeof(req_str) / sizeof(*req_str); i++)
        if ((rc = ma_field(st, "status", id, req_str[i], MA_STR, true,
                           ret_err)) < 0)
            return rc;
    for (size_t i = 0; i < sizeof(opt_str) / sizeof(*opt_str); i++)
        if ((rc = ma_field(st, "status", id, opt_str[i], MA_STR, false,
                           ret_err)) < 0)
            return rc;
    if (ma_str(st, "uri")[0] == '\0') {
        *ret_err = ma_fmt("status %s: field 'uri' is empty", id);
        return SRM_E_PARSE;
    }
    if (masto_parse_time(ma_str(st, "created_at")) < 0) {
        *ret_err = ma_fmt("status %s: created_at '%s' is not a date", id,
                          ma_str(st, "created_at"));
        return SRM_E_PARSE;
    }
    const char *ed = ma_str(st, "edited_at");
    if (ed != NULL && masto_parse_time(ed) < 0) {
        *ret_err = ma_fmt("status %s: edited_at '%s' is not a date", id, ed);
        return SRM_E_PARSE;
    }
    if ((rc = ma_field(st, "status", id, "account", MA_OBJ, true, ret_err)) <
        0)
        return rc;
    if ((rc = masto_account_check(json_object_get(st, "account"), ret_err)) <
        0)
        return rc;
    json_t *rb = json_object_get(st, "reblog");
    if (rb != NULL && !json_is_null(rb)) {
        if (inner) {
            *ret_err = ma_fmt("status %s: a reblog of a reblog", id);
            return SRM_E_PARSE;
        }
        return ma_status_check(rb, true, ret_err);
    }
    return 0;
}

int masto_status_check(json_t *st, char **ret_err)
{
    return ma_status_check(st, false, ret_err);
}

int masto_notification_check(json_t *n, char **ret_err)
{
    const char *id;
    int rc;

    if (!json_is_object(n)) {
        *ret_err = ma_fmt("notification is %s, expected an object",
                          ma_type_name(n));
        return SRM_E_PARSE;
    }
    id = ma_label(n);
    if ((rc = ma_field(n, "notification", id, "id", MA_STR, true,
                       ret_err)) < 0 ||
        (rc = ma_field(n, "notification", id, "type", MA_STR, true,
                       ret_err)) < 0 ||
        (rc = ma_field(n, "notification", id, "account", MA_OBJ, true,
                       ret_err)) < 0 ||
        (rc = ma_field(n, "notification", id, "status", MA_OBJ, false,
                       ret_err)) < 0)
        return rc;
    if ((rc = masto_account_check(json_object_get(n, "account"), ret_err)) <
        0)
        return rc;
    json_t *st = json_object_get(n, "status");
    if (st != NULL && !json_is_null(st))
        return masto_status_check(st, ret_err);
    return 0;
}

/* A short, printable excerpt of a body that is not JSON. */
static void ma_excerpt(const char *body, size_t len, char *out, size_t size)
{
    size_t o = 0;

    for (size_t i = 0; i < len && o + 1 < size && o < 40; i++)
        out[o++] = isprint((unsigned char)body[i]) ? body[i] : ' ';
    out[o] = '\0';
}

int masto_page_parse(enum masto_page_kind kind, const char *body, size_t len,
                     json_t **ret_root, json_t **ret_items, char **ret_err)
{
    json_error_t jerr;
    json_t *root, *items, *it;
    size_t skip = 0, i;
    int rc = SRM_E_PARSE;

    *ret_root = NULL;
    *ret_items = NULL;
    *ret_err = NULL;
    while (skip < len && isspace((unsigned char)body[skip]))
        skip++;
    if (skip < len && body[skip] == '<') {
        char ex[48];
        ma_excerpt(body + skip, len - skip, ex, sizeof(ex));
        *ret_err = ma_fmt("the server answered HTML, not JSON (\"%s...\"); "
                          "is base_url a Mastodon server?", ex);
        return SRM_E_PARSE;
    }
    root = json_loadb(body, len, 0, &jerr);
    if (root == NULL) {
        *ret_err = ma_fmt("malformed JSON at line %d column %d: %s",
                          jerr.line, jerr.column, jerr.text);
        return SRM_E_PARSE;
    }
    items = root;
    if (kind == MASTO_PAGE_SEARCH) {
        if (!json_is_object(root)) {
            *ret_err = ma_fmt("search answer is %s, expected an object",
                              ma_type_name(root));
            goto fail;
        }
        items = json_object_get(root, "statuses");
        if (items == NULL) {
            *ret_err = ma_fmt("search answer has no 'statuses'");
            goto fail;
        }
    }
    if (!json_is_array(items)) {
        *ret_err = ma_fmt("page is %s, expected an array",
                          ma_type_name(items));
        goto fail;
    }
    json_array_foreach(items, i, it) {
        switch (kind) {
        case MASTO_PAGE_NOTIFICATIONS:
            rc = masto_notification_check(it, ret_err);
            break;
        case MASTO_PAGE_STATUSES:
        case MASTO_PAGE_SEARCH:
            rc = masto_status_check(it, ret_err);
            break;
        case MASTO_PAGE_ACCOUNTS:
            rc = masto_account_check(it, ret_err);
            break;
        }
        if (rc < 0)
            goto fail;
    }
    *ret_root = root;
    *ret_items = items;
    return 0;
fail:
    json_decref(root);
    if (*ret_err == NULL)
        return -ENOMEM;
    return SRM_E_PARSE;
}

/* -------------------------------------------------------------- mapping */

/* html_to_text into a malloc'd string we own (the host's allocator may
 * differ from ours), or NULL. */
static char *ma_text(const struct masto_ctx *c, const char *html)
{
    char *t, *copy;

    if (html == NULL || html[0] == '\0')
        return NULL;
    t = c->host->html_to_text(html, strlen(html));
    if (t == NULL)
        return NULL;
    copy = strdup(t);
    c->host->free(t);
    return copy;
}

/* The href of the first <a> in a profile field's HTML value, with &amp;
 * decoded, or NULL. */
static char *ma_href(const char *html)
{
    const char *p = strstr(html, "href=\"");
    const char *end;
    char *out, *o;

    if (p == NULL)
        return NULL;
    p += 6;
    end = strchr(p, '"');
    if (end == NULL)
        return NULL;
    out = strndup(p, (size_t)(end - p));
    if (out == NULL)
        return NULL;
    o = out;
    for (const char *q = out; *q != '\0';) {
        if (strncmp(q, "&amp;", 5) == 0) {
            *o++ = '&';
            q += 5;
        } else {
            *o++ = *q++;
        }
    }
    *o = '\0';
    return out;
}

int masto_emit_account(const struct masto_ctx *c, json_t *a,
                       char **ret_remote_id)
{
    struct srm_identity id = SRM_IDENTITY_INIT;
    const char *acct = ma_str(a, "acct"), *uri = ma_str(a, "uri");
    char *handle = NULL, *bio = NULL;
    char **owned = NULL; /* link strings */
    struct srm_link *links = NULL;
    json_t *fields = json_object_get(a, "fields"), *f;
    size_t n_fields = json_array_size(fields), n_links = 0, n_owned = 0, i;
    int rc = -ENOMEM;

    if (strchr(acct, '@') != NULL)
        handle = strdup(acct);
    else if (asprintf(&handle, "%s@%s", acct, c->host_name) < 0)
        handle = NULL;
    if (handle == NULL)
        goto fail;
    id.remote_id = uri != NULL && uri[0] != '\0' ? uri : handle;
    id.handle = handle;
    id.display_name = ma_str(a, "display_name");
    if (id.display_name != NULL && id.display_name[0] == '\0')
        id.display_name = NULL;
    id.profile_url = ma_str(a, "url");
    id.avatar_url = ma_str(a, "avatar");
    bio = ma_text(c, ma_str(a, "note"));
    id.bio = bio;
    if (json_is_integer(json_object_get(a, "followers_count")))
        id.followers = json_integer_value(json_object_get(a,
                                                          "followers_count"));
    if (json_is_integer(json_object_get(a, "following_count")))
        id.following = json_integer_value(json_object_get(a,
                                                          "following_count"));
    if (json_is_integer(json_object_get(a, "statuses_count")))
        id.posts = json_integer_value(json_object_get(a, "statuses_count"));
    if (n_fields > 0) {
        links = calloc(n_fields, sizeof(*links));
        owned = calloc(n_fields, sizeof(*owned));
        if (links == NULL || owned == NULL)
            goto fail;
    }
    json_array_foreach(fields, i, f) {
        const char *value = ma_str(f, "value");
        char *url = ma_href(value);
        if (url == NULL)
            url = ma_text(c, value);
        if (url == NULL || url[0] == '\0') {
            free(url);
            continue;
        }
        owned[n_owned++] = url;
        links[n_links].label = ma_str(f, "name");
        links[n_links].url = url;
        const char *va = ma_str(f, "verified_at");
        int64_t t = va != NULL ? masto_parse_time(va) : 0;
        links[n_links].verified_at = t > 0 ? t : 0;
        n_links++;
    }
    id.links = links;
    id.n_links = n_links;
    rc = c->host->identity_upsert(c->inst, &id);
    if (rc < 0)
        goto fail;
    if (ret_remote_id != NULL) {
        *ret_remote_id = strdup(id.remote_id);
        if (*ret_remote_id == NULL)
            rc = -ENOMEM;
    }
fail:
    for (i = 0; i < n_owned; i++)
        free(owned[i]);
    free(owned);
    free(links);
    free(bio);
    free(handle);
    return rc;
}

/* A status of the page with this id (a boost's inner status too), or
 * NULL. */
static json_t *ma_page_status(json_t *page, const char *id)
{
    json_t *it;
    size_t i;

    json_array_foreach(page, i, it) {
        /* A Notification has a type and maybe a status; a Status has no
         * type. A notification's own id is not a status id. */
        json_t *st = json_object_get(it, "type") != NULL
                         ? json_object_get(it, "status")
                         : it;
        for (int depth = 0; depth < 2 && json_is_object(st); depth++) {
            const char *sid = ma_str(st, "id");
            if (sid != NULL && strcmp(sid, id) == 0)
                return st;
            st = json_object_get(st, "reblog");
        }
    }
    return NULL;
}

/* The uri of the status with server-local id parent_id, when we know it:
 * remembered from earlier (our own replies too) or in the same page. */
static const char *ma_parent_uri(const struct masto_ctx *c,
                                 const char *parent_id)
{
    const struct masto_seen_entry *e;
    json_t *st;

    if (parent_id == NULL || parent_id[0] == '\0')
        return NULL;
    e = c->seen != NULL ? masto_seen_get(c->seen, parent_id) : NULL;
    if (e != NULL)
        return e->uri;
    st = c->page != NULL ? ma_page_status(c->page, parent_id) : NULL;
    return st != NULL ? ma_str(st, "uri") : NULL;
}

int masto_emit_status(const struct masto_ctx *c, json_t *st,
                      const char *matched)
{
    struct srm_mention m = SRM_MENTION_INIT;
    json_t *rb = json_object_get(st, "reblog");
    char *author = NULL, *body = NULL, *text = NULL;
    int rc;

    if (rb != NULL && json_is_object(rb)) {
        /* The booster is an account we have seen too. */
        rc = masto_emit_account(c, json_object_get(st, "account"), NULL);
        if (rc < 0)
            return rc;
        st = rb;
        m.flags |= SRM_MENTION_REBLOG;
    }
    rc = masto_emit_account(c, json_object_get(st, "account"), &author);
    if (rc < 0)
        goto fail;
    rc = -ENOMEM;
    body = ma_text(c, ma_str(st, "content"));
    const char *cw = ma_str(st, "spoiler_text");
    if (cw != NULL && cw[0] != '\0') {
        if (asprintf(&text, "CW: %s\n%s", cw, body != NULL ? body : "") < 0) {
            text = NULL;
            goto fail;
        }
        m.text = text;
    } else {
        m.text = body;
    }
    m.remote_id = ma_str(st, "uri");
    m.author_id = author;
    m.url = ma_str(st, "url");
    if (m.url == NULL)
        m.url = m.remote_id;
    m.created_at = masto_parse_time(ma_str(st, "created_at"));
    const char *ed = ma_str(st, "edited_at");
    m.edited_at = ed != NULL ? masto_parse_time(ed) : 0;
    /* Borrowed from c->seen, which only the put below changes. */
    m.reply_to = ma_parent_uri(c, ma_str(st, "in_reply_to_id"));
    m.matched = matched;
    m.lang = ma_str(st, "language");
    m.visibility = ma_str(st, "visibility");
    m.reply_ref = ma_str(st, "id");
    rc = c->host->mention_add(c->inst, &m);
    if (rc < 0)
        goto fail;
    if (c->seen != NULL)
        masto_seen_put(c->seen, m.reply_ref, m.remote_id, m.visibility,
                       m.matched);
fail:
    free(author);
    free(body);
    free(text);
    return rc;
}

bool masto_emit_delete(const struct masto_ctx *c, const char *id)
{
    struct srm_mention m = SRM_MENTION_INIT;
    const struct masto_seen_entry *e =
        c->seen != NULL ? masto_seen_get(c->seen, id) : NULL;

    if (e == NULL || e->own)
        return false;
    m.remote_id = e->uri;
    m.reply_ref = e->id;
    m.flags = SRM_MENTION_DELETED;
    return c->host->mention_add(c->inst, &m) == 0;
}

/* ----------------------------------------------------------------- seen */

static void ma_seen_clear(struct masto_seen_entry *e)
{
    free(e->id);
    free(e->uri);
    free(e->visibility);
    free(e->matched);
    memset(e, 0, sizeof(*e));
}

void masto_seen_put(struct masto_seen *s, const char *id, const char *uri,
                    const char *visibility, const char *matched)
{
    struct masto_seen_entry *e = NULL;

    for (size_t i = 0; i < MASTO_SEEN_MAX; i++)
        if (s->e[i].id != NULL && strcmp(s->e[i].id, id) == 0)
            e = &s->e[i];
    if (e == NULL) {
        e = &s->e[s->next];
        s->next = (s->next + 1) % MASTO_SEEN_MAX;
    }
    ma_seen_clear(e);
    e->id = strdup(id);
    e->uri = strdup(uri);
    e->visibility = visibility != NULL ? strdup(visibility) : NULL;
    e->matched = matched != NULL ? strdup(matched) : NULL;
    if (e->id == NULL || e->uri == NULL)
        ma_seen_clear(e); /* out of memory: forget rather than keep half */
}

void masto_seen_put_own(struct masto_seen *s, const char *id,
                        const char *uri, const char *visibility)
{
    masto_seen_put(s, id, uri, visibility, NULL);
    for (size_t i = 0; i < MASTO_SEEN_MAX; i++)
        if (s->e[i].id != NULL && strcmp(s->e[i].id, id) == 0)
            s->e[i].own = true;
}

const struct masto_seen_entry *masto_seen_get(const struct masto_seen *s,
                                              const char *id)
{
    for (size_t i = 0; i < MASTO_SEEN_MAX; i++)
        if (s->e[i].id != NULL && strcmp(s->e[i].id, id) == 0)
            return &s->e[i];
    return NULL;
}

void masto_seen_fini(struct masto_seen *s)
{
    for (size_t i = 0; i < MASTO_SEEN_MAX; i++)
        ma_seen_clear(&s->e[i]);
    s->next = 0;
}
