/* mastodon_stream.h - a server-sent events (SSE) parser for Mastodon's
 * streaming API. Chunks arrive as the network delivers them: a line, even
 * a CRLF pair, may be split anywhere, so the parser keeps the partial line
 * and the event being built between calls. */
#ifndef SRM_PLUGINS_MASTODON_STREAM_H
#define SRM_PLUGINS_MASTODON_STREAM_H

#include <stdbool.h>
#include <stddef.h>

/* The largest line or event data we accept; Mastodon events are a status
 * or notification JSON, far below this. Past it the stream is dropped. */
#define MASTO_SSE_MAX (1u << 20)

/* One complete event: event is its name ("message" when none was given),
 * data its data lines joined with '\n'. Both are borrowed for the call. */
typedef void (*masto_sse_fn)(const char *event, const char *data,
                             size_t data_len, void *ud);

struct masto_sse {
    masto_sse_fn on_event;
    void *ud;
    char *line; /* the line being read */
    size_t line_len, line_cap;
    char *event;
    char *data;
    size_t data_len, data_cap;
    bool has_data; /* a data: field arrived for this event */
    bool after_cr; /* the last byte was CR: a following LF is the same EOL */
    unsigned long heartbeats; /* ':' comment lines seen */
};

void masto_sse_init(struct masto_sse *p, masto_sse_fn on_event, void *ud);
void masto_sse_fini(struct masto_sse *p);
/* Forget a partial line and event (a new connection). */
void masto_sse_reset(struct masto_sse *p);
/* Feed a chunk. Returns 0, -E2BIG when a line or event grows past
 * MASTO_SSE_MAX, or -ENOMEM. Events are delivered from inside the call. */
int masto_sse_feed(struct masto_sse *p, const char *buf, size_t len);

#endif
