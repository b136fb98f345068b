/* tp_common.h - harmless callbacks shared by the loader's test plugins.
 * Each test plugin differs from good.c in exactly one respect. */
#ifndef SRM_TESTS_PLUGINS_TP_COMMON_H
#define SRM_TESTS_PLUGINS_TP_COMMON_H

#include <stddef.h>

#include "srm/plugin.h"

#define TP_UNUSED __attribute__((unused))

static TP_UNUSED int tp_create(struct srm_instance *inst, void **ret_ctx)
{
    (void)inst;
    *ret_ctx = NULL;
    return 0;
}

static TP_UNUSED int tp_sync(void *ctx)
{
    (void)ctx;
    return 0;
}

static TP_UNUSED int tp_reply(void *ctx, const struct srm_reply_req *req,
                              srm_reply_done_fn done, void *ud)
{
    (void)ctx;
    (void)req;
    (void)done;
    (void)ud;
    return SRM_E_NOTSUP;
}

static TP_UNUSED void tp_destroy(void *ctx)
{
    (void)ctx;
}

/* A descriptor with every member set; test plugins override one member
 * after it, which is exactly what -Woverride-init warns about. */
#pragma GCC diagnostic ignored "-Woverride-init"
#define TP_DESC(plugin_name)                                                  \
    .abi_major = SRM_PLUGIN_ABI_MAJOR, .abi_minor = SRM_PLUGIN_ABI_MINOR,     \
    .struct_size = sizeof(struct srm_plugin), .name = plugin_name,            \
    .version = "0.0.1", .description = "loader test plugin",                  \
    .capabilities = SRM_CAP_MENTIONS, .schema = NULL, .create = tp_create,    \
    .sync = tp_sync, .reply = NULL, .destroy = tp_destroy

#endif
