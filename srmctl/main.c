/* main.c - srmctl: options, picking the socket, running one command. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "srmctl.h"

#ifndef SRM_VERSION
#define SRM_VERSION "unknown"
#endif

static void print_cmd(const struct srmctl_cmd *cmd, void *ud)
{
    char lhs[64];

    snprintf(lhs, sizeof(lhs), "%s%s%s", cmd->name, cmd->args[0] ? " " : "",
             cmd->args);
    fprintf(ud, "  %-28s %s\n", lhs, cmd->summary);
}

static void print_usage(FILE *out)
{
    fputs("usage: srmctl [-s SOCKET] [--json] COMMAND [ARGS]\n"
          "\n"
          "Options:\n"
          "  -s, --socket SOCKET   srmd's control socket (default: "
          "$SRM_SOCKET, else " SRMCTL_DEFAULT_SOCKET ")\n"
          "  -j, --json            print the raw JSON result (for jq)\n"
          "  -h, --help            this help\n"
          "  -V, --version         print the version\n"
          "\n"
          "Commands:\n", out);
    srmctl_each(print_cmd, out);
    fputs("\nExit status: 0 ok, 1 error answer, 2 usage error, 3 srmd "
          "unreachable.\nSee srmctl(1).\n", out);
}

static int cmd_help(struct srmctl *ctx, int argc, char **argv)
{
    const struct srmctl_cmd *cmd;

    if (argc == 1) {
        print_usage(stdout);
        return SRMCTL_EXIT_OK;
    }
    cmd = srmctl_find(argv[1]);
    if (cmd == NULL)
        return srmctl_usage("unknown command '%s'", argv[1]);
    printf("usage: srmctl %s%s%s\n%s\nexample: %s\n", cmd->name,
           cmd->args[0] ? " " : "", cmd->args, cmd->summary, cmd->example);
    return SRMCTL_EXIT_OK;
}

static const struct srmctl_cmd help_cmds[] = {
    {"help", "[COMMAND]", "list the commands, or explain one",
     "srmctl help sources", 0, 1, cmd_help},
    {NULL, NULL, NULL, NULL, 0, 0, NULL},
};
SRMCTL_REGISTER(help_cmds)

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"socket", required_argument, NULL, 's'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    struct srmctl ctx = {0};
    const struct srmctl_cmd *cmd;
    int opt, nargs, r;

    /* "+": options end at the command, so `call m '{"-x":1}'` is safe. */
    while ((opt = getopt_long(argc, argv, "+s:jhV", longopts, NULL)) != -1) {
        switch (opt) {
        case 's':
            ctx.socket = optarg;
            break;
        case 'j':
            ctx.json = true;
            break;
        case 'h':
            print_usage(stdout);
            return SRMCTL_EXIT_OK;
        case 'V':
            printf("srmctl %s\n", SRM_VERSION);
            return SRMCTL_EXIT_OK;
        default:
            fputs("Try 'srmctl help'.\n", stderr);
            return SRMCTL_EXIT_USAGE;
        }
    }
    if (ctx.socket == NULL || ctx.socket[0] == '\0')
        ctx.socket = getenv("SRM_SOCKET");
    if (ctx.socket == NULL || ctx.socket[0] == '\0')
        ctx.socket = SRMCTL_DEFAULT_SOCKET;
    if (optind >= argc) {
        print_usage(stderr);
        return SRMCTL_EXIT_USAGE;
    }
    cmd = srmctl_find(argv[optind]);
    if (cmd == NULL)
        return srmctl_usage("unknown command '%s'", argv[optind]);
    nargs = argc - optind - 1;
    if (nargs < cmd->min_args || nargs > cmd->max_args)
        return srmctl_usage("usage: srmctl %s%s%s", cmd->name,
                            cmd->args[0] ? " " : "", cmd->args);
    r = cmd->run(&ctx, argc - optind, argv + optind);
    srmctl_client_close(ctx.client);
    if (fflush(stdout) != 0 && r == SRMCTL_EXIT_OK) {
        perror("srmctl: stdout");
        r = SRMCTL_EXIT_ANSWER;
    }
    return r;
}
