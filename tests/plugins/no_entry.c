/* no_entry.c - exports nothing (every symbol hidden): refused. */
#include "tp_common.h"

static const struct srm_plugin no_entry_desc = {TP_DESC("no_entry")};

/* Hidden by the visibility preset, so dlsym cannot find it. */
const struct srm_plugin *no_entry_get(void);

const struct srm_plugin *no_entry_get(void)
{
    return &no_entry_desc;
}
