/* rss_parse.c - feed documents to entries with libxml2's SAX2 interface.
 *
 * No tree is built: elements are matched as they open, the text of the
 * ones an entry needs is gathered into one scratch buffer while they are
 * open, and each entry is finished when its element closes. Entries go into
 * the feed's list, which the caller only sees once the whole document has
 * parsed: a truncated or not well-formed feed fails as a whole, before any
 * of it is used.
 *
 * The result is what the former tree walk gave (xmlReadMemory, then the
 * first matching child of each kind): only the first <title>, <link>, ...
 * of an entry counts; text is the concatenated text and CDATA of the
 * element and its descendants, trimmed, NULL when empty; links resolve
 * against the element's xml:base chain as xmlNodeGetBase computes it (a
 * stack of the open elements' xml:base values), ending at the document URL,
 * i.e. the feed URL; attribute values are decoded as the tree builder
 * decodes them; Atom xhtml text constructs are serialized back to markup.
 * An Atom feed's <author> may come after its entries: entries without an
 * author of their own get it when the document ends.
 *
 * Safety: the document is parsed with XML_PARSE_NONET and without NOENT or
 * DTDLOAD, so no external entity or DTD is ever fetched or expanded (XXE).
 * An entity reference reaches this file as a reference event, which adds no
 * text; when libxml2 parses an internal entity's replacement text to check
 * it, it does so in a context of its own, whose events are ignored here. No
 * RECOVER either: a truncated feed is an error the user should see, not a
 * silently shorter feed.
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
#define NS_XML "http://www.w3.org/XML/1998/namespace"
/* Pass as ns to match the RSS family: no namespace, RSS 1.0 or 0.90. */
#define NS_PLAIN NULL

enum rp_kind { RP_NONE, RP_ATOM, RP_RSS, RP_RDF, RP_OTHER };

/* What an open element is to the feed. */
enum rp_role {
    R_IGNORE,  /* nothing, nor anything inside it */
    R_ROOT,
    R_CHANNEL, /* the first <channel> */
    R_ITEM,    /* an RSS item */
    R_ENTRY,   /* an Atom entry */
    R_SOURCE,  /* an entry's first <source> */
    R_PERSON,  /* an Atom <author>: feed's, entry's or source's */
    R_CAPTURE, /* text (or xhtml markup) being gathered */
};

/* Text slots of the entry being read. */
enum rp_slot {
    S_TITLE, S_LINK, S_GUID, S_ENCODED, S_DESC, S_AUTHOR, S_CREATOR,
    S_PUBDATE, S_DCDATE, S_ID, S_CONTENT, S_SUMMARY, S_PUBLISHED, S_UPDATED,
    S_N
};

/* Text slots of a person. */
enum { P_NAME, P_URI, P_EMAIL, P_N };

struct rp_person {
    bool found[P_N];
    char *v[P_N];
};

struct rp_frame {
    enum rp_role role;
    char *base; /* its xml:base, decoded, or NULL */
};

struct rp_buf {
    char *data;
    size_t len, cap;
};

struct rp {
    xmlParserCtxt *ctxt;
    bool oom;
    enum rp_kind kind;
    char *root_name_buf; /* local name of the root element */

    struct rp_frame *stack;
    size_t depth, cap;

    /* The capture: where the gathered text goes when its element ends. */
    size_t cap_depth; /* depth of the capturing element, 0 when none */
    char **cap_dest;
    bool cap_xhtml;
    bool tag_open; /* xhtml: a start tag waits for its '>' or "/>" */
    struct rp_buf text;

    struct rss_feed *f;
    size_t entries_cap;
    bool *inherit; /* per entry: takes the feed's author at the end */

    /* Feed level. */
    bool channel_found, title_found, link_found, link_chosen, author_found;
    char *channel_link;
    struct rp_person feed_author_p;
    struct rss_person feed_author;

    /* The entry being read. */
    bool found[S_N];
    char *v[S_N];
    bool html[S_N];     /* Atom text construct of type html or xhtml */
    bool content_src;   /* <content src=...>: out of line */
    char *about;        /* RSS 1.0 rdf:about */
    char *entry_link;   /* Atom: first alternate link, resolved */
    bool entry_link_chosen;
    bool e_author_found, source_found, s_author_found;
    struct rp_person e_author, s_author;
    struct rp_person *person; /* the <author> open now */
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

static char *rp_dup(struct rp *p, const char *s)
{
    char *d = s != NULL ? strdup(s) : NULL;

    if (s != NULL && d == NULL)
        p->oom = true;
    return d;
}

static void rp_put(struct rp *p, const char *s, size_t n)
{
    struct rp_buf *b = &p->text;

    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (d == NULL) {
            p->oom = true;
            return;
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
}

static void rp_puts(struct rp *p, const char *s)
{
    rp_put(p, s, strlen(s));
}

/* ------------------------------------------------------------ matching */

static bool rp_ns_is(const xmlChar *uri, const char *ns)
{
    const char *href = (const char *)uri;

    if (ns == NS_PLAIN)
        return href == NULL || strcmp(href, NS_RSS1) == 0 ||
               strcmp(href, NS_RSS090) == 0;
    return href != NULL && strcmp(href, ns) == 0;
}

static bool rp_is(const xmlChar *local, const xmlChar *uri, const char *name,
                  const char *ns)
{
    return strcmp((const char *)local, name) == 0 && rp_ns_is(uri, ns);
}

/* An attribute value as the tree would hold it: the parser leaves "&#38;"
 * and references to declared entities in a value for the tree builder to
 * decode, so decode the same way. */
static char *rp_attr_value(struct rp *p, const xmlChar *value,
                           const xmlChar *end)
{
    size_t n = (size_t)(end - value);
    char *out;

    if (memchr(value, '&', n) == NULL) {
        out = strndup((const char *)value, n);
        if (out == NULL)
            p->oom = true;
        return out;
    }
    xmlNode *list = xmlStringLenGetNodeList(p->ctxt->myDoc, value, (int)n);
    xmlChar *s = xmlNodeListGetString(p->ctxt->myDoc, list, 1);
    xmlFreeNodeList(list);
    out = rp_dup(p, s != NULL ? (const char *)s : "");
    xmlFree(s);
    return out;
}

/* The first attribute named name in namespace ns (NULL: none), defaults
 * from the DTD included, as xmlGetProp/xmlGetNsProp find it; decoded. */
static char *rp_attr(struct rp *p, int n, const xmlChar **atts,
                     const char *name, const char *ns)
{
    for (int i = 0; i < n; i++) {
        const xmlChar **a = atts + 5 * i;
        if (strcmp((const char *)a[0], name) != 0)
            continue;
        if (ns == NULL ? a[2] != NULL
                       : a[2] == NULL || strcmp((const char *)a[2], ns) != 0)
            continue;
        return rp_attr_value(p, a[3], a[4]);
    }
    return NULL;
}

/* ------------------------------------------------------------ links */

/* The base URI of the innermost open element, as xmlNodeGetBase computes
 * it from its ancestors' xml:base and the document URL. */
static xmlChar *rp_base(struct rp *p)
{
    xmlChar *oldbase = NULL, *newbase;

    for (size_t i = p->depth; i-- > 0;) {
        const char *base = p->stack[i].base;
        if (base == NULL)
            continue;
        if (oldbase != NULL) {
            newbase = xmlBuildURI(oldbase, (const xmlChar *)base);
            xmlFree(oldbase);
            if (newbase == NULL)
                return NULL;
            oldbase = newbase;
        } else {
            oldbase = xmlStrdup((const xmlChar *)base);
            if (oldbase == NULL)
                return NULL;
        }
        if (!xmlStrncmp(oldbase, BAD_CAST "http://", 7) ||
            !xmlStrncmp(oldbase, BAD_CAST "ftp://", 6) ||
            !xmlStrncmp(oldbase, BAD_CAST "urn:", 4))
            return oldbase;
    }
    xmlDoc *doc = p->ctxt->myDoc;
    if (doc != NULL && doc->URL != NULL) {
        if (oldbase == NULL)
            return xmlStrdup(doc->URL);
        newbase = xmlBuildURI(oldbase, doc->URL);
        xmlFree(oldbase);
        return newbase;
    }
    return oldbase;
}

/* href made absolute against the innermost open element's base. */
static char *rp_resolve(struct rp *p, const char *href)
{
    xmlChar *base, *abs;
    char *out;

    if (href == NULL)
        return NULL;
    base = rp_base(p);
    abs = xmlBuildURI((const xmlChar *)href, base);
    out = rp_dup(p, abs != NULL ? (const char *)abs : href);
    xmlFree(abs);
    xmlFree(base);
    return out;
}

/* An Atom <link> (its frame on the stack): the alternate link, rel absent
 * or "alternate", with an href; NULL when it is not one. */
static char *rp_atom_link(struct rp *p, int n, const xmlChar **atts)
{
    char *rel = rp_attr(p, n, atts, "rel", NULL);
    char *href = rp_attr(p, n, atts, "href", NULL);
    char *out = NULL;

    if (href != NULL && (rel == NULL || strcmp(rel, "alternate") == 0))
        out = rp_resolve(p, href);
    free(rel);
    free(href);
    return out;
}

/* ------------------------------------------------------------ capture */

static void rp_capture(struct rp *p, char **dest, bool xhtml)
{
    p->cap_depth = p->depth;
    p->cap_dest = dest;
    p->cap_xhtml = xhtml;
    p->tag_open = false;
    p->text.len = 0;
}

/* The gathered text: xhtml markup as is, text trimmed or NULL when empty. */
static void rp_capture_end(struct rp *p)
{
    struct rp_buf *b = &p->text;
    size_t start = 0, len = b->len;

    if (!p->cap_xhtml) {
        while (start < len && strchr(" \t\r\n", b->data[start]) != NULL)
            start++;
        while (len > start && strchr(" \t\r\n", b->data[len - 1]) != NULL)
            len--;
    }
    free(*p->cap_dest);
    *p->cap_dest = NULL;
    if (len > start || p->cap_xhtml) {
        char *s = malloc(len - start + 1);
        if (s == NULL) {
            p->oom = true;
        } else {
            if (len > start)
                memcpy(s, b->data + start, len - start);
            s[len - start] = '\0';
            *p->cap_dest = s;
        }
    }
    p->cap_depth = 0;
    p->cap_dest = NULL;
}

/* xhtml: markup escaped as xmlNodeDump escapes it. */
static void rp_escape(struct rp *p, const char *s, size_t n, bool attr)
{
    const char *run = s, *end = s + n;

    for (; s < end; s++) {
        const char *rep;
        switch (*s) {
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '&': rep = "&amp;"; break;
        case '\r': rep = "&#13;"; break;
        case '"': rep = attr ? "&quot;" : NULL; break;
        case '\n': rep = attr ? "&#10;" : NULL; break;
        case '\t': rep = attr ? "&#9;" : NULL; break;
        default: rep = NULL; break;
        }
        if (rep == NULL)
            continue;
        rp_put(p, run, (size_t)(s - run));
        rp_puts(p, rep);
        run = s + 1;
    }
    rp_put(p, run, (size_t)(end - run));
}

/* xhtml: the pending start tag gets its '>' before any content. */
static void rp_xhtml_content(struct rp *p)
{
    if (p->tag_open) {
        rp_put(p, ">", 1);
        p->tag_open = false;
    }
}

static void rp_xhtml_qname(struct rp *p, const xmlChar *prefix,
                           const xmlChar *local)
{
    if (prefix != NULL) {
        rp_puts(p, (const char *)prefix);
        rp_put(p, ":", 1);
    }
    rp_puts(p, (const char *)local);
}

static void rp_xhtml_start(struct rp *p, const xmlChar *local,
                           const xmlChar *prefix, int nb_ns,
                           const xmlChar **ns, int nb_atts, int nb_def,
                           const xmlChar **atts)
{
    rp_xhtml_content(p);
    rp_put(p, "<", 1);
    rp_xhtml_qname(p, prefix, local);
    for (int i = 0; i < nb_ns; i++) {
        rp_puts(p, " xmlns");
        if (ns[2 * i] != NULL) {
            rp_put(p, ":", 1);
            rp_puts(p, (const char *)ns[2 * i]);
        }
        rp_puts(p, "=\"");
        if (ns[2 * i + 1] != NULL)
            rp_escape(p, (const char *)ns[2 * i + 1],
                      strlen((const char *)ns[2 * i + 1]), true);
        rp_put(p, "\"", 1);
    }
    /* Defaulted attributes are not in the tree, so not in its dump. */
    for (int i = 0; i < nb_atts - nb_def; i++) {
        const xmlChar **a = atts + 5 * i;
        char *v = rp_attr_value(p, a[3], a[4]);
        rp_put(p, " ", 1);
        rp_xhtml_qname(p, a[1], a[0]);
        rp_puts(p, "=\"");
        if (v != NULL)
            rp_escape(p, v, strlen(v), true);
        rp_put(p, "\"", 1);
        free(v);
    }
    p->tag_open = true;
}

static void rp_xhtml_end(struct rp *p, const xmlChar *local,
                         const xmlChar *prefix)
{
    if (p->tag_open) {
        rp_puts(p, "/>");
        p->tag_open = false;
        return;
    }
    rp_puts(p, "</");
    rp_xhtml_qname(p, prefix, local);
    rp_put(p, ">", 1);
}

/* ------------------------------------------------------------ entries */

static void rp_person_free(struct rss_person *a)
{
    free(a->name);
    free(a->uri);
    free(a->email);
}

static void rp_pperson_clear(struct rp_person *pp)
{
    for (int i = 0; i < P_N; i++) {
        free(pp->v[i]);
        pp->v[i] = NULL;
        pp->found[i] = false;
    }
}

/* An Atom person read (its uri resolved when its element closed). */
static void rp_person_take(struct rp_person *pp, struct rss_person *a)
{
    rp_person_free(a);
    a->name = pp->v[P_NAME];
    a->uri = pp->v[P_URI];
    a->email = pp->v[P_EMAIL];
    memset(pp->v, 0, sizeof(pp->v));
}

static void rp_person_copy(struct rp *p, struct rss_person *dst,
                           const struct rss_person *src)
{
    dst->name = rp_dup(p, src->name);
    dst->uri = rp_dup(p, src->uri);
    dst->email = rp_dup(p, src->email);
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

static void rp_entry_reset(struct rp *p)
{
    for (int i = 0; i < S_N; i++) {
        free(p->v[i]);
        p->v[i] = NULL;
        p->found[i] = false;
        p->html[i] = false;
    }
    free(p->about);
    p->about = NULL;
    free(p->entry_link);
    p->entry_link = NULL;
    p->entry_link_chosen = false;
    p->content_src = false;
    p->e_author_found = p->source_found = p->s_author_found = false;
    rp_pperson_clear(&p->e_author);
    rp_pperson_clear(&p->s_author);
    p->person = NULL;
}

/* A new entry at the end of the feed's list, zeroed; NULL when out of
 * memory. */
static struct rss_entry *rp_entry_new(struct rp *p, bool **ret_inherit)
{
    struct rss_feed *f = p->f;

    if (f->n_entries == p->entries_cap) {
        size_t cap = p->entries_cap ? p->entries_cap * 2 : 16;
        struct rss_entry *e = realloc(f->entries, cap * sizeof(*e));
        if (e == NULL) {
            p->oom = true;
            return NULL;
        }
        f->entries = e;
        bool *inh = realloc(p->inherit, cap * sizeof(*inh));
        if (inh == NULL) {
            p->oom = true;
            return NULL;
        }
        p->inherit = inh;
        p->entries_cap = cap;
    }
    struct rss_entry *e = &f->entries[f->n_entries];
    memset(e, 0, sizeof(*e));
    *ret_inherit = &p->inherit[f->n_entries];
    **ret_inherit = false;
    f->n_entries++;
    return e;
}

/* The item's element is closing (its frame on the stack). */
static void rp_rss_item_end(struct rp *p)
{
    bool *inherit;
    struct rss_entry *e = rp_entry_new(p, &inherit);
    char *id, *date;

    if (e == NULL)
        return;
    e->title = p->v[S_TITLE];
    p->v[S_TITLE] = NULL;
    e->link = rp_resolve(p, p->v[S_LINK]);
    id = p->v[S_GUID];
    p->v[S_GUID] = NULL;
    if (id == NULL) {
        /* RSS 1.0 names each item by its rdf:about. */
        id = p->about;
        p->about = NULL;
    }
    if (p->found[S_ENCODED]) {
        e->content = p->v[S_ENCODED];
        p->v[S_ENCODED] = NULL;
    } else {
        e->content = p->v[S_DESC];
        p->v[S_DESC] = NULL;
    }
    e->content_html = true;
    if (p->v[S_AUTHOR] != NULL) {
        rp_rss_author(p, p->v[S_AUTHOR], &e->author);
        p->v[S_AUTHOR] = NULL;
    }
    if (e->author.name == NULL) {
        e->author.name = p->v[S_CREATOR];
        p->v[S_CREATOR] = NULL;
    }
    if (p->v[S_PUBDATE] != NULL) {
        date = p->v[S_PUBDATE];
        p->v[S_PUBDATE] = NULL;
    } else {
        date = p->v[S_DCDATE];
        p->v[S_DCDATE] = NULL;
    }
    rp_finish_entry(p, e, id, date);
}

static void rp_atom_entry_end(struct rp *p)
{
    bool *inherit;
    struct rss_entry *e = rp_entry_new(p, &inherit);
    char *date;
    enum rp_slot content;

    if (e == NULL)
        return;
    e->title = p->v[S_TITLE];
    e->title_html = p->html[S_TITLE];
    p->v[S_TITLE] = NULL;
    e->link = p->entry_link;
    p->entry_link = NULL;
    /* Out-of-line content (src=) has a summary instead (§4.1.3). */
    content = p->found[S_CONTENT] && !p->content_src ? S_CONTENT : S_SUMMARY;
    e->content = p->v[content];
    e->content_html = p->found[content] && p->html[content];
    p->v[content] = NULL;
    if (p->e_author_found)
        rp_person_take(&p->e_author, &e->author);
    else if (p->s_author_found)
        rp_person_take(&p->s_author, &e->author);
    else
        *inherit = true; /* the feed's, which may come later */
    if (p->v[S_PUBLISHED] != NULL) {
        date = p->v[S_PUBLISHED];
        p->v[S_PUBLISHED] = NULL;
    } else {
        date = p->v[S_UPDATED];
        p->v[S_UPDATED] = NULL;
    }
    char *id = p->v[S_ID];
    p->v[S_ID] = NULL;
    rp_finish_entry(p, e, id, date);
}

/* ------------------------------------------------------------ SAX */

static struct rp *rp_of(void *ctx)
{
    xmlParserCtxt *ctxt = ctx;
    struct rp *p = ctxt->_private;

    /* Events from a context of libxml2's own (an internal entity's text
     * being checked) are not the document's. */
    return ctxt == p->ctxt ? p : NULL;
}

/* Start capturing the element's text into slot s unless an earlier one of
 * its kind was found. */
static enum rp_role rp_slot(struct rp *p, enum rp_slot s)
{
    if (p->found[s])
        return R_IGNORE;
    p->found[s] = true;
    rp_capture(p, &p->v[s], false);
    return R_CAPTURE;
}

/* An Atom text construct (RFC 4287 §3.1): text, html or xhtml. */
static enum rp_role rp_atom_text(struct rp *p, enum rp_slot s, int nb,
                                 const xmlChar **atts)
{
    if (p->found[s])
        return R_IGNORE;
    char *type = rp_attr(p, nb, atts, "type", NULL);
    bool xhtml = type != NULL && strcmp(type, "xhtml") == 0;
    p->found[s] = true;
    p->html[s] = xhtml || (type != NULL && (strcmp(type, "html") == 0 ||
                                            strcmp(type, "text/html") == 0));
    free(type);
    rp_capture(p, &p->v[s], xhtml);
    return R_CAPTURE;
}

static enum rp_role rp_person_child(struct rp *p, struct rp_person *pp,
                                    const xmlChar *local, const xmlChar *uri)
{
    static const char *const names[P_N] = {"name", "uri", "email"};

    for (int i = 0; i < P_N; i++) {
        if (!rp_is(local, uri, names[i], NS_ATOM))
            continue;
        if (pp->found[i])
            return R_IGNORE;
        pp->found[i] = true;
        rp_capture(p, &pp->v[i], false);
        return R_CAPTURE;
    }
    return R_IGNORE;
}

static enum rp_role rp_rss_item_child(struct rp *p, const xmlChar *local,
                                      const xmlChar *uri)
{
    static const struct {
        const char *name, *ns;
        enum rp_slot slot;
    } kids[] = {
        {"title", NS_PLAIN, S_TITLE},     {"link", NS_PLAIN, S_LINK},
        {"guid", NS_PLAIN, S_GUID},       {"encoded", NS_CONTENT, S_ENCODED},
        {"description", NS_PLAIN, S_DESC}, {"author", NS_PLAIN, S_AUTHOR},
        {"creator", NS_DC, S_CREATOR},    {"pubDate", NS_PLAIN, S_PUBDATE},
        {"date", NS_DC, S_DCDATE},
    };

    for (size_t i = 0; i < sizeof(kids) / sizeof(kids[0]); i++)
        if (rp_is(local, uri, kids[i].name, kids[i].ns))
            return rp_slot(p, kids[i].slot);
    return R_IGNORE;
}

static enum rp_role rp_atom_entry_child(struct rp *p, const xmlChar *local,
                                        const xmlChar *uri, int nb,
                                        const xmlChar **atts)
{
    if (!rp_ns_is(uri, NS_ATOM))
        return R_IGNORE;
    const char *n = (const char *)local;
    if (strcmp(n, "id") == 0)
        return rp_slot(p, S_ID);
    if (strcmp(n, "published") == 0)
        return rp_slot(p, S_PUBLISHED);
    if (strcmp(n, "updated") == 0)
        return rp_slot(p, S_UPDATED);
    if (strcmp(n, "title") == 0)
        return rp_atom_text(p, S_TITLE, nb, atts);
    if (strcmp(n, "summary") == 0)
        return rp_atom_text(p, S_SUMMARY, nb, atts);
    if (strcmp(n, "content") == 0) {
        if (p->found[S_CONTENT])
            return R_IGNORE;
        /* xmlHasProp: any attribute so named, whatever its namespace. */
        for (int i = 0; i < nb; i++)
            if (strcmp((const char *)atts[5 * i], "src") == 0)
                p->content_src = true;
        return rp_atom_text(p, S_CONTENT, nb, atts);
    }
    if (strcmp(n, "link") == 0) {
        if (!p->entry_link_chosen) {
            p->entry_link = rp_atom_link(p, nb, atts);
            p->entry_link_chosen = p->entry_link != NULL;
        }
        return R_IGNORE;
    }
    if (strcmp(n, "author") == 0) {
        if (p->e_author_found)
            return R_IGNORE;
        p->e_author_found = true;
        p->person = &p->e_author;
        return R_PERSON;
    }
    if (strcmp(n, "source") == 0) {
        if (p->source_found)
            return R_IGNORE;
        p->source_found = true;
        return R_SOURCE;
    }
    return R_IGNORE;
}

static enum rp_role rp_child_role(struct rp *p, enum rp_role parent,
                                  const xmlChar *local, const xmlChar *uri,
                                  int nb, const xmlChar **atts)
{
    switch (parent) {
    case R_ROOT:
        if (p->kind == RP_ATOM) {
            if (!rp_ns_is(uri, NS_ATOM))
                return R_IGNORE;
            if (strcmp((const char *)local, "entry") == 0) {
                rp_entry_reset(p);
                return R_ENTRY;
            }
            if (strcmp((const char *)local, "title") == 0) {
                if (p->title_found)
                    return R_IGNORE;
                p->title_found = true;
                rp_capture(p, &p->f->title, false);
                return R_CAPTURE;
            }
            if (strcmp((const char *)local, "link") == 0) {
                if (!p->link_chosen) {
                    p->f->site_link = rp_atom_link(p, nb, atts);
                    p->link_chosen = p->f->site_link != NULL;
                }
                return R_IGNORE;
            }
            if (strcmp((const char *)local, "author") == 0) {
                if (p->author_found)
                    return R_IGNORE;
                p->author_found = true;
                p->person = &p->feed_author_p;
                return R_PERSON;
            }
            return R_IGNORE;
        }
        if (p->kind == RP_RSS || p->kind == RP_RDF) {
            if (rp_is(local, uri, "channel", NS_PLAIN)) {
                if (p->channel_found)
                    return R_IGNORE;
                p->channel_found = true;
                return R_CHANNEL;
            }
            /* RSS 1.0 items are siblings of the channel. */
            if (p->kind == RP_RDF && rp_is(local, uri, "item", NS_PLAIN)) {
                rp_entry_reset(p);
                p->about = rp_attr(p, nb, atts, "about", NS_RDF);
                return R_ITEM;
            }
        }
        return R_IGNORE;
    case R_CHANNEL:
        if (rp_is(local, uri, "title", NS_PLAIN)) {
            if (p->title_found)
                return R_IGNORE;
            p->title_found = true;
            rp_capture(p, &p->f->title, false);
            return R_CAPTURE;
        }
        if (rp_is(local, uri, "link", NS_PLAIN)) {
            if (p->link_found)
                return R_IGNORE;
            p->link_found = true;
            rp_capture(p, &p->channel_link, false);
            return R_CAPTURE;
        }
        if (p->kind == RP_RSS && rp_is(local, uri, "item", NS_PLAIN)) {
            rp_entry_reset(p);
            p->about = rp_attr(p, nb, atts, "about", NS_RDF);
            return R_ITEM;
        }
        return R_IGNORE;
    case R_ITEM:
        return rp_rss_item_child(p, local, uri);
    case R_ENTRY:
        return rp_atom_entry_child(p, local, uri, nb, atts);
    case R_SOURCE:
        if (rp_is(local, uri, "author", NS_ATOM)) {
            if (p->s_author_found)
                return R_IGNORE;
            p->s_author_found = true;
            p->person = &p->s_author;
            return R_PERSON;
        }
        return R_IGNORE;
    case R_PERSON:
        return rp_person_child(p, p->person, local, uri);
    default:
        return R_IGNORE;
    }
}

static void rp_start(void *ctx, const xmlChar *local, const xmlChar *prefix,
                     const xmlChar *uri, int nb_ns, const xmlChar **ns,
                     int nb_atts, int nb_def, const xmlChar **atts)
{
    struct rp *p = rp_of(ctx);
    struct rp_frame *fr;

    if (p == NULL)
        return;
    if (p->cap_depth > 0 && p->cap_xhtml)
        rp_xhtml_start(p, local, prefix, nb_ns, ns, nb_atts, nb_def, atts);
    if (p->depth == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        struct rp_frame *s = realloc(p->stack, cap * sizeof(*s));
        if (s == NULL) {
            p->oom = true;
            xmlStopParser(p->ctxt);
            return;
        }
        p->stack = s;
        p->cap = cap;
    }
    fr = &p->stack[p->depth++];
    fr->role = R_IGNORE;
    fr->base = NULL;
    /* xml:base, only looked for where a link may be resolved below. */
    if (p->cap_depth == 0)
        fr->base = rp_attr(p, nb_atts, atts, "base", NS_XML);

    if (p->depth == 1) {
        if (rp_is(local, uri, "feed", NS_ATOM))
            p->kind = RP_ATOM;
        else if (rp_is(local, uri, "rss", NS_PLAIN))
            p->kind = RP_RSS;
        else if (rp_is(local, uri, "RDF", NS_RDF))
            p->kind = RP_RDF;
        else
            p->kind = RP_OTHER;
        p->root_name_buf = rp_dup(p, (const char *)local);
        fr->role = p->kind == RP_OTHER ? R_IGNORE : R_ROOT;
        return;
    }
    if (p->cap_depth > 0)
        return; /* inside a capture: its text, nothing else */
    fr->role = rp_child_role(p, p->stack[p->depth - 2].role, local, uri,
                             nb_atts, atts);
}

static void rp_end(void *ctx, const xmlChar *local, const xmlChar *prefix,
                   const xmlChar *uri)
{
    struct rp *p = rp_of(ctx);
    struct rp_frame *fr;

    (void)uri;
    if (p == NULL || p->depth == 0)
        return;
    fr = &p->stack[p->depth - 1];
    if (p->cap_depth == p->depth) {
        rp_capture_end(p);
    } else if (p->cap_depth > 0) {
        if (p->cap_xhtml)
            rp_xhtml_end(p, local, prefix);
    } else {
        switch (fr->role) {
        case R_ITEM:
            rp_rss_item_end(p);
            break;
        case R_ENTRY:
            rp_atom_entry_end(p);
            break;
        case R_PERSON:
            /* Resolve the uri against the <author> now, while it is open;
             * the person is taken when its entry ends. */
            if (p->person != NULL) {
                char *abs = rp_resolve(p, p->person->v[P_URI]);
                free(p->person->v[P_URI]);
                p->person->v[P_URI] = abs;
                if (p->person == &p->feed_author_p)
                    rp_person_take(p->person, &p->feed_author);
            }
            p->person = NULL;
            break;
        case R_CHANNEL: {
            char *link = p->channel_link;
            p->channel_link = NULL;
            p->f->site_link = rp_resolve(p, link);
            free(link);
            break;
        }
        default:
            break;
        }
    }
    free(fr->base);
    p->depth--;
}

static void rp_chars(void *ctx, const xmlChar *ch, int len)
{
    struct rp *p = rp_of(ctx);

    if (p == NULL || p->cap_depth == 0 || len <= 0)
        return;
    if (p->cap_xhtml) {
        rp_xhtml_content(p);
        rp_escape(p, (const char *)ch, (size_t)len, false);
    } else {
        rp_put(p, (const char *)ch, (size_t)len);
    }
}

static void rp_cdata(void *ctx, const xmlChar *ch, int len)
{
    struct rp *p = rp_of(ctx);

    if (p == NULL || p->cap_depth == 0 || len < 0)
        return;
    if (p->cap_xhtml) {
        rp_xhtml_content(p);
        rp_puts(p, "<![CDATA[");
        rp_put(p, (const char *)ch, (size_t)len);
        rp_puts(p, "]]>");
    } else {
        rp_put(p, (const char *)ch, (size_t)len);
    }
}

/* An entity reference: no text (see the top comment); in xhtml markup it
 * stays a reference, as the tree's dump writes it. */
static void rp_reference(void *ctx, const xmlChar *name)
{
    struct rp *p = rp_of(ctx);

    if (p == NULL || p->cap_depth == 0 || !p->cap_xhtml)
        return;
    rp_xhtml_content(p);
    rp_put(p, "&", 1);
    rp_puts(p, (const char *)name);
    rp_put(p, ";", 1);
}

static void rp_comment(void *ctx, const xmlChar *value)
{
    struct rp *p = rp_of(ctx);

    if (p == NULL || p->cap_depth == 0 || !p->cap_xhtml)
        return;
    rp_xhtml_content(p);
    rp_puts(p, "<!--");
    rp_puts(p, (const char *)value);
    rp_puts(p, "-->");
}

static void rp_pi(void *ctx, const xmlChar *target, const xmlChar *data)
{
    struct rp *p = rp_of(ctx);

    if (p == NULL || p->cap_depth == 0 || !p->cap_xhtml)
        return;
    rp_xhtml_content(p);
    rp_puts(p, "<?");
    rp_puts(p, (const char *)target);
    if (data != NULL) {
        rp_put(p, " ", 1);
        rp_puts(p, (const char *)data);
    }
    rp_puts(p, "?>");
}

/* ------------------------------------------------------------ driver */

static void rp_cleanup(struct rp *p)
{
    for (size_t i = 0; i < p->depth; i++)
        free(p->stack[i].base);
    free(p->stack);
    free(p->text.data);
    free(p->inherit);
    free(p->channel_link);
    free(p->root_name_buf);
    rp_entry_reset(p);
    rp_pperson_clear(&p->feed_author_p);
    rp_person_free(&p->feed_author);
}

/* The document parsed: what the tree walk would have said of it. */
static int rp_finish(struct rp *p, char **ret_err)
{
    struct rss_feed *f = p->f;

    if (p->kind == RP_NONE) {
        *ret_err = strdup("empty document");
        return SRM_E_PARSE;
    }
    if (p->kind == RP_OTHER) {
        if (asprintf(ret_err, "not an RSS or Atom feed (root element <%s>)",
                     p->root_name_buf != NULL ? p->root_name_buf : "") < 0)
            *ret_err = NULL;
        return SRM_E_PARSE;
    }
    if ((p->kind == RP_RSS || p->kind == RP_RDF) && !p->channel_found) {
        *ret_err = strdup("RSS document without <channel>");
        return SRM_E_PARSE;
    }
    for (size_t i = 0; i < f->n_entries; i++)
        if (p->inherit[i])
            rp_person_copy(p, &f->entries[i].author, &p->feed_author);
    return p->oom ? -ENOMEM : 0;
}

int rss_parse(const char *body, size_t len, const char *feed_url,
              struct rss_feed **ret_feed, char **ret_err)
{
    struct rp p = {0};
    xmlParserCtxt *ctxt = NULL;
    xmlSAXHandler sax;
    xmlDoc *doc;
    int rc = -ENOMEM;

    *ret_feed = NULL;
    *ret_err = NULL;
    if (len > INT32_MAX) {
        *ret_err = strdup("feed too large");
        return SRM_E_PARSE;
    }
    /* libxml2's SAX2 handlers keep the DTD (entity declarations and
     * attribute defaults) in a document of their own, as the tree builder
     * does; everything about elements and text is ours. */
    xmlSAXVersion(&sax, 2);
    sax.startElementNs = rp_start;
    sax.endElementNs = rp_end;
    sax.characters = rp_chars;
    sax.ignorableWhitespace = rp_chars;
    sax.cdataBlock = rp_cdata;
    sax.reference = rp_reference;
    sax.comment = rp_comment;
    sax.processingInstruction = rp_pi;

    ctxt = xmlNewParserCtxt();
    p.f = calloc(1, sizeof(*p.f));
    if (ctxt == NULL || p.f == NULL)
        goto fail;
    memcpy(ctxt->sax, &sax, sizeof(sax));
    ctxt->_private = &p;
    p.ctxt = ctxt;
    doc = xmlCtxtReadMemory(ctxt, body, (int)len, feed_url, NULL,
                            XML_PARSE_NONET | XML_PARSE_NOERROR |
                                XML_PARSE_NOWARNING);
    if (doc == NULL) {
        const xmlError *e = xmlCtxtGetLastError(ctxt);
        rc = p.oom ? -ENOMEM : SRM_E_PARSE;
        if (p.oom) {
            /* out of memory in a callback stopped the parse */
        } else if (e != NULL && e->message != NULL) {
            int mlen = (int)strcspn(e->message, "\r\n");
            if (asprintf(ret_err, "not well-formed XML (line %d): %.*s",
                         e->line, mlen, e->message) < 0)
                *ret_err = NULL;
        } else {
            *ret_err = strdup("not well-formed XML");
        }
        goto fail;
    }
    xmlFreeDoc(doc);
    rc = rp_finish(&p, ret_err);
    if (rc < 0)
        goto fail;
    rp_cleanup(&p);
    xmlFreeParserCtxt(ctxt);
    *ret_feed = p.f;
    return 0;
fail:
    rss_feed_free(p.f);
    rp_cleanup(&p);
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
