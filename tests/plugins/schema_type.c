/* schema_type.c - a schema row with a type srmd does not know: refused. */
#include "tp_common.h"

static const struct srm_cfg_field schema_type_schema[] = {
    {"colour", (enum srm_cfg_type)99, NULL, false, "a type from the future"},
    {NULL, 0, NULL, false, NULL},
};

static const struct srm_plugin schema_type_desc = {
    TP_DESC("schema_type"),
    .schema = schema_type_schema,
};

SRM_PLUGIN_EXPORT const struct srm_plugin *
srm_plugin_entry(const struct srm_host_api *host)
{
    (void)host;
    return &schema_type_desc;
}
