#include "runtime/exec.h"
#include "runtime/cgroup.h"
#include "runtime/init.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int join(pid_t pid, const char *cgroup_name)
{
	static const struct { const char *name; int type; } ns[] = {
		{"cgroup", CLONE_NEWCGROUP}, {"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS},
		{"net", CLONE_NEWNET},       {"pid", CLONE_NEWPID}, {"mnt", CLONE_NEWNS}};
	int fds[6];
	/* open them all first: once in the mount namespace, /proc is the container's */
	for (int i = 0; i < 6; i++) {
		char p[64];
		snprintf(p, sizeof(p), "/proc/%d/ns/%s", (int)pid, ns[i].name);
		fds[i] = open(p, O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0)
			return -errno;
	}
	if (cgroup_name) {
		struct cgroup *cg = NULL;
		struct berr *e = NULL;
		if (cgroup_open(cgroup_name, &cg, &e) == 0) {
			cgroup_enter(cg, getpid(), &e);
			cgroup_free(cg);
		}
		berr_free(e);
	}
	for (int i = 0; i < 6; i++) {
		/* a container sharing the host's net/uts namespace: same ns, setns is a no-op */
		if (setns(fds[i], ns[i].type) < 0)
			return -errno;
		close(fds[i]);
	}
	return 0;
}

int exec_spawn(pid_t pid, const char *cgroup_name, const struct plan_proc *proc, int in, int out, int errfd,
	       pid_t *ret, int *errfd_out, struct berr **err)
{
	int ep[2];
	if (pipe2(ep, O_CLOEXEC) < 0)
		return berr_set(err, errno, "exec: pipe");
	pid_t a = fork();
	if (a < 0) {
		close(ep[0]);
		close(ep[1]);
		return berr_set(err, errno, "exec: fork");
	}
	if (a == 0) {
		close(ep[0]);
		setpgid(0, 0);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		dup2(in >= 0 ? in : null, 0);
		dup2(out >= 0 ? out : null, 1);
		dup2(errfd >= 0 ? errfd : null, 2);
		/* this helper never execs, so close-on-exec does not shed the
		 * caller's descriptors here: a kept copy of a caller's socket or
		 * of the command's stdin pipe would hold them open (no EOF) */
		if (ep[1] > 3)
			close_range(3, (unsigned)ep[1] - 1, 0);
		close_range((unsigned)ep[1] + 1, ~0U, 0);
		int r = join(pid, cgroup_name);
		if (r < 0) {
			char msg[256];
			int n = snprintf(msg, sizeof(msg), "125 joining the container: %s", strerror(-r));
			ssize_t w = write(ep[1], msg, (size_t)n);
			(void)w;
			_exit(125);
		}
		pid_t b = fork();
		if (b < 0)
			_exit(125);
		if (b == 0)
			init_exec_proc(proc, ep[1]);
		close(ep[1]);
		/* relay signals (stop of a healthcheck, Ctrl-C of exec) */
		int st;
		while (waitpid(b, &st, 0) < 0 && errno == EINTR)
			;
		_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	}
	close(ep[1]);
	if (errfd_out)
		*errfd_out = ep[0];
	else
		close(ep[0]);
	*ret = a;
	return 0;
}
