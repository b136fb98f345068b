/* ctl_parse.c - control-socket framing and JSON-RPC 2.0 request parsing. */
#include "ctl_parse.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "rpc.h"

static void cp_reserve(struct srm_ctl_framer *f, size_t more);
static void cp_compact(struct srm_ctl_framer *f);
static void cp_mark(struct srm_ctl_framer *f);
static bool cp_blank(const char *s, size_t len);
static int cp_fail(struct srm_ctl_error *err, int code, json_t *id,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static char *cp_dump(json_t *obj, size_t *ret_len);

/* ---- Line framer ------------------------------------------------------ */

void srm_ctl_framer_init(struct srm_ctl_framer *f, size_t max_line)
{
    memset(f, 0, sizeof(*f));
    f->max_line = max_line;
}

void srm_ctl_framer_fini(struct srm_ctl_framer *f)
{
    SRM_FREE(f->buf);
    SRM_FREE(f->marks);
    f->len = f->cap = f->pos = f->line_start = 0;
    f->nmarks = f->capmarks = 0;
    f->discarding = false;
}

static void cp_reserve(struct srm_ctl_framer *f, size_t more)
{
    size_t need = f->len + more;

    if (need <= f->cap)
        return;
    size_t cap = f->cap ? f->cap : 4096;
    while (cap < need)
        cap *= 2;
    f->buf = srm_xrealloc(f->buf, cap);
    f->cap = cap;
}

/* Drop what was handed out, so the buffer only ever holds pending bytes. */
static void cp_compact(struct srm_ctl_framer *f)
{
    if (f->pos == 0)
        return;
    memmove(f->buf, f->buf + f->pos, f->len - f->pos);
    f->len -= f->pos;
    f->line_start -= f->pos;
    for (size_t i = 0; i < f->nmarks; i++)
        f->marks[i] -= f->pos;
    f->pos = 0;
}

/* Remember that an over-long line sat at line_start; it is reported when
 * the reader reaches that offset, so events keep the stream's order. */
static void cp_mark(struct srm_ctl_framer *f)
{
    if (f->nmarks == f->capmarks) {
        f->capmarks = f->capmarks ? f->capmarks * 2 : 4;
        f->marks = srm_xreallocarray(f->marks, f->capmarks,
                                     sizeof(*f->marks));
    }
    f->marks[f->nmarks++] = f->line_start;
}

void srm_ctl_framer_feed(struct srm_ctl_framer *f, const char *data,
                         size_t len)
{
    cp_compact(f);
    while (len > 0) {
        const char *nl = memchr(data, '\n', len);
        size_t chunk = nl ? (size_t)(nl - data) + 1 : len;

        if (f->discarding) {
            if (nl)
                f->discarding = false;
        } else {
            size_t body = nl ? chunk - 1 : chunk;
            size_t have = f->len - f->line_start;

            if (have + body > f->max_line) {
                f->len = f->line_start;
                cp_mark(f);
                f->discarding = nl == NULL;
            } else {
                cp_reserve(f, chunk);
                memcpy(f->buf + f->len, data, chunk);
                f->len += chunk;
                if (nl)
                    f->line_start = f->len;
            }
        }
        data += chunk;
        len -= chunk;
    }
}

void srm_ctl_framer_finish(struct srm_ctl_framer *f)
{
    f->discarding = false;
    if (f->len > f->line_start) {
        cp_compact(f);
        cp_reserve(f, 1);
        f->buf[f->len++] = '\n';
        f->line_start = f->len;
    }
}

static bool cp_blank(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return false;
    return true;
}

enum srm_ctl_frame srm_ctl_framer_next(struct srm_ctl_framer *f,
                                       const char **ret_line,
                                       size_t *ret_len)
{
    for (;;) {
        if (f->nmarks > 0 && f->marks[0] == f->pos) {
            memmove(f->marks, f->marks + 1,
                    (f->nmarks - 1) * sizeof(*f->marks));
            f->nmarks--;
            return SRM_CTL_FRAME_TOO_LONG;
        }
        if (f->pos >= f->line_start)
            return SRM_CTL_FRAME_NONE;
        char *start = f->buf + f->pos;
        char *nl = memchr(start, '\n', f->line_start - f->pos);
        size_t n = (size_t)(nl - start);

        f->pos += n + 1;
        if (n > 0 && start[n - 1] == '\r')
            n--;
        if (cp_blank(start, n))
            continue;
        *ret_line = start;
        *ret_len = n;
        return SRM_CTL_FRAME_LINE;
    }
}

size_t srm_ctl_framer_pending(const struct srm_ctl_framer *f)
{
    return f->len - f->pos;
}

/* ---- Requests --------------------------------------------------------- */

bool srm_ctl_too_deep(const char *text, size_t len, int max_depth)
{
    int depth = 0;
    bool in_string = false;

    for (size_t i = 0; i < len; i++) {
        char c = text[i];

        if (in_string) {
            if (c == '\\')
                i++; /* skip the escaped byte, quote included */
            else if (c == '"')
                in_string = false;
            continue;
        }
        if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > max_depth)
                return true;
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
    return false;
}

static int cp_fail(struct srm_ctl_error *err, int code, json_t *id,
                   const char *fmt, ...)
{
    va_list ap;

    err->code = code;
    err->id = id ? json_incref(id) : NULL;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return -EINVAL;
}

int srm_ctl_request_parse(const char *line, size_t len,
                          struct srm_ctl_request *ret_req,
                          struct srm_ctl_error *ret_err)
{
    json_error_t jerr;
    json_t *root = NULL;
    json_t *id = NULL;
    json_t *v;
    int r;

    memset(ret_req, 0, sizeof(*ret_req));
    memset(ret_err, 0, sizeof(*ret_err));

    if (srm_ctl_too_deep(line, len, SRM_CTL_MAX_DEPTH)) {
        r = cp_fail(ret_err, SRM_RPC_PARSE_ERROR, NULL,
                    "parse error: nesting deeper than %d levels",
                    SRM_CTL_MAX_DEPTH);
        goto fail;
    }
    /* Integers beyond 64 bits make jansson fail ("too big integer"), which
     * becomes a parse error below; nothing overflows. */
    root = json_loadb(line, len, JSON_DECODE_ANY, &jerr);
    if (root == NULL) {
        r = cp_fail(ret_err, SRM_RPC_PARSE_ERROR, NULL,
                    "parse error: %s at column %d", jerr.text, jerr.column);
        goto fail;
    }
    if (json_is_array(root)) {
        r = cp_fail(ret_err, SRM_RPC_INVALID_REQUEST, NULL,
                    "batch requests are not supported");
        goto fail;
    }
    if (!json_is_object(root)) {
        r = cp_fail(ret_err, SRM_RPC_INVALID_REQUEST, NULL,
                    "invalid request: expected a JSON object");
        goto fail;
    }

    /* Read the id first, so later errors can echo it. */
    v = json_object_get(root, "id");
    if (v != NULL) {
        if (!json_is_string(v) && !json_is_number(v) && !json_is_null(v)) {
            r = cp_fail(ret_err, SRM_RPC_INVALID_REQUEST, NULL,
                        "invalid request: id must be a string, a number "
                        "or null");
            goto fail;
        }
        id = v;
    }
    v = json_object_get(root, "jsonrpc");
    if (!json_is_string(v) || strcmp(json_string_value(v), "2.0") != 0) {
        r = cp_fail(ret_err, SRM_RPC_INVALID_REQUEST, id,
                    "invalid request: jsonrpc must be \"2.0\"");
        goto fail;
    }
    v = json_object_get(root, "method");
    if (v == NULL) {
        r = cp_fail(ret_err, SRM_RPC_INVALID_REQUEST, id,
                    "invalid request: method is missing");
        goto fail;
    }
    if (!json_is_string(v)) {
        r = cp_fail(ret_err, SRM_RPC_INVALID_REQUEST, id,
                    "invalid request: method must be a string");
        goto fail;
    }
    ret_req->method = json_string_value(v);
    v = json_object_get(root, "params");
    if (v != NULL && !json_is_object(v) && !json_is_array(v)) {
        r = cp_fail(ret_err, SRM_RPC_INVALID_REQUEST, id,
                    "invalid request: params must be an object or an array");
        goto fail;
    }
    ret_req->params = v;
    ret_req->id = id;
    ret_req->root = root;
    return 0;

fail:
    json_decref(root);
    memset(ret_req, 0, sizeof(*ret_req));
    return r;
}

void srm_ctl_request_fini(struct srm_ctl_request *req)
{
    json_decref(req->root);
    memset(req, 0, sizeof(*req));
}

void srm_ctl_error_fini(struct srm_ctl_error *err)
{
    json_decref(err->id);
    err->id = NULL;
}

/* ---- Response builders ------------------------------------------------ */

/* Compact dump plus "\n". Takes the reference to obj. */
static char *cp_dump(json_t *obj, size_t *ret_len)
{
    size_t n = json_dumpb(obj, NULL, 0, JSON_COMPACT);
    char *line;

    /* json_dumpb returns 0 only on failure (e.g. OOM); an answer must
     * still go out, so fall back to a fixed internal error. */
    if (n == 0) {
        static const char fallback[] =
            "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32603,"
            "\"message\":\"internal error: cannot encode the answer\"}}\n";
        json_decref(obj);
        *ret_len = sizeof(fallback) - 1;
        return srm_xstrdup(fallback);
    }
    line = srm_xmalloc(n + 2);
    json_dumpb(obj, line, n, JSON_COMPACT);
    line[n] = '\n';
    line[n + 1] = '\0';
    json_decref(obj);
    *ret_len = n + 1;
    return line;
}

char *srm_ctl_result_line(json_t *id, json_t *result, size_t *ret_len)
{
    json_t *o = json_object();

    json_object_set_new(o, "jsonrpc", json_string("2.0"));
    json_object_set(o, "id", id ? id : json_null());
    json_object_set_new(o, "result", result ? result : json_object());
    return cp_dump(o, ret_len);
}

char *srm_ctl_error_line(json_t *id, int code, const char *message,
                         json_t *data, size_t *ret_len)
{
    json_t *o = json_object();
    json_t *e = json_object();

    json_object_set_new(e, "code", json_integer(code));
    /* json_string refuses invalid UTF-8; a message built from client bytes
     * must not turn into a missing field. */
    json_t *m = json_string(message);
    json_object_set_new(e, "message",
                        m ? m : json_string("(message is not valid UTF-8)"));
    if (data)
        json_object_set_new(e, "data", data);
    json_object_set_new(o, "jsonrpc", json_string("2.0"));
    json_object_set(o, "id", id ? id : json_null());
    json_object_set_new(o, "error", e);
    return cp_dump(o, ret_len);
}

char *srm_ctl_notify_line(const char *method, json_t *params,
                          size_t *ret_len)
{
    json_t *o = json_object();

    json_object_set_new(o, "jsonrpc", json_string("2.0"));
    json_object_set_new(o, "method", json_string(method));
    if (params)
        json_object_set_new(o, "params", params);
    return cp_dump(o, ret_len);
}
