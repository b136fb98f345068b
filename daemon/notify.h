/* notify.h - systemd's readiness protocol (sd_notify), without libsystemd:
 * one datagram to $NOTIFY_SOCKET. Does nothing when it is unset. */
#ifndef SRM_DAEMON_NOTIFY_H
#define SRM_DAEMON_NOTIFY_H

/* Send e.g. "READY=1" or "STOPPING=1". Returns 0, or a negative errno
 * (logged at debug level only: a missing supervisor is not an error). */
int srm_notify(const char *state);

#endif
