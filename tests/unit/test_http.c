/* test_http.c - the HTTP engine against tests/fixtures/http_fixture.py on
 * 127.0.0.1 (port chosen at run time). Each test gets its own loop and
 * engine; teardown destroys the engine and runs the loop until
 * uv_loop_close() succeeds, so a leaked handle fails the test and ASan sees
 * any leaked memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <uv.h>

#include "http.h"
#include "mem.h"

extern char **environ;

/* ------------------------------------------------------------------ */
/* The fixture process */

static struct {
    pid_t pid;
    int port;
    char dir[64];
    char port_file[96];
} fx;

static uint64_t now_ms(void)
{
    return uv_hrtime() / 1000000u;
}

static void fx_url(char *buf, size_t size, const char *path)
{
    snprintf(buf, size, "http://127.0.0.1:%d%s", fx.port, path);
}

/* Blocking fetch of a fixture control endpoint (test side only). */
static size_t fx_collect(char *data, size_t size, size_t n, void *ud)
{
    char **buf = ud;
    size_t old = *buf ? strlen(*buf) : 0;

    *buf = realloc(*buf, old + size * n + 1);
    memcpy(*buf + old, data, size * n);
    (*buf)[old + size * n] = '\0';
    return size * n;
}

static json_t *fx_call(const char *path, bool post)
{
    char url[256], *body = NULL;
    CURL *e = curl_easy_init();
    json_t *j;

    fx_url(url, sizeof(url), path);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, fx_collect);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &body);
    if (post)
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
    assert_int_equal(curl_easy_perform(e), CURLE_OK);
    curl_easy_cleanup(e);
    assert_non_null(body);
    j = json_loads(body, 0, NULL);
    free(body);
    assert_non_null(j);
    return j;
}

static void fx_reset(void)
{
    json_decref(fx_call("/__reset", true));
}

/* stats[key][path] as an integer (0 when absent); key NULL gives the
 * global max_concurrency. */
static long long fx_stat(const char *key, const char *path)
{
    json_t *s = fx_call("/__stats", false);
    long long v;

    if (key == NULL)
        v = json_integer_value(json_object_get(s, "max_concurrency"));
    else
        v = json_integer_value(json_object_get(json_object_get(s, key), path));
    json_decref(s);
    return v;
}

static int group_setup(void **state)
{
    char *argv[6];
    uint64_t deadline;
    int rc;

    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    snprintf(fx.dir, sizeof(fx.dir), "/tmp/srm-test-http-XXXXXX");
    if (mkdtemp(fx.dir) == NULL)
        return -1;
    snprintf(fx.port_file, sizeof(fx.port_file), "%s/port", fx.dir);
    argv[0] = (char *)SRM_PYTHON3;
    argv[1] = (char *)SRM_FIXTURE_DIR "/http_fixture.py";
    argv[2] = (char *)"--port-file";
    argv[3] = fx.port_file;
    argv[4] = NULL;
    rc = posix_spawn(&fx.pid, argv[0], NULL, NULL, argv, environ);
    if (rc != 0) {
        fprintf(stderr, "posix_spawn %s: %s\n", argv[0], strerror(rc));
        return -1;
    }
    /* The fixture renames the file into place once listening. */
    deadline = now_ms() + 15000;
    while (fx.port <= 0 && now_ms() < deadline) {
        FILE *f = fopen(fx.port_file, "r");
        struct timespec ts = {0, 20 * 1000 * 1000};

        if (f != NULL) {
            if (fscanf(f, "%d", &fx.port) != 1)
                fx.port = 0;
            fclose(f);
        }
        if (fx.port <= 0)
            nanosleep(&ts, NULL);
    }
    if (fx.port <= 0) {
        fprintf(stderr, "fixture did not start\n");
        kill(fx.pid, SIGKILL);
        waitpid(fx.pid, NULL, 0);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    uint64_t deadline = now_ms() + 5000;
    int status;

    (void)state;
    kill(fx.pid, SIGTERM);
    while (waitpid(fx.pid, &status, WNOHANG) == 0) {
        struct timespec ts = {0, 10 * 1000 * 1000};

        if (now_ms() > deadline) {
            kill(fx.pid, SIGKILL);
            waitpid(fx.pid, &status, 0);
            break;
        }
        nanosleep(&ts, NULL);
    }
    unlink(fx.port_file);
    rmdir(fx.dir);
    curl_global_cleanup();
    return 0;
}

/* ------------------------------------------------------------------ */
/* Per-test loop and results */

struct t {
    uv_loop_t loop;
    uv_timer_t deadline;
    bool expired;
    struct srm_http *h;
};

struct res {
    int calls;
    int error;
    long status;
    bool not_modified;
    char *body;
    size_t body_len;
    char *error_msg;
    char *effective_url;
    int64_t retry_after;
    char *x_test, *content_type, *location, *etag;
    struct srm_http_stats stats; /* at callback time */
};

static int g_done;
static bool g_in_submit;
static struct srm_http *g_h; /* for callbacks that look at the engine */

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void res_fini(struct res *r)
{
    free(r->body);
    free(r->error_msg);
    free(r->effective_url);
    free(r->x_test);
    free(r->content_type);
    free(r->location);
    free(r->etag);
    memset(r, 0, sizeof(*r));
}

static void on_done(const struct srm_http_resp *resp, void *ud)
{
    struct res *r = ud;

    /* Never from inside srm_http_submit. */
    assert_false(g_in_submit);
    assert_int_equal(resp->struct_size, sizeof(*resp));
    assert_non_null(resp->body);
    assert_int_equal(resp->body[resp->body_len], '\0');
    r->calls++;
    g_done++;
    r->error = resp->error;
    r->status = resp->status;
    r->not_modified = resp->not_modified;
    r->body = malloc(resp->body_len + 1);
    memcpy(r->body, resp->body, resp->body_len + 1);
    r->body_len = resp->body_len;
    r->error_msg = dup_or_null(resp->error_msg);
    r->effective_url = dup_or_null(resp->effective_url);
    r->retry_after = resp->retry_after;
    r->x_test = dup_or_null(srm_http_header(resp, "X-Test"));
    r->content_type = dup_or_null(srm_http_header(resp, "content-type"));
    r->location = dup_or_null(srm_http_header(resp, "LOCATION"));
    r->etag = dup_or_null(srm_http_header(resp, "ETag"));
    if (g_h != NULL)
        srm_http_get_stats(g_h, &r->stats);
    if (resp->error != 0)
        assert_non_null(resp->error_msg);
    else
        assert_null(resp->error_msg);
}

static int submit_full(struct t *t, const struct srm_http_req *req,
                       const struct srm_http_extra *extra, srm_http_cb cb,
                       void *ud)
{
    int rc;

    g_in_submit = true;
    rc = srm_http_submit(t->h, req, extra, cb, ud);
    g_in_submit = false;
    return rc;
}

static void submit_get(struct t *t, const char *path, struct res *r)
{
    char url[256];
    struct srm_http_req req = SRM_HTTP_REQ_INIT;

    fx_url(url, sizeof(url), path);
    req.url = url;
    assert_int_equal(submit_full(t, &req, NULL, on_done, r), 0);
}

static void on_deadline(uv_timer_t *timer)
{
    struct t *t = srm_container_of(timer, struct t, deadline);

    t->expired = true;
}

/* Run the loop until g_done reaches target or timeout_ms passes. */
static void run_until(struct t *t, int target, unsigned timeout_ms)
{
    t->expired = false;
    uv_timer_start(&t->deadline, on_deadline, timeout_ms, 0);
    while (g_done < target && !t->expired)
        uv_run(&t->loop, UV_RUN_ONCE);
    uv_timer_stop(&t->deadline);
    assert_int_equal(g_done, target);
}

static void make_engine(struct t *t, const struct srm_http_opts *opts)
{
    assert_int_equal(srm_http_create(&t->loop, opts, &t->h), 0);
    g_h = t->h;
}

static int setup(void **state)
{
    struct t *t = calloc(1, sizeof(*t));

    assert_int_equal(uv_loop_init(&t->loop), 0);
    uv_timer_init(&t->loop, &t->deadline);
    g_done = 0;
    g_h = NULL;
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    struct t *t = *state;
    uint64_t deadline = now_ms() + 5000;
    int rc;

    srm_http_destroy(t->h);
    g_h = NULL;
    uv_close((uv_handle_t *)&t->deadline, NULL);
    /* The engine frees itself after its last close callback. */
    while ((rc = uv_loop_close(&t->loop)) == UV_EBUSY && now_ms() < deadline)
        uv_run(&t->loop, UV_RUN_NOWAIT);
    assert_int_equal(rc, 0);
    free(t);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Tests */

static void test_get_ok(void **state)
{
    struct t *t = *state;
    struct res r = {0}, g = {0};
    struct srm_http_stats st;
    char url[256];

    make_engine(t, NULL);
    submit_get(t, "/ok", &r);
    submit_get(t, "/gzip", &g);
    srm_http_get_stats(t->h, &st);
    assert_int_equal(st.submitted, 2);
    assert_int_equal(st.queued, 2);
    run_until(t, 2, 5000);

    assert_int_equal(r.calls, 1);
    assert_int_equal(r.error, 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "ok\n");
    assert_int_equal(r.body_len, 3);
    assert_string_equal(r.x_test, "b"); /* X-Test: a, X-Test: b: last wins */
    assert_string_equal(r.content_type, "text/plain");
    assert_null(r.location);
    fx_url(url, sizeof(url), "/ok");
    assert_string_equal(r.effective_url, url);
    assert_int_equal(r.retry_after, -1);
    assert_false(r.not_modified);
    /* Content-Encoding: gzip decoded. */
    assert_int_equal(g.error, 0);
    assert_string_equal(g.body, "{\"compressed\": true}");

    srm_http_get_stats(t->h, &st);
    assert_int_equal(st.completed, 2);
    assert_int_equal(st.failed, 0);
    assert_int_equal(st.in_flight, 0);
    assert_int_equal(st.queued, 0);
    assert_int_equal(st.bytes_in, 3 + strlen("{\"compressed\": true}"));
    res_fini(&r);
    res_fini(&g);
}

static void test_request_headers(void **state)
{
    struct t *t = *state;
    struct res r = {0}, b = {0};
    const char *hdrs[] = {"X-Custom: yes", NULL};
    struct srm_http_req req = SRM_HTTP_REQ_INIT;
    char url[256];
    json_t *j;

    make_engine(t, NULL);
    fx_url(url, sizeof(url), "/headers");
    req.url = url;
    req.headers = hdrs;
    req.bearer_token = "tok123";
    assert_int_equal(submit_full(t, &req, NULL, on_done, &r), 0);
    req = (struct srm_http_req)SRM_HTTP_REQ_INIT;
    req.url = url;
    req.username = "user";
    req.password = "pass";
    assert_int_equal(submit_full(t, &req, NULL, on_done, &b), 0);
    run_until(t, 2, 5000);

    assert_int_equal(r.status, 200);
    j = json_loads(r.body, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "User-Agent")),
                        "srmd/" SRM_VERSION);
    assert_string_equal(json_string_value(json_object_get(j, "Authorization")),
                        "Bearer tok123");
    assert_string_equal(json_string_value(json_object_get(j, "X-Custom")),
                        "yes");
    assert_non_null(strstr(
        json_string_value(json_object_get(j, "Accept-Encoding")), "gzip"));
    json_decref(j);

    j = json_loads(b.body, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "Authorization")),
                        "Basic dXNlcjpwYXNz"); /* user:pass */
    json_decref(j);
    res_fini(&r);
    res_fini(&b);
}

static void test_post_body(void **state)
{
    struct t *t = *state;
    struct res r = {0}, p = {0};
    struct srm_http_req req = SRM_HTTP_REQ_INIT;
    char url[256];
    char body[] = "a=1\0b";
    json_t *j;
    const char *s;

    make_engine(t, NULL);
    fx_url(url, sizeof(url), "/echo");
    req.url = url;
    req.body = body;
    req.body_len = 5;
    assert_int_equal(submit_full(t, &req, NULL, on_done, &r), 0);
    req.method = "PUT";
    req.body = "{}";
    req.body_len = 2;
    assert_int_equal(submit_full(t, &req, NULL, on_done, &p), 0);
    /* The body was copied: scribbling on ours changes nothing sent. */
    memset(body, 'Z', sizeof(body));
    run_until(t, 2, 5000);

    j = json_loads(r.body, JSON_ALLOW_NUL, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "method")),
                        "POST");
    s = json_string_value(json_object_get(j, "body"));
    assert_int_equal(json_string_length(json_object_get(j, "body")), 5);
    assert_memory_equal(s, "a=1\0b", 5);
    json_decref(j);

    j = json_loads(p.body, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "method")), "PUT");
    assert_string_equal(json_string_value(json_object_get(j, "body")), "{}");
    json_decref(j);
    res_fini(&r);
    res_fini(&p);
}

static void test_http_status_not_error(void **state)
{
    struct t *t = *state;
    struct res r = {0}, u = {0}, after = {0};
    struct srm_http_stats st;

    make_engine(t, NULL);
    submit_get(t, "/status/404", &r);
    submit_get(t, "/status/503", &u);
    run_until(t, 2, 5000);
    assert_int_equal(r.error, 0);
    assert_int_equal(r.status, 404);
    assert_null(r.error_msg);
    assert_string_equal(r.body, "{\"status\": 404}");
    /* 503 without Retry-After: no pause. */
    assert_int_equal(u.status, 503);
    assert_int_equal(u.retry_after, -1);
    submit_get(t, "/ok", &after);
    run_until(t, 3, 5000);
    assert_int_equal(after.error, 0);
    assert_int_equal(after.status, 200);
    srm_http_get_stats(t->h, &st);
    assert_int_equal(st.failed, 0);
    res_fini(&r);
    res_fini(&u);
    res_fini(&after);
}

static void test_connection_refused(void **state)
{
    struct t *t = *state;
    struct res r = {0};
    struct srm_http_req req = SRM_HTTP_REQ_INIT;
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof(sa);
    char url[128], port[16];
    int fd;

    /* A port nobody listens on: bound, then closed. */
    fd = socket(AF_INET, SOCK_STREAM, 0);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd);
    snprintf(port, sizeof(port), "%d", ntohs(sa.sin_port));
    snprintf(url, sizeof(url), "http://127.0.0.1:%s/x", port);

    make_engine(t, NULL);
    req.url = url;
    assert_int_equal(submit_full(t, &req, NULL, on_done, &r), 0);
    run_until(t, 1, 5000);
    assert_int_equal(r.error, SRM_E_TRANSPORT);
    assert_int_equal(r.status, 0);
    print_message("refused: %s\n", r.error_msg);
    assert_non_null(strstr(r.error_msg, "127.0.0.1"));
    assert_non_null(strstr(r.error_msg, port));
    assert_non_null(strstr(r.error_msg, "onnect"));
    res_fini(&r);
}

static void test_timeout_and_reset(void **state)
{
    struct t *t = *state;
    struct res r = {0}, x = {0};
    struct srm_http_req req = SRM_HTTP_REQ_INIT;
    char url[256];
    uint64_t start = now_ms();

    make_engine(t, NULL);
    fx_url(url, sizeof(url), "/stall");
    req.url = url;
    req.timeout_ms = 300;
    assert_int_equal(submit_full(t, &req, NULL, on_done, &r), 0);
    submit_get(t, "/reset", &x);
    run_until(t, 2, 5000);
    assert_int_equal(r.error, SRM_E_TIMEOUT);
    assert_non_null(strstr(r.error_msg, "timed out"));
    assert_true(now_ms() - start < 3000);
    assert_int_equal(x.error, SRM_E_TRANSPORT);
    print_message("timeout: %s\nreset: %s\n", r.error_msg, x.error_msg);
    res_fini(&r);
    res_fini(&x);
}

static void test_body_cap(void **state)
{
    struct t *t = *state;
    struct res exact = {0}, over = {0}, chunked = {0}, bomb = {0};
    struct srm_http_req req = SRM_HTTP_REQ_INIT;
    struct srm_http_stats st;
    char url[256];

    make_engine(t, NULL);
    req.url = url;
    req.max_body = 1000;
    fx_url(url, sizeof(url), "/big/1000");
    assert_int_equal(submit_full(t, &req, NULL, on_done, &exact), 0);
    fx_url(url, sizeof(url), "/big/1001");
    assert_int_equal(submit_full(t, &req, NULL, on_done, &over), 0);
    /* No Content-Length: caught while counting. */
    fx_url(url, sizeof(url), "/big/50000?chunked=1");
    assert_int_equal(submit_full(t, &req, NULL, on_done, &chunked), 0);
    /* ~20 KB on the wire, 20 MiB decoded. */
    req.max_body = 1u << 20;
    fx_url(url, sizeof(url), "/gzip-bomb");
    assert_int_equal(submit_full(t, &req, NULL, on_done, &bomb), 0);
    run_until(t, 4, 10000);

    assert_int_equal(exact.error, 0);
    assert_int_equal(exact.body_len, 1000);
    assert_int_equal(over.error, SRM_E_TOOBIG);
    assert_non_null(strstr(over.error_msg, "response body over 1000 bytes"));
    assert_int_equal(over.body_len, 0);
    assert_int_equal(chunked.error, SRM_E_TOOBIG);
    assert_non_null(strstr(chunked.error_msg, "response body over 1000 bytes"));
    assert_int_equal(bomb.error, SRM_E_TOOBIG);
    assert_non_null(strstr(bomb.error_msg, "response body over 1048576 bytes"));
    srm_http_get_stats(t->h, &st);
    /* Nothing past the caps was taken in. */
    assert_true(st.bytes_in <= 1000 + 1000 + 1000 + (1u << 20));
    assert_int_equal(st.failed, 3);
    res_fini(&exact);
    res_fini(&over);
    res_fini(&chunked);
    res_fini(&bomb);
}

static void test_conditional(void **state)
{
    struct t *t = *state;
    struct res plain = {0}, inm = {0}, ims = {0};
    struct srm_http_req req = SRM_HTTP_REQ_INIT;
    struct srm_http_extra ex = {0};
    struct srm_http_stats st;
    char url[256];

    make_engine(t, NULL);
    submit_get(t, "/etag", &plain);
    run_until(t, 1, 5000);
    assert_int_equal(plain.status, 200);
    assert_string_equal(plain.etag, "\"v1\"");
    assert_false(plain.not_modified);

    req.url = url;
    fx_url(url, sizeof(url), "/etag");
    ex.if_none_match = plain.etag;
    assert_int_equal(submit_full(t, &req, &ex, on_done, &inm), 0);
    ex.if_none_match = NULL;
    ex.if_modified_since = "Mon, 01 Jan 2024 00:00:00 GMT";
    fx_url(url, sizeof(url), "/lastmod");
    assert_int_equal(submit_full(t, &req, &ex, on_done, &ims), 0);
    run_until(t, 3, 5000);
    assert_int_equal(inm.error, 0);
    assert_int_equal(inm.status, 304);
    assert_true(inm.not_modified);
    assert_int_equal(inm.body_len, 0);
    assert_int_equal(ims.status, 304);
    assert_true(ims.not_modified);
    srm_http_get_stats(t->h, &st);
    assert_int_equal(st.not_modified, 2);
    res_fini(&plain);
    res_fini(&inm);
    res_fini(&ims);
}

static void on_done_limited(const struct srm_http_resp *resp, void *ud)
{
    struct srm_http_stats st;

    srm_http_get_stats(g_h, &st);
    /* The one completing is already out of the count. */
    assert_true(st.in_flight < 3);
    on_done(resp, ud);
}

static void test_per_host_limit(void **state)
{
    struct t *t = *state;
    struct srm_http_opts o = {.max_per_host = 3};
    struct res r[20] = {{0}};
    struct srm_http_req req = SRM_HTTP_REQ_INIT;
    char url[256];

    fx_reset();
    make_engine(t, &o);
    fx_url(url, sizeof(url), "/slow/150");
    req.url = url;
    for (int i = 0; i < 20; i++)
        assert_int_equal(submit_full(t, &req, NULL, on_done_limited, &r[i]), 0);
    run_until(t, 20, 10000);
    for (int i = 0; i < 20; i++) {
        assert_int_equal(r[i].calls, 1);
        assert_int_equal(r[i].status, 200);
        res_fini(&r[i]);
    }
    assert_int_equal(fx_stat("requests", "/slow/150"), 20);
    assert_int_equal(fx_stat("max_concurrency_by_path", "/slow/150"), 3);
}

static void test_global_limit(void **state)
{
    struct t *t = *state;
    struct srm_http_opts o = {.max_in_flight = 2, .max_per_host = 6};
    struct res r[8] = {{0}};
    struct srm_http_req req = SRM_HTTP_REQ_INIT;
    char url[256];

    fx_reset();
    make_engine(t, &o);
    req.url = url;
    /* Two host keys for one server: the global cap binds across them. */
    for (int i = 0; i < 8; i++) {
        snprintf(url, sizeof(url), "http://%s:%d/slow/151",
                 i % 2 ? "localhost" : "127.0.0.1", fx.port);
        assert_int_equal(submit_full(t, &req, NULL, on_done, &r[i]), 0);
    }
    run_until(t, 8, 10000);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(r[i].status, 200);
        res_fini(&r[i]);
    }
    assert_int_equal(fx_stat("requests", "/slow/151"), 8);
    assert_int_equal(fx_stat(NULL, NULL), 2);
}

static void test_retry_after_pauses_host(void **state)
{
    struct t *t = *state;
    struct srm_http_opts o = {.max_per_host = 1};
    struct res limited = {0}, q1 = {0}, q2 = {0}, fresh = {0}, other = {0};
    char url[256];
    struct srm_http_req req = SRM_HTTP_REQ_INIT;

    fx_reset();
    make_engine(t, &o);
    submit_get(t, "/retry-after/30", &limited);
    /* Queued behind it (one per host). */
    submit_get(t, "/ok", &q1);
    submit_get(t, "/json", &q2);
    run_until(t, 3, 5000);
    assert_int_equal(limited.error, 0);
    assert_int_equal(limited.status, 429);
    assert_int_equal(limited.retry_after, 30);
    assert_int_equal(q1.error, SRM_E_RATELIMIT);
    assert_true(q1.retry_after > 0 && q1.retry_after <= 30);
    print_message("queued: %s\n", q1.error_msg);
    assert_non_null(strstr(q1.error_msg, "rate limited by http://127.0.0.1:"));
    assert_non_null(strstr(q1.error_msg, " s"));
    assert_int_equal(q2.error, SRM_E_RATELIMIT);

    /* Submitted after the pause: fails fast, from the loop. */
    submit_get(t, "/ok", &fresh);
    assert_int_equal(fresh.calls, 0);
    /* Another host is not paused. */
    snprintf(url, sizeof(url), "http://localhost:%d/json", fx.port);
    req.url = url;
    assert_int_equal(submit_full(t, &req, NULL, on_done, &other), 0);
    run_until(t, 5, 5000);
    assert_int_equal(fresh.error, SRM_E_RATELIMIT);
    assert_true(fresh.retry_after > 0 && fresh.retry_after <= 30);
    assert_int_equal(other.error, 0);
    assert_int_equal(other.status, 200);

    assert_int_equal(fx_stat("requests", "/retry-after/30"), 1);
    assert_int_equal(fx_stat("requests", "/ok"), 0);
    assert_int_equal(fx_stat("requests", "/json"), 1); /* via localhost */
    res_fini(&limited);
    res_fini(&q1);
    res_fini(&q2);
    res_fini(&fresh);
    res_fini(&other);
}

static void check_ratelimit_route(struct t *t, const char *path, int64_t lo,
                                  int64_t hi)
{
    struct res r = {0}, next = {0};

    make_engine(t, NULL);
    g_done = 0;
    submit_get(t, path, &r);
    run_until(t, 1, 5000);
    assert_int_equal(r.error, 0);
    assert_int_equal(r.status, 200);
    print_message("%s: retry_after %lld\n", path, (long long)r.retry_after);
    assert_true(r.retry_after >= lo && r.retry_after <= hi);
    submit_get(t, "/ok", &next);
    run_until(t, 2, 5000);
    assert_int_equal(next.error, SRM_E_RATELIMIT);
    srm_http_destroy(t->h);
    t->h = NULL;
    res_fini(&r);
    res_fini(&next);
}

static void test_ratelimit_headers(void **state)
{
    struct t *t = *state;

    check_ratelimit_route(t, "/ratelimit-mastodon?in=100", 98, 101);
    check_ratelimit_route(t, "/ratelimit-github?in=100", 98, 101);
    check_ratelimit_route(t, "/ratelimit-ietf?in=100", 100, 100);
}

static int owner_a, owner_b;
static struct res chained;
static bool chained_submitted;

static void on_done_chain(const struct srm_http_resp *resp, void *ud)
{
    struct srm_http_req req = SRM_HTTP_REQ_INIT;
    char url[256];

    on_done(resp, ud);
    assert_int_equal(resp->error, SRM_E_CANCELLED);
    /* A callback may submit: the first cancelled one does. */
    if (!chained_submitted) {
        chained_submitted = true;
        fx_url(url, sizeof(url), "/json");
        req.url = url;
        assert_int_equal(srm_http_submit(g_h, &req, NULL, on_done, &chained),
                         0);
    }
}

static void test_cancel_owner(void **state)
{
    struct t *t = *state;
    struct srm_http_opts o = {.max_per_host = 4};
    struct srm_http_extra ea = {.owner = &owner_a}, eb = {.owner = &owner_b};
    struct res a[5] = {{0}}, b = {0};
    struct srm_http_req req = SRM_HTTP_REQ_INIT;
    struct srm_http_stats st;
    char url[256];
    uint64_t start = now_ms();

    memset(&chained, 0, sizeof(chained));
    chained_submitted = false;
    make_engine(t, &o);
    req.url = url;
    fx_url(url, sizeof(url), "/slow/3000");
    for (int i = 0; i < 3; i++)
        assert_int_equal(submit_full(t, &req, &ea, on_done_chain, &a[i]), 0);
    fx_url(url, sizeof(url), "/ok");
    assert_int_equal(submit_full(t, &req, &eb, on_done, &b), 0);
    fx_url(url, sizeof(url), "/slow/3000");
    for (int i = 3; i < 5; i++) /* queued: the host has 4 slots */
        assert_int_equal(submit_full(t, &req, &ea, on_done_chain, &a[i]), 0);
    run_until(t, 1, 5000);
    assert_int_equal(b.status, 200);
    srm_http_get_stats(t->h, &st);
    assert_int_equal(st.in_flight + st.queued, 5);

    srm_http_cancel_owner(t->h, &owner_a);
    /* Every callback has run by now. */
    for (int i = 0; i < 5; i++) {
        assert_int_equal(a[i].calls, 1);
        assert_int_equal(a[i].error, SRM_E_CANCELLED);
        res_fini(&a[i]);
    }
    srm_http_get_stats(t->h, &st);
    assert_int_equal(st.in_flight, 0);
    assert_int_equal(st.queued, 1); /* the chained request */
    run_until(t, 7, 5000);
    assert_int_equal(chained.error, 0);
    assert_int_equal(chained.status, 200);
    assert_true(now_ms() - start < 2500);
    res_fini(&b);
    res_fini(&chained);
}

static struct res g_stalled[2];

static void on_done_cancel_a(const struct srm_http_resp *resp, void *ud)
{
    on_done(resp, ud);
    srm_http_cancel_owner(g_h, &owner_a);
    assert_int_equal(g_stalled[0].error, SRM_E_CANCELLED);
    assert_int_equal(g_stalled[1].error, SRM_E_CANCELLED);
}

static void on_done_destroy(const struct srm_http_resp *resp, void *ud)
{
    on_done(resp, ud);
    srm_http_destroy(g_h);
    /* The /stall still running was cancelled inside destroy. */
    assert_int_equal(g_stalled[0].calls, 1);
    assert_int_equal(g_stalled[0].error, SRM_E_CANCELLED);
}

static void test_cancel_and_destroy_from_callback(void **state)
{
    struct t *t = *state;
    struct srm_http_extra ea = {.owner = &owner_a};
    struct srm_http_req req = SRM_HTTP_REQ_INIT;
    struct res x = {0}, y = {0};
    char url[256];

    memset(g_stalled, 0, sizeof(g_stalled));
    make_engine(t, NULL);
    req.url = url;
    fx_url(url, sizeof(url), "/stall");
    for (int i = 0; i < 2; i++)
        assert_int_equal(submit_full(t, &req, &ea, on_done, &g_stalled[i]), 0);
    fx_url(url, sizeof(url), "/ok");
    assert_int_equal(submit_full(t, &req, NULL, on_done_cancel_a, &x), 0);
    run_until(t, 3, 5000);
    assert_int_equal(x.status, 200);
    res_fini(&g_stalled[0]);
    res_fini(&g_stalled[1]);

    fx_url(url, sizeof(url), "/stall");
    assert_int_equal(submit_full(t, &req, NULL, on_done, &g_stalled[0]), 0);
    fx_url(url, sizeof(url), "/json");
    assert_int_equal(submit_full(t, &req, NULL, on_done_destroy, &y), 0);
    run_until(t, 5, 5000);
    t->h = NULL; /* destroyed by the callback */
    g_h = NULL;
    assert_int_equal(y.status, 200);
    res_fini(&g_stalled[0]);
    res_fini(&x);
    res_fini(&y);
}

static void test_redirects(void **state)
{
    struct t *t = *state;
    struct res ok = {0}, loop = {0}, no = {0};
    struct srm_http_req req = SRM_HTTP_REQ_INIT;
    char url[256];
    size_t n;

    fx_reset();
    make_engine(t, NULL);
    submit_get(t, "/redirect/3", &ok);
    submit_get(t, "/redirect-loop", &loop);
    fx_url(url, sizeof(url), "/redirect/1");
    req.url = url;
    req.flags = SRM_HTTP_NO_REDIRECT;
    assert_int_equal(submit_full(t, &req, NULL, on_done, &no), 0);
    run_until(t, 3, 5000);

    assert_int_equal(ok.error, 0);
    assert_int_equal(ok.status, 200);
    n = strlen(ok.effective_url);
    assert_true(n > 11);
    assert_string_equal(ok.effective_url + n - 11, "/redirect/0");
    assert_string_equal(ok.body, "{\"redirected\": true}");
    assert_int_equal(loop.error, SRM_E_TRANSPORT);
    print_message("loop: %s\n", loop.error_msg);
    assert_non_null(strstr(loop.error_msg, "edirect"));
    assert_int_equal(fx_stat("requests", "/redirect-loop"), 6);
    assert_int_equal(no.error, 0);
    assert_int_equal(no.status, 302);
    assert_string_equal(no.location, "/redirect/0");
    res_fini(&ok);
    res_fini(&loop);
    res_fini(&no);
}

struct stream {
    size_t total, chunks;
    bool stop;
};

static struct stream g_stream[3];

static bool on_chunk_n(const char *data, size_t len, void *ud, int i)
{
    for (size_t k = 0; k < len; k++)
        assert_int_equal(data[k], 'x');
    g_stream[i].total += len;
    g_stream[i].chunks++;
    (void)ud;
    return !g_stream[i].stop;
}

static bool on_chunk0(const char *data, size_t len, void *ud)
{
    return on_chunk_n(data, len, ud, 0);
}

static bool on_chunk1(const char *data, size_t len, void *ud)
{
    return on_chunk_n(data, len, ud, 1);
}

static bool on_chunk2(const char *data, size_t len, void *ud)
{
    return on_chunk_n(data, len, ud, 2);
}

static void test_streaming(void **state)
{
    struct t *t = *state;
    struct res all = {0}, stopped = {0}, capped = {0};
    struct srm_http_req req = SRM_HTTP_REQ_INIT;
    struct srm_http_extra ex = {0};
    char url[256];

    memset(g_stream, 0, sizeof(g_stream));
    make_engine(t, NULL);
    req.url = url;
    fx_url(url, sizeof(url), "/big/300000");
    ex.on_chunk = on_chunk0;
    assert_int_equal(submit_full(t, &req, &ex, on_done, &all), 0);
    g_stream[1].stop = true;
    ex.on_chunk = on_chunk1;
    assert_int_equal(submit_full(t, &req, &ex, on_done, &stopped), 0);
    fx_url(url, sizeof(url), "/big/300000?chunked=1");
    req.max_body = 100000;
    ex.on_chunk = on_chunk2;
    assert_int_equal(submit_full(t, &req, &ex, on_done, &capped), 0);
    run_until(t, 3, 5000);

    assert_int_equal(all.error, 0);
    assert_int_equal(g_stream[0].total, 300000);
    assert_true(g_stream[0].chunks >= 2);
    assert_int_equal(all.body_len, 0); /* not buffered */
    assert_int_equal(stopped.error, SRM_E_CANCELLED);
    assert_int_equal(g_stream[1].chunks, 1);
    assert_int_equal(capped.error, SRM_E_TOOBIG);
    assert_true(g_stream[2].total <= 100000);
    res_fini(&all);
    res_fini(&stopped);
    res_fini(&capped);
}

static void test_destroy_in_flight(void **state)
{
    struct t *t = *state;
    struct srm_http_opts o = {.max_per_host = 2};
    struct res r[5] = {{0}};
    uint64_t deadline;

    fx_reset();
    make_engine(t, &o);
    for (int i = 0; i < 5; i++)
        submit_get(t, "/stall", &r[i]);
    /* Wait until the fixture holds two of them, so sockets are open. */
    deadline = now_ms() + 5000;
    while (fx_stat("requests", "/stall") < 2 && now_ms() < deadline) {
        uv_timer_start(&t->deadline, on_deadline, 20, 0);
        uv_run(&t->loop, UV_RUN_ONCE);
    }
    assert_int_equal(fx_stat("requests", "/stall"), 2);
    srm_http_destroy(t->h);
    t->h = NULL;
    g_h = NULL;
    for (int i = 0; i < 5; i++) {
        assert_int_equal(r[i].calls, 1);
        assert_int_equal(r[i].error, SRM_E_CANCELLED);
        res_fini(&r[i]);
    }
    /* teardown runs the loop until uv_loop_close() succeeds */
}

static void test_submit_invalid(void **state)
{
    struct t *t = *state;
    struct res r = {0};
    struct srm_http_req req = SRM_HTTP_REQ_INIT;
    struct srm_http_stats st;

    make_engine(t, NULL);
    assert_int_equal(submit_full(t, &req, NULL, on_done, &r), -EINVAL);
    req.url = "not a url";
    assert_int_equal(submit_full(t, &req, NULL, on_done, &r), -EINVAL);
    req.url = "http://[::1";
    assert_int_equal(submit_full(t, &req, NULL, on_done, &r), -EINVAL);
    req.url = "http://127.0.0.1/";
    req.struct_size = 0;
    assert_int_equal(submit_full(t, &req, NULL, on_done, &r), -EINVAL);
    uv_run(&t->loop, UV_RUN_NOWAIT);
    assert_int_equal(r.calls, 0);
    srm_http_get_stats(t->h, &st);
    assert_int_equal(st.submitted, 0);
}

static void test_connection_reuse(void **state)
{
    struct t *t = *state;
    struct res a = {0}, b = {0};
    json_t *s, *log;
    long long p1, p2;

    fx_reset();
    make_engine(t, NULL);
    submit_get(t, "/ok", &a);
    run_until(t, 1, 5000);
    submit_get(t, "/ok", &b);
    run_until(t, 2, 5000);
    s = fx_call("/__stats", false);
    log = json_object_get(s, "log");
    assert_int_equal(json_array_size(log), 2);
    p1 = json_integer_value(json_object_get(json_array_get(log, 0), "client_port"));
    p2 = json_integer_value(json_object_get(json_array_get(log, 1), "client_port"));
    assert_true(p1 > 0);
    assert_int_equal(p1, p2);
    json_decref(s);
    res_fini(&a);
    res_fini(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_get_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_post_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_status_not_error, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_connection_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_timeout_and_reset, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_body_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conditional, setup, teardown),
        cmocka_unit_test_setup_teardown(test_per_host_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_global_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_after_pauses_host, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_ratelimit_headers, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cancel_owner, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_and_destroy_from_callback,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_redirects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_streaming, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_in_flight, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_submit_invalid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connection_reuse, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
