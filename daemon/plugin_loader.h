/* plugin_loader.h - find, check and load connector plugins (*.so).
 *
 * Each plugin is dlopen()ed with RTLD_NOW|RTLD_LOCAL, its one exported
 * symbol srm_plugin_entry() is called with the host table, and the
 * descriptor it returns is checked against include/srm/plugin.h before it is
 * registered. A refused plugin is logged as "plugin_loader: PATH: REASON"
 * (with expected vs found where that applies) and unloaded again.
 *
 * Everything here runs on the loop thread (or before the loop starts); the
 * loader reads files and calls dlopen(), so it blocks briefly: call it at
 * startup and on reload, never from a plugin callback. */
#ifndef SRM_DAEMON_PLUGIN_LOADER_H
#define SRM_DAEMON_PLUGIN_LOADER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "srm/plugin.h"

/* One loaded plugin. Owned by the registry; valid until
 * srm_plugins_destroy(). */
struct srm_loaded_plugin {
    char *name;             /* from the descriptor (a copy) */
    char *path;             /* absolute path of the .so */
    void *dl;               /* dlopen handle */
    /* A copy of the descriptor: min(desc->struct_size, sizeof) bytes, the
     * rest zero, so members a plugin built for an older minor lacks read as
     * NULL / 0. Its pointers (version, description, schema, callbacks)
     * point into the plugin and stay valid while it is loaded. */
    struct srm_plugin desc;
    uint32_t abi_major, abi_minor; /* as the plugin declared */
};

/* The registry of loaded plugins. Opaque. */
struct srm_plugins;

/* Create an empty registry. host is borrowed and handed to every plugin's
 * srm_plugin_entry(); plugins keep the pointer, so it must stay valid (and
 * unchanged) until srm_plugins_destroy(). Returns 0 and the registry in
 * *ret (freed with srm_plugins_destroy), or -EINVAL when host is NULL or
 * its struct_size is too small to hold the ABI fields. Does not block. */
int srm_plugins_create(const struct srm_host_api *host,
                       struct srm_plugins **ret);

/* dlclose every plugin and free the registry. The caller first destroys
 * every instance created from these plugins: their code is unmapped here.
 * Accepts NULL. */
void srm_plugins_destroy(struct srm_plugins *p);

/* Load every regular "*.so" file of dir, in strcmp order of their names
 * (hidden files are ignored). A refused file is logged with the reason and
 * skipped; the others still load. Returns the number of plugins loaded (0
 * included), or a negative errno, logged, when dir cannot be read. Blocks
 * on the file system and the dynamic linker. */
int srm_plugins_load_dir(struct srm_plugins *p, const char *dir);

/* Load one file. Refused (logged, SRM_E_CONFIG returned) when: it is not a
 * regular file (symlinks included, checked with lstat) or it or its folder
 * is world-writable; dlopen fails; it lacks srm_plugin_entry; the entry
 * returns NULL; the ABI major differs or the minor is newer than ours; the
 * descriptor is shorter than the ABI 1.0 one; name, create, sync or destroy
 * is NULL; SRM_CAP_REPLY is set without reply(); the name differs from the
 * file stem ("rss.so" must declare "rss"); the name is already loaded; or
 * the schema repeats a key, lists a daemon key (name, plugin, every,
 * insecure) or has an unknown type. Other failures (e.g. -ENOENT from
 * lstat) return a negative errno, also logged. Returns 0 when loaded.
 * Blocks on the file system and the dynamic linker. */
int srm_plugins_load_file(struct srm_plugins *p, const char *path);

/* The plugin called name, or NULL. Borrowed from the registry. */
const struct srm_loaded_plugin *srm_plugins_find(const struct srm_plugins *p,
                                                 const char *name);

/* Number of loaded plugins. */
size_t srm_plugins_count(const struct srm_plugins *p);

/* The i-th plugin in load order (i < srm_plugins_count), or NULL when i is
 * out of range. Borrowed from the registry. */
const struct srm_loaded_plugin *srm_plugins_at(const struct srm_plugins *p,
                                               size_t i);

/* Names of the capability bits set in caps, in bit order: "mentions",
 * "contacts", "reply", "stream"; unknown bits are skipped. Stores up to max
 * static strings in ret_names and returns how many it stored. */
size_t srm_plugin_capability_names(uint32_t caps, const char **ret_names,
                                   size_t max);

/* The name of a schema type ("string", "int", "bool", "duration",
 * "string_list", "secret", "url"), or NULL for an unknown one. Static. */
const char *srm_plugin_cfg_type_name(enum srm_cfg_type type);

/* Print the plugin as `srmd --describe NAME` shows it: name, version, ABI,
 * capabilities, description, path, then one row per schema key (key, type,
 * default, required, description). Writes to out; blocks only as stdio
 * does. */
void srm_plugin_describe(const struct srm_loaded_plugin *lp, FILE *out);

#endif
