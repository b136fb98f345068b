/* rpc_plugins.c - plugins.list. */
#include "daemon.h"
#include "plugin_loader.h"
#include "rpc_methods.h"

static void rpc_plugins_list(struct srm_rpc_call *call, json_t *params)
{
    struct srm_plugins *p = srm_daemon_self->plugins;
    json_t *list = json_array();

    (void)params;
    for (size_t i = 0; i < srm_plugins_count(p); i++) {
        const struct srm_loaded_plugin *lp = srm_plugins_at(p, i);
        const char *caps[8];
        size_t n = srm_plugin_capability_names(lp->desc.capabilities, caps,
                                               8);
        json_t *jcaps = json_array();
        char abi[32];

        for (size_t j = 0; j < n; j++)
            json_array_append_new(jcaps, json_string(caps[j]));
        snprintf(abi, sizeof(abi), "%u.%u", lp->abi_major, lp->abi_minor);
        json_array_append_new(
            list, json_pack("{s:s, s:s?, s:s, s:o, s:s, s:s?}", "name",
                            lp->name, "version", lp->desc.version, "abi", abi,
                            "capabilities", jcaps, "path", lp->path,
                            "description", lp->desc.description));
    }
    srm_rpc_reply(call, json_pack("{s:o}", "plugins", list));
}

const struct srm_rpc_method srm_rpc_plugins_methods[] = {
    {"plugins.list", false, rpc_plugins_list},
    {NULL, false, NULL},
};
