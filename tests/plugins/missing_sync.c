/* missing_sync.c - no sync callback: refused. */
#include "tp_common.h"

static const struct srm_plugin missing_sync_desc = {
    TP_DESC("missing_sync"),
    .sync = NULL,
};

SRM_PLUGIN_EXPORT const struct srm_plugin *
srm_plugin_entry(const struct srm_host_api *host)
{
    (void)host;
    return &missing_sync_desc;
}
