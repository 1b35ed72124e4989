/* Resource usage of a container for `berth stats`: its cgroup's counters
 * plus network (the container's network namespace, /proc/PID/net/dev) and
 * block I/O (blkio / io.stat). */
#ifndef BERTH_RUNTIME_STATS_H
#define BERTH_RUNTIME_STATS_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "runtime/container.h"
#include "util/err.h"

struct ctr_stats {
	bool running;            /* false: everything below is 0 */
	struct timespec when;    /* CLOCK_MONOTONIC of the sample */
	uint64_t cpu_ns;         /* total CPU time */
	uint64_t mem_usage, mem_limit;
	uint64_t net_rx, net_tx; /* all interfaces but lo; 0 with --network host */
	uint64_t blk_read, blk_write;
	uint64_t pids;
};

/* Sample a container (running or not). Fails only for a missing container. */
int ctr_stats_read(struct ctr_store *s, const char *id, struct ctr_stats *ret, struct berr **err);

#endif
