/* test_ctl_parse.c - line framing and JSON-RPC request parsing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ctl_parse.h"
#include "mem.h"
#include "rpc.h"

/* Take the next line and compare it with want. */
static void expect_line(struct srm_ctl_framer *f, const char *want)
{
    const char *line = NULL;
    size_t len = 0;

    assert_int_equal(srm_ctl_framer_next(f, &line, &len), SRM_CTL_FRAME_LINE);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(line, want, len);
}

static void expect_none(struct srm_ctl_framer *f)
{
    const char *line;
    size_t len;

    assert_int_equal(srm_ctl_framer_next(f, &line, &len), SRM_CTL_FRAME_NONE);
}

static void test_framer_chunks(void **state)
{
    struct srm_ctl_framer f;
    const char *text = "{\"a\":1}\r\n\n   \n{\"b\":2}\n{\"c\":";

    srm_ctl_framer_init(&f, 100);
    /* One byte at a time: lines appear only once their newline has come. */
    for (size_t i = 0; i < 8; i++) {
        srm_ctl_framer_feed(&f, text + i, 1);
        expect_none(&f);
    }
    srm_ctl_framer_feed(&f, text + 8, 1);
    expect_line(&f, "{\"a\":1}"); /* "\r\n" stripped */
    expect_none(&f);
    srm_ctl_framer_feed(&f, text + 9, strlen(text) - 9);
    expect_line(&f, "{\"b\":2}"); /* blank lines skipped */
    expect_none(&f);
    assert_int_equal(srm_ctl_framer_pending(&f), strlen("{\"c\":"));
    srm_ctl_framer_feed(&f, "3}", 2);
    expect_none(&f);
    srm_ctl_framer_finish(&f); /* EOF ends the last line */
    expect_line(&f, "{\"c\":3}");
    expect_none(&f);
    assert_int_equal(srm_ctl_framer_pending(&f), 0);
    srm_ctl_framer_fini(&f);
}

static void test_framer_too_long(void **state)
{
    struct srm_ctl_framer f;
    const char *line;
    size_t len;
    char big[300];

    memset(big, 'x', sizeof(big));
    srm_ctl_framer_init(&f, 16);
    srm_ctl_framer_feed(&f, "short\n", 6);
    /* Over-long line in several chunks, with its newline in the last one,
     * then a normal line in the same chunk. */
    srm_ctl_framer_feed(&f, big, 10);
    srm_ctl_framer_feed(&f, big, 100);
    assert_true(srm_ctl_framer_pending(&f) <= 16 + 6);
    srm_ctl_framer_feed(&f, big, 190);
    srm_ctl_framer_feed(&f, "xx\nafter\n", 9);
    expect_line(&f, "short");
    assert_int_equal(srm_ctl_framer_next(&f, &line, &len),
                     SRM_CTL_FRAME_TOO_LONG);
    expect_line(&f, "after");
    expect_none(&f);

    /* Two over-long lines in a row: two reports, in order. Exactly the
     * limit is fine. */
    srm_ctl_framer_feed(&f, big, 17);
    srm_ctl_framer_feed(&f, "\n", 1);
    srm_ctl_framer_feed(&f, big, 20);
    srm_ctl_framer_feed(&f, "\n", 1);
    srm_ctl_framer_feed(&f, big, 16);
    srm_ctl_framer_feed(&f, "\n", 1);
    assert_int_equal(srm_ctl_framer_next(&f, &line, &len),
                     SRM_CTL_FRAME_TOO_LONG);
    assert_int_equal(srm_ctl_framer_next(&f, &line, &len),
                     SRM_CTL_FRAME_TOO_LONG);
    assert_int_equal(srm_ctl_framer_next(&f, &line, &len), SRM_CTL_FRAME_LINE);
    assert_int_equal(len, 16);
    expect_none(&f);
    srm_ctl_framer_fini(&f);
}

/* Parse text expecting failure with code; returns the error's id (new ref
 * or NULL). */
static json_t *parse_fail(const char *text, int code, const char *needle)
{
    struct srm_ctl_request req;
    struct srm_ctl_error err;
    json_t *id;

    assert_int_equal(srm_ctl_request_parse(text, strlen(text), &req, &err),
                     -EINVAL);
    assert_int_equal(err.code, code);
    assert_null(req.root);
    if (needle && strstr(err.message, needle) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", err.message, needle);
    id = err.id;
    err.id = NULL;
    srm_ctl_error_fini(&err);
    return id;
}

static void test_request_ok(void **state)
{
    struct srm_ctl_request req;
    struct srm_ctl_error err;
    const char *t1 = "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"sources.show\","
                     "\"params\":{\"name\":\"hn\"}}";
    const char *t2 = "{\"jsonrpc\":\"2.0\",\"id\":\"abc\",\"method\":\"status\"}";
    const char *t3 = "{\"jsonrpc\":\"2.0\",\"method\":\"x.y\",\"params\":[1]}";

    assert_int_equal(srm_ctl_request_parse(t1, strlen(t1), &req, &err), 0);
    assert_string_equal(req.method, "sources.show");
    assert_int_equal(json_integer_value(req.id), 7);
    assert_string_equal(json_string_value(json_object_get(req.params, "name")),
                        "hn");
    srm_ctl_request_fini(&req);

    assert_int_equal(srm_ctl_request_parse(t2, strlen(t2), &req, &err), 0);
    assert_string_equal(json_string_value(req.id), "abc");
    assert_null(req.params);
    srm_ctl_request_fini(&req);

    /* No id: a notification. */
    assert_int_equal(srm_ctl_request_parse(t3, strlen(t3), &req, &err), 0);
    assert_null(req.id);
    assert_true(json_is_array(req.params));
    srm_ctl_request_fini(&req);
}

static void test_request_errors(void **state)
{
    json_t *id;

    assert_null(parse_fail("{\"jsonrpc\":\"2.0\",", SRM_RPC_PARSE_ERROR,
                           "parse error"));
    assert_null(parse_fail("not json", SRM_RPC_PARSE_ERROR, NULL));
    assert_null(parse_fail("\"str\"", SRM_RPC_INVALID_REQUEST, "object"));
    assert_null(parse_fail("42", SRM_RPC_INVALID_REQUEST, "object"));
    assert_null(parse_fail("[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"a\"}]",
                           SRM_RPC_INVALID_REQUEST,
                           "batch requests are not supported"));
    assert_null(parse_fail("{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"a\"}",
                           SRM_RPC_INVALID_REQUEST, "id"));
    assert_null(parse_fail("{\"jsonrpc\":\"2.0\",\"id\":true,\"method\":\"a\"}",
                           SRM_RPC_INVALID_REQUEST, "id"));
    /* Once the id is known it is echoed. */
    id = parse_fail("{\"jsonrpc\":\"1.0\",\"id\":5,\"method\":\"a\"}",
                    SRM_RPC_INVALID_REQUEST, "jsonrpc");
    assert_int_equal(json_integer_value(id), 5);
    json_decref(id);
    id = parse_fail("{\"id\":\"q\",\"method\":\"a\"}", SRM_RPC_INVALID_REQUEST,
                    "jsonrpc");
    assert_string_equal(json_string_value(id), "q");
    json_decref(id);
    id = parse_fail("{\"jsonrpc\":\"2.0\",\"id\":6}", SRM_RPC_INVALID_REQUEST,
                    "method is missing");
    assert_int_equal(json_integer_value(id), 6);
    json_decref(id);
    id = parse_fail("{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":3}",
                    SRM_RPC_INVALID_REQUEST, "method must be a string");
    json_decref(id);
    id = parse_fail("{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"a\","
                    "\"params\":\"x\"}", SRM_RPC_INVALID_REQUEST, "params");
    json_decref(id);
    /* Invalid UTF-8 is a parse error, not a crash. */
    assert_null(parse_fail("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\xff\"}",
                           SRM_RPC_PARSE_ERROR, NULL));
}

static void test_depth_limit(void **state)
{
    char text[1024];
    size_t n = 0;
    struct srm_ctl_request req;
    struct srm_ctl_error err;

    /* 64 levels in total pass; 65 do not. */
    n = (size_t)sprintf(text, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"a\","
                              "\"params\":");
    for (int i = 0; i < 63; i++)
        text[n++] = '[';
    for (int i = 0; i < 63; i++)
        text[n++] = ']';
    text[n++] = '}';
    assert_int_equal(srm_ctl_request_parse(text, n, &req, &err), 0);
    srm_ctl_request_fini(&req);
    assert_false(srm_ctl_too_deep(text, n, SRM_CTL_MAX_DEPTH));
    assert_true(srm_ctl_too_deep("[[[", 3, 2));
    /* Brackets inside strings, escaped quotes included, do not count. */
    assert_false(srm_ctl_too_deep("[\"[[[\\\"[[[\"]", 12, 1));

    /* 100000 levels: refused by the scan before jansson recurses. */
    size_t deep = 100000;
    char *bomb = srm_xmalloc(deep * 2);
    memset(bomb, '[', deep);
    memset(bomb + deep, ']', deep);
    assert_int_equal(srm_ctl_request_parse(bomb, deep * 2, &req, &err),
                     -EINVAL);
    assert_int_equal(err.code, SRM_RPC_PARSE_ERROR);
    assert_non_null(strstr(err.message, "deeper than 64"));
    srm_ctl_error_fini(&err);
    free(bomb);
}

static void test_huge_numbers(void **state)
{
    json_t *id;
    struct srm_ctl_request req;
    struct srm_ctl_error err;
    const char *big = "{\"jsonrpc\":\"2.0\",\"id\":1e999,\"method\":\"a\"}";
    const char *ok = "{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"a\","
                     "\"params\":{\"n\":-9223372036854775808}}";

    id = parse_fail("{\"jsonrpc\":\"2.0\",\"id\":"
                    "123456789012345678901234567890,\"method\":\"a\"}",
                    SRM_RPC_PARSE_ERROR, NULL);
    assert_null(id);
    assert_int_equal(srm_ctl_request_parse(big, strlen(big), &req, &err),
                     -EINVAL);
    assert_int_equal(err.code, SRM_RPC_PARSE_ERROR);
    srm_ctl_error_fini(&err);
    assert_int_equal(srm_ctl_request_parse(ok, strlen(ok), &req, &err), 0);
    assert_true(json_is_real(req.id));
    srm_ctl_request_fini(&req);
}

static void test_builders(void **state)
{
    size_t len;
    char *line;
    json_t *id = json_string("x\ny");
    json_t *back;

    line = srm_ctl_result_line(id, json_pack("{s:s}", "k", "a\nb"), &len);
    assert_int_equal(len, strlen(line));
    assert_int_equal(line[len - 1], '\n');
    assert_null(memchr(line, '\n', len - 1)); /* one line, whatever inside */
    back = json_loads(line, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(back, "jsonrpc")),
                        "2.0");
    assert_true(json_equal(json_object_get(back, "id"), id));
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(back, "result"), "k")),
        "a\nb");
    json_decref(back);
    free(line);

    line = srm_ctl_result_line(NULL, NULL, &len);
    assert_string_equal(line, "{\"jsonrpc\":\"2.0\",\"id\":null,\"result\":{}}\n");
    free(line);

    line = srm_ctl_error_line(id, SRM_RPC_NOT_FOUND, "no source named x",
                              json_pack("{s:i}", "n", 1), &len);
    back = json_loads(line, 0, NULL);
    json_t *e = json_object_get(back, "error");
    assert_int_equal(json_integer_value(json_object_get(e, "code")), -32002);
    assert_string_equal(json_string_value(json_object_get(e, "message")),
                        "no source named x");
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(e, "data"), "n")), 1);
    assert_true(json_equal(json_object_get(back, "id"), id));
    json_decref(back);
    free(line);

    line = srm_ctl_notify_line("watch.mention", json_pack("{s:i}", "id", 3),
                               &len);
    assert_string_equal(line, "{\"jsonrpc\":\"2.0\",\"method\":\"watch.mention\","
                              "\"params\":{\"id\":3}}\n");
    assert_int_equal(len, strlen(line));
    free(line);
    json_decref(id);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_framer_chunks),
        cmocka_unit_test(test_framer_too_long),
        cmocka_unit_test(test_request_ok),
        cmocka_unit_test(test_request_errors),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_huge_numbers),
        cmocka_unit_test(test_builders),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
