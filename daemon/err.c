/* err.c - readable error strings. */
#include "err.h"

#include <string.h>

const char *srm_strerror(int err)
{
    switch (err) {
    case 0: return "success";
    case SRM_E_AUTH: return "authentication failed";
    case SRM_E_RATELIMIT: return "rate limited";
    case SRM_E_HTTP: return "unexpected HTTP status";
    case SRM_E_PARSE: return "malformed response";
    case SRM_E_TOOBIG: return "response too large";
    case SRM_E_CANCELLED: return "cancelled";
    case SRM_E_TIMEOUT: return "timed out";
    case SRM_E_TRANSPORT: return "connection failed";
    case SRM_E_NOTSUP: return "not supported";
    case SRM_E_BADREC: return "invalid record";
    case SRM_E_STATE: return "not allowed in this state";
    case SRM_E_CONFIG: return "invalid configuration";
    default:
        if (err < 0 && err > -4096)
            return strerror(-err);
        return "unknown error";
    }
}
