/* rpc_methods.h - every method table the control socket serves. Each
 * daemon/rpc_<area>.c exports one table; srm_rpc_tables lists them. */
#ifndef SRM_DAEMON_RPC_METHODS_H
#define SRM_DAEMON_RPC_METHODS_H

#include "rpc.h"

/* status, reload, shutdown */
extern const struct srm_rpc_method srm_rpc_daemon_methods[];
/* plugins.list */
extern const struct srm_rpc_method srm_rpc_plugins_methods[];
/* sources.list, sources.show, sources.sync */
extern const struct srm_rpc_method srm_rpc_sources_methods[];

/* mentions.list|search|show|assign|claim|set_status|reply */
extern const struct srm_rpc_method srm_rpc_mentions_methods[];
/* watch, outcomes.add, report, history */
extern const struct srm_rpc_method srm_rpc_team_methods[];
/* people.*, interactions.log */
extern const struct srm_rpc_method srm_rpc_people_methods[];

/* NULL-terminated. */
extern const struct srm_rpc_method *const srm_rpc_tables[];

/* JSON for a unix time: an integer, or null for 0 (never). */
json_t *srm_rpc_time(int64_t t);

#endif
