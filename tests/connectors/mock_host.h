/*
 * mock_host.h - a fake srmd host for connector tests.
 *
 * A connector test is linked with the connector's sources and this mock, and
 * calls srm_plugin_entry() directly with the mock's host table. Nothing here
 * touches the network, SQLite or libuv: HTTP requests are answered from
 * canned responses the test enqueues, and every emitted record is deep-copied
 * into arrays the test inspects.
 *
 * A typical test:
 *
 *     struct mock_host *m = mock_host_create();
 *     const struct srm_plugin *p = srm_plugin_entry(mock_host_api());
 *     mock_cfg_set_list(m, "feeds", "http://a/feed", NULL);
 *     mock_cfg_set(m, "max_items", "10");
 *     assert_int_equal(mock_plugin_create(m, p), 0);   // calls p->create
 *
 *     mock_http_expect(m, "GET", "http://a/feed", 200,
 *                      "Content-Type: application/rss+xml\r\n", body);
 *     assert_int_equal(mock_sync(m), 0);                // calls p->sync
 *     mock_run(m);          // delivers responses until none is pending
 *
 *     assert_int_equal(m->pass.count, 1);
 *     assert_int_equal(m->pass.status, SRM_PASS_OK);
 *     assert_int_equal(m->n_mentions, 3);
 *     assert_string_equal(m->mentions[0].text, "...");
 *     assert_int_equal(m->n_unexpected, 0);
 *     assert_int_equal(m->n_violations, 0);
 *
 *     mock_pass_reset(m);   // next pass: records cleared, cursors kept
 *     ...
 *     mock_host_destroy(m); // calls p->destroy(ctx)
 *
 * Configuration: values are set as strings per key (as written in YAML) and
 * converted by the getter the plugin calls (cfg_int, cfg_bool, cfg_duration
 * accept "90s", "5m", "1h", "2d" or plain seconds). A key not set falls back
 * to the schema's default_value (a list default may be "[a, b]" or a single
 * string). Reading a key that is not in the schema is a violation.
 *
 * HTTP: http_submit() records the request (struct mock_request) and queues
 * it; nothing is delivered from inside submit. mock_run() delivers the queue
 * in FIFO order, including requests submitted by done callbacks, until no
 * request is pending. Each request is answered by the first unused
 * expectation whose method equals the request's (GET when NULL, POST when a
 * body is set) and whose url_substr occurs in the URL. A request without a
 * match is answered with status 0 and SRM_E_TRANSPORT, counted in
 * n_unexpected and flagged in its mock_request. A body over req->max_body is
 * answered SRM_E_TOOBIG (status kept), as the daemon does. A streaming
 * request (on_data) gets the body through on_data in one chunk, then done()
 * with no body. HTTP error statuses arrive with error 0 and the status set,
 * unless the expectation sets ->error. retry_after is taken from a
 * "Retry-After: N" canned header unless the expectation sets it (default -1).
 *
 * Violations (n_violations, violations[] messages, also printed to stderr):
 * emitting or setting a cursor outside a pass (after pass_done, or before
 * mock_sync, unless the plugin has SRM_CAP_STREAM), pass_done twice, a record
 * without struct_size or remote_id, reading a config key not in the schema,
 * submitting a request without a URL.
 *
 * Logs are kept in logs[] (printed to stderr when MOCK_VERBOSE is set);
 * mock_log_contains() searches them.
 *
 * html_to_text is srm_text_from_html() from html_text.c (libxml2's HTML
 * parser), compiled into this file.
 */
#ifndef SRM_TESTS_MOCK_HOST_H
#define SRM_TESTS_MOCK_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "srm/plugin.h"

/* One recorded request; strings owned by the mock. */
struct mock_request {
    char *method; /* resolved: "GET" when the plugin left it NULL */
    char *url;
    char **headers; /* NULL-terminated copy of req->headers */
    size_t n_headers;
    char *body;
    size_t body_len;
    char *bearer_token;
    char *username;
    char *password;
    char *custom_request;
    uint32_t flags;
    uint32_t timeout_ms;
    uint64_t max_body;
    bool streaming;
    bool delivered;
    bool unexpected; /* answered with SRM_E_TRANSPORT: no expectation */
};

/* A canned response. The pointer returned by mock_http_expect*() stays
 * valid until mock_pass_reset() / mock_host_destroy(); a test may change
 * error, error_msg, retry_after or not_modified before mock_run(). */
struct mock_expect {
    char *method;
    char *url_substr;
    long status;
    char *headers; /* "Name: value\r\n..." */
    char *body;
    size_t body_len;
    int error;         /* 0, or SRM_E_* delivered as resp->error */
    char *error_msg;   /* for error != 0; a default is made up when NULL */
    int64_t retry_after; /* -1: from Retry-After header, else -1 */
    bool not_modified; /* set automatically for status 304 */
    bool used;
};

/* Records as the plugin emitted them; all strings are owned copies. */
struct mock_cursor_event {
    char *key;
    char *value;
    size_t n_mentions;   /* mentions emitted before this cursor_set */
    size_t n_identities; /* identities emitted before this cursor_set */
};

struct mock_pass {
    int count; /* pass_done calls since the last mock_sync */
    enum srm_pass_status status;
    uint32_t retry_after;
    char *message;
};

struct mock_host {
    /* Emitted records, in order. */
    struct srm_identity *identities;
    size_t n_identities;
    struct srm_mention *mentions;
    size_t n_mentions;
    struct srm_contact *contacts;
    size_t n_contacts;
    struct srm_interaction *interactions;
    size_t n_interactions;

    /* Every cursor_set call of this pass, in order. */
    struct mock_cursor_event *cursor_sets;
    size_t n_cursor_sets;

    struct mock_pass pass;

    /* HTTP. */
    struct mock_request *requests;
    size_t n_requests;
    struct mock_expect **expects;
    size_t n_expects;
    size_t n_unexpected;
    int submit_error; /* when != 0, http_submit refuses with it */

    /* cfg_error calls: "key: message". */
    char **cfg_errors;
    size_t n_cfg_errors;

    char **logs; /* "LEVEL message" */
    size_t n_logs;

    char **violations;
    size_t n_violations;
    /* host->http_reject() calls (responses the plugin could not use). */
    size_t n_rejected;

    /* Private to the mock. */
    struct mock_private *priv;
};

/* Lifecycle. */
struct mock_host *mock_host_create(void);
/* Destroys the plugin instance (plugin->destroy) if one was created. */
void mock_host_destroy(struct mock_host *m);
/* The host table to pass to srm_plugin_entry(); one static table for all
 * mocks, so a plugin may keep the pointer across tests. */
const struct srm_host_api *mock_host_api(void);
/* The opaque instance handle the mock passes to the plugin. */
struct srm_instance *mock_instance(struct mock_host *m);

/* Call plugin->create() with this mock's instance; keeps the ctx and the
 * schema. Returns what create() returned. */
int mock_plugin_create(struct mock_host *m, const struct srm_plugin *plugin);
void *mock_plugin_ctx(struct mock_host *m);
/* Start a pass: mark the pass open and call plugin->sync(ctx). Returns what
 * sync() returned. Does not deliver responses: call mock_run(). */
int mock_sync(struct mock_host *m);
/* Deliver pending responses until none is pending. Returns how many were
 * delivered. */
size_t mock_run(struct mock_host *m);
/* Clear records, requests, expectations, logs, violations and the pass
 * result for the next pass; config and cursors are kept. */
void mock_pass_reset(struct mock_host *m);
/* Close a pass the plugin left open, as srmd does when it reclaims one
 * (after its requests were answered SRM_E_CANCELLED): the next mock_sync()
 * is then no violation. */
void mock_pass_reclaim(struct mock_host *m);

/* Configuration. Values are copied. */
void mock_cfg_set(struct mock_host *m, const char *key, const char *value);
/* NULL-terminated list of items. */
void mock_cfg_set_list(struct mock_host *m, const char *key, ...);
void mock_cfg_set_listv(struct mock_host *m, const char *key,
                        const char *const *items, size_t n);
/* NULL-terminated; what host->listen_keywords() returns. */
void mock_listen_keywords(struct mock_host *m, ...);
void mock_set_source_name(struct mock_host *m, const char *name);

/* Canned responses, matched in order (see above). headers and body may be
 * NULL; body is copied up to its NUL (use _n for a length). */
struct mock_expect *mock_http_expect(struct mock_host *m, const char *method,
                                     const char *url_substr, long status,
                                     const char *headers, const char *body);
struct mock_expect *mock_http_expect_n(struct mock_host *m,
                                       const char *method,
                                       const char *url_substr, long status,
                                       const char *headers, const char *body,
                                       size_t body_len);
/* Body read from a file (path relative to SRM_TEST_DATA when not absolute);
 * aborts the test program when it cannot be read. */
struct mock_expect *mock_http_expect_file(struct mock_host *m,
                                          const char *method,
                                          const char *url_substr, long status,
                                          const char *headers,
                                          const char *path);
/* A transport-level failure (status 0). */
struct mock_expect *mock_http_expect_error(struct mock_host *m,
                                           const char *method,
                                           const char *url_substr, int error,
                                           const char *error_msg);
/* Expectations never used. */
size_t mock_http_unused(const struct mock_host *m);
/* The n-th recorded request whose URL contains substr, or NULL. */
const struct mock_request *mock_request_find(const struct mock_host *m,
                                             const char *substr, size_t n);
/* A request header value by name (case-insensitive), or NULL. */
const char *mock_request_header(const struct mock_request *r,
                                const char *name);

/* Cursors. */
const char *mock_cursor(const struct mock_host *m, const char *key);
void mock_cursor_preset(struct mock_host *m, const char *key,
                        const char *value);

/* Lookups over the emitted records; NULL when absent. */
const struct srm_mention *mock_mention_find(const struct mock_host *m,
                                            const char *remote_id);
const struct srm_identity *mock_identity_find(const struct mock_host *m,
                                              const char *remote_id);
bool mock_log_contains(const struct mock_host *m, const char *substr);

/* Read a whole file (relative to SRM_TEST_DATA when not absolute) into a
 * NUL-terminated malloc'd buffer; aborts when it cannot. *ret_len may be
 * NULL. */
char *mock_load_file(const char *path, size_t *ret_len);

#endif
