/* http.h - the asynchronous HTTP engine: one curl multi handle driven by the
 * libuv loop (uv_poll per socket + one uv_timer), as in curl's multi-uv
 * example. Any scheme curl has (https, imaps...) goes through it.
 *
 * Per-host and global limits on requests in flight queue requests inside
 * the engine. A 429/503 with Retry-After, or rate-limit headers saying
 * nothing remains, pauses that host: queued and new requests to it then
 * complete at once with SRM_E_RATELIMIT and the seconds left. */
#ifndef SRM_DAEMON_HTTP_H
#define SRM_DAEMON_HTTP_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "srm/plugin.h"

struct srm_http;
struct srm_http_request;

struct srm_http_opts {
    uint32_t max_in_flight;      /* global; default 64 */
    uint32_t max_per_host;       /* default 6 */
    uint32_t connect_timeout_ms; /* default 10000 */
    uint32_t timeout_ms;         /* total, default 60000 (0 in req = this) */
    uint32_t low_speed_time_s;   /* abort below 1 byte/s for this long; 30 */
    uint64_t max_body;           /* default 16 MiB */
    const char *user_agent;      /* default "srmd/" SRM_VERSION */
};

/* Called once per request on the loop thread; resp is borrowed. It may
 * submit new requests, cancel others, or destroy the engine. */
typedef void (*srm_http_cb)(const struct srm_http_resp *resp, void *ud);
/* Streaming body chunks (decoded), with the ud given to srm_http_submit;
 * return false to abort (the request then completes with SRM_E_CANCELLED).
 * Runs inside curl: it may submit, but must not cancel or destroy. The body
 * cap still applies to the bytes streamed. */
typedef bool (*srm_http_chunk_cb)(const char *data, size_t len, void *ud);

/* What the caller adds to a plugin's request. */
struct srm_http_extra {
    void *owner;                   /* for srm_http_cancel_owner() */
    bool insecure;                 /* skip TLS verification */
    const char *if_none_match;     /* ETag to send, or NULL */
    const char *if_modified_since; /* Last-Modified value to send, or NULL */
    srm_http_chunk_cb on_chunk;    /* streaming mode when non-NULL */
};

/* Create an engine on loop; opts may be NULL, zero members take the
 * defaults and strings are copied. Returns 0, or -EIO / -ENOMEM when curl
 * cannot be initialised. Does not block. */
int srm_http_create(uv_loop_t *loop, const struct srm_http_opts *opts,
                    struct srm_http **ret_http);
/* Cancel everything (callbacks run with SRM_E_CANCELLED), clean up curl and
 * close the uv handles; the loop must then run until they are closed, after
 * which the engine frees itself. Accepts NULL. */
void srm_http_destroy(struct srm_http *h);

/* Queue a request (copied). Returns 0 (cb will run exactly once, never from
 * inside this call) or -EINVAL for a request without a URL or with a URL
 * curl cannot parse; -ESHUTDOWN after srm_http_destroy(). Requests to a
 * host paused by a rate limit are accepted and complete from the loop with
 * SRM_E_RATELIMIT. The request's strings, headers and body, and extra's
 * strings, are copied; extra may be NULL. Does not block. */
int srm_http_submit(struct srm_http *h, const struct srm_http_req *req,
                    const struct srm_http_extra *extra, srm_http_cb cb,
                    void *ud);
/* Cancel every request of owner; their callbacks run before this returns,
 * with SRM_E_CANCELLED. owner NULL does nothing. */
void srm_http_cancel_owner(struct srm_http *h, void *owner);

/* Header of a response by name, case-insensitive, last one wins (of the
 * last response after redirects), or NULL. resp must come from this engine;
 * the result is borrowed until the callback returns. */
const char *srm_http_header(const struct srm_http_resp *resp,
                            const char *name);

/* submitted: accepted by srm_http_submit; completed: callbacks run (all
 * outcomes); failed: those with error != 0; in_flight / queued: now;
 * not_modified: 304 answers to conditional requests; bytes_in: decoded
 * body bytes received. */
struct srm_http_stats {
    uint64_t submitted, completed, failed, in_flight, queued;
    uint64_t not_modified, bytes_in;
};
void srm_http_get_stats(const struct srm_http *h, struct srm_http_stats *ret);

/* Pure helper, unit-tested: the seconds to wait derived from a response's
 * status and headers (Retry-After as seconds or HTTP date; X-RateLimit-* with
 * Reset as ISO-8601, epoch seconds or delta seconds; RateLimit-Reset;
 * x-ratelimit-remaining 0 with x-ratelimit-reset epoch), or -1 for none.
 * header(name, ud) looks a header up. now is unix seconds.
 * Retry-After counts on 429 and 503 only; the rate-limit families on any
 * status; the longest wait wins; a 429 with nothing usable gives 60; the
 * result is clamped to one day. */
int64_t srm_http_retry_after(long status,
                             const char *(*header)(const char *name, void *ud),
                             void *ud, int64_t now);

#endif
