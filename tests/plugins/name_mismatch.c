/* name_mismatch.c - name_mismatch.so declares "something_else": refused. */
#include "tp_common.h"

static const struct srm_plugin name_mismatch_desc = {
    TP_DESC("something_else"),
};

SRM_PLUGIN_EXPORT const struct srm_plugin *
srm_plugin_entry(const struct srm_host_api *host)
{
    (void)host;
    return &name_mismatch_desc;
}
