/* test_ctl_server.c - the control socket end to end: the server runs on a
 * uv loop in the test thread, a client thread drives it with blocking
 * sockets (every read bounded by SO_RCVTIMEO) and reports what it saw. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctl_server.h"
#include "mem.h"
#include "rpc.h"

/* ---- Fixture: server, loop, method table ------------------------------ */

enum role { ROLE_NOBODY, ROLE_MEMBER, ROLE_ADMIN };

struct fx {
    uv_loop_t loop;
    uv_async_t done;
    struct srm_ctl_server *server;
    struct srm_ctl_opts opts;
    char dir[64];
    char path[128];
    enum role role;
    char *(*scenario)(struct fx *);
    char *error;          /* what the client thread found wrong, or NULL */
    bool thread_done;
    int later_wanted;     /* stop only once this many test.later answered */
    int later_answered;
    int later_detached;   /* answered after the client had gone */
    bool stop_on_later;   /* test.later stops the server while pending */
    int hooks_run;
};

static struct fx *g_fx;

static void identify(struct srm_caller *caller, void *ud)
{
    struct fx *fx = ud;

    caller->is_member = fx->role != ROLE_NOBODY && caller->uid == getuid();
    caller->is_admin = fx->role == ROLE_ADMIN && caller->uid == getuid();
}

static void m_echo(struct srm_rpc_call *call, json_t *params)
{
    srm_rpc_reply(call, json_pack("{s:O,s:s}", "params", params, "user",
                                  srm_rpc_caller(call)->user));
}

static void m_admin(struct srm_rpc_call *call, json_t *params)
{
    srm_rpc_reply(call, json_pack("{s:b}", "ok", 1));
}

static void m_need_name(struct srm_rpc_call *call, json_t *params)
{
    const char *name = NULL;

    if (!srm_rpc_param_str(call, params, "name", true, &name))
        return;
    srm_rpc_fail(call, SRM_RPC_NOT_FOUND, "no source named %s", name);
}

static void maybe_stop(struct fx *fx);

static void later_fire(uv_timer_t *t)
{
    struct srm_rpc_call *call = t->data;
    struct fx *fx = g_fx;

    if (srm_rpc_client(call) == NULL)
        fx->later_detached++;
    srm_rpc_reply(call, json_pack("{s:b}", "later", 1));
    fx->later_answered++;
    uv_close((uv_handle_t *)t, (uv_close_cb)free);
    maybe_stop(fx);
}

static void m_later(struct srm_rpc_call *call, json_t *params)
{
    json_int_t ms = 20;
    uv_timer_t *t;

    if (!srm_rpc_param_int(call, params, "ms", false, &ms))
        return;
    t = srm_xmalloc(sizeof(*t));
    uv_timer_init(&g_fx->loop, t);
    t->data = call;
    uv_timer_start(t, later_fire, (uint64_t)ms, 0);
    if (g_fx->stop_on_later) {
        srm_ctl_server_stop(g_fx->server);
        g_fx->server = NULL;
    }
}

static void on_client_close(struct srm_ctl_client *c, void *ud)
{
    ((struct fx *)ud)->hooks_run++;
}

static void m_notify(struct srm_rpc_call *call, json_t *params)
{
    struct srm_ctl_client *c = srm_rpc_client(call);

    srm_ctl_client_on_close(c, on_client_close, g_fx);
    for (int i = 0; i < 3; i++)
        srm_ctl_client_notify(c, "test.event", json_pack("{s:i}", "n", i));
    srm_rpc_reply(call, NULL);
}

static void m_big(struct srm_rpc_call *call, json_t *params)
{
    size_t n = 1 << 20;
    char *s = srm_xmalloc(n + 1);

    memset(s, 'b', n);
    s[n] = '\0';
    srm_rpc_reply(call, json_pack("{s:s}", "big", s));
    free(s);
}

static const struct srm_rpc_method test_methods[] = {
    {"test.echo", false, m_echo},
    {"test.admin", true, m_admin},
    {"test.later", false, m_later},
    {"test.notify", false, m_notify},
    {"test.big", false, m_big},
    {NULL, false, NULL},
};
static const struct srm_rpc_method more_methods[] = {
    {"test.need_name", false, m_need_name},
    {NULL, false, NULL},
};
static const struct srm_rpc_method *const tables[] = {test_methods,
                                                      more_methods, NULL};

static void maybe_stop(struct fx *fx)
{
    if (fx->thread_done && fx->later_answered >= fx->later_wanted) {
        srm_ctl_server_stop(fx->server);
        fx->server = NULL;
        if (!uv_is_closing((uv_handle_t *)&fx->done))
            uv_close((uv_handle_t *)&fx->done, NULL);
    }
}

static void on_done(uv_async_t *a)
{
    struct fx *fx = a->data;

    fx->thread_done = true;
    maybe_stop(fx);
}

static int setup(void **state)
{
    struct fx *fx = srm_xcalloc(1, sizeof(*fx));

    strcpy(fx->dir, "/tmp/srm-ctl-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    /* A folder that does not exist yet: start must create it. */
    snprintf(fx->path, sizeof(fx->path), "%s/run/srmd.sock", fx->dir);
    assert_int_equal(uv_loop_init(&fx->loop), 0);
    fx->role = ROLE_MEMBER;
    fx->opts.path = fx->path;
    fx->opts.mode = 0660;
    fx->opts.max_request = 1 << 20;
    fx->opts.max_clients = 4096;
    fx->opts.max_output = 16 << 20;
    fx->opts.tables = tables;
    fx->opts.identify = identify;
    fx->opts.ud = fx;
    g_fx = fx;
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    char cmd[128];

    srm_ctl_server_stop(fx->server);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&fx->loop), 0);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
    assert_int_equal(system(cmd), 0);
    free(fx->error);
    free(fx);
    return 0;
}

static void *client_thread(void *arg)
{
    struct fx *fx = arg;

    fx->error = fx->scenario(fx);
    uv_async_send(&fx->done);
    return NULL;
}

/* Start the server, run the scenario in a client thread while the loop
 * serves it, and fail with whatever the scenario reported. */
static void run(struct fx *fx, char *(*scenario)(struct fx *))
{
    pthread_t th;

    assert_int_equal(srm_ctl_server_start(&fx->loop, &fx->opts, &fx->server),
                     0);
    fx->scenario = scenario;
    uv_async_init(&fx->loop, &fx->done, on_done);
    fx->done.data = fx;
    assert_int_equal(pthread_create(&th, NULL, client_thread, fx), 0);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    pthread_join(th, NULL);
    if (fx->error)
        fail_msg("%s", fx->error);
}

/* ---- Client side (runs in the client thread; never asserts) ----------- */

struct conn {
    int fd;
    char buf[1 << 16];
    size_t len;
};

#define CHECK(cond, ...)                                                      \
    do {                                                                      \
        if (!(cond))                                                          \
            return srm_xasprintf(__VA_ARGS__);                                \
    } while (0)

static int cl_connect(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct timeval tv = {.tv_sec = 10};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    strcpy(sa.sun_path, path);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

static bool cl_send(int fd, const char *s, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, s, len, MSG_NOSIGNAL);

        if (n <= 0)
            return false;
        s += n;
        len -= (size_t)n;
    }
    return true;
}

static bool cl_sends(int fd, const char *s)
{
    return cl_send(fd, s, strlen(s));
}

/* Next line as JSON (caller decrefs), or NULL on EOF, timeout or junk. */
static json_t *cl_recv(struct conn *c)
{
    for (;;) {
        char *nl = memchr(c->buf, '\n', c->len);

        if (nl) {
            json_t *j = json_loadb(c->buf, (size_t)(nl - c->buf), 0, NULL);

            c->len -= (size_t)(nl - c->buf) + 1;
            memmove(c->buf, nl + 1, c->len);
            return j;
        }
        if (c->len == sizeof(c->buf))
            return NULL;
        ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
        if (n <= 0)
            return NULL;
        c->len += (size_t)n;
    }
}

/* Check an answer: id must equal want_id (JSON text); code 0 = a result. */
static char *cl_expect(struct conn *c, const char *want_id, int code,
                       const char *needle)
{
    json_t *j = cl_recv(c);
    json_t *want = json_loads(want_id, JSON_DECODE_ANY, NULL);
    char *err = NULL;
    json_t *e;

    if (j == NULL) {
        err = srm_xasprintf("no answer for id %s", want_id);
        goto out;
    }
    if (!json_equal(json_object_get(j, "id"), want)) {
        err = srm_xasprintf("answer has the wrong id (want %s)", want_id);
        goto out;
    }
    e = json_object_get(j, "error");
    if (code == 0 && (e || !json_object_get(j, "result"))) {
        err = srm_xasprintf("id %s: expected a result, got error %s", want_id,
                            json_string_value(json_object_get(e, "message")));
        goto out;
    }
    if (code != 0) {
        const char *msg = json_string_value(json_object_get(e, "message"));

        if (json_integer_value(json_object_get(e, "code")) != code ||
            msg == NULL || (needle && strstr(msg, needle) == NULL)) {
            err = srm_xasprintf("id %s: want error %d \"%s\", got %s", want_id,
                                code, needle ? needle : "",
                                msg ? msg : "a result");
            goto out;
        }
    }
out:
    json_decref(j);
    json_decref(want);
    return err;
}

#define EXPECT(c, id, code, needle)                                           \
    do {                                                                      \
        char *e_ = cl_expect(c, id, code, needle);                            \
        if (e_)                                                               \
            return e_;                                                        \
    } while (0)

static struct conn *cl_open(struct fx *fx)
{
    struct conn *c = srm_xcalloc(1, sizeof(*c));

    c->fd = cl_connect(fx->path);
    return c;
}

static void cl_close(struct conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    free(c);
}

/* ---- Scenarios -------------------------------------------------------- */

static char *sc_answers(struct fx *fx)
{
    struct conn *c = cl_open(fx);
    char *err = NULL;
    json_t *j;

    CHECK(c->fd >= 0, "cannot connect");
    cl_sends(c->fd, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"test.echo\","
                    "\"params\":{\"a\":[1,2]}}\n");
    j = cl_recv(c);
    CHECK(j, "no echo answer");
    json_t *want = json_pack("{s:s,s:i,s:{s:{s:[i,i]}}}", "jsonrpc", "2.0",
                             "id", 1, "result", "params", "a", 1, 2);
    /* The user name depends on the machine; compare without it. */
    json_t *res = json_object_get(j, "result");
    CHECK(json_is_string(json_object_get(res, "user")), "no user in echo");
    json_object_del(res, "user");
    CHECK(json_equal(j, want), "echo answer differs");
    json_decref(j);
    json_decref(want);

    /* String ids, absent params (an empty object), unknown methods, roles,
     * parameter checks across a second table. */
    cl_sends(c->fd, "{\"jsonrpc\":\"2.0\",\"id\":\"s-1\",\"method\":\"test.echo\"}\n"
                    "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"no.such\"}\n"
                    "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"test.admin\"}\n"
                    "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"test.need_name\"}\n"
                    "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"test.need_name\","
                    "\"params\":{\"name\":\"x\"}}\n");
    EXPECT(c, "\"s-1\"", 0, NULL);
    EXPECT(c, "2", SRM_RPC_METHOD_NOT_FOUND, "no.such");
    EXPECT(c, "3", SRM_RPC_DENIED, "test.admin needs an admin");
    EXPECT(c, "4", SRM_RPC_INVALID_PARAMS, "'name'");
    EXPECT(c, "5", SRM_RPC_NOT_FOUND, "no source named x");

    /* Malformed input gets its error; the connection stays usable. */
    cl_sends(c->fd, "{\"jsonrpc\":\"2.0\",\"id\":6,\"meth\n"
                    "[1,2]\n"
                    "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"test.echo\"}\n");
    EXPECT(c, "null", SRM_RPC_PARSE_ERROR, "parse error");
    EXPECT(c, "null", SRM_RPC_INVALID_REQUEST, "batch");
    EXPECT(c, "7", 0, NULL);

    /* A notification (no id) is run but not answered; pipelined requests
     * are answered in order, even when the first answers later. */
    cl_sends(c->fd, "{\"jsonrpc\":\"2.0\",\"method\":\"test.echo\"}\n"
                    "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"test.later\"}\n"
                    "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"test.echo\"}\n");
    EXPECT(c, "8", 0, NULL);
    EXPECT(c, "9", 0, NULL);

    /* Server pushes are whole lines before the answer. */
    cl_sends(c->fd, "{\"jsonrpc\":\"2.0\",\"id\":10,\"method\":\"test.notify\"}\n");
    for (int i = 0; i < 3; i++) {
        j = cl_recv(c);
        CHECK(j && json_object_get(j, "id") == NULL &&
                  json_integer_value(json_object_get(
                      json_object_get(j, "params"), "n")) == i,
              "notification %d missing", i);
        json_decref(j);
    }
    EXPECT(c, "10", 0, NULL);
    cl_close(c);
    return err;
}

static void test_answers(void **state)
{
    struct fx *fx = *state;

    fx->later_wanted = 1;
    run(fx, sc_answers);
    assert_int_equal(fx->later_answered, 1);
    assert_int_equal(fx->hooks_run, 1); /* on_close ran when it left */
}

static char *sc_admin(struct fx *fx)
{
    struct conn *c = cl_open(fx);

    CHECK(c->fd >= 0, "cannot connect");
    cl_sends(c->fd, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"test.admin\"}\n");
    EXPECT(c, "1", 0, NULL);
    cl_close(c);
    return NULL;
}

static void test_admin_allowed(void **state)
{
    struct fx *fx = *state;

    fx->role = ROLE_ADMIN;
    run(fx, sc_admin);
}

static char *sc_nonmember(struct fx *fx)
{
    struct conn *c = cl_open(fx);

    CHECK(c->fd >= 0, "cannot connect");
    cl_sends(c->fd, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"test.echo\"}\n");
    EXPECT(c, "1", SRM_RPC_DENIED, "is not a member of the team");
    cl_sends(c->fd, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"no.such\"}\n");
    EXPECT(c, "2", SRM_RPC_DENIED, "permission denied: user ");
    cl_close(c);
    return NULL;
}

static void test_nonmember(void **state)
{
    struct fx *fx = *state;

    fx->role = ROLE_NOBODY;
    run(fx, sc_nonmember);
}

static char *sc_too_large(struct fx *fx)
{
    struct conn *c = cl_open(fx);
    size_t n = 2 << 20;
    char *big = srm_xmalloc(n + 1);
    bool ok;

    CHECK(c->fd >= 0, "cannot connect");
    memset(big, ' ', n);
    memcpy(big, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"test.echo\",\"p\":\"", 50);
    big[n - 3] = '"';
    big[n - 2] = '}';
    big[n - 1] = '\n';
    ok = cl_send(c->fd, big, n);
    free(big);
    CHECK(ok, "cannot send the 2 MiB line");
    cl_sends(c->fd, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"test.echo\"}\n");
    EXPECT(c, "null", SRM_RPC_INVALID_REQUEST,
           "request too large (over 1048576 bytes)");
    EXPECT(c, "2", 0, NULL);
    cl_close(c);
    return NULL;
}

static void test_too_large(void **state)
{
    run(*state, sc_too_large);
}

/* The client leaves while its call is pending: half-close first (the
 * answer still comes, as `echo | socat` expects), then a full close. */
static char *sc_leave_mid_call(struct fx *fx)
{
    struct conn *c = cl_open(fx);
    json_t *j;

    CHECK(c->fd >= 0, "cannot connect");
    cl_sends(c->fd, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"test.later\"}\n"
                    "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"test.echo\"}");
    shutdown(c->fd, SHUT_WR);
    EXPECT(c, "1", 0, NULL);
    EXPECT(c, "2", 0, NULL); /* the unterminated last line counts */
    j = cl_recv(c);
    CHECK(j == NULL, "expected the server to close after answering");
    cl_close(c);

    c = cl_open(fx);
    CHECK(c->fd >= 0, "cannot connect");
    cl_sends(c->fd, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"test.later\","
                    "\"params\":{\"ms\":30}}\n{\"jsonrpc\":");
    cl_close(c);
    return NULL;
}

static void test_leave_mid_call(void **state)
{
    struct fx *fx = *state;

    fx->later_wanted = 2;
    run(fx, sc_leave_mid_call);
    assert_int_equal(fx->later_answered, 2);
}

/* The server stops while a call is pending: the call outlives the client
 * and its answer is dropped. */
static char *sc_stop_mid_call(struct fx *fx)
{
    struct conn *c = cl_open(fx);
    json_t *j;

    CHECK(c->fd >= 0, "cannot connect");
    cl_sends(c->fd, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"test.later\"}\n");
    j = cl_recv(c);
    CHECK(j == NULL, "expected no answer from a stopped server");
    cl_close(c);
    return NULL;
}

static void test_stop_mid_call(void **state)
{
    struct fx *fx = *state;
    struct stat st;

    fx->stop_on_later = true;
    fx->later_wanted = 1;
    run(fx, sc_stop_mid_call);
    assert_int_equal(fx->later_answered, 1);
    assert_int_equal(fx->later_detached, 1);
    assert_int_equal(lstat(fx->path, &st), -1); /* stop unlinked it */
}

#define NCLIENTS 200

static char *sc_many(struct fx *fx)
{
    static struct conn *c[NCLIENTS];
    char req[128];
    char id[16];

    for (int i = 0; i < NCLIENTS; i++) {
        c[i] = cl_open(fx);
        CHECK(c[i]->fd >= 0, "cannot connect client %d", i);
    }
    /* All pending at once: test.later answers from timers. */
    for (int i = 0; i < NCLIENTS; i++) {
        snprintf(req, sizeof(req), "{\"jsonrpc\":\"2.0\",\"id\":%d,"
                 "\"method\":\"test.later\",\"params\":{\"ms\":5}}\n", i);
        CHECK(cl_sends(c[i]->fd, req), "send to client %d", i);
    }
    for (int i = NCLIENTS - 1; i >= 0; i--) {
        snprintf(id, sizeof(id), "%d", i);
        EXPECT(c[i], id, 0, NULL);
        cl_close(c[i]);
    }
    return NULL;
}

static void test_many_clients(void **state)
{
    struct fx *fx = *state;

    fx->later_wanted = NCLIENTS;
    run(fx, sc_many);
    assert_int_equal(fx->later_answered, NCLIENTS);
}

static char *sc_limit(struct fx *fx)
{
    struct conn *c[3];
    struct conn *extra;
    char *err = NULL;

    for (int i = 0; i < 3; i++) {
        c[i] = cl_open(fx);
        CHECK(c[i]->fd >= 0, "cannot connect");
        /* An answer proves the server accepted it before the next. */
        cl_sends(c[i]->fd, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"test.echo\"}\n");
        EXPECT(c[i], "1", 0, NULL);
    }
    extra = cl_open(fx);
    CHECK(extra->fd >= 0, "cannot connect");
    cl_sends(extra->fd, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"test.echo\"}\n");
    if (cl_recv(extra) != NULL)
        err = srm_xasprintf("client over the limit was answered");
    cl_close(extra);
    for (int i = 0; i < 3; i++)
        cl_close(c[i]);
    return err;
}

static void test_client_limit(void **state)
{
    struct fx *fx = *state;

    fx->opts.max_clients = 3;
    run(fx, sc_limit);
}

/* A client that asks for a lot and never reads is dropped once its queued
 * output passes max_output. */
static char *sc_slow_reader(struct fx *fx)
{
    struct conn *c = cl_open(fx);
    struct conn *other;
    size_t total = 0;
    char buf[65536];
    ssize_t n;

    CHECK(c->fd >= 0, "cannot connect");
    cl_sends(c->fd, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"test.big\"}\n");
    /* Another client is served meanwhile: by then the big answer has been
     * queued and the slow client dropped. */
    other = cl_open(fx);
    CHECK(other->fd >= 0, "cannot connect");
    cl_sends(other->fd, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"test.echo\"}\n");
    EXPECT(other, "1", 0, NULL);
    cl_close(other);
    while ((n = recv(c->fd, buf, sizeof(buf), 0)) > 0)
        total += (size_t)n;
    CHECK(n == 0 || errno == ECONNRESET, "read ended with %s",
          strerror(errno));
    CHECK(total < (1 << 20), "got %zu bytes: the client was not dropped",
          total);
    cl_close(c);
    return NULL;
}

static void test_slow_reader(void **state)
{
    struct fx *fx = *state;

    fx->opts.max_output = 64 << 10;
    run(fx, sc_slow_reader);
}

/* ---- Socket file handling --------------------------------------------- */

static void test_socket_file(void **state)
{
    struct fx *fx = *state;
    struct srm_ctl_server *second = NULL;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct stat st;
    char parent[128];
    int fd;

    /* A stale socket (bound, nobody listening) is replaced. */
    snprintf(parent, sizeof(parent), "%s/run", fx->dir);
    assert_int_equal(mkdir(parent, 0755), 0);
    strcpy(sa.sun_path, fx->path);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    close(fd);
    assert_int_equal(srm_ctl_server_start(&fx->loop, &fx->opts, &fx->server),
                     0);
    assert_int_equal(lstat(fx->path, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0660);

    /* A live one is not touched. */
    assert_int_equal(srm_ctl_server_start(&fx->loop, &fx->opts, &second),
                     -EADDRINUSE);
    assert_null(second);
    assert_int_equal(srm_ctl_server_clients(fx->server), 0);
    srm_ctl_server_stop(fx->server);
    fx->server = NULL;
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_int_equal(lstat(fx->path, &st), -1);

    /* Anything else in the way is an error. */
    fd = open(fx->path, O_CREAT | O_WRONLY, 0600);
    close(fd);
    assert_int_equal(srm_ctl_server_start(&fx->loop, &fx->opts, &second),
                     -EEXIST);
    assert_int_equal(lstat(fx->path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
}

static void test_parent_created(void **state)
{
    struct fx *fx = *state;
    struct stat st;
    char parent[128];

    fx->opts.mode = 0600;
    assert_int_equal(srm_ctl_server_start(&fx->loop, &fx->opts, &fx->server),
                     0);
    snprintf(parent, sizeof(parent), "%s/run", fx->dir);
    assert_int_equal(stat(parent, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(lstat(fx->path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_answers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_admin_allowed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nonmember, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_large, setup, teardown),
        cmocka_unit_test_setup_teardown(test_leave_mid_call, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_mid_call, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_clients, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slow_reader, setup, teardown),
        cmocka_unit_test_setup_teardown(test_socket_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parent_created, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
