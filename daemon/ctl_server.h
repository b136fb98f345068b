/* ctl_server.h - the control socket: a Unix stream socket on the loop that
 * speaks NDJSON JSON-RPC 2.0 (docs/protocol.md) and dispatches each request
 * to a method table (daemon/rpc.h).
 *
 * Everything here runs on the loop thread and never blocks, except
 * srm_ctl_server_start, which makes a few quick file-system calls and a
 * non-blocking connect to probe an existing socket. */
#ifndef SRM_DAEMON_CTL_SERVER_H
#define SRM_DAEMON_CTL_SERVER_H

#include <stddef.h>

#include <uv.h>

#include "rpc.h"

struct srm_ctl_server;

struct srm_ctl_opts {
    const char *path;   /* socket path (copied) */
    unsigned mode;      /* permission bits, e.g. 0660 */
    const char *group;  /* chown the socket to this group, or NULL */
    size_t max_request; /* longest request line, e.g. 1 MiB */
    size_t max_clients; /* beyond this, new clients are accepted and closed */
    size_t max_output;  /* per-client queued output cap, e.g. 16 MiB; a
                           client over it is dropped */
    /* NULL-terminated list of NULL-name-terminated method tables, borrowed:
     * they must outlive the server (they are normally static const). */
    const struct srm_rpc_method *const *tables;
    /* Fill caller->is_admin / is_member from uid and user; called for each
     * request with the other members already filled. NULL makes root and
     * the user srmd runs as admins, and nobody else a member. An admin
     * counts as a member. */
    void (*identify)(struct srm_caller *caller, void *ud);
    void *ud;
};

/* Sensible defaults for the size limits (used when an opts field is 0). */
#define SRM_CTL_DEFAULT_MAX_REQUEST ((size_t)1 << 20)
#define SRM_CTL_DEFAULT_MAX_CLIENTS ((size_t)4096)
#define SRM_CTL_DEFAULT_MAX_OUTPUT ((size_t)16 << 20)

/* Create the socket and start accepting on loop. Creates the parent folder
 * (0700) if missing. An existing socket file that refuses connections is
 * stale and replaced; one that accepts means another srmd is serving it:
 * -EADDRINUSE. Any other existing file: -EEXIST. The socket is bound with a
 * umask so it is never wider than mode, then chowned to group and chmod'ed
 * to mode. Ignores SIGPIPE for the process (a client vanishing must not kill
 * srmd). Logs the reason of any failure. On success *ret is the server,
 * owned by the caller until srm_ctl_server_stop. */
int srm_ctl_server_start(uv_loop_t *loop, const struct srm_ctl_opts *opts,
                         struct srm_ctl_server **ret);

/* Close every client and the listening socket and unlink the socket file
 * (if it is still ours). The server memory is freed by the last close
 * callback, so run the loop afterwards. Calls still held by handlers stay
 * valid; their answers are dropped. Accepts NULL. */
void srm_ctl_server_stop(struct srm_ctl_server *s);

/* Connected clients (for status). */
size_t srm_ctl_server_clients(const struct srm_ctl_server *s);

/* ---- Internal: shared by ctl_server.c and rpc.c only ------------------- */

/* One request being handled. Created by the server, ended (and freed) by
 * srm_rpc_reply/srm_rpc_fail_data through srm_ctl_call_end. params handed
 * to the handler are borrowed until it returns (an absent params is passed
 * as an empty object); a handler answering later copies what it needs. */
struct srm_rpc_call {
    struct srm_ctl_client *client; /* NULL once the client has gone */
    struct srm_caller caller;
    json_t *id;   /* owned; NULL for a notification (answer not sent) */
    char *method; /* owned */
};

/* True while the client is connected and not being dropped. */
bool srm_ctl_client_alive(const struct srm_ctl_client *c);
/* Send line (taken; NULL sends nothing), free the call, and let its client
 * go on with its next request. */
void srm_ctl_call_end(struct srm_rpc_call *call, char *line, size_t len);

#endif
