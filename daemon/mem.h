/* mem.h - allocation that never returns NULL. OOM is fatal in the core: these
 * log and abort, so callers never check their result. */
#ifndef SRM_DAEMON_MEM_H
#define SRM_DAEMON_MEM_H

#include <stddef.h>

void *srm_xmalloc(size_t size);
void *srm_xcalloc(size_t nmemb, size_t size);
void *srm_xrealloc(void *ptr, size_t size);
/* realloc to nmemb * size with an overflow check. */
void *srm_xreallocarray(void *ptr, size_t nmemb, size_t size);
char *srm_xstrdup(const char *s);
/* NULL in, NULL out. */
char *srm_xstrdup_or_null(const char *s);
char *srm_xstrndup(const char *s, size_t n);
char *srm_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Free and set to NULL. */
#define SRM_FREE(p)                                                           \
    do {                                                                      \
        free(p);                                                              \
        (p) = NULL;                                                           \
    } while (0)

#define SRM_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* The struct holding member `member` at ptr. */
#define srm_container_of(ptr, type, member)                                   \
    ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

#endif
