/*
 * srm/plugin.h - the srmd connector SDK.
 *
 * This is the only header a connector needs. It is plain C11 and includes no
 * daemon, libuv or curl header; daemon objects appear only as opaque handles.
 *
 * A connector is a shared object that exports one symbol, srm_plugin_entry(),
 * returning a static descriptor (struct srm_plugin). srmd hands each
 * configured source ("instance") a table of host functions (struct
 * srm_host_api) and calls the descriptor's callbacks on its event loop thread.
 *
 * Rules every connector follows:
 *  - Never block: no sleep, no blocking socket, no file I/O in callbacks.
 *    All network I/O goes through host->http_submit().
 *  - Never touch SQLite: emit records with the host functions; srmd validates,
 *    deduplicates on (network, remote_id) and commits them.
 *  - Every callback runs on the loop thread; no locking is needed, and host
 *    functions must not be called from other threads.
 *
 * Ownership: arguments are borrowed for the length of the call. The host
 * copies every record it is handed before returning, so a plugin may free or
 * reuse its buffers right after an emit call. Pointers the host returns are
 * borrowed for the lifetime stated on each function. Each side frees only
 * what it allocated; the one exception, host->html_to_text(), says so.
 *
 * Versioning: SRM_PLUGIN_ABI_MAJOR changes only on an incompatible change and
 * srmd refuses a plugin whose major differs. Structures are APPEND ONLY: a
 * minor bump adds members at the end. Every structure that crosses the
 * boundary starts with its struct_size, so each side reads only what the
 * other knew about. See docs/plugin-abi.md for the history.
 */
#ifndef SRM_PLUGIN_H
#define SRM_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SRM_PLUGIN_ABI_MAJOR 1
#define SRM_PLUGIN_ABI_MINOR 0

/* The one symbol a connector exports, looked up with dlsym(). */
#define SRM_PLUGIN_ENTRY_SYMBOL "srm_plugin_entry"

#if defined(__GNUC__) || defined(__clang__)
#define SRM_PLUGIN_EXPORT __attribute__((visibility("default")))
#define SRM_PRINTF_LIKE(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define SRM_PLUGIN_EXPORT
#define SRM_PRINTF_LIKE(fmt, args)
#endif

/* True when the host table has member m: inside struct_size and non-NULL.
 * Call members added after ABI 1.0 only when this holds. */
#define SRM_HOST_HAS(host, m)                                                 \
    ((host) != NULL &&                                                        \
     offsetof(struct srm_host_api, m) + sizeof((host)->m) <=                  \
         (host)->struct_size &&                                               \
     (host)->m != NULL)

/* One configured source. Opaque; owned by srmd. */
struct srm_instance;

/* Log levels, as syslog's. */
enum srm_log_level {
    SRM_LOG_ERROR = 3,
    SRM_LOG_WARNING = 4,
    SRM_LOG_NOTICE = 5,
    SRM_LOG_INFO = 6,
    SRM_LOG_DEBUG = 7,
};

/* Domain errors. Functions return 0 on success, a negative errno (-ENOMEM,
 * -EINVAL) or one of these on failure. */
enum srm_err {
    SRM_E_AUTH = -1001,      /* credentials refused (HTTP 401/403) */
    SRM_E_RATELIMIT = -1002, /* the network asked us to slow down */
    SRM_E_HTTP = -1003,      /* an HTTP status the plugin did not expect */
    SRM_E_PARSE = -1004,     /* a response that could not be parsed */
    SRM_E_TOOBIG = -1005,    /* a body over the size cap */
    SRM_E_CANCELLED = -1006, /* the request was cancelled (source removed) */
    SRM_E_TIMEOUT = -1007,   /* connect, total or low-speed timeout */
    SRM_E_TRANSPORT = -1008, /* connection refused, reset, DNS, TLS... */
    SRM_E_NOTSUP = -1009,    /* capability not offered */
    SRM_E_BADREC = -1010,    /* a record failed validation */
    SRM_E_STATE = -1011,     /* call not allowed now (e.g. after pass_done) */
    SRM_E_CONFIG = -1012,    /* configuration invalid */
};

/* What a connector can do. */
enum srm_capability {
    SRM_CAP_MENTIONS = 1u << 0, /* sync() emits mentions */
    SRM_CAP_CONTACTS = 1u << 1, /* sync() emits contact relations */
    SRM_CAP_REPLY = 1u << 2,    /* reply() posts an answer */
    SRM_CAP_STREAM = 1u << 3,   /* may emit records between passes */
};

/* ---------------------------------------------------------------------
 * Configuration schema. A connector lists its keys; srmd validates each
 * source against them (unknown keys, types, required keys) and reports
 * errors as file:line:column with the key path, exactly as for its own keys.
 * The keys name, plugin, every and insecure are the daemon's and must not be
 * listed. The layout of struct srm_cfg_field is frozen for ABI major 1.
 */
enum srm_cfg_type {
    SRM_CFG_STRING = 1,      /* a scalar string */
    SRM_CFG_INT = 2,         /* a signed 64-bit integer */
    SRM_CFG_BOOL = 3,        /* true/false, yes/no, on/off */
    SRM_CFG_DURATION = 4,    /* 90s, 5m, 1h, 2d; read back in seconds */
    SRM_CFG_STRING_LIST = 5, /* a sequence of strings (or one string) */
    SRM_CFG_SECRET = 6,      /* a string never logged; may be token_file */
    SRM_CFG_URL = 7,         /* a string with a scheme, e.g. https://... */
};

struct srm_cfg_field {
    const char *key;           /* NULL ends the array */
    enum srm_cfg_type type;
    const char *default_value; /* as it would be written in YAML; or NULL */
    bool required;
    const char *description;   /* one line, shown by srmd --describe */
};

/* ---------------------------------------------------------------------
 * HTTP (and any other curl scheme: imaps://, ...).
 */
enum srm_http_flags {
    /* Send If-None-Match / If-Modified-Since from what srmd remembered for
     * this URL; a 304 arrives as resp->not_modified. srmd remembers a 2xx
     * answer's ETag / Last-Modified with the pass's records, unless the
     * plugin calls host->http_reject() in its done callback (a body it could
     * not use must be fetched in full again, not hidden behind a 304). */
    SRM_HTTP_CONDITIONAL = 1u << 0,
    /* Do not follow redirects (they are followed by default, max 5). */
    SRM_HTTP_NO_REDIRECT = 1u << 1,
};

struct srm_http_resp;

/* Called exactly once per accepted request, on the loop thread, also when
 * the request failed or was cancelled (resp->error != 0). resp and
 * everything it points to are valid only until the callback returns. */
typedef void (*srm_http_done_fn)(struct srm_instance *inst,
                                 const struct srm_http_resp *resp, void *ud);

/* Streaming mode: called with each chunk of the body as it arrives; the body
 * is then not buffered. Return false to abort the transfer. */
typedef bool (*srm_http_data_fn)(struct srm_instance *inst, const char *data,
                                 size_t len, void *ud);

struct srm_http_req {
    uint32_t struct_size;
    const char *method;   /* NULL means GET (or POST when body is set) */
    const char *url;      /* required */
    const char *const *headers; /* NULL-terminated "Name: value" lines */
    const char *body;     /* request body; copied */
    size_t body_len;
    const char *bearer_token;   /* sent as Authorization: Bearer; never logged */
    const char *username;       /* basic auth / IMAP login */
    const char *password;       /* never logged */
    const char *custom_request; /* e.g. "UID FETCH 1:* (ENVELOPE)" for IMAP */
    uint32_t flags;             /* enum srm_http_flags */
    uint32_t timeout_ms;        /* total timeout; 0 = daemon default */
    uint64_t max_body;          /* body cap in bytes; 0 = daemon default */
    srm_http_data_fn on_data;   /* non-NULL selects streaming mode */
};
#define SRM_HTTP_REQ_INIT {.struct_size = sizeof(struct srm_http_req)}

struct srm_http_resp {
    uint32_t struct_size;
    int error;             /* 0, or SRM_E_TIMEOUT, SRM_E_TRANSPORT, ... */
    const char *error_msg; /* readable reason when error != 0, else NULL */
    long status;           /* HTTP status; 0 when none was received */
    bool not_modified;     /* a conditional request was answered 304 */
    const char *body;      /* NUL-terminated (body_len excludes the NUL) */
    size_t body_len;
    const char *effective_url; /* after redirects */
    /* Seconds the server asked us to wait (Retry-After, or a rate-limit
     * reset when nothing remains), or -1. srmd already applies it to the
     * scheduling of this source and to further requests to this host. */
    int64_t retry_after;
};

/* ---------------------------------------------------------------------
 * Records a connector emits. Initialise with the SRM_*_INIT macros so that
 * struct_size is set and "unknown" numbers are -1. Strings are UTF-8; srmd
 * copies them, replaces invalid UTF-8, and cuts fields over its size limits.
 * network NULL means the connector's own name.
 */

/* A link on a profile (Mastodon profile field, website, domain handle). The
 * layout is frozen for ABI major 1. */
struct srm_link {
    const char *label;   /* e.g. "Website"; may be NULL */
    const char *url;     /* required */
    int64_t verified_at; /* unix seconds the network verified it, or 0 */
};

/* An account on a network. (network, remote_id) is its stable key: a DID,
 * an ActivityPub actor URI, a numeric user id, a lowercased email. */
struct srm_identity {
    uint32_t struct_size;
    const char *network;
    const char *remote_id;    /* required */
    const char *handle;       /* user@server, alice.bsky.social, login */
    const char *display_name;
    const char *profile_url;
    const char *bio;          /* plain text */
    const char *avatar_url;
    const char *email;
    int64_t followers;        /* -1 unknown */
    int64_t following;        /* -1 unknown */
    int64_t posts;            /* -1 unknown */
    const struct srm_link *links;
    size_t n_links;
};
#define SRM_IDENTITY_INIT                                                     \
    {.struct_size = sizeof(struct srm_identity), .followers = -1,             \
     .following = -1, .posts = -1}

enum srm_mention_flags {
    SRM_MENTION_DELETED = 1u << 0, /* deleted upstream; never resurrected */
    SRM_MENTION_REBLOG = 1u << 1,  /* a boost/repost of another post */
};

/* A post that mentions the team or matches what the source listens for.
 * (network, remote_id) is its stable key; emitting it again updates it. */
struct srm_mention {
    uint32_t struct_size;
    const char *network;
    const char *remote_id;     /* required */
    const char *author_id;     /* remote_id of the author's identity */
    const char *text;          /* plain text (HTML already reduced) */
    const char *url;           /* where a person reads it */
    int64_t created_at;        /* unix seconds; 0 = now */
    int64_t edited_at;         /* unix seconds, or 0 */
    const char *reply_to;      /* remote_id of the post it answers */
    const char *matched;       /* the query/hashtag/feed that caught it */
    const char *lang;          /* ISO 639-1 or NULL */
    const char *visibility;    /* public, unlisted, private, direct */
    const char *context_title; /* story/feed/issue title it belongs to */
    const char *context_url;
    const char *reply_ref;     /* opaque data reply() needs later */
    uint32_t flags;            /* enum srm_mention_flags */
    /* Network of the author's identity when it differs from the mention's
     * (an RSS entry's author is a "web" identity); NULL = the same. */
    const char *author_network;
};
#define SRM_MENTION_INIT {.struct_size = sizeof(struct srm_mention)}

enum srm_relation {
    SRM_REL_FOLLOWER = 1,  /* the identity follows the source's account */
    SRM_REL_FOLLOWING = 2, /* the source's account follows the identity */
};

/* A relation between the source's account and an identity. */
struct srm_contact {
    uint32_t struct_size;
    const char *network;
    const char *remote_id; /* the identity; required */
    enum srm_relation relation;
};
#define SRM_CONTACT_INIT {.struct_size = sizeof(struct srm_contact)}

enum srm_direction {
    SRM_DIR_IN = 1,  /* they wrote to us */
    SRM_DIR_OUT = 2, /* we wrote to them */
};

/* An exchange with a person (an email, a direct message). */
struct srm_interaction {
    uint32_t struct_size;
    const char *network;
    const char *remote_id;   /* unique key, e.g. a Message-ID; required */
    const char *identity_id; /* the counterpart's identity remote_id */
    enum srm_direction direction;
    int64_t at;              /* unix seconds; 0 = now */
    const char *summary;     /* subject or first line */
    const char *member;      /* Unix user of the team member, if known */
};
#define SRM_INTERACTION_INIT {.struct_size = sizeof(struct srm_interaction)}

/* ---------------------------------------------------------------------
 * Passes. srmd calls sync() when a source is due. The connector then issues
 * requests, emits records, moves its cursors and ends the pass with exactly
 * one call to host->pass_done().
 */
enum srm_pass_status {
    SRM_PASS_OK = 0,          /* done; next pass after `every` */
    SRM_PASS_RETRY = 1,       /* rate limited: run again after retry_after s */
    SRM_PASS_ERROR = 2,       /* failed; back off exponentially */
    SRM_PASS_AUTH_FAILED = 3, /* credentials refused; needs a person */
    SRM_PASS_BAD_CONFIG = 4,  /* the configuration cannot work */
};

/* Replies (SRM_CAP_REPLY). */
struct srm_reply_req {
    uint32_t struct_size;
    const char *mention_id;    /* remote_id of the mention answered */
    const char *mention_url;
    const char *author_id;     /* remote_id of the mention's author */
    const char *author_handle;
    const char *reply_ref;     /* as emitted with the mention */
    const char *text;          /* the answer, plain UTF-8 */
    const char *member;        /* Unix user of the team member */
};
#define SRM_REPLY_REQ_INIT {.struct_size = sizeof(struct srm_reply_req)}

/* The connector calls this exactly once per accepted reply(): error 0 with
 * the posted remote id and URL (either may be NULL), or an srm_err with a
 * readable message. Arguments are borrowed for the call. */
typedef void (*srm_reply_done_fn)(struct srm_instance *inst, int error,
                                  const char *msg, const char *posted_id,
                                  const char *posted_url, void *ud);

/* ---------------------------------------------------------------------
 * The host table. Filled by srmd, read-only, APPEND ONLY. Every function
 * runs on the loop thread and never blocks.
 */
struct srm_host_api {
    uint32_t abi_major, abi_minor, struct_size;

    /* Log a line tagged [network/source]. No trailing newline. */
    void (*log)(struct srm_instance *inst, int level, const char *fmt, ...)
        SRM_PRINTF_LIKE(3, 4);

    /* Configuration of this source, already validated against the schema.
     * Absent keys give the schema default (or NULL / 0 / false / 0 items).
     * Results are borrowed for the instance's lifetime. */
    const char *(*cfg_string)(struct srm_instance *inst, const char *key);
    int64_t (*cfg_int)(struct srm_instance *inst, const char *key);
    bool (*cfg_bool)(struct srm_instance *inst, const char *key);
    int64_t (*cfg_duration)(struct srm_instance *inst, const char *key);
    size_t (*cfg_list)(struct srm_instance *inst, const char *key,
                       const char *const **ret_items);
    /* Report a semantic error at the key's file:line:column (e.g. "must be
     * https"). create() then returns SRM_E_CONFIG. */
    void (*cfg_error)(struct srm_instance *inst, const char *key,
                      const char *fmt, ...) SRM_PRINTF_LIKE(3, 4);
    /* The team's listen.keywords (for connectors whose own filter is unset). */
    size_t (*listen_keywords)(struct srm_instance *inst,
                              const char *const **ret_items);
    /* The source's configured name. Borrowed for the instance's lifetime. */
    const char *(*source_name)(struct srm_instance *inst);

    /* Start a request. Returns 0 when accepted (done is then called exactly
     * once, possibly with an error) or a negative error when refused (done
     * is not called). The request is copied. May queue behind the per-host
     * and global limits on requests in flight. */
    int (*http_submit)(struct srm_instance *inst,
                       const struct srm_http_req *req, srm_http_done_fn done,
                       void *ud);
    /* A response header by name (case-insensitive; the last one wins), or
     * NULL. Borrowed until the done callback returns. */
    const char *(*http_header)(const struct srm_http_resp *resp,
                               const char *name);

    /* Emit records. 0, or SRM_E_BADREC (logged with the reason) or
     * SRM_E_STATE when called outside a pass by a connector without
     * SRM_CAP_STREAM. Records are buffered and committed with the next
     * cursor_set() or pass_done(SRM_PASS_OK), in one transaction. */
    int (*identity_upsert)(struct srm_instance *inst,
                           const struct srm_identity *identity);
    int (*mention_add)(struct srm_instance *inst,
                       const struct srm_mention *mention);
    int (*contact_add)(struct srm_instance *inst,
                       const struct srm_contact *contact);
    int (*interaction_add)(struct srm_instance *inst,
                           const struct srm_interaction *interaction);

    /* Cursors: where the source resumes. cursor_get returns the last value
     * set (committed or pending), or NULL; borrowed until the next
     * cursor_set of the same key. cursor_set commits the records emitted
     * before it together with the new value, atomically: after a crash the
     * source resumes from the last committed cursor and re-fetches the rest. */
    const char *(*cursor_get)(struct srm_instance *inst, const char *key);
    int (*cursor_set)(struct srm_instance *inst, const char *key,
                      const char *value);

    /* End the pass started by sync(). On anything but SRM_PASS_OK, records
     * emitted since the last cursor_set are discarded, so nothing partial is
     * committed. (A pass that emits more than 5,000 records without a
     * cursor_set has them committed in chunks as it goes, to bound memory;
     * no cursor moves with them, so a failed pass fetches them again and the
     * upserts make that harmless.) retry_after is in seconds (SRM_PASS_RETRY; 0 lets srmd
     * choose). fmt gives the readable reason shown in `srmctl sources`. */
    void (*pass_done)(struct srm_instance *inst, enum srm_pass_status status,
                      uint32_t retry_after, const char *fmt, ...)
        SRM_PRINTF_LIKE(4, 5);

    /* Reduce HTML to readable plain text: block elements become line
     * breaks, links keep their text (and their URL when it differs), entities
     * are decoded, whitespace collapsed. Returns a string the caller frees
     * with host->free(), or NULL on allocation failure. */
    char *(*html_to_text)(const char *html, size_t len);
    void (*free)(void *ptr);

    /* Say, from inside a done callback and before any cursor_set() in it,
     * that its response could not be used (truncated, not the expected
     * format): srmd then forgets its validators, so the next conditional
     * request fetches it in full. */
    void (*http_reject)(struct srm_instance *inst,
                        const struct srm_http_resp *resp);
};

/* ---------------------------------------------------------------------
 * The descriptor a connector returns. Static and const inside the plugin.
 */
struct srm_plugin {
    uint32_t abi_major;   /* SRM_PLUGIN_ABI_MAJOR */
    uint32_t abi_minor;   /* SRM_PLUGIN_ABI_MINOR */
    uint32_t struct_size; /* sizeof(struct srm_plugin) */
    const char *name;     /* the network; must match the file name */
    const char *version;
    const char *description;
    uint32_t capabilities; /* enum srm_capability bits */
    const struct srm_cfg_field *schema;

    /* Create an instance for one source; read its config with host->cfg_*.
     * Store private state in *ret_ctx. Return 0, or SRM_E_CONFIG after
     * host->cfg_error(), or a negative errno. Must not issue requests. */
    int (*create)(struct srm_instance *inst, void **ret_ctx);

    /* Start one sync pass. Return 0 once started (pass_done() follows, maybe
     * from inside this call), or a negative error (the pass then failed
     * without pass_done()). Must not block. */
    int (*sync)(void *ctx);

    /* Post a reply (SRM_CAP_REPLY). Return 0 once started (done follows
     * exactly once) or a negative error (done is not called). May be NULL. */
    int (*reply)(void *ctx, const struct srm_reply_req *req,
                 srm_reply_done_fn done, void *ud);

    /* Free the instance. srmd calls it only when no request of the
     * instance is in flight: pending ones are cancelled first (their done
     * callbacks run with SRM_E_CANCELLED). Accepts NULL. */
    void (*destroy)(void *ctx);
};

/* Export this from the connector. host stays valid until the plugin is
 * unloaded; keep the pointer. Return NULL to refuse loading (for example when
 * host->abi_minor is older than a member you need). */
SRM_PLUGIN_EXPORT const struct srm_plugin *
srm_plugin_entry(const struct srm_host_api *host);

#ifdef __cplusplus
}
#endif

#endif /* SRM_PLUGIN_H */
