#include "util/fs.h"
#include "util/proc.h"
#include "net/dnsproc.h"
#include "net/dnsd.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>


static pid_t read_pid(const char *dir, unsigned long long *st)
{
	char path[4200], buf[64] = "";
	snprintf(path, sizeof(path), "%s/dns.pid", dir);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	long pid = 0;
	unsigned long long s = 0;
	if (fscanf(f, "%ld %llu", &pid, &s) != 2)
		pid = 0;
	fclose(f);
	(void)buf;
	*st = s;
	return (pid_t)pid;
}

bool dnsproc_alive(const char *dir)
{
	unsigned long long st = 0;
	pid_t pid = read_pid(dir, &st);
	return pid > 0 && st && proc_start_time(pid) == st;
}

void dnsproc_stop(const char *dir)
{
	unsigned long long st = 0;
	pid_t pid = read_pid(dir, &st);
	if (pid > 0 && st && proc_start_time(pid) == st) {
		kill(pid, SIGKILL);
		/* not our child: wait until it is gone (a zombie counts as gone) */
		for (int i = 0; i < 200 && proc_start_time(pid) == st; i++) {
			struct timespec ts = {0, 1000000};
			nanosleep(&ts, NULL);
		}
	}
	char path[4200];
	snprintf(path, sizeof(path), "%s/dns.pid", dir);
	unlink(path);
}

/* Whether the records file names no address (missing: none). */
static bool records_empty(const char *records)
{
	char *buf = NULL;
	size_t len = 0;
	if (fs_read_file_at(AT_FDCWD, records, 1 << 24, &buf, &len, NULL) < 0)
		return true;
	bool empty = true;
	for (char *l = buf; l && l < buf + len;) {
		char *nl = memchr(l, '\n', (size_t)(buf + len - l));
		if (*l != '#' && *l != '\n' && (!nl || nl > l))
			empty = false;
		l = nl ? nl + 1 : NULL;
	}
	free(buf);
	return empty;
}

/* The linger check: records empty for DNSPROC_LINGER_MS, confirmed under
 * dir/lock (the lock attach and detach hold while they change records and
 * call dnsproc_ensure): then the pid file goes and so does the server,
 * still holding the lock, so an attach either came before (records not
 * empty) or comes after (no live server: it starts one). */
static bool linger_over(const char *dir, const char *records, struct timespec *idle_since)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!records_empty(records)) {
		idle_since->tv_sec = 0;
		return false;
	}
	if (!idle_since->tv_sec) {
		*idle_since = now;
		return false;
	}
	long ms = (now.tv_sec - idle_since->tv_sec) * 1000 + (now.tv_nsec - idle_since->tv_nsec) / 1000000;
	if (ms < DNSPROC_LINGER_MS)
		return false;
	char lp[4200];
	snprintf(lp, sizeof(lp), "%s/lock", dir);
	int fd = open(lp, O_RDWR | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return true; /* the network's run dir is gone (network removed, run root deleted) */
	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	if (!records_empty(records)) {
		close(fd);
		idle_since->tv_sec = 0;
		return false;
	}
	unsigned long long st = 0;
	if (read_pid(dir, &st) == getpid()) {
		char path[4200];
		snprintf(path, sizeof(path), "%s/dns.pid", dir);
		unlink(path);
	}
	return true; /* the lock is released when the process exits */
}

/* Whether addr is an address of this host now (a bind without
 * IP_FREEBIND fails with EADDRNOTAVAIL once its bridge is gone). */
static bool addr_local(const char *addr)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
		return true; /* not ours to judge */
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return true;
	bool ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 || errno != EADDRNOTAVAIL;
	close(fd);
	return ok;
}

static volatile int stop_flag;
static void on_term(int sig)
{
	(void)sig;
	stop_flag = 1;
}

__attribute__((noreturn)) static void serve(const char *dir, const char *listen_addr, const char *records, int rfd)
{
	setsid();
	/* close everything but the report pipe */
	DIR *d = opendir("/proc/self/fd");
	if (d) {
		struct dirent *de;
		int self = dirfd(d);
		while ((de = readdir(d))) {
			int fd = atoi(de->d_name);
			if (de->d_name[0] == '.' || fd < 3 || fd == self || fd == rfd)
				continue;
			close(fd);
		}
		closedir(d);
	}
	int null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		if (null > 2)
			close(null);
	}
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	prctl(PR_SET_NAME, "berth-dns");
	struct dnsd *srv = NULL;
	struct berr *e = NULL;
	if (dnsd_new(listen_addr, 53, records, "/etc/resolv.conf", &srv, &e) < 0) {
		char msg[600];
		int n = snprintf(msg, sizeof(msg), "E%s", e->msg);
		if (write(rfd, msg, (size_t)(n < (int)sizeof(msg) ? n : (int)sizeof(msg) - 1)) < 0) {
		}
		_exit(1);
	}
	char path[4200], tmp[4300], buf[64];
	snprintf(path, sizeof(path), "%s/dns.pid", dir);
	snprintf(tmp, sizeof(tmp), "%s/.dns.pid.%d", dir, (int)getpid());
	int n = snprintf(buf, sizeof(buf), "%d %llu\n", (int)getpid(), proc_start_time(getpid()));
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, buf, (size_t)n) != n || close(fd) < 0 || rename(tmp, path) < 0) {
		if (write(rfd, "Ewriting the DNS pid file", 25) < 0) {
		}
		_exit(1);
	}
	if (write(rfd, "O", 1) < 0) {
	}
	close(rfd);
	struct timespec idle = {0}, last = {0}, gone = {0};
	while (!stop_flag) {
		if (dnsd_dispatch(srv, 250, NULL) < 0)
			break;
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - last.tv_sec) * 1000 + (now.tv_nsec - last.tv_nsec) / 1000000 < 250)
			continue;
		last = now;
		if (linger_over(dir, records, &idle))
			_exit(0);
		/* Its run dir is gone (the store deleted with rm -rf, or the
		 * network removed): leave at once. Waiting for the address to go
		 * is not enough: another network may take the same subnet at once,
		 * and this server, still bound to its gateway's port 53, would
		 * keep the new network's server from starting. */
		if (access(dir, F_OK) < 0 && errno == ENOENT)
			_exit(0);
		/* The bridge went (its network removed by a sweep that could not
		 * know this run dir: a store deleted with rm -rf): nothing can
		 * reach the server, whatever its records say. An attach that sets
		 * the bridge up again starts a new one. */
		if (addr_local(listen_addr)) {
			gone.tv_sec = 0;
		} else if (!gone.tv_sec) {
			gone = now;
		} else if ((now.tv_sec - gone.tv_sec) * 1000 + (now.tv_nsec - gone.tv_nsec) / 1000000 >= DNSPROC_LINGER_MS) {
			/* confirmed under dir/lock, as linger_over does: an attach
			 * sets the bridge up under it */
			char lp[4200];
			snprintf(lp, sizeof(lp), "%s/lock", dir);
			int lfd = open(lp, O_RDWR | O_CLOEXEC);
			if (lfd < 0 && errno == ENOENT)
				_exit(0);
			if (lfd >= 0 && flock(lfd, LOCK_EX | LOCK_NB) == 0 && !addr_local(listen_addr)) {
				unsigned long long st = 0;
				if (read_pid(dir, &st) == getpid()) {
					char pidpath[4200];
					snprintf(pidpath, sizeof(pidpath), "%s/dns.pid", dir);
					unlink(pidpath);
				}
				_exit(0); /* the lock goes with the process */
			}
			if (lfd >= 0)
				close(lfd);
		}
	}
	dnsd_free(srv);
	_exit(0);
}

int dnsproc_ensure(const char *dir, const char *listen_addr, const char *records_path, struct berr **err)
{
	if (dnsproc_alive(dir))
		return 0;
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return berr_set(err, errno, "starting the DNS server");
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return berr_set(err, errno, "starting the DNS server");
	}
	if (pid == 0) {
		close(p[0]);
		pid_t g = fork();
		if (g != 0)
			_exit(g < 0);
		serve(dir, listen_addr, records_path, p[1]);
	}
	close(p[1]);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	char msg[600];
	ssize_t rd = fs_read_full(p[0], msg, sizeof(msg) - 1);
	size_t got = rd > 0 ? (size_t)rd : 0;
	close(p[0]);
	msg[got] = 0;
	if (got && msg[0] == 'O')
		return 0;
	return berr_set(err, 0, "starting the DNS server on %s: %s", listen_addr, got ? msg + 1 : "it died");
}
