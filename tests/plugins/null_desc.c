/* null_desc.c - the entry point declines by returning NULL: refused. */
#include "tp_common.h"

SRM_PLUGIN_EXPORT const struct srm_plugin *
srm_plugin_entry(const struct srm_host_api *host)
{
    (void)host;
    return NULL;
}
