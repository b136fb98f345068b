/* newer_minor.c - built for a newer srmd (minor 7): refused. */
#include "tp_common.h"

static const struct srm_plugin newer_minor_desc = {
    TP_DESC("newer_minor"),
    .abi_minor = 7,
};

SRM_PLUGIN_EXPORT const struct srm_plugin *
srm_plugin_entry(const struct srm_host_api *host)
{
    (void)host;
    return &newer_minor_desc;
}
