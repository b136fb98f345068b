/* cmd_sources.c - `srmctl sources`, `source NAME`, `sync NAME`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "format.h"
#include "srmctl.h"

#define SRC_NCOLS 10

/* One row of the sources table from one source object. */
static void src_row(struct srmctl_table *t, json_t *s, time_t now)
{
    char cell[SRC_NCOLS][512];
    const char *row[SRC_NCOLS];

    row[0] = srmctl_fmt_value(json_object_get(s, "name"), cell[0], 512);
    row[1] = srmctl_fmt_value(json_object_get(s, "plugin"), cell[1], 512);
    row[2] = srmctl_fmt_value(json_object_get(s, "state"), cell[2], 512);
    row[3] = srmctl_fmt_duration(json_object_get(s, "every_s"), cell[3], 512);
    row[4] = srmctl_fmt_age(json_object_get(s, "last_ok_at"), now, cell[4],
                            512);
    row[5] = srmctl_fmt_age(json_object_get(s, "next_sync_at"), now, cell[5],
                            512);
    row[6] = srmctl_fmt_value(json_object_get(s, "new_mentions"), cell[6],
                              512);
    row[7] = srmctl_fmt_value(json_object_get(s, "mentions_total"), cell[7],
                              512);
    row[8] = srmctl_fmt_value(json_object_get(s, "failures"), cell[8], 512);
    row[9] = srmctl_fmt_value(json_object_get(s, "last_error"), cell[9], 512);
    srmctl_table_add(t, row);
}

/* Pages of this many: each page is built on srmd's loop thread, so a big
 * daemon is listed in slices instead of one long stall. */
#define SRC_PAGE 500

static int cmd_sources(struct srmctl *ctx, int argc, char **argv)
{
    static const char *const head[SRC_NCOLS] = {
        "NAME", "PLUGIN", "STATE", "EVERY", "LAST OK",
        "NEXT", "NEW", "MENTIONS", "FAILURES", "LAST ERROR"};
    const char *state = NULL;
    json_t *all = json_array(), *res, *s;
    char *after = NULL;
    time_t now = time(NULL);
    int r = SRMCTL_EXIT_OK;
    size_t i;

    if (argc == 3 && strcmp(argv[1], "--state") == 0)
        state = argv[2];
    else if (argc != 1) {
        json_decref(all);
        return srmctl_usage("sources: the only option is --state STATE");
    }
    do {
        json_t *params = json_pack("{s:i}", "limit", SRC_PAGE);
        if (after != NULL)
            json_object_set_new(params, "after", json_string(after));
        if (state != NULL)
            json_object_set_new(params, "state", json_string(state));
        r = srmctl_call(ctx, "sources.list", params, &res);
        if (r != SRMCTL_EXIT_OK)
            break;
        json_array_extend(all, json_object_get(res, "sources"));
        free(after);
        after = json_is_string(json_object_get(res, "next"))
                    ? strdup(json_string_value(json_object_get(res, "next")))
                    : NULL;
        json_decref(res);
    } while (after != NULL);
    free(after);
    if (r == SRMCTL_EXIT_OK && ctx->json) {
        json_t *o = json_pack("{s:O, s:n}", "sources", all, "next");
        srmctl_print_json(o);
        json_decref(o);
    } else if (r == SRMCTL_EXIT_OK) {
        struct srmctl_table *t = srmctl_table_create(SRC_NCOLS, head);
        json_array_foreach(all, i, s)
            src_row(t, s, now);
        srmctl_table_print(t, stdout);
        srmctl_table_destroy(t);
    }
    json_decref(all);
    return r;
}

static bool src_is_time(const char *key)
{
    size_t n = strlen(key);

    return n > 3 && strcmp(key + n - 3, "_at") == 0;
}

/* key: value lines for an object, times as ages, nested objects indented
 * below their key. */
static void src_object(json_t *o, time_t now, int indent)
{
    struct srmctl_table *t = srmctl_table_create(2, NULL);
    const char *key;
    json_t *v;
    char label[128], val[1024];

    json_object_foreach(o, key, v) {
        if (json_is_object(v))
            continue;
        snprintf(label, sizeof(label), "%*s%s", indent, "", key);
        if (src_is_time(key))
            srmctl_fmt_age(v, now, val, sizeof(val));
        else if (strcmp(key, "every_s") == 0)
            srmctl_fmt_duration(v, val, sizeof(val));
        else
            srmctl_fmt_value(v, val, sizeof(val));
        srmctl_table_add(t, (const char *[]){label, val});
    }
    srmctl_table_print(t, stdout);
    srmctl_table_destroy(t);
    json_object_foreach(o, key, v) {
        if (!json_is_object(v))
            continue;
        printf("%*s%s:%s\n", indent, "", key,
               json_object_size(v) ? "" : " -");
        src_object(v, now, indent + 2);
    }
}

static int cmd_source(struct srmctl *ctx, int argc, char **argv)
{
    json_t *res;
    int r = srmctl_call_or_json(ctx, "sources.show",
                                json_pack("{s:s}", "name", argv[1]), &res);

    if (res == NULL)
        return r;
    src_object(json_object_get(res, "source"), time(NULL), 0);
    json_decref(res);
    return SRMCTL_EXIT_OK;
}

static int cmd_sync(struct srmctl *ctx, int argc, char **argv)
{
    json_t *res;
    int r = srmctl_call_or_json(ctx, "sources.sync",
                                json_pack("{s:s}", "name", argv[1]), &res);
    const char *reason;

    if (res == NULL)
        return r;
    if (json_is_true(json_object_get(res, "started"))) {
        printf("%s: sync started\n", argv[1]);
        r = SRMCTL_EXIT_OK;
    } else {
        reason = json_string_value(json_object_get(res, "reason"));
        fprintf(stderr, "srmctl: %s: sync not started: %s\n", argv[1],
                reason ? reason : "no reason given");
        r = SRMCTL_EXIT_ANSWER;
    }
    json_decref(res);
    return r;
}

static const struct srmctl_cmd sources_cmds[] = {
    {"sources", "[--state STATE]",
     "list the sources (or those in one state) with their counters",
     "srmctl sources --state failing", 0, 2, cmd_sources},
    {"source", "NAME", "show one source, its config (secrets hidden) and "
     "cursors", "srmctl source hn", 1, 1, cmd_source},
    {"sync", "NAME", "start a sync of a source now", "srmctl sync hn", 1, 1,
     cmd_sync},
    {NULL, NULL, NULL, NULL, 0, 0, NULL},
};
SRMCTL_REGISTER(sources_cmds)
