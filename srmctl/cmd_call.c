/* cmd_call.c - `srmctl call METHOD [JSON-PARAMS]`: any method, raw. */
#include <stdio.h>

#include "srmctl.h"

static int cmd_call(struct srmctl *ctx, int argc, char **argv)
{
    json_t *params = NULL;
    json_t *res = NULL;
    json_error_t jerr;
    int r;

    if (argc > 2) {
        params = json_loads(argv[2], 0, &jerr);
        if (params == NULL)
            return srmctl_usage("JSON-PARAMS: %s (column %d)", jerr.text,
                                jerr.column);
    }
    r = srmctl_call(ctx, argv[1], params, &res);
    if (r != SRMCTL_EXIT_OK)
        return r;
    r = srmctl_print_json(res);
    json_decref(res);
    return r;
}

static const struct srmctl_cmd call_cmds[] = {
    {"call", "METHOD [JSON-PARAMS]",
     "call any method and print its result as JSON",
     "srmctl call sources.show '{\"name\":\"hn\"}'", 1, 2, cmd_call},
    {NULL, NULL, NULL, NULL, 0, 0, NULL},
};
SRMCTL_REGISTER(call_cmds)
