/* test_github.c - the GitHub connector against canned REST responses
 * (tests/data/github/), through the mock host. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "github_api.h"
#include "mock_host.h"

#define JSON_HDR "Content-Type: application/json; charset=utf-8\r\n"
#define BASE "http://127.0.0.1:9/api"
#define SEARCH "/search/issues?"
#define NOTIF "/notifications?"

static const struct srm_plugin *gt_plugin(void)
{
    const struct srm_plugin *p = srm_plugin_entry(mock_host_api());

    assert_non_null(p);
    assert_string_equal(p->name, "github");
    assert_int_equal(p->capabilities, SRM_CAP_MENTIONS);
    return p;
}

static struct mock_host *gt_setup(const char *query, const char *token)
{
    struct mock_host *m = mock_host_create();

    if (query != NULL)
        mock_cfg_set_list(m, "query", query, NULL);
    mock_cfg_set(m, "base_url", BASE "/");
    if (token != NULL)
        mock_cfg_set(m, "token", token);
    assert_int_equal(mock_plugin_create(m, gt_plugin()), 0);
    return m;
}

static size_t gt_count(const struct mock_host *m, const char *substr)
{
    size_t n = 0;

    while (mock_request_find(m, substr, n) != NULL)
        n++;
    return n;
}

static void test_helpers(void **state)
{
    (void)state;
    assert_int_equal(gh_api_time_parse("2024-03-02T09:00:00Z"), 1709370000);
    assert_int_equal(gh_api_time_parse("2024-03-02T10:00:00+01:00"),
                     1709370000);
    assert_int_equal(gh_api_time_parse("2024-03-02T09:00:00.250Z"),
                     1709370000);
    assert_int_equal(gh_api_time_parse("2024-03-02"), -1);
    assert_int_equal(gh_api_time_parse("2024-03-02T09:00:00"), -1);

    char *n = gh_api_link_next(
        "<https://api.github.com/search/issues?q=x&page=2>; rel=\"next\", "
        "<https://api.github.com/search/issues?q=x&page=34>; rel=\"last\"");
    assert_string_equal(n, "https://api.github.com/search/issues?q=x&page=2");
    free(n);
    /* next after others, and no next at all. */
    n = gh_api_link_next("<https://a/?page=1>; rel=\"prev\", "
                         "<https://a/?page=3>; rel=\"next\"");
    assert_string_equal(n, "https://a/?page=3");
    free(n);
    assert_null(gh_api_link_next("<https://a/?page=1>; rel=\"first\", "
                                 "<https://a/?page=1>; rel=\"prev\""));
    assert_null(gh_api_link_next(NULL));
    assert_null(gh_api_link_next("garbage"));

    char *u = gh_api_search_url("https://api.github.com/", "srmd in:title",
                                "2024-03-01T00:00:00Z");
    assert_string_equal(u, "https://api.github.com/search/issues?q=srmd%20"
                           "in%3Atitle%20updated%3A%3E%3D2024-03-01T00%3A00"
                           "%3A00Z&sort=updated&order=asc&per_page=100&"
                           "page=1");
    free(u);
}

static void test_config(void **state)
{
    const struct srm_plugin *p = gt_plugin();
    struct mock_host *m = mock_host_create();

    (void)state;
    assert_int_equal(mock_plugin_create(m, p), SRM_E_CONFIG);
    assert_non_null(strstr(m->cfg_errors[0], "nothing to sync"));
    mock_host_destroy(m);

    /* Defaults: listen.keywords, api.github.com, 7 days back, no token
     * so no notifications. */
    m = mock_host_create();
    mock_listen_keywords(m, "acme", NULL);
    assert_int_equal(mock_plugin_create(m, p), 0);
    mock_http_expect_file(m, "GET", SEARCH, 200, JSON_HDR,
                          "github/search_empty.json");
    char lo[40], hi[40];
    gh_api_time_format((int64_t)time(NULL) - 7 * 86400, lo, sizeof(lo));
    assert_int_equal(mock_sync(m), 0);
    assert_int_equal(mock_run(m), 1);
    gh_api_time_format((int64_t)time(NULL) - 7 * 86400, hi, sizeof(hi));
    assert_int_equal(m->pass.status, SRM_PASS_OK);
    assert_int_equal(m->n_unexpected, 0);
    const struct mock_request *r = &m->requests[0];
    assert_non_null(strstr(r->url, "https://api.github.com/search/issues?"
                                   "q=acme%20updated%3A%3E%3D"));
    assert_null(r->bearer_token);
    assert_string_equal(mock_request_header(r, "Accept"),
                        "application/vnd.github+json");
    assert_string_equal(mock_request_header(r, "X-GitHub-Api-Version"),
                        "2022-11-28");
    assert_non_null(mock_request_header(r, "User-Agent"));
    /* The window starts at now - 7d. */
    const char *q = strstr(r->url, "%3E%3D") + 6;
    char since[40];
    snprintf(since, sizeof(since), "%.*s", (int)strcspn(q, "&"), q);
    char lo_enc[60], hi_enc[60];
    snprintf(lo_enc, sizeof(lo_enc), "%.13s%%3A%.2s%%3A%.3s", lo, lo + 14,
             lo + 17);
    snprintf(hi_enc, sizeof(hi_enc), "%.13s%%3A%.2s%%3A%.3s", hi, hi + 14,
             hi + 17);
    assert_true(strcmp(since, lo_enc) >= 0 && strcmp(since, hi_enc) <= 0);
    /* Nothing found: no cursor yet; the next pass uses the window again. */
    assert_null(mock_cursor(m, "q:acme"));
    mock_host_destroy(m);
}

static void test_search_pages(void **state)
{
    struct mock_host *m = gt_setup("srmd", "ghp_secret");

    (void)state;
    mock_cursor_preset(m, "q:srmd", "2024-03-01T00:00:00Z");
    mock_http_expect_file(
        m, "GET", "&page=1", 200,
        JSON_HDR "Link: <" BASE "/search/issues?q=srmd&page=2>; "
                 "rel=\"next\", <" BASE "/search/issues?q=srmd&page=2>; "
                 "rel=\"last\"\r\n",
        "github/search_page1.json");
    mock_http_expect_file(m, "GET", "q=srmd&page=2", 200,
                          JSON_HDR "Link: <" BASE "/search/issues?q=srmd&"
                                   "page=1>; rel=\"prev\"\r\n",
                          "github/search_page2.json");
    mock_http_expect(m, "GET", NOTIF, 200, JSON_HDR, "[]");
    assert_int_equal(mock_sync(m), 0);
    assert_int_equal(m->n_requests, 1);
    assert_int_equal(mock_run(m), 3);
    assert_int_equal(m->n_unexpected, 0);
    assert_int_equal(m->n_violations, 0);
    assert_int_equal(m->pass.status, SRM_PASS_OK);

    const struct mock_request *r0 = &m->requests[0];
    assert_string_equal(r0->url,
                        BASE "/search/issues?q=srmd%20updated%3A%3E%3D"
                             "2024-03-01T00%3A00%3A00Z&sort=updated&"
                             "order=asc&per_page=100&page=1");
    assert_string_equal(r0->bearer_token, "ghp_secret");
    /* The Link target is followed as given. */
    assert_string_equal(m->requests[1].url,
                        BASE "/search/issues?q=srmd&page=2");

    assert_int_equal(m->n_mentions, 3);
    const struct srm_mention *a = mock_mention_find(m, "I_kwDOAbc12");
    assert_non_null(a);
    assert_string_equal(a->network, "github");
    assert_string_equal(a->author_id, "501");
    assert_string_equal(a->text, "srmd crashes on start\n\nSteps:\n\n```\n"
                                 "srmd -c x.yaml\n```\nThanks — **Zoë**");
    assert_string_equal(a->url, "https://github.com/acme/widgets/issues/12");
    assert_int_equal(a->created_at, 1709287200);
    assert_int_equal(a->edited_at, 1709370000);
    assert_string_equal(a->context_title, "acme/widgets");
    assert_string_equal(a->context_url, "https://github.com/acme/widgets");
    assert_string_equal(a->matched, "srmd");
    const struct srm_mention *c = mock_mention_find(m, "I_kwDOXyz7");
    assert_non_null(c);
    assert_string_equal(c->text, "Question about srmd"); /* body null */
    assert_non_null(mock_mention_find(m, "PR_kwDOAbc13"));

    const struct srm_identity *z = mock_identity_find(m, "501");
    assert_non_null(z);
    assert_string_equal(z->network, "github");
    assert_string_equal(z->handle, "zoe");
    assert_string_equal(z->profile_url, "https://github.com/zoe");
    assert_string_equal(z->avatar_url,
                        "https://avatars.githubusercontent.com/u/501?v=4");

    /* The cursor moves once, after the last page, to the newest
     * updated_at. */
    assert_int_equal(m->n_cursor_sets, 1);
    assert_string_equal(m->cursor_sets[0].key, "q:srmd");
    assert_string_equal(m->cursor_sets[0].value, "2024-03-05T08:30:00Z");
    assert_int_equal(m->cursor_sets[0].n_mentions, 3);
    mock_host_destroy(m);
}

static void test_notifications(void **state)
{
    struct mock_host *m = gt_setup(NULL, "ghp_secret");

    (void)state;
    mock_cursor_preset(m, "notif", "2024-03-31T00:00:00Z");
    mock_http_expect_file(m, "GET", NOTIF, 200,
                          JSON_HDR "Last-Modified: Tue, 02 Apr 2024 10:00:00 "
                                   "GMT\r\nX-Poll-Interval: 60\r\n",
                          "github/notifications.json");
    assert_int_equal(mock_sync(m), 0);
    assert_int_equal(mock_run(m), 1);
    assert_int_equal(m->n_unexpected, 0);
    assert_int_equal(m->pass.status, SRM_PASS_OK);
    const struct mock_request *r = &m->requests[0];
    assert_string_equal(r->url, BASE "/notifications?all=false&per_page=50&"
                                     "since=2024-03-31T00%3A00%3A00Z");
    assert_true(r->flags & SRM_HTTP_CONDITIONAL);
    assert_string_equal(r->bearer_token, "ghp_secret");
    /* mention and review_requested; not subscribed. */
    assert_int_equal(m->n_mentions, 2);
    const struct srm_mention *t = mock_mention_find(m, "thread:9001");
    assert_non_null(t);
    assert_string_equal(t->text, "How do I configure srmd?");
    assert_string_equal(t->url, "https://github.com/acme/widgets/issues/20");
    assert_string_equal(t->matched, "notification:mention");
    assert_string_equal(t->context_title, "acme/widgets");
    const struct srm_mention *pr = mock_mention_find(m, "thread:9003");
    assert_string_equal(pr->url, "https://github.com/acme/widgets/pull/22");
    assert_null(mock_mention_find(m, "thread:9002"));
    /* The newest thread counts for the cursor, kept or not. */
    assert_string_equal(mock_cursor(m, "notif"), "2024-04-02T10:00:00Z");

    /* Nothing changed: 304, nothing emitted, the cursor stays. */
    mock_pass_reset(m);
    mock_http_expect(m, "GET", "since=2024-04-02T10%3A00%3A00Z", 304,
                     "Last-Modified: Tue, 02 Apr 2024 10:00:00 GMT\r\n", NULL);
    assert_int_equal(mock_sync(m), 0);
    assert_int_equal(mock_run(m), 1);
    assert_int_equal(m->n_unexpected, 0);
    assert_int_equal(m->pass.status, SRM_PASS_OK);
    assert_true(m->requests[0].flags & SRM_HTTP_CONDITIONAL);
    assert_int_equal(m->n_mentions, 0);
    assert_int_equal(m->n_cursor_sets, 0);
    assert_string_equal(mock_cursor(m, "notif"), "2024-04-02T10:00:00Z");
    mock_host_destroy(m);

    /* Without a token there are no notifications to ask for. */
    m = gt_setup("srmd", NULL);
    mock_http_expect_file(m, "GET", SEARCH, 200, JSON_HDR,
                          "github/search_empty.json");
    assert_int_equal(mock_sync(m), 0);
    assert_int_equal(mock_run(m), 1);
    assert_int_equal(gt_count(m, NOTIF), 0);
    assert_int_equal(m->pass.status, SRM_PASS_OK);
    mock_host_destroy(m);
}

struct gt_status_case {
    long status;
    const char *headers;
    const char *file;
    enum srm_pass_status want;
    uint32_t retry;
    const char *reason;
    int64_t host_retry; /* resp->retry_after the host computed, or 0 */
};

static void test_statuses(void **state)
{
    static const struct gt_status_case cases[] = {
        /* Secondary limit with Retry-After, and without (>= 1 minute). */
        {403, JSON_HDR "Retry-After: 90\r\n", "github/secondary.json",
         SRM_PASS_RETRY, 90, "secondary rate limit", 0},
        {403, JSON_HDR, "github/secondary.json", SRM_PASS_RETRY, 60,
         "secondary rate limit", 0},
        {429, JSON_HDR "Retry-After: 30\r\n", "github/secondary.json",
         SRM_PASS_RETRY, 30, "HTTP 429", 0},
        /* Primary: remaining 0, wait until the reset (here via the
         * expectation's retry_after, as the host computes it). */
        {403,
         JSON_HDR "x-ratelimit-remaining: 0\r\nx-ratelimit-reset: "
                  "1900000000\r\n",
         "github/primary.json", SRM_PASS_RETRY, 1800,
         "API rate limit exceeded", 1800},
        {401, JSON_HDR, "github/bad_credentials.json", SRM_PASS_AUTH_FAILED,
         0, "Bad credentials", 0},
        {403, JSON_HDR, "github/bad_credentials.json", SRM_PASS_AUTH_FAILED,
         0, "Bad credentials", 0},
        {422, JSON_HDR, "github/validation.json", SRM_PASS_BAD_CONFIG, 0,
         "Validation Failed: The listed users", 0},
        {200, JSON_HDR, "github/malformed.json", SRM_PASS_ERROR, 0,
         "malformed JSON", 0},
        {200, "Content-Type: text/html\r\n", NULL, SRM_PASS_ERROR, 0,
         "malformed JSON", 0},
        {200, JSON_HDR, "github/wrongtype.json", SRM_PASS_ERROR, 0,
         "item 1: field user.id", 0},
        {502, JSON_HDR, NULL, SRM_PASS_ERROR, 0, "HTTP 502", 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct gt_status_case *c = &cases[i];
        struct mock_host *m = gt_setup("srmd", "ghp_secret");
        struct mock_expect *e;

        mock_cursor_preset(m, "q:srmd", "2024-03-01T00:00:00Z");
        if (c->file != NULL)
            e = mock_http_expect_file(m, "GET", SEARCH, c->status,
                                      c->headers, c->file);
        else
            e = mock_http_expect(m, "GET", SEARCH, c->status, c->headers,
                                 "<html><body>Unicorn!</body></html>");
        assert_int_equal(mock_sync(m), 0);
        if (c->host_retry > 0)
            e->retry_after = c->host_retry;
        assert_int_equal(mock_run(m), 1);
        assert_int_equal(m->pass.count, 1);
        if (m->pass.status != c->want ||
            strstr(m->pass.message, c->reason) == NULL)
            fail_msg("case %zu: status %d '%s'", i, m->pass.status,
                     m->pass.message);
        assert_int_equal(m->pass.retry_after, c->retry);
        assert_int_equal(m->n_cursor_sets, 0);
        assert_int_equal(m->n_mentions, 0);
        assert_string_equal(mock_cursor(m, "q:srmd"), "2024-03-01T00:00:00Z");
        mock_host_destroy(m);
    }

    /* A failure on page 2 keeps the cursor where it was. */
    struct mock_host *m = gt_setup("srmd", NULL);
    mock_cursor_preset(m, "q:srmd", "2024-03-01T00:00:00Z");
    mock_http_expect_file(m, "GET", "&page=1", 200,
                          JSON_HDR "Link: <" BASE "/search/issues?q=srmd&"
                                   "page=2>; rel=\"next\"\r\n",
                          "github/search_page1.json");
    mock_http_expect_file(m, "GET", "&page=2", 200, JSON_HDR,
                          "github/malformed.json");
    assert_int_equal(mock_sync(m), 0);
    assert_int_equal(mock_run(m), 2);
    assert_int_equal(m->pass.status, SRM_PASS_ERROR);
    assert_int_equal(m->n_cursor_sets, 0);
    assert_string_equal(mock_cursor(m, "q:srmd"), "2024-03-01T00:00:00Z");
    mock_host_destroy(m);

    /* A Link to another host is not followed with our token. */
    m = gt_setup("srmd", "ghp_secret");
    mock_http_expect_file(m, "GET", "&page=1", 200,
                          JSON_HDR "Link: <https://evil.example/steal?page=2>;"
                                   " rel=\"next\"\r\n",
                          "github/search_page1.json");
    assert_int_equal(mock_sync(m), 0);
    assert_int_equal(mock_run(m), 1);
    assert_int_equal(m->pass.status, SRM_PASS_ERROR);
    assert_int_equal(m->n_requests, 1);
    mock_host_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_helpers),
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_search_pages),
        cmocka_unit_test(test_notifications),
        cmocka_unit_test(test_statuses),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
