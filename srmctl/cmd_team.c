/* cmd_team.c - `srmctl watch`, `history`, `outcome`, `report`. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "format.h"
#include "srmctl.h"

/* ---- small option parser (the commands' own options) ---- */

struct tc_opt {
    const char *name;
    bool has_value;
    const char *value;
};

static int tc_parse(struct srmctl *ctx, int argc, char **argv,
                    struct tc_opt *opts, char **pos, int max_pos,
                    int *ret_npos)
{
    int npos = 0;

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *eq;
        struct tc_opt *o = NULL;
        size_t len;

        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
            if (strcmp(arg, "--") == 0)
                continue;
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
        for (struct tc_opt *p = opts; p && p->name; p++)
            if (strlen(p->name) == len && strncmp(p->name, arg, len) == 0)
                o = p;
        if (o == NULL)
            return srmctl_usage("%s: unknown option %s", argv[0], arg);
        if (!o->has_value)
            o->value = "";
        else if (eq)
            o->value = eq + 1;
        else if (i + 1 < argc)
            o->value = argv[++i];
        else
            return srmctl_usage("%s: %s needs a value", argv[0], o->name);
    }
    *ret_npos = npos;
    return SRMCTL_EXIT_OK;
}

/* ---- watch ---- */

static volatile sig_atomic_t tc_stop;

static void tc_on_signal(int sig)
{
    (void)sig;
    tc_stop = 1;
}

static int tc_connect(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd;

    if (strlen(path) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    strcpy(sa.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    return fd;
}

static int tc_send_all(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR && !tc_stop)
                continue;
            return -errno;
        }
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

/* One line per event: time, event, id, network, author, status, text. */
static void tc_print_event(json_t *p)
{
    json_t *a = json_object_get(p, "author");
    const char *handle = json_string_value(json_object_get(a, "handle"));
    const char *status = json_string_value(json_object_get(p, "status"));
    const char *who = json_string_value(json_object_get(p, "assignee"));
    const char *text = json_string_value(json_object_get(p, "text"));
    const char *net = json_string_value(json_object_get(p, "network"));
    const char *ev = json_string_value(json_object_get(p, "event"));
    char when[16], line[1024];
    time_t now = time(NULL);
    size_t o;

    strftime(when, sizeof(when), "%H:%M:%S", localtime(&now));
    o = (size_t)snprintf(line, sizeof(line), "%s %-7s #%lld %s %s %s%s%s  ",
                         when, ev ? ev : "?",
                         (long long)json_integer_value(
                             json_object_get(p, "id")),
                         net ? net : "-", handle ? handle : "-",
                         status ? status : "?", who ? ":" : "",
                         who ? who : "");
    /* The text on the same line, whitespace flattened, kept to 200
     * bytes at a character boundary. */
    for (const char *t = text ? text : ""; *t && o + 5 < sizeof(line); t++) {
        if (o > 200 && ((unsigned char)*t & 0xC0) != 0x80) {
            memcpy(line + o, "\xE2\x80\xA6", 3);
            o += 3;
            break;
        }
        line[o++] = (*t == '\n' || *t == '\r' || *t == '\t') ? ' ' : *t;
    }
    line[o] = '\0';
    puts(line);
}

/* Subscribe on fd and print events until the connection ends. Returns 0
 * when srmd went away (reconnect), or an exit status to stop with. */
static int tc_watch_session(struct srmctl *ctx, int fd, bool mine,
                            bool resumed)
{
    char req[128], *buf = NULL, *nl;
    size_t len = 0, cap = 0;
    int r = 0;

    snprintf(req, sizeof(req),
             "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"watch\","
             "\"params\":{\"mine\":%s}}\n", mine ? "true" : "false");
    if (tc_send_all(fd, req, strlen(req)) < 0)
        return 0;
    while (!tc_stop) {
        ssize_t n;

        if (cap - len < 4096) {
            cap = cap * 2 + 8192;
            buf = realloc(buf, cap);
            if (buf == NULL) {
                fputs("srmctl: out of memory\n", stderr);
                return SRMCTL_EXIT_ANSWER;
            }
        }
        n = recv(fd, buf + len, cap - len - 1, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
        buf[len] = '\0';
        while ((nl = memchr(buf, '\n', len)) != NULL) {
            json_t *msg;
            *nl = '\0';
            msg = json_loads(buf, 0, NULL);
            len -= (size_t)(nl + 1 - buf);
            memmove(buf, nl + 1, len);
            if (msg == NULL)
                continue;
            if (json_object_get(msg, "id") != NULL) {
                json_t *err = json_object_get(msg, "error");
                if (err != NULL) {
                    fprintf(stderr, "srmctl: %s\n",
                            json_string_value(
                                json_object_get(err, "message")));
                    json_decref(msg);
                    free(buf);
                    return SRMCTL_EXIT_ANSWER;
                }
                if (resumed)
                    fputs("srmctl: reconnected to srmd; resuming cleanly\n",
                          stderr);
                else
                    fprintf(stderr, "srmctl: watching %s (Ctrl-C to "
                                    "stop)\n",
                            mine ? "your mentions" : "all mentions");
            } else if (json_is_string(json_object_get(msg, "method"))) {
                json_t *p = json_object_get(msg, "params");
                if (ctx->json) {
                    json_dumpf(p, stdout, JSON_COMPACT);
                    fputc('\n', stdout);
                } else {
                    tc_print_event(p);
                }
                fflush(stdout);
            }
            json_decref(msg);
        }
    }
    free(buf);
    (void)r;
    return tc_stop ? SRMCTL_EXIT_OK : 0;
}

static int cmd_watch(struct srmctl *ctx, int argc, char **argv)
{
    struct tc_opt opts[] = {{"--mine", false, NULL}, {NULL, false, NULL}};
    struct sigaction sa = {.sa_handler = tc_on_signal};
    unsigned backoff_ms = 100;
    bool resumed = false;
    int npos, r, fd;

    r = tc_parse(ctx, argc, argv, opts, NULL, 0, &npos);
    if (r != SRMCTL_EXIT_OK)
        return r;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    fd = tc_connect(ctx->socket);
    if (fd < 0) {
        fprintf(stderr, "srmctl: cannot reach srmd at %s: %s\n", ctx->socket,
                strerror(-fd));
        return SRMCTL_EXIT_UNREACHABLE;
    }
    while (!tc_stop) {
        r = tc_watch_session(ctx, fd, opts[0].value != NULL, resumed);
        close(fd);
        if (r != 0 || tc_stop)
            return tc_stop ? SRMCTL_EXIT_OK : r;
        fprintf(stderr, "srmctl: lost srmd at %s; reconnecting\n",
                ctx->socket);
        /* Retry with backoff (0.1 s doubling to 5 s) until srmd is back. */
        backoff_ms = 100;
        while (!tc_stop) {
            struct timespec ts = {.tv_sec = backoff_ms / 1000,
                                  .tv_nsec = (long)(backoff_ms % 1000) *
                                             1000000L};
            nanosleep(&ts, NULL);
            fd = tc_connect(ctx->socket);
            if (fd >= 0)
                break;
            backoff_ms = backoff_ms * 2 > 5000 ? 5000 : backoff_ms * 2;
        }
        resumed = true;
    }
    return SRMCTL_EXIT_OK;
}

/* ---- history ---- */

static int cmd_history(struct srmctl *ctx, int argc, char **argv)
{
    static const char *const head[4] = {"WHEN", "MEMBER", "ACTION",
                                        "DETAIL"};
    char *end;
    long long id = strtoll(argv[1], &end, 10);
    json_t *res, *ev;
    struct srmctl_table *t;
    size_t i;
    int r;

    (void)argc;
    if (*end || end == argv[1] || id <= 0)
        return srmctl_usage("history: '%s' is not a mention id", argv[1]);
    r = srmctl_call_or_json(ctx, "history",
                            json_pack("{s:I}", "id", (json_int_t)id), &res);
    if (res == NULL)
        return r;
    t = srmctl_table_create(4, head);
    json_array_foreach(json_object_get(res, "events"), i, ev) {
        char when[32], member[128], *detail;
        time_t at = (time_t)json_integer_value(json_object_get(ev, "at"));
        json_t *d = json_object_get(ev, "detail");

        strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime(&at));
        srmctl_fmt_value(json_object_get(ev, "member"), member,
                         sizeof(member));
        detail = json_is_null(d) || d == NULL
                     ? NULL
                     : json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
        srmctl_table_add(t, (const char *[]){
                                when, member,
                                json_string_value(
                                    json_object_get(ev, "action")),
                                detail});
        free(detail);
    }
    if (json_array_size(json_object_get(res, "events")) == 0)
        printf("no history for mention %lld\n", id);
    else
        srmctl_table_print(t, stdout);
    srmctl_table_destroy(t);
    json_decref(res);
    return SRMCTL_EXIT_OK;
}

/* ---- outcome ---- */

static int cmd_outcome(struct srmctl *ctx, int argc, char **argv)
{
    struct tc_opt opts[] = {{"--value", true, NULL},
                            {"--network", true, NULL},
                            {NULL, false, NULL}};
    char *pos[3], *end;
    json_t *params, *res, *o;
    int npos, r;

    r = tc_parse(ctx, argc, argv, opts, pos, 3, &npos);
    if (r == SRMCTL_EXIT_OK && npos != 3)
        r = srmctl_usage("usage: srmctl outcome PERSON KIND [--value N] "
                         "[--network NET] NOTE");
    if (r != SRMCTL_EXIT_OK)
        return r;
    params = json_pack("{s:s, s:s, s:s}", "person", pos[0], "kind", pos[1],
                       "note", pos[2]);
    if (opts[0].value) {
        double v = strtod(opts[0].value, &end);
        if (*end || end == opts[0].value) {
            json_decref(params);
            return srmctl_usage("outcome: --value must be a number");
        }
        json_object_set_new(params, "value", json_real(v));
    }
    if (opts[1].value)
        json_object_set_new(params, "network", json_string(opts[1].value));
    r = srmctl_call_or_json(ctx, "outcomes.add", params, &res);
    if (res == NULL)
        return r;
    o = json_object_get(res, "outcome");
    printf("outcome %lld: %s for person %lld recorded\n",
           (long long)json_integer_value(json_object_get(o, "id")),
           json_string_value(json_object_get(o, "kind")),
           (long long)json_integer_value(json_object_get(o, "person_id")));
    json_decref(res);
    return SRMCTL_EXIT_OK;
}

/* ---- report ---- */

static void tc_num(json_t *v, char *buf, size_t n)
{
    double d = json_number_value(v);

    if (json_is_integer(v) || d == (double)(long long)d)
        snprintf(buf, n, "%lld", (long long)d);
    else
        snprintf(buf, n, "%.2f", d);
}

/* A grouping as a table: KEY COUNT [VALUE]. */
static void tc_groups(const char *title, json_t *a, const char *key,
                      const char *head, bool value)
{
    const char *h[3] = {head, "COUNT", "VALUE"};
    struct srmctl_table *t = srmctl_table_create(value ? 3 : 2, h);
    size_t i;
    json_t *g;

    printf("%s:\n", title);
    if (json_array_size(a) == 0) {
        puts("  -");
        srmctl_table_destroy(t);
        return;
    }
    json_array_foreach(a, i, g) {
        char k[256], c[32], v[32];
        snprintf(k, sizeof(k), "  %s",
                 json_string_value(json_object_get(g, key))
                     ? json_string_value(json_object_get(g, key)) : "-");
        tc_num(json_object_get(g, "count"), c, sizeof(c));
        tc_num(json_object_get(g, "value"), v, sizeof(v));
        srmctl_table_add(t, (const char *[]){k, c, v});
    }
    srmctl_table_print(t, stdout);
    srmctl_table_destroy(t);
}

static void tc_csv_field(const char *s)
{
    if (s == NULL)
        return;
    if (strpbrk(s, ",\"\n") == NULL) {
        fputs(s, stdout);
        return;
    }
    putchar('"');
    for (; *s; s++) {
        if (*s == '"')
            putchar('"');
        putchar(*s);
    }
    putchar('"');
}

static void tc_csv_groups(const char *section, json_t *a, const char *key)
{
    size_t i;
    json_t *g;

    json_array_foreach(a, i, g) {
        char c[32], v[32] = "";
        tc_num(json_object_get(g, "count"), c, sizeof(c));
        if (json_object_get(g, "value"))
            tc_num(json_object_get(g, "value"), v, sizeof(v));
        fputs(section, stdout);
        putchar(',');
        tc_csv_field(json_string_value(json_object_get(g, key)));
        printf(",%s,%s,,\n", c, v);
    }
}

static void tc_report_csv(json_t *res)
{
    json_t *m = json_object_get(res, "mentions");
    json_t *rep = json_object_get(res, "replies");
    json_t *o = json_object_get(res, "outcomes");
    char a[32], b[32], c[32];
    size_t i;
    json_t *g;

    puts("section,key,count,value,median_s,p90_s");
    tc_num(json_object_get(m, "total"), a, sizeof(a));
    printf("mentions,total,%s,,,\n", a);
    tc_csv_groups("mentions_by_network", json_object_get(m, "by_network"),
                  "network");
    tc_csv_groups("mentions_by_day", json_object_get(m, "by_day"), "day");
    tc_num(json_object_get(rep, "replied"), a, sizeof(a));
    printf("replies,replied,%s,%.4f,,\n", a,
           json_number_value(json_object_get(rep, "rate")));
    json_array_foreach(json_object_get(res, "first_response"), i, g) {
        tc_num(json_object_get(g, "count"), a, sizeof(a));
        tc_num(json_object_get(g, "median_s"), b, sizeof(b));
        tc_num(json_object_get(g, "p90_s"), c, sizeof(c));
        fputs("first_response,", stdout);
        tc_csv_field(json_string_value(json_object_get(g, "member")));
        printf(",%s,,%s,%s\n", a, b, c);
    }
    tc_num(json_object_get(o, "count"), a, sizeof(a));
    tc_num(json_object_get(o, "value"), b, sizeof(b));
    printf("outcomes,total,%s,%s,,\n", a, b);
    tc_csv_groups("outcomes_by_kind", json_object_get(o, "by_kind"), "kind");
    tc_csv_groups("outcomes_by_network", json_object_get(o, "by_network"),
                  "network");
    tc_csv_groups("outcomes_by_source", json_object_get(o, "by_source"),
                  "source");
    tc_csv_groups("outcomes_by_member", json_object_get(o, "by_member"),
                  "member");
}

static void tc_report_text(json_t *res, const char *since)
{
    json_t *m = json_object_get(res, "mentions");
    json_t *rep = json_object_get(res, "replies");
    json_t *o = json_object_get(res, "outcomes");
    time_t from = (time_t)json_integer_value(json_object_get(res, "from"));
    const char *h[4] = {"  MEMBER", "REPLIES", "MEDIAN", "P90"};
    struct srmctl_table *t;
    char when[32], a[32], b[32], c[32];
    size_t i;
    json_t *g;

    strftime(when, sizeof(when), "%Y-%m-%d %H:%M", localtime(&from));
    printf("Report for the last %s (since %s)\n\n", since, when);
    tc_num(json_object_get(m, "total"), a, sizeof(a));
    tc_num(json_object_get(rep, "replied"), b, sizeof(b));
    printf("Mentions: %s, replied %s (%.1f%%)\n", a, b,
           100.0 * json_number_value(json_object_get(rep, "rate")));
    tc_groups("By network", json_object_get(m, "by_network"), "network",
              "  NETWORK", false);
    tc_groups("By day", json_object_get(m, "by_day"), "day", "  DAY",
              false);
    printf("\nFirst response per member:\n");
    if (json_array_size(json_object_get(res, "first_response")) == 0)
        puts("  -");
    t = srmctl_table_create(4, h);
    json_array_foreach(json_object_get(res, "first_response"), i, g) {
        char who[128];
        snprintf(who, sizeof(who), "  %s",
                 json_string_value(json_object_get(g, "member")));
        tc_num(json_object_get(g, "count"), a, sizeof(a));
        srmctl_fmt_duration(json_object_get(g, "median_s"), b, sizeof(b));
        srmctl_fmt_duration(json_object_get(g, "p90_s"), c, sizeof(c));
        srmctl_table_add(t, (const char *[]){who, a, b, c});
    }
    if (json_array_size(json_object_get(res, "first_response")) > 0)
        srmctl_table_print(t, stdout);
    srmctl_table_destroy(t);
    tc_num(json_object_get(o, "count"), a, sizeof(a));
    tc_num(json_object_get(o, "value"), b, sizeof(b));
    printf("\nOutcomes: %s, value %s\n", a, b);
    tc_groups("By kind", json_object_get(o, "by_kind"), "kind", "  KIND",
              true);
    tc_groups("By network", json_object_get(o, "by_network"), "network",
              "  NETWORK", true);
    tc_groups("By source", json_object_get(o, "by_source"), "source",
              "  SOURCE", true);
    tc_groups("By member", json_object_get(o, "by_member"), "member",
              "  MEMBER", true);
}

static int cmd_report(struct srmctl *ctx, int argc, char **argv)
{
    struct tc_opt opts[] = {{"--since", true, NULL},
                            {"--csv", false, NULL},
                            {NULL, false, NULL}};
    const char *since;
    json_t *res;
    int npos, r;

    r = tc_parse(ctx, argc, argv, opts, NULL, 0, &npos);
    if (r != SRMCTL_EXIT_OK)
        return r;
    since = opts[0].value ? opts[0].value : "30d";
    r = srmctl_call_or_json(ctx, "report",
                            json_pack("{s:s}", "since", since), &res);
    if (res == NULL)
        return r;
    if (opts[1].value)
        tc_report_csv(res);
    else
        tc_report_text(res, since);
    json_decref(res);
    return SRMCTL_EXIT_OK;
}

static const struct srmctl_cmd team_cmds[] = {
    {"watch", "[--mine]",
     "print mention events as they happen (one JSON object a line with "
     "--json); reconnects when srmd restarts",
     "srmctl watch --mine", 0, 2, cmd_watch},
    {"history", "ID", "who did what to a mention (the audit trail)",
     "srmctl history 42", 1, 1, cmd_history},
    {"outcome", "PERSON KIND [--value N] [--network NET] NOTE",
     "record what a relationship yielded (lead, sale, feedback, advocate, "
     "support)",
     "srmctl outcome alice@example.social sale --value 1200 \"annual "
     "plan\"",
     3, 8, cmd_outcome},
    {"report", "[--since 30d] [--json|--csv]",
     "mentions, reply rate, first-response times and outcomes",
     "srmctl report --since 7d --csv", 0, 4, cmd_report},
    {NULL, NULL, NULL, NULL, 0, 0, NULL},
};
SRMCTL_REGISTER(team_cmds)
