/* Layers the builder writes: a directory tree (a RUN's overlay upper dir,
 * or files a COPY picked) becomes an OCI layer tar. Overlay whiteouts (char
 * device 0/0) become ".wh.NAME" entries and opaque directories get a
 * ".wh..wh..opq" entry. Entries come in sorted order and, with
 * SOURCE_DATE_EPOCH, with clamped times, so the same tree gives the same
 * digest. The tar goes to an unnamed temp file (O_TMPFILE: nothing stays
 * after a crash) and from there through the store's layer import. */
#include "builder/btar.h"
#include "builder/build.h"
#include "image/layer.h"
#include "util/cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#define BTAR_MAX_DEPTH 512

void btar_init(struct btar *b, struct tarw *w, const struct btar_opts *o)
{
	memset(b, 0, sizeof(*b));
	b->w = w;
	b->o = *o;
}

void btar_release(struct btar *b)
{
	for (size_t i = 0; i < b->nlinks; i++)
		free(b->links[i].name);
	free(b->links);
	b->links = NULL;
	b->nlinks = 0;
}

static const char *find_link(struct btar *b, dev_t dev, ino_t ino)
{
	for (size_t i = 0; i < b->nlinks; i++)
		if (b->links[i].dev == dev && b->links[i].ino == ino)
			return b->links[i].name;
	return NULL;
}

static void add_link(struct btar *b, dev_t dev, ino_t ino, const char *name)
{
	if (b->nlinks == b->caplinks) {
		size_t nc = b->caplinks ? b->caplinks * 2 : 16;
		void *p = realloc(b->links, nc * sizeof(*b->links));
		if (!p)
			return;
		b->links = p;
		b->caplinks = nc;
	}
	b->links[b->nlinks].dev = dev;
	b->links[b->nlinks].ino = ino;
	b->links[b->nlinks].name = strdup(name);
	if (b->links[b->nlinks].name)
		b->nlinks++;
}

static struct timespec clamp(const struct btar *b, struct timespec t)
{
	if (b->o.epoch >= 0 && t.tv_sec >= b->o.epoch) {
		t.tv_sec = b->o.epoch;
		t.tv_nsec = 0;
	}
	return t;
}

/* xattrs worth keeping (capabilities, ACLs, user.*); never trusted.overlay.* */
static size_t read_xattrs(int fd, const char *procpath, struct tarw_xattr *xs, size_t max, char *names,
			  size_t namesz, char *vals, size_t valsz)
{
	ssize_t n = fd >= 0 ? flistxattr(fd, names, namesz) : llistxattr(procpath, names, namesz);
	if (n <= 0)
		return 0;
	size_t k = 0, used = 0;
	for (char *p = names; p < names + n && k < max; p += strlen(p) + 1) {
		if (strncmp(p, "security.capability", 19) && strncmp(p, "user.", 5) &&
		    strncmp(p, "system.posix_acl", 16))
			continue;
		ssize_t v = fd >= 0 ? fgetxattr(fd, p, vals + used, valsz - used)
				    : lgetxattr(procpath, p, vals + used, valsz - used);
		if (v < 0)
			continue;
		xs[k].name = p;
		xs[k].value = vals + used;
		xs[k].size = (size_t)v;
		used += (size_t)v;
		k++;
	}
	return k;
}

static int emit_whiteout(struct btar *b, const char *arcdir, const char *name, const struct stat *st,
			 struct berr **err)
{
	_cleanup_free_ char *p = NULL;
	if (asprintf(&p, "%s%s.wh.%s", arcdir, *arcdir ? "/" : "", name) < 0)
		return berr_set(err, ENOMEM, "layer");
	struct tarw_entry e = {.name = p, .type = '0', .mode = 0644, .mtime = clamp(b, st->st_mtim)};
	return tarw_header(b->w, &e, err);
}

static int copy_data(struct btar *b, int fd, uint64_t size, const char *what, struct berr **err)
{
	char buf[128 << 10];
	uint64_t left = size;
	while (left) {
		ssize_t r = read(fd, buf, left < sizeof(buf) ? left : sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return berr_set(err, r < 0 ? errno : 0, "reading %s%s", what, r == 0 ? ": file shrank" : "");
		if (tarw_data(b->w, buf, (size_t)r, err) < 0)
			return -1;
		left -= (uint64_t)r;
	}
	return 0;
}

static int add_one(struct btar *b, int dirfd, const char *name, const char *arcname, int depth, struct berr **err);

static int cmpstr(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int add_dir_contents(struct btar *b, int dfd, const char *arcname, int depth, struct berr **err)
{
	int fd2 = dup(dfd);
	if (fd2 < 0)
		return berr_set(err, errno, "reading %s", arcname);
	DIR *d = fdopendir(fd2);
	if (!d) {
		close(fd2);
		return berr_set(err, errno, "reading %s", arcname);
	}
	rewinddir(d);
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	int rc = 0;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			char **p = realloc(names, cap * sizeof(*names));
			if (!p) {
				rc = berr_set(err, ENOMEM, "reading %s", arcname);
				goto out;
			}
			names = p;
		}
		names[n] = strdup(de->d_name);
		if (!names[n]) {
			rc = berr_set(err, ENOMEM, "reading %s", arcname);
			goto out;
		}
		n++;
	}
	qsort(names, n, sizeof(*names), cmpstr);
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (b->o.skip && b->o.skip(b->o.skip_ctx, arcname, names[i]))
			continue;
		_cleanup_free_ char *child = NULL;
		if (asprintf(&child, "%s%s%s", arcname, *arcname ? "/" : "", names[i]) < 0) {
			rc = berr_set(err, ENOMEM, "reading %s", arcname);
			break;
		}
		rc = add_one(b, dfd, names[i], child, depth + 1, err);
	}
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return rc;
}

static int add_one(struct btar *b, int dirfd, const char *name, const char *arcname, int depth, struct berr **err)
{
	if (depth > BTAR_MAX_DEPTH)
		return berr_setc(err, BERR_INVALID, "%s: directories nested too deep", arcname);
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return berr_set(err, errno, "reading %s", arcname);
	if (b->o.upper && S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) {
		_cleanup_free_ char *dir = strdup(arcname);
		if (!dir)
			return berr_set(err, ENOMEM, "layer");
		char *slash = strrchr(dir, '/');
		const char *base = slash ? slash + 1 : dir;
		if (slash)
			*slash = 0;
		else
			dir[0] = 0;
		_cleanup_free_ char *bcopy = strdup(base);
		return emit_whiteout(b, dir, bcopy ? bcopy : "", &st, err);
	}
	struct tarw_entry e = {.name = arcname, .mode = st.st_mode & 07777, .uid = st.st_uid, .gid = st.st_gid,
			       .mtime = clamp(b, st.st_mtim)};
	if (b->o.chown) {
		e.uid = b->o.uid;
		e.gid = b->o.gid;
	}
	if (b->o.chmod >= 0)
		e.mode = (mode_t)b->o.chmod;
	char names[4096], vals[16384];
	struct tarw_xattr xs[16];
	_cleanup_close_ int fd = -1;
	char linkbuf[4096];
	if (S_ISREG(st.st_mode)) {
		if (st.st_nlink > 1) {
			const char *first = find_link(b, st.st_dev, st.st_ino);
			if (first) {
				e.type = '1';
				e.linkname = first;
				e.mode = st.st_mode & 07777;
				return tarw_header(b->w, &e, err);
			}
			add_link(b, st.st_dev, st.st_ino, arcname);
		}
		fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
		if (fd < 0)
			return berr_set(err, errno, "reading %s", arcname);
		e.type = '0';
		e.size = (uint64_t)st.st_size;
		e.xattrs = xs;
		e.nxattrs = read_xattrs(fd, NULL, xs, 16, names, sizeof(names), vals, sizeof(vals));
		if (tarw_header(b->w, &e, err) < 0)
			return -1;
		return copy_data(b, fd, e.size, arcname, err);
	}
	if (S_ISLNK(st.st_mode)) {
		ssize_t n = readlinkat(dirfd, name, linkbuf, sizeof(linkbuf) - 1);
		if (n < 0)
			return berr_set(err, errno, "reading %s", arcname);
		linkbuf[n] = 0;
		e.type = '2';
		e.linkname = linkbuf;
		e.mode = 0777;
		return tarw_header(b->w, &e, err);
	}
	if (S_ISDIR(st.st_mode)) {
		fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return berr_set(err, errno, "reading %s", arcname);
		bool opaque = false;
		if (b->o.upper) {
			char v[4];
			ssize_t r = fgetxattr(fd, "trusted.overlay.opaque", v, sizeof(v));
			opaque = r == 1 && v[0] == 'y';
		}
		if (*arcname) {
			e.type = '5';
			e.xattrs = xs;
			e.nxattrs = read_xattrs(fd, NULL, xs, 16, names, sizeof(names), vals, sizeof(vals));
			if (b->o.chmod >= 0 && !b->o.chmod_dirs)
				e.mode = st.st_mode & 07777;
			if (tarw_header(b->w, &e, err) < 0)
				return -1;
		}
		if (opaque) {
			_cleanup_free_ char *p = NULL;
			if (asprintf(&p, "%s%s.wh..wh..opq", arcname, *arcname ? "/" : "") < 0)
				return berr_set(err, ENOMEM, "layer");
			struct tarw_entry w = {.name = p, .type = '0', .mode = 0644, .mtime = e.mtime};
			if (tarw_header(b->w, &w, err) < 0)
				return -1;
		}
		return add_dir_contents(b, fd, arcname, depth, err);
	}
	if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode)) {
		e.type = S_ISCHR(st.st_mode) ? '3' : S_ISBLK(st.st_mode) ? '4' : '6';
		e.devmajor = major(st.st_rdev);
		e.devminor = minor(st.st_rdev);
		return tarw_header(b->w, &e, err);
	}
	return 0; /* sockets do not go into layers */
}

int btar_add_file_fd(struct btar *b, int fd, const struct stat *st, const char *arcname, struct berr **err)
{
	struct tarw_entry e = {.name = arcname, .mode = st->st_mode & 07777, .uid = st->st_uid, .gid = st->st_gid,
			       .mtime = clamp(b, st->st_mtim)};
	if (b->o.chown) {
		e.uid = b->o.uid;
		e.gid = b->o.gid;
	}
	if (b->o.chmod >= 0)
		e.mode = (mode_t)b->o.chmod;
	if (!S_ISREG(st->st_mode))
		return berr_setc(err, BERR_INVALID, "%s: not a regular file or directory", arcname);
	e.type = '0';
	e.size = (uint64_t)st->st_size;
	if (tarw_header(b->w, &e, err) < 0)
		return -1;
	return copy_data(b, fd, e.size, arcname, err);
}

int btar_add(struct btar *b, int dirfd, const char *name, const char *arcname, struct berr **err)
{
	return add_one(b, dirfd, name, arcname, 0, err);
}

int btar_add_parents(struct btar *b, const char *path, struct berr **err)
{
	/* "a/b/c" -> entries "a", "a/b" (root-owned 0755), skipping ones done */
	_cleanup_free_ char *p = strdup(path);
	if (!p)
		return berr_set(err, ENOMEM, "layer");
	struct timespec t = {0};
	if (b->o.epoch >= 0)
		t.tv_sec = b->o.epoch;
	else
		clock_gettime(CLOCK_REALTIME, &t);
	for (char *s = strchr(p, '/'); s; s = strchr(s + 1, '/')) {
		*s = 0;
		bool seen = false;
		for (size_t i = 0; i < b->nparents; i++)
			if (!strcmp(b->parents[i], p))
				seen = true;
		if (!seen && *p) {
			struct tarw_entry e = {.name = p, .type = '5', .mode = 0755, .mtime = t};
			if (b->o.chown && b->o.chown_parents) {
				e.uid = b->o.uid;
				e.gid = b->o.gid;
			}
			if (tarw_header(b->w, &e, err) < 0)
				return -1;
			if (b->nparents < ARRAY_SIZE(b->parents))
				b->parents[b->nparents++] = strdup(p);
		}
		*s = '/';
	}
	return 0;
}

void btar_parents_release(struct btar *b)
{
	for (size_t i = 0; i < b->nparents; i++)
		free(b->parents[i]);
	b->nparents = 0;
}

static ssize_t fd_read(void *opaque, void *buf, size_t n)
{
	int fd = *(int *)opaque;
	for (;;) {
		ssize_t r = read(fd, buf, n);
		if (r < 0 && errno == EINTR)
			continue;
		return r;
	}
}

int btar_open_tmp(struct image_store *is, int *ret_fd, struct berr **err)
{
	int fd = openat(is->tmpfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return berr_set(err, errno, "creating a temporary layer file in %s/tmp", is->root);
	*ret_fd = fd;
	return 0;
}

int btar_stage(struct image_store *is, int fd, const char *what, struct layer_stage *ret, struct berr **err)
{
	if (lseek(fd, 0, SEEK_SET) < 0)
		return berr_set(err, errno, "%s", what);
	return layer_stage_stream(is, fd_read, &fd, what, NULL, ret, err);
}

/* The runtime bind-mounts these over files it creates in the upper dir;
 * what a RUN writes to them goes to the container's own copies, so the
 * upper dir only ever has empty mount points: not part of the image. */
static bool skip_mountpoints(void *ctx, const char *arcdir, const char *name)
{
	(void)ctx;
	return !strcmp(arcdir, "etc") && (!strcmp(name, "hosts") || !strcmp(name, "resolv.conf") || !strcmp(name, "hostname"));
}

int bdiff_layer_from_dir(struct image_store *is, int dirfd, int64_t epoch, struct layer_stage *ret,
			 struct berr **err)
{
	_cleanup_close_ int fd = -1;
	if (btar_open_tmp(is, &fd, err) < 0)
		return -1;
	struct tarw w;
	tarw_init(&w, fd);
	struct btar b;
	struct btar_opts o = {.upper = true, .epoch = epoch, .chmod = -1, .skip = skip_mountpoints};
	btar_init(&b, &w, &o);
	int r = add_dir_contents(&b, dirfd, "", 0, err);
	btar_release(&b);
	if (r == 0)
		r = tarw_finish(&w, err);
	tarw_release(&w);
	if (r < 0)
		return berr_wrap(err, "writing the layer");
	return btar_stage(is, fd, "layer", ret, err);
}
