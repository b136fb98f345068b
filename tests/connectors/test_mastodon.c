/* test_mastodon.c - the Mastodon connector against canned API answers
 * (tests/data/mastodon/, in the shapes of the Mastodon docs' Status,
 * Account and Notification entities), through the mock host. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "mastodon_api.h"
#include "mastodon_stream.h"
#include "mock_host.h"

#define JSON_HDR "Content-Type: application/json; charset=utf-8\r\n"
#define BASE "https://mastodon.example"

#define ALICE "https://social.example/users/alice"
#define S1_URI "https://social.example/users/alice/statuses/112000000000000101"
#define S2_URI "https://mastodon.example/users/bob/statuses/112000000000000102"
#define T1_URI                                                                \
    "https://fosstodon.example/users/carol/statuses/112000000000000201"
#define ST_URI                                                                \
    "https://fosstodon.example/users/carol/statuses/112000000000000601"

/* A created instance. token may be NULL; tags is one hashtag or NULL.
 * The stream is off unless a test turns it on. */
static struct mock_host *ma_setup(const char *token, const char *tag,
                                  bool stream)
{
    struct mock_host *m = mock_host_create();
    const struct srm_plugin *p = srm_plugin_entry(mock_host_api());

    assert_non_null(p);
    assert_string_equal(p->name, "mastodon");
    assert_int_equal(p->capabilities,
                     SRM_CAP_MENTIONS | SRM_CAP_CONTACTS | SRM_CAP_REPLY |
                         SRM_CAP_STREAM);
    mock_cfg_set(m, "base_url", BASE "/");
    if (token != NULL)
        mock_cfg_set(m, "token", token);
    if (tag != NULL)
        mock_cfg_set_list(m, "hashtags", tag, NULL);
    mock_cfg_set(m, "stream", stream ? "true" : "false");
    assert_int_equal(mock_plugin_create(m, p), 0);
    return m;
}

static void ma_pass(struct mock_host *m)
{
    assert_int_equal(mock_sync(m), 0);
    mock_run(m);
    assert_int_equal(m->pass.count, 1);
    assert_int_equal(m->n_violations, 0);
}

static void test_config(void **state)
{
    const struct srm_plugin *p = srm_plugin_entry(mock_host_api());
    struct mock_host *m = mock_host_create();

    (void)state;
    /* Nothing to sync without a token or hashtags. */
    mock_cfg_set(m, "base_url", BASE);
    assert_int_equal(mock_plugin_create(m, p), SRM_E_CONFIG);
    assert_int_equal(m->n_cfg_errors, 1);
    assert_non_null(strstr(m->cfg_errors[0], "token: nothing to sync"));
    mock_host_destroy(m);

    m = mock_host_create();
    mock_cfg_set(m, "base_url", BASE);
    mock_cfg_set_list(m, "hashtags", "srmd", NULL);
    mock_cfg_set(m, "contacts", "followers");
    assert_int_equal(mock_plugin_create(m, p), SRM_E_CONFIG);
    assert_string_equal(m->cfg_errors[0],
                        "contacts: syncing contacts needs a token");
    mock_host_destroy(m);

    m = mock_host_create();
    mock_cfg_set(m, "base_url", BASE);
    mock_cfg_set(m, "token", "T");
    mock_cfg_set(m, "contacts", "everyone");
    assert_int_equal(mock_plugin_create(m, p), SRM_E_CONFIG);
    assert_string_equal(
        m->cfg_errors[0],
        "contacts: expected none, followers, following or both");
    mock_host_destroy(m);

    m = mock_host_create();
    mock_cfg_set(m, "base_url", BASE);
    mock_cfg_set(m, "query", "srmd");
    mock_cfg_set_list(m, "hashtags", "srmd", NULL);
    assert_int_equal(mock_plugin_create(m, p), SRM_E_CONFIG);
    assert_string_equal(m->cfg_errors[0],
                        "query: status search needs a token");
    mock_host_destroy(m);

    /* Without a token notifications are skipped, with a debug line. */
    m = ma_setup(NULL, "#srmd", true);
    assert_true(mock_log_contains(m, "notifications skipped"));
    mock_http_expect_file(m, "GET", "/api/v1/timelines/tag/srmd?", 200,
                          JSON_HDR, "mastodon/empty.json");
    ma_pass(m);
    assert_int_equal(m->pass.status, SRM_PASS_OK);
    assert_int_equal(m->n_requests, 1); /* no stream without a token */
    assert_null(m->requests[0].bearer_token);
    mock_host_destroy(m);
}

static void test_ids_dates_links(void **state)
{
    (void)state;
    assert_true(masto_id_cmp("99", "100") < 0);
    assert_true(masto_id_cmp("112000000000000345", "112000000000000340") >
                0);
    assert_int_equal(masto_id_cmp("5", "5"), 0);
    assert_int_equal(masto_parse_time("2024-05-01T12:00:00.000Z"),
                     1714564800);
    assert_int_equal(masto_parse_time("2024-05-01T14:00:00+02:00"),
                     1714564800);
    assert_int_equal(masto_parse_time("2024-05-01"), 1714521600);
    assert_int_equal(masto_parse_time("yesterday"), -1);
    assert_int_equal(masto_parse_time("2024-13-01T00:00:00Z"), -1);

    const char *link =
        "<https://m.example/api/v1/accounts/1/followers?max_id=7>; "
        "rel=\"next\", <https://m.example/api/v1/accounts/1/followers?"
        "since_id=9>; rel=\"prev\"";
    char *next = masto_link_rel(link, "next");
    char *prev = masto_link_rel(link, "prev");
    assert_string_equal(next,
                        "https://m.example/api/v1/accounts/1/followers?"
                        "max_id=7");
    assert_string_equal(prev,
                        "https://m.example/api/v1/accounts/1/followers?"
                        "since_id=9");
    assert_null(masto_link_rel(link, "last"));
    assert_null(masto_link_rel(NULL, "next"));
    free(next);
    free(prev);
    char *host = masto_url_host("http://127.0.0.1:8080/x");
    assert_string_equal(host, "127.0.0.1:8080");
    free(host);
    char *enc = masto_url_encode("caf\xc3\xa9 & co");
    assert_string_equal(enc, "caf%C3%A9%20%26%20co");
    free(enc);
}

static void test_first_sync(void **state)
{
    struct mock_host *m = ma_setup("T0KEN", "srmd", false);
    const struct srm_identity *id;
    const struct srm_mention *mt;

    (void)state;
    mock_http_expect_file(m, "GET", "/api/v1/notifications?", 200, JSON_HDR,
                          "mastodon/notifications.json");
    mock_http_expect_file(m, "GET", "/api/v1/timelines/tag/srmd?", 200,
                          JSON_HDR, "mastodon/tag_first.json");
    ma_pass(m);
    assert_int_equal(m->pass.status, SRM_PASS_OK);
    assert_int_equal(m->n_unexpected, 0);
    assert_int_equal(m->n_requests, 2);

    /* First run: the newest page, no min_id, only mentions. */
    const char *u = m->requests[0].url;
    assert_non_null(strstr(u, BASE "/api/v1/notifications?"));
    assert_non_null(strstr(u, "types%5B%5D=mention"));
    assert_non_null(strstr(u, "include_filtered=true"));
    assert_non_null(strstr(u, "limit=40"));
    assert_null(strstr(u, "min_id"));
    assert_null(strstr(u, "since_id"));
    assert_string_equal(m->requests[0].bearer_token, "T0KEN");
    assert_int_equal(m->requests[0].max_body, 4u << 20);
    assert_null(strstr(m->requests[1].url, "min_id"));

    /* Identities: absolute acct, uri as key, bio as text, fields. */
    id = mock_identity_find(m, ALICE);
    assert_non_null(id);
    assert_string_equal(id->handle, "alice@social.example");
    assert_string_equal(id->display_name, "Alice Liddell");
    assert_string_equal(id->profile_url, "https://social.example/@alice");
    assert_non_null(strstr(id->bio, "Maintainer of example.org"));
    assert_non_null(strstr(id->bio, "& friends"));
    assert_null(strstr(id->bio, "<p>"));
    assert_int_equal(id->followers, 1200);
    assert_int_equal(id->following, 300);
    assert_int_equal(id->posts, 5400);
    assert_int_equal(id->n_links, 2);
    assert_string_equal(id->links[0].label, "Website");
    assert_string_equal(id->links[0].url, "https://alice.example/?a=1&b=2");
    assert_int_equal(id->links[0].verified_at, 1685614830);
    assert_string_equal(id->links[1].label, "Pronouns");
    assert_string_equal(id->links[1].url, "she/her");
    assert_int_equal(id->links[1].verified_at, 0);
    /* A local account without uri: its absolute acct is its key. */
    id = mock_identity_find(m, "bob@mastodon.example");
    assert_non_null(id);
    assert_string_equal(id->handle, "bob@mastodon.example");
    assert_null(id->display_name);

    /* Mentions from notifications. */
    mt = mock_mention_find(m, S1_URI);
    assert_non_null(mt);
    assert_string_equal(mt->author_id, ALICE);
    assert_string_equal(mt->matched, "notifications");
    assert_string_equal(mt->reply_ref, "112000000000000101");
    assert_string_equal(mt->url,
                        "https://social.example/@alice/112000000000000101");
    assert_int_equal(mt->created_at, 1714564800);
    assert_int_equal(mt->edited_at, 1714565130);
    assert_non_null(strstr(mt->text, "srmd looks great & fast"));
    assert_string_equal(mt->lang, "en");
    assert_string_equal(mt->visibility, "public");
    assert_null(mt->reply_to);
    assert_int_equal(mt->flags, 0);
    mt = mock_mention_find(m, S2_URI);
    assert_non_null(mt);
    assert_string_equal(mt->author_id, "bob@mastodon.example");
    assert_memory_equal(mt->text, "CW: long post\n", 14);
    assert_non_null(strstr(mt->text, "second line"));
    /* A reply names the uri of the status it answers (later in the page:
     * newest first), not the server-local in_reply_to_id. */
    assert_string_equal(mt->reply_to, S1_URI);
    assert_string_equal(mt->visibility, "unlisted");
    assert_null(mt->lang);

    /* The hashtag page: a boost is unwrapped to the boosted status. */
    size_t n_t1 = 0, n_reblog = 0;
    for (size_t i = 0; i < m->n_mentions; i++) {
        if (strcmp(m->mentions[i].remote_id, T1_URI) != 0)
            continue;
        n_t1++;
        assert_string_equal(m->mentions[i].matched, "#srmd");
        assert_string_equal(m->mentions[i].author_id,
                            "https://fosstodon.example/users/carol");
        assert_string_equal(m->mentions[i].reply_ref, "112000000000000201");
        if (m->mentions[i].flags & SRM_MENTION_REBLOG)
            n_reblog++;
    }
    assert_int_equal(n_t1, 2);
    assert_int_equal(n_reblog, 1);
    assert_int_equal(m->n_mentions, 4);
    for (size_t i = 0; i < m->n_mentions; i++)
        assert_null(strstr(m->mentions[i].remote_id, "/activity"));

    /* One cursor per feed, at the page's highest id, after its records. */
    assert_int_equal(m->n_cursor_sets, 2);
    assert_string_equal(m->cursor_sets[0].key, "notif");
    assert_string_equal(m->cursor_sets[0].value, "5003");
    assert_int_equal(m->cursor_sets[0].n_mentions, 2);
    assert_string_equal(m->cursor_sets[1].key, "tag:srmd");
    assert_string_equal(m->cursor_sets[1].value, "112000000000000202");
    assert_int_equal(m->cursor_sets[1].n_mentions, 4);

    /* Next pass: min_id from the cursors, nothing new. */
    mock_pass_reset(m);
    mock_http_expect_file(m, "GET", "min_id=5003", 200, JSON_HDR,
                          "mastodon/empty.json");
    mock_http_expect_file(m, "GET", "tag/srmd?limit=40&min_id="
                          "112000000000000202", 200, JSON_HDR,
                          "mastodon/empty.json");
    ma_pass(m);
    assert_int_equal(m->pass.status, SRM_PASS_OK);
    assert_int_equal(m->n_unexpected, 0);
    assert_int_equal(m->n_mentions, 0);
    assert_int_equal(m->n_cursor_sets, 0);
    mock_host_destroy(m);
}

static void test_incremental_no_gap(void **state)
{
    struct mock_host *m = ma_setup(NULL, "srmd", false);

    (void)state;
    mock_cursor_preset(m, "tag:srmd", "112000000000000300");
    mock_http_expect_file(m, "GET", "min_id=112000000000000300", 200,
                          JSON_HDR, "mastodon/tag_page_a.json");
    mock_http_expect_file(m, "GET", "min_id=112000000000000340", 200,
                          JSON_HDR, "mastodon/tag_page_b.json");
    mock_http_expect_file(m, "GET", "min_id=112000000000000345", 200,
                          JSON_HDR, "mastodon/empty.json");
    ma_pass(m);
    assert_int_equal(m->pass.status, SRM_PASS_OK);
    assert_int_equal(m->n_unexpected, 0);
    assert_int_equal(mock_http_unused(m), 0);
    assert_int_equal(m->n_requests, 3);
    for (size_t i = 0; i < m->n_requests; i++) {
        assert_null(strstr(m->requests[i].url, "since_id"));
        assert_non_null(strstr(m->requests[i].url, "limit=40"));
    }
    /* Every status of both pages, once, each page committed by its own
     * cursor as soon as it was emitted. */
    assert_int_equal(m->n_mentions, 45);
    for (int i = 1; i <= 45; i++) {
        char ref[32];
        size_t n = 0;
        snprintf(ref, sizeof(ref), "1120000000000003%02d", i);
        for (size_t j = 0; j < m->n_mentions; j++)
            n += strcmp(m->mentions[j].reply_ref, ref) == 0;
        assert_int_equal(n, 1);
    }
    assert_int_equal(m->n_cursor_sets, 2);
    assert_string_equal(m->cursor_sets[0].value, "112000000000000340");
    assert_int_equal(m->cursor_sets[0].n_mentions, 40);
    assert_string_equal(m->cursor_sets[1].value, "112000000000000345");
    assert_int_equal(m->cursor_sets[1].n_mentions, 45);
    assert_string_equal(mock_cursor(m, "tag:srmd"), "112000000000000345");
    mock_host_destroy(m);
}

/* A page that fails ends the pass with ERROR, a reason, and no cursor
 * moved for it. */
static void ma_expect_error(const char *file, long status,
                            const char *headers, int error,
                            const char *reason)
{
    struct mock_host *m = ma_setup(NULL, "srmd", false);

    mock_cursor_preset(m, "tag:srmd", "112000000000000300");
    if (error != 0) {
        mock_http_expect_error(m, "GET", "tag/srmd", error,
                               "Connection refused");
    } else if (file != NULL) {
        mock_http_expect_file(m, "GET", "tag/srmd", status, headers, file);
    } else {
        /* 5 MiB of a JSON array: over the 4 MiB cap. */
        size_t n = 5u << 20;
        char *big = malloc(n);
        assert_non_null(big);
        memset(big, ' ', n);
        big[0] = '[';
        big[n - 1] = ']';
        mock_http_expect_n(m, "GET", "tag/srmd", 200, JSON_HDR, big, n);
        free(big);
    }
    ma_pass(m);
    assert_int_equal(m->pass.status, SRM_PASS_ERROR);
    assert_non_null(m->pass.message);
    if (strstr(m->pass.message, reason) == NULL)
        fail_msg("'%s' lacks '%s'", m->pass.message, reason);
    assert_non_null(strstr(m->pass.message, "tag:srmd"));
    assert_int_equal(m->n_cursor_sets, 0);
    assert_int_equal(m->n_mentions, 0);
    assert_string_equal(mock_cursor(m, "tag:srmd"), "112000000000000300");
    mock_host_destroy(m);
}

static void test_bad_answers(void **state)
{
    (void)state;
    ma_expect_error("mastodon/malformed.json", 200, JSON_HDR, 0,
                    "malformed JSON at line");
    ma_expect_error("mastodon/wrongtype.json", 200, JSON_HDR, 0,
                    "status 112000000000000998: field 'created_at' is an "
                    "integer, expected a string");
    ma_expect_error("mastodon/missing.json", 200, JSON_HDR, 0,
                    "status 112000000000000997: field 'uri' is missing");
    ma_expect_error("mastodon/error.html", 200, "Content-Type: text/html\r\n",
                    0, "the server answered HTML, not JSON");
    ma_expect_error("mastodon/error.html", 500, "Content-Type: text/html\r\n",
                    0, "HTTP 500 from mastodon.example");
    ma_expect_error(NULL, 0, NULL, SRM_E_TRANSPORT, "Connection refused");
    ma_expect_error(NULL, 0, NULL, 0, "body over 4194304 bytes");
}

static void test_error_after_a_good_page(void **state)
{
    struct mock_host *m = ma_setup(NULL, "srmd", false);

    (void)state;
    mock_cursor_preset(m, "tag:srmd", "112000000000000300");
    mock_http_expect_file(m, "GET", "min_id=112000000000000300", 200,
                          JSON_HDR, "mastodon/tag_page_a.json");
    mock_http_expect_file(m, "GET", "min_id=112000000000000340", 200,
                          JSON_HDR, "mastodon/malformed.json");
    ma_pass(m);
    assert_int_equal(m->pass.status, SRM_PASS_ERROR);
    /* The first page stays committed; the second is fetched again. */
    assert_int_equal(m->n_cursor_sets, 1);
    assert_string_equal(mock_cursor(m, "tag:srmd"), "112000000000000340");
    assert_int_equal(m->cursor_sets[0].n_mentions, m->n_mentions);

    mock_pass_reset(m);
    mock_http_expect_file(m, "GET", "min_id=112000000000000340", 200,
                          JSON_HDR, "mastodon/tag_page_b.json");
    mock_http_expect_file(m, "GET", "min_id=112000000000000345", 200,
                          JSON_HDR, "mastodon/empty.json");
    ma_pass(m);
    assert_int_equal(m->pass.status, SRM_PASS_OK);
    assert_int_equal(m->n_mentions, 5);
    assert_int_equal(m->n_unexpected, 0);
    mock_host_destroy(m);
}

static void test_rate_limit_and_auth(void **state)
{
    struct mock_host *m = ma_setup("T", "srmd", false);

    (void)state;
    mock_http_expect_file(m, "GET", "/api/v1/notifications", 429,
                          JSON_HDR "Retry-After: 120\r\n"
                                   "X-RateLimit-Remaining: 0\r\n",
                          "mastodon/error_429.json");
    ma_pass(m);
    assert_int_equal(m->pass.status, SRM_PASS_RETRY);
    assert_int_equal(m->pass.retry_after, 120);
    assert_non_null(strstr(m->pass.message, "rate limited"));
    assert_int_equal(m->n_cursor_sets, 0);
    assert_int_equal(m->n_requests, 1); /* nothing more after a 429 */

    /* 503 with a reset time is the same signal. */
    mock_pass_reset(m);
    struct mock_expect *e = mock_http_expect(m, "GET", "notifications", 503,
                                             JSON_HDR, "{}");
    e->retry_after = 30;
    ma_pass(m);
    assert_int_equal(m->pass.status, SRM_PASS_RETRY);
    assert_int_equal(m->pass.retry_after, 30);

    mock_pass_reset(m);
    mock_http_expect_file(m, "GET", "/api/v1/notifications", 401, JSON_HDR,
                          "mastodon/error_401.json");
    ma_pass(m);
    assert_int_equal(m->pass.status, SRM_PASS_AUTH_FAILED);
    assert_non_null(strstr(m->pass.message,
                           "token refused by mastodon.example: The access "
                           "token is invalid"));
    assert_int_equal(m->n_cursor_sets, 0);
    mock_host_destroy(m);
}

static void test_contacts(void **state)
{
    struct mock_host *m = mock_host_create();
    const struct srm_plugin *p = srm_plugin_entry(mock_host_api());

    (void)state;
    mock_cfg_set(m, "base_url", BASE);
    mock_cfg_set(m, "token", "T");
    mock_cfg_set(m, "notifications", "false");
    mock_cfg_set(m, "stream", "false");
    mock_cfg_set(m, "contacts", "both");
    assert_int_equal(mock_plugin_create(m, p), 0);
    mock_http_expect_file(m, "GET", "/api/v1/accounts/verify_credentials",
                          200, JSON_HDR, "mastodon/verify_credentials.json");
    mock_http_expect_file(
        m, "GET", "/api/v1/accounts/100/followers?limit=80", 200,
        JSON_HDR "Link: <" BASE "/api/v1/accounts/100/followers?limit=80&"
                 "max_id=77>; rel=\"next\", <" BASE "/api/v1/accounts/100/"
                 "followers?limit=80&since_id=99>; rel=\"prev\"\r\n",
        "mastodon/followers_1.json");
    mock_http_expect_file(m, "GET", "followers?limit=80&max_id=77", 200,
                          JSON_HDR, "mastodon/followers_2.json");
    mock_http_expect_file(m, "GET", "/api/v1/accounts/100/following?limit=80",
                          200, JSON_HDR, "mastodon/following_1.json");
    ma_pass(m);
    assert_int_equal(m->pass.status, SRM_PASS_OK);
    assert_int_equal(m->n_unexpected, 0);
    assert_int_equal(mock_http_unused(m), 0);
    assert_int_equal(m->n_contacts, 4);
    assert_string_equal(m->contacts[0].remote_id, ALICE);
    assert_int_equal(m->contacts[0].relation, SRM_REL_FOLLOWER);
    assert_string_equal(m->contacts[2].remote_id, "bob@mastodon.example");
    assert_int_equal(m->contacts[2].relation, SRM_REL_FOLLOWER);
    assert_string_equal(m->contacts[3].remote_id, ALICE);
    assert_int_equal(m->contacts[3].relation, SRM_REL_FOLLOWING);
    assert_non_null(mock_identity_find(m, "bob@mastodon.example"));
    /* Committed once, when the whole walk completed. */
    assert_int_equal(m->n_cursor_sets, 1);
    assert_string_equal(m->cursor_sets[0].key, "contacts_at");
    assert_non_null(strstr(m->pass.message, "4 contacts"));

    /* Not due again for a day. */
    mock_pass_reset(m);
    ma_pass(m);
    assert_int_equal(m->pass.status, SRM_PASS_OK);
    assert_int_equal(m->n_requests, 0);

    /* A walk cut short keeps the old contacts_at. */
    mock_cursor_preset(m, "contacts_at", "1000");
    mock_pass_reset(m);
    mock_http_expect_file(m, "GET", "verify_credentials", 200, JSON_HDR,
                          "mastodon/verify_credentials.json");
    mock_http_expect_file(m, "GET", "followers", 200, JSON_HDR,
                          "mastodon/malformed.json");
    ma_pass(m);
    assert_int_equal(m->pass.status, SRM_PASS_ERROR);
    assert_non_null(strstr(m->pass.message, "followers: malformed JSON"));
    assert_string_equal(mock_cursor(m, "contacts_at"), "1000");
    mock_host_destroy(m);
}

/* ---------------------------------------------------------------- reply */

static struct {
    int calls, error;
    char *msg, *id, *url;
} rd;

static void ma_reply_done(struct srm_instance *inst, int error,
                          const char *msg, const char *posted_id,
                          const char *posted_url, void *ud)
{
    (void)inst;
    assert_ptr_equal(ud, &rd);
    rd.calls++;
    rd.error = error;
    free(rd.msg);
    free(rd.id);
    free(rd.url);
    rd.msg = msg != NULL ? strdup(msg) : NULL;
    rd.id = posted_id != NULL ? strdup(posted_id) : NULL;
    rd.url = posted_url != NULL ? strdup(posted_url) : NULL;
}

static void rd_reset(void)
{
    free(rd.msg);
    free(rd.id);
    free(rd.url);
    memset(&rd, 0, sizeof(rd));
}

static int ma_reply(struct mock_host *m, const char *ref, const char *text)
{
    const struct srm_plugin *p = srm_plugin_entry(mock_host_api());
    struct srm_reply_req req = SRM_REPLY_REQ_INIT;

    req.mention_id = S1_URI;
    req.author_id = ALICE;
    req.author_handle = "alice@social.example";
    req.reply_ref = ref;
    req.text = text;
    req.member = "ann";
    return p->reply(mock_plugin_ctx(m), &req, ma_reply_done, &rd);
}

static void test_reply(void **state)
{
    struct mock_host *m = ma_setup("T0KEN", NULL, false);
    json_t *body;

    (void)state;
    rd_reset();
    mock_http_expect_file(m, "POST", BASE "/api/v1/statuses", 200, JSON_HDR,
                          "mastodon/status_posted.json");
    assert_int_equal(ma_reply(m, "112000000000000101", "thanks!"), 0);
    mock_run(m);
    assert_int_equal(rd.calls, 1);
    assert_int_equal(rd.error, 0);
    assert_string_equal(rd.id, "https://mastodon.example/users/team/"
                               "statuses/112000000000000500");
    assert_string_equal(rd.url, "https://mastodon.example/@team/"
                                "112000000000000500");
    const struct mock_request *r = mock_request_find(m, "/api/v1/statuses",
                                                     0);
    assert_non_null(r);
    assert_string_equal(r->method, "POST");
    assert_string_equal(r->bearer_token, "T0KEN");
    assert_string_equal(mock_request_header(r, "Content-Type"),
                        "application/json");
    const char *key = mock_request_header(r, "Idempotency-Key");
    assert_non_null(key);
    assert_true(strlen(key) > 10);
    body = json_loadb(r->body, r->body_len, 0, NULL);
    assert_non_null(body);
    assert_string_equal(json_string_value(json_object_get(body, "status")),
                        "@alice@social.example thanks!");
    assert_string_equal(
        json_string_value(json_object_get(body, "in_reply_to_id")),
        "112000000000000101");
    assert_string_equal(
        json_string_value(json_object_get(body, "visibility")), "public");
    json_decref(body);
    char *key1 = strdup(key);

    /* The same reply again carries the same key (the server then posts it
     * once); errors come back readable. */
    mock_pass_reset(m);
    rd_reset();
    mock_http_expect_file(m, "POST", "/api/v1/statuses", 422, JSON_HDR,
                          "mastodon/error_422.json");
    assert_int_equal(ma_reply(m, "112000000000000101", "thanks!"), 0);
    mock_run(m);
    assert_string_equal(mock_request_header(&m->requests[0],
                                            "Idempotency-Key"),
                        key1);
    free(key1);
    assert_int_equal(rd.calls, 1);
    assert_int_equal(rd.error, SRM_E_HTTP);
    assert_string_equal(rd.msg,
                        "HTTP 422: Validation failed: Text can't be blank");

    mock_pass_reset(m);
    rd_reset();
    mock_http_expect_file(m, "POST", "/api/v1/statuses", 401, JSON_HDR,
                          "mastodon/error_401.json");
    assert_int_equal(ma_reply(m, "1", "@alice@social.example hi"), 0);
    mock_run(m);
    assert_int_equal(rd.error, SRM_E_AUTH);
    assert_string_equal(rd.msg, "The access token is invalid");
    body = json_loadb(m->requests[0].body, m->requests[0].body_len, 0,
                      NULL);
    /* The handle was already in the text: not added twice. */
    assert_string_equal(json_string_value(json_object_get(body, "status")),
                        "@alice@social.example hi");
    json_decref(body);
    mock_host_destroy(m);

    /* A reply keeps an unlisted conversation unlisted. */
    m = ma_setup("T", NULL, false);
    mock_http_expect_file(m, "GET", "notifications", 200, JSON_HDR,
                          "mastodon/notifications.json");
    ma_pass(m);
    mock_pass_reset(m);
    rd_reset();
    mock_http_expect_file(m, "POST", "/api/v1/statuses", 200, JSON_HDR,
                          "mastodon/status_posted.json");
    assert_int_equal(ma_reply(m, "112000000000000102", "ok"), 0);
    mock_run(m);
    body = json_loadb(m->requests[0].body, m->requests[0].body_len, 0,
                      NULL);
    assert_string_equal(
        json_string_value(json_object_get(body, "visibility")), "unlisted");
    json_decref(body);
    mock_host_destroy(m);

    /* No token: refused up front, done not called. */
    m = ma_setup(NULL, "srmd", false);
    rd_reset();
    assert_int_equal(ma_reply(m, "1", "hi"), SRM_E_NOTSUP);
    assert_int_equal(rd.calls, 0);
    assert_int_equal(m->n_requests, 0);
    assert_true(mock_log_contains(m, "replying needs a token"));
    mock_host_destroy(m);
    rd_reset();
}

/* ------------------------------------------------------------- reply_to */

#define OWN_URI                                                               \
    "https://mastodon.example/users/team/statuses/112000000000000500"

/* alice's mention notification of notifications.json, renumbered: status
 * status_id answering in_reply_to (NULL: nothing). */
static json_t *ma_mention(const char *notif_id, const char *status_id,
                          const char *in_reply_to)
{
    json_t *page = json_load_file(SRM_TEST_DATA "/mastodon/notifications.json",
                                  0, NULL);
    json_t *n, *st;
    char uri[128], url[128];

    assert_non_null(page);
    n = json_deep_copy(json_array_get(page, 1));
    json_decref(page);
    assert_non_null(n);
    st = json_object_get(n, "status");
    snprintf(uri, sizeof(uri), "https://social.example/users/alice/"
                               "statuses/%s", status_id);
    snprintf(url, sizeof(url), "https://social.example/@alice/%s", status_id);
    json_object_set_new(n, "id", json_string(notif_id));
    json_object_set_new(st, "id", json_string(status_id));
    json_object_set_new(st, "uri", json_string(uri));
    json_object_set_new(st, "url", json_string(url));
    json_object_set_new(st, "in_reply_to_id", in_reply_to != NULL
                                                  ? json_string(in_reply_to)
                                                  : json_null());
    return n;
}

/* Expect a notifications page of the given notifications (NULL-ended;
 * the page takes them). */
static void ma_expect_mentions(struct mock_host *m, const char *url_substr,
                               ...)
{
    json_t *page = json_array(), *n;
    char *body;
    va_list ap;

    va_start(ap, url_substr);
    while ((n = va_arg(ap, json_t *)) != NULL)
        json_array_append_new(page, n);
    va_end(ap);
    body = json_dumps(page, JSON_COMPACT);
    json_decref(page);
    assert_non_null(body);
    mock_http_expect(m, "GET", url_substr, 200, JSON_HDR, body);
    free(body);
}

static void test_reply_to_names_parent_uri(void **state)
{
    struct mock_host *m = ma_setup("T", NULL, false);
    const struct srm_mention *mt;

    (void)state;
    /* In the page: bob's reply comes first, its parent after it. */
    mock_http_expect_file(m, "GET", "/api/v1/notifications", 200, JSON_HDR,
                          "mastodon/notifications.json");
    ma_pass(m);
    assert_int_equal(m->pass.status, SRM_PASS_OK);
    assert_string_equal(mock_mention_find(m, S2_URI)->reply_to, S1_URI);
    assert_null(mock_mention_find(m, S1_URI)->reply_to);

    /* A later page: a reply to bob's status of the last pass (remembered)
     * names it; a reply to a status this source never saw names nothing
     * rather than a server-local id nobody can match. */
    mock_pass_reset(m);
    ma_expect_mentions(m, "min_id=5003",
                       ma_mention("5005", "112000000000000104",
                                  "112000000000000111"),
                       ma_mention("5004", "112000000000000103",
                                  "112000000000000102"),
                       NULL);
    mock_http_expect_file(m, "GET", "min_id=5005", 200, JSON_HDR,
                          "mastodon/empty.json");
    ma_pass(m);
    assert_int_equal(m->pass.status, SRM_PASS_OK);
    assert_int_equal(m->n_unexpected, 0);
    mt = mock_mention_find(m, "https://social.example/users/alice/statuses/"
                              "112000000000000103");
    assert_non_null(mt);
    assert_string_equal(mt->reply_to, S2_URI);
    mt = mock_mention_find(m, "https://social.example/users/alice/statuses/"
                              "112000000000000104");
    assert_non_null(mt);
    assert_null(mt->reply_to);

    /* Our reply through srmd is remembered: an answer to it names its uri,
     * which is what srmd recorded as the interaction's remote id. */
    mock_pass_reset(m);
    rd_reset();
    mock_http_expect_file(m, "POST", "/api/v1/statuses", 200, JSON_HDR,
                          "mastodon/status_posted.json");
    assert_int_equal(ma_reply(m, "112000000000000101", "thanks!"), 0);
    mock_run(m);
    assert_int_equal(rd.error, 0);
    assert_string_equal(rd.id, OWN_URI);
    rd_reset();
    mock_pass_reset(m);
    ma_expect_mentions(m, "min_id=5005",
                       ma_mention("5006", "112000000000000105",
                                  "112000000000000500"),
                       NULL);
    mock_http_expect_file(m, "GET", "min_id=5006", 200, JSON_HDR,
                          "mastodon/empty.json");
    ma_pass(m);
    assert_int_equal(m->pass.status, SRM_PASS_OK);
    mt = mock_mention_find(m, "https://social.example/users/alice/statuses/"
                              "112000000000000105");
    assert_non_null(mt);
    assert_string_equal(mt->reply_to, OWN_URI);
    mock_host_destroy(m);

    /* Through the stream too; and an edit or a delete of our own reply is
     * not a mention. */
    m = ma_setup("T", NULL, true);
    mock_http_expect_file(m, "POST", "/api/v1/statuses", 200, JSON_HDR,
                          "mastodon/status_posted.json");
    assert_int_equal(ma_reply(m, "112000000000000101", "thanks!"), 0);
    mock_run(m);
    rd_reset();
    mock_pass_reset(m);
    char *posted = mock_load_file("mastodon/status_posted.json", NULL);
    json_t *own = json_loads(posted, 0, NULL), *n;
    free(posted);
    assert_non_null(own);
    json_object_set_new(own, "edited_at",
                        json_string("2024-05-04T10:05:00Z"));
    char *own_js = json_dumps(own, JSON_COMPACT);
    n = ma_mention("5007", "112000000000000106", "112000000000000500");
    char *n_js = json_dumps(n, JSON_COMPACT);
    char *sse = NULL;
    assert_true(asprintf(&sse,
                         "event: status.update\ndata: %s\n\n"
                         "event: delete\ndata: 112000000000000500\n\n"
                         "event: notification\ndata: %s\n\n",
                         own_js, n_js) > 0);
    json_decref(own);
    json_decref(n);
    free(own_js);
    free(n_js);
    mock_http_expect_file(m, "GET", "/api/v1/notifications", 200, JSON_HDR,
                          "mastodon/empty.json");
    mock_http_expect(m, "GET", "/api/v1/streaming/user/notification", 200,
                     "Content-Type: text/event-stream\r\n", sse);
    free(sse);
    ma_pass(m);
    assert_int_equal(m->pass.status, SRM_PASS_OK);
    assert_int_equal(m->n_unexpected, 0);
    assert_int_equal(m->n_mentions, 1);
    assert_string_equal(m->mentions[0].remote_id,
                        "https://social.example/users/alice/statuses/"
                        "112000000000000106");
    assert_string_equal(m->mentions[0].reply_to, OWN_URI);
    mock_host_destroy(m);
}

/* ------------------------------------------------------------------ SSE */

struct ev_log {
    char events[16][32];
    char *data[16];
    size_t n;
};

static void ev_collect(const char *event, const char *data, size_t len,
                       void *ud)
{
    struct ev_log *l = ud;

    assert_true(l->n < 16);
    assert_int_equal(strlen(data), len);
    snprintf(l->events[l->n], sizeof(l->events[0]), "%s", event);
    l->data[l->n++] = strdup(data);
}

static void ev_free(struct ev_log *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->data[i]);
    memset(l, 0, sizeof(*l));
}

static void ev_check_stream_txt(struct ev_log *l)
{
    assert_int_equal(l->n, 4);
    assert_string_equal(l->events[0], "notification");
    assert_non_null(strstr(l->data[0], "\"type\": \"mention\""));
    assert_string_equal(l->events[1], "status.update");
    assert_string_equal(l->events[2], "delete");
    assert_string_equal(l->data[2], "112000000000000601");
    assert_string_equal(l->events[3], "filters_changed");
}

static void test_sse_parser(void **state)
{
    struct masto_sse p;
    struct ev_log l = {0};
    size_t len;
    char *txt = mock_load_file("mastodon/stream.txt", &len);

    (void)state;
    /* Whole, then byte by byte, then in chunks of every size: the same
     * events each time, however lines and CRLFs are split. */
    for (size_t chunk = 0; chunk <= 97; chunk += chunk < 8 ? 1 : 13) {
        masto_sse_init(&p, ev_collect, &l);
        size_t step = chunk == 0 ? len : chunk;
        for (size_t off = 0; off < len; off += step)
            assert_int_equal(masto_sse_feed(&p, txt + off,
                                            len - off < step ? len - off
                                                             : step),
                             0);
        ev_check_stream_txt(&l);
        assert_int_equal(p.heartbeats, 2);
        ev_free(&l);
        masto_sse_fini(&p);
    }
    free(txt);

    masto_sse_init(&p, ev_collect, &l);
    const char *s = "data:one\ndata: two\n\n"  /* joined, default name */
                    "event: x\n\n"             /* no data: not sent */
                    "event:y\rdata\r\r"        /* CR endings, empty data */
                    "event: partial\ndata: unfinished";
    assert_int_equal(masto_sse_feed(&p, s, strlen(s)), 0);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.events[0], "message");
    assert_string_equal(l.data[0], "one\ntwo");
    assert_string_equal(l.events[1], "y");
    assert_string_equal(l.data[1], "");
    /* The rest waits for its blank line. */
    assert_int_equal(masto_sse_feed(&p, "\n\n", 2), 0);
    assert_int_equal(l.n, 3);
    assert_string_equal(l.events[2], "partial");
    assert_string_equal(l.data[2], "unfinished");
    ev_free(&l);

    /* A line that never ends is refused, not buffered without bound. */
    char *big = malloc(MASTO_SSE_MAX + 10);
    assert_non_null(big);
    memset(big, 'a', MASTO_SSE_MAX + 10);
    memcpy(big, "data: ", 6);
    assert_int_equal(masto_sse_feed(&p, big, MASTO_SSE_MAX + 10), -E2BIG);
    free(big);
    masto_sse_fini(&p);
}

static void test_stream(void **state)
{
    struct mock_host *m = ma_setup("T", NULL, true);
    const struct srm_mention *mt;

    (void)state;
    mock_http_expect_file(m, "GET", "/api/v1/notifications", 200, JSON_HDR,
                          "mastodon/notifications.json");
    mock_http_expect_file(m, "GET", "/api/v1/streaming/user/notification",
                          200, "Content-Type: text/event-stream\r\n",
                          "mastodon/stream.txt");
    ma_pass(m);
    assert_int_equal(m->pass.status, SRM_PASS_OK);
    assert_int_equal(m->n_unexpected, 0);
    /* The stream opens after the pass caught up. */
    assert_int_equal(m->n_requests, 2);
    assert_true(m->requests[1].streaming);
    assert_string_equal(m->requests[1].bearer_token, "T");
    assert_true(m->requests[1].timeout_ms >= 60000);
    /* The pass's records were committed by its cursor; the stream's came
     * after pass_done (the mock flags emission outside a pass only for
     * connectors without SRM_CAP_STREAM) and move no cursor. */
    assert_int_equal(m->n_cursor_sets, 1);
    assert_int_equal(m->cursor_sets[0].n_mentions, 2);
    assert_int_equal(m->n_mentions, 5);
    mt = &m->mentions[2];
    assert_string_equal(mt->remote_id, ST_URI);
    assert_non_null(strstr(mt->text, "streamed hello"));
    assert_string_equal(mt->matched, "notifications");
    assert_string_equal(mt->author_id,
                        "https://fosstodon.example/users/carol");
    assert_int_equal(mt->edited_at, 0);
    assert_non_null(mock_identity_find(
        m, "https://fosstodon.example/users/carol"));
    /* The edit is re-emitted: the host upserts it. */
    mt = &m->mentions[3];
    assert_string_equal(mt->remote_id, ST_URI);
    assert_non_null(strstr(mt->text, "(edited)"));
    assert_int_equal(mt->edited_at, 1714816860);
    assert_string_equal(mt->matched, "notifications");
    /* The delete names the uri remembered for the id. */
    mt = &m->mentions[4];
    assert_string_equal(mt->remote_id, ST_URI);
    assert_int_equal(mt->flags, SRM_MENTION_DELETED);
    assert_true(mock_log_contains(m, "stream ended (HTTP 200)"));

    /* The stream ended: the next pass re-opens it, after the REST sync. */
    mock_pass_reset(m);
    mock_http_expect_file(m, "GET", "min_id=5003", 200, JSON_HDR,
                          "mastodon/empty.json");
    mock_http_expect_error(m, "GET", "/api/v1/streaming/", SRM_E_TRANSPORT,
                           "Connection reset by peer");
    ma_pass(m);
    assert_int_equal(m->pass.status, SRM_PASS_OK);
    assert_int_equal(m->n_requests, 2);
    assert_true(m->requests[1].streaming);
    assert_true(mock_log_contains(m, "Connection reset by peer"));
    assert_int_equal(mock_http_unused(m), 0);

    /* A source removed mid-pass: its request is cancelled, no pass_done
     * follows, and destroy frees everything (ASan checks). */
    mock_pass_reset(m);
    assert_int_equal(mock_sync(m), 0);
    assert_int_equal(m->n_requests, 1);
    mock_host_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_ids_dates_links),
        cmocka_unit_test(test_first_sync),
        cmocka_unit_test(test_incremental_no_gap),
        cmocka_unit_test(test_bad_answers),
        cmocka_unit_test(test_error_after_a_good_page),
        cmocka_unit_test(test_rate_limit_and_auth),
        cmocka_unit_test(test_contacts),
        cmocka_unit_test(test_reply),
        cmocka_unit_test(test_reply_to_names_parent_uri),
        cmocka_unit_test(test_sse_parser),
        cmocka_unit_test(test_stream),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
