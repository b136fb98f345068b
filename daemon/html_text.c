/* html_text.c - HTML to plain text with libxml2's HTML parser.
 *
 * The parser does the hard parts (tag soup, entities, encodings); this file
 * only walks the tree and lays out whitespace. Output is built in a growing
 * buffer with two pieces of pending state, a space and a number of line
 * breaks, written only before the next visible character so that nothing
 * dangles at the end and blocks never stack blank lines. */
#include "html_text.h"

#include <libxml/HTMLparser.h>
#include <libxml/tree.h>
#include <stdbool.h>
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

static void ht_walk(struct ht_buf *b, xmlNode *node);

static void ht_put(struct ht_buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->data, cap);
        if (p == NULL) {
            b->oom = true;
            return;
        }
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

/* Write what is pending before a visible character. Nothing is written at
 * the very start, which trims leading whitespace. */
static void ht_flush(struct ht_buf *b)
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

static void ht_text(struct ht_buf *b, const char *s)
{
    for (; *s != '\0'; s++) {
        char c = *s;
        if (b->pre > 0 && c == '\n') {
            b->newlines = b->newlines < 2 ? b->newlines + 1 : 2;
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f') {
            if (b->pre > 0) {
                ht_flush(b);
                ht_put(b, &c, 1);
            } else {
                b->space = true;
            }
            continue;
        }
        ht_flush(b);
        ht_put(b, &c, 1);
    }
}

static bool ht_is(const xmlNode *n, const char *const *names)
{
    for (; *names != NULL; names++)
        if (strcasecmp((const char *)n->name, *names) == 0)
            return true;
    return false;
}

static const char *const ht_blocks[] = {
    "p", "div", "li", "ul", "ol", "dl", "dt", "dd", "h1", "h2", "h3", "h4",
    "h5", "h6", "blockquote", "pre", "tr", "table", "section", "article",
    "header", "footer", "aside", "nav", "figure", "figcaption", "hr",
    "address", "main", NULL};
static const char *const ht_dropped[] = {"script", "style", "head",
                                         "noscript", "template", NULL};

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

static void ht_element(struct ht_buf *b, xmlNode *node)
{
    if (ht_is(node, ht_dropped))
        return;
    if (strcasecmp((const char *)node->name, "br") == 0) {
        b->newlines = b->newlines < 2 ? b->newlines + 1 : 2;
        return;
    }
    bool block = ht_is(node, ht_blocks);
    bool pre = strcasecmp((const char *)node->name, "pre") == 0;
    bool td = strcasecmp((const char *)node->name, "td") == 0 ||
              strcasecmp((const char *)node->name, "th") == 0;
    if (block)
        ht_break(b, 1);
    if (td)
        b->space = true;
    if (pre)
        b->pre++;

    bool link = strcasecmp((const char *)node->name, "a") == 0;
    size_t start = b->len;
    ht_walk(b, node->children);

    if (link) {
        xmlChar *href = xmlGetProp(node, (const xmlChar *)"href");
        if (href != NULL && href[0] != '\0' && href[0] != '#' &&
            strncasecmp((const char *)href, "javascript:", 11) != 0 &&
            !ht_same_link(b, start, (const char *)href)) {
            if (b->len > start)
                b->space = true;
            ht_text(b, "(");
            ht_put(b, (const char *)href, strlen((const char *)href));
            ht_put(b, ")", 1);
        }
        xmlFree(href);
    }
    if (pre)
        b->pre--;
    if (block)
        ht_break(b, 1);
}

static void ht_walk(struct ht_buf *b, xmlNode *node)
{
    for (; node != NULL; node = node->next) {
        switch (node->type) {
        case XML_TEXT_NODE:
        case XML_CDATA_SECTION_NODE:
            if (node->content != NULL)
                ht_text(b, (const char *)node->content);
            break;
        case XML_ELEMENT_NODE:
            ht_element(b, node);
            break;
        default:
            break; /* comments, processing instructions, DTD */
        }
    }
}

char *srm_text_from_html(const char *html, size_t len)
{
    struct ht_buf b = {0};
    htmlDocPtr doc = NULL;

    /* htmlReadMemory takes an int length; longer input is cut, which only
     * shortens the text of an absurdly large post. */
    if (len > (size_t)INT32_MAX)
        len = INT32_MAX;
    if (html != NULL && len > 0)
        doc = htmlReadMemory(html, (int)len, NULL, "UTF-8",
                             HTML_PARSE_NONET | HTML_PARSE_NOERROR |
                                 HTML_PARSE_NOWARNING);
    if (doc != NULL)
        ht_walk(&b, xmlDocGetRootElement(doc));
    xmlFreeDoc(doc);
    if (b.oom) {
        free(b.data);
        return NULL;
    }
    if (b.data == NULL)
        return strdup("");
    return b.data;
}
