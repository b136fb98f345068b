/* good.c - a well-formed plugin: the loader must accept it. */
#include "tp_common.h"

static const struct srm_cfg_field good_schema[] = {
    {"url", SRM_CFG_URL, NULL, true, "where to fetch from"},
    {"limit", SRM_CFG_INT, "50", false, "items per request"},
    {"tags", SRM_CFG_STRING_LIST, NULL, false, "hashtags to follow"},
    {"token", SRM_CFG_SECRET, NULL, false, "API token"},
    {NULL, 0, NULL, false, NULL},
};

/* Written out in full: this is what a correct descriptor looks like. */
static const struct srm_plugin good_desc = {
    .abi_major = SRM_PLUGIN_ABI_MAJOR,
    .abi_minor = SRM_PLUGIN_ABI_MINOR,
    .struct_size = sizeof(struct srm_plugin),
    .name = "good",
    .version = "1.2.3",
    .description = "a plugin that loads",
    .capabilities = SRM_CAP_MENTIONS | SRM_CAP_CONTACTS | SRM_CAP_REPLY,
    .schema = good_schema,
    .create = tp_create,
    .sync = tp_sync,
    .reply = tp_reply,
    .destroy = tp_destroy,
};

/* Declining without a proper host table lets the loader test prove that
 * the entry point receives the registry's table. */
SRM_PLUGIN_EXPORT const struct srm_plugin *
srm_plugin_entry(const struct srm_host_api *host)
{
    if (host == NULL || host->abi_major != SRM_PLUGIN_ABI_MAJOR)
        return NULL;
    return &good_desc;
}
