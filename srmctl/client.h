/* client.h - a blocking JSON-RPC connection to srmd's control socket. */
#ifndef SRMCTL_CLIENT_H
#define SRMCTL_CLIENT_H

#include <jansson.h>

struct srmctl_client;

/* Connect to the Unix socket at path. Returns 0 and the client in *ret,
 * or a negative errno. Blocks briefly. */
int srmctl_client_connect(const char *path, struct srmctl_client **ret);
/* Close and free; accepts NULL. */
void srmctl_client_close(struct srmctl_client *c);
/* Send one request (params stolen, NULL for none) and wait for the answer
 * with its id, skipping notifications. Returns 0 and the whole response
 * object in *ret_response (caller decrefs), -ECONNRESET when srmd closed
 * the connection, -EPROTO for an answer that is not JSON-RPC, or another
 * negative errno. Blocks until the answer comes. */
int srmctl_client_call(struct srmctl_client *c, const char *method,
                       json_t *params, json_t **ret_response);

#endif
