/* berth cp. A copy is a source that produces entries (a directory walk,
 * or a tar stream) and a sink that consumes them (a directory, or a tar
 * stream). Docker's rules decide which directory the sink writes into and
 * what name the top entry gets; the walk and the sink do the rest.
 *
 * Container paths never reach a path-based system call that follows
 * symlinks: parents are opened with openat2(RESOLVE_IN_ROOT) from the
 * container's root, and the last component is handled with *at() calls
 * that do not follow it (O_NOFOLLOW, AT_SYMLINK_NOFOLLOW, O_EXCL, or an
 * fd-based call on what was opened that way). */
#include "runtime/copy.h"
#include "image/tarw.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonx.h"
#include "util/strbuf.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MQUEUE_MAGIC
#define MQUEUE_MAGIC 0x19800202
#endif

/* ---- the container's root ---- */

struct ctr_fs {
	int rootfd;
	int lockfd; /* held while a stopped container's overlay is mounted */
	bool readonly;
	/* the process whose private mount namespace holds that overlay */
	pid_t helper;
	int helper_sock;
};

__attribute__((format(printf, 3, 4))) static void send_result(int sock, int fd, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	struct iovec iov = {msg, strlen(msg) + 1};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	if (fd >= 0) {
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	ssize_t r = sendmsg(sock, &mh, MSG_NOSIGNAL);
	(void)r;
}

/* Run fn in a child process that answers with a descriptor (or why not).
 * With ret_pid, the child stays until *ret_sock is closed. */
static int child_fd(void (*fn)(void *arg, int sock), void *arg, int *ret_fd, pid_t *ret_pid, int *ret_sock,
		    struct berr **err)
{
	int sp[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
		return berr_set(err, errno, "socketpair");
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(sp[0]);
		close(sp[1]);
		return berr_set(err, e, "fork");
	}
	if (pid == 0) {
		close(sp[0]);
		fn(arg, sp[1]);
		_exit(0);
	}
	close(sp[1]);
	char msg[512] = "";
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	memset(&u, 0, sizeof(u));
	struct iovec iov = {msg, sizeof(msg) - 1};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
	ssize_t n;
	while ((n = recvmsg(sp[0], &mh, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
		;
	int e = errno;
	int fd = -1;
	if (n > 0)
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
				memcpy(&fd, CMSG_DATA(c), sizeof(int));
	if (fd >= 0 && ret_pid) {
		*ret_pid = pid;
		*ret_sock = sp[0];
		*ret_fd = fd;
		return 0;
	}
	close(sp[0]);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (n < 0)
		return berr_set(err, e, "opening the container's file system");
	if (fd < 0)
		return berr_set(err, 0, "%s", n > 0 && *msg ? msg : "opening the container's file system: the helper died");
	*ret_fd = fd;
	return 0;
}

/* child: the running container's mount namespace; its root is ours then */
static void enter_ns(void *arg, int sock)
{
	int nsfd = *(int *)arg;
	if (setns(nsfd, CLONE_NEWNS) < 0) {
		send_result(sock, -1, "entering the container's mount namespace: %s", strerror(errno));
		return;
	}
	int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		send_result(sock, -1, "opening the container's root: %s", strerror(errno));
		return;
	}
	send_result(sock, fd, "ok");
}

struct mount_arg {
	int layersfd;
	const char *id;
	const char *lowerdir; /* relative to the layer store */
};

/* child: the overlay, as init.c mounts it, in a private mount namespace
 * that lives as long as we do: until the CLI closes the socket (or dies).
 * The mount stays in a namespace meanwhile: a detached one would make
 * every path walk through it take the mount lock for writing (the last
 * reference is not cached), and RESOLVE_IN_ROOT then fails each ".."
 * with EAGAIN. */
static void mount_private(void *arg, int sock)
{
	struct mount_arg *a = arg;
	/* cwd first: unshare moves it to the new namespace's copy of its
	 * mount (overlayfs refuses paths on another namespace's mounts) */
	if (fchdir(a->layersfd) < 0) {
		send_result(sock, -1, "opening the layer store: %s", strerror(errno));
		return;
	}
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		send_result(sock, -1, "creating a private mount namespace: %s", strerror(errno));
		return;
	}
	/* the container is stopped and we hold its lock: as on a start, the
	 * upper dir is ours and the "volatile" marker of the last mount goes */
	char marker[200], target[200];
	snprintf(marker, sizeof(marker), "../containers/%s/work/work/incompat", a->id);
	fs_rm_rf_at(AT_FDCWD, marker);
	snprintf(target, sizeof(target), "../containers/%s/rootfs", a->id);
	char *opts = NULL;
	if (asprintf(&opts, "lowerdir=%s,upperdir=../containers/%s/upper,workdir=../containers/%s/work,volatile",
		     a->lowerdir, a->id, a->id) < 0) {
		send_result(sock, -1, "out of memory");
		return;
	}
	if (mount("overlay", target, "overlay", 0, opts) < 0) {
		send_result(sock, -1, "mounting the container's file system: %s", strerror(errno));
		return;
	}
	int fd = open(target, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		send_result(sock, -1, "opening the container's file system: %s", strerror(errno));
		return;
	}
	send_result(sock, fd, "ok");
	close(fd);
	/* hold nothing of the CLI's: a reader of its stdout waits for EOF */
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (int i = 0; i < 3 && null >= 0; i++)
		dup2(null, i);
	char c;
	while (read(sock, &c, 1) < 0 && errno == EINTR)
		;
}

static bool layer_ok(const char *d)
{
	if (!d || strncmp(d, "sha256:", 7) || strlen(d) != 71)
		return false;
	for (const char *p = d + 7; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

int ctr_fs_open(struct ctr_store *s, const char *id, struct ctr_fs **ret, struct berr **err)
{
	_cleanup_json_ json_t *cfg = ctr_config(s, id, err);
	if (!cfg)
		return -1;
	json_t *layers = json_object_get(cfg, "Layers");
	struct sbuf lower = SBUF_INIT;
	for (size_t i = json_array_size(layers); i-- > 0;) {
		const char *d = json_string_value(json_array_get(layers, i));
		if (!layer_ok(d)) {
			sbuf_release(&lower);
			return berr_set(err, 0, "container %.12s has a bad layer id", id);
		}
		sbuf_addf(&lower, "%s%s/diff", lower.len ? ":" : "", d + 7);
	}
	if (!lower.len)
		return berr_set(err, 0, "container %.12s has no image layers", id);
	bool ro = json_is_true(json_object_get(json_object_get(cfg, "HostConfig"), "ReadonlyRootfs"));
	char path[128];
	snprintf(path, sizeof(path), "%s/state.json", id);
	int rootfd = -1, lk = -1, r = -1, hsock = -1;
	pid_t helper = 0;
	for (int attempt = 0; attempt < 20 && r < 0; attempt++) {
		if (attempt) {
			struct timespec ts = {0, 20 * 1000000L};
			nanosleep(&ts, NULL);
		}
		/* unlocked first: ctr_state takes the lock to record a dead monitor */
		_cleanup_json_ json_t *st = ctr_state(s, id, err);
		if (!st)
			break;
		const char *status = jsonx_str(st, "Status");
		if (!status)
			status = "created";
		if (!strcmp(status, "restarting")) {
			berr_setc(err, BERR_CONFLICT, "Container %s is restarting, wait until the container is running", id);
			break;
		}
		if (!strcmp(status, "running") || !strcmp(status, "paused")) {
			pid_t pid = (pid_t)json_integer_value(json_object_get(st, "Pid"));
			unsigned long long ps = (unsigned long long)json_integer_value(json_object_get(st, "PidStart"));
			char nsp[64];
			snprintf(nsp, sizeof(nsp), "/proc/%d/ns/mnt", (int)pid);
			int nsfd = pid > 0 ? open(nsp, O_RDONLY | O_CLOEXEC) : -1;
			/* still that process after the open: the namespace is the container's */
			if (nsfd < 0 || !proc_alive(pid, ps)) {
				if (nsfd >= 0)
					close(nsfd);
				continue;
			}
			r = child_fd(enter_ns, &nsfd, &rootfd, NULL, NULL, err);
			close(nsfd);
			break;
		}
		lk = ctr_lock(s, id, err);
		if (lk < 0)
			break;
		struct berr *e = NULL;
		_cleanup_json_ json_t *raw = jsonx_load_at(s->ctrsfd, path, 1 << 20, &e);
		if (!raw && !(e && e->errnum == ENOENT)) { /* no state.json: created */
			*err = e;
			close(lk);
			lk = -1;
			break;
		}
		berr_free(e);
		const char *now = jsonx_str(raw, "Status");
		if (now && (!strcmp(now, "running") || !strcmp(now, "paused") || !strcmp(now, "restarting"))) {
			close(lk); /* started meanwhile */
			lk = -1;
			continue;
		}
		int layersfd = openat(s->rootfd, "layers", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (layersfd < 0) {
			berr_set(err, errno, "opening the layer store");
		} else {
			struct mount_arg a = {.layersfd = layersfd, .id = id, .lowerdir = sbuf_str(&lower)};
			r = child_fd(mount_private, &a, &rootfd, &helper, &hsock, err);
			close(layersfd);
		}
		if (r < 0) {
			close(lk);
			lk = -1;
		}
		break;
	}
	sbuf_release(&lower);
	if (r < 0) {
		if (err && !*err)
			berr_set(err, 0, "container %.12s keeps changing state", id);
		return -1;
	}
	struct ctr_fs *f = calloc(1, sizeof(*f));
	f->rootfd = rootfd;
	f->lockfd = lk;
	f->readonly = ro;
	f->helper = helper;
	f->helper_sock = hsock;
	*ret = f;
	return 0;
}

void ctr_fs_close(struct ctr_fs *f)
{
	if (!f)
		return;
	/* the private mount goes with the helper's namespace, before the
	 * lock lets a start mount the upper dir */
	if (f->rootfd >= 0)
		close(f->rootfd);
	if (f->helper > 0) {
		close(f->helper_sock);
		int st;
		while (waitpid(f->helper, &st, 0) < 0 && errno == EINTR)
			;
	}
	if (f->lockfd >= 0)
		close(f->lockfd);
	free(f);
}

/* ---- paths ---- */

/* A place paths are resolved in: the container's root (in-root), or the
 * host (rootfd AT_FDCWD, ordinary resolution), or below a directory. */
struct side {
	int rootfd;
	uint64_t resolve;
};

static int side_open(const struct side *sd, const char *path, int flags)
{
	struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC), .resolve = sd->resolve};
	for (int i = 0;; i++) {
		int fd = (int)syscall(SYS_openat2, sd->rootfd, path, &how, sizeof(how));
		/* EAGAIN: a rename raced with a ".." in RESOLVE_IN_ROOT */
		if (fd >= 0 || errno != EAGAIN || i >= 64)
			return fd;
	}
}

/* Go's filepath.Clean. */
static char *path_clean(const char *p)
{
	size_t n = strlen(p);
	char *out = malloc(n + 3);
	bool rooted = p[0] == '/';
	size_t w = 0, dotdot = 0;
	if (rooted) {
		out[w++] = '/';
		dotdot = 1;
	}
	for (size_t r = 0; r < n;) {
		if (p[r] == '/') {
			r++;
		} else if (p[r] == '.' && (r + 1 == n || p[r + 1] == '/')) {
			r++;
		} else if (p[r] == '.' && p[r + 1] == '.' && (r + 2 == n || p[r + 2] == '/')) {
			r += 2;
			if (w > dotdot) {
				w--;
				while (w > dotdot && out[w] != '/')
					w--;
			} else if (!rooted) {
				if (w > 0)
					out[w++] = '/';
				out[w++] = '.';
				out[w++] = '.';
				dotdot = w;
			}
		} else {
			if ((rooted && w != 1) || (!rooted && w != 0))
				out[w++] = '/';
			while (r < n && p[r] != '/')
				out[w++] = p[r++];
		}
	}
	if (w == 0)
		out[w++] = '.';
	out[w] = 0;
	return out;
}

/* Go's filepath.Base(p) == "." (Docker's "copy the contents" marker) */
static bool base_is_dot(const char *p)
{
	size_t n = strlen(p);
	while (n > 1 && p[n - 1] == '/')
		n--;
	return (n == 1 && p[0] == '.') || (n >= 2 && p[n - 1] == '.' && p[n - 2] == '/');
}

/* Docker's assertsDirectory: a trailing separator or a "." base */
static bool asserts_dir(const char *p)
{
	size_t n = strlen(p);
	return (n && p[n - 1] == '/') || base_is_dot(p);
}

/* Is the last component of a cleaned path the directory itself ("/",
 * ".", "..")? */
static bool is_self(const char *clean)
{
	const char *slash = strrchr(clean, '/');
	const char *last = slash ? slash + 1 : clean;
	return !strcmp(clean, "/") || !strcmp(last, ".") || !strcmp(last, "..");
}

/* The directory holding a cleaned path and its last component (pointing
 * into clean); a path that is its own directory gets base ".". */
static char *split_path(const char *clean, const char **base)
{
	if (is_self(clean)) {
		*base = ".";
		return strdup(clean);
	}
	const char *slash = strrchr(clean, '/');
	*base = slash ? slash + 1 : clean;
	if (!slash)
		return strdup(".");
	if (slash == clean)
		return strdup("/");
	return strndup(clean, (size_t)(slash - clean));
}

static char *join(const char *a, const char *b)
{
	char *j = NULL;
	if (asprintf(&j, "%s/%s", a, b) < 0)
		return NULL;
	char *c = path_clean(j);
	free(j);
	return c;
}

/* lstat a cleaned path in a side; with follow, symlinks at the end are
 * followed (in the side's root) up to max times, and *ret is where they
 * lead. A missing path (or parent) is *exists = false, not an error. */
static int side_stat(const struct side *sd, const char *clean, bool follow, int max, char **ret, bool *exists,
		     struct stat *st, struct berr **err)
{
	char *cur = strdup(clean);
	*exists = false;
	for (int n = 0;; n++) {
		const char *b;
		_cleanup_free_ char *dir = split_path(cur, &b);
		_cleanup_close_ int pfd = side_open(sd, dir, O_PATH | O_DIRECTORY);
		if (pfd < 0 || fstatat(pfd, b, st, AT_SYMLINK_NOFOLLOW) < 0) {
			int e = errno;
			if (e == ENOENT || e == ENOTDIR) {
				*ret = cur;
				return 0;
			}
			berr_set(err, e, "lstat %s", cur);
			free(cur);
			return -1;
		}
		if (!follow || !S_ISLNK(st->st_mode)) {
			*exists = true;
			*ret = cur;
			return 0;
		}
		if (n >= max) {
			berr_setc(err, BERR_INVALID, "too many symlinks in %s", clean);
			free(cur);
			return -1;
		}
		char target[PATH_MAX];
		ssize_t l = readlinkat(pfd, b, target, sizeof(target) - 1);
		if (l < 0) {
			berr_set(err, errno, "readlink %s", cur);
			free(cur);
			return -1;
		}
		target[l] = 0;
		char *next = target[0] == '/' ? path_clean(target) : join(dir, target);
		free(cur);
		cur = next;
	}
}

/* ---- entries, sinks ---- */

struct entry {
	const char *name; /* relative: "a", "a/b"; "." is the destination itself */
	struct stat st;
	const char *link; /* symlink target, or the entry a hard link points to */
	bool hardlink;
	int fd;              /* regular file data (walk) */
	struct archive *ar;  /* regular file data (tar stream) */
};

enum { OWN_KEEP, OWN_ENTRY, OWN_ROOT };

struct sink {
	bool tar;
	struct tarw tw;
	/* a directory: entries go below base (a path in sd) */
	struct side sd;
	char *base;
	const char *disp; /* base as the user knows it, for messages */
	int owner;
	char **dirs; /* directory mtimes are set last, deepest first */
	struct timespec *dtimes;
	size_t ndirs, capdirs;
	uint64_t bytes;
};

static ssize_t entry_read(struct entry *e, void *buf, size_t n)
{
	if (e->ar) {
		la_ssize_t r = archive_read_data(e->ar, buf, n);
		if (r < 0) {
			errno = EIO;
			return -1;
		}
		return (ssize_t)r;
	}
	for (;;) {
		ssize_t r = read(e->fd, buf, n);
		if (r < 0 && errno == EINTR)
			continue;
		return r;
	}
}

static int read_error(struct entry *e, struct berr **err)
{
	if (e->ar)
		return berr_set(err, 0, "reading the archive: %s", archive_error_string(e->ar));
	return berr_set(err, errno, "reading %s", e->name);
}

static int tar_entry(struct sink *k, struct entry *e, struct berr **err)
{
	mode_t m = e->st.st_mode;
	char type;
	if (e->hardlink)
		type = '1';
	else if (S_ISREG(m))
		type = '0';
	else if (S_ISDIR(m))
		type = '5';
	else if (S_ISLNK(m))
		type = '2';
	else if (S_ISCHR(m))
		type = '3';
	else if (S_ISBLK(m))
		type = '4';
	else if (S_ISFIFO(m))
		type = '6';
	else
		return 0; /* sockets: tar has no type for them */
	_cleanup_free_ char *name = NULL;
	if (asprintf(&name, "%s%s", e->name, type == '5' ? "/" : "") < 0)
		return berr_set(err, ENOMEM, "tar");
	struct tarw_entry te = {.name = name,
				.linkname = e->link,
				.type = type,
				.mode = m & 07777,
				.uid = e->st.st_uid,
				.gid = e->st.st_gid,
				.size = type == '0' ? (uint64_t)e->st.st_size : 0,
				.mtime = {e->st.st_mtim.tv_sec, 0},
				.devmajor = major(e->st.st_rdev),
				.devminor = minor(e->st.st_rdev)};
	if (tarw_header(&k->tw, &te, err) < 0)
		return -1;
	k->bytes += 512;
	if (type != '0')
		return 0;
	uint64_t left = te.size;
	static char buf[1 << 16];
	while (left) {
		ssize_t r = entry_read(e, buf, left < sizeof(buf) ? left : sizeof(buf));
		if (r < 0)
			return read_error(e, err);
		if (r == 0) {
			/* the file shrank: pad, as GNU tar does */
			memset(buf, 0, sizeof(buf));
			while (left) {
				size_t z = left < sizeof(buf) ? left : sizeof(buf);
				if (tarw_data(&k->tw, buf, z, err) < 0)
					return -1;
				left -= z;
			}
			break;
		}
		if (tarw_data(&k->tw, buf, (size_t)r, err) < 0)
			return -1;
		left -= (uint64_t)r;
	}
	k->bytes += (te.size + 511) / 512 * 512;
	return 0;
}

/* A tar entry name relative to the destination: "" for the destination
 * itself; names that leave it are refused (Docker's breakout check). */
static int rel_name(const char *name, char **ret, struct berr **err)
{
	const char *p = name;
	while (*p == '/')
		p++;
	char *c = path_clean(*p ? p : ".");
	if (!strcmp(c, "..") || !strncmp(c, "../", 3)) {
		free(c);
		return berr_setc(err, BERR_INVALID, "\"%s\" is outside of the destination", name);
	}
	if (!strcmp(c, ".")) {
		c[0] = 0;
	}
	*ret = c;
	return 0;
}

/* mkdir -p of a path in the sink's side (parents a tar stream left out). */
static int sink_mkdir_p(struct sink *k, const char *dir, struct berr **err)
{
	_cleanup_free_ char *buf = strdup(dir);
	for (char *s = buf + 1;; s++) {
		if (*s && *s != '/')
			continue;
		char saved = *s;
		*s = 0;
		int t = side_open(&k->sd, buf, O_PATH | O_DIRECTORY);
		if (t < 0 && errno == ENOENT) {
			const char *b;
			_cleanup_free_ char *pd = split_path(buf, &b);
			_cleanup_close_ int pfd = side_open(&k->sd, pd, O_PATH | O_DIRECTORY);
			if (pfd < 0 || (mkdirat(pfd, b, 0755) < 0 && errno != EEXIST))
				return berr_set(err, errno, "creating %s", buf);
			_cleanup_close_ int dfd = openat(pfd, b, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (dfd < 0)
				return berr_set(err, errno, "creating %s", buf);
			fchmod(dfd, 0755);
			if (k->owner == OWN_ROOT && fchown(dfd, 0, 0) < 0)
				return berr_set(err, errno, "chown %s", buf);
			t = side_open(&k->sd, buf, O_PATH | O_DIRECTORY);
		}
		if (t < 0)
			return berr_set(err, errno, "opening %s", buf);
		close(t);
		*s = saved;
		if (!saved)
			return 0;
	}
}

static void remember_dir(struct sink *k, const char *path, struct timespec t)
{
	if (k->ndirs == k->capdirs) {
		k->capdirs = k->capdirs ? 2 * k->capdirs : 64;
		k->dirs = realloc(k->dirs, k->capdirs * sizeof(*k->dirs));
		k->dtimes = realloc(k->dtimes, k->capdirs * sizeof(*k->dtimes));
	}
	k->dirs[k->ndirs] = strdup(path);
	k->dtimes[k->ndirs++] = t;
}

static int fs_entry(struct sink *k, struct entry *e, struct berr **err)
{
	mode_t m = e->st.st_mode;
	bool isdir = S_ISDIR(m) && !e->hardlink;
	if (!e->hardlink && !S_ISREG(m) && !S_ISDIR(m) && !S_ISLNK(m) && !S_ISCHR(m) && !S_ISBLK(m) && !S_ISFIFO(m))
		return 0; /* sockets */
	_cleanup_free_ char *rel = NULL;
	if (rel_name(e->name, &rel, err) < 0)
		return -1;
	if (!*rel)
		return 0; /* the destination directory itself: left as it is */
	_cleanup_free_ char *full = join(k->base, rel);
	_cleanup_free_ char *disp = join(k->disp, rel);
	const char *b;
	_cleanup_free_ char *dir = split_path(full, &b);
	int pfd = side_open(&k->sd, dir, O_PATH | O_DIRECTORY);
	if (pfd < 0 && errno == ENOENT) {
		if (sink_mkdir_p(k, dir, err) < 0)
			return -1;
		pfd = side_open(&k->sd, dir, O_PATH | O_DIRECTORY);
	}
	if (pfd < 0)
		return berr_set(err, errno, "opening the directory of %s", disp);
	_cleanup_close_ int pfd_ = pfd;
	struct stat old;
	bool exists = fstatat(pfd, b, &old, AT_SYMLINK_NOFOLLOW) == 0;
	bool inplace = false;
	if (exists) {
		if (S_ISDIR(old.st_mode) && !isdir)
			return berr_setc(err, BERR_CONFLICT, "cannot overwrite directory \"%s\" with non-directory \"%s\"",
					 disp, e->name);
		if (!S_ISDIR(old.st_mode) && isdir)
			return berr_setc(err, BERR_CONFLICT, "cannot overwrite non-directory \"%s\" with directory \"%s\"",
					 disp, e->name);
		if (!isdir && unlinkat(pfd, b, 0) < 0) {
			/* a file mounted over (/etc/hosts of a running container):
			 * rewrite it in place */
			if (errno == EBUSY && S_ISREG(old.st_mode) && S_ISREG(m) && !e->hardlink)
				inplace = true;
			else
				return berr_set(err, errno, "removing %s", disp);
		}
	}
	k->bytes += 512;
	if (e->hardlink) {
		_cleanup_free_ char *trel = NULL;
		if (rel_name(e->link, &trel, err) < 0)
			return -1;
		_cleanup_free_ char *tfull = join(k->base, trel);
		const char *tb;
		_cleanup_free_ char *tdir = split_path(tfull, &tb);
		_cleanup_close_ int tpfd = side_open(&k->sd, tdir, O_PATH | O_DIRECTORY);
		/* flags 0: a symlink at the target is linked, not followed */
		if (tpfd < 0 || linkat(tpfd, tb, pfd, b, 0) < 0)
			return berr_set(err, errno, "linking %s to %s", disp, e->link);
		return 0;
	}
	int fd = -1;
	if (isdir) {
		if (!exists && mkdirat(pfd, b, 0700) < 0)
			return berr_set(err, errno, "creating %s", disp);
		fd = openat(pfd, b, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return berr_set(err, errno, "opening %s", disp);
		remember_dir(k, full, e->st.st_mtim);
	} else if (S_ISREG(m)) {
		fd = inplace ? openat(pfd, b, O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC)
			     : openat(pfd, b, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0)
			return berr_set(err, errno, "creating %s", disp);
		/* a walked file: as much as it had when we looked (Docker's tar
		 * does the same); a tar entry: its data */
		uint64_t left = e->ar ? UINT64_MAX : (uint64_t)e->st.st_size, total = 0;
		static char buf[1 << 17];
		while (left) {
			ssize_t r = entry_read(e, buf, left < sizeof(buf) ? left : sizeof(buf));
			if (r < 0) {
				close(fd);
				return read_error(e, err);
			}
			if (r == 0)
				break;
			if (fs_write_full(fd, buf, (size_t)r) < 0) {
				int x = errno;
				close(fd);
				return berr_set(err, x, "writing %s", disp);
			}
			left -= (uint64_t)r;
			total += (uint64_t)r;
		}
		k->bytes += (total + 511) / 512 * 512;
	} else if (S_ISLNK(m)) {
		if (symlinkat(e->link ? e->link : "", pfd, b) < 0)
			return berr_set(err, errno, "creating symlink %s", disp);
	} else if (mknodat(pfd, b, (m & S_IFMT) | 0600, e->st.st_rdev) < 0) {
		return berr_set(err, errno, "creating %s", disp);
	}
	bool chown_ = k->owner != OWN_KEEP;
	uid_t uid = k->owner == OWN_ENTRY ? e->st.st_uid : 0;
	gid_t gid = k->owner == OWN_ENTRY ? e->st.st_gid : 0;
	struct timespec t[2] = {e->st.st_mtim, e->st.st_mtim};
	int r = 0;
	if (fd >= 0) {
		if ((chown_ && fchown(fd, uid, gid) < 0) || fchmod(fd, m & 07777) < 0 || (!isdir && futimens(fd, t) < 0))
			r = berr_set(err, errno, "setting the attributes of %s", disp);
		close(fd);
		return r;
	}
	if (chown_ && fchownat(pfd, b, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
		return berr_set(err, errno, "chown %s", disp);
	if (!S_ISLNK(m) && fchmodat(pfd, b, m & 07777, AT_SYMLINK_NOFOLLOW) < 0)
		return berr_set(err, errno, "chmod %s", disp);
	if (utimensat(pfd, b, t, AT_SYMLINK_NOFOLLOW) < 0)
		return berr_set(err, errno, "setting the times of %s", disp);
	return 0;
}

static int emit(struct sink *k, struct entry *e, struct berr **err)
{
	return k->tar ? tar_entry(k, e, err) : fs_entry(k, e, err);
}

static int sink_finish(struct sink *k, struct berr **err)
{
	if (k->tar) {
		k->bytes += 1024;
		return tarw_finish(&k->tw, err);
	}
	for (size_t i = k->ndirs; i-- > 0;) {
		int fd = side_open(&k->sd, k->dirs[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
		if (fd >= 0) {
			struct timespec t[2] = {k->dtimes[i], k->dtimes[i]};
			futimens(fd, t);
			close(fd);
		}
	}
	return 0;
}

static void sink_release(struct sink *k)
{
	if (k->tar)
		tarw_release(&k->tw);
	for (size_t i = 0; i < k->ndirs; i++)
		free(k->dirs[i]);
	free(k->dirs);
	free(k->dtimes);
	free(k->base);
	if (!k->tar && k->sd.rootfd >= 0 && k->sd.resolve & RESOLVE_BENEATH)
		close(k->sd.rootfd);
}

/* ---- sources ---- */

struct hardlink {
	dev_t dev;
	ino_t ino;
	char *name;
};

struct walker {
	struct sink *k;
	struct hardlink *hl;
	size_t nhl, caphl;
};

/* File systems whose contents are not files (a running container's /proc,
 * /sys ...): copied as empty directories, as Docker never sees them. */
static bool pseudo_fs(int fd)
{
	struct statfs sf;
	if (fstatfs(fd, &sf) < 0)
		return false;
	switch ((unsigned long)sf.f_type) {
	case PROC_SUPER_MAGIC:
	case SYSFS_MAGIC:
	case DEVPTS_SUPER_MAGIC:
	case CGROUP_SUPER_MAGIC:
	case CGROUP2_SUPER_MAGIC:
	case SECURITYFS_MAGIC:
	case DEBUGFS_MAGIC:
	case TRACEFS_MAGIC:
	case BPF_FS_MAGIC:
	case MQUEUE_MAGIC:
		return true;
	}
	return false;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Emit pfd/b (not followed) as `name` (NULL: only its contents, for a
 * directory) and, for a directory, everything below it. */
static int walk_at(struct walker *w, int pfd, const char *b, const char *name, int depth, struct berr **err)
{
	struct entry e = {.name = name, .fd = -1};
	const char *what = name ? name : b;
	if (fstatat(pfd, b, &e.st, AT_SYMLINK_NOFOLLOW) < 0)
		return berr_set(err, errno, "lstat %s", what);
	mode_t m = e.st.st_mode;
	if (S_ISREG(m)) {
		/* O_NONBLOCK: should it have become a fifo, do not hang on it */
		int fd = openat(pfd, b, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		if (fd < 0)
			return berr_set(err, errno, "opening %s", what);
		if (fstat(fd, &e.st) < 0 || !S_ISREG(e.st.st_mode)) {
			close(fd);
			return berr_set(err, 0, "%s changed while it was copied", what);
		}
		if (e.st.st_nlink > 1 && name) {
			for (size_t i = 0; i < w->nhl; i++) {
				if (w->hl[i].dev == e.st.st_dev && w->hl[i].ino == e.st.st_ino) {
					e.hardlink = true;
					e.link = w->hl[i].name;
					break;
				}
			}
			if (!e.hardlink) {
				if (w->nhl == w->caphl) {
					w->caphl = w->caphl ? 2 * w->caphl : 16;
					w->hl = realloc(w->hl, w->caphl * sizeof(*w->hl));
				}
				w->hl[w->nhl++] = (struct hardlink){e.st.st_dev, e.st.st_ino, strdup(name)};
			}
		}
		e.fd = fd;
		int r = emit(w->k, &e, err);
		close(fd);
		return r;
	}
	if (S_ISLNK(m)) {
		char target[PATH_MAX];
		ssize_t l = readlinkat(pfd, b, target, sizeof(target) - 1);
		if (l < 0)
			return berr_set(err, errno, "readlink %s", what);
		target[l] = 0;
		e.link = target;
		return name ? emit(w->k, &e, err) : 0;
	}
	if (!S_ISDIR(m))
		return name ? emit(w->k, &e, err) : 0;
	_cleanup_close_ int dfd = openat(pfd, b, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0 || fstat(dfd, &e.st) < 0)
		return berr_set(err, errno, "opening %s", what);
	if (name && emit(w->k, &e, err) < 0)
		return -1;
	if (depth > 0 && pseudo_fs(dfd))
		return 0;
	int lfd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = lfd >= 0 ? fdopendir(lfd) : NULL;
	if (!d) {
		if (lfd >= 0)
			close(lfd);
		return berr_set(err, errno, "reading %s", what);
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 32;
			names = realloc(names, cap * sizeof(*names));
		}
		names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_str);
	int r = 0;
	for (size_t i = 0; i < n; i++) {
		if (r == 0) {
			_cleanup_free_ char *cn = NULL;
			if (name)
				r = asprintf(&cn, "%s/%s", name, names[i]) < 0 ? berr_set(err, ENOMEM, "walk") : 0;
			if (r == 0)
				r = walk_at(w, dfd, names[i], name ? cn : names[i], depth + 1, err);
		}
		free(names[i]);
	}
	free(names);
	return r;
}

static int walk(const struct side *sd, const char *path, const char *name, struct sink *k, struct berr **err)
{
	const char *b;
	_cleanup_free_ char *dir = split_path(path, &b);
	_cleanup_close_ int pfd = side_open(sd, dir, O_PATH | O_DIRECTORY);
	if (pfd < 0)
		return berr_set(err, errno, "opening %s", dir);
	struct walker w = {.k = k};
	int r = walk_at(&w, pfd, b, name, 0, err);
	for (size_t i = 0; i < w.nhl; i++)
		free(w.hl[i].name);
	free(w.hl);
	return r;
}

static int tar_source(int fd, struct sink *k, struct berr **err)
{
	struct archive *a = archive_read_new();
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	archive_read_support_format_empty(a);
	int r = 0;
	if (archive_read_open_fd(a, fd, 1 << 16) != ARCHIVE_OK) {
		r = berr_set(err, 0, "reading the archive: %s", archive_error_string(a));
		archive_read_free(a);
		return r;
	}
	for (;;) {
		struct archive_entry *ae;
		int x = archive_read_next_header(a, &ae);
		if (x == ARCHIVE_EOF)
			break;
		if (x < ARCHIVE_WARN) {
			r = berr_set(err, 0, "reading the archive: %s", archive_error_string(a));
			break;
		}
		struct entry e = {.name = archive_entry_pathname(ae), .fd = -1, .ar = a};
		if (!e.name)
			continue;
		e.st = *archive_entry_stat(ae);
		const char *hl = archive_entry_hardlink(ae);
		if (hl) {
			e.hardlink = true;
			e.link = hl;
		} else if (S_ISLNK(e.st.st_mode)) {
			e.link = archive_entry_symlink(ae);
		}
		if ((r = fs_entry(k, &e, err)) < 0)
			break;
	}
	archive_read_free(a);
	return r;
}

/* ---- Docker's rules ---- */

static const struct side host_side = {AT_FDCWD, 0};

static struct side ctr_side(struct ctr_fs *f)
{
	return (struct side){f->rootfd, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
}

/* Where a copy of a source (srcdir: a directory; contents: its "/." form;
 * sbase: its name) lands given the destination (dpath after symlinks,
 * dexists, dst: what it is): the directory to write into (*top) and the
 * top entry's name there (*name, NULL: the contents only). Docker's
 * PrepareArchiveCopy. */
static int plan_dest(bool srcdir, bool contents, const char *sbase, const char *dpath, bool dexists,
		     const struct stat *dst, bool dassert, char **top, const char **name, struct berr **err)
{
	const char *db;
	_cleanup_free_ char *ddir = split_path(dpath, &db);
	if (dexists && S_ISDIR(dst->st_mode)) {
		*top = strdup(dpath);
		*name = contents ? NULL : sbase;
		return 0;
	}
	if (dexists && dassert)
		return berr_setc(err, BERR_INVALID, "%s: not a directory", dpath);
	if (dexists && srcdir)
		return berr_setc(err, BERR_INVALID, "cannot copy directory");
	if (!dexists && !srcdir && dassert)
		return berr_setc(err, BERR_INVALID, "no such directory");
	*top = steal_pointer(&ddir);
	*name = db;
	return 0;
}

int cp_from_container(struct ctr_fs *f, const char *src, const char *dst, const struct cp_opts *o,
		      uint64_t *ret_bytes, struct berr **err)
{
	*ret_bytes = 0;
	if (!*src)
		return berr_setc(err, BERR_INVALID, "no path given after \"%s:\"", o->ref);
	struct side cs = ctr_side(f);
	_cleanup_free_ char *abs = NULL;
	if (asprintf(&abs, "%s%s", src[0] == '/' ? "" : "/", src) < 0)
		return berr_set(err, ENOMEM, "cp");
	bool sassert = asserts_dir(abs);
	_cleanup_free_ char *sclean = path_clean(abs);
	bool contents = base_is_dot(abs) || is_self(sclean);
	_cleanup_free_ char *spath = NULL;
	struct stat sst;
	bool sexists;
	if (side_stat(&cs, sclean, o->follow || sassert, 40, &spath, &sexists, &sst, err) < 0)
		return -1;
	if (!sexists)
		return berr_setc(err, BERR_NOT_FOUND, "Could not find the file %s in container %s", src, o->ref);
	bool srcdir = S_ISDIR(sst.st_mode);
	if (sassert && !srcdir)
		return berr_setc(err, BERR_INVALID, "%s: not a directory", src);
	const char *sbase;
	_cleanup_free_ char *sdir = split_path(sclean, &sbase);

	struct sink k = {.sd = {-1, 0}};
	int r;
	if (!strcmp(dst, "-")) {
		k.tar = true;
		if (tarw_init(&k.tw, o->out_fd) < 0)
			return berr_set(err, ENOMEM, "tar");
		r = walk(&cs, spath, contents ? "." : sbase, &k, err);
	} else {
		bool dassert = asserts_dir(dst);
		_cleanup_free_ char *dclean = path_clean(dst);
		_cleanup_free_ char *dpath = NULL;
		struct stat dst_st;
		bool dexists;
		if (side_stat(&host_side, dclean, true, 10, &dpath, &dexists, &dst_st, err) < 0)
			return -1;
		_cleanup_free_ char *top = NULL;
		const char *name;
		if (plan_dest(srcdir, contents, sbase, dpath, dexists, &dst_st, dassert, &top, &name, err) < 0)
			return -1;
		int topfd = side_open(&host_side, top, O_PATH | O_DIRECTORY);
		if (topfd < 0)
			return berr_set(err, errno, "stat %s", top);
		k.sd = (struct side){topfd, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
		k.base = strdup(".");
		k.disp = top;
		k.owner = o->archive ? OWN_ENTRY : OWN_KEEP;
		r = walk(&cs, spath, name, &k, err);
	}
	if (r == 0)
		r = sink_finish(&k, err);
	*ret_bytes = k.bytes;
	sink_release(&k);
	return r;
}

int cp_to_container(struct ctr_fs *f, const char *src, const char *dst, const struct cp_opts *o,
		    uint64_t *ret_bytes, struct berr **err)
{
	*ret_bytes = 0;
	if (f->readonly)
		return berr_setc(err, BERR_CONFLICT, "container rootfs is marked read-only");
	if (!*dst)
		return berr_setc(err, BERR_INVALID, "no path given after \"%s:\"", o->ref);
	struct side cs = ctr_side(f);
	_cleanup_free_ char *abs = NULL;
	if (asprintf(&abs, "%s%s", dst[0] == '/' ? "" : "/", dst) < 0)
		return berr_set(err, ENOMEM, "cp");
	bool dassert = asserts_dir(abs);
	_cleanup_free_ char *dclean = path_clean(abs);
	_cleanup_free_ char *dpath = NULL;
	struct stat dst_st;
	bool dexists;
	if (side_stat(&cs, dclean, true, 10, &dpath, &dexists, &dst_st, err) < 0)
		return -1;
	if (dexists && !S_ISDIR(dst_st.st_mode) && !S_ISREG(dst_st.st_mode))
		return berr_setc(err, BERR_INVALID, "destination \"%s:%s\" must be a directory or a regular file", o->ref,
				 dst);
	struct sink k = {.sd = cs, .owner = o->archive ? OWN_ENTRY : OWN_ROOT};
	int r;
	if (!strcmp(src, "-")) {
		if (!dexists || !S_ISDIR(dst_st.st_mode))
			return berr_setc(err, BERR_INVALID, "destination \"%s:%s\" must be a directory", o->ref, dst);
		k.base = strdup(dpath);
		k.disp = k.base;
		r = tar_source(o->in_fd, &k, err);
	} else {
		bool sassert = asserts_dir(src);
		_cleanup_free_ char *sclean = path_clean(src);
		bool contents = base_is_dot(src) || is_self(sclean);
		_cleanup_free_ char *spath = NULL;
		struct stat sst;
		bool sexists;
		if (side_stat(&host_side, sclean, o->follow || sassert, 40, &spath, &sexists, &sst, err) < 0)
			return -1;
		if (!sexists)
			return berr_setc(err, BERR_NOT_FOUND, "lstat %s: no such file or directory", src);
		bool srcdir = S_ISDIR(sst.st_mode);
		if (sassert && !srcdir)
			return berr_setc(err, BERR_INVALID, "lstat %s: not a directory", src);
		const char *sbase;
		_cleanup_free_ char *sdir = split_path(sclean, &sbase);
		const char *name;
		if (plan_dest(srcdir, contents, sbase, dpath, dexists, &dst_st, dassert, &k.base, &name, err) < 0)
			return -1;
		/* the directory written into must exist (Docker does not create it) */
		int t = side_open(&cs, k.base, O_PATH | O_DIRECTORY);
		if (t < 0) {
			if (errno == ENOTDIR)
				berr_setc(err, BERR_INVALID, "extraction point is not a directory");
			else
				berr_setc(err, BERR_NOT_FOUND, "Could not find the file %s in container %s", k.base, o->ref);
			free(k.base);
			return -1;
		}
		close(t);
		k.disp = k.base;
		r = walk(&host_side, spath, name, &k, err);
	}
	if (r == 0)
		r = sink_finish(&k, err);
	*ret_bytes = k.bytes;
	sink_release(&k);
	return r;
}
