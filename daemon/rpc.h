/* rpc.h - JSON-RPC methods: the table each daemon/rpc_<area>.c exports and
 * the calls a handler makes to answer.
 *
 * A handler runs on the loop thread. It answers exactly once, now or later
 * (after a reader or writer job), with srm_rpc_reply() or srm_rpc_fail().
 * The call object stays valid until then even if the client disconnects;
 * the answer is then dropped. */
#ifndef SRM_DAEMON_RPC_H
#define SRM_DAEMON_RPC_H

#include <stdbool.h>
#include <sys/types.h>

#include <jansson.h>

/* JSON-RPC 2.0 error codes, and srmd's own (-32000..-32099). */
enum srm_rpc_code {
    SRM_RPC_PARSE_ERROR = -32700,
    SRM_RPC_INVALID_REQUEST = -32600,
    SRM_RPC_METHOD_NOT_FOUND = -32601,
    SRM_RPC_INVALID_PARAMS = -32602,
    SRM_RPC_INTERNAL_ERROR = -32603,
    SRM_RPC_DENIED = -32001,     /* caller lacks the role */
    SRM_RPC_NOT_FOUND = -32002,  /* no such source, mention, person... */
    SRM_RPC_CONFLICT = -32003,   /* claimed by someone else, busy... */
    SRM_RPC_UNAVAILABLE = -32004,/* database or network failure */
    SRM_RPC_NOT_SUPPORTED = -32005, /* plugin lacks the capability */
    SRM_RPC_RETIRED = -32006,    /* method existed once; see message */
    SRM_RPC_BAD_CONFIG = -32007, /* reload refused; error.data.errors */
};

/* Who is calling, from the socket's peer credentials. */
struct srm_caller {
    uid_t uid;
    gid_t gid;
    pid_t pid;
    char user[64];  /* Unix user name, or the uid as text */
    bool is_admin;  /* team.admins, the user srmd runs as, or root */
    bool is_member; /* team.members (admins are members too) */
};

struct srm_rpc_call;
struct srm_ctl_client;

typedef void (*srm_rpc_handler)(struct srm_rpc_call *call, json_t *params);

struct srm_rpc_method {
    const char *name;       /* "sources.list"; NULL ends a table */
    bool admin_only;
    srm_rpc_handler handler;
};

const struct srm_caller *srm_rpc_caller(const struct srm_rpc_call *call);
/* The connection the call came on (for watch subscriptions); NULL once the
 * client has gone. */
struct srm_ctl_client *srm_rpc_client(const struct srm_rpc_call *call);

/* Answer with result (reference stolen; NULL means {}). Ends the call. */
void srm_rpc_reply(struct srm_rpc_call *call, json_t *result);
/* Answer with an error; data (stolen, may be NULL) goes in error.data.
 * Ends the call. */
void srm_rpc_fail_data(struct srm_rpc_call *call, int code, json_t *data,
                       const char *fmt, ...) __attribute__((format(printf, 4, 5)));
#define srm_rpc_fail(call, code, ...)                                         \
    srm_rpc_fail_data(call, code, NULL, __VA_ARGS__)

/* Send a JSON-RPC notification {"jsonrpc":"2.0","method":m,"params":p} to a
 * client (params stolen). Returns 0, or -EPIPE when the client is gone or its
 * output queue is full (the client is then dropped). */
int srm_ctl_client_notify(struct srm_ctl_client *client, const char *method,
                          json_t *params);
/* Called once when the client disconnects (for unsubscribing). */
void srm_ctl_client_on_close(struct srm_ctl_client *client,
                             void (*fn)(struct srm_ctl_client *, void *),
                             void *ud);

/* Parameter helpers: fetch a member of params with a type check; on a wrong
 * type or a missing required member they answer the call with
 * SRM_RPC_INVALID_PARAMS naming the member and return false. */
bool srm_rpc_param_str(struct srm_rpc_call *call, json_t *params,
                       const char *key, bool required, const char **ret);
bool srm_rpc_param_int(struct srm_rpc_call *call, json_t *params,
                       const char *key, bool required, json_int_t *ret);
bool srm_rpc_param_bool(struct srm_rpc_call *call, json_t *params,
                        const char *key, bool required, bool *ret);

#endif
