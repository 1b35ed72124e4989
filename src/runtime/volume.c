/* Volumes: see volume.h. */
#include "runtime/volume.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strbuf.h"
#include "util/jsonx.h"
#include "util/timefmt.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

bool volume_name_valid(const char *n)
{
	size_t len = n ? strlen(n) : 0;
	if (len < 2 || len > 255)
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = n[i];
		bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
		if (!alnum && (i == 0 || (ch != '_' && ch != '.' && ch != '-')))
			return false;
	}
	return true;
}

static int name_error(const char *name, struct berr **err)
{
	if (name && strchr(name, '/'))
		return berr_setc(err, BERR_INVALID,
				 "create %s: \"%s\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path",
				 name, name);
	return berr_setc(err, BERR_INVALID,
			 "create %s: \"%s\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed",
			 name ? name : "", name ? name : "");
}

static void random_name(char out[65])
{
	unsigned char r[32];
	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		srand((unsigned)(ts.tv_nsec ^ getpid()));
		for (size_t i = 0; i < sizeof(r); i++)
			r[i] = (unsigned char)rand();
	}
	for (size_t i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", r[i]);
}

static char *vol_path(const char *root, const char *name, const char *leaf)
{
	char *p = NULL;
	if (asprintf(&p, "%s/volumes/%s%s%s", root, name, leaf ? "/" : "", leaf ? leaf : "") < 0)
		abort();
	return p;
}

int volume_create(const char *root, const char *name, json_t *labels, json_t *opts, char ret_name[256],
		  struct berr **err)
{
	char rnd[65];
	if (!name || !*name) {
		random_name(rnd);
		name = rnd;
	} else if (!volume_name_valid(name)) {
		return name_error(name, err);
	}
	snprintf(ret_name, 256, "%s", name);
	_cleanup_free_ char *dir = NULL;
	if (asprintf(&dir, "%s/volumes", root) < 0)
		abort();
	if (fs_mkdir_p(dir, 0700, err) < 0)
		return -1;
	_cleanup_free_ char *final = vol_path(root, name, NULL);
	struct stat st;
	if (stat(final, &st) == 0)
		return 0;
	_cleanup_free_ char *tn = fs_tmp_name(".tmp-");
	_cleanup_free_ char *tmp = vol_path(root, tn, NULL);
	_cleanup_free_ char *data = vol_path(root, tn, "_data");
	if (mkdir(tmp, 0700) < 0 || mkdir(data, 0755) < 0) {
		int e = errno;
		fs_rm_rf_at(AT_FDCWD, tmp);
		return berr_set(err, e, "creating volume %s", name);
	}
	char ts[64];
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	now.tv_nsec = 0;
	time_rfc3339(&now, ts, sizeof(ts));
	_cleanup_json_ json_t *meta = json_pack("{s:s, s:s, s:O, s:O}", "Name", name, "CreatedAt", ts, "Labels",
						 json_is_object(labels) ? labels : json_null(), "Options",
						 json_is_object(opts) && json_object_size(opts) ? opts : json_null());
	_cleanup_free_ char *s = json_dumps(meta, JSON_COMPACT | JSON_PRESERVE_ORDER);
	int tfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = tfd < 0 ? -1 : fs_write_atomic_at(tfd, "meta.json", s, strlen(s), 0600, false, err);
	if (tfd >= 0)
		close(tfd);
	if (r < 0) {
		fs_rm_rf_at(AT_FDCWD, tmp);
		return tfd < 0 ? berr_set(err, errno, "creating volume %s", name) : -1;
	}
	if (rename(tmp, final) < 0) {
		int e = errno;
		fs_rm_rf_at(AT_FDCWD, tmp);
		/* someone else made it first: that one is ours too */
		if (e == EEXIST || e == ENOTEMPTY)
			return 0;
		return berr_set(err, e, "creating volume %s", name);
	}
	return 0;
}

static json_t *read_meta(const char *root, const char *name)
{
	_cleanup_free_ char *p = vol_path(root, name, "meta.json");
	return json_load_file(p, 0, NULL);
}

json_t *volume_inspect(const char *root, const char *name, struct berr **err)
{
	json_t *meta = (name && volume_name_valid(name)) ? read_meta(root, name) : NULL;
	if (!meta) {
		berr_setc(err, BERR_NOT_FOUND, "get %s: no such volume", name ? name : "");
		return NULL;
	}
	_cleanup_free_ char *mp = vol_path(root, name, "_data");
	json_t *labels = json_object_get(meta, "Labels");
	json_t *opts = json_object_get(meta, "Options");
	json_t *o = json_pack("{s:s, s:s, s:O, s:s, s:s, s:O, s:s}", "CreatedAt", jsonx_str(meta, "CreatedAt") ?: "",
			      "Driver", "local", "Labels", labels ? labels : json_null(), "Mountpoint", mp, "Name", name,
			      "Options", opts ? opts : json_null(), "Scope", "local");
	json_decref(meta);
	return o;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

json_t *volume_list(const char *root)
{
	json_t *out = json_array();
	_cleanup_free_ char *dir = NULL;
	if (asprintf(&dir, "%s/volumes", root) < 0)
		abort();
	DIR *d = opendir(dir);
	if (!d)
		return out;
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || !volume_name_valid(de->d_name))
			continue;
		names = realloc(names, (n + 1) * sizeof(*names));
		names[n++] = strdup(de->d_name);
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(out, json_string(names[i]));
		free(names[i]);
	}
	free(names);
	return out;
}

json_t *volume_users(const char *root, const char *name)
{
	json_t *out = json_array();
	_cleanup_free_ char *dir = NULL;
	if (asprintf(&dir, "%s/containers", root) < 0)
		abort();
	DIR *d = opendir(dir);
	if (!d)
		return out;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		_cleanup_free_ char *p = NULL;
		if (asprintf(&p, "%s/%s/config.json", dir, de->d_name) < 0)
			abort();
		json_t *cfg = json_load_file(p, 0, NULL);
		if (!cfg)
			continue;
		size_t i;
		json_t *m;
		json_array_foreach(json_object_get(cfg, "MountPoints"), i, m) {
			const char *n = jsonx_str(m, "Name");
			if (n && !strcmp(n, name)) {
				json_array_append_new(out, json_string(de->d_name));
				break;
			}
		}
		json_decref(cfg);
	}
	closedir(d);
	return out;
}

int volume_remove(const char *root, const char *name, struct berr **err)
{
	_cleanup_json_ json_t *meta = volume_name_valid(name) ? read_meta(root, name) : NULL;
	if (!meta)
		return berr_setc(err, BERR_NOT_FOUND, "get %s: no such volume", name);
	_cleanup_json_ json_t *users = volume_users(root, name);
	if (json_array_size(users)) {
		struct sbuf ids = SBUF_INIT;
		size_t i;
		json_t *v;
		json_array_foreach(users, i, v) sbuf_addf(&ids, "%s%s", i ? " " : "", json_string_value(v));
		berr_setc(err, BERR_CONFLICT, "remove %s: volume is in use - [%s]", name, sbuf_str(&ids));
		sbuf_release(&ids);
		return -1;
	}
	/* out of sight first, then the slow part */
	_cleanup_free_ char *tn = fs_tmp_name(".rm-");
	_cleanup_free_ char *from = vol_path(root, name, NULL);
	_cleanup_free_ char *to = vol_path(root, tn, NULL);
	if (rename(from, to) < 0)
		return berr_set(err, errno, "remove %s", name);
	fs_rm_rf_at(AT_FDCWD, to);
	return 0;
}

/* ---- containers ---- */

static bool covered(json_t *mps, json_t *binds, json_t *tmpfs, const char *dst)
{
	size_t i;
	json_t *v;
	json_array_foreach(mps, i, v) if (!strcmp(jsonx_str(v, "Destination") ?: "", dst)) return true;
	json_array_foreach(binds, i, v) {
		const char *b = json_string_value(v);
		const char *c = b ? strchr(b, ':') : NULL;
		if (c) {
			size_t n = strcspn(c + 1, ":");
			if (strlen(dst) == n && !strncmp(c + 1, dst, n))
				return true;
		}
	}
	return json_object_get(tmpfs, dst) != NULL;
}

static int add_mp(const char *root, json_t *mps, json_t *anon, const char *name, const char *dst, bool ro, bool nocopy,
		  const char *mode, struct berr **err)
{
	char got[256];
	_cleanup_json_ json_t *labels = json_object();
	bool is_anon = !name || !*name;
	if (is_anon)
		json_object_set_new(labels, VOLUME_ANON_LABEL, json_string(""));
	if (volume_create(root, name, is_anon ? labels : NULL, NULL, got, err) < 0)
		return -1;
	if (is_anon)
		json_array_append_new(anon, json_string(got));
	_cleanup_free_ char *src = vol_path(root, got, "_data");
	json_array_append_new(mps, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:s, s:b, s:b}", "Type", "volume",
					     "Name", got, "Source", src, "Destination", dst, "Driver", "local", "Mode",
					     mode, "RW", !ro, "Propagation", "", "NoCopy", nocopy, "Anonymous", is_anon));
	return 0;
}

int volume_setup_container(const char *root, json_t *cfg, json_t *extra_vols, json_t *image_vols, struct berr **err)
{
	json_t *hc = json_object_get(cfg, "HostConfig");
	json_t *binds = json_object_get(hc, "Binds");
	json_t *tmpfs = json_object_get(hc, "Tmpfs");
	json_t *mps = json_array();
	_cleanup_json_ json_t *anon = json_array();
	size_t i;
	json_t *v;
	json_array_foreach(binds, i, v) {
		const char *b = json_string_value(v);
		if (!b || b[0] == '/')
			continue;
		_cleanup_free_ char *s = strdup(b);
		char *dst = strchr(s, ':');
		if (!dst)
			continue;
		*dst++ = 0;
		char *mode = strchr(dst, ':');
		if (mode)
			*mode++ = 0;
		if (covered(mps, NULL, NULL, dst)) {
			berr_setc(err, BERR_INVALID, "Duplicate mount point: %s", dst);
			goto fail;
		}
		bool ro = mode && (!strncmp(mode, "ro", 2) || strstr(mode, ",ro"));
		bool nocopy = mode && strstr(mode, "nocopy");
		if (add_mp(root, mps, anon, s, dst, ro, nocopy, mode ? mode : "z", err) < 0)
			goto fail;
	}
	json_array_foreach(json_object_get(hc, "Mounts"), i, v) {
		if (strcmp(jsonx_str(v, "Type") ?: "", "volume"))
			continue;
		const char *dst = jsonx_str(v, "Target") ?: "";
		if (covered(mps, binds, tmpfs, dst)) {
			berr_setc(err, BERR_INVALID, "Duplicate mount point: %s", dst);
			goto fail;
		}
		bool nocopy = json_is_true(json_object_get(json_object_get(v, "VolumeOptions"), "NoCopy"));
		if (add_mp(root, mps, anon, jsonx_str(v, "Source"), dst, json_is_true(json_object_get(v, "ReadOnly")),
			   nocopy, "", err) < 0)
			goto fail;
	}
	json_t *lists[2] = {extra_vols, image_vols};
	for (int l = 0; l < 2; l++) {
		const char *k;
		json_object_foreach(lists[l], k, v) {
			if (k[0] != '/' || covered(mps, binds, tmpfs, k))
				continue;
			if (add_mp(root, mps, anon, NULL, k, false, false, "", err) < 0)
				goto fail;
		}
	}
	json_object_set_new(cfg, "MountPoints", mps);
	return 0;
fail:
	json_decref(mps);
	json_array_foreach(anon, i, v) volume_remove(root, json_string_value(v), NULL);
	return -1;
}

void volume_remove_anonymous(const char *root, json_t *cfg)
{
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(cfg, "MountPoints"), i, v) {
		if (json_is_true(json_object_get(v, "Anonymous")) && jsonx_str(v, "Name"))
			volume_remove(root, jsonx_str(v, "Name"), NULL);
	}
}

/* ---- copy-up (runs in the container's child, before pivot_root) ---- */

static void set_meta_fd(int fd, const struct stat *st)
{
	if (fchown(fd, st->st_uid, st->st_gid) < 0) {
		/* keep going: the mode and times still matter */
	}
	fchmod(fd, st->st_mode & 07777);
	struct timespec t[2] = {st->st_atim, st->st_mtim};
	futimens(fd, t);
}

static int copy_tree(int sfd, int dfd, int depth)
{
	if (depth > 256)
		return -ELOOP;
	int dup_fd = fcntl(sfd, F_DUPFD_CLOEXEC, 0);
	DIR *d = dup_fd < 0 ? NULL : fdopendir(dup_fd);
	if (!d) {
		if (dup_fd >= 0)
			close(dup_fd);
		return -errno;
	}
	int rc = 0;
	struct dirent *de;
	while (rc == 0 && (de = readdir(d))) {
		const char *n = de->d_name;
		if (!strcmp(n, ".") || !strcmp(n, ".."))
			continue;
		struct stat st;
		if (fstatat(sfd, n, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			rc = -errno;
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			if (mkdirat(dfd, n, 0700) < 0) {
				rc = -errno;
				break;
			}
			int s2 = openat(sfd, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			int d2 = openat(dfd, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (s2 < 0 || d2 < 0)
				rc = -errno;
			else if ((rc = copy_tree(s2, d2, depth + 1)) == 0)
				set_meta_fd(d2, &st);
			if (s2 >= 0)
				close(s2);
			if (d2 >= 0)
				close(d2);
		} else if (S_ISREG(st.st_mode)) {
			int s2 = openat(sfd, n, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			int d2 = openat(dfd, n, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
			if (s2 < 0 || d2 < 0) {
				rc = -errno;
			} else {
				char buf[65536];
				ssize_t r;
				while ((r = read(s2, buf, sizeof(buf))) > 0)
					if (fs_write_full(d2, buf, (size_t)r) < 0) {
						r = -1;
						break;
					}
				if (r < 0)
					rc = -errno;
				else
					set_meta_fd(d2, &st);
			}
			if (s2 >= 0)
				close(s2);
			if (d2 >= 0)
				close(d2);
		} else {
			if (S_ISLNK(st.st_mode)) {
				char tgt[4096];
				ssize_t l = readlinkat(sfd, n, tgt, sizeof(tgt) - 1);
				if (l < 0 || (tgt[l] = 0, symlinkat(tgt, dfd, n) < 0)) {
					rc = -errno;
					break;
				}
			} else if (mknodat(dfd, n, st.st_mode, st.st_rdev) < 0) {
				rc = -errno;
				break;
			}
			if (fchownat(dfd, n, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0) {
				/* best effort */
			}
			if (!S_ISLNK(st.st_mode))
				fchmodat(dfd, n, st.st_mode & 07777, 0);
			struct timespec t[2] = {st.st_atim, st.st_mtim};
			utimensat(dfd, n, t, AT_SYMLINK_NOFOLLOW);
		}
	}
	closedir(d);
	return rc;
}

int volume_copy_up(int rootfd, const char *path, const char *dst_dir)
{
	struct open_how how = {.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
			       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
	int sfd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
	if (sfd < 0)
		return (errno == ENOENT || errno == ENOTDIR) ? 0 : -errno;
	int dfd = open(dst_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0) {
		int e = errno;
		close(sfd);
		return -e;
	}
	int rc = copy_tree(sfd, dfd, 0);
	if (rc == 0) {
		struct stat st;
		if (fstat(sfd, &st) == 0)
			set_meta_fd(dfd, &st);
	}
	close(sfd);
	close(dfd);
	return rc;
}
