/* The namespace supervisor (supervisor.h). */
#include "kube/supervisor.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kube/reconcile.h"
#include "kube/store.h"
#include "runtime/pod.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonx.h"

static int rundir(const char *runroot, const char *ns, char *buf, size_t n)
{
	snprintf(buf, n, "%s/kube/%s", runroot, ns);
	struct berr *e = NULL;
	int r = fs_mkdir_p(buf, 0700, &e);
	berr_free(e);
	return r;
}

pid_t kube_supervisor_pid(const char *runroot, const char *ns)
{
	char dir[4096], path[4200];
	snprintf(dir, sizeof(dir), "%s/kube/%s", runroot, ns);
	snprintf(path, sizeof(path), "%s/supervisor.lock", dir);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return 0;
	/* the lock is held while it lives */
	if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
		flock(fd, LOCK_UN);
		close(fd);
		return 0;
	}
	close(fd);
	snprintf(path, sizeof(path), "%s/supervisor.pid", dir);
	FILE *f = fopen(path, "re");
	long pid = 0;
	if (f) {
		if (fscanf(f, "%ld", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	return (pid_t)pid;
}

static volatile sig_atomic_t stop_req;
static void on_term(int sig)
{
	(void)sig;
	stop_req = 1;
}

static bool doc_empty(json_t *doc)
{
	return json_object_size(json_object_get(doc, "objects")) == 0;
}

/* The supervisor's life; never returns. */
static void supervise(const char *root, const char *runroot, const char *ns, bool publish_all, int lockfd)
{
	struct sigaction sa = {.sa_handler = on_term};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	struct ctr_store *cs = NULL;
	struct image_store *is = NULL;
	struct berr *e = NULL;
	if (ctr_store_open(root, runroot, &cs, &e) < 0 || image_store_open(root, &is, &e) < 0) {
		fprintf(stderr, "supervisor %s: %s\n", ns, e ? e->msg : "cannot open the store");
		_exit(1);
	}
	struct kube_rec r = {.root = root, .runroot = runroot, .ns = ns, .cs = cs, .is = is, .publish_all = publish_all,
			     .refreshed_gen = -1};
	char dir[8400];
	snprintf(dir, sizeof(dir), "%s/kube/%s", root, ns);
	int ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (ino >= 0)
		inotify_add_watch(ino, dir, IN_MOVED_TO | IN_CLOSE_WRITE | IN_CREATE);
	struct stat last = {0};
	json_t *doc = NULL;
	int idle_empty = 0;
	(void)lockfd;
	for (;;) {
		if (stop_req)
			break;
		char path[8500];
		snprintf(path, sizeof(path), "%s/objects.json", dir);
		struct stat st;
		if (stat(path, &st) == 0 && (st.st_ino != last.st_ino || st.st_mtim.tv_nsec != last.st_mtim.tv_nsec ||
					     st.st_mtim.tv_sec != last.st_mtim.tv_sec || st.st_size != last.st_size || !doc)) {
			struct berr *le = NULL;
			json_t *nd = kube_store_objects(root, ns, &le);
			if (nd) {
				json_decref(doc);
				doc = nd;
				last = st;
			} else {
				fprintf(stderr, "supervisor %s: %s\n", ns, le ? le->msg : "objects.json");
				berr_free(le);
			}
		}
		if (!doc)
			doc = json_pack("{s:{},s:i}", "objects", "generation", 0);
		r.doc = doc;
		if (!r.network[0] || !doc_empty(doc)) {
			struct berr *ne = NULL;
			if (!r.network[0] && kube_rec_network(&r, &ne) < 0) {
				fprintf(stderr, "supervisor %s: %s\n", ns, ne ? ne->msg : "network");
				berr_free(ne);
			}
		}
		struct berr *re = NULL;
		if (kube_reconcile(&r, &re) < 0) {
			fprintf(stderr, "supervisor %s: %s\n", ns, re ? re->msg : "reconcile failed");
			berr_free(re);
		}
		/* nothing to keep: leave (after a second of nothing, so a play
		 * writing its objects right now is not missed) */
		if (doc_empty(doc) && r.nterm == 0) {
			json_t *pods = pod_list_local(cs, ns);
			bool none = json_array_size(pods) == 0;
			json_decref(pods);
			if (none && ++idle_empty >= 10)
				break;
		} else
			idle_empty = 0;
		int timeout = r.busy || r.nterm ? 25 : doc_empty(doc) ? 100 : 1000;
		struct pollfd pf = {.fd = ino, .events = POLLIN};
		if (ino >= 0 && poll(&pf, 1, timeout) > 0) {
			char buf[4096];
			while (read(ino, buf, sizeof(buf)) > 0)
				;
		} else if (ino < 0) {
			struct timespec ts = {0, timeout * 1000000L};
			nanosleep(&ts, NULL);
		}
	}
	/* let removals in flight finish */
	while (r.nterm > 0) {
		kube_rec_reap(&r);
		if (r.nterm)
			usleep(50000);
	}
	kube_rec_release(&r);
	json_decref(doc);
	char pidpath[4200];
	snprintf(pidpath, sizeof(pidpath), "%s/kube/%s/supervisor.pid", runroot, ns);
	unlink(pidpath);
	_exit(0);
}

int kube_supervisor_ensure(const char *root, const char *runroot, const char *ns, bool publish_all,
			   bool *ret_started, struct berr **err)
{
	*ret_started = false;
	char dir[4096], path[4200];
	if (rundir(runroot, ns, dir, sizeof(dir)) < 0)
		return berr_set(err, errno, "making %s", dir);
	snprintf(path, sizeof(path), "%s/supervisor.lock", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return berr_set(err, errno, "opening %s", path);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		return 0; /* one runs: it sees objects.json change by itself */
	}
	/* absolute paths: the supervisor outlives the CLI's working directory */
	char aroot[4096], arun[4096];
	if (!realpath(root, aroot) || !realpath(runroot, arun)) {
		close(fd);
		return berr_set(err, errno, "resolving %s", root);
	}
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
		return berr_set(err, errno, "starting the supervisor of namespace %s", ns);
	}
	if (pid == 0) {
		setsid();
		pid_t p2 = fork();
		if (p2 != 0)
			_exit(p2 < 0 ? 1 : 0);
		/* the grandchild: no terminal, no parent to wait for it */
		char logp[4200];
		snprintf(logp, sizeof(logp), "%s/supervisor.log", dir);
		int lfd = open(logp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
		dup2(nul, 0);
		dup2(lfd >= 0 ? lfd : nul, 1);
		dup2(lfd >= 0 ? lfd : nul, 2);
		int lockfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		/* everything else the CLI held goes (a pipe kept open would keep a
		 * caller's $(...) waiting) */
		DIR *d = opendir("/proc/self/fd");
		if (d) {
			struct dirent *de;
			int self = dirfd(d);
			while ((de = readdir(d))) {
				int x = atoi(de->d_name);
				if (x < 3 || x == self || x == lockfd || x == sp[1] || de->d_name[0] == '.')
					continue;
				close(x);
			}
			closedir(d);
		}
		char pidp[4200];
		snprintf(pidp, sizeof(pidp), "%s/supervisor.pid", dir);
		char pb[32];
		int pl = snprintf(pb, sizeof(pb), "%d\n", (int)getpid());
		struct berr *we = NULL;
		int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		fs_write_atomic_at(dfd, "supervisor.pid", pb, pl, 0600, false, &we);
		berr_free(we);
		close(dfd);
		(void)pidp;
		if (write(sp[1], "1", 1) < 0) {
		}
		close(sp[1]);
		supervise(aroot, arun, ns, publish_all, lockfd);
	}
	close(sp[1]);
	int st;
	waitpid(pid, &st, 0);
	char b;
	ssize_t n = read(sp[0], &b, 1);
	close(sp[0]);
	close(fd);
	if (n != 1)
		return berr_set(err, 0, "the supervisor of namespace %s did not start", ns);
	*ret_started = true;
	return 0;
}

int kube_supervisor_stop(const char *runroot, const char *ns, int timeout_ms)
{
	pid_t pid = kube_supervisor_pid(runroot, ns);
	if (pid <= 0)
		return 0;
	kill(pid, SIGTERM);
	for (int waited = 0; waited < timeout_ms; waited += 10) {
		if (kube_supervisor_pid(runroot, ns) == 0)
			return 0;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	for (int i = 0; i < 100 && kube_supervisor_pid(runroot, ns); i++)
		usleep(10000);
	return 0;
}

void kube_supervisor_forget(const char *runroot, const char *ns)
{
	if (kube_supervisor_pid(runroot, ns) > 0)
		return;
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/kube", runroot);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	fs_rm_rf_at(fd, ns);
	close(fd);
}
