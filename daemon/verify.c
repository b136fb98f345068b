/* verify.c - rel="me" link verification (verify.h). */
#include "verify.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <libxml/HTMLparser.h>
#include <libxml/uri.h>

#include "daemon.h"
#include "db.h"
#include "http.h"
#include "log.h"
#include "mem.h"
#include "people.h"
#include "reader.h"
#include "writer.h"

struct vf_round;

struct vf_item {
    struct vf_round *round;
    int64_t identity;
    char *url, *profile;
    bool verified;
    char *error;
};

struct vf_round {
    struct vf_item *items;
    size_t n, cap;
    size_t pending;       /* HTTP requests not completed */
    int64_t before;       /* links checked before this are due */
    int64_t now;
    bool cancelled;
};

struct vf {
    uv_loop_t *loop;
    uv_timer_t *timer;
    int64_t interval_s;
    struct vf_round *round; /* the running round, or NULL */
    bool stopped;
};

static struct vf *vf_self;

static void vf_round_free(struct vf_round *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->items[i].url);
        free(r->items[i].profile);
        free(r->items[i].error);
    }
    free(r->items);
    free(r);
}

/* The round is over (or abandoned): free it and free the verifier when it
 * was stopped meanwhile. */
static void vf_round_end(struct vf_round *r)
{
    if (vf_self != NULL && vf_self->round == r)
        vf_self->round = NULL;
    vf_round_free(r);
}

/* ---- pure: rel="me" ---- */

static char *vf_norm(const char *u)
{
    const char *p = u;
    char *s;
    size_t n;

    if (strncasecmp(p, "https://", 8) == 0)
        p += 8;
    else if (strncasecmp(p, "http://", 7) == 0)
        p += 7;
    s = srm_xstrdup(p);
    for (char *c = s; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c - 'A' + 'a');
    n = strlen(s);
    while (n > 0 && s[n - 1] == '/')
        s[--n] = '\0';
    return s;
}

static bool vf_rel_has_me(const char *rel)
{
    const char *p = rel;

    while (*p) {
        size_t l;
        p += strspn(p, " \t\r\n");
        l = strcspn(p, " \t\r\n");
        if (l == 2 && strncasecmp(p, "me", 2) == 0)
            return true;
        p += l;
    }
    return false;
}

static bool vf_walk(xmlNode *n, const char *page_url, const char *want)
{
    for (; n != NULL; n = n->next) {
        if (n->type == XML_ELEMENT_NODE &&
            (strcasecmp((const char *)n->name, "a") == 0 ||
             strcasecmp((const char *)n->name, "link") == 0)) {
            xmlChar *rel = xmlGetProp(n, (const xmlChar *)"rel");
            xmlChar *href = xmlGetProp(n, (const xmlChar *)"href");
            bool hit = false;
            if (rel != NULL && href != NULL &&
                vf_rel_has_me((const char *)rel)) {
                xmlChar *abs = xmlBuildURI(href, (const xmlChar *)page_url);
                char *a = vf_norm(abs ? (const char *)abs
                                      : (const char *)href);
                hit = strcmp(a, want) == 0;
                free(a);
                xmlFree(abs);
            }
            xmlFree(rel);
            xmlFree(href);
            if (hit)
                return true;
        }
        if (vf_walk(n->children, page_url, want))
            return true;
    }
    return false;
}

bool srm_verify_rel_me(const char *html, size_t len, const char *page_url,
                       const char *target)
{
    htmlDocPtr doc;
    char *want;
    bool found;

    if (html == NULL || len == 0 || target == NULL || len > INT32_MAX)
        return false;
    doc = htmlReadMemory(html, (int)len, page_url, NULL,
                         HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
                             HTML_PARSE_NONET | HTML_PARSE_RECOVER);
    if (doc == NULL)
        return false;
    want = vf_norm(target);
    found = vf_walk(xmlDocGetRootElement(doc), page_url ? page_url : "",
                    want);
    free(want);
    xmlFreeDoc(doc);
    return found;
}

/* ---- the writer job: store results, resolve ---- */

static int vf_store_fn(struct srm_db *db, void *arg)
{
    struct vf_round *r = arg;
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < r->n; i++) {
        struct vf_item *it = &r->items[i];
        sqlite3_stmt *st = srm_db_stmt(db, SRM_STMT_PEOPLE_CHECK_GET);
        const char *status;
        bool was_verified = false;

        if (st == NULL)
            return -EIO;
        srm_db_bind_int64(st, ":id", it->identity);
        srm_db_bind_text(st, ":url", it->url);
        if (sqlite3_step(st) == SQLITE_ROW) {
            const char *s = (const char *)sqlite3_column_text(st, 0);
            was_verified = s && (strcmp(s, "verified") == 0 ||
                                 strcmp(s, "failing") == 0);
        }
        srm_db_stmt_done(st);
        status = it->verified ? "verified"
                 : was_verified ? "failing"
                                : "unverified";
        st = srm_db_stmt(db, SRM_STMT_PEOPLE_CHECK_SET);
        if (st == NULL)
            return -EIO;
        srm_db_bind_int64(st, ":id", it->identity);
        srm_db_bind_text(st, ":url", it->url);
        srm_db_bind_text(st, ":status", status);
        srm_db_bind_int64(st, ":now", r->now);
        srm_db_bind_text(st, ":error", it->verified ? NULL : it->error);
        rc = sqlite3_step(st);
        srm_db_stmt_done(st);
        if (rc != SQLITE_DONE)
            return srm_db_fail(db, rc, "link check");
        rc = 0;
        if (it->verified) {
            rc = srm_people_resolve_identity(db, it->identity, r->now, NULL);
        } else if (was_verified) {
            st = srm_db_stmt(db, SRM_STMT_PEOPLE_EVIDENCE_FLAG);
            if (st == NULL)
                return -EIO;
            srm_db_bind_int64(st, ":id", it->identity);
            srm_db_bind_text(st, ":url", it->url);
            srm_db_bind_int64(st, ":now", r->now);
            rc = sqlite3_step(st);
            srm_db_stmt_done(st);
            rc = rc == SQLITE_DONE ? 0 : srm_db_fail(db, rc, "flag");
        }
    }
    return rc;
}

static void vf_store_done(void *arg, int status)
{
    struct vf_round *r = arg;
    size_t ok = 0;

    for (size_t i = 0; i < r->n; i++)
        ok += r->items[i].verified;
    if (status < 0)
        SRM_ERROR("verify: storing %zu link checks failed: %s", r->n,
                  strerror(-status));
    else
        SRM_INFO("verify: checked %zu links, %zu verified", r->n, ok);
    vf_round_end(r);
}

/* ---- HTTP ---- */

static void vf_fetched(const struct srm_http_resp *resp, void *ud)
{
    struct vf_item *it = ud;
    struct vf_round *r = it->round;

    if (resp->error != 0)
        it->error = srm_xstrdup(resp->error_msg ? resp->error_msg
                                                : "request failed");
    else if (resp->status < 200 || resp->status > 299)
        it->error = srm_xasprintf("HTTP %ld", resp->status);
    else if (!(it->verified = srm_verify_rel_me(
                   resp->body, resp->body_len,
                   resp->effective_url ? resp->effective_url : it->url,
                   it->profile)))
        it->error = srm_xstrdup("no rel=\"me\" link back to the profile");
    if (--r->pending > 0)
        return;
    if (r->cancelled || srm_daemon_self == NULL ||
        srm_daemon_self->writer == NULL || srm_daemon_self->stopping) {
        vf_round_end(r);
        return;
    }
    srm_writer_submit(srm_daemon_self->writer, vf_store_fn, vf_store_done,
                      r);
}

/* ---- the reader job: what is due ---- */

static int vf_due_fn(struct srm_db *db, void *arg)
{
    struct vf_round *r = arg;
    sqlite3_stmt *st = srm_db_stmt(db, SRM_STMT_PEOPLE_VERIFY_DUE);
    int rc;

    if (st == NULL)
        return -EIO;
    srm_db_bind_int64(st, ":before", r->before);
    srm_db_bind_int64(st, ":limit", SRM_VERIFY_BATCH);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (r->n == r->cap) {
            r->cap = r->cap * 2 + 16;
            r->items = srm_xreallocarray(r->items, r->cap,
                                         sizeof(*r->items));
        }
        r->items[r->n++] = (struct vf_item){
            .identity = sqlite3_column_int64(st, 0),
            .url = srm_xstrdup((const char *)sqlite3_column_text(st, 1)),
            .profile = srm_xstrdup((const char *)sqlite3_column_text(st, 2)),
        };
    }
    srm_db_stmt_done(st);
    return rc == SQLITE_DONE ? 0 : srm_db_fail(db, rc, "links due");
}

static void vf_due_done(void *arg, int status)
{
    struct vf_round *r = arg;
    struct srm_http *http = srm_daemon_self ? srm_daemon_self->http : NULL;

    if (status < 0 || r->cancelled || r->n == 0 || http == NULL ||
        vf_self == NULL || vf_self->stopped) {
        if (status < 0)
            SRM_ERROR("verify: reading the links to check failed: %s",
                      strerror(-status));
        vf_round_end(r);
        return;
    }
    r->pending = r->n;
    for (size_t i = 0; i < r->n; i++)
        r->items[i].round = r;
    for (size_t i = 0; i < r->n; i++) {
        struct srm_http_req req = SRM_HTTP_REQ_INIT;
        struct srm_http_extra extra = {.owner = vf_self};
        req.url = r->items[i].url;
        req.timeout_ms = 15000;
        req.max_body = 2 << 20;
        if (srm_http_submit(http, &req, &extra, vf_fetched,
                            &r->items[i]) < 0) {
            r->items[i].error = srm_xstrdup("cannot request this URL");
            if (--r->pending == 0) {
                srm_writer_submit(srm_daemon_self->writer, vf_store_fn,
                                  vf_store_done, r);
                return;
            }
        }
    }
}

static int vf_round_start(int64_t before)
{
    struct vf_round *r;

    if (vf_self == NULL || vf_self->stopped || srm_daemon_self == NULL ||
        srm_daemon_self->reader == NULL)
        return -ESHUTDOWN;
    if (vf_self->round != NULL)
        return -EBUSY;
    r = srm_xcalloc(1, sizeof(*r));
    r->now = (int64_t)time(NULL);
    r->before = before;
    vf_self->round = r;
    srm_reader_submit(srm_daemon_self->reader, vf_due_fn, vf_due_done, r);
    return 0;
}

static void vf_tick(uv_timer_t *t)
{
    (void)t;
    vf_round_start((int64_t)time(NULL) - vf_self->interval_s + 60);
}

int srm_verify_start(uv_loop_t *loop, uint64_t first_delay_ms,
                     int64_t interval_s)
{
    if (vf_self != NULL)
        return -EALREADY;
    vf_self = srm_xcalloc(1, sizeof(*vf_self));
    vf_self->loop = loop;
    vf_self->interval_s = interval_s > 0 ? interval_s : SRM_VERIFY_INTERVAL_S;
    vf_self->timer = srm_xcalloc(1, sizeof(*vf_self->timer));
    uv_timer_init(loop, vf_self->timer);
    uv_timer_start(vf_self->timer, vf_tick, first_delay_ms,
                   (uint64_t)vf_self->interval_s * 1000);
    /* The timer must not keep the loop alive on its own at shutdown. */
    return 0;
}

static void vf_timer_closed(uv_handle_t *h)
{
    free(h);
}

void srm_verify_stop(void)
{
    struct vf *v = vf_self;

    if (v == NULL)
        return;
    v->stopped = true;
    if (v->round != NULL) {
        /* Whoever holds it (the reader or writer job, or the last HTTP
         * callback, run by the cancel below) ends it. */
        v->round->cancelled = true;
        v->round = NULL;
    }
    if (srm_daemon_self != NULL && srm_daemon_self->http != NULL)
        srm_http_cancel_owner(srm_daemon_self->http, v);
    uv_timer_stop(v->timer);
    uv_close((uv_handle_t *)v->timer, vf_timer_closed);
    vf_self = NULL;
    free(v);
}

int srm_verify_now(void)
{
    return vf_round_start((int64_t)time(NULL) + 1);
}
