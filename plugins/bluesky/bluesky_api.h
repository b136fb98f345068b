/* bluesky_api.h - AT Protocol / Bluesky: times, JWTs, URLs, and the mapping
 * of post, notification and profile views to srm records. No I/O here. */
#ifndef SRM_PLUGINS_BLUESKY_API_H
#define SRM_PLUGINS_BLUESKY_API_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "srm/plugin.h"

/* A post as srmd needs it, borrowed from a postView (search) or a
 * notification (whose record is the post record). */
struct bsky_post {
    const char *uri;  /* at://did/app.bsky.feed.post/rkey */
    const char *cid;
    const char *rkey; /* points into uri */
    json_t *author;   /* profileView(Basic); checked by bsky_api_profile */
    const char *text;
    json_t *facets;   /* array or NULL */
    const char *lang;
    const char *parent_uri; /* record.reply.parent, or NULL */
    const char *root_uri, *root_cid;
    int64_t created_ms;
    int64_t indexed_ms;
    int64_t sort_ms;  /* min(createdAt, indexedAt): what search's since uses */
};

/* A profileView, profileViewBasic or profileViewDetailed. */
struct bsky_profile {
    const char *did;
    const char *handle;
    const char *display_name;
    const char *description;
    const char *avatar;
    int64_t followers, follows, posts; /* -1 when the view lacks them */
};

/* RFC 3339 (fractional seconds, Z or an offset) to Unix milliseconds;
 * -1 when s is not such a time. */
int64_t bsky_api_time_parse(const char *s);
/* Unix milliseconds as 2024-01-02T03:04:05.678Z into buf (>= 32 bytes). */
void bsky_api_time_format(int64_t ms, char *buf, size_t size);

/* The exp claim (Unix seconds) of a JWT, read without verifying it; -1
 * when the token has no readable exp. */
int64_t bsky_api_jwt_exp(const char *jwt);

/* Append s percent-encoded (RFC 3986 unreserved kept) to out. */
void bsky_api_encode(FILE *out, const char *s);

/* text with its link facets applied: a link whose displayed text is a
 * shortened form of its uri is replaced by the uri; another label keeps
 * its text followed by " (uri)". Facets with offsets outside the text, off
 * a UTF-8 boundary or overlapping an earlier one are ignored. Returns a
 * malloc'd string, or NULL on allocation failure. */
char *bsky_api_apply_facets(const char *text, json_t *facets);

/* Check a profile view; on failure *ret_bad names the field. */
int bsky_api_profile(json_t *j, struct bsky_profile *ret,
                     const char **ret_bad);

/* Check a post: a postView or a notification (both keep uri, cid, author,
 * record and indexedAt at the top level). Returns 0 or SRM_E_PARSE
 * with *ret_bad naming the field. */
int bsky_api_post(json_t *j, struct bsky_post *ret, const char **ret_bad);

/* Emit the identity of a checked profile. */
int bsky_api_emit_identity(const struct srm_host_api *host,
                           struct srm_instance *inst,
                           const struct bsky_profile *p);

/* Emit a checked post's author identity and the mention. matched may be
 * NULL. Returns 0 or -ENOMEM. */
int bsky_api_emit_post(const struct srm_host_api *host,
                       struct srm_instance *inst, const struct bsky_post *p,
                       const char *matched);

/* https://bsky.app/profile/<handle or did>/post/<rkey> for an AT-URI;
 * malloc'd, or NULL when the URI is not a post's. */
char *bsky_api_post_url(const char *uri, const char *handle);

#endif
