/* bluesky_api.c - AT Protocol views to srm records (NETWORKS.md §2.3).
 *
 * A field of the wrong type, or a missing field that sync depends on (a
 * post's uri, cid, author did/handle, record text and times), fails the
 * whole page: emitting a guess would hide an API change and move a cursor
 * past data we did not understand. Facets are client-written and often
 * sloppy, so a bad facet is skipped instead. */
#include "bluesky_api.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BA_POST_COLLECTION "/app.bsky.feed.post/"

/* ---------------------------------------------------------------------
 * Times.
 */

static int ba_digits(const char **pp, int n, int *ret)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*pp)[i]))
            return -EINVAL;
        v = v * 10 + ((*pp)[i] - '0');
    }
    *pp += n;
    *ret = v;
    return 0;
}

int64_t bsky_api_time_parse(const char *s)
{
    struct tm tm = {0};
    int y, mo, d, h, mi, sec, ms = 0, oh = 0, om = 0, sign = 0;
    const char *p = s;

    if (s == NULL)
        return -1;
    if (ba_digits(&p, 4, &y) < 0 || *p++ != '-' ||
        ba_digits(&p, 2, &mo) < 0 || *p++ != '-' ||
        ba_digits(&p, 2, &d) < 0 || (*p != 'T' && *p != 't'))
        return -1;
    p++;
    if (ba_digits(&p, 2, &h) < 0 || *p++ != ':' ||
        ba_digits(&p, 2, &mi) < 0 || *p++ != ':' ||
        ba_digits(&p, 2, &sec) < 0)
        return -1;
    if (*p == '.') {
        /* Keep milliseconds; the AppView writes micro- or nanoseconds. */
        int scale = 100;
        p++;
        if (!isdigit((unsigned char)*p))
            return -1;
        for (; isdigit((unsigned char)*p); p++) {
            ms += (*p - '0') * scale;
            scale /= 10;
        }
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p++ == '-' ? -1 : 1;
        if (ba_digits(&p, 2, &oh) < 0 || *p++ != ':' ||
            ba_digits(&p, 2, &om) < 0)
            return -1;
    } else {
        return -1;
    }
    if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
        mi > 59 || sec > 60 || oh > 23 || om > 59)
        return -1;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return -1;
    t -= sign * (oh * 3600 + om * 60);
    if (t < 0)
        return -1;
    return (int64_t)t * 1000 + ms;
}

void bsky_api_time_format(int64_t ms, char *buf, size_t size)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    gmtime_r(&t, &tm);
    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

/* ---------------------------------------------------------------------
 * JWT: only the payload's exp, so we refresh before the PDS refuses.
 */

static int ba_b64url_value(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-' || c == '+')
        return 62;
    if (c == '_' || c == '/')
        return 63;
    return -1;
}

int64_t bsky_api_jwt_exp(const char *jwt)
{
    const char *p, *end;
    unsigned char *out = NULL;
    size_t n = 0;
    uint32_t acc = 0;
    int bits = 0;
    json_t *root = NULL, *exp;
    int64_t rc = -1;

    if (jwt == NULL || (p = strchr(jwt, '.')) == NULL)
        return -1;
    p++;
    end = strchr(p, '.');
    if (end == NULL)
        return -1;
    out = malloc((size_t)(end - p) + 1);
    if (out == NULL)
        return -1;
    for (; p < end && *p != '='; p++) {
        int v = ba_b64url_value((unsigned char)*p);
        if (v < 0)
            goto fail;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (unsigned char)(acc >> bits);
        }
    }
    root = json_loadb((const char *)out, n, 0, NULL);
    exp = json_object_get(root, "exp");
    if (json_is_integer(exp))
        rc = json_integer_value(exp);
    else if (json_is_real(exp))
        rc = (int64_t)json_real_value(exp);
fail:
    json_decref(root);
    free(out);
    return rc;
}

void bsky_api_encode(FILE *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";

    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~')
            fputc(*p, out);
        else
            fprintf(out, "%%%c%c", hex[*p >> 4], hex[*p & 15]);
    }
}

/* ---------------------------------------------------------------------
 * Facets. Offsets are UTF-8 byte offsets into record.text, end exclusive.
 */

struct ba_link {
    size_t start, end;
    const char *uri;
};

static int ba_link_cmp(const void *a, const void *b)
{
    const struct ba_link *x = a, *y = b;

    return x->start < y->start ? -1 : x->start > y->start;
}

static bool ba_boundary(const char *text, size_t len, size_t at)
{
    return at == len || ((unsigned char)text[at] & 0xC0) != 0x80;
}

static const char *ba_strip_scheme(const char *s)
{
    if (strncmp(s, "https://", 8) == 0)
        return s + 8;
    if (strncmp(s, "http://", 7) == 0)
        return s + 7;
    return s;
}

/* True when label is uri as clients display it: the uri itself, or
 * without its scheme, or that cut short with "..." or an ellipsis. */
static bool ba_label_is_uri(const char *label, size_t len, const char *uri)
{
    const char *u = ba_strip_scheme(uri);
    bool cut = false;

    if (len == strlen(uri) && memcmp(label, uri, len) == 0)
        return true;
    if (len >= 8 && strncmp(label, "https://", 8) == 0) {
        label += 8;
        len -= 8;
    } else if (len >= 7 && strncmp(label, "http://", 7) == 0) {
        label += 7;
        len -= 7;
    }
    if (len >= 3 && (memcmp(label + len - 3, "...", 3) == 0 ||
                     memcmp(label + len - 3, "\xE2\x80\xA6", 3) == 0)) {
        len -= 3;
        cut = true;
    }
    if (len == 0 || strlen(u) < len || memcmp(u, label, len) != 0)
        return false;
    return cut || strlen(u) == len;
}

char *bsky_api_apply_facets(const char *text, json_t *facets)
{
    size_t len = strlen(text), n = 0, i, pos = 0;
    struct ba_link *links = NULL;
    char *out = NULL;
    size_t out_len = 0;
    FILE *f = NULL;

    if (json_is_array(facets) && json_array_size(facets) > 0) {
        links = calloc(json_array_size(facets), sizeof(*links));
        if (links == NULL)
            return NULL;
    }
    for (i = 0; links != NULL && i < json_array_size(facets); i++) {
        json_t *fa = json_array_get(facets, i);
        json_t *idx = json_object_get(fa, "index");
        json_t *bs = json_object_get(idx, "byteStart");
        json_t *be = json_object_get(idx, "byteEnd");
        json_t *feats = json_object_get(fa, "features");
        const char *uri = NULL;

        if (!json_is_integer(bs) || !json_is_integer(be) ||
            !json_is_array(feats))
            continue;
        for (size_t k = 0; k < json_array_size(feats); k++) {
            json_t *ft = json_array_get(feats, k);
            const char *type = json_string_value(json_object_get(ft, "$type"));
            if (type != NULL &&
                strcmp(type, "app.bsky.richtext.facet#link") == 0 &&
                json_is_string(json_object_get(ft, "uri"))) {
                uri = json_string_value(json_object_get(ft, "uri"));
                break;
            }
        }
        json_int_t s = json_integer_value(bs), e = json_integer_value(be);
        if (uri == NULL || uri[0] == '\0' || s < 0 || e <= s ||
            (uint64_t)e > len || !ba_boundary(text, len, (size_t)s) ||
            !ba_boundary(text, len, (size_t)e))
            continue;
        links[n].start = (size_t)s;
        links[n].end = (size_t)e;
        links[n].uri = uri;
        n++;
    }
    if (n > 1)
        qsort(links, n, sizeof(*links), ba_link_cmp);
    f = open_memstream(&out, &out_len);
    if (f == NULL)
        goto fail;
    for (i = 0; i < n; i++) {
        const struct ba_link *l = &links[i];
        if (l->start < pos)
            continue; /* overlaps the previous link */
        fwrite(text + pos, 1, l->start - pos, f);
        if (ba_label_is_uri(text + l->start, l->end - l->start, l->uri)) {
            fputs(l->uri, f);
        } else {
            fwrite(text + l->start, 1, l->end - l->start, f);
            fprintf(f, " (%s)", l->uri);
        }
        pos = l->end;
    }
    fputs(text + pos, f);
    if (fclose(f) != 0) {
        free(out);
        out = NULL;
    }
fail:
    free(links);
    return out;
}

/* ---------------------------------------------------------------------
 * Views.
 */

/* Optional string: absent or null gives NULL; another type is an error. */
static int ba_str(json_t *obj, const char *key, const char **ret,
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

static int ba_req_str(json_t *obj, const char *key, const char **ret,
                      const char **ret_bad)
{
    if (ba_str(obj, key, ret, ret_bad) < 0)
        return SRM_E_PARSE;
    if (*ret == NULL || (*ret)[0] == '\0') {
        *ret_bad = key;
        return SRM_E_PARSE;
    }
    return 0;
}

static int ba_count(json_t *obj, const char *key, int64_t *ret,
                    const char **ret_bad)
{
    json_t *v = json_object_get(obj, key);

    *ret = -1;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        *ret_bad = key;
        return SRM_E_PARSE;
    }
    *ret = json_integer_value(v);
    return 0;
}

int bsky_api_profile(json_t *j, struct bsky_profile *ret,
                     const char **ret_bad)
{
    memset(ret, 0, sizeof(*ret));
    if (!json_is_object(j)) {
        *ret_bad = "author";
        return SRM_E_PARSE;
    }
    if (ba_req_str(j, "did", &ret->did, ret_bad) < 0 ||
        ba_req_str(j, "handle", &ret->handle, ret_bad) < 0 ||
        ba_str(j, "displayName", &ret->display_name, ret_bad) < 0 ||
        ba_str(j, "description", &ret->description, ret_bad) < 0 ||
        ba_str(j, "avatar", &ret->avatar, ret_bad) < 0 ||
        ba_count(j, "followersCount", &ret->followers, ret_bad) < 0 ||
        ba_count(j, "followsCount", &ret->follows, ret_bad) < 0 ||
        ba_count(j, "postsCount", &ret->posts, ret_bad) < 0)
        return SRM_E_PARSE;
    if (strncmp(ret->did, "did:", 4) != 0) {
        *ret_bad = "did";
        return SRM_E_PARSE;
    }
    return 0;
}

/* A strongRef {uri, cid} inside record.reply; both must be strings. */
static int ba_ref(json_t *reply, const char *key, const char **ret_uri,
                  const char **ret_cid, const char **ret_bad)
{
    json_t *ref = json_object_get(reply, key);

    *ret_uri = *ret_cid = NULL;
    if (ref == NULL)
        return 0;
    if (!json_is_object(ref) || ba_req_str(ref, "uri", ret_uri, ret_bad) < 0 ||
        ba_req_str(ref, "cid", ret_cid, ret_bad) < 0) {
        *ret_bad = key;
        return SRM_E_PARSE;
    }
    return 0;
}

int bsky_api_post(json_t *j, struct bsky_post *ret, const char **ret_bad)
{
    struct bsky_profile author;
    const char *created = NULL, *indexed = NULL, *parent_cid;
    json_t *rec, *reply, *langs;
    const char *c;

    memset(ret, 0, sizeof(*ret));
    if (!json_is_object(j)) {
        *ret_bad = "(post)";
        return SRM_E_PARSE;
    }
    if (ba_req_str(j, "uri", &ret->uri, ret_bad) < 0 ||
        ba_req_str(j, "cid", &ret->cid, ret_bad) < 0 ||
        ba_req_str(j, "indexedAt", &indexed, ret_bad) < 0 ||
        bsky_api_profile(json_object_get(j, "author"), &author, ret_bad) < 0)
        return SRM_E_PARSE;
    ret->author = json_object_get(j, "author");
    c = strstr(ret->uri, BA_POST_COLLECTION);
    if (strncmp(ret->uri, "at://", 5) != 0 || c == NULL ||
        c[strlen(BA_POST_COLLECTION)] == '\0' ||
        strchr(c + strlen(BA_POST_COLLECTION), '/') != NULL) {
        *ret_bad = "uri";
        return SRM_E_PARSE;
    }
    ret->rkey = c + strlen(BA_POST_COLLECTION);
    ret->indexed_ms = bsky_api_time_parse(indexed);
    if (ret->indexed_ms < 0) {
        *ret_bad = "indexedAt";
        return SRM_E_PARSE;
    }

    rec = json_object_get(j, "record");
    if (!json_is_object(rec)) {
        *ret_bad = "record";
        return SRM_E_PARSE;
    }
    /* text may be empty (an image post) but is always there. */
    if (ba_str(rec, "text", &ret->text, ret_bad) < 0)
        return SRM_E_PARSE;
    if (ret->text == NULL) {
        *ret_bad = "record.text";
        return SRM_E_PARSE;
    }
    if (ba_str(rec, "createdAt", &created, ret_bad) < 0 || created == NULL) {
        *ret_bad = "record.createdAt";
        return SRM_E_PARSE;
    }
    /* createdAt is whatever the client wrote; an unreadable one falls back
     * to when the AppView saw the post rather than failing the page. */
    ret->created_ms = bsky_api_time_parse(created);
    if (ret->created_ms < 0)
        ret->created_ms = ret->indexed_ms;
    ret->sort_ms = ret->created_ms < ret->indexed_ms ? ret->created_ms
                                                     : ret->indexed_ms;
    ret->facets = json_object_get(rec, "facets");
    if (ret->facets != NULL && !json_is_array(ret->facets)) {
        *ret_bad = "record.facets";
        return SRM_E_PARSE;
    }
    langs = json_object_get(rec, "langs");
    if (langs != NULL && !json_is_array(langs)) {
        *ret_bad = "record.langs";
        return SRM_E_PARSE;
    }
    ret->lang = json_string_value(json_array_get(langs, 0));
    reply = json_object_get(rec, "reply");
    if (reply != NULL) {
        if (!json_is_object(reply) ||
            ba_ref(reply, "parent", &ret->parent_uri, &parent_cid, ret_bad) <
                0 ||
            ba_ref(reply, "root", &ret->root_uri, &ret->root_cid, ret_bad) <
                0) {
            *ret_bad = "record.reply";
            return SRM_E_PARSE;
        }
    }
    return 0;
}

char *bsky_api_post_url(const char *uri, const char *handle)
{
    const char *c = strstr(uri, BA_POST_COLLECTION);
    char *url = NULL;

    if (strncmp(uri, "at://", 5) != 0 || c == NULL)
        return NULL;
    if (handle == NULL || strcmp(handle, "handle.invalid") == 0) {
        /* The DID is the repo part of the URI. */
        if (asprintf(&url, "https://bsky.app/profile/%.*s/post/%s",
                     (int)(c - uri - 5), uri + 5,
                     c + strlen(BA_POST_COLLECTION)) < 0)
            return NULL;
        return url;
    }
    if (asprintf(&url, "https://bsky.app/profile/%s/post/%s", handle,
                 c + strlen(BA_POST_COLLECTION)) < 0)
        return NULL;
    return url;
}

static bool ba_ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);

    return n >= k && strcmp(s + n - k, suffix) == 0;
}

int bsky_api_emit_identity(const struct srm_host_api *host,
                           struct srm_instance *inst,
                           const struct bsky_profile *p)
{
    struct srm_identity id = SRM_IDENTITY_INIT;
    struct srm_link link = {0};
    char *profile = NULL, *site = NULL;
    bool valid_handle = strcmp(p->handle, "handle.invalid") != 0;

    if (asprintf(&profile, "https://bsky.app/profile/%s",
                 valid_handle ? p->handle : p->did) < 0)
        return -ENOMEM;
    id.network = "bluesky";
    id.remote_id = p->did;
    id.handle = valid_handle ? p->handle : NULL;
    id.display_name =
        p->display_name != NULL && p->display_name[0] != '\0'
            ? p->display_name
            : NULL;
    id.profile_url = profile;
    id.bio = p->description;
    id.avatar_url = p->avatar;
    id.followers = p->followers;
    id.following = p->follows;
    id.posts = p->posts;
    /* A handle that is the user's own domain was verified by Bluesky
     * (DNS TXT or /.well-known/atproto-did): a strong link for matching
     * this identity to the same person elsewhere. */
    if (valid_handle && !ba_ends_with(p->handle, ".bsky.social") &&
        strchr(p->handle, '.') != NULL) {
        if (asprintf(&site, "https://%s", p->handle) < 0) {
            free(profile);
            return -ENOMEM;
        }
        link.label = "handle";
        link.url = site;
        link.verified_at = (int64_t)time(NULL);
        id.links = &link;
        id.n_links = 1;
    }
    /* A record the host refuses is logged there; it must not stop us. */
    host->identity_upsert(inst, &id);
    free(site);
    free(profile);
    return 0;
}

int bsky_api_emit_post(const struct srm_host_api *host,
                       struct srm_instance *inst, const struct bsky_post *p,
                       const char *matched)
{
    struct srm_mention mn = SRM_MENTION_INIT;
    struct bsky_profile author;
    const char *bad = NULL;
    char *text = NULL, *url = NULL, *ref = NULL;
    json_t *jref = NULL;
    int rc = -ENOMEM;

    if (bsky_api_profile(p->author, &author, &bad) < 0)
        return SRM_E_PARSE; /* bsky_api_post checked it already */
    rc = bsky_api_emit_identity(host, inst, &author);
    if (rc < 0)
        return rc;
    rc = -ENOMEM;
    text = bsky_api_apply_facets(p->text, p->facets);
    url = bsky_api_post_url(p->uri, author.handle);
    jref = json_pack("{s:s, s:s, s:s, s:s}", "uri", p->uri, "cid", p->cid,
                     "root_uri", p->root_uri != NULL ? p->root_uri : p->uri,
                     "root_cid", p->root_cid != NULL ? p->root_cid : p->cid);
    if (text == NULL || url == NULL || jref == NULL)
        goto fail;
    ref = json_dumps(jref, JSON_COMPACT);
    if (ref == NULL)
        goto fail;
    mn.network = "bluesky";
    mn.remote_id = p->uri;
    mn.author_id = author.did;
    mn.text = text;
    mn.url = url;
    mn.created_at = p->created_ms / 1000;
    mn.reply_to = p->parent_uri;
    mn.matched = matched;
    mn.lang = p->lang;
    mn.visibility = "public";
    mn.reply_ref = ref;
    host->mention_add(inst, &mn);
    rc = 0;
fail:
    free(text);
    free(url);
    free(ref);
    json_decref(jref);
    return rc;
}
