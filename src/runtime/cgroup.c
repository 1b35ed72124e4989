#include "runtime/cgroup.h"
#include "util/cleanup.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/bpf.h>
#include <linux/magic.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#define MIN_MEMORY (6LL << 20) /* Docker's linuxMinMemory */
#define DEFAULT_PERIOD 100000
#define PARENT_MAX 1024
#define NAME_MAX_LEN 255
#define TIMEOUT_MS 2000

enum { C_MEMORY, C_CPU, C_CPUACCT, C_CPUSET, C_PIDS, C_FREEZER, C_DEVICES, C_BLKIO, C_N };
#define BIT(c) (1u << (c))
static const char *const v1_names[C_N] = {"memory", "cpu", "cpuacct", "cpuset",
					  "pids", "freezer", "devices", "blkio"};
/* What berth enables on v2; accounting, freezing and device control are
 * core features there (devices through eBPF). */
static const char *const v2_names[C_N] = {
	[C_MEMORY] = "memory", [C_CPU] = "cpu", [C_CPUSET] = "cpuset", [C_PIDS] = "pids", [C_BLKIO] = "io",
};
#define V2_WANT (BIT(C_MEMORY) | BIT(C_CPU) | BIT(C_CPUSET) | BIT(C_PIDS) | BIT(C_BLKIO))

struct cg_dir {
	int fd;         /* the container's directory, -1 once removed */
	char *path;     /* absolute */
	unsigned ctls;  /* v1: the controllers of this hierarchy; v2: those enabled */
};

struct cgroup {
	int version;
	size_t ndirs;
	struct cg_dir dirs[C_N];
};

/* Docker's default device rules (runc's AllowedDevices) after "deny all". */
enum { ACC_M = BPF_DEVCG_ACC_MKNOD, ACC_R = BPF_DEVCG_ACC_READ, ACC_W = BPF_DEVCG_ACC_WRITE };
static const struct dev_rule {
	char type;
	int major, minor; /* -1 = any */
	unsigned acc;
} dev_rules[] = {
	{'c', -1, -1, ACC_M},  {'b', -1, -1, ACC_M},
	{'c', 1, 3, 7},   /* null */
	{'c', 1, 5, 7},   /* zero */
	{'c', 1, 7, 7},   /* full */
	{'c', 1, 8, 7},   /* random */
	{'c', 1, 9, 7},   /* urandom */
	{'c', 5, 0, 7},   /* tty */
	{'c', 5, 1, 7},   /* console */
	{'c', 5, 2, 7},   /* ptmx */
	{'c', 136, -1, 7}, /* pts */
	{'c', 10, 200, 7}, /* tun */
};

static const char *mount_dir(void)
{
	const char *m = getenv("BERTH_CGROUP_MOUNT");
	return m && *m ? m : "/sys/fs/cgroup";
}

/* 2 if mount is cgroup2, else 1 (v1 hierarchies below it, maybe), 0 if
 * it does not exist. */
static int mount_version(const char *mount)
{
	struct statfs s;
	if (statfs(mount, &s) < 0)
		return 0;
	return s.f_type == CGROUP2_SUPER_MAGIC ? 2 : 1;
}

int cgroup_version(void)
{
	const char *m = mount_dir();
	int v = mount_version(m);
	if (v != 1)
		return v;
	char p[PATH_MAX];
	for (int c = 0; c < C_N; c++) {
		struct statfs s;
		snprintf(p, sizeof(p), "%s/%s", m, v1_names[c]);
		if (statfs(p, &s) == 0 && s.f_type == CGROUP_SUPER_MAGIC)
			return 1;
	}
	return 0;
}

/* $BERTH_CGROUP_PARENT without leading/trailing slashes; no empty, "." or
 * ".." parts, which would leave the hierarchy or alias another parent. */
static int parent_get(char buf[PARENT_MAX], struct berr **err)
{
	const char *env = getenv("BERTH_CGROUP_PARENT");
	const char *p = env && *env ? env : "berth";
	while (*p == '/')
		p++;
	size_t n = strlen(p);
	while (n && p[n - 1] == '/')
		n--;
	if (!n || n >= PARENT_MAX)
		return berr_setc(err, BERR_INVALID, "invalid cgroup parent '%s'", env);
	memcpy(buf, p, n);
	buf[n] = 0;
	for (const char *s = buf; s; s = strchr(s, '/') ? strchr(s, '/') + 1 : NULL) {
		size_t len = strcspn(s, "/");
		if (!len || (len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
			return berr_setc(err, BERR_INVALID, "invalid cgroup parent '%s'", env);
	}
	return 0;
}

static int name_check(const char *name, struct berr **err)
{
	if (!name || !*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..") ||
	    strlen(name) > NAME_MAX_LEN)
		return berr_setc(err, BERR_INVALID, "invalid cgroup name '%s'", name ? name : "");
	return 0;
}

/* ---- small file I/O: cgroup files are read and written whole ---- */

/* 0 or -errno. */
static int put_at(int dfd, const char *file, const char *val)
{
	int fd = openat(dfd, file, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t len = strlen(val);
	ssize_t w = write(fd, val, len);
	int r = w < 0 ? -errno : (size_t)w != len ? -EIO : 0;
	close(fd);
	return r;
}

/* NUL-terminated, trailing newlines dropped: length or -errno. */
static ssize_t get_at(int dfd, const char *file, char *buf, size_t size)
{
	int fd = openat(dfd, file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* a cgroup file comes whole in one read(2) (seq_file fills the buffer) */
	ssize_t n;
	do
		n = read(fd, buf, size - 1);
	while (n < 0 && errno == EINTR);
	int e = errno;
	close(fd);
	if (n < 0)
		return -e;
	while (n > 0 && buf[n - 1] == '\n')
		n--;
	buf[n] = 0;
	return n;
}

static bool get_u64(int dfd, const char *file, uint64_t *ret)
{
	char buf[64];
	if (get_at(dfd, file, buf, sizeof(buf)) <= 0 || !isdigit((unsigned char)buf[0]))
		return false;
	*ret = strtoull(buf, NULL, 10);
	return true;
}

/* The value of a "key value" line (memory.stat, cpu.stat, *.events). */
static bool kv_get(const char *buf, const char *key, uint64_t *ret)
{
	size_t kl = strlen(key);
	for (const char *p = buf; *p;) {
		if (!strncmp(p, key, kl) && p[kl] == ' ') {
			*ret = strtoull(p + kl + 1, NULL, 10);
			return true;
		}
		const char *nl = strchr(p, '\n');
		if (!nl)
			break;
		p = nl + 1;
	}
	return false;
}

static int set(const struct cg_dir *d, const char *file, const char *val, struct berr **err)
{
	int r = put_at(d->fd, file, val);
	if (r < 0)
		return berr_set(err, -r, "setting %s/%s to %s", d->path, file, val);
	return 0;
}

static int set_i64(const struct cg_dir *d, const char *file, int64_t v, struct berr **err)
{
	char b[32];
	snprintf(b, sizeof(b), "%" PRId64, v);
	return set(d, file, b, err);
}

static void nap_us(long us)
{
	struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
	nanosleep(&ts, NULL);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- parsing and validation ---- */

int cgroup_parse_size(const char *s, int64_t *ret, struct berr **err)
{
	/* Docker's RAMInBytes: ^\d+(\.\d+)? ?([kmgtp])?i?b?$, binary units */
	const char *p = s;
	unsigned __int128 ip = 0, frac = 0, scale = 1;
	if (!s || !isdigit((unsigned char)*p))
		goto bad;
	for (; isdigit((unsigned char)*p); p++) {
		ip = ip * 10 + (unsigned)(*p - '0');
		if (ip > INT64_MAX)
			goto big;
	}
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			goto bad;
		for (; isdigit((unsigned char)*p); p++) {
			if (scale < 1000000000000000000ULL) {
				frac = frac * 10 + (unsigned)(*p - '0');
				scale *= 10;
			}
		}
	}
	if (*p == ' ')
		p++;
	unsigned shift = 0;
	const char *units = "kmgtp", *u;
	if (*p && (u = strchr(units, tolower((unsigned char)*p)))) {
		shift = 10 * (unsigned)(u - units + 1);
		p++;
	}
	if (*p == 'i' || *p == 'I')
		p++;
	if (*p == 'b' || *p == 'B')
		p++;
	if (*p)
		goto bad;
	if (ip > (unsigned __int128)(INT64_MAX >> shift))
		goto big;
	unsigned __int128 v = (ip << shift) + (frac << shift) / scale;
	if (v > INT64_MAX)
		goto big;
	*ret = (int64_t)v;
	return 0;
bad:
	return berr_setc(err, BERR_INVALID, "invalid size: '%s'", s ? s : "");
big:
	return berr_setc(err, BERR_INVALID, "invalid size: '%s': too large", s);
}

static int cpu_count(void)
{
	cpu_set_t cs;
	if (sched_getaffinity(0, sizeof(cs), &cs) == 0 && CPU_COUNT(&cs) > 0)
		return CPU_COUNT(&cs);
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)n : 1;
}

int cgroup_parse_cpus(const char *s, int64_t period, int64_t *ret_quota, struct berr **err)
{
	/* exact decimal in nano-CPUs, as Docker's NanoCPUs */
	const char *p = s;
	uint64_t ip = 0, frac = 0;
	int nd = 0;
	bool digits = false;
	if (!s)
		goto bad;
	for (; isdigit((unsigned char)*p); p++, digits = true)
		if (ip < 10000000)
			ip = ip * 10 + (uint64_t)(*p - '0');
	if (*p == '.') {
		for (p++; isdigit((unsigned char)*p); p++, digits = true) {
			if (nd < 9) {
				frac = frac * 10 + (uint64_t)(*p - '0');
				nd++;
			} else if (*p != '0') {
				return berr_setc(err, BERR_INVALID, "invalid value '%s' for --cpus: value is too precise", s);
			}
		}
	}
	if (!digits || *p)
		goto bad;
	for (; nd < 9; nd++)
		frac *= 10;
	uint64_t nano = ip * 1000000000ULL + frac;
	if (!nano) {
		*ret_quota = 0;
		return 0;
	}
	int ncpu = cpu_count();
	if (nano < 10000000ULL || nano > (uint64_t)ncpu * 1000000000ULL)
		return berr_setc(err, BERR_INVALID,
				 "Range of CPUs is from 0.01 to %d.00, as there are only %d CPUs available", ncpu, ncpu);
	if (period <= 0)
		period = DEFAULT_PERIOD;
	*ret_quota = (int64_t)((unsigned __int128)nano * (uint64_t)period / 1000000000ULL);
	return 0;
bad:
	return berr_setc(err, BERR_INVALID, "invalid value '%s' for --cpus: not a decimal number", s ? s : "");
}

uint64_t cgroup_shares_to_weight(uint64_t shares)
{
	if (!shares)
		return 0;
	if (shares < 2)
		shares = 2;
	if (shares > 262144)
		shares = 262144;
	return 1 + ((shares - 2) * 9999) / 262142;
}

#define MAX_CPUS 8192
#define MASK_WORDS (MAX_CPUS / 64)

/* "0-3,5" -> bitmap; -1 on syntax errors. */
static int cpulist_parse(const char *s, uint64_t *mask)
{
	memset(mask, 0, MASK_WORDS * sizeof(uint64_t));
	for (const char *p = s;;) {
		char *e;
		if (!isdigit((unsigned char)*p))
			return -1;
		unsigned long a = strtoul(p, &e, 10), b = a;
		p = e;
		if (*p == '-') {
			if (!isdigit((unsigned char)*++p))
				return -1;
			b = strtoul(p, &e, 10);
			p = e;
		}
		if (a >= MAX_CPUS || b >= MAX_CPUS || b < a)
			return -1;
		for (unsigned long i = a; i <= b; i++)
			mask[i / 64] |= 1ULL << (i % 64);
		if (!*p)
			return 0;
		if (*p++ != ',')
			return -1;
	}
}

static int cpuset_check(const char *mount, int version, const char *cpus, struct berr **err)
{
	uint64_t want[MASK_WORDS], have[MASK_WORDS];
	if (cpulist_parse(cpus, want) < 0)
		return berr_setc(err, BERR_INVALID, "Invalid value %s for cpuset cpus", cpus);
	char path[PATH_MAX], avail[4096];
	snprintf(path, sizeof(path), version == 2 ? "%s/cpuset.cpus.effective" : "%s/cpuset/cpuset.effective_cpus",
		 mount);
	/* nothing to compare with: the kernel will judge */
	if (get_at(AT_FDCWD, path, avail, sizeof(avail)) <= 0 &&
	    get_at(AT_FDCWD, "/sys/devices/system/cpu/online", avail, sizeof(avail)) <= 0)
		return 0;
	if (cpulist_parse(avail, have) < 0)
		return 0;
	for (size_t i = 0; i < MASK_WORDS; i++)
		if (want[i] & ~have[i])
			return berr_setc(err, BERR_INVALID,
					 "Requested CPUs are not available - requested %s, available: %s", cpus, avail);
	return 0;
}

static int limits_check(struct cgroup_limits *l, struct berr **err)
{
	if (l->memory < 0)
		return berr_setc(err, BERR_INVALID, "invalid memory limit %" PRId64, l->memory);
	if (l->memory && l->memory < MIN_MEMORY)
		return berr_setc(err, BERR_INVALID, "Minimum memory limit allowed is 6MB");
	if (l->memory_swap < -1)
		return berr_setc(err, BERR_INVALID, "invalid memory+swap limit %" PRId64, l->memory_swap);
	if (l->memory_swap > 0 && !l->memory)
		return berr_setc(err, BERR_INVALID,
				 "You should always set the Memory limit when using Memoryswap limit");
	if (l->memory_swap > 0 && l->memory_swap < l->memory)
		return berr_setc(err, BERR_INVALID, "Minimum memoryswap limit should be larger than memory limit");
	if (l->cpu_period && (l->cpu_period < 1000 || l->cpu_period > 1000000))
		return berr_setc(err, BERR_INVALID,
				 "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)");
	if (l->cpu_quota < 0)
		l->cpu_quota = 0; /* -1: unlimited, the default */
	if (l->cpu_quota && l->cpu_quota < 1000)
		return berr_setc(err, BERR_INVALID, "CPU cfs quota can not be less than 1ms (i.e. 1000)");
	if (l->cpu_shares < 0)
		return berr_setc(err, BERR_INVALID, "invalid CPU shares %" PRId64, l->cpu_shares);
	/* Docker adjusts (with a warning) rather than refuses */
	if (l->cpu_shares && l->cpu_shares < 2)
		l->cpu_shares = 2;
	if (l->cpu_shares > 262144)
		l->cpu_shares = 262144;
	if (l->pids_max < -1)
		return berr_setc(err, BERR_INVALID, "invalid pids limit %" PRId64, l->pids_max);
	if (l->cpuset_cpus && !*l->cpuset_cpus)
		l->cpuset_cpus = NULL;
	return 0;
}

/* The controllers that the set limits need. */
static unsigned need_ctls(const struct cgroup_limits *l)
{
	unsigned m = 0;
	if (l->memory)
		m |= BIT(C_MEMORY);
	if (l->cpu_quota || (l->cpu_period && l->cpu_period != DEFAULT_PERIOD) || l->cpu_shares)
		m |= BIT(C_CPU);
	if (l->pids_max > 0)
		m |= BIT(C_PIDS);
	if (l->cpuset_cpus)
		m |= BIT(C_CPUSET);
	return m;
}

static int missing_ctls(unsigned miss, const char *where, struct berr **err)
{
	char names[128] = "";
	for (int c = 0; c < C_N; c++)
		if (miss & BIT(c))
			snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s", *names ? ", " : "",
				 v1_names[c]);
	return berr_set(err, 0, "cgroup controller %s needed for the limits is not available in %s", names, where);
}

/* ---- the cgroup object ---- */

static int dir_add(struct cgroup *cg, int fd, unsigned ctls, const char *mount, const char *sub, const char *rel,
		   struct berr **err)
{
	struct cg_dir *d = &cg->dirs[cg->ndirs];
	int n = sub ? asprintf(&d->path, "%s/%s/%s", mount, sub, rel) : asprintf(&d->path, "%s/%s", mount, rel);
	if (n < 0) {
		d->path = NULL;
		return berr_set(err, ENOMEM, "cgroup %s", rel);
	}
	d->fd = fd;
	d->ctls = ctls;
	cg->ndirs++;
	return 0;
}

static struct cg_dir *dir_of(struct cgroup *cg, int c)
{
	for (size_t i = 0; i < cg->ndirs; i++)
		if (cg->dirs[i].fd >= 0 && (cg->version == 2 || (cg->dirs[i].ctls & BIT(c))))
			return &cg->dirs[i];
	return NULL;
}

/* Where to list processes: any hierarchy holds them all after enter. */
static struct cg_dir *procs_dir(struct cgroup *cg)
{
	struct cg_dir *d = dir_of(cg, C_PIDS);
	if (!d)
		d = dir_of(cg, C_FREEZER);
	for (size_t i = 0; !d && i < cg->ndirs; i++)
		if (cg->dirs[i].fd >= 0)
			d = &cg->dirs[i];
	return d;
}

void cgroup_free(struct cgroup *cg)
{
	if (!cg)
		return;
	for (size_t i = 0; i < cg->ndirs; i++) {
		if (cg->dirs[i].fd >= 0)
			close(cg->dirs[i].fd);
		free(cg->dirs[i].path);
	}
	free(cg);
}

int cgroup_version_of(struct cgroup *cg)
{
	return cg->version;
}

int cgroup_dirfd(struct cgroup *cg)
{
	return cg->version == 2 && cg->ndirs ? cg->dirs[0].fd : -1;
}

const char *cgroup_path(struct cgroup *cg, const char *controller)
{
	if (cg->version == 2)
		return cg->ndirs ? cg->dirs[0].path : NULL;
	for (int c = 0; c < C_N; c++)
		if (controller && !strcmp(controller, v1_names[c]))
			for (size_t i = 0; i < cg->ndirs; i++)
				if (cg->dirs[i].ctls & BIT(c))
					return cg->dirs[i].path;
	return NULL;
}

/* ---- v1 ---- */

struct v1_root {
	dev_t dev;
	unsigned ctls;
	int first; /* the controller whose directory name we use */
};

/* The hierarchies mounted below mountfd (each a file system of its own);
 * co-mounted controllers (cpu,cpuacct) share one. fstatat follows the
 * usual cpu -> cpu,cpuacct symlinks. */
static size_t v1_roots(int mountfd, struct v1_root *roots)
{
	struct stat mst, st;
	size_t n = 0;
	if (fstat(mountfd, &mst) < 0)
		return 0;
	for (int c = 0; c < C_N; c++) {
		if (fstatat(mountfd, v1_names[c], &st, 0) < 0 || !S_ISDIR(st.st_mode) || st.st_dev == mst.st_dev)
			continue;
		size_t i = 0;
		while (i < n && roots[i].dev != st.st_dev)
			i++;
		if (i < n)
			roots[i].ctls |= BIT(c);
		else
			roots[n++] = (struct v1_root){st.st_dev, BIT(c), c};
	}
	return n;
}

/* mkdir -p of the parent levels below rootfd. */
static int mkdir_parents(int rootfd, const char *where, const char *parent, struct berr **err)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s", parent);
	for (char *s = p;; s++) {
		if (*s && *s != '/')
			continue;
		char c = *s;
		*s = 0;
		if (mkdirat(rootfd, p, 0755) < 0 && errno != EEXIST)
			return berr_set(err, errno, "creating cgroup %s/%s", where, p);
		if (!c)
			return 0;
		*s = c;
	}
}

/* A new v1 cpuset has no cpus/mems and refuses tasks: copy the parent's
 * value into rel[0..len) ("" = the root) when it is empty, filling empty
 * ancestors first. val gets the value. 1 if it had to copy. */
static int cpuset_inherit(int rootfd, const char *rel, size_t len, const char *file, char *val, size_t size,
			  struct berr **err)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%.*s%s%s", (int)len, rel, len ? "/" : "", file);
	ssize_t n = get_at(rootfd, p, val, size);
	if (n < 0)
		return berr_set(err, (int)-n, "reading cpuset %s", p);
	if (n > 0)
		return 0;
	if (!len)
		return berr_set(err, 0, "the root cpuset has an empty %s", file);
	size_t plen = len;
	while (plen && rel[plen - 1] != '/')
		plen--;
	if (plen)
		plen--;
	if (cpuset_inherit(rootfd, rel, plen, file, val, size, err) < 0)
		return -1;
	int r = put_at(rootfd, p, val);
	if (r < 0)
		return berr_set(err, -r, "setting cpuset %s to %s", p, val);
	return 1;
}

static void dev_rule_str(const struct dev_rule *r, char *buf, size_t size)
{
	char maj[16] = "*", min[16] = "*";
	if (r->major >= 0)
		snprintf(maj, sizeof(maj), "%d", r->major);
	if (r->minor >= 0)
		snprintf(min, sizeof(min), "%d", r->minor);
	snprintf(buf, size, "%c %s:%s %s%s%s", r->type, maj, min, r->acc & ACC_R ? "r" : "",
		 r->acc & ACC_W ? "w" : "", r->acc & ACC_M ? "m" : "");
}

static int v1_devices(const struct cg_dir *d, struct berr **err)
{
	if (set(d, "devices.deny", "a", err) < 0)
		return -1;
	/* one rule per write(2) */
	_cleanup_close_ int fd = openat(d->fd, "devices.allow", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return berr_set(err, errno, "opening %s/devices.allow", d->path);
	for (size_t i = 0; i < ARRAY_SIZE(dev_rules); i++) {
		char rule[64];
		dev_rule_str(&dev_rules[i], rule, sizeof(rule));
		if (write(fd, rule, strlen(rule)) < 0)
			return berr_set(err, errno, "setting %s/devices.allow to %s", d->path, rule);
	}
	return 0;
}

static int v1_apply(const struct cg_dir *d, int mountfd, const char *sub, const char *rel, size_t parent_len,
		    const struct cgroup_limits *l, struct berr **err)
{
	if ((d->ctls & BIT(C_MEMORY)) && l->memory) {
		if (set_i64(d, "memory.limit_in_bytes", l->memory, err) < 0)
			return -1;
		int64_t sw = l->memory_swap ? l->memory_swap : l->memory <= INT64_MAX / 2 ? 2 * l->memory : -1;
		if (sw > 0) {
			char b[32];
			snprintf(b, sizeof(b), "%" PRId64, sw);
			/* no memsw file: swap accounting is off, the limit can't apply (Docker warns) */
			int r = put_at(d->fd, "memory.memsw.limit_in_bytes", b);
			if (r < 0 && r != -ENOENT)
				return berr_set(err, -r, "setting %s/memory.memsw.limit_in_bytes to %s", d->path, b);
		}
	}
	if (d->ctls & BIT(C_CPU)) {
		if (l->cpu_period && l->cpu_period != DEFAULT_PERIOD &&
		    set_i64(d, "cpu.cfs_period_us", l->cpu_period, err) < 0)
			return -1;
		if (l->cpu_quota > 0 && set_i64(d, "cpu.cfs_quota_us", l->cpu_quota, err) < 0)
			return -1;
		if (l->cpu_shares && l->cpu_shares != 1024 && set_i64(d, "cpu.shares", l->cpu_shares, err) < 0)
			return -1;
	}
	if ((d->ctls & BIT(C_PIDS)) && l->pids_max > 0 && set_i64(d, "pids.max", l->pids_max, err) < 0)
		return -1;
	if (d->ctls & BIT(C_CPUSET)) {
		char val[4096];
		int copied = 0;
		_cleanup_close_ int rootfd = openat(mountfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (rootfd < 0)
			return berr_set(err, errno, "opening %s", sub);
		if (l->cpuset_cpus) {
			/* the parents need cpus before the child can take a subset */
			if (cpuset_inherit(rootfd, rel, parent_len, "cpuset.cpus", val, sizeof(val), err) < 0 ||
			    set(d, "cpuset.cpus", l->cpuset_cpus, err) < 0)
				return -1;
		} else if ((copied = cpuset_inherit(rootfd, rel, strlen(rel), "cpuset.cpus", val, sizeof(val), err)) < 0) {
			return -1;
		}
		int r = cpuset_inherit(rootfd, rel, strlen(rel), "cpuset.mems", val, sizeof(val), err);
		if (r < 0)
			return -1;
		if (copied || r) {
			/* from now on the kernel copies the parent's at mkdir */
			char p[PARENT_MAX + 32];
			snprintf(p, sizeof(p), "%.*s/cgroup.clone_children", (int)parent_len, rel);
			put_at(rootfd, p, "1");
		}
	}
	if ((d->ctls & BIT(C_DEVICES)) && v1_devices(d, err) < 0)
		return -1;
	return 0;
}

static int v1_create(struct cgroup *cg, const char *mount, const char *parent, const char *rel,
		     const struct cgroup_limits *l, struct berr **err)
{
	_cleanup_close_ int mfd = open(mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mfd < 0)
		return berr_set(err, errno, "opening %s", mount);
	struct v1_root roots[C_N];
	size_t n = v1_roots(mfd, roots);
	unsigned have = 0;
	for (size_t i = 0; i < n; i++)
		have |= roots[i].ctls;
	if (!n)
		return berr_set(err, 0, "no cgroup v1 controllers mounted under %s", mount);
	if (need_ctls(l) & ~have)
		return missing_ctls(need_ctls(l) & ~have, mount, err);
	for (size_t i = 0; i < n; i++) {
		const char *sub = v1_names[roots[i].first];
		char srel[PATH_MAX];
		snprintf(srel, sizeof(srel), "%s/%s", sub, rel);
		/* the parent is usually there already */
		int r = mkdirat(mfd, srel, 0755);
		if (r < 0 && errno == ENOENT) {
			char spar[PATH_MAX];
			snprintf(spar, sizeof(spar), "%s/%s", sub, parent);
			if (mkdir_parents(mfd, mount, spar, err) < 0)
				return -1;
			r = mkdirat(mfd, srel, 0755);
		}
		if (r < 0) {
			if (errno == EEXIST)
				return berr_setc(err, BERR_CONFLICT, "cgroup %s/%s already exists", mount, srel);
			return berr_set(err, errno, "creating cgroup %s/%s", mount, srel);
		}
		if (dir_add(cg, -1, roots[i].ctls, mount, sub, rel, err) < 0) {
			unlinkat(mfd, srel, AT_REMOVEDIR);
			return -1;
		}
		struct cg_dir *d = &cg->dirs[cg->ndirs - 1];
		d->fd = openat(mfd, srel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (d->fd < 0)
			return berr_set(err, errno, "opening cgroup %s", d->path);
		if (v1_apply(d, mfd, sub, rel, strlen(parent), l, err) < 0)
			return -1;
	}
	return 0;
}

/* ---- v2 ---- */

static unsigned ctl_parse(const char *s)
{
	unsigned m = 0;
	for (;;) {
		s += strspn(s, " \n");
		size_t n = strcspn(s, " \n");
		if (!n)
			return m;
		for (int c = 0; c < C_N; c++)
			if (v2_names[c] && strlen(v2_names[c]) == n && !memcmp(s, v2_names[c], n))
				m |= BIT(c);
		s += n;
	}
}

/* Enable berth's controllers in the subtree_control of the root and of
 * each parent level (creating the levels), writing only what is missing.
 * *ret gets the controllers the container's directory will have. */
static int v2_parents(int rootfd, const char *mount, const char *parent, unsigned *ret, struct berr **err)
{
	char rel[PARENT_MAX] = "", f[PARENT_MAX + 64], buf[512];
	size_t len = 0;
	const char *p = parent;
	unsigned want = V2_WANT;
	for (;;) {
		const char *sep = len ? "/" : "";
		snprintf(f, sizeof(f), "%s%scgroup.controllers", rel, sep);
		ssize_t n = get_at(rootfd, f, buf, sizeof(buf));
		if (n < 0)
			return berr_set(err, (int)-n, "reading %s/%s", mount, f);
		want &= ctl_parse(buf);
		snprintf(f, sizeof(f), "%s%scgroup.subtree_control", rel, sep);
		n = get_at(rootfd, f, buf, sizeof(buf));
		if (n < 0)
			return berr_set(err, (int)-n, "reading %s/%s", mount, f);
		unsigned add = want & ~ctl_parse(buf);
		if (add) {
			char plus[128] = "";
			for (int c = 0; c < C_N; c++)
				if (add & BIT(c))
					snprintf(plus + strlen(plus), sizeof(plus) - strlen(plus), "%s+%s",
						 *plus ? " " : "", v2_names[c]);
			int r = put_at(rootfd, f, plus);
			if (r < 0)
				return berr_set(err, -r, "enabling controllers (%s) in %s/%s", plus, mount, f);
		}
		if (!*p)
			break;
		size_t seg = strcspn(p, "/");
		if (len)
			rel[len++] = '/';
		memcpy(rel + len, p, seg);
		len += seg;
		rel[len] = 0;
		p += seg;
		if (*p == '/')
			p++;
		if (mkdirat(rootfd, rel, 0755) < 0 && errno != EEXIST)
			return berr_set(err, errno, "creating cgroup %s/%s", mount, rel);
	}
	*ret = want;
	return 0;
}

/* cgroup v2 has no devices controller: the same default rules as an eBPF
 * BPF_CGROUP_DEVICE program (as runc does), deny unless a rule allows. */
static int v2_devices(const struct cg_dir *d, struct berr **err)
{
	struct bpf_insn prog[8 + ARRAY_SIZE(dev_rules) * 8];
	size_t n = 0;
#define I(c, dst, src, o, im) \
	(prog[n++] = (struct bpf_insn){.code = (c), .dst_reg = (dst), .src_reg = (src), .off = (o), .imm = (im)})
	/* struct bpf_cgroup_dev_ctx: r2 = type, r3 = access, r4 = major, r5 = minor */
	I(BPF_LDX | BPF_W | BPF_MEM, 2, 1, 0, 0);
	I(BPF_ALU | BPF_AND | BPF_K, 2, 0, 0, 0xffff);
	I(BPF_LDX | BPF_W | BPF_MEM, 3, 1, 0, 0);
	I(BPF_ALU | BPF_RSH | BPF_K, 3, 0, 0, 16);
	I(BPF_LDX | BPF_W | BPF_MEM, 4, 1, 4, 0);
	I(BPF_LDX | BPF_W | BPF_MEM, 5, 1, 8, 0);
	for (size_t i = 0; i < ARRAY_SIZE(dev_rules); i++) {
		const struct dev_rule *r = &dev_rules[i];
		size_t jumps[4], nj = 0;
		jumps[nj++] = n;
		I(BPF_JMP | BPF_JNE | BPF_K, 2, 0, 0, r->type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK);
		if (r->acc != (ACC_M | ACC_R | ACC_W)) {
			/* every requested access must be allowed */
			I(BPF_ALU | BPF_MOV | BPF_X, 1, 3, 0, 0);
			I(BPF_ALU | BPF_AND | BPF_K, 1, 0, 0, (int)r->acc);
			jumps[nj++] = n;
			I(BPF_JMP | BPF_JNE | BPF_X, 1, 3, 0, 0);
		}
		if (r->major >= 0) {
			jumps[nj++] = n;
			I(BPF_JMP | BPF_JNE | BPF_K, 4, 0, 0, r->major);
		}
		if (r->minor >= 0) {
			jumps[nj++] = n;
			I(BPF_JMP | BPF_JNE | BPF_K, 5, 0, 0, r->minor);
		}
		I(BPF_ALU | BPF_MOV | BPF_K, 0, 0, 0, 1);
		I(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
		for (size_t j = 0; j < nj; j++)
			prog[jumps[j]].off = (short)(n - jumps[j] - 1);
	}
	I(BPF_ALU | BPF_MOV | BPF_K, 0, 0, 0, 0);
	I(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
#undef I

	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	a.insns = (uint64_t)(uintptr_t)prog;
	a.insn_cnt = (uint32_t)n;
	a.license = (uint64_t)(uintptr_t)"Apache-2.0";
	int pfd = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &a, sizeof(a));
	if (pfd < 0)
		return berr_set(err, errno, "loading the device filter (eBPF) for %s", d->path);
	memset(&a, 0, sizeof(a));
	a.target_fd = (uint32_t)d->fd;
	a.attach_bpf_fd = (uint32_t)pfd;
	a.attach_type = BPF_CGROUP_DEVICE;
	/* with the parents' filters: all must allow */
	a.attach_flags = BPF_F_ALLOW_MULTI;
	int r = (int)syscall(SYS_bpf, BPF_PROG_ATTACH, &a, sizeof(a));
	int e = errno;
	close(pfd);
	if (r < 0)
		return berr_set(err, e, "attaching the device filter (eBPF) to %s", d->path);
	return 0;
}

static int v2_apply(const struct cg_dir *d, const struct cgroup_limits *l, struct berr **err)
{
	if (l->memory) {
		if (set_i64(d, "memory.max", l->memory, err) < 0)
			return -1;
		/* memory.swap.max is swap alone; Docker's default is as much swap as memory */
		int64_t swap = l->memory_swap > 0 ? l->memory_swap - l->memory : l->memory_swap == 0 ? l->memory : -1;
		if (swap >= 0) {
			char b[32];
			snprintf(b, sizeof(b), "%" PRId64, swap);
			int r = put_at(d->fd, "memory.swap.max", b);
			if (r < 0 && r != -ENOENT)
				return berr_set(err, -r, "setting %s/memory.swap.max to %s", d->path, b);
		}
	}
	if (l->cpu_quota || (l->cpu_period && l->cpu_period != DEFAULT_PERIOD)) {
		char b[64];
		int64_t period = l->cpu_period ? l->cpu_period : DEFAULT_PERIOD;
		if (l->cpu_quota)
			snprintf(b, sizeof(b), "%" PRId64 " %" PRId64, l->cpu_quota, period);
		else
			snprintf(b, sizeof(b), "max %" PRId64, period);
		if (set(d, "cpu.max", b, err) < 0)
			return -1;
	}
	if (l->cpu_shares &&
	    set_i64(d, "cpu.weight", (int64_t)cgroup_shares_to_weight((uint64_t)l->cpu_shares), err) < 0)
		return -1;
	if (l->pids_max > 0 && set_i64(d, "pids.max", l->pids_max, err) < 0)
		return -1;
	if (l->cpuset_cpus && set(d, "cpuset.cpus", l->cpuset_cpus, err) < 0)
		return -1;
	return v2_devices(d, err);
}

static int v2_create(struct cgroup *cg, const char *mount, const char *parent, const char *rel,
		     const struct cgroup_limits *l, struct berr **err)
{
	_cleanup_close_ int rootfd = open(mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return berr_set(err, errno, "opening %s", mount);
	unsigned have = 0;
	if (v2_parents(rootfd, mount, parent, &have, err) < 0)
		return -1;
	if (need_ctls(l) & ~have) {
		char where[PATH_MAX];
		snprintf(where, sizeof(where), "%s/%s", mount, parent);
		return missing_ctls(need_ctls(l) & ~have, where, err);
	}
	if (mkdirat(rootfd, rel, 0755) < 0) {
		if (errno == EEXIST)
			return berr_setc(err, BERR_CONFLICT, "cgroup %s/%s already exists", mount, rel);
		return berr_set(err, errno, "creating cgroup %s/%s", mount, rel);
	}
	if (dir_add(cg, -1, have, mount, NULL, rel, err) < 0) {
		unlinkat(rootfd, rel, AT_REMOVEDIR);
		return -1;
	}
	struct cg_dir *d = &cg->dirs[0];
	d->fd = openat(rootfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->fd < 0)
		return berr_set(err, errno, "opening cgroup %s", d->path);
	return v2_apply(d, l, err);
}

/* ---- create / open / enter ---- */

int cgroup_create(const char *name, const struct cgroup_limits *lim, struct cgroup **ret, struct berr **err)
{
	struct cgroup_limits l = {0};
	if (lim)
		l = *lim;
	char parent[PARENT_MAX], rel[PARENT_MAX + NAME_MAX_LEN + 2];
	if (name_check(name, err) < 0 || parent_get(parent, err) < 0 || limits_check(&l, err) < 0)
		return -1;
	const char *mount = mount_dir();
	int version = mount_version(mount);
	if (!version)
		return berr_set(err, errno, "no cgroup file system at %s", mount);
	/* validate before creating anything */
	if (l.cpuset_cpus && cpuset_check(mount, version, l.cpuset_cpus, err) < 0)
		return -1;
	snprintf(rel, sizeof(rel), "%s/%s", parent, name);
	struct cgroup *cg = calloc(1, sizeof(*cg));
	if (!cg)
		return berr_set(err, ENOMEM, "creating cgroup");
	cg->version = version;
	int r = version == 2 ? v2_create(cg, mount, parent, rel, &l, err) : v1_create(cg, mount, parent, rel, &l, err);
	if (r < 0) {
		/* empty directories we made: nothing to kill */
		for (size_t i = 0; i < cg->ndirs; i++)
			rmdir(cg->dirs[i].path);
		cgroup_free(cg);
		return -1;
	}
	*ret = cg;
	return 0;
}

int cgroup_open(const char *name, struct cgroup **ret, struct berr **err)
{
	char parent[PARENT_MAX], rel[PARENT_MAX + NAME_MAX_LEN + 2];
	if (name_check(name, err) < 0 || parent_get(parent, err) < 0)
		return -1;
	const char *mount = mount_dir();
	snprintf(rel, sizeof(rel), "%s/%s", parent, name);
	struct cgroup *cg = calloc(1, sizeof(*cg));
	if (!cg)
		return berr_set(err, ENOMEM, "opening cgroup");
	cg->version = mount_version(mount);
	int r = 0;
	if (cg->version == 2) {
		char p[PATH_MAX];
		snprintf(p, sizeof(p), "%s/%s", mount, rel);
		int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0 && (r = dir_add(cg, fd, V2_WANT, mount, NULL, rel, err)) < 0)
			close(fd);
		else if (fd < 0 && errno != ENOENT)
			r = berr_set(err, errno, "opening cgroup %s", p);
	} else if (cg->version == 1) {
		_cleanup_close_ int mfd = open(mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		struct v1_root roots[C_N];
		size_t n = mfd < 0 ? 0 : v1_roots(mfd, roots);
		for (size_t i = 0; i < n && r == 0; i++) {
			const char *sub = v1_names[roots[i].first];
			char srel[PATH_MAX];
			snprintf(srel, sizeof(srel), "%s/%s", sub, rel);
			int fd = openat(mfd, srel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (fd < 0) {
				if (errno != ENOENT)
					r = berr_set(err, errno, "opening cgroup %s/%s", mount, srel);
				continue;
			}
			if ((r = dir_add(cg, fd, roots[i].ctls, mount, sub, rel, err)) < 0)
				close(fd);
		}
	}
	if (r == 0 && !cg->ndirs)
		r = berr_setc(err, BERR_NOT_FOUND, "no cgroup for container %s", name);
	if (r < 0) {
		cgroup_free(cg);
		return -1;
	}
	*ret = cg;
	return 0;
}

int cgroup_enter(struct cgroup *cg, pid_t pid, struct berr **err)
{
	char b[24];
	snprintf(b, sizeof(b), "%d", (int)pid);
	for (size_t i = 0; i < cg->ndirs; i++) {
		const struct cg_dir *d = &cg->dirs[i];
		if (d->fd < 0)
			continue;
		int r = put_at(d->fd, "cgroup.procs", b);
		if (r < 0)
			return berr_set(err, -r, "moving process %d into cgroup %s", (int)pid, d->path);
	}
	return 0;
}

/* Why this works: every write to a v1 cgroup.procs takes the kernel's
 * cgroup threadgroup rwsem for writing, and the first writer after a quiet
 * spell waits for an RCU grace period (rcu_sync_enter); writers up to a
 * grace period after the last one do not wait. A write of our own pid to
 * the cgroup we are in moves nothing but starts that wait. (It holds the
 * cgroup_mutex meanwhile, so the container's cgroup must exist first.) */
int cgroup_prepare_move(void)
{
	/* plain system calls only (no malloc, no stdio): see cgroup.h */
	struct statfs sfs;
	const char *mount = mount_dir();
	if (statfs(mount, &sfs) < 0 || sfs.f_type == CGROUP2_SUPER_MAGIC)
		return 0;
	char buf[8192], path[PATH_MAX];
	int fd = open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = 0;
	int r = -ENOENT;
	for (char *line = buf, *next; r < 0 && line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		/* "ID:controller[,controller...]:/path" of a hierarchy we know */
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2 || c2 == c1 + 1 || c2[1] != '/')
			continue;
		*c2 = 0;
		const char *ctl = NULL;
		for (int c = 0; c < C_N && !ctl; c++) {
			size_t len = strlen(v1_names[c]);
			for (const char *p = c1 + 1; p && !ctl; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
				if (!strncmp(p, v1_names[c], len) && (p[len] == ',' || p[len] == 0))
					ctl = v1_names[c];
		}
		if (!ctl || snprintf(path, sizeof(path), "%s/%s%s/cgroup.procs", mount, ctl, c2 + 1) >= (int)sizeof(path))
			continue;
		int pfd = open(path, O_WRONLY | O_CLOEXEC);
		if (pfd < 0) {
			r = -errno;
			continue;
		}
		char pid[24];
		int pn = snprintf(pid, sizeof(pid), "%d", (int)getpid());
		r = write(pfd, pid, (size_t)pn) == pn ? 0 : -errno;
		close(pfd);
	}
	return r;
}

int cgroup_procs_fds(struct cgroup *cg, int fds[CGROUP_MAX_FDS], size_t *n, struct berr **err)
{
	*n = 0;
	for (size_t i = 0; i < cg->ndirs && *n < CGROUP_MAX_FDS; i++) {
		const struct cg_dir *d = &cg->dirs[i];
		if (d->fd < 0)
			continue;
		int fd = openat(d->fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
		if (fd < 0) {
			int e = errno;
			while (*n)
				close(fds[--*n]);
			return berr_set(err, e, "opening %s/cgroup.procs", d->path);
		}
		fds[(*n)++] = fd;
	}
	return 0;
}

int cgroup_join_fds(const int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (write(fds[i], "0", 1) < 0)
			return -errno;
	return 0;
}

/* ---- processes ---- */

struct pidv {
	pid_t *v;
	size_t n, cap;
};

static int pidv_add(struct pidv *pv, long pid)
{
	if (pv->n == pv->cap) {
		size_t cap = pv->cap ? pv->cap * 2 : 64;
		pid_t *v = realloc(pv->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		pv->v = v;
		pv->cap = cap;
	}
	pv->v[pv->n++] = (pid_t)pid;
	return 0;
}

/* cgroup.procs of dfd and of the sub-cgroups the container made. */
static int procs_read(int dfd, struct pidv *pv, int depth)
{
	int fd = openat(dfd, "cgroup.procs", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	char buf[4096];
	long cur = -1;
	int r = 0;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			r = -errno;
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n && r == 0; i++) {
			if (isdigit((unsigned char)buf[i])) {
				cur = (cur < 0 ? 0 : cur * 10) + (buf[i] - '0');
			} else if (cur >= 0) {
				r = pidv_add(pv, cur);
				cur = -1;
			}
		}
	}
	close(fd);
	if (r == 0 && cur >= 0)
		r = pidv_add(pv, cur);
	if (r < 0 || depth > 32)
		return r;
	int d2 = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d2 < 0)
		return -errno;
	_cleanup_closedir_ DIR *d = fdopendir(d2);
	if (!d) {
		close(d2);
		return -errno;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (sub < 0)
			continue;
		r = procs_read(sub, pv, depth + 1);
		close(sub);
		if (r < 0 && r != -ENOENT)
			return r;
	}
	return 0;
}

int cgroup_pids(struct cgroup *cg, pid_t **ret, size_t *n, struct berr **err)
{
	*ret = NULL;
	*n = 0;
	struct cg_dir *d = procs_dir(cg);
	if (!d)
		return 0;
	struct pidv pv = {0};
	int r = procs_read(d->fd, &pv, 0);
	if (r < 0) {
		free(pv.v);
		return berr_set(err, -r, "listing processes of cgroup %s", d->path);
	}
	*ret = pv.v;
	*n = pv.n;
	return 0;
}

static int v1_freeze(struct cg_dir *d, bool frozen, struct berr **err)
{
	const char *want = frozen ? "FROZEN" : "THAWED";
	int64_t deadline = now_ms() + TIMEOUT_MS;
	long wait = 10;
	for (;;) {
		/* rewriting FROZEN also catches tasks forked meanwhile */
		if (set(d, "freezer.state", want, err) < 0)
			return -1;
		char st[32];
		ssize_t n = get_at(d->fd, "freezer.state", st, sizeof(st));
		if (n < 0)
			return berr_set(err, (int)-n, "reading %s/freezer.state", d->path);
		if (!strcmp(st, want))
			return 0;
		if (now_ms() > deadline) {
			if (frozen)
				put_at(d->fd, "freezer.state", "THAWED");
			return berr_set(err, 0, "timed out %s %s (state %s)", frozen ? "freezing" : "thawing", d->path,
					st);
		}
		nap_us(wait);
		if (wait < 10000)
			wait *= 2;
	}
}

static int v2_freeze(struct cg_dir *d, bool frozen, struct berr **err)
{
	if (set(d, "cgroup.freeze", frozen ? "1" : "0", err) < 0)
		return -1;
	_cleanup_close_ int fd = openat(d->fd, "cgroup.events", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return berr_set(err, errno, "opening %s/cgroup.events", d->path);
	int64_t deadline = now_ms() + TIMEOUT_MS;
	for (;;) {
		char buf[256];
		ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
		if (n < 0)
			return berr_set(err, errno, "reading %s/cgroup.events", d->path);
		buf[n] = 0;
		uint64_t v;
		if (!kv_get(buf, "frozen", &v) || (v != 0) == frozen)
			return 0;
		int64_t left = deadline - now_ms();
		if (left <= 0) {
			if (frozen)
				put_at(d->fd, "cgroup.freeze", "0");
			return berr_set(err, 0, "timed out %s %s", frozen ? "freezing" : "thawing", d->path);
		}
		/* cgroup.events signals changes with POLLPRI */
		struct pollfd pfd = {fd, POLLPRI, 0};
		poll(&pfd, 1, (int)left);
	}
}

int cgroup_freeze(struct cgroup *cg, bool frozen, struct berr **err)
{
	struct cg_dir *d = dir_of(cg, C_FREEZER);
	if (!d)
		return berr_set(err, 0, "cannot %s: no freezer cgroup", frozen ? "pause" : "unpause");
	return cg->version == 2 ? v2_freeze(d, frozen, err) : v1_freeze(d, frozen, err);
}

int cgroup_kill(struct cgroup *cg, int sig, struct berr **err)
{
	if (cg->version == 2 && sig == SIGKILL && cg->ndirs && cg->dirs[0].fd >= 0) {
		int r = put_at(cg->dirs[0].fd, "cgroup.kill", "1");
		if (r == 0)
			return 0;
		if (r != -ENOENT) /* before Linux 5.14 */
			return berr_set(err, -r, "writing %s/cgroup.kill", cg->dirs[0].path);
	}
	/* killing frozen tasks: none can fork meanwhile; they die when thawed */
	bool frozen = sig == SIGKILL && dir_of(cg, C_FREEZER) && cgroup_freeze(cg, true, NULL) == 0;
	pid_t *pids = NULL;
	size_t n = 0;
	int r = cgroup_pids(cg, &pids, &n, err);
	for (size_t i = 0; r == 0 && i < n; i++)
		if (kill(pids[i], sig) < 0 && errno != ESRCH)
			r = berr_set(err, errno, "sending signal %d to process %d", sig, (int)pids[i]);
	if (frozen)
		cgroup_freeze(cg, false, NULL);
	free(pids);
	return r;
}

/* ---- stats ---- */

static uint64_t host_memory(void)
{
	struct sysinfo si;
	if (sysinfo(&si) < 0)
		return 0;
	return (uint64_t)si.totalram * si.mem_unit;
}

static uint64_t count_procs(struct cgroup *cg)
{
	pid_t *p = NULL;
	size_t n = 0;
	cgroup_pids(cg, &p, &n, NULL);
	free(p);
	return n;
}

int cgroup_stats(struct cgroup *cg, struct cgroup_stats *s, struct berr **err)
{
	memset(s, 0, sizeof(*s));
	if (!procs_dir(cg))
		return berr_setc(err, BERR_NOT_FOUND, "the cgroup is gone");
	char buf[8192];
	uint64_t v = 0, inactive = 0;
	bool v2 = cg->version == 2;
	struct cg_dir *d = dir_of(cg, C_MEMORY);
	if (d) {
		get_u64(d->fd, v2 ? "memory.current" : "memory.usage_in_bytes", &s->mem_usage);
		if (get_at(d->fd, "memory.stat", buf, sizeof(buf)) > 0 &&
		    kv_get(buf, v2 ? "inactive_file" : "total_inactive_file", &inactive) && inactive < s->mem_usage)
			s->mem_usage -= inactive;
		get_u64(d->fd, v2 ? "memory.max" : "memory.limit_in_bytes", &s->mem_limit); /* "max": stays 0 */
	}
	uint64_t host = host_memory();
	if (!s->mem_limit || (host && s->mem_limit > host))
		s->mem_limit = host;
	if (v2) {
		d = &cg->dirs[0];
		if (get_at(d->fd, "cpu.stat", buf, sizeof(buf)) > 0 && kv_get(buf, "usage_usec", &v))
			s->cpu_usage_ns = v * 1000;
	} else if ((d = dir_of(cg, C_CPUACCT))) {
		get_u64(d->fd, "cpuacct.usage", &s->cpu_usage_ns);
	}
	d = dir_of(cg, C_PIDS);
	if (!d || !get_u64(d->fd, "pids.current", &s->pids))
		s->pids = count_procs(cg);
	return 0;
}

bool cgroup_oom_killed(struct cgroup *cg)
{
	struct cg_dir *d = dir_of(cg, C_MEMORY);
	char buf[1024];
	uint64_t v = 0;
	if (!d)
		return false;
	if (cg->version == 2)
		return get_at(d->fd, "memory.events", buf, sizeof(buf)) > 0 && kv_get(buf, "oom_kill", &v) && v > 0;
	if (get_at(d->fd, "memory.oom_control", buf, sizeof(buf)) > 0 && kv_get(buf, "oom_kill", &v))
		return v > 0;
	/* kernels before 4.13 have no oom_kill counter */
	return get_u64(d->fd, "memory.failcnt", &v) && v > 0;
}

/* ---- destroy ---- */

/* rmdir path, sub-cgroups first: 0 or -errno (-EBUSY while tasks remain). */
static int rm_tree(const char *path, int depth)
{
	if (rmdir(path) == 0 || errno == ENOENT)
		return 0;
	if (errno != EBUSY || depth > 32)
		return -errno;
	DIR *d = opendir(path);
	if (d) {
		struct dirent *de;
		while ((de = readdir(d))) {
			if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			char *sub = NULL;
			if (asprintf(&sub, "%s/%s", path, de->d_name) >= 0)
				rm_tree(sub, depth + 1);
			free(sub);
		}
		closedir(d);
	}
	if (rmdir(path) == 0 || errno == ENOENT)
		return 0;
	return -errno;
}

int cgroup_destroy(struct cgroup *cg, struct berr **err)
{
	int64_t deadline = 0;
	long wait = 100;
	for (;;) {
		const char *busy = NULL;
		for (size_t i = 0; i < cg->ndirs; i++) {
			struct cg_dir *d = &cg->dirs[i];
			if (d->fd < 0)
				continue;
			int r = rm_tree(d->path, 0);
			if (r == -EBUSY) {
				busy = d->path;
				continue;
			}
			if (r < 0)
				return berr_set(err, -r, "removing cgroup %s", d->path);
			close(d->fd);
			d->fd = -1;
		}
		if (!busy)
			return 0;
		int64_t now = now_ms();
		if (!deadline) {
			deadline = now + TIMEOUT_MS;
		} else if (now > deadline) {
			return berr_set(err, EBUSY, "removing cgroup %s: its processes did not exit", busy);
		}
		/* (again after a while: something may have joined) */
		if (wait == 100 || wait >= 20000)
			cgroup_kill(cg, SIGKILL, NULL);
		nap_us(wait);
		if (wait < 20000)
			wait *= 2;
	}
}
