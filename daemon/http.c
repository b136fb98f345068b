/* http.c - the HTTP engine: one curl multi handle driven by the libuv loop,
 * after curl:docs/examples/multi-uv.c (uv_poll per socket, one uv_timer),
 * with the departures of shared/STYLE.md section 6.
 *
 * A request lives in exactly one of two lists: the FIFO `queue` (waiting
 * for a global or per-host slot) or `running` (its easy handle is in the
 * multi). Submitting only queues and schedules the `pump` idle handle, so a
 * callback never runs inside srm_http_submit(); the pump starts what the
 * limits allow and fails requests to a paused host. Every completion goes
 * through hr_complete(), which runs the callback and frees the request; the
 * callback may submit or cancel, so loops over the lists restart after each
 * callback instead of keeping a cursor. */
#include "http.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <time.h>

#include <curl/curl.h>

#include "log.h"
#include "mem.h"

#define HTTP_DEFAULT_MAX_IN_FLIGHT 64
#define HTTP_DEFAULT_MAX_PER_HOST 6
#define HTTP_DEFAULT_CONNECT_TIMEOUT_MS 10000
#define HTTP_DEFAULT_TIMEOUT_MS 60000
#define HTTP_DEFAULT_LOW_SPEED_TIME_S 30
#define HTTP_DEFAULT_MAX_BODY (16u << 20)
/* curl caps single header lines; this caps the whole block we keep. */
#define HTTP_MAX_HEADER_BYTES (1u << 20)
#define HTTP_MAX_REDIRECTS 5L
#define HTTP_PROTOCOLS "http,https,imap,imaps"
#define HTTP_REDIR_PROTOCOLS "http,https"

/* One scheme://host:port: its slots in use and its rate-limit pause. */
struct hs_host {
    LIST_ENTRY(hs_host) link;
    char *key;
    uint32_t in_flight;
    uint64_t paused_until_ms; /* hs_now_ms() clock; 0 when not paused */
};

/* One socket curl asked us to watch. Freed in the poll's close callback. */
struct hs_sock {
    LIST_ENTRY(hs_sock) link;
    struct srm_http *h;
    curl_socket_t fd;
    uv_poll_t poll;
};

enum hr_state { HR_QUEUED, HR_RUNNING, HR_DONE };

struct hr_header {
    const char *name, *value; /* point into the request's header block */
};

struct srm_http_request {
    TAILQ_ENTRY(srm_http_request) link;
    struct srm_http *h;
    struct hs_host *host;
    enum hr_state state;
    CURL *easy;

    /* The copied request. */
    struct curl_slist *headers;
    char *method, *url, *body, *bearer, *username, *password, *custom;
    size_t body_len;
    uint32_t flags, timeout_ms;
    uint64_t max_body;
    bool conditional; /* carried If-None-Match / If-Modified-Since */
    void *owner;
    bool insecure;
    srm_http_chunk_cb on_chunk;
    srm_http_cb cb;
    void *ud;

    /* The response being received. */
    char *rbody;
    size_t rbody_len, rbody_cap;
    uint64_t received; /* decoded body bytes, streamed or buffered */
    char *rhdr;        /* raw header block of the last response */
    size_t rhdr_len, rhdr_cap;
    struct hr_header *hv;
    size_t n_hv;
    bool too_big, hdr_too_big, chunk_abort;
    char errbuf[CURL_ERROR_SIZE];
    char *error_msg;
    struct srm_http_resp resp;
};

TAILQ_HEAD(hr_list, srm_http_request);

struct srm_http {
    uv_loop_t *loop;
    struct srm_http_opts opts;
    char *user_agent;
    CURLM *multi;
    uv_timer_t timer;
    uv_idle_t pump;
    struct hr_list queue, running;
    LIST_HEAD(, hs_host) hosts;
    LIST_HEAD(, hs_sock) socks;
    uint32_t n_running, n_queued;
    unsigned open_handles; /* uv handles not yet closed */
    int in_curl;           /* inside curl_multi_socket_action */
    bool closing;          /* srm_http_destroy() began */
    bool dead;             /* destroy done cancelling: submit refused */
    struct srm_http_stats stats;
};

static uint64_t hs_now_ms(void);
static int hs_host_key(const char *url, char **ret_key);
static struct hs_host *hs_host_get(struct srm_http *h, char *key);
static int64_t hs_host_wait_left(const struct hs_host *host);
static void hs_host_pause(struct srm_http *h, struct hs_host *host,
                          int64_t seconds);
static int hs_on_socket(CURL *easy, curl_socket_t fd, int action, void *userp,
                        void *socketp);
static int hs_on_curl_timer(CURLM *multi, long timeout_ms, void *userp);
static void hs_on_timeout(uv_timer_t *timer);
static void hs_on_poll(uv_poll_t *poll, int status, int events);
static void hs_sock_close(struct hs_sock *s);
static void hs_on_sock_close(uv_handle_t *handle);
static void hs_on_handle_close(uv_handle_t *handle);
static void hs_handle_closed(struct srm_http *h);
static void hs_socket_action(struct srm_http *h, curl_socket_t fd, int flags);
static void hs_drain(struct srm_http *h);
static void hs_schedule_pump(struct srm_http *h);
static void hs_on_pump(uv_idle_t *idle);
static void hs_pump(struct srm_http *h);
static void hs_cancel(struct srm_http *h, void *owner, bool all);
static void hs_slist_add(struct curl_slist **list, const char *line);
static int hr_start(struct srm_http_request *r);
static size_t hr_on_body(char *data, size_t size, size_t n, void *ud);
static size_t hr_on_header(char *data, size_t size, size_t n, void *ud);
static void hr_detach(struct srm_http_request *r);
static void hr_set_result(struct srm_http_request *r, CURLcode rc);
static void hr_fail(struct srm_http_request *r, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void hr_parse_headers(struct srm_http_request *r);
static const char *hr_header_lookup(const char *name, void *ud);
static void hr_complete(struct srm_http_request *r);
static void hr_free(struct srm_http_request *r);

/* ------------------------------------------------------------------ */
/* Engine lifetime */

int srm_http_create(uv_loop_t *loop, const struct srm_http_opts *opts,
                    struct srm_http **ret_http)
{
    struct srm_http *h;
    struct srm_http_opts o = {0};
    bool curl_inited = false;
    int rc;

    if (loop == NULL || ret_http == NULL)
        return -EINVAL;
    if (opts != NULL)
        o = *opts;
    h = srm_xcalloc(1, sizeof(*h));
    h->loop = loop;
    h->opts.max_in_flight = o.max_in_flight ? o.max_in_flight
                                            : HTTP_DEFAULT_MAX_IN_FLIGHT;
    h->opts.max_per_host = o.max_per_host ? o.max_per_host
                                          : HTTP_DEFAULT_MAX_PER_HOST;
    h->opts.connect_timeout_ms = o.connect_timeout_ms
                                     ? o.connect_timeout_ms
                                     : HTTP_DEFAULT_CONNECT_TIMEOUT_MS;
    h->opts.timeout_ms = o.timeout_ms ? o.timeout_ms : HTTP_DEFAULT_TIMEOUT_MS;
    h->opts.low_speed_time_s = o.low_speed_time_s
                                   ? o.low_speed_time_s
                                   : HTTP_DEFAULT_LOW_SPEED_TIME_S;
    h->opts.max_body = o.max_body ? o.max_body : HTTP_DEFAULT_MAX_BODY;
    h->user_agent = srm_xstrdup(o.user_agent ? o.user_agent
                                             : "srmd/" SRM_VERSION);
    h->opts.user_agent = h->user_agent;
    TAILQ_INIT(&h->queue);
    TAILQ_INIT(&h->running);
    LIST_INIT(&h->hosts);
    LIST_INIT(&h->socks);

    /* Reference counted by curl; paired with the cleanup in hs_free(). */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        SRM_ERROR("http: curl_global_init failed");
        rc = -EIO;
        goto fail;
    }
    curl_inited = true;
    h->multi = curl_multi_init();
    if (h->multi == NULL) {
        SRM_ERROR("http: curl_multi_init failed");
        rc = -ENOMEM;
        goto fail;
    }
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, hs_on_socket);
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, hs_on_curl_timer);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);

    /* These cannot fail; done last so the fail path has no handle to close. */
    uv_timer_init(loop, &h->timer);
    uv_idle_init(loop, &h->pump);
    h->open_handles = 2;
    *ret_http = h;
    return 0;

fail:
    if (h->multi != NULL)
        curl_multi_cleanup(h->multi);
    if (curl_inited)
        curl_global_cleanup();
    free(h->user_agent);
    free(h);
    return rc;
}

void srm_http_destroy(struct srm_http *h)
{
    struct hs_sock *s;

    if (h == NULL || h->closing)
        return;
    assert(h->in_curl == 0); /* not from an on_chunk callback */
    h->closing = true;
    uv_idle_stop(&h->pump);
    /* Callbacks run here may submit more; hs_cancel loops until both lists
     * are empty, so those are cancelled too. */
    hs_cancel(h, NULL, true);
    h->dead = true;
    /* Stop watching before curl closes the fds in multi_cleanup. */
    while ((s = LIST_FIRST(&h->socks)) != NULL)
        hs_sock_close(s);
    curl_multi_cleanup(h->multi);
    h->multi = NULL;
    uv_timer_stop(&h->timer);
    uv_close((uv_handle_t *)&h->timer, hs_on_handle_close);
    uv_close((uv_handle_t *)&h->pump, hs_on_handle_close);
}

/* The last uv handle is closed: nothing can reach h any more. */
static void hs_handle_closed(struct srm_http *h)
{
    struct hs_host *host;

    assert(h->open_handles > 0);
    if (--h->open_handles > 0 || !h->closing)
        return;
    while ((host = LIST_FIRST(&h->hosts)) != NULL) {
        LIST_REMOVE(host, link);
        free(host->key);
        free(host);
    }
    free(h->user_agent);
    free(h);
    curl_global_cleanup();
}

static void hs_on_handle_close(uv_handle_t *handle)
{
    struct srm_http *h;

    if (handle->type == UV_TIMER)
        h = srm_container_of((uv_timer_t *)handle, struct srm_http, timer);
    else
        h = srm_container_of((uv_idle_t *)handle, struct srm_http, pump);
    hs_handle_closed(h);
}

/* ------------------------------------------------------------------ */
/* Hosts and rate-limit pauses */

static uint64_t hs_now_ms(void)
{
    /* Monotonic, and not uv_now(): that is cached per loop iteration and
     * stale for requests submitted before the loop runs. */
    return uv_hrtime() / 1000000u;
}

/* scheme://host:port, lowercased, with the scheme's default port filled
 * in, so that http://A and http://a:80 share limits. */
static int hs_host_key(const char *url, char **ret_key)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL;
    int rc = -EINVAL;

    if (u == NULL) {
        SRM_ERROR("http: curl_url failed");
        abort();
    }
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) !=
            CURLUE_OK)
        goto out;
    *ret_key = srm_xasprintf("%s://%s:%s", scheme, host, port);
    for (char *p = *ret_key; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    rc = 0;
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return rc;
}

/* The host for key (taken over: kept or freed). Hosts live as long as the
 * engine; a daemon talks to a handful. */
static struct hs_host *hs_host_get(struct srm_http *h, char *key)
{
    struct hs_host *host;

    LIST_FOREACH(host, &h->hosts, link) {
        if (strcmp(host->key, key) == 0) {
            free(key);
            return host;
        }
    }
    host = srm_xcalloc(1, sizeof(*host));
    host->key = key;
    LIST_INSERT_HEAD(&h->hosts, host, link);
    return host;
}

static int64_t hs_host_wait_left(const struct hs_host *host)
{
    uint64_t now = hs_now_ms();

    if (host->paused_until_ms <= now)
        return 0;
    return (int64_t)((host->paused_until_ms - now + 999) / 1000);
}

static void hs_host_pause(struct srm_http *h, struct hs_host *host,
                          int64_t seconds)
{
    uint64_t until = hs_now_ms() + (uint64_t)seconds * 1000u;

    if (until > host->paused_until_ms) {
        host->paused_until_ms = until;
        SRM_INFO("http: %s asks us to wait %" PRId64 " s", host->key, seconds);
    }
    /* Queued requests to it now fail fast; let the pump find them. */
    hs_schedule_pump(h);
}

/* ------------------------------------------------------------------ */
/* curl <-> libuv glue */

static int hs_on_socket(CURL *easy, curl_socket_t fd, int action, void *userp,
                        void *socketp)
{
    struct srm_http *h = userp;
    struct hs_sock *s = socketp;
    int events = 0;

    (void)easy;
    switch (action) {
    case CURL_POLL_IN:
    case CURL_POLL_OUT:
    case CURL_POLL_INOUT:
        if (h->dead)
            return 0;
        if (s == NULL) {
            s = srm_xcalloc(1, sizeof(*s));
            s->h = h;
            s->fd = fd;
            if (uv_poll_init_socket(h->loop, &s->poll, fd) != 0) {
                SRM_ERROR("http: cannot watch socket %d", (int)fd);
                free(s);
                return -1;
            }
            h->open_handles++;
            LIST_INSERT_HEAD(&h->socks, s, link);
            curl_multi_assign(h->multi, fd, s);
        }
        if (action != CURL_POLL_OUT)
            events |= UV_READABLE;
        if (action != CURL_POLL_IN)
            events |= UV_WRITABLE;
        uv_poll_start(&s->poll, events, hs_on_poll);
        break;
    case CURL_POLL_REMOVE:
        if (s != NULL)
            hs_sock_close(s);
        break;
    default:
        break;
    }
    return 0;
}

static void hs_sock_close(struct hs_sock *s)
{
    struct srm_http *h = s->h;

    uv_poll_stop(&s->poll);
    if (h->multi != NULL)
        curl_multi_assign(h->multi, s->fd, NULL);
    LIST_REMOVE(s, link);
    uv_close((uv_handle_t *)&s->poll, hs_on_sock_close);
}

static void hs_on_sock_close(uv_handle_t *handle)
{
    struct hs_sock *s = srm_container_of((uv_poll_t *)handle, struct hs_sock,
                                         poll);
    struct srm_http *h = s->h;

    free(s);
    hs_handle_closed(h);
}

/* curl's timer callback: only (re)arm the uv timer, never call curl here
 * (CURLMOPT_TIMERFUNCTION forbids it). */
static int hs_on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    struct srm_http *h = userp;

    (void)multi;
    if (h->dead)
        return 0;
    if (timeout_ms < 0)
        uv_timer_stop(&h->timer);
    else
        uv_timer_start(&h->timer, hs_on_timeout,
                       timeout_ms == 0 ? 1 : (uint64_t)timeout_ms, 0);
    return 0;
}

static void hs_on_timeout(uv_timer_t *timer)
{
    struct srm_http *h = srm_container_of(timer, struct srm_http, timer);

    hs_socket_action(h, CURL_SOCKET_TIMEOUT, 0);
}

static void hs_on_poll(uv_poll_t *poll, int status, int events)
{
    struct hs_sock *s = srm_container_of(poll, struct hs_sock, poll);
    int flags = 0;

    /* A negative status is an error on the socket: tell curl so, instead
     * of passing garbage event bits (curl/curl#14254). */
    if (status < 0) {
        flags = CURL_CSELECT_ERR;
    } else {
        if (events & UV_READABLE)
            flags |= CURL_CSELECT_IN;
        if (events & UV_WRITABLE)
            flags |= CURL_CSELECT_OUT;
    }
    hs_socket_action(s->h, s->fd, flags);
}

static void hs_socket_action(struct srm_http *h, curl_socket_t fd, int flags)
{
    int running = 0;
    CURLMcode mc;

    if (h->multi == NULL)
        return;
    h->in_curl++;
    mc = curl_multi_socket_action(h->multi, fd, flags, &running);
    h->in_curl--;
    if (mc != CURLM_OK)
        SRM_WARNING("http: curl_multi_socket_action: %s",
                    curl_multi_strerror(mc));
    /* Always, on both paths: the example skips this on the timer path once
     * nothing runs, and loses the last completions. */
    hs_drain(h);
}

/* Complete every finished transfer. */
static void hs_drain(struct srm_http *h)
{
    CURLMsg *msg;
    int left;

    while (h->multi != NULL &&
           (msg = curl_multi_info_read(h->multi, &left)) != NULL) {
        struct srm_http_request *r = NULL;
        CURLcode rc;

        if (msg->msg != CURLMSG_DONE)
            continue;
        rc = msg->data.result;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        assert(r != NULL && r->state == HR_RUNNING);
        /* msg dies with remove_handle in hr_detach; rc was copied. */
        hr_detach(r);
        hr_set_result(r, rc);
        hr_complete(r);
    }
}

/* ------------------------------------------------------------------ */
/* Queue */

static void hs_schedule_pump(struct srm_http *h)
{
    if (!h->closing)
        uv_idle_start(&h->pump, hs_on_pump);
}

static void hs_on_pump(uv_idle_t *idle)
{
    struct srm_http *h = srm_container_of(idle, struct srm_http, pump);

    /* Stop first: requests submitted by callbacks below re-arm it. */
    uv_idle_stop(idle);
    hs_pump(h);
}

/* Start what the limits allow, in FIFO order; a request whose host is full
 * does not hold up those behind it for other hosts. Requests to a paused
 * host fail. */
static void hs_pump(struct srm_http *h)
{
    struct srm_http_request *r, *next;
    bool again = true;

    while (again && !h->closing) {
        again = false;
        for (r = TAILQ_FIRST(&h->queue); r != NULL; r = next) {
            int64_t wait = hs_host_wait_left(r->host);
            int rc;

            next = TAILQ_NEXT(r, link);
            if (wait > 0) {
                hr_detach(r);
                hr_fail(r, SRM_E_RATELIMIT, "rate limited by %s for %" PRId64
                        " s", r->host->key, wait);
                r->resp.retry_after = wait;
                hr_complete(r);
                again = true; /* the callback may have changed the lists */
                break;
            }
            if (h->n_running >= h->opts.max_in_flight ||
                r->host->in_flight >= h->opts.max_per_host)
                continue;
            hr_detach(r);
            rc = hr_start(r);
            if (rc < 0) {
                hr_fail(r, SRM_E_TRANSPORT, "cannot start request to %s: %s",
                        r->host->key, strerror(-rc));
                hr_complete(r);
                again = true;
                break;
            }
        }
    }
}

/* Complete every request of owner (or all) with SRM_E_CANCELLED. */
static void hs_cancel(struct srm_http *h, void *owner, bool all)
{
    struct srm_http_request *r;

    for (;;) {
        TAILQ_FOREACH(r, &h->running, link) {
            if (all || r->owner == owner)
                break;
        }
        if (r == NULL) {
            TAILQ_FOREACH(r, &h->queue, link) {
                if (all || r->owner == owner)
                    break;
            }
        }
        if (r == NULL)
            break;
        hr_detach(r); /* frees a slot: schedules the pump */
        hr_fail(r, SRM_E_CANCELLED, "request to %s cancelled", r->host->key);
        hr_complete(r);
    }
}

void srm_http_cancel_owner(struct srm_http *h, void *owner)
{
    if (h == NULL || owner == NULL)
        return;
    /* curl cannot remove a handle from inside its own callbacks. */
    assert(h->in_curl == 0);
    hs_cancel(h, owner, false);
}

/* ------------------------------------------------------------------ */
/* Requests */

static void hs_slist_add(struct curl_slist **list, const char *line)
{
    struct curl_slist *l = curl_slist_append(*list, line);

    if (l == NULL) {
        SRM_ERROR("http: out of memory");
        abort();
    }
    *list = l;
}

int srm_http_submit(struct srm_http *h, const struct srm_http_req *req,
                    const struct srm_http_extra *extra, srm_http_cb cb,
                    void *ud)
{
    struct srm_http_req rq = {0};
    struct srm_http_request *r;
    size_t n;
    char *key = NULL;
    int rc;

    if (h == NULL || req == NULL || cb == NULL)
        return -EINVAL;
    if (h->dead)
        return -ESHUTDOWN;
    /* Read only the members the caller knew about (struct_size). */
    n = req->struct_size < sizeof(rq) ? req->struct_size : sizeof(rq);
    if (n < offsetof(struct srm_http_req, url) + sizeof(rq.url))
        return -EINVAL;
    memcpy(&rq, req, n);
    if (rq.url == NULL || (rq.body == NULL && rq.body_len > 0))
        return -EINVAL;
    rc = hs_host_key(rq.url, &key);
    if (rc < 0)
        return rc;

    r = srm_xcalloc(1, sizeof(*r));
    r->h = h;
    r->host = hs_host_get(h, key);
    r->url = srm_xstrdup(rq.url);
    r->method = srm_xstrdup_or_null(rq.method);
    if (rq.body != NULL) {
        r->body = srm_xmalloc(rq.body_len + 1);
        memcpy(r->body, rq.body, rq.body_len);
        r->body[rq.body_len] = '\0';
        r->body_len = rq.body_len;
        /* Python, nginx and most APIs answer at once; a 1 s wait for a
         * 100-continue that never comes is pure latency. */
        hs_slist_add(&r->headers, "Expect:");
    }
    r->bearer = srm_xstrdup_or_null(rq.bearer_token);
    r->username = srm_xstrdup_or_null(rq.username);
    r->password = srm_xstrdup_or_null(rq.password);
    r->custom = srm_xstrdup_or_null(rq.custom_request);
    r->flags = rq.flags;
    r->timeout_ms = rq.timeout_ms ? rq.timeout_ms : h->opts.timeout_ms;
    r->max_body = rq.max_body ? rq.max_body : h->opts.max_body;
    for (const char *const *p = rq.headers; p != NULL && *p != NULL; p++) {
        hs_slist_add(&r->headers, *p);
        if (strncasecmp(*p, "If-None-Match:", 14) == 0 ||
            strncasecmp(*p, "If-Modified-Since:", 18) == 0)
            r->conditional = true;
    }
    if (extra != NULL) {
        r->owner = extra->owner;
        r->insecure = extra->insecure;
        r->on_chunk = extra->on_chunk;
        if (extra->if_none_match != NULL) {
            char *line = srm_xasprintf("If-None-Match: %s",
                                       extra->if_none_match);
            hs_slist_add(&r->headers, line);
            free(line);
            r->conditional = true;
        }
        if (extra->if_modified_since != NULL) {
            char *line = srm_xasprintf("If-Modified-Since: %s",
                                       extra->if_modified_since);
            hs_slist_add(&r->headers, line);
            free(line);
            r->conditional = true;
        }
    }
    r->cb = cb;
    r->ud = ud;
    r->resp.struct_size = sizeof(r->resp);
    r->resp.retry_after = -1;

    r->state = HR_QUEUED;
    TAILQ_INSERT_TAIL(&h->queue, r, link);
    h->n_queued++;
    h->stats.submitted++;
    hs_schedule_pump(h);
    return 0;
}

#define HR_SETOPT(e, opt, val)                                                \
    do {                                                                      \
        if (curl_easy_setopt((e), (opt), (val)) != CURLE_OK) {                \
            SRM_ERROR("http: curl_easy_setopt(%s) failed", #opt);            \
            goto fail;                                                        \
        }                                                                     \
    } while (0)

/* Give r an easy handle and add it to the multi. */
static int hr_start(struct srm_http_request *r)
{
    struct srm_http *h = r->h;
    CURL *e;

    e = curl_easy_init();
    if (e == NULL)
        return -ENOMEM;
    r->easy = e;
    HR_SETOPT(e, CURLOPT_PRIVATE, r);
    HR_SETOPT(e, CURLOPT_URL, r->url);
    HR_SETOPT(e, CURLOPT_ERRORBUFFER, r->errbuf);
    HR_SETOPT(e, CURLOPT_NOSIGNAL, 1L);
    HR_SETOPT(e, CURLOPT_PROTOCOLS_STR, HTTP_PROTOCOLS);
    HR_SETOPT(e, CURLOPT_REDIR_PROTOCOLS_STR, HTTP_REDIR_PROTOCOLS);
    HR_SETOPT(e, CURLOPT_FOLLOWLOCATION,
              (r->flags & SRM_HTTP_NO_REDIRECT) ? 0L : 1L);
    HR_SETOPT(e, CURLOPT_MAXREDIRS, HTTP_MAX_REDIRECTS);
    HR_SETOPT(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    /* Over TLS, wait for a connection being set up to learn (ALPN) whether
     * it multiplexes, rather than opening another. Not over plain http:
     * curl 7.88 then learns it only from the first response, so every
     * other request to the host would wait for that one to answer. */
    if (strncmp(r->host->key, "https://", 8) == 0)
        HR_SETOPT(e, CURLOPT_PIPEWAIT, 1L);
    HR_SETOPT(e, CURLOPT_ACCEPT_ENCODING, "");
    HR_SETOPT(e, CURLOPT_USERAGENT, h->user_agent);
    HR_SETOPT(e, CURLOPT_CONNECTTIMEOUT_MS, (long)h->opts.connect_timeout_ms);
    HR_SETOPT(e, CURLOPT_TIMEOUT_MS, (long)r->timeout_ms);
    HR_SETOPT(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
    HR_SETOPT(e, CURLOPT_LOW_SPEED_TIME, (long)h->opts.low_speed_time_s);
    /* Refuses an announced Content-Length over the cap before any byte;
     * hr_on_body still counts decoded bytes for the rest. */
    HR_SETOPT(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)r->max_body);
    HR_SETOPT(e, CURLOPT_SSL_VERIFYPEER, r->insecure ? 0L : 1L);
    HR_SETOPT(e, CURLOPT_SSL_VERIFYHOST, r->insecure ? 0L : 2L);
    HR_SETOPT(e, CURLOPT_WRITEFUNCTION, hr_on_body);
    HR_SETOPT(e, CURLOPT_WRITEDATA, r);
    HR_SETOPT(e, CURLOPT_HEADERFUNCTION, hr_on_header);
    HR_SETOPT(e, CURLOPT_HEADERDATA, r);
    if (r->headers != NULL)
        HR_SETOPT(e, CURLOPT_HTTPHEADER, r->headers);
    if (r->body != NULL) {
        HR_SETOPT(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
        HR_SETOPT(e, CURLOPT_POSTFIELDS, r->body);
    }
    if (r->method != NULL) {
        if (strcasecmp(r->method, "GET") == 0) {
            HR_SETOPT(e, CURLOPT_HTTPGET, 1L);
        } else if (strcasecmp(r->method, "HEAD") == 0) {
            HR_SETOPT(e, CURLOPT_NOBODY, 1L);
        } else if (strcasecmp(r->method, "POST") == 0) {
            if (r->body == NULL) {
                HR_SETOPT(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
                HR_SETOPT(e, CURLOPT_POSTFIELDS, "");
            }
        } else {
            HR_SETOPT(e, CURLOPT_CUSTOMREQUEST, r->method);
        }
    }
    if (r->custom != NULL)
        HR_SETOPT(e, CURLOPT_CUSTOMREQUEST, r->custom);
    if (r->bearer != NULL) {
        /* Sent as Authorization: Bearer over HTTP, SASL XOAUTH2 over IMAP;
         * unlike a raw header, curl drops it on a redirect to another
         * host. */
        HR_SETOPT(e, CURLOPT_XOAUTH2_BEARER, r->bearer);
        HR_SETOPT(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
    }
    if (r->username != NULL)
        HR_SETOPT(e, CURLOPT_USERNAME, r->username);
    if (r->password != NULL)
        HR_SETOPT(e, CURLOPT_PASSWORD, r->password);

    if (curl_multi_add_handle(h->multi, e) != CURLM_OK) {
        SRM_ERROR("http: curl_multi_add_handle failed");
        goto fail;
    }
    r->state = HR_RUNNING;
    TAILQ_INSERT_TAIL(&h->running, r, link);
    h->n_running++;
    r->host->in_flight++;
    return 0;

fail:
    curl_easy_cleanup(e);
    r->easy = NULL;
    return -EIO;
}

/* Take r out of its list (and its handle out of the multi). */
static void hr_detach(struct srm_http_request *r)
{
    struct srm_http *h = r->h;

    switch (r->state) {
    case HR_QUEUED:
        TAILQ_REMOVE(&h->queue, r, link);
        h->n_queued--;
        break;
    case HR_RUNNING:
        TAILQ_REMOVE(&h->running, r, link);
        h->n_running--;
        r->host->in_flight--;
        if (h->multi != NULL)
            curl_multi_remove_handle(h->multi, r->easy);
        hs_schedule_pump(h); /* a slot is free */
        break;
    case HR_DONE:
        break;
    }
    r->state = HR_DONE;
}

static size_t hr_on_body(char *data, size_t size, size_t n, void *ud)
{
    struct srm_http_request *r = ud;
    size_t len = size * n;

    /* Decoded bytes: curl has already inflated gzip/deflate/br, so a
     * small compressed bomb is caught here. */
    if (r->received + len > r->max_body) {
        r->too_big = true;
        return 0;
    }
    r->received += len;
    r->h->stats.bytes_in += len;
    if (r->on_chunk != NULL) {
        if (!r->on_chunk(data, len, r->ud)) {
            r->chunk_abort = true;
            return 0;
        }
        return len;
    }
    if (r->rbody_len + len + 1 > r->rbody_cap) {
        size_t cap = r->rbody_cap ? r->rbody_cap * 2 : 4096;

        while (cap < r->rbody_len + len + 1)
            cap *= 2;
        r->rbody = srm_xrealloc(r->rbody, cap);
        r->rbody_cap = cap;
    }
    memcpy(r->rbody + r->rbody_len, data, len);
    r->rbody_len += len;
    r->rbody[r->rbody_len] = '\0';
    return len;
}

static size_t hr_on_header(char *data, size_t size, size_t n, void *ud)
{
    struct srm_http_request *r = ud;
    size_t len = size * n;

    /* A status line starts a new response (redirect, 100, proxy CONNECT):
     * keep only the last one's headers. */
    if (len >= 5 && strncmp(data, "HTTP/", 5) == 0)
        r->rhdr_len = 0;
    if (r->rhdr_len + len > HTTP_MAX_HEADER_BYTES) {
        r->hdr_too_big = true;
        return 0;
    }
    if (r->rhdr_len + len + 1 > r->rhdr_cap) {
        size_t cap = r->rhdr_cap ? r->rhdr_cap * 2 : 1024;

        while (cap < r->rhdr_len + len + 1)
            cap *= 2;
        r->rhdr = srm_xrealloc(r->rhdr, cap);
        r->rhdr_cap = cap;
    }
    memcpy(r->rhdr + r->rhdr_len, data, len);
    r->rhdr_len += len;
    r->rhdr[r->rhdr_len] = '\0';
    return len;
}

/* Split the raw block in place into name/value pairs. */
static void hr_parse_headers(struct srm_http_request *r)
{
    char *line, *save = NULL;
    size_t cap = 0;

    if (r->rhdr == NULL)
        return;
    for (line = strtok_r(r->rhdr, "\r\n", &save); line != NULL;
         line = strtok_r(NULL, "\r\n", &save)) {
        char *colon = strchr(line, ':');
        char *end, *value;

        /* Status lines and obsolete folded continuations are skipped. */
        if (colon == NULL || colon == line || *line == ' ' || *line == '\t')
            continue;
        end = colon;
        while (end > line && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        *end = '\0';
        value = colon + 1;
        while (*value == ' ' || *value == '\t')
            value++;
        end = value + strlen(value);
        while (end > value && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        *end = '\0';
        if (r->n_hv == cap) {
            cap = cap ? cap * 2 : 16;
            r->hv = srm_xreallocarray(r->hv, cap, sizeof(*r->hv));
        }
        r->hv[r->n_hv].name = line;
        r->hv[r->n_hv].value = value;
        r->n_hv++;
    }
}

const char *srm_http_header(const struct srm_http_resp *resp,
                            const char *name)
{
    const struct srm_http_request *r;
    const char *found = NULL;

    if (resp == NULL || name == NULL)
        return NULL;
    r = srm_container_of(resp, const struct srm_http_request, resp);
    for (size_t i = 0; i < r->n_hv; i++) {
        if (strcasecmp(r->hv[i].name, name) == 0)
            found = r->hv[i].value;
    }
    return found;
}

static const char *hr_header_lookup(const char *name, void *ud)
{
    return srm_http_header(ud, name);
}

static void hr_fail(struct srm_http_request *r, int err, const char *fmt, ...)
{
    va_list ap;
    char *msg = NULL;

    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0) {
        SRM_ERROR("http: out of memory");
        abort();
    }
    va_end(ap);
    free(r->error_msg);
    r->error_msg = msg;
    r->resp.error = err;
    r->resp.error_msg = msg;
}

/* Fill r->resp from a finished transfer. */
static void hr_set_result(struct srm_http_request *r, CURLcode rc)
{
    struct srm_http *h = r->h;
    long status = 0;
    char *eff = NULL;
    const char *why = r->errbuf[0] ? r->errbuf : curl_easy_strerror(rc);

    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(r->easy, CURLINFO_EFFECTIVE_URL, &eff);
    r->resp.status = status;
    r->resp.effective_url = eff; /* owned by the easy handle, freed last */
    hr_parse_headers(r);

    /* Messages name the host, never the URL: query strings carry tokens. */
    if (rc == CURLE_OK) {
        r->resp.error = 0;
    } else if (r->too_big || rc == CURLE_FILESIZE_EXCEEDED) {
        hr_fail(r, SRM_E_TOOBIG, "response body over %" PRIu64 " bytes from %s",
                r->max_body, r->host->key);
    } else if (r->hdr_too_big) {
        hr_fail(r, SRM_E_TOOBIG, "response headers over %u bytes from %s",
                HTTP_MAX_HEADER_BYTES, r->host->key);
    } else if (r->chunk_abort) {
        hr_fail(r, SRM_E_CANCELLED, "transfer from %s aborted by the receiver",
                r->host->key);
    } else if (rc == CURLE_OPERATION_TIMEDOUT) {
        hr_fail(r, SRM_E_TIMEOUT, "%s (%s)", why, r->host->key);
    } else {
        hr_fail(r, SRM_E_TRANSPORT, "%s (%s)", why, r->host->key);
    }

    if (r->resp.error == 0) {
        r->resp.not_modified = status == 304 && r->conditional;
        if (r->resp.not_modified)
            h->stats.not_modified++;
        r->resp.retry_after = srm_http_retry_after(status, hr_header_lookup,
                                                   &r->resp, time(NULL));
        if (r->resp.retry_after > 0)
            hs_host_pause(h, r->host, r->resp.retry_after);
        SRM_DEBUG("http: %s answered %ld (%" PRIu64 " bytes)", r->host->key,
                  status, r->received);
    } else {
        /* The plugin reports it with its source's name; only trace here. */
        SRM_DEBUG("http: %s", r->resp.error_msg);
    }
}

/* Run the callback of a detached request, then free it. */
static void hr_complete(struct srm_http_request *r)
{
    struct srm_http *h = r->h;

    assert(r->state == HR_DONE);
    h->stats.completed++;
    if (r->resp.error != 0) {
        h->stats.failed++;
        r->resp.body = "";
        r->resp.body_len = 0;
    } else {
        r->resp.body = r->rbody ? r->rbody : "";
        r->resp.body_len = r->rbody_len;
    }
    r->cb(&r->resp, r->ud);
    hr_free(r);
}

static void hr_free(struct srm_http_request *r)
{
    if (r->easy != NULL)
        curl_easy_cleanup(r->easy);
    curl_slist_free_all(r->headers);
    free(r->method);
    free(r->url);
    free(r->body);
    /* Secrets do not outlive the request in freed heap memory. */
    if (r->bearer != NULL)
        explicit_bzero(r->bearer, strlen(r->bearer));
    if (r->password != NULL)
        explicit_bzero(r->password, strlen(r->password));
    free(r->bearer);
    free(r->username);
    free(r->password);
    free(r->custom);
    free(r->rbody);
    free(r->rhdr);
    free(r->hv);
    free(r->error_msg);
    free(r);
}

void srm_http_get_stats(const struct srm_http *h, struct srm_http_stats *ret)
{
    *ret = h->stats;
    ret->in_flight = h->n_running;
    ret->queued = h->n_queued;
}
