/* cmd_status.c - `srmctl status`: the daemon at a glance. */
#include <stdio.h>
#include <time.h>

#include "format.h"
#include "srmctl.h"

static const char *st_str(json_t *o, const char *key, char *buf, size_t n)
{
    return srmctl_fmt_value(json_object_get(o, key), buf, n);
}

static int cmd_status(struct srmctl *ctx, int argc, char **argv)
{
    json_t *res;
    int r = srmctl_call_or_json(ctx, "status", NULL, &res);
    struct srmctl_table *t;
    char a[128], b[128], c[256], line[512];
    json_t *caller, *src, *http, *writer;

    if (res == NULL)
        return r;
    t = srmctl_table_create(2, NULL);
    caller = json_object_get(res, "caller");
    src = json_object_get(res, "sources");
    http = json_object_get(res, "http");
    writer = json_object_get(res, "writer");

    snprintf(line, sizeof(line), "%s (protocol %s)",
             st_str(res, "version", a, sizeof(a)),
             st_str(res, "protocol", b, sizeof(b)));
    srmctl_table_add(t, (const char *[]){"srmd", line});
    srmctl_table_add(t, (const char *[]){"pid", st_str(res, "pid", a,
                                                       sizeof(a))});
    snprintf(line, sizeof(line), "%s (started %s)",
             srmctl_fmt_duration(json_object_get(res, "uptime_s"), a,
                                 sizeof(a)),
             srmctl_fmt_age(json_object_get(res, "started_at"), time(NULL),
                            b, sizeof(b)));
    srmctl_table_add(t, (const char *[]){"uptime", line});
    srmctl_table_add(t, (const char *[]){"database",
                                         st_str(res, "database", c,
                                                sizeof(c))});
    snprintf(line, sizeof(line), "%s (%s)", st_str(caller, "user", a,
                                                   sizeof(a)),
             json_is_true(json_object_get(caller, "admin"))    ? "admin"
             : json_is_true(json_object_get(caller, "member")) ? "member"
                                                               : "no role");
    srmctl_table_add(t, (const char *[]){"you", line});
    if (json_is_object(src)) {
        const char *keys[] = {"idle", "syncing", "backoff", "failing",
                              "auth_failed"};
        int used = snprintf(line, sizeof(line), "%s total",
                            st_str(src, "total", a, sizeof(a)));
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
            if (used > 0 && (size_t)used < sizeof(line))
                used += snprintf(line + used, sizeof(line) - (size_t)used,
                                 ", %s %s", st_str(src, keys[i], a, sizeof(a)),
                                 keys[i]);
        srmctl_table_add(t, (const char *[]){"sources", line});
    }
    srmctl_table_add(t, (const char *[]){"plugins", st_str(res, "plugins", a,
                                                           sizeof(a))});
    srmctl_table_add(t, (const char *[]){"clients", st_str(res, "clients", a,
                                                           sizeof(a))});
    snprintf(line, sizeof(line), "%s in flight, %s queued",
             st_str(http, "in_flight", a, sizeof(a)),
             st_str(http, "queued", b, sizeof(b)));
    srmctl_table_add(t, (const char *[]){"http", line});
    snprintf(line, sizeof(line), "%s pending",
             st_str(writer, "pending", a, sizeof(a)));
    srmctl_table_add(t, (const char *[]){"writer", line});
    srmctl_table_print(t, stdout);
    srmctl_table_destroy(t);
    json_decref(res);
    return SRMCTL_EXIT_OK;
}

static const struct srmctl_cmd status_cmds[] = {
    {"status", "", "show the daemon's version, uptime, sources and load",
     "srmctl status", 0, 0, cmd_status},
    {NULL, NULL, NULL, NULL, 0, 0, NULL},
};
SRMCTL_REGISTER(status_cmds)
