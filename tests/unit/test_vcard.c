/* test_vcard.c - the vCard and CSV contact parsers (vcard.c, csv.c) and
 * the rel="me" finder (verify.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "csv.h"
#include "vcard.h"
#include "verify.h"

static void parse_vcard(const char *t, struct srm_import *imp)
{
    memset(imp, 0, sizeof(*imp));
    srm_vcard_parse(t, strlen(t), imp);
}

static void parse_csv(const char *t, struct srm_import *imp)
{
    memset(imp, 0, sizeof(*imp));
    srm_csv_parse(t, strlen(t), imp);
}

static void test_vcard_fields(void **state)
{
    struct srm_import imp;

    (void)state;
    parse_vcard("BEGIN:VCARD\r\n"
                "VERSION:3.0\r\n"
                "N:Lovelace;Ada;;;\r\n"
                "item1.EMAIL;TYPE=INTERNET:ada@example.org\r\n"
                "EMAIL:ada@work.example\r\n"
                "URL:https://ada.example\r\n"
                "X-SOCIALPROFILE;TYPE=mastodon:https://m.example/@ada\r\n"
                "IMPP;X-SERVICE-TYPE=xmpp:xmpp:ada@jabber.example\r\n"
                "X-SRMD-IDENTITY:github:101\r\n"
                "NOTE:line one\\nline two\\, with a comma\r\n"
                "CATEGORIES:math,poet\r\n"
                "TEL:+1 555\r\n"
                "END:VCARD\r\n", &imp);
    assert_int_equal(imp.n_errors, 0);
    assert_int_equal(imp.n, 1);
    assert_string_equal(imp.items[0].name, "Ada Lovelace");
    assert_int_equal(imp.items[0].n_emails, 2);
    assert_string_equal(imp.items[0].emails[0], "ada@example.org");
    assert_int_equal(imp.items[0].n_urls, 2);
    assert_string_equal(imp.items[0].urls[1], "https://m.example/@ada");
    assert_int_equal(imp.items[0].n_impps, 1);
    assert_string_equal(imp.items[0].impps[0], "xmpp:ada@jabber.example");
    assert_string_equal(imp.items[0].keys[0], "github:101");
    assert_string_equal(imp.items[0].note,
                        "line one\nline two, with a comma");
    assert_string_equal(imp.items[0].tags, "math,poet");
    assert_int_equal(imp.items[0].line, 1);
    srm_import_fini(&imp);
}

static void test_vcard_folding_and_fn_wins(void **state)
{
    struct srm_import imp;

    (void)state;
    parse_vcard("BEGIN:VCARD\nVERSION:4.0\nFN:Grace\n  Hopper\n"
                "N:Hopper;Grace\nEND:VCARD\n", &imp);
    assert_int_equal(imp.n_errors, 0);
    assert_string_equal(imp.items[0].name, "Grace Hopper");
    srm_import_fini(&imp);
}

static void test_vcard_errors_keep_the_rest(void **state)
{
    struct srm_import imp;

    (void)state;
    parse_vcard("stray text\n"           /* 1 */
                "BEGIN:VCARD\n"          /* 2 */
                "VERSION:9.9\n"          /* 3 */
                "FN:One\n"               /* 4 */
                "no colon here\n"        /* 5 */
                "END:VCARD\n"            /* 6 */
                "END:VCARD\n"            /* 7 */
                "BEGIN:VCARD\n"          /* 8 */
                "FN:Unclosed\n"          /* 9 */
                "BEGIN:VCARD\n"          /* 10 */
                "TEL:1\n"                /* 11 */
                "END:VCARD\n"            /* 12 */
                "BEGIN:VCARD\n"          /* 13 */
                "FN:Two\n"               /* 14 */
                "END:VCARD\n"            /* 15 */
                "BEGIN:VCARD\n"          /* 16 */
                "FN:Three\n", &imp);     /* 17 */
    assert_int_equal(imp.n, 2);
    assert_string_equal(imp.items[0].name, "One");
    assert_string_equal(imp.items[1].name, "Two");
    assert_int_equal(imp.items[1].line, 13);
    assert_int_equal(imp.n_errors, 7);
    assert_int_equal(imp.errors[0].line, 1);
    assert_int_equal(imp.errors[1].line, 3);
    assert_non_null(strstr(imp.errors[1].msg, "version"));
    assert_int_equal(imp.errors[2].line, 5);
    assert_int_equal(imp.errors[3].line, 7);
    assert_int_equal(imp.errors[4].line, 8);
    assert_non_null(strstr(imp.errors[4].msg, "not closed"));
    assert_int_equal(imp.errors[5].line, 10);
    assert_int_equal(imp.errors[6].line, 16);
    srm_import_fini(&imp);
}

static void test_vcard_escape_roundtrip(void **state)
{
    struct srm_import imp;
    char *e = srm_vcard_escape("a,b;c\\d\ne");
    char *card;

    (void)state;
    assert_string_equal(e, "a\\,b\\;c\\\\d\\ne");
    card = malloc(strlen(e) + 64);
    strcpy(card, "BEGIN:VCARD\nFN:x\nNOTE:");
    strcat(card, e);
    strcat(card, "\nEND:VCARD\n");
    parse_vcard(card, &imp);
    assert_string_equal(imp.items[0].note, "a,b;c\\d\ne");
    srm_import_fini(&imp);
    free(card);
    free(e);
}

static void test_csv_fields(void **state)
{
    struct srm_import imp;

    (void)state;
    parse_csv("\xEF\xBB\xBF" "First Name,Last Name,E-mail Address,Website,"
              "Tags,Notes,Phone\r\n"
              "Ada,Lovelace,ada@example.org;ada@work.example,"
              "https://ada.example,\"math,poet\",\"said \"\"hi\"\"\n"
              "twice\",555\r\n"
              "\r\n"
              "Grace,,,,,,\r\n", &imp);
    assert_int_equal(imp.n_errors, 0);
    assert_int_equal(imp.n, 2);
    assert_string_equal(imp.items[0].name, "Ada Lovelace");
    assert_int_equal(imp.items[0].n_emails, 2);
    assert_string_equal(imp.items[0].emails[1], "ada@work.example");
    assert_string_equal(imp.items[0].urls[0], "https://ada.example");
    assert_string_equal(imp.items[0].tags, "math,poet");
    assert_string_equal(imp.items[0].note, "said \"hi\"\ntwice");
    assert_int_equal(imp.items[0].line, 2);
    assert_string_equal(imp.items[1].name, "Grace");
    assert_int_equal(imp.items[1].line, 5);
    srm_import_fini(&imp);
}

static void test_csv_errors_keep_the_rest(void **state)
{
    struct srm_import imp;

    (void)state;
    parse_csv("name,email\n"            /* 1 */
              "A,a@x\n"                 /* 2 */
              "B,b@x,extra\n"           /* 3 */
              "C\"c,c@x\n"              /* 4 */
              "\"D\"d,d@x\n"            /* 5 */
              ",\n"                     /* 6 */
              "E,e@x\n"                 /* 7 */
              "\"F,f@x\n"               /* 8: never closed */
              "G,g@x\n", &imp);         /* 9 */
    assert_int_equal(imp.n, 3);
    assert_string_equal(imp.items[0].name, "A");
    assert_string_equal(imp.items[1].name, "E");
    assert_string_equal(imp.items[2].name, "G");
    assert_int_equal(imp.items[2].line, 9);
    assert_int_equal(imp.n_errors, 5);
    assert_int_equal(imp.errors[0].line, 3);
    assert_int_equal(imp.errors[1].line, 4);
    assert_int_equal(imp.errors[2].line, 5);
    assert_int_equal(imp.errors[3].line, 6);
    assert_int_equal(imp.errors[4].line, 8);
    assert_string_equal(imp.errors[4].msg, "unterminated quoted field");
    srm_import_fini(&imp);
}

static void test_csv_quote(void **state)
{
    char *q;

    (void)state;
    q = srm_csv_quote("plain");
    assert_string_equal(q, "plain");
    free(q);
    q = srm_csv_quote("a,\"b\"\nc");
    assert_string_equal(q, "\"a,\"\"b\"\"\nc\"");
    free(q);
}

static void test_rel_me(void **state)
{
    static const char page[] =
        "<html><head><link rel=\"Me authn\" href=\"https://m.example/@ada\">"
        "</head><body><a href=\"https://other.example/@ada\">x</a>"
        "<a rel=\"nofollow me\" href=\"/ada/\">self</a>"
        "<a rel=\"meh\" href=\"https://github.com/nope\">no</a>"
        "</body></html>";

    (void)state;
    assert_true(srm_verify_rel_me(page, strlen(page), "https://ada.example/",
                                  "http://M.example/@ada/"));
    /* A relative href, resolved against the page. */
    assert_true(srm_verify_rel_me(page, strlen(page), "https://ada.example/",
                                  "https://ada.example/ada"));
    /* Without rel="me", or a rel that only contains the letters. */
    assert_false(srm_verify_rel_me(page, strlen(page), "https://ada.example/",
                                   "https://other.example/@ada"));
    assert_false(srm_verify_rel_me(page, strlen(page), "https://ada.example/",
                                   "https://github.com/nope"));
    assert_false(srm_verify_rel_me("", 0, "https://x/", "https://x/"));
    assert_false(srm_verify_rel_me("<<<>>", 5, "https://x/", "https://x/"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vcard_fields),
        cmocka_unit_test(test_vcard_folding_and_fn_wins),
        cmocka_unit_test(test_vcard_errors_keep_the_rest),
        cmocka_unit_test(test_vcard_escape_roundtrip),
        cmocka_unit_test(test_csv_fields),
        cmocka_unit_test(test_csv_errors_keep_the_rest),
        cmocka_unit_test(test_csv_quote),
        cmocka_unit_test(test_rel_me),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
