/* html_text.h - HTML reduced to readable plain text (libxml2's HTML
 * parser): block elements and <br> become line breaks, links keep their text
 * and add their URL in parentheses when it differs, entities are decoded,
 * runs of whitespace collapse, script and style are dropped. */
#ifndef SRM_DAEMON_HTML_TEXT_H
#define SRM_DAEMON_HTML_TEXT_H

#include <stddef.h>

/* Returns malloc'd UTF-8 text (never NULL for non-NULL input; "" when the
 * HTML has no text). The caller frees it. Does not block. */
char *srm_text_from_html(const char *html, size_t len);

#endif
