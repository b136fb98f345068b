/* mastodon_api.h - the Mastodon REST API as the connector uses it: ids,
 * dates, Link headers, and the mapping of Status / Account / Notification
 * JSON (jansson) to srm records. Pure functions plus emit helpers that take
 * the host table, so that they can be tested through the mock host. */
#ifndef SRM_PLUGINS_MASTODON_API_H
#define SRM_PLUGINS_MASTODON_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "srm/plugin.h"

/* What an API page holds. */
enum masto_page_kind {
    MASTO_PAGE_NOTIFICATIONS, /* [Notification] */
    MASTO_PAGE_STATUSES,      /* [Status] (tag timeline) */
    MASTO_PAGE_SEARCH,        /* {"statuses": [Status], ...} (v2 search) */
    MASTO_PAGE_ACCOUNTS,      /* [Account] (followers / following) */
};

/* Remembers the last few statuses seen, so that a streamed "delete" (which
 * carries only the server-local id) can name the mention's uri, a reply
 * can keep the visibility of the post it answers, and a mention answering
 * one of them can name its parent's uri in reply_to (statuses give only
 * the parent's server-local in_reply_to_id). A ring: the oldest entry is
 * overwritten. */
#define MASTO_SEEN_MAX 512
struct masto_seen_entry {
    char *id;
    char *uri;
    char *visibility;
    char *matched;
    bool own; /* a reply we posted: a parent to name, never a mention */
};
struct masto_seen {
    struct masto_seen_entry e[MASTO_SEEN_MAX];
    size_t next;
};

/* Everything the mapping needs besides the JSON. */
struct masto_ctx {
    const struct srm_host_api *host;
    struct srm_instance *inst;
    const char *host_name;   /* the server's host[:port], for local accts */
    struct masto_seen *seen; /* may be NULL */
    /* The checked page (array of Status or Notification) the status being
     * emitted came in, searched for the parent of a reply; may be NULL. */
    json_t *page;
};

/* Compare two ids as numbers: shorter is smaller, then bytewise. Mastodon
 * ids are decimal strings too long for a double. */
int masto_id_cmp(const char *a, const char *b);

/* RFC 3339 / ISO 8601 date-time ("2023-02-01T12:30:45.123Z", offsets
 * allowed, a bare date too) to unix seconds. -1 when unparseable. */
int64_t masto_parse_time(const char *s);

/* host[:port] of an http(s) URL as a malloc'd lowercase string, or NULL
 * when the URL has no host (or on allocation failure). */
char *masto_url_host(const char *url);

/* Percent-encode s for a query value or path segment (RFC 3986 unreserved
 * kept). malloc'd, or NULL on allocation failure. */
char *masto_url_encode(const char *s);

/* The URL of the Link header entry with rel="<rel>", malloc'd, or NULL. */
char *masto_link_rel(const char *link, const char *rel);

/* Parse a page body and check every item before anything is emitted, so a
 * malformed page emits nothing. On success *ret_items is a borrowed-from-
 * *ret_root array of items (caller json_decref()s *ret_root). Returns 0,
 * -ENOMEM, or SRM_E_PARSE with a malloc'd reason in *ret_err. */
int masto_page_parse(enum masto_page_kind kind, const char *body, size_t len,
                     json_t **ret_root, json_t **ret_items, char **ret_err);

/* Check one Status (and its reblog) / Account / Notification. Returns 0
 * or SRM_E_PARSE with a malloc'd reason in *ret_err. */
int masto_status_check(json_t *st, char **ret_err);
int masto_account_check(json_t *acct, char **ret_err);
int masto_notification_check(json_t *n, char **ret_err);

/* Emit an already checked Account as an identity. When ret_remote_id is
 * not NULL it receives the identity's remote_id, malloc'd. Returns 0 or a
 * negative error. */
int masto_emit_account(const struct masto_ctx *c, json_t *acct,
                       char **ret_remote_id);

/* Emit an already checked Status: the authors' identities, then the
 * mention (a reblog is unwrapped and flagged SRM_MENTION_REBLOG). matched
 * is what caught it. reply_to is the uri of the status it answers when
 * that status is in c->seen or c->page, else NULL: in_reply_to_id is a
 * server-local id, not the remote_id of anything. Returns 0 or a negative
 * error. */
int masto_emit_status(const struct masto_ctx *c, json_t *st,
                      const char *matched);

/* Emit a deletion for a status id seen earlier; false when its uri is not
 * remembered (nothing is emitted). */
bool masto_emit_delete(const struct masto_ctx *c, const char *id);

/* Remember id -> (uri, visibility, matched). Copies. */
void masto_seen_put(struct masto_seen *s, const char *id, const char *uri,
                    const char *visibility, const char *matched);
/* Remember a status we posted (a reply), so that answers to it name its
 * uri in reply_to; edits and deletes of it are not mentions. Copies. */
void masto_seen_put_own(struct masto_seen *s, const char *id,
                        const char *uri, const char *visibility);
/* The entry for id, or NULL. Borrowed until the next masto_seen_put. */
const struct masto_seen_entry *masto_seen_get(const struct masto_seen *s,
                                              const char *id);
void masto_seen_fini(struct masto_seen *s);

#endif
