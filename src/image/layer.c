#include "image/layer.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/hash.h"
#include "util/jsonx.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#define IO_BUF (256u << 10)

static int openat2_beneath(int dirfd, const char *path, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

int layer_path_normalize(const char *in, char *out, size_t outsz, struct berr **err)
{
	if (in[0] == '/')
		return berr_setc(err, BERR_INVALID, "entry \"%s\" has an absolute path", in);
	size_t o = 0;
	const char *p = in;
	while (*p) {
		const char *e = strchrnul(p, '/');
		size_t n = (size_t)(e - p);
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return berr_setc(err, BERR_INVALID, "entry \"%s\" has a \"..\" component", in);
		if (n > 0 && !(n == 1 && p[0] == '.')) {
			if (o + n + 2 > outsz)
				return berr_setc(err, BERR_INVALID, "entry \"%.64s...\" path is too long", in);
			if (o)
				out[o++] = '/';
			memcpy(out + o, p, n);
			o += n;
		}
		p = *e ? e + 1 : e;
	}
	out[o] = 0;
	return 0;
}

/* ---- the decode pipeline: source -> (blob file, blob hash) -> decompress
 * -> (diff hash) -> tar reader ---- */

struct pipe {
	layer_read_fn fn;
	void *opaque;
	int blob_fd;
	struct sha256 hblob, hdiff;
	bool hash_diff; /* false for uncompressed blobs: diff_id == blob digest */
	uint64_t blob_size, tar_size;
	struct archive *dec;
	int src_errno;
	bool src_eof;
	bool write_failed; /* src_errno is from writing the blob, not reading */
	char *rawbuf, *tarbuf;
};

static ssize_t pipe_src_read(struct pipe *p, void *buf, size_t n)
{
	if (p->src_eof)
		return 0;
	ssize_t r = p->fn(p->opaque, buf, n);
	if (r < 0) {
		p->src_errno = errno ? errno : EIO;
		return -1;
	}
	if (r == 0) {
		p->src_eof = true;
		return 0;
	}
	if (p->blob_fd >= 0 && fs_write_full(p->blob_fd, buf, (size_t)r) < 0) {
		p->src_errno = errno ? errno : EIO;
		p->write_failed = true;
		return -1;
	}
	sha256_update(&p->hblob, buf, (size_t)r);
	p->blob_size += (uint64_t)r;
	return r;
}

static la_ssize_t dec_read_cb(struct archive *a, void *ud, const void **buf)
{
	struct pipe *p = ud;
	ssize_t r = pipe_src_read(p, p->rawbuf, IO_BUF);
	if (r < 0) {
		archive_set_error(a, p->src_errno, "%s: %s",
				  p->write_failed ? "writing the layer blob" : "reading layer data",
				  strerror(p->src_errno));
		return -1;
	}
	*buf = p->rawbuf;
	return r;
}

/* The source (or writing its copy) failed: say so rather than blaming the
 * tar format. */
static int src_fail(struct pipe *p, const char *what, struct berr **err)
{
	return berr_set(err, p->src_errno, "%s: %s", what,
			p->write_failed ? "writing the layer blob" : "reading layer data");
}

static la_ssize_t tar_read_cb(struct archive *a, void *ud, const void **buf)
{
	struct pipe *p = ud;
	la_ssize_t r = archive_read_data(p->dec, p->tarbuf, IO_BUF);
	if (r < 0) {
		archive_set_error(a, archive_errno(p->dec) ? archive_errno(p->dec) : EIO, "%s",
				  archive_error_string(p->dec) ? archive_error_string(p->dec)
							       : "decompression failed");
		return -1;
	}
	if (p->hash_diff)
		sha256_update(&p->hdiff, p->tarbuf, (size_t)r);
	p->tar_size += (uint64_t)r;
	*buf = p->tarbuf;
	return r;
}

/* ---- extraction ---- */

struct dirmeta {
	char *path;
	mode_t mode;
	bool need_chmod;
	struct timespec times[2];
};

struct xctx {
	int rootfd;
	char *cache_path;
	int cache_fd;
	struct dirmeta *dirs;
	size_t ndirs, capdirs;
	uint64_t size;
	const char *what;
};

static void xctx_release(struct xctx *x)
{
	if (x->cache_fd >= 0)
		close(x->cache_fd);
	free(x->cache_path);
	for (size_t i = 0; i < x->ndirs; i++)
		free(x->dirs[i].path);
	free(x->dirs);
}

static int resolve_fail(const char *path, int e, struct berr **err)
{
	if (e == EXDEV)
		return berr_setc(err, BERR_INVALID,
				 "path \"%s\" goes through a symlink that leaves the layer directory", path);
	if (e == ELOOP)
		return berr_setc(err, BERR_INVALID, "path \"%s\" goes through a symlink loop", path);
	if (e == ENOTDIR)
		return berr_setc(err, BERR_INVALID, "path \"%s\": a parent is not a directory", path);
	return berr_set(err, e, "resolving \"%s\"", path);
}

/* Open directory `dir` (normalized, relative to the layer root) as an
 * O_PATH fd, creating missing components (0755) when create is set. The
 * result is owned by the cache: do not close it. */
static int open_dir(struct xctx *x, const char *dir, bool create, struct berr **err)
{
	if (!*dir)
		return x->rootfd;
	if (x->cache_path && !strcmp(x->cache_path, dir))
		return x->cache_fd;
	int fd = openat2_beneath(x->rootfd, dir, O_PATH | O_DIRECTORY);
	if (fd < 0 && errno == ENOENT && create) {
		/* Walk from the root, always resolving from rootfd so an escape
		 * through any component is caught. */
		char buf[PATH_MAX];
		snprintf(buf, sizeof(buf), "%s", dir);
		for (char *s = buf;; s++) {
			if (*s != '/' && *s != 0)
				continue;
			char saved = *s;
			*s = 0;
			int t = openat2_beneath(x->rootfd, buf, O_PATH | O_DIRECTORY);
			if (t < 0 && errno == ENOENT) {
				char *slash = strrchr(buf, '/');
				int pfd = x->rootfd;
				_cleanup_close_ int pclose = -1;
				const char *base = buf;
				if (slash) {
					*slash = 0;
					pclose = openat2_beneath(x->rootfd, buf, O_PATH | O_DIRECTORY);
					*slash = '/';
					if (pclose < 0)
						return resolve_fail(dir, errno, err);
					pfd = pclose;
					base = slash + 1;
				}
				if (mkdirat(pfd, base, 0755) < 0 && errno != EEXIST)
					return berr_set(err, errno, "creating directory \"%s\"", buf);
				t = openat2_beneath(x->rootfd, buf, O_PATH | O_DIRECTORY);
			}
			if (t < 0)
				return resolve_fail(dir, errno, err);
			*s = saved;
			if (!saved) {
				fd = t;
				break;
			}
			close(t);
		}
	}
	if (fd < 0)
		return resolve_fail(dir, errno, err);
	if (x->cache_fd >= 0)
		close(x->cache_fd);
	free(x->cache_path);
	x->cache_path = strdup(dir);
	x->cache_fd = fd;
	return fd;
}

/* Forget the cached directory when `path` (just removed or replaced) is it
 * or one of its parents: the fd would still point at the old directory. */
static void cache_drop_under(struct xctx *x, const char *path)
{
	if (!x->cache_path)
		return;
	size_t n = strlen(path);
	if (strncmp(x->cache_path, path, n) || (x->cache_path[n] && x->cache_path[n] != '/'))
		return;
	if (x->cache_fd >= 0)
		close(x->cache_fd);
	free(x->cache_path);
	x->cache_path = NULL;
	x->cache_fd = -1;
}

static void split_path(char *path, char **ret_dir, char **ret_base)
{
	char *slash = strrchr(path, '/');
	if (slash) {
		*slash = 0;
		*ret_dir = path;
		*ret_base = slash + 1;
	} else {
		*ret_dir = path + strlen(path); /* "" */
		*ret_base = path;
	}
}

/* Remove whatever is at pfd/base (`path` from the layer root) so a new
 * entry can take its place. When keep_dir is set an existing directory
 * stays (tar semantics for dirs). */
static int clear_target(struct xctx *x, int pfd, const char *base, const char *path, bool keep_dir,
			bool *ret_is_dir, struct berr **err)
{
	struct stat st;
	*ret_is_dir = false;
	if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		return berr_set(err, errno, "stat \"%s\"", base);
	}
	if (S_ISDIR(st.st_mode)) {
		if (keep_dir) {
			*ret_is_dir = true;
			return 0;
		}
		cache_drop_under(x, path);
		int r = fs_rm_rf_at(pfd, base);
		if (r < 0)
			return berr_set(err, -r, "replacing directory \"%s\"", base);
		return 0;
	}
	cache_drop_under(x, path); /* a symlink the cached path went through */
	if (unlinkat(pfd, base, 0) < 0 && errno != ENOENT)
		return berr_set(err, errno, "replacing \"%s\"", base);
	return 0;
}

static bool xattr_allowed(const char *name)
{
	/* Overlay's own attributes in a layer could redirect lookups or fake
	 * whiteouts in ways the image author should not control. */
	if (!strncmp(name, "trusted.overlay.", 16))
		return false;
	return !strncmp(name, "user.", 5) || !strncmp(name, "security.", 9) ||
	       !strncmp(name, "trusted.", 8);
}

static void apply_xattrs_fd(int fd, struct archive_entry *e)
{
	const char *name;
	const void *val;
	size_t sz;
	if (archive_entry_xattr_reset(e) == 0)
		return;
	while (archive_entry_xattr_next(e, &name, &val, &sz) == ARCHIVE_OK) {
		if (xattr_allowed(name))
			fsetxattr(fd, name, val, sz, 0); /* best effort, like tar */
	}
}

static void entry_times(struct archive_entry *e, struct timespec ts[2])
{
	ts[1].tv_sec = archive_entry_mtime(e);
	ts[1].tv_nsec = archive_entry_mtime_nsec(e);
	if (archive_entry_atime_is_set(e)) {
		ts[0].tv_sec = archive_entry_atime(e);
		ts[0].tv_nsec = archive_entry_atime_nsec(e);
	} else {
		ts[0] = ts[1];
	}
}

static int write_file_data(struct archive *a, int fd, const char *path, int64_t size,
			   struct berr **err)
{
	const void *buf;
	size_t n;
	la_int64_t off;
	int64_t pos = 0;
	for (;;) {
		int r = archive_read_data_block(a, &buf, &n, &off);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN)
			return berr_set(err, 0, "reading data of \"%s\": %s", path, archive_error_string(a));
		if (off != pos) {
			if (lseek(fd, off, SEEK_SET) < 0)
				return berr_set(err, errno, "seeking in \"%s\"", path);
			pos = off;
		}
		if (fs_write_full(fd, buf, n) < 0)
			return berr_set(err, errno, "writing \"%s\"", path);
		pos += (int64_t)n;
	}
	if (pos != size && ftruncate(fd, size) < 0)
		return berr_set(err, errno, "sizing \"%s\"", path);
	return 0;
}

static int extract_entry(struct xctx *x, struct archive *a, struct archive_entry *e,
			 struct berr **err)
{
	const char *raw = archive_entry_pathname(e);
	if (!raw)
		return berr_setc(err, BERR_INVALID, "entry with no name");
	char path[PATH_MAX];
	if (layer_path_normalize(raw, path, sizeof(path), err) < 0)
		return -1;
	mode_t type = archive_entry_filetype(e);
	const char *hardlink = archive_entry_hardlink(e);

	if (!*path) {
		/* The root itself: keep its metadata for the end. */
		if (type == AE_IFDIR) {
			if (x->ndirs == x->capdirs) {
				x->capdirs = x->capdirs ? 2 * x->capdirs : 256;
				x->dirs = realloc(x->dirs, x->capdirs * sizeof(*x->dirs));
				if (!x->dirs)
					return berr_set(err, ENOMEM, "extracting");
			}
			struct dirmeta *d = &x->dirs[x->ndirs++];
			d->path = strdup("");
			d->mode = archive_entry_perm(e);
			d->need_chmod = true;
			entry_times(e, d->times);
			fchownat(x->rootfd, "", archive_entry_uid(e), archive_entry_gid(e), AT_EMPTY_PATH);
		}
		return 0;
	}

	char work[PATH_MAX];
	memcpy(work, path, strlen(path) + 1);
	char *dir, *base;
	split_path(work, &dir, &base);

	/* Whiteouts become what overlayfs understands. */
	if (!strncmp(base, ".wh.", 4)) {
		if (!strcmp(base, ".wh..wh..opq")) {
			int pfd = open_dir(x, dir, true, err);
			if (pfd < 0)
				return berr_wrap(err, "entry \"%s\"", raw);
			_cleanup_close_ int dfd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (dfd < 0)
				return berr_set(err, errno, "opening \"%s\"", dir);
			if (fsetxattr(dfd, "trusted.overlay.opaque", "y", 1, 0) < 0)
				return berr_set(err, errno, "marking \"%s\" opaque", *dir ? dir : "/");
			return 0;
		}
		if (!strncmp(base, ".wh..wh.", 8))
			return 0; /* aufs metadata (hard link dirs): not needed */
		const char *name = base + 4;
		if (!*name)
			return berr_setc(err, BERR_INVALID, "entry \"%s\": empty whiteout name", raw);
		/* ".wh.." and ".wh..." would remove the directory itself or its
		 * parent (for the layer root: outside the layer). */
		if (!strcmp(name, ".") || !strcmp(name, ".."))
			return berr_setc(err, BERR_INVALID, "entry \"%s\" has an invalid whiteout name \"%s\"",
					 raw, name);
		int pfd = open_dir(x, dir, true, err);
		if (pfd < 0)
			return berr_wrap(err, "entry \"%s\"", raw);
		char target[PATH_MAX];
		snprintf(target, sizeof(target), "%s%s%s", dir, *dir ? "/" : "", name);
		bool isdir;
		if (clear_target(x, pfd, name, target, false, &isdir, err) < 0)
			return -1;
		if (mknodat(pfd, name, S_IFCHR | 0, makedev(0, 0)) < 0)
			return berr_set(err, errno, "creating whiteout for \"%s\"", path);
		return 0;
	}

	int pfd = open_dir(x, dir, true, err);
	if (pfd < 0)
		return berr_wrap(err, "entry \"%s\"", raw);
	uid_t uid = (uid_t)archive_entry_uid(e);
	gid_t gid = (gid_t)archive_entry_gid(e);
	mode_t perm = archive_entry_perm(e);
	struct timespec ts[2];
	entry_times(e, ts);
	bool isdir;

	if (hardlink && type != AE_IFDIR) {
		char tpath[PATH_MAX];
		if (layer_path_normalize(hardlink, tpath, sizeof(tpath), err) < 0)
			return berr_wrap(err, "hard link \"%s\"", raw);
		if (!*tpath)
			return berr_setc(err, BERR_INVALID, "hard link \"%s\" points at the root", raw);
		char *tdir, *tbase;
		split_path(tpath, &tdir, &tbase);
		_cleanup_close_ int tfd = *tdir ? openat2_beneath(x->rootfd, tdir, O_PATH | O_DIRECTORY)
						: dup(x->rootfd);
		if (tfd < 0) {
			resolve_fail(hardlink, errno, err);
			return berr_wrap(err, "hard link \"%s\"", raw);
		}
		if (clear_target(x, pfd, base, path, false, &isdir, err) < 0)
			return -1;
		if (linkat(tfd, tbase, pfd, base, 0) < 0)
			return berr_set(err, errno, "hard link \"%s\" -> \"%s\"", path, hardlink);
		return 0;
	}

	switch (type) {
	case AE_IFDIR: {
		/* Try the common case first (nothing there yet): one syscall. As
		 * root we can fill a directory whatever its mode, so it is created
		 * with its final permissions; only times (and modes the mkdir mode
		 * cannot carry) wait for the end. */
		bool need_chmod = (perm & 02000) != 0;
		if (mkdirat(pfd, base, perm & 01777) < 0) {
			if (errno != EEXIST)
				return berr_set(err, errno, "creating directory \"%s\"", path);
			if (clear_target(x, pfd, base, path, true, &isdir, err) < 0)
				return -1;
			if (!isdir && mkdirat(pfd, base, perm & 01777) < 0)
				return berr_set(err, errno, "creating directory \"%s\"", path);
			need_chmod = true;
		}
		if (uid || gid)
			fchownat(pfd, base, uid, gid, AT_SYMLINK_NOFOLLOW);
		if (archive_entry_xattr_count(e) > 0) {
			_cleanup_close_ int dfd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (dfd >= 0)
				apply_xattrs_fd(dfd, e);
		}
		if (x->ndirs == x->capdirs) {
			x->capdirs = x->capdirs ? 2 * x->capdirs : 256;
			struct dirmeta *nd = realloc(x->dirs, x->capdirs * sizeof(*x->dirs));
			if (!nd)
				return berr_set(err, ENOMEM, "extracting");
			x->dirs = nd;
		}
		struct dirmeta *d = &x->dirs[x->ndirs++];
		d->path = strdup(path);
		d->mode = perm;
		d->need_chmod = need_chmod || (uid || gid);
		d->times[0] = ts[0];
		d->times[1] = ts[1];
		return 0;
	}
	case AE_IFREG: {
		/* The process umask is 0 while extracting, so the creation mode is
		 * the final one unless chown (which clears set-id bits) must run. */
		int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
		_cleanup_close_ int fd = openat(pfd, base, flags, perm & 0777);
		if (fd < 0 && errno == EEXIST) {
			if (clear_target(x, pfd, base, path, false, &isdir, err) < 0)
				return -1;
			fd = openat(pfd, base, flags, perm & 0777);
		}
		if (fd < 0)
			return berr_set(err, errno, "creating \"%s\"", path);
		int64_t size = archive_entry_size(e);
		if (size > 0 && write_file_data(a, fd, path, size, err) < 0)
			return -1;
		x->size += (uint64_t)(size > 0 ? size : 0);
		if ((uid || gid) && fchown(fd, uid, gid) < 0)
			return berr_set(err, errno, "chown \"%s\"", path);
		if ((uid || gid || (perm & 07000)) && fchmod(fd, perm) < 0)
			return berr_set(err, errno, "chmod \"%s\"", path);
		apply_xattrs_fd(fd, e);
		futimens(fd, ts);
		return 0;
	}
	case AE_IFLNK: {
		const char *target = archive_entry_symlink(e);
		if (!target)
			return berr_setc(err, BERR_INVALID, "symlink \"%s\" has no target", raw);
		if (clear_target(x, pfd, base, path, false, &isdir, err) < 0)
			return -1;
		if (symlinkat(target, pfd, base) < 0)
			return berr_set(err, errno, "creating symlink \"%s\"", path);
		if (uid || gid)
			fchownat(pfd, base, uid, gid, AT_SYMLINK_NOFOLLOW);
		utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW);
		x->size += strlen(target);
		return 0;
	}
	case AE_IFCHR:
	case AE_IFBLK:
	case AE_IFIFO: {
		if (clear_target(x, pfd, base, path, false, &isdir, err) < 0)
			return -1;
		dev_t dev = makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));
		if (mknodat(pfd, base, type | perm, type == AE_IFIFO ? 0 : dev) < 0)
			return berr_set(err, errno, "creating device \"%s\"", path);
		fchownat(pfd, base, uid, gid, AT_SYMLINK_NOFOLLOW);
		fchmodat(pfd, base, perm, 0);
		utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW);
		return 0;
	}
	case AE_IFSOCK:
		return 0; /* sockets are not content */
	default:
		return berr_setc(err, BERR_INVALID, "entry \"%s\" has an unsupported type (0%o)", raw,
				 (unsigned)type);
	}
}

static int finish_dirs(struct xctx *x, struct berr **err)
{
	/* Modes and times of directories go last: creating entries inside
	 * changes a directory's mtime, and a 0555 directory would block it. */
	for (size_t i = x->ndirs; i-- > 0;) {
		struct dirmeta *d = &x->dirs[i];
		_cleanup_close_ int fd = *d->path ? openat2_beneath(x->rootfd, d->path,
								    O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
						  : dup(x->rootfd);
		if (fd < 0)
			continue; /* replaced by a later entry (maybe a symlink: not followed) */
		if (d->need_chmod && fchmod(fd, d->mode) < 0)
			return berr_set(err, errno, "chmod \"%s\"", d->path);
		futimens(fd, d->times);
	}
	return 0;
}

static const char *media_type_for(int filter)
{
	switch (filter) {
	case ARCHIVE_FILTER_NONE:
		return MEDIA_OCI_LAYER;
	case ARCHIVE_FILTER_GZIP:
		return MEDIA_OCI_LAYER_GZIP;
	case ARCHIVE_FILTER_ZSTD:
		return MEDIA_OCI_LAYER_ZSTD;
	default:
		return NULL;
	}
}

static int stage_existing(struct image_store *s, const char *diff_id, struct layer_stage *st)
{
	json_t *m = image_store_layer_meta(s, diff_id);
	if (!m)
		return -1;
	snprintf(st->diff_id, sizeof(st->diff_id), "%s", diff_id);
	const char *b = jsonx_str(m, "blob");
	snprintf(st->blob, sizeof(st->blob), "%s", b ? b : diff_id);
	st->media_type = MEDIA_OCI_LAYER;
	const char *mt = jsonx_str(m, "media_type");
	if (mt && !strcmp(mt, MEDIA_OCI_LAYER_GZIP))
		st->media_type = MEDIA_OCI_LAYER_GZIP;
	else if (mt && !strcmp(mt, MEDIA_OCI_LAYER_ZSTD))
		st->media_type = MEDIA_OCI_LAYER_ZSTD;
	st->blob_size = (uint64_t)json_integer_value(json_object_get(m, "blob_size"));
	st->tar_size = (uint64_t)json_integer_value(json_object_get(m, "tar_size"));
	st->size = (uint64_t)json_integer_value(json_object_get(m, "size"));
	json_decref(m);
	return 0;
}

static int stage_stream(struct image_store *s, layer_read_fn fn, void *opaque, const char *what,
			const char *expect_blob, struct layer_stage *ret, struct berr **err)
{
	struct layer_stage st = {0};
	if (expect_blob) {
		_cleanup_free_ char *known = image_store_blob_layer(s, expect_blob);
		if (known && image_store_has_blob(s, expect_blob) && stage_existing(s, known, &st) == 0) {
			char buf[64 << 10];
			ssize_t r;
			while ((r = fn(opaque, buf, sizeof(buf))) > 0)
				;
			if (r < 0)
				return berr_set(err, errno, "reading %s", what);
			*ret = st;
			return 0;
		}
	}

	int rc = -1;
	struct pipe p = {.fn = fn, .opaque = opaque, .blob_fd = -1};
	struct xctx x = {.rootfd = -1, .cache_fd = -1, .what = what};
	struct archive *tar = NULL;
	_cleanup_free_ char *tmp_dir = fs_tmp_name("layer-");
	_cleanup_free_ char *tmp_blob = fs_tmp_name("blob-");
	_cleanup_close_ int dirfd_ = -1;
	_cleanup_free_ char *mj = NULL;
	bool made_dir = false;

	p.rawbuf = malloc(IO_BUF);
	p.tarbuf = malloc(IO_BUF);
	if (!p.rawbuf || !p.tarbuf || !tmp_dir || !tmp_blob) {
		berr_set(err, ENOMEM, "%s", what);
		goto out;
	}
	if (sha256_init(&p.hblob) < 0 || sha256_init(&p.hdiff) < 0) {
		berr_set(err, 0, "%s: cannot initialize sha256", what);
		goto out;
	}
	if (mkdirat(s->tmpfd, tmp_dir, 0700) < 0) {
		berr_set(err, errno, "%s: creating temporary directory", what);
		goto out;
	}
	made_dir = true;
	dirfd_ = openat(s->tmpfd, tmp_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd_ < 0 || mkdirat(dirfd_, "diff", 0755) < 0) {
		berr_set(err, errno, "%s: creating temporary directory", what);
		goto out;
	}
	x.rootfd = openat(dirfd_, "diff", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	p.blob_fd = openat(s->tmpfd, tmp_blob, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (x.rootfd < 0 || p.blob_fd < 0) {
		berr_set(err, errno, "%s: creating temporary files", what);
		goto out;
	}

	p.dec = archive_read_new();
	archive_read_support_filter_all(p.dec);
	archive_read_support_format_raw(p.dec);
	if (archive_read_open(p.dec, &p, NULL, dec_read_cb, NULL) != ARCHIVE_OK) {
		if (p.src_errno)
			src_fail(&p, what, err);
		else
			berr_set(err, 0, "%s: %s", what, archive_error_string(p.dec));
		goto out;
	}
	struct archive_entry *e;
	int r = archive_read_next_header(p.dec, &e);
	if (r != ARCHIVE_OK) {
		if (p.src_errno)
			src_fail(&p, what, err);
		else
			berr_setc(err, BERR_INVALID, "%s: not a tar stream: %s", what,
				  archive_error_string(p.dec) ? archive_error_string(p.dec) : "empty");
		goto out;
	}
	st.media_type = media_type_for(archive_filter_code(p.dec, 0));
	if (!st.media_type || archive_filter_count(p.dec) > 2) {
		berr_setc(err, BERR_INVALID, "%s: unsupported layer compression %s (want none, gzip or zstd)",
			  what, archive_filter_name(p.dec, 0));
		goto out;
	}

	p.hash_diff = archive_filter_code(p.dec, 0) != ARCHIVE_FILTER_NONE;
	tar = archive_read_new();
	archive_read_support_format_tar(tar);
	if (archive_read_open(tar, &p, NULL, tar_read_cb, NULL) != ARCHIVE_OK) {
		if (p.src_errno)
			src_fail(&p, what, err);
		else
			berr_setc(err, BERR_INVALID, "%s: not a tar stream: %s", what,
				  archive_error_string(tar));
		goto out;
	}
	for (;;) {
		r = archive_read_next_header(tar, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			if (p.src_errno)
				src_fail(&p, what, err);
			else
				berr_setc(err, BERR_INVALID, "%s: bad tar stream: %s", what,
					  archive_error_string(tar));
			goto out;
		}
		if (extract_entry(&x, tar, e, err) < 0) {
			berr_wrap(err, "%s", what);
			goto out;
		}
	}
	if (finish_dirs(&x, err) < 0) {
		berr_wrap(err, "%s", what);
		goto out;
	}
	/* The digests cover the whole stream, end-of-archive padding included. */
	for (;;) {
		la_ssize_t n = archive_read_data(p.dec, p.tarbuf, IO_BUF);
		if (n < 0) {
			if (p.src_errno)
				src_fail(&p, what, err);
			else
				berr_setc(err, BERR_INVALID, "%s: %s", what, archive_error_string(p.dec));
			goto out;
		}
		if (n == 0)
			break;
		if (p.hash_diff)
			sha256_update(&p.hdiff, p.tarbuf, (size_t)n);
		p.tar_size += (uint64_t)n;
	}
	for (;;) {
		ssize_t n = pipe_src_read(&p, p.rawbuf, IO_BUF);
		if (n < 0) {
			src_fail(&p, what, err);
			goto out;
		}
		if (n == 0)
			break;
	}

	memcpy(st.blob, "sha256:", 7);
	sha256_final_hex(&p.hblob, st.blob + 7);
	memcpy(st.diff_id, "sha256:", 7);
	if (p.hash_diff)
		sha256_final_hex(&p.hdiff, st.diff_id + 7);
	else
		memcpy(st.diff_id + 7, st.blob + 7, 65);
	st.blob_size = p.blob_size;
	st.tar_size = p.tar_size;
	st.size = x.size;
	if (expect_blob && strcmp(expect_blob, st.blob)) {
		berr_setc(err, BERR_INVALID, "%s: digest mismatch: expected %s, got %s", what, expect_blob,
			  st.blob);
		goto out;
	}
	if (close(p.blob_fd) < 0) {
		p.blob_fd = -1;
		berr_set(err, errno, "%s: writing blob", what);
		goto out;
	}
	p.blob_fd = -1;

	json_t *meta = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I}", "diff_id", st.diff_id, "blob", st.blob,
				 "media_type", st.media_type, "blob_size", (json_int_t)st.blob_size,
				 "tar_size", (json_int_t)st.tar_size, "size", (json_int_t)st.size);
	mj = jsonx_dumps(meta, 0);
	json_decref(meta);
	if (!mj || fs_write_atomic_at(dirfd_, "meta.json", mj, strlen(mj), 0644, false, err) < 0) {
		berr_wrap(err, "%s", what);
		goto out;
	}
	st.tmp_dir = steal_pointer(&tmp_dir);
	st.tmp_blob = steal_pointer(&tmp_blob);
	*ret = st;
	rc = 0;
out:
	if (tar)
		archive_read_free(tar);
	if (p.dec)
		archive_read_free(p.dec);
	sha256_free(&p.hblob);
	sha256_free(&p.hdiff);
	if (p.blob_fd >= 0)
		close(p.blob_fd);
	xctx_release(&x);
	if (x.rootfd >= 0)
		close(x.rootfd);
	free(p.rawbuf);
	free(p.tarbuf);
	if (rc < 0) {
		if (made_dir)
			fs_rm_rf_at(s->tmpfd, tmp_dir);
		if (tmp_blob)
			unlinkat(s->tmpfd, tmp_blob, 0);
	}
	return rc;
}

int layer_stage_stream(struct image_store *s, layer_read_fn fn, void *opaque, const char *what,
		       const char *expect_blob, struct layer_stage *ret, struct berr **err)
{
	/* Files and directories are created with their final modes. */
	mode_t old = umask(0);
	int r = stage_stream(s, fn, opaque, what, expect_blob, ret, err);
	umask(old);
	return r;
}

int layer_stage_commit(struct image_store *s, struct layer_stage *st, struct berr **err)
{
	const char *bhex = st->blob + 7, *dhex = st->diff_id + 7;
	if (st->tmp_blob) {
		if (renameat(s->tmpfd, st->tmp_blob, s->blobsfd, bhex) < 0)
			return berr_set(err, errno, "storing blob %s", st->blob);
		free(st->tmp_blob);
		st->tmp_blob = NULL;
	}
	if (strcmp(bhex, dhex) && symlinkat(dhex, s->blobmapfd, bhex) < 0 && errno != EEXIST)
		return berr_set(err, errno, "recording blob %s", st->blob);
	if (st->tmp_dir) {
		if (renameat(s->tmpfd, st->tmp_dir, s->layersfd, dhex) < 0) {
			if (errno != EEXIST && errno != ENOTEMPTY)
				return berr_set(err, errno, "storing layer %s", st->diff_id);
			fs_rm_rf_at(s->tmpfd, st->tmp_dir); /* a concurrent load won */
		}
		free(st->tmp_dir);
		st->tmp_dir = NULL;
	}
	return 0;
}

void layer_stage_release(struct image_store *s, struct layer_stage *st)
{
	if (st->tmp_dir)
		fs_rm_rf_at(s->tmpfd, st->tmp_dir);
	if (st->tmp_blob)
		unlinkat(s->tmpfd, st->tmp_blob, 0);
	free(st->tmp_dir);
	free(st->tmp_blob);
	st->tmp_dir = st->tmp_blob = NULL;
}

/* ---- reading a layer back as a tar stream ---- */

struct layer_tar {
	int fd;
	struct archive *a; /* NULL when the blob is already an uncompressed tar */
};

int layer_tar_open(struct image_store *s, const char *diff_id, struct layer_tar **ret,
		   uint64_t *ret_size, struct berr **err)
{
	_cleanup_json_ json_t *m = image_store_layer_meta(s, diff_id);
	if (!m)
		return berr_setc(err, BERR_NOT_FOUND, "layer %s is missing from the store", diff_id);
	const char *blob = jsonx_str(m, "blob");
	if (!blob || !digest_is_valid(blob))
		return berr_set(err, 0, "layer %s: bad metadata", diff_id);
	struct layer_tar *t = calloc(1, sizeof(*t));
	if (!t)
		return berr_set(err, ENOMEM, "layer %s", diff_id);
	t->fd = openat(s->blobsfd, blob + 7, O_RDONLY | O_CLOEXEC);
	if (t->fd < 0) {
		free(t);
		return berr_set(err, errno, "layer %s: opening blob %s", diff_id, blob);
	}
	if (strcmp(blob, diff_id)) {
		t->a = archive_read_new();
		archive_read_support_filter_all(t->a);
		archive_read_support_format_raw(t->a);
		struct archive_entry *e;
		if (archive_read_open_fd(t->a, t->fd, IO_BUF) != ARCHIVE_OK ||
		    archive_read_next_header(t->a, &e) != ARCHIVE_OK) {
			berr_set(err, 0, "layer %s: %s", diff_id, archive_error_string(t->a));
			layer_tar_close(t);
			return -1;
		}
	}
	*ret_size = (uint64_t)json_integer_value(json_object_get(m, "tar_size"));
	*ret = t;
	return 0;
}

ssize_t layer_tar_read(struct layer_tar *t, void *buf, size_t n)
{
	if (!t->a)
		return read(t->fd, buf, n);
	la_ssize_t r = archive_read_data(t->a, buf, n);
	if (r < 0) {
		errno = archive_errno(t->a) ? archive_errno(t->a) : EIO;
		return -1;
	}
	return r;
}

void layer_tar_close(struct layer_tar *t)
{
	if (!t)
		return;
	if (t->a)
		archive_read_free(t->a);
	if (t->fd >= 0)
		close(t->fd);
	free(t);
}
