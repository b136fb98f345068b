/* github_api.c - GitHub REST shapes to srm records (NETWORKS.md §5).
 *
 * Search items are issues and pull requests: node_id is the stable key,
 * user.id the author's (logins can be renamed), repository_url names the
 * repository. A field of the wrong type fails the whole page: emitting a
 * guess would hide an API change and move the cursor past it. */
#include "github_api.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t gh_api_time_parse(const char *s)
{
    struct tm tm = {0};
    int y, mo, d, h, mi, sec, n = 0, oh = 0, om = 0;
    const char *p;
    int64_t off = 0;

    if (s == NULL ||
        sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec,
               &n) != 6 ||
        n != 19)
        return -1;
    p = s + n;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return -1;
        while (isdigit((unsigned char)*p))
            p++;
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if ((*p == '+' || *p == '-') &&
               sscanf(p + 1, "%2d:%2d", &oh, &om) == 2 &&
               strlen(p) >= 6) {
        off = (*p == '-' ? -1 : 1) * (oh * 3600 + om * 60);
        p += 6;
    } else {
        return -1;
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

void gh_api_time_format(int64_t t, char *buf, size_t size)
{
    time_t tt = (time_t)t;
    struct tm tm;

    gmtime_r(&tt, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void ga_encode(FILE *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";

    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~')
            fputc(*p, out);
        else
            fprintf(out, "%%%c%c", hex[*p >> 4], hex[*p & 15]);
    }
}

static size_t ga_base_len(const char *base_url)
{
    size_t n = strlen(base_url);

    while (n > 0 && base_url[n - 1] == '/')
        n--;
    return n;
}

char *gh_api_search_url(const char *base_url, const char *query,
                        const char *since)
{
    char *url = NULL, *q = NULL;
    size_t len;
    FILE *f;

    /* The window is a search qualifier, so it goes inside q. */
    if (asprintf(&q, "%s updated:>=%s", query, since) < 0)
        return NULL;
    f = open_memstream(&url, &len);
    if (f == NULL) {
        free(q);
        return NULL;
    }
    fprintf(f, "%.*s/search/issues?q=", (int)ga_base_len(base_url),
            base_url);
    ga_encode(f, q);
    fputs("&sort=updated&order=asc&per_page=100&page=1", f);
    free(q);
    if (fclose(f) != 0) {
        free(url);
        return NULL;
    }
    return url;
}

char *gh_api_notifications_url(const char *base_url, const char *since)
{
    char *url = NULL;
    size_t len;
    FILE *f = open_memstream(&url, &len);

    if (f == NULL)
        return NULL;
    fprintf(f, "%.*s/notifications?all=false&per_page=50&since=",
            (int)ga_base_len(base_url), base_url);
    ga_encode(f, since);
    if (fclose(f) != 0) {
        free(url);
        return NULL;
    }
    return url;
}

char *gh_api_link_next(const char *link)
{
    const char *p = link;

    /* <url>; rel="next", <url>; rel="last" */
    while (p != NULL && (p = strchr(p, '<')) != NULL) {
        const char *end = strchr(p, '>');
        const char *next_entry;
        size_t params_len;

        if (end == NULL)
            return NULL;
        next_entry = strchr(end, '<');
        params_len = next_entry != NULL ? (size_t)(next_entry - end)
                                        : strlen(end);
        /* rel may be quoted or not, and may list several values. */
        for (const char *r = end; r < end + params_len;) {
            const char *rel = strstr(r, "rel=");
            if (rel == NULL || rel >= end + params_len)
                break;
            rel += 4;
            if (*rel == '"')
                rel++;
            size_t n = strcspn(rel, "\" ,;");
            while (n > 0) {
                if (n == 4 && strncmp(rel, "next", 4) == 0)
                    return strndup(p + 1, (size_t)(end - p - 1));
                rel += n;
                if (*rel != ' ')
                    break;
                rel++;
                n = strcspn(rel, "\" ,;");
            }
            r = rel;
        }
        p = end;
    }
    return NULL;
}

void gh_api_error_message(const char *body, size_t len, char *buf,
                          size_t size)
{
    json_t *root = body != NULL ? json_loadb(body, len, 0, NULL) : NULL;
    const char *msg = json_string_value(json_object_get(root, "message"));
    json_t *e0 = json_array_get(json_object_get(root, "errors"), 0);
    const char *detail = json_string_value(json_object_get(e0, "message"));

    snprintf(buf, size, "%s%s%s", msg != NULL ? msg : "",
             detail != NULL ? ": " : "", detail != NULL ? detail : "");
    json_decref(root);
}

/* ---------------------------------------------------------------------
 * Items.
 */

struct ga_item {
    const char *key; /* node_id, or the numeric id as text */
    char id_buf[24];
    const char *title, *body, *html_url, *repository_url;
    int64_t created, updated;
    const char *updated_iso;
    const char *login, *user_url, *avatar;
    char user_id[24];
};

static int ga_str(json_t *obj, const char *key, bool required,
                  const char **ret, const char **ret_bad)
{
    json_t *v = json_object_get(obj, key);

    *ret = NULL;
    if (v == NULL || json_is_null(v)) {
        if (required)
            *ret_bad = key;
        return required ? SRM_E_PARSE : 0;
    }
    if (!json_is_string(v)) {
        *ret_bad = key;
        return SRM_E_PARSE;
    }
    *ret = json_string_value(v);
    return 0;
}

static int ga_time(json_t *obj, const char *key, int64_t *ret,
                   const char **ret_iso, const char **ret_bad)
{
    const char *s;

    if (ga_str(obj, key, true, &s, ret_bad) < 0)
        return SRM_E_PARSE;
    *ret = gh_api_time_parse(s);
    if (*ret < 0) {
        *ret_bad = key;
        return SRM_E_PARSE;
    }
    if (ret_iso != NULL)
        *ret_iso = s;
    return 0;
}

static int ga_item(json_t *j, struct ga_item *it, const char **ret_bad)
{
    json_t *id = json_object_get(j, "id"), *user;

    if (!json_is_object(j)) {
        *ret_bad = "(item)";
        return SRM_E_PARSE;
    }
    if (ga_str(j, "node_id", false, &it->key, ret_bad) < 0 ||
        ga_str(j, "title", true, &it->title, ret_bad) < 0 ||
        ga_str(j, "body", false, &it->body, ret_bad) < 0 ||
        ga_str(j, "html_url", true, &it->html_url, ret_bad) < 0 ||
        ga_str(j, "repository_url", false, &it->repository_url, ret_bad) <
            0 ||
        ga_time(j, "created_at", &it->created, NULL, ret_bad) < 0 ||
        ga_time(j, "updated_at", &it->updated, &it->updated_iso, ret_bad) <
            0)
        return SRM_E_PARSE;
    if (it->key == NULL || it->key[0] == '\0') {
        if (!json_is_integer(id)) {
            *ret_bad = "node_id";
            return SRM_E_PARSE;
        }
        snprintf(it->id_buf, sizeof(it->id_buf), "%" JSON_INTEGER_FORMAT,
                 json_integer_value(id));
        it->key = it->id_buf;
    }
    /* A deleted account ("ghost") still has a user; null is tolerated. */
    user = json_object_get(j, "user");
    if (user != NULL && !json_is_null(user)) {
        json_t *uid = json_object_get(user, "id");
        if (!json_is_object(user) || !json_is_integer(uid)) {
            *ret_bad = "user.id";
            return SRM_E_PARSE;
        }
        if (ga_str(user, "login", true, &it->login, ret_bad) < 0 ||
            ga_str(user, "html_url", false, &it->user_url, ret_bad) < 0 ||
            ga_str(user, "avatar_url", false, &it->avatar, ret_bad) < 0)
            return SRM_E_PARSE;
        snprintf(it->user_id, sizeof(it->user_id),
                 "%" JSON_INTEGER_FORMAT, json_integer_value(uid));
    }
    return 0;
}

/* owner/name from https://api.github.com/repos/owner/name. */
static const char *ga_repo_name(const char *repository_url)
{
    const char *p = repository_url != NULL
                        ? strstr(repository_url, "/repos/")
                        : NULL;

    return p != NULL ? p + 7 : NULL;
}

static int ga_emit_item(const struct srm_host_api *host,
                        struct srm_instance *inst, const char *query,
                        const struct ga_item *it)
{
    struct srm_mention mn = SRM_MENTION_INIT;
    const char *repo = ga_repo_name(it->repository_url);
    char *text = NULL, *repo_url = NULL;
    const char *at;

    if (it->login != NULL) {
        struct srm_identity id = SRM_IDENTITY_INIT;
        id.network = "github";
        id.remote_id = it->user_id;
        id.handle = it->login;
        id.profile_url = it->user_url;
        id.avatar_url = it->avatar;
        host->identity_upsert(inst, &id);
    }
    if (asprintf(&text, "%s%s%s", it->title,
                 it->body != NULL && it->body[0] != '\0' ? "\n\n" : "",
                 it->body != NULL ? it->body : "") < 0)
        return -ENOMEM;
    /* The repository's page is the issue URL up to owner/name. */
    if (repo != NULL && (at = strstr(it->html_url, repo)) != NULL)
        repo_url = strndup(it->html_url,
                           (size_t)(at - it->html_url) + strlen(repo));
    mn.network = "github";
    mn.remote_id = it->key;
    mn.author_id = it->login != NULL ? it->user_id : NULL;
    mn.text = text;
    mn.url = it->html_url;
    mn.created_at = it->created;
    mn.edited_at = it->updated;
    mn.matched = query;
    mn.visibility = "public";
    mn.context_title = repo;
    mn.context_url = repo_url;
    host->mention_add(inst, &mn);
    free(text);
    free(repo_url);
    return 0;
}

static void ga_newest(struct gh_page *pg, int64_t t, const char *iso)
{
    if (t > pg->newest) {
        pg->newest = t;
        snprintf(pg->newest_iso, sizeof(pg->newest_iso), "%s", iso);
    }
}

static json_t *ga_load(const char *body, size_t len, char **ret_err)
{
    json_error_t jerr;
    json_t *root = json_loadb(body, len, 0, &jerr);

    if (root == NULL && asprintf(ret_err, "malformed JSON at line %d: %s",
                                 jerr.line, jerr.text) < 0)
        *ret_err = NULL;
    return root;
}

int gh_api_emit_search(const struct srm_host_api *host,
                       struct srm_instance *inst, const char *query,
                       const char *body, size_t len, struct gh_page *ret,
                       char **ret_err)
{
    json_t *root, *items, *inc;
    struct ga_item *parsed = NULL;
    const char *bad = NULL;
    size_t i, n;
    int rc = SRM_E_PARSE;

    *ret_err = NULL;
    memset(ret, 0, sizeof(*ret));
    ret->newest = -1;
    root = ga_load(body, len, ret_err);
    if (root == NULL)
        return SRM_E_PARSE;
    items = json_object_get(root, "items");
    inc = json_object_get(root, "incomplete_results");
    if (!json_is_array(items) || (inc != NULL && !json_is_boolean(inc))) {
        *ret_err = strdup("response lacks items[]");
        goto fail;
    }
    ret->incomplete = json_is_true(inc);
    n = json_array_size(items);
    parsed = calloc(n > 0 ? n : 1, sizeof(*parsed));
    if (parsed == NULL) {
        rc = -ENOMEM;
        goto fail;
    }
    for (i = 0; i < n; i++) {
        if (ga_item(json_array_get(items, i), &parsed[i], &bad) < 0) {
            if (asprintf(ret_err, "item %zu: field %s is missing or has the "
                                  "wrong type",
                         i, bad) < 0)
                *ret_err = NULL;
            goto fail;
        }
    }
    for (i = 0; i < n; i++) {
        rc = ga_emit_item(host, inst, query, &parsed[i]);
        if (rc < 0)
            goto fail;
        ga_newest(ret, parsed[i].updated, parsed[i].updated_iso);
    }
    ret->n_items = ret->n_emitted = n;
    rc = 0;
fail:
    free(parsed);
    json_decref(root);
    return rc;
}

/* ---------------------------------------------------------------------
 * Notification threads. They carry no author; the subject is an issue,
 * PR, commit or release named by its API URL.
 */

static bool ga_conversation(const char *reason)
{
    static const char *const keep[] = {"mention", "team_mention", "comment",
                                       "author", "review_requested", NULL};

    for (size_t i = 0; keep[i] != NULL; i++)
        if (strcmp(reason, keep[i]) == 0)
            return true;
    return false;
}

/* https://api.github.com/repos/o/r/issues/1 -> <repo html>/issues/1, and
 * .../pulls/2 -> .../pull/2. NULL when the shape is unknown. */
static char *ga_subject_url(const char *api_url, const char *repo_html,
                            const char *full_name)
{
    const char *p;
    char *url = NULL;

    if (api_url == NULL || repo_html == NULL || full_name == NULL ||
        (p = strstr(api_url, full_name)) == NULL)
        return NULL;
    p += strlen(full_name);
    if (strncmp(p, "/pulls/", 7) == 0) {
        if (asprintf(&url, "%s/pull/%s", repo_html, p + 7) < 0)
            return NULL;
        return url;
    }
    if (strncmp(p, "/issues/", 8) == 0 || strncmp(p, "/commits/", 9) == 0) {
        if (asprintf(&url, "%s%s", repo_html, p) < 0)
            return NULL;
        return url;
    }
    return NULL;
}

int gh_api_emit_notifications(const struct srm_host_api *host,
                              struct srm_instance *inst, const char *body,
                              size_t len, struct gh_page *ret,
                              char **ret_err)
{
    json_t *root;
    const char *bad = NULL;
    size_t i, n, pass;
    int rc = SRM_E_PARSE;

    *ret_err = NULL;
    memset(ret, 0, sizeof(*ret));
    ret->newest = -1;
    root = ga_load(body, len, ret_err);
    if (root == NULL)
        return SRM_E_PARSE;
    if (!json_is_array(root)) {
        *ret_err = strdup("response is not an array of threads");
        goto fail;
    }
    n = json_array_size(root);
    /* Pass 0 checks every thread, pass 1 emits. */
    for (pass = 0; pass < 2; pass++) {
        for (i = 0; i < n; i++) {
            json_t *t = json_array_get(root, i);
            json_t *subj = json_object_get(t, "subject");
            json_t *repo = json_object_get(t, "repository");
            const char *id, *reason, *title, *api_url, *full_name,
                *repo_html, *upd_iso;
            int64_t updated;

            if (!json_is_object(t) || !json_is_object(subj) ||
                !json_is_object(repo)) {
                bad = "subject or repository";
                goto bad;
            }
            if (ga_str(t, "id", true, &id, &bad) < 0 ||
                ga_str(t, "reason", true, &reason, &bad) < 0 ||
                ga_time(t, "updated_at", &updated, &upd_iso, &bad) < 0 ||
                ga_str(subj, "title", true, &title, &bad) < 0 ||
                ga_str(subj, "url", false, &api_url, &bad) < 0 ||
                ga_str(repo, "full_name", true, &full_name, &bad) < 0 ||
                ga_str(repo, "html_url", false, &repo_html, &bad) < 0)
                goto bad;
            if (pass == 0)
                continue;
            ga_newest(ret, updated, upd_iso);
            if (!ga_conversation(reason))
                continue;

            struct srm_mention mn = SRM_MENTION_INIT;
            char key[96], matched[64];
            char *url = ga_subject_url(api_url, repo_html, full_name);
            snprintf(key, sizeof(key), "thread:%s", id);
            snprintf(matched, sizeof(matched), "notification:%s", reason);
            mn.network = "github";
            mn.remote_id = key;
            mn.text = title;
            mn.url = url != NULL ? url : repo_html;
            mn.created_at = updated;
            mn.edited_at = updated;
            mn.matched = matched;
            mn.context_title = full_name;
            mn.context_url = repo_html;
            host->mention_add(inst, &mn);
            free(url);
            ret->n_emitted++;
            continue;
bad:
            if (asprintf(ret_err, "thread %zu: field %s is missing or has "
                                  "the wrong type",
                         i, bad) < 0)
                *ret_err = NULL;
            goto fail;
        }
    }
    ret->n_items = n;
    rc = 0;
fail:
    json_decref(root);
    return rc;
}
