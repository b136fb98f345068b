/* hn_api.h - the Algolia HN Search API: request URLs and the mapping of a
 * search_by_date page to srm records. */
#ifndef SRM_PLUGINS_HN_API_H
#define SRM_PLUGINS_HN_API_H

#include <stddef.h>
#include <stdint.h>

#include "srm/plugin.h"

/* What a page said about where to go next. */
struct hn_page {
    int64_t page;     /* the page answered (0-based) */
    int64_t nb_pages; /* how many pages the query has */
    int64_t max_created; /* highest created_at_i on the page, or -1 */
    size_t n_hits;
};

/* The search_by_date URL for one page, percent-encoding every value.
 * Returns a malloc'd string or NULL on allocation failure. */
char *hn_api_url(const char *base_url, const char *query, const char *tags,
                 int64_t mark, int64_t hits_per_page, int64_t page);

/* Parse one page and emit its hits (identity then mention) with host.
 * Every hit is checked before the first is emitted, so a malformed page
 * emits nothing. Returns 0, -ENOMEM, or SRM_E_PARSE with a malloc'd reason
 * in *ret_err (the caller frees it). */
int hn_api_emit_page(const struct srm_host_api *host,
                     struct srm_instance *inst, const char *query,
                     const char *body, size_t len, struct hn_page *ret_page,
                     char **ret_err);

#endif
