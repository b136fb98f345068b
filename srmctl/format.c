/* format.c - human output: aligned tables and readable times. */
#include "format.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct srmctl_table {
    size_t ncols, nrows, caprows;
    bool header;
    char **cells; /* nrows * ncols, row 0 is the header if any */
};

static char *fm_strdup(const char *s)
{
    char *p = strdup(s ? s : "-");

    if (p == NULL) {
        fputs("srmctl: out of memory\n", stderr);
        abort();
    }
    return p;
}

struct srmctl_table *srmctl_table_create(size_t ncols,
                                         const char *const *headers)
{
    struct srmctl_table *t = calloc(1, sizeof(*t));

    if (t == NULL) {
        fputs("srmctl: out of memory\n", stderr);
        abort();
    }
    t->ncols = ncols;
    if (headers) {
        srmctl_table_add(t, headers);
        t->header = true;
    }
    return t;
}

void srmctl_table_add(struct srmctl_table *t, const char *const *cells)
{
    if (t->nrows == t->caprows) {
        t->caprows = t->caprows ? t->caprows * 2 : 16;
        t->cells = realloc(t->cells, t->caprows * t->ncols * sizeof(char *));
        if (t->cells == NULL) {
            fputs("srmctl: out of memory\n", stderr);
            abort();
        }
    }
    for (size_t i = 0; i < t->ncols; i++)
        t->cells[t->nrows * t->ncols + i] = fm_strdup(cells[i]);
    t->nrows++;
}

/* Display width: UTF-8 code points, which is right for the names and
 * words srmd returns (no wide CJK handling). */
static size_t fm_width(const char *s)
{
    size_t w = 0;

    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            w++;
    return w;
}

void srmctl_table_print(const struct srmctl_table *t, FILE *out)
{
    size_t *width = calloc(t->ncols ? t->ncols : 1, sizeof(*width));

    if (width == NULL)
        abort();
    for (size_t r = 0; r < t->nrows; r++)
        for (size_t c = 0; c < t->ncols; c++) {
            size_t w = fm_width(t->cells[r * t->ncols + c]);
            if (w > width[c])
                width[c] = w;
        }
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            const char *s = t->cells[r * t->ncols + c];

            fputs(s, out);
            if (c + 1 < t->ncols)
                fprintf(out, "%*s", (int)(width[c] - fm_width(s) + 2), "");
        }
        fputc('\n', out);
    }
    free(width);
}

void srmctl_table_destroy(struct srmctl_table *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    free(t);
}

static void fm_span(long long s, char *buf, size_t n)
{
    if (s < 60)
        snprintf(buf, n, "%llds", s);
    else if (s < 3600)
        snprintf(buf, n, "%lldm", s / 60);
    else if (s < 86400)
        snprintf(buf, n, "%lldh", s / 3600);
    else
        snprintf(buf, n, "%lldd", s / 86400);
}

char *srmctl_fmt_age(const json_t *v, time_t now, char *buf, size_t n)
{
    char span[32];
    long long d;

    if (!json_is_number(v)) {
        snprintf(buf, n, "-");
        return buf;
    }
    d = (long long)now - (long long)json_number_value(v);
    if (d >= 0) {
        fm_span(d, span, sizeof(span));
        snprintf(buf, n, "%s ago", span);
    } else {
        fm_span(-d, span, sizeof(span));
        snprintf(buf, n, "in %s", span);
    }
    return buf;
}

char *srmctl_fmt_duration(const json_t *v, char *buf, size_t n)
{
    long long s;

    if (!json_is_number(v)) {
        snprintf(buf, n, "-");
        return buf;
    }
    s = (long long)json_number_value(v);
    if (s >= 3600 && s % 3600 != 0 && s < 86400)
        snprintf(buf, n, "%lldh%lldm", s / 3600, s % 3600 / 60);
    else if (s >= 60 && s < 3600 && s % 60 != 0)
        snprintf(buf, n, "%llds", s);
    else
        fm_span(s, buf, n);
    return buf;
}

char *srmctl_fmt_value(const json_t *v, char *buf, size_t n)
{
    size_t used = 0;
    size_t i;
    json_t *e;

    if (v == NULL || json_is_null(v))
        snprintf(buf, n, "-");
    else if (json_is_string(v))
        snprintf(buf, n, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(buf, n, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_real(v))
        snprintf(buf, n, "%g", json_real_value(v));
    else if (json_is_boolean(v))
        snprintf(buf, n, "%s", json_is_true(v) ? "yes" : "no");
    else if (json_is_array(v)) {
        buf[0] = '\0';
        json_array_foreach(v, i, e) {
            char one[256];

            srmctl_fmt_value(e, one, sizeof(one));
            int w = snprintf(buf + used, n - used, "%s%s", i ? "," : "", one);
            if (w < 0 || (size_t)w >= n - used)
                break;
            used += (size_t)w;
        }
        if (json_array_size(v) == 0)
            snprintf(buf, n, "-");
    } else {
        char *s = json_dumps(v, JSON_COMPACT);

        snprintf(buf, n, "%s", s ? s : "?");
        free(s);
    }
    return buf;
}
