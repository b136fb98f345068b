/* test_bluesky.c - the Bluesky connector against canned XRPC responses
 * (tests/data/bluesky/), through the mock host. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "bluesky_api.h"
#include "bluesky_profiles.h"
#include "mock_host.h"

#define JSON_HDR "Content-Type: application/json; charset=utf-8\r\n"
#define SERVICE "http://127.0.0.1:9/pds"
#define PUBLIC "http://127.0.0.1:9/appview"
#define LOGIN "/xrpc/com.atproto.server.createSession"
#define REFRESH "/xrpc/com.atproto.server.refreshSession"
#define SEARCH "/xrpc/app.bsky.feed.searchPosts?"
#define NOTIF "/xrpc/app.bsky.notification.listNotifications?"
#define PROFILES "/xrpc/app.bsky.actor.getProfiles?"

/* ---------------------------------------------------------------------
 * Helpers.
 */

static const struct srm_plugin *bt_plugin(void)
{
    const struct srm_plugin *p = srm_plugin_entry(mock_host_api());

    assert_non_null(p);
    assert_string_equal(p->name, "bluesky");
    assert_int_equal(p->capabilities,
                     SRM_CAP_MENTIONS | SRM_CAP_CONTACTS | SRM_CAP_REPLY);
    return p;
}

/* A mock with base_url/service on the mock, a backfill reaching the 2024
 * fixtures, and the given credentials (NULL for none). */
static struct mock_host *bt_setup(const char *query, bool login,
                                  bool notifications)
{
    struct mock_host *m = mock_host_create();

    if (query != NULL)
        mock_cfg_set_list(m, "query", query, NULL);
    mock_cfg_set(m, "base_url", PUBLIC "/");
    mock_cfg_set(m, "service", SERVICE);
    mock_cfg_set(m, "backfill", "3650d");
    mock_cfg_set(m, "notifications", notifications ? "true" : "false");
    if (login) {
        mock_cfg_set(m, "identifier", "team.example.com");
        mock_cfg_set(m, "app_password", "abcd-efgh-ijkl-mnop");
    }
    assert_int_equal(mock_plugin_create(m, bt_plugin()), 0);
    return m;
}

static void bt_b64url(const char *in, char *out)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t n = strlen(in), i, o = 0;

    for (i = 0; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)(unsigned char)in[i] << 16 |
                     (uint32_t)(unsigned char)in[i + 1] << 8 |
                     (unsigned char)in[i + 2];
        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
        out[o++] = tab[v >> 6 & 63];
        out[o++] = tab[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)(unsigned char)in[i] << 16;
        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)(unsigned char)in[i] << 16 |
                     (uint32_t)(unsigned char)in[i + 1] << 8;
        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
        out[o++] = tab[v >> 6 & 63];
    }
    out[o] = '\0';
}

/* A JWT shaped like the PDS's (ES256K header, scope/sub/iat/exp/aud),
 * with a fake signature; tag keeps tokens of one test apart. */
static char *bt_jwt(int64_t exp, const char *tag)
{
    char payload[256], enc[400], *jwt;

    snprintf(payload, sizeof(payload),
             "{\"scope\":\"com.atproto.appPass\",\"sub\":\"did:plc:me\","
             "\"iat\":1700000000,\"exp\":%lld,\"aud\":\"did:web:%s\"}",
             (long long)exp, tag);
    bt_b64url(payload, enc);
    assert_true(asprintf(&jwt, "eyJ0eXAiOiJhdCtqd3QiLCJhbGciOiJFUzI1NksifQ."
                               "%s.c2lnbmF0dXJl",
                         enc) > 0);
    return jwt;
}

/* A createSession/refreshSession answer. */
static struct mock_expect *bt_expect_session(struct mock_host *m,
                                             const char *path,
                                             int64_t exp, const char *tag,
                                             char **ret_access,
                                             char **ret_refresh)
{
    char *access = bt_jwt(exp, tag), *refresh = bt_jwt(exp + 86400, tag);
    char *body;
    struct mock_expect *e;

    assert_true(asprintf(&body,
                         "{\"did\":\"did:plc:me\",\"handle\":"
                         "\"team.example.com\",\"email\":\"team@example.com\","
                         "\"emailConfirmed\":true,\"accessJwt\":\"%s\","
                         "\"refreshJwt\":\"%s\",\"active\":true}",
                         access, refresh) > 0);
    e = mock_http_expect(m, "POST", path, 200, JSON_HDR, body);
    free(body);
    if (ret_access != NULL)
        *ret_access = access;
    else
        free(access);
    if (ret_refresh != NULL)
        *ret_refresh = refresh;
    else
        free(refresh);
    return e;
}

static size_t bt_count(const struct mock_host *m, const char *substr)
{
    size_t n = 0;

    while (mock_request_find(m, substr, n) != NULL)
        n++;
    return n;
}

/* The value of ?name= in a URL, decoded enough for our fixtures. */
static char *bt_param(const char *url, const char *name)
{
    char key[64];
    const char *p;
    size_t n;

    snprintf(key, sizeof(key), "%s=", name);
    p = strstr(url, key);
    if (p == NULL || (p[-1] != '?' && p[-1] != '&'))
        return NULL;
    p += strlen(key);
    n = strcspn(p, "&");
    char *out = calloc(1, n + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '%' && i + 2 < n + 1) {
            char hex[3] = {p[i + 1], p[i + 2], 0};
            out[o++] = (char)strtol(hex, NULL, 16);
            i += 2;
        } else {
            out[o++] = p[i];
        }
    }
    return out;
}

/* The accounts of tests/data/bluesky/ as getProfiles knows them; frank
 * (handle.invalid) is missing, as a deleted account is. */
struct bt_account {
    const char *did, *handle, *name, *bio;
    int64_t followers, follows, posts;
};

static const struct bt_account bt_accounts[] = {
    {"did:plc:alice", "alice.example.com", "Alice \xf0\x9f\x8c\xb7",
     "I write", 5120, 310, 2048},
    {"did:plc:bob", "bob.bsky.social", "Bob", "", 87, 120, 340},
    {"did:plc:carol", "carol.bsky.social", "", "Gardener", 0, 3, 12},
    {"did:plc:erin", "erin.bsky.social", "Erin", "Builds things", 1500, 700,
     9000},
    {"did:plc:gus", "gus.example.org", "Gus", "", 42, 42, 42},
    {"did:plc:hana", "hana.bsky.social", "Hana", "", 7, 8, 9},
    {"did:plc:ivy", "ivy.bsky.social", "Ivy", "", 250, 180, 75},
};

/* A profileViewDetailed, as app.bsky.actor.getProfiles answers it. */
static json_t *bt_profile_view(const struct bt_account *a)
{
    json_t *v = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:{s:i, s:i, s:i, "
        "s:b, s:{s:s}}, s:s, s:s, s:{s:b, s:b}, s:[]}",
        "did", a->did, "handle", a->handle, "displayName", a->name,
        "description", a->bio, "avatar",
        "https://cdn.bsky.app/img/avatar/plain/x/y@jpeg", "banner",
        "https://cdn.bsky.app/img/banner/plain/x/y@jpeg", "followersCount",
        (json_int_t)a->followers, "followsCount", (json_int_t)a->follows,
        "postsCount", (json_int_t)a->posts, "associated", "lists", 0,
        "feedgens", 0, "starterPacks", 0, "labeler", 0, "chat",
        "allowIncoming", "following", "indexedAt",
        "2024-04-01T00:00:00.000Z", "createdAt", "2023-04-01T00:00:00.000Z",
        "viewer", "muted", 0, "blockedBy", 0, "labels");

    assert_non_null(v);
    return v;
}

/* A getProfiles answer for the accounts of bt_accounts among the actors
 * of the request URL (in that order); others are left out. */
static char *bt_profiles_answer(const char *url)
{
    json_t *list = json_array();
    const char *p = url;
    char *body;

    while ((p = strstr(p, "actors=")) != NULL) {
        p += strlen("actors=");
        size_t n = strcspn(p, "&");
        for (size_t i = 0; i < sizeof(bt_accounts) / sizeof(*bt_accounts);
             i++) {
            /* DIDs are percent-encoded: "did%3Aplc%3Aalice". */
            const char *tail = strrchr(bt_accounts[i].did, ':') + 1;
            if (n == strlen("did%3Aplc%3A") + strlen(tail) &&
                strncmp(p + strlen("did%3Aplc%3A"), tail, strlen(tail)) == 0)
                json_array_append_new(list,
                                      bt_profile_view(&bt_accounts[i]));
        }
    }
    json_t *answer = json_pack("{s:o}", "profiles", list);
    body = json_dumps(answer, JSON_COMPACT);
    json_decref(answer);
    assert_non_null(body);
    return body;
}

/* Expect one getProfiles request for exactly these DIDs (NULL-ended) and
 * answer it from bt_accounts. */
static struct mock_expect *bt_expect_profiles(struct mock_host *m, ...)
{
    char url[2048] = PROFILES;
    const char *did;
    struct mock_expect *e;
    char *body;
    va_list ap;
    bool first = true;

    va_start(ap, m);
    while ((did = va_arg(ap, const char *)) != NULL) {
        size_t at = strlen(url);
        snprintf(url + at, sizeof(url) - at, "%sactors=did%%3Aplc%%3A%s",
                 first ? "" : "&", strrchr(did, ':') + 1);
        first = false;
    }
    va_end(ap);
    body = bt_profiles_answer(url);
    e = mock_http_expect(m, "GET", url, 200, JSON_HDR, body);
    free(body);
    return e;
}

/* The last identity emitted for remote_id (mock_identity_find gives the
 * first). */
static const struct srm_identity *bt_identity_last(const struct mock_host *m,
                                                   const char *remote_id)
{
    for (size_t i = m->n_identities; i-- > 0;)
        if (strcmp(m->identities[i].remote_id, remote_id) == 0)
            return &m->identities[i];
    return NULL;
}

/* ---------------------------------------------------------------------
 * Pure helpers.
 */

static void test_time_parse(void **state)
{
    (void)state;
    assert_int_equal(bsky_api_time_parse("2024-05-01T10:00:00Z"),
                     1714557600000LL);
    assert_int_equal(bsky_api_time_parse("2024-05-01T10:00:01.250Z"),
                     1714557601250LL);
    /* Microseconds are cut to milliseconds; offsets are applied. */
    assert_int_equal(bsky_api_time_parse("2024-05-01T11:30:00.123456+00:00"),
                     1714563000123LL);
    assert_int_equal(bsky_api_time_parse("2024-05-01T12:00:00.5+02:00"),
                     1714557600500LL);
    assert_int_equal(bsky_api_time_parse("2024-05-01"), -1);
    assert_int_equal(bsky_api_time_parse("2024-05-01T10:00:00"), -1);
    assert_int_equal(bsky_api_time_parse("2024-13-01T10:00:00Z"), -1);
    assert_int_equal(bsky_api_time_parse("2024-05-01T10:00:00.Z"), -1);
    assert_int_equal(bsky_api_time_parse("yesterday"), -1);
    assert_int_equal(bsky_api_time_parse(NULL), -1);

    char buf[40];
    bsky_api_time_format(1714563000123LL, buf, sizeof(buf));
    assert_string_equal(buf, "2024-05-01T11:30:00.123Z");

    char *jwt = bt_jwt(1714563000, "x");
    assert_int_equal(bsky_api_jwt_exp(jwt), 1714563000);
    free(jwt);
    assert_int_equal(bsky_api_jwt_exp("opaque-token"), -1);
    assert_int_equal(bsky_api_jwt_exp("a.!!!.b"), -1);
}

static char *bt_facets(const char *text, const char *facets_json)
{
    json_t *f = json_loads(facets_json, 0, NULL);
    char *out;

    assert_non_null(f);
    out = bsky_api_apply_facets(text, f);
    json_decref(f);
    assert_non_null(out);
    return out;
}

#define BT_LINK(s, e, uri)                                                    \
    "{\"index\":{\"byteStart\":" #s ",\"byteEnd\":" #e "},\"features\":[{"   \
    "\"$type\":\"app.bsky.richtext.facet#link\",\"uri\":\"" uri "\"}]}"

static void test_facets(void **state)
{
    (void)state;
    /* "é" and "☕" are 2 and 3 bytes: the link starts at byte 7, not at
     * character 4. */
    const char *t = "é ☕ x.co/a... end";
    char *out = bt_facets(t, "[" BT_LINK(7, 16, "https://x.co/abcdef") "]");
    assert_string_equal(out, "é ☕ https://x.co/abcdef end");
    free(out);

    /* A label that is not the URL keeps its text and gains the URL. */
    out = bt_facets("read the docs 🎉",
                    "[" BT_LINK(5, 13, "https://d.example/") "]");
    assert_string_equal(out, "read the docs (https://d.example/) 🎉");
    free(out);

    /* Out of range, inside a character, empty, overlapping: ignored;
     * facets out of order are applied in text order. */
    out = bt_facets("ab ☕ cd ef",
                    "[" BT_LINK(10, 12, "https://ef.example") ","
                    BT_LINK(0, 99, "https://x") ","
                    BT_LINK(4, 6, "https://mid") ","
                    BT_LINK(3, 3, "https://empty") ","
                    BT_LINK(0, 2, "https://ab.example") ","
                    BT_LINK(1, 2, "https://overlap") "]");
    assert_string_equal(out, "ab (https://ab.example) ☕ cd ef "
                             "(https://ef.example)");
    free(out);

    /* No facets at all, and a mention facet: the text is unchanged. */
    out = bsky_api_apply_facets("plain ✓", NULL);
    assert_string_equal(out, "plain ✓");
    free(out);
}

/* ---------------------------------------------------------------------
 * Configuration.
 */

static void test_config(void **state)
{
    const struct srm_plugin *p = bt_plugin();
    struct mock_host *m;

    (void)state;
    m = mock_host_create();
    mock_cfg_set(m, "identifier", "team.example.com");
    assert_int_equal(mock_plugin_create(m, p), SRM_E_CONFIG);
    assert_int_equal(m->n_cfg_errors, 1);
    assert_string_equal(m->cfg_errors[0],
                        "app_password: identifier and app_password go "
                        "together");
    mock_host_destroy(m);

    m = mock_host_create();
    mock_cfg_set_list(m, "query", "srmd", NULL);
    mock_cfg_set(m, "contacts", "everyone");
    assert_int_equal(mock_plugin_create(m, p), SRM_E_CONFIG);
    assert_string_equal(m->cfg_errors[0],
                        "contacts: expected none, followers, follows or "
                        "both");
    mock_host_destroy(m);

    m = mock_host_create();
    mock_cfg_set_list(m, "query", "srmd", NULL);
    mock_cfg_set(m, "contacts", "followers");
    assert_int_equal(mock_plugin_create(m, p), SRM_E_CONFIG);
    assert_string_equal(m->cfg_errors[0],
                        "contacts: needs identifier (whose contacts to "
                        "walk)");
    mock_host_destroy(m);

    /* No query, no keywords, no login: nothing to do. */
    m = mock_host_create();
    assert_int_equal(mock_plugin_create(m, p), SRM_E_CONFIG);
    assert_non_null(strstr(m->cfg_errors[0], "nothing to sync"));
    mock_host_destroy(m);

    /* Defaults: listen.keywords, the public AppView, backfill 1d. */
    m = mock_host_create();
    mock_listen_keywords(m, "acme corp", NULL);
    assert_int_equal(mock_plugin_create(m, p), 0);
    mock_http_expect_file(m, "GET", SEARCH, 200, JSON_HDR,
                          "bluesky/search_empty.json");
    int64_t lo = (int64_t)time(NULL) - 86400;
    assert_int_equal(mock_sync(m), 0);
    assert_int_equal(mock_run(m), 1);
    int64_t hi = (int64_t)time(NULL) - 86400;
    assert_int_equal(m->pass.status, SRM_PASS_OK);
    assert_int_equal(m->n_unexpected, 0);
    assert_int_equal(m->n_violations, 0);
    const struct mock_request *r = &m->requests[0];
    assert_non_null(strstr(r->url, "https://public.api.bsky.app/xrpc/"
                                   "app.bsky.feed.searchPosts?q=acme%20corp&"
                                   "sort=latest&since="));
    assert_null(r->bearer_token);
    assert_int_equal(r->max_body, 4u << 20);
    char *since = bt_param(r->url, "since");
    int64_t s = bsky_api_time_parse(since) / 1000;
    assert_true(s >= lo && s <= hi);
    /* No posts: the cursor keeps the window's start. */
    assert_string_equal(mock_cursor(m, "q:acme corp"), since);
    free(since);
    mock_host_destroy(m);
}

/* ---------------------------------------------------------------------
 * Search.
 */

static void test_search_pages(void **state)
{
    struct mock_host *m = bt_setup("srmd", false, true);
    int64_t lo = (int64_t)time(NULL) - 3650 * 86400;

    (void)state;
    mock_http_expect_file(m, "GET", SEARCH, 200, JSON_HDR,
                          "bluesky/search_page1.json");
    mock_http_expect_file(m, "GET", "&cursor=25", 200, JSON_HDR,
                          "bluesky/search_page2.json");
    /* Then the authors' counts, in the order they were met. */
    bt_expect_profiles(m, "did:plc:bob", "did:plc:alice", "did:plc:frank",
                       "did:plc:carol", NULL);
    assert_int_equal(mock_sync(m), 0);
    assert_int_equal(m->n_requests, 1); /* one page at a time */
    assert_int_equal(mock_run(m), 3);
    assert_int_equal(m->n_unexpected, 0);
    assert_int_equal(m->n_violations, 0);
    assert_int_equal(m->pass.count, 1);
    assert_int_equal(m->pass.status, SRM_PASS_OK);

    /* Without a session: the public host, no token, no notifications. */
    const struct mock_request *r0 = &m->requests[0], *r1 = &m->requests[1];
    assert_non_null(strstr(r0->url, PUBLIC SEARCH "q=srmd&sort=latest&"
                                    "since="));
    assert_non_null(strstr(r0->url, "&limit=100"));
    assert_null(strstr(r0->url, "cursor="));
    assert_null(r0->bearer_token);
    assert_string_equal(mock_request_header(r0, "Accept"),
                        "application/json");
    /* Page 2: same parameters plus the cursor. */
    char *s0 = bt_param(r0->url, "since"), *s1 = bt_param(r1->url, "since");
    assert_string_equal(s0, s1);
    int64_t since = bsky_api_time_parse(s0) / 1000;
    assert_true(since >= lo && since <= (int64_t)time(NULL) - 3650 * 86400);
    free(s0);
    free(s1);
    assert_non_null(strstr(r1->url, "&limit=100&cursor=25"));

    assert_int_equal(m->n_mentions, 4);
    const struct srm_mention *a =
        mock_mention_find(m, "at://did:plc:alice/app.bsky.feed.post/3kalice1");
    assert_non_null(a);
    assert_string_equal(a->network, "bluesky");
    assert_string_equal(a->author_id, "did:plc:alice");
    assert_string_equal(a->url,
                        "https://bsky.app/profile/alice.example.com/post/"
                        "3kalice1");
    /* The shortened link is expanded, the mention facet left alone, the
     * labelled link keeps its label; multi-byte text before them. */
    assert_string_equal(a->text,
                        "Café ☕ trying srmd — docs at "
                        "https://github.com/srmd/srmd/blob/main/README.md 🎉 "
                        "and @bob.bsky.social says hi, see the manual "
                        "(https://srmd.example/manual)");
    assert_int_equal(a->created_at, 1714557600);
    assert_string_equal(a->lang, "fr");
    assert_string_equal(a->matched, "srmd");
    assert_null(a->reply_to);
    json_t *ref = json_loads(a->reply_ref, 0, NULL);
    assert_non_null(ref);
    assert_string_equal(json_string_value(json_object_get(ref, "uri")),
                        a->remote_id);
    assert_string_equal(json_string_value(json_object_get(ref, "cid")),
                        "bafyreialice1");
    /* Not a reply: the post is its own root. */
    assert_string_equal(json_string_value(json_object_get(ref, "root_uri")),
                        a->remote_id);
    assert_string_equal(json_string_value(json_object_get(ref, "root_cid")),
                        "bafyreialice1");
    json_decref(ref);

    const struct srm_mention *b =
        mock_mention_find(m, "at://did:plc:bob/app.bsky.feed.post/3kbob1");
    assert_non_null(b);
    assert_string_equal(b->reply_to,
                        "at://did:plc:carol/app.bsky.feed.post/3kparent");
    assert_int_equal(b->created_at, 1714563000);
    ref = json_loads(b->reply_ref, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(ref, "root_uri")),
                        "at://did:plc:dave/app.bsky.feed.post/3kroot");
    assert_string_equal(json_string_value(json_object_get(ref, "root_cid")),
                        "bafyreiroot");
    assert_string_equal(json_string_value(json_object_get(ref, "cid")),
                        "bafyreibob1");
    json_decref(ref);

    /* handle.invalid: the URL falls back to the DID. */
    const struct srm_mention *d =
        mock_mention_find(m, "at://did:plc:frank/app.bsky.feed.post/3kfrank1");
    assert_non_null(d);
    assert_string_equal(d->url, "https://bsky.app/profile/did:plc:frank/"
                                "post/3kfrank1");
    assert_null(d->lang);
    assert_non_null(
        mock_mention_find(m, "at://did:plc:carol/app.bsky.feed.post/3kcarol1"));

    /* Identities: DID-keyed; a domain handle becomes a verified link. */
    const struct srm_identity *ia = mock_identity_find(m, "did:plc:alice");
    assert_non_null(ia);
    assert_string_equal(ia->handle, "alice.example.com");
    assert_string_equal(ia->display_name, "Alice 🌷");
    assert_string_equal(ia->profile_url,
                        "https://bsky.app/profile/alice.example.com");
    assert_non_null(ia->avatar_url);
    assert_int_equal(ia->n_links, 1);
    assert_string_equal(ia->links[0].label, "handle");
    assert_string_equal(ia->links[0].url, "https://alice.example.com");
    assert_true(ia->links[0].verified_at >= (int64_t)time(NULL) - 60);
    const struct srm_identity *ib = mock_identity_find(m, "did:plc:bob");
    assert_non_null(ib);
    assert_int_equal(ib->n_links, 0);
    const struct srm_identity *ic = mock_identity_find(m, "did:plc:carol");
    assert_null(ic->display_name); /* "" is no name */
    const struct srm_identity *ifr = mock_identity_find(m, "did:plc:frank");
    assert_null(ifr->handle);
    assert_int_equal(ifr->n_links, 0);

    /* One cursor after the last page: the newest min(createdAt,
     * indexedAt) -- not the 2030 createdAt of the post from the future. */
    assert_int_equal(m->n_cursor_sets, 1);
    assert_string_equal(m->cursor_sets[0].key, "q:srmd");
    assert_string_equal(m->cursor_sets[0].value, "2024-05-01T11:30:00.123Z");
    assert_int_equal(m->cursor_sets[0].n_mentions, 4);

    /* getProfiles came after that commit, from the public AppView too,
     * and gave the authors their counts and bios (not frank: deleted). */
    const struct mock_request *rp = mock_request_find(m, PROFILES, 0);
    assert_non_null(rp);
    assert_string_equal(rp->url,
                        PUBLIC PROFILES "actors=did%3Aplc%3Abob&actors=did%3A"
                        "plc%3Aalice&actors=did%3Aplc%3Afrank&actors=did%3A"
                        "plc%3Acarol");
    assert_null(rp->bearer_token);
    assert_int_equal(m->cursor_sets[0].n_identities, 4);
    assert_int_equal(m->n_identities, 7);
    ia = bt_identity_last(m, "did:plc:alice");
    assert_int_equal(ia->followers, 5120);
    assert_int_equal(ia->following, 310);
    assert_int_equal(ia->posts, 2048);
    assert_string_equal(ia->bio, "I write");
    assert_string_equal(ia->handle, "alice.example.com");
    assert_int_equal(ia->n_links, 1);
    ic = bt_identity_last(m, "did:plc:carol");
    assert_int_equal(ic->followers, 0);
    assert_string_equal(ic->bio, "Gardener");
    assert_int_equal(bt_identity_last(m, "did:plc:frank")->followers, -1);
    assert_non_null(strstr(m->pass.message, "4 posts, 0 contacts, 3 "
                                            "profiles"));

    /* The next pass looks back 10 minutes from the mark. */
    mock_pass_reset(m);
    mock_http_expect_file(m, "GET", "since=2024-05-01T11%3A20%3A00.123Z&", 200,
                          JSON_HDR, "bluesky/search_empty.json");
    assert_int_equal(mock_sync(m), 0);
    assert_int_equal(mock_run(m), 1);
    assert_int_equal(m->n_unexpected, 0);
    assert_int_equal(m->pass.status, SRM_PASS_OK);
    assert_string_equal(mock_cursor(m, "q:srmd"), "2024-05-01T11:30:00.123Z");
    mock_host_destroy(m);
}

static void test_search_needs_session(void **state)
{
    struct mock_host *m = bt_setup("srmd", false, true);

    (void)state;
    mock_http_expect(m, "GET", SEARCH, 403, "Content-Type: text/plain\r\n",
                     "Request forbidden by administrative rules");
    assert_int_equal(mock_sync(m), 0);
    mock_run(m);
    assert_int_equal(m->pass.count, 1);
    assert_int_equal(m->pass.status, SRM_PASS_ERROR);
    assert_non_null(strstr(m->pass.message, "search needs a session: set "
                                            "identifier and app_password"));
    assert_int_equal(m->n_cursor_sets, 0);
    mock_host_destroy(m);
}

static void test_rate_limited(void **state)
{
    struct mock_host *m = bt_setup("srmd", false, true);

    (void)state;
    mock_cursor_preset(m, "q:srmd", "2024-05-01T00:00:00.000Z");
    mock_http_expect_file(m, "GET", SEARCH, 200, JSON_HDR,
                          "bluesky/search_page1.json");
    mock_http_expect(m, "GET", "cursor=25", 429,
                     JSON_HDR "Retry-After: 42\r\nRateLimit-Remaining: 0\r\n",
                     "{\"error\":\"RateLimitExceeded\","
                     "\"message\":\"Rate Limit Exceeded\"}");
    assert_int_equal(mock_sync(m), 0);
    assert_int_equal(mock_run(m), 2);
    assert_int_equal(m->pass.count, 1);
    assert_int_equal(m->pass.status, SRM_PASS_RETRY);
    assert_int_equal(m->pass.retry_after, 42);
    assert_int_equal(m->n_cursor_sets, 0);
    assert_string_equal(mock_cursor(m, "q:srmd"), "2024-05-01T00:00:00.000Z");
    mock_host_destroy(m);
}

struct bt_bad {
    const char *file;
    const char *content_type;
    const char *reason;
};

static void test_malformed(void **state)
{
    static const struct bt_bad cases[] = {
        {"bluesky/html.html", "text/html", "malformed JSON"},
        {"bluesky/truncated.json", "application/json", "malformed JSON"},
        {"bluesky/bad_posts_type.json", "application/json", "lacks posts[]"},
        {"bluesky/bad_author_type.json", "application/json",
         "post 1: field did"},
        {"bluesky/bad_no_text.json", "application/json",
         "post 1: field record.text"},
        {"bluesky/bad_uri.json", "application/json", "post 0: field uri"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct mock_host *m = bt_setup("srmd", false, true);
        char hdr[128];

        snprintf(hdr, sizeof(hdr), "Content-Type: %s\r\n",
                 cases[i].content_type);
        mock_cursor_preset(m, "q:srmd", "2024-05-01T00:00:00.000Z");
        mock_http_expect_file(m, "GET", SEARCH, 200, hdr, cases[i].file);
        assert_int_equal(mock_sync(m), 0);
        assert_int_equal(mock_run(m), 1);
        assert_int_equal(m->pass.count, 1);
        assert_int_equal(m->pass.status, SRM_PASS_ERROR);
        if (strstr(m->pass.message, cases[i].reason) == NULL)
            fail_msg("%s: '%s' lacks '%s'", cases[i].file, m->pass.message,
                     cases[i].reason);
        assert_int_equal(m->n_cursor_sets, 0);
        /* A bad page is checked whole before anything is emitted. */
        assert_int_equal(m->n_mentions, 0);
        assert_string_equal(mock_cursor(m, "q:srmd"),
                            "2024-05-01T00:00:00.000Z");
        mock_host_destroy(m);
    }

    /* A transport failure and a server error. */
    struct mock_host *m = bt_setup("srmd", false, true);
    mock_http_expect_error(m, "GET", SEARCH, SRM_E_TRANSPORT,
                           "Connection refused");
    assert_int_equal(mock_sync(m), 0);
    mock_run(m);
    assert_int_equal(m->pass.status, SRM_PASS_ERROR);
    assert_non_null(strstr(m->pass.message, "Connection refused"));
    assert_int_equal(m->n_cursor_sets, 0);
    mock_pass_reset(m);
    mock_http_expect(m, "GET", SEARCH, 502, "Content-Type: text/html\r\n",
                     "<html>Bad Gateway</html>");
    assert_int_equal(mock_sync(m), 0);
    mock_run(m);
    assert_int_equal(m->pass.status, SRM_PASS_ERROR);
    assert_non_null(strstr(m->pass.message, "HTTP 502"));
    assert_int_equal(m->n_cursor_sets, 0);
    mock_host_destroy(m);
}

/* ---------------------------------------------------------------------
 * Sessions.
 */

static void test_session_once(void **state)
{
    struct mock_host *m = bt_setup("srmd", true, false);
    char *access = NULL;

    (void)state;
    bt_expect_session(m, LOGIN, (int64_t)time(NULL) + 7200, "a", &access,
                      NULL);
    for (int pass = 0; pass < 3; pass++) {
        if (pass > 0)
            mock_pass_reset(m);
        mock_http_expect_file(m, "GET", SEARCH, 200, JSON_HDR,
                              "bluesky/search_empty.json");
        assert_int_equal(mock_sync(m), 0);
        mock_run(m);
        assert_int_equal(m->n_unexpected, 0);
        assert_int_equal(m->pass.status, SRM_PASS_OK);
        assert_int_equal(bt_count(m, LOGIN), pass == 0 ? 1 : 0);
        assert_int_equal(bt_count(m, REFRESH), 0);
        /* Reads go to the service with the access token. */
        const struct mock_request *s = mock_request_find(m, SEARCH, 0);
        assert_non_null(s);
        assert_non_null(strstr(s->url, SERVICE SEARCH));
        assert_string_equal(s->bearer_token, access);
    }
    mock_host_destroy(m);

    /* The login request itself. */
    m = bt_setup("srmd", true, false);
    bt_expect_session(m, LOGIN, (int64_t)time(NULL) + 7200, "b", NULL, NULL);
    mock_http_expect_file(m, "GET", SEARCH, 200, JSON_HDR,
                          "bluesky/search_empty.json");
    assert_int_equal(mock_sync(m), 0);
    assert_int_equal(mock_run(m), 2);
    const struct mock_request *l = &m->requests[0];
    assert_string_equal(l->url, SERVICE LOGIN);
    assert_string_equal(l->method, "POST");
    assert_null(l->bearer_token);
    assert_string_equal(mock_request_header(l, "Content-Type"),
                        "application/json");
    json_t *body = json_loadb(l->body, l->body_len, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(body, "identifier")),
                        "team.example.com");
    assert_string_equal(json_string_value(json_object_get(body, "password")),
                        "abcd-efgh-ijkl-mnop");
    json_decref(body);
    free(access);
    mock_host_destroy(m);
}

static void test_refresh_before_expiry(void **state)
{
    struct mock_host *m = bt_setup("srmd", true, false);
    char *refresh = NULL, *access2 = NULL;

    (void)state;
    /* The first token expires in 4 minutes: used right after login, but
     * refreshed at the start of the next pass. */
    bt_expect_session(m, LOGIN, (int64_t)time(NULL) + 240, "a", NULL,
                      &refresh);
    mock_http_expect_file(m, "GET", SEARCH, 200, JSON_HDR,
                          "bluesky/search_empty.json");
    assert_int_equal(mock_sync(m), 0);
    assert_int_equal(mock_run(m), 2);
    assert_int_equal(m->pass.status, SRM_PASS_OK);
    assert_int_equal(bt_count(m, REFRESH), 0);

    mock_pass_reset(m);
    bt_expect_session(m, REFRESH, (int64_t)time(NULL) + 7200, "b", &access2,
                      NULL);
    mock_http_expect_file(m, "GET", SEARCH, 200, JSON_HDR,
                          "bluesky/search_empty.json");
    assert_int_equal(mock_sync(m), 0);
    assert_int_equal(mock_run(m), 2);
    assert_int_equal(m->n_unexpected, 0);
    assert_int_equal(m->pass.status, SRM_PASS_OK);
    assert_int_equal(bt_count(m, LOGIN), 0);
    const struct mock_request *r = &m->requests[0];
    assert_string_equal(r->url, SERVICE REFRESH);
    assert_string_equal(r->method, "POST");
    /* refreshSession takes the refresh token, not the access token. */
    assert_string_equal(r->bearer_token, refresh);
    assert_string_equal(m->requests[1].bearer_token, access2);
    free(refresh);
    free(access2);
    mock_host_destroy(m);
}

static void test_expired_token_retried_once(void **state)
{
    struct mock_host *m = bt_setup("srmd", true, false);
    char *access1 = NULL, *access2 = NULL, *refresh1 = NULL;

    (void)state;
    bt_expect_session(m, LOGIN, (int64_t)time(NULL) + 7200, "a", &access1,
                      &refresh1);
    mock_http_expect_file(m, "GET", SEARCH, 400, JSON_HDR,
                          "bluesky/expired.json");
    bt_expect_session(m, REFRESH, (int64_t)time(NULL) + 7200, "b", &access2,
                      NULL);
    mock_http_expect_file(m, "GET", SEARCH, 200, JSON_HDR,
                          "bluesky/search_page2.json");
    bt_expect_profiles(m, "did:plc:carol", NULL);
    assert_int_equal(mock_sync(m), 0);
    assert_int_equal(mock_run(m), 5);
    assert_int_equal(m->n_unexpected, 0);
    assert_int_equal(m->pass.status, SRM_PASS_OK);
    assert_int_equal(bt_count(m, SEARCH), 2);
    /* Later reads of the pass carry the new token too. */
    assert_string_equal(mock_request_find(m, PROFILES, 0)->bearer_token,
                        access2);
    assert_non_null(strstr(mock_request_find(m, PROFILES, 0)->url,
                           SERVICE PROFILES));
    assert_string_equal(mock_request_find(m, SEARCH, 0)->bearer_token,
                        access1);
    assert_string_equal(mock_request_find(m, REFRESH, 0)->bearer_token,
                        refresh1);
    /* The same request again, with the new token. */
    assert_string_equal(mock_request_find(m, SEARCH, 1)->url,
                        mock_request_find(m, SEARCH, 0)->url);
    assert_string_equal(mock_request_find(m, SEARCH, 1)->bearer_token,
                        access2);
    assert_int_equal(m->n_mentions, 1);
    assert_int_equal(m->n_cursor_sets, 1);

    /* Expired again right after the refresh: one retry only. */
    mock_pass_reset(m);
    mock_http_expect_file(m, "GET", SEARCH, 400, JSON_HDR,
                          "bluesky/expired.json");
    bt_expect_session(m, REFRESH, (int64_t)time(NULL) + 7200, "c", NULL,
                      NULL);
    mock_http_expect_file(m, "GET", SEARCH, 400, JSON_HDR,
                          "bluesky/expired.json");
    assert_int_equal(mock_sync(m), 0);
    assert_int_equal(mock_run(m), 3);
    assert_int_equal(m->n_unexpected, 0);
    assert_int_equal(m->pass.status, SRM_PASS_AUTH_FAILED);
    assert_int_equal(bt_count(m, REFRESH), 1);
    assert_int_equal(m->n_cursor_sets, 0);

    /* A refused refresh logs in again, once. */
    mock_pass_reset(m);
    mock_http_expect_file(m, "GET", SEARCH, 400, JSON_HDR,
                          "bluesky/expired.json");
    mock_http_expect_file(m, "POST", REFRESH, 400, JSON_HDR,
                          "bluesky/expired.json");
    bt_expect_session(m, LOGIN, (int64_t)time(NULL) + 7200, "d", NULL, NULL);
    mock_http_expect_file(m, "GET", SEARCH, 200, JSON_HDR,
                          "bluesky/search_empty.json");
    assert_int_equal(mock_sync(m), 0);
    assert_int_equal(mock_run(m), 4);
    assert_int_equal(m->n_unexpected, 0);
    assert_int_equal(m->pass.status, SRM_PASS_OK);
    free(access1);
    free(access2);
    free(refresh1);
    mock_host_destroy(m);
}

static void test_login_refused(void **state)
{
    struct mock_host *m = bt_setup("srmd", true, true);

    (void)state;
    mock_http_expect_file(m, "POST", LOGIN, 401, JSON_HDR,
                          "bluesky/login_refused.json");
    assert_int_equal(mock_sync(m), 0);
    assert_int_equal(mock_run(m), 1);
    assert_int_equal(m->pass.count, 1);
    assert_int_equal(m->pass.status, SRM_PASS_AUTH_FAILED);
    assert_non_null(strstr(m->pass.message, "team.example.com"));
    assert_non_null(strstr(m->pass.message,
                           "Invalid identifier or password"));
    /* The password never shows. */
    assert_null(strstr(m->pass.message, "abcd-efgh"));
    for (size_t i = 0; i < m->n_logs; i++)
        assert_null(strstr(m->logs[i], "abcd-efgh"));
    assert_int_equal(bt_count(m, SEARCH), 0);
    assert_int_equal(m->n_cursor_sets, 0);
    mock_host_destroy(m);
}

/* ---------------------------------------------------------------------
 * Notifications and contacts.
 */

static void test_notifications_stop_at_cursor(void **state)
{
    struct mock_host *m = bt_setup(NULL, true, true);

    (void)state;
    mock_cursor_preset(m, "notif", "2024-06-01T08:30:00.000Z");
    bt_expect_session(m, LOGIN, (int64_t)time(NULL) + 7200, "a", NULL, NULL);
    mock_http_expect_file(m, "GET", NOTIF, 200, JSON_HDR,
                          "bluesky/notif_page1.json");
    mock_http_expect_file(m, "GET", "cursor=2024-06-01T10%3A00%3A00.400Z",
                          200, JSON_HDR, "bluesky/notif_page2.json");
    /* erin wrote two of them: asked for once. */
    bt_expect_profiles(m, "did:plc:erin", "did:plc:gus", "did:plc:hana",
                       NULL);
    assert_int_equal(mock_sync(m), 0);
    assert_int_equal(mock_run(m), 4);
    assert_int_equal(m->n_unexpected, 0);
    assert_int_equal(m->n_violations, 0);
    assert_int_equal(m->pass.status, SRM_PASS_OK);
    /* The walk stopped at the item older than the mark: no third page. */
    assert_int_equal(bt_count(m, NOTIF), 2);
    const struct mock_request *r = mock_request_find(m, NOTIF, 0);
    assert_non_null(strstr(r->url, SERVICE NOTIF "reasons=mention&"
                                   "reasons=reply&reasons=quote&limit=100"));
    assert_null(strstr(r->url, "cursor="));

    /* mention, reply and quote; not the like, not the old mention. */
    assert_int_equal(m->n_mentions, 3);
    const struct srm_mention *n1 =
        mock_mention_find(m, "at://did:plc:erin/app.bsky.feed.post/3kn1");
    assert_non_null(n1);
    assert_string_equal(n1->matched, "mention");
    assert_string_equal(n1->text, "hey @team.example.com, is srmd ready?");
    assert_string_equal(n1->url,
                        "https://bsky.app/profile/erin.bsky.social/post/3kn1");
    const struct srm_mention *n3 =
        mock_mention_find(m, "at://did:plc:gus/app.bsky.feed.post/3kn3");
    assert_non_null(n3);
    assert_string_equal(n3->matched, "reply");
    assert_string_equal(n3->reply_to, "at://did:plc:me/app.bsky.feed.post/"
                                      "3kmine");
    assert_non_null(
        mock_mention_find(m, "at://did:plc:hana/app.bsky.feed.post/3kn4"));
    assert_null(mock_mention_find(m, "at://did:plc:erin/app.bsky.feed.post/"
                                     "3kn5"));
    const struct srm_identity *erin = mock_identity_find(m, "did:plc:erin");
    assert_non_null(erin);
    assert_string_equal(erin->bio, "Builds things");

    assert_int_equal(m->n_cursor_sets, 1);
    assert_string_equal(m->cursor_sets[0].key, "notif");
    assert_string_equal(m->cursor_sets[0].value, "2024-06-01T12:00:00.000Z");

    /* Nothing new: the first item is at the mark, one request. */
    mock_pass_reset(m);
    mock_http_expect_file(m, "GET", NOTIF, 200, JSON_HDR,
                          "bluesky/notif_page1.json");
    assert_int_equal(mock_sync(m), 0);
    assert_int_equal(mock_run(m), 1);
    assert_int_equal(m->pass.status, SRM_PASS_OK);
    assert_int_equal(m->n_mentions, 0);
    assert_string_equal(mock_cursor(m, "notif"), "2024-06-01T12:00:00.000Z");

    /* A malformed page moves nothing. */
    mock_pass_reset(m);
    mock_cursor_preset(m, "notif", "2024-06-01T08:30:00.000Z");
    mock_http_expect_file(m, "GET", NOTIF, 200, JSON_HDR,
                          "bluesky/bad_notif_no_indexed.json");
    assert_int_equal(mock_sync(m), 0);
    assert_int_equal(mock_run(m), 1);
    assert_int_equal(m->pass.status, SRM_PASS_ERROR);
    assert_non_null(strstr(m->pass.message, "item 1: field indexedAt"));
    assert_int_equal(m->n_cursor_sets, 0);
    mock_host_destroy(m);
}

static void test_contacts(void **state)
{
    struct mock_host *m = mock_host_create();

    (void)state;
    mock_cfg_set(m, "service", SERVICE);
    mock_cfg_set(m, "identifier", "team.example.com");
    mock_cfg_set(m, "app_password", "abcd-efgh-ijkl-mnop");
    mock_cfg_set(m, "notifications", "false");
    mock_cfg_set(m, "contacts", "both");
    assert_int_equal(mock_plugin_create(m, bt_plugin()), 0);
    bt_expect_session(m, LOGIN, (int64_t)time(NULL) + 7200, "a", NULL, NULL);
    mock_http_expect_file(m, "GET", "getFollowers?", 200, JSON_HDR,
                          "bluesky/followers.json");
    mock_http_expect_file(m, "GET", "getFollowers?", 200, JSON_HDR,
                          "bluesky/followers2.json");
    mock_http_expect_file(m, "GET", "getFollows?", 200, JSON_HDR,
                          "bluesky/follows.json");
    /* Followers and follows have no counts either; alice is in both. */
    bt_expect_profiles(m, "did:plc:alice", "did:plc:bob", "did:plc:ivy",
                       NULL);
    assert_int_equal(mock_sync(m), 0);
    assert_int_equal(mock_run(m), 5);
    assert_int_equal(m->n_unexpected, 0);
    assert_int_equal(m->pass.status, SRM_PASS_OK);
    assert_non_null(strstr(m->requests[1].url,
                           SERVICE "/xrpc/app.bsky.graph.getFollowers?"
                                   "actor=did%3Aplc%3Ame&limit=100"));
    assert_non_null(strstr(m->requests[2].url, "&cursor=f2"));
    assert_int_equal(m->n_contacts, 4);
    assert_string_equal(m->contacts[0].remote_id, "did:plc:alice");
    assert_int_equal(m->contacts[0].relation, SRM_REL_FOLLOWER);
    assert_string_equal(m->contacts[2].remote_id, "did:plc:ivy");
    assert_int_equal(m->contacts[2].relation, SRM_REL_FOLLOWER);
    assert_string_equal(m->contacts[3].remote_id, "did:plc:alice");
    assert_int_equal(m->contacts[3].relation, SRM_REL_FOLLOWING);
    assert_string_equal(mock_identity_find(m, "did:plc:alice")->bio,
                        "I write");
    assert_non_null(mock_cursor(m, "contacts_at"));
    /* The walk was committed before the counts were asked for. */
    assert_int_equal(m->n_cursor_sets, 1);
    assert_string_equal(m->cursor_sets[0].key, "contacts_at");
    assert_int_equal(m->cursor_sets[0].n_identities, 4);
    assert_int_equal(m->n_identities, 7);
    assert_int_equal(bt_identity_last(m, "did:plc:ivy")->followers, 250);
    assert_int_equal(bt_identity_last(m, "did:plc:ivy")->following, 180);
    assert_string_equal(m->pass.message, "0 posts, 4 contacts, 3 profiles");

    /* contacts_every (1d) has not passed: nothing to do. */
    mock_pass_reset(m);
    assert_int_equal(mock_sync(m), 0);
    assert_int_equal(mock_run(m), 0);
    assert_int_equal(m->pass.status, SRM_PASS_OK);
    assert_int_equal(m->n_contacts, 0);
    mock_host_destroy(m);
}

/* ---------------------------------------------------------------------
 * Follower counts (getProfiles).
 */

static void test_profiles_table(void **state)
{
    struct bsky_profiles p;
    const char *got[BSKY_PROFILES_BATCH];
    const int64_t now = 1700000000, day = 86400;
    char did[48];

    (void)state;
    bsky_profiles_init(&p, day);
    assert_int_equal(bsky_profiles_want(&p, "did:plc:c1",
                                        BSKY_PROFILE_CONTACT, now), 1);
    assert_int_equal(bsky_profiles_want(&p, "did:plc:a1",
                                        BSKY_PROFILE_AUTHOR, now), 1);
    assert_int_equal(bsky_profiles_want(&p, "did:plc:a2",
                                        BSKY_PROFILE_AUTHOR, now), 1);
    /* Queued already: once is enough. */
    assert_int_equal(bsky_profiles_want(&p, "did:plc:a1",
                                        BSKY_PROFILE_AUTHOR, now), 0);
    assert_int_equal(bsky_profiles_queued(&p), 3);
    /* Authors before contacts, each queue in order. */
    assert_int_equal(bsky_profiles_take(&p, got, 2), 2);
    assert_string_equal(got[0], "did:plc:a1");
    assert_string_equal(got[1], "did:plc:a2");
    /* Taken (in a request): not queued twice. */
    assert_int_equal(bsky_profiles_want(&p, "did:plc:a1",
                                        BSKY_PROFILE_AUTHOR, now), 0);
    /* Put back (the pass was cancelled): first again, in order. */
    bsky_profiles_again(&p, got, 2, false, now);
    assert_int_equal(bsky_profiles_queued(&p), 3);
    assert_int_equal(bsky_profiles_take(&p, got, BSKY_PROFILES_BATCH), 3);
    assert_string_equal(got[0], "did:plc:a1");
    assert_string_equal(got[1], "did:plc:a2");
    assert_string_equal(got[2], "did:plc:c1");
    for (int i = 0; i < 3; i++)
        bsky_profiles_fresh(&p, got[i], now);
    assert_int_equal(bsky_profiles_take(&p, got, BSKY_PROFILES_BATCH), 0);
    /* Fresh for one ttl, then due again. */
    assert_int_equal(bsky_profiles_want(&p, "did:plc:a1",
                                        BSKY_PROFILE_AUTHOR, now + day - 1),
                     0);
    assert_int_equal(bsky_profiles_want(&p, "did:plc:a1",
                                        BSKY_PROFILE_AUTHOR, now + day), 1);
    /* Failed requests: retried, and after the third in a row left alone
     * for a ttl. */
    for (int i = 1; i <= BSKY_PROFILES_MAX_FAILURES; i++) {
        assert_int_equal(bsky_profiles_take(&p, got, 1), 1);
        assert_string_equal(got[0], "did:plc:a1");
        bsky_profiles_again(&p, got, 1, true, now + day);
        assert_int_equal(bsky_profiles_queued(&p),
                         i < BSKY_PROFILES_MAX_FAILURES ? 1 : 0);
    }
    assert_int_equal(bsky_profiles_want(&p, "did:plc:a1",
                                        BSKY_PROFILE_AUTHOR, now + day + 1),
                     0);
    assert_int_equal(bsky_profiles_want(&p, "did:plc:a1",
                                        BSKY_PROFILE_AUTHOR, now + 2 * day),
                     1);
    bsky_profiles_fini(&p);

    /* The queues are bounded. */
    bsky_profiles_init(&p, day);
    for (int i = 0; i < BSKY_PROFILES_QUEUE_MAX; i++) {
        snprintf(did, sizeof(did), "did:plc:q%d", i);
        assert_int_equal(bsky_profiles_want(&p, did, BSKY_PROFILE_CONTACT,
                                            now), 1);
    }
    assert_int_equal(bsky_profiles_want(&p, "did:plc:one-more",
                                        BSKY_PROFILE_AUTHOR, now), 0);
    assert_int_equal(bsky_profiles_queued(&p), BSKY_PROFILES_QUEUE_MAX);
    bsky_profiles_fini(&p);

    /* Accounts whose counts went stale are forgotten when the table
     * fills, so it holds about one ttl's worth, not everything ever met. */
    bsky_profiles_init(&p, day);
    for (int round = 0; round < 6; round++) {
        int64_t t = now + round * 2 * day;
        for (int i = 0; i < 1000; i++) {
            snprintf(did, sizeof(did), "did:plc:r%d-%d", round, i);
            assert_int_equal(bsky_profiles_want(&p, did, BSKY_PROFILE_AUTHOR,
                                                t), 1);
        }
        size_t n;
        while ((n = bsky_profiles_take(&p, got, BSKY_PROFILES_BATCH)) > 0)
            for (size_t i = 0; i < n; i++)
                bsky_profiles_fresh(&p, got[i], t);
    }
    assert_true(p.used <= 2000);
    assert_true(p.n_slots <= 4096);
    /* The last round is still known and fresh. */
    assert_int_equal(bsky_profiles_want(&p, "did:plc:r5-999",
                                        BSKY_PROFILE_AUTHOR,
                                        now + 10 * day + 1), 0);
    bsky_profiles_fini(&p);
}

static void test_profiles_once_a_day(void **state)
{
    struct mock_host *m = bt_setup("srmd", false, true);

    (void)state;
    /* The first getProfiles fails: a warning, and the pass still ends OK
     * with the query committed; carol waits for the next pass. */
    mock_http_expect_file(m, "GET", SEARCH, 200, JSON_HDR,
                          "bluesky/search_page2.json");
    mock_http_expect(m, "GET", PROFILES, 502, "Content-Type: text/html\r\n",
                     "<html>Bad Gateway</html>");
    assert_int_equal(mock_sync(m), 0);
    assert_int_equal(mock_run(m), 2);
    assert_int_equal(m->n_unexpected, 0);
    assert_int_equal(m->n_violations, 0);
    assert_int_equal(m->pass.count, 1);
    assert_int_equal(m->pass.status, SRM_PASS_OK);
    assert_string_equal(m->pass.message, "1 posts, 0 contacts");
    assert_int_equal(m->n_cursor_sets, 1);
    assert_int_equal(m->n_mentions, 1);
    assert_true(mock_log_contains(m, "app.bsky.actor.getProfiles: HTTP 502"));
    assert_true(mock_log_contains(m, "follower counts of 1 accounts wait "
                                     "for a later pass"));

    /* Next pass: nothing new found, carol's counts are fetched. */
    mock_pass_reset(m);
    mock_http_expect_file(m, "GET", SEARCH, 200, JSON_HDR,
                          "bluesky/search_empty.json");
    bt_expect_profiles(m, "did:plc:carol", NULL);
    assert_int_equal(mock_sync(m), 0);
    assert_int_equal(mock_run(m), 2);
    assert_int_equal(m->n_unexpected, 0);
    assert_int_equal(m->pass.status, SRM_PASS_OK);
    assert_int_equal(bt_identity_last(m, "did:plc:carol")->following, 3);

    /* carol posts again within the day: her counts are not asked for. */
    mock_pass_reset(m);
    mock_http_expect_file(m, "GET", SEARCH, 200, JSON_HDR,
                          "bluesky/search_page2.json");
    assert_int_equal(mock_sync(m), 0);
    assert_int_equal(mock_run(m), 1);
    assert_int_equal(m->n_unexpected, 0);
    assert_int_equal(m->pass.status, SRM_PASS_OK);
    assert_int_equal(bt_count(m, PROFILES), 0);

    /* A rate limit does not count against the accounts asked for, a
     * refused request does: after three in a row they are left alone
     * for the day. */
    static const struct {
        long status;
        const char *headers, *body;
    } answers[] = {
        {429, JSON_HDR "Retry-After: 30\r\n",
         "{\"error\":\"RateLimitExceeded\",\"message\":\"Rate Limit "
         "Exceeded\"}"},
        {400, JSON_HDR,
         "{\"error\":\"InvalidRequest\",\"message\":\"Error: actors must "
         "be a valid at-identifier\"}"},
        {400, JSON_HDR,
         "{\"error\":\"InvalidRequest\",\"message\":\"Error: actors must "
         "be a valid at-identifier\"}"},
        {400, JSON_HDR,
         "{\"error\":\"InvalidRequest\",\"message\":\"Error: actors must "
         "be a valid at-identifier\"}"},
    };
    for (size_t i = 0; i <= sizeof(answers) / sizeof(*answers); i++) {
        mock_pass_reset(m);
        mock_http_expect_file(m, "GET", SEARCH, 200, JSON_HDR,
                              i == 0 ? "bluesky/search_page1.json"
                                     : "bluesky/search_empty.json");
        if (i == 0)
            mock_http_expect_file(m, "GET", "&cursor=25", 200, JSON_HDR,
                                  "bluesky/search_page2.json");
        if (i < sizeof(answers) / sizeof(*answers))
            mock_http_expect(m, "GET", PROFILES, answers[i].status,
                             answers[i].headers, answers[i].body);
        assert_int_equal(mock_sync(m), 0);
        mock_run(m);
        assert_int_equal(m->n_unexpected, 0);
        assert_int_equal(mock_http_unused(m), 0);
        assert_int_equal(m->pass.count, 1);
        assert_int_equal(m->pass.status, SRM_PASS_OK);
    }
    assert_int_equal(bt_count(m, PROFILES), 0);
    mock_host_destroy(m);

    /* With a session, an expired token on getProfiles is refreshed and
     * the request sent again, as for any read. */
    m = bt_setup("srmd", true, false);
    char *access2 = NULL;
    bt_expect_session(m, LOGIN, (int64_t)time(NULL) + 7200, "a", NULL, NULL);
    mock_http_expect_file(m, "GET", SEARCH, 200, JSON_HDR,
                          "bluesky/search_page2.json");
    mock_http_expect_file(m, "GET", PROFILES, 400, JSON_HDR,
                          "bluesky/expired.json");
    bt_expect_session(m, REFRESH, (int64_t)time(NULL) + 7200, "b", &access2,
                      NULL);
    bt_expect_profiles(m, "did:plc:carol", NULL);
    assert_int_equal(mock_sync(m), 0);
    assert_int_equal(mock_run(m), 5);
    assert_int_equal(m->n_unexpected, 0);
    assert_int_equal(m->pass.status, SRM_PASS_OK);
    assert_string_equal(mock_request_find(m, PROFILES, 1)->bearer_token,
                        access2);
    assert_int_equal(bt_identity_last(m, "did:plc:carol")->posts, 12);
    free(access2);
    mock_host_destroy(m);
}

/* A search page of n posts by n different accounts. */
static char *bt_many_authors(int n)
{
    json_t *posts = json_array(), *page;
    char *body;

    for (int i = 0; i < n; i++) {
        char did[32], uri[96], handle[48], cid[32];
        snprintf(did, sizeof(did), "did:plc:many%d", i);
        snprintf(uri, sizeof(uri), "at://%s/app.bsky.feed.post/p%d", did, i);
        snprintf(handle, sizeof(handle), "many%d.bsky.social", i);
        snprintf(cid, sizeof(cid), "bafyreimany%d", i);
        json_array_append_new(
            posts,
            json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s, s:s}, s:s}",
                      "uri", uri, "cid", cid, "author", "did", did, "handle",
                      handle, "record", "$type", "app.bsky.feed.post", "text",
                      "srmd, again", "createdAt", "2024-05-01T10:00:00.000Z",
                      "indexedAt", "2024-05-01T10:00:01.000Z"));
    }
    page = json_pack("{s:o}", "posts", posts);
    body = json_dumps(page, JSON_COMPACT);
    json_decref(page);
    assert_non_null(body);
    return body;
}

static size_t bt_actors(const char *url)
{
    size_t n = 0;

    for (const char *p = url; (p = strstr(p, "actors=")) != NULL; p++)
        n++;
    return n;
}

static void test_profiles_capped_per_pass(void **state)
{
    struct mock_host *m = bt_setup("srmd", false, true);
    char *page = bt_many_authors(300);

    (void)state;
    /* 300 new accounts: ten requests of 25 now, the other 50 later. */
    mock_http_expect(m, "GET", SEARCH, 200, JSON_HDR, page);
    for (int i = 0; i < 12; i++)
        mock_http_expect(m, "GET", PROFILES, 200, JSON_HDR,
                         "{\"profiles\":[]}");
    assert_int_equal(mock_sync(m), 0);
    assert_int_equal(mock_run(m), 11);
    assert_int_equal(m->pass.status, SRM_PASS_OK);
    assert_int_equal(m->n_mentions, 300);
    assert_int_equal(bt_count(m, PROFILES), 10);
    for (size_t i = 0; i < 10; i++)
        assert_int_equal(bt_actors(mock_request_find(m, PROFILES, i)->url),
                         25);
    assert_non_null(strstr(mock_request_find(m, PROFILES, 0)->url,
                           "actors=did%3Aplc%3Amany0&actors=did%3Aplc%3A"
                           "many1&"));
    assert_true(mock_log_contains(m, "50 accounts wait for a later pass"));

    /* Next pass: the first of the 50 come back, then the pass is
     * cancelled (the source is being removed, or the pass reclaimed)
     * while the second request is out: no pass_done, and both batches go
     * back to the queue, since the pass's records were dropped. */
    mock_pass_reset(m);
    mock_http_expect_file(m, "GET", SEARCH, 200, JSON_HDR,
                          "bluesky/search_empty.json");
    mock_http_expect(m, "GET", PROFILES, 200, JSON_HDR, "{\"profiles\":[]}");
    mock_http_expect_error(m, "GET", PROFILES, SRM_E_CANCELLED, "cancelled");
    assert_int_equal(mock_sync(m), 0);
    assert_int_equal(mock_run(m), 3);
    assert_int_equal(m->pass.count, 0);
    assert_int_equal(m->n_violations, 0);
    assert_non_null(strstr(mock_request_find(m, PROFILES, 0)->url,
                           "actors=did%3Aplc%3Amany250&"));
    mock_pass_reclaim(m);

    mock_pass_reset(m);
    mock_http_expect_file(m, "GET", SEARCH, 200, JSON_HDR,
                          "bluesky/search_empty.json");
    mock_http_expect(m, "GET", PROFILES, 200, JSON_HDR, "{\"profiles\":[]}");
    mock_http_expect(m, "GET", PROFILES, 200, JSON_HDR, "{\"profiles\":[]}");
    assert_int_equal(mock_sync(m), 0);
    assert_int_equal(mock_run(m), 3);
    assert_int_equal(m->pass.status, SRM_PASS_OK);
    assert_int_equal(m->n_unexpected, 0);
    assert_int_equal(m->n_violations, 0);
    assert_non_null(strstr(mock_request_find(m, PROFILES, 0)->url,
                           "actors=did%3Aplc%3Amany250&"));
    assert_non_null(strstr(mock_request_find(m, PROFILES, 1)->url,
                           "actors=did%3Aplc%3Amany275&"));

    /* All done: a pass with nothing new asks for nothing. */
    mock_pass_reset(m);
    mock_http_expect_file(m, "GET", SEARCH, 200, JSON_HDR,
                          "bluesky/search_empty.json");
    assert_int_equal(mock_sync(m), 0);
    assert_int_equal(mock_run(m), 1);
    assert_int_equal(bt_count(m, PROFILES), 0);
    free(page);
    mock_host_destroy(m);
}

/* ---------------------------------------------------------------------
 * Replies.
 */

struct bt_reply_result {
    int calls;
    int error;
    char *msg, *id, *url;
};

static void bt_reply_done(struct srm_instance *inst, int error,
                          const char *msg, const char *posted_id,
                          const char *posted_url, void *ud)
{
    struct bt_reply_result *r = ud;

    (void)inst;
    r->calls++;
    r->error = error;
    r->msg = msg != NULL ? strdup(msg) : NULL;
    r->id = posted_id != NULL ? strdup(posted_id) : NULL;
    r->url = posted_url != NULL ? strdup(posted_url) : NULL;
}

static void test_reply(void **state)
{
    struct mock_host *m = bt_setup("srmd", true, false);
    const struct srm_plugin *p = bt_plugin();
    struct srm_reply_req req = SRM_REPLY_REQ_INIT;
    struct bt_reply_result res = {0};

    (void)state;
    req.mention_id = "at://did:plc:bob/app.bsky.feed.post/3kbob1";
    req.reply_ref = "{\"uri\":\"at://did:plc:bob/app.bsky.feed.post/3kbob1\","
                    "\"cid\":\"bafyreibob1\",\"root_uri\":"
                    "\"at://did:plc:dave/app.bsky.feed.post/3kroot\","
                    "\"root_cid\":\"bafyreiroot\"}";
    req.text = "Thanks Bob — see you there ✨";
    req.member = "alice";
    bt_expect_session(m, LOGIN, (int64_t)time(NULL) + 7200, "a", NULL, NULL);
    mock_http_expect_file(m, "POST", "/xrpc/com.atproto.repo.createRecord",
                          200, JSON_HDR, "bluesky/create_record.json");
    assert_int_equal(p->reply(mock_plugin_ctx(m), &req, bt_reply_done, &res),
                     0);
    assert_int_equal(mock_run(m), 2);
    assert_int_equal(m->n_unexpected, 0);
    assert_int_equal(res.calls, 1);
    assert_int_equal(res.error, 0);
    assert_string_equal(res.id, "at://did:plc:me/app.bsky.feed.post/3kreply");
    assert_string_equal(res.url, "https://bsky.app/profile/team.example.com/"
                                 "post/3kreply");

    const struct mock_request *r =
        mock_request_find(m, "com.atproto.repo.createRecord", 0);
    assert_string_equal(r->method, "POST");
    json_t *b = json_loadb(r->body, r->body_len, 0, NULL);
    assert_non_null(b);
    json_t *rec = json_object_get(b, "record");
    assert_string_equal(json_string_value(json_object_get(b, "repo")),
                        "did:plc:me");
    assert_string_equal(json_string_value(json_object_get(b, "collection")),
                        "app.bsky.feed.post");
    assert_string_equal(json_string_value(json_object_get(rec, "$type")),
                        "app.bsky.feed.post");
    assert_string_equal(json_string_value(json_object_get(rec, "text")),
                        req.text);
    int64_t created = bsky_api_time_parse(
        json_string_value(json_object_get(rec, "createdAt")));
    assert_true(created / 1000 >= (int64_t)time(NULL) - 60);
    json_t *reply = json_object_get(rec, "reply");
    json_t *root = json_object_get(reply, "root");
    json_t *parent = json_object_get(reply, "parent");
    assert_string_equal(json_string_value(json_object_get(root, "uri")),
                        "at://did:plc:dave/app.bsky.feed.post/3kroot");
    assert_string_equal(json_string_value(json_object_get(root, "cid")),
                        "bafyreiroot");
    assert_string_equal(json_string_value(json_object_get(parent, "uri")),
                        "at://did:plc:bob/app.bsky.feed.post/3kbob1");
    assert_string_equal(json_string_value(json_object_get(parent, "cid")),
                        "bafyreibob1");
    json_decref(b);
    free(res.id);
    free(res.url);
    free(res.msg);

    /* The session is reused; a post the PDS refuses reports its reason. */
    memset(&res, 0, sizeof(res));
    mock_pass_reset(m);
    mock_http_expect(m, "POST", "createRecord", 400, JSON_HDR,
                     "{\"error\":\"InvalidRequest\",\"message\":"
                     "\"Record/text must not be longer than 300 graphemes\"}");
    assert_int_equal(p->reply(mock_plugin_ctx(m), &req, bt_reply_done, &res),
                     0);
    assert_int_equal(mock_run(m), 1);
    assert_int_equal(res.calls, 1);
    assert_int_equal(res.error, SRM_E_HTTP);
    assert_non_null(strstr(res.msg, "300 graphemes"));
    free(res.msg);
    mock_host_destroy(m);

    /* No login: not supported, and done is not called. */
    m = bt_setup("srmd", false, false);
    memset(&res, 0, sizeof(res));
    assert_int_equal(p->reply(mock_plugin_ctx(m), &req, bt_reply_done, &res),
                     SRM_E_NOTSUP);
    assert_true(mock_log_contains(m, "replying needs identifier and "
                                     "app_password"));
    assert_int_equal(res.calls, 0);
    assert_int_equal(m->n_requests, 0);
    mock_host_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time_parse),
        cmocka_unit_test(test_facets),
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_search_pages),
        cmocka_unit_test(test_search_needs_session),
        cmocka_unit_test(test_rate_limited),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_session_once),
        cmocka_unit_test(test_refresh_before_expiry),
        cmocka_unit_test(test_expired_token_retried_once),
        cmocka_unit_test(test_login_refused),
        cmocka_unit_test(test_notifications_stop_at_cursor),
        cmocka_unit_test(test_contacts),
        cmocka_unit_test(test_profiles_table),
        cmocka_unit_test(test_profiles_once_a_day),
        cmocka_unit_test(test_profiles_capped_per_pass),
        cmocka_unit_test(test_reply),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
