/* Why this is one long, linear file: it is the order of operations that
 * makes a container, and the order matters. Mount the overlay while we can
 * still see the host's layer directories; build /dev, /proc, /sys and the
 * user's mounts inside the new root, resolving every target with
 * RESOLVE_IN_ROOT so a symlink in the image cannot redirect a mount onto
 * the host; pivot_root; then mask and read-only-mount the kernel
 * interfaces Docker hides. The process part comes last: the bounding set is
 * dropped and seccomp installed while we still hold CAP_SYS_ADMIN, then the
 * user changes, the final capabilities are set, and execve. */
#include "runtime/init.h"
#include "runtime/caps.h"
#include "runtime/seccomp.h"
#include "runtime/userdb.h"
#include "runtime/volume.h"
#include "util/fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/openat2.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static int g_errfd = -1;

__attribute__((noreturn, format(printf, 2, 3))) static void die(int code, const char *fmt, ...)
{
	char buf[1024];
	int n = snprintf(buf, sizeof(buf), "%d ", code);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	va_end(ap);
	if (g_errfd >= 0) {
		ssize_t w = write(g_errfd, buf, strlen(buf));
		(void)w;
	}
	_exit(code);
}

static void rmdir_marker(const char *path)
{
	fs_rm_rf_at(AT_FDCWD, path);
}

static int openat2_in_root(int rootfd, const char *path, int flags)
{
	struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC),
			       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
	/* EAGAIN: a mount or rename anywhere on the host raced with a ".."
	 * in the path (busy hosts: other containers starting); the kernel
	 * asks us to try again */
	for (int i = 0;; i++) {
		int fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
		if (fd >= 0 || errno != EAGAIN || i == 1000)
			return fd;
	}
}

/* Open (creating as needed) a mount target inside the root: every
 * component is resolved within rootfd. A missing last component becomes a
 * directory, or an empty file when is_file. Returns an O_PATH fd. */
static int mount_target(int rootfd, const char *target, bool is_file)
{
	int fd = openat2_in_root(rootfd, target, O_PATH);
	if (fd >= 0)
		return fd;
	if (errno != ENOENT)
		return -1;
	char buf[4096];
	snprintf(buf, sizeof(buf), "%s", target);
	for (char *s = buf + 1;; s++) {
		if (*s != '/' && *s)
			continue;
		char saved = *s;
		*s = 0;
		int t = openat2_in_root(rootfd, buf, O_PATH);
		if (t < 0 && errno == ENOENT) {
			char *slash = strrchr(buf, '/');
			*slash = 0;
			int pfd = openat2_in_root(rootfd, *buf ? buf : "/", O_PATH | O_DIRECTORY);
			*slash = '/';
			if (pfd < 0)
				return -1;
			int r;
			if (!saved && is_file) {
				r = openat(pfd, slash + 1, O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
				if (r >= 0)
					close(r);
			} else {
				r = mkdirat(pfd, slash + 1, 0755);
			}
			int e = errno;
			close(pfd);
			if (r < 0 && e != EEXIST) {
				errno = e;
				return -1;
			}
			t = openat2_in_root(rootfd, buf, O_PATH);
		}
		if (t < 0)
			return -1;
		*s = saved;
		if (!saved)
			return t;
		close(t);
	}
}

static void mount_at(int rootfd, const char *target, bool is_file, const char *src, const char *fstype,
		     unsigned long flags, const char *data)
{
	int fd = mount_target(rootfd, target, is_file);
	if (fd < 0)
		die(125, "preparing mount point %s: %s", target, strerror(errno));
	char p[64];
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	if (mount(src, p, fstype, flags, data) < 0) {
		int e = errno;
		die(125, "mounting %s on %s: %s", src ? src : fstype, target, strerror(e));
	}
	close(fd);
	if ((flags & MS_BIND) && (flags & MS_RDONLY)) {
		/* fd is the directory under the new mount: the remount needs the
		 * mount itself, so open the target again */
		fd = openat2_in_root(rootfd, target, O_PATH);
		snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
		if (fd < 0 ||
		    mount(NULL, p, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | (flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC)), NULL) < 0)
			die(125, "making %s read-only: %s", target, strerror(errno));
		close(fd);
	}
}

static void setup_dev(int rootfd, const struct plan *p)
{
	mount_at(rootfd, "/dev", false, "tmpfs", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k");
	int dev = openat2_in_root(rootfd, "/dev", O_DIRECTORY | O_RDONLY);
	if (dev < 0)
		die(125, "opening /dev: %s", strerror(errno));
	static const struct { const char *name; unsigned maj, min; } nodes[] = {
		{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		if (mknodat(dev, nodes[i].name, S_IFCHR | 0666, makedev(nodes[i].maj, nodes[i].min)) < 0)
			die(125, "creating /dev/%s: %s", nodes[i].name, strerror(errno));
		fchmodat(dev, nodes[i].name, 0666, 0);
	}
	mkdirat(dev, "pts", 0755);
	mkdirat(dev, "shm", 01777);
	mkdirat(dev, "mqueue", 0755);
	symlinkat("pts/ptmx", dev, "ptmx");
	symlinkat("/proc/self/fd", dev, "fd");
	symlinkat("/proc/self/fd/0", dev, "stdin");
	symlinkat("/proc/self/fd/1", dev, "stdout");
	symlinkat("/proc/self/fd/2", dev, "stderr");
	/* runc makes /dev/core only when the kernel has /proc/kcore */
	if (access("/proc/kcore", F_OK) == 0)
		symlinkat("/proc/kcore", dev, "core");
	close(dev);
	mount_at(rootfd, "/dev/pts", false, "devpts", "devpts", MS_NOSUID | MS_NOEXEC,
		 "newinstance,ptmxmode=0666,mode=0620,gid=5");
	char shm[64];
	snprintf(shm, sizeof(shm), "mode=1777,size=%lld", (long long)p->shm_size);
	mount_at(rootfd, "/dev/shm", false, "shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, shm);
	mount_at(rootfd, "/dev/mqueue", false, "mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
}

static void mask_paths(void)
{
	static const char *const masked[] = {
		"/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
		"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
		"/sys/devices/virtual/powercap"};
	static const char *const readonly[] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};
	for (size_t i = 0; i < sizeof(masked) / sizeof(masked[0]); i++) {
		struct stat st;
		if (lstat(masked[i], &st) < 0)
			continue;
		int r = S_ISDIR(st.st_mode) ? mount("tmpfs", masked[i], "tmpfs", MS_RDONLY, "size=0")
					    : mount("/dev/null", masked[i], NULL, MS_BIND, NULL);
		if (r < 0 && errno != ENOENT)
			die(125, "masking %s: %s", masked[i], strerror(errno));
	}
	for (size_t i = 0; i < sizeof(readonly) / sizeof(readonly[0]); i++) {
		if (mount(readonly[i], readonly[i], NULL, MS_BIND | MS_REC, NULL) < 0) {
			if (errno == ENOENT)
				continue;
			die(125, "read-only %s: %s", readonly[i], strerror(errno));
		}
		if (mount(NULL, readonly[i], NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0 &&
		    mount(NULL, readonly[i], NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
			die(125, "read-only %s: %s", readonly[i], strerror(errno));
	}
}

static void apply_sysctls(char **sysctls)
{
	for (size_t i = 0; sysctls && sysctls[i]; i++) {
		char path[512], *eq = strchr(sysctls[i], '=');
		if (!eq)
			continue;
		int n = snprintf(path, sizeof(path), "/proc/sys/");
		for (const char *k = sysctls[i]; k < eq && n < (int)sizeof(path) - 1; k++)
			path[n++] = *k == '.' ? '/' : *k;
		path[n] = 0;
		int fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, eq + 1, strlen(eq + 1)) < 0) {
			int e = errno;
			*eq = 0;
			die(125, "sysctl %s: %s", sysctls[i], strerror(e));
		}
		close(fd);
	}
}

static const char *env_get(char **env, const char *key)
{
	size_t k = strlen(key);
	for (size_t i = 0; env && env[i]; i++)
		if (!strncmp(env[i], key, k) && env[i][k] == '=')
			return env[i] + k + 1;
	return NULL;
}

/* strerror as Go (runc) words it: "permission denied" */
static const char *go_strerror(int e)
{
	static char buf[128];
	snprintf(buf, sizeof(buf), "%s", strerror(e));
	if (buf[0] >= 'A' && buf[0] <= 'Z')
		buf[0] = (char)(buf[0] - 'A' + 'a');
	return buf;
}

/* execvpe with the container's PATH, reporting Docker's messages. */
__attribute__((noreturn)) static void exec_cmd(char **argv, char **env)
{
	const char *cmd = argv[0];
	if (strchr(cmd, '/')) {
		execve(cmd, argv, env);
		int e = errno;
		struct stat st;
		if (e == ENOENT && stat(cmd, &st) < 0)
			die(127, "exec: \"%s\": stat %s: no such file or directory", cmd, cmd);
		if (e == ENOENT) /* there, but its interpreter is not: runc's words */
			die(127, "exec %s: no such file or directory", cmd);
		die(e == EACCES || e == ENOEXEC ? 126 : 127, "exec: \"%s\": %s", cmd, go_strerror(e));
	}
	const char *path = env_get(env, "PATH");
	if (!path)
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	int last = ENOENT;
	for (const char *p = path;;) {
		const char *colon = strchrnul(p, ':');
		char full[4096];
		size_t dl = (size_t)(colon - p);
		if (dl == 0)
			snprintf(full, sizeof(full), "%s", cmd);
		else
			snprintf(full, sizeof(full), "%.*s/%s", (int)dl, p, cmd);
		struct stat st;
		if (stat(full, &st) == 0 && S_ISREG(st.st_mode)) {
			execve(full, argv, env);
			last = errno;
			if (last == ENOEXEC || last == EACCES)
				die(126, "exec: \"%s\": %s", cmd, go_strerror(last));
		}
		if (!*colon)
			break;
		p = colon + 1;
	}
	(void)last;
	die(127, "exec: \"%s\": executable file not found in $PATH", cmd);
}

__attribute__((noreturn)) void init_reaper(pid_t child)
{
	sigset_t all;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(&all, &si);
		if (sig < 0)
			continue;
		if (sig == SIGCHLD) {
			int status;
			pid_t r;
			while ((r = waitpid(-1, &status, WNOHANG)) > 0) {
				if (r == child)
					_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
			}
			continue;
		}
		kill(child, sig);
	}
}

static void mkdir_p(const char *path)
{
	char buf[4096];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *s = buf + 1;; s++) {
		if (*s == '/' || !*s) {
			char c = *s;
			*s = 0;
			if (mkdir(buf, 0755) < 0 && errno != EEXIST)
				break;
			*s = c;
			if (!c)
				break;
		}
	}
}

__attribute__((noreturn)) void init_exec_proc(const struct plan_proc *p, int errfd)
{
	g_errfd = errfd;
	/* exec -t: a session of its own with the pty (stdin) as its
	 * controlling terminal, so the shell has job control and ^C reaches
	 * the foreground job */
	if (p->tty && isatty(0) && setsid() >= 0)
		ioctl(0, TIOCSCTTY, 0);
	struct userdb_user u;
	char *msg = NULL;
	struct berr *e = NULL;
	int rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	const char *const *ga = (const char *const *)p->group_add;
	if (userdb_resolve(rootfd, p->user, ga, &u, &e) < 0) {
		msg = e->msg;
		die(125, "%s", msg);
	}
	close(rootfd);
	char **env = p->env;
	size_t n = 0;
	while (env && env[n])
		n++;
	if (!env_get(env, "HOME")) {
		char **ne = calloc(n + 2, sizeof(char *));
		memcpy(ne, env, n * sizeof(char *));
		if (asprintf(&ne[n], "HOME=%s", u.home) < 0)
			die(125, "out of memory");
		env = ne;
	}
	if (chdir(p->cwd) < 0) {
		/* Docker creates a missing working directory */
		mkdir_p(p->cwd);
		if (chdir(p->cwd) < 0)
			die(125, "chdir to cwd (\"%s\") set in config.json failed: %s", p->cwd, strerror(errno));
		/* owned by root whatever the user, as Docker makes it */
	}
	/* Bounding set first (needs CAP_SETPCAP), seccomp while we still hold
	 * CAP_SYS_ADMIN (unless no_new_privs makes that unnecessary). */
	int r = caps_drop_bounding(p->caps);
	if (r < 0)
		die(125, "setting capabilities: %s", strerror(-r));
	if (p->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		die(125, "no_new_privs: %s", strerror(errno));
	if (p->seccomp.len && (r = seccomp_install(&p->seccomp)) < 0)
		die(125, "installing seccomp filter: %s", strerror(-r));
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		die(125, "keepcaps: %s", strerror(errno));
	/* raw system calls: glibc's wrappers signal every thread it knows of
	 * and wait for them, and after the monitor's raw clone() that list is
	 * the monitor's (its cgroup mover thread): setgroups() hung forever */
	if (syscall(SYS_setgroups, (size_t)u.ngroups, u.groups) < 0)
		die(125, "setgroups: %s", strerror(errno));
	if (syscall(SYS_setresgid, u.gid, u.gid, u.gid) < 0)
		die(125, "setgid %u: %s", (unsigned)u.gid, strerror(errno));
	if (syscall(SYS_setresuid, u.uid, u.uid, u.uid) < 0)
		die(125, "setuid %u: %s", (unsigned)u.uid, strerror(errno));
	r = caps_set(p->caps, u.uid == 0);
	if (r < 0)
		die(125, "setting capabilities: %s", strerror(-r));
	prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	exec_cmd(p->argv, env);
}

/* A pod's sandbox (config "PodInfra", runtime/pod.h): pid 1 only holds the
 * namespaces the pod's containers join, as Kubernetes' pause container,
 * but with no binary from the image: the setup is done, so it gives up
 * what it holds instead of exec'ing. Every descriptor goes (errfd too: its
 * EOF tells the monitor "exec happened"), stdio becomes /dev/null (the
 * monitor's log pipes see EOF), every capability is dropped and it becomes
 * nobody (65535, as the pause image). As pid 1 of its pid namespace it
 * gets only the signals it waits for: TERM, INT and HUP end it with 0
 * (`berth stop` is quick), SIGCHLD reaps (nothing should be its child, but
 * a process that `berth exec` left behind could be reparented to it). */
/* The sandbox is a fork of the monitor, never exec'd: its command line is
 * still the CLI's ("berth ... kube play"). Show "/pause" as Kubernetes'
 * sandboxes do, writing over the argument area the kernel reports (as
 * setproctitle does; nothing here reads argv any more). */
static void show_as_pause(void)
{
	prctl(PR_SET_NAME, "pause", 0, 0, 0);
	char buf[2048];
	int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return;
	buf[n] = 0;
	/* fields 48 and 49 (arg_start, arg_end), counted after comm's ')' */
	char *p = strrchr(buf, ')');
	unsigned long start = 0, end = 0;
	for (int field = 2; p && *p; p++) {
		if (*p != ' ')
			continue;
		field++;
		if (field == 48)
			start = strtoul(p + 1, NULL, 10);
		else if (field == 49)
			end = strtoul(p + 1, NULL, 10);
	}
	static const char name[] = "/pause";
	if (!start || end <= start + sizeof(name))
		return;
	memset((void *)start, 0, end - start);
	memcpy((void *)start, name, sizeof(name));
}

__attribute__((noreturn)) static void pause_forever(void)
{
	sigset_t all;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
		die(125, "pod sandbox: /dev/null: %s", strerror(errno));
	show_as_pause();
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		die(125, "pod sandbox: no_new_privs: %s", strerror(errno));
	int r = caps_drop_bounding(0);
	if (r < 0)
		die(125, "pod sandbox: dropping capabilities: %s", strerror(-r));
	/* raw system calls, as in init_exec_proc (the monitor's thread) */
	if (syscall(SYS_setgroups, (size_t)0, NULL) < 0 || syscall(SYS_setresgid, 65535, 65535, 65535) < 0 ||
	    syscall(SYS_setresuid, 65535, 65535, 65535) < 0)
		die(125, "pod sandbox: changing to user 65535: %s", strerror(errno));
	if ((r = caps_set(0, false)) < 0)
		die(125, "pod sandbox: dropping capabilities: %s", strerror(-r));
	if (chdir("/") < 0)
		die(125, "pod sandbox: chdir /: %s", strerror(errno));
	close_range(3, ~0U, 0);
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(&all, &si);
		if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP)
			_exit(0);
		if (sig == SIGCHLD)
			while (waitpid(-1, NULL, WNOHANG) > 0)
				;
	}
}

/* Docker's copy-up: the first mount of an empty volume takes the image's
 * content at the mount path (read inside the root, symlinks never
 * followed). The marker makes it happen once per volume. */
static void copy_up(int rootfd, const struct pmount *m)
{
	char marker[4200];
	snprintf(marker, sizeof(marker), "%s/copied-up", m->copy_up);
	if (access(marker, F_OK) == 0)
		return;
	DIR *d = opendir(m->source);
	bool empty = true;
	struct dirent *de;
	while (d && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			empty = false;
	if (d)
		closedir(d);
	if (empty) {
		int r = volume_copy_up(rootfd, m->target, m->source);
		if (r < 0)
			die(125, "copying the image's content at %s into the volume: %s", m->target, strerror(-r));
	}
	int fd = open(marker, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd >= 0)
		close(fd);
}

__attribute__((noreturn)) void init_container(const struct plan *p, int syncfd, int errfd)
{
	g_errfd = errfd;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		die(125, "making mounts private: %s", strerror(errno));

	/* The image: overlay of the layers with the container's upper dir.
	 * Layer paths are relative to layers_dir to keep the option short. */
	if (chdir(p->layers_dir) < 0)
		die(125, "opening the layer store: %s", strerror(errno));
	char rootfs[4096], opts[8192];
	/* "volatile": no sync of the upper dir at unmount (a container's
	 * scratch layer is not worth a journal commit per exit). The kernel
	 * leaves a marker that refuses the next mount; a clean start owns the
	 * upper dir, so the marker goes. */
	char marker[4200];
	snprintf(marker, sizeof(marker), "%s/work/work/incompat", p->ctr_dir);
	rmdir_marker(marker);
	snprintf(rootfs, sizeof(rootfs), "%s/rootfs", p->ctr_dir);
	int n = snprintf(opts, sizeof(opts), "lowerdir=%s,upperdir=%s/upper,workdir=%s/work,volatile", p->lowerdir, p->ctr_dir,
			 p->ctr_dir);
	if (n >= (int)sizeof(opts))
		die(125, "too many layers for one overlay mount");
	if (mount("overlay", rootfs, "overlay", 0, opts) < 0)
		die(125, "mounting the container's root filesystem: %s", strerror(errno));
	int rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		die(125, "opening the root filesystem: %s", strerror(errno));

	mount_at(rootfd, "/proc", false, "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	mount_at(rootfd, "/sys", false, "sysfs", "sysfs",
		 MS_NOSUID | MS_NODEV | MS_NOEXEC | (p->privileged ? 0 : MS_RDONLY), NULL);
	setup_dev(rootfd, p);

	static const char *const etc[] = {"hosts", "hostname", "resolv.conf"};
	for (size_t i = 0; i < 3; i++) {
		char src[4200], dst[64];
		snprintf(src, sizeof(src), "%s/%s", p->ctr_dir, etc[i]);
		snprintf(dst, sizeof(dst), "/etc/%s", etc[i]);
		if (access(src, F_OK) == 0)
			mount_at(rootfd, dst, true, src, NULL, MS_BIND, NULL);
	}
	for (size_t i = 0; i < p->nmounts; i++) {
		const struct pmount *m = &p->mounts[i];
		if (m->copy_up)
			copy_up(rootfd, m);
		if (m->kind == PM_BIND)
			mount_at(rootfd, m->target, !m->source_is_dir, m->source, NULL,
				 MS_BIND | MS_REC | (m->ro ? MS_RDONLY : 0), NULL);
		else
			mount_at(rootfd, m->target, false, "tmpfs", "tmpfs", m->flags, m->data && *m->data ? m->data : NULL);
	}

	if (chdir(rootfs) < 0 || syscall(SYS_pivot_root, ".", ".") < 0)
		die(125, "pivot_root: %s", strerror(errno));
	if (umount2(".", MNT_DETACH) < 0)
		die(125, "detaching the old root: %s", strerror(errno));
	if (chdir("/") < 0)
		die(125, "chdir /: %s", strerror(errno));
	close(rootfd);

	apply_sysctls(p->sysctls);
	if (!p->privileged)
		mask_paths();
	if (p->readonly_root)
		mkdir_p(p->proc.cwd); /* Docker makes the working directory before the root goes read-only */
	if (p->readonly_root && mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
		die(125, "read-only root: %s", strerror(errno));
	if (p->new_uts && *p->hostname && sethostname(p->hostname, strlen(p->hostname)) < 0)
		die(125, "sethostname: %s", strerror(errno));
	for (int i = 0; i < p->nrlimits; i++)
		if (setrlimit((__rlimit_resource_t)p->rlimits[i].resource, &p->rlimits[i].lim) < 0)
			die(125, "setrlimit: %s", strerror(errno));
	/* Moving a process between v1 cgroups waits for an RCU grace period
	 * in the kernel (milliseconds), so the monitor does it while we build
	 * the root filesystem; we only need to be in the cgroup before the
	 * cgroup namespace is made and the command runs. */
	char c;
	if (read(syncfd, &c, 1) != 1)
		_exit(125); /* the monitor went away */
	close(syncfd);
	if (unshare(CLONE_NEWCGROUP) < 0)
		die(125, "cgroup namespace: %s", strerror(errno));
	if (p->pod_infra)
		pause_forever();
	if (p->init) {
		pid_t child = fork();
		if (child < 0)
			die(125, "fork for --init: %s", strerror(errno));
		if (child > 0) {
			close(errfd);
			/* stdio stays with the command */
			int null = open("/dev/null", O_RDWR | O_CLOEXEC);
			if (null >= 0) {
				dup2(null, 0);
				dup2(null, 1);
				dup2(null, 2);
			}
			/* The reaper never execs: without this it would keep the
			 * monitor's descriptors (store, cgroup and log directories
			 * on the host) and every capability, reachable through
			 * /proc/1/fd from a container given CAP_SYS_PTRACE. It
			 * keeps the container's caps plus CAP_KILL (5), to forward
			 * signals to a command running as another user. */
			close_range(3, ~0U, 0);
			uint64_t rcaps = p->proc.caps | (1ULL << 5);
			if (caps_drop_bounding(rcaps) < 0 || caps_set(rcaps, true) < 0)
				_exit(125);
			init_reaper(child);
		}
		setsid();
	}
	init_exec_proc(&p->proc, errfd);
}
