/* rpc_people.c - the people area's methods (being written). */
#include "rpc_methods.h"

const struct srm_rpc_method srm_rpc_people_methods[] = {
    {NULL, false, NULL},
};
