/* html_text.h - reduce HTML to readable plain text (libxml2 HTML parser).
 *
 * This is the implementation behind host->html_to_text(), shared by the
 * connector tests' mock host. It depends only on libxml2 and libc. */
#ifndef SRM_DAEMON_HTML_TEXT_H
#define SRM_DAEMON_HTML_TEXT_H

#include <stddef.h>

/* Block elements (p, div, li, h1-h6, blockquote, pre, tr, ...) become line
 * breaks, <br> a newline; a link keeps its text and appends " (URL)" when
 * the href differs from the text (mentions "@x" and hashtags "#x" keep
 * only their text); entities are decoded; runs of whitespace
 * collapse to one space (except inside <pre>); script, style and head are
 * dropped. Leading and trailing whitespace is trimmed. Returns malloc'd
 * UTF-8 text (maybe empty), or NULL on allocation failure. */
char *srm_text_from_html(const char *html, size_t len);

#endif
