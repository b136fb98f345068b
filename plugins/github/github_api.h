/* github_api.h - GitHub REST: URLs, Link headers, times, and the mapping of
 * search results and notification threads to srm records. No I/O here. */
#ifndef SRM_PLUGINS_GITHUB_API_H
#define SRM_PLUGINS_GITHUB_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "srm/plugin.h"

/* What a page held. */
struct gh_page {
    size_t n_items;   /* items on the page */
    size_t n_emitted; /* mentions emitted from it */
    int64_t newest;   /* highest updated_at (Unix seconds), or -1 */
    char newest_iso[32]; /* the same as GitHub wrote it */
    bool incomplete;  /* search: incomplete_results */
};

/* ISO 8601 / RFC 3339 as GitHub writes it (2024-01-02T03:04:05Z, maybe
 * with fractions or an offset) to Unix seconds; -1 when unreadable. */
int64_t gh_api_time_parse(const char *s);
/* Unix seconds as 2024-01-02T03:04:05Z. */
void gh_api_time_format(int64_t t, char *buf, size_t size);

/* The first search page URL for query, updated at or after since (an ISO
 * time). malloc'd, or NULL on allocation failure. */
char *gh_api_search_url(const char *base_url, const char *query,
                        const char *since);
/* The notifications URL (unread threads updated after since). */
char *gh_api_notifications_url(const char *base_url, const char *since);

/* The rel="next" target of a Link header, malloc'd; NULL when there is
 * none (or on allocation failure). */
char *gh_api_link_next(const char *link);

/* The "message" of a GitHub error body (and the first errors[].message
 * when there is one) into buf; "" when the body is not JSON. */
void gh_api_error_message(const char *body, size_t len, char *buf,
                          size_t size);

/* Parse a /search/issues page and emit its items (identity, then
 * mention, matched = query). The page is checked whole before anything is
 * emitted. Returns 0, -ENOMEM, or SRM_E_PARSE with a malloc'd reason in
 * *ret_err (the caller frees it). */
int gh_api_emit_search(const struct srm_host_api *host,
                       struct srm_instance *inst, const char *query,
                       const char *body, size_t len, struct gh_page *ret,
                       char **ret_err);

/* Parse a /notifications page and emit the threads whose reason is a
 * conversation (mention, team_mention, comment, author, review_requested).
 * Same contract as gh_api_emit_search. */
int gh_api_emit_notifications(const struct srm_host_api *host,
                              struct srm_instance *inst, const char *body,
                              size_t len, struct gh_page *ret,
                              char **ret_err);

#endif
