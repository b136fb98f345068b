/* vcard.c - vCard import and escaping (vcard.h). */
#include "vcard.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mem.h"

void srm_import_error(struct srm_import *imp, unsigned line,
                      const char *fmt, ...)
{
    va_list ap;
    char buf[512];

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (imp->n_errors == imp->cap_errors) {
        imp->cap_errors = imp->cap_errors * 2 + 8;
        imp->errors = srm_xreallocarray(imp->errors, imp->cap_errors,
                                        sizeof(*imp->errors));
    }
    imp->errors[imp->n_errors++] =
        (struct srm_import_error){line, srm_xstrdup(buf)};
}

void srm_import_push(char ***list, size_t *n, const char *s, size_t len)
{
    while (len > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        len--;
    }
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    if (len == 0)
        return;
    *list = srm_xreallocarray(*list, *n + 1, sizeof(**list));
    (*list)[(*n)++] = srm_xstrndup(s, len);
}

struct srm_contact_rec *srm_import_new(struct srm_import *imp, unsigned line)
{
    if (imp->n == imp->cap) {
        imp->cap = imp->cap * 2 + 8;
        imp->items = srm_xreallocarray(imp->items, imp->cap,
                                       sizeof(*imp->items));
    }
    memset(&imp->items[imp->n], 0, sizeof(imp->items[0]));
    imp->items[imp->n].line = line;
    return &imp->items[imp->n++];
}

static void vc_free_list(char **l, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(l[i]);
    free(l);
}

void srm_contact_rec_fini(struct srm_contact_rec *c)
{
    free(c->name);
    vc_free_list(c->emails, c->n_emails);
    vc_free_list(c->urls, c->n_urls);
    vc_free_list(c->keys, c->n_keys);
    vc_free_list(c->impps, c->n_impps);
    free(c->note);
    free(c->tags);
    free(c->uid);
    memset(c, 0, sizeof(*c));
}

void srm_import_fini(struct srm_import *imp)
{
    for (size_t i = 0; i < imp->n; i++)
        srm_contact_rec_fini(&imp->items[i]);
    for (size_t i = 0; i < imp->n_errors; i++)
        free(imp->errors[i].msg);
    free(imp->items);
    free(imp->errors);
    memset(imp, 0, sizeof(*imp));
}

char *srm_vcard_escape(const char *s)
{
    size_t n = 0;
    char *out, *o;

    for (const char *p = s; *p; p++)
        n += (*p == '\\' || *p == ',' || *p == ';' || *p == '\n') ? 2 : 1;
    out = o = srm_xmalloc(n + 1);
    for (const char *p = s; *p; p++) {
        if (*p == '\r')
            continue;
        if (*p == '\\' || *p == ',' || *p == ';')
            *o++ = '\\', *o++ = *p;
        else if (*p == '\n')
            *o++ = '\\', *o++ = 'n';
        else
            *o++ = *p;
    }
    *o = '\0';
    return out;
}

/* Unescape a value (\n, \N, \,, \;, \\), new string. */
static char *vc_unescape(const char *s, size_t len)
{
    char *out = srm_xmalloc(len + 1), *o = out;

    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\\' && i + 1 < len) {
            char c = s[++i];
            *o++ = (c == 'n' || c == 'N') ? '\n' : c;
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
}

/* A logical line: unfolded text and where it started. */
struct vc_line {
    char *text;
    unsigned line;
};

static void vc_append(char **buf, size_t *len, const char *s, size_t n)
{
    *buf = srm_xrealloc(*buf, *len + n + 1);
    memcpy(*buf + *len, s, n);
    *len += n;
    (*buf)[*len] = '\0';
}

/* Split text into unfolded logical lines. */
static struct vc_line *vc_lines(const char *text, size_t len, size_t *ret_n)
{
    struct vc_line *v = NULL;
    size_t n = 0, cur_len = 0;
    unsigned lineno = 0;
    const char *p = text, *end = text + len;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        size_t l = (size_t)(e - p);

        lineno++;
        if (l > 0 && p[l - 1] == '\r')
            l--;
        if ((p[0] == ' ' || p[0] == '\t') && l > 0 && n > 0) {
            vc_append(&v[n - 1].text, &cur_len, p + 1, l - 1);
        } else if (l > 0) {
            v = srm_xreallocarray(v, n + 1, sizeof(*v));
            v[n].text = NULL;
            v[n].line = lineno;
            cur_len = 0;
            vc_append(&v[n].text, &cur_len, p, l);
            n++;
        }
        p = nl ? nl + 1 : end;
    }
    *ret_n = n;
    return v;
}

/* The colon ending the name and parameters (quotes may hold ':'). */
static const char *vc_colon(const char *s)
{
    bool q = false;

    for (; *s; s++) {
        if (*s == '"')
            q = !q;
        else if (*s == ':' && !q)
            return s;
    }
    return NULL;
}

static bool vc_is(const char *name, size_t n, const char *want)
{
    return strlen(want) == n && strncasecmp(name, want, n) == 0;
}

/* The value of parameter key (e.g. "X-SERVICE-TYPE") in params, new
 * string or NULL. */
static char *vc_param(const char *params, size_t n, const char *key)
{
    size_t kl = strlen(key);

    for (size_t i = 0; i + kl < n; i++) {
        if ((i == 0 || params[i - 1] == ';') &&
            strncasecmp(params + i, key, kl) == 0 && params[i + kl] == '=') {
            const char *v = params + i + kl + 1;
            size_t vl = 0;
            while (v + vl < params + n && v[vl] != ';')
                vl++;
            if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"')
                return srm_xstrndup(v + 1, vl - 2);
            return srm_xstrndup(v, vl);
        }
    }
    return NULL;
}

static void vc_set(char **field, char *v)
{
    if (*field == NULL && v[0] != '\0') {
        *field = v;
        return;
    }
    free(v);
}

/* Join two optional parts with sep (new string, NULL if both empty). */
static char *vc_join(const char *a, const char *sep, const char *b)
{
    if ((a == NULL || !*a) && (b == NULL || !*b))
        return NULL;
    if (a == NULL || !*a)
        return srm_xstrdup(b);
    if (b == NULL || !*b)
        return srm_xstrdup(a);
    return srm_xasprintf("%s%s%s", a, sep, b);
}

static void vc_property(struct srm_import *imp, struct srm_contact_rec *c,
                        const struct vc_line *l, char **n_name)
{
    const char *s = l->text, *colon = vc_colon(s), *dot, *semi;
    size_t name_len, params_len;
    const char *params;
    char *v;

    if (colon == NULL) {
        srm_import_error(imp, l->line, "expected NAME:VALUE, found \"%.40s\"",
                         s);
        return;
    }
    /* group.NAME;PARAMS:VALUE */
    dot = memchr(s, '.', (size_t)(colon - s));
    semi = memchr(s, ';', (size_t)(colon - s));
    if (dot != NULL && (semi == NULL || dot < semi))
        s = dot + 1;
    semi = memchr(s, ';', (size_t)(colon - s));
    name_len = (size_t)((semi ? semi : colon) - s);
    params = semi ? semi + 1 : colon;
    params_len = semi ? (size_t)(colon - semi - 1) : 0;
    if (name_len == 0) {
        srm_import_error(imp, l->line, "property without a name");
        return;
    }
    v = vc_unescape(colon + 1, strlen(colon + 1));
    if (vc_is(s, name_len, "VERSION")) {
        if (strcmp(v, "2.1") != 0 && strcmp(v, "3.0") != 0 &&
            strcmp(v, "4.0") != 0)
            srm_import_error(imp, l->line,
                             "unsupported vCard version \"%.20s\"", v);
        free(v);
    } else if (vc_is(s, name_len, "FN")) {
        vc_set(&c->name, v);
    } else if (vc_is(s, name_len, "N")) {
        /* Family;Given;Additional;Prefix;Suffix, read before unescaping */
        const char *raw = colon + 1, *sc = strchr(raw, ';');
        char *fam = vc_unescape(raw, sc ? (size_t)(sc - raw) : strlen(raw));
        char *given = NULL;
        if (sc != NULL) {
            const char *sc2 = strchr(sc + 1, ';');
            given = vc_unescape(sc + 1, sc2 ? (size_t)(sc2 - sc - 1)
                                            : strlen(sc + 1));
        }
        free(*n_name);
        *n_name = vc_join(given, " ", fam);
        free(fam);
        free(given);
        free(v);
    } else if (vc_is(s, name_len, "EMAIL")) {
        srm_import_push(&c->emails, &c->n_emails, v, strlen(v));
        free(v);
    } else if (vc_is(s, name_len, "URL") ||
               vc_is(s, name_len, "X-SOCIALPROFILE")) {
        srm_import_push(&c->urls, &c->n_urls, v, strlen(v));
        free(v);
    } else if (vc_is(s, name_len, "X-SRMD-IDENTITY")) {
        if (strchr(v, ':') == NULL)
            srm_import_error(imp, l->line,
                             "X-SRMD-IDENTITY: expected network:remote_id");
        else
            srm_import_push(&c->keys, &c->n_keys, v, strlen(v));
        free(v);
    } else if (vc_is(s, name_len, "IMPP")) {
        char *svc = vc_param(params, params_len, "X-SERVICE-TYPE");
        (void)svc;
        free(svc);
        if (strchr(v, ':') == NULL)
            srm_import_error(imp, l->line, "IMPP: expected scheme:address");
        else
            srm_import_push(&c->impps, &c->n_impps, v, strlen(v));
        free(v);
    } else if (vc_is(s, name_len, "NOTE")) {
        vc_set(&c->note, v);
    } else if (vc_is(s, name_len, "CATEGORIES")) {
        /* Commas separate categories; an escaped comma is in v as ','
         * too, which is close enough for tags. */
        vc_set(&c->tags, v);
    } else if (vc_is(s, name_len, "UID")) {
        vc_set(&c->uid, v);
    } else {
        free(v); /* TEL, ADR, PHOTO...: not ours */
    }
}

static bool vc_card_ok(struct srm_import *imp, struct srm_contact_rec *c,
                       char **n_name)
{
    if (c->name == NULL && *n_name != NULL) {
        c->name = *n_name;
        *n_name = NULL;
    }
    free(*n_name);
    *n_name = NULL;
    if (c->name == NULL && c->n_emails == 0 && c->n_urls == 0 &&
        c->n_keys == 0) {
        srm_import_error(imp, c->line,
                         "vCard without FN, N, EMAIL or URL: skipped");
        return false;
    }
    return true;
}

void srm_vcard_parse(const char *text, size_t len, struct srm_import *out)
{
    size_t n = 0;
    struct vc_line *lines = vc_lines(text, len, &n);
    struct srm_contact_rec *c = NULL;
    char *n_name = NULL;

    for (size_t i = 0; i < n; i++) {
        const struct vc_line *l = &lines[i];
        if (strcasecmp(l->text, "BEGIN:VCARD") == 0) {
            if (c != NULL) {
                srm_import_error(out, c->line, "vCard not closed (no "
                                 "END:VCARD before line %u): skipped",
                                 l->line);
                srm_contact_rec_fini(c);
                out->n--;
            }
            c = srm_import_new(out, l->line);
        } else if (strcasecmp(l->text, "END:VCARD") == 0) {
            if (c == NULL) {
                srm_import_error(out, l->line, "END:VCARD without BEGIN");
                continue;
            }
            if (!vc_card_ok(out, c, &n_name)) {
                srm_contact_rec_fini(c);
                out->n--;
            }
            c = NULL;
        } else if (c == NULL) {
            srm_import_error(out, l->line,
                             "text outside BEGIN:VCARD ... END:VCARD");
        } else {
            vc_property(out, c, l, &n_name);
        }
    }
    if (c != NULL) {
        srm_import_error(out, c->line, "vCard not closed (missing "
                         "END:VCARD): skipped");
        srm_contact_rec_fini(c);
        out->n--;
    }
    free(n_name);
    for (size_t i = 0; i < n; i++)
        free(lines[i].text);
    free(lines);
}
