/* registry.c - the command tables the cmd_*.c files register. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "srmctl.h"

#define REGISTRY_MAX_TABLES 64

static const struct srmctl_cmd *tables[REGISTRY_MAX_TABLES];
static size_t ntables;

void srmctl_register(const struct srmctl_cmd *table)
{
    if (ntables == REGISTRY_MAX_TABLES) {
        fputs("srmctl: too many command tables\n", stderr);
        abort(); /* a build error, not a user one */
    }
    tables[ntables++] = table;
}

const struct srmctl_cmd *srmctl_find(const char *name)
{
    for (size_t t = 0; t < ntables; t++)
        for (const struct srmctl_cmd *c = tables[t]; c->name; c++)
            if (strcmp(c->name, name) == 0)
                return c;
    return NULL;
}

static int by_name(const void *a, const void *b)
{
    const struct srmctl_cmd *const *x = a, *const *y = b;

    return strcmp((*x)->name, (*y)->name);
}

void srmctl_each(void (*fn)(const struct srmctl_cmd *cmd, void *ud),
                 void *ud)
{
    const struct srmctl_cmd *all[256];
    size_t n = 0;

    for (size_t t = 0; t < ntables; t++)
        for (const struct srmctl_cmd *c = tables[t]; c->name; c++)
            if (n < sizeof(all) / sizeof(all[0]))
                all[n++] = c;
    qsort(all, n, sizeof(all[0]), by_name);
    for (size_t i = 0; i < n; i++)
        fn(all[i], ud);
}
