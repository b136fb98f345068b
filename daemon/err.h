/* err.h - error codes: negative errno values and enum srm_err, and their
 * conversion from the libraries' codes (done once, in the owning file). */
#ifndef SRM_DAEMON_ERR_H
#define SRM_DAEMON_ERR_H

#include "srm/plugin.h"

/* A readable string for a negative errno or an enum srm_err value. */
const char *srm_strerror(int err);

#endif
