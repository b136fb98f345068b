/* reply_without_fn.c - SRM_CAP_REPLY without a reply callback: refused. */
#include "tp_common.h"

static const struct srm_plugin reply_without_fn_desc = {
    TP_DESC("reply_without_fn"),
    .capabilities = SRM_CAP_MENTIONS | SRM_CAP_REPLY,
    .reply = NULL,
};

SRM_PLUGIN_EXPORT const struct srm_plugin *
srm_plugin_entry(const struct srm_host_api *host)
{
    (void)host;
    return &reply_without_fn_desc;
}
