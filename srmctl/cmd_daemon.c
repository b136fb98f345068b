/* cmd_daemon.c - `srmctl reload` and `srmctl shutdown` (admins only). */
#include <stdio.h>

#include "format.h"
#include "srmctl.h"

static int cmd_reload(struct srmctl *ctx, int argc, char **argv)
{
    static const char *const keys[] = {"added", "removed", "changed",
                                       "unchanged"};
    json_t *res;
    int r = srmctl_call_or_json(ctx, "reload", NULL, &res);
    struct srmctl_table *t;
    char val[4096], label[32];

    if (res == NULL)
        return r;
    t = srmctl_table_create(2, NULL);
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        snprintf(label, sizeof(label), "%s:", keys[i]);
        srmctl_fmt_value(json_object_get(res, keys[i]), val, sizeof(val));
        srmctl_table_add(t, (const char *[]){label, val});
    }
    srmctl_table_print(t, stdout);
    srmctl_table_destroy(t);
    json_decref(res);
    return SRMCTL_EXIT_OK;
}

static int cmd_shutdown(struct srmctl *ctx, int argc, char **argv)
{
    json_t *res;
    int r = srmctl_call_or_json(ctx, "shutdown", NULL, &res);

    if (res == NULL)
        return r;
    puts(json_is_true(json_object_get(res, "stopping"))
             ? "srmd is stopping"
             : "srmd did not agree to stop");
    json_decref(res);
    return SRMCTL_EXIT_OK;
}

static const struct srmctl_cmd daemon_cmds[] = {
    {"reload", "", "re-read the config and apply source changes (admin)",
     "srmctl reload", 0, 0, cmd_reload},
    {"shutdown", "", "stop srmd cleanly (admin)", "srmctl shutdown", 0, 0,
     cmd_shutdown},
    {NULL, NULL, NULL, NULL, 0, 0, NULL},
};
SRMCTL_REGISTER(daemon_cmds)
