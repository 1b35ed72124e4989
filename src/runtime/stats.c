#include "runtime/stats.h"
#include "runtime/cgroup.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonx.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static ssize_t slurp(const char *path, char *buf, size_t n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t r = fs_read_full(fd, buf, n - 1);
	close(fd);
	if (r < 0)
		return -1;
	buf[r] = 0;
	return r;
}

/* /proc/PID/net/dev: "  eth0: rxbytes packets ... (8 rx fields) txbytes ..." */
static void net_io(pid_t pid, uint64_t *rx, uint64_t *tx)
{
	char path[64], buf[16384];
	snprintf(path, sizeof(path), "/proc/%d/net/dev", (int)pid);
	if (slurp(path, buf, sizeof(buf)) <= 0)
		return;
	char *save = NULL;
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *colon = strchr(line, ':');
		if (!colon)
			continue;
		*colon = 0;
		char *name = line;
		while (*name == ' ')
			name++;
		if (!strcmp(name, "lo"))
			continue;
		unsigned long long v[16] = {0};
		int n = sscanf(colon + 1, "%llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4],
			       &v[5], &v[6], &v[7], &v[8]);
		if (n == 9) {
			*rx += v[0];
			*tx += v[8];
		}
	}
}

static void blk_io(struct cgroup *cg, uint64_t *rd, uint64_t *wr)
{
	char path[4200], buf[65536];
	if (cgroup_version_of(cg) == 2) {
		const char *dir = cgroup_path(cg, "io");
		if (!dir)
			return;
		snprintf(path, sizeof(path), "%s/io.stat", dir);
		if (slurp(path, buf, sizeof(buf)) <= 0)
			return;
		for (char *p = buf; (p = strstr(p, "bytes=")); p += 6) {
			if (p > buf && p[-1] == 'r' && (p - 1 == buf || p[-2] == ' '))
				*rd += strtoull(p + 6, NULL, 10);
			else if (p > buf && p[-1] == 'w' && (p - 1 == buf || p[-2] == ' '))
				*wr += strtoull(p + 6, NULL, 10);
		}
		return;
	}
	const char *dir = cgroup_path(cg, "blkio");
	if (!dir)
		return;
	/* as runc: CFQ's counters, BFQ's, else the throttle layer's */
	static const char *const files[] = {"blkio.io_service_bytes_recursive", "blkio.bfq.io_service_bytes_recursive",
					    "blkio.throttle.io_service_bytes_recursive"};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		if (slurp(path, buf, sizeof(buf)) <= 0)
			continue;
		bool any = false;
		char *save = NULL;
		for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			char dev[64], op[32];
			unsigned long long v;
			if (sscanf(line, "%63s %31s %llu", dev, op, &v) != 3)
				continue;
			any = true;
			if (!strcasecmp(op, "read"))
				*rd += v;
			else if (!strcasecmp(op, "write"))
				*wr += v;
		}
		if (any)
			return;
	}
}

int ctr_stats_read(struct ctr_store *s, const char *id, struct ctr_stats *ret, struct berr **err)
{
	memset(ret, 0, sizeof(*ret));
	clock_gettime(CLOCK_MONOTONIC, &ret->when);
	_cleanup_json_ json_t *st = ctr_state(s, id, err);
	if (!st)
		return -1;
	const char *status = jsonx_str(st, "Status");
	pid_t pid = (pid_t)json_integer_value(json_object_get(st, "Pid"));
	unsigned long long ps = (unsigned long long)json_integer_value(json_object_get(st, "PidStart"));
	if (!status || (strcmp(status, "running") && strcmp(status, "paused")) || !proc_alive(pid, ps))
		return 0;
	struct cgroup *cg = NULL;
	struct berr *e = NULL;
	if (cgroup_open(id, &cg, &e) < 0) {
		berr_free(e);
		return 0;
	}
	struct cgroup_stats cs;
	if (cgroup_stats(cg, &cs, &e) < 0) {
		berr_free(e);
		cgroup_free(cg);
		return 0;
	}
	ret->running = true;
	ret->cpu_ns = cs.cpu_usage_ns;
	ret->mem_usage = cs.mem_usage;
	ret->mem_limit = cs.mem_limit;
	ret->pids = cs.pids;
	blk_io(cg, &ret->blk_read, &ret->blk_write);
	cgroup_free(cg);
	_cleanup_json_ json_t *cfg = ctr_config(s, id, NULL);
	const char *nm = jsonx_str(json_object_get(cfg, "HostConfig"), "NetworkMode");
	/* Docker has no network stats for a container on the host's network */
	if (!nm || (strcmp(nm, "host") && strncmp(nm, "container:", 10)))
		net_io(pid, &ret->net_rx, &ret->net_tx);
	return 0;
}
