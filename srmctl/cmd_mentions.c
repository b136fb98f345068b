/* cmd_mentions.c - the inbox: `srmctl inbox`, `mentions`, `search`, `show`,
 * `claim`, `assign`, `done`, `ignore`, `status`, `reply`. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "format.h"
#include "srmctl.h"

#define MC_NCOLS 6

/* ---- output ---- */

static size_t mc_term_width(void)
{
    struct winsize ws;
    const char *cols = getenv("COLUMNS");

    if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 &&
        ws.ws_col > 0)
        return ws.ws_col;
    if (cols != NULL && atoi(cols) > 0)
        return (size_t)atoi(cols);
    return 80;
}

/* Display width of UTF-8 text, counting code points. */
static size_t mc_width(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

/* Copy text into buf on one line (whitespace runs become one space), cut to
 * max code points, the last one "…" when cut. */
static char *mc_cut(const char *text, size_t max, char *buf, size_t n)
{
    size_t o = 0, w = 0, keep = 0;
    bool space = false;

    if (text == NULL)
        text = "";
    if (max < 2)
        max = 2;
    for (const char *p = text; *p && o + 8 < n; p++) {
        unsigned char c = (unsigned char)*p;

        if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
            space = o > 0;
            continue;
        }
        if ((c & 0xC0) != 0x80) {
            if (space) {
                if (++w == max)
                    keep = o;
                buf[o++] = ' ';
                space = false;
            }
            if (++w == max)
                keep = o;
        }
        buf[o++] = (char)c;
    }
    buf[o] = '\0';
    if (w > max) {
        memcpy(buf + keep, "\xE2\x80\xA6", 4); /* "…" and the NUL */
    }
    return buf;
}

static const char *mc_author(json_t *item, char *buf, size_t n)
{
    json_t *a = json_object_get(item, "author");
    const char *h = json_string_value(json_object_get(a, "handle"));
    const char *d = json_string_value(json_object_get(a, "display_name"));

    snprintf(buf, n, "%s", h ? h : d ? d : "-");
    return buf;
}

static const char *mc_status(json_t *item, char *buf, size_t n)
{
    const char *st = json_string_value(json_object_get(item, "status"));
    const char *who = json_string_value(json_object_get(item, "assignee"));

    if (who != NULL)
        snprintf(buf, n, "%s:%s", st ? st : "?", who);
    else
        snprintf(buf, n, "%s", st ? st : "?");
    return buf;
}

/* The items as a table: ID, AGE, NETWORK, AUTHOR, STATUS, TEXT; the text
 * fills what is left of the terminal's width. */
static void mc_print_items(json_t *items)
{
    static const char *const head[MC_NCOLS] = {"ID", "AGE", "NETWORK",
                                               "AUTHOR", "STATUS", "TEXT"};
    size_t n = json_array_size(items), width[MC_NCOLS - 1] = {0};
    char (*cells)[MC_NCOLS - 1][128] = calloc(n ? n : 1, sizeof(*cells));
    struct srmctl_table *t = srmctl_table_create(MC_NCOLS, head);
    time_t now = time(NULL);
    size_t used = 0, room, i;
    char text[2048];
    json_t *it;

    for (int c = 0; c < MC_NCOLS - 1; c++)
        width[c] = strlen(head[c]);
    json_array_foreach(items, i, it) {
        srmctl_fmt_value(json_object_get(it, "id"), cells[i][0], 128);
        srmctl_fmt_age(json_object_get(it, "created_at"), now, cells[i][1],
                       128);
        srmctl_fmt_value(json_object_get(it, "network"), cells[i][2], 128);
        mc_author(it, cells[i][3], 128);
        mc_status(it, cells[i][4], 128);
        for (int c = 0; c < MC_NCOLS - 1; c++)
            if (mc_width(cells[i][c]) > width[c])
                width[c] = mc_width(cells[i][c]);
    }
    for (int c = 0; c < MC_NCOLS - 1; c++)
        used += width[c] + 2;
    room = mc_term_width() > used + 10 ? mc_term_width() - used : 10;
    json_array_foreach(items, i, it) {
        const char *row[MC_NCOLS] = {cells[i][0], cells[i][1], cells[i][2],
                                     cells[i][3], cells[i][4], NULL};
        row[5] = mc_cut(json_string_value(json_object_get(it, "text")), room,
                        text, sizeof(text));
        srmctl_table_add(t, row);
    }
    if (n > 0)
        srmctl_table_print(t, stdout);
    else
        puts("no mentions");
    srmctl_table_destroy(t);
    free(cells);
}

/* ---- option parsing shared by the commands ---- */

struct mc_opt {
    const char *name;  /* "--status" */
    bool has_value;
    const char *value; /* set when seen ("" for flags) */
};

/* Split argv[1..] into options (opts, NULL-name-terminated) and positional
 * arguments (returned in pos, count in *ret_npos). --json anywhere turns on
 * JSON output. Returns SRMCTL_EXIT_OK or a usage error. */
static int mc_parse(struct srmctl *ctx, int argc, char **argv,
                    struct mc_opt *opts, char **pos, int max_pos,
                    int *ret_npos)
{
    int npos = 0;

    for (int i = 1; i < argc; i++) {
        struct mc_opt *o = NULL;
        const char *arg = argv[i], *eq;
        size_t len;

        if (strcmp(arg, "--") == 0) {
            while (++i < argc) {
                if (npos == max_pos)
                    return srmctl_usage("%s: too many arguments", argv[0]);
                pos[npos++] = argv[i];
            }
            break;
        }
        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
            if (npos == max_pos)
                return srmctl_usage("%s: too many arguments", argv[0]);
            pos[npos++] = argv[i];
            continue;
        }
        if (strcmp(arg, "--json") == 0) {
            ctx->json = true;
            continue;
        }
        eq = strchr(arg, '=');
        len = eq ? (size_t)(eq - arg) : strlen(arg);
        for (struct mc_opt *p = opts; p && p->name; p++)
            if (strlen(p->name) == len && strncmp(p->name, arg, len) == 0)
                o = p;
        if (o == NULL)
            return srmctl_usage("%s: unknown option %s", argv[0], arg);
        if (!o->has_value) {
            if (eq)
                return srmctl_usage("%s: %s takes no value", argv[0],
                                    o->name);
            o->value = "";
        } else if (eq) {
            o->value = eq + 1;
        } else if (i + 1 < argc) {
            o->value = argv[++i];
        } else {
            return srmctl_usage("%s: %s needs a value", argv[0], o->name);
        }
    }
    *ret_npos = npos;
    return SRMCTL_EXIT_OK;
}

static int mc_id(const char *cmd, const char *s, json_int_t *ret)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || *end || end == s || v <= 0)
        return srmctl_usage("%s: '%s' is not a mention id", cmd, s);
    *ret = v;
    return SRMCTL_EXIT_OK;
}

/* ---- list, inbox, search ---- */

static int mc_list_call(struct srmctl *ctx, const char *method,
                        json_t *params)
{
    json_t *res;
    int r = srmctl_call_or_json(ctx, method, params, &res);
    const char *next;

    if (res == NULL)
        return r;
    mc_print_items(json_object_get(res, "items"));
    next = json_string_value(json_object_get(res, "next_cursor"));
    if (next != NULL)
        printf("more: --cursor %s\n", next);
    json_decref(res);
    return SRMCTL_EXIT_OK;
}

static int mc_limit(const char *cmd, const char *s, json_t *params)
{
    char *end;
    long v;

    if (s == NULL)
        return SRMCTL_EXIT_OK;
    v = strtol(s, &end, 10);
    if (*end || end == s || v < 1 || v > 500)
        return srmctl_usage("%s: --limit must be 1..500", cmd);
    json_object_set_new(params, "limit", json_integer(v));
    return SRMCTL_EXIT_OK;
}

static int cmd_mentions(struct srmctl *ctx, int argc, char **argv)
{
    struct mc_opt opts[] = {
        {"--status", true, NULL},   {"--assignee", true, NULL},
        {"--source", true, NULL},   {"--network", true, NULL},
        {"--keyword", true, NULL},  {"--unassigned", false, NULL},
        {"--limit", true, NULL},    {"--cursor", true, NULL},
        {NULL, false, NULL},
    };
    static const char *const keys[] = {"status", "assignee", "source",
                                       "network", "keyword"};
    json_t *params = json_object();
    int npos, r;

    r = mc_parse(ctx, argc, argv, opts, NULL, 0, &npos);
    if (r == SRMCTL_EXIT_OK)
        r = mc_limit(argv[0], opts[6].value, params);
    if (r != SRMCTL_EXIT_OK) {
        json_decref(params);
        return r;
    }
    for (int i = 0; i < 5; i++)
        if (opts[i].value)
            json_object_set_new(params, keys[i],
                                json_string(opts[i].value));
    if (opts[5].value)
        json_object_set_new(params, "unassigned", json_true());
    if (opts[7].value)
        json_object_set_new(params, "cursor", json_string(opts[7].value));
    return mc_list_call(ctx, "mentions.list", params);
}

static int cmd_inbox(struct srmctl *ctx, int argc, char **argv)
{
    struct mc_opt opts[] = {
        {"--limit", true, NULL}, {"--cursor", true, NULL},
        {NULL, false, NULL},
    };
    json_t *params = json_pack("{s:b}", "inbox", 1);
    int npos, r;

    r = mc_parse(ctx, argc, argv, opts, NULL, 0, &npos);
    if (r == SRMCTL_EXIT_OK)
        r = mc_limit(argv[0], opts[0].value, params);
    if (r != SRMCTL_EXIT_OK) {
        json_decref(params);
        return r;
    }
    if (opts[1].value)
        json_object_set_new(params, "cursor", json_string(opts[1].value));
    return mc_list_call(ctx, "mentions.list", params);
}

static int cmd_search(struct srmctl *ctx, int argc, char **argv)
{
    struct mc_opt opts[] = {
        {"--limit", true, NULL}, {"--cursor", true, NULL},
        {NULL, false, NULL},
    };
    char *pos[1];
    json_t *params = json_object();
    int npos, r;

    r = mc_parse(ctx, argc, argv, opts, pos, 1, &npos);
    if (r == SRMCTL_EXIT_OK && npos != 1)
        r = srmctl_usage("usage: srmctl search QUERY [--limit N]");
    if (r == SRMCTL_EXIT_OK)
        r = mc_limit(argv[0], opts[0].value, params);
    if (r != SRMCTL_EXIT_OK) {
        json_decref(params);
        return r;
    }
    json_object_set_new(params, "query", json_string(pos[0]));
    if (opts[1].value)
        json_object_set_new(params, "cursor", json_string(opts[1].value));
    return mc_list_call(ctx, "mentions.search", params);
}

/* ---- show ---- */

static void mc_kv(const char *key, const char *value)
{
    printf("%-14s %s\n", key, value && value[0] ? value : "-");
}

static int cmd_show(struct srmctl *ctx, int argc, char **argv)
{
    json_int_t id;
    json_t *res, *m, *a, *idents, *it;
    char buf[512];
    time_t now = time(NULL);
    size_t i;
    int r = mc_id(argv[0], argv[1], &id);

    (void)argc;
    if (r != SRMCTL_EXIT_OK)
        return r;
    r = srmctl_call_or_json(ctx, "mentions.show",
                            json_pack("{s:I}", "id", id), &res);
    if (res == NULL)
        return r;
    m = json_object_get(res, "mention");
    a = json_object_get(m, "author");
    mc_kv("id", srmctl_fmt_value(json_object_get(m, "id"), buf, 512));
    mc_kv("network", json_string_value(json_object_get(m, "network")));
    mc_kv("source", json_string_value(json_object_get(m, "source")));
    snprintf(buf, sizeof(buf), "%s (%s), person %lld",
             json_string_value(json_object_get(a, "handle"))
                 ? json_string_value(json_object_get(a, "handle")) : "-",
             json_string_value(json_object_get(a, "display_name"))
                 ? json_string_value(json_object_get(a, "display_name"))
                 : "no name",
             (long long)json_integer_value(json_object_get(a, "person_id")));
    mc_kv("author", buf);
    mc_kv("owner", json_string_value(json_object_get(m, "owner")));
    mc_kv("posted", srmctl_fmt_age(json_object_get(m, "created_at"), now,
                                   buf, 512));
    mc_kv("status", mc_status(m, buf, 512));
    mc_kv("url", json_string_value(json_object_get(m, "url")));
    mc_kv("matched", json_string_value(json_object_get(m, "matched")));
    mc_kv("context", json_string_value(json_object_get(m, "context_title")));
    idents = json_object_get(a, "other_identities");
    json_array_foreach(idents, i, it) {
        snprintf(buf, sizeof(buf), "%s:%s",
                 json_string_value(json_object_get(it, "network")),
                 json_string_value(json_object_get(it, "handle"))
                     ? json_string_value(json_object_get(it, "handle"))
                     : json_string_value(json_object_get(it, "remote_id")));
        mc_kv(i == 0 ? "also" : "", buf);
    }
    printf("\n%s\n", json_string_value(json_object_get(m, "text"))
                         ? json_string_value(json_object_get(m, "text"))
                         : "");
    json_decref(res);
    return SRMCTL_EXIT_OK;
}

/* ---- changes ---- */

/* Print the mention a change answered with, or the conflict's details. */
static int mc_change(struct srmctl *ctx, const char *method, json_t *params,
                     const char *done_fmt)
{
    json_t *res, *m;
    int r = srmctl_call_or_json(ctx, method, params, &res);
    char buf[256];

    if (res == NULL)
        return r;
    m = json_object_get(res, "mention");
    printf(done_fmt, (long long)json_integer_value(json_object_get(m, "id")),
           mc_status(m, buf, sizeof(buf)));
    putchar('\n');
    json_decref(res);
    return SRMCTL_EXIT_OK;
}

static int cmd_claim(struct srmctl *ctx, int argc, char **argv)
{
    struct mc_opt opts[] = {{"--anyway", false, NULL}, {NULL, false, NULL}};
    char *pos[1];
    json_int_t id;
    int npos, r;

    r = mc_parse(ctx, argc, argv, opts, pos, 1, &npos);
    if (r == SRMCTL_EXIT_OK && npos != 1)
        r = srmctl_usage("usage: srmctl claim ID [--anyway]");
    if (r == SRMCTL_EXIT_OK)
        r = mc_id(argv[0], pos[0], &id);
    if (r != SRMCTL_EXIT_OK)
        return r;
    return mc_change(ctx, "mentions.claim",
                     json_pack("{s:I, s:b}", "id", id, "anyway",
                               opts[0].value != NULL),
                     "mention %lld claimed (%s)");
}

static int cmd_assign(struct srmctl *ctx, int argc, char **argv)
{
    json_int_t id;
    int r = mc_id(argv[0], argv[1], &id);

    (void)argc;
    if (r != SRMCTL_EXIT_OK)
        return r;
    return mc_change(ctx, "mentions.assign",
                     json_pack("{s:I, s:s}", "id", id, "member", argv[2]),
                     "mention %lld assigned (%s)");
}

static int mc_set_status(struct srmctl *ctx, const char *cmd,
                         const char *id_text, const char *status)
{
    json_int_t id;
    int r = mc_id(cmd, id_text, &id);

    if (r != SRMCTL_EXIT_OK)
        return r;
    return mc_change(ctx, "mentions.set_status",
                     json_pack("{s:I, s:s}", "id", id, "status", status),
                     "mention %lld is now %s");
}

static int cmd_done(struct srmctl *ctx, int argc, char **argv)
{
    (void)argc;
    return mc_set_status(ctx, argv[0], argv[1], "done");
}

static int cmd_ignore(struct srmctl *ctx, int argc, char **argv)
{
    (void)argc;
    return mc_set_status(ctx, argv[0], argv[1], "ignored");
}

static int cmd_status(struct srmctl *ctx, int argc, char **argv)
{
    (void)argc;
    return mc_set_status(ctx, argv[0], argv[1], argv[2]);
}

static int cmd_reply(struct srmctl *ctx, int argc, char **argv)
{
    struct mc_opt opts[] = {{"--anyway", false, NULL}, {NULL, false, NULL}};
    char *pos[2];
    json_int_t id;
    json_t *res;
    const char *url, *pid;
    int npos, r;

    r = mc_parse(ctx, argc, argv, opts, pos, 2, &npos);
    if (r == SRMCTL_EXIT_OK && npos != 2)
        r = srmctl_usage("usage: srmctl reply ID TEXT [--anyway]");
    if (r == SRMCTL_EXIT_OK)
        r = mc_id(argv[0], pos[0], &id);
    if (r != SRMCTL_EXIT_OK)
        return r;
    r = srmctl_call_or_json(ctx, "mentions.reply",
                            json_pack("{s:I, s:s, s:b}", "id", id, "text",
                                      pos[1], "anyway",
                                      opts[0].value != NULL),
                            &res);
    if (res == NULL)
        return r;
    url = json_string_value(json_object_get(res, "posted_url"));
    pid = json_string_value(json_object_get(res, "posted_id"));
    printf("replied to mention %lld: %s\n", (long long)id,
           url ? url : pid ? pid : "posted");
    json_decref(res);
    return SRMCTL_EXIT_OK;
}

static const struct srmctl_cmd mentions_cmds[] = {
    {"inbox", "[--limit N] [--cursor C]",
     "your assigned mentions and the unassigned new ones, newest first",
     "srmctl inbox", 0, 4, cmd_inbox},
    {"mentions",
     "[--status S] [--assignee USER|me] [--source NAME] [--network NET] "
     "[--keyword Q] [--unassigned] [--limit N] [--cursor C]",
     "list mentions, newest first, with filters",
     "srmctl mentions --status new --network mastodon", 0, 16,
     cmd_mentions},
    {"search", "QUERY [--limit N] [--cursor C]",
     "full-text search of mentions (word, prefix*, \"a phrase\"), best "
     "first",
     "srmctl search 'pricing OR \"free plan\"'", 1, 5, cmd_search},
    {"show", "ID", "a mention in full, with its author's other identities",
     "srmctl show 42", 1, 1, cmd_show},
    {"claim", "ID [--anyway]",
     "take a mention (refused if another member has it or talks to the "
     "person)",
     "srmctl claim 42", 1, 2, cmd_claim},
    {"assign", "ID MEMBER", "give a mention to a member (admins, owners)",
     "srmctl assign 42 alice", 2, 2, cmd_assign},
    {"done", "ID", "mark a mention done", "srmctl done 42", 1, 1, cmd_done},
    {"ignore", "ID", "mark a mention ignored", "srmctl ignore 42", 1, 1,
     cmd_ignore},
    {"set-status", "ID STATUS",
     "set a mention's status (new, assigned, replied, done, ignored)",
     "srmctl set-status 42 new", 2, 2, cmd_status},
    {"reply", "ID TEXT [--anyway]",
     "answer a mention through its source and record the interaction",
     "srmctl reply 42 \"Thanks, fixed in 2.1!\"", 2, 3, cmd_reply},
    {NULL, NULL, NULL, NULL, 0, 0, NULL},
};
SRMCTL_REGISTER(mentions_cmds)
