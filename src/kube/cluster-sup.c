/* kube cluster's supervisor (cluster.h, cluster-int.h): one process per
 * cluster, forked from `up`, that runs the components in order, restarts
 * the ones that exit and stops them all on SIGTERM. */
#include "kube/cluster-int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonx.h"
#include "util/proc.h"

const char *const kc_comp_names[KC_NCOMP] = {"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler",
					     "node", "provisioner"};

#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 30000
#define STABLE_MS 60000 /* a run this long resets the back-off */
#define FAST_GRACE_MS 300

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int kc_ports_listening(const int *ports, int n)
{
	static const char *const files[] = {"/proc/net/tcp", "/proc/net/tcp6"};
	unsigned long long seen = 0; /* bit i: ports[i] listens (n <= 64) */
	for (size_t f = 0; f < ARRAY_SIZE(files); f++) {
		_cleanup_fclose_ FILE *fp = fopen(files[f], "re");
		if (!fp)
			continue;
		char line[512];
		if (!fgets(line, sizeof(line), fp))
			continue;
		while (fgets(line, sizeof(line), fp)) {
			/* "  0: 0100007F:0A2B 00000000:0000 0A ..." */
			char *colon = strchr(line, ':');
			if (!colon)
				continue;
			char *loc = colon + 1;
			while (*loc == ' ')
				loc++;
			char *pc = strchr(loc, ':');
			if (!pc)
				continue;
			unsigned lport = 0, st = 0;
			char rem[128];
			if (sscanf(pc + 1, "%x %127s %x", &lport, rem, &st) != 3 || st != 0x0A)
				continue;
			for (int i = 0; i < n && i < 64; i++)
				if ((int)lport == ports[i])
					seen |= 1ull << i;
		}
	}
	return __builtin_popcountll(seen);
}

bool kc_port_listening(int port)
{
	return kc_ports_listening(&port, 1) == 1;
}

struct comp {
	pid_t pid;
	unsigned long long start_time;
	int starts, exits;
	long long started_ms, restart_at; /* restart_at: 0 none scheduled */
	int backoff_ms;
	char last_exit[64];
	bool disabled;
};

struct sup {
	const struct kc_sup *s;
	struct comp c[KC_NCOMP];
	int phase; /* 1: etcd and apiserver started, 2: all */
	bool stopping, fast;
	int dirfd;
};

static void write_state(struct sup *u)
{
	json_t *comps = json_object();
	for (int i = 0; i < KC_NCOMP; i++) {
		struct comp *c = &u->c[i];
		const char *state = c->disabled ? "disabled"
				    : c->pid > 0 ? "running"
				    : c->restart_at ? "waiting"
				    : u->stopping || c->starts ? "stopped"
				    : "pending";
		json_object_set_new(comps, kc_comp_names[i],
				    json_pack("{s:i,s:I,s:i,s:i,s:s,s:s}", "pid", (int)c->pid, "startTime",
					      (json_int_t)c->start_time, "starts", c->starts, "exits", c->exits,
					      "lastExit", c->last_exit, "state", state));
	}
	json_t *doc = json_pack("{s:i,s:i,s:b,s:o}", "supervisor", (int)getpid(), "phase", u->phase, "stopping",
				u->stopping, "components", comps);
	char *s = jsonx_dumps(doc, 0);
	struct berr *e = NULL;
	if (fs_replace_at(u->dirfd, "state.json", s, strlen(s), 0600, &e) < 0) {
		fprintf(stderr, "supervisor: %s\n", e->msg);
		berr_free(e);
	}
	free(s);
	json_decref(doc);
}

static void logline(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logline(const char *fmt, ...)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	struct tm tm;
	gmtime_r(&now.tv_sec, &tm);
	char ts[32];
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ldZ ", ts, now.tv_nsec / 1000000);
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
}

static void start(struct sup *u, int i)
{
	struct comp *c = &u->c[i];
	const struct kc_proc *p = &u->s->procs[i];
	c->restart_at = 0;
	pid_t sup_pid = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		logline("%s: fork: %s", kc_comp_names[i], strerror(errno));
		c->restart_at = now_ms() + 1000;
		return;
	}
	if (pid == 0) {
		sigset_t all;
		sigfillset(&all);
		sigprocmask(SIG_UNBLOCK, &all, NULL);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		setpgid(0, 0);
		/* the supervisor gone (even by SIGKILL): this goes too, at once.
		 * Not SIGTERM: the apiserver's graceful stop waits for etcd,
		 * which got its SIGTERM at the same moment and left (~60 s). All
		 * of them are safe to kill: etcd's WAL, the node's pods run on. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != sup_pid)
			_exit(1);
		int lfd = open(p->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (lfd < 0 || nul < 0)
			_exit(126);
		dup2(nul, 0);
		dup2(lfd, 1);
		dup2(lfd, 2);
		if (c->starts > 0)
			dprintf(2, "---- berth: %s started again (exit before: %s) ----\n", kc_comp_names[i],
				c->last_exit);
		execv(p->argv[0], p->argv);
		dprintf(2, "berth: cannot run %s: %s\n", p->argv[0], strerror(errno));
		_exit(127);
	}
	c->pid = pid;
	c->starts++;
	c->started_ms = now_ms();
	/* set at fork, kept by exec: what proc_alive checks against */
	c->start_time = proc_start_time(pid);
	logline("%s: started, pid %d", kc_comp_names[i], (int)pid);
}

static void reap(struct sup *u)
{
	int st;
	pid_t pid;
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		for (int i = 0; i < KC_NCOMP; i++) {
			struct comp *c = &u->c[i];
			if (c->pid != pid)
				continue;
			c->pid = 0;
			c->exits++;
			if (WIFEXITED(st))
				snprintf(c->last_exit, sizeof(c->last_exit), "exit status %d", WEXITSTATUS(st));
			else
				snprintf(c->last_exit, sizeof(c->last_exit), "signal %d", WTERMSIG(st));
			logline("%s: pid %d ended (%s)", kc_comp_names[i], (int)pid, c->last_exit);
			/* its helpers (the node agent's kubelet API) go with it */
			kill(-pid, SIGKILL);
			if (!u->stopping) {
				long long ran = now_ms() - c->started_ms;
				if (ran >= STABLE_MS || c->backoff_ms == 0)
					c->backoff_ms = BACKOFF_MIN_MS;
				else if ((c->backoff_ms *= 2) > BACKOFF_MAX_MS)
					c->backoff_ms = BACKOFF_MAX_MS;
				c->restart_at = now_ms() + c->backoff_ms;
				logline("%s: starting again in %d ms", kc_comp_names[i], c->backoff_ms);
			}
		}
	}
}

static bool any_running(struct sup *u, const int *which, int n)
{
	for (int k = 0; k < n; k++)
		if (u->c[which[k]].pid > 0)
			return true;
	return false;
}

/* SIGTERM, then SIGKILL of the process groups after the grace period. */
static void stop_group(struct sup *u, int sfd, const int *which, int n, int grace_ms)
{
	for (int k = 0; k < n; k++) {
		struct comp *c = &u->c[which[k]];
		c->restart_at = 0;
		if (c->pid > 0)
			kill(c->pid, SIGTERM);
	}
	long long deadline = now_ms() + grace_ms;
	bool killed = false;
	while (any_running(u, which, n)) {
		long long left = deadline - now_ms();
		if (left <= 0 && !killed) {
			for (int k = 0; k < n; k++) {
				struct comp *c = &u->c[which[k]];
				if (c->pid > 0) {
					logline("%s: no exit %d ms after SIGTERM: SIGKILL", kc_comp_names[which[k]],
						grace_ms);
					kill(-c->pid, SIGKILL);
					kill(c->pid, SIGKILL);
				}
			}
			killed = true;
		}
		struct pollfd pf = {.fd = sfd, .events = POLLIN};
		poll(&pf, 1, left > 0 ? (left < 20 ? (int)left : 20) : 20);
		struct signalfd_siginfo si;
		while (read(sfd, &si, sizeof(si)) == sizeof(si))
			;
		reap(u);
	}
}

static void supervise(const struct kc_sup *s, int rdfd)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	int sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	signal(SIGPIPE, SIG_IGN);
	struct sup u = {.s = s, .dirfd = rdfd};
	for (int i = 0; i < KC_NCOMP; i++)
		u.c[i].disabled = !s->procs[i].argv;
	logline("cluster %s: supervisor %d", s->name, (int)getpid());
	/* etcd and the apiserver at once: the apiserver's Go start and API
	 * set-up (~0.5 s) come before its first etcd request, and etcd is
	 * serving by then (~0.2-0.3 s, more under load); waiting for etcd's
	 * port first cost that time in series */
	start(&u, KC_ETCD);
	start(&u, KC_APISERVER);
	u.phase = 1;
	write_state(&u);
	for (;;) {
		bool waiting_port = u.phase < 2;
		long long next = -1;
		for (int i = 0; i < KC_NCOMP; i++)
			if (u.c[i].restart_at && (next < 0 || u.c[i].restart_at < next))
				next = u.c[i].restart_at;
		int timeout = waiting_port ? 10 : 1000;
		if (next >= 0) {
			long long d = next - now_ms();
			if (d < timeout)
				timeout = d < 0 ? 0 : (int)d;
		}
		struct pollfd pf = {.fd = sfd, .events = POLLIN};
		poll(&pf, 1, timeout);
		struct signalfd_siginfo si;
		bool changed = false;
		while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
			if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT || si.ssi_signo == SIGHUP)
				u.stopping = true;
			if (si.ssi_signo == SIGUSR1)
				u.stopping = u.fast = true;
		}
		int exits = 0;
		for (int i = 0; i < KC_NCOMP; i++)
			exits += u.c[i].exits;
		reap(&u);
		for (int i = 0; i < KC_NCOMP; i++)
			exits -= u.c[i].exits;
		changed |= exits != 0;
		if (u.stopping)
			break;
		for (int i = 0; i < KC_NCOMP; i++) {
			struct comp *c = &u.c[i];
			if (c->pid > 0 && c->start_time == 0) {
				c->start_time = proc_start_time(c->pid);
				changed |= c->start_time != 0;
			}
		}
		if (u.phase == 1 && u.c[KC_APISERVER].pid > 0 &&
			   kc_port_listening(s->procs[KC_APISERVER].port)) {
			/* all three at once: they wait for the apiserver's readiness
			 * themselves, and their start-up overlaps its post-start hooks */
			for (int i = KC_CM; i < KC_NCOMP; i++)
				if (!u.c[i].disabled)
					start(&u, i);
			u.phase = 2;
			changed = true;
		}
		long long t = now_ms();
		for (int i = 0; i < KC_NCOMP; i++) {
			struct comp *c = &u.c[i];
			/* components of a later phase are started by the phase change */
			bool phase_ok = i == KC_ETCD || (i == KC_APISERVER ? u.phase >= 1 : u.phase >= 2);
			if (c->restart_at && c->restart_at <= t && phase_ok) {
				start(&u, i);
				changed = true;
			}
		}
		if (changed)
			write_state(&u);
	}
	logline("cluster %s: stopping", s->name);
	write_state(&u);
	static const int first[] = {KC_PROV, KC_NODE, KC_SCHED, KC_CM, KC_APISERVER};
	static const int last[] = {KC_ETCD};
	/* fast: the cluster is being removed; the apiserver has done all that
	 * matters ~50 ms after SIGTERM and then idles ~1 s before it exits */
	stop_group(&u, sfd, first, ARRAY_SIZE(first), u.fast ? FAST_GRACE_MS : s->grace_ms);
	write_state(&u);
	stop_group(&u, sfd, last, ARRAY_SIZE(last), s->grace_ms);
	write_state(&u);
	logline("cluster %s: stopped", s->name);
	unlinkat(rdfd, "supervisor.pid", 0);
	_exit(0);
}

pid_t kc_sup_pid(const char *rundir)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/supervisor.lock", rundir);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
		flock(fd, LOCK_UN);
		close(fd);
		return 0;
	}
	close(fd);
	snprintf(path, sizeof(path), "%s/supervisor.pid", rundir);
	FILE *f = fopen(path, "re");
	long pid = 0;
	if (f) {
		if (fscanf(f, "%ld", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	/* locked but no pid yet: it is starting */
	return pid > 0 ? (pid_t)pid : -1;
}

int kc_sup_start(const struct kc_sup *s, pid_t *ret_pid, struct berr **err)
{
	if (fs_mkdir_p(s->rundir, 0700, err) < 0)
		return -1;
	_cleanup_close_ int rdfd = open(s->rundir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rdfd < 0)
		return berr_set(err, errno, "opening %s", s->rundir);
	int fd = openat(rdfd, "supervisor.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return berr_set(err, errno, "opening %s/supervisor.lock", s->rundir);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		return berr_setc(err, BERR_CONFLICT, "the supervisor of cluster %s runs already", s->name);
	}
	unlinkat(rdfd, "state.json", 0);
	fflush(NULL);
	int sp[2];
	if (pipe2(sp, O_CLOEXEC) < 0) {
		close(fd);
		return berr_set(err, errno, "pipe");
	}
	pid_t pid = fork();
	if (pid < 0) {
		close(fd);
		close(sp[0]);
		close(sp[1]);
		return berr_set(err, errno, "starting the supervisor of cluster %s", s->name);
	}
	if (pid == 0) {
		setsid();
		pid_t p2 = fork();
		if (p2 != 0)
			_exit(p2 < 0 ? 1 : 0);
		if (chdir("/") < 0) {
		}
		umask(022);
		int lfd = open(s->sup_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
		dup2(nul, 0);
		dup2(lfd >= 0 ? lfd : nul, 1);
		dup2(lfd >= 0 ? lfd : nul, 2);
		int lockfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		int dfd = fcntl(rdfd, F_DUPFD_CLOEXEC, 3);
		/* nothing else of the CLI's stays open (a pipe kept open would
		 * keep a caller's $(...) waiting) */
		DIR *d = opendir("/proc/self/fd");
		if (d) {
			struct dirent *de;
			int self = dirfd(d);
			while ((de = readdir(d))) {
				int x = atoi(de->d_name);
				if (de->d_name[0] == '.' || x < 3 || x == self || x == lockfd || x == dfd || x == sp[1])
					continue;
				close(x);
			}
			closedir(d);
		}
		char pb[32];
		int pl = snprintf(pb, sizeof(pb), "%d\n", (int)getpid());
		struct berr *we = NULL;
		fs_write_atomic_at(dfd, "supervisor.pid", pb, (size_t)pl, 0600, false, &we);
		berr_free(we);
		if (write(sp[1], pb, (size_t)pl) < 0) {
		}
		close(sp[1]);
		supervise(s, dfd);
	}
	close(sp[1]);
	int st;
	waitpid(pid, &st, 0);
	char b[32] = "";
	ssize_t n = read(sp[0], b, sizeof(b) - 1);
	close(sp[0]);
	close(fd);
	if (n <= 0)
		return berr_set(err, 0, "the supervisor of cluster %s did not start", s->name);
	b[n] = 0;
	*ret_pid = (pid_t)atoi(b);
	return 0;
}

/* SIGKILL every process of the groups (their leaders' pids) that started
 * no earlier than its leader and whose command line holds match (so a
 * reused pid is left alone). Returns how many were alive. */
static int kill_groups(const pid_t *groups, const unsigned long long *starts, int n, const char *match)
{
	_cleanup_closedir_ DIR *d = opendir("/proc");
	if (!d || n == 0)
		return 0;
	int alive = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		pid_t pid = (pid_t)atoi(de->d_name);
		if (pid <= 0)
			continue;
		pid_t pg = getpgid(pid);
		int g = 0;
		while (g < n && groups[g] != pg)
			g++;
		if (g == n)
			continue;
		unsigned long long t = proc_start_time(pid);
		if (t == 0 || t < starts[g])
			continue;
		char path[64], cmd[8192];
		snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t len = read(fd, cmd, sizeof(cmd) - 1);
		close(fd);
		if (len <= 0)
			continue;
		for (ssize_t i = 0; i < len; i++)
			if (!cmd[i])
				cmd[i] = ' ';
		cmd[len] = 0;
		if (!strstr(cmd, match))
			continue;
		kill(pid, SIGKILL);
		alive++;
	}
	return alive;
}

void kc_sup_stop(const char *rundir, const char *match, bool fast, int timeout_ms)
{
	pid_t pid = kc_sup_pid(rundir);
	if (pid > 0) {
		kill(pid, fast ? SIGUSR1 : SIGTERM);
		long long deadline = now_ms() + timeout_ms;
		while (kc_sup_pid(rundir) != 0 && now_ms() < deadline) {
			struct timespec ts = {0, 10 * 1000000L};
			nanosleep(&ts, NULL);
		}
		if (kc_sup_pid(rundir) > 0)
			kill(pid, SIGKILL);
		for (int i = 0; i < 200 && kc_sup_pid(rundir) != 0; i++) {
			struct timespec ts = {0, 10 * 1000000L};
			nanosleep(&ts, NULL);
		}
	}
	/* components a dead supervisor left (their PDEATHSIG asked them to
	 * go), and what they forked (the node agent's helpers, which keep
	 * its process group and command line) */
	_cleanup_close_ int dfd = open(rundir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return;
	struct berr *e = NULL;
	json_t *st = jsonx_load_at(dfd, "state.json", 1 << 20, &e);
	berr_free(e);
	if (!st)
		return;
	const char *k;
	json_t *c;
	pid_t groups[KC_NCOMP];
	unsigned long long starts[KC_NCOMP];
	int n = 0;
	json_object_foreach(json_object_get(st, "components"), k, c) {
		pid_t p = (pid_t)json_integer_value(json_object_get(c, "pid"));
		unsigned long long t = (unsigned long long)json_integer_value(json_object_get(c, "startTime"));
		if (p > 0 && t > 0 && n < KC_NCOMP) {
			groups[n] = p;
			starts[n++] = t;
		}
	}
	json_decref(st);
	for (int round = 0; round < 300; round++) {
		if (kill_groups(groups, starts, n, match) == 0)
			break;
		struct timespec ts = {0, 10 * 1000000L};
		nanosleep(&ts, NULL);
	}
}
