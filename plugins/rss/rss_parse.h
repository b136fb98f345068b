/* rss_parse.h - RSS 2.0, RSS 1.0 (RDF) and Atom documents to entries, with
 * libxml2. Pure: no host calls, so it is tested on its own. */
#ifndef SRM_PLUGINS_RSS_PARSE_H
#define SRM_PLUGINS_RSS_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A person as the feed names them; any member may be NULL. */
struct rss_person {
    char *name;
    char *uri; /* absolute */
    char *email;
};

struct rss_entry {
    char *key;   /* guid/id, else link, else FNV-1a of title+date (hex) */
    char *title; /* plain text unless title_html */
    bool title_html;
    char *link;  /* absolute, or NULL */
    char *content; /* HTML unless content_html is false; or NULL */
    bool content_html;
    int64_t date; /* unix seconds, or 0 when absent/unparseable */
    struct rss_person author;
};

struct rss_feed {
    char *title;
    char *site_link; /* absolute, or NULL */
    struct rss_entry *entries;
    size_t n_entries;
};

/* Parse a feed fetched from feed_url (the base for relative links). The
 * document must be well-formed: a truncated or non-XML body fails, with no
 * recovery. No network access and no external entity is ever loaded.
 * Returns 0 with *ret_feed set, -ENOMEM, or SRM_E_PARSE with a malloc'd
 * reason in *ret_err. */
int rss_parse(const char *body, size_t len, const char *feed_url,
              struct rss_feed **ret_feed, char **ret_err);

void rss_feed_free(struct rss_feed *feed);

/* 64-bit FNV-1a of s, the fallback entry key. */
uint64_t rss_fnv1a64(const char *s);

#endif
