/* bigger.c - a descriptor with members appended after ours (as a plugin
 * built against a later header would have) that still declares minor 0:
 * accepted, and the loader copies only the members it knows. */
#include "tp_common.h"

struct bigger_desc {
    struct srm_plugin base;
    void (*future_callback)(void *ctx); /* a member srmd does not know */
    unsigned long canary;
};

static const struct bigger_desc bigger_desc = {
    .base = {TP_DESC("bigger"), .struct_size = sizeof(struct bigger_desc)},
    .future_callback = NULL,
    .canary = 0xdeadbeefUL,
};

SRM_PLUGIN_EXPORT const struct srm_plugin *
srm_plugin_entry(const struct srm_host_api *host)
{
    (void)host;
    return &bigger_desc.base;
}
