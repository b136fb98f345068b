/* idcache.c - open addressing with linear probing; no removal, so no
 * tombstones: the whole table is cleared per batch. */
#include "idcache.h"

#include <stdlib.h>
#include <string.h>

#include "mem.h"

struct ic_slot {
    const char *network; /* NULL: empty */
    const char *remote_id;
    uint64_t hash;
    int64_t identity_id, person_id;
    const struct srm_rec_identity *rec;
};

struct srm_idcache {
    struct ic_slot *slots;
    size_t cap; /* power of two */
    size_t n;
};

static uint64_t ic_hash(const char *network, const char *remote_id)
{
    /* FNV-1a over "network\0remote_id": no adversary picks the keys of a
     * table that lives for one batch. */
    uint64_t h = 1469598103934665603ULL;
    for (const char *s = network; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    h *= 1099511628211ULL;
    for (const char *s = remote_id; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

struct srm_idcache *srm_idcache_create(void)
{
    struct srm_idcache *c = srm_xcalloc(1, sizeof(*c));

    c->cap = 256;
    c->slots = srm_xcalloc(c->cap, sizeof(*c->slots));
    return c;
}

void srm_idcache_destroy(struct srm_idcache *c)
{
    if (c == NULL)
        return;
    free(c->slots);
    free(c);
}

void srm_idcache_clear(struct srm_idcache *c)
{
    if (c->n == 0)
        return;
    memset(c->slots, 0, c->cap * sizeof(*c->slots));
    c->n = 0;
}

static struct ic_slot *ic_find(const struct srm_idcache *c,
                               const char *network, const char *remote_id,
                               uint64_t h)
{
    size_t mask = c->cap - 1;

    for (size_t i = h & mask;; i = (i + 1) & mask) {
        struct ic_slot *s = &c->slots[i];
        if (s->network == NULL ||
            (s->hash == h && strcmp(s->remote_id, remote_id) == 0 &&
             strcmp(s->network, network) == 0))
            return s;
    }
}

static void ic_grow(struct srm_idcache *c)
{
    struct ic_slot *old = c->slots;
    size_t old_cap = c->cap;

    c->cap *= 2;
    c->slots = srm_xcalloc(c->cap, sizeof(*c->slots));
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].network != NULL)
            *ic_find(c, old[i].network, old[i].remote_id, old[i].hash) =
                old[i];
    free(old);
}

void srm_idcache_put(struct srm_idcache *c, const char *network,
                     const char *remote_id, int64_t identity_id,
                     int64_t person_id, const struct srm_rec_identity *rec)
{
    uint64_t h = ic_hash(network, remote_id);
    struct ic_slot *s;

    if ((c->n + 1) * 4 > c->cap * 3) /* load factor 3/4 */
        ic_grow(c);
    s = ic_find(c, network, remote_id, h);
    if (s->network == NULL)
        c->n++;
    *s = (struct ic_slot){network, remote_id, h, identity_id, person_id,
                          rec};
}

bool srm_idcache_get(const struct srm_idcache *c, const char *network,
                     const char *remote_id, int64_t *ret_identity_id,
                     int64_t *ret_person_id,
                     const struct srm_rec_identity **ret_rec)
{
    const struct ic_slot *s =
        ic_find(c, network, remote_id, ic_hash(network, remote_id));

    if (s->network == NULL)
        return false;
    *ret_identity_id = s->identity_id;
    *ret_person_id = s->person_id;
    if (ret_rec != NULL)
        *ret_rec = s->rec;
    return true;
}
