/* rankacc.c - per-person sums of one transaction's new mentions
 * (rankacc.h): open addressing on the person id, linear probing. */
#include "rankacc.h"

#include <stdlib.h>
#include <string.h>

#include "mem.h"

struct ra_slot {
    int64_t person; /* 0: empty */
    double sum;
    int64_t last;
};

struct srm_rankacc {
    struct ra_slot *slots;
    size_t cap, used, rows; /* cap: a power of two */
};

struct srm_rankacc *srm_rankacc_create(void)
{
    struct srm_rankacc *a = srm_xcalloc(1, sizeof(*a));

    a->cap = 256;
    a->slots = srm_xcalloc(a->cap, sizeof(*a->slots));
    return a;
}

void srm_rankacc_destroy(struct srm_rankacc *a)
{
    if (a == NULL)
        return;
    free(a->slots);
    free(a);
}

void srm_rankacc_clear(struct srm_rankacc *a)
{
    if (a->used > 0)
        memset(a->slots, 0, a->cap * sizeof(*a->slots));
    a->used = a->rows = 0;
}

static struct ra_slot *ra_find(struct ra_slot *slots, size_t cap,
                               int64_t person)
{
    /* Fibonacci hashing: ids are dense, their low bits alone cluster. */
    size_t i = (size_t)(((uint64_t)person * 0x9E3779B97F4A7C15ull) >> 32) &
               (cap - 1);

    while (slots[i].person != 0 && slots[i].person != person)
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

static void ra_grow(struct srm_rankacc *a)
{
    size_t cap = a->cap * 2;
    struct ra_slot *slots = srm_xcalloc(cap, sizeof(*slots));

    for (size_t i = 0; i < a->cap; i++)
        if (a->slots[i].person != 0)
            *ra_find(slots, cap, a->slots[i].person) = a->slots[i];
    free(a->slots);
    a->slots = slots;
    a->cap = cap;
}

void srm_rankacc_add(struct srm_rankacc *a, int64_t person, double term,
                     int64_t at)
{
    struct ra_slot *s;

    a->rows++;
    if (person == 0)
        return;
    if ((a->used + 1) * 4 > a->cap * 3) /* at most 3/4 full */
        ra_grow(a);
    s = ra_find(a->slots, a->cap, person);
    if (s->person == 0) {
        *s = (struct ra_slot){person, term, at};
        a->used++;
        return;
    }
    s->sum += term;
    if (at > s->last)
        s->last = at;
}

size_t srm_rankacc_rows(const struct srm_rankacc *a)
{
    return a->rows;
}

int srm_rankacc_each(const struct srm_rankacc *a,
                     int (*fn)(void *ud, int64_t person, double sum,
                               int64_t last),
                     void *ud)
{
    int r;

    for (size_t i = 0; i < a->cap; i++)
        if (a->slots[i].person != 0 &&
            (r = fn(ud, a->slots[i].person, a->slots[i].sum,
                    a->slots[i].last)) != 0)
            return r;
    return 0;
}
