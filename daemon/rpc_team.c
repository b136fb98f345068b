/* rpc_team.c - the team area's methods (being written). */
#include "rpc_methods.h"

const struct srm_rpc_method srm_rpc_team_methods[] = {
    {NULL, false, NULL},
};
