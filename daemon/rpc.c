/* rpc.c - how a method handler answers a call and reads its params. The
 * socket side (sending, ordering, client lifetime) is in ctl_server.c. */
#include "rpc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "ctl_parse.h"
#include "ctl_server.h"
#include "mem.h"

static bool rp_get(struct srm_rpc_call *call, json_t *params,
                   const char *key, bool required, json_t **ret);

const struct srm_caller *srm_rpc_caller(const struct srm_rpc_call *call)
{
    return &call->caller;
}

struct srm_ctl_client *srm_rpc_client(const struct srm_rpc_call *call)
{
    return srm_ctl_client_alive(call->client) ? call->client : NULL;
}

void srm_rpc_reply(struct srm_rpc_call *call, json_t *result)
{
    char *line = NULL;
    size_t len = 0;

    /* A notification (no id) gets no answer, per JSON-RPC 2.0. */
    if (call->id && call->client)
        line = srm_ctl_result_line(call->id, result, &len);
    else
        json_decref(result);
    srm_ctl_call_end(call, line, len);
}

void srm_rpc_fail_data(struct srm_rpc_call *call, int code, json_t *data,
                       const char *fmt, ...)
{
    char *line = NULL;
    size_t len = 0;

    if (call->id && call->client) {
        va_list ap;
        char *msg;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(NULL, 0, fmt, ap);
        va_end(ap);
        msg = srm_xmalloc(n > 0 ? (size_t)n + 1 : 1);
        msg[0] = '\0';
        va_start(ap, fmt);
        if (n > 0)
            vsnprintf(msg, (size_t)n + 1, fmt, ap);
        va_end(ap);
        line = srm_ctl_error_line(call->id, code, msg, data, &len);
        free(msg);
    } else {
        json_decref(data);
    }
    srm_ctl_call_end(call, line, len);
}

/* The member, or NULL when absent or null and not required. On a wrong
 * shape or a missing required member the call is answered. */
static bool rp_get(struct srm_rpc_call *call, json_t *params,
                   const char *key, bool required, json_t **ret)
{
    json_t *v = NULL;

    if (params && !json_is_object(params)) {
        srm_rpc_fail(call, SRM_RPC_INVALID_PARAMS,
                     "invalid params: expected an object with '%s'", key);
        return false;
    }
    if (params)
        v = json_object_get(params, key);
    if (v && json_is_null(v))
        v = NULL;
    if (v == NULL && required) {
        srm_rpc_fail(call, SRM_RPC_INVALID_PARAMS,
                     "invalid params: '%s' is required", key);
        return false;
    }
    *ret = v;
    return true;
}

bool srm_rpc_param_str(struct srm_rpc_call *call, json_t *params,
                       const char *key, bool required, const char **ret)
{
    json_t *v;

    if (!rp_get(call, params, key, required, &v))
        return false;
    if (v == NULL)
        return true;
    if (!json_is_string(v)) {
        srm_rpc_fail(call, SRM_RPC_INVALID_PARAMS,
                     "invalid params: '%s' must be a string", key);
        return false;
    }
    *ret = json_string_value(v);
    return true;
}

bool srm_rpc_param_int(struct srm_rpc_call *call, json_t *params,
                       const char *key, bool required, json_int_t *ret)
{
    json_t *v;

    if (!rp_get(call, params, key, required, &v))
        return false;
    if (v == NULL)
        return true;
    if (!json_is_integer(v)) {
        srm_rpc_fail(call, SRM_RPC_INVALID_PARAMS,
                     "invalid params: '%s' must be an integer", key);
        return false;
    }
    *ret = json_integer_value(v);
    return true;
}

bool srm_rpc_param_bool(struct srm_rpc_call *call, json_t *params,
                        const char *key, bool required, bool *ret)
{
    json_t *v;

    if (!rp_get(call, params, key, required, &v))
        return false;
    if (v == NULL)
        return true;
    if (!json_is_boolean(v)) {
        srm_rpc_fail(call, SRM_RPC_INVALID_PARAMS,
                     "invalid params: '%s' must be true or false", key);
        return false;
    }
    *ret = json_is_true(v);
    return true;
}
