/* host_api.c - the table of host functions handed to every plugin. Each
 * srm_host_* function is the daemon side of one member of struct
 * srm_host_api; none is exported to plugins by name (srmd is not linked
 * -rdynamic), so the dynamic linker can never mix the two up. */
#include "host_api.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "daemon.h"
#include "html_text.h"
#include "http.h"
#include "log.h"
#include "mem.h"
#include "plugin_loader.h"
#include "record.h"
#include "source.h"

static void srm_host_log(struct srm_instance *s, int level, const char *fmt,
                         ...)
{
    char tag[256];
    va_list ap;

    if (level < SRM_LOG_ERROR)
        level = SRM_LOG_ERROR;
    if (level > SRM_LOG_DEBUG)
        level = SRM_LOG_DEBUG;
    snprintf(tag, sizeof(tag), "[%s/%s]", s->plugin->name, s->name);
    va_start(ap, fmt);
    srm_vlog_tagged(level, tag, fmt, ap);
    va_end(ap);
}

static const struct srm_cfg_value *host_cfg(struct srm_instance *s,
                                            const char *key,
                                            enum srm_cfg_type want)
{
    const struct srm_cfg_value *v = srm_source_cfg_get(s->cfg, key);

    if (v == NULL) {
        srm_source_log(s, SRM_LOG_WARNING,
                       "plugin read config key %s, which its schema does "
                       "not declare", key);
        return NULL;
    }
    /* Secrets and URLs are strings too. */
    if (v->type != want &&
        !(want == SRM_CFG_STRING &&
          (v->type == SRM_CFG_SECRET || v->type == SRM_CFG_URL)))
        return NULL;
    return v;
}

static const char *srm_host_cfg_string(struct srm_instance *s,
                                       const char *key)
{
    const struct srm_cfg_value *v = host_cfg(s, key, SRM_CFG_STRING);
    return v ? v->str : NULL;
}

static int64_t srm_host_cfg_int(struct srm_instance *s, const char *key)
{
    const struct srm_cfg_value *v = host_cfg(s, key, SRM_CFG_INT);
    return v ? v->num : 0;
}

static bool srm_host_cfg_bool(struct srm_instance *s, const char *key)
{
    const struct srm_cfg_value *v = host_cfg(s, key, SRM_CFG_BOOL);
    return v ? v->b : false;
}

static int64_t srm_host_cfg_duration(struct srm_instance *s, const char *key)
{
    const struct srm_cfg_value *v = host_cfg(s, key, SRM_CFG_DURATION);
    return v ? v->num : 0;
}

static size_t srm_host_cfg_list(struct srm_instance *s, const char *key,
                                const char *const **ret_items)
{
    const struct srm_cfg_value *v = host_cfg(s, key, SRM_CFG_STRING_LIST);
    static const char *const none[] = {NULL};

    if (v == NULL || v->list == NULL) {
        *ret_items = none;
        return 0;
    }
    *ret_items = (const char *const *)v->list;
    return v->n_list;
}

static void srm_host_cfg_error(struct srm_instance *s, const char *key,
                               const char *fmt, ...)
{
    const struct srm_cfg_value *v = srm_source_cfg_get(s->cfg, key);
    const struct srm_cfg_node *at = v && v->node ? v->node : s->cfg->node;
    struct srm_diag diag;
    char *msg, *path;
    va_list ap;

    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = NULL;
    va_end(ap);
    srm_diag_init(&diag);
    path = srm_xasprintf("%s.%s", s->cfg->path, key);
    srm_diag_add(&diag, at, path, "%s", msg ? msg : fmt);
    for (size_t i = 0; i < diag.n; i++)
        srm_source_log(s, SRM_LOG_ERROR, "%s", diag.msgs[i]);
    free(path);
    free(msg);
    srm_diag_fini(&diag);
}

static size_t srm_host_listen_keywords(struct srm_instance *s,
                                       const char *const **ret_items)
{
    const struct srm_config *c = s->cfg_ref->config;
    static const char *const none[] = {NULL};

    if (c->keywords == NULL) {
        *ret_items = none;
        return 0;
    }
    *ret_items = (const char *const *)c->keywords;
    return c->n_keywords;
}

static const char *srm_host_source_name(struct srm_instance *s)
{
    return s->name;
}

static int srm_host_http_submit(struct srm_instance *s,
                                const struct srm_http_req *req,
                                srm_http_done_fn done, void *ud)
{
    return srm_source_http_submit(s, req, done, ud);
}

static void srm_host_http_reject(struct srm_instance *s,
                                 const struct srm_http_resp *resp)
{
    srm_source_http_reject(s, resp);
}

static const char *srm_host_http_header(const struct srm_http_resp *resp,
                                        const char *name)
{
    return srm_http_header(resp, name);
}

/* The struct_size a plugin passed must cover what we read; a record from an
 * older plugin is copied into a zeroed current-size struct first. */
#define HOST_COPY_RECORD(type, dst, src)                                      \
    do {                                                                      \
        memset(&(dst), 0, sizeof(dst));                                       \
        size_t n_ = (src)->struct_size < sizeof(type) ? (src)->struct_size   \
                                                      : sizeof(type);         \
        memcpy(&(dst), (src), n_);                                            \
    } while (0)

static int host_emit_result(struct srm_instance *s, int rc,
                            const char *what, const char *reason)
{
    if (rc == 0) {
        srm_source_emitted(s);
        return 0;
    }
    srm_source_log(s, SRM_LOG_WARNING, "plugin emitted an invalid %s: %s",
                   what, reason ? reason : "rejected");
    return rc;
}

static bool host_record_ok(struct srm_instance *s, const void *rec,
                           uint32_t struct_size, const char *what)
{
    if (rec == NULL || struct_size < sizeof(uint32_t) * 2) {
        srm_source_log(s, SRM_LOG_WARNING,
                       "plugin emitted a %s without struct_size", what);
        return false;
    }
    return true;
}

static int srm_host_identity_upsert(struct srm_instance *s,
                                    const struct srm_identity *r)
{
    struct srm_identity c;
    const char *reason = NULL;
    int rc;

    if ((rc = srm_source_emit_begin(s, "identity")) < 0)
        return rc;
    if (!host_record_ok(s, r, r ? r->struct_size : 0, "identity"))
        return SRM_E_BADREC;
    HOST_COPY_RECORD(struct srm_identity, c, r);
    rc = srm_batch_add_identity(&s->pending, &c, &reason);
    return host_emit_result(s, rc, "identity", reason);
}

static int srm_host_mention_add(struct srm_instance *s,
                                const struct srm_mention *r)
{
    struct srm_mention c;
    const char *reason = NULL;
    int rc;

    if ((rc = srm_source_emit_begin(s, "mention")) < 0)
        return rc;
    if (!host_record_ok(s, r, r ? r->struct_size : 0, "mention"))
        return SRM_E_BADREC;
    HOST_COPY_RECORD(struct srm_mention, c, r);
    rc = srm_batch_add_mention(&s->pending, &c, &reason);
    return host_emit_result(s, rc, "mention", reason);
}

static int srm_host_contact_add(struct srm_instance *s,
                                const struct srm_contact *r)
{
    struct srm_contact c;
    const char *reason = NULL;
    int rc;

    if ((rc = srm_source_emit_begin(s, "contact")) < 0)
        return rc;
    if (!host_record_ok(s, r, r ? r->struct_size : 0, "contact"))
        return SRM_E_BADREC;
    HOST_COPY_RECORD(struct srm_contact, c, r);
    rc = srm_batch_add_contact(&s->pending, &c, &reason);
    return host_emit_result(s, rc, "contact", reason);
}

static int srm_host_interaction_add(struct srm_instance *s,
                                    const struct srm_interaction *r)
{
    struct srm_interaction c;
    const char *reason = NULL;
    int rc;

    if ((rc = srm_source_emit_begin(s, "interaction")) < 0)
        return rc;
    if (!host_record_ok(s, r, r ? r->struct_size : 0, "interaction"))
        return SRM_E_BADREC;
    HOST_COPY_RECORD(struct srm_interaction, c, r);
    rc = srm_batch_add_interaction(&s->pending, &c, &reason);
    return host_emit_result(s, rc, "interaction", reason);
}

static const char *srm_host_cursor_get(struct srm_instance *s,
                                       const char *key)
{
    return key ? srm_source_cursor_get(s, key) : NULL;
}

static int srm_host_cursor_set(struct srm_instance *s, const char *key,
                               const char *value)
{
    return srm_source_cursor_set(s, key, value);
}

static void srm_host_pass_done(struct srm_instance *s,
                               enum srm_pass_status status,
                               uint32_t retry_after, const char *fmt, ...)
{
    char *msg = NULL;
    va_list ap;

    if (fmt != NULL) {
        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
            msg = NULL;
        va_end(ap);
    }
    if (msg != NULL)
        srm_redact(msg);
    srm_source_pass_done(s, status, retry_after, msg);
    free(msg);
}

static char *srm_host_html_to_text(const char *html, size_t len)
{
    return html ? srm_text_from_html(html, len) : NULL;
}

static void srm_host_free(void *p)
{
    free(p);
}

const struct srm_host_api srm_host_api_table = {
    .abi_major = SRM_PLUGIN_ABI_MAJOR,
    .abi_minor = SRM_PLUGIN_ABI_MINOR,
    .struct_size = sizeof(struct srm_host_api),
    .log = srm_host_log,
    .cfg_string = srm_host_cfg_string,
    .cfg_int = srm_host_cfg_int,
    .cfg_bool = srm_host_cfg_bool,
    .cfg_duration = srm_host_cfg_duration,
    .cfg_list = srm_host_cfg_list,
    .cfg_error = srm_host_cfg_error,
    .listen_keywords = srm_host_listen_keywords,
    .source_name = srm_host_source_name,
    .http_submit = srm_host_http_submit,
    .http_header = srm_host_http_header,
    .identity_upsert = srm_host_identity_upsert,
    .mention_add = srm_host_mention_add,
    .contact_add = srm_host_contact_add,
    .interaction_add = srm_host_interaction_add,
    .cursor_get = srm_host_cursor_get,
    .cursor_set = srm_host_cursor_set,
    .pass_done = srm_host_pass_done,
    .html_to_text = srm_host_html_to_text,
    .free = srm_host_free,
    .http_reject = srm_host_http_reject,
};

const struct srm_host_api *srm_host_api(void)
{
    return &srm_host_api_table;
}
