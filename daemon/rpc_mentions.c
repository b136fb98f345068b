/* rpc_mentions.c - the mentions area's methods (being written). */
#include "rpc_methods.h"

const struct srm_rpc_method srm_rpc_mentions_methods[] = {
    {NULL, false, NULL},
};
