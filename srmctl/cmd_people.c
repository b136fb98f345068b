/* cmd_people.c - people, not accounts: `people`, `person`, `merge`,
 * `split`, `note`, `tag`, `cadence`, `owner`, `log`, `suggest`, `due`,
 * `rebalance`, `duplicates`, `resolve`, `verify`, `export`, `import`
 * (docs/people.md). */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "format.h"
#include "srmctl.h"

/* PERSON: digits go as a number, anything else as a handle. */
static json_t *pc_person(const char *s)
{
    if (s[0] != '\0' && strspn(s, "0123456789") == strlen(s))
        return json_integer(strtoll(s, NULL, 10));
    return json_string(s);
}

/* "--key VALUE" options and the rest as positional arguments. */
struct pc_opts {
    const char *search, *owner, *tag, *cursor, *via, *format, *dunbar;
    const char *limit;
    bool only, apply, in, mentions;
    char *pos[16];
    int n_pos;
};

static int pc_parse(int argc, char **argv, struct pc_opts *o)
{
    static const struct {
        const char *name;
        size_t off;
    } valued[] = {
        {"--search", offsetof(struct pc_opts, search)},
        {"--owner", offsetof(struct pc_opts, owner)},
        {"--tag", offsetof(struct pc_opts, tag)},
        {"--cursor", offsetof(struct pc_opts, cursor)},
        {"--via", offsetof(struct pc_opts, via)},
        {"--format", offsetof(struct pc_opts, format)},
        {"--limit", offsetof(struct pc_opts, limit)},
        {"--dunbar", offsetof(struct pc_opts, dunbar)},
    };
    memset(o, 0, sizeof(*o));
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool done = false;
        for (size_t k = 0; k < sizeof(valued) / sizeof(valued[0]); k++) {
            if (strcmp(a, valued[k].name) == 0) {
                if (i + 1 >= argc)
                    return srmctl_usage("%s needs a value", a);
                *(const char **)((char *)o + valued[k].off) = argv[++i];
                done = true;
            }
        }
        if (done)
            continue;
        if (strcmp(a, "--only") == 0)
            o->only = true;
        else if (strcmp(a, "--apply") == 0)
            o->apply = true;
        else if (strcmp(a, "--in") == 0)
            o->in = true;
        else if (strcmp(a, "--mentions") == 0)
            o->mentions = true;
        else if (strncmp(a, "--", 2) == 0 && a[2] != '\0')
            return srmctl_usage("unknown option %s", a);
        else if (o->n_pos < 16)
            o->pos[o->n_pos++] = argv[i];
        else
            return srmctl_usage("too many arguments");
    }
    return 0;
}

static void pc_set_limit(json_t *p, const struct pc_opts *o)
{
    if (o->limit != NULL)
        json_object_set_new(p, "limit", json_integer(atoll(o->limit)));
}

/* Words joined by spaces (new string). */
static char *pc_join(char **w, int n)
{
    size_t len = 1;
    char *s;

    for (int i = 0; i < n; i++)
        len += strlen(w[i]) + 1;
    s = calloc(1, len);
    if (s == NULL)
        abort();
    for (int i = 0; i < n; i++) {
        if (i)
            strcat(s, " ");
        strcat(s, w[i]);
    }
    return s;
}

static void pc_list_print(json_t *people, bool rank)
{
    static const char *const head[7] = {"ID", "NAME", "NETWORKS", "OWNER",
                                         "TAGS", "LAST MENTION", "RANK"};
    struct srmctl_table *t = srmctl_table_create(rank ? 7 : 6, head);
    time_t now = time(NULL);
    json_t *p;
    size_t i;

    json_array_foreach(people, i, p) {
        char c[7][256];
        const char *row[7];
        row[0] = srmctl_fmt_value(json_object_get(p, "id"), c[0], 256);
        row[1] = srmctl_fmt_value(json_object_get(p, "display_name"), c[1],
                                  256);
        row[2] = srmctl_fmt_value(json_object_get(p, "networks"), c[2], 256);
        row[3] = srmctl_fmt_value(json_object_get(p, "owner"), c[3], 256);
        row[4] = srmctl_fmt_value(json_object_get(p, "tags"), c[4], 256);
        row[5] = srmctl_fmt_age(json_object_get(p, "last_mention_at"), now,
                                c[5], 256);
        snprintf(c[6], 256, "%.3f",
                 json_number_value(json_object_get(p, "rank")));
        row[6] = c[6];
        srmctl_table_add(t, row);
    }
    srmctl_table_print(t, stdout);
    srmctl_table_destroy(t);
}

static int cmd_people(struct srmctl *ctx, int argc, char **argv)
{
    struct pc_opts o;
    json_t *p, *res, *next;
    int r = pc_parse(argc, argv, &o);

    if (r != 0)
        return r;
    if (o.n_pos > 0)
        return srmctl_usage("usage: srmctl people [--search QUERY] "
                            "[--owner USER] [--tag TAG] [--limit N] "
                            "[--cursor C]");
    p = json_object();
    if (o.search)
        json_object_set_new(p, "q", json_string(o.search));
    if (o.owner)
        json_object_set_new(p, "owner", json_string(o.owner));
    if (o.tag)
        json_object_set_new(p, "tag", json_string(o.tag));
    if (o.cursor)
        json_object_set_new(p, "cursor", json_string(o.cursor));
    pc_set_limit(p, &o);
    r = srmctl_call_or_json(ctx, "people.list", p, &res);
    if (res == NULL)
        return r;
    pc_list_print(json_object_get(res, "people"), o.search != NULL);
    next = json_object_get(res, "next_cursor");
    if (json_is_string(next))
        printf("more: srmctl people%s%s --cursor '%s'\n",
               o.search ? " --search " : "", o.search ? o.search : "",
               json_string_value(next));
    json_decref(res);
    return SRMCTL_EXIT_OK;
}

static void pc_kv(const char *k, json_t *v, time_t now)
{
    char buf[1024];
    size_t n = strlen(k);

    if (n > 3 && strcmp(k + n - 3, "_at") == 0)
        srmctl_fmt_age(v, now, buf, sizeof(buf));
    else
        srmctl_fmt_value(v, buf, sizeof(buf));
    printf("%-20s %s\n", k, buf);
}

static int cmd_person(struct srmctl *ctx, int argc, char **argv)
{
    json_t *res, *v, *e, *l;
    time_t now = time(NULL);
    const char *k;
    size_t i, j;
    int r = srmctl_call_or_json(ctx, "people.show",
                                json_pack("{s:o}", "person",
                                          pc_person(argv[1])), &res);

    (void)argc;
    if (res == NULL)
        return r;
    json_object_foreach(json_object_get(res, "person"), k, v)
        pc_kv(k, v, now);
    printf("\nidentities:\n");
    json_array_foreach(json_object_get(res, "identities"), i, v) {
        char f[64];
        printf("  #%lld %s %s%s%s%s\n",
               (long long)json_integer_value(json_object_get(v, "id")),
               json_string_value(json_object_get(v, "network")),
               json_string_value(json_object_get(v, "handle"))
                   ? json_string_value(json_object_get(v, "handle"))
                   : json_string_value(json_object_get(v, "remote_id")),
               json_is_integer(json_object_get(v, "followers")) ? " (" : "",
               json_is_integer(json_object_get(v, "followers"))
                   ? srmctl_fmt_value(json_object_get(v, "followers"), f,
                                      sizeof(f))
                   : "",
               json_is_integer(json_object_get(v, "followers"))
                   ? " followers)" : "");
        json_array_foreach(json_object_get(v, "links"), j, l) {
            json_t *chk = json_object_get(l, "srmd_check");
            printf("      link %s%s%s\n",
                   json_string_value(json_object_get(l, "url")),
                   json_is_integer(json_object_get(l, "verified_at"))
                       ? " [verified by the network]" : "",
                   json_is_object(chk)
                       ? (strcmp(json_string_value(json_object_get(
                                     chk, "status")), "verified") == 0
                              ? " [verified by srmd]"
                              : strcmp(json_string_value(json_object_get(
                                           chk, "status")), "failing") == 0
                                    ? " [FAILING: no longer links back]"
                                    : " [not verified]")
                       : "");
        }
    }
    printf("\nevidence:\n");
    json_array_foreach(json_object_get(res, "evidence"), i, e)
        printf("  %s %.2f %s ~ %s (%s)%s\n",
               json_string_value(json_object_get(e, "kind")),
               json_number_value(json_object_get(e, "confidence")),
               json_string_value(json_object_get(json_object_get(e, "a"),
                                                 "name")),
               json_string_value(json_object_get(json_object_get(e, "b"),
                                                 "name")),
               json_string_value(json_object_get(e, "detail"))
                   ? json_string_value(json_object_get(e, "detail")) : "-",
               strcmp(json_string_value(json_object_get(e, "state")),
                      "active") ? " FAILING" : "");
    json_array_foreach(json_object_get(res, "merge_suggestions"), i, e)
        printf("  maybe the same as person %lld: %s %.2f (%s)\n",
               (long long)json_integer_value(
                   json_object_get(e, "other_person")),
               json_string_value(json_object_get(e, "kind")),
               json_number_value(json_object_get(e, "confidence")),
               json_string_value(json_object_get(e, "detail"))
                   ? json_string_value(json_object_get(e, "detail")) : "-");
    printf("\ntimeline:\n");
    json_array_foreach(json_object_get(res, "timeline"), i, e) {
        char age[64], txt[200];
        srmctl_fmt_age(json_object_get(e, "at"), now, age, sizeof(age));
        snprintf(txt, sizeof(txt), "%s",
                 json_string_value(json_object_get(e, "text"))
                     ? json_string_value(json_object_get(e, "text")) : "");
        for (char *c = txt; *c; c++)
            if (*c == '\n')
                *c = ' ';
        printf("  %-10s %-12s %-11s %-9s %s\n", age,
               json_string_value(json_object_get(e, "type")),
               json_string_value(json_object_get(e, "network"))
                   ? json_string_value(json_object_get(e, "network")) : "-",
               json_string_value(json_object_get(e, "member"))
                   ? json_string_value(json_object_get(e, "member")) : "-",
               txt);
    }
    json_decref(res);
    return SRMCTL_EXIT_OK;
}

static int cmd_merge(struct srmctl *ctx, int argc, char **argv)
{
    json_t *res;
    int r = srmctl_call_or_json(
        ctx, "people.merge",
        json_pack("{s:o, s:o}", "person", pc_person(argv[1]), "into",
                  pc_person(argv[2])), &res);

    (void)argc;
    if (res == NULL)
        return r;
    printf("merged person %lld into person %lld (merge %lld; `srmctl split "
           "IDENTITY` undoes it)\n",
           (long long)json_integer_value(json_object_get(res, "merged")),
           (long long)json_integer_value(json_object_get(res, "person")),
           (long long)json_integer_value(json_object_get(res, "merge_id")));
    json_decref(res);
    return SRMCTL_EXIT_OK;
}

static int cmd_split(struct srmctl *ctx, int argc, char **argv)
{
    struct pc_opts o;
    json_t *res;
    int r = pc_parse(argc, argv, &o);

    if (r != 0)
        return r;
    if (o.n_pos != 1)
        return srmctl_usage("usage: srmctl split IDENTITY [--only]");
    r = srmctl_call_or_json(
        ctx, "people.split",
        json_pack("{s:o, s:b}", "identity", pc_person(o.pos[0]), "only",
                  o.only), &res);
    if (res == NULL)
        return r;
    printf("identity %lld is now person %lld%s\n",
           (long long)json_integer_value(json_object_get(res, "identity")),
           (long long)json_integer_value(json_object_get(res, "person")),
           json_is_integer(json_object_get(res, "undid_merge"))
               ? " (merge undone)" : "");
    json_decref(res);
    return SRMCTL_EXIT_OK;
}

static int cmd_note(struct srmctl *ctx, int argc, char **argv)
{
    char *text = pc_join(argv + 2, argc - 2);
    json_t *res;
    int r = srmctl_call_or_json(
        ctx, "people.note",
        json_pack("{s:o, s:s}", "person", pc_person(argv[1]), "text", text),
        &res);

    free(text);
    if (res == NULL)
        return r;
    printf("note %lld added\n", (long long)json_integer_value(json_object_get(
                                    json_object_get(res, "note"), "id")));
    json_decref(res);
    return SRMCTL_EXIT_OK;
}

static int cmd_tag(struct srmctl *ctx, int argc, char **argv)
{
    json_t *add = json_array(), *rm = json_array(), *res;
    char buf[1024];
    int r;

    for (int i = 2; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1] != '\0')
            json_array_append_new(rm, json_string(argv[i] + 1));
        else
            json_array_append_new(add, json_string(argv[i][0] == '+'
                                                       ? argv[i] + 1
                                                       : argv[i]));
    }
    r = srmctl_call_or_json(ctx, "people.tag",
                            json_pack("{s:o, s:o, s:o}", "person",
                                      pc_person(argv[1]), "add", add,
                                      "remove", rm), &res);
    if (res == NULL)
        return r;
    printf("tags: %s\n",
           srmctl_fmt_value(json_object_get(res, "tags"), buf, sizeof(buf)));
    json_decref(res);
    return SRMCTL_EXIT_OK;
}

static json_t *pc_none(const char *s)
{
    return strcmp(s, "none") == 0 || strcmp(s, "-") == 0 ? json_null()
                                                         : json_string(s);
}

static int cmd_cadence(struct srmctl *ctx, int argc, char **argv)
{
    struct pc_opts o;
    json_t *p, *res;
    char b1[64], b2[64];
    int r = pc_parse(argc, argv, &o);

    if (r != 0)
        return r;
    if (o.n_pos != 2)
        return srmctl_usage("usage: srmctl cadence PERSON 30d|none "
                            "[--owner USER]");
    p = json_pack("{s:o, s:o}", "person", pc_person(o.pos[0]), "cadence",
                  pc_none(o.pos[1]));
    if (o.owner)
        json_object_set_new(p, "owner", pc_none(o.owner));
    r = srmctl_call_or_json(ctx, "people.cadence", p, &res);
    if (res == NULL)
        return r;
    printf("person %s: cadence %s days, owner %s\n", o.pos[0],
           srmctl_fmt_value(json_object_get(json_object_get(res, "person"),
                                            "cadence_days"), b1, 64),
           srmctl_fmt_value(json_object_get(json_object_get(res, "person"),
                                            "owner"), b2, 64));
    json_decref(res);
    return SRMCTL_EXIT_OK;
}

static int cmd_owner(struct srmctl *ctx, int argc, char **argv)
{
    json_t *res;
    char b[64];
    int r = srmctl_call_or_json(
        ctx, "people.owner",
        json_pack("{s:o, s:o}", "person", pc_person(argv[1]), "owner",
                  pc_none(argv[2])), &res);

    (void)argc;
    if (res == NULL)
        return r;
    printf("person %s: owner %s\n", argv[1],
           srmctl_fmt_value(json_object_get(json_object_get(res, "person"),
                                            "owner"), b, 64));
    json_decref(res);
    return SRMCTL_EXIT_OK;
}

static int cmd_log(struct srmctl *ctx, int argc, char **argv)
{
    struct pc_opts o;
    json_t *res;
    char *text;
    int r = pc_parse(argc, argv, &o);

    if (r != 0)
        return r;
    if (o.n_pos < 2 || o.via == NULL)
        return srmctl_usage("usage: srmctl log PERSON --via NETWORK [--in] "
                            "TEXT");
    text = pc_join(o.pos + 1, o.n_pos - 1);
    r = srmctl_call_or_json(
        ctx, "interactions.log",
        json_pack("{s:o, s:s, s:s, s:s}", "person", pc_person(o.pos[0]),
                  "via", o.via, "text", text, "direction",
                  o.in ? "in" : "out"), &res);
    free(text);
    if (res == NULL)
        return r;
    printf("interaction %lld logged\n",
           (long long)json_integer_value(json_object_get(
               json_object_get(res, "interaction"), "id")));
    json_decref(res);
    return SRMCTL_EXIT_OK;
}

static int cmd_suggest(struct srmctl *ctx, int argc, char **argv)
{
    struct pc_opts o;
    json_t *p, *res, *v, *why;
    size_t i, j;
    int r = pc_parse(argc, argv, &o);

    if (r != 0)
        return r;
    p = json_object();
    pc_set_limit(p, &o);
    r = srmctl_call_or_json(ctx, "people.suggest", p, &res);
    if (res == NULL)
        return r;
    json_array_foreach(json_object_get(res, "people"), i, v) {
        printf("%2zu. %-24s person %lld  score %.2f  %s\n", i + 1,
               json_string_value(json_object_get(v, "display_name"))
                   ? json_string_value(json_object_get(v, "display_name"))
                   : "-",
               (long long)json_integer_value(json_object_get(v, "person")),
               json_number_value(json_object_get(v, "score")),
               json_string_value(json_object_get(v, "identity"))
                   ? json_string_value(json_object_get(v, "identity")) : "");
        json_array_foreach(json_object_get(v, "reasons"), j, why)
            printf("      - %s\n", json_string_value(why));
    }
    json_decref(res);
    return SRMCTL_EXIT_OK;
}

static int cmd_due(struct srmctl *ctx, int argc, char **argv)
{
    static const char *const head[5] = {"ID", "NAME", "OWNER", "CADENCE",
                                        "OVERDUE"};
    struct pc_opts o;
    json_t *p, *res, *v;
    struct srmctl_table *t;
    size_t i;
    int r = pc_parse(argc, argv, &o);

    if (r != 0)
        return r;
    p = json_object();
    pc_set_limit(p, &o);
    if (o.owner)
        json_object_set_new(p, "owner", json_string(o.owner));
    if (o.dunbar)
        json_object_set_new(p, "dunbar", json_integer(atoll(o.dunbar)));
    r = srmctl_call_or_json(ctx, "people.due", p, &res);
    if (res == NULL)
        return r;
    t = srmctl_table_create(5, head);
    json_array_foreach(json_object_get(res, "due"), i, v) {
        char c[5][256];
        const char *row[5];
        row[0] = srmctl_fmt_value(json_object_get(v, "person"), c[0], 256);
        row[1] = srmctl_fmt_value(json_object_get(v, "display_name"), c[1],
                                  256);
        row[2] = srmctl_fmt_value(json_object_get(v, "owner"), c[2], 256);
        snprintf(c[3], 256, "%lldd",
                 (long long)json_integer_value(
                     json_object_get(v, "cadence_days")));
        row[3] = c[3];
        snprintf(c[4], 256, "%lld days",
                 (long long)json_integer_value(
                     json_object_get(v, "overdue_days")));
        row[4] = c[4];
        srmctl_table_add(t, row);
    }
    srmctl_table_print(t, stdout);
    srmctl_table_destroy(t);
    printf("\nactive relationships per member (Dunbar %lld):\n",
           (long long)json_integer_value(json_object_get(res, "dunbar")));
    json_array_foreach(json_object_get(res, "members"), i, v)
        printf("  %-16s %5lld%s\n",
               json_string_value(json_object_get(v, "user")),
               (long long)json_integer_value(json_object_get(v, "active")),
               json_is_true(json_object_get(v, "stretched"))
                   ? "  stretched: see `srmctl rebalance`" : "");
    json_decref(res);
    return SRMCTL_EXIT_OK;
}

static int cmd_rebalance(struct srmctl *ctx, int argc, char **argv)
{
    struct pc_opts o;
    json_t *p, *res, *v;
    size_t i;
    int r = pc_parse(argc, argv, &o);

    if (r != 0)
        return r;
    p = json_pack("{s:b}", "apply", o.apply);
    if (o.dunbar)
        json_object_set_new(p, "dunbar", json_integer(atoll(o.dunbar)));
    r = srmctl_call_or_json(ctx, "people.rebalance", p, &res);
    if (res == NULL)
        return r;
    if (json_array_size(json_object_get(res, "moves")) == 0)
        printf("the load is balanced: nothing to move\n");
    json_array_foreach(json_object_get(res, "moves"), i, v)
        printf("%s %lld people from %s to %s\n",
               o.apply ? "moved" : "move",
               (long long)json_integer_value(json_object_get(v, "count")),
               json_string_value(json_object_get(v, "from")),
               json_string_value(json_object_get(v, "to")));
    if (!o.apply && json_array_size(json_object_get(res, "moves")) > 0)
        printf("(a proposal: `srmctl rebalance --apply` does it)\n");
    json_decref(res);
    return SRMCTL_EXIT_OK;
}

static int cmd_duplicates(struct srmctl *ctx, int argc, char **argv)
{
    json_t *res, *v;
    size_t i;
    int r = srmctl_call_or_json(ctx, "people.duplicates", NULL, &res);

    (void)argc;
    (void)argv;
    if (res == NULL)
        return r;
    json_array_foreach(json_object_get(res, "suggestions"), i, v) {
        json_t *a = json_object_get(v, "a"), *b = json_object_get(v, "b");
        printf("person %lld (%s) ~ person %lld (%s): %s %.2f %s\n"
               "   srmctl merge %lld %lld\n",
               (long long)json_integer_value(json_object_get(a, "person")),
               json_string_value(json_object_get(a, "identity")),
               (long long)json_integer_value(json_object_get(b, "person")),
               json_string_value(json_object_get(b, "identity")),
               json_string_value(json_object_get(v, "kind")),
               json_number_value(json_object_get(v, "confidence")),
               json_string_value(json_object_get(v, "detail"))
                   ? json_string_value(json_object_get(v, "detail")) : "",
               (long long)json_integer_value(json_object_get(b, "person")),
               (long long)json_integer_value(json_object_get(a, "person")));
    }
    json_decref(res);
    return SRMCTL_EXIT_OK;
}

static int cmd_simple(struct srmctl *ctx, const char *method)
{
    json_t *res;
    int r = srmctl_call_or_json(ctx, method, NULL, &res);

    if (res == NULL)
        return r;
    srmctl_print_json(res);
    json_decref(res);
    return SRMCTL_EXIT_OK;
}

static int cmd_resolve(struct srmctl *ctx, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cmd_simple(ctx, "people.resolve");
}

static int cmd_verify(struct srmctl *ctx, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cmd_simple(ctx, "people.verify");
}

static int cmd_export(struct srmctl *ctx, int argc, char **argv)
{
    struct pc_opts o;
    json_t *res;
    int r = pc_parse(argc, argv, &o);

    if (r != 0)
        return r;
    if (o.n_pos != 0)
        return srmctl_usage("usage: srmctl export --format "
                            "vcard|csv|ndjson [--mentions]");
    r = srmctl_call(ctx, "people.export",
                    json_pack("{s:s, s:b}", "format",
                              o.format ? o.format : "vcard", "mentions",
                              o.mentions), &res);
    if (r != SRMCTL_EXIT_OK)
        return r;
    fputs(json_string_value(json_object_get(res, "data")), stdout);
    json_decref(res);
    return SRMCTL_EXIT_OK;
}

static char *pc_read_file(const char *path, size_t *ret_len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0, n;

    if (f == NULL)
        return NULL;
    for (;;) {
        if (len + 65536 + 1 > cap) {
            cap = (len + 65536 + 1) * 2;
            buf = realloc(buf, cap);
            if (buf == NULL)
                abort();
        }
        n = fread(buf + len, 1, 65536, f);
        len += n;
        if (n == 0)
            break;
    }
    buf[len] = '\0';
    if (f != stdin)
        fclose(f);
    *ret_len = len;
    return buf;
}

static int cmd_import(struct srmctl *ctx, int argc, char **argv)
{
    struct pc_opts o;
    json_t *p, *res, *e;
    size_t len, i;
    char *data;
    int r = pc_parse(argc, argv, &o);

    if (r != 0)
        return r;
    if (o.n_pos != 1)
        return srmctl_usage("usage: srmctl import FILE [--format vcard|csv]");
    data = pc_read_file(o.pos[0], &len);
    if (data == NULL) {
        fprintf(stderr, "srmctl: %s: %s\n", o.pos[0], strerror(errno));
        return SRMCTL_EXIT_USAGE;
    }
    p = json_pack("{s:s%}", "data", data, len);
    free(data);
    if (p == NULL) {
        fprintf(stderr, "srmctl: %s: not UTF-8 text\n", o.pos[0]);
        return SRMCTL_EXIT_USAGE;
    }
    if (o.format)
        json_object_set_new(p, "format", json_string(o.format));
    r = srmctl_call_or_json(ctx, "people.import", p, &res);
    if (res == NULL)
        return r;
    printf("%s: %lld new people, %lld matched existing people\n", o.pos[0],
           (long long)json_integer_value(json_object_get(res, "created")),
           (long long)json_integer_value(json_object_get(res, "matched")));
    json_array_foreach(json_object_get(res, "errors"), i, e)
        fprintf(stderr, "%s:%lld: %s\n", o.pos[0],
                (long long)json_integer_value(json_object_get(e, "line")),
                json_string_value(json_object_get(e, "message")));
    r = json_array_size(json_object_get(res, "errors")) ? SRMCTL_EXIT_ANSWER
                                                        : SRMCTL_EXIT_OK;
    json_decref(res);
    return r;
}

static const struct srmctl_cmd people_cmds[] = {
    {"people", "[--search QUERY] [--owner USER] [--tag TAG] [--limit N] "
     "[--cursor C]", "list people, or search them (names, handles, bios, "
     "notes, tags)", "srmctl people --search 'ada*'", 0, 12, cmd_people},
    {"person", "PERSON", "one person: identities, evidence, timeline",
     "srmctl person ada@mastodon.example", 1, 1, cmd_person},
    {"merge", "PERSON INTO", "join PERSON into INTO (nothing is lost)",
     "srmctl merge 42 7", 2, 2, cmd_merge},
    {"split", "IDENTITY [--only]", "take an identity out of its person "
     "(undoes the merge that brought it)", "srmctl split 311", 1, 2,
     cmd_split},
    {"note", "PERSON TEXT...", "add a note to a person",
     "srmctl note 42 met at FOSDEM, wants the API", 2, 64, cmd_note},
    {"tag", "PERSON [+]TAG... -TAG...", "add and remove tags",
     "srmctl tag 42 +customer -prospect", 2, 64, cmd_tag},
    {"cadence", "PERSON 30d|none [--owner USER]", "how often to stay in "
     "touch (d, w, mo, y), and who owns the relationship",
     "srmctl cadence 42 30d --owner alice", 2, 4, cmd_cadence},
    {"owner", "PERSON USER|none", "set who owns the relationship",
     "srmctl owner 42 alice", 2, 2, cmd_owner},
    {"log", "PERSON --via NETWORK [--in] TEXT...", "log a conversation",
     "srmctl log 42 --via mastodon \"thanked them for the patch\"", 3, 64,
     cmd_log},
    {"suggest", "[--limit N]", "people worth engaging now, with reasons",
     "srmctl suggest --limit 10", 0, 2, cmd_suggest},
    {"due", "[--owner USER] [--limit N] [--dunbar N]", "people whose "
     "cadence ran out, most overdue first; load per member",
     "srmctl due --owner alice", 0, 6, cmd_due},
    {"rebalance", "[--apply] [--dunbar N]", "propose (or make) owner "
     "moves that spread the load", "srmctl rebalance --apply", 0, 3,
     cmd_rebalance},
    {"duplicates", "", "people that may be the same (weak evidence)",
     "srmctl duplicates", 0, 0, cmd_duplicates},
    {"resolve", "", "look for identity evidence across all people "
     "(admin)", "srmctl resolve", 0, 0, cmd_resolve},
    {"verify", "", "check profile links for rel=\"me\" now (admin)",
     "srmctl verify", 0, 0, cmd_verify},
    {"export", "--format vcard|csv|ndjson [--mentions]", "export people "
     "(or mentions) to stdout", "srmctl export --format vcard > team.vcf",
     0, 3, cmd_export},
    {"import", "FILE [--format vcard|csv]", "import vCard or CSV contacts, "
     "matched to people by email and profile URL",
     "srmctl import contacts.vcf", 1, 3, cmd_import},
    {NULL, NULL, NULL, NULL, 0, 0, NULL},
};
SRMCTL_REGISTER(people_cmds)
