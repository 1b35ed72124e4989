#include "runtime/monitor.h"
#include "runtime/attach.h"
#include "net/network.h"
#include "runtime/cgroup.h"
#include "runtime/health.h"
#include "runtime/init.h"
#include "runtime/lifecycle.h"
#include "runtime/logs.h"
#include "runtime/plan.h"
#include "runtime/probe.h"
#include "runtime/volume.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonx.h"
#include "util/proc.h"
#include "util/timefmt.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <pty.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <malloc.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

struct mon {
	struct ctr_store *s;
	const char *id;
	json_t *cfg;
	struct plan *plan;
	struct cgroup *cg;
	struct logw log;
	int status_fd;      /* to the CLI, -1 once it is done with us */
	bool attach;
	int fwd_in, fwd_out, fwd_err;
	bool tty, open_stdin;
	/* the running container */
	pid_t pid;
	int out_fd, err_fd, in_fd; /* our ends; out_fd is the pty master with -t */
	int restart_count;
	int backoff; /* restarts since the container last ran 10 s */
	struct timespec started;
	struct health *health;
	struct probes *probes;  /* Kubernetes probes, hooks and back-off (KubeProbes...), NULL: none */
	struct att_hub *hub;    /* berth attach clients; the container's stdin */
	struct att_escape esc;  /* the detach keys, in the attached CLI's stdin (tty) */
	int mntns_fd;           /* holds the container's mount namespace, -1: none */
	struct cg_move *mover;  /* v1: makes the cgroup, moves pid 1 into it */
	struct cgroup_limits lim;
	bool cg_failed;         /* creating the cgroup failed: nothing ran, nothing to record */
};

/* The last process of a mount namespace to exit tears its mounts down and
 * waits for an RCU grace period (several ms) before its parent sees the
 * exit. The monitor holds the namespace instead, so the exit is quick, and
 * lets it go where the wait costs nothing: after `run --rm` has its
 * answer. A container that stays must let it go before its state says
 * "exited", so that a new start never finds its overlay still mounted;
 * so must one with volumes or bind mounts, whose sources the user may
 * unmount the moment `run --rm` returns. */
static void mntns_hold(struct mon *m, pid_t pid)
{
	char p[64];
	snprintf(p, sizeof(p), "/proc/%d/ns/mnt", (int)pid);
	m->mntns_fd = open(p, O_RDONLY | O_CLOEXEC);
}

static void mntns_release(struct mon *m)
{
	if (m->mntns_fd >= 0)
		close(m->mntns_fd);
	m->mntns_fd = -1;
}

static bool auto_remove(struct mon *m)
{
	return json_is_true(json_object_get(json_object_get(m->cfg, "HostConfig"), "AutoRemove"));
}

/* Whether the namespace may outlive the container's exit (see above). */
static bool mntns_keep(struct mon *m)
{
	return auto_remove(m) && m->plan->nmounts == 0;
}

static void report(struct mon *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void report(struct mon *m, const char *fmt, ...)
{
	if (m->status_fd < 0)
		return;
	char buf[2048];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	if (fs_write_full(m->status_fd, buf, (size_t)n) < 0) {
		close(m->status_fd);
		m->status_fd = -1;
	}
}

static void now_str(char *buf, size_t n)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	time_rfc3339(&ts, buf, n);
}

/* Read-modify-write of state.json under the container lock. */
static void state_update(struct mon *m, void (*fn)(json_t *st, void *arg), void *arg)
{
	struct berr *e = NULL;
	int lk = ctr_lock(m->s, m->id, &e);
	berr_free(e);
	char path[128];
	snprintf(path, sizeof(path), "%s/state.json", m->id);
	json_t *st = jsonx_load_at(m->s->ctrsfd, path, 1 << 20, NULL);
	if (!st)
		st = json_object();
	fn(st, arg);
	ctr_state_write(m->s, m->id, st, NULL);
	json_decref(st);
	if (lk >= 0)
		close(lk);
}

struct run_info {
	struct mon *m;
	const char *status;
	int exit_code;
	bool oom;
	const char *error;
};

static void set_running(json_t *st, void *arg)
{
	struct run_info *ri = arg;
	struct mon *m = ri->m;
	char ts[48];
	time_rfc3339(&m->started, ts, sizeof(ts));
	json_object_set_new(st, "Status", json_string("running"));
	json_object_set_new(st, "Pid", json_integer(m->pid));
	json_object_set_new(st, "PidStart", json_integer((json_int_t)proc_start_time(m->pid)));
	json_object_set_new(st, "MonitorPid", json_integer(getpid()));
	json_object_set_new(st, "MonitorStart", json_integer((json_int_t)proc_start_time(getpid())));
	json_object_set_new(st, "StartedAt", json_string(ts));
	json_object_set_new(st, "RestartCount", json_integer(m->restart_count));
	json_object_set_new(st, "OOMKilled", json_false());
	json_object_set_new(st, "Error", json_string(""));
	if (m->health)
		json_object_set_new(st, "Health", health_state_json(m->health));
	if (m->probes)
		json_object_set_new(st, "Kube", probes_state_json(m->probes));
}

static void set_exited(json_t *st, void *arg)
{
	struct run_info *ri = arg;
	char ts[48];
	now_str(ts, sizeof(ts));
	json_object_set_new(st, "Status", json_string(ri->status));
	json_object_set_new(st, "Pid", json_integer(0));
	json_object_set_new(st, "ExitCode", json_integer(ri->exit_code));
	json_object_set_new(st, "OOMKilled", json_boolean(ri->oom));
	json_object_set_new(st, "FinishedAt", json_string(ts));
	json_object_set_new(st, "RestartCount", json_integer(ri->m->restart_count));
	if (ri->error)
		json_object_set_new(st, "Error", json_string(ri->error));
	if (strcmp(ri->status, "restarting")) {
		json_object_del(st, "MonitorPid");
		json_object_del(st, "MonitorStart");
	}
	if (ri->m->health) {
		/* as Docker: a container that is not running is not healthy */
		json_t *h = health_state_json(ri->m->health);
		json_object_set_new(h, "Status", json_string("unhealthy"));
		json_object_set_new(st, "Health", h);
	}
	if (ri->m->probes)
		json_object_set_new(st, "Kube", probes_state_json(ri->m->probes));
}

static void set_health(json_t *st, void *arg)
{
	struct mon *m = arg;
	if (m->health)
		json_object_set_new(st, "Health", health_state_json(m->health));
}

static void set_kube(json_t *st, void *arg)
{
	struct mon *m = arg;
	if (m->probes)
		json_object_set_new(st, "Kube", probes_state_json(m->probes));
}

/* Moving the new process into its cgroups: on v1 the first write to a
 * cgroup.procs waits for an RCU grace period (the cgroup threadgroup
 * rwsem; 5-20 ms here), so a thread, the mover, does it while the monitor
 * sets up the network and the child builds its root filesystem. It starts
 * early: it makes the cgroup (first start), says so, then starts the
 * grace period with a move of the monitor into the cgroup it is already
 * in, and moves the container's process once launch() hands over its pid,
 * by then mostly without a wait.
 *
 * The clone happens while the mover runs. A raw clone() copies whatever
 * userspace locks another thread holds (malloc's, stdio's) and the child
 * would hang on them: so launch() clones only after the mover said
 * "made", and from then until it has the pid the mover makes nothing but
 * plain system calls (cgroup_prepare_move() is written for that). */
struct cg_move {
	pthread_t thread;
	bool started;
	int made[2];  /* mover -> monitor: 1 byte, 1 = cgroup made, 0 = failed */
	int hand[2];  /* monitor -> mover: the pid (0: nothing to move) */
	bool made_read, create_failed;
	struct berr *err;
};

static void *cg_move_main(void *arg)
{
	struct mon *m = arg;
	struct cg_move *mv = m->mover;
	char ok = 1;
	if (!m->cg && cgroup_create(m->id, &m->lim, &m->cg, &mv->err) < 0) {
		mv->create_failed = true;
		ok = 0;
	}
	if (write(mv->made[1], &ok, 1) != 1 || !ok)
		return NULL;
	/* no malloc, no stdio from here until the pid is in */
	cgroup_prepare_move();
	pid_t pid = 0;
	if (fs_read_full(mv->hand[0], &pid, sizeof(pid)) == (ssize_t)sizeof(pid) && pid > 0)
		cgroup_enter(m->cg, pid, &mv->err);
	return NULL;
}

static void mover_close(struct cg_move *mv)
{
	for (int i = 0; i < 2; i++) {
		if (mv->made[i] >= 0)
			close(mv->made[i]);
		if (mv->hand[i] >= 0)
			close(mv->hand[i]);
		mv->made[i] = mv->hand[i] = -1;
	}
}

/* Start the mover (no-op if it runs). Without a thread, mover_finish()
 * does the work itself. */
static void mover_start(struct mon *m)
{
	struct cg_move *mv = m->mover;
	if (mv->started)
		return;
	*mv = (struct cg_move){.made = {-1, -1}, .hand = {-1, -1}};
	if (pipe2(mv->made, O_CLOEXEC) < 0 || pipe2(mv->hand, O_CLOEXEC) < 0) {
		mover_close(mv);
		return;
	}
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	mv->started = pthread_create(&mv->thread, NULL, cg_move_main, m) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!mv->started)
		mover_close(mv);
}

/* Wait until the mover has made the cgroup: then it is safe to clone.
 * False when making it failed (mover_finish() has the error). */
static bool mover_made(struct mon *m)
{
	struct cg_move *mv = m->mover;
	if (!mv->started || mv->made_read)
		return !mv->create_failed;
	char ok = 0;
	if (fs_read_full(mv->made[0], &ok, 1) != 1)
		ok = 0;
	mv->made_read = true;
	return ok == 1;
}

/* Hand the mover pid (0: none) and wait for it. -1 with *msg filled when
 * making the cgroup or moving pid failed; m->cg_failed tells the first. */
static int mover_finish(struct mon *m, pid_t pid, char *msg, size_t msglen)
{
	struct cg_move *mv = m->mover;
	if (mv->started) {
		ssize_t w = write(mv->hand[1], &pid, sizeof(pid));
		(void)w;
		pthread_join(mv->thread, NULL);
		mv->started = false;
		mover_close(mv);
	} else if (pid > 0) {
		*mv = (struct cg_move){.made = {-1, -1}, .hand = {-1, -1}};
		if (!m->cg && cgroup_create(m->id, &m->lim, &m->cg, &mv->err) < 0)
			mv->create_failed = true;
		else
			cgroup_enter(m->cg, pid, &mv->err);
	}
	if (!mv->err)
		return 0;
	m->cg_failed = mv->create_failed;
	if (msg)
		snprintf(msg, msglen, "%s", mv->err->msg);
	berr_freep(&mv->err);
	return -1;
}

/* The container's pid 1 in its new namespaces. On cgroup v2 it is born in
 * its cgroup (clone3 CLONE_INTO_CGROUP: no migration, no grace period);
 * *ret_in_cgroup says so. */
static pid_t clone_container(struct mon *m, unsigned long flags, bool *ret_in_cgroup)
{
	*ret_in_cgroup = false;
	int cgfd = m->cg && cgroup_version_of(m->cg) == 2 ? cgroup_dirfd(m->cg) : -1;
	if (cgfd >= 0) {
		struct clone_args ca = {.flags = (flags & ~0xffUL) | CLONE_INTO_CGROUP,
					.exit_signal = flags & 0xff,
					.cgroup = (uint64_t)cgfd};
		pid_t pid = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
		if (pid >= 0) {
			*ret_in_cgroup = true;
			return pid;
		}
		/* an older kernel, or a cgroup clone3 cannot enter: migrate */
	}
	return (pid_t)syscall(SYS_clone, flags, NULL, NULL, NULL, NULL);
}

/* Has pid 1 exited (reaped already, or a zombie not yet reaped)? */
static bool exited_or_zombie(struct mon *m, bool reaped)
{
	siginfo_t si = {0};
	return reaped || (waitid(P_PID, m->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == m->pid) ||
	       proc_exiting(m->pid);
}

/* Start the container's pid 1. On failure returns the exit code to report
 * and fills msg. */
static int launch(struct mon *m, char *msg, size_t msglen)
{
	int outp[2] = {-1, -1}, errp[2] = {-1, -1}, inp[2] = {-1, -1}, sync[2], errpipe[2];
	int master = -1, slave = -1;
	if (m->tty) {
		struct winsize ws = {.ws_row = 24, .ws_col = 80};
		if (m->attach && m->fwd_out >= 0)
			ioctl(m->fwd_out, TIOCGWINSZ, &ws);
		if (openpty(&master, &slave, NULL, NULL, &ws) < 0) {
			snprintf(msg, msglen, "allocating a pty: %s", strerror(errno));
			return 125;
		}
		fcntl(master, F_SETFD, FD_CLOEXEC);
	} else if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
		snprintf(msg, msglen, "creating pipes: %s", strerror(errno));
		return 125;
	}
	if (m->open_stdin && !m->tty && pipe2(inp, O_CLOEXEC) < 0) {
		snprintf(msg, msglen, "creating pipes: %s", strerror(errno));
		return 125;
	}
	if (pipe2(sync, O_CLOEXEC) < 0 || pipe2(errpipe, O_CLOEXEC) < 0) {
		snprintf(msg, msglen, "creating pipes: %s", strerror(errno));
		return 125;
	}
	/* --network container:ID: join that container's network namespace,
	 * which must be running now (as Docker requires). */
	_cleanup_close_ int joinfd = -1;
	if (m->plan->net_container) {
		struct berr *je = NULL;
		_cleanup_json_ json_t *ts = ctr_state(m->s, m->plan->net_container, &je);
		if (!ts || !ctr_is_running(ts)) {
			snprintf(msg, msglen, "cannot join network of a non running container: %.12s",
				 m->plan->net_container);
			berr_free(je);
			return 125;
		}
		char nspath[64];
		snprintf(nspath, sizeof(nspath), "/proc/%lld/ns/net",
			 (long long)json_integer_value(json_object_get(ts, "Pid")));
		joinfd = open(nspath, O_RDONLY | O_CLOEXEC);
		if (joinfd < 0) {
			snprintf(msg, msglen, "joining the network of container %.12s: %s", m->plan->net_container,
				 strerror(errno));
			return 125;
		}
	}
	unsigned long flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | SIGCHLD;
	if (m->plan->new_net)
		flags |= CLONE_NEWNET;
	if (m->plan->new_uts)
		flags |= CLONE_NEWUTS;
	if (!m->cg || cgroup_version_of(m->cg) != 2)
		mover_start(m); /* v1; v2 clones into the cgroup */
	if (!mover_made(m)) {
		mover_finish(m, 0, msg, msglen);
		return 125;
	}
	bool in_cgroup;
	pid_t pid = clone_container(m, flags, &in_cgroup);
	if (pid < 0) {
		snprintf(msg, msglen, "creating the container's namespaces: %s", strerror(errno));
		mover_finish(m, 0, NULL, 0);
		return 125;
	}
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		/* Default dispositions, as runc gives: an ignored signal stays
		 * ignored across execve, and a CLI started in the background
		 * of a script ignores SIGINT and SIGQUIT (a shell cannot even
		 * trap a signal ignored on entry). */
		for (int sig = 1; sig < NSIG; sig++)
			signal(sig, SIG_DFL);
		prctl(PR_SET_PDEATHSIG, 0);
		if (joinfd >= 0 && setns(joinfd, CLONE_NEWNET) < 0)
			_exit(125);
		int in = -1, out, er;
		if (m->tty) {
			setsid();
			ioctl(slave, TIOCSCTTY, 0);
			in = out = er = slave;
		} else {
			out = outp[1];
			er = errp[1];
			in = inp[0] >= 0 ? inp[0] : open("/dev/null", O_RDONLY | O_CLOEXEC);
			setsid();
		}
		if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(er, 2) < 0)
			_exit(125);
		close(sync[1]);
		close(errpipe[0]);
		init_container(m->plan, sync[0], errpipe[1]);
	}
	close(sync[0]);
	close(errpipe[1]);
	if (m->tty) {
		close(slave);
		m->out_fd = master;
		m->err_fd = -1;
		m->in_fd = master;
	} else {
		close(outp[1]);
		close(errp[1]);
		m->out_fd = outp[0];
		m->err_fd = errp[0];
		if (inp[0] >= 0) {
			close(inp[0]);
			m->in_fd = inp[1];
		} else {
			m->in_fd = -1;
		}
	}
	struct berr *e = NULL;
	/* the container's network: its netns exists, it waits for the sync byte */
	int r = net_attach(m->s->root, m->s->runroot, m->cfg, m->id, m->plan->ctr_dir, pid, &e);
	if (r < 0)
		snprintf(msg, msglen, "%s", e->msg);
	berr_free(e);
	if (mover_finish(m, in_cgroup ? 0 : pid, r < 0 ? NULL : msg, msglen) < 0 || r < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		close(sync[1]);
		close(errpipe[0]);
		return 125;
	}
	ssize_t w = write(sync[1], "g", 1);
	(void)w;
	close(sync[1]);
	/* EOF on errpipe: execve happened (close-on-exec). Data: it failed. */
	char ebuf[1024];
	ssize_t rd = fs_read_full(errpipe[0], ebuf, sizeof(ebuf) - 1);
	size_t got = rd > 0 ? (size_t)rd : 0;
	close(errpipe[0]);
	if (got > 0) {
		ebuf[got] = 0;
		int code = atoi(ebuf);
		const char *sp = strchr(ebuf, ' ');
		snprintf(msg, msglen, "%s", sp ? sp + 1 : ebuf);
		waitpid(pid, NULL, 0);
		if (m->out_fd >= 0)
			close(m->out_fd);
		if (m->err_fd >= 0)
			close(m->err_fd);
		if (m->in_fd >= 0 && m->in_fd != m->out_fd)
			close(m->in_fd);
		m->out_fd = m->err_fd = m->in_fd = -1;
		return code ? code : 125;
	}
	m->pid = pid;
	mntns_hold(m, pid);
	clock_gettime(CLOCK_REALTIME, &m->started);
	return 0;
}

/* Docker's restart delay: 100 ms doubling, capped at a minute, reset
 * when the container ran for 10 s. */
static long restart_delay_ms(int count) 
{
	long d = 100;
	for (int i = 0; i < count && d < 60000; i++)
		d *= 2;
	return d > 60000 ? 60000 : d;
}

/* A user stopped the container (or removed it: its directory is gone). */
static bool stop_requested(struct mon *m)
{
	int dfd = ctr_dirfd(m->s, m->id);
	bool stopped = dfd < 0 || faccessat(dfd, "stop-requested", F_OK, 0) == 0;
	if (dfd >= 0)
		close(dfd);
	return stopped;
}

static bool should_restart(struct mon *m, int code)
{
	json_t *rp = json_object_get(json_object_get(m->cfg, "HostConfig"), "RestartPolicy");
	const char *name = jsonx_str(rp, "Name");
	if (!name || !*name || !strcmp(name, "no"))
		return false;
	if (stop_requested(m))
		return false;
	if (!strcmp(name, "always") || !strcmp(name, "unless-stopped"))
		return true;
	if (!strcmp(name, "on-failure")) {
		int max = (int)json_integer_value(json_object_get(rp, "MaximumRetryCount"));
		return code != 0 && (max == 0 || m->restart_count < max);
	}
	return false;
}

/* The delay before the next restart (m->backoff counts them): Docker's,
 * or with "KubeBackoff" the kubelet's (at once, then 10 s doubling to
 * 300 s). */
static long next_delay_ms(struct mon *m)
{
	if (probes_kube_backoff(m->probes))
		return probe_kube_backoff_ms(m->backoff);
	return restart_delay_ms(m->backoff - 1);
}

/* How long a container must run for its back-off to start over. */
static long backoff_reset_s(struct mon *m)
{
	return probes_kube_backoff(m->probes) ? PROBE_BACKOFF_RESET_S : 10;
}

/* The back-off before a restart. `berth stop` of a restarting container
 * signals the monitor, so a stop does not wait out the delay. False when
 * the container was stopped meanwhile. */
static bool backoff_wait(struct mon *m, int sfd, int tfd)
{
	struct itimerspec its = {0};
	long d = next_delay_ms(m);
	if (d <= 0) /* (a zero it_value would disarm the timer) */
		return !stop_requested(m);
	its.it_value.tv_sec = d / 1000;
	its.it_value.tv_nsec = (d % 1000) * 1000000L;
	timerfd_settime(tfd, 0, &its, NULL);
	for (;;) {
		if (stop_requested(m))
			return false;
		struct pollfd pf[2] = {{.fd = tfd, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		if (pf[1].revents) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == sizeof(si) && si.ssi_signo == SIGCHLD)
				while (waitpid(-1, NULL, WNOHANG) > 0)
					;
		}
		if (pf[0].revents) {
			uint64_t x;
			ssize_t r = read(tfd, &x, sizeof(x));
			(void)r;
			return !stop_requested(m);
		}
	}
}

static void forward(int fd, const char *buf, size_t n)
{
	if (fd >= 0)
		fs_write_full(fd, buf, n);
}

/* Pump output until both streams hit EOF (or just what is there when
 * drain_only). Returns false when nothing is left open. */
static void pump(struct mon *m, int *fdp, int stream)
{
	char buf[65536];
	ssize_t n = read(*fdp, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		if (*fdp != m->in_fd)
			close(*fdp);
		*fdp = -1;
		return;
	}
	logw_write(&m->log, stream, buf, (size_t)n);
	if (m->attach)
		forward(stream ? m->fwd_err : m->fwd_out, buf, (size_t)n);
	att_hub_output(m->hub, stream ? ATT_STDERR : ATT_STDOUT, buf, (size_t)n);
}

/* run -it / start -ai: the user typed the detach keys. The CLI gets
 * nothing more and goes; the container keeps running (berth attach). */
static void detach_cli(struct mon *m)
{
	if (m->fwd_in >= 0)
		close(m->fwd_in);
	if (m->fwd_out >= 0)
		close(m->fwd_out);
	if (m->fwd_err >= 0)
		close(m->fwd_err);
	m->fwd_in = m->fwd_out = m->fwd_err = -1;
	m->attach = false;
	report(m, "detached");
	if (m->status_fd >= 0)
		close(m->status_fd);
	m->status_fd = -1;
}

/* The monitor is a fork of the CLI, so its resident set starts as the
 * CLI's: every page of berth and its libraries the CLI touched. Drop the
 * page-table entries of read-only file mappings that were never written
 * (text, rodata): they fault back in from the page cache if the monitor
 * ever needs them, and otherwise stop counting against the monitor. Pages
 * written before (relocations under RELRO) show as Anonymous and stay. */
static void trim_resident(void)
{
	FILE *f = fopen("/proc/self/smaps", "re");
	if (!f)
		return;
	char line[512];
	unsigned long start = 0, end = 0;
	bool candidate = false;
	while (fgets(line, sizeof(line), f)) {
		unsigned long a, b;
		char perms[8] = "", path[256] = "";
		if (isxdigit((unsigned char)line[0]) &&
		    sscanf(line, "%lx-%lx %7s %*s %*s %*s %255s", &a, &b, perms, path) >= 3) {
			start = a;
			end = b;
			candidate = perms[1] != 'w' && path[0] == '/';
			continue;
		}
		if (candidate && !strncmp(line, "Anonymous:", 10)) {
			unsigned long kb = strtoul(line + 10, NULL, 10);
			if (kb == 0)
				madvise((void *)start, end - start, MADV_DONTNEED);
			candidate = false;
		}
	}
	fclose(f);
	malloc_trim(0);
}

static void cleanup_and_exit(struct mon *m, int code)
{
	logw_close(&m->log);
	struct berr *e = NULL;
	if (m->cg) {
		cgroup_destroy(m->cg, &e);
		berr_freep(&e);
		cgroup_free(m->cg);
	}
	if (auto_remove(m) && ctr_remove_files(m->s, m->id, NULL) == 0)
		volume_remove_anonymous(m->s->root, m->cfg); /* like docker run --rm */
	else
		mntns_release(m); /* (see mntns_hold) */
	/* attach clients: the exit code last, then the socket goes */
	att_hub_exit(m->hub, code);
	att_hub_free(m->hub);
	report(m, "exited %d", code);
	if (m->status_fd >= 0)
		close(m->status_fd);
	m->status_fd = -1;
	mntns_release(m);
	_exit(0);
}

__attribute__((noreturn)) static void monitor_main(struct mon *m)
{
	char msg[1024] = "";
	struct berr *e = NULL;
	json_t *hc = json_object_get(m->cfg, "HostConfig");
	if (plan_build(m->cfg, m->s->root, &m->plan, &e) < 0) {
		report(m, "error 125 %s", e->msg);
		_exit(0);
	}
	json_t *lc = json_object_get(json_object_get(hc, "LogConfig"), "Config");
	int64_t max_size = 0;
	const char *ms = jsonx_str(lc, "max-size");
	if (ms)
		cgroup_parse_size(ms, &max_size, NULL);
	const char *mf = jsonx_str(lc, "max-file");
	if (logw_open(m->s, m->id, max_size, mf ? atoi(mf) : 1, &m->log, &e) < 0) {
		report(m, "error 125 %s", e->msg);
		_exit(0);
	}
	json_t *attrs = logs_attrs(m->cfg);
	logw_set_attrs(&m->log, attrs);
	json_decref(attrs);
	m->lim = (struct cgroup_limits){
		.memory = json_integer_value(json_object_get(hc, "Memory")),
		.memory_swap = json_integer_value(json_object_get(hc, "MemorySwap")),
		.cpu_quota = json_integer_value(json_object_get(hc, "CpuQuota")),
		.cpu_period = json_integer_value(json_object_get(hc, "CpuPeriod")),
		.cpu_shares = json_integer_value(json_object_get(hc, "CpuShares")),
		.pids_max = json_integer_value(json_object_get(hc, "PidsLimit")),
		.cpuset_cpus = jsonx_str(hc, "CpusetCpus"),
	};
	/* v2: the container is cloned into its cgroup, which must exist first;
	 * v1: made while the container starts (cg_move_main) */
	if (cgroup_version() == 2 && cgroup_create(m->id, &m->lim, &m->cg, &e) < 0) {
		report(m, "error 125 %s", e->msg);
		logw_close(&m->log);
		_exit(0);
	}
	if (!m->cg)
		mover_start(m); /* v1: the cgroup and its grace period, from now on */
	json_t *hcfg = json_object_get(json_object_get(m->cfg, "Config"), "Healthcheck");
	m->health = health_new(hcfg);
	m->probes = probes_new(m->cfg);

	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	int restart_tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	bool first = true;
	/* without the socket the container still runs: berth attach says so */
	m->hub = att_hub_new(m->s->runroot, m->id, m->tty, &e);
	berr_freep(&e);

	for (;;) {
		int code = launch(m, msg, sizeof(msg));
		if (code)
			mover_finish(m, 0, NULL, 0); /* a launch that failed before its clone */
		if (code && m->cg_failed) {
			/* as a refused create: no state, no log line, just the error */
			net_detach_all(m->s->root, m->s->runroot, m->id);
			report(m, "error 125 %s", msg);
			logw_close(&m->log);
			_exit(0);
		}
		if (code) {
			net_detach_all(m->s->root, m->s->runroot, m->id);
			/* restarting (not exited) while we wait: the monitor still owns it */
			bool again = !first && should_restart(m, code);
			if (again) {
				m->restart_count++;
				m->backoff++;
			}
			probes_set_backoff(m->probes, again ? next_delay_ms(m) : 0);
			struct run_info ri = {.m = m, .status = again ? "restarting" : "exited", .exit_code = code, .error = msg};
			state_update(m, set_exited, &ri);
			if (first)
				report(m, "error %d %s", code, msg);
			logw_write(&m->log, 1, msg, strlen(msg));
			logw_write(&m->log, 1, "\n", 1);
			if (again && backoff_wait(m, sfd, restart_tfd))
				continue;
			if (again) {
				ri.status = "exited";
				probes_set_backoff(m->probes, 0);
				state_update(m, set_exited, &ri);
			}
			m->status_fd = first ? -1 : m->status_fd;
			cleanup_and_exit(m, code);
		}
		struct run_info ri = {.m = m};
		att_hub_set_stdin(m->hub, m->open_stdin ? m->in_fd : -1, m->tty ? m->out_fd : -1);
		if (m->health)
			health_reset(m->health);
		if (m->probes)
			probes_start(m->probes, m->pid, m->plan, m->s, m->id);
		state_update(m, set_running, &ri);
		if (first)
			report(m, "started %d", (int)m->pid);
		if (!m->attach && m->status_fd >= 0 && first) {
			/* detached: the CLI only waited for "started" */
			close(m->status_fd);
			m->status_fd = -1;
			trim_resident();
		}
		first = false;

		int status = 0;
		bool exited = false;
		while (!exited || m->out_fd >= 0 || m->err_fd >= 0) {
			struct pollfd pfd[7 + ATT_HUB_MAXFDS];
			int n = 0, i_out = -1, i_err = -1, i_sig = -1, i_in = -1, i_health = -1, i_hub = -1, i_probes = -1;
			if (m->out_fd >= 0) {
				pfd[n] = (struct pollfd){.fd = m->out_fd, .events = POLLIN};
				i_out = n++;
			}
			if (m->err_fd >= 0) {
				pfd[n] = (struct pollfd){.fd = m->err_fd, .events = POLLIN};
				i_err = n++;
			}
			if (!exited) {
				pfd[n] = (struct pollfd){.fd = sfd, .events = POLLIN};
				i_sig = n++;
			}
			if (!exited && m->attach && m->fwd_in >= 0 && m->in_fd >= 0 && !att_hub_input_busy(m->hub)) {
				pfd[n] = (struct pollfd){.fd = m->fwd_in, .events = POLLIN};
				i_in = n++;
			}
			if (!exited && m->health && health_fd(m->health) >= 0) {
				pfd[n] = (struct pollfd){.fd = health_fd(m->health), .events = POLLIN};
				i_health = n++;
			}
			if (!exited && m->probes) {
				pfd[n] = (struct pollfd){.fd = probes_fd(m->probes), .events = POLLIN};
				i_probes = n++;
			}
			if (!exited) {
				i_hub = n;
				n += att_hub_pollfds(m->hub, pfd + n);
			}
			/* After the exit, a grandchild may still hold the pipes:
			 * give the streams a moment, then stop waiting. */
			int r = poll(pfd, (nfds_t)n, exited ? 200 : -1);
			if (r < 0 && errno == EINTR)
				continue;
			if (r == 0 && exited)
				break;
			if (i_out >= 0 && pfd[i_out].revents)
				pump(m, &m->out_fd, 0);
			if (i_err >= 0 && pfd[i_err].revents)
				pump(m, &m->err_fd, 1);
			if (i_in >= 0 && pfd[i_in].revents) {
				char buf[4096], fwd[4096 + ATT_MAX_KEYS];
				ssize_t k = read(m->fwd_in, buf, sizeof(buf));
				if (k < 0 && (errno == EINTR || errno == EAGAIN)) {
				} else if (k <= 0) {
					if (!m->tty) {
						/* the container sees EOF once the buffered input went in */
						att_hub_input_eof(m->hub);
						close(m->in_fd);
						m->in_fd = -1;
					}
					close(m->fwd_in);
					m->fwd_in = -1;
				} else {
					bool detach = false;
					size_t o = att_escape_filter(&m->esc, buf, (size_t)k, fwd, &detach);
					att_hub_input(m->hub, fwd, o);
					if (detach)
						detach_cli(m);
				}
			}
			if (i_hub >= 0)
				att_hub_events(m->hub, pfd + i_hub);
			if (i_health >= 0 && pfd[i_health].revents) {
				if (health_tick(m->health, m->pid, m->plan))
					state_update(m, set_health, m);
			}
			if (i_probes >= 0 && pfd[i_probes].revents) {
				if (probes_tick(m->probes) & PROBES_CHANGED)
					state_update(m, set_kube, m);
			}
			if (i_sig >= 0 && pfd[i_sig].revents) {
				struct signalfd_siginfo si;
				if (read(sfd, &si, sizeof(si)) != sizeof(si))
					continue;
				if (si.ssi_signo == SIGCHLD) {
					int st;
					pid_t w;
					while ((w = waitpid(-1, &st, WNOHANG)) > 0) {
						bool ours = false;
						if (w == m->pid) {
							status = st;
							exited = true;
						} else if (m->probes && exited_or_zombie(m, exited) &&
							   probes_child_discard(m->probes, w)) {
							/* a probe or hook cut short by the container's end */
						} else if (m->probes && (probes_child_exited(m->probes, w, st, &ours) & PROBES_CHANGED)) {
							state_update(m, set_kube, m);
						} else if (ours) {
						} else if (m->health && exited_or_zombie(m, exited) &&
							   health_child_discard(m->health, w)) {
							/* a probe that ran while the container died says
							 * nothing about its health */
						} else if (m->health && health_child_exited(m->health, w, st)) {
							state_update(m, set_health, m);
						}
					}
				}
				/* SIGTERM/SIGINT/SIGHUP to the monitor itself: keep supervising;
				 * `berth stop` signals the container, not us. */
			}
		}
		if (m->out_fd >= 0)
			close(m->out_fd);
		if (m->err_fd >= 0)
			close(m->err_fd);
		if (m->in_fd >= 0 && m->in_fd != m->out_fd)
			close(m->in_fd);
		m->out_fd = m->err_fd = m->in_fd = -1;
		logw_flush(&m->log);
		net_detach_all(m->s->root, m->s->runroot, m->id);
		code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		bool again = should_restart(m, code);
		if (again || !mntns_keep(m))
			mntns_release(m);
		bool oom = m->cg && cgroup_oom_killed(m->cg);
		if (m->health)
			health_stop(m->health);
		probes_stop(m->probes);
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		if (now.tv_sec - m->started.tv_sec >= backoff_reset_s(m))
			m->backoff = 0; /* ran long enough: the delay starts over */
		struct run_info ex = {.m = m, .status = again ? "restarting" : "exited", .exit_code = code, .oom = oom};
		if (again) {
			m->restart_count++;
			m->backoff++;
		}
		probes_set_backoff(m->probes, again ? next_delay_ms(m) : 0);
		state_update(m, set_exited, &ex);
		if (again)
			att_hub_exit(m->hub, code);
		if (m->attach && again) {
			/* the attached CLI ends with the first exit, as docker run does;
			 * without a restart, cleanup_and_exit reports after --rm's removal */
			report(m, "exited %d", code);
			if (m->status_fd >= 0)
				close(m->status_fd);
			m->status_fd = -1;
			m->attach = false;
		}
		if (!again)
			cleanup_and_exit(m, code);
		/* (not should_restart: on-failure:N counted this restart already) */
		if (!backoff_wait(m, sfd, restart_tfd)) {
			/* stopped while we waited: record the exit, not "restarting" */
			ex.status = "exited";
			probes_set_backoff(m->probes, 0);
			state_update(m, set_exited, &ex);
			cleanup_and_exit(m, code);
		}
	}
}

int monitor_spawn(struct ctr_store *s, const char *id, const struct monitor_attach *a, int *ret_status_fd,
		  pid_t *ret_pid, struct berr **err)
{
	struct berr *e = NULL;
	_cleanup_json_ json_t *cfg = ctr_config(s, id, &e);
	if (!cfg) {
		*err = e;
		return -1;
	}
	int sp[2];
	if (pipe2(sp, O_CLOEXEC) < 0)
		return berr_set(err, errno, "creating a pipe");
	/* Block the signals the monitor takes through signalfd before forking,
	 * so none is lost between fork and signalfd(). */
	sigset_t mask, old;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, &old);
	pid_t pid = fork();
	if (pid < 0) {
		int e2 = errno;
		sigprocmask(SIG_SETMASK, &old, NULL);
		close(sp[0]);
		close(sp[1]);
		return berr_set(err, e2, "starting the container monitor");
	}
	if (pid > 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		close(sp[1]);
		*ret_status_fd = sp[0];
		if (ret_pid)
			*ret_pid = pid;
		return 0;
	}
	/* the monitor */
	close(sp[0]);
	setsid();
	signal(SIGPIPE, SIG_IGN);
	struct mon m = {.s = s, .id = id, .cfg = json_incref(cfg), .status_fd = sp[1], .out_fd = -1, .err_fd = -1,
			.in_fd = -1, .fwd_in = -1, .fwd_out = -1, .fwd_err = -1, .mntns_fd = -1};
	static struct cg_move mover;
	m.mover = &mover;
	json_t *c = json_object_get(cfg, "Config");
	m.tty = json_is_true(json_object_get(c, "Tty"));
	m.open_stdin = json_is_true(json_object_get(c, "OpenStdin"));
	if (a && a->attach) {
		m.attach = true;
		m.fwd_in = a->in >= 0 ? fcntl(a->in, F_DUPFD_CLOEXEC, 3) : -1;
		m.fwd_out = fcntl(a->out, F_DUPFD_CLOEXEC, 3);
		m.fwd_err = fcntl(a->err, F_DUPFD_CLOEXEC, 3);
		/* Docker's detach keys: with a tty, in the stdin of the CLI */
		if (m.tty && m.fwd_in >= 0 &&
		    att_parse_keys(a->detach_keys ? a->detach_keys : ATT_DEFAULT_KEYS, m.esc.keys, &m.esc.n, NULL) < 0)
			att_parse_keys(ATT_DEFAULT_KEYS, m.esc.keys, &m.esc.n, NULL);
	}
	/* Close everything inherited from the CLI but what the monitor uses:
	 * a lock or a pipe held here would block whoever waits on it (a flock
	 * lives as long as any copy of its descriptor). */
	int keep[] = {m.status_fd, m.fwd_in, m.fwd_out, m.fwd_err, s->rootfd, s->ctrsfd, s->namesfd};
	DIR *d = opendir("/proc/self/fd");
	if (d) {
		struct dirent *de;
		int self = dirfd(d);
		while ((de = readdir(d))) {
			int fd = atoi(de->d_name);
			if (fd < 3 || fd == self || de->d_name[0] == '.')
				continue;
			bool k = false;
			for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
				k |= keep[i] == fd;
			if (!k)
				close(fd);
		}
		closedir(d);
	}
	/* Nothing of the CLI's terminal stays open in the monitor except what
	 * it forwards. */
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		close(null);
	}
	monitor_main(&m);
}
