#include "runtime/caps.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *const names[] = {
	"CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
	"SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
	"IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
	"SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD",
	"LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
	"WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
};

int caps_last(void)
{
	static int last = -1;
	if (last >= 0)
		return last;
	int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
	char buf[16] = {0};
	if (fd >= 0) {
		if (read(fd, buf, sizeof(buf) - 1) > 0)
			last = atoi(buf);
		close(fd);
	}
	if (last <= 0 || last > 63)
		last = 40;
	return last;
}

/* What the kernel knows and our bounding set still holds: a capability
 * dropped from it (a restricted host, berth itself in a container) cannot
 * be given back, and asking for it makes capset fail (podman does the
 * same for --privileged). */
uint64_t caps_all(void)
{
	int last = caps_last();
	uint64_t all = last >= 63 ? ~0ULL : ((1ULL << (last + 1)) - 1);
	for (int i = 0; i <= last; i++)
		if (prctl(PR_CAPBSET_READ, i, 0, 0, 0) == 0)
			all &= ~(1ULL << i);
	return all;
}

const char *caps_name(int n)
{
	if (n < 0 || (size_t)n >= sizeof(names) / sizeof(names[0]))
		return NULL;
	return names[n];
}

int caps_parse(const char *name, uint64_t *ret, struct berr **err)
{
	const char *n = name;
	if (!strncasecmp(n, "CAP_", 4))
		n += 4;
	if (!strcasecmp(n, "ALL")) {
		*ret = caps_all();
		return 0;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcasecmp(n, names[i])) {
			if ((int)i > caps_last())
				return berr_setc(err, BERR_INVALID, "capability %s is not supported by this kernel", name);
			*ret = 1ULL << i;
			return 0;
		}
	}
	return berr_setc(err, BERR_INVALID, "unknown capability: \"%s\"", name);
}

int caps_drop_bounding(uint64_t caps)
{
	int last = caps_last();
	for (int i = 0; i <= last; i++) {
		if (caps & (1ULL << i))
			continue;
		if (prctl(PR_CAPBSET_DROP, i, 0, 0, 0) < 0 && errno != EINVAL)
			return -errno;
	}
	return 0;
}

int caps_set(uint64_t caps, bool keep_effective)
{
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct d[2];
	memset(d, 0, sizeof(d));
	if (keep_effective) {
		d[0].effective = d[0].permitted = (uint32_t)caps;
		d[1].effective = d[1].permitted = (uint32_t)(caps >> 32);
	}
	if (syscall(SYS_capset, &h, d) < 0)
		return -errno;
	return 0;
}
