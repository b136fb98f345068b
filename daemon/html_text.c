/* html_text.c - HTML to plain text with libxml2's HTML parser, without a
 * tree.
 *
 * The parser does the hard parts (tag soup, implied and auto-closed
 * elements, entities, encodings) and reports them through SAX callbacks;
 * this file lays out whitespace as the events arrive, writing straight into
 * the output buffer. Output is built in a growing buffer with two pieces of
 * pending state, a space and a number of line breaks, written only before
 * the next visible character so that nothing dangles at the end and blocks
 * never stack blank lines.
 *
 * The events are the ones libxml2's own tree builder receives for
 * htmlReadMemory (same context set-up, same options, same encoding), and
 * each element is handled as a walk of that tree would handle it: what
 * happens before its children on startElement, what happens after them on
 * endElement (a stack of open elements keeps what the end needs: the link's
 * href and where its text began). Two things the tree builder does are
 * mirrored: text outside any element is dropped, and an element nested
 * deeper than xmlParserMaxDepth stops the parse (the builder's nodePush
 * halts the parser there; what was built until then is still laid out).
 *
 * The result is trimmed at both ends, whitespace kept verbatim inside a
 * leading or trailing <pre> included (the tree walk left that untrimmed,
 * against this header's promise).
 *
 * Fast path: text with no '<' and no '&' (and nothing the parser would
 * rewrite: control characters, invalid UTF-8, a byte order mark) needs no
 * parser at all, only whitespace collapsing. */
#include "html_text.h"

#include <libxml/HTMLparser.h>
#include <libxml/parserInternals.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct ht_buf {
    char *data;
    size_t len, cap;
    bool space;   /* a collapsed run of whitespace is pending */
    int newlines; /* line breaks pending (at most 2) */
    int pre;      /* depth of <pre>: whitespace kept verbatim */
    bool oom;
};

enum {
    HT_BLOCK = 1 << 0,
    HT_PRE = 1 << 1,
    HT_LINK = 1 << 2,
    HT_SKIP = 1 << 3, /* dropped element or <br>: its content is not laid out */
};

struct ht_frame {
    unsigned flags;
    size_t start; /* output length when a link began */
    char *href;   /* a link's href, or NULL */
};

struct ht_state {
    struct ht_buf b;
    struct ht_frame *stack;
    size_t depth, cap;
    size_t skip;  /* open elements at or inside a dropped one */
    bool halted;  /* too deep: the tree builder stopped here */
    htmlParserCtxtPtr ctxt;
};

static void ht_grow(struct ht_buf *b, size_t n)
{
    size_t cap = b->cap ? b->cap : 256;
    char *p;

    while (cap < b->len + n + 1)
        cap *= 2;
    p = realloc(b->data, cap);
    if (p == NULL) {
        b->oom = true;
        return;
    }
    b->data = p;
    b->cap = cap;
}

static inline void ht_put(struct ht_buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        ht_grow(b, n);
        if (b->oom)
            return;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

/* Write what is pending before a visible character. Nothing is written at
 * the very start, which trims leading whitespace. */
static inline void ht_flush(struct ht_buf *b)
{
    if (b->len > 0) {
        if (b->newlines > 0)
            ht_put(b, "\n\n", (size_t)b->newlines);
        else if (b->space)
            ht_put(b, " ", 1);
    }
    b->newlines = 0;
    b->space = false;
}

static void ht_break(struct ht_buf *b, int n)
{
    if (b->newlines < n)
        b->newlines = n;
}

static inline bool ht_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

static void ht_text(struct ht_buf *b, const char *s, size_t n)
{
    const char *end = s + n;

    while (s < end) {
        char c = *s;
        if (b->pre > 0) {
            if (c == '\n') {
                b->newlines = b->newlines < 2 ? b->newlines + 1 : 2;
            } else {
                ht_flush(b);
                ht_put(b, &c, 1);
            }
            s++;
            continue;
        }
        if (ht_ws(c)) {
            b->space = true;
            s++;
            continue;
        }
        /* A run of visible characters at once. */
        const char *run = s;
        while (s < end && !ht_ws(*s))
            s++;
        ht_flush(b);
        ht_put(b, run, (size_t)(s - run));
    }
}

enum {
    HC_BLOCK = 1 << 0,
    HC_DROP = 1 << 1, /* script, style, head, noscript, template */
    HC_BR = 1 << 2,
    HC_PRE = 1 << 3,
    HC_CELL = 1 << 4, /* td, th */
    HC_LINK = 1 << 5,
};

/* What the layout does with an element, by name (ASCII case-insensitive):
 * blocks are p, div, li, ul, ol, dl, dt, dd, h1-h6, blockquote, pre, tr,
 * table, section, article, header, footer, aside, nav, figure, figcaption,
 * hr, address, main. Names are looked up by their first letter. */
static unsigned ht_class(const char *name)
{
    static const struct {
        const char *name;
        unsigned cls;
    } names[] = {
        {"a", HC_LINK}, {"address", HC_BLOCK}, {"article", HC_BLOCK},
        {"aside", HC_BLOCK}, {"blockquote", HC_BLOCK}, {"br", HC_BR},
        {"div", HC_BLOCK}, {"dl", HC_BLOCK}, {"dt", HC_BLOCK},
        {"dd", HC_BLOCK}, {"figure", HC_BLOCK}, {"figcaption", HC_BLOCK},
        {"footer", HC_BLOCK}, {"h1", HC_BLOCK}, {"h2", HC_BLOCK},
        {"h3", HC_BLOCK}, {"h4", HC_BLOCK}, {"h5", HC_BLOCK},
        {"h6", HC_BLOCK}, {"header", HC_BLOCK}, {"hr", HC_BLOCK},
        {"head", HC_DROP}, {"li", HC_BLOCK}, {"main", HC_BLOCK},
        {"nav", HC_BLOCK}, {"noscript", HC_DROP}, {"ol", HC_BLOCK},
        {"p", HC_BLOCK}, {"pre", HC_BLOCK | HC_PRE},
        {"section", HC_BLOCK}, {"script", HC_DROP}, {"style", HC_DROP},
        {"table", HC_BLOCK}, {"tr", HC_BLOCK}, {"td", HC_CELL},
        {"th", HC_CELL}, {"template", HC_DROP}, {"ul", HC_BLOCK},
    };
    char c = name[0];

    if (c >= 'A' && c <= 'Z')
        c = (char)(c - 'A' + 'a');
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (names[i].name[0] == c && strcasecmp(name, names[i].name) == 0)
            return names[i].cls;
    return 0;
}

/* Trimmed text of the output since offset start, compared with the href:
 * "example.com" shown as the text of http://example.com is the same link to
 * a reader, so a scheme-less text equal to the href's rest counts too. */
static bool ht_same_link(const struct ht_buf *b, size_t start,
                         const char *href)
{
    if (b->data == NULL || start >= b->len)
        return false;
    const char *text = b->data + start;
    size_t n = b->len - start;
    while (n > 0 && (*text == ' ' || *text == '\n')) {
        text++;
        n--;
    }
    if (strlen(href) == n && strncmp(text, href, n) == 0)
        return true;
    /* Mentions (@alice) and hashtags (#srmd), as Mastodon writes them,
     * already say what they point at. */
    if (n > 1 && (*text == '@' || *text == '#'))
        return true;
    const char *rest = strstr(href, "://");
    if (rest != NULL) {
        rest += 3;
        if (strlen(rest) == n && strncmp(text, rest, n) == 0)
            return true;
    }
    if (strncmp(href, "mailto:", 7) == 0 && strlen(href + 7) == n &&
        strncmp(text, href + 7, n) == 0)
        return true;
    return false;
}

/* What a tree walk does after an element's children. */
static void ht_close(struct ht_state *s, struct ht_frame *f)
{
    struct ht_buf *b = &s->b;

    if (f->flags & HT_LINK) {
        const char *href = f->href;
        if (href != NULL && href[0] != '\0' && href[0] != '#' &&
            strncasecmp(href, "javascript:", 11) != 0 &&
            !ht_same_link(b, f->start, href)) {
            if (b->len > f->start)
                b->space = true;
            ht_text(b, "(", 1);
            ht_put(b, href, strlen(href));
            ht_put(b, ")", 1);
        }
    }
    free(f->href);
    f->href = NULL;
    if (f->flags & HT_PRE)
        b->pre--;
    if (f->flags & HT_BLOCK)
        ht_break(b, 1);
}

/* The element's name as the tree builder stores it: xmlSplitQName keeps
 * what follows the first colon ("rdf:li" is an "li"), unless the name
 * starts or ends with that colon. */
static const char *ht_local(const char *name)
{
    const char *colon;

    if (name[0] == ':')
        return name;
    colon = strchr(name, ':');
    if (colon == NULL || colon[1] == '\0')
        return name;
    return colon + 1;
}

static void ht_start(void *ctx, const xmlChar *xname, const xmlChar **atts)
{
    struct ht_state *s = ((htmlParserCtxtPtr)ctx)->_private;
    struct ht_buf *b = &s->b;
    const char *name = ht_local((const char *)xname);
    struct ht_frame *f;

    if (s->halted)
        return;
    if (s->depth > xmlParserMaxDepth) {
        /* The tree builder's nodePush refuses this element and halts. */
        s->halted = true;
        xmlStopParser(s->ctxt);
        return;
    }
    if (s->depth == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 32;
        struct ht_frame *p = realloc(s->stack, cap * sizeof(*p));
        if (p == NULL) {
            b->oom = true;
            s->halted = true;
            xmlStopParser(s->ctxt);
            return;
        }
        s->stack = p;
        s->cap = cap;
    }
    f = &s->stack[s->depth++];
    f->flags = 0;
    f->start = 0;
    f->href = NULL;
    if (s->skip > 0) {
        s->skip++;
        f->flags = HT_SKIP;
        return;
    }
    unsigned cls = ht_class(name);
    if (cls & HC_DROP) {
        s->skip = 1;
        f->flags = HT_SKIP;
        return;
    }
    if (cls & HC_BR) {
        b->newlines = b->newlines < 2 ? b->newlines + 1 : 2;
        s->skip = 1;
        f->flags = HT_SKIP;
        return;
    }
    if (cls & HC_BLOCK) {
        f->flags |= HT_BLOCK;
        ht_break(b, 1);
    }
    if (cls & HC_CELL)
        b->space = true;
    if (cls & HC_PRE) {
        f->flags |= HT_PRE;
        b->pre++;
    }
    if (cls & HC_LINK) {
        f->flags |= HT_LINK;
        f->start = b->len;
        /* The first href, as xmlGetProp finds it; one without a value
         * reads as empty. */
        for (size_t i = 0; atts != NULL && atts[i] != NULL; i += 2) {
            if (strcmp((const char *)atts[i], "href") == 0) {
                if (atts[i + 1] != NULL) {
                    f->href = strdup((const char *)atts[i + 1]);
                    if (f->href == NULL)
                        b->oom = true;
                }
                break;
            }
        }
    }
}

static void ht_end(void *ctx, const xmlChar *name)
{
    struct ht_state *s = ((htmlParserCtxtPtr)ctx)->_private;
    struct ht_frame *f;

    (void)name;
    if (s->halted || s->depth == 0)
        return;
    f = &s->stack[--s->depth];
    if (f->flags & HT_SKIP) {
        s->skip--;
        return;
    }
    ht_close(s, f);
}

static void ht_chars(void *ctx, const xmlChar *ch, int len)
{
    struct ht_state *s = ((htmlParserCtxtPtr)ctx)->_private;

    /* Outside any element the tree builder has nowhere to put text. */
    if (s->halted || s->depth == 0 || s->skip > 0 || len <= 0)
        return;
    ht_text(&s->b, (const char *)ch, (size_t)len);
}

/* Is s (n bytes) text the HTML parser would pass through unchanged, apart
 * from whitespace? No markup, no entity, no NUL or other control character,
 * valid UTF-8 of XML characters only, and no byte order mark in front. */
static bool ht_plain(const unsigned char *s, size_t n)
{
    size_t i = 0;

    if (n >= 3 && s[0] == 0xEF && s[1] == 0xBB && s[2] == 0xBF)
        return false;
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) {
            if (c == '<' || c == '&')
                return false;
            if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
                return false;
            i++;
            continue;
        }
        uint32_t cp;
        size_t k;
        if (c >= 0xC2 && c <= 0xDF) {
            cp = c & 0x1F;
            k = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            cp = c & 0x0F;
            k = 2;
        } else if (c >= 0xF0 && c <= 0xF4) {
            cp = c & 0x07;
            k = 3;
        } else {
            return false;
        }
        if (n - i <= k)
            return false;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + j] & 0x3F);
        }
        if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) ||
            cp == 0xFFFE || cp == 0xFFFF)
            return false;
        i += k + 1;
    }
    return true;
}

/* Parse with the callbacks above, set up as htmlReadMemory sets up its
 * context (same options, UTF-8 forced). */
static void ht_parse(struct ht_state *s, const char *html, int len)
{
    static const xmlSAXHandlerV1 sax = {
        .startElement = ht_start,
        .endElement = ht_end,
        .characters = ht_chars,
        .cdataBlock = ht_chars,
        .ignorableWhitespace = ht_chars,
        .initialized = 1,
    };
    htmlParserCtxtPtr ctxt;
    xmlCharEncodingHandlerPtr hdlr;

    xmlInitParser();
    ctxt = xmlCreateMemoryParserCtxt(html, len);
    if (ctxt == NULL) {
        s->b.oom = true;
        return;
    }
    memcpy(ctxt->sax, &sax, sizeof(sax));
    ctxt->_private = s;
    s->ctxt = ctxt;
    htmlCtxtUseOptions(ctxt, HTML_PARSE_NONET | HTML_PARSE_NOERROR |
                                 HTML_PARSE_NOWARNING);
    ctxt->html = 1;
    hdlr = xmlFindCharEncodingHandler("UTF-8");
    if (hdlr != NULL) {
        xmlSwitchToEncoding(ctxt, hdlr);
        if (ctxt->input->encoding != NULL)
            xmlFree((xmlChar *)ctxt->input->encoding);
        ctxt->input->encoding = xmlStrdup((const xmlChar *)"UTF-8");
    }
    htmlParseDocument(ctxt);
    if (ctxt->myDoc != NULL) /* not expected: no startDocument callback */
        xmlFreeDoc(ctxt->myDoc);
    ctxt->myDoc = NULL;
    xmlFreeParserCtxt(ctxt);
    s->ctxt = NULL;
    /* Elements still open (after a halt): the walk would finish them. */
    while (s->depth > 0) {
        struct ht_frame *f = &s->stack[--s->depth];
        if (f->flags & HT_SKIP)
            continue;
        ht_close(s, f);
    }
    free(s->stack);
    s->stack = NULL;
}

char *srm_text_from_html(const char *html, size_t len)
{
    struct ht_state s = {0};

    /* The parser takes an int length; longer input is cut, which only
     * shortens the text of an absurdly large post. */
    if (len > (size_t)INT32_MAX)
        len = INT32_MAX;
    if (html != NULL && len > 0) {
        if (ht_plain((const unsigned char *)html, len))
            ht_text(&s.b, html, len);
        else
            ht_parse(&s, html, (int)len);
    }
    if (s.b.oom) {
        free(s.b.data);
        return NULL;
    }
    if (s.b.data == NULL)
        return strdup("");
    /* Whitespace kept verbatim inside <pre> may still open or close the
     * text: trim it too, as the header promises. */
    size_t start = 0, end = s.b.len;
    while (start < end && ht_ws(s.b.data[start]))
        start++;
    while (end > start && ht_ws(s.b.data[end - 1]))
        end--;
    if (start > 0)
        memmove(s.b.data, s.b.data + start, end - start);
    s.b.data[end - start] = '\0';
    return s.b.data;
}
