/* faulty.c - a connector that misbehaves in the way its `fault` key names,
 * so the reliability tests can show that srmd stays up, says which plugin
 * misbehaved, and keeps its data consistent:
 *   ok              emit two good mentions, then finish
 *   error           finish every pass with SRM_PASS_ERROR
 *   sync_fails      sync() returns an error without pass_done
 *   never_finish    never call pass_done (the pass timeout reclaims it)
 *   bad_records     records with missing keys, bad UTF-8, huge fields
 *   after_done      emit and set cursors after pass_done, and call
 *                   pass_done twice
 *   create_fails    create() refuses the source
 */
#include <stdlib.h>
#include <string.h>

#include "srm/plugin.h"

static const struct srm_host_api *host;

struct faulty {
    struct srm_instance *inst;
    const char *fault;
    unsigned passes;
};

static void fy_good(struct faulty *f, const char *id, const char *text)
{
    struct srm_identity who = SRM_IDENTITY_INIT;
    struct srm_mention m = SRM_MENTION_INIT;

    who.remote_id = "faulty-author";
    who.handle = "faulty";
    host->identity_upsert(f->inst, &who);
    m.remote_id = id;
    m.author_id = "faulty-author";
    m.text = text;
    host->mention_add(f->inst, &m);
}

static void fy_bad_records(struct faulty *f)
{
    struct srm_mention m = SRM_MENTION_INIT;
    struct srm_identity who = SRM_IDENTITY_INIT;
    struct srm_contact c = SRM_CONTACT_INIT;
    size_t big = 3 * 1024 * 1024;
    char *huge = malloc(big + 1);

    host->mention_add(f->inst, &m); /* no remote_id */
    host->identity_upsert(f->inst, &who); /* no remote_id */
    c.remote_id = "x";
    c.relation = 99; /* no such relation */
    host->contact_add(f->inst, &c);
    m.remote_id = "bad-utf8";
    m.text = "caf\xc3 \xff\xfe broken \xed\xa0\x80 surrogate";
    host->mention_add(f->inst, &m);
    if (huge != NULL) {
        memset(huge, 'a', big);
        huge[big] = '\0';
        m.remote_id = "huge";
        m.text = huge;
        m.url = huge;
        host->mention_add(f->inst, &m);
        free(huge);
    }
    host->cursor_set(f->inst, "pass", "bad_records");
    host->pass_done(f->inst, SRM_PASS_OK, 0, NULL);
}

static int fy_sync(void *ctx)
{
    struct faulty *f = ctx;
    const char *fault = f->fault;

    f->passes++;
    if (strcmp(fault, "sync_fails") == 0)
        return -5; /* -EIO */
    if (strcmp(fault, "never_finish") == 0)
        return 0;
    if (strcmp(fault, "bad_records") == 0) {
        fy_bad_records(f);
        return 0;
    }
    if (strcmp(fault, "error") == 0) {
        host->pass_done(f->inst, SRM_PASS_ERROR, 0,
                        "failing on purpose (pass %u)", f->passes);
        return 0;
    }
    fy_good(f, "faulty-1", "first good mention");
    fy_good(f, "faulty-2", "second good mention");
    host->cursor_set(f->inst, "pass", "done");
    host->pass_done(f->inst, SRM_PASS_OK, 0, NULL);
    if (strcmp(fault, "after_done") == 0) {
        fy_good(f, "faulty-late", "emitted after pass_done");
        host->cursor_set(f->inst, "pass", "late");
        host->pass_done(f->inst, SRM_PASS_OK, 0, "twice");
    }
    return 0;
}

static int fy_create(struct srm_instance *inst, void **ret_ctx)
{
    struct faulty *f;
    const char *fault = host->cfg_string(inst, "fault");

    if (strcmp(fault, "create_fails") == 0) {
        host->cfg_error(inst, "fault", "refusing this source on purpose");
        return SRM_E_CONFIG;
    }
    f = calloc(1, sizeof(*f));
    if (f == NULL)
        return -12;
    f->inst = inst;
    f->fault = fault;
    *ret_ctx = f;
    return 0;
}

static void fy_destroy(void *ctx)
{
    free(ctx);
}

static const struct srm_cfg_field fy_schema[] = {
    {"fault", SRM_CFG_STRING, "ok", false, "how to misbehave"},
    {NULL, 0, NULL, false, NULL},
};

static const struct srm_plugin fy_plugin = {
    .abi_major = SRM_PLUGIN_ABI_MAJOR,
    .abi_minor = SRM_PLUGIN_ABI_MINOR,
    .struct_size = sizeof(struct srm_plugin),
    .name = "faulty",
    .version = "1.0",
    .description = "a connector that misbehaves on purpose",
    .capabilities = SRM_CAP_MENTIONS,
    .schema = fy_schema,
    .create = fy_create,
    .sync = fy_sync,
    .destroy = fy_destroy,
};

SRM_PLUGIN_EXPORT const struct srm_plugin *
srm_plugin_entry(const struct srm_host_api *h)
{
    host = h;
    return &fy_plugin;
}
