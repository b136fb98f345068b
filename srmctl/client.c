/* client.c - a blocking JSON-RPC connection to srmd's control socket. */
#include "client.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Answers larger than this are refused rather than eating all memory. */
#define CLIENT_MAX_LINE ((size_t)256 << 20)

struct srmctl_client {
    int fd;
    json_int_t next_id;
    char *buf;
    size_t len, cap;
};

static int cl_write_all(int fd, const char *s, size_t len);
static int cl_read_line(struct srmctl_client *c, json_t **ret);

int srmctl_client_connect(const char *path, struct srmctl_client **ret)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct srmctl_client *c;
    int fd, r;

    if (strlen(path) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    strcpy(sa.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        r = -errno;
        close(fd);
        return r;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        close(fd);
        return -ENOMEM;
    }
    c->fd = fd;
    c->next_id = 1;
    *ret = c;
    return 0;
}

void srmctl_client_close(struct srmctl_client *c)
{
    if (c == NULL)
        return;
    close(c->fd);
    free(c->buf);
    free(c);
}

static int cl_write_all(int fd, const char *s, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, s, len, MSG_NOSIGNAL);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno == EPIPE ? -ECONNRESET : -errno;
        }
        s += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Next line, parsed; -EPROTO if it is not a JSON object. */
static int cl_read_line(struct srmctl_client *c, json_t **ret)
{
    size_t scanned = 0;

    for (;;) {
        /* memchr on a NULL buffer is undefined even with length 0. */
        char *nl = c->buf ? memchr(c->buf + scanned, '\n', c->len - scanned)
                          : NULL;

        if (nl) {
            size_t n = (size_t)(nl - c->buf);
            json_t *j = json_loadb(c->buf, n, 0, NULL);

            c->len -= n + 1;
            memmove(c->buf, nl + 1, c->len);
            if (!json_is_object(j)) {
                json_decref(j);
                return -EPROTO;
            }
            *ret = j;
            return 0;
        }
        scanned = c->len;
        if (c->len == c->cap) {
            if (c->cap >= CLIENT_MAX_LINE)
                return -EMSGSIZE;
            size_t cap = c->cap ? c->cap * 2 : 65536;
            char *b = realloc(c->buf, cap);
            if (b == NULL)
                return -ENOMEM;
            c->buf = b;
            c->cap = cap;
        }
        ssize_t n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -ECONNRESET;
        c->len += (size_t)n;
    }
}

int srmctl_client_call(struct srmctl_client *c, const char *method,
                       json_t *params, json_t **ret_response)
{
    json_int_t id = c->next_id++;
    json_t *req = json_pack("{s:s,s:I,s:s}", "jsonrpc", "2.0", "id", id,
                            "method", method);
    char *text = NULL;
    json_t *resp = NULL;
    int r;

    if (req == NULL) {
        json_decref(params);
        return -EINVAL; /* method is not valid UTF-8 */
    }
    if (params)
        json_object_set_new(req, "params", params);
    text = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    if (text == NULL)
        return -ENOMEM;
    size_t len = strlen(text);
    text[len] = '\n'; /* replaces the NUL; length passed explicitly */
    r = cl_write_all(c->fd, text, len + 1);
    free(text);
    if (r < 0)
        return r;
    for (;;) {
        if ((r = cl_read_line(c, &resp)) < 0)
            return r;
        json_t *rid = json_object_get(resp, "id");
        if (rid == NULL) { /* a notification: not ours to print here */
            json_decref(resp);
            continue;
        }
        if (json_is_integer(rid) && json_integer_value(rid) == id)
            break;
        /* Errors the server could not tie to a request carry id null. */
        if (json_is_null(rid) && json_object_get(resp, "error"))
            break;
        json_decref(resp);
    }
    if (!json_object_get(resp, "result") &&
        !json_is_object(json_object_get(resp, "error"))) {
        json_decref(resp);
        return -EPROTO;
    }
    *ret_response = resp;
    return 0;
}
