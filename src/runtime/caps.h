/* Linux capabilities: names, Docker's default set, and applying a set to
 * the current process (bounding, permitted, effective; inheritable and
 * ambient cleared, as Docker does since 20.10). */
#ifndef BERTH_RUNTIME_CAPS_H
#define BERTH_RUNTIME_CAPS_H

#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"

/* CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP
 * NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP */
#define CAPS_DOCKER_DEFAULT 0x00000000a80425fbULL

/* Number of capabilities this kernel knows (from /proc/sys/kernel/cap_last_cap). */
int caps_last(void);
/* All capabilities the kernel knows, as a mask. */
uint64_t caps_all(void);
/* Parse "NET_ADMIN", "CAP_NET_ADMIN", "net_admin" or "ALL". ret gets the mask. */
int caps_parse(const char *name, uint64_t *ret, struct berr **err);
/* Name of capability n without the CAP_ prefix, or NULL. */
const char *caps_name(int n);
/* Reduce the bounding set to caps (needs CAP_SETPCAP). Returns -errno. */
int caps_drop_bounding(uint64_t caps);
/* Set permitted and effective to caps (or to nothing for a non-root user
 * when keep_effective is false); inheritable and ambient are cleared. */
int caps_set(uint64_t caps, bool keep_effective);

#endif
