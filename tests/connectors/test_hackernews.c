/* test_hackernews.c - the Hacker News connector against canned Algolia
 * pages (tests/data/hackernews/), through the mock host. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "mock_host.h"

#define JSON_HDR "Content-Type: application/json; charset=utf-8\r\n"

/* backfill reaches back to the fixtures' 2023 dates. */
static struct mock_host *hn_setup(const char *query)
{
    struct mock_host *m = mock_host_create();
    const struct srm_plugin *p = srm_plugin_entry(mock_host_api());

    assert_non_null(p);
    assert_string_equal(p->name, "hackernews");
    assert_true(p->capabilities & SRM_CAP_MENTIONS);
    if (query != NULL)
        mock_cfg_set_list(m, "query", query, NULL);
    mock_cfg_set(m, "base_url", "http://127.0.0.1:9/");
    mock_cfg_set(m, "backfill", "3650d");
    assert_int_equal(mock_plugin_create(m, p), 0);
    return m;
}

/* The number after "numericFilters=created_at_i%3E%3D" in the URL. */
static int64_t hn_mark_of(const struct mock_request *r)
{
    const char *tag = "numericFilters=created_at_i%3E%3D";
    const char *p = strstr(r->url, tag);

    assert_non_null(p);
    return strtoll(p + strlen(tag), NULL, 10);
}

static void test_config_needs_query(void **state)
{
    struct mock_host *m = mock_host_create();
    const struct srm_plugin *p = srm_plugin_entry(mock_host_api());

    assert_int_equal(mock_plugin_create(m, p), SRM_E_CONFIG);
    assert_int_equal(m->n_cfg_errors, 1);
    assert_string_equal(m->cfg_errors[0],
                        "query: set query or listen.keywords");
    mock_host_destroy(m);

    /* listen.keywords is the default query; the default backfill is 7d
     * and the default base is Algolia's. */
    m = mock_host_create();
    mock_listen_keywords(m, "acme", NULL);
    assert_int_equal(mock_plugin_create(m, p), 0);
    mock_http_expect_file(m, "GET", "query=acme&", 200, JSON_HDR,
                          "hackernews/empty.json");
    int64_t before = (int64_t)time(NULL) - 7 * 86400;
    assert_int_equal(mock_sync(m), 0);
    assert_int_equal(mock_run(m), 1);
    assert_int_equal(m->pass.status, SRM_PASS_OK);
    assert_int_equal(m->n_unexpected, 0);
    assert_non_null(strstr(m->requests[0].url,
                           "https://hn.algolia.com/api/v1/search_by_date?"));
    int64_t mark = hn_mark_of(&m->requests[0]);
    assert_true(mark >= before && mark <= (int64_t)time(NULL) - 7 * 86400);
    /* No hits: the cursor keeps the window's start. */
    assert_int_equal(strtoll(mock_cursor(m, "q:acme"), NULL, 10), mark);
    mock_host_destroy(m);

    m = mock_host_create();
    mock_cfg_set_list(m, "query", "x", NULL);
    mock_cfg_set(m, "hits_per_page", "5000");
    assert_int_equal(mock_plugin_create(m, p), SRM_E_CONFIG);
    mock_host_destroy(m);
}

static void test_backfill_and_pages(void **state)
{
    struct mock_host *m = hn_setup("srmd");
    int64_t before = (int64_t)time(NULL) - 3650 * 86400;

    mock_http_expect_file(m, "GET", "&page=0", 200, JSON_HDR,
                          "hackernews/page0.json");
    mock_http_expect_file(m, "GET", "&page=1", 200, JSON_HDR,
                          "hackernews/page1.json");
    assert_int_equal(mock_sync(m), 0);
    /* Pages are sequential: only page 0 is in flight before delivery. */
    assert_int_equal(m->n_requests, 1);
    assert_int_equal(mock_run(m), 2);

    assert_int_equal(m->n_unexpected, 0);
    assert_int_equal(m->n_violations, 0);
    assert_int_equal(m->pass.count, 1);
    assert_int_equal(m->pass.status, SRM_PASS_OK);

    /* First run: the window starts at now - backfill. */
    const struct mock_request *r0 = &m->requests[0];
    int64_t mark = hn_mark_of(r0);
    assert_true(mark >= before &&
                mark <= (int64_t)time(NULL) - 3650 * 86400);
    assert_non_null(strstr(r0->url, "http://127.0.0.1:9/api/v1/"
                                    "search_by_date?query=srmd&"));
    assert_non_null(strstr(r0->url, "&tags=%28story%2Ccomment%29"));
    assert_non_null(strstr(r0->url, "&hitsPerPage=100&page=0"));
    assert_int_equal(hn_mark_of(&m->requests[1]), mark);

    assert_int_equal(m->n_mentions, 3);
    const struct srm_mention *c = mock_mention_find(m, "38200002");
    assert_non_null(c);
    assert_string_equal(c->network, "hackernews");
    assert_string_equal(c->author_id, "alice");
    assert_string_equal(c->text,
                        "I switched to srmd (https://srmd.example/docs) last "
                        "week & it's great.\nSecond paragraph.");
    assert_string_equal(c->url,
                        "https://news.ycombinator.com/item?id=38200002");
    assert_int_equal(c->created_at, 1700000100);
    assert_string_equal(c->reply_to, "38200001");
    assert_string_equal(c->matched, "srmd");
    assert_string_equal(c->context_title, "Show HN: a relationship daemon");
    assert_string_equal(c->context_url, "https://srmd.example/");

    const struct srm_mention *s = mock_mention_find(m, "38200000");
    assert_non_null(s);
    assert_string_equal(s->text, "Show HN: a relationship daemon");
    assert_null(s->reply_to);
    assert_string_equal(s->context_url, "https://srmd.example/");

    const struct srm_mention *ask = mock_mention_find(m, "38199000");
    assert_non_null(ask);
    assert_string_equal(ask->text, "Mostly spreadsheets.\nAnd srmd.");
    assert_string_equal(ask->context_title,
                        "Ask HN: what do you use to keep in touch?");
    assert_null(ask->context_url);

    const struct srm_identity *a = mock_identity_find(m, "alice");
    assert_non_null(a);
    assert_string_equal(a->network, "hackernews");
    assert_string_equal(a->handle, "alice");
    assert_string_equal(a->profile_url,
                        "https://news.ycombinator.com/user?id=alice");
    assert_non_null(mock_identity_find(m, "carol"));

    /* One cursor, set after the query's last page, at the newest item. */
    assert_int_equal(m->n_cursor_sets, 1);
    assert_string_equal(m->cursor_sets[0].key, "q:srmd");
    assert_string_equal(m->cursor_sets[0].value, "1700000100");
    assert_int_equal(m->cursor_sets[0].n_mentions, 3);

    /* The next pass resumes at the mark, inclusive. */
    mock_pass_reset(m);
    mock_http_expect_file(m, "GET", "created_at_i%3E%3D1700000100&", 200,
                          JSON_HDR, "hackernews/empty.json");
    assert_int_equal(mock_sync(m), 0);
    assert_int_equal(mock_run(m), 1);
    assert_int_equal(m->n_unexpected, 0);
    assert_int_equal(m->pass.status, SRM_PASS_OK);
    assert_int_equal(m->n_mentions, 0);
    assert_string_equal(mock_cursor(m, "q:srmd"), "1700000100");
    mock_host_destroy(m);
}

static void test_queries_one_at_a_time(void **state)
{
    struct mock_host *m = mock_host_create();
    const struct srm_plugin *p = srm_plugin_entry(mock_host_api());

    mock_cfg_set_list(m, "query", "c++ daemon", "srmd", NULL);
    mock_cfg_set(m, "tags", "comment");
    mock_cursor_preset(m, "q:srmd", "1699990000");
    mock_cursor_preset(m, "q:c++ daemon", "1600000000");
    assert_int_equal(mock_plugin_create(m, p), 0);
    mock_http_expect_file(m, "GET", "query=c%2B%2B%20daemon&tags=comment&",
                          200, JSON_HDR, "hackernews/empty.json");
    mock_http_expect_file(m, "GET", "query=srmd&", 200, JSON_HDR,
                          "hackernews/single.json");
    assert_int_equal(mock_sync(m), 0);
    assert_int_equal(m->n_requests, 1);
    assert_int_equal(mock_run(m), 2);
    assert_int_equal(m->n_unexpected, 0);
    assert_int_equal(hn_mark_of(&m->requests[0]), 1600000000);
    assert_int_equal(hn_mark_of(&m->requests[1]), 1699990000);
    assert_int_equal(m->pass.status, SRM_PASS_OK);
    assert_int_equal(m->n_cursor_sets, 2);
    assert_string_equal(m->cursor_sets[0].key, "q:c++ daemon");
    assert_string_equal(m->cursor_sets[0].value, "1600000000");
    assert_int_equal(m->cursor_sets[0].n_mentions, 0);
    assert_string_equal(m->cursor_sets[1].value, "1699995600");
    assert_int_equal(m->cursor_sets[1].n_mentions, 1);
    mock_host_destroy(m);
}

static void test_rate_limited(void **state)
{
    struct mock_host *m = hn_setup("srmd");

    mock_cursor_preset(m, "q:srmd", "1700000000");
    mock_http_expect(m, "GET", "search_by_date", 429,
                     "Retry-After: 120\r\n", "{\"message\":\"slow down\"}");
    assert_int_equal(mock_sync(m), 0);
    mock_run(m);
    assert_int_equal(m->pass.count, 1);
    assert_int_equal(m->pass.status, SRM_PASS_RETRY);
    assert_int_equal(m->pass.retry_after, 120);
    assert_int_equal(m->n_cursor_sets, 0);
    assert_string_equal(mock_cursor(m, "q:srmd"), "1700000000");
    mock_host_destroy(m);
}

static void hn_expect_error(const char *file, long status,
                            const char *reason)
{
    struct mock_host *m = hn_setup("srmd");

    mock_cursor_preset(m, "q:srmd", "1699000000");
    mock_http_expect_file(m, "GET", "&page=0", status, JSON_HDR, file);
    assert_int_equal(mock_sync(m), 0);
    mock_run(m);
    assert_int_equal(m->pass.count, 1);
    assert_int_equal(m->pass.status, SRM_PASS_ERROR);
    assert_non_null(m->pass.message);
    assert_non_null(strstr(m->pass.message, reason));
    assert_true(mock_log_contains(m, reason));
    assert_int_equal(m->n_cursor_sets, 0);
    assert_string_equal(mock_cursor(m, "q:srmd"), "1699000000");
    assert_int_equal(m->n_violations, 0);
    mock_host_destroy(m);
}

static void test_malformed_json(void **state)
{
    hn_expect_error("hackernews/malformed.json", 200, "malformed JSON");
}

static void test_wrong_type_emits_nothing(void **state)
{
    struct mock_host *m = hn_setup("srmd");

    mock_http_expect_file(m, "GET", "&page=0", 200, JSON_HDR,
                          "hackernews/wrongtype.json");
    assert_int_equal(mock_sync(m), 0);
    mock_run(m);
    assert_int_equal(m->pass.status, SRM_PASS_ERROR);
    assert_non_null(strstr(m->pass.message, "hit 1: field created_at_i"));
    /* The valid first hit is not emitted either: the page is refused. */
    assert_int_equal(m->n_mentions, 0);
    assert_int_equal(m->n_cursor_sets, 0);
    mock_host_destroy(m);
}

static void test_server_error(void **state)
{
    hn_expect_error("hackernews/empty.json", 503, "HTTP 503");
}

/* An error on page 2 leaves the cursor where it was, although page 1 was
 * fine: its records are discarded with the failed pass. */
static void test_error_on_second_page(void **state)
{
    struct mock_host *m = hn_setup("srmd");

    mock_http_expect_file(m, "GET", "&page=0", 200, JSON_HDR,
                          "hackernews/page0.json");
    mock_http_expect_error(m, "GET", "&page=1", SRM_E_TIMEOUT,
                           "timed out after 30 s");
    assert_int_equal(mock_sync(m), 0);
    assert_int_equal(mock_run(m), 2);
    assert_int_equal(m->pass.status, SRM_PASS_ERROR);
    assert_non_null(strstr(m->pass.message, "timed out"));
    assert_int_equal(m->n_cursor_sets, 0);
    assert_null(mock_cursor(m, "q:srmd"));
    mock_host_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_needs_query),
        cmocka_unit_test(test_backfill_and_pages),
        cmocka_unit_test(test_queries_one_at_a_time),
        cmocka_unit_test(test_rate_limited),
        cmocka_unit_test(test_malformed_json),
        cmocka_unit_test(test_wrong_type_emits_nothing),
        cmocka_unit_test(test_server_error),
        cmocka_unit_test(test_error_on_second_page),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
