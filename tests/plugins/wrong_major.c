/* wrong_major.c - built for an incompatible ABI major: refused. */
#include "tp_common.h"

static const struct srm_plugin wrong_major_desc = {
    TP_DESC("wrong_major"),
    .abi_major = SRM_PLUGIN_ABI_MAJOR + 1,
};

SRM_PLUGIN_EXPORT const struct srm_plugin *
srm_plugin_entry(const struct srm_host_api *host)
{
    (void)host;
    return &wrong_major_desc;
}
