/* schema_reserved.c - a schema claiming the daemon's key "every": refused. */
#include "tp_common.h"

static const struct srm_cfg_field schema_reserved_schema[] = {
    {"url", SRM_CFG_URL, NULL, true, "feed"},
    {"every", SRM_CFG_DURATION, "5m", false, "mine, not the daemon's"},
    {NULL, 0, NULL, false, NULL},
};

static const struct srm_plugin schema_reserved_desc = {
    TP_DESC("schema_reserved"),
    .schema = schema_reserved_schema,
};

SRM_PLUGIN_EXPORT const struct srm_plugin *
srm_plugin_entry(const struct srm_host_api *host)
{
    (void)host;
    return &schema_reserved_desc;
}
