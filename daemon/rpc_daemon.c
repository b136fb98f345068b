/* rpc_daemon.c - status, reload, shutdown. */
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "ctl_server.h"
#include "daemon.h"
#include "http.h"
#include "log.h"
#include "mem.h"
#include "plugin_loader.h"
#include "rpc_methods.h"
#include "source.h"
#include "writer.h"

#define SRM_PROTOCOL_VERSION 1

const struct srm_rpc_method *const srm_rpc_tables[] = {
    srm_rpc_daemon_methods,
    srm_rpc_plugins_methods,
    srm_rpc_sources_methods,
    srm_rpc_mentions_methods,
    srm_rpc_team_methods,
    srm_rpc_people_methods,
    NULL,
};

json_t *srm_rpc_time(int64_t t)
{
    return t > 0 ? json_integer((json_int_t)t) : json_null();
}

static void rpc_status(struct srm_rpc_call *call, json_t *params)
{
    struct srm_daemon *d = srm_daemon_self;
    const struct srm_caller *who = srm_rpc_caller(call);
    struct srm_http_stats hs = {0};
    json_int_t counts[SRM_SRC_STOPPED + 1] = {0};
    json_int_t total = 0;
    int64_t now = (int64_t)time(NULL);
    json_t *states;

    (void)params;
    for (struct srm_instance *s = d->sources; s; s = s->next) {
        counts[s->state]++;
        total++;
    }
    states = json_pack("{s:I}", "total", total);
    for (int st = SRM_SRC_IDLE; st < SRM_SRC_STOPPED; st++)
        json_object_set_new(states, srm_source_state_name(st),
                            json_integer(counts[st]));
    if (d->http)
        srm_http_get_stats(d->http, &hs);
    srm_rpc_reply(call, json_pack(
        "{s:s, s:i, s:I, s:I, s:I, s:s, s:{s:s, s:b, s:b}, s:o, s:I, s:I,"
        " s:{s:I, s:I}, s:{s:I, s:I}}",
        "version", SRM_VERSION, "protocol", SRM_PROTOCOL_VERSION,
        "pid", (json_int_t)getpid(), "started_at", (json_int_t)d->started_at,
        "uptime_s", (json_int_t)(now - d->started_at),
        "database", d->cfg->config->database,
        "caller", "user", who->user, "admin", who->is_admin, "member",
        who->is_member,
        "sources", states,
        "plugins", (json_int_t)srm_plugins_count(d->plugins),
        "clients", (json_int_t)(d->ctl ? srm_ctl_server_clients(d->ctl) : 0),
        "http", "in_flight", (json_int_t)hs.in_flight, "queued",
        (json_int_t)hs.queued,
        "writer", "pending",
        (json_int_t)(d->writer ? srm_writer_pending(d->writer) : 0),
        "backlog", (json_int_t)d->backlog));
}

static json_t *rpc_names(char **names, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(names[i]));
    return a;
}

static void rpc_reload(struct srm_rpc_call *call, json_t *params)
{
    struct srm_reload_result res = {0};
    struct srm_diag diag;
    int rc;

    (void)params;
    srm_diag_init(&diag);
    rc = srm_daemon_reload(srm_daemon_self, &diag, &res);
    if (rc < 0) {
        json_t *errors = json_array();
        for (size_t i = 0; i < diag.n; i++)
            json_array_append_new(errors, json_string(diag.msgs[i]));
        srm_diag_print(&diag);
        srm_rpc_fail_data(call, SRM_RPC_BAD_CONFIG,
                          json_pack("{s:o}", "errors", errors),
                          "configuration refused, the running one stays: %s",
                          diag.n ? diag.msgs[0] : "cannot reload now");
    } else {
        srm_rpc_reply(call, json_pack(
            "{s:o, s:o, s:o, s:I}", "added", rpc_names(res.added, res.n_added),
            "removed", rpc_names(res.removed, res.n_removed), "changed",
            rpc_names(res.changed, res.n_changed), "unchanged",
            (json_int_t)res.n_unchanged));
    }
    srm_reload_result_fini(&res);
    srm_diag_fini(&diag);
}

static void rpc_stop_closed(uv_handle_t *h)
{
    free(h);
}

static void rpc_stop_now(uv_timer_t *t)
{
    uv_close((uv_handle_t *)t, rpc_stop_closed);
    srm_daemon_stop(srm_daemon_self);
}

static void rpc_shutdown(struct srm_rpc_call *call, json_t *params)
{
    uv_timer_t *t = srm_xcalloc(1, sizeof(*t));

    (void)params;
    SRM_NOTICE("daemon: shutdown requested by %s",
               srm_rpc_caller(call)->user);
    srm_rpc_reply(call, json_pack("{s:b}", "stopping", 1));
    /* Stop on a later tick so the answer leaves the socket first. */
    uv_timer_init(srm_daemon_self->loop, t);
    uv_timer_start(t, rpc_stop_now, 20, 0);
}

const struct srm_rpc_method srm_rpc_daemon_methods[] = {
    {"status", false, rpc_status},
    {"reload", true, rpc_reload},
    {"shutdown", true, rpc_shutdown},
    {NULL, false, NULL},
};
