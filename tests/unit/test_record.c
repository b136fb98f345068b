/* test_record.c - record validation, copying and UTF-8 cleaning. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mem.h"
#include "record.h"

#define FFFD "\xef\xbf\xbd"

static void check_clean(const char *in, size_t max, const char *want)
{
    char *got = srm_utf8_clean(in, max);

    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void test_utf8_valid_kept(void **state)
{
    check_clean("plain ascii", 100, "plain ascii");
    check_clean("h\xc3\xa9llo \xe2\x82\xac \xf0\x9d\x84\x9e", 100,
                "h\xc3\xa9llo \xe2\x82\xac \xf0\x9d\x84\x9e");
    /* The highest code point, U+10FFFF, is valid. */
    check_clean("\xf4\x8f\xbf\xbf", 100, "\xf4\x8f\xbf\xbf");
    check_clean("", 100, "");
    assert_null(srm_utf8_clean(NULL, 100));
}

static void test_utf8_invalid_replaced(void **state)
{
    check_clean("a\xff" "b", 100, "a" FFFD "b");
    /* Stray continuation byte. */
    check_clean("\x80", 100, FFFD);
    /* Overlong encodings of '/'. */
    check_clean("\xc0\xaf", 100, FFFD FFFD);
    check_clean("\xe0\x80\xaf", 100, FFFD FFFD FFFD);
    check_clean("\xf0\x80\x80\xaf", 100, FFFD FFFD FFFD FFFD);
    /* A UTF-16 surrogate (U+D800). */
    check_clean("\xed\xa0\x80", 100, FFFD FFFD FFFD);
    /* Above U+10FFFF. */
    check_clean("\xf4\x90\x80\x80", 100, FFFD FFFD FFFD FFFD);
    /* A truncated sequence is one replacement, the next char survives. */
    check_clean("\xe2\x82x", 100, FFFD "x");
    check_clean("end\xe2\x82", 100, "end" FFFD);
}

static void test_utf8_controls_dropped(void **state)
{
    check_clean("a\x01" "b\r\nc\td\x7f" "e", 100, "ab\nc\tde");
    /* C1 control U+0085 (NEL). */
    check_clean("x\xc2\x85y", 100, "xy");
    /* U+00A0 (not a control) stays. */
    check_clean("x\xc2\xa0y", 100, "x\xc2\xa0y");
}

static void test_utf8_cut_at_boundary(void **state)
{
    check_clean("abc", 2, "ab");
    /* é is two bytes: it does not fit after "a" in 2 bytes. */
    check_clean("a\xc3\xa9", 2, "a");
    check_clean("a\xc3\xa9", 3, "a\xc3\xa9");
    /* A replacement is 3 bytes and is not split either. */
    check_clean("a\xff", 3, "a");
    check_clean("a\xff", 4, "a" FFFD);
    check_clean("\xf0\x9d\x84\x9e", 3, "");
}

static void test_mention_validation(void **state)
{
    struct srm_batch b;
    struct srm_mention m = SRM_MENTION_INIT;
    const char *why = NULL;

    srm_batch_init(&b, 7, "src", "mastodon");
    assert_true(srm_batch_empty(&b));
    m.text = "hi";
    assert_int_equal(srm_batch_add_mention(&b, &m, &why), SRM_E_BADREC);
    assert_string_equal(why, "remote_id missing");
    m.remote_id = "";
    assert_int_equal(srm_batch_add_mention(&b, &m, &why), SRM_E_BADREC);
    assert_string_equal(why, "remote_id missing");

    char *long_id = srm_xmalloc(SRM_REC_MAX_ID + 2);
    memset(long_id, 'x', SRM_REC_MAX_ID + 1);
    long_id[SRM_REC_MAX_ID + 1] = '\0';
    m.remote_id = long_id;
    assert_int_equal(srm_batch_add_mention(&b, &m, &why), SRM_E_BADREC);
    assert_string_equal(why, "remote_id too long");
    m.remote_id = "1";
    m.network = long_id;
    assert_int_equal(srm_batch_add_mention(&b, &m, &why), SRM_E_BADREC);
    assert_string_equal(why, "network too long");
    free(long_id);
    assert_int_equal(b.mentions.n, 0);

    /* network NULL becomes the plugin's name; long text is cut. */
    char *text = srm_xmalloc(SRM_REC_MAX_TEXT + 100);
    memset(text, 'y', SRM_REC_MAX_TEXT + 99);
    text[SRM_REC_MAX_TEXT + 99] = '\0';
    m.network = NULL;
    m.text = text;
    m.url = "";
    m.author_id = "u1";
    assert_int_equal(srm_batch_add_mention(&b, &m, &why), 0);
    free(text);
    assert_int_equal(b.mentions.n, 1);
    assert_string_equal(b.mentions.items[0].network, "mastodon");
    assert_string_equal(b.mentions.items[0].author_id, "u1");
    assert_int_equal(strlen(b.mentions.items[0].text), SRM_REC_MAX_TEXT);
    assert_null(b.mentions.items[0].url); /* empty means absent */
    assert_false(srm_batch_empty(&b));
    assert_int_equal(srm_batch_records(&b), 1);
    srm_batch_fini(&b);
}

static void test_contact_interaction_validation(void **state)
{
    struct srm_batch b;
    struct srm_contact c = SRM_CONTACT_INIT;
    struct srm_interaction in = SRM_INTERACTION_INIT;
    const char *why = NULL;

    srm_batch_init(&b, 1, "src", "github");
    c.remote_id = "42";
    c.relation = (enum srm_relation)9;
    assert_int_equal(srm_batch_add_contact(&b, &c, &why), SRM_E_BADREC);
    assert_string_equal(why, "relation invalid");
    c.relation = SRM_REL_FOLLOWING;
    assert_int_equal(srm_batch_add_contact(&b, &c, &why), 0);
    assert_int_equal(b.contacts.items[0].relation, SRM_REL_FOLLOWING);

    in.remote_id = "<msg@x>";
    in.identity_id = "bob@example.org";
    assert_int_equal(srm_batch_add_interaction(&b, &in, &why), SRM_E_BADREC);
    assert_string_equal(why, "direction invalid");
    in.direction = SRM_DIR_OUT;
    in.identity_id = NULL;
    assert_int_equal(srm_batch_add_interaction(&b, &in, &why), SRM_E_BADREC);
    assert_string_equal(why, "identity_id missing");
    in.identity_id = "bob@example.org";
    in.summary = "Re: \x01hello\xff";
    assert_int_equal(srm_batch_add_interaction(&b, &in, &why), 0);
    assert_string_equal(b.interactions.items[0].summary, "Re: hello" FFFD);
    assert_int_equal(srm_batch_records(&b), 2);
    srm_batch_fini(&b);
}

static void test_identity_links_and_old_struct(void **state)
{
    struct srm_batch b;
    struct srm_link links[SRM_REC_MAX_LINKS + 5];
    struct srm_identity id = SRM_IDENTITY_INIT;
    const char *why = NULL;

    for (size_t i = 0; i < SRM_ARRAY_LEN(links); i++)
        links[i] = (struct srm_link){.label = "L", .url = "https://x/"};
    links[0].url = NULL; /* skipped, not fatal */
    srm_batch_init(&b, 1, "src", "mastodon");
    id.remote_id = "https://m.example/users/a";
    id.handle = "a@m.example";
    id.followers = 12;
    id.links = links;
    id.n_links = SRM_ARRAY_LEN(links);
    assert_int_equal(srm_batch_add_identity(&b, &id, &why), 0);
    assert_int_equal(b.identities.items[0].n_links, SRM_REC_MAX_LINKS - 1);
    assert_int_equal(b.identities.items[0].followers, 12);
    assert_int_equal(b.identities.items[0].posts, -1);

    /* A plugin built with a shorter struct: the tail is not read. */
    id.struct_size = (uint32_t)offsetof(struct srm_identity, followers);
    id.followers = 99;
    assert_int_equal(srm_batch_add_identity(&b, &id, &why), 0);
    assert_int_equal(b.identities.items[1].followers, -1);
    assert_int_equal(b.identities.items[1].n_links, 0);
    id.struct_size = 4;
    assert_int_equal(srm_batch_add_identity(&b, &id, &why), SRM_E_BADREC);
    srm_batch_fini(&b);
}

/* Two identity records are the same only when every field is. */
static void test_identity_same(void **state)
{
    struct srm_rec_link la = {.label = "Blog", .url = "https://a.example"};
    struct srm_rec_link lb = {.label = "Blog", .url = "https://b.example"};
    struct srm_rec_identity a = {.network = "web", .remote_id = "x",
                                 .handle = "h", .followers = 3,
                                 .following = -1, .posts = -1,
                                 .links = &la, .n_links = 1};
    struct srm_rec_identity b = a;

    (void)state;
    assert_true(srm_rec_identity_same(&a, &b));
    b.display_name = "Name";
    assert_false(srm_rec_identity_same(&a, &b));
    b = a;
    b.followers = 4;
    assert_false(srm_rec_identity_same(&a, &b));
    b = a;
    b.links = &lb;
    assert_false(srm_rec_identity_same(&a, &b));
    b = a;
    b.n_links = 0;
    assert_false(srm_rec_identity_same(&a, &b));
    b = a;
    b.remote_id = "y";
    assert_false(srm_rec_identity_same(&a, &b));
}

static void test_cursors_validators_move(void **state)
{
    struct srm_batch a, b;
    struct srm_mention m = SRM_MENTION_INIT;
    const char *why;

    srm_batch_init(&a, 1, "src", "rss");
    srm_batch_init(&b, 1, "src", "rss");
    srm_batch_set_cursor(&a, "since", "1");
    srm_batch_set_cursor(&a, "since", "2");
    srm_batch_set_cursor(&a, "page", "p");
    assert_int_equal(a.cursors.n, 2);
    assert_string_equal(a.cursors.items[0].value, "2");
    srm_batch_set_validator(&a, "https://f/", "\"e1\"", NULL);
    srm_batch_set_validator(&a, "https://f/", "\"e2\"", "Mon");
    assert_int_equal(a.validators.n, 1);
    assert_string_equal(a.validators.items[0].etag, "\"e2\"");
    assert_false(srm_batch_empty(&a));
    assert_int_equal(srm_batch_records(&a), 0);

    m.remote_id = "r1";
    assert_int_equal(srm_batch_add_mention(&b, &m, &why), 0);
    srm_batch_set_cursor(&b, "since", "3");
    srm_batch_move(&a, &b);
    assert_true(srm_batch_empty(&b));
    assert_int_equal(a.mentions.n, 1);
    assert_int_equal(a.cursors.n, 2);
    assert_string_equal(a.cursors.items[0].value, "3");
    srm_batch_fini(&a);
    srm_batch_fini(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_valid_kept),
        cmocka_unit_test(test_utf8_invalid_replaced),
        cmocka_unit_test(test_utf8_controls_dropped),
        cmocka_unit_test(test_utf8_cut_at_boundary),
        cmocka_unit_test(test_mention_validation),
        cmocka_unit_test(test_contact_interaction_validation),
        cmocka_unit_test(test_identity_links_and_old_struct),
        cmocka_unit_test(test_identity_same),
        cmocka_unit_test(test_cursors_validators_move),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
