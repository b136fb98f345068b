/* fuzz_rpc.c - control-socket bytes through the line framer, the JSON-RPC
 * request parser and the response line builders (daemon/ctl_parse.h).
 *
 * Input: byte 0 picks max_line (1..4096), byte 1 the size of the chunks
 * the stream is fed in (1..255, 0 = all at once); the rest is the stream.
 * After each feed every ready event is taken, as ctl_server.c does; the
 * stream ends with srm_ctl_framer_finish().
 *
 * Checks (abort on failure):
 *  - the framer's events equal a one-shot reference split of the whole
 *    stream (lines over max_line -> one TOO_LONG; "\r\n" and blank lines as
 *    ctl_parse.h says), whatever the chunking;
 *  - a parsed request has a method, params object/array or absent, an id
 *    string/number/null or absent; a refused one has code -32700 or -32600;
 *  - every built line is one line ending in "\n" that parses back as a
 *    JSON object with "jsonrpc":"2.0". */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ctl_parse.h"

#define FZ_CHECK(cond)                                                        \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "fuzz_rpc: check failed: %s (%s:%d)\n", #cond,   \
                    __FILE__, __LINE__);                                      \
            abort();                                                          \
        }                                                                     \
    } while (0)

/* Reference events, computed on the whole stream at once. */
struct ref_event {
    enum srm_ctl_frame kind;
    const char *line;
    size_t len;
};

static struct ref_event *ref_split(const char *s, size_t n, size_t max_line,
                                   size_t *ret_n)
{
    struct ref_event *ev = malloc((n + 1) * sizeof(*ev));
    size_t k = 0;

    FZ_CHECK(ev != NULL);
    for (size_t i = 0; i < n;) {
        const char *nl = memchr(s + i, '\n', n - i);
        size_t body = nl != NULL ? (size_t)(nl - (s + i)) : n - i;
        const char *line = s + i;

        i += body + (nl != NULL ? 1 : 0);
        if (body > max_line) {
            ev[k++] = (struct ref_event){SRM_CTL_FRAME_TOO_LONG, NULL, 0};
            continue;
        }
        if (body > 0 && line[body - 1] == '\r')
            body--;
        bool blank = true;
        for (size_t j = 0; j < body && blank; j++)
            blank = line[j] == ' ' || line[j] == '\t' || line[j] == '\r';
        if (!blank)
            ev[k++] = (struct ref_event){SRM_CTL_FRAME_LINE, line, body};
    }
    *ret_n = k;
    return ev;
}

static void check_out_line(char *out, size_t len)
{
    FZ_CHECK(out != NULL);
    FZ_CHECK(len > 0 && strlen(out) == len);
    FZ_CHECK(out[len - 1] == '\n');
    FZ_CHECK(memchr(out, '\n', len - 1) == NULL);
    json_error_t jerr;
    json_t *back = json_loadb(out, len, 0, &jerr);
    if (back == NULL)
        fprintf(stderr, "fuzz_rpc: built line does not parse: %s: %.*s",
                jerr.text, (int)len, out);
    FZ_CHECK(back != NULL && json_is_object(back));
    FZ_CHECK(json_is_string(json_object_get(back, "jsonrpc")));
    FZ_CHECK(strcmp(json_string_value(json_object_get(back, "jsonrpc")),
                    "2.0") == 0);
    json_decref(back);
    free(out);
}

static void handle_line(const char *line, size_t len)
{
    struct srm_ctl_request req;
    struct srm_ctl_error err;
    size_t out_len = 0;

    memset(&req, 0, sizeof(req));
    memset(&err, 0, sizeof(err));
    (void)srm_ctl_too_deep(line, len, SRM_CTL_MAX_DEPTH);
    if (srm_ctl_request_parse(line, len, &req, &err) == 0) {
        FZ_CHECK(req.root != NULL && req.method != NULL);
        FZ_CHECK(req.params == NULL || json_is_object(req.params) ||
                 json_is_array(req.params));
        FZ_CHECK(req.id == NULL || json_is_string(req.id) ||
                 json_is_number(req.id) || json_is_null(req.id));
        /* Echo the params as the result, and as a notification. */
        json_t *result = req.params != NULL ? json_deep_copy(req.params)
                                            : NULL;
        check_out_line(srm_ctl_result_line(req.id, result, &out_len),
                       out_len);
        json_t *np = req.params != NULL ? json_deep_copy(req.params) : NULL;
        check_out_line(srm_ctl_notify_line(req.method, np, &out_len),
                       out_len);
        check_out_line(srm_ctl_error_line(req.id, -32601, req.method,
                                          json_string(req.method), &out_len),
                       out_len);
        srm_ctl_request_fini(&req);
    } else {
        FZ_CHECK(err.code == -32700 || err.code == -32600);
        FZ_CHECK(memchr(err.message, '\0', sizeof(err.message)) != NULL);
        check_out_line(srm_ctl_error_line(err.id, err.code, err.message,
                                          NULL, &out_len),
                       out_len);
        srm_ctl_error_fini(&err);
        srm_ctl_request_fini(&req);
    }
}

struct drain_state {
    const struct ref_event *ref;
    size_t n_ref, at;
    size_t max_line;
};

static void drain(struct srm_ctl_framer *f, struct drain_state *st)
{
    const char *line;
    size_t len;
    enum srm_ctl_frame ev;

    while ((ev = srm_ctl_framer_next(f, &line, &len)) != SRM_CTL_FRAME_NONE) {
        FZ_CHECK(st->at < st->n_ref);
        const struct ref_event *want = &st->ref[st->at++];
        FZ_CHECK(ev == want->kind);
        if (ev != SRM_CTL_FRAME_LINE)
            continue;
        FZ_CHECK(len <= st->max_line);
        FZ_CHECK(len == want->len && memcmp(line, want->line, len) == 0);
        handle_line(line, len);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct srm_ctl_framer f;
    struct drain_state st = {0};

    if (size < 2)
        return 0;
    size_t max_line = 1 + ((size_t)data[0] * 16);
    size_t chunk = data[1];
    const char *s = (const char *)data + 2;
    size_t n = size - 2;

    if (chunk == 0)
        chunk = n > 0 ? n : 1;
    st.max_line = max_line;
    struct ref_event *ref = ref_split(s, n, max_line, &st.n_ref);
    st.ref = ref;

    srm_ctl_framer_init(&f, max_line);
    for (size_t i = 0; i < n; i += chunk) {
        size_t c = n - i < chunk ? n - i : chunk;
        srm_ctl_framer_feed(&f, s + i, c);
        drain(&f, &st);
        /* Memory stays bounded: max_line plus the one partial line (all
         * complete lines were just taken). */
        FZ_CHECK(srm_ctl_framer_pending(&f) <= max_line);
    }
    srm_ctl_framer_finish(&f);
    drain(&f, &st);
    FZ_CHECK(st.at == st.n_ref);
    FZ_CHECK(srm_ctl_framer_pending(&f) == 0);
    srm_ctl_framer_fini(&f);
    free(ref);
    return 0;
}
