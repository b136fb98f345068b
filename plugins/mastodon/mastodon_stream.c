/* mastodon_stream.c - server-sent events parsing, following the WHATWG
 * "event stream interpretation" rules that matter here: CRLF, LF or CR end
 * a line; a blank line dispatches; ':' lines are comments (Mastodon's
 * ":thump" heartbeat); "field: value" drops one space after the colon;
 * data lines are joined with '\n'; an event without data is not
 * dispatched. */
#include "mastodon_stream.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int ms_grow(char **buf, size_t *cap, size_t need)
{
    size_t ncap = *cap != 0 ? *cap : 256;
    char *nb;

    if (need > MASTO_SSE_MAX)
        return -E2BIG;
    if (need <= *cap)
        return 0;
    while (ncap < need)
        ncap *= 2;
    nb = realloc(*buf, ncap);
    if (nb == NULL)
        return -ENOMEM;
    *buf = nb;
    *cap = ncap;
    return 0;
}

void masto_sse_init(struct masto_sse *p, masto_sse_fn on_event, void *ud)
{
    memset(p, 0, sizeof(*p));
    p->on_event = on_event;
    p->ud = ud;
}

void masto_sse_reset(struct masto_sse *p)
{
    p->line_len = 0;
    p->data_len = 0;
    p->has_data = false;
    p->after_cr = false;
    free(p->event);
    p->event = NULL;
}

void masto_sse_fini(struct masto_sse *p)
{
    free(p->line);
    free(p->event);
    free(p->data);
    memset(p, 0, sizeof(*p));
}

static void ms_dispatch(struct masto_sse *p)
{
    if (p->has_data) {
        /* The data buffer ends with the '\n' of its last line. */
        size_t n = p->data_len > 0 ? p->data_len - 1 : 0;
        p->data[n] = '\0';
        p->on_event(p->event != NULL ? p->event : "message", p->data, n,
                    p->ud);
    }
    p->data_len = 0;
    p->has_data = false;
    free(p->event);
    p->event = NULL;
}

/* One complete line, without its end of line, NUL-terminated. */
static int ms_line(struct masto_sse *p, char *line, size_t len)
{
    char *colon, *value;
    size_t vlen;
    int rc;

    if (len == 0) {
        ms_dispatch(p);
        return 0;
    }
    if (line[0] == ':') {
        p->heartbeats++;
        return 0;
    }
    colon = memchr(line, ':', len);
    if (colon != NULL) {
        *colon = '\0';
        value = colon + 1;
        if (*value == ' ')
            value++;
        vlen = len - (size_t)(value - line);
    } else {
        value = line + len;
        vlen = 0;
    }
    if (strcmp(line, "event") == 0) {
        char *ev = strndup(value, vlen);
        if (ev == NULL)
            return -ENOMEM;
        free(p->event);
        p->event = ev;
    } else if (strcmp(line, "data") == 0) {
        rc = ms_grow(&p->data, &p->data_cap, p->data_len + vlen + 2);
        if (rc < 0)
            return rc;
        memcpy(p->data + p->data_len, value, vlen);
        p->data_len += vlen;
        p->data[p->data_len++] = '\n';
        p->has_data = true;
    }
    /* id: and retry: do not matter to us: Mastodon replays nothing. */
    return 0;
}

int masto_sse_feed(struct masto_sse *p, const char *buf, size_t len)
{
    int rc;

    for (size_t i = 0; i < len; i++) {
        char ch = buf[i];
        if (ch == '\n' && p->after_cr) {
            p->after_cr = false; /* the LF of a CRLF split or not */
            continue;
        }
        p->after_cr = ch == '\r';
        if (ch == '\r' || ch == '\n') {
            rc = ms_grow(&p->line, &p->line_cap, p->line_len + 1);
            if (rc < 0)
                return rc;
            p->line[p->line_len] = '\0';
            rc = ms_line(p, p->line, p->line_len);
            p->line_len = 0;
            if (rc < 0)
                return rc;
            continue;
        }
        rc = ms_grow(&p->line, &p->line_cap, p->line_len + 2);
        if (rc < 0)
            return rc;
        p->line[p->line_len++] = ch;
    }
    return 0;
}
