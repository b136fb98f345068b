/* ctl_parse.h - control-socket framing and JSON-RPC 2.0 request parsing.
 *
 * Pure: no I/O, no loop, no globals, so the socket code and the unit tests
 * share exactly this logic. The wire format (DESIGN.md, docs/protocol.md) is
 * one JSON object per line (NDJSON) in both directions. */
#ifndef SRM_DAEMON_CTL_PARSE_H
#define SRM_DAEMON_CTL_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* Requests nesting arrays/objects deeper than this are refused before
 * jansson sees them (jansson's parser recurses). */
#define SRM_CTL_MAX_DEPTH 64

/* ---- Line framer ------------------------------------------------------ */

/* Splits a byte stream into lines. Lines longer than max_line bytes (not
 * counting the newline) are not kept: their bytes are dropped up to the next
 * newline and the framer reports them once, in stream order, as
 * SRM_CTL_FRAME_TOO_LONG. So memory stays bounded by max_line plus the
 * complete lines not yet taken. Embedded, so _init/_fini. */
struct srm_ctl_framer {
    char *buf;
    size_t len;        /* bytes held */
    size_t cap;
    size_t pos;        /* start of the next line to hand out */
    size_t line_start; /* start of the unfinished line; [pos, line_start) is
                          made of complete lines */
    size_t max_line;
    bool discarding;   /* inside an over-long line, waiting for '\n' */
    size_t *marks;     /* offsets where an over-long line was dropped */
    size_t nmarks, capmarks;
};

enum srm_ctl_frame {
    SRM_CTL_FRAME_NONE = 0, /* no complete line yet */
    SRM_CTL_FRAME_LINE,     /* a line (without "\n" or "\r\n") */
    SRM_CTL_FRAME_TOO_LONG, /* a line over max_line was dropped */
};

void srm_ctl_framer_init(struct srm_ctl_framer *f, size_t max_line);
/* Frees the buffers. Safe on a zeroed or already finished framer. */
void srm_ctl_framer_fini(struct srm_ctl_framer *f);
/* Append bytes (copied). Invalidates any line returned earlier. */
void srm_ctl_framer_feed(struct srm_ctl_framer *f, const char *data,
                         size_t len);
/* End of stream: an unfinished line (no trailing newline) becomes a complete
 * one, so `printf '{...}' | socat` works too. */
void srm_ctl_framer_finish(struct srm_ctl_framer *f);
/* Take the next event. For SRM_CTL_FRAME_LINE, ret_line and ret_len point into
 * the framer (not NUL-terminated) and stay valid until the next feed, finish
 * or fini. Lines holding only blanks are skipped. */
enum srm_ctl_frame srm_ctl_framer_next(struct srm_ctl_framer *f,
                                       const char **ret_line,
                                       size_t *ret_len);
/* Bytes held and not yet handed out (complete lines and the partial one);
 * the server pauses reading when this grows too large. */
size_t srm_ctl_framer_pending(const struct srm_ctl_framer *f);

/* ---- Requests --------------------------------------------------------- */

struct srm_ctl_request {
    json_t *root;       /* owned: the whole request object */
    json_t *id;         /* borrowed from root: string, integer, real or null;
                           NULL when absent (a notification: no answer) */
    const char *method; /* borrowed from root */
    json_t *params;     /* borrowed from root: object or array; NULL when
                           absent */
};

/* An error found while parsing, ready to send. */
struct srm_ctl_error {
    int code;        /* enum srm_rpc_code */
    char message[160];
    json_t *id;      /* new reference: the request's id when it could be
                        read and is valid, else NULL (sent as null) */
};

/* Parse one line into *ret_req. Returns 0, or -EINVAL with *ret_err filled
 * (release with srm_ctl_error_fini): -32700 for bad JSON, over-deep nesting
 * or numbers jansson cannot hold; -32600 for a non-object, a batch, a
 * missing or non-string method, jsonrpc other than "2.0", an id that is not
 * a string/number/null, or params that are not an object/array. Never
 * blocks. */
int srm_ctl_request_parse(const char *line, size_t len,
                          struct srm_ctl_request *ret_req,
                          struct srm_ctl_error *ret_err);
/* Release what parse filled. Safe on a zeroed request. */
void srm_ctl_request_fini(struct srm_ctl_request *req);
void srm_ctl_error_fini(struct srm_ctl_error *err);

/* True when the bracket nesting of the JSON text exceeds max_depth; strings
 * (and escapes in them) are skipped. Exposed for the tests. */
bool srm_ctl_too_deep(const char *text, size_t len, int max_depth);

/* ---- Response builders ------------------------------------------------ */
/* Each returns one complete line ending in "\n", malloc'd (caller frees),
 * with its length in *ret_len. JSON is compact, so the only newline is the
 * last byte. id is borrowed (NULL is sent as null). */

/* {"jsonrpc":"2.0","id":id,"result":result}; result is stolen, NULL = {}. */
char *srm_ctl_result_line(json_t *id, json_t *result, size_t *ret_len);
/* {"jsonrpc":"2.0","id":id,"error":{"code":..,"message":..,"data":..}};
 * data is stolen and may be NULL (then omitted). */
char *srm_ctl_error_line(json_t *id, int code, const char *message,
                         json_t *data, size_t *ret_len);
/* {"jsonrpc":"2.0","method":method,"params":params}; params stolen, NULL
 * omits it. */
char *srm_ctl_notify_line(const char *method, json_t *params,
                          size_t *ret_len);

#endif
