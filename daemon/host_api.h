/* host_api.h - the host function table srmd hands to plugins. */
#ifndef SRM_DAEMON_HOST_API_H
#define SRM_DAEMON_HOST_API_H

#include "srm/plugin.h"

/* The table; static, valid for the life of the process. */
const struct srm_host_api *srm_host_api(void);

#endif
