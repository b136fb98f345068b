/* test_http_ratelimit.c - srm_http_retry_after(): every header dialect, at a
 * fixed "now", with a case-insensitive fake header table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "http.h"

/* 2024-05-01T12:00:00Z */
#define NOW 1714564800LL

struct hdr {
    const char *name, *value;
};

/* Up to 8 headers, NULL name ends; case-insensitive, last wins, like the
 * engine's srm_http_header(). */
static const char *lookup(const char *name, void *ud)
{
    const struct hdr *h = ud;
    const char *found = NULL;

    for (; h->name != NULL; h++)
        if (strcasecmp(h->name, name) == 0)
            found = h->value;
    return found;
}

static int64_t ra(long status, const struct hdr *h)
{
    return srm_http_retry_after(status, lookup, (void *)h, NOW);
}

static void test_nothing(void **state)
{
    const struct hdr none[] = {{NULL, NULL}};

    (void)state;
    assert_int_equal(ra(200, none), -1);
    assert_int_equal(ra(503, none), -1);
    assert_int_equal(ra(500, none), -1);
    /* A bare 429 still means wait: the default minute. */
    assert_int_equal(ra(429, none), 60);
    assert_int_equal(srm_http_retry_after(429, NULL, NULL, NOW), 60);
    assert_int_equal(srm_http_retry_after(200, NULL, NULL, NOW), -1);
}

static void test_retry_after_seconds(void **state)
{
    const struct hdr h120[] = {{"Retry-After", "120"}, {NULL, NULL}};
    const struct hdr lower[] = {{"retry-after", " 7 "}, {NULL, NULL}};
    const struct hdr zero[] = {{"Retry-After", "0"}, {NULL, NULL}};
    const struct hdr huge[] = {{"Retry-After", "99999999999999999999999"},
                               {NULL, NULL}};
    const struct hdr neg[] = {{"Retry-After", "-5"}, {NULL, NULL}};
    const struct hdr frac[] = {{"Retry-After", "5.5"}, {NULL, NULL}};
    const struct hdr junk[] = {{"Retry-After", "soon"}, {NULL, NULL}};
    const struct hdr empty[] = {{"Retry-After", ""}, {NULL, NULL}};

    (void)state;
    assert_int_equal(ra(429, h120), 120);
    assert_int_equal(ra(503, h120), 120);
    assert_int_equal(ra(429, lower), 7);
    assert_int_equal(ra(429, zero), 0);
    /* Clamped to a day, no overflow. */
    assert_int_equal(ra(429, huge), 24 * 3600);
    /* Invalid values are ignored; a 429 then falls back to 60. */
    assert_int_equal(ra(429, neg), 60);
    assert_int_equal(ra(429, frac), 60);
    assert_int_equal(ra(429, junk), 60);
    assert_int_equal(ra(429, empty), 60);
    assert_int_equal(ra(503, junk), -1);
    /* On other statuses Retry-After is not about rate limits (a 3xx may
     * carry it), so it is ignored. */
    assert_int_equal(ra(200, h120), -1);
    assert_int_equal(ra(301, h120), -1);
}

static void test_retry_after_date(void **state)
{
    /* NOW + 90 s in the three HTTP-date forms. */
    const struct hdr imf[] = {{"Retry-After", "Wed, 01 May 2024 12:01:30 GMT"},
                              {NULL, NULL}};
    const struct hdr rfc850[] = {
        {"Retry-After", "Wednesday, 01-May-24 12:01:30 GMT"}, {NULL, NULL}};
    const struct hdr asctime_[] = {{"Retry-After", "Wed May  1 12:01:30 2024"},
                                   {NULL, NULL}};
    const struct hdr past[] = {{"Retry-After", "Wed, 01 May 2024 11:00:00 GMT"},
                               {NULL, NULL}};

    (void)state;
    assert_int_equal(ra(429, imf), 90);
    assert_int_equal(ra(503, imf), 90);
    assert_int_equal(ra(429, rfc850), 90);
    assert_int_equal(ra(429, asctime_), 90);
    /* A date already passed: retry now. */
    assert_int_equal(ra(429, past), 0);
}

static void test_mastodon(void **state)
{
    const struct hdr iso[] = {{"X-RateLimit-Limit", "300"},
                              {"X-RateLimit-Remaining", "0"},
                              {"X-RateLimit-Reset", "2024-05-01T12:05:00.000Z"},
                              {NULL, NULL}};
    const struct hdr micro[] = {
        {"X-RateLimit-Remaining", "0"},
        {"X-RateLimit-Reset", "2024-05-01T12:05:00.250000Z"},
        {NULL, NULL}};
    const struct hdr offset[] = {
        {"X-RateLimit-Remaining", "0"},
        {"X-RateLimit-Reset", "2024-05-01T14:05:00+02:00"},
        {NULL, NULL}};
    const struct hdr left[] = {{"X-RateLimit-Remaining", "12"},
                               {"X-RateLimit-Reset", "2024-05-01T12:05:00Z"},
                               {NULL, NULL}};
    const struct hdr noreset[] = {{"X-RateLimit-Remaining", "0"},
                                  {NULL, NULL}};
    const struct hdr badreset[] = {{"X-RateLimit-Remaining", "0"},
                                   {"X-RateLimit-Reset", "2024-13-01T00:00Z"},
                                   {NULL, NULL}};

    (void)state;
    assert_int_equal(ra(200, iso), 300);
    assert_int_equal(ra(429, iso), 300);
    /* A fraction rounds up. */
    assert_int_equal(ra(200, micro), 301);
    assert_int_equal(ra(200, offset), 300);
    assert_int_equal(ra(200, left), -1);
    assert_int_equal(ra(200, noreset), -1);
    assert_int_equal(ra(429, noreset), 60);
    assert_int_equal(ra(200, badreset), -1);
}

static void test_github(void **state)
{
    char reset[32];
    struct hdr gh[] = {{"x-ratelimit-limit", "5000"},
                       {"x-ratelimit-remaining", "0"},
                       {"x-ratelimit-reset", reset},
                       {NULL, NULL}};
    const struct hdr past[] = {{"x-ratelimit-remaining", "0"},
                               {"x-ratelimit-reset", "1714564000"},
                               {NULL, NULL}};

    (void)state;
    snprintf(reset, sizeof(reset), "%lld", NOW + 42);
    assert_int_equal(ra(200, gh), 42);
    assert_int_equal(ra(403, gh), 42);
    /* Retry-After and the reset both present: the longer wait wins. */
    {
        const struct hdr both[] = {{"Retry-After", "10"},
                                   {"x-ratelimit-remaining", "0"},
                                   {"x-ratelimit-reset", reset},
                                   {NULL, NULL}};
        const struct hdr both2[] = {{"Retry-After", "100"},
                                    {"x-ratelimit-remaining", "0"},
                                    {"x-ratelimit-reset", reset},
                                    {NULL, NULL}};

        assert_int_equal(ra(429, both), 42);
        assert_int_equal(ra(429, both2), 100);
    }
    /* Reset already passed: nothing to wait for. */
    assert_int_equal(ra(200, past), 0);
}

static void test_ietf_bluesky(void **state)
{
    char epoch[32];
    const struct hdr delta[] = {{"RateLimit-Limit", "3000"},
                                {"RateLimit-Remaining", "0"},
                                {"RateLimit-Reset", "30"},
                                {NULL, NULL}};
    struct hdr bsky[] = {{"ratelimit-limit", "3000"},
                         {"ratelimit-remaining", "0"},
                         {"ratelimit-reset", epoch},
                         {"ratelimit-policy", "3000;w=300"},
                         {NULL, NULL}};
    const struct hdr some[] = {{"RateLimit-Remaining", "1"},
                               {"RateLimit-Reset", "30"},
                               {NULL, NULL}};
    const struct hdr garbage[] = {{"RateLimit-Remaining", "none"},
                                  {"RateLimit-Reset", "30"},
                                  {NULL, NULL}};

    (void)state;
    snprintf(epoch, sizeof(epoch), "%lld", NOW + 100);
    assert_int_equal(ra(200, delta), 30);
    assert_int_equal(ra(429, delta), 30);
    assert_int_equal(ra(200, bsky), 100);
    assert_int_equal(ra(200, some), -1);
    assert_int_equal(ra(200, garbage), -1);
    assert_int_equal(ra(429, some), 60);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nothing),
        cmocka_unit_test(test_retry_after_seconds),
        cmocka_unit_test(test_retry_after_date),
        cmocka_unit_test(test_mastodon),
        cmocka_unit_test(test_github),
        cmocka_unit_test(test_ietf_bluesky),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
