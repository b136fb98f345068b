/* rss_parse.c - feed documents to entries with libxml2's tree API.
 *
 * Safety: the document is parsed with XML_PARSE_NONET and without NOENT or
 * DTDLOAD, so no external entity or DTD is ever fetched or expanded (XXE);
 * text is gathered from text and CDATA nodes only, so even an internal
 * entity reference contributes nothing. No RECOVER either: a truncated feed
 * is an error the user should see, not a silently shorter feed.
 *
 * Element matching is by local name and namespace: RSS 2.0 elements have
 * none, RSS 1.0 ones the RSS 1.0 namespace, and an <atom:link> inside an RSS
 * channel must not be taken for the channel's <link>. */
#include "rss_parse.h"

#include <errno.h>
#include <inttypes.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/uri.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rss_date.h"
#include "srm/plugin.h"

#define NS_ATOM "http://www.w3.org/2005/Atom"
#define NS_RSS1 "http://purl.org/rss/1.0/"
#define NS_RSS090 "http://my.netscape.com/rdf/simple/0.9/"
#define NS_RDF "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
#define NS_DC "http://purl.org/dc/elements/1.1/"
#define NS_CONTENT "http://purl.org/rss/1.0/modules/content/"
/* Pass as ns to match the RSS family: no namespace, RSS 1.0 or 0.90. */
#define NS_PLAIN NULL

struct rp {
    xmlDoc *doc;
    bool oom;
};

uint64_t rss_fnv1a64(const char *s)
{
    uint64_t h = 14695981039346656037ull;

    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

static bool rp_is(const xmlNode *n, const char *name, const char *ns)
{
    if (n == NULL || n->type != XML_ELEMENT_NODE ||
        strcmp((const char *)n->name, name) != 0)
        return false;
    const char *href = n->ns != NULL ? (const char *)n->ns->href : NULL;
    if (ns == NS_PLAIN)
        return href == NULL || strcmp(href, NS_RSS1) == 0 ||
               strcmp(href, NS_RSS090) == 0;
    return href != NULL && strcmp(href, ns) == 0;
}

static xmlNode *rp_child(const xmlNode *parent, const char *name,
                         const char *ns)
{
    if (parent == NULL)
        return NULL;
    for (xmlNode *c = parent->children; c != NULL; c = c->next)
        if (rp_is(c, name, ns))
            return c;
    return NULL;
}

static char *rp_dup(struct rp *p, const char *s)
{
    char *d = s != NULL ? strdup(s) : NULL;

    if (s != NULL && d == NULL)
        p->oom = true;
    return d;
}

static void rp_collect(FILE *out, const xmlNode *n)
{
    for (; n != NULL; n = n->next) {
        if ((n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) &&
            n->content != NULL)
            fputs((const char *)n->content, out);
        else if (n->type == XML_ELEMENT_NODE)
            rp_collect(out, n->children);
        /* XML_ENTITY_REF_NODE: never expanded, see the top comment. */
    }
}

/* The trimmed text of an element, or NULL when absent or empty. */
static char *rp_text(struct rp *p, const xmlNode *n)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out;

    if (n == NULL)
        return NULL;
    out = open_memstream(&buf, &len);
    if (out == NULL) {
        p->oom = true;
        return NULL;
    }
    rp_collect(out, n->children);
    if (fclose(out) != 0) {
        free(buf);
        p->oom = true;
        return NULL;
    }
    size_t start = strspn(buf, " \t\r\n");
    while (len > start && strchr(" \t\r\n", buf[len - 1]) != NULL)
        len--;
    if (len == start) {
        free(buf);
        return NULL;
    }
    memmove(buf, buf + start, len - start);
    buf[len - start] = '\0';
    return buf;
}

/* href made absolute against the node's xml:base chain, which ends at the
 * document URL, i.e. the feed URL. */
static char *rp_resolve(struct rp *p, xmlNode *node, const char *href)
{
    xmlChar *base, *abs;
    char *out;

    if (href == NULL)
        return NULL;
    base = xmlNodeGetBase(p->doc, node);
    abs = xmlBuildURI((const xmlChar *)href, base);
    out = rp_dup(p, abs != NULL ? (const char *)abs : href);
    xmlFree(abs);
    xmlFree(base);
    return out;
}

/* Serialized children of an xhtml text construct, as HTML for the host. */
static char *rp_inner_xml(struct rp *p, xmlNode *n)
{
    xmlBuffer *buf = xmlBufferCreate();
    char *out;

    if (buf == NULL) {
        p->oom = true;
        return NULL;
    }
    for (xmlNode *c = n->children; c != NULL; c = c->next)
        xmlNodeDump(buf, p->doc, c, 0, 0);
    out = rp_dup(p, (const char *)xmlBufferContent(buf));
    xmlBufferFree(buf);
    return out;
}

/* An Atom text construct (RFC 4287 §3.1): text, html or xhtml. */
static char *rp_atom_text(struct rp *p, xmlNode *n, bool *ret_html)
{
    xmlChar *type;
    char *out;

    *ret_html = false;
    if (n == NULL)
        return NULL;
    type = xmlGetProp(n, (const xmlChar *)"type");
    if (type != NULL && strcmp((const char *)type, "xhtml") == 0) {
        out = rp_inner_xml(p, n);
        *ret_html = true;
    } else {
        out = rp_text(p, n);
        *ret_html = type != NULL && (strcmp((const char *)type, "html") == 0 ||
                                     strcmp((const char *)type,
                                            "text/html") == 0);
    }
    xmlFree(type);
    return out;
}

static void rp_person_free(struct rss_person *a)
{
    free(a->name);
    free(a->uri);
    free(a->email);
}

static void rp_person_copy(struct rp *p, struct rss_person *dst,
                           const struct rss_person *src)
{
    dst->name = rp_dup(p, src->name);
    dst->uri = rp_dup(p, src->uri);
    dst->email = rp_dup(p, src->email);
}

/* An Atom Person construct. */
static void rp_atom_person(struct rp *p, xmlNode *n, struct rss_person *a)
{
    char *uri;

    if (n == NULL)
        return;
    a->name = rp_text(p, rp_child(n, "name", NS_ATOM));
    uri = rp_text(p, rp_child(n, "uri", NS_ATOM));
    a->uri = rp_resolve(p, n, uri);
    free(uri);
    a->email = rp_text(p, rp_child(n, "email", NS_ATOM));
}

/* RSS <author>: "lawyer@boyer.net (Lawyer Boyer)", a bare address, or (in
 * real feeds) just a name. */
static void rp_rss_author(struct rp *p, char *text, struct rss_person *a)
{
    char *paren = strchr(text, '(');

    if (strchr(text, '@') == NULL) {
        a->name = text;
        return;
    }
    if (paren != NULL) {
        char *close = strrchr(paren, ')');
        if (close != NULL)
            *close = '\0';
        a->name = rp_dup(p, paren + 1);
        *paren = '\0';
    }
    size_t len = strlen(text);
    while (len > 0 && text[len - 1] == ' ')
        text[--len] = '\0';
    a->email = text;
}

/* The alternate link among Atom <link>s: rel="alternate" or no rel. */
static char *rp_atom_link(struct rp *p, xmlNode *parent)
{
    for (xmlNode *c = parent->children; c != NULL; c = c->next) {
        if (!rp_is(c, "link", NS_ATOM))
            continue;
        xmlChar *rel = xmlGetProp(c, (const xmlChar *)"rel");
        xmlChar *href = xmlGetProp(c, (const xmlChar *)"href");
        char *out = NULL;
        if (href != NULL &&
            (rel == NULL || strcmp((const char *)rel, "alternate") == 0))
            out = rp_resolve(p, c, (const char *)href);
        xmlFree(rel);
        xmlFree(href);
        if (out != NULL)
            return out;
    }
    return NULL;
}

/* Key and date from what the entry had; date_text is consumed. */
static void rp_finish_entry(struct rp *p, struct rss_entry *e, char *id,
                            char *date_text)
{
    if (date_text != NULL && rss_date_parse(date_text, &e->date) < 0)
        e->date = 0;
    if (id != NULL) {
        e->key = id;
    } else if (e->link != NULL) {
        e->key = rp_dup(p, e->link);
    } else {
        char *mix = NULL;
        if (asprintf(&mix, "%s\n%s", e->title != NULL ? e->title : "",
                     date_text != NULL ? date_text : "") < 0) {
            p->oom = true;
        } else {
            if (asprintf(&e->key, "%016" PRIx64, rss_fnv1a64(mix)) < 0) {
                e->key = NULL;
                p->oom = true;
            }
            free(mix);
        }
    }
    free(date_text);
}

static void rp_rss_item(struct rp *p, xmlNode *item, struct rss_entry *e)
{
    char *id, *link, *date, *author;
    xmlNode *content;

    e->title = rp_text(p, rp_child(item, "title", NS_PLAIN));
    link = rp_text(p, rp_child(item, "link", NS_PLAIN));
    e->link = rp_resolve(p, item, link);
    free(link);
    id = rp_text(p, rp_child(item, "guid", NS_PLAIN));
    if (id == NULL) {
        /* RSS 1.0 names each item by its rdf:about. */
        xmlChar *about = xmlGetNsProp(item, (const xmlChar *)"about",
                                      (const xmlChar *)NS_RDF);
        id = rp_dup(p, (const char *)about);
        xmlFree(about);
    }
    content = rp_child(item, "encoded", NS_CONTENT);
    if (content == NULL)
        content = rp_child(item, "description", NS_PLAIN);
    e->content = rp_text(p, content);
    e->content_html = true;
    author = rp_text(p, rp_child(item, "author", NS_PLAIN));
    if (author != NULL)
        rp_rss_author(p, author, &e->author);
    if (e->author.name == NULL)
        e->author.name = rp_text(p, rp_child(item, "creator", NS_DC));
    date = rp_text(p, rp_child(item, "pubDate", NS_PLAIN));
    if (date == NULL)
        date = rp_text(p, rp_child(item, "date", NS_DC));
    rp_finish_entry(p, e, id, date);
}

static void rp_atom_entry(struct rp *p, xmlNode *entry, struct rss_entry *e,
                          const struct rss_person *feed_author)
{
    char *id, *date;
    xmlNode *content, *author;

    id = rp_text(p, rp_child(entry, "id", NS_ATOM));
    e->title = rp_atom_text(p, rp_child(entry, "title", NS_ATOM),
                            &e->title_html);
    e->link = rp_atom_link(p, entry);
    content = rp_child(entry, "content", NS_ATOM);
    /* Out-of-line content (src=) has a summary instead (§4.1.3). */
    if (content != NULL && xmlHasProp(content, (const xmlChar *)"src"))
        content = NULL;
    if (content == NULL)
        content = rp_child(entry, "summary", NS_ATOM);
    e->content = rp_atom_text(p, content, &e->content_html);
    author = rp_child(entry, "author", NS_ATOM);
    if (author == NULL)
        author = rp_child(rp_child(entry, "source", NS_ATOM), "author",
                          NS_ATOM);
    if (author != NULL)
        rp_atom_person(p, author, &e->author);
    else
        rp_person_copy(p, &e->author, feed_author);
    date = rp_text(p, rp_child(entry, "published", NS_ATOM));
    if (date == NULL)
        date = rp_text(p, rp_child(entry, "updated", NS_ATOM));
    rp_finish_entry(p, e, id, date);
}

static size_t rp_count(const xmlNode *parent, const char *name,
                       const char *ns)
{
    size_t n = 0;

    for (xmlNode *c = parent->children; c != NULL; c = c->next)
        if (rp_is(c, name, ns))
            n++;
    return n;
}

static int rp_entries(struct rp *p, struct rss_feed *f, xmlNode *parent,
                      const char *name, const char *ns,
                      const struct rss_person *feed_author)
{
    size_t n = rp_count(parent, name, ns);

    f->entries = calloc(n > 0 ? n : 1, sizeof(*f->entries));
    if (f->entries == NULL)
        return -ENOMEM;
    for (xmlNode *c = parent->children; c != NULL; c = c->next) {
        if (!rp_is(c, name, ns))
            continue;
        struct rss_entry *e = &f->entries[f->n_entries++];
        if (ns != NS_PLAIN)
            rp_atom_entry(p, c, e, feed_author);
        else
            rp_rss_item(p, c, e);
    }
    return 0;
}

static int rp_feed(struct rp *p, xmlNode *root, struct rss_feed *f,
                   char **ret_err)
{
    xmlNode *channel;
    char *link;
    struct rss_person feed_author = {0};
    int rc;

    if (rp_is(root, "feed", NS_ATOM)) {
        f->title = rp_text(p, rp_child(root, "title", NS_ATOM));
        f->site_link = rp_atom_link(p, root);
        rp_atom_person(p, rp_child(root, "author", NS_ATOM), &feed_author);
        rc = rp_entries(p, f, root, "entry", NS_ATOM, &feed_author);
        rp_person_free(&feed_author);
        return rc;
    }
    if (rp_is(root, "rss", NS_PLAIN) || rp_is(root, "RDF", NS_RDF)) {
        channel = rp_child(root, "channel", NS_PLAIN);
        if (channel == NULL) {
            *ret_err = strdup("RSS document without <channel>");
            return SRM_E_PARSE;
        }
        f->title = rp_text(p, rp_child(channel, "title", NS_PLAIN));
        link = rp_text(p, rp_child(channel, "link", NS_PLAIN));
        f->site_link = rp_resolve(p, channel, link);
        free(link);
        /* RSS 1.0 items are siblings of the channel, RSS 2.0 children. */
        return rp_entries(p, f, rp_is(root, "rss", NS_PLAIN) ? channel : root,
                          "item", NS_PLAIN, NULL);
    }
    if (asprintf(ret_err, "not an RSS or Atom feed (root element <%s>)",
                 (const char *)root->name) < 0)
        *ret_err = NULL;
    return SRM_E_PARSE;
}

int rss_parse(const char *body, size_t len, const char *feed_url,
              struct rss_feed **ret_feed, char **ret_err)
{
    struct rp p = {0};
    struct rss_feed *f = NULL;
    xmlParserCtxt *ctxt = NULL;
    xmlNode *root;
    int rc = -ENOMEM;

    *ret_feed = NULL;
    *ret_err = NULL;
    if (len > INT32_MAX) {
        *ret_err = strdup("feed too large");
        return SRM_E_PARSE;
    }
    ctxt = xmlNewParserCtxt();
    f = calloc(1, sizeof(*f));
    if (ctxt == NULL || f == NULL)
        goto fail;
    p.doc = xmlCtxtReadMemory(ctxt, body, (int)len, feed_url, NULL,
                              XML_PARSE_NONET | XML_PARSE_NOERROR |
                                  XML_PARSE_NOWARNING);
    if (p.doc == NULL) {
        const xmlError *e = xmlCtxtGetLastError(ctxt);
        rc = SRM_E_PARSE;
        if (e != NULL && e->message != NULL) {
            int mlen = (int)strcspn(e->message, "\r\n");
            if (asprintf(ret_err, "not well-formed XML (line %d): %.*s",
                         e->line, mlen, e->message) < 0)
                *ret_err = NULL;
        } else {
            *ret_err = strdup("not well-formed XML");
        }
        goto fail;
    }
    root = xmlDocGetRootElement(p.doc);
    if (root == NULL) {
        rc = SRM_E_PARSE;
        *ret_err = strdup("empty document");
        goto fail;
    }
    rc = rp_feed(&p, root, f, ret_err);
    if (rc == 0 && p.oom)
        rc = -ENOMEM;
    if (rc < 0)
        goto fail;
    xmlFreeDoc(p.doc);
    xmlFreeParserCtxt(ctxt);
    *ret_feed = f;
    return 0;
fail:
    rss_feed_free(f);
    xmlFreeDoc(p.doc);
    xmlFreeParserCtxt(ctxt);
    return rc;
}

void rss_feed_free(struct rss_feed *f)
{
    if (f == NULL)
        return;
    for (size_t i = 0; i < f->n_entries; i++) {
        struct rss_entry *e = &f->entries[i];
        free(e->key);
        free(e->title);
        free(e->link);
        free(e->content);
        rp_person_free(&e->author);
    }
    free(f->entries);
    free(f->title);
    free(f->site_link);
    free(f);
}
