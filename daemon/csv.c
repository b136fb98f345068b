/* csv.c - contacts from CSV (csv.h). */
#include "csv.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mem.h"

enum csv_col {
    CSV_IGNORE, CSV_NAME, CSV_FIRST, CSV_LAST, CSV_EMAIL, CSV_URL, CSV_TAGS,
    CSV_NOTE, CSV_KEY,
};

struct csv_rec {
    char **f;
    size_t n;
    unsigned line;
};

static void csv_rec_fini(struct csv_rec *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->f[i]);
    free(r->f);
    r->f = NULL;
    r->n = 0; /* line stays: errors name it */
}

/* Read one record at *pos. Returns 1 with a record, 0 at the end, -1 on
 * an error (message in *ret_err, *pos moved past the bad part). *line is
 * the current line number, advanced. */
static int csv_read(const char *t, size_t len, size_t *pos, unsigned *line,
                    struct csv_rec *r, const char **ret_err)
{
    size_t i = *pos;
    char *buf = NULL;
    size_t bl = 0, cap = 0;
    bool quoted_field = false;

    memset(r, 0, sizeof(*r));
    r->line = *line;
    if (i >= len)
        return 0;
#define CSV_PUTC(ch)                                                          \
    do {                                                                      \
        if (bl + 2 > cap) {                                                   \
            cap = cap * 2 + 32;                                               \
            buf = srm_xrealloc(buf, cap);                                     \
        }                                                                     \
        buf[bl++] = (ch);                                                     \
    } while (0)
    for (;;) {
        /* Start of a field. */
        bl = 0;
        quoted_field = false;
        if (i < len && t[i] == '"') {
            quoted_field = true;
            i++;
            for (;;) {
                if (i >= len) {
                    free(buf);
                    csv_rec_fini(r);
                    *ret_err = "unterminated quoted field";
                    return -1;
                }
                if (t[i] == '"') {
                    if (i + 1 < len && t[i + 1] == '"') {
                        CSV_PUTC('"');
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                if (t[i] == '\n')
                    (*line)++;
                CSV_PUTC(t[i]);
                i++;
            }
        } else {
            while (i < len && t[i] != ',' && t[i] != '\n' && t[i] != '\r') {
                if (t[i] == '"') {
                    free(buf);
                    csv_rec_fini(r);
                    while (i < len && t[i] != '\n')
                        i++;
                    if (i < len) {
                        i++;
                        (*line)++;
                    }
                    *pos = i;
                    *ret_err = "stray quote in an unquoted field";
                    return -1;
                }
                CSV_PUTC(t[i]);
                i++;
            }
        }
        if (bl + 1 > cap) {
            cap = bl + 1;
            buf = srm_xrealloc(buf, cap);
        }
        buf[bl] = '\0';
        r->f = srm_xreallocarray(r->f, r->n + 1, sizeof(*r->f));
        r->f[r->n++] = srm_xstrdup(buf);
        if (i < len && t[i] == ',') {
            i++;
            continue;
        }
        if (i < len && t[i] == '\r')
            i++;
        if (i < len && t[i] == '\n') {
            i++;
            (*line)++;
            break;
        }
        if (i >= len)
            break;
        /* Text after a closing quote. */
        (void)quoted_field;
        free(buf);
        csv_rec_fini(r);
        while (i < len && t[i] != '\n')
            i++;
        if (i < len) {
            i++;
            (*line)++;
        }
        *pos = i;
        *ret_err = "text after a closing quote";
        return -1;
    }
#undef CSV_PUTC
    free(buf);
    *pos = i;
    return 1;
}

static enum csv_col csv_column(const char *h)
{
    static const struct {
        const char *name;
        enum csv_col col;
        bool prefix;
    } names[] = {
        {"name", CSV_NAME, false},          {"full name", CSV_NAME, false},
        {"display name", CSV_NAME, false},  {"display_name", CSV_NAME, false},
        {"fn", CSV_NAME, false},            {"first name", CSV_FIRST, false},
        {"given name", CSV_FIRST, false},   {"last name", CSV_LAST, false},
        {"family name", CSV_LAST, false},   {"email", CSV_EMAIL, true},
        {"e-mail", CSV_EMAIL, true},        {"url", CSV_URL, true},
        {"website", CSV_URL, true},         {"web page", CSV_URL, true},
        {"homepage", CSV_URL, true},        {"profile", CSV_URL, true},
        {"tags", CSV_TAGS, false},          {"categories", CSV_TAGS, false},
        {"labels", CSV_TAGS, false},        {"note", CSV_NOTE, false},
        {"notes", CSV_NOTE, false},         {"identity", CSV_KEY, true},
    };
    while (*h == ' ')
        h++;
    for (size_t i = 0; i < SRM_ARRAY_LEN(names); i++) {
        size_t n = strlen(names[i].name);
        if (names[i].prefix ? strncasecmp(h, names[i].name, n) == 0
                            : strcasecmp(h, names[i].name) == 0)
            return names[i].col;
    }
    return CSV_IGNORE;
}

static bool csv_blank(const struct csv_rec *r)
{
    return r->n == 1 && r->f[0][0] == '\0';
}

static void csv_split_push(char ***list, size_t *n, const char *v)
{
    /* Several values in one cell: separated by ';' or spaces. */
    const char *p = v;

    while (*p) {
        size_t l = strcspn(p, "; \t");
        srm_import_push(list, n, p, l);
        p += l;
        while (*p == ';' || *p == ' ' || *p == '\t')
            p++;
    }
}

static void csv_row(struct srm_import *out, const enum csv_col *cols,
                    const struct csv_rec *r)
{
    struct srm_contact_rec *c;
    const char *first = NULL, *last = NULL;

    c = srm_import_new(out, r->line);
    for (size_t i = 0; i < r->n; i++) {
        const char *v = r->f[i];
        if (v[0] == '\0')
            continue;
        switch (cols[i]) {
        case CSV_NAME:
            if (c->name == NULL)
                c->name = srm_xstrdup(v);
            break;
        case CSV_FIRST:
            first = v;
            break;
        case CSV_LAST:
            last = v;
            break;
        case CSV_EMAIL:
            csv_split_push(&c->emails, &c->n_emails, v);
            break;
        case CSV_URL:
            csv_split_push(&c->urls, &c->n_urls, v);
            break;
        case CSV_KEY:
            csv_split_push(&c->keys, &c->n_keys, v);
            break;
        case CSV_TAGS:
            free(c->tags);
            c->tags = srm_xstrdup(v);
            break;
        case CSV_NOTE:
            free(c->note);
            c->note = srm_xstrdup(v);
            break;
        default:
            break;
        }
    }
    if (c->name == NULL && (first || last))
        c->name = srm_xasprintf("%s%s%s", first ? first : "",
                                first && last ? " " : "", last ? last : "");
    if (c->name == NULL && c->n_emails == 0 && c->n_urls == 0 &&
        c->n_keys == 0) {
        srm_import_error(out, r->line, "row has no name, email or URL");
        srm_contact_rec_fini(c);
        out->n--;
    }
}

void srm_csv_parse(const char *text, size_t len, struct srm_import *out)
{
    enum csv_col *cols = NULL;
    size_t n_cols = 0, pos = 0;
    unsigned line = 1;
    struct csv_rec r;
    const char *err;
    int k;

    /* A UTF-8 byte order mark. */
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        pos = 3;
    while ((k = csv_read(text, len, &pos, &line, &r, &err)) != 0) {
        if (k < 0) {
            unsigned at = r.line;
            srm_import_error(out, at, "%s", err);
            if (strcmp(err, "unterminated quoted field") == 0) {
                /* Resume on the line after the record's start. */
                const char *nl = memchr(text + pos, '\n', len - pos);
                pos = nl ? (size_t)(nl - text) + 1 : len;
                line = at + 1;
            }
            continue;
        }
        if (csv_blank(&r)) {
            csv_rec_fini(&r);
            continue;
        }
        if (cols == NULL) {
            n_cols = r.n;
            cols = srm_xcalloc(n_cols, sizeof(*cols));
            for (size_t i = 0; i < n_cols; i++)
                cols[i] = csv_column(r.f[i]);
        } else if (r.n > n_cols) {
            srm_import_error(out, r.line,
                             "%zu fields, but the header has %zu", r.n,
                             n_cols);
        } else {
            csv_row(out, cols, &r);
        }
        csv_rec_fini(&r);
    }
    if (cols == NULL && len > pos)
        srm_import_error(out, 1, "no header row");
    free(cols);
}

char *srm_csv_quote(const char *s)
{
    size_t n = 2;
    char *out, *o;

    if (s == NULL)
        return srm_xstrdup("");
    if (strpbrk(s, ",\"\r\n") == NULL)
        return srm_xstrdup(s);
    for (const char *p = s; *p; p++)
        n += *p == '"' ? 2 : 1;
    out = o = srm_xmalloc(n + 1);
    *o++ = '"';
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            *o++ = '"';
        *o++ = *p;
    }
    *o++ = '"';
    *o = '\0';
    return out;
}
