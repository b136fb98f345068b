/* html_text.c - HTML to plain text with libxml2's HTML parser. */
#include "html_text.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/HTMLparser.h>
#include <libxml/tree.h>

#include "mem.h"

struct ht_buf {
    char *s;
    size_t n, cap;
    bool space;   /* a space is owed before the next word */
    int newlines; /* trailing newlines already written */
};

static void ht_put(struct ht_buf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->s = srm_xrealloc(b->s, b->cap);
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = '\0';
}

/* Break lines: at most two newlines in a row, none at the start. */
static void ht_break(struct ht_buf *b, int want)
{
    b->space = false;
    if (b->n == 0)
        return;
    while (b->newlines < want) {
        ht_put(b, "\n", 1);
        b->newlines++;
    }
}

static void ht_text(struct ht_buf *b, const char *t)
{
    while (*t) {
        size_t ws = strspn(t, " \t\r\n\f\v");
        if (ws > 0) {
            if (b->n > 0 && b->newlines == 0)
                b->space = true;
            t += ws;
            continue;
        }
        size_t word = strcspn(t, " \t\r\n\f\v");
        if (b->space)
            ht_put(b, " ", 1);
        ht_put(b, t, word);
        b->space = false;
        b->newlines = 0;
        t += word;
    }
}

static bool ht_is(const xmlNode *n, const char *const *names)
{
    for (; *names; names++)
        if (strcasecmp((const char *)n->name, *names) == 0)
            return true;
    return false;
}

static const char *const ht_blocks[] = {
    "p", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6",
    "blockquote", "pre", "tr", "table", "section", "article", "header",
    "footer", "dl", "dt", "dd", "figure", "hr", NULL,
};
static const char *const ht_skip[] = {
    "script", "style", "head", "template", "noscript", NULL,
};

/* After a link's text (from start), add its URL when the text does not
 * already say where it goes: "docs (https://x/docs)". Mentions (@alice),
 * hashtags (#tag) and links whose text is the URL (Mastodon splits long
 * URLs into spans, which still read as the URL) stay as they are. */
static void ht_link_url(struct ht_buf *b, size_t start, const char *href)
{
    const char *text = b->s + start;

    if (href == NULL || href[0] == '\0' || href[0] == '#')
        return;
    while (*text == ' ')
        text++;
    if (*text == '\0') {
        ht_text(b, href);
        return;
    }
    if (*text == '@' || *text == '#' || strstr(href, text) != NULL ||
        strstr(text, href) != NULL)
        return;
    if (strncmp(href, "mailto:", 7) == 0 && strstr(text, href + 7) != NULL)
        return;
    ht_put(b, " (", 2);
    ht_put(b, href, strlen(href));
    ht_put(b, ")", 1);
    b->newlines = 0;
    b->space = false;
}

static void ht_walk(struct ht_buf *b, const xmlNode *n)
{
    for (; n != NULL; n = n->next) {
        if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
            if (n->content)
                ht_text(b, (const char *)n->content);
            continue;
        }
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (ht_is(n, ht_skip))
            continue;
        if (strcasecmp((const char *)n->name, "br") == 0) {
            ht_put(b, "\n", 1);
            b->newlines++;
            b->space = false;
            continue;
        }
        bool block = ht_is(n, ht_blocks);
        if (block)
            ht_break(b, strcasecmp((const char *)n->name, "li") == 0 ? 1 : 2);
        if (strcasecmp((const char *)n->name, "a") == 0) {
            size_t start = b->n;
            xmlChar *href = xmlGetProp(n, (const xmlChar *)"href");
            ht_walk(b, n->children);
            ht_link_url(b, start, (const char *)href);
            xmlFree(href);
            continue;
        }
        ht_walk(b, n->children);
        if (block)
            ht_break(b, strcasecmp((const char *)n->name, "li") == 0 ? 1 : 2);
    }
}

char *srm_text_from_html(const char *html, size_t len)
{
    struct ht_buf b = {0};
    htmlDocPtr doc;

    ht_put(&b, "", 0);
    if (len == 0 || len > (size_t)INT32_MAX)
        return b.s;
    doc = htmlReadMemory(html, (int)len, NULL, "UTF-8",
                         HTML_PARSE_NONET | HTML_PARSE_NOERROR |
                             HTML_PARSE_NOWARNING | HTML_PARSE_RECOVER |
                             HTML_PARSE_NOBLANKS);
    if (doc == NULL)
        return b.s;
    ht_walk(&b, xmlDocGetRootElement(doc));
    xmlFreeDoc(doc);
    /* Trim trailing line breaks and spaces. */
    while (b.n > 0 && (b.s[b.n - 1] == '\n' || b.s[b.n - 1] == ' '))
        b.s[--b.n] = '\0';
    return b.s;
}
