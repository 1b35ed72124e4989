/* The kube layer's per-namespace files (store.h). */
#include "kube/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonx.h"

#define KSTORE_MAX (64u << 20)

void kube_obj_key(const json_t *obj, char *buf, size_t n)
{
	const json_t *md = json_object_get(obj, "metadata");
	const char *kind = jsonx_str(obj, "kind"), *name = jsonx_str(md, "name");
	snprintf(buf, n, "%s/%s", kind ? kind : "?", name ? name : "?");
}

static int ns_dirfd(const char *root, const char *ns, bool create, struct berr **err)
{
	_cleanup_free_ char *path = NULL;
	if (asprintf(&path, "%s/kube/%s", root, ns) < 0)
		return berr_set(err, ENOMEM, "out of memory");
	if (create && fs_mkdir_p(path, 0700, err) < 0)
		return -1;
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && (create || errno != ENOENT))
		return berr_set(err, errno, "opening %s", path);
	return fd < 0 ? -2 : fd;
}

int kube_store_lock(const char *root, const char *ns, struct berr **err)
{
	_cleanup_close_ int dfd = ns_dirfd(root, ns, true, err);
	if (dfd < 0)
		return -1;
	return fs_lock_at(dfd, "lock", LOCK_EX, err);
}

static json_t *load(const char *root, const char *ns, const char *file, struct berr **err)
{
	int dfd = ns_dirfd(root, ns, false, err);
	if (dfd == -1)
		return NULL;
	if (dfd == -2)
		return json_object();
	json_t *j = NULL;
	if (faccessat(dfd, file, F_OK, 0) < 0 && errno == ENOENT)
		j = json_object();
	else
		j = jsonx_load_at(dfd, file, KSTORE_MAX, err);
	close(dfd);
	if (j && !json_is_object(j)) {
		json_decref(j);
		berr_set(err, 0, "%s/kube/%s/%s: not a JSON object", root, ns, file);
		return NULL;
	}
	return j;
}

json_t *kube_store_objects(const char *root, const char *ns, struct berr **err)
{
	json_t *j = load(root, ns, "objects.json", err);
	if (!j)
		return NULL;
	if (!json_is_object(json_object_get(j, "objects")))
		json_object_set_new(j, "objects", json_object());
	if (!json_is_object(json_object_get(j, "sources")))
		json_object_set_new(j, "sources", json_object());
	if (!json_is_integer(json_object_get(j, "generation")))
		json_object_set_new(j, "generation", json_integer(0));
	return j;
}

json_t *kube_store_status(const char *root, const char *ns)
{
	struct berr *e = NULL;
	json_t *j = load(root, ns, "status.json", &e);
	berr_free(e);
	return j ? j : json_object();
}

static int store(const char *root, const char *ns, const char *file, json_t *doc, struct berr **err)
{
	_cleanup_close_ int dfd = ns_dirfd(root, ns, true, err);
	if (dfd < 0)
		return -1;
	_cleanup_free_ char *s = json_dumps(doc, JSON_COMPACT);
	if (!s)
		return berr_set(err, ENOMEM, "out of memory");
	return fs_replace_at(dfd, file, s, strlen(s), 0600, err);
}

int kube_store_write_objects(const char *root, const char *ns, json_t *doc, struct berr **err)
{
	return store(root, ns, "objects.json", doc, err);
}

int kube_store_write_status(const char *root, const char *ns, json_t *doc, struct berr **err)
{
	return store(root, ns, "status.json", doc, err);
}

static int cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

json_t *kube_store_namespaces(const char *root)
{
	json_t *out = json_array();
	_cleanup_free_ char *path = NULL;
	if (asprintf(&path, "%s/kube", root) < 0)
		return out;
	DIR *d = opendir(path);
	if (!d)
		return out;
	char *names[4096];
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)) && n < 4096) {
		if (de->d_name[0] == '.')
			continue;
		names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmpstr);
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(out, json_string(names[i]));
		free(names[i]);
	}
	return out;
}

void kube_store_remove(const char *root, const char *ns)
{
	_cleanup_free_ char *path = NULL;
	if (asprintf(&path, "%s/kube", root) < 0)
		return;
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	fs_rm_rf_at(fd, ns);
	close(fd);
}
