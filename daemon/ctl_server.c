/* ctl_server.c - the control socket on libuv: accept, peer credentials,
 * per-client framing and in-order dispatch, bounded output. */
#include "ctl_server.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl_parse.h"
#include "log.h"
#include "mem.h"

#define CS_READ_CHUNK 65536

struct cs_hook {
    void (*fn)(struct srm_ctl_client *, void *);
    void *ud;
    struct cs_hook *next;
};

struct srm_ctl_client {
    uv_pipe_t pipe;
    uv_shutdown_t shutdown_req;
    struct srm_ctl_server *server;
    struct srm_ctl_client *prev, *next;
    struct srm_caller who; /* from SO_PEERCRED; roles are filled per call */
    struct srm_ctl_framer framer;
    struct srm_rpc_call *current; /* the call being handled, or NULL */
    struct cs_hook *hooks;
    bool linked;      /* in server->clients */
    bool reading;
    bool eof;         /* the client sent all it will send */
    bool dispatching; /* inside cs_pump: answers must not re-enter it */
    bool shutting;
    bool closing;
    bool more;        /* requests left over after its turn; see cs_pump */
};

struct srm_ctl_server {
    uv_loop_t *loop;
    uv_pipe_t listener;
    char *path;
    dev_t dev; /* identity of the socket file we bound, so stop only */
    ino_t ino; /* unlinks our own */
    size_t max_request, max_clients, max_output;
    const struct srm_rpc_method *const *tables;
    void (*identify)(struct srm_caller *caller, void *ud);
    void *ud;
    struct srm_ctl_client *clients;
    size_t nclients;
    uv_idle_t resume;  /* gives clients with leftover requests a turn */
    size_t waiting;    /* clients with more set */
    size_t handles; /* open uv handles: listener, clients, rejects */
    bool stopping;
    /* One read buffer for all clients: libuv calls alloc and read back to
     * back, and the framer copies what it keeps. */
    char readbuf[CS_READ_CHUNK];
};

struct cs_write {
    uv_write_t req;
    char *line;
};

static int cs_mkdirs(const char *path);
static int cs_probe(const char *path);
static void cs_on_connection(uv_stream_t *server, int status);
static void cs_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf);
static void cs_on_read(uv_stream_t *stream, ssize_t nread,
                       const uv_buf_t *buf);
static void cs_pump(struct srm_ctl_client *c);
static void cs_resume(uv_idle_t *idle);
static void cs_set_more(struct srm_ctl_client *c, bool more);
static void cs_handle_line(struct srm_ctl_client *c, const char *line,
                           size_t len);
static const struct srm_rpc_method *cs_lookup(struct srm_ctl_server *s,
                                              const char *name);
static int cs_send(struct srm_ctl_client *c, char *line, size_t len);
static void cs_send_error(struct srm_ctl_client *c, json_t *id, int code,
                          const char *message);
static void cs_on_written(uv_write_t *req, int status);
static void cs_on_shutdown(uv_shutdown_t *req, int status);
static void cs_client_close(struct srm_ctl_client *c);
static void cs_client_closed(uv_handle_t *h);
static void cs_listener_closed(uv_handle_t *h);
static void cs_handle_gone(struct srm_ctl_server *s);
static void cs_peer(struct srm_ctl_client *c, int fd);

/* ---- Start and stop --------------------------------------------------- */

/* mkdir -p of the folders above path, each 0700 when we create it. */
static int cs_mkdirs(const char *path)
{
    char *dir = srm_xstrdup(path);
    int r = 0;

    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
            r = -errno;
            SRM_ERROR("ctl: cannot create folder %s for the socket: %s",
                      dir, strerror(errno));
            goto fail;
        }
        *p = '/';
    }
fail:
    free(dir);
    return r;
}

/* An existing socket file is either stale (nobody accepts: remove it) or
 * in use by a live srmd. */
static int cs_probe(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct stat st;
    int fd = -1;
    int r = 0;

    if (lstat(path, &st) < 0) {
        if (errno == ENOENT)
            return 0;
        r = -errno;
        SRM_ERROR("ctl: cannot stat %s: %s", path, strerror(errno));
        return r;
    }
    if (!S_ISSOCK(st.st_mode)) {
        SRM_ERROR("ctl: %s exists and is not a socket; remove it or set "
                  "daemon.socket to another path", path);
        return -EEXIST;
    }
    strcpy(sa.sun_path, path); /* length checked by the caller */
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        r = -errno;
        SRM_ERROR("ctl: socket: %s", strerror(errno));
        goto fail;
    }
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ||
        errno == EAGAIN || errno == EINPROGRESS) {
        SRM_ERROR("ctl: another srmd is already serving %s", path);
        r = -EADDRINUSE;
        goto fail;
    }
    if (errno != ECONNREFUSED) {
        r = -errno;
        SRM_ERROR("ctl: cannot probe existing socket %s: %s", path,
                  strerror(errno));
        goto fail;
    }
    SRM_INFO("ctl: removing stale socket %s", path);
    if (unlink(path) < 0 && errno != ENOENT) {
        r = -errno;
        SRM_ERROR("ctl: cannot remove stale socket %s: %s", path,
                  strerror(errno));
        goto fail;
    }
fail:
    if (fd >= 0)
        close(fd);
    return r;
}

static int cs_group(const char *name, gid_t *ret_gid)
{
    struct group gr, *res = NULL;
    char buf[16384];
    int e = getgrnam_r(name, &gr, buf, sizeof(buf), &res);

    if (res == NULL) {
        SRM_ERROR("ctl: socket group %s: %s", name,
                  e ? strerror(e) : "no such group");
        return e ? -e : -ENOENT;
    }
    *ret_gid = gr.gr_gid;
    return 0;
}

int srm_ctl_server_start(uv_loop_t *loop, const struct srm_ctl_opts *opts,
                         struct srm_ctl_server **ret)
{
    struct srm_ctl_server *s = NULL;
    struct sockaddr_un sa;
    struct stat st;
    gid_t gid = (gid_t)-1;
    mode_t old_mask;
    int r;

    if (opts->path == NULL || opts->path[0] == '\0') {
        SRM_ERROR("ctl: no socket path");
        return -EINVAL;
    }
    if (strlen(opts->path) >= sizeof(sa.sun_path)) {
        SRM_ERROR("ctl: socket path %s is longer than %zu bytes", opts->path,
                  sizeof(sa.sun_path) - 1);
        return -ENAMETOOLONG;
    }
    if (opts->group && (r = cs_group(opts->group, &gid)) < 0)
        return r;
    if ((r = cs_mkdirs(opts->path)) < 0)
        return r;
    if ((r = cs_probe(opts->path)) < 0)
        return r;

    /* A client vanishing between our poll and write must be an EPIPE error,
     * not a signal that kills the daemon; libuv writes with write(2). */
    signal(SIGPIPE, SIG_IGN);

    s = srm_xcalloc(1, sizeof(*s));
    s->loop = loop;
    s->path = srm_xstrdup(opts->path);
    s->max_request = opts->max_request ? opts->max_request
                                       : SRM_CTL_DEFAULT_MAX_REQUEST;
    s->max_clients = opts->max_clients ? opts->max_clients
                                       : SRM_CTL_DEFAULT_MAX_CLIENTS;
    s->max_output = opts->max_output ? opts->max_output
                                     : SRM_CTL_DEFAULT_MAX_OUTPUT;
    s->tables = opts->tables;
    s->identify = opts->identify;
    s->ud = opts->ud;
    uv_pipe_init(loop, &s->listener, 0);
    s->listener.data = s;
    uv_idle_init(loop, &s->resume);
    s->resume.data = s;
    s->handles = 2;

    /* Bind owner-only, then widen to mode once the group is right, so the
     * socket is never reachable by more users than mode allows. umask is
     * process-wide; this runs at start-up before other threads make files. */
    old_mask = umask(0177);
    r = uv_pipe_bind(&s->listener, s->path);
    umask(old_mask);
    if (r < 0) {
        SRM_ERROR("ctl: cannot bind %s: %s", s->path, uv_strerror(r));
        goto fail;
    }
    if (opts->group && chown(s->path, (uid_t)-1, gid) < 0) {
        r = -errno;
        SRM_ERROR("ctl: cannot give %s to group %s: %s", s->path,
                  opts->group, strerror(errno));
        goto fail_unlink;
    }
    if (chmod(s->path, opts->mode & 07777) < 0) {
        r = -errno;
        SRM_ERROR("ctl: cannot chmod %s to %04o: %s", s->path, opts->mode,
                  strerror(errno));
        goto fail_unlink;
    }
    if (lstat(s->path, &st) == 0) {
        s->dev = st.st_dev;
        s->ino = st.st_ino;
    }
    r = uv_listen((uv_stream_t *)&s->listener, SOMAXCONN, cs_on_connection);
    if (r < 0) {
        SRM_ERROR("ctl: cannot listen on %s: %s", s->path, uv_strerror(r));
        goto fail_unlink;
    }
    SRM_INFO("ctl: listening on %s (mode %04o%s%s)", s->path, opts->mode,
             opts->group ? ", group " : "", opts->group ? opts->group : "");
    *ret = s;
    return 0;

fail_unlink:
    unlink(s->path);
fail:
    /* The handle memory may only go in its close callback. */
    s->stopping = true;
    uv_close((uv_handle_t *)&s->listener, cs_listener_closed);
    uv_close((uv_handle_t *)&s->resume, cs_listener_closed);
    return r;
}

void srm_ctl_server_stop(struct srm_ctl_server *s)
{
    struct stat st;

    if (s == NULL || s->stopping)
        return;
    s->stopping = true;
    while (s->clients)
        cs_client_close(s->clients);
    if (lstat(s->path, &st) == 0 && st.st_dev == s->dev &&
        st.st_ino == s->ino)
        unlink(s->path);
    uv_close((uv_handle_t *)&s->listener, cs_listener_closed);
    uv_close((uv_handle_t *)&s->resume, cs_listener_closed);
}

size_t srm_ctl_server_clients(const struct srm_ctl_server *s)
{
    return s->nclients;
}

static void cs_handle_gone(struct srm_ctl_server *s)
{
    if (--s->handles == 0 && s->stopping) {
        free(s->path);
        free(s);
    }
}

static void cs_listener_closed(uv_handle_t *h)
{
    cs_handle_gone(h->data);
}

/* ---- Clients ---------------------------------------------------------- */

/* Who is on the other end. The name lookup goes through NSS; with local
 * files it is a quick read, done once per connection. */
static void cs_peer(struct srm_ctl_client *c, int fd)
{
    struct ucred cred;
    socklen_t len = sizeof(cred);
    struct passwd pw, *res = NULL;
    char buf[16384];

    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
        SRM_WARNING("ctl: cannot read peer credentials: %s",
                    strerror(errno));
        cred.uid = (uid_t)-1;
        cred.gid = (gid_t)-1;
        cred.pid = 0;
    }
    c->who.uid = cred.uid;
    c->who.gid = cred.gid;
    c->who.pid = cred.pid;
    if (cred.uid != (uid_t)-1 &&
        getpwuid_r(cred.uid, &pw, buf, sizeof(buf), &res) == 0 && res &&
        strlen(pw.pw_name) < sizeof(c->who.user))
        strcpy(c->who.user, pw.pw_name);
    else
        snprintf(c->who.user, sizeof(c->who.user), "%ld", (long)cred.uid);
}

static void cs_on_connection(uv_stream_t *listener, int status)
{
    struct srm_ctl_server *s = listener->data;
    struct srm_ctl_client *c;
    uv_os_fd_t fd;
    int r;

    if (status < 0) {
        SRM_WARNING("ctl: accept on %s: %s", s->path, uv_strerror(status));
        return;
    }
    c = srm_xcalloc(1, sizeof(*c));
    c->server = s;
    uv_pipe_init(s->loop, &c->pipe, 0);
    c->pipe.data = c;
    s->handles++;
    if ((r = uv_accept(listener, (uv_stream_t *)&c->pipe)) < 0) {
        SRM_WARNING("ctl: accept on %s: %s", s->path, uv_strerror(r));
        cs_client_close(c);
        return;
    }
    if (s->stopping || s->nclients >= s->max_clients) {
        SRM_WARNING("ctl: refusing a client: %zu clients connected, the "
                    "limit", s->nclients);
        cs_client_close(c);
        return;
    }
    if (uv_fileno((uv_handle_t *)&c->pipe, &fd) == 0)
        cs_peer(c, fd);
    srm_ctl_framer_init(&c->framer, s->max_request);
    c->linked = true;
    c->next = s->clients;
    if (s->clients)
        s->clients->prev = c;
    s->clients = c;
    s->nclients++;
    SRM_DEBUG("ctl: client connected: user %s uid %ld pid %ld", c->who.user,
              (long)c->who.uid, (long)c->who.pid);
    if ((r = uv_read_start((uv_stream_t *)&c->pipe, cs_alloc,
                           cs_on_read)) < 0) {
        SRM_WARNING("ctl: read from %s: %s", c->who.user, uv_strerror(r));
        cs_client_close(c);
        return;
    }
    c->reading = true;
}

static void cs_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    struct srm_ctl_client *c = h->data;

    *buf = uv_buf_init(c->server->readbuf, sizeof(c->server->readbuf));
}

static void cs_on_read(uv_stream_t *stream, ssize_t nread,
                       const uv_buf_t *buf)
{
    struct srm_ctl_client *c = stream->data;

    if (nread > 0) {
        srm_ctl_framer_feed(&c->framer, buf->base, (size_t)nread);
    } else if (nread == UV_EOF) {
        /* `echo REQ | socat - UNIX:...` half-closes and then waits for the
         * answer: finish the buffered requests before closing. */
        c->eof = true;
        uv_read_stop(stream);
        c->reading = false;
        srm_ctl_framer_finish(&c->framer);
    } else if (nread < 0) {
        SRM_DEBUG("ctl: read from %s: %s", c->who.user,
                  uv_strerror((int)nread));
        cs_client_close(c);
        return;
    }
    cs_pump(c);
}

/* Requests one client may have handled in a row before the others get a
 * turn: a client pipelining thousands of requests must not hold the loop. */
#define CS_TURN 32

static void cs_set_more(struct srm_ctl_client *c, bool more)
{
    struct srm_ctl_server *s = c->server;

    if (c->more == more)
        return;
    c->more = more;
    if (more && s->waiting++ == 0)
        uv_idle_start(&s->resume, cs_resume);
    else if (!more && --s->waiting == 0)
        uv_idle_stop(&s->resume);
}

/* Next loop iteration: give each client with leftover requests a turn. */
static void cs_resume(uv_idle_t *idle)
{
    struct srm_ctl_server *s = idle->data;
    struct srm_ctl_client *c, *next;

    for (c = s->clients; c != NULL && s->waiting > 0; c = next) {
        next = c->next;
        if (c->more) {
            cs_set_more(c, false);
            cs_pump(c);
        }
    }
}

/* Handle buffered requests one at a time, in order: the next line is
 * parsed only once the previous call has been answered. */
static void cs_pump(struct srm_ctl_client *c)
{
    struct srm_ctl_server *s = c->server;
    enum srm_ctl_frame ev;
    const char *line;
    size_t len;
    int turn = 0;

    if (c->dispatching || c->closing)
        return;
    c->dispatching = true;
    while (!c->closing && c->current == NULL) {
        if (++turn > CS_TURN) {
            if (srm_ctl_framer_pending(&c->framer) > 0)
                cs_set_more(c, true);
            break;
        }
        ev = srm_ctl_framer_next(&c->framer, &line, &len);
        if (ev == SRM_CTL_FRAME_NONE)
            break;
        if (ev == SRM_CTL_FRAME_TOO_LONG) {
            char msg[96];

            snprintf(msg, sizeof(msg),
                     "request too large (over %zu bytes)", s->max_request);
            cs_send_error(c, NULL, SRM_RPC_INVALID_REQUEST, msg);
            continue;
        }
        cs_handle_line(c, line, len);
    }
    c->dispatching = false;
    if (c->closing)
        return;

    if (c->eof) {
        if (c->current == NULL && !c->shutting) {
            /* Everything answered: flush the queued output, then close. */
            c->shutting = true;
            if (uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->pipe,
                            cs_on_shutdown) < 0)
                cs_client_close(c);
        }
        return;
    }
    /* Back-pressure: a client pipelining faster than we answer waits in
     * its socket buffer, not in our memory. */
    if (c->reading && srm_ctl_framer_pending(&c->framer) > 2 * s->max_request) {
        uv_read_stop((uv_stream_t *)&c->pipe);
        c->reading = false;
    } else if (!c->reading &&
               srm_ctl_framer_pending(&c->framer) <= 2 * s->max_request) {
        if (uv_read_start((uv_stream_t *)&c->pipe, cs_alloc, cs_on_read) < 0)
            cs_client_close(c);
        else
            c->reading = true;
    }
}

static const struct srm_rpc_method *cs_lookup(struct srm_ctl_server *s,
                                              const char *name)
{
    if (s->tables == NULL)
        return NULL;
    for (size_t t = 0; s->tables[t]; t++)
        for (const struct srm_rpc_method *m = s->tables[t]; m->name; m++)
            if (strcmp(m->name, name) == 0)
                return m;
    return NULL;
}

static void cs_handle_line(struct srm_ctl_client *c, const char *line,
                           size_t len)
{
    struct srm_ctl_server *s = c->server;
    struct srm_ctl_request req;
    struct srm_ctl_error err;
    const struct srm_rpc_method *m;
    struct srm_rpc_call *call;
    json_t *params;

    if (srm_ctl_request_parse(line, len, &req, &err) < 0) {
        cs_send_error(c, err.id, err.code, err.message);
        srm_ctl_error_fini(&err);
        return;
    }

    call = srm_xcalloc(1, sizeof(*call));
    call->client = c;
    call->caller = c->who;
    call->id = req.id ? json_incref(req.id) : NULL;
    call->method = srm_xstrdup(req.method);
    if (s->identify) {
        s->identify(&call->caller, s->ud);
    } else {
        call->caller.is_admin =
            call->caller.uid == 0 || call->caller.uid == geteuid();
    }
    if (call->caller.is_admin)
        call->caller.is_member = true;
    c->current = call;

    if (!call->caller.is_member) {
        srm_rpc_fail(call, SRM_RPC_DENIED,
                     "permission denied: user %s is not a member of the team",
                     call->caller.user);
        goto out;
    }
    m = cs_lookup(s, call->method);
    if (m == NULL) {
        srm_rpc_fail(call, SRM_RPC_METHOD_NOT_FOUND, "method not found: %s",
                     call->method);
        goto out;
    }
    if (m->admin_only && !call->caller.is_admin) {
        srm_rpc_fail(call, SRM_RPC_DENIED, "%s needs an admin", m->name);
        goto out;
    }
    SRM_DEBUG("ctl: %s calls %s", call->caller.user, m->name);
    params = req.params ? json_incref(req.params) : json_object();
    m->handler(call, params);
    json_decref(params);
out:
    srm_ctl_request_fini(&req);
}

/* ---- Output ----------------------------------------------------------- */

static int cs_send(struct srm_ctl_client *c, char *line, size_t len)
{
    struct srm_ctl_server *s = c->server;
    struct cs_write *w;
    uv_buf_t b;
    int r;

    if (c->closing || c->shutting) {
        free(line);
        return -EPIPE;
    }
    w = srm_xmalloc(sizeof(*w));
    w->line = line;
    b = uv_buf_init(line, (unsigned)len);
    r = uv_write(&w->req, (uv_stream_t *)&c->pipe, &b, 1, cs_on_written);
    if (r < 0) {
        SRM_DEBUG("ctl: write to %s: %s", c->who.user, uv_strerror(r));
        free(line);
        free(w);
        cs_client_close(c);
        return -EPIPE;
    }
    /* write_queue_size counts what the kernel has not taken yet: a client
     * that never reads makes it grow without bound. */
    if (c->pipe.write_queue_size > s->max_output) {
        SRM_WARNING("ctl: dropping client %s (pid %ld): %zu bytes of output "
                    "queued, over the %zu limit", c->who.user,
                    (long)c->who.pid, c->pipe.write_queue_size,
                    s->max_output);
        cs_client_close(c);
        return -EPIPE;
    }
    return 0;
}

static void cs_send_error(struct srm_ctl_client *c, json_t *id, int code,
                          const char *message)
{
    size_t len;
    char *line = srm_ctl_error_line(id, code, message, NULL, &len);

    cs_send(c, line, len);
}

static void cs_on_written(uv_write_t *req, int status)
{
    struct cs_write *w = srm_container_of(req, struct cs_write, req);
    struct srm_ctl_client *c = req->handle->data;

    free(w->line);
    free(w);
    if (status < 0 && status != UV_ECANCELED) {
        SRM_DEBUG("ctl: write to %s: %s", c->who.user, uv_strerror(status));
        cs_client_close(c);
    }
}

static void cs_on_shutdown(uv_shutdown_t *req, int status)
{
    struct srm_ctl_client *c = req->handle->data;

    cs_client_close(c);
}

/* ---- Closing ---------------------------------------------------------- */

static void cs_client_close(struct srm_ctl_client *c)
{
    struct srm_ctl_server *s = c->server;

    if (c->closing)
        return;
    cs_set_more(c, false);
    c->closing = true;
    /* Unsubscribe first, so nothing is pushed to a closing client. */
    while (c->hooks) {
        struct cs_hook *h = c->hooks;

        c->hooks = h->next;
        h->fn(c, h->ud);
        free(h);
    }
    if (c->current) {
        c->current->client = NULL; /* the handler's answer will be dropped */
        c->current = NULL;
    }
    if (c->linked) {
        if (c->prev)
            c->prev->next = c->next;
        else
            s->clients = c->next;
        if (c->next)
            c->next->prev = c->prev;
        c->linked = false;
        s->nclients--;
    }
    uv_close((uv_handle_t *)&c->pipe, cs_client_closed);
}

static void cs_client_closed(uv_handle_t *h)
{
    struct srm_ctl_client *c = h->data;
    struct srm_ctl_server *s = c->server;

    srm_ctl_framer_fini(&c->framer);
    free(c);
    cs_handle_gone(s);
}

/* ---- Shared with rpc.c ------------------------------------------------ */

bool srm_ctl_client_alive(const struct srm_ctl_client *c)
{
    return c != NULL && !c->closing;
}

void srm_ctl_call_end(struct srm_rpc_call *call, char *line, size_t len)
{
    struct srm_ctl_client *c = call->client;

    json_decref(call->id);
    free(call->method);
    free(call);
    if (c == NULL) {
        free(line);
        return;
    }
    c->current = NULL;
    if (line)
        cs_send(c, line, len);
    cs_pump(c);
}

int srm_ctl_client_notify(struct srm_ctl_client *client, const char *method,
                          json_t *params)
{
    size_t len;
    char *line;

    if (!srm_ctl_client_alive(client) || client->shutting) {
        json_decref(params);
        return -EPIPE;
    }
    line = srm_ctl_notify_line(method, params, &len);
    return cs_send(client, line, len);
}

void srm_ctl_client_on_close(struct srm_ctl_client *client,
                             void (*fn)(struct srm_ctl_client *, void *),
                             void *ud)
{
    struct cs_hook *h;

    if (client->closing) {
        fn(client, ud); /* already gone: tell at once, as promised */
        return;
    }
    h = srm_xmalloc(sizeof(*h));
    h->fn = fn;
    h->ud = ud;
    h->next = client->hooks;
    client->hooks = h;
}
