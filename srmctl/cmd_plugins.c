/* cmd_plugins.c - `srmctl plugins`: the connectors srmd has loaded. */
#include <stdio.h>

#include "format.h"
#include "srmctl.h"

static int cmd_plugins(struct srmctl *ctx, int argc, char **argv)
{
    static const char *const head[] = {"NAME", "VERSION", "ABI",
                                       "CAPABILITIES", "PATH"};
    static const char *const keys[] = {"name", "version", "abi",
                                       "capabilities", "path"};
    json_t *res, *p;
    int r = srmctl_call_or_json(ctx, "plugins.list", NULL, &res);
    struct srmctl_table *t;
    size_t i;

    if (res == NULL)
        return r;
    t = srmctl_table_create(5, head);
    json_array_foreach(json_object_get(res, "plugins"), i, p) {
        char cell[5][512];
        const char *row[5];

        for (size_t k = 0; k < 5; k++)
            row[k] = srmctl_fmt_value(json_object_get(p, keys[k]), cell[k],
                                      sizeof(cell[k]));
        srmctl_table_add(t, row);
    }
    srmctl_table_print(t, stdout);
    srmctl_table_destroy(t);
    json_decref(res);
    return SRMCTL_EXIT_OK;
}

static const struct srmctl_cmd plugins_cmds[] = {
    {"plugins", "", "list the loaded connector plugins", "srmctl plugins", 0,
     0, cmd_plugins},
    {NULL, NULL, NULL, NULL, 0, 0, NULL},
};
SRMCTL_REGISTER(plugins_cmds)
