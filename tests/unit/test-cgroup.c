/* cgroup tests against the real cgroup file system: needs root. Runs the
 * full set on whatever the host has (v1/hybrid or v2), then, on a hybrid
 * host, the v2 code path on the (controller-less) unified hierarchy. */
#include "runtime/cgroup.h"
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/magic.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static char parent[64];
static const char *mount_ = "/sys/fs/cgroup";
static volatile unsigned long *counter; /* shared with the spinning child */

static const char *v1_ctls[] = {"memory", "cpu", "cpuacct", "cpuset", "pids", "freezer", "devices", "blkio"};

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void msleep(int ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* The file's content without the trailing newline, "" if unreadable. */
static const char *slurp(const char *path)
{
	static char buf[8192];
	buf[0] = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		n = 0;
	while (n > 0 && buf[n - 1] == '\n')
		n--;
	buf[n] = 0;
	return buf;
}

static const char *cgfile(struct cgroup *cg, const char *ctl, const char *file)
{
	char p[4096];
	const char *dir = cgroup_path(cg, ctl);
	if (!dir)
		return NULL;
	snprintf(p, sizeof(p), "%s/%s", dir, file);
	return slurp(p);
}

static bool exists(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0;
}

static bool same_dir(const char *a, const char *b)
{
	struct stat sa, sb;
	return a && b && stat(a, &sa) == 0 && stat(b, &sb) == 0 && S_ISDIR(sa.st_mode) && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

/* Is this v1 controller's hierarchy mounted? */
static bool mounted(const char *ctl)
{
	char p[4096];
	struct statfs sf;
	snprintf(p, sizeof(p), "%s/%s", mount_, ctl);
	return statfs(p, &sf) == 0 && sf.f_type == CGROUP_SUPER_MAGIC;
}

/* Is name's directory absent in every hierarchy? */
static bool gone(int version, const char *name)
{
	char p[4096];
	if (version == 2) {
		snprintf(p, sizeof(p), "%s/%s/%s", mount_, parent, name);
		return !exists(p);
	}
	for (size_t i = 0; i < ARRAY_SIZE(v1_ctls); i++) {
		snprintf(p, sizeof(p), "%s/%s/%s/%s", mount_, v1_ctls[i], parent, name);
		if (exists(p))
			return false;
	}
	return true;
}

/* ---- children: they wait for a byte on a pipe, then run ---- */

struct kid {
	pid_t pid;
	int go;
};

static struct kid spawn(void (*fn)(long), long arg)
{
	int p[2];
	if (pipe(p) < 0)
		abort();
	pid_t pid = fork();
	if (pid == 0) {
		close(p[1]);
		char c;
		if (read(p[0], &c, 1) != 1)
			_exit(99);
		fn(arg);
		_exit(0);
	}
	close(p[0]);
	return (struct kid){pid, p[1]};
}

static void go(struct kid *k)
{
	if (write(k->go, "x", 1) != 1)
		abort();
	close(k->go);
	k->go = -1;
}

static int reap(pid_t pid)
{
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return st;
}

/* grandchildren come to us (subreaper) */
static void reap_all(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

static void fn_sleep(long arg)
{
	for (;;)
		pause();
}

static void fn_spin(long arg)
{
	for (;;)
		(*counter)++;
}

static void fn_alloc(long mb)
{
	size_t n = (size_t)mb << 20;
	char *p = malloc(n);
	if (!p)
		_exit(3);
	for (size_t i = 0; i < n; i += 4096)
		p[i] = 1;
	_exit(0);
}

/* fork sleepers until the pids limit says no; report how many to fd */
static void fn_fork(long fd)
{
	int n = 0;
	for (int i = 0; i < 30; i++) {
		pid_t p = fork();
		if (p == 0) {
			for (;;)
				pause();
		}
		if (p < 0)
			break;
		n++;
	}
	if (write((int)fd, &n, sizeof(n)) != sizeof(n))
		_exit(4);
	for (;;)
		pause();
}

static char devdir[64];

/* 0: /dev/null and /dev/ptmx open, /dev/kmsg (1:11, not in the default
 * rules) is refused, a block device can be made (b *:* m) but not opened */
static void fn_devices(long arg)
{
	int r = 0;
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		r |= 1;
	else
		close(fd);
	fd = open("/dev/kmsg", O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
		r |= 2;
	else if (errno != EPERM)
		r |= 4;
	char node[128];
	snprintf(node, sizeof(node), "%s/loop", devdir);
	if (mknod(node, S_IFBLK | 0600, makedev(7, 0)) < 0)
		r |= 8;
	fd = open(node, O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
		r |= 16;
	else if (errno != EPERM)
		r |= 32;
	unlink(node);
	fd = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0 && errno == EPERM)
		r |= 64;
	if (fd >= 0)
		close(fd);
	_exit(r);
}

static bool killed_by(int st, int sig)
{
	return WIFSIGNALED(st) && WTERMSIG(st) == sig;
}

static bool in_cgroup(pid_t pid, int version, const char *name)
{
	char p[64], want[256];
	snprintf(p, sizeof(p), "/proc/%d/cgroup", (int)pid);
	const char *c = slurp(p);
	if (!c)
		return false;
	if (version == 2) {
		snprintf(want, sizeof(want), "0::/%s/%s", parent, name);
		return strstr(c, want) != NULL;
	}
	const char *ctls[] = {"memory", "pids", "freezer", "devices", "cpuset", "blkio"};
	for (size_t i = 0; i < ARRAY_SIZE(ctls); i++) {
		if (!mounted(ctls[i]))
			continue;
		snprintf(want, sizeof(want), ":%s:/%s/%s\n", ctls[i], parent, name);
		char line[4096];
		snprintf(line, sizeof(line), "%s\n", c);
		if (!strstr(line, want)) {
			printf("# %s not in %s\n", want, c);
			return false;
		}
	}
	snprintf(want, sizeof(want), "cpu:/%s/%s", parent, name);
	char want2[256];
	snprintf(want2, sizeof(want2), "cpu,cpuacct:/%s/%s", parent, name);
	return !mounted("cpu") || strstr(c, want) || strstr(c, want2);
}

static bool no_pids_after_wait(struct cgroup *cg)
{
	for (int i = 0; i < 200; i++) {
		pid_t *p = NULL;
		size_t n = 0;
		reap_all();
		if (cgroup_pids(cg, &p, &n, NULL) == 0 && n == 0)
			return true;
		free(p);
		msleep(5);
	}
	return false;
}

/* ---- parsing ---- */

static void size_ok(const char *s, int64_t want)
{
	struct berr *e = NULL;
	int64_t v = -7;
	int r = cgroup_parse_size(s, &v, &e);
	CHECK(r == 0 && v == want, "parse size '%s' = %lld (got %lld%s%s)", s, (long long)want, (long long)v,
	      e ? ": " : "", e ? e->msg : "");
	berr_free(e);
}

static void size_bad(const char *s)
{
	struct berr *e = NULL;
	int64_t v = 0;
	int r = cgroup_parse_size(s, &v, &e);
	char q[128];
	snprintf(q, sizeof(q), "'%s'", s);
	CHECK(r < 0 && e && e->code == BERR_INVALID && strstr(e->msg, q), "parse size '%s' fails: %s", s,
	      e ? e->msg : "(no error)");
	berr_free(e);
}

static void cpus_ok(const char *s, int64_t period, int64_t want)
{
	struct berr *e = NULL;
	int64_t v = -7;
	int r = cgroup_parse_cpus(s, period, &v, &e);
	CHECK(r == 0 && v == want, "parse cpus '%s' = %lld (got %lld%s%s)", s, (long long)want, (long long)v,
	      e ? ": " : "", e ? e->msg : "");
	berr_free(e);
}

static void cpus_bad(const char *s, const char *msg)
{
	struct berr *e = NULL;
	int64_t v = 0;
	int r = cgroup_parse_cpus(s, 100000, &v, &e);
	CHECK(r < 0 && e && e->code == BERR_INVALID && strstr(e->msg, msg), "parse cpus '%s' fails: %s", s,
	      e ? e->msg : "(no error)");
	berr_free(e);
}

static void test_parse(void)
{
	size_ok("1024", 1024);
	size_ok("0", 0);
	size_ok("1b", 1);
	size_ok("100k", 102400);
	size_ok("100K", 102400);
	size_ok("512m", 512LL << 20);
	size_ok("64MiB", 64LL << 20);
	size_ok("64mb", 64LL << 20);
	size_ok("2 g", 2LL << 30);
	size_ok("1g", 1LL << 30);
	size_ok("1.5g", 3LL << 29);
	size_ok("0.5k", 512);
	size_ok("1t", 1LL << 40);
	size_ok("8191p", 8191LL << 50);
	size_bad("");
	size_bad("abc");
	size_bad("-1");
	size_bad("1x");
	size_bad("m");
	size_bad("1.5.2g");
	size_bad("1.g");
	size_bad("1gg");
	size_bad(" 1g");
	size_bad("1g ");
	size_bad("8192p");
	size_bad("99999999999999999999");

	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	cpus_ok("0.5", 100000, 50000);
	cpus_ok("1", 100000, 100000);
	cpus_ok("1", 0, 100000);
	cpus_ok(".5", 50000, 25000);
	cpus_ok("0.01", 100000, 1000);
	cpus_ok("0", 100000, 0);
	cpus_ok("0.5000000000", 100000, 50000);
	if (ncpu >= 2)
		cpus_ok("1.5", 100000, 150000);
	cpus_bad("abc", "not a decimal number");
	cpus_bad("", "not a decimal number");
	cpus_ok("1.", 100000, 100000);
	cpus_bad(".", "not a decimal number");
	cpus_bad("1.2.3", "not a decimal number");
	cpus_bad("-1", "not a decimal number");
	cpus_bad("0.001", "Range of CPUs is from 0.01");
	cpus_bad("100000", "CPUs available");
	cpus_bad("0.1234567891", "too precise");

	CHECK(cgroup_shares_to_weight(0) == 0, "weight of unset shares is unset");
	CHECK(cgroup_shares_to_weight(2) == 1, "shares 2 -> weight 1");
	CHECK(cgroup_shares_to_weight(512) == 20, "shares 512 -> weight 20 (got %llu)",
	      (unsigned long long)cgroup_shares_to_weight(512));
	CHECK(cgroup_shares_to_weight(1024) == 39, "shares 1024 -> weight 39 (runc)");
	CHECK(cgroup_shares_to_weight(262144) == 10000, "shares 262144 -> weight 10000");
}

/* ---- the big one: limits, enter, freeze, stats, OOM, pids, kill, destroy ---- */

static void expect_file(struct cgroup *cg, const char *ctl, const char *file, const char *want)
{
	CHECK_STR(cgfile(cg, ctl, file), want, "%s holds %s", file, want);
}

static void test_devices(struct cgroup *cg, const char *what)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		printf("skip - %s: device rules (cannot open /dev/kmsg here)\n", what);
		return;
	}
	close(fd);
	snprintf(devdir, sizeof(devdir), "/tmp/berth-test-dev.XXXXXX");
	if (!mkdtemp(devdir))
		abort();
	struct kid k = spawn(fn_devices, 0);
	struct berr *e = NULL;
	CHECK(cgroup_enter(cg, k.pid, &e) == 0, "%s: enter for the device test %s", what, e ? e->msg : "");
	berr_freep(&e);
	go(&k);
	int st = reap(k.pid);
	rmdir(devdir);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "%s: default device rules: /dev/null, /dev/ptmx open; /dev/kmsg, a block device are EPERM; mknod works "
	      "(status %#x)", what, st);
}

static void test_freeze(struct cgroup *cg, int version, const char *what)
{
	struct berr *e = NULL;
	CHECK(cgroup_freeze(cg, true, &e) == 0, "%s: freeze %s", what, e ? e->msg : "");
	berr_freep(&e);
	if (version == 2) {
		const char *ev = cgfile(cg, NULL, "cgroup.events");
		CHECK(ev && strstr(ev, "frozen 1"), "%s: cgroup.events says frozen", what);
	} else {
		expect_file(cg, "freezer", "freezer.state", "FROZEN");
	}
	unsigned long a = *counter;
	msleep(50);
	CHECK(*counter == a, "%s: a frozen process does not run", what);
	CHECK(cgroup_freeze(cg, false, &e) == 0, "%s: thaw %s", what, e ? e->msg : "");
	berr_freep(&e);
	bool moved = false;
	for (int i = 0; i < 100 && !moved; i++) {
		msleep(2);
		moved = *counter != a;
	}
	CHECK(moved, "%s: a thawed process runs again", what);
}

static void test_main(int version)
{
	struct berr *e = NULL;
	struct cgroup *cg = NULL, *cg2 = NULL;
	struct cgroup_limits l = {.pids_max = 20, .cpu_shares = 512, .cpuset_cpus = "0"};
	CHECK(cgroup_parse_size("64m", &l.memory, NULL) == 0 && cgroup_parse_cpus("0.5", 0, &l.cpu_quota, NULL) == 0,
	      "limits parsed");
	int r = cgroup_create("c1", &l, &cg, &e);
	CHECK(r == 0, "create c1 (v%d) %s", version, e ? e->msg : "");
	berr_freep(&e);
	if (r < 0)
		return;
	CHECK(cgroup_version_of(cg) == version, "cgroup version %d", version);

	char want[4096];
	if (version == 2) {
		snprintf(want, sizeof(want), "%s/%s/c1", mount_, parent);
		CHECK_STR(cgroup_path(cg, NULL), want, "v2 path");
		CHECK(cgroup_dirfd(cg) >= 0, "v2 dir fd for CLONE_INTO_CGROUP");
		expect_file(cg, NULL, "memory.max", "67108864");
		if (cgfile(cg, NULL, "memory.swap.max"))
			expect_file(cg, NULL, "memory.swap.max", "67108864");
		expect_file(cg, NULL, "cpu.max", "50000 100000");
		expect_file(cg, NULL, "cpu.weight", "20");
		expect_file(cg, NULL, "pids.max", "20");
		expect_file(cg, NULL, "cpuset.cpus", "0");
	} else {
		for (size_t i = 0; i < ARRAY_SIZE(v1_ctls); i++) {
			if (!mounted(v1_ctls[i]))
				continue;
			/* co-mounted cpu,cpuacct: one directory, either name */
			snprintf(want, sizeof(want), "%s/%s/%s/c1", mount_, v1_ctls[i], parent);
			CHECK(same_dir(cgroup_path(cg, v1_ctls[i]), want), "v1 path for %s: %s", v1_ctls[i], want);
		}
		CHECK(cgroup_dirfd(cg) == -1, "no dir fd on v1");
		expect_file(cg, "memory", "memory.limit_in_bytes", "67108864");
		if (cgfile(cg, "memory", "memory.memsw.limit_in_bytes"))
			expect_file(cg, "memory", "memory.memsw.limit_in_bytes", "134217728");
		expect_file(cg, "cpu", "cpu.cfs_quota_us", "50000");
		expect_file(cg, "cpu", "cpu.cfs_period_us", "100000");
		expect_file(cg, "cpu", "cpu.shares", "512");
		expect_file(cg, "pids", "pids.max", "20");
		expect_file(cg, "cpuset", "cpuset.cpus", "0");
		const char *mems = cgfile(cg, "cpuset", "cpuset.mems");
		CHECK(mems && *mems, "cpuset.mems copied from the parent (%s)", mems ? mems : "");
		const char *dl = cgfile(cg, "devices", "devices.list");
		CHECK(!mounted("devices") || (dl && strstr(dl, "c 1:3 rwm") && strstr(dl, "c *:* m") && strstr(dl, "b *:* m") &&
		      strstr(dl, "c 136:* rwm") && strstr(dl, "c 10:200 rwm") && !strstr(dl, "a *:*")),
		      "devices.list has Docker's default rules");
		if (dl && !strstr(dl, "c 1:3 rwm"))
			printf("# devices.list:\n%s\n", dl);
	}

	/* open from "another process" */
	CHECK(cgroup_open("c1", &cg2, &e) == 0, "open c1 %s", e ? e->msg : "");
	berr_freep(&e);
	if (cg2) {
		CHECK_STR(cgroup_path(cg2, "memory"), cgroup_path(cg, "memory"), "re-opened cgroup has the same path");
		cgroup_free(cg2);
		cg2 = NULL;
	}
	CHECK(cgroup_open("nope", &cg2, &e) < 0 && e && e->code == BERR_NOT_FOUND, "open of a missing cgroup: %s",
	      e ? e->msg : "");
	berr_freep(&e);
	CHECK(cgroup_create("c1", NULL, &cg2, &e) < 0 && e && e->code == BERR_CONFLICT, "create twice: %s",
	      e ? e->msg : "");
	berr_freep(&e);
	CHECK(cgroup_path(cg, "memory") && exists(cgroup_path(cg, "memory")), "the failed second create left c1 alone");

	/* enter + freeze */
	struct kid k = spawn(fn_spin, 0);
	CHECK(cgroup_enter(cg, k.pid, &e) == 0, "enter %s", e ? e->msg : "");
	berr_freep(&e);
	CHECK(in_cgroup(k.pid, version, "c1"), "/proc/pid/cgroup names c1 in every controller");
	pid_t *pids = NULL;
	size_t n = 0;
	CHECK(cgroup_pids(cg, &pids, &n, &e) == 0 && n == 1 && pids[0] == k.pid, "cgroup_pids lists the child");
	free(pids);
	berr_freep(&e);
	go(&k);
	msleep(20);
	test_freeze(cg, version, "main");

	struct cgroup_stats s;
	CHECK(cgroup_stats(cg, &s, &e) == 0, "stats %s", e ? e->msg : "");
	berr_freep(&e);
	CHECK(s.cpu_usage_ns > 1000000, "stats: cpu usage %llu ns", (unsigned long long)s.cpu_usage_ns);
	CHECK(s.pids == 1, "stats: 1 pid (%llu)", (unsigned long long)s.pids);
	CHECK(s.mem_limit == 64 << 20, "stats: limit %llu", (unsigned long long)s.mem_limit);
	CHECK(s.mem_usage < 64 << 20, "stats: usage %llu", (unsigned long long)s.mem_usage);
	CHECK(!cgroup_oom_killed(cg), "no OOM kill yet");

	CHECK(cgroup_kill(cg, SIGTERM, &e) == 0, "kill SIGTERM %s", e ? e->msg : "");
	berr_freep(&e);
	CHECK(killed_by(reap(k.pid), SIGTERM), "the child died of SIGTERM");

	/* a child joins by itself through the procs fds */
	int fds[CGROUP_MAX_FDS], rp[2];
	size_t nfd = 0;
	CHECK(cgroup_procs_fds(cg, fds, &nfd, &e) == 0 && (version == 2 ? nfd == 1 : nfd >= 1 && nfd <= 8), "procs fds: %zu %s", nfd,
	      e ? e->msg : "");
	berr_freep(&e);
	if (pipe(rp) < 0)
		abort();
	pid_t pid = fork();
	if (pid == 0) {
		int jr = cgroup_join_fds(fds, nfd);
		if (write(rp[1], &jr, sizeof(jr)) != sizeof(jr))
			_exit(5);
		for (;;)
			pause();
	}
	int jr = -1;
	CHECK(read(rp[0], &jr, sizeof(jr)) == sizeof(jr) && jr == 0, "child joined through the fds (%d)", jr);
	CHECK(in_cgroup(pid, version, "c1"), "the joined child is in c1");
	for (size_t i = 0; i < nfd; i++)
		close(fds[i]);
	close(rp[0]);
	close(rp[1]);
	CHECK(cgroup_kill(cg, SIGKILL, &e) == 0, "kill SIGKILL %s", e ? e->msg : "");
	berr_freep(&e);
	CHECK(killed_by(reap(pid), SIGKILL), "the child died of SIGKILL");

	test_devices(cg, "main");

	/* pids limit */
	if (pipe(rp) < 0)
		abort();
	k = spawn(fn_fork, rp[1]);
	CHECK(cgroup_enter(cg, k.pid, &e) == 0, "enter the forker %s", e ? e->msg : "");
	berr_freep(&e);
	go(&k);
	int forked = -1;
	CHECK(read(rp[0], &forked, sizeof(forked)) == sizeof(forked) && forked < 30 && forked >= 15,
	      "pids.max 20 stops fork: %d of 30 forks worked", forked);
	close(rp[0]);
	close(rp[1]);
	CHECK(cgroup_stats(cg, &s, NULL) == 0 && s.pids == (uint64_t)forked + 1, "stats: %llu pids",
	      (unsigned long long)s.pids);
	CHECK(cgroup_kill(cg, SIGKILL, &e) == 0, "kill every process %s", e ? e->msg : "");
	berr_freep(&e);
	CHECK(killed_by(reap(k.pid), SIGKILL), "the forker died of SIGKILL");
	CHECK(no_pids_after_wait(cg), "no process left after kill");

	/* destroy with a live process in it */
	k = spawn(fn_sleep, 0);
	CHECK(cgroup_enter(cg, k.pid, &e) == 0, "enter a sleeper %s", e ? e->msg : "");
	berr_freep(&e);
	go(&k);
	double t0 = now_us();
	r = cgroup_destroy(cg, &e);
	CHECK(r == 0, "destroy with a live process (%.0f us) %s", now_us() - t0, e ? e->msg : "");
	berr_freep(&e);
	CHECK(killed_by(reap(k.pid), SIGKILL), "the sleeper was killed by destroy");
	CHECK(gone(version, "c1"), "destroy leaves no directory");
	CHECK(cgroup_destroy(cg, &e) == 0, "destroy again is fine");
	berr_freep(&e);
	cgroup_free(cg);

	/* OOM */
	struct cgroup_limits ol = {.memory = 8 << 20};
	cg = NULL;
	CHECK(cgroup_create("oom", &ol, &cg, &e) == 0, "create oom (8m) %s", e ? e->msg : "");
	berr_freep(&e);
	if (cg) {
		k = spawn(fn_alloc, 64);
		CHECK(cgroup_enter(cg, k.pid, &e) == 0, "enter the allocator %s", e ? e->msg : "");
		berr_freep(&e);
		go(&k);
		int st = reap(k.pid);
		CHECK(killed_by(st, SIGKILL), "allocating 64m under an 8m limit gets SIGKILLed (status %#x)", st);
		CHECK(cgroup_oom_killed(cg), "cgroup_oom_killed");
		CHECK(cgroup_destroy(cg, &e) == 0 && gone(version, "oom"), "destroy oom %s", e ? e->msg : "");
		berr_freep(&e);
		cgroup_free(cg);
	}
}

/* ---- invalid values leave nothing ---- */

static void create_bad(const char *name, const struct cgroup_limits *l, int code, const char *msg, int version)
{
	struct berr *e = NULL;
	struct cgroup *cg = NULL;
	int r = cgroup_create(name, l, &cg, &e);
	CHECK(r < 0 && !cg && e && e->code == code && strstr(e->msg, msg), "create %s fails: %s", name,
	      e ? e->msg : "(no error)");
	berr_free(e);
	if (name && *name && !strchr(name, '/') && strcmp(name, ".."))
		CHECK(gone(version, name), "failed create of %s leaves nothing", name);
	if (r == 0)
		cgroup_free(cg);
}

static void test_invalid(int version)
{
	struct cgroup_limits l = {.memory = 4 << 20};
	create_bad("bad1", &l, BERR_INVALID, "6MB", version);
	l = (struct cgroup_limits){.memory = 64 << 20, .memory_swap = 32 << 20};
	create_bad("bad1", &l, BERR_INVALID, "memoryswap", version);
	l = (struct cgroup_limits){.memory_swap = 32 << 20};
	create_bad("bad1", &l, BERR_INVALID, "Memory limit", version);
	l = (struct cgroup_limits){.cpu_quota = 500};
	create_bad("bad1", &l, BERR_INVALID, "quota", version);
	l = (struct cgroup_limits){.cpu_period = 10};
	create_bad("bad1", &l, BERR_INVALID, "period", version);
	l = (struct cgroup_limits){.pids_max = -2};
	create_bad("bad1", &l, BERR_INVALID, "pids", version);
	l = (struct cgroup_limits){.cpuset_cpus = "4095"};
	create_bad("bad2", &l, BERR_INVALID, "Requested CPUs are not available", version);
	l = (struct cgroup_limits){.cpuset_cpus = "0-"};
	create_bad("bad2", &l, BERR_INVALID, "Invalid value 0- for cpuset cpus", version);
	l = (struct cgroup_limits){.cpuset_cpus = "1-0"};
	create_bad("bad2", &l, BERR_INVALID, "Invalid value", version);
	create_bad("../x", NULL, BERR_INVALID, "invalid cgroup name", version);
	create_bad("", NULL, BERR_INVALID, "invalid cgroup name", version);
	create_bad("..", NULL, BERR_INVALID, "invalid cgroup name", version);

	/* a failure after some directories were made removes ours only */
	char p[4096];
	if (version == 2)
		snprintf(p, sizeof(p), "%s/%s/bad3", mount_, parent);
	else
		snprintf(p, sizeof(p), "%s/pids/%s/bad3", mount_, parent);
	CHECK(mkdir(p, 0755) == 0, "a stray %s", p);
	struct berr *e = NULL;
	struct cgroup *cg = NULL;
	CHECK(cgroup_create("bad3", NULL, &cg, &e) < 0 && e && e->code == BERR_CONFLICT, "create over it: %s",
	      e ? e->msg : "");
	berr_freep(&e);
	CHECK(exists(p), "the stray directory is not ours to remove");
	rmdir(p);
	CHECK(gone(version, "bad3"), "and the ones made before the conflict are gone");

	setenv("BERTH_CGROUP_PARENT", "a/../b", 1);
	create_bad("bad4", NULL, BERR_INVALID, "invalid cgroup parent", version);
	setenv("BERTH_CGROUP_PARENT", parent, 1);
}

/* ---- speed ---- */

static void test_timing(int version, const char *what, const struct cgroup_limits *l)
{
	enum { N = 40 };
	double tc = 0, td = 0;
	int fails = 0;
	for (int i = 0; i < N; i++) {
		char name[32];
		snprintf(name, sizeof(name), "t%d", i);
		struct cgroup *cg = NULL;
		struct berr *e = NULL;
		double t0 = now_us();
		if (cgroup_create(name, l, &cg, &e) < 0) {
			if (!fails++)
				printf("# %s\n", e->msg);
			berr_free(e);
			continue;
		}
		double t1 = now_us();
		if (cgroup_destroy(cg, NULL) < 0)
			fails++;
		td += now_us() - t1;
		tc += t1 - t0;
		cgroup_free(cg);
		if (!gone(version, name))
			fails++;
	}
	CHECK(fails == 0, "%s: %d create+destroy cycles", what, N);
	CHECK((tc + td) / N < 20000, "%s: create %.0f us + destroy %.0f us = %.0f us on average", what, tc / N, td / N,
	      (tc + td) / N);
}

/* ---- the v2 code path on a hybrid host's controller-less unified tree ---- */

static void test_v2_unified(void)
{
	mount_ = "/sys/fs/cgroup/unified";
	setenv("BERTH_CGROUP_MOUNT", mount_, 1);
	CHECK(cgroup_version() == 2, "BERTH_CGROUP_MOUNT=%s is v2", mount_);

	struct berr *e = NULL;
	struct cgroup *cg = NULL;
	struct cgroup_limits l = {.memory = 64 << 20};
	CHECK(cgroup_create("v2a", &l, &cg, &e) < 0 && e && strstr(e->msg, "memory") && gone(2, "v2a"),
	      "v2 without a memory controller: %s", e ? e->msg : "");
	berr_freep(&e);

	CHECK(cgroup_create("v2a", NULL, &cg, &e) == 0, "v2 create %s", e ? e->msg : "");
	berr_freep(&e);
	if (!cg)
		goto out;
	char want[4096];
	snprintf(want, sizeof(want), "%s/%s/v2a", mount_, parent);
	CHECK_STR(cgroup_path(cg, "memory"), want, "v2 path");
	CHECK(cgroup_dirfd(cg) >= 0, "v2 dir fd");

	struct kid k = spawn(fn_spin, 0);
	CHECK(cgroup_enter(cg, k.pid, &e) == 0, "v2 enter %s", e ? e->msg : "");
	berr_freep(&e);
	CHECK(in_cgroup(k.pid, 2, "v2a"), "v2: /proc/pid/cgroup says 0::/%s/v2a", parent);
	go(&k);
	msleep(20);
	test_freeze(cg, 2, "v2");
	struct cgroup_stats s;
	CHECK(cgroup_stats(cg, &s, &e) == 0 && s.pids == 1 && s.cpu_usage_ns > 0 && s.mem_limit > 0,
	      "v2 stats: %llu pids, %llu ns %s", (unsigned long long)s.pids, (unsigned long long)s.cpu_usage_ns,
	      e ? e->msg : "");
	berr_freep(&e);
	CHECK(cgroup_kill(cg, SIGKILL, &e) == 0, "v2 kill (cgroup.kill) %s", e ? e->msg : "");
	berr_freep(&e);
	CHECK(killed_by(reap(k.pid), SIGKILL), "v2: the child died of SIGKILL");
	CHECK(!cgroup_oom_killed(cg), "v2: no OOM");

	test_devices(cg, "v2 eBPF");

	k = spawn(fn_sleep, 0);
	CHECK(cgroup_enter(cg, k.pid, &e) == 0, "v2 enter a sleeper %s", e ? e->msg : "");
	berr_freep(&e);
	go(&k);
	CHECK(cgroup_destroy(cg, &e) == 0 && gone(2, "v2a"), "v2 destroy with a live process %s", e ? e->msg : "");
	berr_freep(&e);
	CHECK(killed_by(reap(k.pid), SIGKILL), "v2: the sleeper was killed");
	cgroup_free(cg);

	test_invalid(2);
	test_timing(2, "v2 (no controllers, eBPF device filter)", NULL);
out:
	snprintf(want, sizeof(want), "%s/%s", mount_, parent);
	rmdir(want);
	CHECK(!exists(want), "v2 test parent removed");
	unsetenv("BERTH_CGROUP_MOUNT");
	mount_ = "/sys/fs/cgroup";
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_parse();
	int version = cgroup_version();
	if (geteuid() != 0 || !version) {
		printf("skip - cgroup tests need root and a cgroup file system\n");
		UNIT_END();
	}
	snprintf(parent, sizeof(parent), "berth-test-%d", (int)getpid());
	setenv("BERTH_CGROUP_PARENT", parent, 1);
	unsetenv("BERTH_CGROUP_MOUNT");
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	counter = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	test_main(version);
	test_invalid(version);
	struct cgroup_limits l = {.memory = 64 << 20, .cpu_quota = 50000, .cpu_shares = 512, .pids_max = 100};
	test_timing(version, "no limits", NULL);
	test_timing(version, "memory+cpus+shares+pids", &l);

	/* the test's own parent */
	char p[4096];
	if (version == 2) {
		snprintf(p, sizeof(p), "%s/%s", mount_, parent);
		rmdir(p);
		CHECK(!exists(p), "test parent removed");
	} else {
		bool left = false;
		for (size_t i = 0; i < ARRAY_SIZE(v1_ctls); i++) {
			snprintf(p, sizeof(p), "%s/%s/%s", mount_, v1_ctls[i], parent);
			rmdir(p);
			left |= exists(p);
		}
		CHECK(!left, "test parent removed from every hierarchy");
		struct statfs sf;
		if (statfs("/sys/fs/cgroup/unified", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC)
			test_v2_unified();
		else
			printf("skip - v2 path: no cgroup2 mount at /sys/fs/cgroup/unified\n");
	}
	UNIT_END();
}
