/* mem.c - allocation that never returns NULL. */
#include "mem.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void __attribute__((noreturn)) mem_fatal(size_t size)
{
    /* Not srm_log: it may itself need memory. */
    fprintf(stderr, "srmd: out of memory allocating %zu bytes\n", size);
    abort();
}

void *srm_xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (p == NULL)
        mem_fatal(size);
    return p;
}

void *srm_xcalloc(size_t nmemb, size_t size)
{
    void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
    if (p == NULL)
        mem_fatal(nmemb * size);
    return p;
}

void *srm_xrealloc(void *ptr, size_t size)
{
    void *p = realloc(ptr, size ? size : 1);
    if (p == NULL)
        mem_fatal(size);
    return p;
}

void *srm_xreallocarray(void *ptr, size_t nmemb, size_t size)
{
    if (size != 0 && nmemb > SIZE_MAX / size)
        mem_fatal(SIZE_MAX);
    return srm_xrealloc(ptr, nmemb * size);
}

char *srm_xstrdup(const char *s)
{
    char *p = strdup(s);
    if (p == NULL)
        mem_fatal(strlen(s) + 1);
    return p;
}

char *srm_xstrdup_or_null(const char *s)
{
    return s ? srm_xstrdup(s) : NULL;
}

char *srm_xstrndup(const char *s, size_t n)
{
    char *p = strndup(s, n);
    if (p == NULL)
        mem_fatal(n + 1);
    return p;
}

char *srm_xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *p;

    va_start(ap, fmt);
    if (vasprintf(&p, fmt, ap) < 0)
        mem_fatal(strlen(fmt));
    va_end(ap);
    return p;
}
