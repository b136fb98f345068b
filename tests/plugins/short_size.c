/* short_size.c - struct_size shorter than the ABI 1.0 descriptor: refused,
 * since members the loader must read would lie outside it. */
#include "tp_common.h"

static const struct srm_plugin short_size_desc = {
    TP_DESC("short_size"),
    .struct_size = offsetof(struct srm_plugin, destroy),
};

SRM_PLUGIN_EXPORT const struct srm_plugin *
srm_plugin_entry(const struct srm_host_api *host)
{
    (void)host;
    return &short_size_desc;
}
