/* Container cgroups on cgroup v1 (one directory per controller hierarchy)
 * or v2 (one directory), detected at run time. A container's cgroup is
 * <mount>/<parent>/<name> (v1: <mount>/<controller>/<parent>/<name>), with
 * the mount $BERTH_CGROUP_MOUNT (default /sys/fs/cgroup) and the parent
 * $BERTH_CGROUP_PARENT (default "berth", may be nested: "a/b"). */
#ifndef BERTH_RUNTIME_CGROUP_H
#define BERTH_RUNTIME_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/err.h"

struct cgroup_limits {
	int64_t memory;        /* bytes, 0 = unset; below 6 MB is refused as Docker does */
	int64_t memory_swap;   /* memory+swap bytes as Docker's --memory-swap; -1 unlimited,
				* 0 unset (= 2x memory when memory is set) */
	int64_t cpu_quota;     /* microseconds per period, 0 unset (from --cpus: cpus*period) */
	int64_t cpu_period;    /* microseconds, 0 = the kernel default 100000 */
	int64_t cpu_shares;    /* --cpu-shares, 0 unset; clamped to 2..262144 as Docker does;
				* v2: cpu.weight = 1 + ((shares-2)*9999)/262142 as runc */
	int64_t pids_max;      /* 0 unset, -1 unlimited */
	const char *cpuset_cpus; /* "0-2,4", NULL or "" unset */
};

/* The container's cgroup, all controllers. */
struct cgroup;

/* Which hierarchy: 2 for unified, 1 for v1 (hybrid counts as v1), 0 if no
 * cgroup file system is mounted. */
int cgroup_version(void);

/* Create the container's cgroup <parent>/<name> and apply the limits (l may
 * be NULL). v1: in memory, cpu, cpuacct, cpuset, pids, freezer, devices,
 * blkio (those mounted); cpuset cpus/mems copied from the parent when
 * empty; Docker's default device rules. v2: +cpu +memory +pids +cpuset +io
 * enabled (where available) in every parent's subtree_control and the
 * default device rules as an eBPF filter. Unset limits are not written. A
 * limit whose controller is missing, or an invalid value, fails with a
 * clear error (BERR_INVALID for bad values, BERR_CONFLICT if the cgroup
 * exists); on failure nothing is left behind but the shared parent. */
int cgroup_create(const char *name, const struct cgroup_limits *l, struct cgroup **ret,
		  struct berr **err);

/* Re-open an existing container cgroup (e.g. from `berth stop`); -1 with
 * BERR_NOT_FOUND if it is gone. */
int cgroup_open(const char *name, struct cgroup **ret, struct berr **err);

/* Move process pid (all its threads) into the cgroup, all controllers. */
int cgroup_enter(struct cgroup *cg, pid_t pid, struct berr **err);

/* v1: the next move of a process into a cgroup waits for an RCU grace
 * period in the kernel (5-20 ms) unless another move happened just
 * before. This makes that move now: the caller into the cgroup it is in
 * (nothing changes). It blocks for the grace period and holds the
 * kernel's cgroup_mutex meanwhile (no cgroup can be made or removed):
 * call it from a thread, after making the cgroup to move into. Only
 * plain system calls (no malloc, no stdio): another thread may clone()
 * meanwhile. 0 or -errno; no-op on v2. */
int cgroup_prepare_move(void);

#define CGROUP_MAX_FDS 8
/* Open the cgroup.procs files (v1: one per hierarchy; v2: one) for writing,
 * so that a forked child can join with cgroup_join_fds() before exec.
 * The caller closes the *n fds (O_CLOEXEC). */
int cgroup_procs_fds(struct cgroup *cg, int fds[CGROUP_MAX_FDS], size_t *n, struct berr **err);
/* Move the calling process into the cgroup through those fds (writes "0").
 * Async-signal-safe: usable between fork and exec. 0 or -errno. */
int cgroup_join_fds(const int *fds, size_t n);
/* v2: the cgroup directory fd, for clone3(CLONE_INTO_CGROUP); -1 on v1. */
int cgroup_dirfd(struct cgroup *cg);
/* Absolute directory of the cgroup: v1 the hierarchy holding controller
 * ("memory", "cpu", ...), NULL if not mounted; v2 the one dir (controller
 * ignored). */
const char *cgroup_path(struct cgroup *cg, const char *controller);
int cgroup_version_of(struct cgroup *cg);

/* Pause/unpause every process; freezing waits until the cgroup is FROZEN
 * (gives up, thawed again, after 2 s). */
int cgroup_freeze(struct cgroup *cg, bool frozen, struct berr **err);
/* Signal every process, sub-cgroups included. SIGKILL uses v2 cgroup.kill
 * when the kernel has it, else (v1) kills under the freezer so that no
 * fork escapes. */
int cgroup_kill(struct cgroup *cg, int sig, struct berr **err);
/* The pids in the cgroup and its sub-cgroups (caller frees *ret). */
int cgroup_pids(struct cgroup *cg, pid_t **ret, size_t *n, struct berr **err);

struct cgroup_stats {
	uint64_t mem_usage;    /* usage minus inactive file cache, as `docker stats` */
	uint64_t mem_limit;    /* the limit, or host memory when unlimited */
	uint64_t cpu_usage_ns; /* total CPU time */
	uint64_t pids;         /* number of tasks */
};
/* Read the counters; those of a missing controller read 0. */
int cgroup_stats(struct cgroup *cg, struct cgroup_stats *ret, struct berr **err);
/* Whether the kernel OOM killer killed a process in the cgroup (v1
 * memory.oom_control oom_kill, else memory.failcnt; v2 memory.events). */
bool cgroup_oom_killed(struct cgroup *cg);

/* Remove the cgroup dirs, sub-cgroups included; leftover processes are
 * SIGKILLed and waited for (up to ~2 s, EBUSY). Already gone is fine. */
int cgroup_destroy(struct cgroup *cg, struct berr **err);
void cgroup_free(struct cgroup *cg);

/* Docker's size strings ("512m", "1g", "100k", "1.5g", "1024", "64MiB"),
 * binary units -> bytes; errors (BERR_INVALID) name the value. */
int cgroup_parse_size(const char *s, int64_t *ret, struct berr **err);
/* --cpus "1.5" -> quota for period (0 = 100000); "0" -> 0 (unset). Refuses
 * what Docker does: more than the CPUs available, under 0.01, more than 9
 * decimals. */
int cgroup_parse_cpus(const char *s, int64_t period, int64_t *ret_quota, struct berr **err);
/* runc's cpu.shares -> v2 cpu.weight conversion (0 -> 0). */
uint64_t cgroup_shares_to_weight(uint64_t shares);

#endif
