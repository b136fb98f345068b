/* fuzz_connector.c - the shared libFuzzer harness of the connector targets
 * (fuzz_rss, fuzz_hackernews, fuzz_mastodon, fuzz_bluesky, fuzz_github).
 *
 * Not a target itself: it is linked into each fuzz_<net> executable with
 * that connector's sources and tests/connectors/mock_host.c. The target's
 * own file supplies two things:
 *
 *     const char fuzz_net_headers[];            default response headers
 *     void fuzz_net_setup(struct mock_host *m); mock_cfg_set... calls
 *
 * Input format (plain bodies from tests/data are valid inputs):
 *
 *     PART [ "\n--8<--\n" PART ]...      at most FZ_MAX_PARTS parts
 *     PART = [ "HTTP " STATUS "\n" { HEADER "\n" } "\n" ] BODY
 *
 * A part that does not start with "HTTP " is a 200 answer whose headers are
 * fuzz_net_headers. STATUS 0 stands for a transport failure
 * (SRM_E_TRANSPORT), a negative STATUS for that srm_err code
 * (e.g. -1007, SRM_E_TIMEOUT). The n-th request the connector submits,
 * whatever its method and URL, is answered with part n (the last part
 * again when there are fewer parts), up to FZ_MAX_RESPONSES answers per
 * input; later requests get a transport error (SRM_E_TRANSPORT), so a
 * connector that keeps asking ends on errors.
 *
 * One input runs: create, pass 1, a reply (when the connector offers
 * SRM_CAP_REPLY; it answers the first mention pass 1 emitted), pass 2 (the
 * cursors pass 1 set are kept), destroy. Contract checks abort, so the
 * fuzzer reports them as crashes: a pass started with sync() == 0 must end
 * with exactly one pass_done(); an accepted reply must call done exactly
 * once; and the mock must record no violation (emitting outside a pass,
 * records without remote_id, reading keys outside the schema, ...). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mock_host.h"
#include "srm/plugin.h"

#define FZ_MAX_PARTS 8
#define FZ_MAX_RESPONSES 8
#define FZ_SEP "\n--8<--\n"

/* Supplied by fuzz_<net>.c. */
extern const char fuzz_net_headers[];
void fuzz_net_setup(struct mock_host *m);

struct fz_part {
    long status;
    int error;
    char *headers; /* "Name: value\r\n"..., owned */
    const char *body;
    size_t body_len;
};

static struct {
    struct mock_host *m;
    struct fz_part parts[FZ_MAX_PARTS];
    size_t n_parts;
    size_t n_answered;
    const struct srm_host_api *mock_api;
    struct srm_host_api api;
    int reply_done;
} fz;

static void fz_die(const char *what)
{
    struct mock_host *m = fz.m;

    fprintf(stderr, "fuzz_connector: CONTRACT: %s\n", what);
    if (m != NULL) {
        fprintf(stderr, "  pass_done calls: %d, status %d, message %s\n",
                m->pass.count, (int)m->pass.status,
                m->pass.message != NULL ? m->pass.message : "(none)");
        for (size_t i = 0; i < m->n_violations; i++)
            fprintf(stderr, "  violation: %s\n", m->violations[i]);
        for (size_t i = 0; i < m->n_requests; i++)
            fprintf(stderr, "  request %zu: %s %s\n", i,
                    m->requests[i].method, m->requests[i].url);
    }
    abort();
}

/* Parse one part; data is not NUL-terminated. */
static void fz_part_parse(struct fz_part *p, const char *data, size_t len)
{
    memset(p, 0, sizeof(*p));
    p->status = 200;
    p->body = data;
    p->body_len = len;
    if (len < 5 || memcmp(data, "HTTP ", 5) != 0) {
        p->headers = strdup(fuzz_net_headers);
        return;
    }
    const char *end = data + len;
    const char *nl = memchr(data, '\n', len);
    char num[24];
    size_t nlen = (size_t)((nl != NULL ? nl : end) - (data + 5));

    if (nlen >= sizeof(num))
        nlen = sizeof(num) - 1;
    memcpy(num, data + 5, nlen);
    num[nlen] = '\0';
    p->status = strtol(num, NULL, 10);
    if (p->status <= 0) {
        /* SRM_E_CANCELLED only ever reaches a plugin whose source is being
         * destroyed (connectors then do not end their pass), so a live
         * source never sees it: answer a transport error instead. */
        p->error = p->status == 0 || p->status < -2000 ||
                           p->status == SRM_E_CANCELLED
                       ? SRM_E_TRANSPORT
                       : (int)p->status;
        p->status = 0;
    }
    /* Header lines up to an empty line; the rest is the body. */
    size_t cap = 1, hlen = 0;
    const char *line = nl != NULL ? nl + 1 : end;
    for (const char *l = line; l < end;) {
        const char *e = memchr(l, '\n', (size_t)(end - l));
        cap += (size_t)((e != NULL ? e : end) - l) + 2;
        if (e == NULL || e == l)
            break;
        l = e + 1;
    }
    p->headers = malloc(cap);
    if (p->headers == NULL)
        abort();
    while (line < end) {
        const char *e = memchr(line, '\n', (size_t)(end - line));
        size_t ll = (size_t)((e != NULL ? e : end) - line);
        if (ll == 0) { /* the blank line */
            line++;
            break;
        }
        memcpy(p->headers + hlen, line, ll);
        hlen += ll;
        memcpy(p->headers + hlen, "\r\n", 2);
        hlen += 2;
        line = e != NULL ? e + 1 : end;
    }
    p->headers[hlen] = '\0';
    p->body = line;
    p->body_len = (size_t)(end - line);
}

static void fz_split(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data, *end = s + size;
    size_t seplen = strlen(FZ_SEP);

    fz.n_parts = 0;
    while (fz.n_parts < FZ_MAX_PARTS) {
        const char *sep = fz.n_parts + 1 < FZ_MAX_PARTS
                              ? memmem(s, (size_t)(end - s), FZ_SEP, seplen)
                              : NULL;
        const char *pend = sep != NULL ? sep : end;
        fz_part_parse(&fz.parts[fz.n_parts++], s, (size_t)(pend - s));
        if (sep == NULL)
            break;
        s = sep + seplen;
    }
}

static void fz_parts_free(void)
{
    for (size_t i = 0; i < fz.n_parts; i++)
        free(fz.parts[i].headers);
    fz.n_parts = 0;
}

/* The host's http_submit: queue the request with the mock, then give it
 * the next part as its canned answer (matched by its exact method and
 * URL; the mock delivers in FIFO order, so answers keep submit order). */
static int fz_http_submit(struct srm_instance *inst,
                          const struct srm_http_req *req,
                          srm_http_done_fn done, void *ud)
{
    int rc = fz.mock_api->http_submit(inst, req, done, ud);

    if (rc != 0)
        return rc;
    const char *method = req->method != NULL ? req->method
                         : req->body != NULL ? "POST"
                                             : "GET";
    struct mock_expect *e;
    if (fz.n_answered >= FZ_MAX_RESPONSES || fz.n_parts == 0) {
        /* Past the cap: a transport failure (made here rather than left to
         * the mock, which would print each unexpected request). */
        e = mock_http_expect_n(fz.m, method, req->url, 0, NULL, NULL, 0);
        e->error = SRM_E_TRANSPORT;
        e->error_msg = strdup("fuzz: no more answers for this input");
        return rc;
    }
    const struct fz_part *p =
        &fz.parts[fz.n_answered < fz.n_parts ? fz.n_answered
                                             : fz.n_parts - 1];
    e = mock_http_expect_n(fz.m, method, req->url, p->status, p->headers,
                           p->body, p->body_len);
    if (p->error != 0)
        e->error = p->error;
    fz.n_answered++;
    return rc;
}

static void fz_reply_done(struct srm_instance *inst, int error,
                          const char *msg, const char *posted_id,
                          const char *posted_url, void *ud)
{
    (void)inst;
    (void)ud;
    /* Touch the strings so ASan checks they are readable. */
    if (msg != NULL)
        (void)strlen(msg);
    if (posted_id != NULL)
        (void)strlen(posted_id);
    if (posted_url != NULL)
        (void)strlen(posted_url);
    fz.reply_done++;
}

static void fz_pass(void)
{
    struct mock_host *m = fz.m;
    int rc = mock_sync(m);

    mock_run(m);
    if (rc == 0 && m->pass.count != 1)
        fz_die("sync() returned 0 but pass_done() was not called once");
    if (rc != 0 && m->pass.count != 0)
        fz_die("sync() failed but pass_done() was called");
    if (m->n_violations != 0)
        fz_die("mock host violation");
}

static void fz_reply(const struct srm_plugin *p)
{
    struct mock_host *m = fz.m;
    struct srm_reply_req req = SRM_REPLY_REQ_INIT;
    const struct srm_mention *mt = m->n_mentions > 0 ? &m->mentions[0] : NULL;
    const struct srm_identity *who = NULL;

    if (!(p->capabilities & SRM_CAP_REPLY) || p->reply == NULL)
        return;
    req.mention_id = "fuzz-mention-1";
    req.author_id = "fuzz-author-1";
    req.text = "Thanks, we are on it.";
    req.member = "alice";
    if (mt != NULL) {
        req.mention_id = mt->remote_id;
        req.mention_url = mt->url;
        req.reply_ref = mt->reply_ref;
        if (mt->author_id != NULL) {
            req.author_id = mt->author_id;
            who = mock_identity_find(m, mt->author_id);
        }
    }
    if (who != NULL)
        req.author_handle = who->handle;
    fz.reply_done = 0;
    int rc = p->reply(mock_plugin_ctx(m), &req, fz_reply_done, NULL);
    if (rc != 0 && fz.reply_done != 0)
        fz_die("reply() failed but called done");
    mock_run(m);
    if (rc == 0 && fz.reply_done != 1)
        fz_die("reply() returned 0 but done was not called exactly once");
    if (m->n_violations != 0)
        fz_die("mock host violation in reply");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fz.mock_api == NULL) {
        fz.mock_api = mock_host_api();
        fz.api = *fz.mock_api;
        fz.api.http_submit = fz_http_submit;
    }
    /* The plugin keeps the first host pointer it is given; it is always
     * ours. */
    const struct srm_plugin *p = srm_plugin_entry(&fz.api);
    if (p == NULL)
        fz_die("srm_plugin_entry refused the host");

    fz_split(data, size);
    fz.n_answered = 0;
    fz.m = mock_host_create();
    fuzz_net_setup(fz.m);
    if (mock_plugin_create(fz.m, p) == 0) {
        fz_pass();
        fz_reply(p);
        mock_pass_reset(fz.m);
        fz_pass();
    }
    mock_host_destroy(fz.m);
    fz.m = NULL;
    fz_parts_free();
    return 0;
}
