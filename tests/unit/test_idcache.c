/* test_idcache.c - the writer's per-batch identity cache. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "idcache.h"
#include "record.h"

static void test_put_get_overwrite(void **state)
{
    struct srm_idcache *c = srm_idcache_create();
    struct srm_rec_identity rec = {0};
    const struct srm_rec_identity *got = &rec;
    int64_t iid = 0, pid = 0;

    (void)state;
    assert_false(srm_idcache_get(c, "mastodon", "a", &iid, &pid, NULL));
    srm_idcache_put(c, "mastodon", "a", 1, 10, NULL);
    srm_idcache_put(c, "bluesky", "a", 2, 20, &rec);
    assert_true(srm_idcache_get(c, "mastodon", "a", &iid, &pid, &got));
    assert_int_equal(iid, 1);
    assert_int_equal(pid, 10);
    assert_null(got);
    /* Same remote id on another network is another identity. */
    assert_true(srm_idcache_get(c, "bluesky", "a", &iid, &pid, &got));
    assert_int_equal(iid, 2);
    assert_ptr_equal(got, &rec);
    /* The key "ab" + "c" must not meet "a" + "bc". */
    srm_idcache_put(c, "ab", "c", 3, 30, NULL);
    assert_false(srm_idcache_get(c, "a", "bc", &iid, &pid, NULL));
    srm_idcache_put(c, "mastodon", "a", 4, 40, NULL);
    assert_true(srm_idcache_get(c, "mastodon", "a", &iid, &pid, NULL));
    assert_int_equal(iid, 4);
    srm_idcache_clear(c);
    assert_false(srm_idcache_get(c, "mastodon", "a", &iid, &pid, NULL));
    srm_idcache_destroy(c);
    srm_idcache_destroy(NULL);
}

/* Growth keeps every entry. */
static void test_many(void **state)
{
    enum { N = 5000 };
    static char keys[N][16];
    struct srm_idcache *c = srm_idcache_create();
    int64_t iid, pid;

    (void)state;
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < N; i++) {
            snprintf(keys[i], sizeof(keys[i]), "id%d", i);
            srm_idcache_put(c, "web", keys[i], i, i * 2, NULL);
        }
        for (int i = 0; i < N; i++) {
            assert_true(srm_idcache_get(c, "web", keys[i], &iid, &pid, NULL));
            assert_int_equal(iid, i);
            assert_int_equal(pid, i * 2);
        }
        assert_false(srm_idcache_get(c, "web", "id5000", &iid, &pid, NULL));
        srm_idcache_clear(c);
    }
    srm_idcache_destroy(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_get_overwrite),
        cmocka_unit_test(test_many),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
