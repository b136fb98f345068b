/* srmctl.h - what every srmctl command file shares: the run context, the
 * command table and how a command calls srmd.
 *
 * A new area of commands is one new file, cmd_<area>.c, holding a table of
 * struct srmctl_cmd and one SRMCTL_REGISTER(table) line; nothing else
 * changes. */
#ifndef SRMCTL_SRMCTL_H
#define SRMCTL_SRMCTL_H

#include <stdbool.h>

#include <jansson.h>

#ifndef SRMCTL_DEFAULT_SOCKET
#define SRMCTL_DEFAULT_SOCKET "/run/srmd/srmd.sock"
#endif

/* Exit statuses (docs/srmctl.1). */
enum srmctl_exit {
    SRMCTL_EXIT_OK = 0,
    SRMCTL_EXIT_ANSWER = 1,      /* srmd answered with an error */
    SRMCTL_EXIT_USAGE = 2,       /* bad command line */
    SRMCTL_EXIT_UNREACHABLE = 3, /* no srmd at the socket */
};

struct srmctl_client;

struct srmctl {
    const char *socket;            /* from -s, $SRM_SOCKET or the default */
    bool json;                     /* --json: print raw results */
    struct srmctl_client *client;  /* connected on the first call */
};

struct srmctl_cmd {
    const char *name;    /* "sources"; NULL ends a table */
    const char *args;    /* usage of the arguments, "" for none */
    const char *summary; /* one line for `srmctl help` */
    const char *example; /* a full example command line */
    int min_args, max_args;
    /* argv[0] is the command name; returns an enum srmctl_exit. */
    int (*run)(struct srmctl *ctx, int argc, char **argv);
};

/* Add a table (static, NULL-name-terminated) to the commands. */
void srmctl_register(const struct srmctl_cmd *table);
#define SRMCTL_REGISTER(table)                                                \
    static void __attribute__((constructor)) srmctl_register_##table(void)    \
    {                                                                         \
        srmctl_register(table);                                               \
    }

/* The command named name, or NULL. */
const struct srmctl_cmd *srmctl_find(const char *name);
/* Call fn for every command, sorted by name. */
void srmctl_each(void (*fn)(const struct srmctl_cmd *cmd, void *ud),
                 void *ud);

/* Call method with params (stolen; NULL sends none) and wait for the
 * answer (blocks). On success returns SRMCTL_EXIT_OK and *ret_result holds
 * the result (caller decrefs). Otherwise prints "srmctl: ..." to stderr and
 * returns SRMCTL_EXIT_ANSWER or SRMCTL_EXIT_UNREACHABLE. */
int srmctl_call(struct srmctl *ctx, const char *method, json_t *params,
                json_t **ret_result);
/* Call, then print the result as JSON when --json was given. Returns like
 * srmctl_call; *ret_result is NULL when it was printed already. */
int srmctl_call_or_json(struct srmctl *ctx, const char *method,
                        json_t *params, json_t **ret_result);
/* Pretty-print v (any JSON value) to stdout. */
int srmctl_print_json(const json_t *v);
/* Print "srmctl: <message>" and a hint to stderr; returns
 * SRMCTL_EXIT_USAGE. */
int srmctl_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
