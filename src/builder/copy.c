/* COPY and ADD: sources from the context (read in place, every path opened
 * with RESOLVE_IN_ROOT so nothing outside the context is read) or from
 * another stage or image (its layers mounted read-only by overlayfs in a
 * child with its own mount namespace, so the mount dies with the child
 * whatever happens). The layer is a tar written directly: no container.
 *
 * Docker's rules: a directory source copies its contents; several sources
 * or a destination ending in '/' mean the destination is a directory; a
 * file onto an existing directory goes inside it; missing parents are
 * created; ADD extracts local tar archives (plain, gzip, bzip2, xz, zstd). */
#include "builder/bint.h"
#include "builder/btar.h"
#include "image/layer.h"
#include "runtime/userdb.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/hash.h"
#include "util/jsonx.h"
#include "util/strbuf.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_SOURCES 100000

int bpath_clean(const char *in, char *out, size_t outsz)
{
	size_t o = 0;
	const char *p = in;
	while (*p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		const char *e = strchr(p, '/');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (l == 1 && p[0] == '.') {
			/* skip */
		} else if (l == 2 && p[0] == '.' && p[1] == '.') {
			if (o == 0)
				return -1;
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
		} else {
			if (o + l + 2 > outsz)
				return -1;
			if (o)
				out[o++] = '/';
			memcpy(out + o, p, l);
			o += l;
		}
		p += l;
	}
	if (o == 0) {
		if (outsz < 2)
			return -1;
		out[o++] = '.';
	}
	out[o] = 0;
	return 0;
}

static int open_in_root(int rootfd, const char *path, int flags, bool nofollow_last)
{
	struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC),
			       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
	if (nofollow_last)
		how.flags |= O_NOFOLLOW;
	return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
}

static bool has_glob(const char *s) { return strpbrk(s, "*?[") != NULL; }

struct srclist {
	char **v;
	size_t n, cap;
};

static int src_add(struct srclist *l, const char *p, struct berr **err)
{
	if (l->n >= MAX_SOURCES)
		return berr_setc(err, BERR_INVALID, "more than %d sources", MAX_SOURCES);
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 8;
		char **nv = realloc(l->v, nc * sizeof(char *));
		if (!nv)
			return berr_set(err, ENOMEM, "sources");
		l->v = nv;
		l->cap = nc;
	}
	l->v[l->n] = strdup(p);
	if (!l->v[l->n])
		return berr_set(err, ENOMEM, "sources");
	l->n++;
	return 0;
}

static void src_free(struct srclist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

static int cmpstrp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Expand one pattern component by component (Go's filepath.Match: '*'
 * does not cross '/', and matches leading dots). */
static int glob_expand(struct bcopy *c, int rootfd, const char *pat, struct srclist *out, struct berr **err)
{
	struct srclist cur = {0}, next = {0};
	if (src_add(&cur, ".", err) < 0)
		return -1;
	_cleanup_free_ char *dup = strdup(pat);
	if (!dup)
		return berr_set(err, ENOMEM, "sources");
	int rc = 0;
	char *save = NULL;
	for (char *comp = strtok_r(dup, "/", &save); comp && rc == 0; comp = strtok_r(NULL, "/", &save)) {
		for (size_t i = 0; i < cur.n && rc == 0; i++) {
			const char *base = cur.v[i];
			if (!has_glob(comp)) {
				char p[PATH_MAX];
				snprintf(p, sizeof(p), "%s%s%s", strcmp(base, ".") ? base : "", strcmp(base, ".") ? "/" : "", comp);
				rc = src_add(&next, p, err);
				continue;
			}
			int dfd = open_in_root(rootfd, base, O_RDONLY | O_DIRECTORY, false);
			if (dfd < 0)
				continue;
			DIR *d = fdopendir(dfd);
			if (!d) {
				close(dfd);
				continue;
			}
			struct dirent *de;
			while ((de = readdir(d)) && rc == 0) {
				if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
					continue;
				if (fnmatch(comp, de->d_name, 0) != 0)
					continue;
				char p[PATH_MAX];
				snprintf(p, sizeof(p), "%s%s%s", strcmp(base, ".") ? base : "", strcmp(base, ".") ? "/" : "",
					 de->d_name);
				if (c->ignored && c->ignored(c->ignore_ctx, p, de->d_type == DT_DIR))
					continue;
				rc = src_add(&next, p, err);
			}
			closedir(d);
		}
		src_free(&cur);
		cur = next;
		memset(&next, 0, sizeof(next));
	}
	if (rc == 0) {
		qsort(cur.v, cur.n, sizeof(char *), cmpstrp);
		for (size_t i = 0; i < cur.n && rc == 0; i++) {
			struct stat st;
			int fd = open_in_root(rootfd, cur.v[i], O_PATH, false);
			if (fd < 0 || fstat(fd, &st) < 0) {
				if (fd >= 0)
					close(fd);
				continue;
			}
			close(fd);
			rc = src_add(out, cur.v[i], err);
		}
	}
	src_free(&cur);
	return rc;
}

/* The sources as paths relative to rootfd, each checked to exist. */
static int resolve_sources(struct bcopy *c, int rootfd, struct srclist *out, struct berr **err)
{
	for (size_t i = 0; i < c->nsrcs; i++) {
		char clean[PATH_MAX];
		const char *s = c->srcs[i];
		if (bpath_clean(s[0] == '/' ? s + 1 : s, clean, sizeof(clean)) < 0)
			return berr_setc(err, BERR_INVALID, "forbidden path outside the build context: %s", s);
		if (has_glob(clean)) {
			/* a pattern may match nothing (BuildKit allows empty wildcards) */
			if (glob_expand(c, rootfd, clean, out, err) < 0)
				return -1;
			continue;
		}
		if (!c->from && strcmp(clean, ".") && c->ignored && c->ignored(c->ignore_ctx, clean, false))
			return berr_setc(err, BERR_INVALID,
					 "file not found in build context or excluded by .dockerignore: stat %s: file does not exist", s);
		int fd = open_in_root(rootfd, clean, O_PATH, false);
		if (fd < 0) {
			int e = errno;
			if (e == ENOENT || e == ENOTDIR)
				return berr_setc(err, BERR_INVALID, "%s: stat %s: file does not exist",
						 c->from ? "not found in the source stage" : "file not found in build context or excluded by .dockerignore", s);
			return berr_set(err, e, "%s", s);
		}
		close(fd);
		if (src_add(out, clean, err) < 0)
			return -1;
	}
	return 0;
}

/* ---- content hash of context sources (with a stat cache) ---- */

struct hctx {
	struct bcopy *c;
	struct sha256 h;
	/* the stat cache: lines "PATH\tSIG\tHEX\n" in walk order, so a rebuild
	 * reads it front to back with no lookups; written anew when it changed */
	const char *old;
	size_t oldlen, pos;
	struct sbuf out;
	int depth;
};

static int hash_file(int fd, char hex[65])
{
	struct sha256 h;
	if (sha256_init(&h) < 0)
		return -1;
	char buf[128 << 10];
	for (;;) {
		ssize_t r = read(fd, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			sha256_free(&h);
			return -1;
		}
		if (r == 0)
			break;
		sha256_update(&h, buf, (size_t)r);
	}
	sha256_final_hex(&h, hex);
	return 0;
}

/* The cached line for rel: SIG\tHEX\n after "rel\t", or NULL. */
static const char *cache_find(struct hctx *x, const char *rel)
{
	size_t rl = strlen(rel);
	if (!x->old)
		return NULL;
	if (x->pos + rl + 1 <= x->oldlen && !memcmp(x->old + x->pos, rel, rl) && x->old[x->pos + rl] == '\t') {
		const char *v = x->old + x->pos + rl + 1;
		const char *nl = memchr(v, '\n', x->oldlen - (size_t)(v - x->old));
		x->pos = nl ? (size_t)(nl - x->old) + 1 : x->oldlen;
		return v;
	}
	/* the context changed here: look the path up anywhere */
	for (const char *p = x->old; p && p < x->old + x->oldlen;) {
		if ((p == x->old || p[-1] == '\n') && (size_t)(x->old + x->oldlen - p) > rl && !memcmp(p, rel, rl) && p[rl] == '\t') {
			const char *nl = memchr(p, '\n', x->oldlen - (size_t)(p - x->old));
			x->pos = nl ? (size_t)(nl - x->old) + 1 : x->oldlen;
			return p + rl + 1;
		}
		p = memchr(p, '\n', x->oldlen - (size_t)(p - x->old));
		if (p)
			p++;
	}
	return NULL;
}

static int hash_entry(struct hctx *x, int dirfd, const char *name, const char *rel, bool top, struct berr **err)
{
	if (x->depth > 512)
		return berr_setc(err, BERR_INVALID, "%s: directories nested too deep", rel);
	struct stat st;
	if (fstatat(dirfd, name, &st, top ? 0 : AT_SYMLINK_NOFOLLOW) < 0)
		return berr_set(err, errno, "reading %s", rel);
	char line[PATH_MAX + 200];
	int l = snprintf(line, sizeof(line), "%s\n%o %u %u %lld\n", rel, st.st_mode, st.st_uid, st.st_gid,
			 S_ISREG(st.st_mode) ? (long long)st.st_size : 0LL);
	sha256_update(&x->h, line, (size_t)l);
	if (S_ISREG(st.st_mode)) {
		char sig[200];
		snprintf(sig, sizeof(sig), "%llu %lld %lld.%09ld %lld.%09ld", (unsigned long long)st.st_ino, (long long)st.st_size,
			 (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, (long long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
		const char *cached = cache_find(x, rel);
		char hex[65];
		size_t sl = strlen(sig);
		if (cached && !strncmp(cached, sig, sl) && cached[sl] == '\t' && cached[sl + 65] == '\n') {
			memcpy(hex, cached + sl + 1, 64);
			hex[64] = 0;
		} else {
			_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
			if (fd < 0)
				return berr_set(err, errno, "reading %s", rel);
			if (hash_file(fd, hex) < 0)
				return berr_set(err, errno, "reading %s", rel);
		}
		sbuf_addf(&x->out, "%s\t%s\t%s\n", rel, sig, hex);
		sha256_update(&x->h, hex, 64);
	} else if (S_ISLNK(st.st_mode)) {
		char t[PATH_MAX];
		ssize_t n = readlinkat(dirfd, name, t, sizeof(t) - 1);
		if (n < 0)
			return berr_set(err, errno, "reading %s", rel);
		sha256_update(&x->h, t, (size_t)n);
	} else if (S_ISDIR(st.st_mode)) {
		_cleanup_close_ int dfd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (top ? 0 : O_NOFOLLOW));
		if (dfd < 0)
			return berr_set(err, errno, "reading %s", rel);
		int d2 = dup(dfd);
		DIR *d = d2 >= 0 ? fdopendir(d2) : NULL;
		if (!d) {
			if (d2 >= 0)
				close(d2);
			return berr_set(err, errno, "reading %s", rel);
		}
		struct srclist names = {0};
		struct dirent *de;
		int rc = 0;
		while ((de = readdir(d)) && rc == 0)
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				rc = src_add(&names, de->d_name, err);
		closedir(d);
		qsort(names.v, names.n, sizeof(char *), cmpstrp);
		x->depth++;
		for (size_t i = 0; i < names.n && rc == 0; i++) {
			char child[PATH_MAX];
			snprintf(child, sizeof(child), "%s%s%s", strcmp(rel, ".") ? rel : "", strcmp(rel, ".") ? "/" : "", names.v[i]);
			if (x->c->ignored && x->c->ignored(x->c->ignore_ctx, child, false))
				continue;
			rc = hash_entry(x, dfd, names.v[i], child, false, err);
		}
		x->depth--;
		src_free(&names);
		return rc;
	}
	return 0;
}

static char *statcache_name(struct bcopy *c)
{
	struct sbuf key = SBUF_INIT;
	char path[PATH_MAX];
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", c->ctxfd);
	ssize_t n = readlink(proc, path, sizeof(path) - 1);
	if (n < 0) {
		sbuf_release(&key);
		return NULL;
	}
	path[n] = 0;
	sbuf_adds(&key, path);
	for (size_t i = 0; i < c->nsrcs; i++)
		sbuf_addf(&key, "\n%s", c->srcs[i]);
	char d[72];
	sha256_digest_of(sbuf_str(&key), key.len, d);
	sbuf_release(&key);
	return strdup(d + 7);
}

int bcopy_hash(struct bcopy *c, char ret_hex[65], struct berr **err)
{
	struct srclist srcs = {0};
	if (resolve_sources(c, c->ctxfd, &srcs, err) < 0) {
		src_free(&srcs);
		return -1;
	}
	struct hctx x = {.c = c};
	sha256_init(&x.h);
	_cleanup_free_ char *cname = statcache_name(c);
	_cleanup_close_ int sdfd = -1;
	if (cname && c->statcache_dir) {
		fs_mkdir_p(c->statcache_dir, 0700, NULL);
		sdfd = open(c->statcache_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	_cleanup_free_ char *oldbuf = NULL;
	size_t oldlen = 0;
	if (sdfd >= 0 && fs_read_file_at(sdfd, cname, 256u << 20, &oldbuf, &oldlen, NULL) == 0) {
		x.old = oldbuf;
		x.oldlen = oldlen;
	}
	int rc = 0;
	for (size_t i = 0; i < srcs.n && rc == 0; i++) {
		sha256_update(&x.h, "src\n", 4);
		int pfd = -1;
		char parent[PATH_MAX];
		snprintf(parent, sizeof(parent), "%s", srcs.v[i]);
		char *slash = strrchr(parent, '/');
		const char *base = srcs.v[i];
		if (slash) {
			*slash = 0;
			base = slash + 1;
			pfd = open_in_root(c->ctxfd, parent, O_RDONLY | O_DIRECTORY, false);
		} else {
			pfd = dup(c->ctxfd);
		}
		if (pfd < 0) {
			rc = berr_set(err, errno, "reading %s", srcs.v[i]);
			break;
		}
		/* the source itself follows symlinks (inside the context) */
		int sfd = open_in_root(c->ctxfd, srcs.v[i], O_PATH, false);
		if (sfd < 0) {
			close(pfd);
			rc = berr_set(err, errno, "reading %s", srcs.v[i]);
			break;
		}
		struct stat st;
		fstat(sfd, &st);
		if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
			close(sfd);
			close(pfd);
			rc = berr_setc(err, BERR_INVALID, "%s: not a regular file or directory (cannot be read as a source)", srcs.v[i]);
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			int dfd = open_in_root(c->ctxfd, srcs.v[i], O_RDONLY | O_DIRECTORY, false);
			if (dfd < 0)
				rc = berr_set(err, errno, "reading %s", srcs.v[i]);
			else
				rc = hash_entry(&x, dfd, ".", srcs.v[i], true, err);
			if (dfd >= 0)
				close(dfd);
		} else {
			char self[64];
			snprintf(self, sizeof(self), "/proc/self/fd/%d", sfd);
			int rfd = open_in_root(c->ctxfd, srcs.v[i], O_RDONLY, false);
			if (rfd < 0) {
				rc = berr_set(err, errno, "reading %s", srcs.v[i]);
			} else {
				char hex[65];
				if (hash_file(rfd, hex) < 0)
					rc = berr_set(err, errno, "reading %s", srcs.v[i]);
				char line[PATH_MAX + 100];
				int l = snprintf(line, sizeof(line), "%s\n%o %lld\n%s", srcs.v[i], st.st_mode, (long long)st.st_size, hex);
				sha256_update(&x.h, line, (size_t)l);
				close(rfd);
			}
			(void)base;
		}
		close(sfd);
		close(pfd);
	}
	sha256_final_hex(&x.h, ret_hex);
	if (rc == 0 && sdfd >= 0 && (x.out.len != oldlen || memcmp(sbuf_str(&x.out), oldbuf ? oldbuf : "", oldlen)))
		fs_write_atomic_at(sdfd, cname, sbuf_str(&x.out), x.out.len, 0600, false, NULL);
	sbuf_release(&x.out);
	src_free(&srcs);
	return rc;
}

/* ---- writing the layer (in a child) ---- */

struct skipctx {
	struct bcopy *c;
	const char *srcrel;  /* context path of the source dir */
	size_t arclen;       /* length of the arcname prefix of that dir */
};

static bool skip_ignored(void *ctx, const char *arcdir, const char *name)
{
	struct skipctx *s = ctx;
	char p[PATH_MAX];
	const char *sub = arcdir + (strlen(arcdir) >= s->arclen ? s->arclen : strlen(arcdir));
	while (*sub == '/')
		sub++;
	snprintf(p, sizeof(p), "%s%s%s%s%s", strcmp(s->srcrel, ".") ? s->srcrel : "", strcmp(s->srcrel, ".") ? "/" : "",
		 sub, *sub ? "/" : "", name);
	return s->c->ignored(s->c->ignore_ctx, p, false);
}

static int mount_layers(const char *lower, const char *target, struct berr **err)
{
	if (!lower || !*lower)
		return 0; /* an empty image: the empty directory */
	if (!strchr(lower, ':')) {
		if (mount(lower, target, NULL, MS_BIND | MS_REC, NULL) < 0)
			return berr_set(err, errno, "bind-mounting a layer");
		return 0;
	}
	_cleanup_free_ char *data = NULL;
	if (asprintf(&data, "lowerdir=%s", lower) < 0)
		return berr_set(err, ENOMEM, "mount");
	if (strlen(data) >= 4000)
		return berr_setc(err, BERR_INVALID, "too many layers to mount at once");
	if (mount("overlay", target, "overlay", MS_RDONLY, data) < 0)
		return berr_set(err, errno, "mounting the image's layers");
	return 0;
}

/* Relative lowerdir list ("hex/diff:..."): shorter mount data; the child
 * works from $ROOT/layers. */
static char *relative_lower(const char *lower, const char *layers_dir)
{
	if (!lower)
		return NULL;
	struct sbuf sb = SBUF_INIT;
	size_t ll = strlen(layers_dir);
	_cleanup_free_ char *dup = strdup(lower);
	char *save = NULL;
	for (char *p = dup ? strtok_r(dup, ":", &save) : NULL; p; p = strtok_r(NULL, ":", &save)) {
		if (sb.len)
			sbuf_addc(&sb, ':');
		sbuf_adds(&sb, !strncmp(p, layers_dir, ll) && p[ll] == '/' ? p + ll + 1 : p);
	}
	return sbuf_detach(&sb);
}

static int parse_ids(const char *spec, uint64_t *uid, uint64_t *gid, int rootfd, struct berr **err)
{
	char *end;
	_cleanup_free_ char *u = strdup(spec);
	if (!u)
		return berr_set(err, ENOMEM, "--chown");
	char *colon = strchr(u, ':');
	if (colon)
		*colon = 0;
	unsigned long uv = strtoul(u, &end, 10);
	bool unum = *u && !*end;
	bool gnum = false;
	unsigned long gv = 0;
	if (colon) {
		gv = strtoul(colon + 1, &end, 10);
		gnum = colon[1] && !*end;
	}
	if (unum && (!colon || gnum)) {
		*uid = uv;
		*gid = colon ? gv : uv;
		return 0;
	}
	if (rootfd < 0)
		return berr_setc(err, BERR_INVALID, "--chown=%s: the image has no /etc/passwd to look names up in", spec);
	struct userdb_user uu;
	if (userdb_resolve(rootfd, spec, NULL, &uu, err) < 0)
		return berr_wrap(err, "--chown=%s", spec);
	*uid = uu.uid;
	*gid = uu.gid;
	if (!colon && unum)
		*gid = uv;
	return 0;
}

static bool is_archive_file(int fd)
{
	struct archive *a = archive_read_new();
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	struct archive_entry *e;
	bool ok = archive_read_open_fd(a, fd, 65536) == ARCHIVE_OK && archive_read_next_header(a, &e) == ARCHIVE_OK;
	archive_read_free(a);
	lseek(fd, 0, SEEK_SET);
	return ok;
}

/* ADD of a local archive: its entries under dest, paths checked. */
static int add_archive(struct btar *b, int fd, const char *dest, const char *what, struct berr **err)
{
	struct archive *a = archive_read_new();
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	int rc = 0;
	if (archive_read_open_fd(a, fd, 65536) != ARCHIVE_OK) {
		rc = berr_setc(err, BERR_INVALID, "%s: %s", what, archive_error_string(a));
		goto out;
	}
	struct archive_entry *e;
	char buf[64 << 10];
	for (;;) {
		int r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			rc = berr_setc(err, BERR_INVALID, "%s: %s", what, archive_error_string(a));
			goto out;
		}
		char norm[PATH_MAX];
		if (layer_path_normalize(archive_entry_pathname(e), norm, sizeof(norm), err) < 0) {
			rc = berr_wrap(err, "%s", what);
			goto out;
		}
		if (!*norm)
			continue;
		char name[2 * PATH_MAX + 2];
		if ((size_t)snprintf(name, sizeof(name), "%s%s%s", dest, *dest ? "/" : "", norm) >= PATH_MAX) {
			rc = berr_setc(err, BERR_INVALID, "%s: path too long: %s", what, norm);
			goto out;
		}
		if (btar_add_parents(b, name, err) < 0) {
			rc = -1;
			goto out;
		}
		struct tarw_entry te = {.name = name, .mode = archive_entry_perm(e), .uid = (uint64_t)archive_entry_uid(e),
					.gid = (uint64_t)archive_entry_gid(e)};
		te.mtime.tv_sec = archive_entry_mtime(e);
		if (b->o.chown) {
			te.uid = b->o.uid;
			te.gid = b->o.gid;
		}
		char lname[2 * PATH_MAX + 2];
		const char *hl = archive_entry_hardlink(e);
		if (hl) {
			char hn[PATH_MAX];
			if (layer_path_normalize(hl, hn, sizeof(hn), err) < 0) {
				rc = berr_wrap(err, "%s", what);
				goto out;
			}
			snprintf(lname, sizeof(lname), "%s%s%s", dest, *dest ? "/" : "", hn);
			te.type = '1';
			te.linkname = lname;
			if ((rc = tarw_header(b->w, &te, err)) < 0)
				goto out;
			continue;
		}
		switch (archive_entry_filetype(e)) {
		case AE_IFREG: te.type = '0'; te.size = (uint64_t)archive_entry_size(e); break;
		case AE_IFDIR: te.type = '5'; break;
		case AE_IFLNK: te.type = '2'; te.linkname = archive_entry_symlink(e); break;
		case AE_IFCHR: te.type = '3'; break;
		case AE_IFBLK: te.type = '4'; break;
		case AE_IFIFO: te.type = '6'; break;
		default: continue;
		}
		if (te.type == '3' || te.type == '4') {
			te.devmajor = archive_entry_rdevmajor(e);
			te.devminor = archive_entry_rdevminor(e);
		}
		if ((rc = tarw_header(b->w, &te, err)) < 0)
			goto out;
		if (te.type == '0') {
			uint64_t left = te.size;
			while (left) {
				la_ssize_t n = archive_read_data(a, buf, sizeof(buf));
				if (n <= 0) {
					rc = berr_setc(err, BERR_INVALID, "%s: truncated entry %s", what, norm);
					goto out;
				}
				if ((uint64_t)n > left)
					n = (la_ssize_t)left;
				if ((rc = tarw_data(b->w, buf, (size_t)n, err)) < 0)
					goto out;
				left -= (uint64_t)n;
			}
		}
	}
out:
	archive_read_free(a);
	return rc;
}

static int write_copy(struct bcopy *c, int srcroot, int dstroot, int tarfd, struct berr **err)
{
	struct srclist srcs = {0};
	if (resolve_sources(c, srcroot, &srcs, err) < 0) {
		src_free(&srcs);
		return -1;
	}
	struct tarw w;
	tarw_init(&w, tarfd);
	struct btar_opts o = {.epoch = c->epoch, .chmod = c->chmod, .chmod_dirs = true};
	if (c->chown) {
		if (parse_ids(c->chown, &o.uid, &o.gid, dstroot, err) < 0) {
			src_free(&srcs);
			tarw_release(&w);
			return -1;
		}
		o.chown = true;
	}
	struct btar b;
	btar_init(&b, &w, &o);
	const char *dest = c->dest + 1; /* relative to the image root */
	bool dest_dir = c->dest_dir;
	if (!dest_dir && *dest && dstroot >= 0) {
		/* an existing directory takes files inside it */
		int fd = open_in_root(dstroot, dest, O_RDONLY | O_DIRECTORY, false);
		if (fd >= 0) {
			dest_dir = true;
			close(fd);
		}
	}
	int rc = 0;
	for (size_t i = 0; i < srcs.n && rc == 0; i++) {
		const char *src = srcs.v[i];
		struct stat st;
		int sfd = open_in_root(srcroot, src, O_RDONLY | O_NOCTTY | O_NONBLOCK, false);
		if (sfd < 0 || fstat(sfd, &st) < 0) {
			rc = berr_set(err, errno, "reading %s", src);
			if (sfd >= 0)
				close(sfd);
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			if (*dest) {
				if ((rc = btar_add_parents(&b, dest, err)) < 0) {
					close(sfd);
					break;
				}
			}
			struct skipctx sk = {.c = c, .srcrel = src, .arclen = strlen(dest)};
			if (!c->from && c->ignored) {
				b.o.skip = skip_ignored;
				b.o.skip_ctx = &sk;
			}
			/* the directory itself: created with its mode, Docker keeps the
			 * destination's if it exists; its contents go under dest */
			rc = btar_add(&b, sfd, ".", dest, err);
			b.o.skip = NULL;
			close(sfd);
			continue;
		}
		const char *base = strrchr(src, '/');
		base = base ? base + 1 : src;
		char target[PATH_MAX + 1];
		if (dest_dir || !*dest)
			snprintf(target, sizeof(target), "%s%s%s", dest, *dest ? "/" : "", base);
		else
			snprintf(target, sizeof(target), "%s", dest);
		if (c->add && S_ISREG(st.st_mode) && is_archive_file(sfd)) {
			char d2[PATH_MAX];
			snprintf(d2, sizeof(d2), "%s", dest);
			if (*d2 && (rc = btar_add_parents(&b, d2, err)) == 0) {
				char withslash[PATH_MAX + 2];
				snprintf(withslash, sizeof(withslash), "%s/", d2);
				rc = btar_add_parents(&b, withslash, err);
			}
			if (rc == 0)
				rc = add_archive(&b, sfd, d2, src, err);
			close(sfd);
			continue;
		}
		if ((rc = btar_add_parents(&b, target, err)) < 0) {
			close(sfd);
			break;
		}
		/* the source with symlinks followed inside the root: its content */
		rc = btar_add_file_fd(&b, sfd, &st, target, err);
		close(sfd);
	}
	if (rc == 0)
		rc = tarw_finish(&w, err);
	btar_parents_release(&b);
	btar_release(&b);
	tarw_release(&w);
	src_free(&srcs);
	return rc;
}

/* WORKDIR: the directory and its missing parents, created as Docker's
 * builders do (mode 0755, owned by USER when one is set). The parents that
 * exist are written with their own metadata, and a symlink on the way is
 * followed inside the image (WORKDIR /var/run/x on /var/run -> /run makes
 * /run/x), so the layer changes nothing but the new directories. Exit code
 * 3 from the child: the directory is there already, no layer. */
#define MKDIR_EXISTS 3
static int write_mkdir(struct bcopy *c, int dstroot, int tarfd, struct berr **err)
{
	const char *dest = c->dest + 1;
	char real[PATH_MAX] = "";
	const char *missing = dest; /* the part of dest that does not exist */
	if (dstroot >= 0) {
		char mnt[PATH_MAX], proc[64];
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", dstroot);
		ssize_t ml0 = readlink(proc, mnt, sizeof(mnt) - 1);
		if (ml0 < 0)
			return berr_set(err, errno, "mkdir %s: the image's root", c->dest);
		mnt[ml0] = 0;
		char prefix[PATH_MAX];
		size_t pl = 0;
		const char *p = dest;
		while (*p) {
			const char *e = strchr(p, '/');
			size_t l = e ? (size_t)(e - p) : strlen(p);
			if (pl + l + 2 > sizeof(prefix))
				return berr_setc(err, BERR_INVALID, "WORKDIR %s: path too long", c->dest);
			if (pl)
				prefix[pl++] = '/';
			memcpy(prefix + pl, p, l);
			pl += l;
			prefix[pl] = 0;
			int fd = open_in_root(dstroot, prefix, O_PATH, false);
			if (fd < 0) {
				if (errno == ENOENT)
					break;
				return berr_set(err, errno, "mkdir %s", c->dest);
			}
			struct stat st;
			if (fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode)) {
				close(fd);
				return berr_setc(err, BERR_INVALID, "mkdir /%s: not a directory", prefix);
			}
			/* where it really is inside the image, symlinks resolved */
			char target[PATH_MAX];
			snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
			ssize_t tl = readlink(proc, target, sizeof(target) - 1);
			close(fd);
			size_t ml = strlen(mnt);
			if (tl < 0 || (size_t)tl < ml || memcmp(target, mnt, ml) || (target[ml] && target[ml] != '/'))
				return berr_setc(err, BERR_INVALID, "mkdir %s: cannot resolve /%s in the image", c->dest, prefix);
			target[tl] = 0;
			snprintf(real, sizeof(real), "%s", target[ml] ? target + ml + 1 : "");
			p += l;
			while (*p == '/')
				p++;
			missing = p;
		}
		if (!*missing)
			return MKDIR_EXISTS;
	}
	uint64_t uid = 0, gid = 0;
	if (c->chown && *c->chown && parse_ids(c->chown, &uid, &gid, dstroot, err) < 0)
		return berr_wrap(err, "WORKDIR %s: USER", c->dest);
	struct timespec now = {0};
	if (c->epoch >= 0)
		now.tv_sec = c->epoch;
	else
		clock_gettime(CLOCK_REALTIME, &now);
	struct tarw w;
	tarw_init(&w, tarfd);
	int rc = 0;
	/* the existing part, each directory as it is */
	char path[2 * PATH_MAX + 2];
	size_t plen = 0;
	for (const char *p = real; *p && rc == 0;) {
		const char *e = strchr(p, '/');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (plen + l + 2 > PATH_MAX) {
			rc = berr_setc(err, BERR_INVALID, "WORKDIR %s: path too long", c->dest);
			break;
		}
		if (plen)
			path[plen++] = '/';
		memcpy(path + plen, p, l);
		plen += l;
		path[plen] = 0;
		struct stat st;
		int fd = open_in_root(dstroot, path, O_PATH | O_NOFOLLOW, true);
		if (fd < 0 || fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode)) {
			rc = berr_setc(err, BERR_INVALID, "mkdir %s: /%s changed while being read", c->dest, path);
			if (fd >= 0)
				close(fd);
			break;
		}
		close(fd);
		struct tarw_entry te = {.name = path, .type = '5', .mode = st.st_mode & 07777, .uid = st.st_uid,
					.gid = st.st_gid, .mtime = st.st_mtim};
		if (c->epoch >= 0 && te.mtime.tv_sec > c->epoch) {
			te.mtime.tv_sec = c->epoch;
			te.mtime.tv_nsec = 0;
		}
		rc = tarw_header(&w, &te, err);
		p += l;
		while (*p == '/')
			p++;
	}
	/* the new directories */
	for (const char *p = missing; *p && rc == 0;) {
		const char *e = strchr(p, '/');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (plen + l + 2 > PATH_MAX) {
			rc = berr_setc(err, BERR_INVALID, "WORKDIR %s: path too long", c->dest);
			break;
		}
		if (plen)
			path[plen++] = '/';
		memcpy(path + plen, p, l);
		plen += l;
		path[plen] = 0;
		struct tarw_entry te = {.name = path, .type = '5', .mode = 0755, .uid = uid, .gid = gid, .mtime = now};
		rc = tarw_header(&w, &te, err);
		p += l;
		while (*p == '/')
			p++;
	}
	if (rc == 0)
		rc = tarw_finish(&w, err);
	tarw_release(&w);
	return rc;
}

static int copy_in_child(struct image_store *is, struct bcopy *c, bool mkdir_only, struct layer_stage *ret,
			 bool *ret_made, struct berr **err)
{
	_cleanup_close_ int tarfd = -1;
	if (btar_open_tmp(is, &tarfd, err) < 0)
		return -1;
	_cleanup_free_ char *mdst = fs_tmp_name("mnt-");
	_cleanup_free_ char *msrc = fs_tmp_name("mnt-");
	if (!mdst || !msrc)
		return berr_set(err, ENOMEM, "COPY");
	if (mkdirat(is->tmpfd, mdst, 0700) < 0 || mkdirat(is->tmpfd, msrc, 0700) < 0) {
		unlinkat(is->tmpfd, mdst, AT_REMOVEDIR);
		return berr_set(err, errno, "creating a mount point in %s/tmp", is->root);
	}
	int ep[2];
	if (pipe2(ep, O_CLOEXEC) < 0) {
		unlinkat(is->tmpfd, mdst, AT_REMOVEDIR);
		unlinkat(is->tmpfd, msrc, AT_REMOVEDIR);
		return berr_set(err, errno, "pipe");
	}
	_cleanup_free_ char *rdst = relative_lower(c->dst_lower, c->layers_dir);
	_cleanup_free_ char *rsrc = relative_lower(c->src_lower, c->layers_dir);
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		close(ep[0]);
		close(ep[1]);
		unlinkat(is->tmpfd, mdst, AT_REMOVEDIR);
		unlinkat(is->tmpfd, msrc, AT_REMOVEDIR);
		return berr_set(err, errno, "fork");
	}
	if (pid == 0) {
		close(ep[0]);
		signal(SIGINT, SIG_DFL);
		struct berr *e = NULL;
		int r = -1;
		char pdst[PATH_MAX], psrc[PATH_MAX];
		snprintf(pdst, sizeof(pdst), "%s/tmp/%s", is->root, mdst);
		snprintf(psrc, sizeof(psrc), "%s/tmp/%s", is->root, msrc);
		if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
			berr_set(&e, errno, "creating a mount namespace");
			goto child_out;
		}
		if (chdir(c->layers_dir) < 0) {
			berr_set(&e, errno, "%s", c->layers_dir);
			goto child_out;
		}
		if (mount_layers(rdst, pdst, &e) < 0)
			goto child_out;
		if (c->from && mount_layers(rsrc, psrc, &e) < 0)
			goto child_out;
		int dstroot = (rdst && *rdst) ? open(pdst, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
		int srcroot = c->from ? open(psrc, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : c->ctxfd;
		if (srcroot < 0 && !mkdir_only) {
			berr_set(&e, errno, "opening the sources");
			goto child_out;
		}
		if (mkdir_only)
			r = write_mkdir(c, dstroot, tarfd, &e);
		else
			r = write_copy(c, srcroot, dstroot, tarfd, &e);
	child_out:
		if (r < 0 && e) {
			ssize_t wr = write(ep[1], e->msg, strlen(e->msg));
			(void)wr;
		}
		_exit(r < 0 ? 1 : r == MKDIR_EXISTS ? MKDIR_EXISTS : 0);
	}
	close(ep[1]);
	struct sbuf msg = SBUF_INIT;
	char buf[1024];
	ssize_t n;
	while ((n = read(ep[0], buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
		if (n > 0)
			sbuf_add(&msg, buf, (size_t)n);
	close(ep[0]);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	unlinkat(is->tmpfd, mdst, AT_REMOVEDIR);
	unlinkat(is->tmpfd, msrc, AT_REMOVEDIR);
	if (mkdir_only && WIFEXITED(status) && WEXITSTATUS(status) == MKDIR_EXISTS) {
		sbuf_release(&msg);
		*ret_made = false;
		return 0;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		if (msg.len)
			berr_setc(err, BERR_INVALID, "%s", sbuf_str(&msg));
		else
			berr_set(err, 0, "the copying process died (status %d)", status);
		sbuf_release(&msg);
		return -1;
	}
	sbuf_release(&msg);
	if (ret_made)
		*ret_made = true;
	return btar_stage(is, tarfd, "layer", ret, err);
}

int bcopy_layer(struct image_store *is, struct bcopy *c, struct layer_stage *ret, struct berr **err)
{
	return copy_in_child(is, c, false, ret, NULL, err);
}

int bcopy_workdir_layer(struct image_store *is, struct bcopy *c, struct layer_stage *ret, bool *ret_made,
			struct berr **err)
{
	return copy_in_child(is, c, true, ret, ret_made, err);
}
