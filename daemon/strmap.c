/* strmap.c - string -> string hash map with open addressing. Deletion uses
 * backward-shift so no tombstones accumulate in a long-running daemon. */
#include "strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"

struct sm_slot {
    char *key;
    char *value;
    uint64_t hash;
};

struct srm_strmap {
    struct sm_slot *slots;
    size_t cap; /* power of two */
    size_t n;
};

static uint64_t sm_hash(const char *s)
{
    /* FNV-1a: short keys, no adversary controls which keys we store. */
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

struct srm_strmap *srm_strmap_create(void)
{
    struct srm_strmap *m = srm_xcalloc(1, sizeof(*m));
    m->cap = 16;
    m->slots = srm_xcalloc(m->cap, sizeof(*m->slots));
    return m;
}

void srm_strmap_clear(struct srm_strmap *m)
{
    for (size_t i = 0; i < m->cap; i++) {
        free(m->slots[i].key);
        free(m->slots[i].value);
        m->slots[i] = (struct sm_slot){0};
    }
    m->n = 0;
}

void srm_strmap_destroy(struct srm_strmap *m)
{
    if (m == NULL)
        return;
    srm_strmap_clear(m);
    free(m->slots);
    free(m);
}

static size_t sm_find(const struct srm_strmap *m, const char *key,
                      uint64_t h)
{
    size_t mask = m->cap - 1;
    size_t i = h & mask;

    while (m->slots[i].key != NULL) {
        if (m->slots[i].hash == h && strcmp(m->slots[i].key, key) == 0)
            return i;
        i = (i + 1) & mask;
    }
    return i; /* an empty slot */
}

static void sm_grow(struct srm_strmap *m)
{
    struct sm_slot *old = m->slots;
    size_t old_cap = m->cap;

    m->cap *= 2;
    m->slots = srm_xcalloc(m->cap, sizeof(*m->slots));
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i].key == NULL)
            continue;
        size_t j = sm_find(m, old[i].key, old[i].hash);
        m->slots[j] = old[i];
    }
    free(old);
}

void srm_strmap_set(struct srm_strmap *m, const char *key, const char *value)
{
    uint64_t h = sm_hash(key);
    size_t i;

    if ((m->n + 1) * 4 > m->cap * 3)
        sm_grow(m);
    i = sm_find(m, key, h);
    if (m->slots[i].key != NULL) {
        char *v = srm_xstrdup(value);
        free(m->slots[i].value);
        m->slots[i].value = v;
        return;
    }
    m->slots[i].key = srm_xstrdup(key);
    m->slots[i].value = srm_xstrdup(value);
    m->slots[i].hash = h;
    m->n++;
}

const char *srm_strmap_get(const struct srm_strmap *m, const char *key)
{
    size_t i = sm_find(m, key, sm_hash(key));
    return m->slots[i].key ? m->slots[i].value : NULL;
}

bool srm_strmap_remove(struct srm_strmap *m, const char *key)
{
    size_t mask = m->cap - 1;
    size_t i = sm_find(m, key, sm_hash(key));
    size_t j;

    if (m->slots[i].key == NULL)
        return false;
    free(m->slots[i].key);
    free(m->slots[i].value);
    m->slots[i] = (struct sm_slot){0};
    m->n--;
    /* Backward-shift the cluster after i so lookups never stop early. */
    j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (m->slots[j].key == NULL)
            break;
        size_t home = m->slots[j].hash & mask;
        /* Move j into the hole at i unless its home lies in (i, j]. */
        bool in_range = (i <= j) ? (home > i && home <= j)
                                 : (home > i || home <= j);
        if (!in_range) {
            m->slots[i] = m->slots[j];
            m->slots[j] = (struct sm_slot){0};
            i = j;
        }
    }
    return true;
}

size_t srm_strmap_count(const struct srm_strmap *m)
{
    return m->n;
}

void srm_strmap_foreach(const struct srm_strmap *m,
                        void (*fn)(const char *key, const char *value,
                                   void *ud),
                        void *ud)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key != NULL)
            fn(m->slots[i].key, m->slots[i].value, ud);
}
