/* schema_dup.c - a schema listing one key twice: refused. */
#include "tp_common.h"

static const struct srm_cfg_field schema_dup_schema[] = {
    {"url", SRM_CFG_URL, NULL, true, "feed"},
    {"limit", SRM_CFG_INT, "5", false, "items"},
    {"url", SRM_CFG_STRING, NULL, false, "again"},
    {NULL, 0, NULL, false, NULL},
};

static const struct srm_plugin schema_dup_desc = {
    TP_DESC("schema_dup"),
    .schema = schema_dup_schema,
};

SRM_PLUGIN_EXPORT const struct srm_plugin *
srm_plugin_entry(const struct srm_host_api *host)
{
    (void)host;
    return &schema_dup_desc;
}
