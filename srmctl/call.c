/* call.c - how a command calls srmd: connect on first use, map failures to
 * messages and exit statuses. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "client.h"
#include "srmctl.h"

int srmctl_call(struct srmctl *ctx, const char *method, json_t *params,
                json_t **ret_result)
{
    json_t *resp = NULL;
    json_t *err;
    int r;

    if (ctx->client == NULL) {
        r = srmctl_client_connect(ctx->socket, &ctx->client);
        if (r < 0) {
            json_decref(params);
            fprintf(stderr, "srmctl: cannot reach srmd at %s: %s\n",
                    ctx->socket, strerror(-r));
            return SRMCTL_EXIT_UNREACHABLE;
        }
    }
    r = srmctl_client_call(ctx->client, method, params, &resp);
    if (r == -EPROTO) {
        fprintf(stderr, "srmctl: srmd at %s sent an answer that is not "
                        "JSON-RPC 2.0\n", ctx->socket);
        return SRMCTL_EXIT_ANSWER;
    }
    if (r < 0) {
        fprintf(stderr, "srmctl: cannot reach srmd at %s: %s\n", ctx->socket,
                r == -ECONNRESET ? "connection closed before the answer"
                                 : strerror(-r));
        return SRMCTL_EXIT_UNREACHABLE;
    }
    err = json_object_get(resp, "error");
    if (err) {
        const char *msg = json_string_value(json_object_get(err, "message"));

        fprintf(stderr, "srmctl: %s\n", msg ? msg : "error without message");
        json_decref(resp);
        return SRMCTL_EXIT_ANSWER;
    }
    *ret_result = json_incref(json_object_get(resp, "result"));
    json_decref(resp);
    return SRMCTL_EXIT_OK;
}

int srmctl_call_or_json(struct srmctl *ctx, const char *method,
                        json_t *params, json_t **ret_result)
{
    json_t *result = NULL;
    int r = srmctl_call(ctx, method, params, &result);

    *ret_result = NULL;
    if (r != SRMCTL_EXIT_OK)
        return r;
    if (ctx->json) {
        r = srmctl_print_json(result);
        json_decref(result);
        return r;
    }
    *ret_result = result;
    return SRMCTL_EXIT_OK;
}

int srmctl_print_json(const json_t *v)
{
    if (json_dumpf(v, stdout, JSON_INDENT(2) | JSON_ENCODE_ANY) < 0 ||
        fputc('\n', stdout) == EOF) {
        fprintf(stderr, "srmctl: cannot write the result\n");
        return SRMCTL_EXIT_ANSWER;
    }
    return SRMCTL_EXIT_OK;
}

int srmctl_usage(const char *fmt, ...)
{
    va_list ap;

    fputs("srmctl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nTry 'srmctl help'.\n", stderr);
    return SRMCTL_EXIT_USAGE;
}
