/* kube cluster: merging the admin kubeconfig into the user's (cluster.h).
 * Read with compose_yaml_parse and written back with compose_yaml_emit;
 * entries of other names and every other field stay as they were. */
#include "kube/cluster.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "compose/yaml.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strbuf.h"

int kube_kubeconfig_target(char *buf, size_t n, struct berr **err)
{
	const char *kc = getenv("KUBECONFIG");
	if (kc && *kc) {
		/* kubectl writes new entries to the first file of the list */
		const char *colon = strchr(kc, ':');
		size_t len = colon ? (size_t)(colon - kc) : strlen(kc);
		if (len == 0)
			return berr_setc(err, BERR_INVALID, "KUBECONFIG=%s: its first file is empty", kc);
		if (len >= n)
			return berr_setc(err, BERR_INVALID, "KUBECONFIG: path too long");
		memcpy(buf, kc, len);
		buf[len] = 0;
		return 0;
	}
	const char *home = getenv("HOME");
	if (!home || !*home) {
		struct passwd *pw = getpwuid(getuid());
		home = pw ? pw->pw_dir : NULL;
	}
	if (!home || !*home)
		return berr_setc(err, BERR_INVALID, "no $HOME to find ~/.kube/config in (set KUBECONFIG)");
	if ((size_t)snprintf(buf, n, "%s/.kube/config", home) >= n)
		return berr_setc(err, BERR_INVALID, "$HOME: path too long");
	return 0;
}

/* doc[key], an array (made when absent). NULL when it is something else. */
static json_t *list_of(json_t *doc, const char *key)
{
	json_t *l = json_object_get(doc, key);
	if (!l || json_is_null(l)) {
		l = json_array();
		json_object_set_new(doc, key, l);
	}
	return json_is_array(l) ? l : NULL;
}

static const json_t *named(const json_t *list, const char *name)
{
	size_t i;
	json_t *x;
	json_array_foreach(list, i, x) {
		const char *n = json_string_value(json_object_get(x, "name"));
		if (n && !strcmp(n, name))
			return x;
	}
	return NULL;
}

int kube_kubeconfig_merge(json_t *doc, const json_t *add, const char *name, struct berr **err)
{
	if (!json_is_object(doc))
		return berr_setc(err, BERR_INVALID, "not a kubeconfig: the document is not a mapping");
	static const char *const keys[] = {"clusters", "users", "contexts"};
	for (size_t k = 0; k < ARRAY_SIZE(keys); k++) {
		json_t *v = json_object_get(doc, keys[k]);
		if (v && !json_is_null(v) && !json_is_array(v))
			return berr_setc(err, BERR_INVALID, "not a kubeconfig: %s is not a list", keys[k]);
		const json_t *entry = named(json_object_get(add, keys[k]), name);
		if (!entry)
			return berr_setc(err, BERR_INVALID, "the cluster's kubeconfig has no %s entry %s", keys[k],
					 name);
	}
	if (!json_object_get(doc, "apiVersion"))
		json_object_set_new(doc, "apiVersion", json_string("v1"));
	if (!json_object_get(doc, "kind"))
		json_object_set_new(doc, "kind", json_string("Config"));
	for (size_t k = 0; k < ARRAY_SIZE(keys); k++) {
		json_t *l = list_of(doc, keys[k]);
		json_t *entry = json_deep_copy(named(json_object_get(add, keys[k]), name));
		size_t i;
		json_t *x;
		bool replaced = false;
		json_array_foreach(l, i, x) {
			const char *n = json_string_value(json_object_get(x, "name"));
			if (n && !strcmp(n, name)) {
				json_array_set(l, i, entry);
				replaced = true;
				break;
			}
		}
		if (!replaced)
			json_array_append(l, entry);
		json_decref(entry);
	}
	json_object_set_new(doc, "current-context", json_string(name));
	return 0;
}

bool kube_kubeconfig_unmerge(json_t *doc, const char *name)
{
	if (!json_is_object(doc))
		return false;
	bool any = false;
	static const char *const keys[] = {"clusters", "users", "contexts"};
	for (size_t k = 0; k < ARRAY_SIZE(keys); k++) {
		json_t *l = json_object_get(doc, keys[k]);
		if (!json_is_array(l))
			continue;
		for (size_t i = json_array_size(l); i-- > 0;) {
			const char *n = json_string_value(json_object_get(json_array_get(l, i), "name"));
			if (n && !strcmp(n, name)) {
				json_array_remove(l, i);
				any = true;
			}
		}
	}
	const char *cur = json_string_value(json_object_get(doc, "current-context"));
	if (cur && !strcmp(cur, name)) {
		/* as kind does: no current context rather than another one */
		json_object_set_new(doc, "current-context", json_string(""));
		any = true;
	}
	return any;
}

/* kubectl's lock: FILE.lock made with O_EXCL, removed when done. */
static int lock_file(const char *path, char *lockp, size_t n, struct berr **err)
{
	snprintf(lockp, n, "%s.lock", path);
	for (int i = 0; i < 500; i++) {
		int fd = open(lockp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0) {
			close(fd);
			return 0;
		}
		if (errno != EEXIST)
			return berr_set(err, errno, "locking %s (%s)", path, lockp);
		struct timespec ts = {0, 10 * 1000000L};
		nanosleep(&ts, NULL);
	}
	return berr_setc(err, BERR_CONFLICT, "%s is locked: %s exists (remove it if no kubectl runs)", path, lockp);
}

/* path's parent dir fd and its last name; the real file when path is a
 * symlink (kubectl writes through it). */
static int open_parent(const char *path, bool create, char *base, size_t n, struct berr **err)
{
	char real[PATH_MAX];
	const char *p = path;
	if (realpath(path, real))
		p = real;
	_cleanup_free_ char *dir = strdup(p);
	char *slash = strrchr(dir, '/');
	const char *b = p;
	if (slash) {
		*slash = 0;
		b = slash + 1;
		if (!*dir)
			strcpy(dir, "/");
	} else {
		strcpy(dir, ".");
	}
	if (!*b || strlen(b) >= n)
		return berr_setc(err, BERR_INVALID, "kubeconfig %s: not a file name", path);
	snprintf(base, n, "%s", b);
	if (create && fs_mkdir_p(dir, 0700, err) < 0)
		return berr_wrap(err, "kubeconfig %s", path);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return berr_set(err, errno, "kubeconfig %s: opening %s", path, dir);
	return fd;
}

/* Read, change, write back under the lock. change returns 1 to write, 0
 * to leave the file, -1 on error. */
static int edit_file(const char *path, bool create, int (*change)(json_t *doc, void *ud, struct berr **err), void *ud,
		     struct berr **err)
{
	char base[NAME_MAX + 1];
	struct stat st;
	if (!create && stat(path, &st) < 0 && errno == ENOENT)
		return 0;
	_cleanup_close_ int dfd = open_parent(path, create, base, sizeof(base), err);
	if (dfd < 0)
		return -1;
	bool exists = fstatat(dfd, base, &st, 0) == 0;
	if (!exists && !create)
		return 0;
	char lockp[PATH_MAX + 8];
	if (lock_file(path, lockp, sizeof(lockp), err) < 0)
		return -1;
	int rc = -1;
	json_t *doc = NULL;
	char *buf = NULL;
	size_t len = 0;
	if (exists) {
		if (fs_read_file_at(dfd, base, CY_MAX_BYTES, &buf, &len, err) < 0) {
			berr_wrap(err, "reading kubeconfig %s", path);
			goto out;
		}
		struct cmarks *m = cmarks_new();
		int pr = compose_yaml_parse(buf, len, path, m, &doc, err);
		cmarks_free(m);
		if (pr < 0)
			goto out;
		if (json_is_array(doc)) {
			berr_setc(err, BERR_INVALID, "kubeconfig %s: more than one YAML document", path);
			goto out;
		}
	}
	if (!doc || json_is_null(doc)) {
		json_decref(doc);
		doc = json_object();
	}
	int r = change(doc, ud, err);
	if (r < 0) {
		berr_wrap(err, "kubeconfig %s", path);
		goto out;
	}
	if (r > 0) {
		struct sbuf out = SBUF_INIT;
		compose_yaml_emit(doc, &out);
		mode_t mode = exists ? (st.st_mode & 07777) : 0600;
		int w = fs_write_atomic_at(dfd, base, out.s ? out.s : "", out.len, mode, true, err);
		sbuf_release(&out);
		if (w < 0) {
			berr_wrap(err, "writing kubeconfig %s", path);
			goto out;
		}
	}
	rc = 0;
out:
	unlink(lockp);
	free(buf);
	json_decref(doc);
	return rc;
}

struct merge_ud {
	const json_t *add;
	const char *name;
};

static int do_merge(json_t *doc, void *ud, struct berr **err)
{
	struct merge_ud *m = ud;
	return kube_kubeconfig_merge(doc, m->add, m->name, err) < 0 ? -1 : 1;
}

static int do_unmerge(json_t *doc, void *ud, struct berr **err)
{
	(void)err;
	return kube_kubeconfig_unmerge(doc, ud) ? 1 : 0;
}

static int do_check(json_t *doc, void *ud, struct berr **err)
{
	static const char *const keys[] = {"clusters", "users", "contexts"};
	(void)ud;
	if (!json_is_object(doc))
		return berr_setc(err, BERR_INVALID, "not a kubeconfig: the document is not a mapping");
	for (size_t k = 0; k < ARRAY_SIZE(keys); k++) {
		json_t *v = json_object_get(doc, keys[k]);
		if (v && !json_is_null(v) && !json_is_array(v))
			return berr_setc(err, BERR_INVALID, "not a kubeconfig: %s is not a list", keys[k]);
	}
	return 0;
}

int kube_kubeconfig_check_file(const char *path, struct berr **err)
{
	/* the nearest directory that exists must be writable */
	_cleanup_free_ char *d = strdup(path);
	for (char *slash; (slash = strrchr(d, '/'));) {
		*slash = 0;
		const char *dir = *d ? d : "/";
		if (access(dir, F_OK) == 0) {
			if (access(dir, W_OK) < 0)
				return berr_set(err, errno, "kubeconfig %s: cannot write in %s", path, dir);
			break;
		}
		if (!*d)
			break;
	}
	if (access(path, F_OK) == 0 && access(path, W_OK) < 0)
		return berr_set(err, errno, "kubeconfig %s", path);
	return edit_file(path, false, do_check, NULL, err);
}

int kube_kubeconfig_merge_file(const char *path, const json_t *add, const char *name, struct berr **err)
{
	struct merge_ud m = {add, name};
	return edit_file(path, true, do_merge, &m, err);
}

int kube_kubeconfig_unmerge_file(const char *path, const char *name, struct berr **err)
{
	return edit_file(path, false, do_unmerge, (void *)name, err);
}
