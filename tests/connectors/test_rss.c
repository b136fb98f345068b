/* test_rss.c - the RSS/Atom connector, its date parser and the mock's
 * html_to_text, against the feed corpus in tests/data/rss/. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "html_text.h"
#include "mock_host.h"
#include "rss_date.h"
#include "rss_parse.h"

#define XML_HDR "Content-Type: application/rss+xml\r\n"
#define F(name) "http://f.example/" name

/* ------------------------------------------------------------ dates */

static void test_dates(void **state)
{
    static const struct {
        const char *in;
        int64_t want;
    } ok[] = {
        {"Sun, 19 May 2002 15:21:36 GMT", 1021821696},
        {"Sun, 19 May 2002 15:21:36 +0000", 1021821696},
        {"19 May 2002 15:21:36 GMT", 1021821696},        /* no weekday */
        {"Sun,19 May 2002 15:21:36 UT", 1021821696},
        {"Sun, 19 May 02 15:21:36 Z", 1021821696},       /* 2-digit year */
        {"Sun, 19 May 2002 11:21:36 EDT", 1021821696},
        {"Sun, 19 May 2002 08:21:36 PDT", 1021821696},
        {"Sun, 19 May 2002 10:21:36 EST", 1021821696},
        {"Sun, 19 May 2002 17:21:36 +02:00", 1021821696},
        {"Sun, 19 May 2002 15:21 GMT", 1021821660},      /* no seconds */
        {"Mon, 6 Nov 23 09:05 PDT", 1699286700},         /* 1-digit day */
        {"6 November 2023 16:05:00", 1699286700},         /* no zone */
        {"  Tue, 14 Nov 2023 22:13:20 GMT  ", 1700000000},
        {"2002-05-19T15:21:36Z", 1021821696},
        {"2002-05-19T15:21:36.123456Z", 1021821696},
        {"2002-05-19t15:21:36z", 1021821696},
        {"2002-05-19T17:21:36+02:00", 1021821696},
        {"2002-05-19T10:21:36-0500", 1021821696},
        {"2002-05-19 15:21:36Z", 1021821696},
        {"2002-05-19T15:21Z", 1021821660},
        {"2002-05-19", 1021766400},                      /* date only */
        {"2023-11-14T18:30:02.25+02:00", 1699979402},
    };
    static const char *const bad[] = {
        "", "yesterday", "32 May 2002 10:00 GMT", "19 Foo 2002 10:00 GMT",
        "2002-13-01T00:00:00Z", "2002-05-19T25:00:00Z", "2002-05-19Tjunk",
        "Sun, 19 May 2002 15:21:36 +99", "19 May 202 10:00 GMT",
    };
    int64_t t;

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        t = -1;
        if (rss_date_parse(ok[i].in, &t) != 0 || t != ok[i].want)
            fail_msg("'%s' gave %lld, want %lld", ok[i].in, (long long)t,
                     (long long)ok[i].want);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (rss_date_parse(bad[i], &t) == 0)
            fail_msg("'%s' parsed as %lld", bad[i], (long long)t);
}

/* ------------------------------------------------------- html_to_text */

static void test_html_text(void **state)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"<p>one</p><p>two</p>", "one\ntwo"},
        {"a<br>b<br/><br>c", "a\nb\n\nc"},
        {"  lots   of\n\t space  ", "lots of space"},
        {"<a href=\"https://x.example/\">x</a>", "x (https://x.example/)"},
        {"<a href=\"https://x.example/\">https://x.example/</a>",
         "https://x.example/"},
        {"<a href=\"https://x.example/\">x.example/</a>", "x.example/"},
        {"caf&eacute; &amp; &#8217;&#x27;", "caf\xc3\xa9 & \xe2\x80\x99'"},
        {"<script>bad()</script><style>p{}</style>ok", "ok"},
        {"<ul><li>a</li><li>b</li></ul><h2>T</h2>x", "a\nb\nT\nx"},
        {"<pre>a\n  b</pre>", "a\n  b"},
        {"<table><tr><td>1</td><td>2</td></tr><tr><td>3</td></tr></table>",
         "1 2\n3"},
        {"", ""},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *t = srm_text_from_html(cases[i].in, strlen(cases[i].in));
        assert_non_null(t);
        if (strcmp(t, cases[i].want) != 0)
            fail_msg("'%s' gave '%s', want '%s'", cases[i].in, t,
                     cases[i].want);
        free(t);
    }
}

/* ------------------------------------------------------------ plugin */

static struct mock_host *rss_setup_v(const char *const *feeds, size_t n,
                                     int expect_rc)
{
    struct mock_host *m = mock_host_create();
    const struct srm_plugin *p = srm_plugin_entry(mock_host_api());

    assert_non_null(p);
    assert_string_equal(p->name, "rss");
    assert_true(p->capabilities & SRM_CAP_MENTIONS);
    mock_cfg_set_listv(m, "feeds", feeds, n);
    assert_int_equal(mock_plugin_create(m, p), expect_rc);
    return m;
}

static struct mock_host *rss_setup1(const char *feed)
{
    return rss_setup_v(&feed, 1, 0);
}

/* One pass; every request must have been expected. */
static void rss_pass(struct mock_host *m, enum srm_pass_status want)
{
    assert_int_equal(mock_sync(m), 0);
    mock_run(m);
    assert_int_equal(m->n_unexpected, 0);
    assert_int_equal(m->n_violations, 0);
    assert_int_equal(m->pass.count, 1);
    if (m->pass.status != want)
        fail_msg("pass status %d (%s), want %d", m->pass.status,
                 m->pass.message, want);
}

static void test_rss2_fields(void **state)
{
    struct mock_host *m = rss_setup1(F("rss2.xml"));

    mock_http_expect_file(m, "GET", F("rss2.xml"), 200, XML_HDR,
                          "rss/rss2.xml");
    rss_pass(m, SRM_PASS_OK);
    assert_int_equal(m->n_mentions, 3);

    /* guid, content:encoded, author "email (Name)", numeric entities. */
    const struct srm_mention *a =
        mock_mention_find(m, F("rss2.xml") "#acme-post-1042");
    assert_non_null(a);
    assert_string_equal(a->network, "rss");
    assert_string_equal(a->text,
                        "Why we moved to srmd \xe2\x80\x94 and didn\xe2\x80\x99t "
                        "look back\n\nWe tried srmd (https://srmd.example/) "
                        "for a month.\nIt stays.");
    assert_string_equal(a->url, "https://blog.acme.example/2023/11/srmd");
    assert_int_equal(a->created_at, 1700000000);
    assert_string_equal(a->matched, F("rss2.xml"));
    assert_string_equal(a->context_title, "Acme Engineering & Friends");
    assert_string_equal(a->context_url, "https://blog.acme.example/");
    assert_string_equal(a->author_id, "mailto:jane@acme.example");
    assert_string_equal(a->author_network, "web");
    const struct srm_identity *ja =
        mock_identity_find(m, "mailto:jane@acme.example");
    assert_non_null(ja);
    assert_string_equal(ja->network, "web");
    assert_string_equal(ja->display_name, "Jane Doe");
    assert_string_equal(ja->email, "jane@acme.example");

    /* No guid: the link (resolved against the feed URL) is the key;
     * dc:creator names the author; escaped HTML description reduced. */
    const struct srm_mention *b =
        mock_mention_find(m, F("rss2.xml") "#http://f.example/2023/11/"
                                           "sqlite-wal");
    assert_non_null(b);
    assert_string_equal(b->url, "http://f.example/2023/11/sqlite-wal");
    assert_string_equal(b->text,
                        "Tuning SQLite &amp; WAL\n\nCheckpoints matter.");
    assert_int_equal(b->created_at, 1700010000);
    assert_string_equal(b->author_id, "Bob Builder@f.example");
    const struct srm_identity *bb =
        mock_identity_find(m, "Bob Builder@f.example");
    assert_non_null(bb);
    assert_string_equal(bb->display_name, "Bob Builder");

    /* No guid, no link: FNV-1a of title + date. */
    char key[128];
    snprintf(key, sizeof(key), F("rss2.xml") "#%016llx",
             (unsigned long long)rss_fnv1a64("\nMon, 6 Nov 23 09:05 PDT"));
    const struct srm_mention *c = mock_mention_find(m, key);
    assert_non_null(c);
    assert_null(c->url);
    assert_null(c->author_id);
    assert_int_equal(c->created_at, 1699286700);
    assert_string_equal(c->text, "A link post with no title, guid or link, "
                                 "dated in 2-digit years.");

    /* The feed's cursor follows its items, at the newest date. */
    assert_int_equal(m->n_cursor_sets, 1);
    assert_string_equal(m->cursor_sets[0].key, "feed:" F("rss2.xml"));
    assert_string_equal(m->cursor_sets[0].value, "1700010000");
    assert_int_equal(m->cursor_sets[0].n_mentions, 3);

    /* The request: conditional, capped at 8 MiB. */
    assert_int_equal(m->n_requests, 1);
    assert_true(m->requests[0].flags & SRM_HTTP_CONDITIONAL);
    assert_int_equal(m->requests[0].max_body, 8u << 20);
    assert_string_equal(m->requests[0].method, "GET");

    /* Stable keys: the same feed again gives the same remote ids. */
    char *ids[3];
    for (size_t i = 0; i < 3; i++)
        ids[i] = strdup(m->mentions[i].remote_id);
    mock_pass_reset(m);
    mock_http_expect_file(m, "GET", F("rss2.xml"), 200, XML_HDR,
                          "rss/rss2.xml");
    rss_pass(m, SRM_PASS_OK);
    assert_int_equal(m->n_mentions, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(m->mentions[i].remote_id, ids[i]);
        free(ids[i]);
    }
    mock_host_destroy(m);
}

static void test_rdf(void **state)
{
    struct mock_host *m = rss_setup1(F("rdf.xml"));

    mock_http_expect_file(m, "GET", F("rdf.xml"), 200, XML_HDR,
                          "rss/rdf.xml");
    rss_pass(m, SRM_PASS_OK);
    assert_int_equal(m->n_mentions, 2);
    const struct srm_mention *a =
        mock_mention_find(m, F("rdf.xml") "#http://planet.example/a/1");
    assert_non_null(a);
    assert_string_equal(a->text, "Alice on relationship tooling\n\n"
                                 "Keeping in touch with 150+ people.");
    assert_int_equal(a->created_at, 1699858800);
    assert_string_equal(a->author_id, "Alice Example@f.example");
    assert_string_equal(a->context_title, "Planet Example");
    assert_string_equal(a->context_url, "http://planet.example/");
    const struct srm_mention *b =
        mock_mention_find(m, F("rdf.xml") "#http://planet.example/b/2");
    assert_non_null(b);
    assert_string_equal(b->text, "Bob's weekly links");
    assert_int_equal(b->created_at, 1699747200);
    assert_string_equal(mock_cursor(m, "feed:" F("rdf.xml")), "1699858800");
    mock_host_destroy(m);
}

static void test_atom(void **state)
{
    struct mock_host *m = rss_setup1(F("atom.xml"));

    mock_http_expect_file(m, "GET", F("atom.xml"), 200, XML_HDR,
                          "rss/atom.xml");
    rss_pass(m, SRM_PASS_OK);
    assert_int_equal(m->n_mentions, 2);

    const struct srm_mention *a =
        mock_mention_find(m, F("atom.xml") "#tag:example.org,2003:3.2397");
    assert_non_null(a);
    assert_string_equal(a->text, "Atom & srmd\n\nInline XHTML body.\n"
                                 "Second link (https://srmd.example/).");
    assert_string_equal(a->url, "https://example.org/blog/2023/11/atom-srmd");
    assert_int_equal(a->created_at, 1699979402); /* published, not updated */
    assert_string_equal(a->context_title, "Example Blog");
    assert_string_equal(a->context_url, "https://example.org/blog/");
    assert_string_equal(a->author_id, "https://example.org/people/mark");
    const struct srm_identity *mark =
        mock_identity_find(m, "https://example.org/people/mark");
    assert_non_null(mark);
    assert_string_equal(mark->network, "web");
    assert_string_equal(mark->display_name, "Mark P");
    assert_string_equal(mark->email, "mark@example.org");
    assert_string_equal(mark->profile_url, "https://example.org/people/mark");

    /* Nested xml:base; the feed-level author is inherited. */
    const struct srm_mention *b =
        mock_mention_find(m, F("atom.xml") "#tag:example.org,2003:3.2398");
    assert_non_null(b);
    assert_string_equal(b->url, "https://example.org/archive/old-post");
    assert_string_equal(b->text,
                        "Plain entry\n\nJust a summary & nothing more.");
    assert_int_equal(b->created_at, 1699617600);
    assert_string_equal(b->author_id, "mailto:owner@example.org");
    mock_host_destroy(m);
}

static void test_latin1(void **state)
{
    struct mock_host *m = rss_setup1(F("latin1.xml"));

    mock_http_expect_file(m, "GET", F("latin1.xml"), 200, XML_HDR,
                          "rss/latin1.xml");
    rss_pass(m, SRM_PASS_OK);
    assert_int_equal(m->n_mentions, 1);
    assert_string_equal(m->mentions[0].text,
                        "R\xc3\xa9sum\xc3\xa9 na\xc3\xafve \xc3\xa0 "
                        "Z\xc3\xbcrich\n\nCr\xc3\xa8me br\xc3\xbbl\xc3\xa9"
                        "e");
    assert_string_equal(m->mentions[0].context_title,
                        "Caf\xc3\xa9 Cr\xc3\xa8me");
    assert_int_equal(m->mentions[0].created_at, 1698829200);
    mock_host_destroy(m);
}

/* External entities are neither loaded nor fetched. */
static void test_xxe(void **state)
{
    struct mock_host *m = rss_setup1(F("xxe.xml"));

    mock_http_expect_file(m, "GET", F("xxe.xml"), 200, XML_HDR,
                          "rss/xxe.xml");
    rss_pass(m, SRM_PASS_OK);
    assert_int_equal(m->n_requests, 1);
    assert_int_equal(m->n_mentions, 1);
    assert_null(strstr(m->mentions[0].text, "root:"));
    assert_string_equal(m->mentions[0].text, "Look:\n\nbefore after");
    mock_host_destroy(m);
}

static void test_broken_feeds_fail_alone(void **state)
{
    static const char *const feeds[] = {
        F("rss2.xml"),   F("truncated.xml"), F("error.html"),
        F("badlabel.xml"), F("mislabeled.xml"), F("gone.xml"),
        F("huge.xml"),   F("down.xml"),
    };
    const size_t n = sizeof(feeds) / sizeof(feeds[0]);
    struct mock_host *m = rss_setup_v(feeds, n, 0);
    size_t huge_len = (8u << 20) + 1;
    char *huge = malloc(huge_len);

    assert_non_null(huge);
    memset(huge, ' ', huge_len);
    mock_http_expect_file(m, "GET", F("rss2.xml"), 200, XML_HDR,
                          "rss/rss2.xml");
    mock_http_expect_file(m, "GET", F("truncated.xml"), 200, XML_HDR,
                          "rss/truncated.xml");
    mock_http_expect_file(m, "GET", F("error.html"), 200,
                          "Content-Type: text/html\r\n", "rss/error.html");
    mock_http_expect_file(m, "GET", F("badlabel.xml"), 200, XML_HDR,
                          "rss/badlabel.xml");
    mock_http_expect_file(m, "GET", F("mislabeled.xml"), 200, XML_HDR,
                          "rss/mislabeled.xml");
    mock_http_expect(m, "GET", F("gone.xml"), 404, NULL, "not found");
    mock_http_expect_n(m, "GET", F("huge.xml"), 200, XML_HDR, huge,
                       huge_len);
    mock_http_expect_error(m, "GET", F("down.xml"), SRM_E_TRANSPORT,
                           "Connection refused");
    free(huge);

    assert_int_equal(mock_sync(m), 0);
    /* All feeds are in flight before any answer arrives. */
    assert_int_equal(m->n_requests, n);
    mock_run(m);
    assert_int_equal(m->n_unexpected, 0);
    assert_int_equal(m->pass.count, 1);
    assert_int_equal(m->pass.status, SRM_PASS_OK);
    assert_non_null(strstr(m->pass.message, "7 of 8 feeds failed: "
                                            "not well-formed XML"));
    assert_int_equal(m->n_mentions, 3);
    assert_int_equal(m->n_cursor_sets, 1);
    assert_string_equal(m->cursor_sets[0].key, "feed:" F("rss2.xml"));

    /* Each broken feed is logged with its reason. */
    assert_true(mock_log_contains(m, "feed " F("truncated.xml")
                                     ": not well-formed XML"));
    assert_true(mock_log_contains(m, "feed " F("error.html") ": "));
    assert_true(mock_log_contains(m, "feed " F("badlabel.xml") ": "));
    assert_true(mock_log_contains(m, "feed " F("mislabeled.xml") ": "));
    assert_true(mock_log_contains(m, "feed " F("gone.xml") ": HTTP 404"));
    assert_true(mock_log_contains(m, "feed " F("huge.xml")
                                     ": body over 8 MiB"));
    assert_true(mock_log_contains(m, "feed " F("down.xml")
                                     ": Connection refused"));
    mock_host_destroy(m);
}

static void test_all_broken(void **state)
{
    static const char *const feeds[] = {F("error.html"), F("rss2.xml")};
    struct mock_host *m = rss_setup_v(feeds, 2, 0);

    mock_http_expect_file(m, "GET", F("error.html"), 200, NULL,
                          "rss/error.html");
    mock_http_expect(m, "GET", F("rss2.xml"), 500, NULL, "oops");
    rss_pass(m, SRM_PASS_ERROR);
    assert_non_null(m->pass.message);
    /* The first feed's reason. */
    assert_null(strstr(m->pass.message, "HTTP 500"));
    assert_int_equal(m->n_mentions, 0);
    assert_int_equal(m->n_cursor_sets, 0);
    mock_host_destroy(m);
}

static void test_not_modified(void **state)
{
    static const char *const feeds[] = {F("rss2.xml"), F("atom.xml")};
    struct mock_host *m = rss_setup_v(feeds, 2, 0);

    mock_http_expect(m, "GET", F("rss2.xml"), 304, NULL, NULL);
    mock_http_expect(m, "GET", F("atom.xml"), 304, NULL, NULL);
    rss_pass(m, SRM_PASS_OK);
    assert_int_equal(m->n_mentions, 0);
    assert_int_equal(m->n_identities, 0);
    assert_int_equal(m->n_cursor_sets, 0);
    mock_host_destroy(m);
}

static void test_rate_limited(void **state)
{
    static const char *const feeds[] = {F("rss2.xml"), F("atom.xml")};
    struct mock_host *m = rss_setup_v(feeds, 2, 0);

    mock_http_expect(m, "GET", F("rss2.xml"), 429, "Retry-After: 60\r\n",
                     NULL);
    mock_http_expect(m, "GET", F("atom.xml"), 503, "Retry-After: 300\r\n",
                     NULL);
    rss_pass(m, SRM_PASS_RETRY);
    assert_int_equal(m->pass.retry_after, 300);
    assert_int_equal(m->n_cursor_sets, 0);

    /* One limited feed alone is skipped; the pass is fine. */
    mock_pass_reset(m);
    mock_http_expect(m, "GET", F("rss2.xml"), 429, "Retry-After: 60\r\n",
                     NULL);
    mock_http_expect_file(m, "GET", F("atom.xml"), 200, XML_HDR,
                          "rss/atom.xml");
    rss_pass(m, SRM_PASS_OK);
    assert_int_equal(m->n_mentions, 2);
    assert_true(mock_log_contains(m, "rate limited"));
    mock_host_destroy(m);
}

static void test_keywords(void **state)
{
    static const char *const feeds[] = {F("rss2.xml"), F("atom.xml")};
    struct mock_host *m = mock_host_create();
    const struct srm_plugin *p = srm_plugin_entry(mock_host_api());

    /* listen.keywords apply when the source sets none. */
    mock_cfg_set_listv(m, "feeds", feeds, 2);
    mock_listen_keywords(m, "SRMD", NULL);
    assert_int_equal(mock_plugin_create(m, p), 0);
    mock_http_expect_file(m, "GET", F("rss2.xml"), 200, XML_HDR,
                          "rss/rss2.xml");
    mock_http_expect_file(m, "GET", F("atom.xml"), 200, XML_HDR,
                          "rss/atom.xml");
    rss_pass(m, SRM_PASS_OK);
    assert_int_equal(m->n_mentions, 2);
    assert_non_null(mock_mention_find(m, F("rss2.xml") "#acme-post-1042"));
    assert_non_null(
        mock_mention_find(m, F("atom.xml") "#tag:example.org,2003:3.2397"));
    assert_string_equal(m->mentions[0].matched, "SRMD");
    /* Cursors move for every feed read, matches or not. */
    assert_int_equal(m->n_cursor_sets, 2);
    mock_host_destroy(m);

    /* The source's own keywords win over listen.keywords. */
    m = mock_host_create();
    mock_cfg_set_listv(m, "feeds", feeds, 1);
    mock_cfg_set_list(m, "keywords", "nothing", "checkpoints", NULL);
    mock_listen_keywords(m, "srmd", NULL);
    assert_int_equal(mock_plugin_create(m, p), 0);
    mock_http_expect_file(m, "GET", F("rss2.xml"), 200, XML_HDR,
                          "rss/rss2.xml");
    rss_pass(m, SRM_PASS_OK);
    assert_int_equal(m->n_mentions, 1);
    assert_string_equal(m->mentions[0].matched, "checkpoints");
    assert_int_equal(m->n_identities, 1); /* only the kept entry's author */
    mock_host_destroy(m);
}

static void test_config(void **state)
{
    struct mock_host *m = rss_setup_v(NULL, 0, SRM_E_CONFIG);

    assert_int_equal(m->n_cfg_errors, 1);
    assert_non_null(strstr(m->cfg_errors[0], "feeds: "));
    mock_host_destroy(m);

    /* max_items caps the entries read per feed; the cursor still sees all. */
    m = mock_host_create();
    mock_cfg_set_list(m, "feeds", F("rss2.xml"), NULL);
    mock_cfg_set(m, "max_items", "1");
    assert_int_equal(mock_plugin_create(m, srm_plugin_entry(mock_host_api())),
                     0);
    mock_http_expect_file(m, "GET", F("rss2.xml"), 200, XML_HDR,
                          "rss/rss2.xml");
    rss_pass(m, SRM_PASS_OK);
    assert_int_equal(m->n_mentions, 1);
    assert_string_equal(mock_cursor(m, "feed:" F("rss2.xml")), "1700010000");
    mock_host_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_html_text),
        cmocka_unit_test(test_rss2_fields),
        cmocka_unit_test(test_rdf),
        cmocka_unit_test(test_atom),
        cmocka_unit_test(test_latin1),
        cmocka_unit_test(test_xxe),
        cmocka_unit_test(test_broken_feeds_fail_alone),
        cmocka_unit_test(test_all_broken),
        cmocka_unit_test(test_not_modified),
        cmocka_unit_test(test_rate_limited),
        cmocka_unit_test(test_keywords),
        cmocka_unit_test(test_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
