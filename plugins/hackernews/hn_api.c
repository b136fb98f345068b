/* hn_api.c - Algolia HN Search: URLs and the mapping of hits to records.
 *
 * Field shapes follow NETWORKS.md §3: objectID is a string, created_at_i
 * Unix seconds, comment_text/story_text HN HTML, story_title/story_url copied
 * from the parent story on comments, and any of the optional fields may be
 * null (a deleted author, a story without url). A field of another type than
 * expected fails the whole page: emitting a guess would hide an API change. */
#include "hn_api.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct hn_hit {
    const char *object_id;
    const char *author;
    const char *comment_text;
    const char *story_text;
    const char *title;
    const char *url;
    const char *story_title;
    const char *story_url;
    int64_t created_at;
    int64_t parent_id; /* -1 when absent */
};

/* Append s percent-encoded (RFC 3986 unreserved characters kept). */
static void ha_encode(FILE *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";

    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
            (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' ||
            *p == '.' || *p == '~')
            fputc(*p, out);
        else
            fprintf(out, "%%%c%c", hex[*p >> 4], hex[*p & 15]);
    }
}

char *hn_api_url(const char *base_url, const char *query, const char *tags,
                 int64_t mark, int64_t hits_per_page, int64_t page)
{
    char *url = NULL, *filter = NULL;
    size_t len = 0;
    size_t blen = strlen(base_url);
    FILE *out;

    /* A trailing slash in the configured base must not double up. */
    while (blen > 0 && base_url[blen - 1] == '/')
        blen--;
    if (asprintf(&filter, "created_at_i>=%" PRId64, mark) < 0)
        return NULL;
    out = open_memstream(&url, &len);
    if (out == NULL) {
        free(filter);
        return NULL;
    }
    fprintf(out, "%.*s/api/v1/search_by_date?query=", (int)blen, base_url);
    ha_encode(out, query);
    if (tags != NULL && tags[0] != '\0') {
        fputs("&tags=", out);
        ha_encode(out, tags);
    }
    fputs("&numericFilters=", out);
    ha_encode(out, filter);
    fprintf(out, "&hitsPerPage=%" PRId64 "&page=%" PRId64, hits_per_page,
            page);
    free(filter);
    if (fclose(out) != 0) {
        free(url);
        return NULL;
    }
    return url;
}

/* Optional string: absent or null gives NULL. */
static int ha_str(json_t *obj, const char *key, const char **ret,
                  const char **ret_bad)
{
    json_t *v = json_object_get(obj, key);

    *ret = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v)) {
        *ret_bad = key;
        return SRM_E_PARSE;
    }
    *ret = json_string_value(v);
    return 0;
}

static int ha_int(json_t *obj, const char *key, int64_t *ret,
                  const char **ret_bad)
{
    json_t *v = json_object_get(obj, key);

    *ret = -1;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_integer(v)) {
        *ret_bad = key;
        return SRM_E_PARSE;
    }
    *ret = json_integer_value(v);
    return 0;
}

static int ha_hit(json_t *j, struct hn_hit *h, const char **ret_bad)
{
    if (!json_is_object(j)) {
        *ret_bad = "(hit)";
        return SRM_E_PARSE;
    }
    if (ha_str(j, "objectID", &h->object_id, ret_bad) < 0 ||
        ha_str(j, "author", &h->author, ret_bad) < 0 ||
        ha_str(j, "comment_text", &h->comment_text, ret_bad) < 0 ||
        ha_str(j, "story_text", &h->story_text, ret_bad) < 0 ||
        ha_str(j, "title", &h->title, ret_bad) < 0 ||
        ha_str(j, "url", &h->url, ret_bad) < 0 ||
        ha_str(j, "story_title", &h->story_title, ret_bad) < 0 ||
        ha_str(j, "story_url", &h->story_url, ret_bad) < 0 ||
        ha_int(j, "created_at_i", &h->created_at, ret_bad) < 0 ||
        ha_int(j, "parent_id", &h->parent_id, ret_bad) < 0)
        return SRM_E_PARSE;
    /* The two fields sync depends on are required. */
    if (h->object_id == NULL || h->object_id[0] == '\0') {
        *ret_bad = "objectID";
        return SRM_E_PARSE;
    }
    if (h->created_at < 0) {
        *ret_bad = "created_at_i";
        return SRM_E_PARSE;
    }
    return 0;
}

static bool ha_set(const char *s)
{
    return s != NULL && s[0] != '\0';
}

static int ha_emit(const struct srm_host_api *host, struct srm_instance *inst,
                   const char *query, const struct hn_hit *h)
{
    struct srm_mention mn = SRM_MENTION_INIT;
    char *text = NULL, *url = NULL, *reply_to = NULL, *profile = NULL;
    int rc = -ENOMEM;

    if (ha_set(h->author)) {
        struct srm_identity id = SRM_IDENTITY_INIT;
        if (asprintf(&profile, "https://news.ycombinator.com/user?id=%s",
                     h->author) < 0) {
            profile = NULL;
            goto fail;
        }
        id.network = "hackernews";
        id.remote_id = h->author;
        id.handle = h->author;
        id.profile_url = profile;
        host->identity_upsert(inst, &id);
    }

    /* Comment and story bodies are HN HTML; titles are plain text. */
    const char *html = ha_set(h->comment_text) ? h->comment_text
                       : ha_set(h->story_text) ? h->story_text
                                               : NULL;
    if (html != NULL) {
        text = host->html_to_text(html, strlen(html));
        if (text == NULL)
            goto fail;
    }
    if (asprintf(&url, "https://news.ycombinator.com/item?id=%s",
                 h->object_id) < 0) {
        url = NULL;
        goto fail;
    }
    if (h->parent_id >= 0 &&
        asprintf(&reply_to, "%" PRId64, h->parent_id) < 0) {
        reply_to = NULL;
        goto fail;
    }
    mn.network = "hackernews";
    mn.remote_id = h->object_id;
    mn.author_id = ha_set(h->author) ? h->author : NULL;
    mn.text = text != NULL ? text : h->title;
    mn.url = url;
    mn.created_at = h->created_at;
    mn.reply_to = reply_to;
    mn.matched = query;
    mn.context_title = ha_set(h->story_title) ? h->story_title : h->title;
    mn.context_url = ha_set(h->story_url) ? h->story_url : h->url;
    /* A bad record is logged by the host; it must not stop the page. */
    host->mention_add(inst, &mn);
    rc = 0;
fail:
    if (text != NULL)
        host->free(text);
    free(url);
    free(reply_to);
    free(profile);
    return rc;
}

int hn_api_emit_page(const struct srm_host_api *host,
                     struct srm_instance *inst, const char *query,
                     const char *body, size_t len, struct hn_page *ret_page,
                     char **ret_err)
{
    json_error_t jerr;
    json_t *root = NULL, *hits, *nb_pages, *page;
    struct hn_hit *parsed = NULL;
    const char *bad = NULL;
    size_t i, n = 0;
    int rc = SRM_E_PARSE;

    *ret_err = NULL;
    memset(ret_page, 0, sizeof(*ret_page));
    ret_page->max_created = -1;
    root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        if (asprintf(ret_err, "malformed JSON at line %d: %s", jerr.line,
                     jerr.text) < 0)
            *ret_err = NULL;
        goto fail;
    }
    hits = json_object_get(root, "hits");
    nb_pages = json_object_get(root, "nbPages");
    page = json_object_get(root, "page");
    if (!json_is_array(hits) || !json_is_integer(nb_pages) ||
        (page != NULL && !json_is_integer(page))) {
        *ret_err = strdup("response lacks hits[], nbPages or page");
        goto fail;
    }
    n = json_array_size(hits);
    parsed = calloc(n > 0 ? n : 1, sizeof(*parsed));
    if (parsed == NULL) {
        rc = -ENOMEM;
        goto fail;
    }
    for (i = 0; i < n; i++) {
        if (ha_hit(json_array_get(hits, i), &parsed[i], &bad) < 0) {
            if (asprintf(ret_err, "hit %zu: field %s has the wrong type "
                         "or is missing", i, bad) < 0)
                *ret_err = NULL;
            goto fail;
        }
    }
    for (i = 0; i < n; i++) {
        rc = ha_emit(host, inst, query, &parsed[i]);
        if (rc < 0)
            goto fail;
        if (parsed[i].created_at > ret_page->max_created)
            ret_page->max_created = parsed[i].created_at;
    }
    ret_page->n_hits = n;
    ret_page->nb_pages = json_integer_value(nb_pages);
    ret_page->page = page != NULL ? json_integer_value(page) : -1;
    rc = 0;
fail:
    free(parsed);
    json_decref(root);
    return rc;
}
