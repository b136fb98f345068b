/* strmap.h - a string -> string hash map (open addressing, linear probing).
 * Used for cursors and conditional-request validators; keys and values are
 * copied. Not thread-safe: each map belongs to one thread. */
#ifndef SRM_DAEMON_STRMAP_H
#define SRM_DAEMON_STRMAP_H

#include <stdbool.h>
#include <stddef.h>

struct srm_strmap;

struct srm_strmap *srm_strmap_create(void);
void srm_strmap_destroy(struct srm_strmap *m); /* accepts NULL */
/* Copy key and value in, replacing an older value. */
void srm_strmap_set(struct srm_strmap *m, const char *key, const char *value);
/* Borrowed until the key is set again, removed or the map destroyed. */
const char *srm_strmap_get(const struct srm_strmap *m, const char *key);
bool srm_strmap_remove(struct srm_strmap *m, const char *key);
void srm_strmap_clear(struct srm_strmap *m);
size_t srm_strmap_count(const struct srm_strmap *m);
/* Visit every entry in unspecified order; the map must not change during. */
void srm_strmap_foreach(const struct srm_strmap *m,
                        void (*fn)(const char *key, const char *value,
                                   void *ud),
                        void *ud);

#endif
